import Analysis
import ArgumentParser
import Design
import Foundation
import Runner
import Store

struct SteerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Steerability: each target's mean angle against its ideal angle, per model.",
        discussion: """
            One series per model (and goal condition, dashed without goal): each target's (or \
            value's) mean angle over its complete trials against the target's ideal angle θ*, with \
            a bootstrap interval as a bar (95% unless --confidence says otherwise). The dashed \
            diagonal is a model that hits every θ*; a flat series is one that does not move \
            whatever it is told. The legend gives each series' least-squares slope (`hvae report \
            --steerability` gives the whole fit). A `random` reference agent is drawn in grey as the \
            baseline: random answers sit near 20° whatever the target, which a model must do better \
            than.

            Examples:
              hvae run examples/steerability.yaml && hvae plot steer -o steer.svg
              hvae plot steer --all --model ideal -o steer.svg
            """
    )

    @OptionGroup var selection: RunSelection

    @OptionGroup var figure: FigureOptions

    @Option(help: ArgumentHelp("Bootstrap resamples for the intervals.", valueName: "n"))
    var resamples = 10_000

    @OptionGroup var level: ConfidenceOption

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let (store, runIDs) = try await selection.open(database)
            let trials = try await figure.trials(store, runIDs: runIDs)
            guard let steerability = Steerability.build(trials, resamples: resamples, confidence: level.confidence),
                steerability.points.contains(where: { $0.meanAngle != nil })
            else {
                throw UserFacingError(
                    message: "no complete trials to plot in run(s) \(runIDs.map(String.init).joined(separator: ", "))")
            }
            let baselines = Experiment.randomBaselines(of: try await store.runs().filter { runIDs.contains($0.id!) })
            try write(SteerChart.svg(steerability, title: figure.title, baselines: baselines), to: figure.output)
        }
    }
}
