import Foundation
import GRDB

/// The findings of `ExperimentStore.check(path:)`.
public struct DatabaseCheck: Sendable, Equatable {
    public var schemaVersion: Int
    public var binarySchemaVersion: Int
    /// `PRAGMA integrity_check` lines other than "ok".
    public var integrityProblems: [String]
    /// `PRAGMA foreign_key_check` rows, as "table row id -> parent".
    public var foreignKeyProblems: [String]
    /// Message texts no turn refers to.
    public var orphanTexts: Int

    public var isHealthy: Bool { integrityProblems.isEmpty && foreignKeyProblems.isEmpty && orphanTexts == 0 }
}

extension ExperimentStore {
    /// Checks a database without writing to it: integrity, foreign keys, schema version, orphan texts.
    public static func check(path: String) async throws -> DatabaseCheck {
        let queue = try openReadOnly(path)
        defer { try? queue.close() }
        return try await queue.read { db in
            let integrity = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
            let foreign = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { row in
                "\(row[0] as String? ?? "?") row \(row[1] as Int64? ?? -1) -> \(row[2] as String? ?? "?")"
            }
            let orphans = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM texts WHERE NOT EXISTS (SELECT 1 FROM turns WHERE turns.text_sha256 = texts.sha256)
                """) ?? 0
            return DatabaseCheck(schemaVersion: try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
                                 binarySchemaVersion: schemaVersion, integrityProblems: integrity,
                                 foreignKeyProblems: foreign, orphanTexts: orphans)
        }
    }

    /// The schema version of a database file, read without writing.
    public static func schemaVersion(of path: String) async throws -> Int {
        let queue = try openReadOnly(path)
        defer { try? queue.close() }
        return try await queue.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
    }

    /// An existing hvae database opened for reading only, after the same checks as any open.
    static func openReadOnly(_ path: String) throws -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.missingDatabase(path: path) }
        try inspect(path: path)
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)   // another process may be creating or migrating it
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Rewrites the file compactly (VACUUM) after folding the write-ahead log into it.
    public func vacuum() async throws {
        try await pool.barrierWriteWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            try db.execute(sql: "VACUUM")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }
}
