import Analysis
import ArgumentParser
import Foundation
import Store

struct PlotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw figures as SVG.",
        subcommands: [RadarCommand.self, RingCommand.self]
    )
}

/// The options every figure takes.
struct FigureOptions: ParsableArguments {
    @Option(name: .customLong("model"), help: ArgumentHelp("Only this model; repeat for several.", valueName: "name"))
    var models: [String] = []

    @Option(help: ArgumentHelp("The figure's title.", valueName: "text"))
    var title: String?

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write the SVG to this file instead of standard output.", valueName: "file"))
    var output: String?
}

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

    @Option(name: .customLong("compare-paper"), help: ArgumentHelp("Overlay the study's published values for this model.", valueName: "name"))
    var paperModel: String?

    @OptionGroup var figure: FigureOptions

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        try await reportingErrors {
            let (store, runIDs) = try await selection.open(database)
            let report = try await Report.build(store: store, filter: ReportFilter(runIDs: runIDs, models: figure.models),
                                                options: ReportOptions(resamples: 1))
            guard !report.cells.isEmpty else { throw UserFacingError(message: "no trials to plot in run(s) \(runIDs.map(String.init).joined(separator: ", "))") }
            try write(try RadarChart.svg(report, compareWith: paperModel, title: figure.title), to: figure.output)
        }
    }
}

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
            let points = try await Report.trialAngles(store: store, filter: ReportFilter(runIDs: runIDs, models: figure.models))
            guard !points.isEmpty else { throw UserFacingError(message: "no complete trials to plot in run(s) \(runIDs.map(String.init).joined(separator: ", "))") }
            try write(RingChart.svg(points, title: figure.title), to: figure.output)
        }
    }
}
