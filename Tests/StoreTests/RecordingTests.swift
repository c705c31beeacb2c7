import Foundation
import GRDB
import Testing
@testable import Store

@Suite("Recording calls, metrics and the views")
struct RecordingTests {
    @Test("each call's full request is rebuilt from the turn chain; texts are stored once")
    func requestReconstruction() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 2)
        let first = [ChatMessage(.user, "Describe a prosocial person.")]
        let second = first + [ChatMessage(.assistant, "They share."), ChatMessage(.user, "Item 1: A or B?")]
        let third = second + [ChatMessage(.assistant, "Hmm"), ChatMessage(.user, "Answer with one letter.")]
        var ids: [Int64] = []
        for trial in trials {
            ids.append(try await store.record(call(.value, first, reply: "They share."), trialID: trial))
            ids.append(try await store.record(call(.item(1), second, reply: "Hmm"), trialID: trial))
            ids.append(try await store.record(call(.item(1), attempt: 2, third, reply: "A"), trialID: trial))
        }
        #expect(try await store.requestMessages(callID: ids[0]) == first)
        #expect(try await store.requestMessages(callID: ids[1]) == second)
        #expect(try await store.requestMessages(callID: ids[5]) == third)
        let (texts, turns) = try await store.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM texts")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM turns")!)
        }
        // Six distinct texts over both trials; each trial's chain holds its six messages once.
        #expect(texts == 6)
        #expect(turns == 12)
    }

    @Test("a run's failure reasons: each error once with its count, the most common first; other runs and statuses apart")
    func failureReasons() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch, trials: 6)
        let errors: [String?] = ["HTTP 500: down", "timeout", "HTTP 500: down", nil, "HTTP 500: down", "timeout"]
        for (trial, error) in zip(trials, errors) {
            try await store.finishTrial(trial, status: .failed, error: error, metrics: [])
        }
        // Neither a trial that is not failed (whatever its error column says) nor another run's failures count.
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE trials SET status = 'complete' WHERE id = ?", arguments: [trials[5]])
        }
        let (other, otherTrials) = try await store.createRun(
            RunRecord(name: "other", description: "", experimentJson: "{}", seed: 2, toolVersion: "t"),
            trials: [TrialRecord(runId: 0, model: "m", provider: "reference", value: "prosocial", goal: "with",
                                 optionOrder: "original", trialIndex: 1, seed: 1)])
        try await store.finishTrial(otherTrials[0].id!, status: .failed, error: "timeout", metrics: [])
        let reasons = try await store.failureReasons(runID: runID)
        #expect(reasons.map(\.error) == ["HTTP 500: down", "no error recorded", "timeout"])
        #expect(reasons.map(\.trials) == [3, 1, 1])
        #expect(try await store.failureReasons(runID: other.id!).map(\.trials) == [1])
    }

    @Test("a trial is stored and read back column for column")
    func trialRoundTrip() async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("t.sqlite"))
        var trial = TrialRecord(runId: 0, model: "m-1", provider: "openai", value: "competitive", goal: "without",
                                optionOrder: "reversed", trialIndex: 7, seed: 1234567890123)
        trial.status = .failed
        trial.error = "HTTP 401"
        trial.startedAt = "2026-11-29T08:00:00.000Z"
        trial.finishedAt = "2026-11-29T08:00:01.000Z"
        let (run, inserted) = try await store.createRun(
            RunRecord(name: "t", description: "", experimentJson: "{}", seed: 1, toolVersion: "t"), trials: [trial])
        let read = try #require(try await store.trials(runID: run.id!).first)
        #expect(read.id == inserted[0].id && read.id != nil)
        #expect(read.runId == run.id)
        #expect([read.model, read.provider, read.value, read.goal, read.optionOrder]
                == ["m-1", "openai", "competitive", "without", "reversed"])
        #expect(read.trialIndex == 7 && read.seed == 1234567890123)
        #expect(read.status == .failed && read.error == "HTTP 401")
        #expect(read.startedAt == "2026-11-29T08:00:00.000Z" && read.finishedAt == "2026-11-29T08:00:01.000Z")
    }

    /// `reopened`: the check is made by another store on the same file (a resumed run), which
    /// reads the chain from the database instead of remembering what it wrote.
    @Test("a request that does not extend the stored conversation is refused", arguments: [
        [ChatMessage(.user, "one"), ChatMessage(.assistant, "not two"), ChatMessage(.user, "three")],
        [ChatMessage(.user, "one"), ChatMessage(.user, "two"), ChatMessage(.user, "three")],
        [ChatMessage(.user, "one")],
    ], [false, true])
    func mismatch(request: [ChatMessage], reopened: Bool) async throws {
        let scratch = ScratchDirectory()
        var (store, _, trials) = try await makeStore(scratch)
        try await store.record(call(.value, [ChatMessage(.user, "one")], reply: "two"), trialID: trials[0])
        if reopened { store = try ExperimentStore(path: store.path) }
        await #expect(throws: StoreError.conversationMismatch(trialID: trials[0])) {
            try await store.record(call(.goal, request, reply: "x"), trialID: trials[0])
        }
        // The request that does extend it is stored.
        let extending = [ChatMessage(.user, "one"), ChatMessage(.assistant, "two"), ChatMessage(.user, "three")]
        let id = try await store.record(call(.goal, extending, reply: "x"), trialID: trials[0])
        #expect(try await store.requestMessages(callID: id) == extending)
    }

    @Test("calls submitted at once are all committed, each all or nothing: a bad one fails alone")
    func batchedCommits() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 6)
        let question = [ChatMessage(.user, "Describe a prosocial person.")]
        // Every trial's first call, then one request that does not extend trial 3's chain, all
        // submitted before any is awaited: the writer takes them in as few transactions as it can.
        let first = trials.map { store.submit(call(.value, question, reply: "They share."), trialID: $0) }
        for pending in first { _ = try await pending.committed() }
        let submitted = trials.map { trial in
            let request = trial == trials[2]
                ? [ChatMessage(.user, "something else"), ChatMessage(.assistant, "x"), ChatMessage(.user, "Item 1?")]
                : question + [ChatMessage(.assistant, "They share."), ChatMessage(.user, "Item 1?")]
            return store.submit(call(.item(1), request, reply: "A"), trialID: trial)
        }
        var ids: [Int64] = []
        for (trial, pending) in zip(trials, submitted) {
            if trial == trials[2] {
                await #expect(throws: StoreError.conversationMismatch(trialID: trial)) { try await pending.committed() }
            } else {
                let id = try await pending.committed()
                #expect(try await pending.committed() == id)   // awaiting twice gives the same id
                ids.append(id)
            }
        }
        #expect(Set(ids).count == 5)
        let (calls, turns, badTurns) = try await store.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM turns")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM turns WHERE trial_id = ?", arguments: [trials[2]])!)
        }
        // 6 first calls + 5 good second calls; the bad call left nothing behind (its savepoint rolled back).
        #expect(calls == 11)
        #expect(badTurns == 2)
        #expect(turns == 6 * 2 + 5 * 2)
        for (trial, id) in zip(trials.filter { $0 != trials[2] }, ids) {
            let messages = try await store.requestMessages(callID: id)
            #expect(messages.count == 3, "trial \(trial)")
        }
    }

    @Test("a write submitted after a failed one of its trial is refused; other trials' writes are kept")
    func refusedAfterFailure() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 2)
        let question = [ChatMessage(.user, "one")]
        try await store.record(call(.value, question, reply: "two"), trialID: trials[0])
        // The first does not extend the stored conversation; the second would, without the first.
        let bad = store.submit(call(.goal, [ChatMessage(.user, "other"), ChatMessage(.assistant, "x"), ChatMessage(.user, "three")],
                                    reply: "four"), trialID: trials[0])
        let next = store.submit(call(.item(1), question + [ChatMessage(.assistant, "two"), ChatMessage(.user, "item?")], reply: "A"),
                                trialID: trials[0], after: bad)
        let other = store.submit(call(.value, question, reply: "two"), trialID: trials[1])
        await #expect(throws: StoreError.conversationMismatch(trialID: trials[0])) { try await bad.committed() }
        await #expect(throws: StoreError.earlierWriteFailed(trialID: trials[0])) { try await next.committed() }
        _ = try await other.committed()
        let calls = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")! }
        #expect(calls == 2)
    }

    @Test("a submitted call is committed by the commit timer when nobody awaits it")
    func committedWithoutWaiter() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 3)
        let question = [ChatMessage(.user, "Describe a prosocial person.")]
        for trial in trials { _ = store.submit(call(.value, question, reply: "They share."), trialID: trial) }
        // Another connection sees the calls once committed; nothing here awaits them.
        let reader = try DatabaseQueue(path: store.path)
        var seen = 0
        for _ in 0..<500 where seen < trials.count {
            try await Task.sleep(for: .milliseconds(10))
            seen = try await reader.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")! }
        }
        #expect(seen == trials.count)
    }

    @Test("a trial becomes running with its first stored call, stamped with that call's start")
    func startsWithFirstCall() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 2)
        let started = Date(timeIntervalSince1970: 1_700_000_000)
        var first = call(.value, [ChatMessage(.user, "one")], reply: "two")
        first.startedAt = started
        try await store.record(first, trialID: trials[0])
        var second = call(.goal, [ChatMessage(.user, "one"), ChatMessage(.assistant, "two"), ChatMessage(.user, "three")], reply: "four")
        second.startedAt = started.addingTimeInterval(60)
        try await store.record(second, trialID: trials[0])
        // Rows are not Sendable: read on this thread with the synchronous accessor.
        let rows = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT status, started_at FROM trials ORDER BY id")
        }
        #expect(rows[0]["status"] == "running")
        #expect(rows[0]["started_at"] == Timestamp.string(started))   // the first call's, not the second's
        #expect(rows[1]["status"] == "pending")
        #expect((rows[1]["started_at"] as String?) == nil)
        try await store.finishTrial(trials[0], status: .complete, metrics: [])
        #expect(try await store.pool.read { db in try String.fetchOne(db, sql: "SELECT status FROM trials WHERE id = ?", arguments: [trials[0]]) } == "complete")
    }

    @Test("call_log shows every call with its step, reply and the newest parser's reading")
    func callLog() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch)
        let request = [ChatMessage(.user, "Item 3?")]
        let callID = try await store.record(
            call(.item(3), request, reply: "Option C",
                 answer: AnswerRow(parserVersion: 1, status: "no_option", item: 3, shownLetter: nil, option: nil, own: nil, other: nil)),
            trialID: trials[0])
        try await store.record(call(.item(3), attempt: 2, request + [ChatMessage(.assistant, "Option C")], reply: nil), trialID: trials[0])
        // A later parser version reads the same reply differently: the view shows the newest.
        try await store.pool.write { db in
            try ExperimentStore.insert(AnswerRow(parserVersion: 2, status: "ok", item: 3, shownLetter: "C", option: "C", own: 59, other: 96),
                                       callID: callID, db: db)
        }
        let rows = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM call_log WHERE run_id = ? ORDER BY call_id", arguments: [runID])
        }
        #expect(rows.count == 2)
        #expect(rows[0]["step"] == "item 3")
        #expect(rows[0]["prompt"] == "Item 3?")
        #expect(rows[0]["reply"] == "Option C")
        #expect(rows[0]["parse_status"] == "ok")
        #expect(rows[0]["self"] == 59)
        #expect(rows[1]["reply"] as String? == nil)
        #expect(rows[1]["error"] == "boom")
        #expect(rows[1]["attempt"] == 2)
    }

    @Test("vr_summary averages complete trials only and uses the newest formula version")
    func summary() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch, trials: 4)
        func vr(_ value: Double, version: Int = 1) -> MetricValue {
            MetricValue(metric: "vr", formula: "vr60", formulaVersion: version, value: value)
        }
        try await store.finishTrial(trials[0], status: .complete, metrics: [vr(50), MetricValue(metric: "angle", formula: "atan2", formulaVersion: 1, value: 40)])
        try await store.finishTrial(trials[1], status: .complete, metrics: [vr(60), MetricValue(metric: "angle", formula: "atan2", formulaVersion: 1, value: 45)])
        try await store.finishTrial(trials[2], status: .incomplete, metrics: [MetricValue(metric: "invalid_items", formula: "count", formulaVersion: 1, value: 2)])
        try await store.finishTrial(trials[3], status: .failed, error: "HTTP 401", metrics: [])
        // A newer formula for trial 1 replaces 60 by 58 in the views; the old row stays.
        try await store.pool.write { db in
            try db.execute(sql: """
                INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at)
                VALUES (?, 'vr', 'vr60', 2, 1, 58, NULL, '2026-01-01T00:00:00.000Z')
                """,
                           arguments: [trials[1]])
        }
        let rows = try await store.vrSummary(runIDs: [runID])
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row.n == 4)
        #expect(row.nComplete == 2)
        #expect(row.meanVr == 54)
        #expect(abs(row.sdVr! - 32.0.squareRoot()) < 1e-12)   // sample sd of 50 and 58
        #expect(row.meanAngle == 42.5)
        let stored = try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM trial_metrics WHERE metric = 'vr'") }
        #expect(stored == 3)
        let incomplete = try store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM trial_results WHERE trial_id = ?", arguments: [trials[2]])!
        }
        #expect(incomplete["vr"] as Double? == nil)
        #expect(incomplete["invalid_items"] == 2.0)
    }

    @Test("identical values give a standard deviation of (numerically) zero, not cancellation noise")
    func zeroSpread() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch, trials: 3)
        for trial in trials {
            try await store.finishTrial(trial, status: .complete, metrics: [
                MetricValue(metric: "vr", formula: "vr60", formulaVersion: 1, value: 43.61),
                MetricValue(metric: "angle", formula: "atan2", formulaVersion: 1, value: 45),
            ])
        }
        let sd = try #require(try await store.vrSummary(runIDs: [runID]).first?.sdVr)
        #expect(sd < 1e-12)
    }
}
