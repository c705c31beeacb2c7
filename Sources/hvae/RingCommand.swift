import Analysis
import ArgumentParser
import Foundation
import Store

struct RingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ring",
        abstract: "The SVO ring: every complete trial's angle, coloured by its assigned value, per model.",
        discussion: """
            Each panel shows the slider's range of angles with the four category wedges and their \
            boundaries (-12.04°, 22.45°, 57.15°), the ideal angle of each value as a coloured tick, and \
            one point per complete trial at its SVO angle. A model that pursues its values puts each \
            colour on its own tick; one that ignores them stacks all colours on one angle.

            Examples:
              hvae plot ring -o ring.svg
              hvae plot ring --all --model gpt-4o -o ring.svg
            """
    )

    @OptionGroup var selection: RunSelection

    @OptionGroup var figure: FigureOptions

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let (store, runIDs) = try await selection.open(database)
            let trials = try await figure.trials(store, runIDs: runIDs)
            let points = RingChart.points(trials)
            guard !points.isEmpty else { throw UserFacingError(message: Self.nothingToPlot(trials, runIDs: runIDs)) }
            try write(RingChart.svg(points, title: figure.title), to: figure.output)
        }
    }

    /// Why trials give a figure of named values nothing to plot: no complete trial, or trials
    /// told targets only (whose figure is `plot steer`).
    static func nothingToPlot(_ trials: [TrialResult], runIDs: [Int64]) -> String {
        let runs = runIDs.map(String.init).joined(separator: ", ")
        let targets = trials.filter { $0.key.value == nil && $0.status == .complete }.count
        guard targets == 0 else {
            return """
                the \(targets) complete trials of run(s) \(runs) were told targets (directions φ), not named values, \
                which this figure shows; `hvae plot steer` plots targets
                """
        }
        return "no complete trials to plot in run(s) \(runs)"
    }
}
