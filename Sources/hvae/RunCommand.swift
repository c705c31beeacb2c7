import ArgumentParser
import Domain
import Foundation
import Runner
import Store

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

            hvae sends the protocol's messages and nothing else: with `persona: user` (the default) no \
            system message, unless a model's entry gives one (`system: "text"`, or `system: ""` for an \
            empty one). Without it a local server's chat template may insert its own default persona \
            ("You are Qwen, created by Alibaba Cloud..."); docs/providers.md, "The system message".

            Ctrl-C (or SIGTERM, as a batch scheduler sends at its time limit) cancels the calls in \
            flight, marks the run interrupted and prints the command that resumes it; every completed \
            call is kept.

            Exit status: 0 when every trial ran (complete, or incomplete because replies stayed \
            unreadable); 1 when trials failed or a model was stopped (API errors after every retry, a \
            bad key, a server that cannot be reached: the reasons are printed, the run is stored as \
            failed, and `hvae resume RUN` tries them again); 130 after Ctrl-C, 143 after SIGTERM.

            Examples:
              hvae run examples/quickstart.yaml
              hvae run my-study.yaml --db results/study.sqlite
              OPENAI_API_KEY=... hvae run my-study.yaml --quiet
              hvae run my-study.yaml --resume        continue it after Ctrl-C or a crash
              hvae run my-study.yaml --batch         half price, through batch APIs
              hvae run my-study.yaml --shard 2/4 --db part2.sqlite   one machine's quarter
              hvae run my-study.yaml --shard auto --shards 16 --db 'study-{shard}.sqlite'

            With --shard auto the slice comes from the scheduler: a Slurm job array's task \
            (SLURM_ARRAY_TASK_ID t runs slice t mod n + 1, so a task re-run alone runs its own slice) or \
            a Kubernetes Indexed Job's index (JOB_COMPLETION_INDEX). Both need n, the number of slices: \
            --shards N or HVAE_SHARDS (an array's own size cannot tell: a task re-run alone is an array of \
            one). {shard} and {shards} in --db become the slice's index and the count, so that each slice \
            writes a database of its own; docs/scale.md has a complete sbatch script and Job manifest.
            """
    )

    @Argument(help: ArgumentHelp("The experiment file (YAML). See examples/quickstart.yaml.", valueName: "file"))
    var file: String

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print no progress.")
    var quiet = false

    @Flag(
        help: "Reuse the stored reply of an identical earlier request instead of calling the model (as `cache: true`).")
    var cache = false

    @Option(
        help: ArgumentHelp(
            "Run only slice i of n of the experiment's trials (for example 1/4), or `auto` for the scheduler's.",
            discussion:
                "Slices are disjoint and keep every trial's seed; `hvae merge` joins their databases into one run.",
            valueName: "i/n|auto"))
    var shard: String?

    @Option(
        help: ArgumentHelp(
            "With --shard auto: the number of slices (the Slurm array's size; the Indexed Job's completions).",
            valueName: "n"))
    var shards: Int?

    @Flag(
        help: ArgumentHelp(
            "Send every API model's calls through its provider's batch API (as `batch: true` on each).",
            discussion: """
                Half the price; each round of calls may take up to 24 h. Ctrl-C or a kill leaves the batches \
                running at the provider: `hvae resume RUN` re-attaches to them. docs/providers.md, "Batch mode".
                """))
    var batch = false

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Continue the newest unfinished run of this same experiment instead of starting a new one.",
            discussion: "Without it, every `hvae run` starts a new run, so results never mix silently."))
    var resume = false

    /// The parsed --shard, validated; `auto` reads the scheduler's environment.
    var slice: (index: Int, count: Int)? {
        get throws {
            guard let shard else { return nil }
            if shard == "auto" {
                // Read when the command runs: a missing variable is the environment's fault, not the
                // arguments', and its message is one line (`SchedulerShard.Failure`).
                let slice = try SchedulerShard.resolve(environment: ProcessInfo.processInfo.environment, shards: shards)
                return (slice.index, slice.count)
            }
            let parts = shard.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else {
                throw ValidationError(
                    "--shard: expected i/n with 1 ≤ i ≤ n (for example 1/4) or auto; found '\(shard)'")
            }
            return (parts[0], parts[1])
        }
    }

    func validate() throws {
        if shard != "auto" { _ = try slice }
        if shards != nil && shard != "auto" { throw ValidationError("--shards goes with --shard auto") }
        if shard == nil && database.path.contains("{shard") {
            throw ValidationError(
                "--db \(database.path) names {shard}, which only a sharded run fills in; add --shard i/n or auto")
        }
    }

    /// The database: --db with {shard} and {shards} filled in for a slice.
    func databasePath(_ slice: (index: Int, count: Int)?) -> String {
        guard let slice else { return database.path }
        return SchedulerShard.databasePath(database.path, index: slice.index, count: slice.count)
    }

    func run() async throws {
        Interruption.install()
        try await reportingErrors {
            let slice = try self.slice
            var experiment = try ExperimentFile.load(path: file)
            if cache { experiment.cache = true }
            if batch { try experiment.sendThroughBatchAPIs() }
            try await withNetwork(concurrency: experiment.concurrency) { transport in
                let providers = try ProviderFactory.makeAll(experiment, transport: transport)
                let path = databasePath(slice)
                try requireIntactBeforeWriting(path)
                let store = try ExperimentStore(path: path)
                let runner = ExperimentRunner(store: store)
                if resume {
                    let digest = Digest.sha256Hex(experiment.canonicalJSON)
                    let shardName = slice.map { "\($0.index)/\($0.count)" }
                    if let unfinished = try await store.runs().first(where: {
                        $0.experimentSHA256 == digest && $0.status != .finished && $0.shard == shardName
                    }) {
                        // Refused here, before anything is printed, if another process is running it.
                        try await store.claimRun(unfinished.id!, for: .current)
                        announce("run \(unfinished.id!): resuming \(experiment.name)")
                        try RunSession.exitIfTrialsFailed(
                            await RunSession(
                                store: store, runner: runner, runID: unfinished.id!, experiment: experiment,
                                providers: providers, quiet: quiet, databasePath: path
                            ).execute())
                        return
                    }
                    print("no unfinished run of this experiment; starting a new one")
                }
                try Interruption.shared.stopIfSignalled()
                let run = try await runner.createRun(experiment, shard: slice)
                let count = run.plannedTrials ?? 0
                announce(
                    """
                    run \(run.id!): \(experiment.name)\(run.shard.map { ", shard \($0)" } ?? ""), \(count) trials on \
                    \(experiment.models.count) model(s), database \(path)
                    """
                )
                try RunSession.exitIfTrialsFailed(
                    await RunSession(
                        store: store, runner: runner, runID: run.id!, experiment: experiment,
                        providers: providers, quiet: quiet, databasePath: path
                    ).execute())
            }
        }
    }
}
