import Foundation
import SVO

/// The OpenAI chat-completions wire format: OpenAI, vLLM, llama.cpp, Ollama, LM Studio, OpenRouter, Together.
public struct OpenAIProvider: ChatProvider {
    public static let defaultBaseURL = "https://api.openai.com/v1"
    let spec: APIModelSpec
    let apiKey: String?
    let transport: any HTTPTransport
    let redact: Redactor
    /// Where calls are posted, from `base_url`.
    let url: URL

    /// Throws a `ProviderError` of kind `.configuration` when the key is missing. `redactor`
    /// takes the run's keys out of what is stored (nil: this model's key and the usual variables').
    public init(
        spec: APIModelSpec, transport: any HTTPTransport,
        environment: [String: String] = ProcessInfo.processInfo.environment, redactor: Redactor? = nil
    ) throws {
        self.spec = spec
        self.transport = transport
        apiKey = try APICall.apiKey(spec, defaultEnv: Self.keyVariable, environment: environment)
        redact = redactor ?? Redactor(key: apiKey, environment: environment)
        url = try APICall.endpoint(spec, "/chat/completions")
    }

    /// The variable that holds the key when the model names none.
    static let keyVariable = "OPENAI_API_KEY"

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let call = APICall(
            transport: transport, url: url, format: "OpenAI",
            redact: redact)
        var headers = spec.headers
        if let apiKey { headers["authorization"] = "Bearer \(apiKey)" }
        let (reply, raw, status) = try await call.post(
            body(for: request), headers: headers, timeout: spec.timeout, as: Reply.self)
        return try response(reply, raw: raw, status: status, for: request)
    }

    /// The request body of a call: what a live call posts, and a batch line carries.
    func body(for request: ChatRequest) -> Body {
        Body(
            model: spec.model,
            messages: request.messages.map { WireMessage(role: $0.role.rawValue, content: $0.content) },
            temperature: spec.temperature, top_p: spec.topP, max_tokens: spec.maxTokens,
            seed: APICall.seed(spec, context: request.context), stop: spec.stop.isEmpty ? nil : spec.stop,
            // Only item calls: the value and goal steps have no letter to read.
            logprobs: readsLogprobs(request) ? true : nil,
            top_logprobs: readsLogprobs(request) ? AnswerSource.topLogprobs : nil)
    }

    /// The response to a call, from its decoded reply and the body as received (`raw`: a
    /// chat-completions body, or a batch's result line holding one).
    func response(_ reply: Reply, raw: String, status: Int, for request: ChatRequest) throws -> ChatResponse {
        guard let choice = reply.choices.first, let message = choice.message else {
            throw ProviderError(
                kind: .malformed, message: "the response has no choices[0].message", rawBody: raw, httpStatus: status)
        }
        if readsLogprobs(request), Self.tokenLogprobs(body: raw) == nil {
            // Reading on would store every answer without the probabilities it was run for.
            throw ProviderError(
                kind: .configuration,
                message: """
                    answer_from: \(spec.answerFrom?.rawValue ?? "text") asked for token log probabilities and the \
                    response has none (no choices[0].logprobs.content); this server does not serve them: use \
                    answer_from: text for this model
                    """, rawBody: raw, httpStatus: status)
        }
        return ChatResponse(
            text: redact(message.content ?? ""), rawBody: raw, providerModelID: reply.model,
            finishReason: choice.finish_reason, inputTokens: reply.usage?.prompt_tokens,
            outputTokens: reply.usage?.completion_tokens, httpStatus: status,
            systemFingerprint: reply.system_fingerprint)
    }

    private func readsLogprobs(_ request: ChatRequest) -> Bool {
        guard spec.readsLogprobs, case .item = request.context.step else { return false }
        return true
    }

    /// The reply's tokens with their log probabilities, from a chat-completions body as received
    /// (`choices[0].logprobs.content`); nil when it has none. The live call and a rescore read them
    /// from the stored body through here.
    public static func tokenLogprobs(body: String) -> [TokenLogprob]? {
        struct Reply: Decodable {
            struct Choice: Decodable {
                struct Logprobs: Decodable { let content: [Token]? }
                let logprobs: Logprobs?
            }
            struct Token: Decodable {
                struct Alternative: Decodable {
                    let token: String
                    let logprob: Double
                }
                let token: String
                let logprob: Double
                let top_logprobs: [Alternative]?
            }
            let choices: [Choice]
        }
        // A batch's result line holds the body under response.body (OpenAI's Batch API).
        struct Line: Decodable {
            struct Response: Decodable { let body: Reply }
            let response: Response
        }
        let data = Data(body.utf8)
        let decoder = JSONDecoder()
        guard
            let reply = (try? decoder.decode(Reply.self, from: data))
                ?? (try? decoder.decode(Line.self, from: data))?.response.body,
            let content = reply.choices.first?.logprobs?.content
        else { return nil }
        return content.map { token in
            TokenLogprob(
                token: token.token, logprob: token.logprob,
                alternatives: (token.top_logprobs ?? []).map {
                    TokenLogprob.Alternative(token: $0.token, logprob: $0.logprob)
                })
        }
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
        let logprobs: Bool?
        let top_logprobs: Int?
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
