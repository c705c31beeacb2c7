import Analysis
import ArgumentParser
import Foundation
import Store

struct RadarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "radar",
        abstract: "The study's figure: one radar panel per model, mean VR on axes A, I, P, C (0 to 60).",
        discussion: """
            One polygon per goal condition (with goal, without goal). --compare-paper NAME overlays the \
            values the study published for its model NAME (dashed), read off its figure (data/paper-figure-vr.csv, \
            precision about ±2): ChatGPT, GPT-3.5, GPT-4, Claude, LLaMA-13B, Alpaca-13B, Vicuna-13B, Koala-13B.

            Examples:
              hvae plot radar -o radar.svg
              hvae plot radar --experiment my-study --compare-paper GPT-4 -o radar.svg
              rsvg-convert radar.svg -o radar.png        (librsvg2-bin) to get a PNG
            """
    )

    @OptionGroup var selection: RunSelection

    @Option(
        name: .customLong("compare-paper"),
        help: ArgumentHelp("Overlay the study's published values for this model.", valueName: "name"))
    var paperModel: String?

    @OptionGroup var figure: FigureOptions

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let (store, runIDs) = try await selection.open(database)
            let trials = try await figure.trials(store, runIDs: runIDs)
            // The radar's axes are the four named values: a trial told a target has no place on it.
            guard trials.contains(where: { $0.key.value != nil && $0.status == .complete }) else {
                throw UserFacingError(message: RingCommand.nothingToPlot(trials, runIDs: runIDs))
            }
            let report = Report.build(
                trials.filter { $0.key.value != nil }, filter: TrialFilter(runIDs: runIDs, models: figure.models),
                options: ReportOptions(resamples: 1))
            try write(try RadarChart.svg(report, compareWith: paperModel, title: figure.title), to: figure.output)
        }
    }
}
