import Design
import Domain
import Foundation
import SVO
import Store

/// Makes the protocol's calls for one trial: serves a call the trial already made (a resume)
/// from its stored reply, or a cached reply (`cache: true`), or calls the provider, retrying
/// transport failures with backoff; stores every try (`ExperimentStore.record`) before the trial
/// goes on, and reads item replies through the parser.
struct ModelCaller {
    let experiment: Experiment
    let model: ModelSpec
    let provider: any ChatProvider
    let store: ExperimentStore
    let control: RunControl
    let trialID: Int64
    let key: TrialKey
    let seed: Int64
    /// The trial's calls already stored, when resuming; empty for a new trial.
    let stored: [StoredCall]
    /// The stored calls that got a reply, in order: what a resume serves again.
    let storedReplies: [StoredCall]

    init(
        experiment: Experiment, model: ModelSpec, provider: any ChatProvider, store: ExperimentStore,
        control: RunControl,
        trial: TrialRecord, stored: [StoredCall]
    ) {
        self.experiment = experiment
        self.model = model
        self.provider = provider
        self.store = store
        self.control = control
        self.trialID = trial.id!
        self.key = trial.key
        self.seed = trial.seed
        self.stored = stored
        storedReplies = stored.filter { $0.reply != nil }
    }

    /// A provider error, already stored with its call; it ends the trial.
    struct Failure: Error { let message: String }

    /// The stored calls no longer match what the protocol asks: the experiment or hvae changed.
    struct ResumeMismatch: Error, CustomStringConvertible {
        let trialID: Int64
        var description: String { "trial \(trialID): its stored calls do not match the protocol; it cannot be resumed" }
    }

    /// Makes the conversation's next call and appends the reply; for item steps, returns the
    /// parser's reading of it against `layout`.
    func call(_ step: CallStep, attempt: Int, _ conversation: inout Conversation, layout: ItemLayout? = nil)
        async throws
        -> (text: String, parsed: ParsedAnswer?)
    {
        let request = conversation.messages
        let context = TrialContext(
            key: key, trialSeed: seed, step: step, callIndex: conversation.callCount,
            language: experiment.variant(named: key.variant)?.language ?? "en")
        conversation.callCount += 1

        if context.callIndex < storedReplies.count {
            let old = storedReplies[context.callIndex]
            guard old.step == step, old.attempt == attempt, let text = old.reply else {
                throw ResumeMismatch(trialID: trialID)
            }
            conversation.messages.append(ChatMessage(.assistant, text))
            return (text, layout.map { read(text, rawBody: old.rawResponse, layout: $0).0 })
        }

        // Tries of this request a resumed trial made before: their rows keep their numbers, and
        // this session still gets every retry the model allows.
        let earlierTries = stored.filter { $0.step == step && $0.attempt == attempt }.count
        let requestKey = experiment.cache ? RequestKey.make(model: model, messages: request, context: context) : nil
        if let requestKey, let cached = try await store.cachedReply(requestKey: requestKey) {
            try await conversation.settle()
            let now = Date()
            let reading = layout.map { read(cached.reply, rawBody: cached.rawResponse, layout: $0) }
            try await store.record(
                CallRecord(
                    step: step, attempt: attempt, retry: earlierTries, request: request,
                    reply: cached.reply, rawResponse: cached.rawResponse, providerModelID: cached.providerModelID,
                    systemFingerprint: cached.systemFingerprint, finishReason: cached.finishReason,
                    inputTokens: cached.inputTokens, outputTokens: cached.outputTokens, latencyMs: 0,
                    startedAt: now, finishedAt: now, answer: reading?.1, requestKey: requestKey,
                    cacheHit: true, letters: reading?.2),
                trialID: trialID)
            control.callFinished(
                model: model.name, retry: false, error: false, inputTokens: nil, outputTokens: nil, cacheHit: true)
            conversation.messages.append(ChatMessage(.assistant, cached.reply))
            return (cached.reply, reading?.0)
        }

        let api = model.provider.api
        var retries = 0
        while true {
            try Task.checkCancellation()
            if let reason = control.haltReason(model: model.name) { throw RunHalted(reason: reason) }
            let gate = control.gate(for: model.name)
            let ticket = try await gate?.acquire(
                tokens: TokenEstimate.of(request, maxTokens: api?.maxTokens))
            let started = Date()
            let clock = ContinuousClock.now
            let result: Result<ChatResponse, any Error>
            do {
                let identity = CallIdentity(
                    trialID: trialID, callIndex: context.callIndex, retry: earlierTries + retries)
                result = .success(
                    try await provider.complete(ChatRequest(messages: request, context: context, call: identity)))
            } catch {
                result = .failure(error)
            }
            if let gate, let ticket { await gate.release(ticket, Self.gateOutcome(result)) }
            let latency = Self.milliseconds(since: clock)
            let retry = earlierTries + retries

            switch result {
            case .success(let response):
                let reading = layout.map { read(response.text, rawBody: response.rawBody, layout: $0) }
                // One behind: the previous call's commit had this whole call to finish, so the wait
                // is usually none; this call commits while the trial makes its next one.
                try await conversation.settle()
                let record = CallRecord(
                    step: step, attempt: attempt, retry: retry, httpStatus: response.httpStatus,
                    request: request, reply: response.text, rawResponse: response.rawBody,
                    providerModelID: response.providerModelID,
                    systemFingerprint: response.systemFingerprint,
                    finishReason: response.finishReason, inputTokens: response.inputTokens,
                    outputTokens: response.outputTokens, latencyMs: latency, startedAt: started,
                    finishedAt: Date(), answer: reading?.1, requestKey: requestKey, letters: reading?.2)
                let (store, trialID) = (self.store, self.trialID)
                conversation.unsettled = Task { _ = try await store.record(record, trialID: trialID) }
                control.callFinished(
                    model: model.name, retry: retries > 0, error: false,
                    inputTokens: response.inputTokens, outputTokens: response.outputTokens,
                    replacedCharacters: response.replacedCharacters)
                conversation.messages.append(ChatMessage(.assistant, response.text))
                return (response.text, reading?.0)

            case .failure(let error):
                // A cancelled call was in flight: it is not a result, and resume makes it again.
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                let failure =
                    error as? ProviderError
                    ?? ProviderError(kind: .connection(.other), message: String(describing: error))
                try await conversation.settle()
                try await store.record(
                    CallRecord(
                        step: step, attempt: attempt, retry: retry, httpStatus: failure.httpStatus,
                        request: request, reply: nil, rawResponse: failure.rawBody,
                        latencyMs: latency, error: failure.description, startedAt: started,
                        finishedAt: Date()),
                    trialID: trialID)
                control.callFinished(
                    model: model.name, retry: retries > 0, error: true, inputTokens: nil, outputTokens: nil,
                    failure: failure)
                if failure.stopsModel {
                    control.stop(model: model.name, message: failure.description)
                    throw Failure(message: failure.description)
                }
                guard failure.isRetryable, retries < (api?.maxRetries ?? 0) else {
                    throw Failure(
                        message: retries > 0 ? "\(failure.description) (after \(retries) retries)" : failure.description
                    )
                }
                // A batch model's retry goes in the next round: the round itself is the wait.
                if api?.isBatch != true {
                    try await control.pause(
                        seconds: Backoff.delay(
                            retry: retries, retryAfter: failure.retryAfter,
                            base: api?.retryDelay ?? 1),
                        model: model.name)
                }
                retries += 1
            }
        }
    }

    /// Reads an item reply as this model's `answer_from` says.
    private func read(_ reply: String, rawBody: Data?, layout: ItemLayout)
        -> (ParsedAnswer, AnswerRecord, LetterProbabilities?)
    {
        ItemReply.read(
            reply, tokens: model.tokens(in: rawBody), layout: layout, source: model.provider.api?.answerFrom ?? .text)
    }

    /// What the gate learns from a call: its usage, or that the server refused it for its rate.
    static func gateOutcome(_ result: Result<ChatResponse, any Error>) -> GateOutcome {
        switch result {
        case .success(let response):
            let tokens = response.inputTokens.map { $0 + (response.outputTokens ?? 0) }
            return .succeeded(tokens: tokens)
        case .failure(let error):
            if error is CancellationError { return .notSent }
            return (error as? ProviderError)?.isRateLimit == true ? .rateLimited : .failed
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
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
