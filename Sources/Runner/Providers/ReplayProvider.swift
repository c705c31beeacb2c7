import Foundation
import Store
import Synchronization

/// Serves every call of a reproduction from the replies stored for the original run, making no
/// model call. A trial is matched to the original trial with the same key (the same experiment
/// gives every cell the same trials) and a call by its position in the trial, so the protocol,
/// parser and scorer see exactly what the original saw and produce the same results, bit for bit.
public final class ReplayProvider: ChatProvider {
    let store: ExperimentStore
    let original: Int64
    /// The replies of the trials replayed lately: a trial's calls are served from one read, and
    /// memory stays flat however many trials the run has.
    private let recent = Mutex<[(key: TrialKey, replies: [StoredReply])]>([])
    private static let remembered = 256

    /// A provider per model of `runID`'s experiment; every model is served from the store.
    public static func load(store: ExperimentStore, runID: Int64, models: [String]) -> [String: any ChatProvider] {
        let provider = ReplayProvider(store: store, original: runID)
        return Dictionary(uniqueKeysWithValues: models.map { ($0, provider as any ChatProvider) })
    }

    init(store: ExperimentStore, original: Int64) {
        self.store = store
        self.original = original
    }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let key = request.context.key
        var replies = recent.withLock { recent in recent.first { $0.key == key }?.replies }
        if replies == nil {
            let loaded = try await store.storedReplies(runID: original, trial: key)
            replies = loaded
            recent.withLock { recent in
                recent.append((key, loaded))
                if recent.count > Self.remembered { recent.removeFirst(recent.count - Self.remembered) }
            }
        }
        guard let replies, request.context.callIndex < replies.count else {
            throw ProviderError(
                kind: .configuration,
                message:
                    """
                    replay: run \(original) has no stored reply for call \(request.context.callIndex + 1) of trial \
                    \(key)
                    """
            )
        }
        let stored = replies[request.context.callIndex]
        return ChatResponse(
            text: stored.reply, rawBody: stored.rawResponse, providerModelID: stored.providerModelID,
            finishReason: stored.finishReason,
            inputTokens: stored.inputTokens, outputTokens: stored.outputTokens)
    }
}
