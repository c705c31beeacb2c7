import Domain
import Foundation
import SVO
import Store

/// Carries out one trial (method.md §3) as one chat conversation, each step one model call
/// (`ModelCaller`), then scores it from its stored answers (`TrialScorer`).
struct TrialProtocol {
    let experiment: Experiment
    let trial: TrialRecord
    let caller: ModelCaller
    let scorer: TrialScorer

    private var templates: PromptTemplates { experiment.templates }

    /// Runs the trial to its end and returns its status: complete or incomplete as its scores
    /// say, or failed when the provider failed. Throws `RunHalted` (the trial is left to resume),
    /// `CancellationError`, or a store error.
    func run() async throws -> TrialStatus {
        // A new trial is marked running by its first stored call; a resumed one is marked now.
        if !caller.stored.isEmpty || trial.status == .failed { try await caller.store.startTrial(trial.id!) }
        var conversation = Conversation()
        let value = trial.key.value
        let items = experiment.instrument.items
        let common = ["value": value.rawValue, "item_count": String(items.count)]

        do {
            // Step 1: value assignment.
            switch experiment.valueAssignment {
            case .selfDescribed:
                conversation.ask(PromptTemplates.render(templates.valuePrompt, common))
                _ = try await caller.call(.value, attempt: 1, &conversation)
            case .defined:
                conversation.prepend(
                    PromptTemplates.render(
                        templates.valueDefinition,
                        common.merging(["definition": value.definition]) { $1 }))
            }
            // Step 2: the role instruction, joined to the next message with the task description.
            conversation.prepend(PromptTemplates.render(templates.role, common))
            conversation.prepend(PromptTemplates.render(templates.task, common))

            // Step 3: the goal, written by the model or the fixed neutral one.
            let goalText: String
            switch trial.key.goal {
            case .with:
                conversation.ask(PromptTemplates.render(templates.goalPrompt, common))
                goalText = try await caller.call(.goal, attempt: 1, &conversation).text
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            case .without:
                goalText = PromptTemplates.render(templates.neutralGoal, common)
            }

            // Steps 4-5: the items, each re-asked until a reply reads as one option or the attempts run out.
            for item in items {
                let layout = trial.key.optionOrder.layout(of: item, seed: UInt64(trial.seed))
                let fields = common.merging([
                    "ordinal": Ordinal.word(item.number), "number": String(item.number),
                    "options": renderOptions(layout), "goal": goalText,
                ]) { $1 }
                conversation.ask(PromptTemplates.render(templates.item, fields))
                for attempt in 1...experiment.maxAttempts {
                    let (_, parsed) = try await caller.call(
                        .item(item.number), attempt: attempt, &conversation, layout: layout)
                    if parsed?.status == .ok { break }
                    if attempt < experiment.maxAttempts {
                        conversation.ask(PromptTemplates.render(templates.reask, fields))
                    }
                }
            }
        } catch let failure as ModelCaller.Failure {
            try await conversation.settle()
            try await caller.store.failTrial(trial.id!, error: failure.message)
            return .failed
        } catch {
            // Cancelled, halted or failed to store: the completed call still committing is kept.
            try? await conversation.settle()
            throw error
        }
        try await conversation.settle()
        let scored = try await scorer.score([trial.id!], settingStatus: true)
        return TrialStatus(scored[trial.id!] ?? .incomplete)
    }
}

/// A trial's conversation as it grows, with text waiting to be joined to the next user message.
struct Conversation {
    var messages: [ChatMessage] = []
    var callCount = 0
    private var preamble: [String] = []
    /// The commit of the trial's last successful call, while it is under way (see `settle`).
    var unsettled: Task<Void, any Error>?

    /// Waits until the trial's last call is committed. Called before another call is stored, and
    /// before the trial ends, so that at most one completed call per trial is uncommitted and a
    /// trial's stored calls are always its first ones.
    mutating func settle() async throws {
        guard let commit = unsettled else { return }
        unsettled = nil
        try await commit.value
    }

    /// Text that joins the front of the next user message (instructions that need no reply).
    mutating func prepend(_ text: String) { preamble.append(text) }

    /// Adds a user message, preceded by any waiting preamble.
    mutating func ask(_ text: String) {
        messages.append(ChatMessage(.user, (preamble + [text]).joined(separator: "\n\n")))
        preamble = []
    }
}
