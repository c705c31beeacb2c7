import Domain
import Foundation
import GRDB
import SVO
import Testing

@testable import Store

@Suite("Tallies (migrations/0012): kept equal to a count of the rows as trials, calls and scores arrive")
struct TallyTests {
    /// The tallies that disagree with a count from scratch.
    func stale(_ store: ExperimentStore) throws -> [String] {
        try store.reader.read { db in
            try Tally.allCases.filter { try !$0.agrees(db, schema: Schema.currentVersion) }.map(\.rawValue)
        }
    }

    /// Three trials of model "m" in one run: trial 1 with a value call (model id and fingerprint
    /// reported), item 1 read as B, item 2 a failed call and then an ambiguous retry; trial 2 with
    /// item 1 read as D from the cache. Trial 3 has no call.
    func fixture(_ scratch: ScratchDirectory) async throws -> (ExperimentStore, Int64, [Int64], [Int64]) {
        let (store, run, trials) = try await makeStore(scratch, trials: 3)
        let first = [ChatMessage(.user, "Describe a prosocial person.")]
        let second = first + [ChatMessage(.assistant, "They share."), ChatMessage(.user, "Item 1?")]
        let third = second + [ChatMessage(.assistant, "B"), ChatMessage(.user, "Item 2?")]
        var value = call(.value, first, reply: "They share.")
        value.providerModelID = "m-2026"
        value.systemFingerprint = "fp1"
        value.inputTokens = 10
        value.outputTokens = 3
        var ids = [try await store.record(value, trialID: trials[0])]
        ids.append(
            try await store.record(call(.item(1), second, reply: "B", answer: okAnswer(1, .b)), trialID: trials[0]))
        ids.append(try await store.record(call(.item(2), third, reply: nil), trialID: trials[0]))
        var retried = call(
            .item(2), third, reply: "A or C",
            answer: AnswerRecord(
                parserVersion: 1, status: .ambiguous, item: 2, shownLetter: nil, option: nil, allocation: nil))
        retried.retry = 1
        retried.inputTokens = 5
        ids.append(try await store.record(retried, trialID: trials[0]))
        var cached = call(.item(1), [ChatMessage(.user, "Item 1?")], reply: "D", answer: okAnswer(1, .d))
        cached.cacheHit = true
        cached.providerModelID = "m-2027"
        ids.append(try await store.record(cached, trialID: trials[1]))
        return (store, run, trials, ids)
    }

    @Test("usage, reported ids and statuses are the counts of what was recorded")
    func followRecording() async throws {
        let scratch = ScratchDirectory()
        let (store, run, trials, _) = try await fixture(scratch)
        let usage = try await store.modelUsage(runID: run)
        #expect(usage.count == 1)
        #expect(usage.first?.calls == 5 && usage.first?.errors == 1 && usage.first?.retries == 1)
        #expect(usage.first?.cacheHits == 1 && usage.first?.inputTokens == 15 && usage.first?.outputTokens == 3)
        #expect(usage.first?.modelIDs == "m-2026,m-2027" && usage.first?.fingerprints == "fp1")
        let answers = try await store.answerCounts(TrialFilter(runIDs: [run]))
        #expect(answers.map(\.shownLetter).sorted() == [.b, .d] && answers.allSatisfy { $0.count == 1 })
        #expect(try await store.trialStatusCounts(runID: run) == [.running: 2, .pending: 1])
        try await store.store([trials[0]: score(.complete, vr: 50, angle: 20)])
        try await store.failTrial(trials[2], error: "gave up")
        #expect(try await store.trialStatusCounts(runID: run) == [.complete: 1, .running: 1, .failed: 1])
        let found = try stale(store)
        #expect(found == [])
    }

    @Test("position bias counts each call's newest reading; newer scores move their trial's status, older ones nothing")
    func followRescoring() async throws {
        let scratch = ScratchDirectory()
        let (store, run, trials, ids) = try await fixture(scratch)
        try await store.store([trials[0]: score(.complete, vr: 50, angle: 20), trials[1]: score(.incomplete)])
        // Parser 2 finds item 1 of trial 1 ambiguous and reads trial 1's retry as C.
        let ambiguous = AnswerRecord(
            parserVersion: 2, status: .ambiguous, item: 1, shownLetter: nil, option: nil, allocation: nil)
        _ = try await store.addAnswers([(ids[1], ambiguous), (ids[3], okAnswer(2, .c, parserVersion: 2))])
        var letters = try await store.answerCounts(TrialFilter(runIDs: [run])).map(\.shownLetter).sorted()
        #expect(letters == [.c, .d])
        // The same readings again, and a reading older than the newest, change nothing.
        _ = try await store.addAnswers([(ids[1], ambiguous), (ids[4], okAnswer(1, .a, parserVersion: 1))])
        letters = try await store.answerCounts(TrialFilter(runIDs: [run])).map(\.shownLetter).sorted()
        #expect(letters == [.c, .d])
        // A newer reading that reads as the one before it (D again) leaves the counts as they are.
        _ = try await store.addAnswers([(ids[4], okAnswer(1, .d, parserVersion: 3))])
        #expect(try await store.answerCounts(TrialFilter(runIDs: [run])).map(\.count) == [1, 1])
        // The version-bounded count reads the calls and so still sees parser 1's readings.
        var first = TrialFilter(runIDs: [run])
        first.parserVersion = 1
        #expect(try await store.answerCounts(first).map(\.shownLetter).sorted() == [.b, .d])
        // Scores of parser 2 complete trial 2 and leave trial 1 incomplete; scores of an older
        // formula arrive after them and are not the newest.
        try await store.store(
            [trials[0]: score(.incomplete, invalidItems: 1), trials[1]: score(.complete, vr: 40, angle: 30)],
            parserVersion: 2, settingStatus: false)
        #expect(try await store.trialStatusCounts(runID: run) == [.complete: 1, .incomplete: 1, .pending: 1])
        try await store.store([trials[1]: score(.incomplete)], formulaVersion: 1, parserVersion: 1)
        #expect(try await store.trialStatusCounts(runID: run) == [.complete: 1, .incomplete: 1, .pending: 1])
        let found = try stale(store)
        #expect(found == [])
    }

    @Test("a merge fills the target's tallies as it copies, a joined slice included")
    func followMerge() async throws {
        let scratch = ScratchDirectory()
        let (source, _, trials, _) = try await fixture(scratch)
        try await source.store([trials[0]: score(.complete, vr: 50, angle: 20)])
        let (target, _, _) = try await makeStore(scratch, trials: 2, name: "target.sqlite")
        _ = try await target.merge(from: source.path)
        _ = try await target.merge(from: source.path)
        let found = try stale(target)
        #expect(found == [])
        let runs = try await target.runs().map { $0.id! }
        #expect(try await target.modelUsage(runID: runs.max()!).first?.calls == 5)
        #expect(try await target.trialStatusCounts(runID: runs.max()!)[.complete] == 1)
    }

    @Test("the migration's counts of rows stored before it equal the counts its triggers keep")
    func migrationBackfill() async throws {
        let scratch = ScratchDirectory()
        let (store, _, trials, ids) = try await fixture(scratch)
        try await store.store([trials[0]: score(.complete, vr: 50, angle: 20)])
        _ = try await store.addAnswers([(ids[4], okAnswer(1, .e, parserVersion: 2))])
        let tables = Tally.allCases.map(\.rawValue)
        func snapshot() throws -> [String] {
            try tables.flatMap { table in
                // The triggers keep rows whose count fell to zero; the backfill never makes them.
                let counted = table == "status_tallies" ? "trials > 0" : "1"
                return try store.rows("SELECT * FROM \(table) WHERE \(counted) ORDER BY 1, 2, 3, 4")
                    .map { "\(table) \($0)" }
            }
        }
        let kept = try snapshot()
        #expect(!kept.isEmpty)
        let sql = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appending(path: "migrations/0012_tallies.sql"), encoding: .utf8)
        let backfill = sql.components(separatedBy: "-- What is stored already.")[1]
            .components(separatedBy: "-- A new trial:")[0]
        try store.execute(tables.map { "DELETE FROM \($0);" }.joined() + backfill)
        #expect(try snapshot() == kept)
        let found = try stale(store)
        #expect(found == [])
    }

    @Test("a row changed by hand makes its tally stale, and the check says so")
    func handEdits() async throws {
        let scratch = ScratchDirectory()
        let (store, _, _, ids) = try await fixture(scratch)
        try store.execute("UPDATE model_calls SET input_tokens = 99 WHERE id = ?", [ids[0]])
        #expect(try stale(store) == ["usage_tallies"])
        let check = try await ExperimentStore.check(path: store.path)
        #expect(check.staleTallies == ["usage_tallies"] && !check.isHealthy)
    }
}
