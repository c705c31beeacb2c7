import Foundation
import Store
import SVO

/// Carries out one trial (method.md §3) as one chat conversation: each step is one model call,
/// queued for the store the moment it completes (see `WriteBehind`).
struct TrialProtocol {
    let experiment: Experiment
    let trialID: Int64
    let value: ValueOrientation
    let goal: GoalCondition
    let optionOrder: OptionOrder
    let seed: Int64
    let model: ModelSpec
    let provider: any ChatProvider
    let store: ExperimentStore
    let control: RunControl
    /// The trial's calls already stored, when resuming; empty for a new trial.
    let stored: [StoredCall]

    /// What a trial ended as.
    struct Outcome {
        var status: TrialStatus
        var error: String?
        /// The trial's last write: committed once everything the trial stored is.
        var written: PendingCommit
    }

    private var templates: PromptTemplates { experiment.templates }

    func run() async throws -> Outcome {
        // A new trial is marked running by its first stored call; a resumed one is marked now.
        if !stored.isEmpty { try await store.startTrial(trialID) }
        var conversation = Conversation(writes: WriteBehind(store: store, trialID: trialID))
        let replay = stored.filter { $0.reply != nil }
        let items = experiment.instrument.items
        let common = ["value": value.rawValue, "item_count": String(items.count)]

        do {
            // Step 1: value assignment.
            switch experiment.valueAssignment {
            case .selfDescribed:
                conversation.ask(PromptTemplates.render(templates.valuePrompt, common))
                _ = try await call(.value, attempt: 1, &conversation, replay: replay)
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
                goalText = try await call(.goal, attempt: 1, &conversation, replay: replay).text
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
                    let (_, parsed) = try await call(.item(item.number), attempt: attempt, &conversation, replay: replay, layout: layout)
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
            let metrics = TrialScoring.metrics(score, parserVersion: AnswerParser.version)
            // Queued for the writer at once, so it is kept even if the run is being cancelled.
            let written = try await conversation.writes.finish(status: status, metrics: metrics)
            return Outcome(status: status, written: written)
        } catch let failure as ProviderFailure {
            let written = try await conversation.writes.finish(status: .failed, error: failure.message, metrics: [])
            return Outcome(status: .failed, error: failure.message, written: written)
        } catch {
            // Cancelled, halted or a failed write: the calls that completed are committed before the trial ends.
            try? await conversation.writes.flush()
            throw error
        }
    }

    /// A provider error, already recorded with its call; it ends the trial.
    struct ProviderFailure: Error { let message: String }

    /// The stored calls no longer match what the protocol asks: the experiment or hvae changed.
    struct ResumeMismatch: Error, CustomStringConvertible {
        let trialID: Int64
        var description: String { "trial \(trialID): its stored calls do not match the protocol; it cannot be resumed" }
    }

    /// Makes one protocol call: replays it from the store when resuming, else calls the provider,
    /// retrying transport failures with backoff; records every attempt, and appends the reply.
    private func call(_ step: CallStep, attempt: Int, _ conversation: inout Conversation, replay: [StoredCall],
                      layout: OptionLayout? = nil) async throws -> (text: String, parsed: ParsedAnswer?) {
        let request = conversation.messages
        let context = TrialContext(assignedValue: value, trialSeed: seed, step: step, callIndex: conversation.callCount)
        defer { conversation.callCount += 1 }

        if context.callIndex < replay.count {
            let old = replay[context.callIndex]
            guard old.step == step.name, old.item == step.item, old.attempt == attempt, let text = old.reply else {
                throw ResumeMismatch(trialID: trialID)
            }
            conversation.messages.append(ChatMessage(.assistant, text))
            return (text, layout.map { AnswerParser.parse(text, shown: $0.shownOptions) })
        }

        var retry = stored.filter { $0.step == step.name && $0.item == step.item && $0.attempt == attempt }.count
        let requestKey = experiment.cache ? RequestKey.make(model: model, messages: request, context: context) : nil
        if let requestKey, let cached = try await store.cachedReply(requestKey: requestKey) {
            let (parsed, answer) = read(cached.reply, step: step, layout: layout)
            let now = Date()
            let outcome = CallOutcome(step: step, attempt: attempt, retry: retry, request: request, reply: cached.reply,
                                      providerModelID: cached.providerModelId, systemFingerprint: cached.systemFingerprint,
                                      finishReason: cached.finishReason, inputTokens: cached.inputTokens,
                                      outputTokens: cached.outputTokens, latencyMs: 0, startedAt: now, finishedAt: now,
                                      answer: answer, requestKey: requestKey, cacheHit: true)
            try await conversation.writes.record(outcome)
            control.callFinished(model: model.name, retry: false, error: false, inputTokens: nil, outputTokens: nil, cacheHit: true)
            conversation.messages.append(ChatMessage(.assistant, cached.reply))
            return (cached.reply, parsed)
        }
        while true {
            try Task.checkCancellation()
            if let reason = control.haltReason(model: model.name) { throw RunHalted(reason: reason) }
            let gate = control.gate(for: model.name)
            try await gate?.acquire()
            let started = Date()
            let clock = ContinuousClock.now
            let result: Result<ChatResponse, any Error>
            do {
                result = .success(try await provider.complete(ChatRequest(messages: request, context: context)))
            } catch {
                result = .failure(error)
            }
            await gate?.release()
            let latency = milliseconds(since: clock)

            switch result {
            case .success(let response):
                let (parsed, answer) = read(response.text, step: step, layout: layout)
                let outcome = CallOutcome(step: step, attempt: attempt, retry: retry, httpStatus: response.httpStatus,
                                          request: request, reply: response.text, rawResponse: response.rawBody,
                                          providerModelID: response.providerModelID,
                                          systemFingerprint: response.systemFingerprint, finishReason: response.finishReason,
                                          inputTokens: response.inputTokens, outputTokens: response.outputTokens,
                                          latencyMs: latency, startedAt: started, finishedAt: Date(), answer: answer,
                                          requestKey: requestKey)
                try await conversation.writes.record(outcome)
                control.callFinished(model: model.name, retry: retry > 0, error: false,
                                           inputTokens: response.inputTokens, outputTokens: response.outputTokens)
                conversation.messages.append(ChatMessage(.assistant, response.text))
                return (response.text, parsed)

            case .failure(let error):
                // A cancelled call was in flight: it is not a result, and resume makes it again.
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                let failure = error as? ProviderError
                    ?? ProviderError(kind: .connection, message: String(describing: error))
                try await conversation.writes.record(CallOutcome(step: step, attempt: attempt, retry: retry, httpStatus: failure.httpStatus,
                                                                 request: request, reply: nil, rawResponse: failure.rawBody,
                                                                 latencyMs: latency, error: failure.description,
                                                                 startedAt: started, finishedAt: Date()))
                control.callFinished(model: model.name, retry: retry > 0, error: true, inputTokens: nil, outputTokens: nil)
                if failure.stopsModel {
                    control.stop(model: model.name, message: failure.description)
                    throw ProviderFailure(message: failure.description)
                }
                let maxRetries = model.provider.api?.maxRetries ?? 0
                guard failure.isRetryable, retry < maxRetries else {
                    throw ProviderFailure(message: retry > 0 ? "\(failure.description) (after \(retry) retries)" : failure.description)
                }
                try await Task.sleep(for: .milliseconds(Int(Backoff.delay(retry: retry, retryAfter: failure.retryAfter,
                                                                          base: model.provider.api?.retryDelay ?? 1) * 1000)))
                retry += 1
            }
        }
    }

    /// Parses an item reply into what `answers` stores.
    private func read(_ text: String, step: CallStep, layout: OptionLayout?) -> (ParsedAnswer?, AnswerRow?) {
        guard case .item(let number) = step, let layout else { return (nil, nil) }
        let result = AnswerParser.parse(text, shown: layout.shownOptions)
        let real = result.shownLetter.map(layout.realOption(shown:))
        let allocation = real.map(layout.item.allocation)
        return (result, AnswerRow(parserVersion: AnswerParser.version, status: result.status.rawValue, item: number,
                                  shownLetter: result.shownLetter?.symbol, option: real?.symbol,
                                  own: allocation?.own, other: allocation?.other))
    }

    private func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }

}

/// What makes two requests the same for the response cache: the provider, where and which model,
/// the sampling parameters, the messages, and the trial's seed and call index (so that the
/// replicates of a cell stay independent samples). Names, timeouts, retries and prices do not count.
enum RequestKey {
    static func make(model: ModelSpec, messages: [ChatMessage], context: TrialContext) -> String {
        struct Key: Encodable {
            let provider: String
            let settings: Settings
            let messages: [ChatMessage]
            let trialSeed: Int64
            let callIndex: Int
        }
        enum Settings: Encodable {
            case reference(ReferenceAgentSpec)
            case api(baseURL: String, model: String, temperature: Double?, topP: Double?, maxTokens: Int?,
                     seed: APIModelSpec.SeedSetting, stop: [String])
            func encode(to encoder: Encoder) throws {
                switch self {
                case .reference(let spec): try spec.encode(to: encoder)
                case .api(let baseURL, let model, let temperature, let topP, let maxTokens, let seed, let stop):
                    var container = encoder.unkeyedContainer()
                    try container.encode(baseURL)
                    try container.encode(model)
                    try container.encode(temperature)
                    try container.encode(topP)
                    try container.encode(maxTokens)
                    try container.encode(seed)
                    try container.encode(stop)
                }
            }
        }
        let settings: Settings = switch model.provider {
        case .reference(let spec): .reference(spec)
        case .openai(let api), .anthropic(let api):
            .api(baseURL: api.baseURL, model: api.model, temperature: api.temperature, topP: api.topP,
                 maxTokens: api.maxTokens, seed: api.seed, stop: api.stop)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let key = Key(provider: model.provider.kind, settings: settings, messages: messages,
                      trialSeed: context.trialSeed, callIndex: context.callIndex)
        // Encoding plain values cannot fail.
        return SHA256.hex(try! encoder.encode(key))
    }
}

/// How long to wait before retry number `retry + 1`.
enum Backoff {
    /// The server's Retry-After when it gave one (capped at 10 minutes); else exponential from
    /// `base` seconds, capped at 60 s, with full jitter over its upper half so that many trials
    /// hit by the same rate limit do not return in lockstep.
    static func delay(retry: Int, retryAfter: Double?, base: Double) -> Double {
        if let retryAfter { return min(retryAfter, 600) }
        let ceiling = min(60, base * pow(2, Double(retry)))
        return ceiling * Double.random(in: 0.5...1)
    }
}

/// Keeps a trial's records off its critical path: a call's record is queued for the store's
/// group commit and the trial goes on to its next call without waiting for it; its end (metrics
/// and status) is queued the same way. The store commits them in the order submitted, so what a
/// kill leaves of a trial is always its first calls, and resume makes the rest.
///
/// What may be uncommitted at a kill: the writes of the last commit interval (10 ms unless the
/// store was opened with another `commitInterval`), and never more than `maxUncommitted` per
/// trial (a trial that gets that far ahead of the writer waits for its oldest write). A write that fails ends the trial at its next record, and every later write
/// of the trial is refused by the store, so a stored conversation never has a call missing.
struct WriteBehind {
    /// Most writes of one trial that may wait for a commit at once.
    static let maxUncommitted = 8

    let store: ExperimentStore
    let trialID: Int64
    /// Oldest first; the committed ones are dropped at the next write.
    private var uncommitted: [PendingCommit] = []

    init(store: ExperimentStore, trialID: Int64) {
        self.store = store
        self.trialID = trialID
    }

    /// Queues `call` (kept even if the run is being cancelled). Throws the error of an earlier
    /// write of the trial that failed.
    mutating func record(_ call: CallOutcome) async throws {
        try await makeRoom()
        uncommitted.append(store.submit(call, trialID: trialID, after: uncommitted.last))
    }

    /// Queues the trial's end; returns the write, which is committed after all the trial's calls.
    mutating func finish(status: TrialStatus, error: String? = nil, metrics: [MetricValue]) async throws -> PendingCommit {
        try await makeRoom()
        let write = store.submitFinish(trialID, status: status, error: error, metrics: metrics, after: uncommitted.last)
        uncommitted.append(write)
        return write
    }

    /// Waits until every write queued so far is committed; throws the first that failed.
    func flush() async throws {
        for write in uncommitted { _ = try await write.committed() }
    }

    private mutating func makeRoom() async throws {
        while let oldest = uncommitted.first, let result = oldest.result {
            _ = try result.get()
            uncommitted.removeFirst()
        }
        if uncommitted.count >= Self.maxUncommitted { _ = try await uncommitted.removeFirst().committed() }
    }
}

/// A trial's conversation as it grows, with text waiting to be joined to the next user message,
/// and the writes of its calls.
struct Conversation {
    var messages: [ChatMessage] = []
    var callCount = 0
    var writes: WriteBehind
    private var preamble: [String] = []

    init(writes: WriteBehind) { self.writes = writes }

    /// Text that joins the front of the next user message (instructions that need no reply).
    mutating func prepend(_ text: String) { preamble.append(text) }

    /// Adds a user message, preceded by any waiting preamble.
    mutating func ask(_ text: String) {
        messages.append(ChatMessage(.user, (preamble + [text]).joined(separator: "\n\n")))
        preamble = []
    }
}

/// Turns a trial's score into `trial_metrics` rows, for the runner and for rescoring.
enum TrialScoring {
    /// The rows a trial's score adds to `trial_metrics`; undefined metrics add none.
    static func metrics(_ score: TrialScore, parserVersion: Int) -> [MetricValue] {
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
        if let own = score.meanOwn, let other = score.meanOther {
            rows.append(MetricValue(metric: "mean_self", formula: "primary-mean", formulaVersion: 1, value: own))
            rows.append(MetricValue(metric: "mean_other", formula: "primary-mean", formulaVersion: 1, value: other))
        }
        if let index = score.inequalityAversion {
            rows.append(MetricValue(metric: "inequality_aversion", formula: InequalityAversion.formula,
                                    formulaVersion: InequalityAversion.version, value: index))
        }
        return rows.map { row in
            var row = row
            row.parserVersion = parserVersion
            return row
        }
    }
}
