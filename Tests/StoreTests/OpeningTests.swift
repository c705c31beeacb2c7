import Foundation
import GRDB
import Testing
@testable import Store

@Suite("Opening and migrating databases")
struct OpeningTests {
    func fileBytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test("a new database gets the whole schema, WAL, foreign keys and the hvae application id")
    func newDatabase() async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("new.sqlite"))
        try await store.pool.read { db in
            let names = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"))
            for name in ["runs", "trials", "texts", "turns", "model_calls", "answers", "trial_metrics",
                         "trial_results", "call_log", "vr_summary"] {
                #expect(names.contains(name), "missing \(name)")
            }
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") == true)
            #expect(try Int32.fetchOne(db, sql: "PRAGMA application_id") == Schema.applicationID)
            #expect(try Int.fetchOne(db, sql: "PRAGMA user_version") == ExperimentStore.schemaVersion)
            // STRICT tables.
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM pragma_table_list WHERE strict = 1 AND name = 'trials'") == 1)
        }
    }

    @Test("a trial's calls are found through the unique index, the only index by trial on model_calls")
    func callsByTrial() async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("new.sqlite"))
        try await store.pool.read { db in
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'model_calls'")
            #expect(!indexes.contains("model_calls_by_trial"))
            let detail = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT id FROM model_calls WHERE trial_id = 1")
                .map { $0["detail"] as String }.joined(separator: "; ")
            #expect(detail.contains("USING COVERING INDEX sqlite_autoindex_model_calls_1 (trial_id=?)"), "\(detail)")
        }
    }

    @Test("an empty file made by sqlite3 is a new database")
    func emptySQLiteFile() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("empty.sqlite")
        try DatabaseQueue(path: path).close()
        _ = try ExperimentStore(path: path)
    }

    @Test("an older database is migrated and keeps its data")
    func olderDatabase() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("old.sqlite")
        let first = try #require(embeddedMigrations.first?.identifier)
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: first)
        try await queue.write { db in
            try db.execute(sql: """
                INSERT INTO runs (name, experiment_json, experiment_sha256, seed, tool_version, created_at)
                VALUES ('old', '{}', ?, 1, '0.0.1', '2026-01-01T00:00:00.000Z')
                """, arguments: [String(repeating: "0", count: 64)])
        }
        try queue.close()

        let store = try ExperimentStore(path: path)
        let (names, version, columns) = try await store.pool.read { db in
            (try String.fetchAll(db, sql: "SELECT name FROM runs"),
             try Int.fetchOne(db, sql: "PRAGMA user_version"),
             try db.columns(in: "model_calls").map(\.name) + db.columns(in: "runs").map(\.name))
        }
        #expect(names == ["old"])
        #expect(version == ExperimentStore.schemaVersion)
        #expect(columns.contains("http_status"))
        #expect(columns.contains("system_fingerprint"))
        #expect(columns.contains("git_commit") && columns.contains("reproduces_run_id"))
    }

    @Test("several connections opening one new or older file at once all succeed, and migrate it once",
          arguments: [nil, "0001_initial", "0003_run_provenance"])
    func concurrentOpens(startingAt: String?) async throws {
        for round in 0..<8 {
            let scratch = ScratchDirectory()
            let path = scratch.path("race-\(round).sqlite")
            if let startingAt {
                // In WAL mode, as every hvae database is.
                let pool = try DatabasePool(path: path)
                try Schema.migrator.migrate(pool, upTo: startingAt)
                try pool.close()
            }
            // Like two `hvae run` started together: each its own pool, none waiting for the others.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { _ = try ExperimentStore(path: path) } }
                try await group.waitForAll()
            }
            let store = try ExperimentStore(path: path)
            let (version, applied) = try await store.pool.read { db in
                (try Int.fetchOne(db, sql: "PRAGMA user_version"),
                 try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier"))
            }
            #expect(version == ExperimentStore.schemaVersion)
            #expect(applied == embeddedMigrations.map(\.identifier).sorted())
        }
    }

    @Test("merging a database of another schema version is refused, and it is left as it was")
    func mergeSchemaMismatch() async throws {
        let scratch = ScratchDirectory()
        let old = scratch.path("old.sqlite")
        let queue = try DatabaseQueue(path: old)
        try Schema.migrator.migrate(queue, upTo: embeddedMigrations.first!.identifier)
        try queue.close()
        let before = try fileBytes(old)
        let store = try ExperimentStore(path: scratch.path("out.sqlite"))
        await #expect(throws: StoreError.schemaMismatch(path: old, found: 1, expected: ExperimentStore.schemaVersion)) {
            try await store.merge(from: old)
        }
        #expect(try fileBytes(old) == before)
    }

    @Test("a database from a newer hvae is refused and left as it was")
    func newerDatabase() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("newer.sqlite")
        do {
            let store = try ExperimentStore(path: path)
            try await store.pool.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
            }
            try store.pool.close()
        }
        let before = try fileBytes(path)
        #expect(throws: StoreError.newerSchema(path: path, unknownMigrations: ["9999_from_the_future"])) {
            try ExperimentStore(path: path)
        }
        #expect(try fileBytes(path) == before)
    }

    @Test("an SQLite database of another program is refused and left as it was")
    func foreignDatabase() throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("other.sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'Ada')")
        }
        try queue.close()
        let before = try fileBytes(path)
        #expect(throws: StoreError.foreignDatabase(path: path)) { try ExperimentStore(path: path) }
        #expect(try fileBytes(path) == before)
    }

    @Test("a file that is not SQLite is refused and left as it was")
    func notSQLite() throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("notes.txt")
        try Data("name: quickstart\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.notSQLite(path: path)) { try ExperimentStore(path: path) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "name: quickstart\n")
    }

    @Test("a database in a folder that does not exist is a clear error")
    func missingFolder() {
        let path = "/nonexistent-hvae-folder/x.sqlite"
        #expect(throws: StoreError.missingFolder(path: path)) { try ExperimentStore(path: path) }
    }

    @Test("read-only commands do not create a database")
    func missingDatabase() {
        let scratch = ScratchDirectory()
        let path = scratch.path("absent.sqlite")
        #expect(throws: StoreError.missingDatabase(path: path)) { try ExperimentStore(path: path, create: false) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("CHECK constraints reject values outside the enumerations")
    func checkConstraints() async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("c.sqlite"))
        let (run, _) = try await store.createRun(
            RunRecord(name: "r", description: "", experimentJson: "{}", seed: 1, toolVersion: "t"), trials: [])
        await #expect(throws: DatabaseError.self) {
            try await store.pool.write { db in
                try db.execute(sql: """
                    INSERT INTO trials (run_id, model, provider, value, goal, option_order, trial_index, seed)
                    VALUES (?, 'm', 'reference', 'selfish', 'with', 'original', 1, 1)
                    """, arguments: [run.id])
            }
        }
    }
}
