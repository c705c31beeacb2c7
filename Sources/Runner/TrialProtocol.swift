import Foundation
import Store
import SVO

/// Carries out one trial (method.md §3) as one chat conversation: each step is one model call,
/// persisted the moment it completes, so a kill loses at most the call in flight.
struct TrialProtocol {
    let experiment: Experiment
    let trialID: Int64
    let value: ValueOrientation
    let goal: GoalCondition
    let optionOrder: OptionOrder
    let seed: Int64
    let provider: any ChatProvider
    let store: ExperimentStore
    let onCall: @Sendable () async -> Void

    /// What a trial ended as.
    struct Outcome {
        var status: TrialStatus
        var error: String?
    }

    private var templates: PromptTemplates { experiment.templates }

    func run() async throws -> Outcome {
        try await store.startTrial(trialID)
        var conversation = Conversation()
        let items = experiment.instrument.items
        let common = ["value": value.rawValue, "item_count": String(items.count)]

        do {
            // Step 1: value assignment.
            switch experiment.valueAssignment {
            case .selfDescribed:
                conversation.ask(PromptTemplates.render(templates.valuePrompt, common))
                _ = try await call(.value, attempt: 1, &conversation)
            case .defined:
                conversation.prepend(PromptTemplates.render(templates.valueDefinition, common.merging(["definition": value.definition]) { $1 }))
            }
            // Step 2: role instruction, joined to the next message with the task description.
            conversation.prepend(PromptTemplates.render(templates.role, common))
            conversation.prepend(PromptTemplates.render(templates.task, common))

            // Step 3: the goal, written by the model or the fixed neutral one.
            let goalText: String
            switch goal {
            case .with:
                conversation.ask(PromptTemplates.render(templates.goalPrompt, common))
                goalText = try await call(.goal, attempt: 1, &conversation).text
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            case .without:
                goalText = PromptTemplates.render(templates.neutralGoal, common)
            }

            // Steps 4-5: the items, each re-asked until it parses or the attempts run out.
            var choices: [Int: OptionLetter] = [:]
            for item in items {
                let layout = optionOrder.layout(of: item, seed: UInt64(seed))
                let fields = common.merging([
                    "ordinal": Ordinal.word(item.number), "number": String(item.number),
                    "options": renderOptions(layout), "goal": goalText,
                ]) { $1 }
                conversation.ask(PromptTemplates.render(templates.item, fields))
                for attempt in 1...experiment.maxAttempts {
                    let (_, parsed) = try await call(.item(item.number), attempt: attempt, &conversation, layout: layout)
                    if let shown = parsed?.shownLetter {
                        choices[item.number] = layout.realOption(shown: shown)
                        break
                    }
                    if attempt < experiment.maxAttempts {
                        conversation.ask(PromptTemplates.render(templates.reask, fields))
                    }
                }
            }

            let score = TrialScore(choices: choices, asked: items.map(\.number), assigned: value)
            let status: TrialStatus = score.angle == nil ? .incomplete : .complete
            try await store.finishTrial(trialID, status: status, metrics: Self.metrics(score))
            return Outcome(status: status)
        } catch let failure as ProviderFailure {
            try await store.finishTrial(trialID, status: .failed, error: failure.message, metrics: [])
            return Outcome(status: .failed, error: failure.message)
        }
    }

    /// A provider error, already recorded with its call; it ends the trial.
    struct ProviderFailure: Error { let message: String }

    /// Makes one call, records it (with its parsed answer for items), and appends the reply.
    private func call(_ step: CallStep, attempt: Int, _ conversation: inout Conversation,
                      layout: OptionLayout? = nil) async throws -> (text: String, parsed: ParsedAnswer?) {
        let request = conversation.messages
        let context = TrialContext(assignedValue: value, trialSeed: seed, step: step, callIndex: conversation.callCount)
        conversation.callCount += 1
        let started = Date()
        let clock = ContinuousClock.now
        let response: ChatResponse
        do {
            response = try await provider.complete(ChatRequest(messages: request, context: context))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            let message = String(describing: error)
            try await store.record(CallOutcome(step: step, attempt: attempt, request: request, reply: nil,
                                               latencyMs: milliseconds(since: clock), error: message,
                                               startedAt: started, finishedAt: Date()), trialID: trialID)
            await onCall()
            throw ProviderFailure(message: message)
        }
        var parsed: ParsedAnswer?
        var answer: AnswerRow?
        if case .item(let number) = step, let layout {
            let result = AnswerParser.parse(response.text, shown: layout.shownOptions)
            parsed = result
            let real = result.shownLetter.map(layout.realOption(shown:))
            let allocation = real.map(layout.item.allocation)
            answer = AnswerRow(parserVersion: AnswerParser.version, status: result.status.rawValue, item: number,
                               shownLetter: result.shownLetter?.symbol, option: real?.symbol,
                               own: allocation?.own, other: allocation?.other)
        }
        try await store.record(CallOutcome(step: step, attempt: attempt, request: request, reply: response.text,
                                           rawResponse: response.rawBody, providerModelID: response.providerModelID,
                                           finishReason: response.finishReason, inputTokens: response.inputTokens,
                                           outputTokens: response.outputTokens, latencyMs: milliseconds(since: clock),
                                           startedAt: started, finishedAt: Date(), answer: answer), trialID: trialID)
        await onCall()
        conversation.messages.append(ChatMessage(.assistant, response.text))
        return (response.text, parsed)
    }

    private func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

    /// The rows a trial's score adds to `trial_metrics`; undefined metrics add none.
    static func metrics(_ score: TrialScore) -> [MetricValue] {
        var rows = [MetricValue(metric: "invalid_items", formula: "count", formulaVersion: 1, value: Double(score.invalidItems))]
        if let angle = score.angle { rows.append(MetricValue(metric: "angle", formula: "atan2", formulaVersion: 1, value: angle)) }
        if let category = score.category {
            rows.append(MetricValue(metric: "category", formula: "svo-boundaries", formulaVersion: 1, label: category.rawValue))
        }
        if let hit = score.hit { rows.append(MetricValue(metric: "hit", formula: "category-match", formulaVersion: 1, value: hit ? 1 : 0)) }
        if let error = score.angularError {
            rows.append(MetricValue(metric: "angular_error", formula: "abs-diff", formulaVersion: 1, value: error))
        }
        if let vr = score.valueRationality {
            rows.append(MetricValue(metric: "vr", formula: ValueRationality.formula, formulaVersion: ValueRationality.version, value: vr))
        }
        if let transitive = score.transitive {
            rows.append(MetricValue(metric: "transitive", formula: "duel-graph", formulaVersion: 1, value: transitive ? 1 : 0))
        }
        if let index = score.inequalityAversion {
            rows.append(MetricValue(metric: "inequality_aversion", formula: InequalityAversion.formula,
                                    formulaVersion: InequalityAversion.version, value: index))
        }
        return rows
    }
}

/// A trial's conversation as it grows, with text waiting to be joined to the next user message.
struct Conversation {
    var messages: [ChatMessage] = []
    var callCount = 0
    private var preamble: [String] = []

    /// Text that joins the front of the next user message (instructions that need no reply).
    mutating func prepend(_ text: String) { preamble.append(text) }

    /// Adds a user message, preceded by any waiting preamble.
    mutating func ask(_ text: String) {
        messages.append(ChatMessage(.user, (preamble + [text]).joined(separator: "\n\n")))
        preamble = []
    }
}
