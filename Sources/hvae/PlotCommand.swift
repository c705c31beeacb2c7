import Analysis
import ArgumentParser
import Foundation
import Store

struct PlotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw figures as SVG.",
        subcommands: [RadarCommand.self, RingCommand.self, SteerCommand.self]
    )
}

/// The options every figure takes.
struct FigureOptions: ParsableArguments {
    @Option(name: .customLong("model"), help: ArgumentHelp("Only this model; repeat for several.", valueName: "name"))
    var models: [String] = []

    @Option(help: ArgumentHelp("The figure's title.", valueName: "text"))
    var title: String?

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp("Write the SVG to this file instead of standard output.", valueName: "file"))
    var output: String?
}
