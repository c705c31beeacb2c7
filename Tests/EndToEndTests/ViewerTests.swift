import Foundation
import GRDB
import ModelServer
import Synchronization
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Replies that try to run script, load images or carry a key, and replies of every parse status.
let hostileSecret = "sk-viewer-SECRET-8c1e5a77"
let hostileReplies = [
    "<script>window.pwned=1</script> I pick B",
    "<img src=x onerror=\"window.pwned=2\"> option D",
    "[click me](javascript:window.pwned=3) <a href=\"javascript:window.pwned=4\">F</a>",
    "A or maybe C, hard to say",
    "I refuse to choose between these.",
    "E",
    "the key is \(hostileSecret), answer G",
]

/// A database made by a real run against a server that answers with `hostileReplies` in turn.
func hostileDatabase(_ work: WorkingDirectory, name: String = "view.sqlite") throws {
    let server = try ModelAPIServer(api: .openai) { _, n in .reply(hostileReplies[n % hostileReplies.count]) }
    defer { server.stop() }
    try work.write(
        "hostile.yaml",
        servedExperiment(name: "hostile", trials: 1, server: server.baseURL, extra: "api_key_env: HVAE_VIEW_KEY"))
    let run = try hvae(
        ["run", "hostile.yaml", "--db", name, "--quiet"], in: work.url, environment: ["HVAE_VIEW_KEY": hostileSecret])
    #expect(run.status == 0 || run.status == 1, "\(run.stderr)")
}

/// The real `hvae view` on a free port, stopped with SIGINT when released.
final class RunningViewer {
    let process: RunningHvae
    let base: String

    init(_ arguments: [String], in work: WorkingDirectory, environment: [String: String] = [:]) throws {
        process = try RunningHvae(["view", "--port", "0"] + arguments, in: work.url, environment: environment)
        let deadline = Date().addingTimeInterval(30)
        var found: String?
        while found == nil && Date() < deadline {
            if let range = process.stdoutSoFar.range(of: #"http://[^ ]+/"#, options: .regularExpression) {
                found = String(process.stdoutSoFar[range])
            } else if !process.process.isRunning {
                break
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        guard let found else {
            throw ViewerTestError("hvae view did not start: \(process.stdoutSoFar) \(process.stderrSoFar)")
        }
        base = String(found.dropLast())
    }

    func stop() throws -> CLIResult {
        process.signal(SIGINT)
        return try process.wait()
    }

    deinit {
        if process.process.isRunning {
            process.signal(SIGINT)
            _ = try? process.wait()
        }
    }
}

/// `hvae view` on a database holding one run of the quickstart (run 1), in a directory of its own.
func viewQuickstart() throws -> (work: WorkingDirectory, viewer: RunningViewer) {
    let work = try WorkingDirectory()
    try SharedRuns.quickstart(into: work)
    return (work, try RunningViewer([], in: work))
}

/// A counter one side raises and the other waits on.
final class Gate: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}

struct ViewerTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One HTTP exchange, redirects not followed.
struct Fetched {
    let status: Int
    let headers: [String: String]
    let body: String
}

final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) { completionHandler(nil) }
}

/// No cookies kept, no redirects followed: each request shows exactly what the viewer answered.
let viewerSession: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.httpShouldSetCookies = false
    configuration.httpCookieAcceptPolicy = .never
    configuration.httpCookieStorage = nil
    return URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
}()

func fetch(_ url: String, method: String = "GET", headers: [String: String] = [:], body: String? = nil) async throws
    -> Fetched
{
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if let body { request.httpBody = Data(body.utf8) }
    let (data, response) = try await withCheckedThrowingContinuation {
        (continuation: CheckedContinuation<(Data, URLResponse), any Error>) in
        viewerSession.dataTask(with: request) { data, response, error in
            if let error { return continuation.resume(throwing: error) }
            continuation.resume(returning: (data ?? Data(), response!))
        }.resume()
    }
    let http = response as! HTTPURLResponse
    var fields: [String: String] = [:]
    for (name, value) in http.allHeaderFields {
        fields[String(describing: name).lowercased()] = String(describing: value)
    }
    return Fetched(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
}

@Suite("hvae view over HTTP: pages, escaping, headers, token, bad input, live reading, bundle")
struct ViewerHTTPTests {
    @Test("every page answers; replies are escaped; the policy forbids script; no key appears; 404 not 500")
    func pagesAndEscaping() async throws {
        let work = try WorkingDirectory()
        try hostileDatabase(work)
        let viewer = try RunningViewer(["--db", "view.sqlite"], in: work)
        let trial = try await DatabaseQueue(path: work.path("view.sqlite")).read { db in
            try Int64.fetchOne(db, sql: "SELECT min(trial_id) FROM call_log WHERE reply LIKE '%<script>%'")!
        }
        let pages = [
            "/", "/runs/1", "/trials/\(trial)", "/calls", "/calls?status=ambiguous&run=1", "/calls?q=pwned",
            "/compare", "/compare?by=goal&a=with&b=without", "/compare?trial_a=1&trial_b=2", "/audit",
            "/audit?labeler=ada&per=3&seed=9", "/runs/1/radar.svg", "/runs/1/ring.svg", "/style.css",
        ]
        for page in pages {
            let got = try await fetch(viewer.base + page)
            #expect(got.status == 200, "\(page): \(got.status) \(got.body.prefix(300))")
            let policy = try #require(got.headers["content-security-policy"], "\(page)")
            #expect(policy.contains("default-src 'none'") && !policy.contains("script-src"))
            #expect(got.headers["x-content-type-options"] == "nosniff")
            #expect(!got.body.contains(hostileSecret), "\(page) shows the key")
            #expect(!got.body.contains("<script"), "\(page) holds a script element")
            #expect(!got.body.contains("<img src=x"), "\(page) holds the reply's image")
            #expect(!got.body.contains("href=\"javascript:"), "\(page) holds a javascript: link")
        }
        let transcript = try await fetch(viewer.base + "/trials/\(trial)").body
        #expect(transcript.contains("&lt;script&gt;window.pwned=1&lt;/script&gt; I pick B"))
        // Which trial got which reply depends on the order the trials' calls came in.
        let imageTrial = try await DatabaseQueue(path: work.path("view.sqlite")).read { db in
            try Int64.fetchOne(db, sql: "SELECT min(trial_id) FROM call_log WHERE reply LIKE '%<img%'")!
        }
        #expect(
            try await fetch(viewer.base + "/trials/\(imageTrial)").body.contains(
                "&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;"))
        // Search finds the script reply and no other; the status filter lists only that status.
        let search = try await fetch(viewer.base + "/calls?q=pwned").body
        #expect(search.contains("window.pwned=1") && !search.contains("refuse to choose"))
        let ambiguous = try await fetch(viewer.base + "/calls?status=ambiguous").body
        #expect(ambiguous.contains("maybe C") && !ambiguous.contains("refuse to choose"))
        for (page, status) in [
            ("/runs/99", 404), ("/trials/999999", 404), ("/nowhere", 404), ("/trials/abc", 404),
            ("/calls?status=great", 400), ("/calls?q=%22", 200), ("/audit?per=0", 400), ("/compare?by=colour", 400),
        ] {
            let got = try await fetch(viewer.base + page)
            #expect(got.status == status, "\(page): \(got.status)")
            #expect(!got.body.contains("Fatal") && !got.body.contains(".swift:"), "\(page)")
        }
        #expect(try await fetch(viewer.base + "/runs/99").body.contains("There is no run 99"))
        let stopped = try viewer.stop()
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(!stopped.stdout.contains(hostileSecret) && !stopped.stderr.contains(hostileSecret))
    }

    @Test("a trial read from log probabilities shows each item's letter probabilities and its expected angle")
    func letterProbabilities() async throws {
        let work = try WorkingDirectory()
        let server = try ModelAPIServer(api: .openai) { request, _ in
            request.json?["logprobs"] as? Bool == true
                ? .tokens(ServedToken.reply(["I", " choose", " C", "."], at: 2, letters: [" C": 0.6, " B": 0.3]))
                : .reply("Someone who weighs both.")
        }
        defer { server.stop() }
        try work.write(
            "lp.yaml",
            servedExperiment(name: "lp", trials: 1, values: ["prosocial"], server: server.baseURL)
                + "\n    answer_from: both\ngoal: without\n")
        let run = try hvae(["run", "lp.yaml", "--db", "lp.sqlite", "--quiet"], in: work.url)
        #expect(run.status == 0, "\(run.stderr)")
        let viewer = try RunningViewer(["--db", "lp.sqlite"], in: work)
        let page = try await fetch(viewer.base + "/trials/1")
        #expect(page.status == 200)
        #expect(page.body.contains("<th class=\"num\">expected angle</th>") && page.body.contains("entropy (bits)"))
        // Six items, each with its row of nine probabilities, C's marked as the letter read.
        #expect(page.body.components(separatedBy: "<tr class=\"letters\"><th>p</th>").count == 7)
        #expect(page.body.contains("<td class=\"num read\">0.600</td>"))
        #expect(page.body.contains("letters: 0.100 outside, token 2, p(C) 0.600"))
        _ = try viewer.stop()
    }

    @Test("the audit's one write: labels from the page are stored; cross-site posts and foreign hosts refused")
    func auditWrites() async throws {
        let work = try WorkingDirectory()
        try hostileDatabase(work)
        let before = try fileDigest(work.path("view.sqlite"))
        let viewer = try RunningViewer(["--db", "view.sqlite"], in: work)
        // Reading every page leaves the file as it was.
        for page in ["/", "/runs/1", "/calls", "/audit?labeler=ada", "/trials/1"] {
            _ = try await fetch(viewer.base + page)
        }
        #expect(try fileDigest(work.path("view.sqlite")) == before)
        let call = try await DatabaseQueue(path: work.path("view.sqlite")).read { db in
            try Int64.fetchOne(
                db, sql: "SELECT min(call_id) FROM call_log WHERE item IS NOT NULL AND reply IS NOT NULL")!
        }
        let form = "call=\(call)&label=B&labeler=ada&per=3&seed=9"
        let formType = ["Content-Type": "application/x-www-form-urlencoded"]
        let host = URL(string: viewer.base)!.host! + ":" + String(URL(string: viewer.base)!.port!)
        for headers in [
            ["Origin": "http://evil.example"], ["Sec-Fetch-Site": "cross-site"], ["Origin": "null"],
        ] {
            let refused = try await fetch(
                viewer.base + "/audit/label", method: "POST", headers: formType.merging(headers) { $1 }, body: form)
            #expect(refused.status == 403, "\(headers)")
        }
        let foreignHost = try await fetch(
            viewer.base + "/", headers: ["Host": "rebound.example:\(host.split(separator: ":").last!)"])
        #expect(foreignHost.status == 403)
        let noName = try await fetch(
            viewer.base + "/audit/label", method: "POST", headers: formType, body: "call=\(call)&label=B")
        #expect(noName.status == 400)
        let badLabel = try await fetch(
            viewer.base + "/audit/label", method: "POST", headers: formType, body: "call=\(call)&label=Z&labeler=ada")
        #expect(badLabel.status == 400 && badLabel.body.contains("is not a label"))
        // Another program holds the file's write lock (a sqlite3 shell in a transaction): the label
        // cannot be stored, and the answer says why, as a conflict, not a server fault (500) or bad input.
        let holder = try DatabaseQueue(path: work.path("view.sqlite"))
        let (held, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        Thread.detachNewThread {
            try? holder.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                held.signal()
                release.wait()
                try db.execute(sql: "ROLLBACK")
            }
        }
        held.wait()
        let locked = try await fetch(viewer.base + "/audit/label", method: "POST", headers: formType, body: form)
        release.signal()
        #expect(locked.status == 409, "\(locked.body.prefix(300))")
        #expect(locked.body.contains("is locked") && locked.body.contains("sqlite3 shell"))
        #expect(try fileDigest(work.path("view.sqlite")) == before)
        let saved = try await fetch(
            viewer.base + "/audit/label", method: "POST",
            headers: formType.merging(["Origin": "http://\(host)", "Sec-Fetch-Site": "same-origin"]) { $1 }, body: form)
        #expect(saved.status == 303, "\(saved.body)")
        #expect(saved.headers["location"]?.hasPrefix("/audit?") == true)
        #expect(saved.headers["location"]?.contains("labeler=ada") == true)
        let labels = try await DatabaseQueue(path: work.path("view.sqlite")).read { db in
            try Row.fetchAll(db, sql: "SELECT call_id, labeler, label FROM audit_labels")
        }
        #expect(labels.count == 1 && labels[0]["label"] == "B" && labels[0]["call_id"] == call)
        let page = try await fetch(viewer.base + "/audit?labeler=ada")
        #expect(page.body.contains("of 1 labels agree with the parser"))
        _ = try viewer.stop()
        let export = try hvae(["export", "labels", "--db", "view.sqlite"], in: work.url)
        #expect(export.status == 0, "\(export.stderr)")
        let lines = export.stdout.split(separator: "\r\n")
        #expect(lines.count == 2 && lines[0].hasPrefix("call_id,trial_id,run_id,model"))
        #expect(lines[1].contains(",ada,B,"))
    }

    @Test("beyond 127.0.0.1 a token is required, and every request must carry it")
    func token() async throws {
        let work = try WorkingDirectory()
        try hostileDatabase(work)
        let refused = try hvae(["view", "--db", "view.sqlite", "--host", "0.0.0.0"], in: work.url)
        #expect(refused.status != 0 && refused.stderr.contains("--token"), "\(refused.stderr)")
        let token = "tok-\(UUID().uuidString)"
        let viewer = try RunningViewer(
            ["--db", "view.sqlite", "--host", "0.0.0.0"], in: work, environment: ["HVAE_VIEW_TOKEN": token])
        #expect(viewer.process.stdoutSoFar.contains("?token=\(token)"))
        let base = viewer.base.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
        #expect(try await fetch(base + "/").status == 401)
        #expect(try await fetch(base + "/runs/1?token=wrong-token-000").status == 401)
        let first = try await fetch(base + "/?token=\(token)")
        #expect(first.status == 200)
        #expect(first.headers["set-cookie"]?.contains("HttpOnly") == true)
        #expect(try await fetch(base + "/runs/1", headers: ["Cookie": "hvae_token=\(token)"]).status == 200)
        #expect(try await fetch(base + "/runs/1", headers: ["Authorization": "Bearer \(token)"]).status == 200)
        #expect(try await fetch(base + "/style.css").status == 401)
    }

    @Test("bad input: a missing, foreign or newer file, a busy port: one line each, non-zero exit")
    func badInput() throws {
        let work = try WorkingDirectory()
        try hostileDatabase(work)
        let missing = try hvae(["view", "--db", "none.sqlite"], in: work.url)
        #expect(missing.status != 0 && missing.stderr.contains("no database at none.sqlite"), "\(missing.stderr)")
        try work.write("foreign.sqlite", "")
        try DatabaseQueue(path: work.path("foreign.sqlite")).write { db in try db.execute(sql: "CREATE TABLE t (x)") }
        let foreign = try hvae(["view", "--db", "foreign.sqlite"], in: work.url)
        #expect(foreign.status != 0 && foreign.stderr.contains("that hvae did not create"), "\(foreign.stderr)")
        try FileManager.default.copyItem(atPath: work.path("view.sqlite"), toPath: work.path("newer.sqlite"))
        try DatabaseQueue(path: work.path("newer.sqlite")).writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA user_version = 999")
        }
        let newer = try hvae(["view", "--db", "newer.sqlite"], in: work.url)
        #expect(newer.status != 0 && newer.stderr.contains("newer hvae"), "\(newer.stderr)")
        let occupier = try LocalHTTPServer { _ in .respond(status: 200, body: Data()) }
        defer { occupier.stop() }
        let busy = try hvae(["view", "--db", "view.sqlite", "--port", String(occupier.port)], in: work.url)
        #expect(
            busy.status != 0 && busy.stderr.contains("port \(occupier.port) on 127.0.0.1 is in use"), "\(busy.stderr)")
        for result in [missing, foreign, newer, busy] {
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        let bad = try hvae(["view", "--run", "1"], in: work.url)
        #expect(bad.status != 0 && bad.stderr.contains("--bundle"))
    }

    @Test("a run in progress: its new trials show on reload, and no read ever fails while it writes")
    func live() async throws {
        let work = try WorkingDirectory()
        try hostileDatabase(work)
        // The server lets trial k's calls through only after the k-th round of reads, so that the
        // reads and the run interleave however loaded the machine is.
        let rounds = Gate()
        let server = try ModelAPIServer(api: .openai) { _, n in
            let deadline = Date().addingTimeInterval(60)
            while rounds.value <= n / 8 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            return .reply("E")
        }
        defer { server.stop() }
        try work.write(
            "slow.yaml",
            "concurrency: 1\n"
                + servedExperiment(
                    name: "slow", trials: 1, server: server.baseURL,
                    // The server holds each call for a round of reads, which a loaded machine can
                    // make long: a call must not time out for it.
                    extra: "timeout: 600"))
        let viewer = try RunningViewer(["--db", "view.sqlite"], in: work)
        let run = try RunningHvae(["run", "slow.yaml", "--db", "view.sqlite", "--quiet"], in: work.url)
        var completes: Set<String> = []
        var reads = 0
        while run.process.isRunning {
            for page in ["/", "/runs/2", "/calls?run=2", "/audit?run=2"] {
                let got = try await fetch(viewer.base + page)
                reads += 1
                if got.status == 404 && page != "/" { continue }  // run 2 not created yet
                #expect(got.status == 200, "\(page): \(got.status) \(got.body.prefix(400))")
                #expect(!got.body.contains("locked"))
                if page == "/runs/2", let range = got.body.range(of: #"\d+ complete"#, options: .regularExpression) {
                    completes.insert(String(got.body[range]))
                }
            }
            rounds.increment()
        }
        let finished = try run.wait()
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(reads >= 32)
        #expect(completes.count >= 5, "saw \(completes)")
        let last = try await fetch(viewer.base + "/runs/2").body
        #expect(last.contains("8 planned: 8 complete"))
    }

    @Test("the audit's sample follows a rescore: replies a newer parser reads otherwise move to their new status")
    func auditFollowsRescore() async throws {
        let (work, viewer) = try viewQuickstart()
        // The reference agents answer plainly: every item reply reads as one option.
        #expect(try await fetch(viewer.base + "/audit").body.contains("drawn with seed 1 from run 1: 10 ok."))
        // What a rescore by a newer parser that reads every reply as ambiguous stores: a newer
        // reading of each item call, and nothing else (no call, trial or label).
        let queue = try DatabaseQueue(path: work.path("hvae.sqlite"))
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO answers (call_id, parser_version, status, item)
                    SELECT call_id, max(parser_version) + 1, 'ambiguous', item FROM answers GROUP BY call_id
                    """)
        }
        #expect(try await fetch(viewer.base + "/audit").body.contains("drawn with seed 1 from run 1: 10 ambiguous."))
        #expect(try viewer.stop().status == 0)
    }

    @Test("a run killed with kill -9 is called stalled on the next visit, though nothing stored changed")
    func killedRunIsStalled() async throws {
        let work = try WorkingDirectory()
        // The server holds every call until the test ends: the run stays at its first call, however
        // long the test waits for a thread (on CI, beside the local model, once over five minutes).
        let release = Gate()
        let server = try ModelAPIServer(api: .openai) { _, _ in
            let deadline = Date().addingTimeInterval(900)
            while release.value == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
            return .reply("E")
        }
        defer {
            release.increment()
            server.stop()
        }
        try work.write(
            "held.yaml",
            "concurrency: 1\n"
                + servedExperiment(name: "held", trials: 1, server: server.baseURL, extra: "timeout: 900"))
        let run = try RunningHvae(["run", "held.yaml", "--quiet"], in: work.url)
        // Until the run is stored as running, with its owner's heartbeat. The deadline is generous:
        // with every test running at once on CI's two cores, this test once gave up after 60 s.
        let deadline = Date().addingTimeInterval(300)
        var claimed = false
        var readOnly = Configuration()
        readOnly.readonly = true  // opened before the run made it, the file is not created
        var lastRead = "no database yet"
        // Read, then look at the clock: on a machine where this test waits minutes for a thread,
        // the last look is a read made after the wait, not the deadline seen before it.
        while !claimed && run.process.isRunning {
            do {
                claimed =
                    try await DatabaseQueue(path: work.path("hvae.sqlite"), configuration: readOnly).read { db in
                        try Bool.fetchOne(
                            db,
                            sql: "SELECT count(*) > 0 FROM runs WHERE status = 'running' AND heartbeat_at IS NOT NULL")
                    } ?? false
                lastRead = "no running run yet"
            } catch {
                lastRead = "\(error)"
            }
            if claimed || Date() > deadline { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(
            claimed,
            "the run was not stored as running (last read: \(lastRead); hvae: \(run.stderrSoFar.prefix(500)))"
        )
        let viewer = try RunningViewer([], in: work)
        let running = "<span class=\"status running\">running</span>"
        let stalled = "<span class=\"status stalled\">stalled</span>"
        #expect(try await fetch(viewer.base + "/runs/1").body.contains(running))
        // The runs page is rendered just before the kill, so that no heartbeat comes between.
        #expect(try await fetch(viewer.base + "/").body.contains(running))
        run.signal(SIGKILL)
        _ = try run.wait()
        #expect(try await fetch(viewer.base + "/").body.contains(stalled))
        #expect(try await fetch(viewer.base + "/runs/1").body.contains(stalled))
        #expect(try viewer.stop().status == 0)
    }

    @Test(
        """
        a viewer that labelled a reply goes on seeing the runs other processes write, with bundles made beside it: \
        every new run appears, no page answers 500
        """)
    func labelThenNewRuns() async throws {
        let work = try WorkingDirectory()
        try work.write(
            "small.yaml",
            """
            name: small
            trials: 1
            models:
              - name: ideal
                agent: ideal
            """)
        #expect(try hvae(["run", "small.yaml", "--quiet"], in: work.url).status == 0)
        let viewer = try RunningViewer([], in: work)
        #expect(try await fetch(viewer.base + "/").status == 200)
        // The first label opens the viewer's writer: before 0.9.0 that read the file's first bytes
        // outside SQLite, which dropped the readers' locks; the next run's last connection then
        // deleted the -wal and -shm they still read.
        let call = try await DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
            try Int64.fetchOne(db, sql: "SELECT min(call_id) FROM call_log WHERE item IS NOT NULL")!
        }
        let labelled = try await fetch(
            viewer.base + "/audit/label", method: "POST",
            headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "call=\(call)&label=B&labeler=ada")
        #expect(labelled.status == 303)
        for run in 2...11 {
            #expect(try hvae(["run", "small.yaml", "--quiet"], in: work.url).status == 0)
            if run % 2 == 0 {
                #expect(try hvae(["view", "--bundle", "bundle-\(run)"], in: work.url).status == 0)
            }
            let page = try await fetch(viewer.base + "/runs/\(run)")
            #expect(page.status == 200, "run \(run): \(page.status) \(page.body.prefix(200))")
            let calls = try await fetch(viewer.base + "/calls?run=\(run)")
            #expect(calls.status == 200, "run \(run): \(calls.status) \(calls.body.prefix(200))")
            #expect(try await fetch(viewer.base + "/").body.contains("/runs/\(run)\""), "run \(run)")
        }
        #expect(try viewer.stop().status == 0)
    }

    @Test("the compare page leaves a replay out as hvae compare does, and names what each side pools")
    func compareLeavesReplaysOut() async throws {
        let work = try WorkingDirectory()
        try work.write(
            "c.yaml",
            """
            name: c
            trials: 5
            values: [prosocial]
            goal: both
            models:
              - name: ideal
                agent: ideal
              - name: noisy
                agent: noisy
            """)
        #expect(try hvae(["run", "c.yaml", "--quiet"], in: work.url).status == 0)
        #expect(try hvae(["reproduce", "1", "--replay", "--quiet"], in: work.url).status == 0)
        let viewer = try RunningViewer([], in: work)
        let page = try await fetch(viewer.base + "/compare?by=goal&a=with&b=without")
        #expect(page.status == 200)
        // Two models of five trials a side from run 1; with the replay pooled it was 20 a side.
        let row = try #require(page.body.components(separatedBy: "<tr><td>prosocial</td>").dropFirst().first)
        #expect(row.hasPrefix("<td class=\"num\">10</td>"), "\(row.prefix(200))")
        #expect(page.body.contains("run 2 (a replay of run 1)"))
        #expect(page.body.contains("<p class=\"note\">the comparison pools models ideal, noisy</p>"))
        // hvae compare gives the same counts.
        let cli = try hvae(["compare", "goal", "with", "without", "--format", "csv"], in: work.url)
        #expect(cli.stdout.contains("\r\nprosocial,10,"))
        #expect(cli.stderr.contains("note: the comparison pools models ideal, noisy; narrow it with --model"))
    }

    @Test("a run page's figures share its read of the trials, and read them again once the database changed")
    func figuresFollowChanges() async throws {
        let (work, viewer) = try viewQuickstart()
        let page = try await fetch(viewer.base + "/runs/1").body
        let ring = try await fetch(viewer.base + "/runs/1/ring.svg").body
        let radar = try await fetch(viewer.base + "/runs/1/radar.svg").body
        #expect(ring.contains("<circle class=\"trial\"") && !ring.contains("data-angle=\"12.3456\""))
        // What a rescore under a newer formula adds: newer scores for one complete trial.
        let queue = try DatabaseQueue(path: work.path("hvae.sqlite"))
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO trial_scores (trial_id, formula_version, parser_version, status, angle, category, hit,
                                              vr, angular_error, transitive, invalid_items, computed_at)
                    SELECT trial_id, formula_version + 1, parser_version, 'complete', 12.3456, 'individualistic', 0,
                           1.5, 58.5, transitive, invalid_items, computed_at
                    FROM trial_scores
                    WHERE trial_id = (SELECT min(trial_id) FROM trial_results WHERE run_id = 1 AND status = 'complete')
                    """)
        }
        // Each asked for first after the change: none may reuse the rows read before it.
        #expect(try await fetch(viewer.base + "/runs/1/ring.svg").body.contains("data-angle=\"12.3456\""))
        #expect(try await fetch(viewer.base + "/runs/1/radar.svg").body != radar)
        #expect(try await fetch(viewer.base + "/runs/1").body != page)
        #expect(try viewer.stop().status == 0)
    }

    @Test("the bundle: static pages that link only to each other, no network, the same numbers")
    func bundle() async throws {
        let work = try WorkingDirectory()
        try hostileDatabase(work)
        let result = try hvae(["view", "--db", "view.sqlite", "--bundle", "supplement", "--run", "1"], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        let folder = work.url.appending(path: "supplement")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        let trials = try await DatabaseQueue(path: work.path("view.sqlite")).read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM trials WHERE run_id = 1")
        }
        #expect(files.isSuperset(of: ["index.html", "style.css", "run-1.html", "run-1-radar.svg", "audit.html"]))
        for trial in trials { #expect(files.contains("trial-\(trial).html")) }
        for file in files where file.hasSuffix(".html") {
            let text = try String(contentsOf: folder.appending(path: file), encoding: .utf8)
            #expect(!text.contains("<script"), "\(file)")
            #expect(!text.contains(hostileSecret), "\(file)")
            // Every link and image is a file of the bundle (or an anchor), never the network.
            for match in text.matches(of: /(?:href|src)="([^"]*)"/) {
                let target = String(match.1).split(separator: "#").first.map(String.init) ?? ""
                guard !target.isEmpty else { continue }
                #expect(files.contains(target), "\(file) links to \(target)")
            }
        }
        // The run page holds the same study table the server shows.
        let viewer = try RunningViewer(["--db", "view.sqlite"], in: work)
        let served = try await fetch(viewer.base + "/runs/1").body
        let bundled = try String(contentsOf: folder.appending(path: "run-1.html"), encoding: .utf8)
        func study(_ html: String) -> Substring? {
            guard let start = html.range(of: "<h2 id=\"results\">"), let end = html.range(of: "<details>") else {
                return nil
            }
            return html[start.lowerBound..<end.lowerBound]
        }
        #expect(study(served) != nil && study(served) == study(bundled))
    }

    @Test("a bundle into an earlier bundle's folder holds only its own pages; a folder of other files is refused")
    func bundleAgain() throws {
        let work = try WorkingDirectory()
        try work.write(
            "small.yaml",
            """
            name: small
            trials: 1
            models:
              - name: ideal
                agent: ideal
            """)
        for _ in 0..<2 { #expect(try hvae(["run", "small.yaml", "--quiet"], in: work.url).status == 0) }
        func files(_ folder: String) throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: work.path(folder)))
        }
        #expect(try hvae(["view", "--bundle", "site"], in: work.url).status == 0)
        #expect(try files("site").isSuperset(of: ["run-1.html", "run-2.html"]))
        // Run 2 alone into the same folder: run 1's pages and trials go, as no page links them.
        #expect(try hvae(["view", "--bundle", "site", "--run", "2"], in: work.url).status == 0)
        let second = try files("site")
        #expect(second.contains("run-2.html") && !second.contains("run-1.html"), "\(second.sorted())")
        let firstTrials = try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM trials WHERE run_id = 1")
        }
        #expect(!firstTrials.isEmpty && firstTrials.allSatisfy { !second.contains("trial-\($0).html") })
        let index = try String(contentsOf: work.url.appending(path: "site/index.html"), encoding: .utf8)
        #expect(index.contains("run-2.html") && !index.contains("run-1.html"))
        // A folder holding someone else's files is left as it is.
        try FileManager.default.createDirectory(atPath: work.path("mine"), withIntermediateDirectories: true)
        try work.write("mine/notes.txt", "my notes")
        let refused = try hvae(["view", "--bundle", "mine"], in: work.url)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("mine holds files hvae did not write (notes.txt)"), "\(refused.stderr)")
        #expect(try files("mine") == ["notes.txt"])
    }
}

/// Where the browser tests leave their screenshots: $HVAE_SCREENSHOTS, or .build/viewer-screenshots.
let screenshotFolder: String = {
    let path =
        ProcessInfo.processInfo.environment["HVAE_SCREENSHOTS"]
        ?? repositoryRoot.appending(path: ".build/viewer-screenshots").path
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

/// The browser tests run where Chromium and its driver are installed (CI installs them).
let needsBrowser = ConditionTrait.enabled(
    if: (chromedriver != nil && chromium != nil) || toolsRequired,
    "needs chromium and chromedriver (apt-get install chromium chromium-driver)")

@Suite("hvae view in a real browser (headless Chromium)")
struct ViewerBrowserTests {
    @Test(
        "the audit of a dictator run: a person types the number a reply gave, and sees it beside the reader's",
        needsBrowser)
    func auditNumbers() async throws {
        let work = try WorkingDirectory()
        try work.write(
            "dictator.yaml",
            """
            name: dictator
            trials: 2
            values: [prosocial]
            goal: without
            instruments: [dictator]
            models:
              - name: noisy
                agent: noisy
            """)
        let run = try hvae(["run", "dictator.yaml", "--db", "d.sqlite", "--quiet"], in: work.url)
        try #require(run.status == 0, "\(run.stderr)")
        let viewer = try RunningViewer(["--db", "d.sqlite"], in: work)
        let browser = try Browser()
        try await browser.start()
        try await browser.open(viewer.base + "/audit?per=3&seed=5&labeler=tester")
        let section = try #require(
            try await browser.evaluate("return document.querySelector('section.audit').id") as? String)
        let call = try #require(Int64(section.dropFirst("reply-".count)))
        let read = try await DatabaseQueue(path: work.path("d.sqlite")).read { db in
            try Int.fetchOne(db, sql: "SELECT number FROM call_log WHERE call_id = ?", arguments: [call])!
        }
        // The number read, typed into the reply's form and saved.
        try await browser.type("#\(section) input[name=label]", String(read))
        try await browser.click("#\(section) form.label button[type=submit]:not([value])")
        try await browser.waitForURL(containing: "#\(section)")
        let stored = try await DatabaseQueue(path: work.path("d.sqlite")).read { db in
            try String.fetchOne(db, sql: "SELECT label FROM audit_labels WHERE call_id = ?", arguments: [call])
        }
        #expect(stored == String(read))
        let verdict = try await browser.text("#\(section) p.verdict")
        #expect(verdict.hasPrefix("your label: \(read) · parser v") && verdict.hasSuffix("agree"), "\(verdict)")
        #expect(try await browser.text("#overall").hasPrefix("1 of 1 labels agree with the parser"))
        try await browser.screenshot(to: screenshotFolder + "/audit-numbers.png")
        await browser.quit()
        _ = try viewer.stop()
    }

    @Test(
        """
        links from runs to a trial, hostile replies shown as text with no script run, calls filtered and searched, \
        three replies labelled and the agreement figure checked
        """,
        needsBrowser)
    func browse() async throws {
        let work = try WorkingDirectory()
        try hostileDatabase(work)
        let viewer = try RunningViewer(["--db", "view.sqlite"], in: work)
        let browser = try Browser()
        try await browser.start()
        let shots = screenshotFolder

        // Runs → run → trial, by following links.
        try await browser.open(viewer.base + "/")
        try await browser.screenshot(to: shots + "/runs.png")
        try await browser.click("#runs tbody tr:first-child td:nth-child(2) a")
        #expect(try await browser.title.hasPrefix("Run 1: hostile"))
        #expect(try await browser.evaluate("return document.images.length") as? Int == 2)
        let figuresLoaded = try await browser.evaluate(
            "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        #expect(figuresLoaded as? Bool == true, "the radar and ring figures load under the page's policy")
        try await browser.screenshot(to: shots + "/run.png")
        try await browser.click("h2#trials + table tbody tr:first-child td:first-child a")
        #expect(try await browser.text("h1").hasPrefix("Trial "))

        // A trial with hostile replies: shown as text, nothing run, no image, no javascript: link.
        let trial = try await DatabaseQueue(path: work.path("view.sqlite")).read { db in
            try Int64.fetchOne(db, sql: "SELECT min(trial_id) FROM call_log WHERE reply LIKE '%onerror%'")!
        }
        try await browser.open(viewer.base + "/trials/\(trial)")
        #expect(try await browser.evaluate("return typeof window.pwned") as? String == "undefined")
        #expect(
            try await browser.evaluate("return document.querySelectorAll('main img, main script').length") as? Int == 0)
        let javascriptLinks = try await browser.evaluate(
            "return Array.from(document.links).filter(a => a.protocol === 'javascript:').length")
        #expect(javascriptLinks as? Int == 0)
        let shown = try await browser.text("main")
        #expect(shown.contains("<img src=x onerror=\"window.pwned=2\"> option D"))
        try await browser.screenshot(to: shots + "/trial.png")

        // Calls filtered by parse status, then searched.
        try await browser.open(viewer.base + "/calls")
        try await browser.click("input[name=status][value=ambiguous]")
        try await browser.click("form.filters button[type=submit]")
        try await browser.waitForURL(containing: "status=ambiguous")
        let statuses = try await browser.texts("#calls tbody td:nth-child(8)")
        #expect(!statuses.isEmpty && statuses.allSatisfy { $0 == "ambiguous" }, "\(statuses)")
        try await browser.screenshot(to: shots + "/calls-ambiguous.png")
        try await browser.open(viewer.base + "/calls")
        try await browser.type("input[name=q]", "refuse")
        try await browser.click("form.filters button[type=submit]")
        try await browser.waitForURL(containing: "q=refuse")
        let replies = try await browser.texts("#calls tbody td:nth-child(10)")
        #expect(!replies.isEmpty && replies.allSatisfy { $0.contains("refuse") }, "\(replies)")

        // The audit: a name, then three replies labelled A; the figure counts them.
        try await browser.open(viewer.base + "/audit?per=3&seed=5")
        try await browser.type("input[name=labeler]", "tester")
        try await browser.click("form.filters button[type=submit]")
        try await browser.waitForURL(containing: "labeler=tester")
        let sections = try #require(
            try await browser.evaluate("return Array.from(document.querySelectorAll('section.audit')).map(s => s.id)")
                as? [String])
        try #require(sections.count >= 3, "fewer than 3 replies to label: \(sections)")
        for section in sections.prefix(3) {
            try await browser.click("#\(section) form.label button[value='A']")
            try await browser.waitForURL(containing: "#\(section)")
            #expect(try await browser.url.contains("labeler=tester"))
        }
        let expected = try await DatabaseQueue(path: work.path("view.sqlite")).read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM audit_labels AS l JOIN latest_answers AS a ON a.call_id = l.call_id
                    WHERE a.status = 'ok' AND a.shown_letter = 'A'
                    """)!
        }
        let labelled = try await DatabaseQueue(path: work.path("view.sqlite")).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_labels WHERE labeler = 'tester' AND label = 'A'")!
        }
        #expect(labelled == 3)
        let overall = try await browser.text("#overall")
        #expect(
            overall.hasPrefix(
                "\(expected) of 3 labels agree with the parser: "
                    + String(format: "%.1f%%", Double(expected) / 3 * 100)), "\(overall)")
        #expect(try await browser.texts("p.verdict").count == 3)
        try await browser.screenshot(to: shots + "/audit.png")

        try await browser.open(viewer.base + "/compare?trial_a=1&trial_b=2")
        #expect(try await browser.texts(".side-by-side h2").count == 2)
        try await browser.screenshot(to: shots + "/compare-trials.png")
        try await browser.open(viewer.base + "/compare?by=goal&a=with&b=without")
        try await browser.screenshot(to: shots + "/compare.png")
        await browser.quit()
    }
}
