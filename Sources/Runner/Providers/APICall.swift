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
    /// Input + output tokens per minute, estimated before each call and corrected from its usage.
    public var tokensPerMinute: Double?
    /// Dollars per million input / output tokens, for cost accounting.
    public var priceInput: Double?
    public var priceOutput: Double?
    /// Anthropic's `anthropic-version` header.
    public var anthropicVersion: String?
    /// Seconds of nothing but calls without an HTTP reply (refused, no such host, timeouts,
    /// resets) after which the model is stopped, rather than every trial going through every
    /// retry (nil: 30).
    public var giveUpAfter: Double?
    /// Where an item's answer is read from (nil: `text`, and the key is left out of the
    /// experiment's JSON, so experiments without it keep their hash).
    public var answerFrom: AnswerSource?
    /// Calls go through the provider's batch API, in rounds (nil: no).
    public var batch: Bool?
    /// Trials of this model in one round at most (nil: 10,000); a round may span several batches.
    public var batchSize: Int?
    /// Seconds between polls of a batch at most (nil: 60); the first poll comes after 10 s or this.
    public var batchPoll: Double?
    /// The share of the normal price a batch call costs (nil: 0.5, both APIs' discount).
    public var batchDiscount: Double?
    /// The model's own system message, sent first in every conversation as it is (an empty
    /// string is sent as an empty system message); with `persona: system` it comes before the
    /// value assignment. Nil: no system message of its own, so that with `persona: user` none is
    /// sent and a local server's chat template may insert its default one (method.md §3). Left
    /// out of the experiment's JSON when nil, so experiments without it keep their hash.
    public var system: String?

    enum CodingKeys: String, CodingKey {
        case model, temperature, seed, stop, headers, timeout
        case baseURL = "base_url"
        case apiKeyEnv = "api_key_env"
        case topP = "top_p"
        case maxTokens = "max_tokens"
        case maxRetries = "max_retries"
        case retryDelay = "retry_delay"
        case maxConcurrency = "max_concurrency"
        case requestsPerMinute = "requests_per_minute"
        case tokensPerMinute = "tokens_per_minute"
        case priceInput = "price_input"
        case priceOutput = "price_output"
        case anthropicVersion = "anthropic_version"
        case giveUpAfter = "give_up_after"
        case answerFrom = "answer_from"
        case batch
        case batchSize = "batch_size"
        case batchPoll = "batch_poll"
        case batchDiscount = "batch_discount"
        case system
    }

    /// Whether item calls ask for token log probabilities.
    public var readsLogprobs: Bool { (answerFrom ?? .text) != .text }

    public enum SeedSetting: Codable, Sendable, Equatable {
        case trial, none
        case fixed(Int)

        public init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                self = .fixed(number)
                return
            }
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

    /// Whether calls go through the provider's batch API.
    public var isBatch: Bool { batch == true }

    /// The model's cost in dollars for these tokens, at batch prices for a batch model; nil
    /// without prices.
    public func cost(inputTokens: Int, outputTokens: Int) -> Double? {
        guard let priceInput, let priceOutput else { return nil }
        let full = (Double(inputTokens) * priceInput + Double(outputTokens) * priceOutput) / 1_000_000
        return isBatch ? full * (batchDiscount ?? 0.5) : full
    }
}

/// Where the answer to an item is read from (method.md §8.7).
public enum AnswerSource: String, Codable, Sendable, CaseIterable {
    /// The reply's text, through the parser: the study's way.
    case text
    /// The most probable letter where the reply names its answer; the text says where that is.
    case logprobs
    /// The text's answer, with the letters' probabilities stored beside it.
    case both

    /// How many alternatives per token item calls ask for: OpenAI's maximum.
    public static let topLogprobs = 20
}

/// The HTTP and JSON plumbing both APIs share.
struct APICall {
    let transport: any HTTPTransport
    let url: URL
    /// The API's name in messages ("OpenAI", "Anthropic").
    let format: String
    let redact: Redactor

    /// Posts a chat request; returns the 2xx reply read by `read` from the body's JSON (strings
    /// read leniently: `replaced` characters of them could not be decoded), the body as received
    /// (redacted), and the status; or throws a `ProviderError` that says what came back.
    func post<Reply>(
        _ body: some WireBody, headers: [String: String], timeout: Double, read: (JSONValue) throws -> Reply
    ) async throws -> (reply: Reply, raw: Data, status: Int, replaced: Int) {
        let response = try await send(
            "POST", url, body: body.json, type: "application/json", headers: headers, timeout: timeout)
        do {
            let (json, replaced) = try JSONReader.read(response.http.body)
            return (try read(json), response.raw, response.status, replaced)
        } catch {
            throw ProviderError(
                kind: .malformed, message: notTheAPI(response.http), rawBody: response.raw, httpStatus: response.status)
        }
    }

    /// Posts `body` as JSON (a batch API's own requests); returns the decoded 2xx response.
    func post<Reply: Decodable>(
        _ body: some Encodable, headers: [String: String], timeout: Double, as reply: Reply.Type
    ) async throws -> Reply {
        let response = try await send(
            "POST", url, body: try Self.json(body), type: "application/json", headers: headers, timeout: timeout)
        do {
            return try JSONDecoder().decode(Reply.self, from: response.http.body)
        } catch {
            throw ProviderError(
                kind: .malformed, message: notTheAPI(response.http), rawBody: response.raw, httpStatus: response.status)
        }
    }

    /// A request body as both APIs take it: JSON with sorted keys.
    static func json(_ body: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(body)
    }

    /// Sends one request; returns the 2xx response with its body as received (redacted), or
    /// throws a `ProviderError` that says what came back.
    func send(
        _ method: String, _ url: URL, body: Data = Data(), type: String? = nil, headers: [String: String],
        timeout: Double
    ) async throws -> (http: HTTPResponse, raw: Data, status: Int) {
        var allHeaders = headers
        if let type { allHeaders["content-type"] = type }
        var request = HTTPRequest(url: url, headers: allHeaders, body: body, timeout: timeout)
        request.method = method
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let error as TransportError {
            switch error {
            case .timeout: throw ProviderError(kind: .timeout, message: redact(error.description))
            case .network(let failure, _):
                throw ProviderError(kind: .connection(failure), message: redact(error.description))
            }
        }
        let raw = redact(response.body)
        guard (200..<300).contains(response.status) else {
            // Both APIs answer errors as {"error": {"message": ...}}.
            let message =
                (try? JSONReader.read(response.body).value["error"]?.string("message")).flatMap { $0 }.map(
                    redact.callAsFunction)
                ?? notTheAPI(response)
            throw ProviderError(
                kind: .http(status: response.status), message: message,
                retryAfter: Self.retryAfter(response.headers["retry-after"]), rawBody: raw)
        }
        return (response, raw, response.status)
    }

    /// One line for a body that is not this API's JSON (an HTML error page, another API).
    func notTheAPI(_ response: HTTPResponse) -> String {
        let type = response.headers["content-type"].map { $0.split(separator: ";").first.map(String.init) ?? $0 }
        return "the server at \(url.absoluteString) did not answer in the \(format) format (HTTP \(response.status)"
            + (type.map { ", \($0)" } ?? "") + (response.body.isEmpty ? ", no body" : "") + ")"
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
        var base = spec.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base + path) else {
            throw ProviderError(kind: .configuration, message: "base_url \(spec.baseURL) is not a URL")
        }
        return url
    }

    /// The key from the environment; nil when the model needs none.
    static func apiKey(_ spec: APIModelSpec, defaultEnv: String, environment: [String: String]) throws -> String? {
        let name = spec.apiKeyEnv ?? defaultEnv
        if let key = environment[name], !key.isEmpty { return key }
        if spec.apiKeyEnv == nil && spec.isLocal { return nil }
        throw ProviderError(
            kind: .configuration,
            message:
                """
                the environment variable \(name) holding the API key for \(spec.model) is not set; export it (or set \
                api_key_env)
                """
        )
    }

    static func seed(_ spec: APIModelSpec, context: TrialContext) -> Int? {
        switch spec.seed {
        case .none: nil
        case .fixed(let n): n
        case .trial: Int((UInt64(context.trialSeed) &+ UInt64(context.callIndex) &* 0x9E37_79B9) % 2_147_483_647)
        }
    }
}

/// One message as both APIs write it.
struct WireMessage: Codable {
    let role: String
    let content: String
}
