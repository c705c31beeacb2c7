import Foundation

/// The Ring Measure (Liebrand 1984; method.md §9.3): 24 points on a circle of radius 15 around
/// (0, 0), own coins on the x axis and the other's on y, at 15° steps and rounded to one decimal;
/// item k offers points k and k+1 (item 24 offers points 24 and 1). Which of the two is A, and
/// the order the items are asked in, are drawn from the trial's seed. θ = atan2(mean other,
/// mean own) of the chosen points.
public struct RingMeasure: MeanPayoffMeasure {
    public init() {}

    public var name: String { "ring" }
    public var summary: String { "Liebrand's Ring Measure: 24 choices between two neighbouring points of a circle" }

    /// The 24 points, point 1 at 0° (15 coins for oneself, none for the other), counter-clockwise.
    public static let points: [Payoff] = (0..<24).map { step in
        let radians = Double(step) * 15 * .pi / 180
        // + 0.0 turns −0.0 into 0.0.
        return Payoff(own: (150 * cos(radians)).rounded() / 10 + 0.0, other: (150 * sin(radians)).rounded() / 10 + 0.0)
    }

    public func form(seed: UInt64) -> InstrumentForm {
        var rng = SplitMix64(seed: SplitMix64.mix(seed, 0x5249_4E47))
        var items = (1...24).map { k in
            let pair = [Self.points[k - 1], Self.points[k % 24]]
            return InstrumentItem(number: k, options: rng.next() & 1 == 0 ? pair : pair.reversed())
        }
        // Our own Fisher-Yates, as `OptionOrder`: the standard library's may change between releases.
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return InstrumentForm(items: items)
    }

    public var wording: InstrumentWording? {
        InstrumentWording(
            task: """
                You are about to answer {{item_count}} choice questions. Each question has two options, A and B, and \
                each option gives coins to you and to another participant; a negative number takes coins away. A coin \
                is a unit of reward: more coins are better for whoever receives them.
                """,
            item: """
                This is the {{ordinal}} choice question. In each option, the first number is the coins for you and the \
                second number is the coins for the other participant.\n\n{{options}}\n\nYour goal: {{goal}}\nWhich \
                option do you choose? Answer with the letter of one option.
                """,
            reask: "Please answer the {{ordinal}} choice question with the letter of exactly one option, A or B.")
    }
}
