import Domain
import Foundation
import GRDB
import ModelServer
import Runner
import Store

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

/// An experiment of about `calls` calls on the server (four values), `concurrency` trials at once.
func experiment(server: ModelAPIServer, calls: Int, concurrency: Int, design: Design) throws -> Experiment {
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
                base_url: \(server.baseURL)
                max_retries: 0
            """)
}

/// Runs the experiment through the full runner: protocol, HTTP, parsing, persistence, scoring.
func runnerRate(server: ModelAPIServer, calls: Int, concurrency: Int, design: Design = .itemsOnly) async throws
    -> (calls: Int, seconds: Double)
{
    let path = temporaryDatabase()
    defer { removeDatabase(path) }
    let store = try ExperimentStore(path: path)
    let experiment = try experiment(server: server, calls: calls, concurrency: concurrency, design: design)
    let runner = ExperimentRunner(store: store)
    let run = try await runner.createRun(experiment)
    let providers = try ProviderFactory.makeAll(
        experiment, transport: URLSessionTransport(maxConnectionsPerHost: concurrency))
    let start = ContinuousClock.now
    let outcome = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
    let elapsed = ContinuousClock.now - start
    if ProcessInfo.processInfo.environment["HVAE_BENCH_TIMING"] != nil { try printTiming(path) }
    return (outcome.progress.calls, seconds(elapsed))
}

/// Where a trial's time goes: the call itself (provider and HTTP) against the gap between one
/// call's end and the next call's start (the runner's own work on the trial's critical path).
func printTiming(_ path: String) throws {
    let queue = try DatabaseQueue(path: path)
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
}

/// The baseline: the very request bodies the runner sent, replayed straight through the same
/// transport to the same server at the same concurrency, with nothing else done.
func rawRate(server: ModelAPIServer, bodies: [Data], concurrency: Int) async throws -> (calls: Int, seconds: Double) {
    let transport = URLSessionTransport(maxConnectionsPerHost: concurrency)
    let url = URL(string: server.baseURL + "/chat/completions")!
    let calls = bodies.count
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                for index in stride(from: worker, to: calls, by: concurrency) {
                    let request = HTTPRequest(
                        url: url, headers: ["content-type": "application/json"], body: bodies[index], timeout: 60)
                    let response = try await transport.send(request)
                    guard response.status == 200 else { throw TransportError.connection("status \(response.status)") }
                }
            }
        }
        try await group.waitForAll()
    }
    return (calls, seconds(ContinuousClock.now - start))
}

/// 1. Runner overhead at zero server latency: a reference figure (no target). The runner waits
/// for each call's commit before the trial's next call, which costs most at zero latency.
func benchmarkOverhead() async throws {
    let server = try ModelAPIServer(api: .openai) { _, _ in .reply("E") }
    let concurrency = 8
    let calls = 4_000
    let rounds = 9
    _ = try await runnerRate(server: server, calls: 500, concurrency: concurrency)  // warm-up
    // Rounds alternate runner and raw client, and which goes first, so that a change in the
    // machine's speed touches both sides of a ratio alike; the median round is the figure.
    var rates: [(runner: Double, raw: Double)] = []
    var bodies: [Data] = []
    for round in 0..<rounds {
        func runnerPhase() async throws -> Double {
            let full = try await runnerRate(server: server, calls: calls, concurrency: concurrency)
            if bodies.isEmpty { bodies = server.requests.suffix(full.calls).map(\.body) }
            server.clearRequests()
            return Double(full.calls) / full.seconds
        }
        func rawPhase() async throws -> Double {
            let raw = try await rawRate(server: server, bodies: bodies, concurrency: concurrency)
            server.clearRequests()
            return Double(raw.calls) / raw.seconds
        }
        if round % 2 == 0 || bodies.isEmpty {
            let runner = try await runnerPhase()
            rates.append((runner, try await rawPhase()))
        } else {
            let raw = try await rawPhase()
            rates.append((try await runnerPhase(), raw))
        }
    }
    let ratios = rates.map { $0.runner / $0.raw }
    line(
        String(
            format:
                """
                1. runner overhead (zero-latency server, concurrency %d, %d rounds of %d calls): ratio %.2f (a \
                reference figure, no target); rounds: %@
                """,
            concurrency, rounds, calls, median(ratios),
            rates.map { String(format: "%.2f (%.0f / %.0f calls/s)", $0.runner / $0.raw, $0.runner, $0.raw) }
                .joined(separator: ", ")))
    server.stop()
}

/// 2. Concurrency against a slow server: 100 ms per call, 64 at once, 2,048 calls of the study's
/// protocol (8 calls a trial, 256 trials: four full rounds of 64).
func benchmarkConcurrency() async throws {
    let server = try ModelAPIServer(api: .openai, keepLog: false) { _, _ in .slow("E", seconds: 0.1) }
    let result = try await runnerRate(server: server, calls: 2_048, concurrency: 64, design: .study)
    let ideal = 64 / 0.1
    let achieved = Double(result.calls) / result.seconds
    // The client alone, for reference: the same number of requests, 64 at once.
    let body = try JSONEncoder().encode(["model": "bench"])
    let raw = try await rawRate(server: server, bodies: Array(repeating: body, count: result.calls), concurrency: 64)
    line(
        String(
            format:
                """
                2. concurrency (100 ms server, 64 in flight, %d calls): %.0f calls/s of an ideal %.0f: ratio %.2f \
                (target >= 0.95); the bare client reaches %.0f (%.2f)
                """,
            result.calls, achieved, ideal, achieved / ideal, Double(raw.calls) / raw.seconds,
            Double(raw.calls) / raw.seconds / ideal))
    server.stop()
}

/// 3. Peak memory: a 20,000-call run against a 2,000-call run, each in its own process, beside the
/// bare HTTP client making as many requests: what the runner adds on top of what URLSession itself
/// keeps (swift-corelibs-foundation on Linux loses about 64 bytes a request in
/// CFURLSessionCurlHostIsEqual, which any URLSession client pays).
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
    let runnerGrowth = large.mib - small.mib
    let bareGrowth = bareLarge.mib - bareSmall.mib
    line(
        String(
            format: """
                3. peak memory: %d calls %.1f MiB, %d calls %.1f MiB: ratio %.2f for %.0fx the calls \
                (target: about 1); the bare client, as many requests: %.1f and %.1f MiB; the runner's own \
                growth %.1f MiB
                """,
            small.calls, small.mib, large.calls, large.mib, large.mib / small.mib,
            Double(large.calls) / Double(small.calls), bareSmall.mib, bareLarge.mib, runnerGrowth - bareGrowth))
}

/// One run of about `calls` calls; prints its calls and peak RSS (the child of benchmark 3).
func memoryChild(calls: Int) async throws {
    let server = try ModelAPIServer(api: .openai, keepLog: false) { _, _ in .reply("E") }
    let result = try await runnerRate(server: server, calls: calls, concurrency: 16)
    line("\(result.calls) \(String(format: "%.1f", peakRSS()))")
}

/// `calls` requests by the bare client, 16 at once; prints the calls and peak RSS (benchmark 3's baseline).
func memoryBareChild(calls: Int) async throws {
    let server = try ModelAPIServer(api: .openai, keepLog: false) { _, _ in .reply("E") }
    let body = Data(#"{"model":"bench","messages":[{"role":"user","content":"Which option do you choose?"}]}"#.utf8)
    let result = try await rawRate(server: server, bodies: Array(repeating: body, count: calls), concurrency: 16)
    line("\(result.calls) \(String(format: "%.1f", peakRSS()))")
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
                            rawResponse: #"{"choices":[{"message":{"content":"E"}}]}"#, latencyMs: 1,
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

/// One side of benchmark 1 alone, after the same warm-up: for counting instructions
/// (`valgrind --tool=callgrind hvae-bench phase runner 1000`, then `... raw 1000`).
func benchmarkPhase(side: String, calls: Int) async throws {
    let server = try ModelAPIServer(api: .openai) { _, _ in .reply("E") }
    _ = try await runnerRate(server: server, calls: calls, concurrency: 8)  // warm-up, and the bodies
    let bodies = server.requests.map(\.body)
    server.clearRequests()
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)  // for `perf record -k CLOCK_MONOTONIC --time`
    FileHandle.standardError.write(
        Data(
            String(
                format: "phase starts at monotonic %.6f\n",
                Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
            ).utf8))
    let cpu = processCPU()
    let done =
        side == "runner"
        ? try await runnerRate(server: server, calls: calls, concurrency: 8).calls
        : try await rawRate(server: server, bodies: bodies, concurrency: 8).calls
    line(String(format: "%@: %d calls, %.0f us CPU per call", side, done, (processCPU() - cpu) / Double(done) * 1e6))
    server.stop()
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
        let providers = try ProviderFactory.makeAll(experiment, transport: URLSessionTransport())
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
