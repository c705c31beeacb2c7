import Foundation
import SVO
import Store

/// How much of a result is the order the options were shown in (method.md §6), value by value:
/// the angle's shift from the reference order (the first order run, `original` when it was) with
/// a bootstrap interval, and, per item, whether the model kept the letter it was shown or the
/// real option behind it. An agent that always answers "A" keeps its letter and moves its angle
/// (30.47° under original, 14.74° under reversed); one that pursues its value keeps its option
/// and its angle. Averaging over values hides both, so nothing here is averaged over values.
public struct PositionBias: Sendable, Equatable {
    public struct Row: Sendable, Equatable, Codable {
        public var model: String
        /// The value's name, or the target's label (`Assignment.label`).
        public var value: String
        /// The order compared with the reference order.
        public var order: String
        public var reference: String
        public var nReference: Int
        public var n: Int
        public var angleReference: Double?
        public var angle: Double?
        /// angle − angle under the reference order, in degrees.
        public var shift: Double?
        public var ciLow: Double?
        public var ciHigh: Double?
        /// Of the answers under `order`, the share that chose the letter most often chosen for
        /// the same item under the reference order, and the share that chose its real option.
        public var sameLetter: Double?
        public var sameOption: Double?

        /// Whether the shift has too few trials behind an order for an interval.
        public var tooFewForInterval: Bool { shift != nil && !Statistics.supportsInterval([n, nReference]) }

        enum CodingKeys: String, CodingKey {
            case model, value, order, reference, n, angle, shift
            case nReference = "n_reference"
            case angleReference = "angle_reference"
            case ciLow = "ci_low"
            case ciHigh = "ci_high"
            case sameLetter = "same_letter"
            case sameOption = "same_option"
        }
    }

    public var rows: [Row]
    /// The level of the intervals (`--confidence`).
    public var confidence: Double = 0.95

    /// Whether `trials` used two option orders or more: only then is there a position bias to
    /// measure (and the answers it is counted from worth reading).
    public static func applies(to trials: [TrialResult]) -> Bool {
        Set(trials.lazy.filter(onSlider).map(\.key.optionOrder)).count > 1
    }

    /// Position bias is measured on the slider (items of nine letters, `slider` and `slider-full`):
    /// the angles of other instruments are on other measures, and their letters are two or none.
    static func onSlider(_ trial: TrialResult) -> Bool {
        Instruments.measure(trial.key.instrument) == SliderInstrument.primary.measure
    }

    /// Nil unless the trials used two option orders or more.
    public static func build(
        _ trials: [TrialResult], answers: [AnswerCount], resamples: Int = 10_000,
        confidence: Double = 0.95, seed: UInt64 = 20_230_527
    ) -> PositionBias? {
        guard applies(to: trials) else { return nil }
        let trials = trials.filter(onSlider)
        let answers = answers.filter { Instruments.measure($0.instrument) == SliderInstrument.primary.measure }
        let orders = OptionOrder.allCases.filter { order in trials.contains { $0.key.optionOrder == order } }
        guard let reference = orders.first else { return nil }
        let complete = TrialGroups(trials.filter { $0.status == .complete }, by: [.model, .value, .optionOrder])
        let models = distinctInOrder(trials.map(\.key.model))
        var rows: [Row] = []
        let assignments = Set(trials.map(\.key.assignment)).sorted()
        for model in models {
            for value in assignments {
                func angles(_ order: OptionOrder) -> [Double] {
                    complete[model, value.label, order.rawValue].compactMap(\.angle)
                }
                let base = angles(reference)
                // The reference order's most frequent answer per item, as letter and as option.
                let cell = answers.filter { $0.model == model && $0.assignment == value }
                var modal: [Int: (letter: OptionLetter, option: OptionLetter)] = [:]
                for item in Set(cell.map(\.item)) {
                    let here = cell.filter { $0.item == item && $0.optionOrder == reference }
                    func top(_ key: (AnswerCount) -> OptionLetter) -> OptionLetter? {
                        Dictionary(grouping: here, by: key).mapValues { $0.map(\.count).reduce(0, +) }
                            .max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
                    }
                    if let letter = top(\.shownLetter), let option = top(\.option) { modal[item] = (letter, option) }
                }
                for order in orders.dropFirst() {
                    let compared = angles(order)
                    guard !base.isEmpty || !compared.isEmpty else { continue }
                    var row = Row(
                        model: model, value: value.label, order: order.rawValue, reference: reference.rawValue,
                        nReference: base.count, n: compared.count, angleReference: Statistics.mean(base),
                        angle: Statistics.mean(compared))
                    if let a = row.angle, let b = row.angleReference {
                        row.shift = a - b
                        let interval = Statistics.bootstrapDifference(
                            compared, base, resamples: resamples, confidence: confidence,
                            seed: SplitMix64.mix(
                                seed,
                                Statistics.stableHash(
                                    [model, value.label, order.rawValue])))
                        row.ciLow = interval?.low
                        row.ciHigh = interval?.high
                    }
                    var total = 0
                    var sameLetter = 0
                    var sameOption = 0
                    for answer in cell where answer.optionOrder == order {
                        guard let reference = modal[answer.item] else { continue }
                        total += answer.count
                        if answer.shownLetter == reference.letter { sameLetter += answer.count }
                        if answer.option == reference.option { sameOption += answer.count }
                    }
                    if total > 0 {
                        row.sameLetter = Double(sameLetter) / Double(total)
                        row.sameOption = Double(sameOption) / Double(total)
                    }
                    rows.append(row)
                }
            }
        }
        return PositionBias(rows: rows, confidence: confidence)
    }

    /// The rows as one of the report formats.
    public func render(as format: ReportFormat) -> String {
        let f = ReportRenderer.fixed
        let e = ReportRenderer.exact
        switch format {
        case .json:
            return prettyJSON(rows)
        case .csv:
            return CSV.document(
                header: [
                    "model", "value", "order", "reference", "n_reference", "n", "angle_reference", "angle", "shift",
                    "ci_low", "ci_high", "same_letter", "same_option",
                ],
                rows: rows.map {
                    [
                        $0.model, $0.value, $0.order, $0.reference, String($0.nReference), String($0.n),
                        e($0.angleReference), e($0.angle), e($0.shift), e($0.ciLow), e($0.ciHigh),
                        e($0.sameLetter), e($0.sameOption),
                    ]
                })
        case .table, .markdown, .latex, .html:
            func percent(_ x: Double?) -> String { x.map { String(format: "%.0f%%", $0 * 100) } ?? "" }
            let body = rows.map { row in
                [
                    row.model, row.value, "\(row.order) vs \(row.reference)", "\(row.n) / \(row.nReference)",
                    f(row.angle),
                    f(row.shift), ReportRenderer.interval(row.ciLow, row.ciHigh, tooFew: row.tooFewForInterval),
                    percent(row.sameLetter), percent(row.sameOption),
                ]
            }
            return HumanTable(
                header: [
                    "model", "value", "orders", "n", "θ", "Δθ", ReportRenderer.intervalHeader(confidence),
                    "same letter", "same option",
                ],
                rows: body, numeric: [3, 4, 5, 6, 7, 8],
                notes: [
                    "Δθ: mean angle under the order minus under the reference; same letter / same option: "
                        + "answers that kept the reference order's most frequent letter / real option per item."
                ] + (rows.contains(where: \.tooFewForInterval) ? [ReportRenderer.tooFewNote] : [])
            )
            .render(format)
        }
    }
}
