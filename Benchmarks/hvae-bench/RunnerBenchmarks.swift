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
    let (start, began) = (ContinuousClock.now, Date())
    let outcome = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
    let elapsed = ContinuousClock.now - start
    if ProcessInfo.processInfo.environment["HVAE_BENCH_TIMING"] != nil {
        try printTiming(path, began: began, ended: began.addingTimeInterval(seconds(elapsed)))
    }
    return (outcome.progress.calls, seconds(elapsed))
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

/// The baseline: the very request bodies the runner sent, replayed straight through the same
/// transport to the same server at the same concurrency, with nothing else done.
func rawRate(server: ModelAPIServer, bodies: [Data], concurrency: Int) async throws -> (calls: Int, seconds: Double) {
    let transport = URLSessionTransport(maxConnectionsPerHost: concurrency)
    let url = URL(string: server.baseURL + "/chat/completions")!
    let calls = bodies.count
    let start = ContinuousClock.now
    // Each worker's first send and its mean call, as the runner's timing gives them.
    let timings = try await withThrowingTaskGroup(of: (first: Double, mean: Double).self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var (first, total, count) = (0.0, 0.0, 0)
                for index in stride(from: worker, to: calls, by: concurrency) {
                    let request = HTTPRequest(
                        url: url, headers: ["content-type": "application/json"], body: bodies[index], timeout: 60)
                    let sent = ContinuousClock.now
                    if index == worker { first = seconds(sent - start) }
                    let response = try await transport.send(request)
                    total += seconds(ContinuousClock.now - sent)
                    count += 1
                    guard response.status == 200 else { throw TransportError.connection("status \(response.status)") }
                }
                return (first, total / Double(max(1, count)))
            }
        }
        var all: [(first: Double, mean: Double)] = []
        for try await timing in group { all.append(timing) }
        return all
    }
    let elapsed = seconds(ContinuousClock.now - start)
    if ProcessInfo.processInfo.environment["HVAE_BENCH_TIMING"] != nil, !timings.isEmpty {
        let firsts = timings.map(\.first)
        line(
            String(
                format: "   bare client: first sends within %.1f ms (the first after %.1f ms); mean call %.2f ms",
                (firsts.max()! - firsts.min()!) * 1000, firsts.min()! * 1000,
                timings.map(\.mean).reduce(0, +) / Double(timings.count) * 1000))
    }
    return (calls, elapsed)
}

/// Rounds of the runner, then of the bare client replaying the request bodies of the runner's
/// first round, alternating which goes first so that a change in the machine's speed touches both
/// sides of a ratio alike. Returns each round's calls per second, and the calls of a round.
func alternatingRounds(
    _ rounds: Int, server: ModelAPIServer, concurrency: Int,
    runner: () async throws -> (calls: Int, seconds: Double)
) async throws -> (rates: [(runner: Double, raw: Double)], calls: Int) {
    var bodies: [Data] = []
    var rates: [(runner: Double, raw: Double)] = []
    for round in 0..<rounds {
        var rate = (runner: 0.0, raw: 0.0)
        let runnerFirst = round % 2 == 0 || bodies.isEmpty
        for runnerTurn in [runnerFirst, !runnerFirst] {
            if runnerTurn {
                let result = try await runner()
                if bodies.isEmpty { bodies = server.requests.suffix(result.calls).map(\.body) }
                rate.runner = Double(result.calls) / result.seconds
            } else {
                let result = try await rawRate(server: server, bodies: bodies, concurrency: concurrency)
                rate.raw = Double(result.calls) / result.seconds
            }
            server.clearRequests()
        }
        rates.append(rate)
    }
    return (rates, bodies.count)
}

/// 1. Runner overhead at zero server latency: a reference figure (no target). The runner waits
/// for each call's commit before the trial's next call, which costs most at zero latency.
func benchmarkOverhead() async throws {
    let server = try ModelAPIServer(api: .openai) { _, _ in .reply("E") }
    let concurrency = 8
    let calls = 4_000
    let rounds = 9
    _ = try await runnerRate(server: server, calls: 500, concurrency: concurrency)  // warm-up
    let rates = try await alternatingRounds(rounds, server: server, concurrency: concurrency) {
        try await runnerRate(server: server, calls: calls, concurrency: concurrency)
    }.rates
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
/// protocol (8 calls a trial, 256 trials: four full rounds of 64). The baseline is the bare client
/// sending the very bodies the runner sent (the in-process server's work grows with a request's
/// size, and it shares the two cores), 64 at once, in rounds that alternate with the runner's.
func benchmarkConcurrency() async throws {
    let server = try ModelAPIServer(api: .openai) { _, _ in .slow("E", seconds: 0.1) }
    let ideal = 64 / 0.1
    let rounds = 3
    let (rates, calls) = try await alternatingRounds(rounds, server: server, concurrency: 64) {
        try await runnerRate(server: server, calls: 2_048, concurrency: 64, design: .study)
    }
    let runner = median(rates.map(\.runner))
    let bare = median(rates.map(\.raw))
    line(
        String(
            format:
                """
                2. concurrency (100 ms server, 64 in flight, %d calls, median of %d rounds): %.0f calls/s of an ideal \
                %.0f: ratio %.2f (target >= 0.95); the bare client sending the same bodies reaches %.0f (%.2f), \
                so runner ÷ bare client %.2f; rounds (runner / bare calls/s): %@
                """,
            calls, rounds, runner, ideal, runner / ideal, bare, bare / ideal,
            median(rates.map { $0.runner / $0.raw }),
            rates.map { String(format: "%.0f / %.0f", $0.runner, $0.raw) }.joined(separator: ", ")))
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
