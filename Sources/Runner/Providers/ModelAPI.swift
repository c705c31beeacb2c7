import Design
import Foundation
import SVO

/// A model API hvae calls over HTTP: one type speaks its wire format, and one line of
/// `ModelAPIs.all` registers it. Everything else reaches it through this protocol: experiment
/// files (`provider:` and the keys it takes), the stored experiment, request keys, redaction, log
/// probabilities, and batch mode (`BatchCapable`). See docs/extending.md.
public protocol ModelAPI: ChatProvider {
    /// Its name: `provider:` in experiment files, and how the stored experiment and
    /// `batches.provider` name it. Never changed once runs have stored it.
    static var name: String { get }
    /// Where calls go when the experiment file gives no `base_url`.
    static var defaultBaseURL: String { get }
    /// The environment variable that holds the key when the model names none (`api_key_env`).
    static var keyVariable: String { get }
    /// `max_tokens` when the experiment file gives none; nil where the API needs none.
    static var defaultMaxTokens: Int? { get }
    /// Whether its replies can carry token log probabilities, so that `answer_from: logprobs` or
    /// `both` may be asked of it.
    static var servesLogprobs: Bool { get }

    /// Reads the experiment file's keys that this API alone takes into `spec`, and names them;
    /// `text` reads one key's text (nil when absent). The others are refused as unknown.
    static func readOwnSettings(into spec: inout APIModelSpec, text: (String) throws -> String?) throws -> [String]

    /// The tokens of a body it returned, with their log probabilities, in the provider-neutral
    /// form scoring reads; nil where it gives none.
    static func tokenLogprobs(body: Data) -> [TokenLogprob]?

    /// Throws a `ProviderError` of kind `.configuration` when the key is missing. `redactor`
    /// takes the run's keys out of what is stored (nil: this model's key and the usual variables').
    init(spec: APIModelSpec, transport: any HTTPTransport, environment: [String: String], redactor: Redactor?) throws
}

extension ModelAPI {
    public static var defaultMaxTokens: Int? { nil }
    public static var servesLogprobs: Bool { false }
    public static func readOwnSettings(into spec: inout APIModelSpec, text: (String) throws -> String?) throws
        -> [String]
    { [] }
    public static func tokenLogprobs(body: Data) -> [TokenLogprob]? { nil }
}

/// A model API that also takes its calls as batches (`batch: true`, `hvae run --batch`).
protocol BatchCapable: ModelAPI {
    var batchAPI: any BatchAPI { get }
}

/// The registered model APIs: the one list a new provider joins.
public enum ModelAPIs {
    public static let all: [any ModelAPI.Type] = [OpenAIProvider.self, AnthropicProvider.self]

    /// The API registered under `name`.
    public static func named(_ name: String) -> (any ModelAPI.Type)? { all.first { $0.name == name } }

    /// Whether the API takes its calls as batches.
    public static func batches(_ api: any ModelAPI.Type) -> Bool { api is any BatchCapable.Type }
}
