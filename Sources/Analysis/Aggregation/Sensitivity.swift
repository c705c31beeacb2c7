import Domain
import Foundation
import SVO
import Store

/// How much a result rests on the wording (method.md §8.5): per model and value (or target), the
/// spread of the mean angle across the prompt variants, with a bootstrap interval, beside the
/// spread across the option orders. A spread is the largest level's mean angle minus the
/// smallest; its interval resamples each level's complete trials on its own. Goal conditions and
/// placements are pooled.
public struct Sensitivity: Sendable, Equatable {
    /// The spread of one factor in one cell.
    public struct Spread: Sendable, Equatable, Codable {
        /// Levels with a complete trial: the spread needs two.
        public var levels: Int
        public var spread: Double?
        public var ciLow: Double?
        public var ciHigh: Double?
        /// The level with the lowest and the highest mean angle.
        public var lowest: String?
        public var highest: String?
        /// The complete trials of the level with the fewest.
        public var fewest: Int?

        /// Whether the spread has too few trials behind a level for an interval.
        public var tooFewForInterval: Bool { spread != nil && !Statistics.supportsInterval([fewest ?? 0]) }

        enum CodingKeys: String, CodingKey {
            case levels, spread, lowest, highest, fewest
            case ciLow = "ci_low"
            case ciHigh = "ci_high"
        }
    }

    public struct Row: Sendable, Equatable, Codable {
        public var model: String
        /// The instrument, when the trials hold more than one measure (never pooled); nil otherwise.
        public var instrument: String?
        public var value: String
        public var variants: Spread
        public var orders: Spread
    }

    public var rows: [Row]
    /// The level of the intervals (`--confidence`).
    public var confidence: Double = 0.95

    /// Nil unless the trials used two variants or more.
    public static func build(
        _ trials: [TrialResult], resamples: Int = 10_000, confidence: Double = 0.95,
        seed: UInt64 = 20_230_527
    )
        -> Sensitivity?
    {
        guard Set(trials.map(\.key.variant)).count > 1 else { return nil }
        // Angles of different measures are never pooled: with more than one, a row per instrument.
        let instruments = InstrumentSplit.instruments(of: trials)
        let complete = TrialGroups(
            trials.filter { $0.status == .complete && $0.angle != nil },
            by: instruments == [nil] ? [.model, .value] : [.model, .instrument, .value])
        let held = Set(trials.map { [$0.key.model, $0.key.instrument] })
        var rows: [Row] = []
        for model in distinctInOrder(trials.map(\.key.model)) {
            for instrument in instruments where instrument.map({ held.contains([model, $0]) }) ?? true {
                for assignment in Set(trials.map(\.key.assignment)).sorted() {
                    let cell =
                        instrument.map { complete[model, $0, assignment.label] } ?? complete[model, assignment.label]
                    func spread(_ factor: String, _ level: (TrialResult) -> String) -> Spread {
                        let names = distinctInOrder(cell.map(level))
                        let groups = names.map { name in cell.filter { level($0) == name }.map { $0.angle! } }
                        let means = groups.map { Statistics.mean($0)! }
                        guard means.count > 1, let low = means.min(), let high = means.max() else {
                            return Spread(levels: means.count, fewest: groups.map(\.count).min())
                        }
                        // Levels named only when they differ: with equal means none is lowest.
                        let interval = Statistics.bootstrapRange(
                            groups, resamples: resamples, confidence: confidence,
                            seed: SplitMix64.mix(
                                seed,
                                Statistics.stableHash(
                                    InstrumentSplit.seedParts(model, instrument, [assignment.label, factor]))))
                        return Spread(
                            levels: means.count, spread: high - low, ciLow: interval?.low, ciHigh: interval?.high,
                            lowest: high > low ? names[means.firstIndex(of: low)!] : nil,
                            highest: high > low ? names[means.firstIndex(of: high)!] : nil,
                            fewest: groups.map(\.count).min())
                    }
                    rows.append(
                        Row(
                            model: model, instrument: instrument, value: assignment.label,
                            variants: spread("variant") { $0.key.variant },
                            orders: spread("option_order") { $0.key.optionOrder.rawValue }))
                }
            }
        }
        return Sensitivity(rows: rows, confidence: confidence)
    }

    /// The rows as one of the report formats.
    public func render(as format: ReportFormat) -> String {
        let f = ReportRenderer.fixed
        let e = ReportRenderer.exact
        func interval(_ s: Spread) -> String {
            ReportRenderer.interval(s.ciLow, s.ciHigh, tooFew: s.tooFewForInterval, missing: "–")
        }
        let instrumentColumn = InstrumentSplit.header(rows.map(\.instrument))
        func instrumentCell(_ row: Row) -> [String] { InstrumentSplit.cell(row.instrument, instrumentColumn) }
        switch format {
        case .json:
            return prettyJSON(rows)
        case .csv:
            return CSV.document(
                header: ["model"] + instrumentColumn + [
                    "value", "variants", "variant_spread", "variant_ci_low", "variant_ci_high",
                    "variant_lowest", "variant_highest", "orders", "order_spread", "order_ci_low", "order_ci_high",
                ],
                rows: rows.map {
                    [$0.model] + instrumentCell($0) + [
                        $0.value, String($0.variants.levels), e($0.variants.spread), e($0.variants.ciLow),
                        e($0.variants.ciHigh), $0.variants.lowest ?? "", $0.variants.highest ?? "",
                        String($0.orders.levels), e($0.orders.spread), e($0.orders.ciLow), e($0.orders.ciHigh),
                    ]
                })
        case .table, .markdown, .latex, .html:
            return HumanTable(
                header: ["model"] + instrumentColumn + [
                    "value", "variants", "Δθ variants", ReportRenderer.intervalHeader(confidence),
                    "lowest → highest", "orders",
                    "Δθ orders", ReportRenderer.intervalHeader(confidence),
                ],
                rows: rows.map { row in
                    [row.model] + instrumentCell(row) + [
                        row.value, String(row.variants.levels), f(row.variants.spread),
                        interval(row.variants),
                        row.variants.lowest.map { "\($0) → \(row.variants.highest!)" } ?? "",
                        String(row.orders.levels), f(row.orders.spread), interval(row.orders),
                    ]
                }, numeric: Set([2, 3, 4, 6, 7, 8].map { $0 + instrumentColumn.count }),
                notes: [
                    "Δθ: the largest mean angle across the levels minus the smallest, over complete trials "
                        + "(goal conditions and placements pooled); its interval resamples each level on its own."
                ]
                    + (rows.contains { $0.variants.tooFewForInterval || $0.orders.tooFewForInterval }
                        ? [ReportRenderer.tooFewNote] : [])
            )
            .render(format)
        }
    }
}
