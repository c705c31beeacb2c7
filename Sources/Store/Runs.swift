import Domain
import Foundation
import GRDB
import SVO

// Runs and trials: creating them, moving them through their lifecycle, listing them.

extension ExperimentStore {
    /// Records a new run (its trials are stored as they start, see `createTrial`); returns it with its id.
    public func createRun(_ run: RunRecord) async throws -> RunRecord {
        try await write { db in
            var run = run
            run.sqliteVersion = try String.fetchOne(db, sql: "SELECT sqlite_version()")
            try run.insert(db)
            run.id = db.lastInsertedRowID
            return run
        }
    }

    /// Stores trials (pending) in one transaction; returns them with their ids.
    public func createTrials(_ trials: [TrialRecord]) async throws -> [TrialRecord] {
        try await write { db in
            try trials.map { trial in
                var trial = trial
                try trial.insert(db)
                trial.id = db.lastInsertedRowID
                return trial
            }
        }
    }

    /// Sets a run's status, stamping `started_at` when it starts and `finished_at` when it ends;
    /// `stopReason` says why a run stopped early (nil clears it, as a run that starts again does).
    public func setRunStatus(_ runID: Int64, _ status: RunStatus, stopReason: String? = nil) async throws {
        try await write { db in
            let now = Timestamp.now
            switch status {
            case .running:
                try db.execute(
                    sql: """
                        UPDATE runs SET status = 'running', stop_reason = NULL, started_at = coalesce(started_at, ?) \
                        WHERE id = ?
                        """, arguments: [now, runID])
            case .pending:
                try db.execute(sql: "UPDATE runs SET status = 'pending' WHERE id = ?", arguments: [runID])
            case .finished, .interrupted, .failed:
                try db.execute(
                    sql: "UPDATE runs SET status = ?, stop_reason = ?, finished_at = ? WHERE id = ?",
                    arguments: [status.rawValue, stopReason, now, runID])
            }
        }
    }

    /// Marks a trial as running again (a resume takes it up).
    public func startTrial(_ trialID: Int64) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE trials SET status = 'running', error = NULL, started_at = coalesce(started_at, ?) WHERE id \
                    = ?
                    """, arguments: [Timestamp.now, trialID])
        }
    }

    /// All runs, newest first.
    public func runs() async throws -> [RunRecord] {
        try await read { db in
            try RunRecord.fetchAll(db, sql: "SELECT \(RunRecord.selection) FROM runs ORDER BY id DESC")
        }
    }

    /// The run with this id; throws `StoreError.unknownRun` when there is none.
    public func run(_ id: Int64) async throws -> RunRecord {
        let found = try await read { db in
            try RunRecord.fetchOne(db, sql: "SELECT \(RunRecord.selection) FROM runs WHERE id = ?", arguments: [id])
        }
        guard let found else { throw StoreError.unknownRun(id) }
        return found
    }

    /// Up to `limit` trials of a run whose plan ordinal is at least `ordinal`, in plan order.
    public func trials(runID: Int64, fromOrdinal ordinal: Int, limit: Int) async throws -> [TrialRecord] {
        try await read { db in
            try TrialRecord.fetchAll(
                db,
                sql: """
                    SELECT \(TrialRecord.selection) FROM trials
                    WHERE run_id = ? AND ordinal >= ? ORDER BY ordinal LIMIT ?
                    """,
                arguments: [runID, ordinal, limit])
        }
    }

    /// Up to `limit` trials of a run with an id above `id`, in id order, in the given statuses
    /// (every status when empty).
    public func trials(runID: Int64, afterID id: Int64 = 0, statuses: [TrialStatus] = [], limit: Int = .max)
        async throws
        -> [TrialRecord]
    {
        try await read { db in
            let filter = statuses.isEmpty ? "" : "AND status IN \(placeholders(statuses.count))"
            return try TrialRecord.fetchAll(
                db,
                sql: """
                    SELECT \(TrialRecord.selection) FROM trials
                    WHERE run_id = ? AND id > ? \(filter) ORDER BY id LIMIT ?
                    """,
                arguments: StatementArguments(
                    [runID, id] as [any DatabaseValueConvertible]
                        + statuses.map(\.rawValue) + [min(limit, Int(Int32.max))]))
        }
    }

    /// How many stored trials of a run are in each status, complete and incomplete as their
    /// newest scores say (as the `trial_results` view has them), from the tallies of
    /// migrations/0012: a lookup however many trials the run has.
    public func trialStatusCounts(runID: Int64) async throws -> [TrialStatus: Int] {
        try await read { db in
            var counts: [TrialStatus: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT status, trials FROM trial_status_counts WHERE run_id = ?",
                arguments: [runID])
            {
                if let status = TrialStatus(rawValue: row["status"]) { counts[status] = row["trials"] }
            }
            return counts
        }
    }

    /// Why a run's failed trials failed: each distinct error with its number of trials, the most
    /// common first.
    public func failureReasons(runID: Int64) async throws -> [(error: String, trials: Int)] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT CAST(coalesce(error, 'no error recorded') AS BLOB) AS error, count(*) AS n FROM trials
                    WHERE run_id = ? AND status = 'failed' GROUP BY 1 ORDER BY n DESC, 1
                    """, arguments: [runID]
            ).map { (error: ExactText.text($0, "error") ?? "", trials: $0["n"]) }
        }
    }
}
