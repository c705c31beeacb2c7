// hvae-bench: measures the runner against the raw HTTP client on a local OpenAI-compatible server.
//
//   swift run -c release hvae-bench              all three benchmarks (docs/performance.md)
//   swift run -c release hvae-bench memory N     one run of about N calls; prints its peak RSS
//
// Every figure is a ratio against a baseline measured in the same process and run.
import Foundation
import Analysis
import ModelServer
import Runner
import Store
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// Peak resident set size of this process, in MiB.
func peakRSS() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// CPU time of this process so far (user + system, all threads), in seconds.
func processCPU() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

func temporaryDatabase() -> String {
    FileManager.default.temporaryDirectory.appending(path: "hvae-bench-\(UUID().uuidString).sqlite").path
}

func removeDatabase(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

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
    return try ExperimentFile.parse(yaml: """
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

/// Runs the experiment through the full runner: protocol, HTTP, parsing, persistence.
func runnerRate(server: ModelAPIServer, calls: Int, concurrency: Int, design: Design = .itemsOnly) async throws -> (calls: Int, seconds: Double) {
    let path = temporaryDatabase()
    defer { removeDatabase(path) }
    let store = try ExperimentStore(path: path)
    let experiment = try experiment(server: server, calls: calls, concurrency: concurrency, design: design)
    let runner = ExperimentRunner(store: store)
    let run = try await runner.createRun(experiment)
    let providers = try ProviderFactory.makeAll(experiment, transport: URLSessionTransport(maxConnectionsPerHost: concurrency))
    let start = ContinuousClock.now
    let outcome = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
    let elapsed = ContinuousClock.now - start
    if ProcessInfo.processInfo.environment["HVAE_BENCH_TIMING"] != nil { try await printTiming(store) }
    return (outcome.progress.calls, seconds(elapsed))
}

/// Where a trial's time goes: the call itself (provider and HTTP) against the gap between one
/// call's end and the next call's start (the runner's own work on the trial's critical path).
func printTiming(_ store: ExperimentStore) async throws {
    // Row is not Sendable: the figures leave the read as plain numbers.
    let (meanCall, meanGap, maxGap, calls) = try await store.pool.read { db -> (Double, Double, Double, Int) in
        let row = try Row.fetchOne(db, sql: """
            WITH c AS (
                SELECT latency_ms, julianday(started_at) * 86400000.0 AS s, julianday(finished_at) * 86400000.0 AS f,
                       lag(julianday(finished_at) * 86400000.0) OVER (PARTITION BY trial_id ORDER BY id) AS previous
                FROM model_calls)
            SELECT avg(latency_ms), avg(s - previous), max(s - previous), count(*) FROM c
            """)!
        return (row[0], row[1], row[2], row[3])
    }
    line(String(format: "   timing: mean call %.2f ms, mean gap between a trial's calls %.2f ms (max %.1f), %d calls",
                meanCall, meanGap, maxGap, calls))
    if let path = ProcessInfo.processInfo.environment["HVAE_BENCH_TIMING_COPY"] {
        removeDatabase(path)
        try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
    }
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
                    let request = HTTPRequest(url: url, headers: ["content-type": "application/json"], body: bodies[index], timeout: 60)
                    let response = try await transport.send(request)
                    guard response.status == 200 else { throw TransportError.connection("status \(response.status)") }
                }
            }
        }
        try await group.waitForAll()
    }
    return (calls, seconds(ContinuousClock.now - start))
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func line(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

/// Fills a new database with a synthetic run of about `calls` calls (8 per trial with goal, 7 without),
/// straight through SQL: the runner would take many minutes to make a million calls.
func synthesize(path: String, calls: Int) async throws -> (trials: Int, calls: Int) {
    let store = try ExperimentStore(path: path)
    let trialsPerCell = max(1, calls / (8 * 4 * 2 * 15 / 2))
    try await store.pool.write { db in
        try db.execute(sql: """
            INSERT INTO runs (id, name, status, experiment_json, experiment_sha256, seed, tool_version, created_at)
            VALUES (1, 'synthetic', 'finished', '{}', '\(String(repeating: "0", count: 64))', 1, 'bench', '2026-01-01T00:00:00.000Z');
            INSERT INTO texts VALUES ('\(SHA256.hex("synthetic prompt"))', 'synthetic prompt');
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(trialsPerCell))
            INSERT INTO trials (run_id, model, provider, value, goal, option_order, trial_index, seed, status)
            SELECT 1, 'model-' || m.k, 'openai', v.value, g.goal, 'original', n.i, n.i, 'complete'
            FROM (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) AS m,
                 (SELECT 'altruistic' AS value UNION ALL SELECT 'prosocial' UNION ALL SELECT 'individualistic' UNION ALL SELECT 'competitive') AS v,
                 (SELECT 'with' AS goal UNION ALL SELECT 'without') AS g, n;
            INSERT INTO turns (id, trial_id, parent_id, position, role, text_sha256)
            SELECT id, id, NULL, 0, 'user', '\(SHA256.hex("synthetic prompt"))' FROM trials;
            INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at)
            SELECT id, 'angle', 'atan2', 1, 1, (abs(random()) % 7800) / 100.0 - 16.5, NULL, '' FROM trials;
            INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at) SELECT trial_id, 'vr', 'vr60', 1, 1, max(0, 60 - abs(value - 30)), NULL, '' FROM trial_metrics WHERE metric = 'angle';
            INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at) SELECT trial_id, 'hit', 'category-match', 1, 1, abs(random()) % 2, NULL, '' FROM trial_metrics WHERE metric = 'angle';
            INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at) SELECT trial_id, 'transitive', 'duel-graph', 1, 1, abs(random()) % 2, NULL, '' FROM trial_metrics WHERE metric = 'angle';
            INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at) SELECT trial_id, 'invalid_items', 'count', 1, 1, 0, NULL, '' FROM trial_metrics WHERE metric = 'angle';
            INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at) SELECT trial_id, 'category', 'svo-boundaries', 1, 1, NULL, 'prosocial', '' FROM trial_metrics WHERE metric = 'angle';
            INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at) SELECT trial_id, 'mean_self', 'primary-mean', 1, 1, 80 + abs(random()) % 10, NULL, '' FROM trial_metrics WHERE metric = 'angle';
            INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at) SELECT trial_id, 'mean_other', 'primary-mean', 1, 1, 55 + abs(random()) % 30, NULL, '' FROM trial_metrics WHERE metric = 'angle';
            INSERT INTO model_calls (trial_id, step, item, attempt, request_turn_id, reply_turn_id, latency_ms, started_at, finished_at)
            SELECT id, 'value', NULL, 1, id, NULL, 1, '', '' FROM trials;
            INSERT INTO model_calls (trial_id, step, item, attempt, request_turn_id, reply_turn_id, latency_ms, started_at, finished_at)
            SELECT id, 'goal', NULL, 1, id, NULL, 1, '', '' FROM trials WHERE goal = 'with';
            WITH RECURSIVE items(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM items WHERE k < 6)
            INSERT INTO model_calls (trial_id, step, item, attempt, request_turn_id, reply_turn_id, latency_ms, started_at, finished_at)
            SELECT t.id, 'item', items.k, 1, t.id, NULL, 1, '', '' FROM trials AS t, items;
            INSERT INTO answers (call_id, parser_version, status, item, shown_letter, option, self, other)
            SELECT id, 1, 'ok', item, 'A', 'A', 50 + abs(random()) % 50, 50 + abs(random()) % 50 FROM model_calls WHERE step = 'item';
            """)
    }
    let counts = try await store.pool.read { db in
        (try Int.fetchOne(db, sql: "SELECT count(*) FROM trials")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!)
    }
    try store.pool.close()
    return counts
}

let arguments = CommandLine.arguments.dropFirst()
if arguments.first == "memory", let calls = arguments.dropFirst().first.flatMap(Int.init) {
    let server = try ModelAPIServer(api: .openai, keepLog: false) { _, _ in .reply("E") }
    let result = try await runnerRate(server: server, calls: calls, concurrency: 16)
    line("\(result.calls) \(String(format: "%.1f", peakRSS()))")
    exit(0)
}

if arguments.first == "store" {
    // The cost of recording calls alone: N trials of 6 item calls each (the conversation growing as
    // in a run), `concurrency` trials submitting at once; prints CPU microseconds per call.
    let trials = arguments.dropFirst().first.flatMap(Int.init) ?? 1_000
    let concurrency = arguments.dropFirst(2).first.flatMap(Int.init) ?? 8
    let path = temporaryDatabase()
    defer { removeDatabase(path) }
    let store = try ExperimentStore(path: path)
    let (_, records) = try await store.createRun(
        RunRecord(name: "store", description: "", experimentJson: "{}", seed: 1, toolVersion: "bench"),
        trials: (1...trials).map { TrialRecord(runId: 0, model: "m", provider: "openai", value: "prosocial", goal: "without",
                                                optionOrder: "original", trialIndex: $0, seed: Int64($0)) })
    let prompt = String(repeating: "Imagine you are a person whose social value orientation is prosocial. ", count: 8)
    let cpu = processCPU(), start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                for index in stride(from: worker, to: records.count, by: concurrency) {
                    let trialID = records[index].id!
                    var messages: [ChatMessage] = []
                    for item in 1...6 {
                        messages.append(ChatMessage(.user, "\(prompt) Trial \(trialID), question \(item): A: 85, 85\nB: 85, 76"))
                        let outcome = CallOutcome(step: .item(item), attempt: 1, request: messages, reply: "E",
                                                  rawResponse: #"{"choices":[{"message":{"content":"E"}}]}"#, latencyMs: 1,
                                                  startedAt: Date(), finishedAt: Date(),
                                                  answer: AnswerRow(parserVersion: 1, status: "ok", item: item, shownLetter: "E",
                                                                    option: "E", own: 85, other: 85))
                        try await store.record(outcome, trialID: trialID)
                        messages.append(ChatMessage(.assistant, "E"))
                    }
                }
            }
        }
        try await group.waitForAll()
    }
    let calls = trials * 6
    line(String(format: "store: %d calls recorded, %d trials at once: %.0f us CPU and %.0f us wall per call",
                calls, concurrency, (processCPU() - cpu) / Double(calls) * 1e6, seconds(ContinuousClock.now - start) / Double(calls) * 1e6))
    exit(0)
}

if arguments.first == "report", let path = arguments.dropFirst().first {
    // Times a default report on an existing database (for profiling, e.g. with HVAE_BENCH_DB's).
    let store = try ExperimentStore(path: path)
    let start = ContinuousClock.now
    let report = try await Report.build(store: store, filter: ReportFilter(runIDs: [1]))
    line(String(format: "full report (%d cells): %.2f s", report.cells.count, seconds(ContinuousClock.now - start)))
    exit(0)
}

if arguments.first == "export-child", let path = arguments.dropFirst().first {
    // Child process: export every trial of the database at `path` to /dev/null; print rows and peak RSS.
    let store = try ExperimentStore(path: path)
    let handle = FileHandle(forWritingAtPath: "/dev/null")!
    let rows = try await Exporter.export(.trials, runIDs: [1], format: .csv, store: store, to: handle)
    line("\(rows) \(String(format: "%.1f", peakRSS()))")
    exit(0)
}

if arguments.first == "export-memory" {
    // Peak memory of exporting 10x the rows, each export in its own process.
    func child(_ path: String) throws -> (rows: Int, mib: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["export-child", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let fields = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ")
        process.waitUntilExit()
        return (Int(fields[0]) ?? 0, Double(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }
    let small = temporaryDatabase(), large = temporaryDatabase()
    defer { removeDatabase(small); removeDatabase(large) }
    _ = try await synthesize(path: small, calls: 100_000)
    _ = try await synthesize(path: large, calls: 1_000_000)
    let a = try child(small), b = try child(large)
    line(String(format: "export of all trials, each in its own process: %d rows %.1f MiB, %d rows %.1f MiB: ratio %.2f for %.0fx the rows",
                a.rows, a.mib, b.rows, b.mib, b.mib / a.mib, Double(b.rows) / Double(a.rows)))
    exit(0)
}

if arguments.first == "phase", let side = arguments.dropFirst().first, side == "runner" || side == "raw" {
    // One side of benchmark 1 alone, after the same warm-up: for counting instructions, which a
    // shared VM does not disturb as it does time. `valgrind --tool=callgrind hvae-bench phase
    // runner 1000` and then `... raw 1000`: the difference is the runner's own work for 1,000 calls.
    let calls = arguments.dropFirst(2).first.flatMap(Int.init) ?? 1_000
    let server = try ModelAPIServer(api: .openai) { _, _ in .reply("E") }
    _ = try await runnerRate(server: server, calls: calls, concurrency: 8)   // warm-up, and the bodies
    let bodies = server.requests.map(\.body)
    server.clearRequests()
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)   // for `perf record -k CLOCK_MONOTONIC --time`
    FileHandle.standardError.write(Data(String(format: "phase starts at monotonic %.6f\n", Double(now.tv_sec) + Double(now.tv_nsec) / 1e9).utf8))
    let cpu = processCPU()
    let done = side == "runner"
        ? try await runnerRate(server: server, calls: calls, concurrency: 8).calls
        : try await rawRate(server: server, bodies: bodies, concurrency: 8).calls
    line(String(format: "%@: %d calls, %.0f us CPU per call", side, done, (processCPU() - cpu) / Double(done) * 1e6))
    server.stop()
    exit(0)
}

if arguments.first == "scale" {
    // A database of about 1,000,000 calls; the time of a full report on it, in this process.
    let calls = arguments.dropFirst().first.flatMap(Int.init) ?? 1_000_000
    // HVAE_BENCH_DB keeps the synthetic database at that path, to query it with sqlite3.
    let kept = ProcessInfo.processInfo.environment["HVAE_BENCH_DB"]
    let path = kept ?? temporaryDatabase()
    defer { if kept == nil { removeDatabase(path) } }
    if kept != nil { removeDatabase(path) }
    let made = ContinuousClock.now
    let counts = try await synthesize(path: path, calls: calls)
    line(String(format: "synthetic database: %d trials, %d calls, built in %.1f s", counts.trials, counts.calls, seconds(ContinuousClock.now - made)))
    let store = try ExperimentStore(path: path)
    for resamples in [1, 1_000, 10_000] {
        let start = ContinuousClock.now
        let report = try await Report.build(store: store, filter: ReportFilter(runIDs: [1]), options: ReportOptions(resamples: resamples))
        line(String(format: "full report (%d cells, %d bootstrap resamples): %.2f s", report.cells.count, resamples, seconds(ContinuousClock.now - start)))
    }
    let exportPath = temporaryDatabase() + ".csv"
    defer { try? FileManager.default.removeItem(atPath: exportPath) }
    let before = peakRSS()
    let start = ContinuousClock.now
    _ = FileManager.default.createFile(atPath: exportPath, contents: nil)
    let handle = FileHandle(forWritingAtPath: exportPath)!
    let rows = try await Exporter.export(.trials, runIDs: [1], format: .csv, store: store, to: handle)
    try handle.close()
    line(String(format: "export of all %d trials as CSV: %.2f s; peak RSS %.1f MiB before, %.1f MiB after", rows, seconds(ContinuousClock.now - start), before, peakRSS()))
    exit(0)
}

func header() { line("hvae-bench: \(ProcessInfo.processInfo.activeProcessorCount) cores; each figure is a ratio to a baseline measured in this run") }

// 1. Runner overhead at zero server latency.
func benchmarkOverhead() async throws {
    let server = try ModelAPIServer(api: .openai) { _, _ in .reply("E") }
    let concurrency = 8, calls = 4_000, rounds = 9
    _ = try await runnerRate(server: server, calls: 500, concurrency: concurrency)   // warm-up
    // Rounds alternate runner and raw client, and which goes first, so that a change in the
    // machine's speed (a shared VM) or the kernel writing back the runner's database touch both
    // sides of a ratio alike; the median round is the figure. Every run of the experiment sends
    // the same bodies (same seed, same replies), so the raw client replays the first run's.
    var rates: [(runner: Double, raw: Double)] = [], cpu: [(runner: Double, raw: Double)] = []
    var bodies: [Data] = []
    for round in 0..<rounds {
        func runnerPhase() async throws -> (rate: Double, cpu: Double) {
            let cpuBefore = processCPU()
            let full = try await runnerRate(server: server, calls: calls, concurrency: concurrency)
            let used = processCPU() - cpuBefore
            if bodies.isEmpty { bodies = server.requests.suffix(full.calls).map(\.body) }
            server.clearRequests()
            return (Double(full.calls) / full.seconds, used / Double(full.calls) * 1e6)
        }
        func rawPhase() async throws -> (rate: Double, cpu: Double) {
            if ProcessInfo.processInfo.environment["HVAE_BENCH_TIMING"] != nil {
                var now = timespec()
                clock_gettime(CLOCK_MONOTONIC, &now)
                line(String(format: "   raw phase starts at monotonic %.6f", Double(now.tv_sec) + Double(now.tv_nsec) / 1e9))
            }
            let cpuBefore = processCPU()
            let raw = try await rawRate(server: server, bodies: bodies, concurrency: concurrency)
            let used = processCPU() - cpuBefore
            server.clearRequests()
            return (Double(raw.calls) / raw.seconds, used / Double(raw.calls) * 1e6)
        }
        let runner: (rate: Double, cpu: Double), raw: (rate: Double, cpu: Double)
        if round % 2 == 0 || bodies.isEmpty {
            runner = try await runnerPhase()
            raw = try await rawPhase()
        } else {
            raw = try await rawPhase()
            runner = try await runnerPhase()
        }
        rates.append((runner.rate, raw.rate))
        cpu.append((runner.cpu, raw.cpu))
    }
    let order = rates.indices.sorted { rates[$0].runner / rates[$0].raw < rates[$1].runner / rates[$1].raw }
    let median = order[rounds / 2]
    line(String(format: "1. runner overhead (zero-latency server, concurrency %d, %d rounds of %d calls): ratio %.2f (target >= 0.80); rounds: %@",
                concurrency, rounds, calls, rates[median].runner / rates[median].raw,
                rates.map { String(format: "%.2f (%.0f / %.0f calls/s)", $0.runner / $0.raw, $0.runner, $0.raw) }.joined(separator: ", ")))
    line(String(format: "   CPU per call (client, server and runner, all threads), raw / runner: %@",
                cpu.map { String(format: "%.2f (%.0f / %.0f us)", $0.raw / $0.runner, $0.raw, $0.runner) }.joined(separator: ", ")))
    server.stop()
}

// 2. Concurrency against a slow server: 100 ms per call, 64 at once, about 2,000 calls.
// The study's protocol (8 calls a trial) and 256 trials: four full rounds of 64 trials. A trial's
// calls are sequential, so a trial count that is not a multiple of 64 leaves a last round with
// fewer trials in flight whatever the runner does (2,016 calls of 6-call trials = 336 trials:
// the last 16 run alone, which caps the ratio at 0.875).
func benchmarkConcurrency() async throws {
    let server = try ModelAPIServer(api: .openai, keepLog: false) { _, _ in .slow("E", seconds: 0.1) }
    let result = try await runnerRate(server: server, calls: 2_048, concurrency: 64, design: .study)
    let ideal = 64 / 0.1
    let achieved = Double(result.calls) / result.seconds
    // The client alone, for reference: the same number of requests, 64 at once.
    let body = try JSONEncoder().encode(["model": "bench"])
    let raw = try await rawRate(server: server, bodies: Array(repeating: body, count: result.calls), concurrency: 64)
    line(String(format: "2. concurrency (100 ms server, 64 in flight, %d calls): %.0f calls/s of an ideal %.0f: ratio %.2f (target >= 0.90); the bare client reaches %.0f (%.2f)",
                result.calls, achieved, ideal, achieved / ideal, Double(raw.calls) / raw.seconds, Double(raw.calls) / raw.seconds / ideal))
    server.stop()
}

// 3. Peak memory: a 20,000-call run against a 2,000-call run, each in its own process.
func benchmarkMemory() async throws {
    func measure(_ calls: Int) throws -> (calls: Int, mib: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["memory", String(calls)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let fields = (output.split(separator: "\n").last ?? "").split(separator: " ")
        return (Int(fields[0]) ?? 0, Double(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }
    let small = try measure(2_000)
    let large = try measure(20_000)
    line(String(format: "3. peak memory: %d calls %.1f MiB, %d calls %.1f MiB: ratio %.2f for %.0fx the calls (flat is about 1)",
                small.calls, small.mib, large.calls, large.mib, large.mib / small.mib, Double(large.calls) / Double(small.calls)))
}

// `hvae-bench overhead|concurrency|memory-ratio` runs one benchmark; no argument runs all three.
switch arguments.first {
case "overhead": header(); try await benchmarkOverhead()
case "concurrency": header(); try await benchmarkConcurrency()
case "memory-ratio": header(); try await benchmarkMemory()
case nil:
    header()
    try await benchmarkOverhead()
    try await benchmarkConcurrency()
    try await benchmarkMemory()
default:
    FileHandle.standardError.write(Data("hvae-bench: unknown mode '\(arguments.first!)'; use overhead, concurrency, memory-ratio, memory N, scale [N], export-memory, report PATH, store [TRIALS [CONCURRENCY]] or phase runner|raw [CALLS]\n".utf8))
    exit(64)
}
