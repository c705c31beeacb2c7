import Design
import Foundation

/// Anthropic's Messages API: the system prompt in its own field, x-api-key, anthropic-version,
/// max_tokens required.
public struct AnthropicProvider: ModelAPI, BatchCapable {
    public static let name = "anthropic"
    public static let defaultBaseURL = "https://api.anthropic.com"
    public static let keyVariable = "ANTHROPIC_API_KEY"
    /// The API requires `max_tokens`: this many when the experiment file gives none.
    static let maxTokensUnlessGiven = 1024
    public static var defaultMaxTokens: Int? { maxTokensUnlessGiven }
    /// The `anthropic-version` header when the experiment file gives none.
    static let defaultVersion = "2023-06-01"
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
        url = try APICall.endpoint(spec, "/v1/messages")
    }

    /// `anthropic_version`: the API version the calls ask for.
    public static func readOwnSettings(into spec: inout APIModelSpec, text: (String) throws -> String?) throws
        -> [String]
    {
        spec.anthropicVersion = try text("anthropic_version") ?? defaultVersion
        return ["anthropic_version"]
    }

    var batchAPI: any BatchAPI { AnthropicBatchAPI(chat: self) }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let call = APICall(transport: transport, url: url, format: "Anthropic", redact: redact)
        let (reply, raw, status, replaced) = try await call.post(
            body(for: request), headers: headers, timeout: spec.timeout, read: Reply.init)
        return response(reply, raw: raw, status: status, replaced: replaced)
    }

    /// The headers of every call: the version, the key, and the model's own.
    var headers: [String: String] {
        var headers = spec.headers
        headers["anthropic-version"] = spec.anthropicVersion ?? Self.defaultVersion
        if let apiKey { headers["x-api-key"] = apiKey }
        return headers
    }

    /// The request body of a call: what a live call posts, and a batch request's `params`.
    func body(for request: ChatRequest) -> Body {
        let system = request.messages.filter { $0.role == .system }.map(\.content).joined(separator: "\n\n")
        return Body(
            model: spec.model, max_tokens: spec.maxTokens ?? Self.maxTokensUnlessGiven,
            system: system.isEmpty ? nil : system,
            messages: request.messages.filter { $0.role != .system }
                .map { WireMessage(role: $0.role.rawValue, content: $0.content) },
            temperature: spec.temperature, top_p: spec.topP, stop_sequences: spec.stop.isEmpty ? nil : spec.stop)
    }

    /// The response to a call, from its message and the body as received (`raw`); `replaced`
    /// characters of the body's strings could not be decoded.
    func response(_ reply: Reply, raw: Data, status: Int, replaced: Int) -> ChatResponse {
        ChatResponse(
            text: redact(reply.text), rawBody: raw, providerModelID: reply.model, finishReason: reply.stopReason,
            inputTokens: reply.inputTokens, outputTokens: reply.outputTokens, httpStatus: status,
            replacedCharacters: replaced)
    }

    // The wire format's field names, as the API spells them.
    struct Body: Encodable {
        let model: String
        let max_tokens: Int
        let system: String?
        let messages: [WireMessage]
        let temperature: Double?
        let top_p: Double?
        let stop_sequences: [String]?
    }

    /// A message, as the fields hvae reads; a field of the wrong type makes it no reply.
    struct Reply {
        /// The text blocks, joined.
        var text: String
        var model: String?
        var stopReason: String?
        var inputTokens: Int?
        var outputTokens: Int?

        init(_ json: JSONValue) throws {
            guard let blocks = try json.array("content") else {
                throw JSONReader.Mismatch(key: "content", expected: "an array")
            }
            text = try blocks.compactMap { block -> String? in
                guard let type = try block.string("type") else {
                    throw JSONReader.Mismatch(key: "content[].type", expected: "a string")
                }
                return type == "text" ? try block.string("text") : nil
            }.joined()
            model = try json.string("model")
            stopReason = try json.string("stop_reason")
            let usage = try json.object("usage")
            inputTokens = try usage?.int("input_tokens")
            outputTokens = try usage?.int("output_tokens")
        }
    }
}
