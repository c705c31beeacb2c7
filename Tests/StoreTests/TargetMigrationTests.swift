import Domain
import Foundation
import GRDB
import SVO
import Testing

@testable import Store

@Suite("Targets in the schema (migrations/0013): old trials read as their value's direction")
struct TargetMigrationTests {
    /// A database of schema 12 with a finished run: a trial per value, each scored, and a call.
    static func version12Database(at path: String) async throws {
        let pool = try DatabasePool(path: path)
        let text = Digest.sha256Hex("Which option?")
        try Schema.migrator.migrate(pool, upTo: "0012_tallies")
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (id, name, experiment_json, experiment_sha256, seed, tool_version, created_at, \
                    status)
                    VALUES (1, 'old', '{}', '\(String(repeating: "0", count: 64))', 1, '0.4.0', \
                    '2026-01-01T00:00:00.000Z', 'finished');
                    INSERT INTO trials (id, run_id, model, provider, value, goal, option_order, trial_index, seed, \
                    status, ordinal) VALUES
                        (1, 1, 'm', 'reference', 'altruistic', 'with', 'original', 1, 11, 'complete', 0),
                        (2, 1, 'm', 'reference', 'prosocial', 'with', 'original', 1, 12, 'complete', 1),
                        (3, 1, 'm', 'reference', 'individualistic', 'with', 'reversed', 1, 13, 'incomplete', 2),
                        (4, 1, 'm', 'reference', 'competitive', 'without', 'original', 2, 14, 'failed', 3);
                    INSERT INTO trial_scores (trial_id, formula_version, parser_version, status, angle, category, \
                    hit, vr, angular_error, invalid_items, computed_at) VALUES
                        (1, 2, 2, 'complete', 61.38954033403479, 'altruistic', 1, 60, 0, 0, '2026-01-01T00:00:00Z'),
                        (2, 2, 2, 'complete', 30.47, 'prosocial', 1, 45.47, 14.53, 0, '2026-01-01T00:00:00Z'),
                        (3, 2, 2, 'incomplete', NULL, NULL, NULL, NULL, NULL, 1, '2026-01-01T00:00:00Z');
                    INSERT INTO texts (sha256, body) VALUES ('\(text)', 'Which option?');
                    INSERT INTO turns (id, trial_id, parent_id, position, role, text_sha256)
                    VALUES (1, 1, NULL, 0, 'user', '\(text)');
                    INSERT INTO model_calls (id, trial_id, step, item, attempt, request_turn_id, started_at, \
                    finished_at)
                    VALUES (1, 1, 'item', 1, 1, 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z');
                    """)
        }
        try pool.close()
    }

    @Test("a schema-12 database migrates: each trial gets its value's φ and the θ* hvae computes, bit for bit")
    func migrated() async throws {
        let scratch = ScratchDirectory()
        let path = scratch.path("v12.sqlite")
        try await Self.version12Database(at: path)
        let store = try ExperimentStore(path: path)
        let rows = try store.rows(
            "SELECT id, value, target_phi, ideal_angle, goal, option_order, trial_index, seed, status, ordinal "
                + "FROM trials ORDER BY id")
        #expect(rows.count == 4)
        for (row, value) in zip(rows, ValueOrientation.allCases) {
            #expect(row["value"] == value.rawValue)
            #expect(row["target_phi"] == value.utilityDirection)
            // The migration's literals are the Swift doubles, not roundings of them.
            #expect(row["ideal_angle"] == value.idealAngle)
        }
        #expect(rows.map { $0["seed"] as Int64 } == [11, 12, 13, 14])
        #expect(rows.map { $0["status"] as String } == ["complete", "complete", "incomplete", "failed"])
        #expect(rows.map { $0["option_order"] as String } == ["original", "original", "reversed", "original"])
        // The results read as before, now with each trial's assignment.
        let results = try await store.trialResults(TrialFilter(runIDs: [1]))
        #expect(results.map(\.key.assignment) == ValueOrientation.allCases.map(Assignment.value))
        #expect(results.map(\.vr) == [60, 45.47, nil, nil])
        #expect(results.map(\.status) == [.complete, .complete, .incomplete, .failed])
        // Nothing lost or broken: integrity, foreign keys, the tallies and their triggers.
        let check = try await ExperimentStore.check(path: path)
        #expect(check.isHealthy, "\(check)")
        #expect(try store.count("SELECT count(*) FROM model_calls") == 1)
        #expect(try store.count("SELECT count(*) FROM trial_scores") == 3)
        let (_, more) = try await makeRun(store, trials: 2)
        #expect(try await store.trialStatusCounts(runID: 2) == [.pending: 2])
        #expect(more.count == 2)
        #expect(try await ExperimentStore.check(path: path).staleTallies == [])
    }

    @Test("a target trial has no value; a named trial's φ is its value's; the cell of a trial is unique")
    func constraints() async throws {
        let scratch = ScratchDirectory()
        let (store, run, _) = try await makeStore(scratch, trials: 1)
        let key = TrialKey(model: "t", assignment: .target(22.5), goal: .with, optionOrder: .original, index: 1)
        let stored = try await store.createTrials([
            TrialRecord(runID: run, key: key, provider: "reference", seed: 5, ordinal: 10)
        ])
        let row = try #require(
            try store.rows("SELECT value, target_phi, ideal_angle FROM trials WHERE id = ?", [stored[0].id!]).first)
        #expect(row["value"] as String? == nil)
        #expect(row["target_phi"] == 22.5)
        #expect(row["ideal_angle"] == Assignment.target(22.5).idealAngle)
        let results = try await store.trialResults(TrialFilter(runIDs: [run], models: ["t"]))
        #expect(results.map(\.key) == [key])
        func refused(_ sql: String) -> Bool {
            do {
                try store.execute(sql, [run])
                return false
            } catch let error as DatabaseError {
                return error.resultCode == .SQLITE_CONSTRAINT
            } catch { return false }
        }
        let columns = "run_id, model, provider, value, goal, option_order, trial_index, seed, target_phi, ideal_angle"
        // The same target cell twice, and a named value with another value's direction.
        #expect(
            refused("INSERT INTO trials (\(columns)) VALUES (?, 't', 'r', NULL, 'with', 'original', 1, 6, 22.5, 0)"))
        #expect(
            refused("INSERT INTO trials (\(columns)) VALUES (?, 't', 'r', 'prosocial', 'with', 'original', 1, 6, 0, 0)")
        )
        #expect(refused("INSERT INTO trials (\(columns)) VALUES (?, 't', 'r', NULL, 'with', 'original', 1, 6, 91, 0)"))
        // Another direction, or the named value at the same direction, is another cell.
        #expect(!refused("INSERT INTO trials (\(columns)) VALUES (?, 't', 'r', NULL, 'with', 'original', 1, 6, 30, 0)"))
        #expect(
            !refused(
                "INSERT INTO trials (\(columns)) VALUES (?, 't', 'r', 'prosocial', 'with', 'original', 1, 6, 45, 0)"))
        #expect(!refused("INSERT INTO trials (\(columns)) VALUES (?, 't', 'r', NULL, 'with', 'original', 1, 6, 45, 0)"))
    }
}
