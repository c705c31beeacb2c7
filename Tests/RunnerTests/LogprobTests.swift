import Analysis
import Design
import Domain
import Foundation
import GRDB
import ModelServer
import SVO
import Store
import Testing

@testable import Runner

@Suite("Answers from log probabilities (answer_from), over real HTTP")
struct LogprobTests {
    /// "I choose C." with these letters' probabilities at " C".
    static func choosing(_ letters: [String: Double], says letter: String = "C") -> ModelAction {
        .tokens(ServedToken.reply(["I", " choose", " \(letter)", "."], at: 2, letters: letters))
    }

    static let served: [String: Double] = [" C": 0.6, " B": 0.3, " D": 0.05]

    /// An OpenAI-format server that answers item calls asking for log probabilities with `item`,
    /// and every other call with a plain reply.
    static func server(item: @escaping @Sendable (ServerRequest, Int) -> ModelAction) throws -> ModelAPIServer {
        try ModelAPIServer(api: .openai) { request, n in
            request.json?["logprobs"] as? Bool == true
                ? item(request, n) : .reply("Someone who weighs both people's coins; C.")
        }
    }

    /// Each call's reading with its letters' rows as columns p_a … p_i (NULL where it has none).
    func letterRows(_ scratch: ScratchStore) throws -> [Row] {
        let letters = "abcdefghi".map {
            "max(CASE o.letter WHEN '\($0.uppercased())' THEN o.probability END) AS p_\($0)"
        }
        return try scratch.reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT l.*, \(letters.joined(separator: ", ")), count(o.letter) AS letters
                    FROM letter_probabilities AS l
                    LEFT JOIN option_probabilities AS o USING (call_id, parser_version)
                    GROUP BY l.call_id, l.parser_version ORDER BY l.call_id, l.parser_version
                    """)
        }
    }

    @Test("both: item calls ask for 20 alternatives, each stores the nine letters' mass, the trial its expected angle")
    func both() async throws {
        let server = try Self.server { _, _ in Self.choosing(Self.served) }
        defer { server.stop() }
        let (scratch, runID, _) = try await runAPI(apiExperiment(server, extra: "    answer_from: both"))
        // The value call asks for none; the six item calls for 20 alternatives per token.
        let bodies = server.requests.compactMap(\.json)
        #expect(bodies.count == 7)
        #expect(bodies.filter { $0["logprobs"] as? Bool == true && $0["top_logprobs"] as? Int == 20 }.count == 6)
        #expect(bodies.filter { $0["logprobs"] == nil && $0["top_logprobs"] == nil }.count == 1)

        let rows = try letterRows(scratch)
        #expect(rows.count == 6)
        for row in rows {
            #expect(row["status"] as String == "ok")
            #expect(row["letters"] as Int == 9)
            #expect(row["token_index"] as Int == 2)
            #expect(abs(row["p_c"] as Double - 0.6) < 1e-12)
            #expect(abs(row["p_b"] as Double - 0.3) < 1e-12)
            #expect(abs(row["p_d"] as Double - 0.05) < 1e-12)
            #expect(row["p_a"] as Double == 0)
            #expect(abs(row["outside"] as Double - 0.05) < 1e-12)
            #expect(row["parser_version"] as Int == AnswerParser.version)
        }
        // The text's answer is the chosen one; the expected angle weighs B, C and D as served.
        let trial = try #require(try await scratch.store.trialResults(TrialFilter(runIDs: [runID])).first)
        #expect(trial.status == .complete)
        let chosen = SVOAngle.angle(of: SliderItem.primary.map { $0.allocation(.c) })
        #expect(abs(try #require(trial.angle) - (try #require(chosen))) < 1e-9)
        let weights: [(OptionLetter, Double)] = [(.b, 0.3 / 0.95), (.c, 0.6 / 0.95), (.d, 0.05 / 0.95)]
        let own = SliderItem.primary.map { item in weights.map { Double(item.allocation($0.0).own) * $0.1 }.reduce(0, +)
        }
        let other = SliderItem.primary.map { item in
            weights.map { Double(item.allocation($0.0).other) * $0.1 }.reduce(0, +)
        }
        let expected = SVOAngle.angle(meanOwn: own.reduce(0, +) / 6, meanOther: other.reduce(0, +) / 6)
        #expect(abs(try #require(trial.expectedAngle) - expected) < 1e-9)
        #expect(abs(try #require(trial.expectedAngle) - (try #require(trial.angle))) > 1e-3)
        let entropy = -weights.map { $0.1 * log2($0.1) }.reduce(0, +)
        #expect(abs(try #require(trial.meanEntropy) - entropy) < 1e-12)

        // The report and vr_summary give the same mean expected angle.
        let report = try await Report.build(
            store: scratch.store, filter: TrialFilter(runIDs: [runID]), options: ReportOptions(resamples: 100))
        let summary = try #require(try await scratch.store.vrSummary(runIDs: [runID]).first)
        #expect(report.cells.first?.meanExpectedAngle == summary.meanExpectedAngle)
        #expect(abs(try #require(summary.meanExpectedAngle) - expected) < 1e-9)
        let table = try ReportRenderer.render(report, as: .table)
        #expect(table.contains("expected θ") && table.contains("entropy (bits)"))
    }

    @Test("logprobs: the answer is the most probable letter where the text answered; a tie is ambiguous and re-asked")
    func logprobsMode() async throws {
        // The text says C, but B is the more probable letter there; item 1's first reply is a tie.
        let server = try Self.server { request, _ in
            // The value prompt, then item 1: its first ask is the second user message.
            let messages = request.json?["messages"] as? [[String: String]] ?? []
            return messages.filter { $0["role"] == "user" }.count == 2
                ? Self.choosing([" C": 0.4, " B": 0.4, " A": 0.1]) : Self.choosing([" C": 0.2, " B": 0.7])
        }
        defer { server.stop() }
        let (scratch, runID, _) = try await runAPI(apiExperiment(server, extra: "    answer_from: logprobs"))
        let answers = try scratch.reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.item, c.attempt, a.status, a.shown_letter FROM answers AS a
                    JOIN model_calls AS c ON c.id = a.call_id ORDER BY c.id
                    """)
        }
        #expect(answers.map { $0["status"] as String } == ["ambiguous"] + Array(repeating: "ok", count: 6))
        #expect(answers.compactMap { $0["shown_letter"] as String? } == Array(repeating: "B", count: 6))
        #expect(answers.map { $0["attempt"] as Int } == [1, 2, 1, 1, 1, 1, 1])
        let trial = try #require(try await scratch.store.trialResults(TrialFilter(runIDs: [runID])).first)
        let chosen = SVOAngle.angle(of: SliderItem.primary.map { $0.allocation(.b) })
        #expect(abs(try #require(trial.angle) - (try #require(chosen))) < 1e-9)
        #expect(trial.expectedAngle != nil)
    }

    @Test("cancelled and resumed in logprobs mode: stored replies are read again from their bodies, as they were")
    func resume() async throws {
        let server = try Self.server { request, _ in
            let messages = request.json?["messages"] as? [[String: String]] ?? []
            return messages.filter { $0["role"] == "user" }.count == 2
                ? Self.choosing([" C": 0.4, " B": 0.4]) : Self.choosing([" C": 0.2, " B": 0.7])
        }
        defer { server.stop() }
        let experiment = try ExperimentFile.parse(
            yaml: apiExperiment(server, trials: 3, extra: "    answer_from: logprobs")
                .replacingOccurrences(of: "concurrency: 4", with: "concurrency: 1"))
        let providers = try ProviderFactory.makeAll(
            experiment, transport: NetworkTransport(), environment: testEnvironment)
        let scratch = try ScratchStore()
        let runner = ExperimentRunner(store: scratch.store)
        let run = try await runner.createRun(experiment)
        _ = await runCancelled(runner, runID: run.id!, experiment: experiment, providers: providers, afterCalls: 5)
        let resumed = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
        #expect(resumed.status == .finished)
        let trials = try await scratch.store.trialResults(TrialFilter(runIDs: [run.id!]))
        #expect(trials.count == 3)
        #expect(trials.allSatisfy { $0.status == .complete && $0.expectedAngle != nil })
        let reader = try scratch.reader
        let (calls, letters): (Int, Int) = try await reader.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM letter_probabilities WHERE status = 'ok'")!
            )
        }
        // Per trial: the value call, item 1 twice (a tie, then B), items 2-6.
        #expect(calls == 3 * 8)
        #expect(letters == 3 * 7)
    }

    @Test("a reply the parser cannot read has no letter position: no_letter, with no probabilities (never zeros)")
    func noLetter() async throws {
        let server = try Self.server { request, _ in
            let messages = request.json?["messages"] as? [[String: String]] ?? []
            // Item 1's first reply names no option; everything else answers C.
            return messages.filter { $0["role"] == "user" }.count == 2
                ? .tokens([ServedToken("Hmm", top: [("Hmm", 0), ("C", -3)]), ServedToken(".", top: [(".", 0)])])
                : Self.choosing(Self.served)
        }
        defer { server.stop() }
        let (scratch, _, _) = try await runAPI(apiExperiment(server, extra: "    answer_from: both"))
        let rows = try letterRows(scratch)
        #expect(rows.count == 7)
        let first = try #require(rows.first)
        #expect(first["status"] as String == "no_letter")
        for column in ["token_index", "p_a", "p_c", "p_i", "outside"] { #expect(first[column] as Double? == nil) }
        #expect(first["letters"] as Int == 0)
        #expect(rows.dropFirst().allSatisfy { $0["status"] as String == "ok" })
    }

    @Test("a server that ignores the request for log probabilities stops the model with an error that says so")
    func serverWithoutLogprobs() async throws {
        let server = try ModelAPIServer(api: .openai) { _, _ in .reply("C") }
        defer { server.stop() }
        let (scratch, runID, _) = try await runAPI(apiExperiment(server, trials: 2, extra: "    answer_from: both"))
        let trials = try await scratch.store.trialResults(TrialFilter(runIDs: [runID]))
        #expect(trials.allSatisfy { $0.status == .failed })
        let reader = try scratch.reader
        let error: String? = try await reader.read { db in
            try String.fetchOne(db, sql: "SELECT error FROM trials LIMIT 1")
        }
        #expect(error?.contains("no choices[0].logprobs.content") == true)
        #expect(error?.contains("use answer_from: text") == true)
        #expect(try letterRows(scratch).isEmpty)
    }

    @Test("rescore derives the probabilities again from the stored bodies; merge and export carry them")
    func rescoreMergeExport() async throws {
        let server = try Self.server { _, _ in Self.choosing(Self.served) }
        defer { server.stop() }
        let (scratch, runID, _) = try await runAPI(apiExperiment(server, trials: 2, extra: "    answer_from: both"))
        let newer = AnswerParser.version + 1
        let outcome = try await Rescorer(store: scratch.store, parserVersion: newer).rescore(
            runIDs: [runID], dryRun: false)
        #expect(outcome.answersAdded == 12)
        let rows = try letterRows(scratch)
        #expect(rows.count == 24)
        func probabilities(_ version: Int) -> [[Double?]] {
            rows.filter { $0["parser_version"] as Int == version }.map { row in
                ["p_a", "p_b", "p_c", "p_d", "p_e", "p_f", "p_g", "p_h", "p_i", "outside"].map { row[$0] as Double? }
            }
        }
        #expect(probabilities(newer) == probabilities(AnswerParser.version))
        let trials = try await scratch.store.trialResults(TrialFilter(runIDs: [runID]))
        #expect(trials.allSatisfy { $0.parserVersion == newer && $0.expectedAngle != nil })

        let merged = try ScratchStore()
        _ = try await merged.store.merge(from: scratch.store.path)
        // The letters' rows came along, each number as it was.
        let columns = ["p_a", "p_b", "p_c", "p_d", "p_e", "p_f", "p_g", "p_h", "p_i", "outside", "letters"]
        func numbers(_ rows: [Row]) -> [[Double?]] { rows.map { row in columns.map { row[$0] as Double? } } }
        #expect(numbers(try letterRows(merged)) == numbers(rows))
        let mergedTrials = try await merged.store.trialResults(TrialFilter(runIDs: [1]))
        #expect(mergedTrials.map(\.expectedAngle) == trials.map(\.expectedAngle))

        var header: [String] = []
        var exported: [[ExportValue]] = []
        _ = try scratch.store.export(.letters, runIDs: [runID], header: { header = $0 }, row: { exported.append($0) })
        #expect(exported.count == 24)
        #expect(header.contains("p_c") && header.contains("answer_letter"))
        #expect(exported.allSatisfy { $0[header.firstIndex(of: "answer_letter")!] == .text("C") })
        // A column per letter, pivoted from the rows: the stored numbers.
        let letterColumns = columns.prefix(9).map { header.firstIndex(of: $0)! }
        #expect(
            exported.map { row in letterColumns.map { row[$0] } }
                == rows.map { row in columns.prefix(9).map { ExportValue.real(row[$0]) } })
    }

    @Test("answer_from in the file: openai only, text the default and left out of the hash, a key for the cache")
    func fileAndCacheKey() throws {
        let base = """
            name: f
            values: [prosocial]
            models:
              - name: m
                provider: PROVIDER
                model: x
                base_url: http://127.0.0.1:9/v1
            """
        func parse(_ provider: String, _ extra: String) throws -> Experiment {
            try ExperimentFile.parse(yaml: base.replacingOccurrences(of: "PROVIDER", with: provider) + extra)
        }
        #expect {
            try parse("anthropic", "\n    answer_from: logprobs")
        } throws: { error in
            "\(error)".contains("models[0].answer_from")
                && "\(error)".contains("provider anthropic returns no token log probabilities")
        }
        #expect {
            try parse("openai", "\n    answer_from: tokens")
        } throws: { error in "\(error)".contains("expected one of text, logprobs, both") }
        let plain = try parse("openai", "")
        #expect(try parse("openai", "\n    answer_from: text").canonicalJSON == plain.canonicalJSON)
        #expect(!plain.canonicalJSON.contains("answer_from"))
        let both = try parse("openai", "\n    answer_from: both")
        #expect(both.canonicalJSON.contains("\"answer_from\":\"both\""))

        let context = TrialContext(
            key: TrialKey(model: "m", value: .prosocial, goal: .without, optionOrder: .original, index: 1),
            trialSeed: 1, step: .item(1), callIndex: 0)
        let messages = [ChatMessage(.user, "Which?")]
        let keys = [plain, both, try parse("openai", "\n    answer_from: logprobs")].map {
            RequestKey.make(model: $0.models[0], messages: messages, context: context)
        }
        // A reply cached without probabilities never serves a call that reads them; both and
        // logprobs send the same request.
        #expect(keys[0] != keys[1])
        #expect(keys[1] == keys[2])
    }
}
