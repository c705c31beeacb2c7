import Domain
import Foundation
import GRDB
import ModelServer
import SVO
import Store
import Testing

@testable import Runner

@Suite("Persona placement: the value assignment in the system message")
struct PlacementTests {
    @Test(
        "persona: [user, system] over the Anthropic and OpenAI wire formats: system trials send it as each API expects",
        arguments: ["anthropic", "openai"], ["self-described", "defined"])
    func wireFormats(provider: String, assignment: String) async throws {
        let server = try ModelAPIServer(api: provider == "anthropic" ? .anthropic : .openai, modelID: "t") { _, _ in
            .reply("C")
        }
        defer { server.stop() }
        let (scratch, runID, _) = try await runAPI(
            apiExperiment(
                server, provider: provider, trials: 1,
                top: "persona: [user, system]\nvalue_assignment: \(assignment)"))
        let trials = try await scratch.store.trialResults(TrialFilter(runIDs: [runID]))
        #expect(trials.map(\.key.placement) == [.user, .system])
        #expect(trials.allSatisfy { $0.status == .complete })
        let named = "social value orientation is prosocial"
        var systems: [String?] = []
        for request in server.requests {
            let body = try #require(request.json)
            let messages = try #require(body["messages"] as? [[String: String]])
            let system: String? =
                provider == "anthropic"
                ? body["system"] as? String
                : messages.first { $0["role"] == "system" }?["content"]
            let dialogue = messages.filter { $0["role"] != "system" }
            // The assignment is in one place or the other, never in both.
            #expect((system?.contains(named) ?? false) != dialogue.contains { $0["content"]!.contains(named) })
            if provider == "anthropic" { #expect(!messages.contains { $0["role"] == "system" }) }
            systems.append(system)
        }
        // Self-described: 1 value call + 6 items per trial; defined: 6 items.
        let perTrial = assignment == "defined" ? 6 : 7
        #expect(server.requests.count == 2 * perTrial)
        #expect(systems.filter { $0 != nil }.count == perTrial)
        let system = try #require(systems.compactMap { $0 }.first)
        #expect(system.contains("From now on, act fully as a person with this prosocial value system."))
        if assignment == "defined" {
            #expect(system.contains(ValueOrientation.prosocial.definition))
        } else {
            #expect(!system.contains(ValueOrientation.prosocial.definition))
        }
        // Stored byte for byte: the system trial's chain opens with the system turn.
        let roles = try await scratch.reader.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT r.role FROM turns AS r JOIN trials AS t ON t.id = r.trial_id
                    WHERE t.placement = 'system' ORDER BY r.position LIMIT 2
                    """)
        }
        #expect(roles == ["system", "user"])
    }

    @Test(
        "a model's own system message is sent first, as written (an empty one too), in both placements",
        arguments: [nil, "", "Answer as a careful survey respondent."])
    func ownSystemMessage(own: String?) async throws {
        let server = try ModelAPIServer(api: .openai, modelID: "t") { _, _ in .reply("C") }
        defer { server.stop() }
        let line = own.map { "system: \"\($0)\"" } ?? ""
        let (scratch, runID, _) = try await runAPI(
            apiExperiment(
                server, trials: 1, extra: "    " + line, top: "persona: [user, system]\nvalue_assignment: defined"))
        let trials = try await scratch.store.trialResults(TrialFilter(runIDs: [runID]))
        #expect(trials.count == 2 && trials.allSatisfy { $0.status == .complete })
        var userFirst: Set<String?> = []
        var systemFirst: Set<String> = []
        for request in server.requests {
            let messages = try #require(request.json?["messages"] as? [[String: String]])
            #expect(messages.filter { $0["role"] == "system" }.count <= 1)
            let first = messages[0]["role"] == "system" ? messages[0]["content"] : nil
            let dialogue = messages.filter { $0["role"] != "system" }
            if dialogue.contains(where: { $0["content"]!.contains("social value orientation is prosocial") }) {
                // The dialogue placement: the model's own message, or none at all.
                userFirst.insert(first)
            } else {
                systemFirst.insert(try #require(first))
            }
        }
        #expect(userFirst == [own])
        #expect(systemFirst.count == 1)
        let assignment = try #require(systemFirst.first)
        #expect(assignment.hasPrefix(own.map { $0.isEmpty ? "" : $0 + "\n\n" } ?? ""))
        #expect(assignment.dropFirst(own.map { $0.isEmpty ? 0 : $0.count + 2 } ?? 0).hasPrefix("Imagine"))
        // Stored as sent: the user trial's chain opens with the system turn exactly when one was given.
        let stored = try await scratch.reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT r.role, x.body FROM turns AS r JOIN trials AS t ON t.id = r.trial_id
                    JOIN texts AS x ON x.sha256 = r.text_sha256
                    WHERE t.placement = 'user' AND r.position = 0
                    """)
        }
        #expect(stored.count == 1)
        #expect((stored[0]["role"] as String) == (own == nil ? "user" : "system"))
        if let own { #expect((stored[0]["body"] as String) == own) }
    }

    @Test("system: is text: a key with no value, or on a reference agent, is refused with the fix")
    func ownSystemMessageRefused() throws {
        let api = "models:\n  - name: m\n    provider: openai\n    model: x\n    base_url: http://127.0.0.1:9/v1\n"
        for (yaml, message) in [
            (
                api + "    system:\n",
                "<experiment>:7: models[0].system: expected the text of the model's system message; write "
                    + "system: \"\" for an empty one"
            ),
            (api + "    system: ~\n", "<experiment>:7: models[0].system: expected the text"),
            ("models:\n  - name: i\n    agent: ideal\n    system: hi\n", "system"),
        ] {
            do {
                _ = try ExperimentFile.parse(yaml: "name: p\n" + yaml)
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect("\(error)".hasPrefix(message) || "\(error)".contains(message), "\(error)")
            }
        }
        let empty = try ExperimentFile.parse(yaml: "name: p\n" + api + "    system: \"\"\n")
        #expect(empty.models[0].provider.api?.system == "")
        // Without it the experiment's JSON, and so its hash, is what it was.
        let none = try ExperimentFile.parse(yaml: "name: p\n" + api)
        #expect(none.models[0].provider.api?.system == nil && !none.canonicalJSON.contains("\"system\""))
        #expect(empty.canonicalJSON.contains("\"system\":\"\""))
    }

    @Test("placement is a factor of the plan: the study's trials keep their seeds; the file refuses misuse")
    func plan() throws {
        let models = "models:\n  - name: ideal\n    agent: ideal\n"
        let study = try ExperimentFile.parse(yaml: "name: p\n" + models)
        let both = try ExperimentFile.parse(yaml: "name: p\npersona: [user, system]\n" + models)
        #expect(both.plan.total == 2 * study.plan.total)
        let userSeeds = both.plan.ordinals().map { both.plan.trial(at: $0) }.filter { $0.key.placement == .user }
        #expect(userSeeds.map(\.seed) == study.plan.ordinals().map { study.plan.trial(at: $0).seed })
        #expect(
            study.canonicalJSON == (try ExperimentFile.parse(yaml: "name: p\npersona: [user]\n" + models)).canonicalJSON
        )
        #expect(
            !study.canonicalJSON.contains("persona") && both.canonicalJSON.contains("\"persona\":[\"user\",\"system\"]")
        )
        #expect(both.systemTemplates == .standard && study.systemTemplates == nil)
        for (yaml, message) in [
            ("persona: [user, user]", "<experiment>:2: persona[1]: 'user' appears twice"),
            ("persona: [dialogue]", "<experiment>:2: persona[0]: expected one of user, system, found 'dialogue'"),
            (
                "templates:\n  system_value: X {{value}}",
                "<experiment>:3: templates.system_value: words the system message of persona: [system], and this "
                    + "experiment places its values in the dialogue"
            ),
        ] {
            #expect(throws: ExperimentFileError.self) { try ExperimentFile.parse(yaml: "name: p\n\(yaml)\n" + models) }
            do { _ = try ExperimentFile.parse(yaml: "name: p\n\(yaml)\n" + models) } catch {
                #expect("\(error)" == message)
            }
        }
    }
}
