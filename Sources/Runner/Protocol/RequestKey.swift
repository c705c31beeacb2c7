import Design
import Domain
import Foundation

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
            case api(
                baseURL: String, model: String, temperature: Double?, topP: Double?, maxTokens: Int?,
                seed: APIModelSpec.SeedSetting, stop: [String], logprobs: Bool)
            func encode(to encoder: Encoder) throws {
                switch self {
                case .reference(let spec): try spec.encode(to: encoder)
                case .api(
                    let baseURL, let model, let temperature, let topP, let maxTokens, let seed, let stop,
                    let logprobs):
                    var container = encoder.unkeyedContainer()
                    try container.encode(baseURL)
                    try container.encode(model)
                    try container.encode(temperature)
                    try container.encode(topP)
                    try container.encode(maxTokens)
                    try container.encode(seed)
                    try container.encode(stop)
                    // A reply cached without its log probabilities cannot serve a call that reads
                    // them (the request differs too); left out for text, so stored keys stay valid.
                    if logprobs { try container.encode("logprobs") }
                }
            }
        }
        let settings: Settings =
            switch model.provider {
            case .reference(let spec): .reference(spec)
            case .api(_, let api):
                .api(
                    baseURL: api.baseURL, model: api.model, temperature: api.temperature, topP: api.topP,
                    maxTokens: api.maxTokens, seed: api.seed, stop: api.stop, logprobs: api.readsLogprobs)
            }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let key = Key(
            provider: model.provider.kind, settings: settings, messages: messages,
            trialSeed: context.trialSeed, callIndex: context.callIndex)
        // Encoding plain values cannot fail.
        return Digest.sha256Hex(try! encoder.encode(key))
    }
}
