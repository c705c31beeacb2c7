import Domain
import Foundation
import SVO
import Store
import Testing

@testable import Analysis

@Suite("Intervals remembered by their exact inputs give the numbers computed afresh")
struct IntervalMemoTests {
    /// 3 models × 2 values × 2 goals of 30 trials each, VR drawn from a seeded stream.
    static func trials(seed: UInt64 = 11) -> [TrialResult] {
        var rng = SplitMix64(seed: seed)
        var trials: [TrialResult] = []
        for model in ["a", "b", "c"] {
            for value in [ValueOrientation.prosocial, .competitive] {
                for goal in GoalCondition.allCases {
                    for index in 1...30 {
                        var trial = TrialResult(
                            trialID: Int64(trials.count + 1), runID: 1,
                            key: TrialKey(model: model, value: value, goal: goal, optionOrder: .original, index: index),
                            status: .complete)
                        trial.vr = (rng.nextUnit() * 60 * 100).rounded() / 100
                        trial.angle = 45 - trial.vr!
                        trials.append(trial)
                    }
                }
            }
        }
        return trials
    }

    let options = ReportOptions(resamples: 500)

    @Test("a report with a memo equals one without, and a second build bootstraps nothing again")
    func sameNumbers() {
        let trials = Self.trials()
        let memo = IntervalMemo()
        let plain = Report.build(trials, filter: TrialFilter(runIDs: [1]), options: options)
        let remembered = Report.build(trials, filter: TrialFilter(runIDs: [1]), options: options, memo: memo)
        #expect(remembered == plain)
        #expect(plain.cells.count == 12 && memo.computed == 12)
        let again = Report.build(trials, filter: TrialFilter(runIDs: [1]), options: options, memo: memo)
        #expect(again == plain)
        #expect(memo.computed == 12)
        // Other resamples or another seed are other intervals.
        _ = Report.build(
            trials, filter: TrialFilter(runIDs: [1]), options: ReportOptions(resamples: 501), memo: memo)
        #expect(memo.computed == 24)
    }

    @Test("one trial changed: only its cell is bootstrapped again, and it gets its new interval")
    func oneCellChanged() throws {
        var trials = Self.trials()
        let memo = IntervalMemo()
        _ = Report.build(trials, filter: TrialFilter(runIDs: [1]), options: options, memo: memo)
        trials[40].vr = 59.99
        let remembered = Report.build(trials, filter: TrialFilter(runIDs: [1]), options: options, memo: memo)
        #expect(memo.computed == 13)
        #expect(remembered == Report.build(trials, filter: TrialFilter(runIDs: [1]), options: options))
        // A value's sign bit counts: -0.0 and 0.0 are different inputs, never taken for each other.
        #expect(memo.interval([0.0, 1.0, 2.0, 3.0, 4.0], resamples: 50, confidence: 0.95, seed: 1) != nil)
        _ = memo.interval([-0.0, 1.0, 2.0, 3.0, 4.0], resamples: 50, confidence: 0.95, seed: 1)
        #expect(memo.computed == 15)
    }

    @Test("a full memo starts afresh and still gives the same numbers")
    func capacity() {
        let trials = Self.trials()
        let memo = IntervalMemo(capacity: 100)  // three cells of 30 values at a time
        let plain = Report.build(trials, filter: TrialFilter(runIDs: [1]), options: options)
        #expect(Report.build(trials, filter: TrialFilter(runIDs: [1]), options: options, memo: memo) == plain)
        #expect(Report.build(trials, filter: TrialFilter(runIDs: [1]), options: options, memo: memo) == plain)
        #expect(memo.computed > 12)
    }
}
