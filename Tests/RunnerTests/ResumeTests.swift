import Foundation
import GRDB
import Store
import Testing

@testable import Runner

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
            try String.fetchAll(db, sql: """
                SELECT r.model || '|' || r.value || '|' || r.goal || '|' || r.trial || '|' || r.status || '|' ||
                       coalesce(round(r.vr, 9), '-') || '|' ||
                       (SELECT group_concat(step || ':' || reply, ';') FROM
                           (SELECT step, reply FROM call_log WHERE trial_id = r.trial_id AND reply IS NOT NULL ORDER BY call_id))
                FROM trial_results AS r ORDER BY 1
                """)
        }
    }

    @Test("cancelled mid-run, then resumed: the same trials and replies as an uninterrupted run, no call made twice",
          arguments: [5, 37, 150])
    func cancelThenResume(cancelAfterCalls: Int) async throws {
        let experiment = try ExperimentFile.parse(yaml: Self.yaml)
        let providers = try ProviderFactory.makeAll(experiment, transport: URLSessionTransport())

        let whole = try ScratchStore()
        let wholeRunner = ExperimentRunner(store: whole.store)
        let wholeRun = try await wholeRunner.createRun(experiment)
        _ = try await wholeRunner.execute(runID: wholeRun.id!, experiment: experiment, providers: providers)

        let cut = try ScratchStore()
        let runner = ExperimentRunner(store: cut.store)
        let run = try await runner.createRun(experiment)
        // Cancel once enough calls are stored, as Ctrl-C would.
        let (trigger, signal) = AsyncStream<Void>.makeStream()
        let task = Task {
            try await runner.execute(runID: run.id!, experiment: experiment, providers: providers) { progress in
                if progress.calls >= cancelAfterCalls { signal.yield() }
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
        if case .success = await task.result { Issue.record("the run was expected to be cancelled") }
        #expect(try await cut.store.run(run.id!).status == .interrupted)
        let callsBefore = try await cut.reader.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")! }
        #expect(callsBefore >= cancelAfterCalls)

        let resumed = try await runner.execute(runID: run.id!, experiment: try runner.experiment(of: try await cut.store.run(run.id!)),
                                               providers: providers)
        #expect(resumed.status == .finished)
        #expect(try await fingerprint(cut) == (try await fingerprint(whole)))
        let (calls, distinct) = try await cut.reader.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT DISTINCT trial_id, step, item, attempt FROM model_calls)")!)
        }
        let wholeCalls = try await whole.reader.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")! }
        #expect(calls == wholeCalls)
        #expect(distinct == calls)
    }
}
