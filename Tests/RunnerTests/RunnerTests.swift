import Domain
import Foundation
import GRDB
import SVO
import Store
import Testing

@testable import Runner

/// A fresh database in a temporary directory, removed when released.
final class ScratchStore {
    let directory: URL
    let store: ExperimentStore
    init() throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "hvae-runner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try ExperimentStore(path: directory.appending(path: "runner.sqlite").path)
    }
    /// A connection of its own for the tests' queries: the store keeps its SQL to itself.
    var reader: DatabaseQueue {
        get throws {
            var configuration = Configuration()
            configuration.readonly = true
            return try DatabaseQueue(path: store.path, configuration: configuration)
        }
    }
    deinit { try? FileManager.default.removeItem(at: directory) }
}

/// Runs `yaml` into a fresh store; returns the store and the run id.
func run(_ yaml: String, providers: [String: any ChatProvider]? = nil) async throws -> (
    ScratchStore, Int64, RunProgress
) {
    let scratch = try ScratchStore()
    let experiment = try ExperimentFile.parse(yaml: yaml)
    let runner = ExperimentRunner(store: scratch.store)
    let run = try await runner.createRun(experiment)
    let outcome = try await runner.execute(
        runID: run.id!, experiment: experiment,
        providers: try providers ?? ProviderFactory.makeAll(experiment, transport: NetworkTransport()))
    return (scratch, run.id!, outcome.progress)
}

/// A provider whose replies come from a script, counting its calls (a real ChatProvider, not a mock of an API).
actor ScriptedProvider: ChatProvider {
    private let reply: @Sendable (ChatRequest, Int) throws -> String
    private(set) var calls = 0
    init(reply: @escaping @Sendable (ChatRequest, Int) throws -> String) { self.reply = reply }
    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        calls += 1
        return ChatResponse(text: try reply(request, calls), providerModelID: "scripted-1")
    }
}

struct ScriptError: Error, CustomStringConvertible { var description: String { "HTTP 401: invalid API key" } }

@Suite("Running experiments")
struct RunnerTests {
    func results(_ scratch: ScratchStore, _ runID: Int64) async throws -> [Row] {
        try scratch.reader.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM trial_results WHERE run_id = ? ORDER BY trial_id", arguments: [runID])
        }
    }

    @Test(
        "the ideal agent reaches every ideal angle under every option order and protocol variant",
        arguments: ["self-described", "defined"], ["original", "reversed", "shuffled"])
    func idealAgent(assignment: String, order: String) async throws {
        let (scratch, runID, progress) = try await run(
            """
            name: ideal
            trials: 2
            value_assignment: \(assignment)
            option_orders: [\(order)]
            models:
              - name: ideal
                agent: ideal
            """)
        #expect(progress.complete == 16)
        for row in try await results(scratch, runID) {
            let value = ValueOrientation(rawValue: row["value"])!
            #expect(row["status"] == "complete")
            #expect(row["angle"] as Double == value.idealAngle)
            #expect(row["vr"] as Double == 60)
            #expect(row["hit"] == 1)
            #expect(row["transitive"] == 1)
        }
        let valueCalls = try await scratch.reader.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM call_log WHERE step = 'value'")!
        }
        #expect(valueCalls == (assignment == "defined" ? 0 : 16))
    }

    @Test("answers record both the shown letter and the item's real option")
    func shownAndReal() async throws {
        let (scratch, runID, _) = try await run(
            """
            name: fixed
            trials: 1
            values: [prosocial]
            goal: without
            option_orders: [reversed]
            models:
              - name: first-letter
                agent: fixed
                letter: A
            """)
        let rows = try scratch.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT shown_letter, option FROM call_log WHERE step LIKE 'item %'")
        }
        #expect(rows.count == 6)
        let pairs = rows.map { ($0["shown_letter"] as String? ?? "", $0["option"] as String? ?? "") }
        #expect(pairs.allSatisfy { $0 == ("A", "I") })
        // Always the last real option: pattern IIIIII, θ = 14.74.
        let angle: Double = try #require(try await results(scratch, runID).first?["angle"])
        #expect(abs(angle - 14.74) < 0.005)
    }

    @Test("results are identical whatever the concurrency")
    func concurrencyDoesNotChangeResults() async throws {
        let yaml = """
            name: determinism
            trials: 3
            option_orders: [original, shuffled]
            concurrency: %d
            models:
              - name: noisy
                agent: noisy
                temperature: 8
              - name: random
                agent: random
            """
        func fingerprint(_ concurrency: Int) async throws -> [String] {
            let (scratch, _, _) = try await run(yaml.replacingOccurrences(of: "%d", with: String(concurrency)))
            return try await scratch.reader.read { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT t.model || t.value || t.goal || t.option_order || t.trial_index || ':' || c.step || \
                        c.attempt
                               || ':' || c.reply || ':' || coalesce(c.option, '-')
                        FROM call_log AS c JOIN trials AS t ON t.id = c.trial_id
                        ORDER BY 1
                        """)
            }
        }
        let serial = try await fingerprint(1)
        let parallel = try await fingerprint(16)
        // 2 models x 4 values x 2 orders x 3 trials x (8 calls with goal + 7 without).
        let expectedCalls = 720
        #expect(serial.count == expectedCalls)
        #expect(serial == parallel)
    }

    @Test("an item that never parses is re-asked, every attempt is stored, and the trial is incomplete")
    func incompleteTrial() async throws {
        let provider = ScriptedProvider { _, _ in "I think fairness matters most." }
        let (scratch, runID, progress) = try await run(
            """
            name: vague
            trials: 1
            values: [prosocial]
            goal: with
            max_attempts: 3
            models:
              - name: vague
                agent: ideal
            """, providers: ["vague": provider])
        #expect(progress.incomplete == 1)
        // value + goal + 6 items x 3 attempts.
        #expect(await provider.calls == 20)
        let (logged, statuses, reasks) = try await scratch.reader.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM call_log")!,
                try String.fetchAll(db, sql: "SELECT DISTINCT parse_status FROM call_log WHERE item IS NOT NULL"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM call_log WHERE prompt LIKE 'Please answer the%'")!
            )
        }
        #expect(logged == 20)
        #expect(statuses == ["no_option"])
        #expect(reasks == 12)
        let row = try #require(try await results(scratch, runID).first)
        #expect(row["status"] == "incomplete")
        #expect(row["vr"] as Double? == nil)
        #expect(row["invalid_items"] == 6)
        let summary = try #require(try await scratch.store.vrSummary(runIDs: [runID]).first)
        #expect(summary.n == 1)
        #expect(summary.nComplete == 0)
        #expect(summary.meanVR == nil)
    }

    @Test("a reply that parses on the second attempt completes the item")
    func reaskRecovers() async throws {
        let provider = ScriptedProvider { request, _ in
            guard request.context.step != .value, request.context.step != .goal else { return "Fair." }
            return request.messages.last!.content.hasPrefix("Please answer") ? "E" : "Hmm, hard to say."
        }
        let (scratch, runID, _) = try await run(
            """
            name: second-try
            trials: 1
            values: [prosocial]
            goal: without
            value_assignment: defined
            models:
              - name: m
                agent: ideal
            """, providers: ["m": provider])
        #expect(await provider.calls == 12)
        let row = try #require(try await results(scratch, runID).first)
        #expect(row["status"] == "complete")
        #expect(abs((row["angle"] as Double) - 22.93) < 0.005)  // EEEEEE
    }

    @Test("a provider error fails that trial, is recorded with its call, and the others go on")
    func providerFailure() async throws {
        let provider = ScriptedProvider { request, _ in
            if request.context.assignment == .value(.competitive) { throw ScriptError() }
            return request.context.step == .value ? "I care." : "A"
        }
        let (scratch, runID, progress) = try await run(
            """
            name: failing
            trials: 1
            goal: without
            models:
              - name: m
                agent: ideal
            """, providers: ["m": provider])
        #expect(progress.failed == 1)
        #expect(progress.complete == 3)
        let (errors, trialError) = try await scratch.reader.read { db in
            (
                try String.fetchAll(db, sql: "SELECT error FROM call_log WHERE error IS NOT NULL"),
                try String.fetchOne(db, sql: "SELECT error FROM trials WHERE value = 'competitive'")
            )
        }
        #expect(errors == ["HTTP 401: invalid API key"])
        #expect(trialError == "HTTP 401: invalid API key")
        // A run with failed trials is stored as failed, with nothing left unrun.
        #expect(try await scratch.store.run(runID).status == .failed)
    }

    @Test("the full instrument asks 15 items and scores inequality aversion for prosocial trials")
    func fullInstrument() async throws {
        let (scratch, runID, _) = try await run(
            """
            name: full
            trials: 1
            values: [prosocial, individualistic]
            goal: with
            instrument: full
            models:
              - name: ideal
                agent: ideal
            """)
        let rows = try await results(scratch, runID)
        let items = try await scratch.reader.read { db in
            try Int.fetchOne(db, sql: "SELECT count(DISTINCT item) FROM call_log WHERE item IS NOT NULL")!
        }
        #expect(items == 15)
        // The ideal prosocial agent maximises joint gain, and splits equally where the sum is constant.
        let index: [String: Double?] = Dictionary(
            uniqueKeysWithValues: rows.map { ($0["value"] as String, $0["inequality_aversion"] as Double?) })
        #expect(index["prosocial"] == 1.0)
        #expect(index["individualistic"] == .some(nil))
    }

    @Test("templates from the experiment file are what the model is sent")
    func templateOverride() async throws {
        let (scratch, _, progress) = try await run(
            """
            name: custom
            trials: 1
            values: [altruistic]
            goal: without
            templates:
              value_prompt: "Be {{value}}. Describe yourself."
              item: "Question {{number}} of {{item_count}}.\\n{{options}}\\nPick one letter."
            models:
              - name: ideal
                agent: ideal
            """)
        #expect(progress.complete == 1)
        let prompts = try await scratch.reader.read { db in
            try String.fetchAll(db, sql: "SELECT prompt FROM call_log ORDER BY call_id")
        }
        #expect(prompts.first == "Be altruistic. Describe yourself.")
        #expect(prompts.last?.hasPrefix("Question 6 of 6.\nA: 100, 50\n") == true)
    }

    @Test("call_log has one row per call made, and every reply has a parse status")
    func oneRowPerCall() async throws {
        let (scratch, _, progress) = try await run(
            """
            name: count
            trials: 2
            models:
              - name: noisy
                agent: noisy
            """)
        let (rows, missing) = try await scratch.reader.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM call_log")!,
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM call_log WHERE reply IS NOT NULL AND parse_status IS NULL")!
            )
        }
        #expect(rows == progress.calls)
        #expect(rows == 16 * 8 - 8)  // without-goal trials make no goal call
        #expect(missing == 0)
    }
}
