/// Which reading of a call counts: the answer of its newest parser version (a rescore adds
/// readings and never overwrites, docs/method.md §4). The one statement of that rule in hvae's
/// SQL; the `latest_answers` view (migrations/0001) states it for people querying with sqlite3.
/// Queries splice it in rather than join the view, so that each keeps the join order and index
/// hints its plan was measured with.
enum NewestReading {
    /// True for the answer row `answer` (an alias of `answers`) of the call whose id is `call`
    /// (a column expression) when it is the call's newest reading; with `bounded`, the newest at
    /// or below a parser version given as the statement's next `?` argument.
    static func condition(answer: String, call: String, bounded: Bool = false) -> String {
        """
        \(answer).parser_version = (SELECT max(parser_version) FROM answers WHERE call_id = \(call)\
        \(bounded ? " AND parser_version <= ?" : ""))
        """
    }
}

/// A call's parse status as it is shown: the newest reading's for an item call; `ok` for a value or
/// goal call that got a reply (it has nothing to parse), none for one that got none. The one
/// statement of that rule in hvae's Swift; `call_log` (migrations/0019) states it for sqlite3 users.
enum ShownCallStatus {
    /// The status of call `call` (an alias of `model_calls`) whose newest reading is `answer`.
    static func expression(call: String, answer: String) -> String {
        """
        CASE WHEN \(call).step <> 'item' THEN CASE WHEN \(call).reply_turn_id IS NULL THEN NULL ELSE 'ok' END
             ELSE \(answer).status END
        """
    }

    /// True for a value or goal call shown `ok` (an item call is `ok` by its reading).
    static func okWithoutReading(call: String) -> String {
        "(\(call).step <> 'item' AND \(call).reply_turn_id IS NOT NULL)"
    }
}
