import Design
import Foundation
import SVO
import Testing

@testable import Runner

@Suite("Experiment files")
struct ExperimentFileTests {
    static let minimal = """
        name: tiny
        models:
          - name: ideal
            agent: ideal
        """

    @Test("every registered model API is read by its name with its own keys and defaults, and stored and read back")
    func registeredModelAPIs() throws {
        #expect(Set(ModelAPIs.all.map { $0.name }).count == ModelAPIs.all.count)
        #expect(ModelAPIs.named(ProviderSpec.referenceKind) == nil)
        for api in ModelAPIs.all {
            let yaml = "name: r\nmodels:\n  - name: m\n    provider: \(api.name)\n    model: x\n"
            let experiment = try ExperimentFile.parse(yaml: yaml)
            let provider = experiment.models[0].provider
            #expect(provider.kind == api.name)
            #expect(provider.modelAPI == api)
            #expect(provider.api?.baseURL == api.defaultBaseURL)
            #expect(provider.api?.maxTokens == api.defaultMaxTokens)
            let stored = try JSONDecoder().decode(Experiment.self, from: Data(experiment.canonicalJSON.utf8))
            #expect(stored == experiment)
            #expect(stored.canonicalJSON == experiment.canonicalJSON)
            // A key only another API takes is refused, naming this model's keys.
            for other in ModelAPIs.all where other != api {
                var spec = provider.api!
                for key in try other.readOwnSettings(into: &spec, text: { _ in "v" })
                where try !api.readOwnSettings(into: &spec, text: { _ in nil }).contains(key) {
                    #expect(throws: ExperimentFileError.self) {
                        try ExperimentFile.parse(yaml: yaml + "    \(key): v\n")
                    }
                }
            }
        }
    }

    @Test("keys left out get the documented defaults")
    func defaults() throws {
        let experiment = try ExperimentFile.parse(yaml: Self.minimal)
        #expect(experiment.trials == 10)
        #expect(experiment.values == ValueOrientation.allCases)
        #expect(experiment.goals == [.with, .without])
        #expect(experiment.valueAssignment == .selfDescribed)
        #expect(experiment.instruments == ["slider"])
        #expect(experiment.optionOrders == [.original])
        #expect(experiment.maxAttempts == 3)
        #expect(experiment.templates == .standard)
        #expect(
            experiment.models == [ModelSpec(name: "ideal", provider: .reference(ReferenceAgentSpec(agent: .ideal)))])
        #expect(experiment.plan.count == 1 * 4 * 2 * 1 * 10)
    }

    @Test("the quickstart example parses")
    func quickstart() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "examples/quickstart.yaml").path
        let experiment = try ExperimentFile.load(path: path)
        #expect(experiment.models.map(\.name) == ["ideal", "noisy", "fixed-A", "stubborn-prosocial"])
        #expect(experiment.plan.count == 320)
    }

    @Test("every example file parses, and the local ones keep max_tokens high enough for a value description")
    func examples() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "examples")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
            .sorted()
        #expect(Set(["local.yaml", "local-both.yaml", "local-logprobs.yaml"]).isSubset(of: files))
        for file in files {
            let experiment = try ExperimentFile.load(path: folder.appending(path: file).path)
            for model in experiment.models {
                if let api = model.provider.api, file.hasPrefix("local") {
                    #expect((api.maxTokens ?? 0) >= 200, "\(file): \(model.name) max_tokens \(api.maxTokens ?? 0)")
                }
            }
        }
    }

    @Test("canonical JSON is stable and decodes back to the same experiment")
    func canonicalJSON() throws {
        let experiment = try ExperimentFile.parse(yaml: Self.minimal + "\nseed: 7\ngoal: with\n")
        let json = experiment.canonicalJSON
        #expect(json == (try ExperimentFile.parse(yaml: "goal: with\nseed: 7\n" + Self.minimal)).canonicalJSON)
        let decoded = try JSONDecoder().decode(Experiment.self, from: Data(json.utf8))
        #expect(decoded == experiment)
        #expect(json.contains("\"value_assignment\":\"self-described\""))
        #expect(json.contains("\"item\":\"This is the {{ordinal}} choice question."))
    }

    @Test("trial seeds depend on the cell and the run seed, not on the other models")
    func seeds() throws {
        let one = try ExperimentFile.parse(yaml: Self.minimal)
        let two = try ExperimentFile.parse(yaml: Self.minimal + "\n  - name: other\n    agent: random\n")
        func seeds(_ experiment: Experiment) -> [Int64] {
            experiment.plan.ordinals().map { experiment.plan.trial(at: $0).seed }
        }
        let seedsOne = seeds(one)
        #expect(Set(seedsOne).count == seedsOne.count)
        #expect(Array(seeds(two).prefix(seedsOne.count)) == seedsOne)
        let reseeded = try ExperimentFile.parse(yaml: Self.minimal + "\nseed: 2\n")
        #expect(seeds(reseeded) != seedsOne)
    }

    @Test("the plan lists every cell once, in the study's order, and slices cover it exactly", arguments: [1, 2, 3, 7])
    func plan(slices: Int) throws {
        let experiment = try ExperimentFile.parse(
            yaml: """
                name: plan
                trials: 3
                option_orders: [original, reversed]
                models:
                  - name: a
                    agent: ideal
                  - name: b
                    agent: random
                """)
        let plan = experiment.plan
        #expect(plan.total == 2 * 4 * 2 * 2 * 3)
        let all = plan.ordinals().map { plan.trial(at: $0) }
        #expect(all.count == plan.count)
        #expect(Set(all.map(\.key)).count == all.count)
        #expect(all.map(\.ordinal) == Array(0..<plan.total))
        // Model, then value, goal, order, replicate.
        #expect(all.prefix(4).map(\.key.index) == [1, 2, 3, 1])
        #expect(all[3].key.optionOrder == .reversed)
        #expect(all[6].key.goal == .without)
        #expect(all[plan.total / 2].key.model == "b")
        var covered: [Int] = []
        for index in 1...slices {
            let slice = TrialPlan(experiment: experiment, shard: (index, slices))
            let ordinals = Array(slice.ordinals())
            #expect(ordinals.count == slice.count)
            #expect(ordinals.allSatisfy { $0 % slices == index - 1 })
            // Walking a slice from anywhere starts at the slice's next trial.
            if let first = ordinals.first {
                #expect(Array(slice.ordinals(from: first + 1)) == Array(ordinals.dropFirst()))
            }
            covered += ordinals
        }
        #expect(covered.sorted() == Array(0..<plan.total))
    }

    static let badFiles: [(String, String)] = [
        (
            "name: x\nmodels:\n  - name: a\n    agent: ideal\ntrails: 3\n",
            """
            <experiment>:5: trails: unknown key (did you mean 'trials'?); allowed here: cache, concurrency, \
            description, goal, instrument, instruments, max_attempts, max_calls, max_cost, models, name, \
            option_orders, persona, seed, targets, templates, trials, value_assignment, values, variants
            """
        ),
        (
            "name: x\ntrials: many\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:2: trials: expected a whole number, found 'many'"
        ),
        (
            "name: x\ntrials: 0\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:2: trials: must be between 1 and 100000, found 0"
        ),
        (
            "name: x\nmodels:\n  - name: a\n    provider: openai\n    model: m\n    tokens_per_minute: 0\n",
            "<experiment>:6: models[0].tokens_per_minute: must be between 1.0 and 1000000000.0, found 0.0"
        ),
        (
            "name: x\nmodels:\n  - name: a\n    provider: anthropic\n    model: m\n    batch: yes please\n",
            "<experiment>:6: models[0].batch: expected true or false"
        ),
        (
            "name: x\nmodels:\n  - name: a\n    provider: openai\n    model: m\n    batch: true\n    batch_size: 0\n",
            "<experiment>:7: models[0].batch_size: must be between 1 and 100000, found 0"
        ),
        (
            "name: x\nmodels:\n  - name: a\n    agent: idel\n",
            "<experiment>:4: models[0].agent: expected one of ideal, noisy, fixed, stubborn, random, found 'idel'"
        ),
        (
            "name: x\nmodels:\n  - name: a\n    agent: fixed\n    letter: J\n",
            "<experiment>:5: models[0].letter: expected one letter from A to I, found 'J'"
        ),
        (
            "name: x\nmodels:\n  - name: a\n    agent: ideal\n    temperature: 3\n",
            """
            <experiment>:5: models[0].temperature: unknown key; the ideal reference agent takes agent, name, provider, \
            varied_replies
            """
        ),
        (
            "name: x\nmodels:\n  - name: a\n    agent: ideal\n  - name: a\n    agent: random\n",
            "<experiment>:5: models[1].name: 'a' is used twice; model names must be unique"
        ),
        (
            "name: x\nvalues: [prosocial, selfish]\nmodels:\n  - name: a\n    agent: ideal\n",
            """
            <experiment>:2: values[1]: expected one of altruistic, prosocial, individualistic, competitive, found \
            'selfish'
            """
        ),
        (
            "name: x\nvalues: [prosocial, prosocial]\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:2: values[1]: 'prosocial' appears twice"
        ),
        (
            "name: x\ngoal: sometimes\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:2: goal: expected with, without or both, found 'sometimes'"
        ),
        ("name: x\nmodels: []\n", "<experiment>:2: models: list at least one model"),
        ("models:\n  - name: a\n    agent: ideal\n", "<experiment>:1: name: is required"),
        (
            "name: x\nmodels:\n  - name: a\n    provider: openia\n",
            "<experiment>:4: models[0].provider: unknown provider 'openia'; expected reference, openai or anthropic"
        ),
        (
            "name: x\ntemplates:\n  item: \"{{choices}}\"\nmodels:\n  - name: a\n    agent: ideal\n",
            """
            <experiment>:3: templates.item: unknown placeholder {{choices}}; this template may use {{goal}}, \
            {{item_count}}, {{number}}, {{options}}, {{ordinal}}, {{value}}
            """
        ),
        (
            "name: x\ntemplates:\n  item: Pick one.\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:3: templates.item: must contain {{options}}, or the model never sees the options"
        ),
        ("name: [x\n", "<experiment>:2: not valid YAML: did not find expected ',' or ']'"),
        (
            "name: x\nmodels:\n\t- name: a\n    agent: ideal\n",
            "<experiment>:3: a tab indents this line; YAML indents with spaces only, so replace the tab with spaces"
        ),
        (
            "name: x\nmodels:\n  - name: a\n  \t  agent: ideal\n",
            "<experiment>:4: a tab indents this line; YAML indents with spaces only, so replace the tab with spaces"
        ),
        (
            "name: x\ndescription: \"never closed\ntrials: 2\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:2: the double quote opened on this line is never closed; add the closing quote"
        ),
        (
            "name: x\nmodels:\n  - name: 'a\n    agent: ideal\n",
            "<experiment>:3: the single quote opened on this line is never closed; add the closing quote"
        ),
        ("- just\n- a list\n", "<experiment>:1: the file must be a mapping of keys (name:, models:, ...)"),
        (
            "name: x\ninstruments: [slider, likert]\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:2: instruments[1]: expected one of slider, slider-full, slider-parallel, ring, dictator, "
                + "found 'likert'"
        ),
        (
            "name: x\ninstrument: full\ninstruments: [ring]\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:2: instrument: give instruments: or instrument:, not both (instrument: full is "
                + "instruments: [slider-full])"
        ),
        (
            "name: x\ninstruments: []\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:2: instruments: list at least one instrument, or leave the key out (slider)"
        ),
        (
            "name: x\ninstruments: [ring, dictator]\nvariants: [zh]\nmodels:\n  - name: a\n    agent: ideal\n",
            "<experiment>:3: variants: variant 'zh' words the slider only; ring, dictator have their own English "
                + "wording, so run it in an experiment without variants:"
        ),
        (
            "name: x\ninstruments: [slider, dictator]\nmodels:\n  - name: a\n    provider: openai\n"
                + "    model: m\n    base_url: http://127.0.0.1:1/v1\n    answer_from: logprobs\n",
            "<experiment>:2: instruments: dictator takes a number, which has no letter probabilities; model 'a' "
                + "reads them (answer_from: logprobs): set answer_from: text or run it in another experiment"
        ),
    ]

    @Test("bad files give one line naming the key and the line", arguments: badFiles)
    func errors(yaml: String, message: String) {
        do {
            _ = try ExperimentFile.parse(yaml: yaml)
            Issue.record("expected an error: \(message)")
        } catch let error as ExperimentFileError {
            #expect(error.description == message)
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test("instruments: cross the design; one slider instrument keeps the canonical JSON of instrument:")
    func instruments() throws {
        let old = try ExperimentFile.parse(yaml: Self.minimal + "\ninstrument: full\n")
        let new = try ExperimentFile.parse(yaml: Self.minimal + "\ninstruments: [slider-full]\n")
        #expect(old.instruments == ["slider-full"])
        #expect(new.canonicalJSON == old.canonicalJSON)
        #expect(old.canonicalJSON.contains("\"instrument\":\"full\""))
        #expect(try ExperimentFile.parse(yaml: Self.minimal).canonicalJSON.contains("\"instrument\":\"primary\""))
        let four = try ExperimentFile.parse(
            yaml: Self.minimal + "\ninstruments: [slider, slider-parallel, ring, dictator]\ntrials: 2\n")
        #expect(four.plan.count == 4 * 2 * 4 * 2)
        #expect(four.canonicalJSON.contains("\"instruments\":[\"slider\",\"slider-parallel\",\"ring\",\"dictator\"]"))
        let decoded = try JSONDecoder().decode(Experiment.self, from: Data(four.canonicalJSON.utf8))
        #expect(decoded == four)
        // Instruments are inside the replicate: the trials of one cell and replicate share their seed.
        let trials = (0..<four.plan.count).map(four.plan.trial(at:))
        #expect(
            trials.prefix(8).map(\.key.instrument) == [
                "slider", "slider", "slider-parallel", "slider-parallel", "ring", "ring", "dictator", "dictator",
            ])
        let byCell = Dictionary(grouping: trials) { "\($0.key.assignment.label) \($0.key.goal) \($0.key.index)" }
        for group in byCell.values {
            #expect(group.count == 4)
            #expect(Set(group.map(\.seed)).count == 1)
            #expect(Set(group.map(\.key.instrument)).count == 4)
        }
        // A slider trial's seed is the one it had before instruments.
        let plain = try ExperimentFile.parse(yaml: Self.minimal + "\ntrials: 2\n")
        let sliderTrials = trials.filter { $0.key.instrument == "slider" }
        #expect(sliderTrials.map(\.seed) == (0..<plain.plan.count).map { plain.plan.trial(at: $0).seed })
    }

    @Test("a missing file is a clear error")
    func missingFile() {
        #expect(throws: ExperimentFileError.self) { try ExperimentFile.load(path: "/nonexistent/exp.yaml") }
    }
}

@Suite("Prompt templates")
struct PromptTemplateTests {
    @Test(
        "placeholders are filled in one pass; unknown, unclosed and spaced ones behave as documented",
        arguments: [
            ("Be {{value}}.", "Be prosocial."),
            ("{{value}}{{value}}", "prosocialprosocial"),
            ("{{ value }} and {{ordinal}}", "prosocial and third"),
            ("{{unknown}} stays", "{{unknown}} stays"),
            ("open {{value", "open {{value"),
            ("θ {{value}} 🙂 — {{ordinal}}!", "θ prosocial 🙂 — third!"),
            ("{value} {{{value}}}", "{value} {{{value}}}"),  // the name read is "{value": unknown
            ("", ""),
            ("{{options}}", "A: 1, 2\n{{value}}"),  // a value is not rendered again
            ("no placeholders at all", "no placeholders at all"),
        ])
    func render(template: String, expected: String) {
        let values = ["value": "prosocial", "ordinal": "third", "options": "A: 1, 2\n{{value}}"]
        #expect(PromptTemplates.render(template, values) == expected)
    }
}
