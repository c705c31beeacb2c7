import Foundation
import GRDB

/// What `ExperimentStore.merge(from:)` did.
public struct MergeOutcome: Sendable, Equatable {
    /// Runs added as new runs.
    public var runsAdded = 0
    /// Slices of a sharded experiment joined into a run already in the database.
    public var slicesJoined = 0
    public var trialsAdded = 0
    public var callsAdded = 0
    /// Runs or trials already present (merging the same file again adds nothing).
    public var skipped = 0
}

extension ExperimentStore {
    /// Throws unless `path` is an hvae database of this binary's schema, which `merge(from:)`
    /// can read. Reads only.
    public static func checkMergeable(_ path: String) async throws {
        let version = try await schemaVersion(of: path)
        guard version == schemaVersion else {
            throw StoreError.schemaMismatch(path: path, found: version, expected: schemaVersion)
        }
    }

    /// Copies every run of the hvae database at `path` into this one. Ids are renumbered so they
    /// never collide; message texts stay stored once; a run already here (same uid) is skipped, and
    /// so is a trial already present in its run. Slices of one sharded experiment (same shard group)
    /// join one run, so a study spread over machines merges into the run it would have been.
    /// The source is only read, never written; it must have this binary's schema.
    public func merge(from path: String) async throws -> MergeOutcome {
        try await Self.checkMergeable(path)

        return try await pool.writeWithoutTransaction { db in
            // Only read from: nothing below writes to src.
            try db.execute(sql: "ATTACH DATABASE ? AS src", arguments: [path])
            defer { try? db.execute(sql: "DETACH DATABASE src") }
            var outcome = MergeOutcome()
            try db.inTransaction {
                let runs = try Row.fetchAll(db, sql: "SELECT id, uid, shard_group FROM src.runs ORDER BY id")
                for run in runs {
                    let sourceRun: Int64 = run["id"]
                    if let uid: String = run["uid"],
                       try Int.fetchOne(db, sql: "SELECT count(*) FROM main.runs WHERE uid = ?", arguments: [uid])! > 0 {
                        outcome.skipped += 1
                        continue
                    }
                    let group: String? = run["shard_group"]
                    let target: Int64
                    if let group, let existing = try Int64.fetchOne(db, sql: "SELECT id FROM main.runs WHERE shard_group = ? ORDER BY id LIMIT 1",
                                                                     arguments: [group]) {
                        target = existing
                        outcome.slicesJoined += 1
                    } else {
                        try db.execute(sql: """
                            INSERT INTO main.runs (name, description, status, experiment_json, experiment_sha256, seed, tool_version,
                                created_at, started_at, finished_at, git_commit, os, host, sqlite_version, replay, uid, shard, shard_group)
                            SELECT name, description, status, experiment_json, experiment_sha256, seed, tool_version, created_at,
                                   started_at, finished_at, git_commit, os, host, sqlite_version, replay,
                                   CASE WHEN shard_group IS NULL THEN uid ELSE NULL END,
                                   CASE WHEN shard_group IS NULL THEN shard ELSE 'merged' END, shard_group
                            FROM src.runs WHERE id = ?
                            """, arguments: [sourceRun])
                        target = db.lastInsertedRowID
                        outcome.runsAdded += 1
                    }
                    outcome.trialsAdded += try Self.copyTrials(of: sourceRun, into: target, db: db, outcome: &outcome)
                    if group != nil {
                        // A joined run is finished once every slice's trials are.
                        try db.execute(sql: """
                            UPDATE main.runs SET status = CASE WHEN EXISTS (SELECT 1 FROM main.trials WHERE run_id = ?1
                                AND status IN ('pending', 'running')) THEN 'interrupted' ELSE 'finished' END WHERE id = ?1
                            """, arguments: [target])
                    }
                }
                return .commit
            }
            return outcome
        }
    }

    /// Copies the trials of a source run missing from `target`, with their turns, texts, calls,
    /// answers and metrics, shifting every id past the largest one here.
    private static func copyTrials(of sourceRun: Int64, into target: Int64, db: Database, outcome: inout MergeOutcome) throws -> Int {
        try db.execute(sql: "DROP TABLE IF EXISTS temp.copied")
        try db.execute(sql: """
            CREATE TEMP TABLE copied AS
            SELECT s.id FROM src.trials AS s
            WHERE s.run_id = ? AND NOT EXISTS (
                SELECT 1 FROM main.trials AS m WHERE m.run_id = ? AND m.model = s.model AND m.value = s.value
                    AND m.goal = s.goal AND m.option_order = s.option_order AND m.trial_index = s.trial_index)
            """, arguments: [sourceRun, target])
        let copied = try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.copied")!
        outcome.skipped += try Int.fetchOne(db, sql: "SELECT count(*) FROM src.trials WHERE run_id = ?", arguments: [sourceRun])! - copied
        guard copied > 0 else { return 0 }
        func offset(_ table: String) throws -> Int64 { try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM main.\(table)")! }
        let (trial, turn, call, answer) = (try offset("trials"), try offset("turns"), try offset("model_calls"), try offset("answers"))
        let selected = "IN (SELECT id FROM temp.copied)"
        try db.execute(sql: """
            INSERT INTO main.trials (id, run_id, model, provider, value, goal, option_order, trial_index, seed, status, error, started_at, finished_at)
            SELECT id + \(trial), ?, model, provider, value, goal, option_order, trial_index, seed, status, error, started_at, finished_at
            FROM src.trials WHERE id \(selected);
            """, arguments: [target])
        try db.execute(sql: """
            INSERT INTO main.texts (sha256, body)
            SELECT DISTINCT x.sha256, x.body FROM src.texts AS x JOIN src.turns AS t ON t.text_sha256 = x.sha256
            WHERE t.trial_id \(selected) ON CONFLICT DO NOTHING;
            INSERT INTO main.turns (id, trial_id, parent_id, position, role, text_sha256)
            SELECT id + \(turn), trial_id + \(trial), parent_id + \(turn), position, role, text_sha256
            FROM src.turns WHERE trial_id \(selected) ORDER BY id;
            INSERT INTO main.model_calls (id, trial_id, step, item, attempt, retry, request_turn_id, reply_turn_id, raw_response,
                provider_model_id, finish_reason, input_tokens, output_tokens, latency_ms, error, started_at, finished_at,
                http_status, system_fingerprint)
            SELECT id + \(call), trial_id + \(trial), step, item, attempt, retry, request_turn_id + \(turn), reply_turn_id + \(turn),
                raw_response, provider_model_id, finish_reason, input_tokens, output_tokens, latency_ms, error, started_at, finished_at,
                http_status, system_fingerprint
            FROM src.model_calls WHERE trial_id \(selected);
            INSERT INTO main.answers (id, call_id, parser_version, status, item, shown_letter, option, self, other)
            SELECT a.id + \(answer), a.call_id + \(call), a.parser_version, a.status, a.item, a.shown_letter, a.option, a.self, a.other
            FROM src.answers AS a JOIN src.model_calls AS c ON c.id = a.call_id WHERE c.trial_id \(selected);
            INSERT INTO main.trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at)
            SELECT trial_id + \(trial), metric, formula, formula_version, parser_version, value, label, computed_at
            FROM src.trial_metrics WHERE trial_id \(selected);
            """)
        outcome.callsAdded += try Int.fetchOne(db, sql: "SELECT count(*) FROM src.model_calls WHERE trial_id \(selected)")!
        return copied
    }
}
