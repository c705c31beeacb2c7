import Design
import Domain
import Foundation
import GRDB
import ModelServer
import Store
import Synchronization
import Testing

@testable import Runner

/// An experiment of `trials` prosocial without-goal trials (7 calls each) on one model served by `server`.
func apiExperiment(
    _ server: ModelAPIServer, provider: String = "openai", trials: Int = 1, extra: String = "",
    top: String = ""
) -> String {
    """
    name: api
    trials: \(trials)
    values: [prosocial]
    goal: without
    concurrency: 4
    \(top)
    models:
      - name: m
        provider: \(provider)
        model: test-model
        base_url: \(server.baseURL)
        api_key_env: HVAE_TEST_KEY
        timeout: 2
        retry_delay: 0.01
    \(extra)
    """
}

let testEnvironment = ["HVAE_TEST_KEY": "sk-test-secret-123"]

/// Runs `yaml` with real providers over real HTTP, keys from `testEnvironment`.
/// The runner waits by `clock`.
func runAPI(
    _ yaml: String, clock: any RunClock = SystemClock(),
    progress: @escaping @Sendable (RunProgress) -> Void = { _ in }
) async throws -> (ScratchStore, Int64, RunOutcome) {
    let scratch = try ScratchStore()
    let experiment = try ExperimentFile.parse(yaml: yaml)
    let runner = ExperimentRunner(store: scratch.store, clock: clock)
    let run = try await runner.createRun(experiment)
    let providers = try ProviderFactory.makeAll(
        experiment, transport: NetworkTransport(), environment: testEnvironment)
    let outcome = try await runner.execute(
        runID: run.id!, experiment: experiment, providers: providers, progress: progress)
    return (scratch, run.id!, outcome)
}

/// The stored calls of a run, in order.
func callRows(_ scratch: ScratchStore) throws -> [Row] {
    try scratch.reader.read { db in
        try Row.fetchAll(
            db,
            sql: """
                SELECT c.step, c.item, c.attempt, c.retry, c.http_status, c.system_fingerprint, c.error, \
                c.provider_model_id, c.finish_reason,
                       c.input_tokens, c.output_tokens, c.raw_response, c.started_at, c.finished_at, l.reply, \
                l.parse_status
                FROM model_calls AS c JOIN call_log AS l ON l.call_id = c.id ORDER BY c.id
                """)
    }
}

func trialStatuses(_ scratch: ScratchStore) throws -> [String] {
    try scratch.reader.read { db in try String.fetchAll(db, sql: "SELECT status FROM trials ORDER BY id") }
}

@Suite("Model providers over real HTTP", .serialized)
struct ProviderTests {
    @Test("OpenAI wire format: request fields, key header, usage, model id and raw body stored; messy replies parsed")
    func openAIFormat() async throws {
        // Item 3's E is (68, 93); item 5's D is (81, 69), not the (75, 75) of its E quoted with it: a
        // conflict, re-asked.
        let replies = [
            "I value fairness.", "A", "A:", "E: 68,93", "The answer is: E.", "D: 75,75\nThe answer is D.",
            "I prefer a fair split.",
        ]
        let server = try ModelAPIServer(api: .openai) { _, n in .reply(replies[min(n, replies.count - 1)]) }
        defer { server.stop() }
        let (scratch, _, outcome) = try await runAPI(
            apiExperiment(server, extra: "    temperature: 0.3\n    max_tokens: 50\n    stop: [\"\\n\\n\"]"))
        // Items 5 and 6 never parse: each is asked three times.
        #expect(outcome.progress.calls == 11)
        let first = try #require(server.requests.first)
        #expect(first.headers["authorization"] == "Bearer sk-test-secret-123")
        let body = try #require(first.json)
        #expect(body["model"] as? String == "test-model")
        #expect(body["temperature"] as? Double == 0.3)
        #expect(body["max_tokens"] as? Int == 50)
        #expect(body["stop"] as? [String] == ["\n\n"])
        #expect(body["seed"] is Int)
        #expect((body["messages"] as? [[String: String]])?.first?["role"] == "user")
        let second = try #require(server.requests.dropFirst().first?.json?["messages"] as? [[String: String]])
        #expect(second.map { $0["role"]! } == ["user", "assistant", "user"])

        let rows = try callRows(scratch)
        #expect(rows.count == 11)
        #expect(rows.allSatisfy { ($0["http_status"] as Int?) == 200 })
        #expect(rows.allSatisfy { ($0["system_fingerprint"] as String?) == "fp_test" })
        #expect(rows.allSatisfy { ($0["provider_model_id"] as String?) == "scripted-model-1" })
        #expect(rows.allSatisfy { ($0["raw_response"] as String?)?.contains("chat.completion") == true })
        #expect(rows[1]["input_tokens"] as Int? ?? 0 > 0)
        #expect(
            rows.map { $0["parse_status"] as String? }
                == ["ok", "ok", "ok", "ok", "ok", "conflict"] + Array(repeating: "no_option", count: 5))
        #expect(try trialStatuses(scratch) == ["incomplete"])
    }

    @Test("Anthropic wire format: system field, x-api-key, anthropic-version, max_tokens")
    func anthropicFormat() async throws {
        let server = try ModelAPIServer(api: .anthropic, modelID: "claude-test") { _, _ in .reply("C") }
        defer { server.stop() }
        let spec = try #require(
            ExperimentFile.parse(yaml: apiExperiment(server, provider: "anthropic")).models.first?.provider.api)
        let provider = try AnthropicProvider(spec: spec, transport: NetworkTransport(), environment: testEnvironment)
        let response = try await provider.complete(
            ChatRequest(
                messages: [ChatMessage(.system, "Be brief."), ChatMessage(.user, "Pick one.")],
                context: TrialContext(
                    key: TrialKey(model: "m", value: .prosocial, goal: .without, optionOrder: .original, index: 1),
                    trialSeed: 1, step: .item(1), callIndex: 0)))
        #expect(response.text == "C")
        #expect(response.providerModelID == "claude-test")
        #expect(response.finishReason == "end_turn")
        #expect(response.outputTokens == 1)
        let request = try #require(server.requests.first)
        #expect(request.headers["x-api-key"] == "sk-test-secret-123")
        #expect(request.headers["anthropic-version"] == "2023-06-01")
        #expect(request.headers["authorization"] == nil)
        let body = try #require(request.json)
        #expect(body["system"] as? String == "Be brief.")
        #expect(body["max_tokens"] as? Int == 1024)
        #expect((body["messages"] as? [[String: String]])?.map { $0["role"]! } == ["user"])
    }

    static let transientFailures: [(String, ModelAction)] = [
        ("429 with Retry-After", .error(status: 429, message: "Rate limit reached", retryAfter: "45")),
        ("500", .error(status: 500, message: "The server had an error")),
        ("529 overloaded", .error(status: 529, message: "Overloaded")),
        ("a reply slower than the timeout", .slow("A", seconds: 3.5)),
        ("malformed JSON", .malformed),
        ("a dropped connection", .drop),
    ]

    @Test("transient failures are retried and every attempt is recorded", arguments: transientFailures)
    func transientFailure(name: String, failure: ModelAction) async throws {
        // The failure hits the second call (item 1); everything else answers "A".
        let server = try ModelAPIServer(api: .openai) { _, n in n == 1 ? failure : .reply("A") }
        defer { server.stop() }
        let clock = VirtualClock()
        let (scratch, _, outcome) = try await runAPI(apiExperiment(server), clock: clock)
        #expect(outcome.status == .finished)
        #expect(try trialStatuses(scratch) == ["complete"])
        let rows = try callRows(scratch)
        #expect(rows.count == 8)
        let failed = rows[1]
        let retried = rows[2]
        let failedKey = [failed["item"] as Int, failed["retry"] as Int]
        let retriedKey = [retried["item"] as Int, retried["retry"] as Int, retried["attempt"] as Int]
        #expect(failedKey == [1, 0])
        #expect(retriedKey == [1, 1, 1])
        #expect((failed["error"] as String?)?.isEmpty == false)
        #expect(failed["reply"] as String? == nil)
        #expect(retried["error"] as String? == nil)
        #expect(outcome.progress.retries == 1)
        #expect(outcome.progress.errors == 1)
        // The status received, garbled body or not.
        if case .malformed = failure { #expect(failed["http_status"] == 200) }
        if case .error(let status, _, let retryAfter) = failure {
            #expect(failed["http_status"] == status)
            if let retryAfter {
                // The server's Retry-After was the wait before the retry, to the last millisecond.
                #expect(abs(clock.now - Double(retryAfter)!) < 1e-9, "\(clock.sleeps)")
                return
            }
        }
        // Otherwise the backoff: retry_delay 0.01 with jitter over its upper half.
        #expect((0.005...0.01).contains(clock.now), "\(clock.sleeps)")
    }

    @Test("a call that keeps failing fails its trial after max_retries, with the error kept")
    func retriesExhausted() async throws {
        let server = try ModelAPIServer(api: .openai) { _, n in
            n == 0 ? .reply("Fair.") : .error(status: 503, message: "down")
        }
        defer { server.stop() }
        let (scratch, _, outcome) = try await runAPI(apiExperiment(server, extra: "    max_retries: 2"))
        #expect(outcome.progress.failed == 1)
        let rows = try callRows(scratch)
        #expect(rows.count == 4)
        #expect(rows.dropFirst().map { $0["retry"] as Int } == [0, 1, 2])
        let error = try await scratch.reader.read { db in try String.fetchOne(db, sql: "SELECT error FROM trials") }
        #expect(error == "HTTP 503: down (after 2 retries)")
        #expect(outcome.status == .failed)
    }

    @Test("a resumed call gets every retry again; its rows go on numbering its tries")
    func resumedRetries() async throws {
        // The first item fails three times in a row, then answers.
        let server = try ModelAPIServer(api: .openai) { _, n in
            (1...3).contains(n) ? .error(status: 503, message: "busy") : .reply("E")
        }
        defer { server.stop() }
        let yaml = apiExperiment(server, extra: "    max_retries: 2")
        let (scratch, runID, first) = try await runAPI(yaml)
        #expect(first.progress.failed == 1)
        let experiment = try ExperimentFile.parse(yaml: yaml)
        let runner = ExperimentRunner(store: scratch.store)
        let providers = try ProviderFactory.makeAll(
            experiment, transport: NetworkTransport(), environment: testEnvironment)
        let resumed = try await runner.execute(runID: runID, experiment: experiment, providers: providers)
        #expect(resumed.status == .finished)
        #expect(try trialStatuses(scratch) == ["complete"])
        let item1 = try callRows(scratch).filter { $0["item"] as Int? == 1 }
        #expect(item1.map { $0["retry"] as Int } == [0, 1, 2, 3])
        #expect(item1.map { $0["error"] as String? != nil } == [true, true, true, false])
    }

    @Test("an API key a server echoes back is not stored, exported or printed")
    func echoedKey() async throws {
        let server = try ModelAPIServer(api: .openai) { _, n in
            n == 0
                ? .reply("My key is sk-test-secret-123 and sk-proj-ABCDEFGHIJKLMNOPQRSTUV.")
                : .error(
                    status: 401,
                    message: "Incorrect API key provided: sk-test-secret-123 (see sk-proj-ABCDEFGHIJKLMNOPQRSTUV)")
        }
        defer { server.stop() }
        let (scratch, runID, outcome) = try await runAPI(apiExperiment(server))
        #expect(outcome.status == .failed)
        let stored = try await scratch.reader.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT coalesce(raw_response, '') || coalesce(error, '') FROM model_calls
                    UNION ALL SELECT body FROM texts UNION ALL SELECT coalesce(error, '') FROM trials
                    UNION ALL SELECT coalesce(stop_reason, '') FROM runs
                    """
            ).joined(separator: "\n")
        }
        #expect(!stored.contains("sk-test-secret-123"))
        #expect(!stored.contains("ABCDEFGHIJKLMNOPQRSTUV"))
        #expect(stored.contains("Incorrect API key provided: [redacted] (see [redacted])"))
        #expect(try await scratch.store.failureReasons(runID: runID).first?.error.contains("[redacted]") == true)
    }

    @Test("a server that answers HTML, or another API, gets one line that says so")
    func notTheAPI() async throws {
        let page =
            "<html><body><h1>501 Not Implemented</h1>" + String(repeating: "<p>filler</p>", count: 200)
            + "</body></html>"
        let server = try ModelAPIServer(api: .openai) { _, _ in .raw(status: 501, contentType: "text/html", body: page)
        }
        defer { server.stop() }
        let (scratch, runID, _) = try await runAPI(apiExperiment(server, extra: "    max_retries: 0"))
        let error = try #require(try await scratch.store.failureReasons(runID: runID).first?.error)
        #expect(
            error
                == """
                HTTP 501: the server at \(server.baseURL)/chat/completions did not answer in the OpenAI format \
                (HTTP 501, text/html)
                """
        )
        // The page itself is kept as it came, for whoever wants to read it.
        #expect(try callRows(scratch).first?["raw_response"] as String? == page)
    }

    @Test("a server that cannot be reached stops its model after give_up_after, not after every trial's retries")
    func deadEndpoint() async throws {
        // A port nothing listens on: every call is refused at once.
        let yaml = """
            name: dead
            trials: 40
            values: [prosocial]
            goal: without
            concurrency: 4
            models:
              - name: m
                provider: openai
                model: x
                base_url: http://127.0.0.1:9/v1
                max_retries: 5
            """
        // Waits by a virtual clock: the default window (30 s) and backoff (1 s doubling) are
        // checked as they are, and take no time.
        let clock = VirtualClock()
        let (scratch, runID, outcome) = try await runAPI(yaml, clock: clock)
        #expect(outcome.status == .failed)
        guard case .modelStopped(let model, let message) = try #require(outcome.stopReasons.first) else {
            Issue.record("expected the model to be stopped: \(outcome.stopReasons)")
            return
        }
        #expect(model == "m")
        #expect(message.contains("the server at http://127.0.0.1:9/v1 could not be reached for 30 s"))
        let run = try await scratch.store.run(runID)
        #expect(run.status == .failed)
        #expect(run.stopReason?.contains("could not be reached") == true)
        // Far fewer trials than planned were tried: the rest are left for a resume.
        let stored = try await scratch.store.trialStatusCounts(runID: runID).values.reduce(0, +)
        #expect(stored < 40)
        // It stopped once the failures had gone on for the window, not sooner; and long before
        // every trial's retries (up to 31 s each, 4 at a time, over 40 trials) were through.
        #expect(clock.now >= 30)
        #expect(clock.now < 31 * 40 / 4)
    }

    @Test("a server that accepts and never answers stops its model after give_up_after too, naming the URL")
    func silentEndpoint() async throws {
        let server = try ModelAPIServer(api: .openai) { _, _ in .hold }
        defer { server.stop() }
        let (scratch, runID, outcome) = try await runAPI(
            apiExperiment(server, trials: 40, extra: "    max_retries: 20\n    give_up_after: 1")
                .replacingOccurrences(of: "timeout: 2", with: "timeout: 0.3"))
        #expect(outcome.status == .failed)
        guard case .modelStopped(_, let message) = try #require(outcome.stopReasons.first) else {
            Issue.record("expected the model to be stopped: \(outcome.stopReasons)")
            return
        }
        #expect(
            message.hasPrefix("the server at \(server.baseURL) gave no complete reply for 1 s ("), "\(message)")
        #expect(message.contains("the last: timeout: no response within 0.3 s); check it, then `hvae resume`"))
        #expect(try await scratch.store.run(runID).stopReason?.contains("gave no complete reply") == true)
        // Every call timed out, and far fewer than 40 trials x 21 tries were made.
        let calls = try callRows(scratch)
        #expect(calls.allSatisfy { $0["error"] == "timeout: no response within 0.3 s" })
        #expect(calls.count < 100)
    }

    @Test("a 401 stops that model's trials with the server's message; other models go on")
    func unauthorized() async throws {
        let server = try ModelAPIServer(api: .openai) { _, _ in
            .error(status: 401, message: "Incorrect API key provided")
        }
        defer { server.stop() }
        let yaml =
            apiExperiment(server, trials: 6) + """

                  - name: ref
                    agent: ideal
                """
        let (scratch, runID, outcome) = try await runAPI(
            yaml.replacingOccurrences(of: "concurrency: 4", with: "concurrency: 1"))
        #expect(outcome.stopReasons == [.modelStopped(model: "m", message: "HTTP 401: Incorrect API key provided")])
        #expect(outcome.status == .failed)
        #expect(server.requests.count == 1)
        let counts = try await scratch.store.trialStatusCounts(runID: runID)
        #expect(counts[.failed] == 1)
        #expect(counts[.complete] == 6)  // the reference agent's trials
        // The stopped model's other five trials were not started: a resume runs them.
        #expect(try await scratch.store.run(runID).plannedTrials == 12)
        #expect(counts.values.reduce(0, +) == 7)
    }

    @Test("per-model max_concurrency bounds the calls in flight")
    func perModelConcurrency() async throws {
        let inFlight = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let server = try ModelAPIServer(api: .openai) { _, _ in
            let now = inFlight.add(1, ordering: .sequentiallyConsistent).newValue
            peak.max(now, ordering: .sequentiallyConsistent)
            Thread.sleep(forTimeInterval: 0.05)
            inFlight.subtract(1, ordering: .sequentiallyConsistent)
            return .reply("E")
        }
        defer { server.stop() }
        let yaml = apiExperiment(server, trials: 8, extra: "    max_concurrency: 2").replacingOccurrences(
            of: "concurrency: 4", with: "concurrency: 8")
        let (_, _, outcome) = try await runAPI(yaml)
        #expect(outcome.progress.complete == 8)
        #expect(peak.load(ordering: .sequentiallyConsistent) == 2)
    }

    @Test("requests_per_minute spaces the calls to one model")
    func requestsPerMinute() async throws {
        let server = try ModelAPIServer(api: .openai) { _, _ in .reply("E") }
        defer { server.stop() }
        let (scratch, _, _) = try await runAPI(apiExperiment(server, trials: 2, extra: "    requests_per_minute: 600"))
        let starts = try callRows(scratch).compactMap {
            ISO8601DateFormatter.withFractions.date(from: $0["started_at"])
        }.sorted()
        #expect(starts.count == 14)
        // 600 per minute: call k starts no earlier than 0.1 s x k after the first slot; wake-ups may
        // come a few milliseconds late, so check the span rather than each gap.
        let span = try #require(starts.last).timeIntervalSince(try #require(starts.first))
        #expect(span >= 1.25)
    }

    @Test("max_calls stops the run cleanly, keeps every call, and says so")
    func callBudget() async throws {
        let server = try ModelAPIServer(api: .openai) { _, _ in .reply("E") }
        defer { server.stop() }
        let (scratch, runID, outcome) = try await runAPI(
            apiExperiment(server, trials: 4, top: "max_calls: 10")
                .replacingOccurrences(of: "concurrency: 4", with: "concurrency: 1"))
        #expect(outcome.stopReasons == [.budget("max_calls 10")])
        #expect(outcome.status == .interrupted)
        #expect(server.requests.count == 10)
        #expect(try callRows(scratch).count == 10)
        let counts = try await scratch.store.trialStatusCounts(runID: runID)
        #expect(counts[.complete] == 1)
        #expect(counts[.running] == 1)
    }

    @Test("a stored experiment naming an API this hvae lacks decodes, and is refused before any call")
    func unknownStoredAPI() throws {
        let experiment = try ExperimentFile.parse(
            yaml: "name: k\nmodels:\n  - name: gpt\n    provider: openai\n    model: gpt-4o\n")
        let renamed = experiment.canonicalJSON.replacingOccurrences(
            of: "\"provider\":\"openai\"", with: "\"provider\":\"newapi\"")
        #expect(renamed != experiment.canonicalJSON)
        // The viewer and `show` read it whole: the model's settings survive under the unknown name.
        let stored = try JSONDecoder().decode(Experiment.self, from: Data(renamed.utf8))
        #expect(stored.models[0].provider.kind == "newapi")
        #expect(stored.models[0].provider.api == experiment.models[0].provider.api)
        #expect(stored.models[0].provider.modelAPI == nil)
        #expect(stored.canonicalJSON == renamed)
        do {
            _ = try ProviderFactory.makeAll(stored, transport: NetworkTransport(), environment: ["OPENAI_API_KEY": "k"])
            Issue.record("an unknown API was given a provider")
        } catch let error as ProviderError {
            #expect(error.kind == .configuration)
            #expect(
                "\(error)"
                    == "model 'gpt': provider 'newapi' is not one this hvae calls (openai, anthropic); "
                    + "resume it with the hvae version that started the run")
        }
    }

    @Test("a missing API key is an error before any call")
    func missingKey() throws {
        let experiment = try ExperimentFile.parse(
            yaml: "name: k\nmodels:\n  - name: gpt\n    provider: openai\n    model: gpt-4o\n")
        #expect(throws: ProviderError.self) {
            try ProviderFactory.makeAll(experiment, transport: NetworkTransport(), environment: [:])
        }
        do {
            _ = try ProviderFactory.makeAll(experiment, transport: NetworkTransport(), environment: [:])
        } catch {
            #expect(
                "\(error)"
                    == """
                    model 'gpt': the environment variable OPENAI_API_KEY holding the API key for gpt-4o is not \
                    set; export it (or set api_key_env)
                    """
            )
        }
        // A local server needs no key unless api_key_env names one.
        let local = try ExperimentFile.parse(
            yaml:
                """
                name: k\nmodels:\n  - name: l\n    provider: openai\n    model: x\n    base_url: http://127.0.0.1:9/v1\n
                """
        )
        #expect(throws: Never.self) {
            try ProviderFactory.makeAll(local, transport: NetworkTransport(), environment: [:])
        }
    }

    @Test("headers that look like secrets are refused, since headers are stored with the run")
    func secretHeaders() {
        #expect(throws: ExperimentFileError.self) {
            try ExperimentFile.parse(
                yaml:
                    """
                    name: k\nmodels:\n  - name: l\n    provider: openai\n    model: x\n    headers:\n      \
                    Authorization: Bearer sk-1\n
                    """
            )
        }
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractions: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}

@Suite("The response cache")
struct CacheTests {
    @Test("a cache hit costs nothing: the progress line, hvae show, the viewer and a resumed budget agree")
    func cacheHitsCostNothing() async throws {
        let server = try ModelAPIServer(api: .openai) { _, n in .reply(["Fair.", "B", "C", "D", "E", "F", "G"][n % 7]) }
        defer { server.stop() }
        let yaml = apiExperiment(server, extra: "    price_input: 2\n    price_output: 10", top: "cache: true")
        let experiment = try ExperimentFile.parse(yaml: yaml)
        let scratch = try ScratchStore()
        let runner = ExperimentRunner(store: scratch.store)
        var costs: [(live: Double, stored: Double?)] = []
        var usages: [[ModelUsage]] = []
        for _ in 0..<2 {
            let run = try await runner.createRun(experiment)
            let providers = try ProviderFactory.makeAll(
                experiment, transport: NetworkTransport(), environment: testEnvironment)
            let outcome = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
            let usage = try await scratch.store.modelUsage(runID: run.id!)
            usages.append(usage)
            costs.append((outcome.progress.cost, experiment.cost(of: usage)))
        }
        // The first run paid for every call; the second was all cache hits. Before schema 18 the
        // stored cost of the second was the first's again, while its progress line said 0.
        #expect(costs[0].live > 0 && costs[0].stored.map { abs($0 - costs[0].live) < 1e-12 } == true)
        #expect(costs[1].live == 0 && costs[1].stored == 0)
        let hits = try #require(usages[1].first)
        #expect(hits.cacheHits == hits.calls && hits.inputTokens > 0 && hits.cachedInputTokens == hits.inputTokens)
        #expect(hits.billedInputTokens == 0 && hits.billedOutputTokens == 0)
        #expect(usages[0].first?.cachedInputTokens == 0)
        #expect(try await ExperimentStore.check(path: scratch.store.path).staleTallies == [])

        // Migration 0018 fills the new counts from the calls stored before it.
        let sql = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appending(path: "migrations/0018_billed_tokens.sql"), encoding: .utf8)
        let backfill =
            "UPDATE usage_tallies SET"
            + sql.components(separatedBy: "UPDATE usage_tallies SET")[1].components(separatedBy: "DROP TRIGGER")[0]
        try await DatabaseQueue(path: scratch.store.path).write { db in
            try db.execute(sql: "UPDATE usage_tallies SET cached_input_tokens = 0, cached_output_tokens = 0")
            try db.execute(sql: backfill)
        }
        let runs = try await scratch.store.runs().compactMap(\.id).sorted()
        #expect(try await scratch.store.modelUsage(runID: runs[1]) == usages[1])
        #expect(try await scratch.store.modelUsage(runID: runs[0]) == usages[0])
    }

    @Test("an identical request reuses the stored reply, marked as a cache hit; a changed one calls the model")
    func cache() async throws {
        let server = try ModelAPIServer(api: .openai) { _, n in .reply(["Fair.", "B", "C", "D", "E", "F", "G"][n % 7]) }
        defer { server.stop() }
        let yaml = apiExperiment(server, top: "cache: true")
        let scratch = try ScratchStore()
        let runner = ExperimentRunner(store: scratch.store)
        func runOnce(_ yaml: String) async throws -> (Int64, RunOutcome) {
            let experiment = try ExperimentFile.parse(yaml: yaml)
            #expect(experiment.cache)
            let run = try await runner.createRun(experiment)
            let providers = try ProviderFactory.makeAll(
                experiment, transport: NetworkTransport(), environment: testEnvironment)
            return (run.id!, try await runner.execute(runID: run.id!, experiment: experiment, providers: providers))
        }
        let (first, firstOutcome) = try await runOnce(yaml)
        #expect(firstOutcome.progress.cacheHits == 0)
        let served = server.requests.count
        let (second, secondOutcome) = try await runOnce(yaml)
        #expect(server.requests.count == served)
        #expect(secondOutcome.progress.cacheHits == secondOutcome.progress.calls)
        let (hits, replies) = try await scratch.reader.read { db in
            (
                try Int.fetchOne(
                    db,
                    sql:
                        """
                        SELECT sum(cache_hit) FROM model_calls c JOIN trials t ON t.id = c.trial_id WHERE t.run_id = ?
                        """,
                    arguments: [second])!,
                try [first, second].map { run in
                    try String.fetchAll(
                        db, sql: "SELECT reply FROM call_log WHERE run_id = ? ORDER BY call_id", arguments: [run])
                }
            )
        }
        #expect(hits == 7)
        #expect(replies[0] == replies[1])
        // Another temperature is another request: the model is called again.
        _ = try await runOnce(
            yaml.replacingOccurrences(of: "retry_delay: 0.01", with: "retry_delay: 0.01\n    temperature: 0.1"))
        #expect(server.requests.count == served + 7)
    }
}
