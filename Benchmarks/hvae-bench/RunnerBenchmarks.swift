import Design
import Domain
import Foundation
import GRDB
import ModelServer
import Runner
import Store
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How much of the protocol each trial runs.
enum Design {
    /// Six item calls per trial (values defined in the prompt, the fixed neutral goal).
    case itemsOnly
    /// The study's protocol, eight calls per trial: the model describes the value, writes its goal, answers six items.
    case study

    var callsPerTrial: Int { self == .itemsOnly ? 6 : 8 }
    var yaml: String {
        self == .itemsOnly ? "goal: without\nvalue_assignment: defined" : "goal: with\nvalue_assignment: self-described"
    }
}

/// An experiment of about `calls` calls on the server at `url` (four values), `concurrency` trials at once.
func experiment(url: String, calls: Int, concurrency: Int, design: Design) throws -> Experiment {
    let trials = max(1, calls / (design.callsPerTrial * 4))
    return try ExperimentFile.parse(
        yaml: """
            name: bench
            trials: \(trials)
            \(design.yaml)
            concurrency: \(concurrency)
            models:
              - name: local
                provider: openai
                model: bench
                base_url: \(url)
                max_retries: 0
            """)
}

/// The HTTP client under measurement: hvae's, or the URLSession one it replaced (the baseline).
enum Client: String, CaseIterable {
    case network = "NetworkTransport"
    case urlSession = "URLSession"

    func make(concurrency: Int) -> any HTTPTransport {
        switch self {
        case .network: NetworkTransport(connectionsPerHost: concurrency)
        case .urlSession: URLSessionBaseline(maxConnectionsPerHost: concurrency)
        }
    }
}

/// Closes a transport's connections, when it has a way to.
func shutDown(_ transport: any HTTPTransport) async {
    if let network = transport as? NetworkTransport { await network.shutdown() }
}

/// Passes requests on, keeping their bodies when `keeps` (what the bare client replays afterwards).
final class RecordingTransport: HTTPTransport {
    let inner: any HTTPTransport
    let keeps: Bool
    private let bodies = Mutex<[Data]>([])

    init(_ inner: any HTTPTransport, keeps: Bool) {
        self.inner = inner
        self.keeps = keeps
    }

    var recorded: [Data] { bodies.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        if keeps { bodies.withLock { $0.append(request.body) } }
        return try await inner.send(request)
    }
}

/// One side of a round: calls made, wall seconds, and this process's CPU seconds.
struct Measured {
    var calls: Int
    var seconds: Double
    var cpu: Double
    var rate: Double { Double(calls) / seconds }
    var cpuPerCall: Double { cpu / Double(max(1, calls)) * 1e6 }
}

/// Runs the experiment through the full runner: protocol, HTTP, parsing, persistence, scoring.
/// Returns what it measured, and the request bodies it sent when `keepingBodies`.
func runnerRate(
    url: String, calls: Int, concurrency: Int, design: Design = .itemsOnly, client: Client = .network,
    keepingBodies: Bool = false
) async throws -> (Measured, bodies: [Data]) {
    let path = temporaryDatabase()
    defer { removeDatabase(path) }
    let store = try ExperimentStore(path: path)
    let experiment = try experiment(url: url, calls: calls, concurrency: concurrency, design: design)
    let runner = ExperimentRunner(store: store)
    let run = try await runner.createRun(experiment)
    let transport = RecordingTransport(client.make(concurrency: concurrency), keeps: keepingBodies)
    let providers = try ProviderFactory.makeAll(experiment, transport: transport)
    let (start, began, cpu) = (ContinuousClock.now, Date(), processCPU())
    let outcome = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
    let elapsed = ContinuousClock.now - start
    let spent = processCPU() - cpu
    await shutDown(transport.inner)
    if ProcessInfo.processInfo.environment["HVAE_BENCH_TIMING"] != nil {
        try printTiming(path, began: began, ended: began.addingTimeInterval(seconds(elapsed)))
    }
    return (Measured(calls: outcome.progress.calls, seconds: seconds(elapsed), cpu: spent), transport.recorded)
}

/// A model server in a process of its own (`hvae-bench serve LATENCY`), answering "E" after
/// `latency` seconds: the CPU this process spends is then the client's alone.
final class ChildServer {
    let baseURL: String
    private let process = Process()
    private let input = Pipe()

    init(latency: Double) throws {
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["serve", String(latency)]
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var data = Data()
        while !data.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        baseURL = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard baseURL.hasPrefix("http://") else { throw POSIXError(.ECHILD) }
    }

    /// Ends the server process: it stops when its standard input closes.
    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// `hvae-bench serve LATENCY`: the child of `ChildServer`. Prints its base URL, then serves
/// until its standard input closes.
func serveChild(latency: Double) throws {
    let server = try ModelAPIServer(api: .openai, keepLog: false) { _, _ in
        latency > 0 ? .slow("E", seconds: latency) : .reply("E")
    }
    line(server.baseURL)
    _ = FileHandle.standardInput.readDataToEndOfFile()
    server.stop()
}

/// Where a trial's time goes: the call itself (provider and HTTP) against the gap between one
/// call's end and the next call's start (the runner's own work on the trial's critical path).
func printTiming(_ path: String, began: Date, ended: Date) throws {
    let queue = try DatabaseQueue(path: path)
    // The run's own start and end: before its first call is sent, after its last reply.
    let ends = try queue.read { db in
        try Row.fetchOne(
            db,
            sql: """
                SELECT (julianday(min(started_at)) - julianday(?)) * 86400000.0,
                       (julianday(?) - julianday(max(finished_at))) * 86400000.0 FROM model_calls
                """, arguments: [began, ended])!
    }
    line(
        String(
            format: "   run: its first call starts %.1f ms after the run does; it ends %.1f ms after its last reply",
            ends[0] as Double, ends[1] as Double))
    let row = try queue.read { db in
        try Row.fetchOne(
            db,
            sql: """
                WITH c AS (
                    SELECT latency_ms, julianday(started_at) * 86400000.0 AS s, julianday(finished_at) * 86400000.0 AS \
                f,
                           lag(julianday(finished_at) * 86400000.0) OVER (PARTITION BY trial_id ORDER BY id) AS previous
                    FROM model_calls)
                SELECT avg(latency_ms), avg(s - previous), max(s - previous), count(*) FROM c
                """)!
    }
    line(
        String(
            format: "   timing: mean call %.2f ms, mean gap between a trial's calls %.2f ms (max %.1f), %d calls",
            row[0] as Double, row[1] as Double, row[2] as Double, row[3] as Int))
    // Between trials: how far apart the first wave's first calls start, and the whole span of
    // the calls against the run's own time (what is left is the run's start and end).
    let spans = try queue.read { db in
        try Row.fetchOne(
            db,
            sql: """
                WITH t AS (
                    SELECT trial_id, min(julianday(started_at)) * 86400000.0 AS s,
                           max(julianday(finished_at)) * 86400000.0 AS f
                    FROM model_calls GROUP BY trial_id),
                first AS (SELECT s FROM t ORDER BY s LIMIT 64)
                SELECT (SELECT max(s) - min(s) FROM first), max(f) - min(s), avg(f - s) FROM t
                """)!
    }
    line(
        String(
            format: "   trials: the first 64 start within %.1f ms; calls span %.1f ms; a trial takes %.1f ms",
            spans[0] as Double, spans[1] as Double, spans[2] as Double))
    // From a trial's last reply to the first call of the trial that takes its place: the n-th
    // trial to end frees the place of the (64 + n)-th to start.
    let handover = try queue.read { db in
        try Row.fetchOne(
            db,
            sql: """
                WITH t AS (
                    SELECT min(julianday(started_at)) * 86400000.0 AS s, max(julianday(finished_at)) * 86400000.0 AS f
                    FROM model_calls GROUP BY trial_id),
                starts AS (SELECT s, row_number() OVER (ORDER BY s) AS n FROM t),
                ends AS (SELECT f, row_number() OVER (ORDER BY f) AS n FROM t)
                SELECT avg(starts.s - ends.f), max(starts.s - ends.f) FROM starts JOIN ends ON starts.n = ends.n + 64
                """)!
    }
    line(
        String(
            format: "   handover: a trial's first call starts %.1f ms (max %.1f) after the trial it replaces ends",
            handover[0] as Double, handover[1] as Double))
}

/// The baseline: the very request bodies the runner sent, replayed straight through a client of
/// the same kind to the same server at the same concurrency, with nothing else done.
func rawRate(url: String, bodies: [Data], concurrency: Int, client: Client = .network) async throws -> Measured {
    let transport = client.make(concurrency: concurrency)
    let endpoint = URL(string: url + "/chat/completions")!
    let calls = bodies.count
    let (start, cpu) = (ContinuousClock.now, processCPU())
    // Each worker's first send and its mean call, as the runner's timing gives them.
    let timings = try await withThrowingTaskGroup(of: (first: Double, mean: Double).self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var (first, total, count) = (0.0, 0.0, 0)
                for index in stride(from: worker, to: calls, by: concurrency) {
                    let request = HTTPRequest(
                        url: endpoint, headers: ["content-type": "application/json"], body: bodies[index], timeout: 60)
                    let sent = ContinuousClock.now
                    if index == worker { first = seconds(sent - start) }
                    let response = try await transport.send(request)
                    total += seconds(ContinuousClock.now - sent)
                    count += 1
                    guard response.status == 200 else {
                        throw TransportError.network(.other, detail: "status \(response.status)")
                    }
                }
                return (first, total / Double(max(1, count)))
            }
        }
        var all: [(first: Double, mean: Double)] = []
        for try await timing in group { all.append(timing) }
        return all
    }
    let measured = Measured(calls: calls, seconds: seconds(ContinuousClock.now - start), cpu: processCPU() - cpu)
    await shutDown(transport)
    if ProcessInfo.processInfo.environment["HVAE_BENCH_TIMING"] != nil, !timings.isEmpty {
        let firsts = timings.map(\.first)
        line(
            String(
                format: "   bare client: first sends within %.1f ms (the first after %.1f ms); mean call %.2f ms",
                (firsts.max()! - firsts.min()!) * 1000, firsts.min()! * 1000,
                timings.map(\.mean).reduce(0, +) / Double(timings.count) * 1000))
    }
    return measured
}

/// A round of each client: the runner, then the bare client replaying the bodies the runner
/// sent; the clients' order alternates round by round, so that a change in the machine's speed
/// touches both sides of a ratio alike.
func alternatingRounds(
    _ rounds: Int, clients: [Client], url: String, concurrency: Int,
    runner: (Client) async throws -> (Measured, bodies: [Data])
) async throws -> [Client: [(runner: Measured, raw: Measured)]] {
    var results: [Client: [(runner: Measured, raw: Measured)]] = [:]
    for round in 0..<rounds {
        for client in round % 2 == 0 ? clients : clients.reversed() {
            let (measured, bodies) = try await runner(client)
            let raw = try await rawRate(url: url, bodies: bodies, concurrency: concurrency, client: client)
            results[client, default: []].append((measured, raw))
        }
    }
    return results
}

/// 1. Runner overhead at zero server latency, and the CPU each call costs this process (the server
/// runs in another), through hvae's client and through the URLSession client it replaced, both
/// under this build's runner: reference figures. `versus` compares this build with an earlier one.
func benchmarkOverhead() async throws {
    let server = try ChildServer(latency: 0)
    defer { server.stop() }
    let concurrency = 8
    let calls = 4_000
    let rounds = 5
    for client in Client.allCases {  // warm-up
        _ = try await runnerRate(url: server.baseURL, calls: 500, concurrency: concurrency, client: client)
    }
    let results = try await alternatingRounds(
        rounds, clients: Client.allCases, url: server.baseURL, concurrency: concurrency
    ) { client in
        try await runnerRate(
            url: server.baseURL, calls: calls, concurrency: concurrency, client: client, keepingBodies: true)
    }
    func cpu(_ client: Client, _ side: KeyPath<(runner: Measured, raw: Measured), Measured>) -> Double {
        median(results[client]!.map { $0[keyPath: side].cpuPerCall })
    }
    let network = results[.network]!
    line(
        String(
            format:
                """
                1. runner overhead (zero-latency server in its own process, concurrency %d, %d rounds of %d calls): \
                runner ÷ bare client %.2f (a reference figure); CPU per call: runner %.0f us, bare client %.0f us; \
                the same runner on URLSession: %.0f us, its bare client %.0f us; runner ÷ the same runner on \
                URLSession %.2f (this build's runner on both; `versus` compares whole builds); rounds (runner / \
                bare calls/s): %@
                """,
            concurrency, rounds, calls, median(network.map { $0.runner.rate / $0.raw.rate }),
            cpu(.network, \.runner), cpu(.network, \.raw), cpu(.urlSession, \.runner), cpu(.urlSession, \.raw),
            median(zip(network, results[.urlSession]!).map { $0.runner.cpuPerCall / $1.runner.cpuPerCall }),
            network.map { String(format: "%.0f / %.0f", $0.runner.rate, $0.raw.rate) }.joined(separator: ", ")))
}

/// 2. Concurrency against a slow server: 100 ms per call, 64 at once, 2,048 calls of the study's
/// protocol (8 calls a trial, 256 trials: four full rounds of 64). The baseline is the bare client
/// sending the very bodies the runner sent, 64 at once, in rounds that alternate with the runner's.
func benchmarkConcurrency() async throws {
    let server = try ChildServer(latency: 0.1)
    defer { server.stop() }
    let ideal = 64 / 0.1
    let rounds = 3
    let results = try await alternatingRounds(rounds, clients: [.network], url: server.baseURL, concurrency: 64) {
        client in
        try await runnerRate(
            url: server.baseURL, calls: 2_048, concurrency: 64, design: .study, client: client, keepingBodies: true)
    }[.network]!
    let runner = median(results.map(\.runner.rate))
    let bare = median(results.map(\.raw.rate))
    line(
        String(
            format:
                """
                2. concurrency (100 ms server, 64 in flight, %d calls, median of %d rounds): %.0f calls/s of an ideal \
                %.0f: ratio %.3f (target >= 0.97); the bare client sending the same bodies reaches %.0f (%.3f, \
                target >= 0.98), so runner ÷ bare client %.3f; rounds (runner / bare calls/s): %@
                """,
            results.first?.runner.calls ?? 0, rounds, runner, ideal, runner / ideal, bare, bare / ideal,
            median(results.map { $0.runner.rate / $0.raw.rate }),
            results.map { String(format: "%.0f / %.0f", $0.runner.rate, $0.raw.rate) }.joined(separator: ", ")))
}

/// 3. Peak memory: a 20,000-call run against a 2,000-call run, each in its own process, beside the
/// bare HTTP client making as many requests.
func benchmarkMemory() throws {
    func measure(_ mode: String, _ calls: Int) throws -> (calls: Int, mib: Double) {
        let fields = (try runProgram(nil, [mode, String(calls)]).output.split(separator: "\n").last ?? "").split(
            separator: " ")
        return (Int(fields[0]) ?? 0, Double(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }
    let small = try measure("memory", 2_000)
    let large = try measure("memory", 20_000)
    let bareSmall = try measure("memory-bare", small.calls)
    let bareLarge = try measure("memory-bare", large.calls)
    line(
        String(
            format: """
                3. peak memory: %d calls %.1f MiB, %d calls %.1f MiB: ratio %.3f for %.0fx the calls \
                (target <= 1.02); the bare client, as many requests: %.1f and %.1f MiB (ratio %.3f)
                """,
            small.calls, small.mib, large.calls, large.mib, large.mib / small.mib,
            Double(large.calls) / Double(small.calls), bareSmall.mib, bareLarge.mib, bareLarge.mib / bareSmall.mib))
}

/// One run of about `calls` calls; prints its calls and peak RSS (the child of benchmark 3).
func memoryChild(calls: Int) async throws {
    let server = try ChildServer(latency: 0)
    defer { server.stop() }
    let (result, _) = try await runnerRate(url: server.baseURL, calls: calls, concurrency: 16)
    line("\(result.calls) \(String(format: "%.1f", peakRSS()))")
}

/// `calls` requests by the bare client, 16 at once; prints the calls and peak RSS (benchmark 3's baseline).
func memoryBareChild(calls: Int) async throws {
    let server = try ChildServer(latency: 0)
    defer { server.stop() }
    let body = Data(#"{"model":"bench","messages":[{"role":"user","content":"Which option do you choose?"}]}"#.utf8)
    let result = try await rawRate(url: server.baseURL, bodies: Array(repeating: body, count: calls), concurrency: 16)
    line("\(result.calls) \(String(format: "%.1f", peakRSS()))")
}

/// `throughput URL [CALLS] [CONCURRENCY]`: the full runner against any OpenAI-compatible server
/// (a zero-latency stub measures hvae's own speed); prints calls per second, and CPU per call.
func benchmarkThroughput(url: String, calls: Int, concurrency: Int) async throws {
    let (result, _) = try await runnerRate(url: url, calls: calls, concurrency: concurrency)
    line(
        String(
            format: "throughput: %d calls to %@ in %.2f s, %d in flight: %.0f calls/s, %.0f us CPU per call",
            result.calls, url, result.seconds, concurrency, result.rate, result.cpuPerCall))
}

/// The cost of recording calls alone: N trials of 6 item calls each (the conversation growing as
/// in a run), `concurrency` trials recording at once; prints CPU microseconds per call.
func benchmarkStore(trials: Int, concurrency: Int) async throws {
    let path = temporaryDatabase()
    defer { removeDatabase(path) }
    let store = try ExperimentStore(path: path)
    let run = try await store.createRun(
        RunRecord(name: "store", description: "", experimentJSON: "{}", seed: 1, toolVersion: "bench"))
    let records = try await store.createTrials(
        (1...trials).map {
            TrialRecord(
                runID: run.id!,
                key: TrialKey(model: "m", value: .prosocial, goal: .without, optionOrder: .original, index: $0),
                provider: "openai", seed: Int64($0), ordinal: $0 - 1)
        })
    let prompt = String(repeating: "Imagine you are a person whose social value orientation is prosocial. ", count: 8)
    let cpu = processCPU()
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                for index in stride(from: worker, to: records.count, by: concurrency) {
                    let trialID = records[index].id!
                    var messages: [ChatMessage] = []
                    for item in 1...6 {
                        messages.append(
                            ChatMessage(.user, "\(prompt) Trial \(trialID), question \(item): A: 85, 85\nB: 85, 76"))
                        let outcome = CallRecord(
                            step: .item(item), attempt: 1, request: messages, reply: "E",
                            rawResponse: Data(#"{"choices":[{"message":{"content":"E"}}]}"#.utf8), latencyMs: 1,
                            startedAt: Date(), finishedAt: Date(),
                            answer: AnswerRecord(
                                parserVersion: 2, status: .ok, item: item, shownLetter: .e,
                                option: .e, allocation: .init(own: 85, other: 85)))
                        try await store.record(outcome, trialID: trialID)
                        messages.append(ChatMessage(.assistant, "E"))
                    }
                }
            }
        }
        try await group.waitForAll()
    }
    let calls = trials * 6
    line(
        String(
            format: "store: %d calls recorded, %d trials at once: %.0f us CPU and %.0f us wall per call",
            calls, concurrency, (processCPU() - cpu) / Double(calls) * 1e6,
            seconds(ContinuousClock.now - start) / Double(calls) * 1e6))
}

/// One side of benchmark 1 alone, after the same warm-up, through either client: for counting
/// instructions (`valgrind --tool=callgrind hvae-bench phase runner 1000`, then `... raw 1000`).
func benchmarkPhase(side: String, calls: Int, client: Client) async throws {
    let server = try ChildServer(latency: 0)
    defer { server.stop() }
    // A warm-up, and the bodies.
    let (_, bodies) = try await runnerRate(
        url: server.baseURL, calls: calls, concurrency: 8, client: client, keepingBodies: true)
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)  // for `perf record -k CLOCK_MONOTONIC --time`
    FileHandle.standardError.write(
        Data(
            String(
                format: "phase starts at monotonic %.6f\n",
                Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
            ).utf8))
    let measured =
        side == "runner"
        ? try await runnerRate(url: server.baseURL, calls: calls, concurrency: 8, client: client).0
        : try await rawRate(url: server.baseURL, bodies: bodies, concurrency: 8, client: client)
    line(
        String(
            format: "%@: %d calls through %@, %.0f us CPU per call", side, measured.calls, client.rawValue,
            measured.cpuPerCall))
}

/// Models: two models, each on its own server answering one call at a time in 20 ms
/// (`max_concurrency: 1`), as one run of both, against the baseline of the same two models run
/// one after the other (two runs, one model each): interleaving should halve the time.
func benchmarkModels(trials: Int) async throws {
    let servers = try (0..<2).map { _ in
        try ModelAPIServer(api: .openai, keepLog: false) { _, _ in .slow("E", seconds: 0.02) }
    }
    defer { for server in servers { server.stop() } }
    func run(_ models: [Int]) async throws -> (seconds: Double, calls: Int) {
        let path = temporaryDatabase()
        defer { removeDatabase(path) }
        let store = try ExperimentStore(path: path)
        let experiment = try ExperimentFile.parse(
            yaml: """
                name: models
                trials: \(trials)
                values: [prosocial]
                goal: without
                value_assignment: defined
                concurrency: 8
                models:
                """
                    + models.map { index in
                        """

                          - name: m\(index)
                            provider: openai
                            model: bench
                            base_url: \(servers[index].baseURL)
                            max_concurrency: 1
                            max_retries: 0
                        """
                    }.joined())
        let runner = ExperimentRunner(store: store)
        let created = try await runner.createRun(experiment)
        let providers = try ProviderFactory.makeAll(experiment, transport: NetworkTransport())
        let start = ContinuousClock.now
        let outcome = try await runner.execute(runID: created.id!, experiment: experiment, providers: providers)
        return (seconds(ContinuousClock.now - start), outcome.progress.calls)
    }
    var rounds: [(together: Double, apart: Double)] = []
    var calls = 0
    for round in 0..<3 {
        // Alternating which side goes first, so that a change in the machine's speed touches both.
        func together() async throws -> Double {
            let both = try await run([0, 1])
            calls = both.calls
            return both.seconds
        }
        func apart() async throws -> Double {
            let first = try await run([0])
            return first.seconds + (try await run([1])).seconds
        }
        if round % 2 == 0 {
            let both = try await together()
            rounds.append((both, try await apart()))
        } else {
            let separate = try await apart()
            rounds.append((try await together(), separate))
        }
    }
    line(
        String(
            format:
                """
                models. two models on two servers of equal speed (20 ms, max_concurrency 1 each, %d calls): one \
                run of both ÷ the two run one after the other: ratio %.2f (target about 0.5); rounds: %@
                """,
            calls, median(rounds.map { $0.together / $0.apart }),
            rounds.map { String(format: "%.2f (%.2f s / %.2f s)", $0.together / $0.apart, $0.together, $0.apart) }
                .joined(separator: ", ")))
}

/// `versus OTHER [CALLS]`: CPU per call of `hvae run` of this build against the `hvae` binary
/// OTHER (an earlier build: 0.8.1's is the URLSession one), on the same experiment and the same
/// zero-latency server in a process of its own, in alternating rounds; each side's CPU is the
/// whole process's (its children's rusage), start-up included.
func benchmarkVersus(other: String, calls: Int) throws {
    let server = try ChildServer(latency: 0)
    defer { server.stop() }
    let directory = FileManager.default.temporaryDirectory.appending(path: "hvae-versus-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let trials = max(1, calls / 24)
    let file = directory.appending(path: "versus.yaml").path
    try """
    name: versus
    trials: \(trials)
    goal: without
    value_assignment: defined
    concurrency: 8
    models:
      - name: local
        provider: openai
        model: bench
        base_url: \(server.baseURL)
        max_retries: 0
    """.write(toFile: file, atomically: true, encoding: .utf8)
    let this = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        .appending(path: "hvae").path
    /// One `hvae run` of `binary` on a new database: its CPU seconds.
    func cpu(_ binary: String) throws -> Double {
        let database = directory.appending(path: "\(UUID().uuidString).sqlite").path
        defer { removeDatabase(database) }
        let status = try spawnAndWait(binary, ["run", file, "--db", database, "--quiet"])
        guard status.code == 0 else { throw POSIXError(.ECHILD) }
        return status.cpu
    }
    _ = try cpu(this)  // warm-up: the page cache, the server's threads
    _ = try cpu(other)
    var rounds: [(this: Double, other: Double)] = []
    for round in 0..<5 {
        if round % 2 == 0 {
            let mine = try cpu(this)
            rounds.append((mine, try cpu(other)))
        } else {
            let theirs = try cpu(other)
            rounds.append((try cpu(this), theirs))
        }
    }
    let total = Double(trials * 24)
    line(
        String(
            format: """
                versus: hvae run of %d calls (zero-latency server, 8 in flight), CPU per call of the whole process: \
                this build %.0f us, %@ %.0f us: ratio %.2f (median of 5 alternating rounds); rounds: %@
                """,
            trials * 24, median(rounds.map(\.this)) / total * 1e6, other, median(rounds.map(\.other)) / total * 1e6,
            median(rounds.map { $0.this / $0.other }),
            rounds.map { String(format: "%.0f / %.0f", $0.this / total * 1e6, $0.other / total * 1e6) }
                .joined(separator: ", ")))
}

/// Runs `path` with `arguments` (output to /dev/null) and waits: its exit code and the CPU
/// seconds (user + system) it and its threads used, from wait4.
func spawnAndWait(_ path: String, _ arguments: [String]) throws -> (code: Int32, cpu: Double) {
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
    guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOENT) }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (code, seconds(usage.ru_utime) + seconds(usage.ru_stime))
}
