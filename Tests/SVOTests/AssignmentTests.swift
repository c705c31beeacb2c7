import Foundation
import Testing

@testable import SVO

@Suite("Targets: a direction told as weights instead of a value's name")
struct AssignmentTests {
    /// Six readings of a pattern of letters for items 1-6.
    static func readings(_ pattern: String) -> [ItemReading] {
        pattern.enumerated().map {
            ItemReading(item: $0.offset + 1, attempt: 1, option: OptionLetter(symbol: String($0.element)))
        }
    }

    @Test("a target at a value's direction has its θ*, and scores every answer pattern as the value does, but a hit")
    func valuesKeepTheirNumbers() throws {
        // Every pattern of three letters on items 1-6 (729), which covers both ends and the middle.
        let letters = ["A", "E", "I"]
        var patterns = [""]
        for _ in 1...6 { patterns = patterns.flatMap { prefix in letters.map { prefix + $0 } } }
        #expect(patterns.count == 729)
        for value in ValueOrientation.allCases {
            let target = Assignment.target(value.utilityDirection)
            #expect(target.idealAngle == value.idealAngle)
            #expect(Assignment.value(value).idealAngle == value.idealAngle)
            for pattern in patterns {
                let named = Scorer.score(Self.readings(pattern), asked: Set(1...6), assigned: .value(value))
                let told = Scorer.score(Self.readings(pattern), asked: Set(1...6), assigned: target)
                #expect(told.valueRationality == named.valueRationality)
                #expect(told.angularError == named.angularError)
                #expect(told.angle == named.angle && told.category == named.category)
                #expect(named.hit != nil && told.hit == nil)
            }
        }
    }

    @Test("a target's θ* is the angle of the pattern that maximises its utility, and VR is measured from it")
    func targetIdealAngle() throws {
        // φ = 30: the ideal pattern AIIAII (own·cos 30° + other·sin 30° on each item's exact points).
        let pattern = IdealAnswers.primaryPattern(direction: 30)
        let letters = (1...6).map { pattern[$0]!.symbol }.joined()
        let theta = try #require(
            SVOAngle.angle(
                primaryAnswers: Dictionary(
                    uniqueKeysWithValues: (1...6).map {
                        ($0, SliderItem.number($0)!.allocation(pattern[$0]!))
                    })))
        #expect(Assignment.target(30).idealAngle == theta)
        let ideal = Scorer.score(Self.readings(letters), asked: Set(1...6), assigned: .target(30))
        #expect(ideal.valueRationality == 60 && ideal.angularError == 0)
        // Always A (30.47°) against φ = 30's θ*.
        let first = Scorer.score(Self.readings("AAAAAA"), asked: Set(1...6), assigned: .target(30))
        #expect(first.angularError == abs(first.angle! - theta))
        #expect(first.valueRationality == max(0, 60 - abs(first.angle! - theta)))
        // θ* never decreases as φ grows: the ideal respondent moves with the target.
        let sweep = stride(from: -90.0, through: 90, by: 5).map { Assignment.target($0).idealAngle }
        #expect(zip(sweep, sweep.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(sweep.first! < sweep.last!)
    }

    @Test("labels are ASCII with at most three decimals, and values sort before targets, largest direction first")
    func labelsAndOrder() {
        #expect(Assignment.value(.prosocial).label == "prosocial")
        #expect(Assignment.target(22.5).label == "phi=22.5")
        #expect(Assignment.target(-45).label == "phi=-45")
        #expect(Assignment.target(7.125).label == "phi=7.125")
        #expect(Assignment.target(0).label == "phi=0")
        let sorted = [Assignment.target(-15), .value(.competitive), .target(60), .value(.altruistic)].sorted()
        #expect(sorted == [.value(.altruistic), .value(.competitive), .target(60), .target(-15)])
    }
}
