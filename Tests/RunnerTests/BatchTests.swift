import Domain
import Foundation
import GRDB
import ModelServer
import Store
import Synchronization
import Testing

@testable import Runner

/// The trials of a run as comparable rows: cell, status, every reply in order, the VR.
func trialSummary(_ scratch: ScratchStore) throws -> [String] {
    try scratch.reader.read { db in
        try String.fetchAll(
            db,
            sql: """
                SELECT t.model || '|' || t.value || '|' || t.goal || '|' || t.trial_index || '|' || r.status || '|' ||
                       coalesce(printf('%.12f', r.vr), 'null') || '|' ||
                       (SELECT group_concat(l.reply, '¦') FROM
                           (SELECT reply FROM call_log WHERE trial_id = t.id AND reply IS NOT NULL
                            ORDER BY call_id) AS l)
                FROM trials AS t JOIN trial_results AS r ON r.trial_id = t.id
                ORDER BY t.model, t.value, t.goal, t.trial_index
                """)
    }
}

/// Two values, both goal conditions, three trials of one model on `server`, priced, in batch mode or not.
func batchYAML(_ server: ModelAPIServer, provider: String, batch: Bool) -> String {
    apiExperiment(
        server, provider: provider, trials: 3,
        extra: "    price_input: 2\n    price_output: 8\n" + (batch ? "    batch: true\n    batch_poll: 0.02" : "")
    )
    .replacingOccurrences(of: "values: [prosocial]\ngoal: without", with: "values: [prosocial, competitive]")
}

/// examples/quickstart.yaml's design (seed, trials, values, goals, attempts) with one model on `server`.
func quickstartDesign(_ server: ModelAPIServer, provider: String, batch: Bool) throws -> String {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let quickstart = try String(contentsOf: root.appending(path: "examples/quickstart.yaml"), encoding: .utf8)
    let design = try #require(quickstart.components(separatedBy: "\nmodels:\n").first)
    return design + "\n"
        + batchYAML(server, provider: provider, batch: batch).components(separatedBy: "concurrency: 4\n")[1]
}

@Suite("Batch mode against a server speaking both batch APIs", .serialized)
struct BatchTests {
    @Test(
        "a batch run gives the same trials, replies and VR as normal calls to a server that answers alike",
        arguments: ["openai", "anthropic"])
    func sameAsNormal(provider: String) async throws {
        let api: WireFormat = provider == "openai" ? .openai : .anthropic
        let normalServer = try ModelAPIServer(api: api) { request, _ in .reply(ContentReplies.reply(to: request)) }
        let batchServer = try ModelAPIServer(api: api, batchPolls: 2) { request, _ in
            .reply(ContentReplies.reply(to: request))
        }
        defer {
            normalServer.stop()
            batchServer.stop()
        }
        // The quickstart's design: 80 trials, value descriptions and goals, up to two re-asks.
        let (normal, _, normalOutcome) = try await runAPI(
            try quickstartDesign(normalServer, provider: provider, batch: false))
        let sawOpenBatch = Atomic<Bool>(false)
        let (batched, runID, batchOutcome) = try await runAPI(
            try quickstartDesign(batchServer, provider: provider, batch: true)
        ) {
            progress in
            // Polls report each batch's requests until it ends.
            if let open = progress.openBatches.values.first, open.model == "m", open.inProgress > 0 {
                sawOpenBatch.store(true, ordering: .sequentiallyConsistent)
            }
        }
        let reported = sawOpenBatch.load(ordering: .sequentiallyConsistent)
        #expect(reported)
        #expect(batchOutcome.progress.openBatches.isEmpty)
        #expect(batchOutcome.status == .finished)
        #expect(batchOutcome.progress.complete == 80)
        let expected = try trialSummary(normal)
        #expect(expected.count == 80)
        #expect(try trialSummary(batched) == expected)
        // Every call went through a batch, each request once; the rounds are the protocol's turns
        // (value description, goal, six items) plus the re-asks' rounds.
        let batches = try await batched.store.batches(runID: runID)
        let submitted = try #require(batchServer.batches).submittedCustomIDs
        #expect(Set(submitted).count == submitted.count)
        #expect(submitted.count == normalServer.requests.count)
        #expect(batchServer.requests.count == normalServer.requests.count)
        #expect(batches.map(\.round) == Array(1...batches.count))
        #expect(batches.count >= 8)
        #expect(batches.allSatisfy { $0.endedAt != nil && $0.provider == provider && $0.error == nil })
        #expect(batches.map(\.requests).reduce(0, +) == submitted.count)
        // Each call's stored body is the result line that carried it, with its custom_id.
        let rows = try callRows(batched)
        #expect(
            rows.allSatisfy { ($0["raw_response"] as String?)?.contains("\"custom_id\":\"hvae-r\(runID)-t") == true })
        // Costs at batch prices: half the normal calls' for the same tokens.
        #expect(normalOutcome.progress.inputTokens == batchOutcome.progress.inputTokens)
        #expect(abs(batchOutcome.progress.cost - normalOutcome.progress.cost / 2) < 1e-12)
        #expect(batchOutcome.progress.cost > 0)
    }

    @Test(
        "a failed request and an expired one are retried in the next round; the others are served",
        arguments: ["openai", "anthropic"])
    func partialFailure(provider: String) async throws {
        let api: WireFormat = provider == "openai" ? .openai : .anthropic
        let seen = Mutex<Set<String>>([])
        let server = try ModelAPIServer(api: api, batchPolls: 1) { request, _ in
            let reply = ContentReplies.reply(to: request)
            let key = String(decoding: request.body, as: UTF8.self)
            let first = seen.withLock { $0.insert(key).inserted }
            // The first item of each trial fails once with a server error, the second expires once.
            if first, let messages = request.json?["messages"] as? [[String: Any]] {
                let text = messages.last?["content"] as? String ?? ""
                if text.contains("A:") && messages.count <= 6 { return .error(status: 500, message: "internal error") }
                // Half of them: a round where every request expired would be a batch expired whole.
                if text.contains("A:") && messages.count <= 8 && key.utf8.count % 2 == 0 { return .expired }
            }
            return .reply(reply)
        }
        defer { server.stop() }
        let (scratch, runID, outcome) = try await runAPI(batchYAML(server, provider: provider, batch: true))
        #expect(outcome.progress.complete == 12, "\(outcome.stopReasons)")
        let rows = try callRows(scratch)
        let failed = rows.filter { $0["error"] as String? != nil }
        #expect(failed.contains { ($0["error"] as String).contains("expired") })
        #expect(failed.contains { $0["http_status"] as Int? == 500 })
        // Every failure was tried again, as the next row of the same request.
        #expect(rows.filter { $0["retry"] as Int == 1 }.count == failed.count)
        let batches = try await scratch.store.batches(runID: runID)
        #expect(batches.contains { $0.failed > 0 })
    }

    @Test("a batch that fails whole is submitted once more; twice, and its trials fail with the provider's message")
    func failedWhole() async throws {
        let once = try ModelAPIServer(api: .openai, batchPolls: 1, failWhole: 1) { request, _ in
            .reply(ContentReplies.reply(to: request))
        }
        defer { once.stop() }
        let (scratch, runID, outcome) = try await runAPI(batchYAML(once, provider: "openai", batch: true))
        #expect(outcome.progress.complete == 12)
        let batches = try await scratch.store.batches(runID: runID)
        #expect(batches.first?.status == "failed")
        #expect(batches.first?.error == "invalid_file: The batch input file is not valid.")
        #expect(batches.dropFirst().allSatisfy { $0.error == nil })
        #expect(batches[1].requests == batches[0].requests)

        let twice = try ModelAPIServer(api: .openai, batchPolls: 1, failWhole: 2) { request, _ in
            .reply(ContentReplies.reply(to: request))
        }
        defer { twice.stop() }
        let (failing, failedRun, failedOutcome) = try await runAPI(batchYAML(twice, provider: "openai", batch: true))
        #expect(failedOutcome.progress.failed == 12)
        // The failed run says why.
        let run = try await failing.store.run(failedRun)
        #expect(run.status == .failed)
        #expect(
            run.stopReason
                == "model 'm' stopped: HTTP 400: the batch failed whole twice: invalid_file: The batch input file is "
                + "not valid.")
        let errors = try callRows(failing).compactMap { $0["error"] as String? }
        #expect(errors.count == 12)
        #expect(
            errors.allSatisfy { $0.contains("failed whole twice: invalid_file: The batch input file is not valid.") })
    }

    // OpenAI's batch is created by a small request that times out after the model's `timeout`;
    // Anthropic's carries the requests and waits up to 10 minutes, so a kill is its way to lose
    // the answer (BatchModeTests, over both APIs).
    @Test("a batch the provider accepted but whose answer never came is found by its tag, not submitted again")
    func acceptedAnswerLost() async throws {
        let provider = "openai"
        let server = try ModelAPIServer(api: .openai, batchPolls: 1) { request, _ in
            .reply(ContentReplies.reply(to: request))
        }
        defer { server.stop() }
        let batches = try #require(server.batches)
        // Every batch is created and its creation never answered: the client times out (0.3 s).
        batches.stallCreation(true)
        let yaml = batchYAML(server, provider: provider, batch: true).replacingOccurrences(
            of: "timeout: 2", with: "timeout: 0.3")
        let (scratch, runID, outcome) = try await runAPI(yaml)
        #expect(outcome.progress.complete == 12 && outcome.progress.failed == 0)
        let submitted = batches.submittedCustomIDs
        #expect(Set(submitted).count == submitted.count, "a request was submitted twice")
        let stored = try await scratch.store.batches(runID: runID)
        #expect(stored.count == batches.created && batches.stalledRequests == batches.created)
        #expect(stored.allSatisfy { !$0.isIntent && $0.error == nil })
    }

    @Test("a batch that expires whole, no request run, is submitted once more", arguments: ["openai", "anthropic"])
    func expiredWhole(provider: String) async throws {
        let server = try ModelAPIServer(api: provider == "openai" ? .openai : .anthropic, batchPolls: 1, expireWhole: 1)
        {
            request, _ in .reply(ContentReplies.reply(to: request))
        }
        defer { server.stop() }
        let (scratch, runID, outcome) = try await runAPI(batchYAML(server, provider: provider, batch: true))
        #expect(outcome.progress.complete == 12)
        let batches = try await scratch.store.batches(runID: runID)
        #expect(
            batches.first?.error
                == "batch \(batches.first?.providerBatchID ?? "") expired whole: none of its 12 requests ran")
        #expect(batches[1].requests == 12 && batches[1].round == 2)
        // The expired batch's calls were not tried as failures of their own: no call row failed.
        #expect(try callRows(scratch).allSatisfy { $0["error"] as String? == nil })
    }

    @Test("a resumed run re-attaches to the batch still running, and submits nothing twice")
    func resumeReattaches() async throws {
        let server = try ModelAPIServer(api: .anthropic, batchPolls: 1) { request, _ in
            .reply(ContentReplies.reply(to: request))
        }
        defer { server.stop() }
        let batches = try #require(server.batches)
        batches.hold(true)
        let scratch = try ScratchStore()
        let experiment = try ExperimentFile.parse(yaml: batchYAML(server, provider: "anthropic", batch: true))
        let runner = ExperimentRunner(store: scratch.store)
        let run = try await runner.createRun(experiment)
        let providers = try ProviderFactory.makeAll(
            experiment, transport: NetworkTransport(), environment: testEnvironment)
        let first = Task { try await runner.execute(runID: run.id!, experiment: experiment, providers: providers) }
        // Wait for the first round's batch to be stored, then stop the run (as Ctrl-C does).
        while try await scratch.store.batches(runID: run.id!).allSatisfy(\.isIntent) {
            try await Task.sleep(for: .milliseconds(20))
        }
        first.cancel()
        _ = try? await first.value
        #expect(batches.created == 1)
        batches.hold(false)
        let outcome = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
        #expect(outcome.progress.complete == 12)
        let submitted = batches.submittedCustomIDs
        #expect(Set(submitted).count == submitted.count, "a request was submitted twice")
        let stored = try await scratch.store.batches(runID: run.id!)
        #expect(stored.first?.requests == 12)
        #expect(stored.map(\.round) == Array(1...stored.count))
    }
}

@Suite("The dispatcher beside a batch model")
struct BatchDispatchTests {
    @Test("a batch model takes its round; every other model keeps to the experiment's concurrency")
    func roundsApart() async throws {
        let server = try ModelAPIServer(api: .openai, batchPolls: 1) { _, _ in .reply("E") }
        defer { server.stop() }
        let yaml =
            """
            name: mixed
            trials: 20
            values: [prosocial]
            goal: without
            concurrency: 3
            models:
              - name: ref
                agent: ideal
              - name: m
                provider: openai
                model: test-model
                base_url: \(server.baseURL)
                batch: true
                batch_size: 15
            """
        let scratch = try ScratchStore()
        let experiment = try ExperimentFile.parse(yaml: yaml)
        let runner = ExperimentRunner(store: scratch.store)
        let run = try await runner.createRun(experiment)
        let control = RunControl(
            experiment: experiment, totalTrials: 40, callsSoFar: 0, costSoFar: 0, clock: SystemClock()
        ) { _ in }
        var dispatcher = TrialDispatcher(
            store: scratch.store, run: run, plan: try runner.plan(of: run), experiment: experiment,
            control: control, batchSizes: ["m": 15])
        #expect(dispatcher.capacity == 18)
        // Nothing finishes: the dispatcher hands out what may run at once, and then no more.
        var handed: [String: Int] = [:]
        while let next = try await dispatcher.next() { handed[next.trial.key.model, default: 0] += 1 }
        #expect(handed == ["ref": 3, "m": 15])
        // A reference trial ends: one more reference trial may start, and nothing else.
        dispatcher.finished(queue: 0)
        let after = try await dispatcher.next()
        #expect(after?.trial.key.model == "ref")
        #expect(try await dispatcher.next() == nil)
    }
}
