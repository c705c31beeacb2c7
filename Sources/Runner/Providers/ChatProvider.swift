import Design
import Domain
import Foundation
import SVO
import Store

/// What a provider is told about the trial a call belongs to. Real models never see it; the
/// reference agents use it to know the assigned value and to seed their randomness, and a replay
/// to find the original trial's replies.
public struct TrialContext: Sendable, Hashable {
    /// The trial's cell and replicate number.
    public var key: TrialKey
    public var trialSeed: Int64
    /// The protocol step this call serves.
    public var step: CallStep
    /// 0 for the trial's first call, counting every attempt.
    public var callIndex: Int
    /// The language of the trial's wording (its variant's): the reference agents reply in it.
    public var language: String

    public init(key: TrialKey, trialSeed: Int64, step: CallStep, callIndex: Int, language: String = "en") {
        self.key = key
        self.trialSeed = trialSeed
        self.step = step
        self.callIndex = callIndex
        self.language = language
    }

    /// What the trial was told to pursue.
    public var assignment: Assignment { key.assignment }
}

/// One chat request: the whole conversation so far.
public struct ChatRequest: Sendable {
    public var messages: [ChatMessage]
    public var context: TrialContext
    /// Which stored call this is: set by the runner, read by batch mode to name the request.
    public var call: CallIdentity?

    public init(messages: [ChatMessage], context: TrialContext, call: CallIdentity? = nil) {
        self.messages = messages
        self.context = context
        self.call = call
    }
}

/// A call as the store will know it: its trial, its index among the trial's calls, and its retry.
public struct CallIdentity: Sendable, Hashable {
    public var trialID: Int64
    public var callIndex: Int
    public var retry: Int

    /// The batch request's custom_id: from the run, the trial, the call and the retry, so that a
    /// result can only be matched to the call that asked for it; within both APIs' limit
    /// (`^[a-zA-Z0-9_-]{1,64}$`).
    public func customID(runID: Int64) -> String { "hvae-r\(runID)-t\(trialID)-c\(callIndex)-a\(retry)" }
}

/// A provider's answer to one chat request.
public struct ChatResponse: Sendable, Equatable {
    public var text: String
    /// The body as received, byte for byte but for secrets redacted, for audit; nil where there
    /// is none (reference agents).
    public var rawBody: Data?
    /// The model id the provider says answered (it may differ from the one asked for).
    public var providerModelID: String?
    public var finishReason: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var httpStatus: Int?
    /// OpenAI's `system_fingerprint`: the backend configuration that served the call.
    public var systemFingerprint: String?
    /// Characters of the reply's text that could not be decoded (bytes that are not UTF-8, a lone
    /// surrogate escape), each read as U+FFFD; the raw body keeps them as they came.
    public var replacedCharacters = 0

    public init(
        text: String, rawBody: Data? = nil, providerModelID: String? = nil, finishReason: String? = nil,
        inputTokens: Int? = nil, outputTokens: Int? = nil, httpStatus: Int? = nil, systemFingerprint: String? = nil,
        replacedCharacters: Int = 0
    ) {
        self.replacedCharacters = replacedCharacters
        self.text = text
        self.rawBody = rawBody
        self.providerModelID = providerModelID
        self.finishReason = finishReason
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.httpStatus = httpStatus
        self.systemFingerprint = systemFingerprint
    }
}

/// Anything that answers chat conversations: a reference agent, a model API, a replay.
public protocol ChatProvider: Sendable {
    func complete(_ request: ChatRequest) async throws -> ChatResponse
}

/// Builds the provider for each model of an experiment.
public enum ProviderFactory {
    /// One provider; throws a `ProviderError` of kind `.configuration` when an API key is missing.
    /// `redactor`: the keys to take out of what it stores (nil: its own and the usual variables').
    public static func make(
        _ spec: ModelSpec, transport: any HTTPTransport,
        environment: [String: String] = ProcessInfo.processInfo.environment, redactor: Redactor? = nil
    ) throws -> any ChatProvider {
        switch spec.provider {
        case .reference(let agent): return ReferenceAgent(spec: agent)
        case .api(let name, let settings):
            // A stored experiment names its API; one written by another version may name one this
            // hvae does not have.
            guard let api = ModelAPIs.named(name) else {
                let known = ModelAPIs.all.map { $0.name }.joined(separator: ", ")
                throw ProviderError(
                    kind: .configuration,
                    message: "provider '\(name)' is not one this hvae calls (\(known)); "
                        + "resume it with the hvae version that started the run")
            }
            return try api.init(spec: settings, transport: transport, environment: environment, redactor: redactor)
        }
    }

    /// Every key the experiment's models read from `environment`, and the usual variables': what
    /// each of its providers redacts, so that a key one model's server echoes is never stored
    /// from another's.
    public static func redactor(for experiment: Experiment, environment: [String: String]) -> Redactor {
        let variables = experiment.models.compactMap { model -> String? in
            guard case .api(_, let settings) = model.provider else { return nil }
            return settings.apiKeyEnv ?? model.provider.modelAPI?.keyVariable
        }
        return Redactor(keys: (variables + Redactor.usualVariables).map { environment[$0] })
    }

    /// A provider for every model, by name. Every key is checked here, before the first call.
    public static func makeAll(
        _ experiment: Experiment, transport: any HTTPTransport,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws
        -> [String: any ChatProvider]
    {
        var providers: [String: any ChatProvider] = [:]
        let redactor = redactor(for: experiment, environment: environment)
        for model in experiment.models {
            do {
                providers[model.name] = try make(
                    model, transport: transport, environment: environment, redactor: redactor)
            } catch let error as ProviderError {
                throw ProviderError(kind: error.kind, message: "model '\(model.name)': \(error.message)")
            }
        }
        return providers
    }
}

extension ProviderSpec {
    /// The tokens of a body this provider returned, with their log probabilities, in the
    /// provider-neutral form scoring reads (`TokenLogprob`): the one place a provider's body is read
    /// for them. Nil where the provider gives none (Anthropic's Messages API has no log probabilities).
    public func tokenLogprobs(body: Data) -> [TokenLogprob]? {
        modelAPI?.tokenLogprobs(body: body)
    }
}

extension ModelSpec {
    /// The tokens with log probabilities of a reply's body, for a model that reads them
    /// (`answer_from: logprobs` or `both`); nil for one read from its text, which is not parsed for them.
    public func tokens(in body: Data?) -> [TokenLogprob]? {
        guard provider.api?.readsLogprobs == true, let body else { return nil }
        return provider.tokenLogprobs(body: body)
    }
}
