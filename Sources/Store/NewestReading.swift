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
