import Foundation

/// A failed call to a model API: what the server or the network said.
public struct ProviderError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The server answered with a non-2xx status.
        case http(status: Int)
        /// The whole call took longer than the model's `timeout`.
        case timeout
        /// The connection failed, or ended before a complete response: how, in words.
        case connection(NetworkFailure)
        /// A 2xx response whose body is not what the API promises.
        case malformed
        /// The request could not be made at all (no key, bad URL).
        case configuration
    }

    public var kind: Kind
    public var message: String
    /// Seconds to wait before retrying, when the server said (Retry-After).
    public var retryAfter: Double?
    /// The body as received, byte for byte but for secrets redacted.
    public var rawBody: Data?
    /// The HTTP status received, whatever the kind (a 200 with a garbled body is `malformed`).
    public var httpStatus: Int?

    public init(kind: Kind, message: String, retryAfter: Double? = nil, rawBody: Data? = nil, httpStatus: Int? = nil) {
        self.kind = kind
        self.message = message
        self.retryAfter = retryAfter
        self.rawBody = rawBody
        if case .http(let status) = kind { self.httpStatus = status } else { self.httpStatus = httpStatus }
    }

    /// Worth another try: rate limits, server errors, timeouts, dropped connections, garbled bodies.
    public var isRetryable: Bool {
        switch kind {
        case .http(let status): status == 408 || status == 409 || status == 429 || status >= 500
        case .timeout, .connection, .malformed: true
        case .configuration: false
        }
    }

    /// The server refused the call for its rate: 429, or 529 (Anthropic's "overloaded"). The
    /// model's calls in flight are cut (`AdaptiveConcurrency`).
    public var isRateLimit: Bool { kind == .http(status: 429) || kind == .http(status: 529) }

    /// Nil when the server answered in HTTP; else whether it could not be reached at all (true:
    /// refused, no such host, no connection in time, TLS) or gave no complete reply (false: a
    /// timeout, a reset, a cut-off body). What `give_up_after` counts, and how it says so.
    public var networkUnreachable: Bool? {
        switch kind {
        case .connection(let failure): failure.isUnreachable
        case .timeout: false
        default: nil
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
