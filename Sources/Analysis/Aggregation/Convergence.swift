import Domain
import Foundation
import SVO
import Store

/// Whether instruments agree (method.md §9.5, `hvae report --convergence`): per model, for each
/// pair of instruments it answered, over the design's cells (value or target × goal × option
/// order × placement × variant) that both have complete trials in, the correlation of the cells'
/// mean angles, the mean |Δθ| between them, and the share of cells whose mean angles fall in the
/// same SVO category, each with a percentile bootstrap interval over cells. The contamination
/// line (slider against slider-parallel) comes first: the same letters give the same angle there,
/// so any difference is the model reacting to the published numbers.
public struct Convergence: Sendable, Equatable {
    public struct Row: Sendable, Equatable, Codable {
        public var model: String
        public var a: String
        public var b: String
        /// Cells with a mean angle on both instruments.
        public var cells: Int
        public var correlation: Double?
        public var correlationLow: Double?
        public var correlationHigh: Double?
        public var meanAbsoluteDifference: Double?
        public var differenceLow: Double?
        public var differenceHigh: Double?
        public var categoryAgreement: Double?
        public var agreementLow: Double?
        public var agreementHigh: Double?

        /// Whether the row has estimates but too few cells for intervals (†).
        public var tooFewForInterval: Bool { cells > 0 && !Statistics.supportsInterval([cells]) }

        enum CodingKeys: String, CodingKey {
            case model, a, b, cells, correlation
            case correlationLow = "correlation_ci_low"
            case correlationHigh = "correlation_ci_high"
            case meanAbsoluteDifference = "mean_abs_difference"
            case differenceLow = "difference_ci_low"
            case differenceHigh = "difference_ci_high"
            case categoryAgreement = "category_agreement"
            case agreementLow = "agreement_ci_low"
            case agreementHigh = "agreement_ci_high"
        }
    }

    public var rows: [Row]
    public var confidence: Double

    /// The design cell of a trial, its model, instrument and replicate left out.
    private struct Cell: Hashable {
        var assignment: Assignment
        var goal: GoalCondition
        var order: OptionOrder
        var placement: PersonaPlacement
        var variant: String

        init(_ key: TrialKey) {
            (assignment, goal, order, placement, variant) =
                (key.assignment, key.goal, key.optionOrder, key.placement, key.variant)
        }
    }

    /// Nil when no model answered two instruments.
    public static func build(
        _ trials: [TrialResult], resamples: Int = 10_000, confidence: Double = 0.95, seed: UInt64 = 20_230_527
    ) -> Convergence? {
        // Mean angle per model, instrument and cell, over complete trials.
        // Every instrument a model was asked, complete trials or not: a pair without a common
        // complete cell is a row of 0 cells, not left out.
        var sums: [String: [String: [Cell: (sum: Double, n: Int)]]] = [:]
        var models: [String] = []
        for trial in trials {
            if sums[trial.key.model] == nil { models.append(trial.key.model) }
            if sums[trial.key.model, default: [:]][trial.key.instrument] == nil {
                sums[trial.key.model, default: [:]][trial.key.instrument] = [:]
            }
            guard trial.status == .complete, let angle = trial.angle else { continue }
            let old = sums[trial.key.model, default: [:]][trial.key.instrument, default: [:]][Cell(trial.key)]
            sums[trial.key.model, default: [:]][trial.key.instrument, default: [:]][Cell(trial.key)] =
                ((old?.sum ?? 0) + angle, (old?.n ?? 0) + 1)
        }
        var rows: [Row] = []
        for model in models {
            let byInstrument = sums[model]!
            // Registration order, the contamination pair first.
            let names = Instruments.names.filter { byInstrument[$0] != nil }
            var pairs: [(String, String)] = []
            for (i, a) in names.enumerated() { for b in names[(i + 1)...] { pairs.append((a, b)) } }
            let contamination = (SliderInstrument.primary.name, ParallelSlider().name)
            pairs.sort { ($0 == contamination ? 0 : 1) < ($1 == contamination ? 0 : 1) }
            for (a, b) in pairs {
                let cellsA = byInstrument[a]!
                let cellsB = byInstrument[b]!
                // Cells in a fixed order (by the first trial order they appear in is not kept):
                // sorted by their text, so the bootstrap sees the same rows on every machine.
                let common = cellsA.keys.filter { cellsB[$0] != nil }
                    .sorted { "\($0)" < "\($1)" }
                let points = common.map { cell in
                    [cellsA[cell]!.sum / Double(cellsA[cell]!.n), cellsB[cell]!.sum / Double(cellsB[cell]!.n)]
                }
                let rowSeed = SplitMix64.mix(seed, Statistics.stableHash([model, a, b]))
                func interval(_ offset: UInt64, _ statistic: ([[Double]]) -> Double?) -> (low: Double, high: Double)? {
                    Statistics.bootstrapStatistic(
                        points, resamples: resamples, confidence: confidence, seed: SplitMix64.mix(rowSeed, offset),
                        statistic)
                }
                let r = interval(1, Statistics.pearson)
                let d = interval(2, meanAbsoluteDifference)
                let g = interval(3, agreement)
                rows.append(
                    Row(
                        model: model, a: a, b: b, cells: points.count, correlation: Statistics.pearson(points),
                        correlationLow: r?.low, correlationHigh: r?.high,
                        meanAbsoluteDifference: meanAbsoluteDifference(points), differenceLow: d?.low,
                        differenceHigh: d?.high, categoryAgreement: agreement(points), agreementLow: g?.low,
                        agreementHigh: g?.high))
            }
        }
        return rows.isEmpty ? nil : Convergence(rows: rows, confidence: confidence)
    }

    /// The mean difference the shorter way round the circle (the ring's angles go all round it).
    static func meanAbsoluteDifference(_ points: [[Double]]) -> Double? {
        Statistics.mean(
            points.map { ValueRationality.circularError(angle: $0[0], ideal: $0[1]) })
    }

    static func agreement(_ points: [[Double]]) -> Double? {
        Statistics.mean(
            points.map {
                ValueOrientation.category(ofAngle: $0[0]) == ValueOrientation.category(ofAngle: $0[1]) ? 1 : 0
            })
    }

    public func render(as format: ReportFormat) -> String {
        let e = ReportRenderer.exact
        switch format {
        case .json:
            return prettyJSON(rows)
        case .csv:
            return CSV.document(
                header: [
                    "model", "a", "b", "cells", "correlation", "correlation_ci_low", "correlation_ci_high",
                    "mean_abs_difference", "difference_ci_low", "difference_ci_high", "category_agreement",
                    "agreement_ci_low", "agreement_ci_high",
                ],
                rows: rows.map {
                    [
                        $0.model, $0.a, $0.b, String($0.cells), e($0.correlation), e($0.correlationLow),
                        e($0.correlationHigh), e($0.meanAbsoluteDifference), e($0.differenceLow), e($0.differenceHigh),
                        e($0.categoryAgreement), e($0.agreementLow), e($0.agreementHigh),
                    ]
                })
        case .table, .markdown, .latex, .html:
            let f = ReportRenderer.fixed
            let percent = Int((confidence * 100).rounded())
            func interval(_ row: Row, _ low: Double?, _ high: Double?) -> String {
                ReportRenderer.interval(low, high, tooFew: row.tooFewForInterval, missing: "–")
            }
            var notes = [
                "r: correlation over cells of the mean angles; |Δθ|: mean absolute difference of the cells' mean "
                    + "angles (degrees); same category: share of cells whose mean angles are in one SVO category."
            ]
            if rows.contains(where: { $0.correlation == nil && $0.cells > 0 }) {
                notes.append("– r needs three cells or more, in which both angles vary.")
            }
            if rows.contains(where: \.tooFewForInterval) { notes.insert(ReportRenderer.tooFewNote, at: 0) }
            return HumanTable(
                header: [
                    "model", "instruments", "cells", "r", "\(percent)% CI", "|Δθ|", "\(percent)% CI",
                    "same category", "\(percent)% CI",
                ],
                rows: rows.map { row in
                    [
                        row.model, "\(row.a) vs \(row.b)", String(row.cells),
                        f(row.correlation).isEmpty ? "–" : f(row.correlation),
                        interval(row, row.correlationLow, row.correlationHigh), f(row.meanAbsoluteDifference),
                        interval(row, row.differenceLow, row.differenceHigh), f(row.categoryAgreement),
                        interval(row, row.agreementLow, row.agreementHigh),
                    ]
                }, numeric: Set(2..<9), notes: notes
            ).render(format)
        }
    }
}
