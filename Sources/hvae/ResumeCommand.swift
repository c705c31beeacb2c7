import Analysis
import ArgumentParser
import Design
import Foundation
import Runner
import Store

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
        Interruption.install()
        try await reportingErrors {
            try requireIntactBeforeWriting(database.path)
            let store = try ExperimentStore(path: database.path, create: false)
            let runner = ExperimentRunner(store: store)
            let run = try await store.run(runID)
            let experiment = try Experiment(storedIn: run)
            let counts = try await store.trialStatusCounts(runID: runID)
            let stored = counts.values.reduce(0, +)
            let left =
                (counts[.pending] ?? 0) + (counts[.running] ?? 0) + (counts[.failed] ?? 0)
                + max(0, (run.plannedTrials ?? stored) - stored)
            guard left > 0 else {
                print("run \(runID) has no unfinished trials; nothing to resume")
                if run.status != .finished { try await store.setRunStatus(runID, .finished) }
                return
            }
            try await withNetwork(concurrency: experiment.concurrency) { transport in
                let providers = try ProviderFactory.makeAll(experiment, transport: transport)
                try await store.claimRun(runID, for: .current)
                announce("run \(runID): resuming \(experiment.name), \(left) unfinished trial(s)")
                try RunSession.exitIfTrialsFailed(
                    await RunSession(
                        store: store, runner: runner, runID: runID, experiment: experiment,
                        providers: providers, quiet: quiet, databasePath: database.path
                    ).execute())
            }
        }
    }
}
