import Foundation
import ModelServer
import Synchronization
import Testing

@testable import Runner

#if canImport(Glibc)
    import Glibc
#endif

/// Sends one POST with a small JSON body through `transport` to `server`.
private func post(_ transport: NetworkTransport, _ server: LocalHTTPServer, timeout: Double = 5) async throws
    -> HTTPResponse
{
    try await transport.send(
        HTTPRequest(
            url: URL(string: server.baseURL + "/v1/chat/completions")!,
            headers: ["content-type": "application/json"], body: Data(#"{"model":"m"}"#.utf8), timeout: timeout))
}

/// The failure a send ended with.
private func failure(_ body: () async throws -> HTTPResponse) async -> TransportError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error as? TransportError
    }
}

/// The failure of one POST to `url` through a transport of its own (nil: a response came).
private func failure(at url: String, timeout: Double = 5) async -> TransportError? {
    let transport = NetworkTransport()
    let error = await failure {
        try await transport.send(
            HTTPRequest(
                url: URL(string: url)!, headers: ["content-type": "application/json"],
                body: Data(#"{"model":"m"}"#.utf8),
                timeout: timeout))
    }
    await transport.shutdown()
    return error
}

/// The detail of `error` when it is a network failure of `kind`; records an issue otherwise.
@discardableResult
private func detail(_ error: TransportError?, is kind: NetworkFailure) -> String? {
    guard case .network(kind, let detail) = error else {
        Issue.record("expected \(kind.rawValue), got \(String(describing: error))")
        return nil
    }
    return detail
}

@Suite("The network transport over real sockets")
struct TransportTests {
    @Test("a reply comes back byte for byte, with its status and the headers hvae reads")
    func reply() async throws {
        let bytes = Data([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0xC3, 0x28, 0x22, 0x7D])
        let server = try LocalHTTPServer { _ in
            .respond(status: 429, headers: ["Retry-After": "7", "X-Other": "no"], body: bytes)
        }
        defer { server.stop() }
        let transport = NetworkTransport()
        let response = try await post(transport, server)
        #expect(response.status == 429)
        #expect(response.body == bytes)
        #expect(response.headers["retry-after"] == "7")
        #expect(response.headers["x-other"] == nil)
        await transport.shutdown()
    }

    @Test("a reset before the reply is a connection reset, sent once")
    func reset() async throws {
        let server = try LocalHTTPServer { _ in .reset }
        defer { server.stop() }
        let error = await failure(at: server.baseURL + "/v1/chat/completions")
        detail(error, is: .reset)
        #expect(error?.description.hasPrefix("connection reset: ") == true)
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.requestsReceived == 1)
    }

    @Test("a reset on a reused keep-alive connection is a reset too, and nothing is sent again")
    func resetOnReusedConnection() async throws {
        let count = Atomic<Int>(0)
        let server = try LocalHTTPServer { _ in
            count.add(1, ordering: .relaxed).newValue % 2 == 0 ? .reset : .respond(status: 200, body: Data("{}".utf8))
        }
        defer { server.stop() }
        let transport = NetworkTransport(connectionsPerHost: 1)
        var resets = 0
        for _ in 0..<10 {
            switch await failure({ try await post(transport, server) }) {
            case nil: break
            case .network(.reset, _): resets += 1
            case let other: Issue.record("expected a reply or a reset, got \(String(describing: other))")
            }
        }
        #expect(resets == 5)
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.requestsReceived == 10)
        await transport.shutdown()
    }

    @Test("a server that closes the connection without a reply: connection closed")
    func closed() async throws {
        let server = try LocalHTTPServer { _ in .drop() }
        defer { server.stop() }
        detail(await failure(at: server.baseURL + "/v1/chat/completions"), is: .closed)
        #expect(server.requestsReceived == 1)
    }

    @Test("a body shorter than its Content-Length, then a close: a cut-off body")
    func cutOff() async throws {
        let server = try LocalHTTPServer { _ in .cutOff(status: 200, body: Data(#"{"choi"#.utf8), missing: 40) }
        defer { server.stop() }
        let said = detail(await failure(at: server.baseURL + "/v1/chat/completions"), is: .cutOff)
        #expect(said?.contains("after 6 of 46 bytes") == true)
    }

    @Test("a server that never answers: the call ends at its timeout, as a timeout")
    func hold() async throws {
        let server = try LocalHTTPServer { _ in .hold }
        defer { server.stop() }
        let transport = NetworkTransport()
        let start = ContinuousClock.now
        let error = await failure { try await post(transport, server, timeout: 0.5) }
        let elapsed = ContinuousClock.now - start
        #expect(error == .timeout(seconds: 0.5))
        #expect(error?.description == "timeout: no response within 0.5 s")
        #expect(elapsed >= .milliseconds(500))
        await transport.shutdown()
    }

    @Test("a body that stops arriving ends at the timeout too: the deadline covers the whole call")
    func stalledBody() async throws {
        // The head and half the body, then nothing, with the connection kept open.
        let listener = try RawListener()
        defer { listener.stop() }
        listener.serveOnce { fd in
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{\"a\":"
            _ = head.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            Thread.sleep(forTimeInterval: 3)
        }
        let transport = NetworkTransport()
        let error = await failure {
            try await transport.send(
                HTTPRequest(
                    url: URL(string: "http://127.0.0.1:\(listener.port)/")!, headers: [:], body: Data("{}".utf8),
                    timeout: 0.5))
        }
        #expect(error == .timeout(seconds: 0.5, received: 5))
        await transport.shutdown()
    }

    // Tried again by the client with backoff (AsyncHTTPClient's default), it would end as a
    // connect timeout after 10 s.
    @Test("nothing listening: connection refused")
    func refused() async throws {
        let port = try RawListener.unusedPort()
        detail(await failure(at: "http://127.0.0.1:\(port)/v1/chat/completions", timeout: 10), is: .refused)
    }

    @Test("a TLS handshake answered in plain HTTP: a TLS failure")
    func tls() async throws {
        let listener = try RawListener()
        defer { listener.stop() }
        listener.serveOnce { fd in
            let reply = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
            _ = reply.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }
        detail(await failure(at: "https://127.0.0.1:\(listener.port)/"), is: .tls)
    }

    @Test("a name that does not resolve: host not found")
    func hostNotFound() async throws {
        detail(await failure(at: "http://no-such-host.invalid/v1", timeout: 10), is: .hostNotFound)
    }

    @Test("a cancelled call stops, as a cancellation rather than a failure (else: a timeout after 30 s)")
    func cancelled() async throws {
        let server = try LocalHTTPServer { _ in .hold }
        defer { server.stop() }
        let transport = NetworkTransport()
        let task = Task { try await post(transport, server, timeout: 30) }
        while server.requestsReceived == 0 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result, error is CancellationError else {
            Issue.record("expected a CancellationError, got \(result)")
            return
        }
        await transport.shutdown()
    }

    @Test("redirects are not followed: a 307 comes back as it is, and nothing else is sent")
    func noRedirects() async throws {
        let server = try LocalHTTPServer { request in
            request.path == "/moved"
                ? .respond(status: 200, body: Data("{}".utf8))
                : .respond(status: 307, headers: ["Location": "/moved"], body: Data())
        }
        defer { server.stop() }
        let transport = NetworkTransport()
        let response = try await post(transport, server)
        #expect(response.status == 307)
        #expect(server.requestsReceived == 1)
        await transport.shutdown()
    }
}

/// A bare listening socket on 127.0.0.1 whose one connection a test serves by hand.
final class RawListener: Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// A port that nothing listens on: bound, then closed.
    static func unusedPort() throws -> Int {
        let listener = try RawListener()
        listener.stop()
        return listener.port
    }

    /// Accepts one connection, reads its request head, and hands the socket to `body`.
    func serveOnce(_ body: @escaping @Sendable (Int32) -> Void) {
        let fd = self.fd
        Thread.detachNewThread {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 65536)
            _ = recv(client, &buffer, buffer.count, 0)
            body(client)
            close(client)
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
