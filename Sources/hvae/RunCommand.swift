import Analysis
import ArgumentParser
import Dispatch
import Foundation
import Runner
import Store
import Synchronization

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an experiment file and print its VR table.",
        discussion: """
            Reads the experiment (YAML), records a new run with all its trials, runs them against the \
            models it lists, and stores every call as it completes. Prints the run id first, progress on \
            stderr while it works, then mean VR per model, value and goal.

            The file and the API keys are checked before anything is written: an unknown key, a wrong \
            type, an impossible value or a missing key stops the command with a one-line message, and \
            the database is not touched. Keys are read from the environment only (api_key_env) and never \
            stored.

            Ctrl-C (or SIGTERM, as a batch scheduler sends at its time limit) cancels the calls in \
            flight, marks the run interrupted and prints the command that resumes it; every completed \
            call is kept.

            Exit status: 0 when every trial ran (complete, or incomplete because replies stayed \
            unreadable); 1 when trials failed (API errors after every retry: the reasons are printed, \
            and `hvae resume RUN` tries them again); 130 after Ctrl-C, 143 after SIGTERM.

            Examples:
              hvae run examples/quickstart.yaml
              hvae run my-study.yaml --db results/study.sqlite
              OPENAI_API_KEY=... hvae run my-study.yaml --quiet
              hvae run my-study.yaml --resume        continue it after Ctrl-C or a crash
              hvae run my-study.yaml --shard 2/4 --db part2.sqlite   one machine's quarter
            """
    )

    @Argument(help: ArgumentHelp("The experiment file (YAML). See examples/quickstart.yaml.", valueName: "file"))
    var file: String

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print no progress.")
    var quiet = false

    @Flag(help: "Reuse the stored reply of an identical earlier request instead of calling the model (as `cache: true`).")
    var cache = false

    @Option(help: ArgumentHelp(
        "Run only slice i of n of the experiment's trials (for example 1/4), to spread a study over machines.",
        discussion: "Slices are disjoint and keep every trial's seed; `hvae merge` joins their databases into one run.",
        valueName: "i/n"))
    var shard: String?

    @Flag(name: .long, help: ArgumentHelp(
        "Continue the newest unfinished run of this same experiment instead of starting a new one.",
        discussion: "Without it, every `hvae run` starts a new run, so results never mix silently."))
    var resume = false

    /// The parsed --shard, validated.
    var slice: (index: Int, count: Int)? {
        get throws {
            guard let shard else { return nil }
            let parts = shard.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else {
                throw ValidationError("--shard: expected i/n with 1 ≤ i ≤ n, for example 1/4; found '\(shard)'")
            }
            return (parts[0], parts[1])
        }
    }

    func validate() throws { _ = try slice }

    func run() async throws {
        try await reportingErrors {
            let slice = try self.slice
            var experiment = try ExperimentFile.load(path: file)
            if cache { experiment.cache = true }
            let transport = URLSessionTransport(maxConnectionsPerHost: max(64, experiment.concurrency))
            let providers = try ProviderFactory.makeAll(experiment, transport: transport)
            let store = try ExperimentStore(path: database.path)
            let runner = ExperimentRunner(store: store)
            if resume {
                let digest = SHA256.hex(experiment.canonicalJSON)
                let shardName = slice.map { "\($0.index)/\($0.count)" }
                if let unfinished = try await store.runs().first(where: {
                    $0.experimentSha256 == digest && $0.status != .finished && $0.shard == shardName
                }) {
                    // Refused here, before anything is printed, if another process is running it.
                    try await store.claimRun(unfinished.id!, for: .current)
                    print("run \(unfinished.id!): resuming \(experiment.name)")
                    try RunSession.exitIfTrialsFailed(await RunSession(
                        store: store, runner: runner, runID: unfinished.id!, experiment: experiment,
                        providers: providers, quiet: quiet, databasePath: database.path).execute())
                    return
                }
                print("no unfinished run of this experiment; starting a new one")
            }
            let run = try await runner.createRun(experiment, shard: slice)
            let count = slice.map { experiment.plannedTrials(shard: $0.index, of: $0.count).count } ?? experiment.plannedTrials.count
            print("run \(run.id!): \(experiment.name)\(run.shard.map { ", shard \($0)" } ?? ""), \(count) trials on \(experiment.models.count) model(s), database \(database.path)")
            try RunSession.exitIfTrialsFailed(await RunSession(
                store: store, runner: runner, runID: run.id!, experiment: experiment,
                providers: providers, quiet: quiet, databasePath: database.path).execute())
        }
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue an interrupted run where it stopped.",
        discussion: """
            Runs the trials of the run that are not finished, with the experiment stored in the run (not \
            the file, which may have changed since). Finished trials are skipped; a trial that was cut \
            off continues from its stored conversation, so no completed call is made again. Trials that \
            failed (an API error after every retry) are tried again from where they failed.

            Examples:
              hvae resume 3
              hvae resume 3 --db results/study.sqlite
            """
    )

    @Argument(help: ArgumentHelp("The run id (see `hvae runs`).", valueName: "run"))
    var runID: Int64

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print no progress.")
    var quiet = false

    func run() async throws {
        try await reportingErrors {
            let store = try ExperimentStore(path: database.path, create: false)
            let runner = ExperimentRunner(store: store)
            let run = try await store.run(runID)
            let experiment = try runner.experiment(of: run)
            let counts = try await store.trialStatusCounts(runID: runID)
            let left = (counts[.pending] ?? 0) + (counts[.running] ?? 0) + (counts[.failed] ?? 0)
            guard left > 0 else {
                print("run \(runID) has no unfinished trials; nothing to resume")
                if run.status != .finished { try await store.setRunStatus(runID, .finished) }
                return
            }
            let transport = URLSessionTransport(maxConnectionsPerHost: max(64, experiment.concurrency))
            let providers = try ProviderFactory.makeAll(experiment, transport: transport)
            try await store.claimRun(runID, for: .current)
            print("run \(runID): resuming \(experiment.name), \(left) unfinished trial(s)")
            try RunSession.exitIfTrialsFailed(await RunSession(
                store: store, runner: runner, runID: runID, experiment: experiment,
                providers: providers, quiet: quiet, databasePath: database.path).execute())
        }
    }
}

/// Executes a run in the foreground: progress, Ctrl-C, and the closing summary.
struct RunSession {
    let store: ExperimentStore
    let runner: ExperimentRunner
    let runID: Int64
    let experiment: Experiment
    let providers: [String: any ChatProvider]
    let quiet: Bool
    let databasePath: String
    var printsReport = true

    /// Runs the trials and prints the outcome (and the VR table unless `printsReport` is false).
    /// A run whose trials failed prints why and ends with exit status 1 (`exitIfTrialsFailed`),
    /// so that scripts notice.
    @discardableResult
    func execute() async throws -> RunOutcome {
        let referenceModels = experiment.models.filter { $0.provider.kind == "reference" }.map(\.name)
        if !referenceModels.isEmpty {
            print("reference agents (simulated, not language models): \(referenceModels.joined(separator: ", "))")
        }
        let reporter = ProgressReporter(mode: quiet ? .silent : (isatty(STDERR_FILENO) == 1 ? .terminal : .lines))
        let (runner, runID, experiment, providers) = (self.runner, self.runID, self.experiment, self.providers)
        let work = Task {
            try await runner.execute(runID: runID, experiment: experiment, providers: providers) { reporter.update($0) }
        }
        // Ctrl-C (SIGINT), or SIGTERM as batch schedulers send before they kill a job, cancels the
        // run: calls in flight are cancelled, queued writes committed, the run marked interrupted.
        // A second signal exits at once.
        let received = Mutex<[Int32]>([])
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let count = received.withLock { $0.append(number); return $0.count }
                if count > 1 { exit(128 + number) }
                work.cancel()
            }
            source.resume()
            return source
        }
        defer { for source in sources { source.cancel() } }

        let outcome: RunOutcome
        do {
            outcome = try await work.value
        } catch is CancellationError {
            reporter.finish()
            let number = received.withLock { $0.first } ?? SIGINT
            printError("\(number == SIGTERM ? "terminated" : "interrupted"): run \(runID) stopped; every completed call is kept. Resume it with: hvae resume \(runID)\(dbHint)")
            throw ExitCode(128 + number)
        }
        reporter.finish()
        let p = outcome.progress
        print("\(outcome.status == .finished ? "finished" : "stopped"): \(p.complete) complete, \(p.incomplete) incomplete, \(p.failed) failed; \(p.calls) model calls\(p.cacheHits > 0 ? " (\(p.cacheHits) from the cache)" : "")")
        for reason in outcome.stopReasons { print("  \(reason)") }
        if p.failed > 0 {
            for line in try await failureLines(store: store, runID: runID) { print("  \(line)") }
        }
        let left = [p.failed > 0 ? "failed" : nil, outcome.status != .finished ? "unfinished" : nil].compactMap { $0 }
        if !left.isEmpty {
            print("run \(runID) has \(left.joined(separator: " and ")) trials; continue it, from where each stopped, with: hvae resume \(runID)\(dbHint)")
        }
        guard printsReport else { return outcome }
        print("")
        let report = try await Report.build(store: store, filter: ReportFilter(runIDs: [runID]))
        print(try ReportRenderer.render(report, as: .table), terminator: "")
        return outcome
    }

    /// Exit status 1 when trials failed (their reasons were printed); the run itself is kept.
    static func exitIfTrialsFailed(_ outcome: RunOutcome) throws {
        if outcome.progress.failed > 0 { throw ExitCode(1) }
    }

    private var dbHint: String { databasePath == "hvae.sqlite" ? "" : " --db \(databasePath)" }
}

/// Progress on stderr: a bar redrawn in place on a terminal, a plain line every 10 s otherwise.
final class ProgressReporter: Sendable {
    enum Mode { case terminal, lines, silent }
    let mode: Mode
    private let lastDraw = Mutex<ContinuousClock.Instant?>(nil)

    init(mode: Mode) { self.mode = mode }

    func update(_ progress: RunProgress) {
        guard mode != .silent, progress.totalTrials > 0 else { return }
        let interval: Duration = mode == .terminal ? .milliseconds(100) : .seconds(10)
        let now = ContinuousClock.now
        let due = lastDraw.withLock { last -> Bool in
            if let previous = last, now - previous < interval, progress.finishedTrials < progress.totalTrials { return false }
            last = now
            return true
        }
        guard due else { return }
        let text = Self.describe(progress)
        if mode == .terminal {
            let width = 24
            let filled = width * progress.finishedTrials / progress.totalTrials
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            printError("\r\u{1B}[K[\(bar)] \(text)", terminator: "")
        } else {
            printError("progress: \(text)")
        }
    }

    func finish() {
        if mode == .terminal { printError("") }
    }

    static func describe(_ p: RunProgress) -> String {
        let elapsed = Date().timeIntervalSince(p.startedAt)
        var parts = ["\(p.finishedTrials)/\(p.totalTrials) trials", "\(p.calls) calls"]
        if p.retries > 0 { parts.append("\(p.retries) retries") }
        if p.errors > 0 { parts.append("\(p.errors) errors") }
        if p.inputTokens + p.outputTokens > 0 { parts.append("\(p.inputTokens + p.outputTokens) tokens") }
        if p.cost > 0 { parts.append(String(format: "$%.4f", p.cost)) }
        if p.cacheHits > 0 { parts.append("\(p.cacheHits) cached") }
        parts.append("\(clock(elapsed)) elapsed")
        if p.finishedTrials > 0, p.finishedTrials < p.totalTrials {
            let remaining = elapsed / Double(p.finishedTrials) * Double(p.totalTrials - p.finishedTrials)
            parts.append("ETA \(clock(remaining))")
        }
        return parts.joined(separator: ", ")
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
