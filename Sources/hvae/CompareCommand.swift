import Analysis
import ArgumentParser
import Domain
import Foundation
import SVO
import Store

struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two models, runs, goal conditions, option orders or placements, value by value.",
        discussion: """
            For each assigned value: mean VR of A and of B over their complete trials, the difference \
            A − B with a percentile bootstrap interval (95% unless --confidence says otherwise), and a \
            two-sided p-value, Holm-corrected across the values. Seeded: the same data and seed give \
            the same numbers.

            Trials that are the same draw but for the compared dimension (runs of one seed, one cell \
            and replicate: a run and its replay, two placements or variants of one run) are compared \
            as pairs: the mean of the per-pair differences, a bootstrap of them and a sign-flip test; \
            the pairs column says how many. Where not every trial has its partner, the two groups are \
            compared as independent samples (each resampled on its own, a permutation test), and \
            stderr says so. Below 5 trials (pairs) a side shows its mean and n and no interval (†).

            Trials of the other dimensions are pooled, and stderr names them; narrow them with the \
            filters. Runs that repeat another run's draws (a replay) are left out unless \
            --include-repeats, as in `hvae report`; `compare run` compares the two runs it names.

            Examples:
              hvae compare model gpt-4o claude-3-5-sonnet --all
              hvae compare goal with without --model gpt-4o
              hvae compare option_order original reversed --format markdown
              hvae compare placement user system --experiment placement
              hvae compare variant default zh
              hvae compare instrument slider slider-parallel
              hvae compare run 3 7 --format json
            """
    )

    /// What two groups of trials can differ in. Not `value`: the comparison is made value by value.
    enum Dimension: String, CaseIterable, ExpressibleByArgument {
        case model, run, goal, option_order, placement, variant, instrument
        var reportDimension: ReportDimension { ReportDimension(rawValue: rawValue)! }
    }

    @Argument(help: ArgumentHelp("What differs between A and B.", valueName: "dimension"))
    var dimension: Dimension

    @Argument(help: ArgumentHelp("The first level (for example a model name, a run id, with).", valueName: "a"))
    var a: String

    @Argument(help: ArgumentHelp("The second level.", valueName: "b"))
    var b: String

    @OptionGroup var selection: RunSelection

    @Option(name: .customLong("model"), help: ArgumentHelp("Only this model; repeat for several.", valueName: "name"))
    var models: [String] = []

    @Option(name: .customLong("goal"), help: ArgumentHelp("Only this goal condition.", valueName: "goal"))
    var goals: [GoalCondition] = []

    @Option(name: .customLong("order"), help: ArgumentHelp("Only this option order.", valueName: "order"))
    var orders: [OptionOrder] = []

    @Option(help: ArgumentHelp("Bootstrap resamples.", valueName: "n"))
    var resamples = 10_000

    @OptionGroup var level: ConfidenceOption

    @Option(help: ArgumentHelp("Permutations for the p-value.", valueName: "n"))
    var permutations = 10_000

    @Option(help: ArgumentHelp("Seed of the bootstrap and the permutations.", valueName: "n"))
    var seed: UInt64 = 20_230_527

    @Option(help: ArgumentHelp("Output format: table, csv, markdown, latex, json.", valueName: "format"))
    var format: ReportFormat = .table

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard a != b else { throw ValidationError("A and B are the same ('\(a)'); name two different levels") }
        guard resamples >= 1, permutations >= 1 else {
            throw ValidationError("--resamples and --permutations must be at least 1")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let (store, selected) = try await selection.open(database)
            var runIDs = selected
            if dimension == .run {
                guard let first = Int64(a), let second = Int64(b) else {
                    throw UserFacingError(message: "run ids are numbers: \(a), \(b)")
                }
                for id in [first, second] { _ = try await store.run(id) }
                runIDs = [first, second]
            }
            var filter = TrialFilter(runIDs: runIDs, models: models, goals: goals, optionOrders: orders)
            if dimension == .model, models.isEmpty { filter.models = [a, b] }
            let comparison = try await Comparison.build(
                store: store, filter: filter, dimension: dimension.reportDimension, a: a, b: b,
                resamples: resamples, confidence: level.confidence, permutations: permutations, seed: seed)
            for (level, count) in [
                (a, comparison.rows.map(\.nA).reduce(0, +)), (b, comparison.rows.map(\.nB).reduce(0, +)),
            ] where count == 0 {
                throw UserFacingError(
                    message:
                        """
                        no complete trials with \(dimension.rawValue) = \(level) in run(s) \
                        \(runIDs.map(String.init).joined(separator: ", "))
                        """
                )
            }
            if let pooling = comparison.poolingNote {
                printError("note: \(pooling); narrow it with --model, --goal, --order or --run")
            }
            if let pairing = comparison.pairingNote { printError("note: " + pairing) }
            try write(ComparisonRenderer.render(comparison, as: format), to: output)
        }
    }
}
