import Foundation
import GRDB
import ModelServer
import SVO
import Synchronization
import Testing

/// Waits until the run in `path` has stored at least `calls` calls (bounded: 60 s).
func waitForCalls(_ calls: Int, in path: String) throws {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline {
        if FileManager.default.fileExists(atPath: path) {
            var configuration = Configuration()
            configuration.readonly = true
            if let queue = try? DatabaseQueue(path: path, configuration: configuration),
                let count = try? queue.read({ db in try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls") }),
                count >= calls
            {
                try? queue.close()
                return
            }
        }
        Thread.sleep(forTimeInterval: 0.02)
    }
    Issue.record("the run never reached \(calls) calls")
}

/// Per trial: its cell, status, VR and its successful replies in order.
func fingerprint(_ path: String) throws -> [String] {
    try DatabaseQueue(path: path).read { db in
        try String.fetchAll(
            db,
            sql: """
                SELECT r.model || '|' || r.value || '|' || r.goal || '|' || r.trial || '|' || r.status || '|' ||
                       coalesce(round(r.vr, 9), '-') || '|' ||
                       (SELECT group_concat(step || ':' || reply, ';') FROM
                           (SELECT step, reply FROM call_log WHERE trial_id = r.trial_id AND reply IS NOT NULL ORDER \
                BY call_id))
                FROM trial_results AS r ORDER BY 1
                """)
    }
}

@Suite("hvae CLI under interruption, and with real APIs", .serialized)
struct RobustnessTests {
    static let experiment = """
        name: long
        trials: 8
        option_orders: [original, shuffled]
        concurrency: 6
        models:
          - name: noisy
            agent: noisy
          - name: random
            agent: random
        """

    @Test(
        "kill -9 at any moment, then resume: the same complete trials as an uninterrupted run, none twice",
        arguments: [40, 600, 1200])
    func killThenResume(afterCalls: Int) throws {
        let work = try WorkingDirectory()
        try work.write("long.yaml", Self.experiment)
        #expect(try hvae(["run", "long.yaml", "--db", "whole.sqlite", "--quiet"], in: work.url).status == 0)

        let victim = try RunningHvae(["run", "long.yaml", "--db", "cut.sqlite", "--quiet"], in: work.url)
        try waitForCalls(afterCalls, in: work.path("cut.sqlite"))
        victim.signal(SIGKILL)
        let killed = try victim.wait()
        #expect(killed.status != 0)
        // The run's id reached stdout (a file here, so fully buffered) before its first call.
        #expect(killed.stdout.hasPrefix("run 1: long, 256 trials on 2 model(s)"), "\(killed.stdout)")
        // Still stored as running; the listing says its process is gone.
        let listed = try hvae(["runs", "--db", "cut.sqlite"], in: work.url).stdout
        #expect(
            listed.contains("  long  stalled ")
                && listed.contains("stalled: stored as running, but its process is gone"), "\(listed)")
        #expect(
            try hvae(["show", "1", "--db", "cut.sqlite"], in: work.url).stdout
                .contains(
                    "  status:      running, but its process is gone (killed or crashed); `hvae resume 1` continues it")
        )

        let resumed = try hvae(["resume", "1", "--db", "cut.sqlite", "--quiet"], in: work.url)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("run 1: resuming long"))
        #expect(try fingerprint(work.path("cut.sqlite")) == (try fingerprint(work.path("whole.sqlite"))))
        let counts = try DatabaseQueue(path: work.path("cut.sqlite")).read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM trials WHERE status = 'complete'")!,
                try String.fetchOne(db, sql: "SELECT status FROM runs")!
            )
        }
        let wholeCalls = try DatabaseQueue(path: work.path("whole.sqlite")).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!
        }
        #expect(counts.0 == wholeCalls)
        #expect(counts.1 == 2 * 4 * 2 * 2 * 8)
        #expect(counts.2 == "finished")
    }

    /// SIGTERM is what a batch scheduler (SLURM, for one) sends at a job's time limit.
    @Test(
        "Ctrl-C or SIGTERM marks the run interrupted and prints how to resume it",
        arguments: [(SIGINT, 130, "interrupted"), (SIGTERM, 143, "terminated")])
    func interrupt(signal: Int32, exitStatus: Int32, word: String) throws {
        let work = try WorkingDirectory()
        try work.write("long.yaml", Self.experiment)
        let running = try RunningHvae(["run", "long.yaml", "--db", "int.sqlite"], in: work.url)
        try waitForCalls(200, in: work.path("int.sqlite"))
        running.signal(signal)
        let result = try running.wait()
        #expect(result.status == exitStatus)
        #expect(
            result.stderr.contains(
                "\(word): run 1 stopped; every completed call is kept. Resume it with: hvae resume 1 --db int.sqlite"))
        let stored = try DatabaseQueue(path: work.path("int.sqlite")).read { db in
            try String.fetchOne(db, sql: "SELECT status || ' ' || coalesce(owner, 'no owner') FROM runs")
        }
        #expect(stored == "interrupted no owner")
        let resumed = try hvae(["resume", "1", "--db", "int.sqlite", "--quiet"], in: work.url)
        #expect(resumed.status == 0)
        #expect(resumed.stdout.contains("finished: "))
    }

    @Test("20 signals at random moments of a 3.2-million-trial run: each ends interrupted, with the resume hint")
    func signalsAtRandomMoments() throws {
        let work = try WorkingDirectory()
        try work.write(
            "big.yaml",
            """
            name: big
            trials: 100000
            models:
              - name: noisy
                agent: noisy
              - name: random
                agent: random
              - name: ideal
                agent: ideal
              - name: fixed
                agent: fixed
            """)
        var generator = SplitMix64(seed: 2026)
        for round in 0..<20 {
            let (signal, status, word, reason) =
                round % 2 == 0
                ? (SIGINT, Int32(130), "interrupted", "interrupted by SIGINT")
                : (SIGTERM, Int32(143), "terminated", "terminated by SIGTERM")
            let database = "r\(round).sqlite"
            let running = try RunningHvae(["run", "big.yaml", "--db", database, "--quiet"], in: work.url)
            // From the moment the run is stored (its id is printed first), at a random moment within 1.5 s.
            let deadline = Date().addingTimeInterval(60)
            while !running.stdoutSoFar.contains("run 1: big"), Date() < deadline {
                Thread.sleep(forTimeInterval: 0.005)
            }
            Thread.sleep(forTimeInterval: Double(generator.next() % 1_500) / 1_000)
            running.signal(signal)
            let result = try running.wait()
            #expect(result.status == status, "round \(round): \(result.stderr)")
            #expect(
                result.stderr.contains(
                    "\(word): run 1 stopped; every completed call is kept. Resume it with: hvae resume 1 "
                        + "--db \(database)"),
                "round \(round): \(result.stderr)")
            let stored = try DatabaseQueue(path: work.path(database)).read { db in
                try String.fetchOne(db, sql: "SELECT status || ' | ' || coalesce(stop_reason, '') FROM runs")
            }
            #expect(stored == "interrupted | \(reason)", "round \(round)")
        }
    }

    @Test("a run another live process is running cannot be resumed beside it; it finishes whole")
    func resumeWhileRunning() throws {
        // The server holds every reply after the first few until the test lets it go (two minutes at
        // most, so that a second process running the run too makes the test fail, not hang), so
        // the first run is surely still running when the second command starts.
        let state = Mutex((released: false, calls: 0))
        let server = try ModelAPIServer(api: .openai) { _, _ in
            let held = state.withLock { state in
                state.calls += 1
                return !state.released && state.calls > 4
            }
            let deadline = Date().addingTimeInterval(120)
            if held {
                while !state.withLock({ $0.released }), Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            }
            return .reply("E")
        }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "long.yaml", servedExperiment(name: "long", trials: 1, values: ["prosocial"], server: server.baseURL))
        let running = try RunningHvae(["run", "long.yaml", "--db", "busy.sqlite", "--quiet"], in: work.url)
        try waitForCalls(4, in: work.path("busy.sqlite"))
        let show = try hvae(["show", "1", "--db", "busy.sqlite"], in: work.url)
        #expect(
            show.stdout.contains("  status:      running\n  owner:       ")
                && show.stdout.contains(" \(running.process.processIdentifier) (host and pid"), "\(show.stdout)")
        #expect(try hvae(["runs", "--db", "busy.sqlite"], in: work.url).stdout.contains("  long  running "))
        for arguments in [["resume", "1"], ["run", "long.yaml", "--resume"]] {
            let second = try hvae(arguments + ["--db", "busy.sqlite", "--quiet"], in: work.url)
            #expect(second.status != 0)
            #expect(
                second.stderr.hasPrefix(
                    "Error: run 1 is being run by hvae process \(running.process.processIdentifier) on "),
                "\(second.stderr)")
            #expect(second.stdout.isEmpty, "\(second.stdout)")
        }
        state.withLock { $0.released = true }
        let first = try running.wait()
        #expect(first.status == 0, "\(first.stderr)")
        let (runs, owner, trials) = try DatabaseQueue(path: work.path("busy.sqlite")).read { db in
            (
                try String.fetchAll(db, sql: "SELECT status FROM runs"),
                try String.fetchOne(db, sql: "SELECT coalesce(owner, 'none') FROM runs"),
                try String.fetchAll(db, sql: "SELECT DISTINCT status FROM trials")
            )
        }
        #expect(runs == ["finished"])
        #expect(owner == "none")
        #expect(trials == ["complete"])
    }

    @Test("a server that refuses calls for their rate: hvae cuts its calls in flight, finishes, and says what to set")
    func rateLimitedServer() throws {
        // Two calls at a time, as a provider's concurrency limit; a third at once gets 429.
        let inFlight = Atomic<Int>(0)
        let server = try ModelAPIServer(api: .openai) { _, _ in
            defer { inFlight.subtract(1, ordering: .sequentiallyConsistent) }
            guard inFlight.add(1, ordering: .sequentiallyConsistent).newValue <= 2 else {
                return .error(status: 429, message: "Rate limit reached for requests")
            }
            Thread.sleep(forTimeInterval: 0.02)
            return .reply("E")
        }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "limited.yaml",
            servedExperiment(
                name: "limited", trials: 3, values: ["prosocial"], server: server.baseURL,
                extra: "retry_delay: 0.01\n    max_retries: 30"
            ) + "\nconcurrency: 8\n")
        let result = try hvae(["run", "limited.yaml", "--db", "limited.sqlite", "--quiet"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("finished: 6 complete, 0 incomplete, 0 failed"), "\(result.stdout)")
        let refused = try DatabaseQueue(path: work.path("limited.sqlite")).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls WHERE http_status = 429")!
        }
        #expect(refused > 0)
        let warning = try #require(
            result.stderr.split(separator: "\n").first { $0.hasPrefix("warning: model 'served': the server refused ") })
        #expect(warning.contains("refused \(refused) calls for their rate (HTTP 429), each retried"), "\(warning)")
        #expect(warning.contains(" of 8 and grew back to "), "\(warning)")
        #expect(warning.hasSuffix("on it to stay under the server's limit"))
    }

    @Test("an API key never reaches the database, the output or the exports")
    func secretsStayOut() throws {
        let secret = "sk-e2e-SECRET-4d9f2c"
        let server = try ModelAPIServer(api: .openai) { request, _ in
            request.headers["authorization"] == "Bearer \(secret)"
                ? .reply("E") : .error(status: 401, message: "bad key")
        }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "api.yaml",
            servedExperiment(
                name: "api", trials: 2, server: server.baseURL, model: "local-test",
                extra: "api_key_env: HVAE_E2E_KEY"))
        let env = ["HVAE_E2E_KEY": secret]
        let run = try hvae(["run", "api.yaml", "--db", "api.sqlite"], in: work.url, environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("finished: 16 complete"))
        var outputs = [run.stdout, run.stderr]
        for arguments in [["show", "1"], ["report", "--format", "json"], ["report", "--format", "csv"], ["runs"]] {
            let result = try hvae(arguments + ["--db", "api.sqlite"], in: work.url, environment: env)
            outputs += [result.stdout, result.stderr]
        }
        for text in outputs { #expect(!text.contains(secret)) }
        for file in try FileManager.default.contentsOfDirectory(atPath: work.url.path)
        where file.hasPrefix("api.sqlite") {
            let bytes = try Data(contentsOf: work.url.appending(path: file))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) contains the key")
        }
        let stored = try DatabaseQueue(path: work.path("api.sqlite")).read { db in
            try String.fetchOne(db, sql: "SELECT experiment_json FROM runs")!
        }
        #expect(stored.contains("\"api_key_env\":\"HVAE_E2E_KEY\""))
    }

    @Test("a key echoed in another encoding, or by another model's server, is stored nowhere, in no form")
    func secretsInEveryForm() throws {
        let (first, second) = ("sk-rel-Q7d/f9+e2e1", "second-model-key-8c1e")
        @Sendable func escaped(_ key: String) -> String {
            key.unicodeScalars.map {
                "-/+".unicodeScalars.contains($0) ? String(format: "\\u%04x", $0.value) : String($0)
            }
            .joined()
        }
        let percent = first.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        // The first model's server quotes its own key \u-escaped in a 401, then in replies quotes
        // the second model's key, plainly and percent-encoded, and its own, escaped.
        let failed = Atomic<Bool>(false)
        let firstServer = try ModelAPIServer(api: .openai) { _, _ in
            if !failed.exchange(true, ordering: .sequentiallyConsistent) {
                return .raw(
                    status: 500, contentType: "application/json",
                    body: #"{"error":{"message":"bad key \#(escaped(first))"}}"#)
            }
            return .reply("E. (seen: \(second), ?key=\(percent), \(escaped(second)))")
        }
        let secondServer = try ModelAPIServer(api: .openai) { request, _ in
            .reply("E \(request.headers["authorization"] ?? "")")
        }
        defer {
            firstServer.stop()
            secondServer.stop()
        }
        let work = try WorkingDirectory()
        try work.write(
            "keys.yaml",
            """
            name: keys
            trials: 1
            values: [prosocial]
            goal: without
            models:
              - name: first
                provider: openai
                model: m
                base_url: \(firstServer.baseURL)
                api_key_env: HVAE_FIRST_KEY
                retry_delay: 0.01
              - name: second
                provider: openai
                model: m
                base_url: \(secondServer.baseURL)
                api_key_env: HVAE_SECOND_KEY
            """)
        let env = ["HVAE_FIRST_KEY": first, "HVAE_SECOND_KEY": second]
        let run = try hvae(["run", "keys.yaml", "--db", "keys.sqlite"], in: work.url, environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        var outputs = [run.stdout, run.stderr]
        for arguments in [
            ["export", "calls", "--format", "jsonl"], ["export", "calls"], ["show", "1"], ["view", "--bundle", "site"],
        ] {
            let result = try hvae(arguments + ["--db", "keys.sqlite"], in: work.url, environment: env)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            outputs += [result.stdout, result.stderr]
        }
        let forms = [first, second, escaped(first), escaped(second), percent]
        for text in outputs {
            for form in forms { #expect(!text.contains(form), "\(form) in \(text.prefix(300))") }
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: work.url.path).filter {
            $0.hasPrefix("keys.sqlite") || $0.hasPrefix("site/")
        }
        #expect(files.contains { $0.hasPrefix("site/") && $0.hasSuffix(".html") })
        for file in files {
            guard let bytes = FileManager.default.contents(atPath: work.path(file)) else { continue }
            for form in forms { #expect(bytes.range(of: Data(form.utf8)) == nil, "\(file) contains \(form)") }
        }
        // What was redacted is marked, where it was.
        let stored = try DatabaseQueue(path: work.path("keys.sqlite")).read { db in
            try String.fetchAll(db, sql: "SELECT coalesce(error, reply) FROM call_log ORDER BY call_id")
        }
        #expect(stored.contains("HTTP 500: bad key [redacted]"), "\(stored)")
        #expect(stored.contains("E. (seen: [redacted], ?key=[redacted], [redacted])"), "\(stored)")
        #expect(stored.contains("E Bearer [redacted]"), "\(stored)")
    }

    @Test("failed trials: their reasons printed by run and show, exit status 1; resume tries them again and exits 0")
    func failedTrials() throws {
        // Down: of the eight trials (one call each, no retry), four get the same message, the
        // others one each.
        let state = Mutex((up: false, calls: 0))
        let server = try ModelAPIServer(api: .openai) { _, _ in
            state.withLock { state in
                if state.up { return .reply("E") }
                state.calls += 1
                return .error(status: 500, message: "the GPUs are on fire (\(min(state.calls, 5)))")
            }
        }
        defer { server.stop() }
        let work = try WorkingDirectory()
        try work.write(
            "api.yaml",
            servedExperiment(
                name: "api", trials: 2, values: ["prosocial", "competitive"], server: server.baseURL,
                extra: "max_retries: 0\nconcurrency: 1"))
        let failed = try hvae(["run", "api.yaml", "--db", "f.sqlite", "--quiet"], in: work.url)
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("finished: 0 complete, 0 incomplete, 8 failed"))
        // The most common error first, then two others; the two not shown are counted.
        let lines = failed.stdout.split(separator: "\n").filter { $0.hasPrefix("  ") }
        #expect(lines.count == 4, "\(failed.stdout)")
        #expect(
            lines.first?.hasPrefix("  4 failed: ") == true && lines.first?.contains("500") == true
                && lines.first?.contains("the GPUs are on fire (5)") == true, "\(failed.stdout)")
        #expect(lines.dropFirst().prefix(2).allSatisfy { $0.hasPrefix("  1 failed: ") })
        #expect(lines.last == "  (and 2 other errors: SELECT error FROM trials WHERE run_id = 1 AND status = 'failed')")
        #expect(
            failed.stdout.contains(
                "run 1 has failed trials; continue it, from where each stopped, with: hvae resume 1 --db f.sqlite"))
        // No complete trial: the study table in JSON has null means, not empty strings.
        let study = try hvae(["report", "--layout", "study", "--format", "json", "--db", "f.sqlite"], in: work.url)
        let rows = try JSONSerialization.jsonObject(with: Data(study.stdout.utf8)) as? [[String: Any]]
        #expect(
            rows?.first?["prosocial_mean_vr"] is NSNull && rows?.first?["prosocial_n"] as? Int == 2, "\(study.stdout)")
        let show = try hvae(["show", "1", "--db", "f.sqlite"], in: work.url)
        #expect(show.stdout.contains("  trials:      8 (8 failed)\n    4 failed: "), "\(show.stdout)")

        state.withLock { $0.up = true }
        let resumed = try hvae(["resume", "1", "--db", "f.sqlite", "--quiet"], in: work.url)
        #expect(resumed.status == 0, "\(resumed.stdout)\(resumed.stderr)")
        #expect(resumed.stdout.contains("finished: 8 complete, 0 incomplete, 0 failed"))
        #expect(!resumed.stdout.contains("hvae resume"))
        #expect(!(try hvae(["show", "1", "--db", "f.sqlite"], in: work.url)).stdout.contains("failed: "))
    }

    @Test("a missing key stops `hvae run` before anything is written")
    func missingKey() throws {
        let work = try WorkingDirectory()
        try work.write("api.yaml", "name: api\nmodels:\n  - name: gpt\n    provider: openai\n    model: gpt-4o\n")
        let result = try hvae(["run", "api.yaml"], in: work.url, environment: ["OPENAI_API_KEY": ""])
        #expect(result.status != 0)
        #expect(
            result.stderr.contains(
                "model 'gpt': the environment variable OPENAI_API_KEY holding the API key for gpt-4o is not set"))
        #expect(!FileManager.default.fileExists(atPath: work.path("hvae.sqlite")))
    }
}
