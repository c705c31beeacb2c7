import Design
import Foundation

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
