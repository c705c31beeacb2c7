import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// An HTTP request as the providers build it.
public struct HTTPRequest: Sendable {
    public var url: URL
    public var method = "POST"
    public var headers: [String: String]
    public var body: Data
    /// Seconds the whole call may take, from the moment it is handed to the transport to the last
    /// byte of the reply (the model's `timeout:`).
    public var timeout: TimeInterval

    public init(url: URL, headers: [String: String], body: Data, timeout: TimeInterval) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// An HTTP response: status, headers (names in lower case) and body.
public struct HTTPResponse: Sendable {
    /// The headers a transport must return when present; others may be dropped.
    public static let keptHeaders = ["retry-after", "content-type", "x-request-id", "request-id"]

    public var status: Int
    public var headers: [String: String]
    /// The body, byte for byte as received.
    public var body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// How a request failed on the network, in the words hvae records (`model_calls.error` begins
/// with them) and docs/providers.md explains.
public enum NetworkFailure: String, Sendable, CaseIterable {
    /// The server (or something between) reset the connection: a TCP RST.
    case reset = "connection reset"
    /// Nothing listens at the address.
    case refused = "connection refused"
    /// The server closed the connection before the first byte of a reply.
    case closed = "connection closed"
    /// The reply's head arrived, and the connection ended before the whole body did.
    case cutOff = "cut-off body"
    case tls = "TLS failure"
    case hostNotFound = "host not found"
    /// No connection within the transport's connect timeout.
    case connectTimeout = "connect timeout"
    /// Any other failure below HTTP, described by what the network layer said.
    case other = "network error"

    /// The server could not be reached at all, rather than failing within a reply.
    public var isUnreachable: Bool {
        switch self {
        case .refused, .hostNotFound, .connectTimeout, .tls: true
        case .reset, .closed, .cutOff, .other: false
        }
    }
}

/// Why a request got no complete HTTP response.
public enum TransportError: Error, Equatable, CustomStringConvertible {
    /// The whole call took longer than its timeout; `received` bytes of a reply had arrived
    /// (nil: not even its head).
    case timeout(seconds: TimeInterval, received: Int? = nil)
    /// The connection failed, or ended before a complete response.
    case network(NetworkFailure, detail: String)

    public var description: String {
        switch self {
        case .timeout(let seconds, nil): "timeout: no response within \(Self.format(seconds)) s"
        case .timeout(let seconds, let received?):
            "timeout: the reply was still arriving after \(Self.format(seconds)) s "
                + "(\(received) bytes of its body received)"
        case .network(let failure, let detail): "\(failure.rawValue): \(detail)"
        }
    }

    private static func format(_ seconds: TimeInterval) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}

/// Sends HTTP requests. The providers depend on this protocol only, so that the wire format is
/// tested over real HTTP against local servers.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// The transport of every request hvae sends: AsyncHTTPClient on SwiftNIO's event loops.
///
/// Nothing is sent that hvae did not decide to send: redirects are not followed, a failed
/// connection is not tried again, and a request that failed is never re-sent below hvae; each
/// failure comes back as a `TransportError` naming what happened, for the caller's retry policy
/// to record and retry. The timeout covers the whole call, body included, and is enforced by the
/// client's own deadline. Keys travel in the request's headers and nothing here logs them.
///
/// One per process: its connection pool keeps up to `connectionsPerHost` keep-alive HTTP/1.1
/// connections to each host (HTTP/2 where a TLS server offers it). Call `shutdown()` when done;
/// a transport released without it shuts its client down on the way out.
public final class NetworkTransport: HTTPTransport {
    private let client: HTTPClient
    private let isShutDown = Atomic<Bool>(false)

    /// - Parameters:
    ///   - connectionsPerHost: connections kept to one host, at least the calls in flight to it.
    ///   - connectTimeout: seconds to establish a connection (TCP, then TLS).
    public init(connectionsPerHost: Int = 64, connectTimeout: TimeInterval = 10) {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.decompression = .disabled
        configuration.httpVersion = .automatic
        configuration.timeout = .init(connect: .milliseconds(Int64(connectTimeout * 1000)), read: nil)
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connectionsPerHost))
        // A refused connection fails its request at once, to be recorded and retried by hvae.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    deinit {
        // Shutting down holds the client until it is done, so a transport dropped without
        // `shutdown()` (a test's) closes its connections instead of leaking them.
        if !isShutDown.load(ordering: .acquiring) { client.shutdown { _ in } }
    }

    /// Closes every connection; calls in flight fail. Call it once, when the process is done sending.
    public func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? await client.shutdown()
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var headers = HTTPHeaders()
        headers.reserveCapacity(request.headers.count)
        for (name, value) in request.headers { headers.add(name: name, value: value) }
        let outgoing = try HTTPClient.Request(
            url: request.url, method: HTTPMethod(rawValue: request.method), headers: headers,
            body: request.body.isEmpty && request.method == "GET" ? nil : .data(request.body))
        let collector = ResponseCollector()
        let deadline = NIODeadline.now() + .nanoseconds(Int64((request.timeout * 1e9).rounded()))
        let task = client.execute(request: outgoing, delegate: collector, deadline: deadline)
        do {
            return try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Self.classify(error, progress: collector.progress, timeout: request.timeout)
        }
    }

    /// What a failure was, from the error and how far the reply had come.
    static func classify(_ error: any Error, progress: ResponseCollector.Progress, timeout: TimeInterval)
        -> any Error
    {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return TransportError.timeout(seconds: timeout, received: progress.head ? progress.bytes : nil)
            case .connectTimeout, .getConnectionFromPoolTimeout:
                return TransportError.network(.connectTimeout, detail: "no connection to the server was made in time")
            case .tlsHandshakeTimeout:
                return TransportError.network(.tls, detail: "the TLS handshake did not finish in time")
            case .cancelled:
                return CancellationError()
            case .remoteConnectionClosed:
                return ended(progress, detail: "the server closed the connection")
            default:
                break
            }
        }
        if error is HTTPParserError {
            // The connection ended mid-reply, or the reply was not HTTP.
            return progress.head
                ? ended(progress, detail: "the server closed the connection")
                : TransportError.network(.other, detail: "the reply was not HTTP/1.1 (\(error))")
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNRESET, EPIPE:
                return progress.head
                    ? ended(progress, detail: "the connection was reset")
                    : TransportError.network(
                        .reset, detail: "the server reset the connection before any byte of the reply")
            case ECONNREFUSED: return TransportError.network(.refused, detail: "nothing listens at the address")
            case ETIMEDOUT: return TransportError.network(.connectTimeout, detail: "the connection timed out")
            default: break
            }
        }
        if let error = error as? NIOConnectionError {
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return TransportError.network(.hostNotFound, detail: "\(error.host) could not be resolved (\(dns))")
            }
            if let first = error.connectionErrors.first {
                return classify(first.error, progress: progress, timeout: timeout)
            }
            return TransportError.network(.hostNotFound, detail: "\(error.host) has no address")
        }
        if error is SocketAddressError {
            return TransportError.network(.hostNotFound, detail: "the host could not be resolved (\(error))")
        }
        if case ChannelError.connectTimeout = error {
            return TransportError.network(.connectTimeout, detail: "no connection to the server was made in time")
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            return TransportError.network(.tls, detail: String(describing: error))
        }
        return TransportError.network(.other, detail: String(describing: error))
    }

    /// A connection that ended: before the reply (closed), or within its body (cut off).
    private static func ended(_ progress: ResponseCollector.Progress, detail: String) -> TransportError {
        guard progress.head else { return .network(.closed, detail: "\(detail) before any byte of the reply") }
        let expected = progress.expectedLength.map { " of \($0)" } ?? ""
        return .network(.cutOff, detail: "\(detail) after \(progress.bytes)\(expected) bytes of the body")
    }
}

/// Gathers one response as it arrives, and remembers how far it came, so that a failure can be
/// told apart: before the reply, or within its body.
final class ResponseCollector: HTTPClientResponseDelegate {
    typealias Response = HTTPResponse

    struct Progress: Sendable {
        var head = false
        var bytes = 0
        var expectedLength: Int?
    }

    private struct State: Sendable {
        var head: HTTPResponseHead?
        var body = ByteBuffer()
    }

    private let state = Mutex(State())

    var progress: Progress {
        state.withLock { state in
            Progress(
                head: state.head != nil, bytes: state.body.readableBytes,
                expectedLength: state.head?.headers.first(name: "content-length").flatMap { Int($0) })
        }
    }

    func didReceiveHead(task: HTTPClient.Task<HTTPResponse>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        state.withLock { state in
            state.head = head
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }) {
                state.body.reserveCapacity(min(length, 1 << 24))
            }
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<HTTPResponse>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        state.withLock { state in
            var part = buffer
            state.body.writeBuffer(&part)
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<HTTPResponse>) throws -> HTTPResponse {
        state.withLock { state in
            var headers: [String: String] = [:]
            for name in HTTPResponse.keptHeaders {
                if let value = state.head?.headers.first(name: name) { headers[name] = value }
            }
            return HTTPResponse(
                status: Int(state.head?.status.code ?? 0), headers: headers,
                body: Data(state.body.readableBytesView))
        }
    }
}
