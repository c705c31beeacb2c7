import Foundation
import Runner

/// A provider whose replies come from a script (a real ChatProvider, not a mock of an API).
struct ScriptedReplies: ChatProvider {
    let reply: @Sendable (ChatRequest, Int) throws -> String

    init(reply: @escaping @Sendable (ChatRequest, Int) throws -> String) { self.reply = reply }

    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        ChatResponse(text: try reply(request, request.context.callIndex), providerModelID: "scripted-1")
    }
}
