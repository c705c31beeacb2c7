import Foundation

/// What a trial is told to pursue (method.md §8): one of the four named values, or a utility
/// direction φ given as weights ("a target"). Both have a direction and an ideal angle θ*; a
/// named value's are its own (`ValueOrientation.utilityDirection`, `idealAngle`), so a target of
/// φ = 45 has the θ* of prosocial, and the VR of the four values is the same whichever way they
/// are asked for.
public enum Assignment: Hashable, Sendable {
    /// One of the four values, told by name (the study's design).
    case value(ValueOrientation)
    /// A direction φ in degrees, −90 ≤ φ ≤ 90, told as how much the other's coins weigh against one's own.
    case target(Double)

    /// The range a target's direction may take: from caring only that the other gets as little
    /// as possible (−90) to caring only about the other (90); own coins never count against one.
    public static let directions: ClosedRange<Double> = -90...90

    /// φ in degrees: the direction in payoff space maximised, own·cos φ + other·sin φ.
    public var direction: Double {
        switch self {
        case .value(let value): value.utilityDirection
        case .target(let phi): phi
        }
    }

    /// θ*: the angle of the ideal answer pattern for this direction, computed as a trial's angle
    /// is (`IdealAnswers.angle`), so that the ideal agent's trials have |θ − θ*| = 0 exactly.
    public var idealAngle: Double {
        switch self {
        case .value(let value): value.idealAngle
        case .target(let phi): IdealAnswers.angle(direction: phi)!
        }
    }

    /// The named value, or nil for a target.
    public var value: ValueOrientation? {
        if case .value(let value) = self { return value }
        return nil
    }

    /// How reports name it: the value's name, or `phi=22.5` for a target (ASCII, so that it can
    /// go into CSV, LaTeX and file names unchanged).
    public var label: String {
        switch self {
        case .value(let value): value.rawValue
        case .target(let phi): "phi=\(Self.format(phi))"
        }
    }

    /// A direction written with at most three decimals and no trailing zeros: 45, -22.5, 7.125.
    public static func format(_ phi: Double) -> String {
        let rounded = (phi * 1000).rounded() / 1000
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        var text = String(format: "%.3f", rounded)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    /// The order reports list assignments in: the four values first, as `ValueOrientation.allCases`
    /// lists them (altruistic to competitive), then targets from the largest direction down.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.value(let a), .value(let b)):
            ValueOrientation.allCases.firstIndex(of: a)! < ValueOrientation.allCases.firstIndex(of: b)!
        case (.value, .target): true
        case (.target, .value): false
        case (.target(let a), .target(let b)): a > b
        }
    }
}

extension Assignment: Comparable {}
