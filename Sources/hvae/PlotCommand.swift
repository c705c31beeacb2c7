import Analysis
import ArgumentParser
import Foundation
import SVO
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

    @Option(
        help: ArgumentHelp(
            "Only this instrument's trials (slider, ring, ...); needed when the runs hold several, whose angles "
                + "are never drawn together.", valueName: "name"))
    var instrument: String?

    @Option(help: ArgumentHelp("The figure's title.", valueName: "text"))
    var title: String?

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp("Write the SVG to this file instead of standard output.", valueName: "file"))
    var output: String?

    /// The trials a figure draws: the chosen runs' (and models'), of one instrument.
    func trials(_ store: ExperimentStore, runIDs: [Int64]) async throws -> [TrialResult] {
        if let instrument, Instruments.named(instrument) == nil {
            throw UserFacingError(
                message:
                    "--instrument: unknown instrument '\(instrument)'; use \(Instruments.names.joined(separator: ", "))"
            )
        }
        let trials = try await store.trialResults(TrialFilter(runIDs: runIDs, models: models))
        if let instrument { return trials.filter { $0.key.instrument == instrument } }
        let held = Instruments.names.filter { name in trials.contains { $0.key.instrument == name } }
        guard held.count <= 1 else {
            throw UserFacingError(
                message:
                    "run(s) \(runIDs.map(String.init).joined(separator: ", ")) hold the instruments "
                    + "\(held.joined(separator: ", ")), whose angles are not drawn together; "
                    + "choose one with --instrument NAME"
            )
        }
        return trials
    }
}
