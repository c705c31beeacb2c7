import GRDB
import SVO

/// A call's letter probabilities as the schema stores them (migrations/0021): its reading in
/// `letter_probabilities` (status, token, the mass outside the letters), and each shown letter's
/// probability as a row of `option_probabilities`, so that an item may show any number of options.
enum OptionProbabilities {
    /// The schema version that stores letters' probabilities as rows.
    static let schemaVersion = 21

    /// A reading's identity: the call and the parser version it belongs to.
    struct Key: Hashable {
        let callID: Int64
        let parserVersion: Int
    }

    /// Adds a call's reading and, when `ok`, its letters' rows; a reading already there for the
    /// call and parser version is kept as it is, rows and all.
    static func insert(_ letters: LetterProbabilities, callID: Int64, parserVersion: Int, db: Database) throws {
        try db.run(
            """
            INSERT INTO letter_probabilities (call_id, parser_version, status, token_index, outside)
            VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """, arguments: [callID, parserVersion, letters.status.rawValue, letters.tokenIndex, letters.outside])
        guard db.changesCount == 1, let shown = letters.shown else { return }
        for (letter, probability) in zip(OptionLetter.allCases, shown) {
            try db.run(
                "INSERT INTO option_probabilities (call_id, parser_version, letter, probability) VALUES (?, ?, ?, ?)",
                arguments: [callID, parserVersion, letter.symbol, probability])
        }
    }

    /// The letters' probabilities of every item call of these trials, in letter order from A, by
    /// reading; a reading whose list is not whole (`lists`) is left out.
    static func shown(trials trialIDs: [Int64], db: Database) throws -> [Key: [Double]] {
        var found: [Key: [Double]] = [:]
        try lists(
            Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT o.call_id, o.parser_version, o.letter, o.probability
                        FROM model_calls AS c
                        JOIN option_probabilities AS o ON o.call_id = c.id
                        WHERE c.trial_id IN \(placeholders(trialIDs.count))
                        ORDER BY o.call_id, o.parser_version, o.letter
                        """), arguments: StatementArguments(trialIDs))
        ) { key, list in found[key] = list }
        return found
    }

    /// The `ok` readings whose letters' rows are not whole (`lists`), for `db check`.
    static func incomplete(db: Database) throws -> [Key] {
        var incomplete: [Key] = []
        try lists(
            Row.fetchCursor(
                db,
                sql: """
                    SELECT l.call_id, l.parser_version, o.letter, o.probability
                    FROM letter_probabilities AS l
                    LEFT JOIN option_probabilities AS o USING (call_id, parser_version)
                    WHERE l.status = 'ok'
                    ORDER BY l.call_id, l.parser_version, o.letter
                    """)
        ) { key, list in if list == nil { incomplete.append(key) } }
        return incomplete
    }

    /// Each reading's list from rows of (call_id, parser_version, letter, probability) ordered by
    /// reading, then letter: `body` gets it once the reading's rows have passed, or nil when its
    /// letters do not run A, B, C … without a gap (rows deleted or changed by hand) or it has
    /// none, so that a position in a list is always its letter. One reading in memory at a time.
    private static func lists(_ rows: RowCursor, _ body: (Key, [Double]?) throws -> Void) throws {
        var current: (key: Key, list: [Double]?)?
        while let row = try rows.next() {
            let key = Key(callID: row["call_id"], parserVersion: row["parser_version"])
            if let done = current, done.key != key {
                try body(done.key, done.list)
                current = nil
            }
            // A reading's first row starts its list; a row that breaks it ends it as nil.
            var list: [Double]? = current.map(\.list) ?? []
            if list != nil {
                let letter = (row["letter"] as String?).flatMap(OptionLetter.init(symbol:))
                if let letter, let probability = row["probability"] as Double?, letter.rawValue == list!.count {
                    list!.append(probability)
                } else {
                    list = nil
                }
            }
            current = (key, list)
        }
        if let done = current { try body(done.key, done.list) }
    }
}

extension LetterProbabilities {
    /// The columns of `letter_probabilities` it reads, in order.
    enum Column: Int, SelectedColumns {
        case status, tokenIndex, outside, parserVersion
    }

    /// Call `callID`'s reading from its `Column`s selected after `offset` others, without its
    /// letters' probabilities (`OptionProbabilities.shown` has them under `key`); nil when the row
    /// has no reading.
    static func reading(_ row: Row, after offset: Int, callID: Int64) -> (letters: Self, key: OptionProbabilities.Key)?
    {
        typealias C = Column
        guard let status = (row[C.status, after: offset] as String?).flatMap(Status.init(rawValue:)) else {
            return nil
        }
        return (
            Self(status: status, tokenIndex: row[C.tokenIndex, after: offset], outside: row[C.outside, after: offset]),
            OptionProbabilities.Key(callID: callID, parserVersion: row[C.parserVersion, after: offset])
        )
    }
}
