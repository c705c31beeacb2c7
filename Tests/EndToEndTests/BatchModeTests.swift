import Foundation
import GRDB
import ModelServer
import Testing

/// Waits until the run in `path` has stored at least one batch the provider accepted (bounded: 60 s).
func waitForBatch(in path: String) throws {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
        var configuration = Configuration()
        configuration.readonly = true
        if FileManager.default.fileExists(atPath: path),
            let queue = try? DatabaseQueue(path: path, configuration: configuration),
            let count = try? queue.read({ db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM batches WHERE provider_batch_id NOT LIKE 'pending:%'")
            }),
            count > 0
        {
            try? queue.close()
            return
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
    Issue.record("the run never stored a batch")
}

@Suite("Batch mode through the CLI: kill -9 while a batch runs, resume, cancel", .serialized)
struct BatchModeTests {
    func experiment(_ server: ModelAPIServer, batch: Bool) -> String {
        servedExperiment(
            name: "batched", trials: 2, values: ["prosocial", "individualistic"], server: server.baseURL,
            extra: (batch ? "batch: true\n    " : "") + "batch_poll: 0.05")
    }

    @Test(
        "killed between submit and completion, the resumed run re-attaches: nothing submitted twice, the same results")
    func killAndResume() throws {
        let server = try ModelAPIServer(api: .openai, batchPolls: 2) { request, _ in
            .reply(ContentReplies.reply(to: request))
        }
        let normal = try ModelAPIServer(api: .openai) { request, _ in .reply(ContentReplies.reply(to: request)) }
        defer {
            server.stop()
            normal.stop()
        }
        let batches = try #require(server.batches)
        let work = try WorkingDirectory()
        try work.write("batch.yaml", experiment(server, batch: true))
        try work.write("normal.yaml", experiment(normal, batch: false))
        batches.hold(true)
        let victim = try RunningHvae(["run", "batch.yaml", "--db", "b.sqlite", "--quiet"], in: work.url)
        try waitForBatch(in: work.path("b.sqlite"))
        // While its process waits for the batch, the run is not stalled.
        let live = try hvae(["runs", "--db", "b.sqlite"], in: work.url)
        #expect(live.stdout.contains("  batched  waiting on batch "), "\(live.stdout)")
        victim.signal(SIGKILL)
        _ = try victim.wait()
        #expect(batches.created == 1)

        let runs = try hvae(["runs", "--db", "b.sqlite"], in: work.url)
        #expect(runs.stdout.contains("  batched  batch at provider "), "\(runs.stdout)")
        #expect(runs.stdout.contains("`hvae resume ID` re-attaches to them"), "\(runs.stdout)")
        let show = try hvae(["show", "1", "--db", "b.sqlite"], in: work.url)
        #expect(show.stdout.contains("batches: 1, 1 not ended (`hvae resume 1` waits for them"), "\(show.stdout)")
        #expect(show.stdout.contains(" batch_1 "), "\(show.stdout)")

        batches.hold(false)
        let resumed = try hvae(["resume", "1", "--db", "b.sqlite", "--quiet"], in: work.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("finished: 8 complete"), "\(resumed.stdout)")
        let submitted = batches.submittedCustomIDs
        #expect(Set(submitted).count == submitted.count, "a request was submitted twice")

        let plain = try hvae(["run", "normal.yaml", "--db", "n.sqlite", "--quiet"], in: work.url)
        #expect(plain.status == 0)
        #expect(submitted.count == normal.requests.count)
        #expect(try fingerprint(work.path("b.sqlite")) == (try fingerprint(work.path("n.sqlite"))))
        let reports = try ["b.sqlite", "n.sqlite"].map {
            try hvae(["report", "--db", $0, "--format", "csv"], in: work.url).stdout
        }
        #expect(reports[0] == reports[1])
        #expect(!reports[0].isEmpty)
        // Merged, the batches and their requests come along, still joined to their trials.
        let merge = try hvae(["merge", "b.sqlite", "-o", "m.sqlite"], in: work.url)
        #expect(merge.status == 0, "\(merge.stderr)")
        let joined = """
            SELECT count(*), count(DISTINCT b.provider_batch_id) FROM batch_requests AS r
            JOIN batches AS b ON b.id = r.batch_id JOIN trials AS t ON t.id = r.trial_id AND t.run_id = b.run_id
            """
        let counts = try ["b.sqlite", "m.sqlite"].map { name in
            try DatabaseQueue(path: work.path(name)).read { db in
                try Row.fetchOne(db, sql: joined).map { [$0[0] as Int, $0[1] as Int] } ?? []
            }
        }
        #expect(counts[0] == counts[1])
        #expect(counts[0] == [submitted.count, batches.created])
    }

    @Test(
        "killed after the provider accepted a batch and before its id was stored, the resume finds it: paid once",
        arguments: ["openai", "anthropic"])
    func killBetweenAcceptAndStore(provider: String) throws {
        let server = try ModelAPIServer(api: provider == "openai" ? .openai : .anthropic, batchPolls: 1) {
            request, _ in .reply(ContentReplies.reply(to: request))
        }
        defer { server.stop() }
        let batches = try #require(server.batches)
        let work = try WorkingDirectory()
        try work.write(
            "batch.yaml",
            experiment(server, batch: true).replacingOccurrences(of: "provider: openai", with: "provider: \(provider)"))
        batches.stallCreation(true)
        let victim = try RunningHvae(["run", "batch.yaml", "--db", "k.sqlite", "--quiet"], in: work.url)
        let deadline = Date().addingTimeInterval(60)
        while batches.stalledRequests == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(batches.created == 1)
        victim.signal(SIGKILL)
        _ = try victim.wait()
        // What the kill left: the intent, with its requests (and OpenAI's input file).
        let db = try DatabaseQueue(path: work.path("k.sqlite"))
        let intent = try db.read { db in
            try Row.fetchOne(db, sql: "SELECT provider_batch_id, input_file_id, status, requests FROM batches")
        }
        #expect((intent?["provider_batch_id"] as String?)?.hasPrefix("pending:hvae-") == true)
        #expect(intent?["status"] == "submitting" && intent?["requests"] == 8)
        #expect((intent?["input_file_id"] as String?) == (provider == "openai" ? "file-1" : nil))

        batches.stallCreation(false)
        let resumed = try hvae(["resume", "1", "--db", "k.sqlite", "--quiet"], in: work.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("finished: 8 complete"), "\(resumed.stdout)")
        // Before: the round went again, 16 of 16 requests paid twice, and the first batch was an
        // orphan no command could reach.
        let submitted = batches.submittedCustomIDs
        #expect(Set(submitted).count == submitted.count, "a request was submitted twice")
        let first = try db.read { db in
            try Row.fetchOne(db, sql: "SELECT provider_batch_id, round, status FROM batches ORDER BY id LIMIT 1")
        }
        #expect(first?["provider_batch_id"] == (provider == "openai" ? "batch_1" : "msgbatch_1"))
        #expect(first?["round"] == 1)
    }

    @Test("killed before the provider accepted anything, the resume finds no batch with the tag and submits once")
    func killBeforeAccept() throws {
        let server = try ModelAPIServer(api: .openai, batchPolls: 1) { request, _ in
            .reply(ContentReplies.reply(to: request))
        }
        defer { server.stop() }
        let batches = try #require(server.batches)
        let work = try WorkingDirectory()
        try work.write("batch.yaml", experiment(server, batch: true))
        batches.stallUploads(true)
        let victim = try RunningHvae(["run", "batch.yaml", "--db", "u.sqlite", "--quiet"], in: work.url)
        let deadline = Date().addingTimeInterval(60)
        while batches.stalledRequests == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        victim.signal(SIGKILL)
        _ = try victim.wait()
        #expect(batches.created == 0)
        batches.stallUploads(false)
        let resumed = try hvae(["resume", "1", "--db", "u.sqlite", "--quiet"], in: work.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("finished: 8 complete"), "\(resumed.stdout)")
        let submitted = batches.submittedCustomIDs
        #expect(Set(submitted).count == submitted.count)
        let rows = try DatabaseQueue(path: work.path("u.sqlite")).read { db in
            try Row.fetchAll(db, sql: "SELECT status, error, round FROM batches ORDER BY id")
        }
        // The intent is closed as never submitted, and counts as no failure of its calls.
        #expect(rows.first?["status"] == "not_submitted")
        #expect((rows.first?["error"] as String?)?.contains("it was never accepted") == true)
        #expect(rows.dropFirst().allSatisfy { ($0["status"] as String) == "completed" })
        let cancel = try hvae(["batch", "cancel", "1", "--db", "u.sqlite"], in: work.url)
        #expect(cancel.stdout == "run 1 has no batch that has not ended: nothing to cancel\n", "\(cancel.stdout)")
    }

    @Test("after Ctrl-C, hvae batch cancel cancels the run's batch at the provider; the resume submits its calls again")
    func cancelThenResume() throws {
        let server = try ModelAPIServer(api: .anthropic, batchPolls: 1) { request, _ in
            .reply(ContentReplies.reply(to: request))
        }
        defer { server.stop() }
        let batches = try #require(server.batches)
        let work = try WorkingDirectory()
        let yaml = experiment(server, batch: false).replacingOccurrences(
            of: "provider: openai", with: "provider: anthropic")
        try work.write("batch.yaml", yaml)
        batches.hold(true)
        let victim = try RunningHvae(["run", "batch.yaml", "--db", "c.sqlite", "--quiet", "--batch"], in: work.url)
        try waitForBatch(in: work.path("c.sqlite"))
        victim.signal(SIGINT)
        let interrupted = try victim.wait()
        #expect(interrupted.status == 130)
        #expect(
            interrupted.stderr.contains(
                """
                1 batch of run 1 keeps running at the provider, billed as requests complete: the resume \
                re-attaches to it; cancel it with: hvae batch cancel 1 --db c.sqlite
                """), "\(interrupted.stderr)")
        let runs = try hvae(["runs", "--db", "c.sqlite"], in: work.url)
        #expect(runs.stdout.contains("  batched  batch at provider "), "\(runs.stdout)")
        let cancel = try hvae(["batch", "cancel", "1", "--db", "c.sqlite"], in: work.url)
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(cancel.stdout == "batch msgbatch_1 (round 1): canceling\n", "\(cancel.stdout)")
        batches.hold(false)
        let resumed = try hvae(["resume", "1", "--db", "c.sqlite", "--quiet"], in: work.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("finished: 8 complete"), "\(resumed.stdout)")
        // One batch per round: the cancelled round's calls went again together, in round 2.
        let rounds = try DatabaseQueue(path: work.path("c.sqlite")).read { db in
            try Row.fetchAll(db, sql: "SELECT round, requests, status FROM batches ORDER BY id")
        }
        #expect(rounds.map { $0["round"] as Int } == Array(1...rounds.count))
        #expect(rounds.prefix(2).map { $0["requests"] as Int } == [8, 8])
        // The first round's 8 requests went twice: once into the cancelled batch, once after it.
        let submitted = batches.submittedCustomIDs
        #expect(submitted.count == Set(submitted).count + 8)
        let again = try hvae(["batch", "cancel", "1", "--db", "c.sqlite"], in: work.url)
        #expect(again.stdout == "run 1 has no batch that has not ended: nothing to cancel\n")
    }
}
