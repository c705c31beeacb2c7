import Analysis
import Domain
import Foundation
import Runner
import SVO
import Store
import Synchronization

/// The scale benchmarks on a database of about `calls` calls (`ScaleDatabase`): the whole
/// `hvae report` command (target under 1 s on a million calls), where its time goes, a rescore
/// of every reply with a new parser version (target 30 s), and an export's memory.
func benchmarkScale(calls: Int) async throws {
    // HVAE_BENCH_DB keeps the database at that path, to query it with sqlite3.
    let kept = ProcessInfo.processInfo.environment["HVAE_BENCH_DB"]
    let path = kept ?? temporaryDatabase()
    defer { if kept == nil { removeDatabase(path) } }
    removeDatabase(path)
    let made = ContinuousClock.now
    let built = try await ScaleDatabase.build(path: path, calls: calls)
    line(
        String(
            format: "scale database: %d trials, %d calls, built in %.1f s (of which scoring %.1f s)",
            built.trials, built.calls, seconds(ContinuousClock.now - made), built.scoring))

    try await benchmarkReport(path: path)

    try await benchmarkRescore(path: path)
}

/// Every reply of the database at `path` read again by a parser version newer than any stored
/// one: answers and scores added (target: 30 s for a million calls). It writes to the database.
func benchmarkRescore(path: String) async throws {
    let writer = try ExperimentStore(path: path)
    let newest =
        try await writer.trialResults(TrialFilter(runIDs: [1])).compactMap(\.parserVersion).max()
        ?? AnswerParser.version
    let start = ContinuousClock.now
    let outcome = try await Rescorer(store: writer, parserVersion: newest + 1).rescore(runIDs: [1], dryRun: false)
    line(
        String(
            format:
                """
                rescore of %d replies (a new parser version: %d answers and %d trials' scores added): %.1f s (target \
                30 s)
                """,
            outcome.callsRead, outcome.answersAdded, outcome.trialsScored, seconds(ContinuousClock.now - start)))
}

/// The whole `hvae report` command on the database at `path` (target under 1 s on a million
/// calls), and where its time goes, in this process.
func benchmarkReport(path: String) async throws {
    var wall: [Double] = []
    for _ in 0..<3 {
        let result = try runProgram("hvae", ["report", "--db", path])
        guard result.status == 0 else { throw CocoaError(.executableLoad) }
        wall.append(result.seconds)
    }
    line(
        String(
            format:
                "hvae report (the whole command, 10000 bootstrap resamples): median %.2f s of 3 (%@) (target < 1 s)",
            median(wall), wall.map { String(format: "%.2f", $0) }.joined(separator: ", ")))
    let store = try ExperimentStore.openForReading(path: path)
    let fetchStart = ContinuousClock.now
    let trials = try await store.trialResults(TrialFilter(runIDs: [1]))
    let fetch = seconds(ContinuousClock.now - fetchStart)
    for resamples in [1, 10_000] {
        let start = ContinuousClock.now
        let report = Report.build(
            trials, filter: TrialFilter(runIDs: [1]), options: ReportOptions(resamples: resamples))
        line(
            String(
                format: "   reading %d trial_results rows: %.2f s; aggregating %d cells with %d resamples: %.2f s",
                trials.count, fetch, report.cells.count, resamples, seconds(ContinuousClock.now - start)))
    }
}

/// Peak memory of exporting every trial of a database ten times the size of another, each
/// export in its own process.
func benchmarkExportMemory() async throws {
    func child(_ path: String) throws -> (rows: Int, mib: Double) {
        let fields = try runProgram(nil, ["export-child", path]).output.split(separator: " ")
        return (Int(fields[0]) ?? 0, Double(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }
    let small = temporaryDatabase()
    let large = temporaryDatabase()
    defer {
        removeDatabase(small)
        removeDatabase(large)
    }
    _ = try await ScaleDatabase.build(path: small, calls: 100_000)
    _ = try await ScaleDatabase.build(path: large, calls: 1_000_000)
    let a = try child(small)
    let b = try child(large)
    line(
        String(
            format:
                """
                export of all trials, each in its own process: %d rows %.1f MiB, %d rows %.1f MiB: ratio %.2f for \
                %.0fx the rows
                """,
            a.rows, a.mib, b.rows, b.mib, b.mib / a.mib, Double(b.rows) / Double(a.rows)))
}

/// Child of `benchmarkExportMemory`: exports every trial to /dev/null; prints rows and peak RSS.
func exportChild(path: String) throws {
    let store = try ExperimentStore.openForReading(path: path)
    let handle = FileHandle(forWritingAtPath: "/dev/null")!
    let rows = try Exporter.export(.trials, runIDs: [1], format: .csv, store: store, to: handle)
    line("\(rows) \(String(format: "%.1f", peakRSS()))")
}

/// The parser on a reply of about 100 KB (target: under 10 ms), against a baseline measured in the
/// same run: lower-casing the same text, one linear pass over it.
func benchmarkParser() {
    let shown = OptionOrder.original.layout(of: SliderItem.number(3)!, seed: 0).shownOptions
    let prose = String(
        repeating: "Thinking about fairness, what the other participant receives matters to me; ", count: 1_400)
    let replies = [prose + "I choose D.", prose + "Maybe D. Maybe E.", prose]
    var parse: [Double] = []
    var baseline: [Double] = []
    for _ in 0..<15 {
        for reply in replies {
            var start = ContinuousClock.now
            _ = AnswerParser.parse(reply, shown: shown)
            parse.append(seconds(ContinuousClock.now - start))
            start = ContinuousClock.now
            _ = reply.lowercased()
            baseline.append(seconds(ContinuousClock.now - start))
        }
    }
    line(
        String(
            format:
                """
                parser: a %d KB reply in %.2f ms (median of %d; target < 10 ms); %.1fx the time of lower-casing it \
                (%.2f ms)
                """,
            replies[0].utf8.count / 1024, median(parse) * 1000, parse.count, median(parse) / median(baseline),
            median(baseline) * 1000))
}

/// A run of `trials` trials per cell x 32 cells on reference agents: how long until its first
/// call, and its peak memory after a few seconds of running, each in its own process (the child
/// mode `plan-child`); the target: the first call within 5 s, memory flat in the number of trials.
func benchmarkPlan(trials: Int) throws {
    func child(_ trials: Int) throws -> (first: Double, mib: Double) {
        let fields = try runProgram(nil, ["plan-child", String(trials)]).output.split(separator: " ")
        return (Double(fields[0]) ?? .nan, Double(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan)
    }
    let small = try child(max(1, trials / 1_000))
    let large = try child(trials)
    line(
        String(
            format:
                """
                plan: %d trials x 32 cells: first call after %.2f s, peak %.1f MiB; %d x 32: %.2f s, %.1f MiB: memory \
                ratio %.2f (target: first call < 5 s, ratio about 1)
                """,
            trials, large.first, large.mib, max(1, trials / 1_000), small.first, small.mib, large.mib / small.mib))
}

/// Child of `benchmarkPlan`: starts the run, stops it 3 s after its first call; prints the time
/// to the first call and the peak RSS.
func planChild(trials: Int) async throws {
    let path = temporaryDatabase()
    defer { removeDatabase(path) }
    let experiment = try ExperimentFile.parse(
        yaml: """
            name: plan
            trials: \(trials)
            option_orders: [original, reversed]
            models:
              - name: a
                agent: noisy
              - name: b
                agent: random
            """)
    let start = ContinuousClock.now
    let store = try ExperimentStore(path: path)
    let runner = ExperimentRunner(store: store)
    let run = try await runner.createRun(experiment)
    let first = Mutex<Double?>(nil)
    let task = Task {
        try await runner.execute(
            runID: run.id!, experiment: experiment,
            providers: try ProviderFactory.makeAll(experiment, transport: NetworkTransport())
        ) { progress in
            if progress.calls >= 1 { first.withLock { $0 = $0 ?? seconds(ContinuousClock.now - start) } }
        }
    }
    while first.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
    try await Task.sleep(for: .seconds(3))
    task.cancel()
    _ = await task.result
    line(String(format: "%.3f %.1f", first.withLock { $0 } ?? .nan, peakRSS()))
}
