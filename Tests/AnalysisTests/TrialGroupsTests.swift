import Domain
import SVO
import Store
import Testing

@testable import Analysis

@Suite("Trials grouped in one place, in the study's order")
struct TrialGroupsTests {
    /// Trials in a scrambled order: models b before a, targets and values mixed, orders reversed first.
    static let trials: [TrialResult] = {
        let assignments: [Assignment] = [.target(22.5), .value(.competitive), .target(67.5), .value(.altruistic)]
        var trials: [TrialResult] = []
        for model in ["b", "a"] {
            for order in [OptionOrder.reversed, .original] {
                for assignment in assignments {
                    for index in [2, 1] {
                        trials.append(
                            TrialResult(
                                trialID: Int64(trials.count + 1), runID: model == "a" ? 7 : 3,
                                key: TrialKey(
                                    model: model, assignment: assignment, goal: index == 1 ? .without : .with,
                                    optionOrder: order, index: index),
                                status: .complete))
                    }
                }
            }
        }
        return trials
    }()

    @Test("groups come in the study's order whatever the trials' order; members keep theirs")
    func studyOrder() {
        let groups = TrialGroups(Self.trials.reversed(), by: [.model, .value])
        // Models as they first appear (a, in the reversed list); values A, P, I, C, then targets
        // from the largest direction down.
        #expect(
            groups.keys == [
                ["a", "altruistic"], ["a", "competitive"], ["a", "phi=67.5"], ["a", "phi=22.5"],
                ["b", "altruistic"], ["b", "competitive"], ["b", "phi=67.5"], ["b", "phi=22.5"],
            ])
        for (key, members) in groups.groups {
            let expected = Self.trials.reversed().filter { $0.key.model == key[0] && $0.key.assignment.label == key[1] }
            #expect(members.map(\.trialID) == expected.map(\.trialID))
        }
        let byRun = TrialGroups(Self.trials, by: [.run, .optionOrder, .goal])
        #expect(byRun.keys.first == ["3", "original", "with"] && byRun.keys.last == ["7", "reversed", "without"])
        #expect(byRun.keys.count == 8)
    }

    @Test("a group is found by its values; one without trials is empty")
    func lookup() {
        let groups = TrialGroups(Self.trials, by: [.model, .value, .optionOrder])
        #expect(groups["b", "phi=67.5", "reversed"].map(\.trialID) == [5, 6])
        #expect(groups["a", "competitive", "original"].map(\.key.index) == [2, 1])
        #expect(groups["a", "prosocial", "original"].isEmpty)
        #expect(groups["a", "competitive"].isEmpty)
        // Instruments a newer hvae wrote: each its own group, after the registered ones.
        let unknown = Self.trials.enumerated().map { index, trial in
            var trial = trial
            trial.key.instrument = ["maze", "ring", "lottery"][index % 3]
            return trial
        }
        #expect(TrialGroups(unknown, by: [.instrument]).keys == [["ring"], ["maze"], ["lottery"]])
        let all = TrialGroups(Self.trials, by: [])
        #expect(all.keys == [[]] && all.members[0].count == Self.trials.count)
    }
}
