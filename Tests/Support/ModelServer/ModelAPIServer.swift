import Foundation
import Synchronization

/// What a scripted model server does with one chat request.
public enum ModelAction: Sendable {
    /// A normal completion with this text.
    case reply(String)
    /// An API error with the provider's error body; `retryAfter` adds a Retry-After header.
    case error(status: Int, message: String, retryAfter: String? = nil)
    /// A 200 whose body is not JSON.
    case malformed
    /// Close the connection without answering.
    case drop
    /// Reset the connection (TCP RST) without answering.
    case reset
    /// Never answer.
    case hold
    /// A completion with this text whose body is cut off halfway, the connection then closed.
    case cutOff(String)
    /// Answer `text` only after `seconds` (longer than the client's timeout makes a timeout).
    case slow(String, seconds: Double)
    /// A completion cut by the token limit: finish reason `length` (OpenAI) or `max_tokens` (Anthropic).
    case cut(String)
    /// Any status, content type and body, as another server (an HTML error page) would send.
    case raw(status: Int, contentType: String, body: String)
    /// A 200 whose body is these bytes, UTF-8 or not.
    case bytes(Data)
    /// In a batch, a request the batch could not run before it expired (OpenAI's `batch_expired`,
    /// Anthropic's `expired`); outside one, a dropped connection.
    case expired
    /// A completion of these tokens (the text is their concatenation) whose log probabilities are
    /// served, as llama.cpp's server and OpenAI serve them, when the request asks for them.
    case tokens([ServedToken])
}

/// One generated token, its log probability, and the alternatives at its position (most
/// probable first, as servers list them).
public struct ServedToken: Sendable {
    public var token: String
    public var logprob: Double
    public var top: [(token: String, logprob: Double)]

    public init(_ token: String, logprob: Double = 0, top: [(token: String, logprob: Double)] = []) {
        self.token = token
        self.logprob = logprob
        self.top = top
    }

    /// A reply's tokens, each certain (log probability 0), but `at` whose alternatives are the
    /// letters with these probabilities (the rest of the mass elsewhere).
    public static func reply(_ tokens: [String], at index: Int, letters: [String: Double]) -> [ServedToken] {
        tokens.enumerated().map { position, token in
            guard position == index else { return ServedToken(token, top: [(token, 0)]) }
            let top = letters.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { ($0.key, log($0.value)) }
            return ServedToken(token, logprob: log(letters[token] ?? 1), top: top)
        }
    }
}

/// The wire format a server speaks.
public enum WireFormat: Sendable {
    case openai, anthropic
}

/// A local server speaking the real OpenAI chat-completions or Anthropic Messages wire format,
/// whose answers come from a script: `script` is asked for each chat request, in arrival order.
public final class ModelAPIServer: Sendable {
    public let api: WireFormat
    public let modelID: String
    /// The batch endpoints, when the server was started with them.
    public let batches: BatchEndpoints?
    private let server: LocalHTTPServer
    private let state = State()

    /// The request log and counter, shared with the server's handler.
    private final class State: Sendable {
        let log = Mutex<[ServerRequest]>([])
        let counter = Atomic<Int>(0)
    }

    public var baseURL: String {
        let root = server.baseURL
        return api == .openai ? root + "/v1" : root
    }

    /// `script(request, n)` decides the reply to the n-th chat request (from 0). With
    /// `keepLog: false` requests are not kept, so memory stays flat over long benchmarks.
    /// `batchPolls`: serve the batch API too, each batch ending after that many status polls
    /// (`failWhole`: the first that many OpenAI batches fail whole; `expireWhole`: the first that
    /// many batches expire with no request run).
    public init(
        api: WireFormat, modelID: String = "scripted-model-1", keepLog: Bool = true, batchPolls: Int? = nil,
        failWhole: Int = 0, expireWhole: Int = 0, script: @escaping @Sendable (ServerRequest, Int) -> ModelAction
    ) throws {
        self.api = api
        self.modelID = modelID
        let state = self.state
        let batches = batchPolls.map {
            BatchEndpoints(pollsUntilDone: $0, failWhole: failWhole, expireWhole: expireWhole)
        }
        self.batches = batches
        server = try LocalHTTPServer { request in
            if let batches {
                let root = "http://" + (request.headers["host"] ?? "127.0.0.1")
                let reply = batches.handle(request, api: api, root: root) { chat in
                    if keepLog { state.log.withLock { $0.append(chat) } }
                    let n = state.counter.add(1, ordering: .sequentiallyConsistent).newValue - 1
                    let action = script(chat, n)
                    if case .expired = action { return (0, Data(), true) }
                    switch Self.render(action, api: api, modelID: modelID, request: chat) {
                    case .respond(let status, _, let body, _): return (status, body, false)
                    case .drop, .reset, .hold, .cutOff:
                        return (500, Data(#"{"error":{"message":"dropped"}}"#.utf8), false)
                    }
                }
                if let reply { return reply }
            }
            let expectedPath = api == .openai ? "/v1/chat/completions" : "/v1/messages"
            guard request.method == "POST", request.path == expectedPath else {
                return .respond(status: 404, body: Data(#"{"error":{"message":"not found"}}"#.utf8))
            }
            if keepLog { state.log.withLock { $0.append(request) } }
            let n = state.counter.add(1, ordering: .sequentiallyConsistent).newValue - 1
            return Self.render(script(request, n), api: api, modelID: modelID, request: request)
        }
    }

    /// The chat requests received so far.
    public var requests: [ServerRequest] { state.log.withLock { $0 } }

    /// Forgets the requests received so far.
    public func clearRequests() { state.log.withLock { $0.removeAll() } }

    public func stop() { server.stop() }

    /// Requests whose head arrived, chat or not, whether or not their body followed.
    public var requestsReceived: Int { server.requestsReceived }

    static func render(_ action: ModelAction, api: WireFormat, modelID: String, request: ServerRequest) -> ServerReply {
        switch action {
        case .reply(let text):
            return .respond(status: 200, body: completion(text, api: api, modelID: modelID, request: request))
        case .cut(let text):
            return .respond(
                status: 200, body: completion(text, api: api, modelID: modelID, request: request, cut: true))
        case .raw(let status, let contentType, let body):
            return .respond(status: status, headers: ["Content-Type": contentType], body: Data(body.utf8))
        case .slow(let text, let seconds):
            return .respond(
                status: 200, body: completion(text, api: api, modelID: modelID, request: request), delay: seconds)
        case .error(let status, let message, let retryAfter):
            let body: [String: Any] =
                api == .openai
                ? [
                    "error": [
                        "message": message, "type": status == 429 ? "rate_limit_error" : "invalid_request_error",
                        "code": NSNull(),
                    ]
                ]
                : [
                    "type": "error",
                    "error": ["type": status == 429 ? "rate_limit_error" : "api_error", "message": message],
                ]
            return .respond(
                status: status, headers: retryAfter.map { ["Retry-After": $0] } ?? [:],
                body: try! JSONSerialization.data(withJSONObject: body))
        case .tokens(let tokens):
            return .respond(
                status: 200,
                body: completion(
                    tokens.map(\.token).joined(), api: api, modelID: modelID, request: request, tokens: tokens))
        case .malformed:
            return .respond(status: 200, body: Data("<html>502 Bad Gateway</html>".utf8))
        case .bytes(let body): return .respond(status: 200, body: body)
        case .reset: return .reset
        case .hold: return .hold
        case .cutOff(let text):
            let body = completion(text, api: api, modelID: modelID, request: request)
            return .cutOff(status: 200, body: body.prefix(body.count / 2), missing: body.count - body.count / 2)
        case .drop, .expired:
            return .drop()
        }
    }

    /// A completion body in the API's real format, with usage counted in words.
    static func completion(
        _ text: String, api: WireFormat, modelID: String, request: ServerRequest, cut: Bool = false,
        tokens: [ServedToken]? = nil
    ) -> Data {
        // As OpenAI: `logprobs` is null unless asked for, and then lists `top_logprobs` alternatives.
        let asked = request.json?["logprobs"] as? Bool == true
        let topCount = request.json?["top_logprobs"] as? Int ?? 0
        let logprobs: Any =
            asked && tokens != nil
            ? [
                "content": tokens!.map { token in
                    [
                        "token": token.token, "logprob": token.logprob, "bytes": Array(token.token.utf8),
                        "top_logprobs": token.top.prefix(topCount).map {
                            ["token": $0.token, "logprob": $0.logprob, "bytes": Array($0.token.utf8)] as [String: Any]
                        },
                    ] as [String: Any]
                },
                "refusal": NSNull(),
            ] as [String: Any] : NSNull()
        let messages = (request.json?["messages"] as? [[String: Any]]) ?? []
        let promptWords = messages.compactMap { $0["content"] as? String }.map { $0.split(separator: " ").count }
            .reduce(0, +)
        let replyWords = text.split(separator: " ").count
        let body: [String: Any]
        switch api {
        case .openai:
            body = [
                "id": "chatcmpl-test", "object": "chat.completion", "created": 1_764_400_000, "model": modelID,
                "system_fingerprint": "fp_test",
                "choices": [
                    [
                        "index": 0, "message": ["role": "assistant", "content": text],
                        "finish_reason": cut ? "length" : "stop", "logprobs": logprobs,
                    ]
                ],
                "usage": [
                    "prompt_tokens": promptWords, "completion_tokens": replyWords,
                    "total_tokens": promptWords + replyWords,
                ],
            ]
        case .anthropic:
            body = [
                "id": "msg_test", "type": "message", "role": "assistant", "model": modelID,
                "content": [["type": "text", "text": text]], "stop_reason": cut ? "max_tokens" : "end_turn",
                "stop_sequence": NSNull(),
                "usage": ["input_tokens": promptWords, "output_tokens": replyWords],
            ]
        }
        return try! JSONSerialization.data(withJSONObject: body)
    }
}
