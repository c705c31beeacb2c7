import Domain
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
        try await store.reader.read { db in
            let names = Set(
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"))
            #expect(!names.contains("trial_metrics"))
            for name in [
                "runs", "trials", "texts", "turns", "model_calls", "answers", "trial_scores",
                "trial_results", "call_log", "vr_summary",
            ] {
                #expect(names.contains(name), "missing \(name)")
            }
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            #expect(try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") == true)
            #expect(try Int32.fetchOne(db, sql: "PRAGMA application_id") == Schema.applicationID)
            #expect(try Int.fetchOne(db, sql: "PRAGMA user_version") == ExperimentStore.schemaVersion)
            // STRICT tables.
            #expect(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM pragma_table_list WHERE strict = 1 AND name = 'trials'")
                    == 1)
        }
    }

    @Test("a trial's calls are found through the unique index, the only index by trial on model_calls")
    func callsByTrial() async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("new.sqlite"))
        try await store.reader.read { db in
            let indexes = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'model_calls'")
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
            try db.execute(
                sql: """
                    INSERT INTO runs (name, experiment_json, experiment_sha256, seed, tool_version, created_at)
                    VALUES ('old', '{}', ?, 1, '0.0.1', '2026-01-01T00:00:00.000Z')
                    """, arguments: [String(repeating: "0", count: 64)])
        }
        try queue.close()

        let store = try ExperimentStore(path: path)
        let (names, version, columns) = try await store.reader.read { db in
            (
                try String.fetchAll(db, sql: "SELECT name FROM runs"),
                try Int.fetchOne(db, sql: "PRAGMA user_version"),
                try db.columns(in: "model_calls").map(\.name) + db.columns(in: "runs").map(\.name)
            )
        }
        #expect(names == ["old"])
        #expect(version == ExperimentStore.schemaVersion)
        #expect(columns.contains("http_status"))
        #expect(columns.contains("system_fingerprint"))
        #expect(columns.contains("git_commit") && columns.contains("reproduces_run_id"))
    }

    @Test(
        "several connections opening one new or older file at once all succeed, and migrate it once",
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
            let (version, applied) = try await store.reader.read { db in
                (
                    try Int.fetchOne(db, sql: "PRAGMA user_version"),
                    try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                )
            }
            #expect(version == ExperimentStore.schemaVersion)
            #expect(applied == embeddedMigrations.map(\.identifier).sorted())
        }
    }

    @Test(
        "an older database opened for writing reads its runs, trials and batches by name at once, from every schema",
        arguments: embeddedMigrations.dropLast().map(\.identifier))
    func olderDatabaseReadsByName(startingAt: String) async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("old.sqlite")
        let pool = try DatabasePool(path: path)
        try Schema.migrator.migrate(pool, upTo: startingAt)
        try pool.close()
        // Opening migrates the file; the reads below go through the pool's readers, which must
        // know the columns every migration after `startingAt` added.
        let store = try ExperimentStore(path: path)
        // Columns of later migrations, optional ones too: read with an older schema's columns,
        // those would come back nil without an error.
        var record = RunRecord(name: "r", description: "", experimentJSON: "{}", seed: 1, toolVersion: "t")
        (record.replay, record.shard, record.shardGroup, record.plannedTrials) = (true, "1/2", "g", 2)
        let created = try await store.createRun(record)
        let run = try #require(created.id)
        let trials = try await store.createTrials(
            (1...2).map {
                TrialRecord(runID: run, key: key($0), provider: "reference", seed: Int64($0), ordinal: $0 - 1)
            }
        ).map(\.id)
        #expect(try await store.run(run) == created)
        #expect(try await store.runs() == [created])
        #expect(try await store.trials(runID: run, fromOrdinal: 0, limit: 10).map(\.id) == trials)
        let batch = try await store.recordBatch(
            BatchRecord(
                runID: run, model: "m", provider: "openai", providerBatchID: "b", inputFileID: nil, round: 1,
                status: "validating", requests: 2), requests: [])
        #expect(try await store.batches(runID: run).map(\.id) == [batch.id])
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
            try store.execute("INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
            try store.writer!.close()
        }
        let before = try fileBytes(path)
        #expect(throws: StoreError.newerSchema(path: path, detail: "schema 9999_from_the_future")) {
            try ExperimentStore(path: path)
        }
        #expect(throws: StoreError.newerSchema(path: path, detail: "schema 9999_from_the_future")) {
            try ExperimentStore.openForReading(path: path)
        }
        #expect(try fileBytes(path) == before)
    }

    @Test("an SQLite database of another program is refused and left as it was")
    func foreignDatabase() throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("other.sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(
                sql:
                    """
                    CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'Ada')
                    """
            )
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

    @Test("a database SQLite cannot create is one line that says so, not 'SQLite error 14'")
    func cannotCreate() {
        // procfs takes no new files, even from root.
        let path = "/proc/self/hvae-test.sqlite"
        #expect(throws: StoreError.cannotOpen(path: path)) { try ExperimentStore(path: path) }
        #expect(StoreError.cannotOpen(path: path).description.hasPrefix("cannot create \(path)"))
        // A folder that cannot be written (as a user who is not root meets it) is named.
        let scratch = ScratchDirectory()
        let folder = scratch.path("locked")
        let message = ExperimentStore.cannotOpenDescription(folder + "/missing/x.sqlite")
        #expect(message.contains("cannot create") && message.contains("choose"))
    }

    @Test("a write transaction held by another program for over 10 s: one line naming the lock, nothing written")
    func lockedByAnother() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("locked.sqlite")
        let store = try ExperimentStore(path: path)
        let other = try DatabaseQueue(path: path)
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? other.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                started.signal()
                release.wait()
                try db.execute(sql: "ROLLBACK")
            }
        }
        started.wait()
        defer { release.signal() }
        await #expect(throws: StoreError.locked(path: path, holders: [])) {
            _ = try await store.createRun(
                RunRecord(name: "x", description: "", experimentJSON: "{}", seed: 1, toolVersion: "test"))
        }
        #expect(
            StoreError.locked(path: path, holders: ["run 3 (hvae process 812 on h)"]).description.contains(
                "while run 3 (hvae process 812 on h) is running on it"))
    }

    @Test("a new file whose write lock another connection holds a moment opens once it is released, not refused")
    func newFileLockedAMoment() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("new.sqlite")
        // Not in WAL mode yet, as a new file is: opening turns it to WAL, which needs the write
        // lock, and SQLite refuses that at once instead of waiting (as when two processes open it).
        let other = try DatabaseQueue(path: path)
        let started = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? other.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                started.signal()
                Thread.sleep(forTimeInterval: 0.3)
                try db.execute(sql: "ROLLBACK")
            }
        }
        started.wait()
        let store = try ExperimentStore(path: path)
        #expect(try await store.runs().isEmpty)
        #expect(try await store.reader.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
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
        let run = try await store.createRun(
            RunRecord(name: "r", description: "", experimentJSON: "{}", seed: 1, toolVersion: "t"))
        #expect(throws: DatabaseError.self) {
            try store.execute(
                """
                INSERT INTO trials (run_id, model, provider, value, goal, option_order, trial_index, seed)
                VALUES (?, 'm', 'reference', 'selfish', 'with', 'original', 1, 1)
                """, [run.id])
        }
    }

    @Test("user_version above this hvae's schema is refused untouched, by every way of opening it")
    func userVersionAbove() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("future.sqlite")
        do {
            let store = try ExperimentStore(path: path)
            try store.execute("PRAGMA user_version = 999")
            try store.writer!.close()
        }
        let before = try fileBytes(path)
        let refusal = StoreError.newerSchema(
            path: path, detail: "user_version 999, this hvae knows \(ExperimentStore.schemaVersion)")
        #expect(throws: refusal) { try ExperimentStore(path: path) }
        #expect(throws: refusal) { try ExperimentStore.openForReading(path: path) }
        #expect(throws: refusal) { try ExperimentStore.schemaVersion(of: path) }
        #expect(try await ExperimentStore.check(path: path).isHealthy == false)
        #expect(try fileBytes(path) == before)
    }

    @Test("opened for reading, a database's bytes do not change; an empty file stays empty")
    func readingWritesNothing() async throws {
        let scratch = ScratchDirectory()
        let (writer, runID, _) = try await makeStore(scratch, trials: 3)
        try writer.writer!.close()
        let path = writer.path
        let before = try fileBytes(path)
        let reader = try ExperimentStore.openForReading(path: path)
        #expect(reader.migratedCopy == nil)
        #expect(try await reader.runs().count == 1)
        #expect(try await reader.trialResults(TrialFilter(runIDs: [runID])).count == 3)
        await #expect(throws: StoreError.readOnlyFile(path: path)) { try await reader.setRunStatus(runID, .finished) }
        #expect(try fileBytes(path) == before)

        let empty = scratch.path("empty.sqlite")
        FileManager.default.createFile(atPath: empty, contents: nil)
        #expect(throws: StoreError.emptyFile(path: empty)) { try ExperimentStore.openForReading(path: empty) }
        #expect(try fileBytes(empty).isEmpty)
    }

    @Test("a database of schema 7 keeps its results: its metrics become scores, read the same through the views")
    func fromMetricsToScores() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("seven.sqlite")
        let pool = try DatabasePool(path: path)
        try Schema.migrator.migrate(pool, upTo: "0007_run_owner")
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (id, name, experiment_json, experiment_sha256, seed, tool_version, created_at, \
                    status)
                    VALUES (1, 'old', '{}', '\(String(repeating: "0", count: 64))', 1, '0.1.0', \
                    '2026-01-01T00:00:00.000Z', 'finished');
                    INSERT INTO trials (id, run_id, model, provider, value, goal, option_order, trial_index, seed, \
                    status) VALUES
                        (1, 1, 'm', 'reference', 'prosocial', 'with', 'original', 1, 1, 'complete'),
                        (2, 1, 'm', 'reference', 'prosocial', 'with', 'original', 2, 2, 'incomplete'),
                        (3, 1, 'm', 'reference', 'prosocial', 'with', 'original', 3, 3, 'failed');
                    """)
            func metric(_ trial: Int, _ parser: Int, _ name: String, _ value: Double?, label: String? = nil) throws {
                try db.execute(
                    sql: """
                        INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, \
                        label, computed_at)
                        VALUES (?, ?, 'f', 1, ?, ?, ?, '2026-01-01T00:00:00.000Z')
                        """, arguments: [trial, name, parser, value, label])
            }
            for (name, value) in [
                ("angle", 30.47), ("vr", 45.47), ("hit", 1), ("angular_error", 14.53), ("transitive", 0),
                ("invalid_items", 0), ("mean_self", 78.33), ("mean_other", 66.67),
            ] {
                try metric(1, 1, name, value)
            }
            try metric(1, 1, "category", nil, label: "prosocial")
            try metric(2, 1, "invalid_items", 1)
            // A rescore with parser 2 completed trial 2.
            for (name, value) in [("angle", 45.0), ("vr", 60), ("hit", 1), ("invalid_items", 0)] {
                try metric(2, 2, name, value)
            }
        }
        let viewBefore = try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM vr_summary ORDER BY 1, 2, 3, 4").map { row in
                Array(row.databaseValues).map(\.description)
            }
        }
        try pool.close()
        let store = try ExperimentStore(path: path)
        let results = try await store.trialResults(TrialFilter(runIDs: [1]))
        #expect(results.map(\.status) == [.complete, .complete, .failed])
        #expect(results.map(\.vr) == [45.47, 60, nil])
        #expect(results[0].hit == true && results[0].transitive == false && results[0].category == .prosocial)
        #expect(results[0].meanSelf == 78.33 && results[0].invalidItems == 0)
        #expect(results[1].parserVersion == 2)
        #expect(try store.count("SELECT count(*) FROM trial_scores") == 3)
        let viewAfter = try store.rows("SELECT * FROM vr_summary ORDER BY 1, 2, 3, 4").map { row in
            Array(row.databaseValues).map(\.description)
        }
        // Schema 13 adds each cell's direction and θ*: prosocial's, for trials of schema 7; schema
        // 15 the mean expected angle, which they have none of; schema 17 the counts of incomplete,
        // failed and unfinished trials; schema 19 the instrument, the slider for every older trial.
        #expect(viewAfter.map { Array($0.prefix(10)) } == viewBefore)
        #expect(viewAfter.map { Array($0[10..<13]) } == [["45.0", "45.0", "NULL"]])
        #expect(viewAfter.map { Array($0.suffix(4)) } == [["0", "1", "0", "\"slider\""]])
    }

    @Test("an older schema opened for reading is read from a migrated copy; the file is left as it was")
    func olderForReading() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("seven.sqlite")
        let pool = try DatabasePool(path: path)
        try Schema.migrator.migrate(pool, upTo: "0007_run_owner")
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (name, experiment_json, experiment_sha256, seed, tool_version, created_at)
                    VALUES ('old', '{}', '\(String(repeating: "0", count: 64))', 1, '0.1.0', '2026-01-01T00:00:00.000Z')
                    """)
        }
        try pool.close()
        let before = try fileBytes(path)
        var copy: String?
        do {
            let store = try ExperimentStore.openForReading(path: path)
            copy = store.migratedCopy
            #expect(try await store.runs().map(\.name) == ["old"])
        }
        #expect(try fileBytes(path) == before)
        #expect(try ExperimentStore.schemaVersion(of: path) == 7)
        let left = try #require(copy)
        #expect(!FileManager.default.fileExists(atPath: left))
    }

    @Test("a damaged file is named as damaged, not written to, and db check says so")
    func damaged() async throws {
        let scratch = ScratchDirectory()
        let (writer, _, _) = try await makeStore(scratch, trials: 20)
        try writer.writer!.close()
        let path = writer.path
        // Keep the header, overwrite the pages after it.
        var bytes = try fileBytes(path)
        for index in 100..<bytes.count { bytes[index] = UInt8(truncatingIfNeeded: index &* 7) }
        try bytes.write(to: URL(fileURLWithPath: path))
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let before = try fileBytes(path)
        for open in [{ _ = try ExperimentStore(path: path) }, { _ = try ExperimentStore.openForReading(path: path) }] {
            do {
                try open()
                Issue.record("a damaged file was opened")
            } catch let error as StoreError {
                guard case .damaged(let named, _) = error else {
                    Issue.record("\(error)")
                    continue
                }
                #expect(named == path)
                #expect(error.description.contains("hvae db check"))
            }
        }
        let check = try await ExperimentStore.check(path: path)
        #expect(!check.isHealthy)
        #expect(!check.integrityProblems.isEmpty)
        #expect(try fileBytes(path) == before)
    }

    @Test(
        """
        damage past the schema page: each check reports on its own, none passes unchecked, and the quick check refuses \
        it
        """
    )
    func damagedPages() async throws {
        let scratch = ScratchDirectory()
        let (writer, _, _) = try await makeStore(scratch, trials: 200)
        try await writer.writer!.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try writer.writer!.close()
        let path = writer.path
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try ExperimentStore.requireIntact(path: path)
        #expect(try await ExperimentStore.check(path: path).isHealthy)
        // Pages 3 to 6 overwritten; page 1 (the header and the schema) is intact, so the file opens.
        var bytes = try fileBytes(path)
        for index in 8_192..<min(bytes.count, 24_576) { bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 17) }
        try bytes.write(to: URL(fileURLWithPath: path))
        let before = try fileBytes(path)
        let check = try await ExperimentStore.check(path: path)
        #expect(check.schemaVersion == ExperimentStore.schemaVersion)
        #expect(!check.integrityProblems.isEmpty)
        #expect(!check.isHealthy)
        // A check that met the damage is nil, never an empty list read as "ok".
        let unchecked = [check.foreignKeyProblems == nil, check.orphanTexts == nil, check.mismatchedTexts == nil]
        #expect(unchecked.contains(true) || check.integrityProblems.count > 1, "\(check)")
        #expect(throws: StoreError.self) { try ExperimentStore.requireIntact(path: path) }
        #expect(try fileBytes(path) == before)
    }

    @Test("db check finds a text whose body does not hash to its address")
    func textHashes() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch)
        try await store.record(call(.value, [ChatMessage(.user, "whole text")], reply: "reply"), trialID: trials[0])
        #expect(try await ExperimentStore.check(path: store.path).isHealthy)
        try store.execute("UPDATE texts SET body = 'whole' WHERE body = 'whole text'")
        let check = try await ExperimentStore.check(path: store.path)
        #expect(check.mismatchedTexts == [Digest.sha256Hex("whole text")])
        #expect(!check.isHealthy)
    }
}
