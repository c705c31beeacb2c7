import Foundation
import Runner
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

// The transport hvae used before 0.9.0, kept here only as a baseline that the runner benchmarks
// measure NetworkTransport against in the same run. It is not used by hvae itself: on Linux it
// re-sends a request by itself (without its body) after a reset, which NetworkTransport never does.

/// Foundation's URLSession as a transport: the baseline.
final class URLSessionBaseline: HTTPTransport {
    private let session: URLSession

    /// `maxConnectionsPerHost` should be at least the number of calls in flight (default 6 otherwise).
    init(maxConnectionsPerHost: Int = 64) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = maxConnectionsPerHost
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration)
    }

    deinit { session.invalidateAndCancel() }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
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
                        continuation.resume(throwing: TransportError.network(.other, detail: "no HTTP response"))
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
        guard let urlError = error as? URLError else {
            return TransportError.network(.other, detail: String(describing: error))
        }
        switch urlError.code {
        case .cancelled: return CancellationError()
        case .timedOut: return TransportError.timeout(seconds: timeout)
        default: return TransportError.network(.other, detail: urlError.localizedDescription)
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
