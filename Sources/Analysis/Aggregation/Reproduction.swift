import Foundation
import SVO
import Store

/// A reproduction set against its original, cell by cell (model × value × goal, and instrument when
/// the runs asked several): model drift made visible.
public struct ReproductionComparison: Sendable, Equatable {
    public struct Row: Sendable, Equatable, Codable {
        public var model: String
        /// The cell's instrument, when the runs asked several (`Report.build` splits them); else nil.
        public var instrument: String?
        public var value: String
        public var goal: String
        /// Complete trials of the cell in each run.
        public var nOriginal: Int
        public var nReproduced: Int
        public var originalVR: Double?
        public var reproducedVR: Double?
        /// reproduced − original (paired trial by trial when the trials pair: `Comparison`).
        public var difference: Double?
        /// Pairs compared; nil when compared as independent groups.
        public var pairs: Int?
        public var ciLow: Double?
        public var ciHigh: Double?
        public var originalAngle: Double?
        public var reproducedAngle: Double?
        public var originalHitRate: Double?
        public var reproducedHitRate: Double?

        /// Whether the difference has too few trials (pairs) behind it for an interval.
        public var tooFewForInterval: Bool {
            difference != nil && VRDifference.tooFewForInterval(pairs: pairs, nA: nReproduced, nB: nOriginal)
        }

        enum CodingKeys: String, CodingKey {
            case model, instrument, value, goal, difference, pairs
            case nOriginal = "n_original"
            case nReproduced = "n_reproduced"
            case originalVR = "original_vr"
            case reproducedVR = "reproduced_vr"
            case ciLow = "ci_low"
            case ciHigh = "ci_high"
            case originalAngle = "original_angle"
            case reproducedAngle = "reproduced_angle"
            case originalHitRate = "original_hit_rate"
            case reproducedHitRate = "reproduced_hit_rate"
        }
    }

    public var original: Int64
    public var reproduction: Int64
    public var rows: [Row]
    /// The level of the intervals (`--confidence`).
    public var confidence: Double = 0.95

    public static func build(
        store: ExperimentStore, original: Int64, reproduction: Int64, resamples: Int = 10_000,
        confidence: Double = 0.95, seed: UInt64 = 20_230_527
    ) async throws -> ReproductionComparison {
        let filter = TrialFilter(runIDs: [original, reproduction])
        let trials = try await store.trialResults(filter)
        let report = Report.build(
            trials, filter: filter, options: ReportOptions(groupBy: [.model, .value, .goal, .run], resamples: 1))
        // The grouping the report chose: with several instruments it splits by them too.
        let dimensions = report.options.groupBy.dropLast()
        let complete = trials.filter { $0.status == .complete && $0.vr != nil }
        let runSeeds = Dictionary(
            uniqueKeysWithValues: try await store.runs().compactMap { run in run.id.map { ($0, run.seed) } })
        let keys = distinctInOrder(report.cells.map { Array($0.group.dropLast()) })
        let field = { (key: [String], dimension: ReportDimension) in
            dimensions.firstIndex(of: dimension).map { key[$0] }
        }
        let rows = keys.map { key -> Row in
            let a = report.cells.first { $0.group == key + [String(original)] }
            let b = report.cells.first { $0.group == key + [String(reproduction)] }
            let trials = { (run: Int64) in
                complete.filter { trial in dimensions.map { $0.value(of: trial) } == key && trial.runID == run }
            }
            let estimate = VRDifference(
                trials(reproduction), trials(original), runSeeds: runSeeds, dimension: .run, resamples: resamples,
                confidence: confidence, permutations: 0, seed: SplitMix64.mix(seed, Statistics.stableHash(key)))
            return Row(
                model: field(key, .model)!, instrument: field(key, .instrument), value: field(key, .value)!,
                goal: field(key, .goal)!, nOriginal: a?.nComplete ?? 0,
                nReproduced: b?.nComplete ?? 0, originalVR: a?.meanVR, reproducedVR: b?.meanVR,
                difference: estimate.difference, pairs: estimate.pairs,
                ciLow: estimate.ciLow, ciHigh: estimate.ciHigh, originalAngle: a?.meanAngle,
                reproducedAngle: b?.meanAngle,
                originalHitRate: a?.hitRate, reproducedHitRate: b?.hitRate)
        }
        return ReproductionComparison(
            original: original, reproduction: reproduction, rows: rows, confidence: confidence)
    }

    /// As a table in one of the report formats.
    public func render(as format: ReportFormat) -> String {
        let f = ReportRenderer.fixed
        let e = ReportRenderer.exact
        // The instrument column only when the runs asked several instruments.
        let instruments = rows.contains { $0.instrument != nil }
        func cell(_ row: Row) -> [String] {
            [row.model] + (instruments ? [row.instrument ?? ""] : []) + [row.value, row.goal]
        }
        let cellHeader = ["model"] + (instruments ? ["instrument"] : []) + ["value", "goal"]
        switch format {
        case .json:
            return prettyJSON(rows)
        case .csv:
            return CSV.document(
                header: cellHeader + [
                    "n_original", "n_reproduced", "original_vr", "reproduced_vr",
                    "difference", "pairs", "ci_low", "ci_high",
                    "original_angle", "reproduced_angle", "original_hit_rate", "reproduced_hit_rate",
                ],
                rows: rows.map {
                    cell($0) + [
                        String($0.nOriginal), String($0.nReproduced), e($0.originalVR),
                        e($0.reproducedVR), e($0.difference),
                        $0.pairs.map(String.init) ?? "", e($0.ciLow), e($0.ciHigh), e($0.originalAngle),
                        e($0.reproducedAngle),
                        e($0.originalHitRate), e($0.reproducedHitRate),
                    ]
                })
        case .table, .markdown, .latex, .html:
            let header =
                cellHeader + [
                    "n", "VR run \(original)", "VR run \(reproduction)", "difference", "pairs",
                    ReportRenderer.intervalHeader(confidence),
                    "θ \(original)", "θ \(reproduction)", "hit \(original)", "hit \(reproduction)",
                ]
            let body = rows.map { row in
                cell(row) + [
                    "\(row.nOriginal) / \(row.nReproduced)", f(row.originalVR),
                    f(row.reproducedVR), f(row.difference),
                    row.pairs.map(String.init) ?? "–",
                    ReportRenderer.interval(row.ciLow, row.ciHigh, tooFew: row.tooFewForInterval),
                    f(row.originalAngle), f(row.reproducedAngle), f(row.originalHitRate), f(row.reproducedHitRate),
                ]
            }
            var notes = [
                "n: complete trials of run \(original) / of run \(reproduction); difference: run \(reproduction) less "
                    + "run \(original); pairs: trials of one seed, cell and replicate, "
                    + "compared pair by pair (– : as independent groups)."
            ]
            if rows.contains(where: \.tooFewForInterval) { notes.append(ReportRenderer.tooFewNote) }
            return HumanTable(header: header, rows: body, numeric: Set(cellHeader.count..<header.count), notes: notes)
                .render(format)
        }
    }
}
