import Foundation
import GRDB
import SVO

/// The tables `hvae export` writes. Their columns are documented in docs/exports.md; the columns
/// of the schema that an export leaves out are listed in `excluded`, with the reason, so that a
/// test can check that no column of the schema is dropped silently.
public enum ExportTable: String, CaseIterable, Sendable {
    case trials, calls, answers, summary, labels, letters

    /// The query, with one `?`-list for the run ids. Its column names are the export's header.
    /// Stored texts are read as BLOBs (see `ExactText`), so that a U+0000 does not cut them.
    public func sql(runCount: Int) -> String {
        let runs = placeholders(runCount)
        switch self {
        case .trials:
            return """
                SELECT r.trial_id, r.run_id, u.name AS experiment, r.model, t.provider, r.value, r.goal, r.option_order,
                       r.trial, t.ordinal, t.seed, r.status, r.angle, r.category, r.hit, r.vr, r.angular_error, \
                r.transitive,
                       r.invalid_items, r.inequality_aversion, r.mean_self, r.mean_other, r.parser_version,
                       r.formula_version, CAST(t.error AS BLOB) AS error, t.started_at, t.finished_at, r.target_phi,
                       r.ideal_angle, r.placement, r.variant, r.expected_self, r.expected_other, r.expected_angle,
                       r.mean_entropy, r.answered_items, r.reasked_items, r.unreadable_replies, r.invented_payoffs,
                       r.instrument, r.form
                FROM trial_results AS r JOIN trials AS t ON t.id = r.trial_id JOIN runs AS u ON u.id = r.run_id
                WHERE r.run_id IN \(runs) ORDER BY r.trial_id
                """
        case .calls:
            return """
                SELECT l.call_id, l.run_id, l.trial_id, l.model, l.value, l.goal, l.option_order, l.step, l.item, \
                l.attempt,
                       l.retry, CAST(l.prompt AS BLOB) AS prompt, CAST(l.reply AS BLOB) AS reply, l.parse_status,
                       l.shown_letter, l.option, l.self, l.other, c.http_status, c.provider_model_id, \
                c.system_fingerprint,
                       c.finish_reason, l.latency_ms, l.input_tokens, l.output_tokens, CAST(l.error AS BLOB) AS error,
                       c.started_at, c.finished_at, c.request_key, c.cache_hit, l.target_phi,
                       l.placement, l.variant, l.instrument, l.number
                FROM call_log AS l JOIN model_calls AS c ON c.id = l.call_id
                WHERE l.run_id IN \(runs) ORDER BY l.call_id
                """
        case .answers:
            return """
                SELECT a.id AS answer_id, a.call_id, c.trial_id, t.run_id, t.model, t.value, t.goal, t.option_order,
                       a.item, c.attempt, a.parser_version, a.status, a.shown_letter, a.option, a.self, a.other,
                       t.target_phi, t.placement, t.variant, a.mismatched_payoffs, t.instrument, a.number
                FROM answers AS a JOIN model_calls AS c ON c.id = a.call_id JOIN trials AS t ON t.id = c.trial_id
                WHERE t.run_id IN \(runs) ORDER BY a.id
                """
        case .summary:
            return """
                SELECT * FROM vr_summary WHERE run_id IN \(runs)
                ORDER BY run_id, model, value, target_phi, goal, instrument
                """
        case .labels:
            // Each label beside the parser's newest reading of the same reply.
            return """
                SELECT l.call_id, c.trial_id, t.run_id, t.model, t.value, t.goal, t.option_order, c.item, c.attempt,
                       l.labeler, l.label, l.created_at, a.parser_version, a.status AS parse_status,
                       a.shown_letter AS parser_letter, t.target_phi, t.placement,
                       t.variant, a.number AS parser_number, t.instrument
                FROM audit_labels AS l
                JOIN model_calls AS c ON c.id = l.call_id
                JOIN trials AS t ON t.id = c.trial_id
                LEFT JOIN latest_answers AS a ON a.call_id = l.call_id
                WHERE t.run_id IN \(runs) ORDER BY l.created_at, l.call_id, l.labeler
                """
        case .letters:
            // Each call's probabilities beside the letter its answer of the same parser version chose,
            // a column per letter (p_a … p_i) as the export has always had them.
            let letters = OptionLetter.allCases.map { letter in
                """
                (SELECT o.probability FROM option_probabilities AS o WHERE o.call_id = l.call_id
                     AND o.parser_version = l.parser_version AND o.letter = '\(letter.symbol)') \
                AS p_\(letter.symbol.lowercased())
                """
            }
            return """
                SELECT l.call_id, c.trial_id, t.run_id, t.model, t.value, t.goal, t.option_order, c.item, c.attempt,
                       l.parser_version, l.status, l.token_index, \(letters.joined(separator: ", ")),
                       l.outside, a.status AS answer_status, a.shown_letter AS answer_letter,
                       t.target_phi, t.placement, t.variant
                FROM letter_probabilities AS l
                JOIN model_calls AS c ON c.id = l.call_id
                JOIN trials AS t ON t.id = c.trial_id
                LEFT JOIN answers AS a ON a.call_id = l.call_id AND a.parser_version = l.parser_version
                WHERE t.run_id IN \(runs) ORDER BY l.call_id, l.parser_version
                """
        }
    }

    /// The schema tables each export carries, row for row or joined in.
    public var sourceTables: [String] {
        switch self {
        case .trials: ["trials", "trial_scores"]
        case .calls: ["model_calls"]
        case .answers: ["answers"]
        case .summary: []
        case .labels: ["audit_labels"]
        case .letters: ["letter_probabilities", "option_probabilities"]
        }
    }

    /// Columns of `sourceTables` the export leaves out, and why.
    public var excluded: [String: String] {
        switch self {
        case .trials:
            [
                "id": "as trial_id", "trial_index": "as trial",
                "computed_at": "when the scores were computed; see trial_scores",
                "trial_id": "as trial_id",
            ]
        case .calls:
            [
                "id": "as call_id",
                "request_turn_id": "the request's text is the prompt column; the whole chain is in turns",
                "reply_turn_id": "the reply's text is the reply column",
                "raw_response": "the provider's whole body is large; `select raw_response from model_calls` reads it",
            ]
        case .answers:
            ["id": "as answer_id"]
        case .summary:
            [:]
        case .labels:
            [:]
        case .letters:
            ["letter": "as a column per letter, p_a … p_i", "probability": "in its letter's column, p_a … p_i"]
        }
    }
}

/// One field of an exported row.
public enum ExportValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

extension ExperimentStore {
    /// Streams the rows of `table` for `runIDs`: `header` once with the column names, then `row`
    /// for each row, so that memory does not grow with the number of rows. Returns the row count.
    /// Runs on the calling thread (an export is the whole of its command's work).
    public func export(
        _ table: ExportTable, runIDs: [Int64], header: ([String]) throws -> Void,
        row: ([ExportValue]) throws -> Void
    ) throws -> Int {
        try Self.mapped(path) {
            try reader.read { db in
                let statement = try db.makeStatement(sql: table.sql(runCount: runIDs.count))
                try header(statement.columnNames)
                let cursor = try Row.fetchCursor(statement, arguments: StatementArguments(runIDs))
                var count = 0
                while let next = try cursor.next() {
                    try row(
                        next.databaseValues.map { value in
                            switch value.storage {
                            case .null: .null
                            case .int64(let n): .integer(n)
                            case .double(let x): .real(x)
                            case .string(let s): .text(s)
                            // Every BLOB the exports read is a text read byte for byte.
                            case .blob(let data): .text(String(decoding: data, as: UTF8.self))
                            }
                        })
                    count += 1
                }
                return count
            }
        }
    }

    /// The columns of a table of the current schema, in order.
    public func columns(of table: String) async throws -> [String] {
        try await read { db in try db.columns(in: table).map(\.name) }
    }
}
