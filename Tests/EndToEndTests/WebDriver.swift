import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Debian's chromedriver and chromium, when installed (`apt-get install chromium chromium-driver`).
let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}
let chromium = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// A headless Chromium driven over the W3C WebDriver protocol (plain HTTP and JSON to
/// chromedriver), so that the viewer is tested as a person's browser sees it.
final class Browser {
    private var driver = Process()
    private var endpoint = ""
    private var session = ""

    /// Starts chromedriver; `start()` opens the browser.
    init() throws {
        guard let chromedriver, chromium != nil else {
            throw ViewerTestError("needs chromium and chromedriver: apt-get install chromium chromium-driver")
        }
        try launch(chromedriver)
    }

    /// Starts chromedriver on a free port.
    private func launch(_ chromedriver: String) throws {
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromedriver)
        process.arguments = ["--port=\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        driver = process
        endpoint = "http://127.0.0.1:\(port)"
    }

    func start() async throws {
        guard let chromium else { throw ViewerTestError("needs chromium") }
        // Beside the rest of the suite on two cores, chromedriver can take a while to listen. One
        // that does not answer in 60 s (starved, or its port taken between freePort() and its
        // bind) is started again on another port, three times at most.
        var attempt = 1
        var deadline = Date().addingTimeInterval(60)
        while true {
            do {
                _ = try await call("GET", "/status")
                break
            } catch {
                if Date() >= deadline || !driver.isRunning {
                    guard attempt < 3, let chromedriver else {
                        throw ViewerTestError(
                            "chromedriver did not start in \(attempt) tries (running: \(driver.isRunning)): \(error)")
                    }
                    stopDriver()
                    try launch(chromedriver)
                    attempt += 1
                    deadline = Date().addingTimeInterval(60)
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": chromium,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000",
                            "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                        ],
                    ],
                ]
            ]
        ]
        let created = try await call("POST", "/session", capabilities)
        guard let value = created["value"] as? [String: Any], let id = value["sessionId"] as? String else {
            throw ViewerTestError("no WebDriver session: \(created)")
        }
        session = id
    }

    /// Closes the browser and stops chromedriver.
    func quit() async {
        if !session.isEmpty { _ = try? await call("DELETE", "/session/\(session)") }
        session = ""
        stopDriver()
    }

    // Process.waitUntilExit spins on a worker thread in Foundation on Linux: kill and reap by pid.
    private func stopDriver() {
        guard driver.isRunning else { return }
        kill(driver.processIdentifier, SIGKILL)
        var status: Int32 = 0
        waitpid(driver.processIdentifier, &status, 0)
    }

    deinit { stopDriver() }

    func open(_ url: String) async throws { _ = try await call("POST", "/session/\(session)/url", ["url": url]) }
    var url: String { get async throws { try await call("GET", "/session/\(session)/url")["value"] as? String ?? "" } }
    var title: String {
        get async throws { try await call("GET", "/session/\(session)/title")["value"] as? String ?? "" }
    }

    /// Waits up to 10 s for the page's URL to contain `text` (a click's navigation may still be
    /// under way when WebDriver answers).
    func waitForURL(containing text: String) async throws {
        let deadline = Date().addingTimeInterval(10)
        while !(try await url.contains(text)) {
            guard Date() < deadline else { throw ViewerTestError("the page never reached a URL with \(text)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The element `css` selects; throws when there is none.
    func element(_ css: String) async throws -> String {
        let found = try await call("POST", "/session/\(session)/element", ["using": "css selector", "value": css])
        guard let value = found["value"] as? [String: Any],
            let id = value["element-6066-11e4-a52e-4f735466cecf"] as? String
        else { throw ViewerTestError("no element \(css) on \((try? await url) ?? "?"): \(found)") }
        return id
    }

    func elements(_ css: String) async throws -> [String] {
        let found = try await call("POST", "/session/\(session)/elements", ["using": "css selector", "value": css])
        return (found["value"] as? [[String: Any]] ?? []).compactMap {
            $0["element-6066-11e4-a52e-4f735466cecf"] as? String
        }
    }

    func click(_ css: String) async throws {
        let id = try await element(css)
        _ = try await call("POST", "/session/\(session)/element/\(id)/click", [:])
    }

    func type(_ css: String, _ text: String) async throws {
        let id = try await element(css)
        _ = try await call("POST", "/session/\(session)/element/\(id)/clear", [:])
        _ = try await call("POST", "/session/\(session)/element/\(id)/value", ["text": text])
    }

    func text(_ css: String) async throws -> String {
        let id = try await element(css)
        return try await call("GET", "/session/\(session)/element/\(id)/text")["value"] as? String ?? ""
    }

    func texts(_ css: String) async throws -> [String] {
        var texts: [String] = []
        for id in try await elements(css) {
            texts.append(try await call("GET", "/session/\(session)/element/\(id)/text")["value"] as? String ?? "")
        }
        return texts
    }

    /// Runs `script` in the page (WebDriver's own channel, which the page's policy does not govern).
    func evaluate(_ script: String) async throws -> Any? {
        try await call("POST", "/session/\(session)/execute/sync", ["script": script, "args": []])["value"]
    }

    /// A PNG of the window, the whole page tall.
    func screenshot(to path: String) async throws {
        let height = (try await evaluate("return document.documentElement.scrollHeight") as? Int) ?? 1000
        _ = try await call(
            "POST", "/session/\(session)/window/rect", ["width": 1280, "height": min(max(height, 600), 4000)])
        let value = try await call("GET", "/session/\(session)/screenshot")["value"] as? String ?? ""
        try Data(base64Encoded: value)?.write(to: URL(fileURLWithPath: path))
        _ = try await call("POST", "/session/\(session)/window/rect", ["width": 1280, "height": 1000])
    }

    @discardableResult
    private func call(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
        let payload = try body.map { try JSONSerialization.data(withJSONObject: $0) } ?? Data()
        let port = Int(endpoint.split(separator: ":").last!)!
        // A plain HTTP/1.1 exchange on its own connection: Foundation's client on Linux refuses
        // chromedriver's replies ("Failed writing header").
        let data: Data = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try rawHTTP(method, port: port, path: path, body: payload) })
            }
        }
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        if let value = object["value"] as? [String: Any], let error = value["error"] as? String {
            throw ViewerTestError("WebDriver \(method) \(path): \(error): \(value["message"] ?? "")")
        }
        return object
    }
}

/// Sends one request to 127.0.0.1:`port` with `Connection: close` and returns the reply's body.
func rawHTTP(_ method: String, port: Int, path: String, body: Data) throws -> Data {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ViewerTestError("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
    guard connected else { throw ViewerTestError("cannot connect to port \(port)") }
    var request = Data(
        ("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n").utf8)
    request.append(body)
    try request.withUnsafeBytes { bytes in
        var sent = 0
        while sent < bytes.count {
            let n = send(fd, bytes.baseAddress! + sent, bytes.count - sent, 0)
            guard n > 0 else { throw ViewerTestError("send failed") }
            sent += n
        }
    }
    // chromedriver keeps the connection open whatever the request says, and writes
    // `Content-Length:252` with no space (which Foundation's client rejects): read by length.
    var reply = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        if let split = reply.range(of: Data("\r\n\r\n".utf8)) {
            let head = String(decoding: reply[..<split.lowerBound], as: UTF8.self).lowercased()
            let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
            if let length, reply.count - split.upperBound >= length {
                return Data(reply[split.upperBound..<split.upperBound + length])
            }
        }
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { break }
        reply.append(contentsOf: buffer[0..<n])
    }
    guard let split = reply.range(of: Data("\r\n\r\n".utf8)) else { throw ViewerTestError("no HTTP reply") }
    return Data(reply[split.upperBound...])
}

/// A TCP port nobody listens on now.
func freePort() throws -> Int {
    let socket = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
        }
    }
    guard bound else { throw ViewerTestError("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}
