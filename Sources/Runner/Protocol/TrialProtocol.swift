import Design
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

    /// The trial's wording: its variant's (the experiment's own for `default`).
    private var variant: PromptVariant { experiment.variant(named: trial.key.variant) ?? experiment.defaultVariant }
    private var templates: PromptTemplates { variant.templates }

    /// Runs the trial to its end and returns its status: complete or incomplete as its scores
    /// say, or failed when the provider failed. Throws `RunHalted` (the trial is left to resume),
    /// `CancellationError`, or a store error.
    func run() async throws -> TrialStatus {
        // A new trial is marked running by its first stored call; a resumed one is marked now.
        if !caller.stored.isEmpty || trial.status == .failed { try await caller.store.startTrial(trial.id!) }
        var conversation = Conversation()
        guard let instrument = Instruments.named(trial.key.instrument) else {
            try await caller.store.failTrial(
                trial.id!, error: "instrument '\(trial.key.instrument)' is unknown to this hvae")
            return .failed
        }
        let items = instrument.form(seed: UInt64(bitPattern: trial.seed)).items
        // The slider is worded by the experiment's templates (its variant's); other instruments by their own.
        let wording =
            instrument.wording
            ?? InstrumentWording(task: templates.task, item: templates.item, reask: templates.reask)
        var common = ["item_count": String(items.count)]

        do {
            // Steps 1 and 2: the value (or the target, as weights), then the role instruction,
            // joined to the next message with the task description.
            switch trial.key.assignment {
            case .value(let value):
                common["value"] = variant.name(of: value)
                try await assign(
                    prompt: templates.valuePrompt, definition: templates.valueDefinition, role: templates.role,
                    systemValue: variant.systemTemplates.systemValue,
                    fields: common.merging(["definition": variant.definition(of: value)]) { $1 }, &conversation)
            case .target(let phi):
                let target = variant.targetTemplates
                common.merge(target.fields(direction: phi)) { $1 }
                try await assign(
                    prompt: target.targetPrompt, definition: target.targetDefinition, role: target.targetRole,
                    systemValue: target.targetDefinition, fields: common, &conversation)
            }
            conversation.prepend(PromptTemplates.render(wording.task, common))

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
            for (position, item) in items.enumerated() {
                let layout = ItemLayout(item: item, order: trial.key.optionOrder, seed: UInt64(bitPattern: trial.seed))
                var fields = common.merging([
                    "ordinal": Ordinal.word(position + 1), "number": String(item.number),
                    "options": layout.renderedOptions, "goal": goalText,
                ]) { $1 }
                if let budget = item.budget {
                    fields["tokens"] = String(budget.tokens)
                    fields["kept"] = Ordinal.coins(budget.kept)
                    fields["passed"] = Ordinal.coins(budget.passed)
                }
                conversation.ask(PromptTemplates.render(wording.item, fields))
                for attempt in 1...experiment.maxAttempts {
                    let (_, parsed) = try await caller.call(
                        .item(item.number), attempt: attempt, &conversation, layout: layout)
                    if parsed?.status == .ok { break }
                    if attempt < experiment.maxAttempts {
                        conversation.ask(PromptTemplates.render(wording.reask, fields))
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

    /// Step 1, as the experiment's value assignment says (the model describes the value system, or
    /// is given the description), then step 2's role instruction, waiting to join the next message.
    /// With `persona: system` the assignment and the role are the system message instead, and in
    /// `self-described` mode the dialogue opens by asking for the description (method.md §8.4).
    /// `systemValue` is how a system message names the value without defining it (the target's
    /// definition already says it all).
    private func assign(
        prompt: String, definition: String, role: String, systemValue: String, fields: [String: String],
        _ conversation: inout Conversation
    ) async throws {
        // The model's own system message (`system:`), as written; with the assignment in the
        // system message it comes first, so that both placements start from the same one.
        let own = caller.model.provider.api?.system
        func system(_ parts: [String]) -> String {
            ((own.map { [$0] } ?? []).filter { !$0.isEmpty } + parts.map { PromptTemplates.render($0, fields) })
                .joined(separator: "\n\n")
        }
        if trial.key.placement == .user, let own { conversation.system(own) }
        switch (trial.key.placement, experiment.valueAssignment) {
        case (.user, .selfDescribed):
            conversation.ask(PromptTemplates.render(prompt, fields))
            _ = try await caller.call(.value, attempt: 1, &conversation)
            conversation.prepend(PromptTemplates.render(role, fields))
        case (.user, .defined):
            conversation.prepend(PromptTemplates.render(definition, fields))
            conversation.prepend(PromptTemplates.render(role, fields))
        case (.system, .selfDescribed):
            conversation.system(system([systemValue, role]))
            conversation.ask(PromptTemplates.render(variant.systemTemplates.systemDescribe, fields))
            _ = try await caller.call(.value, attempt: 1, &conversation)
        case (.system, .defined):
            conversation.system(system([definition, role]))
        }
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

    /// The system message, before the whole dialogue; set before the first message.
    mutating func system(_ text: String) {
        precondition(messages.isEmpty, "the system message opens the conversation")
        messages.append(ChatMessage(.system, text))
    }

    /// Adds a user message, preceded by any waiting preamble.
    mutating func ask(_ text: String) {
        messages.append(ChatMessage(.user, (preamble + [text]).joined(separator: "\n\n")))
        preamble = []
    }
}
