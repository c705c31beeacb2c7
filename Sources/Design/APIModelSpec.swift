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

    /// Every setting, as the experiment file reader fills them in.
    package init(
        model: String, baseURL: String, apiKeyEnv: String? = nil, temperature: Double? = nil, topP: Double? = nil,
        maxTokens: Int? = nil, seed: SeedSetting, stop: [String], headers: [String: String], timeout: Double,
        maxRetries: Int, retryDelay: Double, maxConcurrency: Int? = nil, requestsPerMinute: Double? = nil,
        tokensPerMinute: Double? = nil, priceInput: Double? = nil, priceOutput: Double? = nil,
        anthropicVersion: String? = nil, giveUpAfter: Double? = nil, answerFrom: AnswerSource? = nil,
        batch: Bool? = nil, batchSize: Int? = nil, batchPoll: Double? = nil, batchDiscount: Double? = nil,
        system: String? = nil
    ) {
        self.model = model
        self.baseURL = baseURL
        self.apiKeyEnv = apiKeyEnv
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.seed = seed
        self.stop = stop
        self.headers = headers
        self.timeout = timeout
        self.maxRetries = maxRetries
        self.retryDelay = retryDelay
        self.maxConcurrency = maxConcurrency
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.priceInput = priceInput
        self.priceOutput = priceOutput
        self.anthropicVersion = anthropicVersion
        self.giveUpAfter = giveUpAfter
        self.answerFrom = answerFrom
        self.batch = batch
        self.batchSize = batchSize
        self.batchPoll = batchPoll
        self.batchDiscount = batchDiscount
        self.system = system
    }

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
