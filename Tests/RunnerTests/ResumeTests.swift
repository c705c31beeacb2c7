import Design
import Foundation
import GRDB
import Testing

@testable import Runner
@testable import Store

@Suite("Resuming interrupted runs")
struct ResumeTests {
    static let yaml = """
        name: resume
        trials: 3
        option_orders: [shuffled]
        concurrency: 4
        models:
          - name: noisy
            agent: noisy
            temperature: 10
          - name: random
            agent: random
        """

    /// Per trial: its cell, status, VR and every successful reply, in order.
    func fingerprint(_ scratch: ScratchStore) async throws -> [String] {
        try await scratch.reader.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT r.model || '|' || r.value || '|' || r.goal || '|' || r.trial || '|' || r.status || '|' ||
                           coalesce(round(r.vr, 9), '-') || '|' ||
                           (SELECT group_concat(step || ':' || reply, ';') FROM
                               (SELECT step, reply FROM call_log WHERE trial_id = r.trial_id AND reply IS NOT NULL \
                    ORDER BY call_id))
                    FROM trial_results AS r ORDER BY 1
                    """)
        }
    }

    /// The experiment, its providers, and a store holding a run of it that nothing interrupted.
    func uninterrupted() async throws -> (Experiment, [String: any ChatProvider], ScratchStore) {
        let experiment = try ExperimentFile.parse(yaml: Self.yaml)
        let providers = try ProviderFactory.makeAll(experiment, transport: NetworkTransport())
        let whole = try ScratchStore()
        let runner = ExperimentRunner(store: whole.store)
        let run = try await runner.createRun(experiment)
        _ = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
        return (experiment, providers, whole)
    }

    @Test("a run stopped the moment it is stored, before it is claimed, is marked interrupted with the reason")
    func stoppedBeforeItStarts() async throws {
        let scratch = try ScratchStore()
        let experiment = try ExperimentFile.parse(yaml: "name: s\ntrials: 1\nmodels:\n  - name: i\n    agent: ideal\n")
        let runner = ExperimentRunner(store: scratch.store)
        let run = try await runner.createRun(experiment)
        let providers = try ProviderFactory.makeAll(experiment, transport: NetworkTransport())
        // Cancelled before its first step, as a signal right after `run 1:` is printed: before,
        // the run stayed `pending` with no reason (1 of 20 signals in the end-to-end test).
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await runner.execute(
                runID: run.id!, experiment: experiment, providers: providers,
                interruption: { "interrupted by SIGINT" })
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        let stored = try await scratch.store.run(run.id!)
        #expect(stored.status == .interrupted && stored.stopReason == "interrupted by SIGINT")
        // Resumable as any interrupted run.
        let outcome = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
        #expect(outcome.status == .finished)
    }

    @Test(
        """
        a full disk stops the run naming the cause; the run is left interrupted and let go, and a resume finishes it \
        exactly
        """
    )
    func diskFull() async throws {
        let (experiment, providers, whole) = try await uninterrupted()

        let cut = try ScratchStore()
        let runner = ExperimentRunner(store: cut.store)
        let run = try await runner.createRun(experiment)
        // The disk fills up: SQLite may add 30 pages to the file, then every write that needs a
        // new page fails with SQLITE_FULL, as on a full disk.
        let writer = try #require(cut.store.writer)
        let pages = try await writer.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! }
        try await writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(pages + 30)") }
        do {
            _ = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
            Issue.record("the run was expected to stop on the full disk")
        } catch let error as StoreError {
            #expect(error == .diskFull(path: cut.store.path))
            #expect(error.description.hasPrefix("disk full at \(cut.store.path)"))
        }
        let stopped = try await cut.store.run(run.id!)
        #expect(stopped.status == .interrupted)
        #expect(stopped.stopReason?.hasPrefix("disk full at") == true, "\(stopped.stopReason ?? "nil")")
        #expect(stopped.owner == nil)
        let callsBefore = try await cut.reader.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!
        }
        #expect(callsBefore > 0)

        // Space again (a new connection has no page limit): the resume completes the run as one
        // that never stopped, and makes no stored call again.
        let reopened = try ExperimentStore(path: cut.store.path)
        let resumer = ExperimentRunner(store: reopened)
        let resumed = try await resumer.execute(
            runID: run.id!, experiment: try Experiment(storedIn: try await reopened.run(run.id!)),
            providers: providers)
        #expect(resumed.status == .finished)
        #expect(try await fingerprint(cut) == (try await fingerprint(whole)))
        let distinct = try await cut.reader.read { db in
            try Int.fetchOne(
                db,
                sql:
                    """
                    SELECT count(*) = count(DISTINCT trial_id || ':' || step || ':' || coalesce(item, '') || ':' || \
                    attempt) FROM model_calls
                    """
            )!
        }
        #expect(distinct == 1)
    }

    @Test(
        "cancelled mid-run, then resumed: the same trials and replies as an uninterrupted run, no call made twice",
        arguments: [5, 37, 150])
    func cancelThenResume(cancelAfterCalls: Int) async throws {
        let (experiment, providers, whole) = try await uninterrupted()

        let cut = try ScratchStore()
        let runner = ExperimentRunner(store: cut.store)
        let run = try await runner.createRun(experiment)
        let result = await runCancelled(
            runner, runID: run.id!, experiment: experiment, providers: providers, afterCalls: cancelAfterCalls)
        if case .success = result { Issue.record("the run was expected to be cancelled") }
        #expect(try await cut.store.run(run.id!).status == .interrupted)
        let callsBefore = try await cut.reader.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!
        }
        #expect(callsBefore >= cancelAfterCalls)

        let resumed = try await runner.execute(
            runID: run.id!, experiment: try Experiment(storedIn: try await cut.store.run(run.id!)),
            providers: providers)
        #expect(resumed.status == .finished)
        #expect(try await fingerprint(cut) == (try await fingerprint(whole)))
        let (calls, distinct) = try await cut.reader.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!,
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM (SELECT DISTINCT trial_id, step, item, attempt FROM model_calls)")!
            )
        }
        let wholeCalls = try await whole.reader.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!
        }
        #expect(calls == wholeCalls)
        #expect(distinct == calls)
    }
}

/// Runs `experiment` and cancels it, as Ctrl-C would, once `afterCalls` calls are done; returns
/// how the run ended.
func runCancelled(
    _ runner: ExperimentRunner, runID: Int64, experiment: Experiment, providers: [String: any ChatProvider],
    afterCalls: Int
) async -> Result<RunOutcome, any Error> {
    let (trigger, signal) = AsyncStream<Void>.makeStream()
    let task = Task {
        try await runner.execute(runID: runID, experiment: experiment, providers: providers) { progress in
            if progress.calls >= afterCalls { signal.yield() }
        }
    }
    Task {
        _ = await task.result
        signal.finish()
    }
    for await _ in trigger {
        task.cancel()
        break
    }
    return await task.result
}
