import Foundation
import GRDB
import ModelServer
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The CPU seconds (user + system) a process has used so far, from /proc.
private func cpuSeconds(_ pid: Int32) throws -> Double {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    return (Double(fields[11])! + Double(fields[12])!) / ticks
}

/// `sql`'s one integer answer in the database at `path`.
private func count(_ sql: String, in path: String) throws -> Int {
    try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: sql)! }
}

@Suite("hvae run against servers that fail as real ones do", .serialized)
struct NetworkFaultTests {
    @Test("a server that resets every fifth request: every request it received is a recorded call, each reset a reset")
    func resets() throws {
        let resets = Atomic<Int>(0)
        let server = try ModelAPIServer(api: .openai) { _, n in
            guard n % 5 == 4 else { return .reply("E") }
            resets.add(1, ordering: .sequentiallyConsistent)
            return .reset
        }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "resets.yaml",
            servedExperiment(
                name: "resets", trials: 4, values: ["prosocial", "competitive"], server: server.baseURL,
                extra: "timeout: 10\n    retry_delay: 0.01\n    max_retries: 6"))
        let result = try hvae(["run", "resets.yaml", "--db", "resets.sqlite", "--quiet"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("finished: 16 complete, 0 incomplete, 0 failed"), "\(result.stdout)")
        let path = work.path("resets.sqlite")
        let rows = try count("SELECT count(*) FROM model_calls", in: path)
        #expect(rows == server.requestsReceived)
        #expect(rows > 100)
        let recordedResets = try count(
            "SELECT count(*) FROM call_log WHERE error LIKE 'connection reset: %' AND http_status IS NULL", in: path)
        #expect(recordedResets == resets.load(ordering: .sequentiallyConsistent))
        #expect(try count("SELECT count(*) FROM model_calls WHERE error IS NOT NULL", in: path) == recordedResets)
    }

    @Test("a server that accepts and never answers: each call ends at its timeout, recorded as a timeout")
    func neverAnswers() throws {
        let server = try ModelAPIServer(api: .openai) { _, _ in .hold }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "silent.yaml",
            servedExperiment(
                name: "silent", trials: 1, values: ["prosocial"], server: server.baseURL,
                extra: "timeout: 1\n    retry_delay: 0.01\n    max_retries: 1") + "\ngoal: without\n")
        let result = try hvae(["run", "silent.yaml", "--db", "silent.sqlite", "--quiet"], in: work.url)
        #expect(result.status == 1)
        #expect(
            result.stdout.contains("1 failed: timeout: no response within 1 s (after 1 retries)"), "\(result.stdout)")
        let calls = try DatabaseQueue(path: work.path("silent.sqlite")).read { db in
            try Row.fetchAll(db, sql: "SELECT error, latency_ms, http_status FROM model_calls ORDER BY id")
        }
        #expect(calls.count == 2)
        #expect(server.requestsReceived == 2)
        for call in calls {
            #expect(call["error"] == "timeout: no response within 1 s")
            #expect(call["http_status"] as Int? == nil)
            let latency: Double = call["latency_ms"]
            #expect(latency >= 1000 && latency < 5000, "\(latency)")
        }
    }

    @Test("a body cut off before its Content-Length: recorded as a cut-off body, and retried")
    func cutOffBody() throws {
        let server = try ModelAPIServer(api: .openai) { _, n in n == 2 ? .cutOff("E") : .reply("E") }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "cut.yaml",
            servedExperiment(
                name: "cut", trials: 1, values: ["prosocial"], server: server.baseURL,
                extra: "retry_delay: 0.01") + "\ngoal: without\n")
        let result = try hvae(["run", "cut.yaml", "--db", "cut.sqlite", "--quiet"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("finished: 1 complete"), "\(result.stdout)")
        let calls = try DatabaseQueue(path: work.path("cut.sqlite")).read { db in
            try Row.fetchAll(db, sql: "SELECT step, retry, error FROM call_log ORDER BY call_id")
        }
        #expect(calls.count == server.requestsReceived)
        let cut = try #require(calls.first { $0["error"] as String? != nil })
        let error: String = cut["error"]
        #expect(error.hasPrefix("cut-off body: the server closed the connection after "), "\(error)")
        let next = calls[calls.firstIndex { $0["error"] as String? != nil }! + 1]
        #expect(next["step"] as String == cut["step"] as String)
        #expect(next["retry"] as Int == 1)
        #expect(next["error"] as String? == nil)
    }

    @Test("a body with bytes that are not UTF-8 and a lone surrogate: stored byte for byte, its reply read")
    func bytesAsReceived() throws {
        func body(_ content: Data) -> Data {
            Data(#"{"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":""#.utf8)
                + content
                + Data(#""},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#.utf8)
        }
        // The value call gets invalid UTF-8; every item call a lone surrogate after its letter.
        let invalid = body(Data("bad ".utf8) + Data([0xFF, 0xFE]) + Data(" ".utf8) + Data([0xC3, 0x28]))
        let surrogate = body(Data(#"I choose E \ud800"#.utf8))
        let server = try ModelAPIServer(api: .openai) { _, n in .bytes(n == 0 ? invalid : surrogate) }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "bytes.yaml",
            servedExperiment(name: "bytes", trials: 1, values: ["prosocial"], server: server.baseURL)
                + "\ngoal: without\n")
        let result = try hvae(["run", "bytes.yaml", "--db", "bytes.sqlite", "--quiet"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("finished: 1 complete"), "\(result.stdout)")
        #expect(
            result.stderr.contains("warning: 7 replies held 9 characters that are not text"), "\(result.stderr)")
        let rows = try DatabaseQueue(path: work.path("bytes.sqlite")).read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT CAST(c.raw_response AS BLOB) AS raw, l.reply, l.parse_status FROM model_calls AS c
                    JOIN call_log AS l ON l.call_id = c.id ORDER BY c.id
                    """)
        }
        #expect(rows.map { $0["raw"] as Data } == [invalid] + Array(repeating: surrogate, count: 6))
        #expect(rows[0]["reply"] == "bad \u{FFFD}\u{FFFD} \u{FFFD}(")
        #expect(rows.dropFirst().allSatisfy { $0["reply"] == "I choose E \u{FFFD}" && $0["parse_status"] == "ok" })
    }

    @Test("waiting is free: 16 calls held by a silent server cost hvae almost no CPU")
    func waitingIsFree() throws {
        let server = try ModelAPIServer(api: .openai) { _, _ in .hold }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "held.yaml",
            servedExperiment(
                name: "held", trials: 8, values: ["prosocial"], server: server.baseURL,
                extra: "timeout: 60\n    max_retries: 0") + "\nconcurrency: 16\n")
        let running = try RunningHvae(["run", "held.yaml", "--db", "held.sqlite", "--quiet"], in: work.url)
        let pid = running.process.processIdentifier
        let deadline = Date().addingTimeInterval(60)
        while server.requestsReceived < 16, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(server.requestsReceived == 16)
        let before = try cpuSeconds(pid)
        Thread.sleep(forTimeInterval: 10)
        let spent = try cpuSeconds(pid) - before
        // URLSession's libcurl thread spent more than a core's worth here (49 s of CPU in 30 s).
        #expect(spent < 0.5, "hvae used \(spent) s of CPU in 10 s of waiting")
        running.signal(SIGINT)
        let result = try running.wait()
        #expect(result.status == 130)
        #expect(result.stderr.contains("interrupted: run 1 stopped"), "\(result.stderr)")
    }
}
