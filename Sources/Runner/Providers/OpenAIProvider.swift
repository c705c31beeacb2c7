import Foundation

/// The OpenAI chat-completions wire format: OpenAI, vLLM, llama.cpp, Ollama, LM Studio, OpenRouter, Together.
public struct OpenAIProvider: ChatProvider {
    public static let defaultBaseURL = "https://api.openai.com/v1"
    let spec: APIModelSpec
    let apiKey: String?
    let transport: any HTTPTransport
    let redact: Redactor

    /// Throws a `ProviderError` of kind `.configuration` when the key is missing.
    public init(
        spec: APIModelSpec, transport: any HTTPTransport,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        self.spec = spec
        self.transport = transport
        apiKey = try APICall.apiKey(spec, defaultEnv: "OPENAI_API_KEY", environment: environment)
        redact = Redactor(key: apiKey, environment: environment)
    }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let call = APICall(
            transport: transport, url: try APICall.endpoint(spec, "/chat/completions"), format: "OpenAI",
            redact: redact)
        let body = Body(
            model: spec.model,
            messages: request.messages.map { WireMessage(role: $0.role.rawValue, content: $0.content) },
            temperature: spec.temperature, top_p: spec.topP, max_tokens: spec.maxTokens,
            seed: APICall.seed(spec, context: request.context), stop: spec.stop.isEmpty ? nil : spec.stop)
        var headers = spec.headers
        if let apiKey { headers["authorization"] = "Bearer \(apiKey)" }
        let (reply, raw, status) = try await call.post(body, headers: headers, timeout: spec.timeout, as: Reply.self)
        guard let choice = reply.choices.first, let message = choice.message else {
            throw ProviderError(
                kind: .malformed, message: "the response has no choices[0].message", rawBody: raw, httpStatus: status)
        }
        return ChatResponse(
            text: redact(message.content ?? ""), rawBody: raw, providerModelID: reply.model,
            finishReason: choice.finish_reason, inputTokens: reply.usage?.prompt_tokens,
            outputTokens: reply.usage?.completion_tokens, httpStatus: status,
            systemFingerprint: reply.system_fingerprint)
    }

    // The wire format's field names, as the API spells them.
    struct Body: Encodable {
        let model: String
        let messages: [WireMessage]
        let temperature: Double?
        let top_p: Double?
        let max_tokens: Int?
        let seed: Int?
        let stop: [String]?
    }

    struct Reply: Decodable {
        struct Choice: Decodable {
            struct Message: Decodable { let content: String? }
            let message: Message?
            let finish_reason: String?
        }
        struct Usage: Decodable {
            let prompt_tokens: Int?
            let completion_tokens: Int?
        }
        let model: String?
        let choices: [Choice]
        let usage: Usage?
        let system_fingerprint: String?
    }
}
