import Foundation

/// The order in which an item's options are shown to the model (method.md §6: position bias).
/// Letters are relabelled; payoffs never change.
public enum OptionOrder: String, CaseIterable, Sendable, Codable {
    case original, reversed, shuffled

    /// The layout of one item for one trial. `seed` matters only for `shuffled`.
    public func layout(of item: SliderItem, seed: UInt64) -> OptionLayout {
        OptionLayout(item: item, realOptionAtShownPosition: permutation(count: 9, item: item.number, seed: seed))
    }

    /// The real options shown under the letters A, B, ... of an item of `count` options.
    public func permutation(count: Int, item number: Int, seed: UInt64) -> [OptionLetter] {
        var order = Array(OptionLetter.allCases.prefix(count))
        switch self {
        case .original: break
        case .reversed: order.reverse()
        case .shuffled:
            var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(number)))
            // Our own Fisher-Yates: the standard library's shuffle algorithm may change
            // between Swift releases, which would silently change stored layouts.
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return order
    }
}

/// How one item of an instrument is shown in one trial: which real option stands behind each
/// letter (`OptionOrder`), or, for an item that takes a number, its budget. What the prompt shows,
/// how a reply is read and which real option it chose all go through here.
public struct ItemLayout: Sendable, Hashable {
    public let item: InstrumentItem
    /// Index: shown position (A = 0); element: the item's real option. Empty for a number item.
    public let realOptionAtShownPosition: [OptionLetter]

    public init(item: InstrumentItem, order: OptionOrder, seed: UInt64) {
        self.item = item
        realOptionAtShownPosition = order.permutation(count: item.options.count, item: item.number, seed: seed)
    }

    /// The real option shown under `letter`; nil for a letter the item does not show.
    public func realOption(shown letter: OptionLetter) -> OptionLetter? {
        realOptionAtShownPosition.indices.contains(letter.rawValue) ? realOptionAtShownPosition[letter.rawValue] : nil
    }

    /// The (shown letter, payoff) pairs, in the order they are shown.
    public var shownOptions: [(letter: OptionLetter, payoff: Payoff)] {
        realOptionAtShownPosition.enumerated().map {
            (OptionLetter(rawValue: $0.offset)!, item.options[$0.element.rawValue])
        }
    }

    /// The options as the prompt's {{options}} lists them: one "A: 85, 85" line each.
    public var renderedOptions: String {
        shownOptions.map { "\($0.letter.symbol): \(Payoff.format($0.payoff.own)), \(Payoff.format($0.payoff.other))" }
            .joined(separator: "\n")
    }

    /// Reads a reply to the item: a letter it shows (`AnswerParser`, given the payoffs as shown), or
    /// a number in its range (`NumberReader`). A letter the item does not show names no option.
    /// Payoffs that are not whole coins (the ring's) are not matched against quoted numbers: a
    /// reply is read by its letter alone there, and never marked as quoting invented payoffs.
    public func read(
        _ reply: String,
        parse: (String, [(letter: OptionLetter, allocation: Allocation)]) -> ParsedAnswer = {
            AnswerParser.parse($0, shown: $1)
        }
    ) -> ParsedAnswer {
        if let budget = item.budget { return NumberReader.read(reply, range: 0...budget.tokens) }
        let shown = shownOptions
        let whole = shown.compactMap { entry in entry.payoff.allocation.map { (entry.letter, $0) } }
        let parsed: ParsedAnswer
        if whole.count == shown.count {
            parsed = parse(reply, whole)
        } else {
            // Payoffs no reply can quote as whole coins (every real payoff is at least -999).
            let unmatched = shown.map { ($0.letter, Allocation(own: -1000 - $0.letter.rawValue, other: -1000)) }
            let read = parse(reply, unmatched)
            parsed = ParsedAnswer(status: read.status, shownLetter: read.shownLetter)
        }
        if let letter = parsed.shownLetter, realOption(shown: letter) == nil { return .rejected(.noOption) }
        return parsed
    }

    /// The real answer behind a reading: the real option behind its letter, or its number.
    public func answer(_ parsed: ParsedAnswer) -> ItemAnswer? {
        guard parsed.status == .ok else { return nil }
        if let number = parsed.number { return .number(number) }
        return parsed.shownLetter.flatMap(realOption(shown:)).map(ItemAnswer.option)
    }
}

/// Which real option of an item stands behind each letter shown to the model.
public struct OptionLayout: Sendable, Hashable {
    public let item: SliderItem
    /// Index: shown position (A = 0); element: the item's real option.
    public let realOptionAtShownPosition: [OptionLetter]

    /// The real option shown under `letter`.
    public func realOption(shown letter: OptionLetter) -> OptionLetter {
        realOptionAtShownPosition[letter.rawValue]
    }

    /// The letter under which the real option is shown.
    public func shownLetter(of real: OptionLetter) -> OptionLetter {
        OptionLetter(rawValue: realOptionAtShownPosition.firstIndex(of: real)!)!
    }

    /// The nine (shown letter, payoff) pairs, in the order they are shown.
    public var shownOptions: [(letter: OptionLetter, allocation: Allocation)] {
        OptionLetter.allCases.map { ($0, item.allocation(realOption(shown: $0))) }
    }
}

/// A small, fast, seedable generator (Steele, Lea & Flood 2014), so that every random choice
/// is reproducible from a stored seed on any platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Derives an independent seed from a seed and a label, e.g. (trial seed, item number).
    public static func mix(_ seed: UInt64, _ label: UInt64) -> UInt64 {
        var rng = SplitMix64(seed: seed ^ (label &* 0xD1B5_4A32_D192_ED03))
        return rng.next()
    }

    /// The generator as it will be after `draws` more calls of `next()`: the state advances by a
    /// constant per draw, so any point of the stream is one step away.
    public func advanced(by draws: UInt64) -> SplitMix64 {
        var copy = self
        copy.state &+= draws &* 0x9E37_79B9_7F4A_7C15
        return copy
    }

    /// A uniform double in [0, 1).
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
