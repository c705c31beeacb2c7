import Domain
import Foundation
import GRDB
import SVO
import Synchronization
import Testing

@testable import Store

@Suite("Recording calls and scores, and the views over them")
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
        // Six distinct texts over both trials; each trial's chain holds its six messages once.
        #expect(try store.count("SELECT count(*) FROM texts") == 6)
        #expect(try store.count("SELECT count(*) FROM turns") == 12)
    }

    @Test("a text with U+0000 in it is stored, hashed, read back and rebuilt byte for byte")
    func nulInText() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch)
        let reply = "B\u{0}, then garbage \u{0}\u{1} after the NUL"
        let request = [ChatMessage(.user, "Item 1?\u{0}hidden")]
        var record = call(.item(1), request, reply: reply)
        // A body that is not all UTF-8: its bytes are kept as they are.
        let raw = Data("{\"content\": \"B\u{0}\"} ".utf8) + Data([0xFF, 0xFE, 0xC3, 0x28])
        record.rawResponse = raw
        record.error = nil
        let id = try await store.record(record, trialID: trials[0])
        #expect(try await store.requestMessages(callID: id) == request)
        #expect(try await store.storedCalls(trialID: trials[0]).map(\.reply) == [reply])
        // The stored body's bytes are the text's, and its address is their SHA-256.
        let rows = try store.rows("SELECT sha256, length(CAST(body AS BLOB)), CAST(body AS BLOB) FROM texts")
        for row in rows {
            let bytes: Data = row[2]
            #expect(Digest.sha256Hex(bytes) == row[0] as String)
        }
        #expect(Set(rows.map { $0[1] as Int }) == [Array(reply.utf8).count, Array(request[0].content.utf8).count])
        #expect(try store.rows("SELECT CAST(raw_response AS BLOB) FROM model_calls").map { $0[0] as Data } == [raw])
        // The stored text is found again by its hash: a replay, a cache hit or a resume reads it.
        #expect(try store.count("SELECT count(*) FROM texts WHERE sha256 = ?", [Digest.sha256Hex(reply)]) == 1)
    }

    @Test(
        "a run's failure reasons: each error once with its count, the most common first; other runs and statuses apart")
    func failureReasons() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch, trials: 6)
        let errors = ["HTTP 500: down", "timeout", "HTTP 500: down", "HTTP 401", "HTTP 500: down", "timeout"]
        for (trial, error) in zip(trials, errors) { try await store.failTrial(trial, error: error) }
        // Neither a trial that is not failed (whatever its error column says) nor another run's failures count.
        try store.execute("UPDATE trials SET status = 'complete' WHERE id = ?", [trials[5]])
        let (other, otherTrials) = try await makeRun(store, trials: 1, seed: 2)
        try await store.failTrial(otherTrials[0], error: "timeout")
        let reasons = try await store.failureReasons(runID: runID)
        #expect(reasons.map(\.error) == ["HTTP 500: down", "HTTP 401", "timeout"])
        #expect(reasons.map(\.trials) == [3, 1, 1])
        #expect(try await store.failureReasons(runID: other).map(\.trials) == [1])
    }

    @Test("a trial is stored and read back column for column")
    func trialRoundTrip() async throws {
        let scratch = ScratchDirectory()
        let store = try ExperimentStore(path: scratch.path("t.sqlite"))
        let run = try await store.createRun(
            RunRecord(name: "t", description: "", experimentJSON: "{}", seed: 1, toolVersion: "t"))
        var trial = TrialRecord(
            runID: run.id!,
            key: TrialKey(
                model: "m-1", value: .competitive, goal: .without,
                optionOrder: .reversed, index: 7),
            provider: "openai", seed: 1_234_567_890_123, ordinal: 41)
        trial.status = .failed
        trial.error = "HTTP 401"
        trial.startedAt = "2026-11-29T08:00:00.000Z"
        trial.finishedAt = "2026-11-29T08:00:01.000Z"
        let inserted = try await store.createTrials([trial])
        let read = try #require(try await store.trials(runID: run.id!).first)
        trial.id = inserted[0].id
        #expect(read == trial)
        #expect(try await store.trials(runID: run.id!, fromOrdinal: 41, limit: 5) == [trial])
        #expect(try await store.trials(runID: run.id!, fromOrdinal: 42, limit: 5).isEmpty)
    }

    /// `reopened`: the check is made by another store on the same file (a resumed run).
    @Test(
        "a request that does not extend the stored conversation is refused",
        arguments: [
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

    @Test("calls recorded at once are all committed, each all or nothing: a bad one fails alone")
    func groupCommit() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 6)
        let question = [ChatMessage(.user, "Describe a prosocial person.")]
        for trial in trials { try await store.record(call(.value, question, reply: "They share."), trialID: trial) }
        // Every trial's second call at once; trial 3's does not extend its chain.
        let results = await withTaskGroup(of: (Int64, Result<Int64, any Error>).self) { group in
            for trial in trials {
                let request =
                    trial == trials[2]
                    ? [
                        ChatMessage(.user, "something else"), ChatMessage(.assistant, "x"),
                        ChatMessage(.user, "Item 1?"),
                    ]
                    : question + [ChatMessage(.assistant, "They share."), ChatMessage(.user, "Item 1?")]
                group.addTask {
                    do {
                        return (
                            trial, .success(try await store.record(call(.item(1), request, reply: "A"), trialID: trial))
                        )
                    } catch {
                        return (trial, .failure(error))
                    }
                }
            }
            return await group.reduce(into: [Int64: Result<Int64, any Error>]()) { $0[$1.0] = $1.1 }
        }
        for trial in trials {
            if trial == trials[2] {
                #expect(throws: StoreError.conversationMismatch(trialID: trial)) { try results[trial]!.get() }
            } else {
                let id = try results[trial]!.get()
                #expect(try await store.requestMessages(callID: id).count == 3)
            }
        }
        // 6 first calls + 5 good second calls; the bad call left nothing behind.
        #expect(try store.count("SELECT count(*) FROM model_calls") == 11)
        #expect(try store.count("SELECT count(*) FROM turns WHERE trial_id = ?", [trials[2]]) == 2)
        #expect(try store.count("SELECT count(*) FROM turns") == 6 * 2 + 5 * 2)
    }

    @Test("a call is stored even when the task recording it is cancelled meanwhile")
    func storedThroughCancellation() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 50)
        let task = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for trial in trials {
                    group.addTask {
                        try await store.record(call(.value, [ChatMessage(.user, "q")], reply: "a"), trialID: trial)
                    }
                }
                try await group.waitForAll()
            }
        }
        task.cancel()
        try await task.value
        #expect(try store.count("SELECT count(*) FROM model_calls") == 50)
    }

    @Test("a trial becomes running with its first stored call, stamped with that call's start")
    func startsWithFirstCall() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch, trials: 2)
        let started = Date(timeIntervalSince1970: 1_700_000_000)
        var first = call(.value, [ChatMessage(.user, "one")], reply: "two")
        first.startedAt = started
        try await store.record(first, trialID: trials[0])
        var second = call(
            .goal, [ChatMessage(.user, "one"), ChatMessage(.assistant, "two"), ChatMessage(.user, "three")],
            reply: "four")
        second.startedAt = started.addingTimeInterval(60)
        try await store.record(second, trialID: trials[0])
        let rows = try store.rows("SELECT status, started_at FROM trials ORDER BY id")
        #expect(rows[0]["status"] == "running")
        #expect(rows[0]["started_at"] == Timestamp.string(started))  // the first call's, not the second's
        #expect(rows[1]["status"] == "pending")
        #expect((rows[1]["started_at"] as String?) == nil)
    }

    @Test("call_log shows every call with its step, reply, the newest parser's reading and what the API said")
    func callLog() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch)
        let request = [ChatMessage(.user, "Item 3?")]
        var first = call(
            .item(3), request, reply: "Option C",
            answer: AnswerRecord(
                parserVersion: 1, status: .noOption, item: 3, shownLetter: nil, option: nil,
                allocation: nil))
        first.finishReason = "length"
        first.httpStatus = 200
        let callID = try await store.record(first, trialID: trials[0])
        try await store.record(
            call(.item(3), attempt: 2, request + [ChatMessage(.assistant, "Option C")], reply: nil),
            trialID: trials[0])
        // A later parser version reads the same reply differently: the view shows the newest.
        #expect(try await store.addAnswers([(callID, okAnswer(3, .c, parserVersion: 2))]) == 1)
        #expect(try await store.addAnswers([(callID, okAnswer(3, .d, parserVersion: 2))]) == 0)  // kept as it was
        let rows = try store.rows("SELECT * FROM call_log WHERE run_id = ? ORDER BY call_id", [runID])
        #expect(rows.count == 2)
        #expect(rows[0]["step"] == "item 3")
        #expect(rows[0]["prompt"] == "Item 3?")
        #expect(rows[0]["reply"] == "Option C")
        #expect(rows[0]["parse_status"] == "ok")
        #expect(rows[0]["option"] == "C")
        #expect(rows[0]["self"] == 59)
        #expect(rows[0]["finish_reason"] == "length")
        #expect(rows[0]["http_status"] == 200)
        #expect(rows[1]["reply"] as String? == nil)
        #expect(rows[1]["error"] == "boom")
        #expect(rows[1]["attempt"] == 2)
    }

    @Test("a conflict is a reading the schema stores")
    func conflictStatus() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch)
        let answer = AnswerRecord(
            parserVersion: 2, status: .conflict, item: 1, shownLetter: nil, option: nil, allocation: nil)
        try await store.record(
            call(.item(1), [ChatMessage(.user, "Item 1?")], reply: "E: 85, 41", answer: answer),
            trialID: trials[0])
        #expect(try store.rows("SELECT parse_status FROM call_log").map { $0[0] as String } == ["conflict"])
    }

    @Test("the scorer reads, per call, the newest answer at or below its parser version, and the items asked")
    func scoringInput() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials) = try await makeStore(scratch)
        var messages = [ChatMessage(.user, "Item 1?")]
        let first = try await store.record(
            call(
                .item(1), messages, reply: "maybe",
                answer: AnswerRecord(
                    parserVersion: 1, status: .noOption, item: 1, shownLetter: nil, option: nil, allocation: nil)),
            trialID: trials[0])
        messages += [ChatMessage(.assistant, "maybe"), ChatMessage(.user, "Again?")]
        try await store.record(
            call(.item(1), attempt: 2, messages, reply: "A", answer: okAnswer(1, .a)), trialID: trials[0])
        messages += [ChatMessage(.assistant, "A"), ChatMessage(.user, "Item 2?")]
        try await store.record(call(.item(2), messages, reply: nil), trialID: trials[0])  // a failed try: no reading
        // Parser 3 reads the first reply as I; parser 2 is what is scored.
        _ = try await store.addAnswers([(first, okAnswer(1, .i, parserVersion: 3))])
        let seen = Mutex<[ScoringInput]>([])
        _ = try await store.scoreTrials(trials, parserVersion: 2, formulaVersion: 9, settingStatus: false) { input in
            seen.withLock { $0.append(input) }
            return score(.incomplete)
        }
        let input = try #require(seen.withLock { $0.first })
        #expect(input.assignment == .value(.prosocial))
        #expect(input.asked == [1, 2])
        #expect(
            input.readings == [
                ItemReading(item: 1, attempt: 1, option: nil), ItemReading(item: 1, attempt: 2, option: .a),
            ])
        #expect(try store.count("SELECT formula_version FROM trial_scores") == 9)
        // Not setting the status: the trial is as it was.
        #expect(try store.rows("SELECT status FROM trials").map { $0[0] as String } == ["running"])
    }

    @Test("vr_summary averages complete trials only and uses the newest formula version, then the newest parser")
    func summary() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch, trials: 4)
        try await store.store([
            trials[0]: score(.complete, vr: 50, angle: 40), trials[1]: score(.complete, vr: 60, angle: 45),
            trials[2]: score(.incomplete, invalidItems: 2),
        ])
        try await store.failTrial(trials[3], error: "HTTP 401")
        // A newer formula for trial 1 replaces 60 by 58 in the views; the old row stays. A newer
        // parser under the older formula does not count.
        try await store.store([trials[1]: score(.complete, vr: 58, angle: 45)], formulaVersion: 2)
        try await store.store([trials[1]: score(.complete, vr: 1, angle: 45)], formulaVersion: 1, parserVersion: 5)
        let rows = try await store.vrSummary(runIDs: [runID])
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row.n == 4)
        #expect(row.nComplete == 2)
        #expect(row.meanVR == 54)
        #expect(abs(row.sdVR! - 32.0.squareRoot()) < 1e-12)  // sample sd of 50 and 58
        #expect(row.meanAngle == 42.5)
        #expect(try store.count("SELECT count(*) FROM trial_scores WHERE trial_id = ?", [trials[1]]) == 3)
        let incomplete = try #require(
            try store.rows("SELECT * FROM trial_results WHERE trial_id = ?", [trials[2]]).first)
        #expect(incomplete["vr"] as Double? == nil)
        #expect(incomplete["invalid_items"] as Int64? == 2)
        #expect(incomplete["status"] == "incomplete")
    }

    @Test("a rescore's scores decide a scored trial's status in trial_results; a failed trial stays failed")
    func statusFollowsScores() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch, trials: 2)
        try await store.store([trials[0]: score(.incomplete)])
        try await store.failTrial(trials[1], error: "HTTP 500")
        try await store.store(
            [trials[0]: score(.complete, vr: 40, angle: 30), trials[1]: score(.complete, vr: 40, angle: 30)],
            parserVersion: 2, settingStatus: false)
        let statuses = try store.rows("SELECT status FROM trial_results ORDER BY trial_id").map { $0[0] as String }
        #expect(statuses == ["complete", "failed"])
        #expect(try await store.trialStatusCounts(runID: runID) == [.complete: 1, .failed: 1])
        // The trial's own column is as the run left it.
        #expect(
            try store.rows("SELECT status FROM trials ORDER BY id").map { $0[0] as String } == ["incomplete", "failed"])
    }

    @Test("identical values give a standard deviation of (numerically) zero, not cancellation noise")
    func zeroSpread() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch, trials: 3)
        for trial in trials { try await store.store([trial: score(.complete, vr: 43.61, angle: 45)]) }
        let sd = try #require(try await store.vrSummary(runIDs: [runID]).first?.sdVR)
        #expect(sd < 1e-12)
    }

    @Test("trial_results read with version bounds equals the view when the bounds are the newest")
    func boundedResultsAgree() async throws {
        let scratch = ScratchDirectory()
        let (store, runID, trials) = try await makeStore(scratch, trials: 4)
        try await store.store([trials[0]: score(.complete, vr: 50, angle: 40), trials[1]: score(.incomplete)])
        try await store.store([trials[0]: score(.complete, vr: 30, angle: 20)], parserVersion: 2)
        // A failed trial with scores of a try before is shown failed by both (the shown status).
        try await store.failTrial(trials[3], error: "HTTP 500")
        try await store.store([trials[3]: score(.complete, vr: 40, angle: 30)], settingStatus: false)
        let newest = try await store.trialResults(TrialFilter(runIDs: [runID]))
        let bounded = try await store.trialResults(TrialFilter(runIDs: [runID], parserVersion: 99, formulaVersion: 99))
        #expect(newest == bounded)
        #expect(newest.map(\.status) == [.complete, .incomplete, .pending, .failed])
        #expect(newest.map(\.vr) == [30, nil, nil, 40])
        let older = try await store.trialResults(TrialFilter(runIDs: [runID], parserVersion: 1))
        #expect(older.map(\.vr) == [50, nil, nil, 40])
        #expect(older.map(\.parserVersion) == [1, 1, nil, 1])
    }
}
