import Foundation

/// The four social value orientations a model can be assigned (method.md §1).
public enum ValueOrientation: String, CaseIterable, Sendable, Codable {
    case altruistic, prosocial, individualistic, competitive

    /// The direction in payoff space that such a person maximises: own·cos φ + other·sin φ.
    /// Altruists maximise the other's payoff (90°), prosocials the sum (45°),
    /// individualists their own (0°), competitors the difference (-45°).
    public var utilityDirection: Double {
        switch self {
        case .altruistic: 90
        case .prosocial: 45
        case .individualistic: 0
        case .competitive: -45
        }
    }

    /// θ*: the angle of this type's ideal answer pattern on the six primary items (method.md §2.4),
    /// computed from the pattern exactly as a trial's angle is, so that a trial answering the
    /// ideal pattern has |θ − θ*| = 0 exactly. (Scoring formula v1 used constants rounded to two
    /// decimals, which left the ideal agent at VR 59.9995 for altruistic.)
    public var idealAngle: Double { Self.idealAngles[self]! }

    private static let idealAngles: [ValueOrientation: Double] = Dictionary(
        uniqueKeysWithValues: allCases.map { value in
            (value, IdealAnswers.angle(direction: value.utilityDirection)!)
        })

    /// The plain-words definition used by the `defined` value-assignment mode.
    public var definition: String {
        switch self {
        case .altruistic:
            "An altruistic person tries to maximise the other person's payoff, with little or no regard for their own."
        case .prosocial:
            """
            A prosocial person tries to maximise the joint payoff of themselves and the other person, and prefers \
            fair, equal outcomes.
            """
        case .individualistic:
            """
            An individualistic person tries to maximise their own payoff, and is indifferent to what the other person \
            gets.
            """
        case .competitive:
            """
            A competitive person tries to maximise the difference between their own payoff and the other person's, \
            even at a cost to themselves.
            """
        }
    }

    /// The category of an SVO angle, with the study's half-open intervals (lo, hi]
    /// (method.md §2.3): an angle exactly on a boundary falls in the lower category.
    public static func category(ofAngle angle: Double) -> ValueOrientation {
        if angle > categoryBoundaries[2] { return .altruistic }
        if angle > categoryBoundaries[1] { return .prosocial }
        if angle > categoryBoundaries[0] { return .individualistic }
        return .competitive
    }

    /// The category boundaries in degrees, lowest first (competitive | individualistic |
    /// prosocial | altruistic).
    public static let categoryBoundaries = [-12.04, 22.45, 57.15]
}

/// The answers of a respondent who maximises own·cos φ + other·sin φ (method.md §2.4): the rule
/// behind θ* and behind the `ideal` and `stubborn` reference agents, kept in one place.
public enum IdealAnswers {
    /// The option that maximises the utility of direction `direction` (degrees) on `item`,
    /// judged on the option's exact point on the item's line (rounding would break the constant
    /// sum of item 5 and so the prosocial tie). Ties go to the option nearest to an equal split,
    /// then to the earlier option.
    public static func option(on item: SliderItem, direction: Double) -> OptionLetter {
        let points = OptionLetter.allCases.map { letter in
            let point = item.exactPoint(letter)
            return Payoff(own: point.own, other: point.other)
        }
        return OptionLetter(rawValue: best(points, direction))!
    }

    /// The index of the point that maximises the utility of direction `direction`: the rule of
    /// every instrument's ideal answer. Ties (within 1e-9 coins) go to the point nearest to an
    /// equal split, then to the earlier point.
    public static func best(_ points: [Payoff], _ direction: Double) -> Int {
        var best = 0
        for index in points.indices.dropFirst() {
            let (u, bestU) = (points[index].utility(direction: direction), points[best].utility(direction: direction))
            if u > bestU + 1e-9
                || (abs(u - bestU) <= 1e-9 && inequality(points[index]) < inequality(points[best]))
            {
                best = index
            }
        }
        return best
    }

    /// own·cos φ + other·sin φ at the option's exact point on the item's line.
    public static func utility(_ option: OptionLetter, on item: SliderItem, direction: Double) -> Double {
        let point = item.exactPoint(option)
        return Payoff(own: point.own, other: point.other).utility(direction: direction)
    }

    /// How far a point is from an equal split.
    static func inequality(_ point: Payoff) -> Double { abs(point.own - point.other) }

    /// The ideal options on items 1-6, by item number.
    public static func primaryPattern(direction: Double) -> [Int: OptionLetter] {
        Dictionary(uniqueKeysWithValues: SliderItem.primary.map { ($0.number, option(on: $0, direction: direction)) })
    }

    /// The angle of the ideal pattern, computed as a trial's angle is (`SVOAngle`).
    public static func angle(direction: Double) -> Double? {
        let pattern = primaryPattern(direction: direction)
        var allocations: [Int: Allocation] = [:]
        for (number, option) in pattern { allocations[number] = SliderItem.number(number)!.allocation(option) }
        return SVOAngle.angle(primaryAnswers: allocations)
    }
}
