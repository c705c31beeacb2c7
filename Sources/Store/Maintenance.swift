import Domain
import Foundation
import GRDB

/// The findings of `ExperimentStore.check(path:)`.
public struct DatabaseCheck: Sendable, Equatable {
    public var schemaVersion: Int
    public var binarySchemaVersion: Int
    /// Damage SQLite reports (`PRAGMA integrity_check` lines other than "ok", or why the file
    /// cannot be read at all).
    public var integrityProblems: [String]
    /// `PRAGMA foreign_key_check` rows, as "table row id -> parent".
    public var foreignKeyProblems: [String]
    /// Message texts no turn refers to.
    public var orphanTexts: Int
    /// Message texts whose SHA-256 is not the one they are stored under (a text cut short, or
    /// changed after it was stored), by address.
    public var mismatchedTexts: [String]

    public var isHealthy: Bool {
        integrityProblems.isEmpty && foreignKeyProblems.isEmpty && orphanTexts == 0 && mismatchedTexts.isEmpty
            && schemaVersion <= binarySchemaVersion
    }
}

extension ExperimentStore {
    /// Checks a database without writing to it: integrity, foreign keys, schema version, orphan
    /// texts, and that every text's SHA-256 matches its body. A file too damaged to open is a
    /// finding, not an error.
    public static func check(path: String) async throws -> DatabaseCheck {
        _ = enableURIs
        try ReadOnlyOpening.requireDatabaseFile(path)
        let empty = DatabaseCheck(schemaVersion: 0, binarySchemaVersion: Schema.currentVersion, integrityProblems: [],
                                  foreignKeyProblems: [], orphanTexts: 0, mismatchedTexts: [])
        do {
            let pool = try ReadOnlyOpening.connect(path)
            defer { try? pool.close() }
            return try await pool.read { db in
                var result = empty
                guard try Int32.fetchOne(db, sql: "PRAGMA application_id") == Schema.applicationID else {
                    throw StoreError.foreignDatabase(path: path)
                }
                result.schemaVersion = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                result.integrityProblems = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
                result.foreignKeyProblems = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row in
                    "\(row[0] as String? ?? "?") row \(row[1] as Int64? ?? -1) -> \(row[2] as String? ?? "?")"
                }
                result.orphanTexts = try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM texts WHERE NOT EXISTS (SELECT 1 FROM turns WHERE turns.text_sha256 = texts.sha256)
                    """) ?? 0
                let texts = try Row.fetchCursor(db, sql: "SELECT sha256, CAST(body AS BLOB) FROM texts")
                while let row = try texts.next() {
                    let body = (row[1] as Data?) ?? Data()
                    let address: String = row[0]
                    if Digest.sha256Hex(body) != address { result.mismatchedTexts.append(address) }
                }
                return result
            }
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode) {
            var result = empty
            result.integrityProblems.append("SQLite cannot read it: \(error.message ?? "\(error.resultCode)")")
            return result
        } catch StoreError.damaged(_, let detail) {
            var result = empty
            result.integrityProblems.append("SQLite cannot read it: \(detail)")
            return result
        }
    }

    /// The schema version of a database file, read without writing.
    public static func schemaVersion(of path: String) throws -> Int {
        _ = enableURIs
        try ReadOnlyOpening.requireDatabaseFile(path)
        let pool = try ReadOnlyOpening.connect(path)
        defer { try? pool.close() }
        return try ReadOnlyOpening.schemaVersion(pool, path: path)
    }

    /// Rewrites the file compactly (VACUUM) after folding the write-ahead log into it.
    public func vacuum() async throws {
        let writer = try requireWriter()
        try await Self.mapped(path) {
            try await writer.barrierWriteWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        }
    }
}
