import Analysis
import ArgumentParser
import Foundation
import Runner
import Store

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an experiment file and print its VR table.",
        discussion: """
            Reads the experiment (YAML), records a new run with all its trials, runs them against the \
            models it lists, and stores every call as it completes. Prints the run id first, a \
            progress bar on stderr while it works (when stderr is a terminal), then mean VR per \
            model, value and goal.

            The file is checked before anything is written: an unknown key, a wrong type or an \
            impossible value stops the command with the key and line, and the database is not touched.

            Examples:
              hvae run examples/quickstart.yaml
              hvae run my-study.yaml --db results/study.sqlite
              HVAE_DB=study.sqlite hvae run my-study.yaml --quiet
            """
    )

    @Argument(help: ArgumentHelp("The experiment file (YAML). See examples/quickstart.yaml.", valueName: "file"))
    var file: String

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print no progress bar.")
    var quiet = false

    func run() async throws {
        try await reportingErrors {
            let experiment = try ExperimentFile.load(path: file)
            let store = try ExperimentStore(path: database.path)
            let runner = ExperimentRunner(store: store)
            let run = try await runner.createRun(experiment)
            let runID = run.id!
            print("run \(runID): \(experiment.name), \(experiment.plannedTrials.count) trials on \(experiment.models.count) model(s), database \(database.path)")
            let referenceModels = experiment.models.filter { $0.provider.kind == "reference" }.map(\.name)
            if !referenceModels.isEmpty {
                print("reference agents (simulated, not language models): \(referenceModels.joined(separator: ", "))")
            }
            let bar = ProgressBar(enabled: !quiet && isatty(STDERR_FILENO) == 1)
            let outcome = try await runner.execute(runID: runID, experiment: experiment) { bar.update($0) }
            bar.finish()
            print("finished: \(outcome.complete) complete, \(outcome.incomplete) incomplete, \(outcome.failed) failed; \(outcome.calls) model calls")
            print("")
            let report = try await VRReport.build(store: store, runIDs: [runID])
            print(ReportRenderer.render(report, as: .table), terminator: "")
        }
    }
}

/// A one-line progress bar on stderr, redrawn in place.
final class ProgressBar: Sendable {
    let enabled: Bool
    init(enabled: Bool) { self.enabled = enabled }

    func update(_ progress: RunProgress) {
        guard enabled, progress.totalTrials > 0 else { return }
        let width = 30
        let filled = width * progress.finishedTrials / progress.totalTrials
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        printError("\r[\(bar)] \(progress.finishedTrials)/\(progress.totalTrials) trials, \(progress.calls) calls", terminator: "")
    }

    func finish() {
        if enabled { printError("") }
    }
}
