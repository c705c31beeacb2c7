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

/// Trials of one run of a merge's output that did not run to their end (pending, running or
/// failed) while an input holds them further along: `ExperimentStore.merge(from:)` refuses them.
public struct StaleTrials: Sendable, Equatable, CustomStringConvertible {
    public var runID: Int64
    public var runName: String
    public var trials: Int

    public init(runID: Int64, runName: String, trials: Int) {
        (self.runID, self.runName, self.trials) = (runID, runName, trials)
    }

    public var description: String { "\(trials) unfinished trial(s) of run \(runID) (\(runName))" }
}

extension ExperimentStore {
    /// The output's run an input's run merges into: the one of its uid, or the one its slices join.
    /// Columns `src_run`, `main_run`.
    private static let mergeTargets = """
        SELECT s.id AS src_run, m.id AS main_run FROM src.runs AS s JOIN main.runs AS m ON m.uid = s.uid
        UNION ALL
        SELECT s.id, (SELECT min(m.id) FROM main.runs AS m WHERE m.shard_group = s.shard_group)
        FROM src.runs AS s
        WHERE s.shard_group IS NOT NULL AND NOT EXISTS (SELECT 1 FROM main.runs AS m WHERE m.uid = s.uid)
            AND EXISTS (SELECT 1 FROM main.runs AS m WHERE m.shard_group = s.shard_group)
        """

    /// One trial of the output (`m`) and one of the input (`s`) are the same trial of a run: the
    /// same cell and replicate. (The runs are matched by `mergeTargets`.)
    private static let sameTrial = """
        m.model = s.model AND m.value IS s.value AND m.target_phi = s.target_phi AND m.goal = s.goal
            AND m.option_order = s.option_order AND m.placement = s.placement AND m.variant = s.variant
            AND m.instrument = s.instrument AND m.trial_index = s.trial_index
        """

    /// The tables a merge copies below runs, in the order it copies them, and the columns it
    /// renumbers: each names the table whose ids it refers to. Every other column is copied as it
    /// is, whatever the schema's columns are (they are read from the schema), so a migration that
    /// adds a column cannot be dropped by a merge; one that adds a table must be listed here (a
    /// test checks every table of the schema is).
    static let mergedTables: [(table: String, renumbered: [String: String])] = [
        ("trials", ["id": "trials", "run_id": "runs"]),
        ("texts", [:]),
        ("turns", ["id": "turns", "trial_id": "trials", "parent_id": "turns"]),
        (
            "model_calls",
            ["id": "model_calls", "trial_id": "trials", "request_turn_id": "turns", "reply_turn_id": "turns"]
        ),
        ("answers", ["id": "answers", "call_id": "model_calls"]),
        ("trial_scores", ["trial_id": "trials"]),
        ("audit_labels", ["call_id": "model_calls"]),
        ("letter_probabilities", ["call_id": "model_calls"]),
        ("option_probabilities", ["call_id": "model_calls"]),
        ("batches", ["id": "batches", "run_id": "runs"]),
        ("batch_requests", ["batch_id": "batches", "trial_id": "trials"]),
    ]

    /// The tables of the schema a merge leaves alone: GRDB's record of applied migrations, and
    /// the search index of replies with its shadow tables and the tallies of migrations/0012 (the
    /// triggers that keep them current fill them as the rows are copied).
    static let unmergedTables: Set<String> = [
        "grdb_migrations", "reply_search", "reply_search_data", "reply_search_idx", "reply_search_docsize",
        "reply_search_config", "reply_search_content", "status_tallies", "usage_tallies", "reported_ids",
    ]

    /// Throws unless `path` is an hvae database of this binary's schema, which `merge(from:)`
    /// can read. Writes nothing.
    public static func checkMergeable(_ path: String) async throws {
        let version = try schemaVersion(of: path)
        guard version == Schema.currentVersion else {
            throw StoreError.schemaMismatch(path: path, found: version, expected: Schema.currentVersion)
        }
    }

    /// Copies every run of the hvae database at `path` into this one. Ids are renumbered so they
    /// never collide; message texts stay stored once; a run already here (same uid) is skipped, and
    /// so is a trial already present in its run. Slices of one sharded experiment (same shard group)
    /// join one run, so a study spread over machines merges into the run it would have been.
    /// The source is only read, never written; it must have this binary's schema.
    ///
    /// Throws `StoreError.staleMergeOutput`, writing nothing, when this database holds trials
    /// that did not run to their end and the source holds them further along (resumed since it
    /// was merged): a merge never replaces a trial, so it would keep them unfinished for good.
    public func merge(from path: String) async throws -> MergeOutcome {
        let output = self.path
        return try await withSource(path) { db in
            var outcome = MergeOutcome()
            try db.inTransaction {
                let stale = try Self.staleTrials(db)
                guard stale.isEmpty else { throw StoreError.staleMergeOutput(path: output, input: path, runs: stale) }
                try Self.mergeRuns(db, outcome: &outcome)
                return .commit
            }
            return outcome
        }
    }

    /// What `merge(from: path)` would refuse (see there), without writing: empty when it may go on.
    public func staleTrials(comparedWith path: String) async throws -> [StaleTrials] {
        try await withSource(path) { db in try Self.staleTrials(db) }
    }

    /// `body` on the writer's connection with the hvae database at `path` attached as `src`.
    private func withSource<T: Sendable>(_ path: String, _ body: @escaping @Sendable (Database) throws -> T)
        async throws -> T
    {
        try await Self.checkMergeable(path)
        let writer = try requireWriter()
        return try await Self.mapped(self.path) {
            try await writer.writeWithoutTransaction { db in
                try db.execute(sql: "ATTACH DATABASE ? AS src", arguments: [path])
                defer { try? db.execute(sql: "DETACH DATABASE src") }
                return try body(db)
            }
        }
    }

    /// Trials of `main` not run to their end whose namesakes in `src` have moved on: another
    /// status, or more calls.
    private static func staleTrials(_ db: Database) throws -> [StaleTrials] {
        try Row.fetchAll(
            db,
            sql: """
                WITH targets AS (\(mergeTargets))
                SELECT r.id AS run_id, r.name AS run_name, count(*) AS trials
                FROM targets AS g
                JOIN src.trials AS s ON s.run_id = g.src_run
                JOIN main.trials AS m ON m.run_id = g.main_run AND \(sameTrial)
                JOIN main.runs AS r ON r.id = g.main_run
                WHERE \(FinishedTrial.unended("m.status"))
                    AND (s.status <> m.status
                        OR (SELECT count(*) FROM src.model_calls AS c WHERE c.trial_id = s.id)
                            > (SELECT count(*) FROM main.model_calls AS c WHERE c.trial_id = m.id))
                GROUP BY r.id ORDER BY r.id
                """
        ).map { row in StaleTrials(runID: row["run_id"], runName: row["run_name"], trials: row["trials"]) }
    }

    private static func mergeRuns(_ db: Database, outcome: inout MergeOutcome) throws {
        let runColumns = try db.columns(in: "runs").map(\.name).filter { $0 != "id" }
        var targets: [Int64: Int64] = [:]
        for run in try Row.fetchAll(
            db, sql: "SELECT id, uid, shard_group, reproduces_run_id, shard FROM src.runs ORDER BY id")
        {
            let sourceRun: Int64 = run["id"]
            if let uid: String = run["uid"],
                let existing = try Int64.fetchOne(db, sql: "SELECT id FROM main.runs WHERE uid = ?", arguments: [uid])
            {
                targets[sourceRun] = existing
                outcome.skipped += 1
                continue
            }
            let group: String? = run["shard_group"]
            let target: Int64
            if let group,
                let existing = try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT id FROM main.runs WHERE shard_group = ? ORDER BY id LIMIT 1
                        """, arguments: [group])
            {
                target = existing
                outcome.slicesJoined += 1
                // The joined run plans the trials of every slice joined so far, each once: a slice
                // merged again (resumed since, or by mistake) has its trials there already. Slice
                // i of n holds the plan ordinals i - 1 modulo n.
                let slice = (run["shard"] as String?)?.split(separator: "/").compactMap { Int($0) } ?? []
                var joinedBefore = false
                if slice.count == 2 {
                    joinedBefore =
                        try Bool.fetchOne(
                            db,
                            sql: "SELECT EXISTS (SELECT 1 FROM main.trials WHERE run_id = ? AND ordinal % ? = ?)",
                            arguments: [target, slice[1], slice[0] - 1]) ?? false
                }
                if !joinedBefore {
                    try db.execute(
                        sql: """
                            UPDATE main.runs
                            SET planned_trials = planned_trials + (SELECT planned_trials FROM src.runs WHERE id = ?)
                            WHERE id = ?
                            """, arguments: [sourceRun, target])
                }
            } else {
                // Every column as it is, but: a slice's uid is its own, not the joined run's; its
                // shard becomes `merged`; the run it reproduces is renumbered below (or, when that run
                // is not in this database, forgotten).
                let values = runColumns.map { column -> String in
                    switch column {
                    case "uid": "CASE WHEN shard_group IS NULL THEN uid ELSE NULL END"
                    case "shard": "CASE WHEN shard_group IS NULL THEN shard ELSE 'merged' END"
                    case "reproduces_run_id": "NULL"
                    default: column
                    }
                }
                try db.execute(
                    sql: """
                        INSERT INTO main.runs (\(runColumns.joined(separator: ", ")))
                        SELECT \(values.joined(separator: ", ")) FROM src.runs WHERE id = ?
                        """, arguments: [sourceRun])
                target = db.lastInsertedRowID
                outcome.runsAdded += 1
            }
            targets[sourceRun] = target
            if let original: Int64 = run["reproduces_run_id"] {
                // The original was merged before it (a lower id), or was here already.
                let mapped =
                    try targets[original]
                    ?? Int64.fetchOne(
                        db,
                        sql: """
                            SELECT m.id FROM main.runs AS m JOIN src.runs AS s ON s.uid = m.uid WHERE s.id = ?
                            """, arguments: [original])
                if let mapped {
                    try db.execute(
                        sql: "UPDATE main.runs SET reproduces_run_id = ? WHERE id = ?", arguments: [mapped, target])
                }
            }
            outcome.trialsAdded += try copyTrials(of: sourceRun, into: target, db: db, outcome: &outcome)
            if group != nil {
                // A joined run is finished once every trial its slices plan has run.
                try db.execute(
                    sql: """
                        UPDATE main.runs SET status = CASE
                            WHEN EXISTS (
                                SELECT 1 FROM main.trials WHERE run_id = ?1 AND \(FinishedTrial.unended("status")))
                              OR (planned_trials IS NOT NULL AND (SELECT count(*) FROM main.trials WHERE run_id = ?1) \
                        < planned_trials)
                            THEN 'interrupted' ELSE 'finished' END
                        WHERE id = ?1
                        """, arguments: [target])
            }
        }
    }

    /// Copies the trials of a source run missing from `target`, with every row that hangs from
    /// them, shifting every id past the largest one here.
    private static func copyTrials(
        of sourceRun: Int64, into target: Int64, db: Database,
        outcome: inout MergeOutcome
    ) throws -> Int {
        try db.execute(sql: "DROP TABLE IF EXISTS temp.copied")
        try db.execute(
            sql: """
                CREATE TEMP TABLE copied AS
                SELECT s.id FROM src.trials AS s
                WHERE s.run_id = ? AND NOT EXISTS (SELECT 1 FROM main.trials AS m WHERE m.run_id = ? AND \(sameTrial))
                """, arguments: [sourceRun, target])
        let copied = try Int.fetchOne(db, sql: "SELECT count(*) FROM temp.copied")!
        outcome.skipped +=
            try Int.fetchOne(db, sql: "SELECT count(*) FROM src.trials WHERE run_id = ?", arguments: [sourceRun])!
            - copied
        guard copied > 0 else { return 0 }
        // Which rows of each table belong to the copied trials.
        let belongs: [String: String] = [
            "trials": "id IN (SELECT id FROM temp.copied)",
            "texts": "sha256 IN (SELECT text_sha256 FROM src.turns WHERE trial_id IN (SELECT id FROM temp.copied))",
            "turns": "trial_id IN (SELECT id FROM temp.copied)",
            "model_calls": "trial_id IN (SELECT id FROM temp.copied)",
            "answers": "call_id IN (SELECT id FROM src.model_calls WHERE trial_id IN (SELECT id FROM temp.copied))",
            "trial_scores": "trial_id IN (SELECT id FROM temp.copied)",
            "audit_labels":
                "call_id IN (SELECT id FROM src.model_calls WHERE trial_id IN (SELECT id FROM temp.copied))",
            "letter_probabilities":
                "call_id IN (SELECT id FROM src.model_calls WHERE trial_id IN (SELECT id FROM temp.copied))",
            "option_probabilities":
                "call_id IN (SELECT id FROM src.model_calls WHERE trial_id IN (SELECT id FROM temp.copied))",
            "batches": "id IN (SELECT batch_id FROM src.batch_requests WHERE trial_id IN (SELECT id FROM temp.copied))",
            "batch_requests": "trial_id IN (SELECT id FROM temp.copied)",
        ]
        // Each table's copied ids shift by one constant, so that the first follows the last id here:
        // merged into an empty file, a database keeps its ids, and merges leave no gaps.
        var offsets: [String: String] = [:]
        for table in ["trials", "turns", "model_calls", "answers", "batches"] {
            let last = try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM main.\(table)")!
            let first = try Int64.fetchOne(
                db, sql: "SELECT coalesce(min(id), 1) FROM src.\(table) WHERE \(belongs[table]!)")!
            offsets[table] = " + (\(last - first + 1))"
        }
        for (table, renumbered) in mergedTables {
            let columns = try db.columns(in: table).map(\.name)
            let values = columns.map { column -> String in
                guard let referenced = renumbered[column] else { return column }
                if referenced == "runs" { return "\(target)" }
                return "\(column)\(offsets[referenced]!)"
            }
            try db.execute(
                sql: """
                    INSERT INTO main.\(table) (\(columns.joined(separator: ", ")))
                    SELECT \(values.joined(separator: ", ")) FROM src.\(table) WHERE \(belongs[table]!)
                    \(table == "turns" ? "ORDER BY id" : "")
                    \(table == "texts" ? "ON CONFLICT DO NOTHING" : "")
                    """)
        }
        outcome.callsAdded += try Int.fetchOne(
            db,
            sql: """
                SELECT count(*) FROM src.model_calls WHERE trial_id IN (SELECT id FROM temp.copied)
                """)!
        return copied
    }
}

/// What a run joined from the slices of a sharded experiment holds of each slice: slice `i` of
/// `n` is the trials whose plan ordinal is `i − 1` modulo `n` (`TrialPlan`).
public struct SliceCoverage: Sendable, Equatable {
    public var runID: Int64
    public var runName: String
    public var experimentJSON: String
    /// The number of slices the experiment was cut into.
    public var count: Int
    /// Per slice index (1-based): what is stored of it; a slice with no trial stored is absent.
    public var slices: [Int: Slice]

    public struct Slice: Sendable, Equatable {
        /// The slice's trials stored.
        public var stored: Int
        /// Those of them not run to their end (pending, running or failed).
        public var unfinished: Int
    }
}

extension ExperimentStore {
    /// For every run joined from slices (`hvae merge` of `--shard` runs), what it holds of each
    /// slice: what `hvae merge` checks for missing and unfinished shards.
    public func sliceCoverage() async throws -> [SliceCoverage] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, name, experiment_json, shard_group FROM runs WHERE shard = 'merged' ORDER BY id"
            ).compactMap { run -> SliceCoverage? in
                // The group is "<experiment sha>/<n>".
                guard let group: String = run["shard_group"],
                    let count = group.split(separator: "/").last.flatMap({ Int($0) }),
                    count >= 1
                else { return nil }
                var slices: [Int: SliceCoverage.Slice] = [:]
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT ordinal % ? AS slice, count(*) AS stored,
                               sum(\(FinishedTrial.unended("status"))) AS unfinished
                        FROM trials WHERE run_id = ? AND ordinal IS NOT NULL GROUP BY 1
                        """, arguments: [count, run["id"] as Int64])
                {
                    slices[(row["slice"] as Int) + 1] = SliceCoverage.Slice(
                        stored: row["stored"], unfinished: row["unfinished"])
                }
                return SliceCoverage(
                    runID: run["id"], runName: run["name"], experimentJSON: run["experiment_json"], count: count,
                    slices: slices)
            }
        }
    }
}
