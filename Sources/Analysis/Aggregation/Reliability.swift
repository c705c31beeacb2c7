import Domain
import Foundation
import SVO
import Store

/// How reliably a model's answers measure its assigned value (method.md §8.6). Two figures, per
/// model:
/// - test-retest: ICC(2,1) of the trial angle across runs (the waves), each trial slot (cell and
///   replicate number) a subject measured once per run; the slider's human figure is about 0.78
///   over six monthly waves (de Matos Fernandes et al., JDM 2022);
/// - split-half, within each run: the correlation across a model's cells of the mean angle of its
///   odd-numbered replicates with that of its even-numbered ones, Spearman-Brown corrected to the
///   whole cell.
/// Zero variance leaves a figure undefined (nil), never 1. Intervals are percentile bootstraps
/// over subjects (trial slots) or cells.
public struct Reliability: Sendable, Equatable {
    /// Test-retest agreement of one model across runs.
    public struct Retest: Sendable, Equatable, Codable {
        public var model: String
        /// The instrument, when the trials hold more than one measure (never pooled); nil otherwise.
        public var instrument: String?
        /// Runs (waves) and the trial slots complete in every one of them.
        public var runs: Int
        public var subjects: Int
        public var icc: Double?
        public var ciLow: Double?
        public var ciHigh: Double?

        /// Whether the ICC has too few trial slots behind it for an interval.
        public var tooFewForInterval: Bool { icc != nil && !Statistics.supportsInterval([subjects]) }

        enum CodingKeys: String, CodingKey {
            case model, instrument, runs, subjects, icc
            case ciLow = "ci_low"
            case ciHigh = "ci_high"
        }
    }

    /// Split-half reliability of one model's cell means within one run.
    public struct SplitHalf: Sendable, Equatable, Codable {
        public var run: Int64
        public var model: String
        /// The instrument, when the trials hold more than one measure (never pooled); nil otherwise.
        public var instrument: String?
        /// Cells with a complete trial in both halves.
        public var cells: Int
        /// Pearson r of the halves' cell means, and 2r / (1 + r).
        public var r: Double?
        public var spearmanBrown: Double?
        public var ciLow: Double?
        public var ciHigh: Double?
        /// Why there is no figure (`r` nil), in words; nil when there is one.
        public var reason: String?

        /// Why a split-half correlation is undefined, given the most complete replicates a cell
        /// has and the cells' (odd, even) means.
        static func reason(replicates: Int, cells: [[Double]]) -> String {
            if replicates < 2 {
                return "each cell has one complete replicate, and the halves are its odd- and even-numbered "
                    + "replicates: run `trials: 2` or more"
            }
            if cells.count < 3 {
                return "\(cells.count) cell(s) with a complete replicate in both halves; a correlation needs three"
            }
            return "a half's cell means do not vary"
        }

        /// Whether the figure has too few cells behind it for an interval.
        public var tooFewForInterval: Bool { spearmanBrown != nil && !Statistics.supportsInterval([cells]) }

        enum CodingKeys: String, CodingKey {
            case run, model, instrument, cells, r, reason
            case spearmanBrown = "spearman_brown"
            case ciLow = "ci_low"
            case ciHigh = "ci_high"
        }
    }

    public var retest: [Retest]
    public var splitHalf: [SplitHalf]
    /// The level of the intervals (`--confidence`).
    public var confidence: Double = 0.95

    /// One line per split-half figure that could not be computed, saying why.
    public var notes: [String] {
        splitHalf.compactMap { row in
            let on = row.instrument.map { " on \($0)" } ?? ""
            return row.reason.map { "split-half of \(row.model)\(on) in run \(row.run): \($0)" }
        }
    }

    /// The cell of a trial: its key without the replicate number.
    struct Cell: Hashable {
        let model: String
        let assignment: Assignment
        let goal: GoalCondition
        let order: OptionOrder
        let placement: PersonaPlacement
        let variant: String
        init(_ key: TrialKey) {
            (model, assignment, goal, order, placement, variant) =
                (key.model, key.assignment, key.goal, key.optionOrder, key.placement, key.variant)
        }
    }

    public static func build(
        _ trials: [TrialResult], resamples: Int = 10_000, confidence: Double = 0.95,
        seed: UInt64 = 20_230_527
    )
        -> Reliability
    {
        let complete = trials.filter { $0.status == .complete && $0.angle != nil }
        let runs = distinctInOrder(trials.map(\.runID)).sorted()
        let models = distinctInOrder(trials.map(\.key.model))
        // Angles of different measures are never pooled: with more than one, a row per instrument.
        let instruments = InstrumentSplit.instruments(of: trials)
        let byModel = TrialGroups(complete, by: instruments == [nil] ? [.model] : [.model, .instrument])
        func own(_ model: String, _ instrument: String?) -> [TrialResult] {
            instrument.map { byModel[model, $0] } ?? byModel[model]
        }
        var retest: [Retest] = []
        if runs.count > 1 {
            for model in models {
                for instrument in instruments {
                    // One row per trial slot complete in every run, one column per run.
                    var slots: [TrialKey: [Int64: Double]] = [:]
                    for trial in own(model, instrument) { slots[trial.key, default: [:]][trial.runID] = trial.angle }
                    guard instrument == nil || !slots.isEmpty else { continue }
                    let rows = slots.keys.sorted { "\($0)" < "\($1)" }.compactMap { key -> [Double]? in
                        let angles = runs.compactMap { slots[key]![$0] }
                        return angles.count == runs.count ? angles : nil
                    }
                    let interval = Statistics.bootstrapStatistic(
                        rows, resamples: resamples, confidence: confidence,
                        seed: SplitMix64.mix(
                            seed, Statistics.stableHash(["retest"] + InstrumentSplit.seedParts(model, instrument, []))),
                        Statistics.icc21)
                    retest.append(
                        Retest(
                            model: model, instrument: instrument, runs: runs.count, subjects: rows.count,
                            icc: Statistics.icc21(rows), ciLow: interval?.low, ciHigh: interval?.high))
                }
            }
        }
        var splitHalf: [SplitHalf] = []
        let byRun = TrialGroups(complete, by: [.run, .model])
        for run in runs {
            for model in models {
                for instrument in instruments {
                    let own = byRun[String(run), model].filter { instrument == nil || $0.key.instrument == instrument }
                    guard !own.isEmpty else { continue }
                    let cells = Dictionary(grouping: own) { Cell($0.key) }
                    let pairs = cells.keys.sorted { "\($0)" < "\($1)" }.compactMap { cell -> [Double]? in
                        let odd = cells[cell]!.filter { $0.key.index % 2 == 1 }.map { $0.angle! }
                        let even = cells[cell]!.filter { $0.key.index % 2 == 0 }.map { $0.angle! }
                        guard let a = Statistics.mean(odd), let b = Statistics.mean(even) else { return nil }
                        return [a, b]
                    }
                    let r = Statistics.pearson(pairs)
                    let replicates = cells.values.map { Set($0.map(\.key.index)).count }.max() ?? 0
                    let interval = Statistics.bootstrapStatistic(
                        pairs, resamples: resamples, confidence: confidence,
                        seed: SplitMix64.mix(
                            seed,
                            Statistics.stableHash(
                                ["split-half", String(run)] + InstrumentSplit.seedParts(model, instrument, [])))
                    ) { Statistics.pearson($0).flatMap(Statistics.spearmanBrown) }
                    splitHalf.append(
                        SplitHalf(
                            run: run, model: model, instrument: instrument, cells: pairs.count, r: r,
                            spearmanBrown: r.flatMap(Statistics.spearmanBrown),
                            ciLow: interval?.low, ciHigh: interval?.high,
                            reason: r != nil ? nil : SplitHalf.reason(replicates: replicates, cells: pairs)))
                }
            }
        }
        return Reliability(retest: retest, splitHalf: splitHalf, confidence: confidence)
    }

    /// Both tables as one of the report formats (CSV: the test-retest table, then a blank line and
    /// the split-half table; JSON: both).
    public func render(as format: ReportFormat) -> String {
        let f = ReportRenderer.fixed
        let e = ReportRenderer.exact
        func interval(_ low: Double?, _ high: Double?, _ tooFew: Bool) -> String {
            ReportRenderer.interval(low, high, tooFew: tooFew, missing: "–")
        }
        func dash(_ text: String) -> String { text.isEmpty ? "–" : text }
        let retestColumn = InstrumentSplit.header(retest.map(\.instrument))
        let splitColumn = InstrumentSplit.header(splitHalf.map(\.instrument))
        switch format {
        case .json:
            struct Document: Encodable {
                let retest: [Retest]
                let splitHalf: [SplitHalf]
                enum CodingKeys: String, CodingKey {
                    case retest
                    case splitHalf = "split_half"
                }
            }
            return prettyJSON(Document(retest: retest, splitHalf: splitHalf))
        case .csv:
            return CSV.document(
                header: ["model"] + retestColumn + ["runs", "subjects", "icc", "ci_low", "ci_high"],
                rows: retest.map {
                    [$0.model] + InstrumentSplit.cell($0.instrument, retestColumn)
                        + [String($0.runs), String($0.subjects), e($0.icc), e($0.ciLow), e($0.ciHigh)]
                })
                + "\r\n"
                + CSV.document(
                    header: ["run", "model"] + splitColumn + ["cells", "r", "spearman_brown", "ci_low", "ci_high"],
                    rows: splitHalf.map {
                        [String($0.run), $0.model] + InstrumentSplit.cell($0.instrument, splitColumn) + [
                            String($0.cells), e($0.r), e($0.spearmanBrown), e($0.ciLow), e($0.ciHigh),
                        ]
                    })
        case .table, .markdown, .latex, .html:
            var out = ""
            if !retest.isEmpty {
                out += HumanTable(
                    header: ["model"] + retestColumn + [
                        "runs", "trial slots", "ICC(2,1)", ReportRenderer.intervalHeader(confidence),
                    ],
                    rows: retest.map {
                        [$0.model] + InstrumentSplit.cell($0.instrument, retestColumn) + [
                            String($0.runs), String($0.subjects), dash(f($0.icc)),
                            interval($0.ciLow, $0.ciHigh, $0.tooFewForInterval),
                        ]
                    }, numeric: Set([1, 2, 3, 4].map { $0 + retestColumn.count }),
                    notes: [
                        "ICC(2,1): two-way random effects, absolute agreement, of each trial slot's angle across the "
                            + "runs; – when the angles do not vary. Human test-retest on the slider: about 0.78."
                    ] + (retest.contains(where: \.tooFewForInterval) ? [ReportRenderer.tooFewNote] : [])
                ).render(format)
                out += format == .latex ? "\n\\medskip\n" : "\n"
            }
            out += HumanTable(
                header: ["run", "model"] + splitColumn + [
                    "cells", "r", "split-half (Spearman-Brown)", ReportRenderer.intervalHeader(confidence),
                ],
                rows: splitHalf.map {
                    [String($0.run), $0.model] + InstrumentSplit.cell($0.instrument, splitColumn) + [
                        String($0.cells), dash(f($0.r)), dash(f($0.spearmanBrown)),
                        interval($0.ciLow, $0.ciHigh, $0.tooFewForInterval),
                    ]
                }, numeric: Set([0] + [2, 3, 4, 5].map { $0 + splitColumn.count }),
                notes: [
                    "split-half: odd against even replicates' mean angle across the model's cells, corrected to the "
                        + "whole cell by 2r / (1 + r); – when it cannot be computed (said below)."
                ] + notes + (splitHalf.contains(where: \.tooFewForInterval) ? [ReportRenderer.tooFewNote] : [])
            ).render(format)
            return out
        }
    }
}
