import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A request as the server received it.
public struct ServerRequest: Sendable {
    public var method: String
    public var path: String
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: Data

    /// The body as a JSON object (nil when it is not one).
    public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
}

/// What the server does with one request.
public enum ServerReply: Sendable {
    /// Answer `delay` seconds after the request arrived.
    case respond(status: Int, headers: [String: String] = [:], body: Data, delay: Double = 0)
    /// Close the connection without answering, after `delay` seconds.
    case drop(delay: Double = 0)
    /// Reset the connection (a TCP RST: SO_LINGER 0, then close) without answering.
    case reset
    /// Never answer: keep the connection open until the client closes it or the server stops.
    case hold
    /// Send the head with this status and a Content-Length `missing` bytes larger than `body`,
    /// then `body`, then close: a reply cut off mid-body.
    case cutOff(status: Int, body: Data, missing: Int)
}

/// A small HTTP/1.1 server on 127.0.0.1 for tests and benchmarks: real sockets, real HTTP,
/// keep-alive, one thread per connection. `handler` decides every reply.
public final class LocalHTTPServer: Sendable {
    /// The port it listens on (chosen by the kernel).
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private let listener: Int32
    private let handler: @Sendable (ServerRequest) -> ServerReply
    private let connections = Mutex<Set<Int32>>([])
    private let running = Atomic<Bool>(true)
    private let heads = Atomic<Int>(0)

    /// Requests whose head arrived, whether or not their body followed: what a client sent.
    public var requestsReceived: Int { heads.load(ordering: .sequentiallyConsistent) }

    public init(handler: @escaping @Sendable (ServerRequest) -> ServerReply) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 512) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Stops listening and closes every open connection.
    public func stop() {
        guard running.exchange(false, ordering: .sequentiallyConsistent) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in connections.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    private func acceptLoop() {
        while running.load(ordering: .sequentiallyConsistent) {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                if errno == EINTR { continue }
                return
            }
            var yes: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            connections.withLock { _ = $0.insert(fd) }
            let thread = Thread { [self] in serve(fd) }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            connections.withLock { _ = $0.remove(fd) }
            close(fd)
        }
        var buffer = Data()
        while running.load(ordering: .sequentiallyConsistent) {
            guard let request = readRequest(fd, &buffer) else { return }
            let received = ContinuousClock.now
            switch handler(request) {
            case .drop(let delay):
                if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                return
            case .reset:
                var linger = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                return
            case .hold:
                // Reads until the client gives up (its timeout closes the connection) or stop().
                while readMore(fd, &buffer) {}
                return
            case .cutOff(let status, let body, let missing):
                let head =
                    "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Length: \(body.count + missing)\r\n"
                    + "Content-Type: application/json\r\nConnection: keep-alive\r\n\r\n"
                _ = write(fd, Data(head.utf8) + body)
                return
            case .respond(let status, let headers, let body, let delay):
                // The reply leaves `delay` after the request arrived, its rendering included.
                let left = received + .nanoseconds(Int64(delay * 1e9)) - ContinuousClock.now
                if delay > 0, left > .zero {
                    Thread.sleep(
                        forTimeInterval: Double(left.components.attoseconds) / 1e18 + Double(left.components.seconds))
                }
                var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Length: \(body.count)\r\n"
                if headers.keys.contains(where: { $0.lowercased() == "content-type" }) == false {
                    head += "Content-Type: application/json\r\n"
                }
                for (name, value) in headers { head += "\(name): \(value)\r\n" }
                head += "Connection: keep-alive\r\n\r\n"
                guard write(fd, Data(head.utf8) + body) else { return }
            }
        }
    }

    private func readRequest(_ fd: Int32, _ buffer: inout Data) -> ServerRequest? {
        let separator = Data("\r\n\r\n".utf8)
        while buffer.range(of: separator) == nil {
            guard readMore(fd, &buffer) else { return nil }
        }
        let headEnd = buffer.range(of: separator)!
        heads.add(1, ordering: .sequentiallyConsistent)
        let head = String(decoding: buffer[buffer.startIndex..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = headEnd.upperBound
        while buffer.count - (bodyStart - buffer.startIndex) < length {
            guard readMore(fd, &buffer) else { return nil }
        }
        let body = buffer[bodyStart..<(bodyStart + length)]
        let request = ServerRequest(
            method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: Data(body))
        buffer = Data(buffer[(bodyStart + length)...])
        return request
    }

    private func readMore(_ fd: Int32, _ buffer: inout Data) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func write(_ fd: Int32, _ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 529: "Overloaded"
        default: "Status"
        }
    }
}
