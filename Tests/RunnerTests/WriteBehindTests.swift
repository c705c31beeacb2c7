import Foundation
import GRDB
import Testing
import Store
@testable import Runner

/// A trial's records are queued for the group commit and the trial goes on (`WriteBehind`). These
/// tests use a commit interval of ten minutes, so that nothing is committed unless somebody waits.
@Suite("Write-behind: trials do not wait for their records")
struct WriteBehindTests {
    static let never = DispatchTimeInterval.seconds(600)

    /// Pending trials in a new run; returns their ids.
    func trials(_ scratch: ScratchStore, count: Int = 1) async throws -> [Int64] {
        let (_, trials) = try await scratch.store.createRun(
            RunRecord(name: "w", description: "", experimentJson: "{}", seed: 1, toolVersion: "t"),
            trials: (1...count).map {
                TrialRecord(runId: 0, model: "m", provider: "reference", value: "prosocial", goal: "without",
                            optionOrder: "original", trialIndex: $0, seed: 1)
            })
        return trials.map { $0.id! }
    }

    /// The trial's call for item `item`, its conversation grown by one question and answer per item.
    func call(item: Int) -> CallOutcome {
        var request: [ChatMessage] = []
        for earlier in 1..<item { request += [ChatMessage(.user, "Item \(earlier)?"), ChatMessage(.assistant, "A")] }
        request.append(ChatMessage(.user, "Item \(item)?"))
        return CallOutcome(step: .item(item), attempt: 1, request: request, reply: "A", latencyMs: 1,
                           startedAt: Date(), finishedAt: Date())
    }

    func storedCalls(_ store: ExperimentStore) throws -> Int {
        try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")! }
    }

    @Test("a trial gets at most maxUncommitted writes ahead of the writer, then waits for its oldest")
    func boundedLag() async throws {
        let scratch = try ScratchStore(commitInterval: Self.never)
        let trialID = try await trials(scratch)[0]
        var writes = WriteBehind(store: scratch.store, trialID: trialID)
        let limit = WriteBehind.maxUncommitted
        for item in 1...limit { try await writes.record(call(item: item)) }
        #expect(try storedCalls(scratch.store) == 0)   // all queued, none waited for
        try await writes.record(call(item: limit + 1))
        // Waiting for the oldest committed the batch it was in: every write queued before the last.
        #expect(try storedCalls(scratch.store) == limit)
        try await writes.flush()
        #expect(try storedCalls(scratch.store) == limit + 1)
    }

    @Test("a record that could not be stored ends the trial at its next record, and none after it is stored")
    func failureSurfaces() async throws {
        let scratch = try ScratchStore(commitInterval: Self.never)
        let ids = try await trials(scratch, count: 2)
        var writes = WriteBehind(store: scratch.store, trialID: ids[0])
        try await writes.record(call(item: 1))
        // Item 2's request does not extend item 1's conversation, so the store refuses it; item 3's
        // does extend what is stored (item 1), so only the link to item 2 keeps it out.
        var wrong = call(item: 2)
        wrong.request[1] = ChatMessage(.assistant, "B")
        try await writes.record(wrong)
        try await writes.record(call(item: 3))
        // Another trial's awaited record commits everything queued before it.
        try await scratch.store.record(call(item: 1), trialID: ids[1])
        await #expect(throws: StoreError.conversationMismatch(trialID: ids[0])) {
            try await writes.record(call(item: 4))
        }
        let (calls, turns) = try await scratch.store.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls WHERE trial_id = ?", arguments: [ids[0]])!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM turns WHERE trial_id = ?", arguments: [ids[0]])!)
        }
        #expect(calls == 1)
        #expect(turns == 2)
        #expect(try storedCalls(scratch.store) == 2)
    }

    @Test("a run returns only once everything its trials queued is committed", .timeLimit(.minutes(1)))
    func runWaitsForItsWrites() async throws {
        let (scratch, runID, progress) = try await run("""
            name: write-behind
            trials: 2
            goal: without
            models:
              - name: ideal
                agent: ideal
            """, commitInterval: Self.never)
        // Without a goal a trial makes 7 calls: with its end, fewer writes than maxUncommitted, so
        // no trial ever waits for the writer, and only the run's own wait commits them.
        #expect(progress.finishedTrials == 8)
        let (complete, calls, status) = try await scratch.store.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM trials WHERE run_id = ? AND status = 'complete'", arguments: [runID])!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!,
             try String.fetchOne(db, sql: "SELECT status FROM runs WHERE id = ?", arguments: [runID])!)
        }
        #expect(complete == 8)
        #expect(calls == 8 * 7)
        #expect(status == "finished")
    }
}
