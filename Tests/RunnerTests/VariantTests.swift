import Design
import Foundation
import SVO
import Store
import Testing

@testable import Runner

@Suite("Prompt variants: named wordings crossed with the design")
struct VariantTests {
    static let models = "models:\n  - name: ideal\n    agent: ideal\n"

    @Test("default is the file's templates; built-ins and defined sets follow it; the study's trials keep their seeds")
    func parse() throws {
        let study = try ExperimentFile.parse(yaml: "name: v\ntemplates:\n  reask: Again.\n" + Self.models)
        let crossed = try ExperimentFile.parse(
            yaml: """
                name: v
                templates:
                  reask: Again.
                variants:
                  - default
                  - zh
                  - paraphrase
                  - name: terse
                    templates:
                      item: "Q{{number}}: {{options}}"
                """ + "\n" + Self.models)
        #expect(crossed.variants.map(\.name) == ["default", "zh", "paraphrase", "terse"])
        #expect(crossed.variants[0] == study.defaultVariant && crossed.variants[0].templates.reask == "Again.")
        #expect(crossed.variants[1] == PromptVariant.chinese && crossed.variants[1].language == "zh")
        // A defined set starts from the file's own templates and replaces what it names.
        #expect(crossed.variants[3].templates.item == "Q{{number}}: {{options}}")
        #expect(crossed.variants[3].templates.reask == "Again.")
        #expect(crossed.plan.total == 4 * study.plan.total)
        let defaults = crossed.plan.ordinals().map { crossed.plan.trial(at: $0) }.filter { $0.key.variant == "default" }
        #expect(defaults.map(\.seed) == study.plan.ordinals().map { study.plan.trial(at: $0).seed })
        #expect(!study.canonicalJSON.contains("variants"))
        #expect(try JSONDecoder().decode(Experiment.self, from: Data(crossed.canonicalJSON.utf8)) == crossed)
        // Every built-in set fills every placeholder it needs: no template of one uses one it may not.
        for variant in PromptVariant.builtIn.values {
            for (key, text) in [
                ("item", variant.templates.item), ("reask", variant.templates.reask),
                ("value_prompt", variant.templates.valuePrompt), ("role", variant.templates.role),
            ] {
                #expect(
                    PromptTemplates.placeholders(in: text).isSubset(of: PromptTemplates.placeholders[key]!),
                    "\(variant.name).\(key)")
            }
            #expect(variant.templates.item.contains("{{options}}"))
            #expect(Set(ValueOrientation.allCases.map(variant.name(of:))).count == 4)
        }
    }

    static let bad: [(String, String)] = [
        (
            "variants: [default, klingon]",
            "<experiment>:2: variants[1]: unknown variant 'klingon'; built in: default, paraphrase, zh, or define one "
                + "as {name:, templates:}"
        ),
        ("variants: [zh, zh]", "<experiment>:2: variants[1]: 'zh' appears twice"),
        (
            "variants:\n  - name: Mine\n    templates: {reask: x}",
            "<experiment>:3: variants[0].name: 'Mine' cannot name a new variant: use 1-40 of a-z, 0-9, - and _, and "
                + "not default, paraphrase, zh"
        ),
        (
            "variants:\n  - name: mine\n    templates: {item: no options here}",
            "<experiment>:4: variants[0].templates.item: must contain {{options}}, or the model never sees the options"
        ),
        (
            "variants:\n  - name: mine\n    wording: {}",
            "<experiment>:4: variants[0].wording: unknown key; a variant has name:, language: and templates:"
        ),
    ]

    @Test("bad variants give one line naming the key, the line and the fix", arguments: bad)
    func errors(line: String, message: String) {
        do {
            _ = try ExperimentFile.parse(yaml: "name: x\n\(line)\n" + Self.models)
            Issue.record("expected an error: \(message)")
        } catch {
            #expect("\(error)" == message)
        }
    }
}
