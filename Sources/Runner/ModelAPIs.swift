import Foundation

/// Settings shared by the HTTP model providers (`openai`, `anthropic`), as written in an experiment file.
public struct APIModelSpec: Codable, Sendable, Equatable {
    /// The model id sent to the API, e.g. `gpt-4o-2024-08-06`.
    public var model: String
    public var baseURL: String
    /// The environment variable holding the API key; the key itself is never stored.
    public var apiKeyEnv: String?
    public var temperature: Double?
    public var topP: Double?
    public var maxTokens: Int?
    /// `trial`: a seed derived from the trial seed and the call (repeated trials stay independent);
    /// `none`: no seed is sent; a number: that seed for every call.
    public var seed: SeedSetting
    public var stop: [String]
    /// Extra HTTP headers (not secrets: they are stored with the run).
    public var headers: [String: String]
    /// Seconds before a call counts as timed out.
    public var timeout: Double
    /// Transport retries per call (429, 5xx, timeouts, dropped connections) before the trial fails.
    public var maxRetries: Int
    /// Seconds before the first retry; doubles each retry up to 60 s (Retry-After overrides it).
    public var retryDelay: Double
    /// Calls in flight to this model at once (nil: only the experiment's concurrency limits it).
    public var maxConcurrency: Int?
    public var requestsPerMinute: Double?
    /// Dollars per million input / output tokens, for cost accounting.
    public var priceInput: Double?
    public var priceOutput: Double?
    /// Anthropic's `anthropic-version` header.
    public var anthropicVersion: String?

    enum CodingKeys: String, CodingKey {
        case model, temperature, seed, stop, headers, timeout
        case baseURL = "base_url", apiKeyEnv = "api_key_env", topP = "top_p", maxTokens = "max_tokens"
        case maxRetries = "max_retries", retryDelay = "retry_delay", maxConcurrency = "max_concurrency", requestsPerMinute = "requests_per_minute"
        case priceInput = "price_input", priceOutput = "price_output", anthropicVersion = "anthropic_version"
    }

    public enum SeedSetting: Codable, Sendable, Equatable {
        case trial, none, fixed(Int)

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) { self = .fixed(number); return }
            self = try container.decode(String.self) == "none" ? .none : .trial
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .trial: try container.encode("trial")
            case .none: try container.encode("none")
            case .fixed(let n): try container.encode(n)
            }
        }
    }

    /// True when the base URL points at this machine: a local server needs no key by default.
    public var isLocal: Bool {
        guard let host = URL(string: baseURL)?.host?.lowercased() else { return false }
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }
}

/// A failed call to a model API: what the server or the network said.
public struct ProviderError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The server answered with a non-2xx status.
        case http(status: Int)
        case timeout
        case connection
        /// A 2xx response whose body is not what the API promises.
        case malformed
        /// The request could not be made at all (no key, bad URL).
        case configuration
    }

    public var kind: Kind
    public var message: String
    /// Seconds to wait before retrying, when the server said (Retry-After).
    public var retryAfter: Double?
    public var rawBody: String?

    public var httpStatus: Int? {
        if case .http(let status) = kind { return status }
        return nil
    }

    /// Worth another try: rate limits, server errors, timeouts, dropped connections, garbled bodies.
    public var isRetryable: Bool {
        switch kind {
        case .http(let status): status == 408 || status == 409 || status == 429 || status >= 500
        case .timeout, .connection, .malformed: true
        case .configuration: false
        }
    }

    /// A client error that no retry can fix (bad key, unknown model): the model's trials stop.
    public var stopsModel: Bool {
        switch kind {
        case .http(let status): !isRetryable && (400..<500).contains(status)
        case .configuration: true
        default: false
        }
    }

    public var description: String {
        switch kind {
        case .http(let status): "HTTP \(status): \(message)"
        default: message
        }
    }
}

/// The HTTP and JSON plumbing both APIs share.
enum APICall {
    /// Sends `body` as JSON; returns the decoded 2xx response and the raw body, or throws a `ProviderError`.
    static func post<Reply: APIReply>(
        _ transport: any HTTPTransport, url: URL, headers: [String: String], body data: Data, timeout: Double,
        as reply: Reply.Type
    ) async throws -> (reply: Reply, raw: String, status: Int) {
        var allHeaders = headers
        allHeaders["content-type"] = "application/json"
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(url: url, headers: allHeaders, body: data, timeout: timeout))
        } catch let error as TransportError {
            switch error {
            case .timeout: throw ProviderError(kind: .timeout, message: error.description)
            case .connection: throw ProviderError(kind: .connection, message: error.description)
            }
        }
        let raw = String(decoding: response.body, as: UTF8.self)
        guard (200..<300).contains(response.status) else {
            let message = (try? JSONReader.read(response.body).object("error")?.string("message"))
                ?? (raw.isEmpty ? "no body" : String(raw.prefix(300)))
            throw ProviderError(kind: .http(status: response.status), message: message,
                                retryAfter: retryAfter(response.headers["retry-after"]), rawBody: raw)
        }
        do {
            return (try Reply(json: JSONReader.read(response.body)), raw, response.status)
        } catch {
            throw ProviderError(kind: .malformed, message: "response body is not the API's JSON: \(raw.prefix(120))", rawBody: raw)
        }
    }

    /// Retry-After in seconds, from a number of seconds or an HTTP date.
    static func retryAfter(_ value: String?) -> Double? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSinceNow) }
    }

    /// The base URL joined with an API path.
    static func endpoint(_ spec: APIModelSpec, _ path: String) throws -> URL {
        guard let url = URL(string: spec.baseURL.trimmingSuffix("/") + path) else {
            throw ProviderError(kind: .configuration, message: "base_url \(spec.baseURL) is not a URL")
        }
        return url
    }

    /// The key from the environment; nil when the model needs none.
    static func apiKey(_ spec: APIModelSpec, defaultEnv: String, environment: [String: String]) throws -> String? {
        let name = spec.apiKeyEnv ?? defaultEnv
        if let key = environment[name], !key.isEmpty { return key }
        if spec.apiKeyEnv == nil && spec.isLocal { return nil }
        throw ProviderError(kind: .configuration,
                            message: "the environment variable \(name) holding the API key for \(spec.model) is not set; export it (or set api_key_env)")
    }

    static func seed(_ spec: APIModelSpec, context: TrialContext) -> Int? {
        switch spec.seed {
        case .none: nil
        case .fixed(let n): n
        case .trial: Int((UInt64(context.trialSeed) &+ UInt64(context.callIndex) &* 0x9E37_79B9) % 2_147_483_647)
        }
    }
}

/// A 2xx response body of an API, read from its JSON; throws when the JSON is not of the API's shape.
/// (The error body both APIs use, {"error": {"message": ...}}, is read where it is met, in `APICall.post`.)
protocol APIReply {
    init(json: JSONValue) throws
}

/// One message as both APIs write it.
struct WireMessage: Codable {
    let role: String
    let content: String
}

/// The OpenAI chat-completions wire format: OpenAI, vLLM, llama.cpp, Ollama, LM Studio, OpenRouter, Together.
public struct OpenAIProvider: ChatProvider {
    public static let defaultBaseURL = "https://api.openai.com/v1"
    let spec: APIModelSpec
    let apiKey: String?
    let transport: any HTTPTransport
    /// Nil when the base URL is not a URL: the first call then fails with that error.
    let url: URL?

    /// Throws a `ProviderError` of kind `.configuration` when the key is missing.
    public init(spec: APIModelSpec, transport: any HTTPTransport, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.spec = spec
        self.transport = transport
        apiKey = try APICall.apiKey(spec, defaultEnv: "OPENAI_API_KEY", environment: environment)
        url = try? APICall.endpoint(spec, "/chat/completions")
    }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let url = try url ?? APICall.endpoint(spec, "/chat/completions")
        let body = Body(model: spec.model, messages: request.messages.map { WireMessage(role: $0.role.rawValue, content: $0.content) },
                        temperature: spec.temperature, top_p: spec.topP, max_tokens: spec.maxTokens,
                        seed: APICall.seed(spec, context: request.context), stop: spec.stop.isEmpty ? nil : spec.stop).json
        var headers = spec.headers
        if let apiKey { headers["authorization"] = "Bearer \(apiKey)" }
        let (reply, raw, status) = try await APICall.post(transport, url: url, headers: headers, body: body,
                                                          timeout: spec.timeout, as: Reply.self)
        guard let choice = reply.choices.first, let message = choice.message else {
            throw ProviderError(kind: .malformed, message: "response has no choices[0].message", rawBody: raw)
        }
        return ChatResponse(text: message.content ?? "", rawBody: raw, providerModelID: reply.model,
                            finishReason: choice.finish_reason, inputTokens: reply.usage?.prompt_tokens,
                            outputTokens: reply.usage?.completion_tokens, httpStatus: status,
                            systemFingerprint: reply.system_fingerprint)
    }

    // The wire format's field names, as the API spells them.
    struct Body {
        let model: String
        let messages: [WireMessage]
        let temperature: Double?
        let top_p: Double?
        let max_tokens: Int?
        let seed: Int?
        let stop: [String]?

        /// The JSON sent, keys sorted.
        var json: Data {
            var writer = JSONObjectWriter()
            writer.field("max_tokens", max_tokens)
            writer.field("messages", messages: messages)
            writer.field("model", model)
            writer.field("seed", seed)
            writer.field("stop", stop)
            writer.field("temperature", temperature)
            writer.field("top_p", top_p)
            return writer.data()
        }
    }

    struct Reply: APIReply {
        struct Choice {
            struct Message { let content: String? }
            let message: Message?
            let finish_reason: String?
        }
        struct Usage { let prompt_tokens: Int?; let completion_tokens: Int? }
        let model: String?
        let choices: [Choice]
        let usage: Usage?
        let system_fingerprint: String?

        init(json: JSONValue) throws {
            model = try json.string("model")
            guard let choices = try json.array("choices") else { throw JSONReadError(description: "no \"choices\"") }
            self.choices = try choices.map { choice in
                Choice(message: try choice.object("message").map { Choice.Message(content: try $0.string("content")) },
                       finish_reason: try choice.string("finish_reason"))
            }
            usage = try json.object("usage").map {
                Usage(prompt_tokens: try $0.int("prompt_tokens"), completion_tokens: try $0.int("completion_tokens"))
            }
            system_fingerprint = try json.string("system_fingerprint")
        }
    }
}

/// Anthropic's Messages API: system prompt in its own field, x-api-key, anthropic-version, max_tokens required.
public struct AnthropicProvider: ChatProvider {
    public static let defaultBaseURL = "https://api.anthropic.com"
    let spec: APIModelSpec
    let apiKey: String?
    let transport: any HTTPTransport
    /// Nil when the base URL is not a URL: the first call then fails with that error.
    let url: URL?

    public init(spec: APIModelSpec, transport: any HTTPTransport, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.spec = spec
        self.transport = transport
        apiKey = try APICall.apiKey(spec, defaultEnv: "ANTHROPIC_API_KEY", environment: environment)
        url = try? APICall.endpoint(spec, "/v1/messages")
    }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        let url = try url ?? APICall.endpoint(spec, "/v1/messages")
        let system = request.messages.filter { $0.role == .system }.map(\.content).joined(separator: "\n\n")
        let body = Body(model: spec.model, max_tokens: spec.maxTokens ?? 1024, system: system.isEmpty ? nil : system,
                        messages: request.messages.filter { $0.role != .system }.map { WireMessage(role: $0.role.rawValue, content: $0.content) },
                        temperature: spec.temperature, top_p: spec.topP, stop_sequences: spec.stop.isEmpty ? nil : spec.stop).json
        var headers = spec.headers
        headers["anthropic-version"] = spec.anthropicVersion ?? "2023-06-01"
        if let apiKey { headers["x-api-key"] = apiKey }
        let (reply, raw, status) = try await APICall.post(transport, url: url, headers: headers, body: body,
                                                          timeout: spec.timeout, as: Reply.self)
        let text = reply.content.filter { $0.type == "text" }.compactMap(\.text).joined()
        return ChatResponse(text: text, rawBody: raw, providerModelID: reply.model, finishReason: reply.stop_reason,
                            inputTokens: reply.usage?.input_tokens, outputTokens: reply.usage?.output_tokens, httpStatus: status)
    }

    // The wire format's field names, as the API spells them.
    struct Body {
        let model: String
        let max_tokens: Int
        let system: String?
        let messages: [WireMessage]
        let temperature: Double?
        let top_p: Double?
        let stop_sequences: [String]?

        /// The JSON sent, keys sorted.
        var json: Data {
            var writer = JSONObjectWriter()
            writer.field("max_tokens", max_tokens)
            writer.field("messages", messages: messages)
            writer.field("model", model)
            writer.field("stop_sequences", stop_sequences)
            writer.field("system", system)
            writer.field("temperature", temperature)
            writer.field("top_p", top_p)
            return writer.data()
        }
    }

    struct Reply: APIReply {
        struct Block { let type: String; let text: String? }
        struct Usage { let input_tokens: Int?; let output_tokens: Int? }
        let model: String?
        let content: [Block]
        let stop_reason: String?
        let usage: Usage?

        init(json: JSONValue) throws {
            model = try json.string("model")
            guard let content = try json.array("content") else { throw JSONReadError(description: "no \"content\"") }
            self.content = try content.map { block in
                guard let type = try block.string("type") else { throw JSONReadError(description: "a content block has no \"type\"") }
                return Block(type: type, text: try block.string("text"))
            }
            stop_reason = try json.string("stop_reason")
            usage = try json.object("usage").map {
                Usage(input_tokens: try $0.int("input_tokens"), output_tokens: try $0.int("output_tokens"))
            }
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
