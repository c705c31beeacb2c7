import Foundation
import GRDB
import ModelServer
import Testing

/// Per trial of a run, every result column, keyed by cell and replicate.
func results(_ db: DatabaseQueue, run: Int64) throws -> [String] {
    try db.read { db in
        try String.fetchAll(
            db,
            sql: """
                SELECT model || '|' || value || '|' || goal || '|' || option_order || '|' || trial || '|' || status || \
                '|' ||
                       quote(angle) || '|' || quote(category) || '|' || quote(hit) || '|' || quote(vr) || '|' ||
                       quote(angular_error) || '|' || quote(transitive) || '|' || quote(invalid_items) || '|' ||
                       quote(mean_self) || '|' || quote(mean_other)
                FROM trial_results WHERE run_id = ? ORDER BY 1
                """, arguments: [run])
    }
}

@Suite("hvae reproduce and provenance", .serialized)
struct ReproduceTests {
    @Test("replay reproduces the quickstart run's trial_results exactly, bit for bit")
    func replayQuickstart() throws {
        let work = try WorkingDirectory()
        try SharedRuns.quickstart(into: work)
        let replay = try hvae(["reproduce", "1", "--replay", "--quiet", "--format", "csv"], in: work.url)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("run 2: reproducing run 1 (quickstart) from its stored replies"))
        let db = try DatabaseQueue(path: work.path("hvae.sqlite"))
        let original = try results(db, run: 1)
        #expect(original.count == 320)
        #expect(try results(db, run: 2) == original)
        let link = try db.read { db in
            try Row.fetchOne(db, sql: "SELECT reproduces_run_id, replay, status FROM runs WHERE id = 2")!
        }
        #expect(link["reproduces_run_id"] == 1)
        #expect(link["replay"] == 1)
        #expect(link["status"] == "finished")
        // The comparison shows no difference anywhere, and knows why: the trials are the same draws,
        // compared pair by pair, so the interval is [0, 0] (before, independent groups: [-2.00, 2.02]).
        let lines = replay.stdout.split(whereSeparator: \.isNewline).map(String.init)
        let header = try #require(lines.first { $0.hasPrefix("model,") }).split(separator: ",").map(String.init)
        let rows = lines.filter { $0.hasPrefix("ideal,") || $0.hasPrefix("noisy,") }.map { line in
            Dictionary(
                uniqueKeysWithValues: zip(
                    header, line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
        }
        #expect(rows.count == 16)
        for row in rows {
            #expect(Double(row["difference"] ?? "") == 0)
            #expect(row["pairs"] == "10" && row["n_original"] == "10" && row["n_reproduced"] == "10")
            #expect(Double(row["ci_low"] ?? "") == 0 && Double(row["ci_high"] ?? "") == 0)
        }
        // hvae compare of the two runs says the same, with p = 1.
        let compare = try hvae(["compare", "run", "1", "2", "--format", "csv"], in: work.url)
        #expect(compare.status == 0, "\(compare.stderr)")
        let compared = compare.stdout.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
        #expect(compared.count == 4)
        for line in compared {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            // value,n_a,mean_a,n_b,mean_b,pairs,unpaired,difference,ci_low,ci_high,p,p_holm
            #expect(fields[5] == "80" && fields[6] == "0")
            #expect(
                Double(fields[7]) == 0 && Double(fields[8]) == 0 && Double(fields[9]) == 0 && Double(fields[10]) == 1)
        }
    }

    @Test("a replay of an API run calls no model: it works with the server gone")
    func replayWithoutServer() throws {
        let server = try ModelAPIServer(api: .openai) { _, n in
            .reply(["I value fairness.", "A", "E: 68, 93", "The answer is I."][n % 4])
        }
        let work = try WorkingDirectory()
        try work.write(
            "api.yaml",
            servedExperiment(name: "api", trials: 1, values: ["prosocial", "altruistic"], server: server.baseURL))
        #expect(try hvae(["run", "api.yaml", "--quiet"], in: work.url).status == 0)
        let calls = server.requests.count
        server.stop()
        let replay = try hvae(["reproduce", "1", "--replay", "--quiet"], in: work.url)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(server.requests.count == calls)
        let db = try DatabaseQueue(path: work.path("hvae.sqlite"))
        #expect(try results(db, run: 2) == (try results(db, run: 1)))
        let modelIDs = try db.read { db in
            try String.fetchAll(
                db,
                sql:
                    """
                    SELECT DISTINCT c.provider_model_id FROM model_calls c JOIN trials t ON t.id = c.trial_id WHERE \
                    t.run_id = 2
                    """
            )
        }
        #expect(modelIDs == ["scripted-model-1"])
        // Without --replay the models are called again, and the server is gone: the trials fail, the run says so.
        let live = try hvae(["reproduce", "1", "--quiet"], in: work.url)
        #expect(live.stdout.contains("run 3: reproducing run 1"))
        #expect(
            try db.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM trials WHERE run_id = 3 AND status = 'failed'")
            } == 4)
    }

    @Test("every run records the commit, machine and SQLite version that made it")
    func provenance() throws {
        let work = try WorkingDirectory()
        try work.write("q.yaml", "name: q\ntrials: 1\nmodels:\n  - name: a\n    agent: ideal\n")
        #expect(try hvae(["run", "q.yaml", "--quiet"], in: work.url).status == 0)
        let row = try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
            try Row.fetchOne(db, sql: "SELECT git_commit, os, host, sqlite_version, tool_version FROM runs")!
        }
        let commit: String = row["git_commit"]
        // Built from this checkout: a hex commit id, possibly marked dirty.
        #expect(commit.range(of: #"^[0-9a-f]{12}(-dirty)?$"#, options: .regularExpression) != nil, "\(commit)")
        #expect((row["os"] as String?)?.isEmpty == false)
        #expect((row["host"] as String?)?.isEmpty == false)
        #expect((row["sqlite_version"] as String?)?.hasPrefix("3.") == true)
        let version = try hvae(["--version"], in: work.url)
        #expect(version.stdout.contains("(commit \(commit))"))
        let show = try hvae(["show", "1"], in: work.url)
        #expect(show.stdout.contains("commit \(commit)"))
    }
}

@Suite("hvae run never mixes runs silently")
struct RunIdentityTests {
    @Test("the same file twice makes two runs; --resume continues the unfinished one of the same experiment")
    func newRunOrResume() throws {
        let work = try WorkingDirectory()
        try work.write("e.yaml", "name: e\ntrials: 2\nmax_calls: 20\nmodels:\n  - name: a\n    agent: noisy\n")
        let first = try hvae(["run", "e.yaml", "--quiet"], in: work.url)
        #expect(first.stdout.contains("budget reached: max_calls 20"))
        #expect(try hvae(["run", "e.yaml", "--quiet"], in: work.url).stdout.hasPrefix("run 2: e"))
        let resumed = try hvae(["run", "e.yaml", "--resume", "--quiet"], in: work.url)
        #expect(resumed.stdout.hasPrefix("run 2: resuming e"))
        let db = try DatabaseQueue(path: work.path("hvae.sqlite"))
        #expect(try db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM runs") } == 2)
        // A different experiment is never resumed into.
        try work.write("f.yaml", "name: e\ntrials: 3\nmodels:\n  - name: a\n    agent: noisy\n")
        let other = try hvae(["run", "f.yaml", "--resume", "--quiet"], in: work.url)
        #expect(other.stdout.contains("no unfinished run of this experiment; starting a new one"))
        #expect(try db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM runs") } == 3)
    }
}

@Suite("hvae rescore")
struct RescoreCommandTests {
    @Test("--dry-run lists the readings that would change and writes nothing; rescore adds them")
    func rescore() throws {
        let work = try WorkingDirectory()
        try work.write(
            "q.yaml", "name: q\ntrials: 1\nvalues: [prosocial]\ngoal: with\nmodels:\n  - name: a\n    agent: fixed\n")
        #expect(try hvae(["run", "q.yaml", "--quiet"], in: work.url).status == 0)
        let db = try DatabaseQueue(path: work.path("hvae.sqlite"))
        // Forget the reading of one reply, as if it had been stored before the parser existed.
        let callID = try db.write { db -> Int64 in
            let id = try Int64.fetchOne(db, sql: "SELECT call_id FROM answers ORDER BY id LIMIT 1")!
            try db.execute(sql: "DELETE FROM answers WHERE call_id = ?", arguments: [id])
            return id
        }
        // A fresh connection for each look, so nothing cached in this process hides what hvae wrote.
        let counts = {
            try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
                [
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM answers")!,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM trial_scores")!,
                ]
            }
        }
        let before = try counts()
        let dry = try hvae(["rescore", "--dry-run"], in: work.url)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("1 read differently"))
        #expect(dry.stdout.contains("call \(callID) ") && dry.stdout.contains("unread -> ok A"))
        #expect(try counts() == before)
        let real = try hvae(["rescore"], in: work.url)
        #expect(real.stdout.contains("added 1 answer(s)"), "\(real.stdout)")
        let rows = try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM answers WHERE call_id = ?", arguments: [callID])
        }
        #expect(rows.count == 1, "\(rows)")
        #expect(try hvae(["rescore", "--dry-run"], in: work.url).stdout.contains(": 0 read differently"))
    }
}

@Suite("hvae run --shard and hvae merge")
struct MergeTests {
    /// vr_summary without run ids, to 9 decimals: the merged run sums the same trials in another
    /// order, which moves the last bits of a mean (about 1e-15).
    func summary(_ path: String) throws -> [String] {
        try DatabaseQueue(path: path).read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT model || '|' || value || '|' || goal || '|' || n || '|' || n_complete || '|' || \
                    round(mean_vr, 9) || '|' ||
                           round(sd_vr, 9) || '|' || round(mean_angle, 9) || '|' || round(hit_rate, 9)
                    FROM vr_summary ORDER BY model, value, goal
                    """)
        }
    }

    @Test("two shards merged give the vr_summary of one unsharded run with the same seed; merging again adds nothing")
    func shardsMerge() throws {
        let work = try WorkingDirectory()
        let file = repositoryRoot.appending(path: "examples/quickstart.yaml").path
        #expect(try hvae(["run", file, "--db", "whole.sqlite", "--quiet"], in: work.url).status == 0)
        let first = try hvae(["run", file, "--shard", "1/2", "--db", "a.sqlite", "--quiet"], in: work.url)
        #expect(first.stdout.hasPrefix("run 1: quickstart, shard 1/2, 160 trials"))
        #expect(try hvae(["run", file, "--shard", "2/2", "--db", "b.sqlite", "--quiet"], in: work.url).status == 0)
        let merged = try hvae(["merge", "a.sqlite", "b.sqlite", "-o", "m.sqlite"], in: work.url)
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout.contains("b.sqlite: 0 run(s) added, 1 slice(s) joined, 160 trial(s)"))
        #expect(try summary(work.path("m.sqlite")) == (try summary(work.path("whole.sqlite"))))

        let db = try DatabaseQueue(path: work.path("m.sqlite"))
        let counts = {
            try db.read { db in
                [
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM runs")!,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM trials")!,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM texts")!,
                ]
            }
        }
        let before = try counts()
        #expect(before[0] == 1)
        // Texts are stored once: as many as in the unsharded database.
        let wholeTexts = try DatabaseQueue(path: work.path("whole.sqlite")).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM texts")!
        }
        #expect(before[3] == wholeTexts)
        #expect(
            try hvae(["merge", "a.sqlite", "b.sqlite", "-o", "m.sqlite"], in: work.url).stdout.contains(
                "0 trial(s) and 0 call(s) copied"))
        #expect(try counts() == before)
        // Every call's full request still rebuilds after renumbering.
        let broken = try db.read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM model_calls AS c LEFT JOIN turns AS t ON t.id = c.request_turn_id
                    WHERE t.id IS NULL OR t.trial_id <> c.trial_id
                    """)!
        }
        #expect(broken == 0)
    }

    @Test("separate runs merge side by side with new ids; bad inputs are refused and left alone")
    func separateRunsAndRefusals() throws {
        let work = try WorkingDirectory()
        try work.write("q.yaml", "name: q\ntrials: 1\nmodels:\n  - name: a\n    agent: ideal\n")
        #expect(try hvae(["run", "q.yaml", "--db", "x.sqlite", "--quiet"], in: work.url).status == 0)
        #expect(try hvae(["run", "q.yaml", "--db", "y.sqlite", "--quiet"], in: work.url).status == 0)
        #expect(try hvae(["merge", "x.sqlite", "y.sqlite", "-o", "m.sqlite"], in: work.url).status == 0)
        let runs = try DatabaseQueue(path: work.path("m.sqlite")).read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, (SELECT count(*) FROM trials WHERE run_id = runs.id) AS n FROM runs ORDER BY id")
        }
        #expect(runs.map { $0["id"] as Int64 } == [1, 2])
        #expect(runs.allSatisfy { $0["n"] == 8 })

        try work.write("notes.sqlite", "not a database")
        let refused = try hvae(["merge", "notes.sqlite", "-o", "m.sqlite"], in: work.url)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("notes.sqlite is not an SQLite database"))
        #expect(try String(contentsOfFile: work.path("notes.sqlite"), encoding: .utf8) == "not a database")
        // Every input is checked before the output is created: a bad one, even after a good one,
        // leaves no new file behind.
        try FileManager.default.createDirectory(atPath: work.path("parts"), withIntermediateDirectories: false)
        for (bad, message) in [
            ("notes.sqlite", "notes.sqlite is not an SQLite database; name the hvae databases to merge"),
            ("absent.sqlite", "no database at absent.sqlite; name the hvae databases to merge"),
            ("parts", "parts is a folder, not a database file"),
        ] {
            let result = try hvae(["merge", "x.sqlite", bad, "-o", "new.sqlite"], in: work.url)
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: work.path("new.sqlite")))
        }
        let same = try hvae(["merge", "x.sqlite", "-o", "x.sqlite"], in: work.url)
        #expect(same.status != 0)
        #expect(same.stderr.contains("is also an input"))
    }
}

@Suite("hvae db")
struct DatabaseCareTests {
    @Test("check finds orphan rows without writing; migrate and vacuum keep the data")
    func care() throws {
        let work = try WorkingDirectory()
        try work.write("q.yaml", "name: q\ntrials: 2\nmodels:\n  - name: a\n    agent: noisy\n")
        #expect(try hvae(["run", "q.yaml", "--quiet"], in: work.url).status == 0)
        let healthy = try hvae(["db", "check"], in: work.url)
        #expect(healthy.status == 0)
        #expect(healthy.stdout.contains("integrity:    ok") && healthy.stdout.contains("orphan texts: 0"))
        #expect(healthy.stdout.contains("; current)"))

        let db = try DatabaseQueue(path: work.path("hvae.sqlite"))
        try db.write { db in
            try db.execute(sql: "INSERT INTO texts VALUES ('\(String(repeating: "a", count: 64))', 'lost')")
        }
        let sick = try hvae(["db", "check"], in: work.url)
        #expect(sick.status == 1)
        #expect(sick.stdout.contains("orphan texts: 1"))

        #expect(try hvae(["db", "migrate"], in: work.url).stdout.contains("is current; nothing to do"))
        let report = try hvae(["report", "--format", "csv", "--resamples", "10"], in: work.url).stdout
        let vacuum = try hvae(["db", "vacuum"], in: work.url)
        #expect(vacuum.status == 0)
        #expect(vacuum.stdout.contains("bytes before"))
        #expect(try hvae(["report", "--format", "csv", "--resamples", "10"], in: work.url).stdout == report)
        let missing = try hvae(["db", "check", "--db", "absent.sqlite"], in: work.url)
        #expect(missing.status != 0 && missing.stderr.contains("no database at absent.sqlite"))
    }
}

@Suite("hvae run --cache")
struct CacheCommandTests {
    @Test("the second identical run is served from the cache, and hvae show counts the hits")
    func cache() throws {
        let work = try WorkingDirectory()
        try work.write("q.yaml", "name: q\ntrials: 1\nvalues: [prosocial]\nmodels:\n  - name: a\n    agent: noisy\n")
        let first = try hvae(["run", "q.yaml", "--cache", "--quiet"], in: work.url)
        #expect(first.stdout.contains("15 model calls\n"))
        let second = try hvae(["run", "q.yaml", "--cache", "--quiet"], in: work.url)
        #expect(second.stdout.contains("15 model calls (15 from the cache)"))
        let show = try hvae(["show", "2"], in: work.url)
        #expect(show.stdout.contains("cache hits"))
        let row = try #require(show.stdout.split(separator: "\n").first { $0.hasPrefix("a ") })
        #expect(
            row.split(separator: " ", omittingEmptySubsequences: true).prefix(4).map(String.init) == [
                "a", "reference", "15", "15",
            ])
        #expect(
            try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
                try String.fetchOne(db, sql: "SELECT experiment_json FROM runs WHERE id = 1")!
            }.contains("\"cache\":true"))
    }

    @Test(
        """
        a merged database keeps every row and column: its cache hits, request keys and replay links, and it serves the \
        cache
        """
    )
    func mergeKeepsTheCache() throws {
        let work = try WorkingDirectory()
        try work.write("q.yaml", "name: q\ntrials: 1\nvalues: [prosocial]\nmodels:\n  - name: a\n    agent: noisy\n")
        #expect(try hvae(["run", "q.yaml", "--cache", "--quiet", "--db", "a.sqlite"], in: work.url).status == 0)
        #expect(try hvae(["run", "q.yaml", "--cache", "--quiet", "--db", "a.sqlite"], in: work.url).status == 0)
        #expect(try hvae(["reproduce", "1", "--replay", "--quiet", "--db", "a.sqlite"], in: work.url).status == 0)
        let merge = try hvae(["merge", "a.sqlite", "-o", "merged.sqlite"], in: work.url)
        #expect(merge.status == 0, "\(merge.stderr)")

        // Merged into an empty file, every table holds the same rows, column for column.
        let source = try DatabaseQueue(path: work.path("a.sqlite"))
        let merged = try DatabaseQueue(path: work.path("merged.sqlite"))
        let tables = try source.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> \
                    'grdb_migrations' AND name NOT LIKE 'reply_search%'
                    ORDER BY name
                    """)
        }
        // The search index is not copied but rebuilt as the calls arrive: it finds the same calls.
        let search = "SELECT rowid FROM reply_search WHERE reply_search MATCH 'reference OR option' ORDER BY rowid"
        let found = try source.read { db in try Int64.fetchAll(db, sql: search) }
        #expect(!found.isEmpty)
        #expect(try merged.read { db in try Int64.fetchAll(db, sql: search) } == found)
        #expect(tables.contains("model_calls") && tables.contains("runs"))
        for table in tables {
            // Provenance of the run itself (machine, created) may differ by design; the rest must not.
            // A tally (schema 12) keeps a row whose count fell to zero; a merge copies finished
            // trials and never makes one: the counts themselves must agree.
            let counted = table == "status_tallies" ? "trials > 0" : "1"
            let width = try source.read { db in try db.columns(in: table).count }
            let columns = (1...width).map(String.init).joined(separator: ", ")
            let query = "SELECT * FROM \(table) WHERE \(counted) ORDER BY \(columns)"
            let before = try source.read { db in try Row.fetchAll(db, sql: query) }
            let after = try merged.read { db in try Row.fetchAll(db, sql: query) }
            #expect(before.count == after.count, "\(table): \(before.count) rows, merged \(after.count)")
            #expect(before == after, "\(table) differs after the merge")
        }
        let hits = try merged.read { db in
            (
                try Int.fetchOne(
                    db,
                    sql:
                        """
                        SELECT sum(c.cache_hit) FROM model_calls AS c JOIN trials AS t ON t.id = c.trial_id WHERE \
                        t.run_id = 2
                        """
                )!,
                try Int.fetchOne(db, sql: "SELECT count(request_key) FROM model_calls")!,
                try Int64.fetchOne(db, sql: "SELECT reproduces_run_id FROM runs WHERE id = 3")
            )
        }
        #expect(hits.0 == 15 && hits.1 == 45 && hits.2 == 1, "\(hits.0) \(hits.1) \(String(describing: hits.2))")
        // And the merged file serves its cache to the next run.
        let again = try hvae(["run", "q.yaml", "--cache", "--quiet", "--db", "merged.sqlite"], in: work.url)
        #expect(again.stdout.contains("15 model calls (15 from the cache)"), "\(again.stdout)")
    }
}
