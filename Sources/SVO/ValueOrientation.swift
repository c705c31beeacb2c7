import Foundation

/// The four social value orientations a model can be assigned (method.md §1).
public enum ValueOrientation: String, CaseIterable, Sendable, Codable {
    case altruistic, prosocial, individualistic, competitive

    /// θ*: the angle the ideal answer pattern of this type produces on the six primary items.
    public var idealAngle: Double {
        switch self {
        case .altruistic: 61.39
        case .prosocial: 45.00
        case .individualistic: 7.82
        case .competitive: -16.26
        }
    }

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

    /// The plain-words definition used by the `defined` value-assignment mode.
    public var definition: String {
        switch self {
        case .altruistic: "An altruistic person tries to maximise the other person's payoff, with little or no regard for their own."
        case .prosocial: "A prosocial person tries to maximise the joint payoff of themselves and the other person, and prefers fair, equal outcomes."
        case .individualistic: "An individualistic person tries to maximise their own payoff, and is indifferent to what the other person gets."
        case .competitive: "A competitive person tries to maximise the difference between their own payoff and the other person's, even at a cost to themselves."
        }
    }

    /// The category of an SVO angle, with the study's half-open intervals (lo, hi]
    /// (method.md §2.3): an angle exactly on a boundary falls in the lower category.
    public static func category(ofAngle angle: Double) -> ValueOrientation {
        if angle > 57.15 { return .altruistic }
        if angle > 22.45 { return .prosocial }
        if angle > -12.04 { return .individualistic }
        return .competitive
    }
}
