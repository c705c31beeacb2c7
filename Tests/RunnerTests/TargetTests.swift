import Crypto
import Design
import Foundation
import SVO
import Store
import Testing

@testable import Runner

@Suite("Experiment files with targets")
struct TargetFileTests {
    static let models = """
        models:
          - name: ideal
            agent: ideal
        """

    @Test("targets are a list or a sweep with both ends; alone they replace the values, beside them they follow")
    func parse() throws {
        let sweep = try ExperimentFile.parse(yaml: "name: s\ntargets: {from: -45, to: 90, step: 15}\n" + Self.models)
        #expect(sweep.targets == [-45, -30, -15, 0, 15, 30, 45, 60, 75, 90])
        #expect(sweep.values.isEmpty)
        #expect(sweep.plan.total == 10 * 2 * 10)
        #expect(sweep.targetTemplates == .standard)
        let fine = try ExperimentFile.parse(yaml: "name: s\ntargets: {from: 0, to: 1, step: 0.1}\n" + Self.models)
        #expect(fine.targets == [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
        let both = try ExperimentFile.parse(
            yaml: "name: b\nvalues: [prosocial]\ntargets: [22.5, -7.125]\n" + Self.models)
        #expect(both.assignments == [.value(.prosocial), .target(22.5), .target(-7.125)])
        let plan = both.plan
        #expect(plan.ordinals().map { plan.trial(at: $0).key.assignment }.filter { $0 == .target(22.5) }.count == 20)
        let neither = try ExperimentFile.parse(yaml: "name: n\n" + Self.models)
        #expect(neither.values == ValueOrientation.allCases && neither.targets.isEmpty)
        #expect(neither.targetTemplates == nil)
    }

    @Test("an experiment without targets keeps the canonical JSON and hash it had before targets (0.4.0)")
    func canonicalJSONUnchanged() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let quickstart = try ExperimentFile.load(path: root.appending(path: "examples/quickstart.yaml").path)
        let json = quickstart.canonicalJSON
        #expect(!json.contains("target"))
        // The hash hvae 0.4.0 stored for examples/quickstart.yaml.
        let digest = SHA256.hash(data: Data(json.utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(digest == "bc2b35639609068e012ce08a031048005a8fa35d999c08b6ba7052cb6c9a2fb3")
        // With targets, both keys are stored and read back.
        let sweep = try ExperimentFile.parse(yaml: "name: s\ntargets: [10, 20]\n" + Self.models)
        #expect(sweep.canonicalJSON.contains("\"targets\":[10,20]"))
        #expect(sweep.canonicalJSON.contains("\"target_templates\":{"))
        #expect(try JSONDecoder().decode(Experiment.self, from: Data(sweep.canonicalJSON.utf8)) == sweep)
    }

    @Test("a named value's trials keep their seeds when targets are added; each target's trials have their own")
    func seeds() throws {
        let named = try ExperimentFile.parse(yaml: "name: s\nvalues: [prosocial]\n" + Self.models)
        let mixed = try ExperimentFile.parse(yaml: "name: s\nvalues: [prosocial]\ntargets: [45, 30]\n" + Self.models)
        func seeds(_ e: Experiment, _ assignment: Assignment) -> [Int64] {
            e.plan.ordinals().map { e.plan.trial(at: $0) }.filter { $0.key.assignment == assignment }.map(\.seed)
        }
        #expect(seeds(mixed, .value(.prosocial)) == seeds(named, .value(.prosocial)))
        let all = mixed.plan.ordinals().map { mixed.plan.trial(at: $0).seed }
        #expect(Set(all).count == all.count)
    }

    static let badTargets: [(String, String)] = [
        (
            "targets: [120]",
            "<experiment>:2: targets[0]: expected a direction φ in degrees from -90 to 90 "
                + "(altruistic is 90, prosocial 45, individualistic 0), found 120.0"
        ),
        ("targets: [12.3456]", "<experiment>:2: targets[0]: 12.3456 has more than three decimals; round it to 0.001°"),
        ("targets: [10, 20, 10]", "<experiment>:2: targets[2]: 10.0 appears twice"),
        (
            "targets: [ten]",
            "<experiment>:2: targets[0]: expected a direction φ in degrees from -90 to 90 "
                + "(altruistic is 90, prosocial 45, individualistic 0), found 'ten'"
        ),
        ("targets: []", "<experiment>:2: targets: list at least one direction, or leave the key out"),
        (
            "targets: {from: 90, to: 0, step: 15}",
            "<experiment>:2: targets.to: must not be below from (90.0); the sweep goes up"
        ),
        ("targets: {from: 0, to: 90}", "<experiment>:2: targets.step: is required in a sweep {from:, to:, step:}"),
        (
            "targets: {from: 0, to: 90, steps: 5}",
            "<experiment>:2: targets.steps: unknown key (did you mean 'step'?); a sweep has from:, to: and step:"
        ),
        (
            "targets: {from: -90, to: 90, step: 0.1}",
            "<experiment>:2: targets: is a sweep of 1801 targets; at most 1000 (use a larger step)"
        ),
        ("targets: 45", "<experiment>:2: targets: expected a list of directions, or {from:, to:, step:}"),
        (
            "templates:\n  target_role: Be it.",
            "<experiment>:3: templates.target_role: words the trials of targets, and this experiment has no targets:"
        ),
        (
            "targets: [10]\ntemplates:\n  item: \"{{value}} {{options}}\"",
            "<experiment>:4: templates.item: uses {{value}}, which target trials do not have; use {{weights}} "
                + "(the sentence of the weights)"
        ),
        (
            "targets: [10]\ntemplates:\n  weights_positive: \"{{weights}}\"",
            "<experiment>:4: templates.weights_positive: unknown placeholder {{weights}}; this template may use "
                + "{{phi}}, {{w}}"
        ),
    ]

    @Test("bad targets give one line naming the key, the line and the fix", arguments: badTargets)
    func errors(line: String, message: String) {
        do {
            _ = try ExperimentFile.parse(yaml: "name: x\n\(line)\n" + Self.models)
            Issue.record("expected an error: \(message)")
        } catch let error as ExperimentFileError {
            #expect(error.description == message)
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test("the weights are worded for each region of φ, with w = |tan φ| as a person reads it")
    func weights() {
        let t = TargetTemplates.standard
        func sentence(_ phi: Double) -> String { t.fields(direction: phi)["weights"]! }
        #expect(sentence(90) == t.weightsOtherOnly)
        #expect(sentence(75) == "You value each coin the other person gets 3.73 times as much as each coin you get.")
        #expect(sentence(45) == t.weightsEqual)
        #expect(sentence(15) == "You value each coin the other person gets 0.27 times as much as each coin you get.")
        #expect(sentence(0) == t.weightsSelfOnly)
        #expect(
            sentence(-30).hasPrefix("Every coin the other person gets is as bad for you as losing 0.58 of your own"))
        #expect(sentence(-45).contains("losing 1 of your own coins"))
        #expect(sentence(-63.435).contains("losing 2 of your own coins"))
        #expect(sentence(-90) == t.weightsAgainstOnly)
        // Never "0.00": a tiny weight keeps three significant digits.
        #expect(t.fields(direction: 0.1)["w"] == "0.00175")
        #expect(t.fields(direction: -22.5)["phi"] == "-22.5")
    }
}
