import Foundation
import SVO
import Store

/// Two levels of one dimension compared value by value: the difference in mean VR, a bootstrap
/// interval for it, and a permutation-test p-value, Holm-corrected across the values.
public struct Comparison: Sendable, Equatable {
    public struct Row: Sendable, Equatable, Codable {
        public var value: String
        public var nA: Int
        public var meanA: Double?
        public var nB: Int
        public var meanB: Double?
        /// mean A − mean B.
        public var difference: Double?
        public var ciLow: Double?
        public var ciHigh: Double?
        /// Two-sided permutation p-value.
        public var p: Double?
        /// Holm-adjusted across the rows.
        public var pHolm: Double?

        enum CodingKeys: String, CodingKey {
            case value, difference, p
            case nA = "n_a"
            case meanA = "mean_a"
            case nB = "n_b"
            case meanB = "mean_b"
            case ciLow = "ci_low"
            case ciHigh = "ci_high"
            case pHolm = "p_holm"
        }
    }

    public var dimension: ReportDimension
    public var a: String
    public var b: String
    public var resamples: Int
    public var permutations: Int
    public var seed: UInt64
    public var rows: [Row]

    /// Compares level `a` with level `b` of `dimension` over the trials `filter` selects.
    public static func build(
        store: ExperimentStore, filter: TrialFilter, dimension: ReportDimension, a: String, b: String,
        resamples: Int = 10_000, permutations: Int = 10_000, seed: UInt64 = 20_230_527
    ) async throws
        -> Comparison
    {
        build(
            try await store.trialResults(filter), dimension: dimension, a: a, b: b, resamples: resamples,
            permutations: permutations, seed: seed)
    }

    /// Compares level `a` with level `b` of `dimension` over `trials`, value by value, on their
    /// complete trials.
    public static func build(
        _ trials: [TrialResult], dimension: ReportDimension, a: String, b: String,
        resamples: Int = 10_000, permutations: Int = 10_000, seed: UInt64 = 20_230_527
    ) -> Comparison {
        let complete = trials.filter { $0.status == .complete }
        var rows: [Row] = []
        for value in Set(trials.map(\.key.assignment)).sorted() {
            let groupA = complete.filter { $0.key.assignment == value && dimension.value(of: $0) == a }.compactMap(\.vr)
            let groupB = complete.filter { $0.key.assignment == value && dimension.value(of: $0) == b }.compactMap(\.vr)
            guard !groupA.isEmpty || !groupB.isEmpty else { continue }
            var row = Row(
                value: value.label, nA: groupA.count, meanA: Statistics.mean(groupA), nB: groupB.count,
                meanB: Statistics.mean(groupB))
            if let meanA = row.meanA, let meanB = row.meanB {
                row.difference = meanA - meanB
                let cellSeed = SplitMix64.mix(seed, Statistics.stableHash([dimension.rawValue, a, b, value.label]))
                if let interval = Statistics.bootstrapDifference(
                    groupA, groupB, resamples: resamples, confidence: 0.95,
                    seed: cellSeed)
                {
                    row.ciLow = interval.low
                    row.ciHigh = interval.high
                }
                row.p = Statistics.permutationTest(
                    groupA, groupB, permutations: permutations, seed: cellSeed ^ 0x5_DEEC_E66D)
            }
            rows.append(row)
        }
        let adjusted = Statistics.holm(rows.map(\.p))
        for index in rows.indices { rows[index].pHolm = adjusted[index] }
        return Comparison(
            dimension: dimension, a: a, b: b, resamples: resamples, permutations: permutations, seed: seed,
            rows: rows)
    }
}

/// Renders comparisons.
public enum ComparisonRenderer {
    static let header = ["value", "n_a", "mean_a", "n_b", "mean_b", "difference", "ci_low", "ci_high", "p", "p_holm"]

    public static func render(_ comparison: Comparison, as format: ReportFormat) -> String {
        switch format {
        case .json:
            struct Document: Encodable {
                let dimension: String, a: String, b: String, resamples: Int, permutations: Int, seed: UInt64
                let rows: [Comparison.Row]
            }
            return prettyJSON(
                Document(
                    dimension: comparison.dimension.rawValue, a: comparison.a, b: comparison.b,
                    resamples: comparison.resamples, permutations: comparison.permutations,
                    seed: comparison.seed, rows: comparison.rows))
        case .csv:
            return CSV.document(
                header: header,
                rows: comparison.rows.map { row in
                    [
                        row.value, String(row.nA), ReportRenderer.exact(row.meanA), String(row.nB),
                        ReportRenderer.exact(row.meanB),
                        ReportRenderer.exact(row.difference), ReportRenderer.exact(row.ciLow),
                        ReportRenderer.exact(row.ciHigh),
                        ReportRenderer.exact(row.p), ReportRenderer.exact(row.pHolm),
                    ]
                })
        case .table, .markdown, .latex, .html:
            let f = ReportRenderer.fixed
            let human = [
                "value", "n \(comparison.a)", "VR \(comparison.a)", "n \(comparison.b)", "VR \(comparison.b)",
                "difference", "95% CI", "p", "p (Holm)",
            ]
            let rows = comparison.rows.map { row in
                [
                    row.value, String(row.nA), f(row.meanA), String(row.nB), f(row.meanB), f(row.difference),
                    ReportRenderer.interval(row.ciLow, row.ciHigh),
                    row.p.map { String(format: "%.4f", $0) } ?? "", row.pHolm.map { String(format: "%.4f", $0) } ?? "",
                ]
            }
            let numeric: Set<Int> = [1, 2, 3, 4, 5, 6, 7, 8]
            return HumanTable(header: human, rows: rows, numeric: numeric).render(format)
        }
    }
}
