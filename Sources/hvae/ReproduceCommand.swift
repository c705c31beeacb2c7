import Analysis
import ArgumentParser
import Design
import Foundation
import Runner
import Store

struct ReproduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Run a stored experiment again, linked to the original, and compare the two cell by cell.",
        discussion: """
            Creates a new run from the experiment stored in RUN (not from any file, which may have \
            changed), with the same seed, linked to RUN (`reproduces_run_id`). Without --replay it \
            calls the models again: the comparison that follows (mean VR, θ and hit rate per model, \
            value and goal, and the difference with a bootstrap CI) makes model drift visible. With \
            --replay every call is served from RUN's stored replies and no model is called: the \
            metrics come out identical, which checks that a stored run still scores the same.

            Examples:
              hvae reproduce 3 --replay
              OPENAI_API_KEY=... hvae reproduce 3 --format markdown
            """
    )

    @Argument(help: ArgumentHelp("The run to reproduce (see `hvae runs`).", valueName: "run"))
    var runID: Int64

    @Flag(help: "Serve every call from the original's stored replies; call no model.")
    var replay = false

    @Option(help: ArgumentHelp("Format of the comparison: table, csv, markdown, latex, json.", valueName: "format"))
    var format: ReportFormat = .table

    @Flag(name: .long, help: "Print no progress.")
    var quiet = false

    @OptionGroup var level: ConfidenceOption

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        Interruption.install()
        try await reportingErrors {
            try requireIntactBeforeWriting(database.path)
            let store = try ExperimentStore(path: database.path, create: false)
            let runner = ExperimentRunner(store: store)
            let original = try await store.run(runID)
            let experiment = try Experiment(storedIn: original)
            let (run, outcome) = try await withNetwork(concurrency: experiment.concurrency) { transport in
                let providers =
                    replay
                    ? ReplayProvider.load(store: store, runID: runID, models: experiment.models.map(\.name))
                    : try ProviderFactory.makeAll(experiment, transport: transport)
                try Interruption.shared.stopIfSignalled()
                let run = try await runner.createRun(experiment, reproducing: runID, replay: replay)
                announce(
                    "run \(run.id!): reproducing run \(runID) (\(experiment.name))"
                        + (replay ? " from its stored replies" : "")
                )
                let outcome = try await RunSession(
                    store: store, runner: runner, runID: run.id!, experiment: experiment,
                    providers: providers, quiet: quiet, databasePath: database.path,
                    printsReport: false
                ).execute()
                return (run, outcome)
            }
            print("")
            let comparison = try await ReproductionComparison.build(
                store: store, original: runID, reproduction: run.id!, confidence: level.confidence)
            print(comparison.render(as: format), terminator: "")
            try RunSession.exitIfTrialsFailed(outcome)
        }
    }
}
