import Design
import Foundation
import SVO

/// The OpenAI chat-completions wire format: OpenAI, vLLM, llama.cpp, Ollama, LM Studio, OpenRouter, Together.
public struct OpenAIProvider: ModelAPI, BatchCapable {
    public static let name = "openai"
    public static let defaultBaseURL = "https://api.openai.com/v1"
    public static let keyVariable = "OPENAI_API_KEY"
    public static let servesLogprobs = true
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

    var batchAPI: any BatchAPI { OpenAIBatchAPI(chat: self) }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let call = APICall(transport: transport, url: url, format: "OpenAI", redact: redact)
        var headers = spec.headers
        if let apiKey { headers["authorization"] = "Bearer \(apiKey)" }
        let (reply, raw, status, replaced) = try await call.post(
            body(for: request), headers: headers, timeout: spec.timeout, read: Reply.init)
        return try response(reply, raw: raw, status: status, replaced: replaced, for: request)
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

    /// The response to a call, from its reply and the body as received (`raw`: a
    /// chat-completions body, or a batch's result line holding one); `replaced` characters of the
    /// body's strings could not be decoded.
    func response(_ reply: Reply, raw: Data, status: Int, replaced: Int, for request: ChatRequest) throws
        -> ChatResponse
    {
        guard let choice = reply.choices.first, choice.hasMessage else {
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
            text: redact(choice.content ?? ""), rawBody: raw, providerModelID: reply.model,
            finishReason: choice.finishReason, inputTokens: reply.promptTokens, outputTokens: reply.completionTokens,
            httpStatus: status, systemFingerprint: reply.systemFingerprint, replacedCharacters: replaced)
    }

    private func readsLogprobs(_ request: ChatRequest) -> Bool {
        guard spec.readsLogprobs, case .item = request.context.step else { return false }
        return true
    }

    /// The reply's tokens with their log probabilities, from a chat-completions body as received
    /// (`choices[0].logprobs.content`); nil when it has none. The live call and a rescore read them
    /// from the stored body through here.
    public static func tokenLogprobs(body: Data) -> [TokenLogprob]? {
        guard let json = try? JSONReader.read(body).value else { return nil }
        // A batch's result line holds the body under response.body (OpenAI's Batch API).
        let reply = json["choices"] == nil ? json["response"]?["body"] : json
        guard case .array(let choices)? = reply?["choices"], let first = choices.first,
            case .array(let content)? = first["logprobs"]?["content"]
        else { return nil }
        var tokens: [TokenLogprob] = []
        tokens.reserveCapacity(content.count)
        for entry in content {
            guard let token = try? entry.string("token"), let logprob = try? entry.double("logprob") else {
                return nil
            }
            var alternatives: [TokenLogprob.Alternative] = []
            if case .array(let top)? = entry["top_logprobs"] {
                for alternative in top {
                    guard let token = try? alternative.string("token"),
                        let logprob = try? alternative.double("logprob")
                    else { return nil }
                    alternatives.append(TokenLogprob.Alternative(token: token, logprob: logprob))
                }
            }
            tokens.append(TokenLogprob(token: token, logprob: logprob, alternatives: alternatives))
        }
        return tokens
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

    /// A chat completion, as the fields hvae reads; a field of the wrong type makes it no reply.
    struct Reply {
        struct Choice {
            var hasMessage: Bool
            var content: String?
            var finishReason: String?
        }
        var model: String?
        var choices: [Choice]
        var promptTokens: Int?
        var completionTokens: Int?
        var systemFingerprint: String?

        init(_ json: JSONValue) throws {
            guard let choices = try json.array("choices") else {
                throw JSONReader.Mismatch(key: "choices", expected: "an array")
            }
            self.choices = try choices.map { choice in
                guard choice.isObject else { throw JSONReader.Mismatch(key: "choices[]", expected: "an object") }
                let message = try choice.object("message")
                return Choice(
                    hasMessage: message != nil, content: try message?.string("content"),
                    finishReason: try choice.string("finish_reason"))
            }
            model = try json.string("model")
            let usage = try json.object("usage")
            promptTokens = try usage?.int("prompt_tokens")
            completionTokens = try usage?.int("completion_tokens")
            systemFingerprint = try json.string("system_fingerprint")
        }
    }
}
