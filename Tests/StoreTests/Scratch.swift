import Domain
import Foundation
import GRDB
import SVO

@testable import Store

/// A fresh directory for one test's database files, removed when the value is released.
final class ScratchDirectory {
    let url: URL
    init() {
        url = FileManager.default.temporaryDirectory.appending(path: "hvae-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appending(path: name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The key of trial `index` of model "m", prosocial, with goal, original order.
func key(_ index: Int, value: ValueOrientation = .prosocial) -> TrialKey {
    TrialKey(model: "m", value: value, goal: .with, optionOrder: .original, index: index)
}

/// A store with one run and `trials` pending trials of model "m", value prosocial, goal with.
func makeStore(_ scratch: ScratchDirectory, trials: Int = 1, name: String = "r.sqlite") async throws
    -> (ExperimentStore, Int64, [Int64])
{
    let store = try ExperimentStore(path: scratch.path(name))
    let (run, inserted) = try await makeRun(store, trials: trials)
    return (store, run, inserted)
}

/// A run with `trials` pending trials in `store`.
func makeRun(_ store: ExperimentStore, trials: Int, seed: Int64 = 1) async throws -> (Int64, [Int64]) {
    let run = try await store.createRun(
        RunRecord(name: "r", description: "", experimentJSON: "{}", seed: seed, toolVersion: "t"))
    let inserted = try await store.createTrials(
        (1...trials).map {
            TrialRecord(runID: run.id!, key: key($0), provider: "reference", seed: Int64($0), ordinal: $0 - 1)
        })
    return (run.id!, inserted.map { $0.id! })
}

/// A call of `step` that sent `request`; `reply: nil` is a failed call.
func call(_ step: CallStep, attempt: Int = 1, _ request: [ChatMessage], reply: String?, answer: AnswerRecord? = nil)
    -> CallRecord
{
    CallRecord(
        step: step, attempt: attempt, request: request, reply: reply, latencyMs: 1,
        error: reply == nil ? "boom" : nil, startedAt: Date(), finishedAt: Date(), answer: answer)
}

/// An `ok` reading of item `item` as option `letter` (shown in the original order).
func okAnswer(_ item: Int, _ letter: OptionLetter, parserVersion: Int = 1) -> AnswerRecord {
    AnswerRecord(
        parserVersion: parserVersion, status: .ok, item: item, shownLetter: letter, option: letter,
        allocation: SliderItem.number(item)!.allocation(letter))
}

/// A score with just a status, a VR and an angle, for view tests.
func score(_ status: ScoredStatus, vr: Double? = nil, angle: Double? = nil, invalidItems: Int = 0) -> TrialScore {
    TrialScore(status: status, angle: angle, valueRationality: vr, invalidItems: invalidItems)
}

extension ExperimentStore {
    /// Stores `score` for each trial as formula and parser version given, whatever its answers.
    func store(
        _ scores: [Int64: TrialScore], formulaVersion: Int = 1, parserVersion: Int = 1, settingStatus: Bool = true
    )
        async throws
    {
        for (trialID, score) in scores {
            try await scoreTrials(
                [trialID], parserVersion: parserVersion, formulaVersion: formulaVersion,
                settingStatus: settingStatus
            ) { _ in score }
        }
    }

    /// Reads with the synchronous accessor, so that rows (not Sendable) stay on this thread.
    func rows(_ sql: String, _ arguments: StatementArguments = []) throws -> [Row] {
        try reader.read { db in try Row.fetchAll(db, sql: sql, arguments: arguments) }
    }

    func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Int {
        try reader.read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0 }
    }

    func execute(_ sql: String, _ arguments: StatementArguments = []) throws {
        try requireWriter().write { db in try db.execute(sql: sql, arguments: arguments) }
    }
}
