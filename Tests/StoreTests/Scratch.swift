import Foundation
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

/// A store with one run and `trials` pending trials of model "m", value prosocial, goal with.
func makeStore(_ scratch: ScratchDirectory, trials: Int = 1) async throws -> (ExperimentStore, Int64, [Int64]) {
    let store = try ExperimentStore(path: scratch.path("r.sqlite"))
    let (run, inserted) = try await store.createRun(
        RunRecord(name: "r", description: "", experimentJson: "{}", seed: 1, toolVersion: "t"),
        trials: (1...trials).map {
            TrialRecord(runId: 0, model: "m", provider: "reference", value: "prosocial", goal: "with",
                        optionOrder: "original", trialIndex: $0, seed: Int64($0))
        })
    return (store, run.id!, inserted.map { $0.id! })
}

/// A call of `step` that sent `request`; `reply: nil` is a failed call.
func call(_ step: CallStep, attempt: Int = 1, _ request: [ChatMessage], reply: String?, answer: AnswerRow? = nil) -> CallOutcome {
    CallOutcome(step: step, attempt: attempt, request: request, reply: reply, latencyMs: 1,
                error: reply == nil ? "boom" : nil, startedAt: Date(), finishedAt: Date(), answer: answer)
}
