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
    /// reading. A list whose letters do not run A, B, C … without a gap is left out, so that a
    /// position in a list is always its letter.
    static func shown(trials trialIDs: [Int64], db: Database) throws -> [Key: [Double]] {
        var found: [Key: [Double]] = [:]
        var broken: Set<Key> = []
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT o.call_id, o.parser_version, o.letter, o.probability
                    FROM model_calls AS c
                    JOIN option_probabilities AS o ON o.call_id = c.id
                    WHERE c.trial_id IN \(placeholders(trialIDs.count))
                    ORDER BY o.call_id, o.parser_version, o.letter
                    """), arguments: StatementArguments(trialIDs))
        while let row = try rows.next() {
            let key = Key(callID: row["call_id"], parserVersion: row["parser_version"])
            let letter = OptionLetter(symbol: row["letter"])
            if letter?.rawValue == found[key, default: []].count {
                found[key, default: []].append(row["probability"])
            } else {
                broken.insert(key)
            }
        }
        for key in broken { found[key] = nil }
        return found
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
