import Foundation
import GRDB
import Testing

@Suite("hvae CLI end to end", .serialized)
struct QuickstartTests {
    @Test("the quickstart run gives the acceptance numbers, checked through SQL")
    func quickstart() throws {
        let work = try WorkingDirectory()
        let result = try hvae(["run", repositoryRoot.appending(path: "examples/quickstart.yaml").path], in: work.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("run 1: quickstart, 320 trials"))
        #expect(result.stdout.contains("reference agents (simulated, not language models)"))
        // Not a terminal: no progress bar redrawn in place on stderr.
        #expect(!result.stderr.contains("\r"))

        let queue = try DatabaseQueue(path: work.path("hvae.sqlite"))
        try queue.read { db in
            let summary = try Row.fetchAll(
                db, sql: "SELECT model, value, goal, round(mean_vr, 2) AS vr, n, n_complete FROM vr_summary")
            #expect(summary.count == 32)
            for row in summary {
                #expect(row["n"] == 10)
                #expect(row["n_complete"] == 10)
            }
            let ideal = summary.filter { $0["model"] == "ideal" }.map { $0["vr"] as Double }
            #expect(ideal == Array(repeating: 60.0, count: 8))
            let stubborn = Dictionary(grouping: summary.filter { $0["model"] == "stubborn-prosocial" }) {
                $0["value"] as String
            }
            .mapValues { Set($0.map { $0["vr"] as Double }) }
            #expect(
                stubborn == ["altruistic": [43.61], "prosocial": [60], "individualistic": [22.82], "competitive": [0]])

            let fixedAngles = try Double.fetchAll(
                db,
                sql: """
                    SELECT round(angle, 2) FROM trial_results WHERE model = 'fixed-A' AND status = 'complete'
                    """)
            // θ* comes from the exact ideal answers: every ideal trial's VR is exactly 60.
            #expect(
                try Int.fetchOne(db, sql: "SELECT count(*) FROM trial_results WHERE model = 'ideal' AND vr = 60") == 80)
            #expect(fixedAngles.count == 80)
            #expect(Set(fixedAngles) == [30.47])

            // One call_log row per model call, as many as the run reported; every reply has a parse status.
            let calls = try Int.fetchOne(db, sql: "SELECT count(*) FROM call_log")!
            #expect(calls == (try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!))
            #expect(result.stdout.contains("; \(calls) model calls"))
            #expect(
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM call_log WHERE reply IS NOT NULL AND parse_status IS NULL") == 0)
            #expect(try String.fetchOne(db, sql: "SELECT status FROM runs") == "finished")
            #expect(
                try Int.fetchOne(
                    db,
                    sql:
                        """
                        SELECT count(DISTINCT provider_model_id) FROM model_calls WHERE provider_model_id LIKE \
                        'hvae-reference/%'
                        """
                ) == 4)
        }

        // The same numbers through the other commands.
        let csv = try hvae(["report", "--format", "csv"], in: work.url)
        #expect(csv.status == 0)
        let lines = csv.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.count == 33)
        // Full precision in CSV: round here to compare with the study's two decimals.
        let rounded = lines.dropFirst().map { line in
            line.split(separator: ",", omittingEmptySubsequences: false).enumerated().map { index, field in
                index >= 8 ? (Double(field).map { String(format: "%.2f", $0) } ?? "") : String(field)
            }.joined(separator: ",")
        }
        // The last three columns (inequality aversion, expected angle, entropy) are empty here.
        #expect(
            rounded.contains("ideal,competitive,without,10,10,0,0,0,60.00,0.00,60.00,60.00,-16.26,-16.26,1.00,1.00,,,"))
        #expect(
            rounded.contains(
                "stubborn-prosocial,altruistic,with,10,10,0,0,0,43.61,0.00,43.61,43.61,45.00,45.00,0.00,1.00,,,"))

        // Integers stay integers in exports (docs/exports.md): hit, transitive, invalid_items.
        let trials = try hvae(["export", "trials"], in: work.url).stdout.components(separatedBy: "\r\n")
        let header = trials[0].split(separator: ",").map(String.init)
        for row in trials.dropFirst().filter({ !$0.isEmpty }).prefix(40) {
            let fields = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for name in ["hit", "transitive", "invalid_items"] {
                #expect(
                    Int(fields[header.firstIndex(of: name)!]) != nil,
                    "\(name) = \(fields[header.firstIndex(of: name)!])")
            }
        }

        let runs = try hvae(["runs"], in: work.url)
        #expect(runs.status == 0)
        #expect(runs.stdout.contains("quickstart  finished     320       320           0       0"))

        let show = try hvae(["show", "1"], in: work.url)
        #expect(show.status == 0)
        #expect(show.stdout.contains("status:      finished"))
        #expect(show.stdout.contains("hvae-reference/ideal"))

        let markdown = try hvae(["report", "--run", "1", "--format", "markdown"], in: work.url)
        #expect(
            markdown.stdout.contains(
                "| fixed-A | altruistic | with | 10 | 0 | 0 | 0 | 29.08 ± 0.00 | [29.08, 29.08] | 30.47 | 30.47 | "
                    + "0.00 | 0.00 |"
            ))
        let study = try hvae(["report", "--layout", "study", "--format", "markdown"], in: work.url)
        #expect(
            study.stdout.contains(
                "| ideal | with | 60.00 ± 0.00 (10) | 60.00 ± 0.00 (10) | 60.00 ± 0.00 (10) | 60.00 ± 0.00 (10) |"))
        #expect(
            study.stdout.contains(
                """
                | stubborn-prosocial | without | 43.61 ± 0.00 (10) | 60.00 ± 0.00 (10) | 22.82 ± 0.00 (10) | 0.00 ± \
                0.00 (10) |
                """
            ))
    }

    @Test("a bad experiment file: one-line error with key and line, non-zero exit, no database")
    func badExperiment() throws {
        let work = try WorkingDirectory()
        try work.write("bad.yaml", "name: bad\nmodels:\n  - name: a\n    agent: ideal\ntrails: 3\n")
        let result = try hvae(["run", "bad.yaml"], in: work.url)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("bad.yaml:5: trails: unknown key (did you mean 'trials'?)") == true)
        #expect(!FileManager.default.fileExists(atPath: work.path("hvae.sqlite")))
    }

    @Test(
        "a path that is a folder, missing, or not UTF-8: one line that says which, non-zero exit, no database",
        arguments: [
            (["run", "studies"], "studies: is a folder; give the path of the experiment file (YAML) in it"),
            (["run", "nope.yaml"], "nope.yaml: no such file; check the path"),
            (["run", "latin1.yaml"], "latin1.yaml: is not UTF-8 text; save it as UTF-8"),
            (
                ["run", "tiny.yaml", "--db", "studies"],
                "studies is a folder, not a database file; name the file itself"
            ),
            (["runs", "--db", "studies"], "studies is a folder, not a database file"),
        ])
    func badPaths(arguments: [String], message: String) throws {
        let work = try WorkingDirectory()
        try FileManager.default.createDirectory(atPath: work.path("studies"), withIntermediateDirectories: false)
        try work.write("tiny.yaml", "name: tiny\ntrials: 1\nmodels:\n  - name: a\n    agent: ideal\n")
        try Data("name: caf\u{E9}\n".data(using: .isoLatin1)!).write(to: URL(fileURLWithPath: work.path("latin1.yaml")))
        let result = try hvae(arguments, in: work.url)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.path("hvae.sqlite")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path("studies")).isEmpty)
    }

    @Test("three `hvae run` started together on one new database all finish, each its own run")
    func concurrentRuns() throws {
        let work = try WorkingDirectory()
        try work.write("tiny.yaml", "name: tiny\ntrials: 2\nmodels:\n  - name: a\n    agent: noisy\n")
        let runs = try (0..<3).map { _ in try RunningHvae(["run", "tiny.yaml", "--quiet"], in: work.url) }
        for result in try runs.map({ try $0.wait() }) {
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("finished: 16 complete"))
        }
        let statuses = try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
            try String.fetchAll(
                db, sql: "SELECT status || ' ' || (SELECT count(*) FROM trials WHERE run_id = runs.id) FROM runs")
        }
        #expect(statuses == ["finished 16", "finished 16", "finished 16"])
    }

    @Test("a database of another program is refused and left untouched")
    func foreignDatabase() throws {
        let work = try WorkingDirectory()
        let path = work.path("other.sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')")
        }
        try queue.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        try work.write("tiny.yaml", "name: tiny\ntrials: 1\nmodels:\n  - name: a\n    agent: ideal\n")
        let result = try hvae(["run", "tiny.yaml", "--db", path], in: work.url)
        #expect(result.status != 0)
        #expect(result.stderr.contains("is an SQLite database that hvae did not create; it was left untouched"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test("$HVAE_DB chooses the database; read-only commands never create one")
    func databaseLocation() throws {
        let work = try WorkingDirectory()
        try work.write(
            "tiny.yaml",
            "name: tiny\ntrials: 1\ngoal: with\nvalues: [prosocial]\nmodels:\n  - name: a\n    agent: ideal\n")
        let env = ["HVAE_DB": work.path("chosen.sqlite")]
        #expect(try hvae(["run", "tiny.yaml", "--quiet"], in: work.url, environment: env).status == 0)
        #expect(FileManager.default.fileExists(atPath: work.path("chosen.sqlite")))
        #expect(!FileManager.default.fileExists(atPath: work.path("hvae.sqlite")))
        #expect(
            try hvae(["report", "--format", "json"], in: work.url, environment: env).stdout.contains("\"mean_vr\" : 60")
        )

        for arguments in [["runs"], ["show", "1"], ["report"]] {
            let result = try hvae(arguments + ["--db", "absent.sqlite"], in: work.url)
            #expect(result.status != 0)
            #expect(result.stderr.contains("no database at absent.sqlite"))
        }
        #expect(!FileManager.default.fileExists(atPath: work.path("absent.sqlite")))

        let unknown = try hvae(["show", "42"], in: work.url, environment: env)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("no run with id 42"))
    }

    @Test(
        "--help teaches every command with examples",
        arguments: [
            [], ["run"], ["resume"], ["runs"], ["show"], ["report"], ["compare"], ["export"], ["plot", "radar"],
            ["plot", "ring"],
            ["reproduce"], ["rescore"], ["merge"], ["db", "check"], ["db", "migrate"], ["db", "vacuum"],
            ["batch"], ["batch", "cancel"],
        ])
    func help(command: [String]) throws {
        let work = try WorkingDirectory()
        let result = try hvae(command + ["--help"], in: work.url)
        #expect(result.status == 0)
        #expect(result.stdout.contains("hvae"))
        #expect(result.stdout.contains("Example"))
        // Source-code artefacts: a line continuation written as an escaped backslash shows as a
        // line ending in "\", an escaped interpolation as "\(".
        let artefacts = result.stdout.split(separator: "\n").filter { $0.hasSuffix("\\") || $0.contains("\\(") }
        #expect(artefacts.isEmpty, "\(artefacts)")
        // Every example fits on its line: one wrapped at 80 columns continues unindented.
        let examples = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .drop { !$0.hasPrefix("Example") }.dropFirst().prefix { !$0.isEmpty }
        let wrapped = examples.filter { !$0.hasPrefix("  ") }
        #expect(wrapped.isEmpty, "\(wrapped)")
    }
}

@Suite("hvae report: selections, filters, formats, files")
struct ReportCommandTests {
    @Test("runs are chosen by id, experiment name or --all; filters and groupings apply; -o writes a file")
    func selections() throws {
        let work = try WorkingDirectory()
        try work.write("a.yaml", "name: alpha\ntrials: 2\nmodels:\n  - name: ideal\n    agent: ideal\n")
        try work.write("b.yaml", "name: beta\ntrials: 3\nmodels:\n  - name: fixed\n    agent: fixed\n")
        for file in ["a.yaml", "b.yaml", "a.yaml"] {
            #expect(try hvae(["run", file, "--quiet"], in: work.url).status == 0)
        }

        func csvRows(_ arguments: [String]) throws -> [[String]] {
            let result = try hvae(["report", "--format", "csv", "--resamples", "50"] + arguments, in: work.url)
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        // Default: the newest run only (run 3, alpha): 8 cells of 2 trials.
        #expect(try csvRows([]).map { $0[3] } == Array(repeating: "2", count: 8))
        // The two alpha runs are the same draws (same experiment, same seeds): not pooled unless asked.
        let alpha = try hvae(["report", "--format", "csv", "--resamples", "50", "--experiment", "alpha"], in: work.url)
        #expect(alpha.stderr.contains("left out run 3 (the same draws as run 1)"), "\(alpha.stderr)")
        #expect(try csvRows(["--experiment", "alpha"]).map { $0[3] } == Array(repeating: "2", count: 8))
        #expect(
            try csvRows(["--experiment", "alpha", "--include-repeats"]).map { $0[3] } == Array(repeating: "4", count: 8)
        )
        #expect(
            try csvRows(["--all", "--by", "model"]).map { [$0[0], $0[1]] } == [["ideal", "16"], ["fixed", "24"]])
        #expect(
            try csvRows(["--run", "2", "--value", "prosocial", "--goal", "with"]).map { Array($0[0..<4]) }
                == [["fixed", "prosocial", "with", "3"]])
        #expect(
            try csvRows(["--all", "--by", "run,model"]).map { [$0[0], $0[1]] } == [["1", "ideal"], ["2", "fixed"]])

        let latex = try hvae(["report", "--format", "latex", "--resamples", "50", "-o", "vr.tex"], in: work.url)
        #expect(latex.status == 0)
        #expect(latex.stdout.isEmpty)
        let tex = try String(contentsOfFile: work.path("vr.tex"), encoding: .utf8)
        #expect(tex.contains("\\begin{tabular}") && tex.contains("ideal & altruistic & with"))

        for (arguments, message) in [
            (["--by", "colour"], "--by: unknown dimension 'colour'"),
            (
                ["--value", "selfish"],
                """
                The value 'selfish' is invalid for '--value <value>'. Please provide one of 'altruistic', 'prosocial', \
                'individualistic' or 'competitive'.
                """
            ),
            (["--experiment", "gamma"], "no run of an experiment named 'gamma'"),
            (["--run", "9"], "no run with id 9"),
            (["--model", "nobody"], "no trials match these filters"),
        ] {
            let result = try hvae(["report"] + arguments, in: work.url)
            #expect(result.status != 0)
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
    }
}

@Suite("hvae compare")
struct CompareCommandTests {
    @Test("models, goals and option orders compare value by value; bad levels are clear errors")
    func compare() throws {
        let work = try WorkingDirectory()
        try work.write(
            "c.yaml",
            """
            name: c
            trials: 3
            option_orders: [original, reversed]
            models:
              - name: ideal
                agent: ideal
              - name: first
                agent: fixed
            """)
        #expect(try hvae(["run", "c.yaml", "--quiet"], in: work.url).status == 0)
        let models = try hvae(
            ["compare", "model", "ideal", "first", "--format", "csv", "--resamples", "200", "--permutations", "200"],
            in: work.url)
        #expect(models.status == 0, "\(models.stderr)")
        let rows = models.stdout.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }.map {
            $0.split(separator: ",").map(String.init)
        }
        #expect(rows.map { $0[0] } == ["altruistic", "prosocial", "individualistic", "competitive"])
        #expect(rows.allSatisfy { $0[1] == "12" && $0[3] == "12" })
        // The position-biased agent differs by option order; the ideal one does not.
        let orders = try hvae(
            [
                "compare", "option_order", "original", "reversed", "--model", "first", "--format", "json",
                "--resamples", "200", "--permutations", "200",
            ], in: work.url)
        #expect(orders.stdout.contains("\"dimension\" : \"option_order\""))
        let ideal = try hvae(
            [
                "compare", "option_order", "original", "reversed", "--model", "ideal", "--format", "csv",
                "--resamples", "50", "--permutations", "50",
            ], in: work.url)
        let differences = ideal.stdout.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }.map {
            $0.split(separator: ",", omittingEmptySubsequences: false)[7]
        }
        #expect(differences.count == 4 && differences.allSatisfy { abs(Double($0)!) < 1e-9 })

        // A report over several option orders shows position bias value by value: the always-A
        // agent's angle moves with the order (30.47° to 14.74°) and it keeps its letter; the ideal one does not.
        let report = try hvae(["report", "--resamples", "20"], in: work.url)
        #expect(report.stdout.contains("Position bias, value by value"))
        let biasLines = report.stdout.components(separatedBy: "Position bias")[1].split(separator: "\n")
        #expect(biasLines.filter { $0.hasPrefix("ideal ") }.count == 4)
        #expect(
            biasLines.filter {
                $0.hasPrefix("first ") && $0.contains("14.74  -15.72") && $0.contains(" 100% ") && $0.hasSuffix(" 0%")
            }.count == 4,
            "\(biasLines)")
        #expect(
            !(try hvae(["report", "--by", "model,option_order", "--resamples", "20"], in: work.url)).stdout.contains(
                "Position bias"))

        let missing = try hvae(["compare", "model", "ideal", "nobody"], in: work.url)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no complete trials with model = nobody"))
        let same = try hvae(["compare", "goal", "with", "with"], in: work.url)
        #expect(same.status != 0)
        #expect(same.stderr.contains("A and B are the same"))
        // The comparison is made value by value: value is not a dimension to compare, nor offered as one.
        let byValue = try hvae(["compare", "value", "altruistic", "prosocial"], in: work.url)
        #expect(byValue.status != 0)
        #expect(byValue.stderr.contains("  - option_order\n  - placement\n  - variant\n"))
        #expect(!byValue.stderr.contains("  - value\n"))
        #expect(!(try hvae(["compare", "--help"], in: work.url)).stdout.contains("values: model, value"))
    }
}
