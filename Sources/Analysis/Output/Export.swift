import Foundation
import Store

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
    public static func export(
        _ table: ExportTable, runIDs: [Int64], format: ExportFormat, store: ExperimentStore,
        to handle: FileHandle
    ) throws -> Int {
        var output = BufferedWriter(handle: handle)
        var columns: [String] = []
        let count = try store.export(
            table, runIDs: runIDs,
            header: { names in
                columns = names
                if format == .csv { output.write(CSV.record(names)) }
            },
            row: { values in
                switch format {
                case .csv: output.write(CSV.record(values.map(csvField)))
                case .jsonl: output.write(jsonLine(columns, values) + "\n")
                }
            })
        output.flush()
        return count
    }

    /// Integers as integers, reals in full precision (the shortest text that reads back as the
    /// same number), NULL as an empty field.
    static func csvField(_ value: ExportValue) -> String {
        switch value {
        case .null: ""
        case .integer(let n): String(n)
        case .real(let x): "\(x)"
        case .text(let s): s
        }
    }

    static func jsonLine(_ columns: [String], _ values: [ExportValue]) -> String {
        "{"
            + zip(columns, values).map { column, value in jsonString(column) + ":" + jsonValue(value) }.joined(
                separator: ",") + "}"
    }

    static func jsonValue(_ value: ExportValue) -> String {
        switch value {
        case .null: "null"
        case .integer(let n): String(n)
        case .real(let x): x.isFinite ? "\(x)" : "null"
        case .text(let s): jsonString(s)
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

    public init(
        table: String, format: String, runIDs: [Int64], rows: Int, database: String, databaseSHA256: String,
        toolVersion: String, filters: [String: [String]], sql: String, exportedAt: String
    ) {
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
        case runIDs = "run_ids"
        case databaseSHA256 = "database_sha256"
        case toolVersion = "tool_version"
        case exportedAt = "exported_at"
    }
}
