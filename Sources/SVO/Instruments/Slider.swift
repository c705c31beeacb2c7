import Foundation

/// The SVO Slider Measure (Murphy, Ackermann & Handgraaf 2011; method.md §2): `slider` asks the
/// six primary items, `slider-full` all fifteen. The study's instrument, scored by `Scorer`.
public struct SliderInstrument: SliderMeasure {
    public static let primary = SliderInstrument(full: false)
    public static let full = SliderInstrument(full: true)

    /// Whether the secondary items 7-15 are asked too (the inequality-aversion index).
    public let full: Bool

    public var name: String { full ? "slider-full" : "slider" }
    public var measure: String { "slider" }
    public var summary: String {
        full
            ? "the SVO Slider Measure, all 15 items: the angle and the inequality-aversion index"
            : "the SVO Slider Measure, primary items 1-6 (the study's instrument)"
    }

    /// The published items, the same for every trial.
    public func form(seed: UInt64) -> InstrumentForm { full ? Self.fullForm : Self.primaryForm }

    static let primaryForm = InstrumentForm(items: SliderItem.primary.map { SliderInstrument.item($0) })
    static let fullForm = InstrumentForm(items: SliderItem.all.map { SliderInstrument.item($0) })

    /// A slider item as an instrument item, its line moved along the diagonal by `offset` coins.
    static func item(_ item: SliderItem, offset: Int = 0) -> InstrumentItem {
        let shift = Double(offset)
        return InstrumentItem(
            number: item.number,
            options: item.options.map { Payoff(own: Double($0.own) + shift, other: Double($0.other) + shift) },
            exact: OptionLetter.allCases.map { letter in
                let point = item.exactPoint(letter)
                return Payoff(own: point.own + shift, other: point.other + shift)
            })
    }

    /// The published items' allocations of the chosen options, by item number.
    static func published(_ answers: [Int: ItemAnswer]) -> [Int: Allocation] {
        var allocations: [Int: Allocation] = [:]
        for case (let number, .option(let letter)) in answers {
            if let item = SliderItem.number(number) { allocations[number] = item.allocation(letter) }
        }
        return allocations
    }

    /// Mean coins of the six primary answers on the published items (the S and O of §2.2).
    static func means(_ answers: [Int: ItemAnswer]) -> (own: Double, other: Double)? {
        let allocations = published(answers)
        let primary = (1...6).compactMap { allocations[$0] }
        guard primary.count == 6 else { return nil }
        return (Double(primary.map(\.own).reduce(0, +)) / 6, Double(primary.map(\.other).reduce(0, +)) / 6)
    }
}

/// Parallel forms of the slider (method.md §9.2): the six primary items, each item's line moved
/// along the diagonal by its own offset d (whole coins, −15..15 and not 0, drawn from the trial's
/// seed, every payoff positive). A diagonal shift keeps every difference own − other, so every
/// value's ideal letters are those of the published items, and the angle's centre (50, 50) moves
/// by the mean offset, so the same letters give the same θ: a trial is scored exactly as the
/// slider scores the same letters, and any difference between `slider` and `slider-parallel` is
/// the model reacting to the familiar numbers (the contamination check).
public struct ParallelSlider: SliderMeasure {
    public init() {}

    public var name: String { "slider-parallel" }
    public var summary: String { "the six primary slider items, each moved along the diagonal by its own offset" }

    /// The offsets of the trial with this seed, items 1-6.
    public static func offsets(seed: UInt64) -> [Int] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed, 0x5041_5241_4C4C))
        return SliderItem.primary.map { item in
            let lowest = item.options.map { min($0.own, $0.other) }.min()!
            while true {
                let draw = Int(rng.next() % 30)
                let offset = draw < 15 ? draw - 15 : draw - 14
                if lowest + offset > 0 { return offset }
            }
        }
    }

    /// The trial's form; its label is its offsets, as `trials.form` stores them ("3,-7,12,-1,5,9").
    public func form(seed: UInt64) -> InstrumentForm {
        let offsets = Self.offsets(seed: seed)
        return InstrumentForm(
            items: zip(SliderItem.primary, offsets).map { SliderInstrument.item($0, offset: $1) },
            label: offsets.map(String.init).joined(separator: ","))
    }
}

/// The slider's items, as published or moved along the diagonal: every instrument on the slider's
/// scale answers its letters as the published items would, so it shares the angle, its centre, the
/// ideal angle and the scorer (`Scorer`).
public protocol SliderMeasure: Instrument {}

extension SliderMeasure {
    /// θ of the chosen letters on the published items (§2.2).
    public func angle(_ answers: [Int: ItemAnswer], form: InstrumentForm) -> Double? {
        SVOAngle.angle(primaryAnswers: SliderInstrument.published(answers))
    }

    /// The means in the published items' frame: a parallel form's are the coins shown less the
    /// form's mean offset.
    public func means(_ answers: [Int: ItemAnswer], form: InstrumentForm) -> (own: Double, other: Double)? {
        SliderInstrument.means(answers)
    }

    public func pooledAngle(meanOwn: Double, meanOther: Double) -> Double {
        SVOAngle.angle(meanOwn: meanOwn, meanOther: meanOther)
    }

    /// θ* of the slider: a named value's is computed once (`ValueOrientation.idealAngle`).
    public func idealAngle(direction: Double) -> Double {
        ValueOrientation.allCases.first { $0.utilityDirection == direction }?.idealAngle
            ?? IdealAnswers.angle(direction: direction)!
    }

    public func score(
        _ readings: [ItemReading], form: InstrumentForm, asked: Set<Int>, assigned: Assignment, order: OptionOrder,
        seed: UInt64
    ) -> TrialScore {
        Scorer.score(readings, asked: asked, assigned: assigned, order: order, seed: seed)
    }
}
