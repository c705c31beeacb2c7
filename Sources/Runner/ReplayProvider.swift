import Foundation
import Store

/// Serves every call of a reproduction from the replies stored for the original run, making no
/// model call. Trials are matched by seed (the same experiment gives every cell the same seed) and
/// calls by their position in the trial, so the protocol, parser and metrics see exactly what the
/// original saw and produce the same results, bit for bit.
public struct ReplayProvider: ChatProvider {
    /// Successful replies of each original trial of one model, by trial seed, in call order.
    let replies: [Int64: [StoredReply]]

    /// A provider per model of `runID`, loaded from the store.
    public static func load(store: ExperimentStore, runID: Int64) async throws -> [String: any ChatProvider] {
        let rows = try await store.storedReplies(runID: runID)
        var byModel: [String: [Int64: [StoredReply]]] = [:]
        for reply in rows { byModel[reply.model, default: [:]][reply.trialSeed, default: []].append(reply) }
        return byModel.mapValues { ReplayProvider(replies: $0) }
    }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        guard let trial = replies[request.context.trialSeed], request.context.callIndex < trial.count else {
            throw ProviderError(kind: .configuration,
                                message: "replay: the original run has no stored reply for call \(request.context.callIndex + 1) of this trial")
        }
        let stored = trial[request.context.callIndex]
        return ChatResponse(text: stored.reply, providerModelID: stored.providerModelId, finishReason: stored.finishReason,
                            inputTokens: stored.inputTokens, outputTokens: stored.outputTokens)
    }
}
