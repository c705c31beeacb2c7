import Foundation
import SVO
import Store

/// Two levels of one dimension compared value by value: the difference in mean VR, a bootstrap
/// interval for it, and a permutation-test p-value, Holm-corrected across the values.
///
/// Trials that are the same draw but for the compared dimension are compared as pairs: two
/// trials pair when their runs have one seed and their design keys (model, assignment, goal,
/// option order, placement, variant, replicate) are equal apart from that dimension. So a run and
/// its replay pair trial by trial (their trial seeds are equal), as do the two placements of one
/// cell in one run. A value's trials are compared as pairs only when every complete trial of A
/// has exactly one partner among B's and the other way round; the difference is then the mean of
/// the per-pair differences, its interval a bootstrap of them, its p-value a sign-flip test.
/// Otherwise the two groups are compared as independent samples (each resampled on its own, a
/// permutation test), and `Row.unpaired` says how many trials had no partner.
public struct Comparison: Sendable, Equatable {
    public struct Row: Sendable, Equatable, Codable {
        public var value: String
        public var nA: Int
        public var meanA: Double?
        public var nB: Int
        public var meanB: Double?
        /// The pairs compared, when the value's trials pair one to one; nil when the groups
        /// were compared as independent samples.
        public var pairs: Int?
        /// Complete trials without a partner on the other side (0 when paired).
        public var unpaired: Int
        /// mean A − mean B (when paired, the mean of the per-pair differences: the same number).
        public var difference: Double?
        /// Nil below `Statistics.intervalMinimum` trials (pairs) on a side.
        public var ciLow: Double?
        public var ciHigh: Double?
        /// Two-sided permutation p-value (sign-flip when paired).
        public var p: Double?
        /// Holm-adjusted across the rows.
        public var pHolm: Double?

        /// Whether the interval is left out for want of trials (`Statistics.intervalMinimum`).
        public var tooFewForInterval: Bool {
            difference != nil && VRDifference.tooFewForInterval(pairs: pairs, nA: nA, nB: nB)
        }

        enum CodingKeys: String, CodingKey {
            case value, difference, p, pairs, unpaired
            case nA = "n_a"
            case meanA = "mean_a"
            case nB = "n_b"
            case meanB = "mean_b"
            case ciLow = "ci_low"
            case ciHigh = "ci_high"
            case pHolm = "p_holm"
        }
    }

    /// A dimension other than the compared one with more than one level among A's or B's
    /// trials: what the comparison pools, said so that it is never pooled silently.
    public struct Pooled: Sendable, Equatable, Codable {
        public var dimension: ReportDimension
        public var levelsA: [String]
        public var levelsB: [String]

        enum CodingKeys: String, CodingKey {
            case dimension
            case levelsA = "a"
            case levelsB = "b"
        }
    }

    public var dimension: ReportDimension
    public var a: String
    public var b: String
    public var resamples: Int
    /// The level of every interval (`--confidence`).
    public var confidence: Double = 0.95
    public var permutations: Int
    public var seed: UInt64
    public var rows: [Row]
    public var pooled: [Pooled] = []

    /// Compares level `a` with level `b` of `dimension` over the trials `filter` selects.
    public static func build(
        store: any StoreReading, filter: TrialFilter, dimension: ReportDimension, a: String, b: String,
        resamples: Int = 10_000, confidence: Double = 0.95, permutations: Int = 10_000,
        seed: UInt64 = 20_230_527
    ) async throws
        -> Comparison
    {
        let runSeeds = Dictionary(
            uniqueKeysWithValues: try await store.runs().compactMap { run in run.id.map { ($0, run.seed) } })
        return build(
            try await store.trialResults(filter), runSeeds: runSeeds, dimension: dimension, a: a, b: b,
            resamples: resamples, confidence: confidence, permutations: permutations, seed: seed)
    }

    /// Compares level `a` with level `b` of `dimension` over `trials`, value by value, on their
    /// complete trials. `runSeeds` (run id → the run's seed) tells which trials are the same
    /// draw; trials of a run not in it pair with none.
    public static func build(
        _ trials: [TrialResult], runSeeds: [Int64: Int64] = [:], dimension: ReportDimension, a: String,
        b: String, resamples: Int = 10_000, confidence: Double = 0.95, permutations: Int = 10_000,
        seed: UInt64 = 20_230_527
    ) -> Comparison {
        // A VR the trial's instrument cannot measure is no evidence either way.
        let measured = trials.filter { Instruments.measuresVR($0.key.instrument, $0.key.assignment) }
        let sideA = measured.filter { dimension.value(of: $0) == a }
        let sideB = measured.filter { dimension.value(of: $0) == b }
        var rows: [Row] = []
        for value in Set(trials.map(\.key.assignment)).sorted() {
            let groupA = sideA.filter { $0.status == .complete && $0.vr != nil && $0.key.assignment == value }
            let groupB = sideB.filter { $0.status == .complete && $0.vr != nil && $0.key.assignment == value }
            guard !groupA.isEmpty || !groupB.isEmpty else { continue }
            var row = Row(
                value: value.label, nA: groupA.count, meanA: Statistics.mean(groupA.map { $0.vr! }),
                nB: groupB.count, meanB: Statistics.mean(groupB.map { $0.vr! }), unpaired: 0)
            let cellSeed = SplitMix64.mix(seed, Statistics.stableHash([dimension.rawValue, a, b, value.label]))
            let estimate = VRDifference(
                groupA, groupB, runSeeds: runSeeds, dimension: dimension, resamples: resamples,
                confidence: confidence, permutations: permutations, seed: cellSeed)
            (row.pairs, row.unpaired, row.difference) = (estimate.pairs, estimate.unpaired, estimate.difference)
            (row.ciLow, row.ciHigh, row.p) = (estimate.ciLow, estimate.ciHigh, estimate.p)
            rows.append(row)
        }
        let adjusted = Statistics.holm(rows.map(\.p))
        for index in rows.indices { rows[index].pHolm = adjusted[index] }
        let pooled = ReportDimension.allCases.compactMap { other -> Pooled? in
            guard other != dimension, other != .value else { return nil }
            let levelsA = distinctInOrder(sideA.map(other.value(of:)))
            let levelsB = distinctInOrder(sideB.map(other.value(of:)))
            guard levelsA.count > 1 || levelsB.count > 1 else { return nil }
            return Pooled(dimension: other, levelsA: levelsA, levelsB: levelsB)
        }
        return Comparison(
            dimension: dimension, a: a, b: b, resamples: resamples, confidence: confidence, permutations: permutations,
            seed: seed, rows: rows, pooled: pooled)
    }

    /// One sentence naming what each side pools (`hvae compare` prints it on stderr, the viewer
    /// above the table); nil when each side is one level of every other dimension.
    public var poolingNote: String? {
        guard !pooled.isEmpty else { return nil }
        func list(_ levels: [String]) -> String { levels.joined(separator: ", ") }
        let parts = pooled.map { p -> String in
            let name = p.dimension.rawValue.replacingOccurrences(of: "_", with: " ") + "s"
            return p.levelsA == p.levelsB
                ? "\(name) \(list(p.levelsA))"
                : "\(name) \(list(p.levelsA)) (A) and \(list(p.levelsB)) (B)"
        }
        return "the comparison pools " + parts.joined(separator: "; ")
    }

    /// One line for a comparison whose values were not all compared as pairs although some
    /// trials pair; nil otherwise.
    public var pairingNote: String? {
        let partial = rows.filter { $0.pairs == nil && $0.unpaired < $0.nA + $0.nB && $0.unpaired > 0 }
        guard !partial.isEmpty else { return nil }
        let values = partial.map { "\($0.value) (\($0.unpaired) without a partner)" }.joined(separator: ", ")
        return "compared as independent groups, not pairs, where not every trial has its partner: \(values)"
    }
}

/// Mean VR of one group of complete trials less another's, with its interval and p-value:
/// as pairs where every trial pairs (`Pairing`), else as independent groups. The one place a
/// difference between two groups of trials is estimated (`hvae compare`, `hvae reproduce`).
struct VRDifference {
    var pairs: Int?
    var unpaired = 0
    var difference: Double?
    var ciLow: Double?
    var ciHigh: Double?
    /// Nil with `permutations` 0.
    var p: Double?

    /// `a` and `b`: complete trials with a VR.
    init(
        _ a: [TrialResult], _ b: [TrialResult], runSeeds: [Int64: Int64], dimension: ReportDimension,
        resamples: Int, confidence: Double = 0.95, permutations: Int, seed: UInt64
    ) {
        let vrA = a.map { $0.vr! }
        let vrB = b.map { $0.vr! }
        guard let meanA = Statistics.mean(vrA), let meanB = Statistics.mean(vrB) else { return }
        let pairing = Pairing(a, b, runSeeds: runSeeds, dimension: dimension)
        let interval: (low: Double, high: Double)?
        if let differences = pairing.differences {
            pairs = differences.count
            difference = Statistics.mean(differences)
            interval = Statistics.bootstrapInterval(
                differences, resamples: resamples, confidence: confidence, seed: seed)
            if permutations > 0 {
                p = Statistics.signFlipTest(differences, permutations: permutations, seed: seed ^ 0x5_DEEC_E66D)
            }
        } else {
            unpaired = pairing.unpaired
            difference = meanA - meanB
            interval = Statistics.bootstrapDifference(
                vrA, vrB, resamples: resamples, confidence: confidence, seed: seed)
            if permutations > 0 {
                p = Statistics.permutationTest(vrA, vrB, permutations: permutations, seed: seed ^ 0x5_DEEC_E66D)
            }
        }
        (ciLow, ciHigh) = (interval?.low, interval?.high)
    }

    /// Whether the difference has too few trials (pairs) behind it for an interval.
    static func tooFewForInterval(pairs: Int?, nA: Int, nB: Int) -> Bool {
        !Statistics.supportsInterval(pairs.map { [$0] } ?? [nA, nB])
    }
}

/// Which of two groups' trials are the same draw but for one dimension (see `Comparison`).
struct Pairing {
    /// A − B per pair, in A's order; nil unless every trial of each group has exactly one partner.
    let differences: [Double]?
    /// Trials of either group without exactly one partner.
    let unpaired: Int

    /// The same draw: the run's seed and the design key with the compared dimension left out.
    private struct Draw: Hashable {
        var runSeed: Int64
        var key: TrialKey
    }

    /// `a` and `b`: complete trials with a VR.
    init(_ a: [TrialResult], _ b: [TrialResult], runSeeds: [Int64: Int64], dimension: ReportDimension) {
        func draw(_ trial: TrialResult) -> Draw? {
            guard let runSeed = runSeeds[trial.runID] else { return nil }
            var key = trial.key
            switch dimension {
            case .model: key.model = ""
            case .goal: key.goal = .with
            case .optionOrder: key.optionOrder = .original
            case .placement: key.placement = .user
            case .variant: key.variant = ""
            case .instrument: key.instrument = ""
            case .run, .value: break
            }
            return Draw(runSeed: runSeed, key: key)
        }
        var countA: [Draw: Int] = [:]
        var partnerB: [Draw: (count: Int, vr: Double)] = [:]
        let drawsA = a.map(draw)
        for d in drawsA.compactMap({ $0 }) { countA[d, default: 0] += 1 }
        for trial in b {
            guard let d = draw(trial) else { continue }
            partnerB[d] = ((partnerB[d]?.count ?? 0) + 1, trial.vr!)
        }
        var differences: [Double] = []
        for (trial, d) in zip(a, drawsA) {
            guard let d, countA[d] == 1, let partner = partnerB[d], partner.count == 1 else { continue }
            differences.append(trial.vr! - partner.vr)
        }
        unpaired = a.count + b.count - 2 * differences.count
        self.differences = unpaired == 0 && !differences.isEmpty ? differences : nil
    }
}

/// Renders comparisons.
public enum ComparisonRenderer {
    static let header = [
        "value", "n_a", "mean_a", "n_b", "mean_b", "pairs", "unpaired", "difference", "ci_low", "ci_high", "p",
        "p_holm",
    ]

    public static func render(_ comparison: Comparison, as format: ReportFormat) -> String {
        switch format {
        case .json:
            struct Document: Encodable {
                let dimension: String, a: String, b: String, resamples: Int, confidence: Double, permutations: Int
                let seed: UInt64
                let pooled: [Comparison.Pooled]
                let rows: [Comparison.Row]
            }
            return prettyJSON(
                Document(
                    dimension: comparison.dimension.rawValue, a: comparison.a, b: comparison.b,
                    resamples: comparison.resamples, confidence: comparison.confidence,
                    permutations: comparison.permutations, seed: comparison.seed, pooled: comparison.pooled,
                    rows: comparison.rows))
        case .csv:
            return CSV.document(
                header: header,
                rows: comparison.rows.map { row in
                    [
                        row.value, String(row.nA), ReportRenderer.exact(row.meanA), String(row.nB),
                        ReportRenderer.exact(row.meanB), row.pairs.map(String.init) ?? "", String(row.unpaired),
                        ReportRenderer.exact(row.difference), ReportRenderer.exact(row.ciLow),
                        ReportRenderer.exact(row.ciHigh),
                        ReportRenderer.exact(row.p), ReportRenderer.exact(row.pHolm),
                    ]
                })
        case .table, .markdown, .latex, .html:
            let f = ReportRenderer.fixed
            let human = [
                "value", "n \(comparison.a)", "VR \(comparison.a)", "n \(comparison.b)", "VR \(comparison.b)",
                "pairs", "difference", ReportRenderer.intervalHeader(comparison.confidence), "p", "p (Holm)",
            ]
            let rows = comparison.rows.map { row in
                [
                    row.value, String(row.nA), f(row.meanA), String(row.nB), f(row.meanB),
                    row.pairs.map(String.init) ?? "–", f(row.difference),
                    ReportRenderer.interval(row.ciLow, row.ciHigh, tooFew: row.tooFewForInterval),
                    row.p.map { String(format: "%.4f", $0) } ?? "", row.pHolm.map { String(format: "%.4f", $0) } ?? "",
                ]
            }
            let dimension = comparison.dimension.rawValue.replacingOccurrences(of: "_", with: " ")
            var notes: [String] = []
            if comparison.rows.contains(where: { $0.pairs != nil }) {
                notes.append(
                    "pairs: trials that are the same draw but for the \(dimension) (runs of one seed, one cell "
                        + "and replicate), compared pair by pair: the mean of the per-pair differences, its "
                        + "bootstrap, a sign-flip test.")
            }
            if comparison.rows.contains(where: { $0.pairs == nil && $0.difference != nil }) {
                notes.append(
                    "pairs –: compared as independent groups, each resampled on its own, a permutation test.")
            }
            if comparison.rows.contains(where: \.tooFewForInterval) { notes.append(ReportRenderer.tooFewNote) }
            let numeric: Set<Int> = [1, 2, 3, 4, 5, 6, 7, 8, 9]
            return HumanTable(header: human, rows: rows, numeric: numeric, notes: notes).render(format)
        }
    }
}
