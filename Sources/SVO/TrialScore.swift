import Foundation

/// The per-trial metrics of method.md §4, computed from the real options chosen on each item.
public struct TrialScore: Sendable, Equatable {
    public var angle: Double?
    public var category: ValueOrientation?
    public var hit: Bool?
    public var angularError: Double?
    public var valueRationality: Double?
    public var transitive: Bool?
    public var inequalityAversion: Double?
    /// Items asked but left unanswered after every attempt.
    public var invalidItems: Int
    /// Mean coins for self and for the other over the six primary answers (the S and O of §2.2),
    /// from which pooled angles are computed; nil unless all six were answered.
    public var meanOwn: Double?
    public var meanOther: Double?

    /// Scores the answers of one trial. `choices` maps item number to the real option chosen;
    /// `asked` lists the items that were asked. A missing primary answer leaves the angle and
    /// everything derived from it undefined (never zero).
    public init(choices: [Int: OptionLetter], asked: [Int], assigned: ValueOrientation) {
        var allocations: [Int: Allocation] = [:]
        for (number, letter) in choices {
            if let item = SliderItem.number(number) { allocations[number] = item.allocation(letter) }
        }
        invalidItems = asked.filter { choices[$0] == nil }.count
        angle = SVOAngle.angle(primaryAnswers: allocations)
        let primary = (1...6).compactMap { allocations[$0] }
        if primary.count == 6 {
            meanOwn = Double(primary.map(\.own).reduce(0, +)) / 6
            meanOther = Double(primary.map(\.other).reduce(0, +)) / 6
        }
        transitive = Transitivity.isTransitive(primaryAnswers: allocations)
        if let angle {
            let category = ValueOrientation.category(ofAngle: angle)
            self.category = category
            hit = category == assigned
            angularError = ValueRationality.angularError(angle: angle, assigned: assigned)
            valueRationality = ValueRationality.vr60(angle: angle, assigned: assigned)
            // §2.5: only prosocial trials of the full instrument have an inequality-aversion index.
            if category == .prosocial, asked.contains(where: { $0 > 6 }) {
                inequalityAversion = InequalityAversion.index(secondaryChoices: choices.filter { $0.key > 6 })
            }
        }
    }
}
