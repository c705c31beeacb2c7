import Foundation

/// A split of coins between the one choosing ("self") and another person ("other").
public struct Allocation: Hashable, Sendable, Codable {
    /// Coins for the one who chooses.
    public let own: Int
    /// Coins for the other participant.
    public let other: Int

    public init(own: Int, other: Int) {
        self.own = own
        self.other = other
    }
}

/// The nine option letters of a slider item, in the item's own order.
public enum OptionLetter: Int, CaseIterable, Sendable, Comparable, Codable {
    case a, b, c, d, e, f, g, h, i

    /// The letter as shown to a model ("A" ... "I").
    public var symbol: String { String(UnicodeScalar(UInt8(65 + rawValue))) }

    public init?(symbol: String) {
        guard symbol.count == 1, let scalar = symbol.uppercased().unicodeScalars.first,
            (65...73).contains(scalar.value)
        else { return nil }
        self.init(rawValue: Int(scalar.value) - 65)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One question of the SVO Slider Measure: nine allocations on the straight line between two
/// endpoints (method.md §2.1).
public struct SliderItem: Sendable, Hashable {
    /// 1...15; items 1-6 are the primary items.
    public let number: Int
    /// Option A.
    public let first: Allocation
    /// Option I.
    public let last: Allocation

    public var isPrimary: Bool { number <= 6 }

    /// The exact point of option `k` on the item's line, before rounding.
    public func exactPoint(_ option: OptionLetter) -> (own: Double, other: Double) {
        let t = Double(option.rawValue) / 8
        return (
            Double(first.own) + t * Double(last.own - first.own),
            Double(first.other) + t * Double(last.other - first.other)
        )
    }

    /// The option as shown on the questionnaire: each coordinate rounded half up.
    public func allocation(_ option: OptionLetter) -> Allocation {
        let point = exactPoint(option)
        return Allocation(own: Self.roundHalfUp(point.own), other: Self.roundHalfUp(point.other))
    }

    /// All nine options, A to I.
    public var options: [Allocation] { OptionLetter.allCases.map(allocation) }

    /// Half-up rounding (92.5 -> 93), as the printed measure uses; banker's rounding would
    /// give 92. Coordinates are exact multiples of 1/8, so the addition cannot mis-round.
    static func roundHalfUp(_ x: Double) -> Int { Int((x + 0.5).rounded(.down)) }
}

extension SliderItem {
    /// The 15 items of the SVO Slider Measure (Murphy, Ackermann & Handgraaf 2011), by endpoints.
    public static let all: [SliderItem] = [
        (1, (85, 85), (85, 15)),
        (2, (85, 15), (100, 50)),
        (3, (50, 100), (85, 85)),
        (4, (50, 100), (85, 15)),
        (5, (100, 50), (50, 100)),
        (6, (100, 50), (85, 85)),
        (7, (100, 50), (70, 100)),
        (8, (90, 100), (100, 90)),
        (9, (100, 70), (50, 100)),
        (10, (100, 70), (90, 100)),
        (11, (70, 100), (100, 70)),
        (12, (50, 100), (100, 90)),
        (13, (50, 100), (100, 50)),
        (14, (100, 90), (70, 100)),
        (15, (90, 100), (100, 50)),
    ].map { number, a, i in
        SliderItem(number: number, first: Allocation(own: a.0, other: a.1), last: Allocation(own: i.0, other: i.1))
    }

    /// Items 1-6, from which the SVO angle is computed.
    public static var primary: [SliderItem] { Array(all.prefix(6)) }

    /// Items 7-15, used for the inequality-aversion index.
    public static var secondary: [SliderItem] { Array(all.dropFirst(6)) }

    /// The item with this number (1...15).
    public static func number(_ n: Int) -> SliderItem? {
        (1...15).contains(n) ? all[n - 1] : nil
    }

    /// The item whose nine options are exactly these allocations, in any order.
    public static func matching(options: [Allocation]) -> SliderItem? {
        let wanted = Set(options)
        guard options.count == 9, wanted.count == 9 else { return nil }
        return all.first { Set($0.options) == wanted }
    }
}
