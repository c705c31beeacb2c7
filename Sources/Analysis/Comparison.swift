import Foundation
import Store
import SVO

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
            case nA = "n_a", meanA = "mean_a", nB = "n_b", meanB = "mean_b", ciLow = "ci_low", ciHigh = "ci_high", pHolm = "p_holm"
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
    public static func build(store: ExperimentStore, filter: ReportFilter, dimension: ReportDimension, a: String, b: String,
                             resamples: Int = 10_000, permutations: Int = 10_000, seed: UInt64 = 20_230_527) async throws -> Comparison {
        let trials = try await TrialRow.fetchAll(store: store, filter: filter)
            .filter { $0.status == "complete" && $0.vr != nil }
        var rows: [Row] = []
        for value in ValueOrientation.allCases.map(\.rawValue) {
            let groupA = trials.filter { $0.value == value && $0.value(of: dimension) == a }.compactMap(\.vr)
            let groupB = trials.filter { $0.value == value && $0.value(of: dimension) == b }.compactMap(\.vr)
            guard !groupA.isEmpty || !groupB.isEmpty else { continue }
            var row = Row(value: value, nA: groupA.count, meanA: Statistics.mean(groupA), nB: groupB.count, meanB: Statistics.mean(groupB))
            if let meanA = row.meanA, let meanB = row.meanB {
                row.difference = meanA - meanB
                let cellSeed = SplitMix64.mix(seed, Report.stableHash([dimension.rawValue, a, b, value]))
                if let interval = Statistics.bootstrapDifference(groupA, groupB, resamples: resamples, confidence: 0.95, seed: cellSeed) {
                    row.ciLow = interval.low
                    row.ciHigh = interval.high
                }
                row.p = Statistics.permutationTest(groupA, groupB, permutations: permutations, seed: cellSeed ^ 0x5DEECE66D)
            }
            rows.append(row)
        }
        let adjusted = Statistics.holm(rows.map(\.p))
        for index in rows.indices { rows[index].pHolm = adjusted[index] }
        return Comparison(dimension: dimension, a: a, b: b, resamples: resamples, permutations: permutations, seed: seed, rows: rows)
    }
}

extension Statistics {
    /// Percentile bootstrap interval of mean(a) − mean(b), resampling each group on its own.
    public static func bootstrapDifference(_ a: [Double], _ b: [Double], resamples: Int, confidence: Double, seed: UInt64) -> (low: Double, high: Double)? {
        guard a.count > 1, b.count > 1, resamples > 0 else { return nil }
        var rng = SplitMix64(seed: seed)
        func resampledMean(_ xs: [Double]) -> Double {
            var sum = 0.0
            for _ in 0..<xs.count { sum += xs[Int(rng.next() % UInt64(xs.count))] }
            return sum / Double(xs.count)
        }
        var differences = (0..<resamples).map { _ in resampledMean(a) - resampledMean(b) }
        differences.sort()
        let alpha = (1 - confidence) / 2
        return (quantile(differences, alpha), quantile(differences, 1 - alpha))
    }

    /// Two-sided permutation test of a difference in means: the share of random relabellings whose
    /// |difference| is at least the observed one, counting the observed labelling ((k + 1) / (P + 1)).
    public static func permutationTest(_ a: [Double], _ b: [Double], permutations: Int, seed: UInt64) -> Double? {
        guard !a.isEmpty, !b.isEmpty, permutations > 0, let meanA = mean(a), let meanB = mean(b) else { return nil }
        let observed = abs(meanA - meanB)
        var pooled = a + b
        let total = pooled.reduce(0, +)
        var rng = SplitMix64(seed: seed)
        var extreme = 0
        for _ in 0..<permutations {
            // Partial Fisher-Yates: the first a.count elements are a uniform random subset.
            var sumA = 0.0
            for i in 0..<a.count {
                let j = i + Int(rng.next() % UInt64(pooled.count - i))
                pooled.swapAt(i, j)
                sumA += pooled[i]
            }
            let difference = abs(sumA / Double(a.count) - (total - sumA) / Double(b.count))
            // A tolerance keeps exact ties (common with identical VRs) counted as extreme.
            if difference >= observed - 1e-12 { extreme += 1 }
        }
        return Double(extreme + 1) / Double(permutations + 1)
    }

    /// Holm's step-down adjustment; nil p-values stay nil and do not count.
    public static func holm(_ ps: [Double?]) -> [Double?] {
        let present = ps.enumerated().compactMap { index, p in p.map { (index, $0) } }.sorted { $0.1 < $1.1 }
        var adjusted = [Double?](repeating: nil, count: ps.count)
        var running = 0.0
        for (rank, (index, p)) in present.enumerated() {
            running = max(running, min(1, Double(present.count - rank) * p))
            adjusted[index] = running
        }
        return adjusted
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
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let document = Document(dimension: comparison.dimension.rawValue, a: comparison.a, b: comparison.b,
                                    resamples: comparison.resamples, permutations: comparison.permutations,
                                    seed: comparison.seed, rows: comparison.rows)
            return String(decoding: try! encoder.encode(document), as: UTF8.self) + "\n"
        case .csv:
            return CSV.document(header: header, rows: comparison.rows.map { row in
                [row.value, String(row.nA), ReportRenderer.exact(row.meanA), String(row.nB), ReportRenderer.exact(row.meanB),
                 ReportRenderer.exact(row.difference), ReportRenderer.exact(row.ciLow), ReportRenderer.exact(row.ciHigh),
                 ReportRenderer.exact(row.p), ReportRenderer.exact(row.pHolm)]
            })
        case .table, .markdown, .latex:
            let f = ReportRenderer.fixed
            let human = ["value", "n \(comparison.a)", "VR \(comparison.a)", "n \(comparison.b)", "VR \(comparison.b)",
                         "difference", "95% CI", "p", "p (Holm)"]
            let rows = comparison.rows.map { row in
                [row.value, String(row.nA), f(row.meanA), String(row.nB), f(row.meanB), f(row.difference),
                 row.ciLow.map { String(format: "[%.2f, %.2f]", $0, row.ciHigh!) } ?? "",
                 row.p.map { String(format: "%.4f", $0) } ?? "", row.pHolm.map { String(format: "%.4f", $0) } ?? ""]
            }
            let numeric: Set<Int> = [1, 2, 3, 4, 5, 6, 7, 8]
            switch format {
            case .markdown: return Markdown.table(header: human, rows: rows, rightAligned: numeric)
            case .latex: return LaTeX.table(header: human, rows: rows, rightAligned: numeric)
            default: return TextTable.render(header: human, rows: rows, rightAligned: numeric)
            }
        }
    }
}
