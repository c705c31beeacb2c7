import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// An HTTP request as the providers build it.
public struct HTTPRequest: Sendable {
    public var url: URL
    public var method = "POST"
    public var headers: [String: String]
    public var body: Data
    /// Seconds; on Linux URLSession honours whole seconds only.
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
    public var body: Data

    public init(status: Int, headers: [String: String], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Why a request got no HTTP response.
public enum TransportError: Error, Equatable, CustomStringConvertible {
    /// No response within the timeout.
    case timeout(seconds: TimeInterval)
    /// The connection failed or dropped before a complete response.
    case connection(String)

    public var description: String {
        switch self {
        case .timeout(let seconds): "no response within \(Int(seconds)) s (timeout)"
        case .connection(let reason): "connection failed: \(reason)"
        }
    }
}

/// Sends HTTP requests. The providers depend on this protocol only, so that the wire format is
/// tested over real HTTP against local servers and the client can be swapped.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

/// Foundation's URLSession as the transport.
public final class URLSessionTransport: HTTPTransport {
    private let session: URLSession

    /// `maxConnectionsPerHost` should be at least the number of calls in flight (default 6 otherwise).
    public init(maxConnectionsPerHost: Int = 64) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = maxConnectionsPerHost
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration)
    }

    deinit { session.invalidateAndCancel() }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var urlRequest = URLRequest(url: request.url)
        urlRequest.httpMethod = request.method
        urlRequest.httpBody = request.body
        // The initializer's timeout is ignored on Linux; the setter is not (whole seconds).
        urlRequest.timeoutInterval = max(1, request.timeout.rounded(.up))
        for (name, value) in request.headers { urlRequest.setValue(value, forHTTPHeaderField: name) }

        let box = TaskBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                let task = session.dataTask(with: urlRequest) { data, response, error in
                    if let error {
                        continuation.resume(throwing: Self.classify(error, timeout: request.timeout))
                        return
                    }
                    guard let http = response as? HTTPURLResponse else {
                        continuation.resume(throwing: TransportError.connection("no HTTP response"))
                        return
                    }
                    // Only the headers hvae reads: copying allHeaderFields bridges a whole NSDictionary per call.
                    var headers: [String: String] = [:]
                    for name in HTTPResponse.keptHeaders {
                        if let value = http.value(forHTTPHeaderField: name) { headers[name] = value }
                    }
                    continuation.resume(
                        returning: HTTPResponse(status: http.statusCode, headers: headers, body: data ?? Data()))
                }
                box.set(task)
                task.resume()
            }
        } onCancel: {
            box.cancel()
        }
    }

    private static func classify(_ error: any Error, timeout: TimeInterval) -> any Error {
        guard let urlError = error as? URLError else { return TransportError.connection(String(describing: error)) }
        switch urlError.code {
        case .cancelled: return CancellationError()
        case .timedOut: return TransportError.timeout(seconds: timeout)
        default: return TransportError.connection(urlError.localizedDescription)
        }
    }
}

/// Holds the data task so a cancellation arriving from another thread can cancel it.
private final class TaskBox: Sendable {
    private let state = Mutex<(task: URLSessionDataTask?, cancelled: Bool)>((nil, false))

    func set(_ task: URLSessionDataTask) {
        let cancelled = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }
}
