import Foundation
import GRDB
import Store

/// The tables `hvae export` writes; their columns are documented in docs/exports.md.
public enum ExportTable: String, CaseIterable, Sendable {
    case trials, calls, answers, summary

    /// The query, with one `?`-list placeholder for the run ids. Column names are the export's header.
    public func sql(runCount: Int) -> String {
        let runs = "(" + Array(repeating: "?", count: runCount).joined(separator: ", ") + ")"
        switch self {
        case .trials:
            return """
                SELECT r.trial_id, r.run_id, u.name AS experiment, r.model, t.provider, r.value, r.goal, r.option_order,
                       r.trial, t.seed, r.status, r.angle, r.category, r.hit, r.vr, r.angular_error, r.transitive,
                       r.invalid_items, r.inequality_aversion, t.error, t.started_at, t.finished_at
                FROM trial_results AS r JOIN trials AS t ON t.id = r.trial_id JOIN runs AS u ON u.id = r.run_id
                WHERE r.run_id IN \(runs) ORDER BY r.trial_id
                """
        case .calls:
            return """
                SELECT l.call_id, l.run_id, l.trial_id, l.model, l.value, l.goal, t.option_order, l.step, l.item, l.attempt,
                       l.retry, l.prompt, l.reply, l.parse_status, l.shown_letter, l.option, l.self, l.other,
                       c.http_status, c.provider_model_id, c.system_fingerprint, c.finish_reason, l.latency_ms,
                       l.input_tokens, l.output_tokens, l.error, c.started_at, c.finished_at
                FROM call_log AS l JOIN model_calls AS c ON c.id = l.call_id JOIN trials AS t ON t.id = l.trial_id
                WHERE l.run_id IN \(runs) ORDER BY l.call_id
                """
        case .answers:
            return """
                SELECT a.id AS answer_id, a.call_id, c.trial_id, t.run_id, t.model, t.value, t.goal, t.option_order,
                       a.item, c.attempt, a.parser_version, a.status, a.shown_letter, a.option, a.self, a.other
                FROM answers AS a JOIN model_calls AS c ON c.id = a.call_id JOIN trials AS t ON t.id = c.trial_id
                WHERE t.run_id IN \(runs) ORDER BY a.id
                """
        case .summary:
            return "SELECT * FROM vr_summary WHERE run_id IN \(runs) ORDER BY run_id, model, value, goal"
        }
    }
}

/// The two export formats.
public enum ExportFormat: String, CaseIterable, Sendable {
    /// RFC 4180 CSV with a header row; NULL is an empty field.
    case csv
    /// One JSON object per line; NULL is null.
    case jsonl
}

/// Streams a table to a file handle row by row, so memory does not grow with the number of rows.
public enum Exporter {
    /// Writes the rows of `table` for `runIDs`; returns how many rows were written.
    @discardableResult
    public static func export(_ table: ExportTable, runIDs: [Int64], format: ExportFormat, store: ExperimentStore,
                              to handle: FileHandle) async throws -> Int {
        let sql = table.sql(runCount: runIDs.count)
        return try await store.pool.read { db in
            let statement = try db.makeStatement(sql: sql)
            let columns = statement.columnNames
            var output = BufferedWriter(handle: handle)
            if format == .csv { output.write(CSV.record(columns)) }
            let cursor = try Row.fetchCursor(statement, arguments: StatementArguments(runIDs))
            var count = 0
            while let row = try cursor.next() {
                switch format {
                case .csv: output.write(CSV.record(columns.indices.map { csvField(row[$0]) }))
                case .jsonl: output.write(jsonLine(columns, row) + "\n")
                }
                count += 1
            }
            output.flush()
            return count
        }
    }

    static func csvField(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: ""
        case .int64(let n): String(n)
        case .double(let x): "\(x)"
        case .string(let s): s
        case .blob(let data): data.base64EncodedString()
        }
    }

    static func jsonLine(_ columns: [String], _ row: Row) -> String {
        "{" + columns.indices.map { index in
            jsonString(columns[index]) + ":" + jsonValue(row[index] as DatabaseValue)
        }.joined(separator: ",") + "}"
    }

    static func jsonValue(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "null"
        case .int64(let n): String(n)
        case .double(let x): x.isFinite ? "\(x)" : "null"
        case .string(let s): jsonString(s)
        case .blob(let data): jsonString(data.base64EncodedString())
        }
    }

    /// A JSON string literal (RFC 8259 escapes).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Collects output and writes it in 64 KiB pieces.
struct BufferedWriter {
    let handle: FileHandle
    private var buffer = Data()

    init(handle: FileHandle) { self.handle = handle }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        handle.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// The provenance of an export, written beside it as FILE.meta.json.
public struct ExportProvenance: Codable, Sendable {
    public var table: String
    public var format: String
    public var runIDs: [Int64]
    public var rows: Int
    public var database: String
    public var databaseSHA256: String
    public var toolVersion: String
    public var filters: [String: [String]]
    public var sql: String
    public var exportedAt: String

    public init(table: String, format: String, runIDs: [Int64], rows: Int, database: String, databaseSHA256: String,
                toolVersion: String, filters: [String: [String]], sql: String, exportedAt: String) {
        self.table = table
        self.format = format
        self.runIDs = runIDs
        self.rows = rows
        self.database = database
        self.databaseSHA256 = databaseSHA256
        self.toolVersion = toolVersion
        self.filters = filters
        self.sql = sql
        self.exportedAt = exportedAt
    }

    enum CodingKeys: String, CodingKey {
        case table, format, rows, database, filters, sql
        case runIDs = "run_ids", databaseSHA256 = "database_sha256", toolVersion = "tool_version", exportedAt = "exported_at"
    }
}
