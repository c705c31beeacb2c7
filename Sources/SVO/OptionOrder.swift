import Foundation

/// The order in which an item's options are shown to the model (method.md §6: position bias).
/// Letters are relabelled; payoffs never change.
public enum OptionOrder: String, CaseIterable, Sendable, Codable {
    case original, reversed, shuffled

    /// The layout of one item for one trial. `seed` matters only for `shuffled`.
    public func layout(of item: SliderItem, seed: UInt64) -> OptionLayout {
        var order = OptionLetter.allCases
        switch self {
        case .original: break
        case .reversed: order.reverse()
        case .shuffled:
            var rng = SplitMix64(seed: SplitMix64.mix(seed, UInt64(item.number)))
            // Our own Fisher-Yates: the standard library's shuffle algorithm may change
            // between Swift releases, which would silently change stored layouts.
            for i in stride(from: order.count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return OptionLayout(item: item, realOptionAtShownPosition: order)
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
