import Foundation
import Store
import SVO

/// What a provider is told about the trial a call belongs to. Real models never see it; the
/// reference agents use it to know the assigned value and to seed their randomness.
public struct TrialContext: Sendable, Hashable {
    public var assignedValue: ValueOrientation
    public var trialSeed: Int64
    /// The protocol step this call serves.
    public var step: CallStep
    /// 0 for the trial's first call, counting every attempt.
    public var callIndex: Int

    public init(assignedValue: ValueOrientation, trialSeed: Int64, step: CallStep, callIndex: Int) {
        self.assignedValue = assignedValue
        self.trialSeed = trialSeed
        self.step = step
        self.callIndex = callIndex
    }
}

/// One chat request: the whole conversation so far.
public struct ChatRequest: Sendable {
    public var messages: [ChatMessage]
    public var context: TrialContext

    public init(messages: [ChatMessage], context: TrialContext) {
        self.messages = messages
        self.context = context
    }
}

/// A provider's answer to one chat request.
public struct ChatResponse: Sendable, Equatable {
    public var text: String
    /// The body as received, for audit; nil where there is none (reference agents).
    public var rawBody: String?
    /// The model id the provider says answered (it may differ from the one asked for).
    public var providerModelID: String?
    public var finishReason: String?
    public var inputTokens: Int?
    public var outputTokens: Int?

    public init(text: String, rawBody: String? = nil, providerModelID: String? = nil, finishReason: String? = nil,
                inputTokens: Int? = nil, outputTokens: Int? = nil) {
        self.text = text
        self.rawBody = rawBody
        self.providerModelID = providerModelID
        self.finishReason = finishReason
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }
}

/// Anything that answers chat conversations: a reference agent, or (later) a real model API.
public protocol ChatProvider: Sendable {
    func complete(_ request: ChatRequest) async throws -> ChatResponse
}

/// Builds the provider for each model of an experiment.
public enum ProviderFactory {
    public static func make(_ spec: ModelSpec) -> any ChatProvider {
        switch spec.provider {
        case .reference(let agent): ReferenceAgent(spec: agent)
        }
    }
}
