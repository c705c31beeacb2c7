import Analysis
import ArgumentParser
import Design
import Domain
import Foundation
import Runner
import SVO
import Store

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Mean VR, its spread and confidence interval, angles, hit rate, per group of trials.",
        discussion: """
            Aggregates the trials of the chosen runs (the newest run when none is chosen), filtered and \
            grouped as asked. Per group: trials (n), and of them the incomplete ones (the model left an \
            item unanswered), the failed ones (the provider failed them) and the unfinished ones \
            (pending or running: the run has not ended; a warning says so), mean VR ± sd, a seeded percentile \
            bootstrap confidence interval of the mean, mean θ, pooled θ (θ of the allocations averaged \
            over trials), category hit rate, share of transitive trials, and mean inequality aversion \
            when the full instrument was used. Means are over complete trials only; incomplete and \
            failed trials are counted, never scored as zero; an sd of one trial is shown as –. CSV and \
            JSON keep full precision; the others round to two decimals. The study layout gives each \
            cell's number of complete trials and marks cells with fewer than five.

            When the trials used several option orders, a position-bias table follows, value by value: \
            the shift of the angle from the first order, with its interval, and how often the model \
            kept the letter it was shown rather than the real option behind it.

            With --steerability, the report is how far each model moves as its target moves \
            (method.md §8.3), per model and goal condition: the least-squares line of each target's \
            mean angle on its ideal angle θ* (slope, intercept, R²), the mean |θ − θ*| over complete \
            trials, the range of mean angles reached, then each target's mean angle with its \
            bootstrap interval. Values count as targets at their own direction.

            With --reliability, the report is how reliably each model's answers measure its value \
            (method.md §8.6): ICC(2,1) of the trial angle across the chosen runs (the waves: runs of \
            one experiment, e.g. `hvae reproduce` or the same file with another seed), each trial \
            slot a subject, with a bootstrap interval; and within each run the split-half \
            reliability of the model's cell means (odd against even replicates, Spearman-Brown \
            corrected). Repeated runs are the point here and are kept; replays are left out (they \
            serve stored replies again). Zero variance is undefined, not 1.

            With --convergence (experiments with several `instruments:`), the report is whether the \
            instruments agree (method.md §9.5): per model and pair of instruments, over the cells of \
            the design (value or target × goal × option order × placement × variant) that both \
            have complete trials in, the correlation of the cells' mean angles, the mean |Δθ| between \
            them and the share of cells whose mean angles fall in the same SVO category, each with a \
            bootstrap interval over cells. The contamination line, slider against slider-parallel, \
            comes first: the same letters give the same angle on both, so a difference is the model \
            reacting to the published numbers.

            Trials of different instruments are never pooled: with several, every table splits by \
            instrument after the model (or group with --by ...,instrument to place it).

            With --sensitivity (experiments with several `variants:`), the report is how much the \
            result rests on the wording: per model and value, the spread of the mean angle across \
            the prompt variants (largest minus smallest, with a bootstrap interval and which \
            variants they are), beside the same spread across the option orders.

            Runs that repeat another run's draws (a replay, or the same experiment run again) are left \
            out unless --include-repeats, and named on stderr.

            Examples:
              hvae report                                 the newest run, as a table
              hvae report --all --format latex > vr.tex   every run, booktabs, for \\input
              hvae report --experiment quickstart --layout study --format markdown
              hvae report --run 3 --run 4 --by model,option_order --format csv -o vr.csv
              hvae report --model gpt-4o --value prosocial --goal with --format json
              hvae report --experiment steerability --steerability
              hvae report --experiment steerability --sensitivity
              hvae report --experiment quickstart --reliability
              hvae report --by model,value,variant
              hvae report --experiment instruments --convergence
              hvae report --by model,instrument,value
            """
    )

    @OptionGroup var selection: RunSelection

    @Option(name: .customLong("model"), help: ArgumentHelp("Only this model; repeat for several.", valueName: "name"))
    var models: [String] = []

    @Option(
        name: .customLong("value"),
        help: ArgumentHelp("Only this assigned value; repeat for several.", valueName: "value"))
    var values: [ValueOrientation] = []

    @Option(
        name: .customLong("goal"), help: ArgumentHelp("Only this goal condition (with or without).", valueName: "goal"))
    var goals: [GoalCondition] = []

    @Option(
        name: .customLong("order"),
        help: ArgumentHelp("Only this option order; repeat for several.", valueName: "order"))
    var orders: [OptionOrder] = []

    @Option(
        name: .customLong("by"),
        help: ArgumentHelp(
            "Group by these, comma-separated: \(ReportDimension.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "dimensions"))
    var groupBy = "model,value,goal"

    @Option(
        help: ArgumentHelp(
            "Output format: \(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "format"))
    var format: ReportFormat = .table

    @Option(
        help: ArgumentHelp(
            "rows (one row per group) or study (models as rows, the four values as columns).", valueName: "layout"))
    var layout: ReportLayout = .rows

    @Flag(help: "Report steerability (slope, R², mean |θ − θ*| per model) instead of VR per group.")
    var steerability = false

    @Flag(
        help: """
            Report reliability instead of VR per group: ICC(2,1) of the trial angle across the chosen runs, and \
            split-half reliability within each run.
            """)
    var reliability = false

    @Flag(
        help: """
            Report sensitivity to the wording instead of VR per group: per model and value, the spread of the mean \
            angle across prompt variants beside its spread across option orders.
            """)
    var sensitivity = false

    @Flag(
        help: """
            Report how the instruments agree instead of VR per group: per model and pair of instruments, over \
            the design's cells, the correlation of the mean angles, the mean |Δθ| and the share of cells in one \
            SVO category, each with a bootstrap interval; slider against slider-parallel first.
            """)
    var convergence = false

    @Option(help: ArgumentHelp("Bootstrap resamples for the confidence interval.", valueName: "n"))
    var resamples = 10_000

    @OptionGroup var level: ConfidenceOption

    @Option(
        name: .customLong("parser-version"),
        help: ArgumentHelp(
            "Use scores computed from answers of at most this parser version (default: the newest; see hvae rescore).",
            valueName: "n"))
    var parserVersion: Int?

    @Option(
        name: .customLong("formula-version"),
        help: ArgumentHelp(
            "Use scores of formulas of at most this version (default: the newest).", valueName: "n"))
    var formulaVersion: Int?

    @Option(help: ArgumentHelp("Bootstrap seed (stored in JSON output).", valueName: "n"))
    var seed: UInt64 = 20_230_527

    @Option(
        name: [.customShort("o"), .long],
        help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    @OptionGroup var database: DatabaseOptions

    var dimensions: [ReportDimension] {
        groupBy.split(separator: ",").compactMap { ReportDimension(rawValue: String($0)) }
    }

    func validate() throws {
        for name in groupBy.split(separator: ",") where ReportDimension(rawValue: String(name)) == nil {
            throw ValidationError(
                """
                --by: unknown dimension '\(name)'; use \
                \(ReportDimension.allCases.map(\.rawValue).joined(separator: ", "))
                """
            )
        }
        guard resamples >= 1 else { throw ValidationError("--resamples must be at least 1") }
        if steerability, layout == .study {
            throw ValidationError("--steerability has its own tables; leave out --layout study")
        }
        if sensitivity, steerability || layout == .study {
            throw ValidationError("--sensitivity has its own table; leave out --steerability and --layout study")
        }
        if convergence, reliability || steerability || sensitivity || layout == .study {
            throw ValidationError(
                "--convergence has its own table; leave out --reliability, --steerability, --sensitivity, --layout")
        }
        if reliability, steerability || sensitivity || layout == .study {
            throw ValidationError("--reliability has its own tables; leave out --steerability, --sensitivity, --layout")
        }
    }

    func run() async throws {
        try await reportingErrors {
            if reliability {
                try await reportReliability()
                return
            }
            let (store, runIDs) = try await selection.open(database)
            let filter = TrialFilter(
                runIDs: runIDs, models: models, values: values, goals: goals, optionOrders: orders,
                parserVersion: parserVersion, formulaVersion: formulaVersion)
            let trials = try await store.trialResults(filter)
            if convergence {
                guard
                    let agreement = Convergence.build(
                        trials, resamples: resamples, confidence: level.confidence, seed: seed)
                else {
                    throw UserFacingError(
                        message:
                            "--convergence needs a model that answered two instruments or more "
                            + "(instruments: [slider, slider-parallel, ring, dictator] in the experiment file)"
                    )
                }
                try write(agreement.render(as: format), to: output)
                return
            }
            if sensitivity {
                guard
                    let spreads = Sensitivity.build(
                        trials, resamples: resamples, confidence: level.confidence, seed: seed)
                else {
                    throw UserFacingError(
                        message:
                            "--sensitivity needs trials of two prompt variants or more "
                            + "(variants: in the experiment file)"
                    )
                }
                try write(spreads.render(as: format), to: output)
                return
            }
            if steerability {
                guard
                    let curves = Steerability.build(
                        trials, resamples: resamples, confidence: level.confidence, seed: seed)
                else {
                    throw UserFacingError(
                        message:
                            "no trials match these filters in run(s) \(runIDs.map(String.init).joined(separator: ", "))"
                    )
                }
                try write(curves.render(as: format), to: output)
                return
            }
            let report = Report.build(
                trials, filter: filter,
                options: ReportOptions(
                    groupBy: dimensions, resamples: resamples, seed: seed, confidence: level.confidence))
            guard !report.cells.isEmpty else {
                throw UserFacingError(
                    message:
                        "no trials match these filters in run(s) \(runIDs.map(String.init).joined(separator: ", "))")
            }
            let baselines = Experiment.randomBaselines(of: try await store.runs().filter { runIDs.contains($0.id!) })
            var text = try ReportRenderer.render(report, as: format, layout: layout, baselines: baselines)
            if let warning = report.unfinishedWarning { printError(warning) }
            // Like option orders, placements and variants are pooled unless grouped by: say so.
            for (dimension, levels) in [
                (ReportDimension.placement, Set(trials.map(\.key.placement.rawValue))),
                (.variant, Set(trials.map(\.key.variant))),
            ] where levels.count > 1 && !dimensions.contains(dimension) {
                printError(
                    "note: each cell pools the \(dimension.rawValue)s \(levels.sorted().joined(separator: ", ")); "
                        + "--by \(groupBy),\(dimension.rawValue) or hvae compare \(dimension.rawValue) A B splits them")
            }
            // Several option orders and no grouping by order: how much of the result is the order.
            if !dimensions.contains(.optionOrder), PositionBias.applies(to: trials),
                let bias = PositionBias.build(
                    trials, answers: try await store.answerCounts(filter), resamples: resamples,
                    confidence: level.confidence, seed: seed)
            {
                switch format {
                case .latex: text += "\n% Position bias\n\\medskip\n" + bias.render(as: format)
                case .table, .markdown: text += "\nPosition bias, value by value\n" + bias.render(as: format)
                case .html: text += "\n<h2>Position bias, value by value</h2>\n" + bias.render(as: format)
                case .csv, .json: break  // one table per file: `--by model,value,option_order` gives these numbers
                }
            }
            try write(text, to: output)
            for line in try await cutReplyWarnings(store: store, runIDs: runIDs) { printError(line) }
        }
    }

    /// `--reliability`: every chosen run is a wave, repeats included; replays are not measurements.
    private func reportReliability() async throws {
        var waves = selection
        waves.includeRepeats = true
        let (store, chosen) = try await waves.open(database)
        let replays = try await store.runs().filter { $0.replay && chosen.contains($0.id!) }.compactMap(\.id)
        if !replays.isEmpty {
            printError(
                "note: left out replays \(replays.map(String.init).joined(separator: ", ")): they serve stored replies "
                    + "again, so their agreement is the archive's, not the model's")
        }
        let runIDs = chosen.filter { !replays.contains($0) }
        guard !runIDs.isEmpty else {
            throw UserFacingError(
                message:
                    "run(s) \(replays.map(String.init).joined(separator: ", ")) are replays; "
                    + "choose the runs they replay, or "
                    + "runs that called the models (--run ID, --experiment NAME)")
        }
        let filter = TrialFilter(
            runIDs: runIDs, models: models, values: values, goals: goals, optionOrders: orders,
            parserVersion: parserVersion, formulaVersion: formulaVersion)
        let trials = try await store.trialResults(filter)
        guard !trials.isEmpty else {
            throw UserFacingError(
                message: "no trials match these filters in run(s) \(runIDs.map(String.init).joined(separator: ", "))")
        }
        if runIDs.count < 2 {
            printError(
                "note: one run: split-half only; choose two runs or more (--experiment NAME, --run ID ...) "
                    + "for test-retest"
            )
        }
        let reliability = Reliability.build(
            trials, resamples: resamples, confidence: level.confidence, seed: seed)
        try write(reliability.render(as: format), to: output)
        // The tables say why a figure is missing under them; CSV has no place for it.
        if format == .csv || format == .json { for note in reliability.notes { printError("note: " + note) } }
    }
}
