import Foundation
import GRDB
import Store
import Testing

/// The rows of an RFC 4180 document (CRLF or LF line ends, quoted fields), header first.
func csvTable(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var characters = text.makeIterator()
    var pending: Character? = nil
    while let character = pending ?? characters.next() {
        pending = nil
        if quoted {
            if character == "\"" {
                let next = characters.next()
                if next == "\"" {
                    field.append("\"")
                } else {
                    quoted = false
                    pending = next
                }
            } else {
                field.append(character)
            }
            continue
        }
        switch character {
        case "\"": quoted = true
        case ",":
            row.append(field)
            field = ""
        case "\r\n", "\n":
            row.append(field)
            rows.append(row)
            (row, field) = ([], "")
        default: field.append(character)
        }
    }
    if !field.isEmpty || !row.isEmpty { rows.append(row + [field]) }
    return rows
}

/// `table`'s rows as dictionaries by column name.
func csvRecords(_ text: String) -> [[String: String]] {
    let table = csvTable(text)
    guard let header = table.first else { return [] }
    return table.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
}

@Suite("Instruments end to end: four instruments on the reference agents, and a database of 0.8.1")
struct InstrumentEndToEndTests {
    static let fixtures = repositoryRoot.appending(path: "Tests/EndToEndTests/Fixtures")

    @Test(
        "slider, slider-parallel, ring and dictator: ideal and stubborn-prosocial at VR 60, every parallel form its own"
    )
    func fourInstruments() async throws {
        let work = try WorkingDirectory()
        try work.write(
            "four.yaml",
            """
            name: four
            seed: 31
            trials: 3
            goal: both
            option_orders: [original, shuffled]
            instruments: [slider, slider-parallel, ring, dictator]
            models:
              - name: ideal
                agent: ideal
              - name: stubborn
                agent: stubborn
                value: prosocial
              - name: noisy
                agent: noisy
                temperature: 4
            """)
        let run = try hvae(["run", "four.yaml", "--db", "four.sqlite", "--quiet"], in: work.url)
        #expect(run.status == 0, "\(run.stderr)")
        try await DatabaseQueue(path: work.path("four.sqlite")).read { db in
            // 3 models x 4 values x 2 goals x 2 orders x 4 instruments x 3 replicates, every one complete.
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM trial_results WHERE status = 'complete'") == 576)
            for instrument in ["slider", "slider-parallel", "ring", "dictator"] {
                #expect(
                    try Double.fetchAll(
                        db, sql: "SELECT vr FROM trial_results WHERE model = 'ideal' AND instrument = ?",
                        arguments: [instrument]) == Array(repeating: 60, count: 48), "\(instrument)")
                #expect(
                    try Double.fetchAll(
                        db,
                        sql: "SELECT vr FROM trial_results WHERE model = 'stubborn' AND value = 'prosocial' "
                            + "AND instrument = ?", arguments: [instrument]) == Array(repeating: 60, count: 12))
            }
            // Every parallel trial has its own form, none the published one, and no other trial has a form.
            let forms = try String.fetchAll(
                db, sql: "SELECT form FROM trials WHERE instrument = 'slider-parallel' AND form IS NOT NULL")
            #expect(forms.count == 144)
            // Trials of one cell and replicate share their seed, so models share forms: one form per seed.
            let seeds = try Int.fetchOne(
                db, sql: "SELECT count(DISTINCT seed) FROM trials WHERE instrument = 'slider-parallel'")
            #expect(Set(forms).count == seeds)
            #expect(forms.allSatisfy { $0.split(separator: ",").count == 6 && !$0.split(separator: ",").contains("0") })
            #expect(
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM trials WHERE instrument <> 'slider-parallel' AND form IS NOT NULL")
                    == 0)
            // A parallel item shows its own coins, and the answer stores them as shown.
            let shown = try Row.fetchOne(
                db,
                sql: """
                    SELECT l.prompt, l.self, l.other, t.form FROM call_log AS l JOIN trials AS t ON t.id = l.trial_id
                    WHERE t.instrument = 'slider-parallel' AND l.item = 1 AND l.parse_status = 'ok' LIMIT 1
                    """)!
            let offset = Int((shown["form"] as String).split(separator: ",")[0])!
            #expect((shown["prompt"] as String).contains("A: \(85 + offset), \(85 + offset)"))
            #expect(!(shown["prompt"] as String).contains("A: 85, 85\n"))
            // The ring stores its points as shown, to one decimal; the dictator game a number and its coins.
            #expect(
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM call_log WHERE instrument = 'ring' AND parse_status = 'ok' "
                        + "AND typeof(self) = 'real'")! > 0)
            let number = try Row.fetchOne(
                db,
                sql: "SELECT number, self, other, shown_letter FROM call_log WHERE instrument = 'dictator' "
                    + "AND item = 1 AND parse_status = 'ok' AND model = 'ideal' AND value = 'altruistic' LIMIT 1")!
            #expect(number["number"] as Int == 40 && number["self"] as Int == 0 && number["other"] as Int == 120)
            #expect(number["shown_letter"] as String? == nil)
            // The summary view splits by instrument: never pooled.
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM vr_summary") == 3 * 4 * 2 * 4)
        }

        // The report splits by instrument by itself, and gives no VR where the dictator game cannot tell.
        let report = try hvae(["report", "--db", "four.sqlite", "--format", "csv", "--resamples", "200"], in: work.url)
        #expect(report.status == 0, "\(report.stderr)")
        let cells = csvRecords(report.stdout)
        #expect(csvTable(report.stdout)[0].prefix(4) == ["model", "instrument", "value", "goal"])
        #expect(cells.count == 3 * 4 * 4 * 2)
        for cell in cells where cell["instrument"] == "dictator" {
            let blind = ["individualistic", "competitive"].contains(cell["value"]!)
            #expect(cell["mean_vr"]!.isEmpty == blind, "\(cell)")
            #expect(cell["mean_angle"]!.isEmpty == false)
        }
        let table = try hvae(
            ["report", "--db", "four.sqlite", "--resamples", "200", "--confidence", "0.9"], in: work.url)
        #expect(table.stdout.contains("No VR for competitive on dictator"))
        #expect(table.stdout.contains("90% CI") && !table.stdout.contains("95% CI"))
        let study = try hvae(["report", "--db", "four.sqlite", "--resamples", "50", "--layout", "study"], in: work.url)
        #expect(study.status == 0, "\(study.stderr)")
        #expect(
            ["slider", "slider-parallel", "ring", "dictator"].allSatisfy {
                study.stdout.contains("Instrument: \($0)\n")
            })
        #expect(study.stdout.contains("No VR for competitive on dictator"))
        let level = try hvae(["report", "--db", "four.sqlite", "--confidence", "95"], in: work.url)
        #expect(
            level.status == 64 && level.stderr.contains("--confidence: a level from 0.5 to 0.999"), "\(level.stderr)")

        // Replayed, every score is the same; rescored, no reply reads differently.
        let replay = try hvae(["reproduce", "1", "--replay", "--db", "four.sqlite", "--quiet"], in: work.url)
        #expect(replay.status == 0, "\(replay.stderr)")
        try await DatabaseQueue(path: work.path("four.sqlite")).read { db in
            let differ = try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM trial_results AS a JOIN trial_results AS b
                      ON b.run_id = 2 AND a.model = b.model AND a.value IS b.value AND a.goal = b.goal
                     AND a.option_order = b.option_order AND a.instrument = b.instrument AND a.trial = b.trial
                    WHERE a.run_id = 1 AND (a.angle IS NOT b.angle OR a.vr IS NOT b.vr OR a.form IS NOT b.form)
                    """)
            #expect(differ == 0)
        }
        let rescore = try hvae(["rescore", "--run", "1", "--dry-run", "--db", "four.sqlite"], in: work.url)
        #expect(rescore.status == 0, "\(rescore.stderr)")
        #expect(
            rescore.stdout.contains("0 read differently") || rescore.stdout.contains("no reply reads differently"),
            "\(rescore.stdout)")

        // Compared pair by pair: the same draws on the slider and its parallel forms, the ideal agent at 0.
        let compare = try hvae(
            [
                "compare", "instrument", "slider", "slider-parallel", "--run", "1", "--model", "ideal", "--format",
                "csv", "--resamples", "200", "--permutations", "200", "--db", "four.sqlite",
            ], in: work.url)
        #expect(compare.status == 0, "\(compare.stderr)")
        let rows = csvRecords(compare.stdout)
        #expect(rows.count == 4)
        #expect(rows.allSatisfy { $0["pairs"] == "12" && $0["difference"] == "0.0" }, "\(compare.stdout)")

        let convergence = try hvae(
            ["report", "--convergence", "--run", "1", "--format", "csv", "--resamples", "200", "--db", "four.sqlite"],
            in: work.url)
        #expect(convergence.status == 0, "\(convergence.stderr)")
        let pairs = csvRecords(convergence.stdout)
        #expect(pairs.count == 3 * 6)
        // The contamination line first, for every model; the ideal agent's cells agree exactly there.
        #expect(pairs.first.map { [$0["a"]!, $0["b"]!] } == ["slider", "slider-parallel"])
        let ideal = try #require(pairs.first { $0["model"] == "ideal" && $0["b"] == "slider-parallel" })
        #expect(ideal["cells"] == "16" && ideal["mean_abs_difference"] == "0.0" && ideal["category_agreement"] == "1.0")

        // The viewer: a section and figures per instrument; a dictator item's budget and the number read.
        let bundle = try hvae(["view", "--bundle", "site", "--run", "1", "--db", "four.sqlite"], in: work.url)
        #expect(bundle.status == 0, "\(bundle.stderr)")
        let page = try String(contentsOfFile: work.path("site/run-1.html"), encoding: .utf8)
        for instrument in ["slider", "slider-parallel", "ring", "dictator"] {
            #expect(page.contains("id=\"instrument-\(instrument)\""))
            for figure in ["radar", "ring"] {
                #expect(FileManager.default.fileExists(atPath: work.path("site/run-1-\(figure)-\(instrument).svg")))
            }
        }
        #expect(!FileManager.default.fileExists(atPath: work.path("site/run-1-radar.svg")))
        // The parser audit samples every instrument's replies, and takes the number a person read
        // in a dictator reply: typed, within the item's budget, as the reader's number is compared.
        let store = try ExperimentStore(path: work.path("four.sqlite"), create: false)
        let (dictator, letters) = try await DatabaseQueue(path: work.path("four.sqlite")).read { db in
            (
                try Int64.fetchAll(
                    db,
                    sql: "SELECT c.id FROM model_calls AS c JOIN trials AS t ON t.id = c.trial_id "
                        + "WHERE t.instrument = 'dictator' AND c.step = 'item' AND t.run_id = 1 ORDER BY c.id"),
                try Int64.fetchAll(
                    db,
                    sql: "SELECT c.id FROM model_calls AS c JOIN trials AS t ON t.id = c.trial_id "
                        + "WHERE t.instrument <> 'dictator' AND c.step = 'item' AND t.run_id = 1")
            )
        }
        let sampled = try await store.itemReplyStatuses(callIDs: dictator + letters, runIDs: [1])
        #expect(Set(sampled.keys) == Set(dictator + letters))
        let viewer = try RunningViewer(["--db", "four.sqlite"], in: work)
        let audit = try await fetch(viewer.base + "/audit?labeler=ada&run=1&per=200")
        // A dictator reply of the sample: its form takes the number, up to the item's budget.
        let numberForm = try #require(
            audit.body.firstMatch(
                of: #/name="call" value="(\d+)"><input type="number" name="label" min="0" max="(\d+)"/#))
        let dictatorCall = try #require(Int64(numberForm.1))
        let budget = try #require(Int(numberForm.2))
        let (ringCall, read, tokens) = try await DatabaseQueue(path: work.path("four.sqlite")).read { db in
            let ring = try Int64.fetchOne(
                db, sql: "SELECT min(call_id) FROM call_log WHERE instrument = 'ring' AND item IS NOT NULL")!
            let call = try Row.fetchOne(
                db, sql: "SELECT item, number FROM call_log WHERE call_id = ? AND instrument = 'dictator'",
                arguments: [dictatorCall])!
            return (ring, call["number"] as Int, [40, 40, 60, 60, 80, 100][(call["item"] as Int) - 1])
        }
        #expect(budget == tokens)
        let formType = ["Content-Type": "application/x-www-form-urlencoded"]
        func label(_ call: Int64, _ label: String) async throws -> (status: Int, body: String) {
            let reply = try await fetch(
                viewer.base + "/audit/label", method: "POST", headers: formType,
                body: "call=\(call)&label=\(label)&labeler=ada&run=1")
            return (reply.status, reply.body)
        }
        // Typed with a leading zero, stored as the number; a letter, or more than the budget, refused.
        #expect(try await label(dictatorCall, String(format: "%03d", read)).status == 303)
        let letter = try await label(dictatorCall, "A")
        #expect(letter.status == 400 && letter.body.contains("use a whole number from 0 to \(budget)"), "\(letter)")
        #expect(try await label(dictatorCall, String(budget + 1)).status == 400)
        // A ring reply shows two options: A or B, not C.
        let ringC = try await label(ringCall, "C")
        #expect(ringC.status == 400 && ringC.body.contains("use a letter A to B"), "\(ringC)")
        #expect(try await label(ringCall, "none").status == 303)
        let labels = try await store.auditPairs(runIDs: [1])
        let pair = try #require(labels.first { $0.callID == dictatorCall })
        #expect(pair.label == String(read) && pair.number == read && pair.instrument == "dictator")
        let labelled = try await fetch(viewer.base + "/audit?labeler=ada&run=1&per=200")
        #expect(labelled.body.contains("your label: \(read) · parser v"), "the number read, beside the label")
        #expect(labelled.body.contains("<h3>By instrument</h3>"))
        _ = try viewer.stop()
        let dictatorTrial = try await DatabaseQueue(path: work.path("four.sqlite")).read { db in
            try Int64.fetchOne(
                db,
                sql: "SELECT id FROM trials WHERE instrument = 'dictator' AND model = 'ideal' "
                    + "AND value = 'altruistic'")!
        }
        let trialPage = try String(contentsOfFile: work.path("site/trial-\(dictatorTrial).html"), encoding: .utf8)
        #expect(trialPage.contains("item 1: 40 tokens, each kept worth 1, each passed worth 3; read: 40 passed"))
        #expect(trialPage.contains("40 tokens passed (0, 120)"))

        // Figures: one instrument at a time.
        let mixed = try hvae(["plot", "ring", "--db", "four.sqlite", "--run", "1"], in: work.url)
        #expect(mixed.status != 0 && mixed.stderr.contains("--instrument"), "\(mixed.stderr)")
        let ring = try hvae(
            ["plot", "ring", "--db", "four.sqlite", "--run", "1", "--instrument", "ring"], in: work.url)
        #expect(ring.status == 0 && ring.stdout.hasPrefix("<svg"), "\(ring.stderr)")
    }

    @Test("targets on two instruments: report --steerability and the run page give each its own curve, never pooled")
    func steerabilityPerInstrument() throws {
        let work = try WorkingDirectory()
        try work.write(
            "two.yaml",
            """
            name: two
            trials: 2
            values: [prosocial]
            targets: [60, 0]
            goal: without
            instruments: [slider, ring]
            models:
              - name: stubborn
                agent: stubborn
                value: individualistic
            """)
        #expect(try hvae(["run", "two.yaml", "--quiet"], in: work.url).status == 0)
        let report = try hvae(["report", "--steerability", "--format", "csv", "--resamples", "50"], in: work.url)
        #expect(report.status == 0, "\(report.stderr)")
        let rows = report.stdout.split(separator: "\r\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        #expect(rows.first?.prefix(3) == ["model", "instrument", "goal"])
        #expect(rows.dropFirst().map { $0[1] } == ["slider", "ring"])
        // The agent answers each instrument with one angle: a curve is that angle, not a mean of both.
        let angles = try DatabaseQueue(path: work.path("hvae.sqlite")).read { db in
            try Row.fetchAll(
                db, sql: "SELECT DISTINCT t.instrument, r.angle FROM trial_results r JOIN trials t ON t.id = r.trial_id"
            )
        }
        #expect(angles.count == 2)
        for row in rows.dropFirst() {
            let angle = try #require(angles.first { $0["instrument"] == String(row[1]) }?["angle"] as Double?)
            #expect(Double(row[9]) == angle && Double(row[10]) == angle, "\(row)")
        }
        #expect(try hvae(["view", "--bundle", "site"], in: work.url).status == 0)
        let page = try String(contentsOfFile: work.path("site/run-1.html"), encoding: .utf8)
        #expect(page.contains("<h2>Steerability on slider</h2>") && page.contains("<h2>Steerability on ring</h2>"))
        #expect(!page.contains("<h2>Steerability</h2>"))
    }

    @Test("a run of four instruments interrupted and resumed has the scores of one run straight through")
    func resumed() throws {
        let work = try WorkingDirectory()
        try work.write(
            "four.yaml",
            """
            name: resumed
            seed: 5
            trials: 12
            goal: without
            concurrency: 3
            instruments: [slider, slider-parallel, ring, dictator]
            models:
              - name: noisy
                agent: noisy
                temperature: 4
            """)
        #expect(try hvae(["run", "four.yaml", "--db", "whole.sqlite", "--quiet"], in: work.url).status == 0)
        // Interrupted once a few hundred calls are stored (of about 3,700), then resumed.
        let running = try RunningHvae(["run", "four.yaml", "--db", "cut.sqlite", "--quiet"], in: work.url)
        let deadline = Date().addingTimeInterval(60)
        // The database is opened only once hvae has made it (opening it first would make an empty file).
        while !running.stdoutSoFar.contains("run 1: resumed"), Date() < deadline {
            Thread.sleep(forTimeInterval: 0.005)
        }
        while Date() < deadline {
            let calls = try? DatabaseQueue(path: work.path("cut.sqlite")).read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls") ?? 0
            }
            if let calls, calls >= 300 { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        running.signal(SIGINT)
        let cut = try running.wait()
        #expect(cut.status == 130, "\(cut.stderr)")
        let stored = try DatabaseQueue(path: work.path("cut.sqlite")).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM trials WHERE status = 'complete'")!
        }
        #expect(stored < 192)
        let resume = try hvae(["resume", "1", "--db", "cut.sqlite", "--quiet"], in: work.url)
        #expect(resume.status == 0, "\(resume.stderr)")
        func scores(_ file: String) throws -> [String] {
            try DatabaseQueue(path: work.path(file)).read { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT instrument || ' ' || value || ' ' || trial || ' ' || status || ' ' || quote(angle) || ' '
                               || quote(vr) || ' ' || quote(form)
                        FROM trial_results ORDER BY instrument, value, trial
                        """)
            }
        }
        let whole = try scores("whole.sqlite")
        #expect(whole.count == 192)
        #expect(try scores("cut.sqlite") == whole)
    }

    @Test("a database written by 0.8.1 reports the same numbers; its trials read as the slider they answered")
    func version081() throws {
        let work = try WorkingDirectory()
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        unzip.arguments = ["-c", "gzip -dc '\(Self.fixtures.appending(path: "v0.8.1.sqlite.gz").path)' > old.sqlite"]
        unzip.currentDirectoryURL = work.url
        try unzip.run()
        unzip.waitUntilExit()
        #expect(unzip.terminationStatus == 0)

        /// Each expected row's columns equal the new output's same-named columns: the numbers of
        /// 0.8.1, whatever columns were added since. Intervals are compared where 0.9.0's interval
        /// rule gives one (none below five values, issue 27).
        func same(_ arguments: [String], _ fixture: String, key: [String]) throws {
            let result = try hvae(arguments + ["--db", "old.sqlite"], in: work.url)
            #expect(result.status == 0, "\(result.stderr)")
            let expected = csvRecords(try String(contentsOf: Self.fixtures.appending(path: fixture), encoding: .utf8))
            let actual = csvRecords(result.stdout)
            #expect(actual.count == expected.count, "\(fixture)")
            #expect(
                actual.map { row in key.map { row[$0] } } == expected.map { row in key.map { row[$0] } }, "\(fixture)")
            for (old, new) in zip(expected, actual) {
                for (column, value) in old {
                    guard let now = new[column] else { continue }
                    if column.hasPrefix("ci_"), now.isEmpty { continue }
                    // 0.9.0 computes the sd from the values less the smallest (equal values give exactly
                    // 0): the same number to the last bit or two.
                    if column == "sd_vr", let a = Double(now), let b = Double(value) {
                        #expect(abs(a - b) <= 1e-12 * max(1, abs(b)), "\(fixture) sd_vr")
                        continue
                    }
                    #expect(now == value, "\(fixture) \(column) \(key.map { old[$0] ?? "" })")
                }
            }
        }
        let reportKey = ["model", "value", "goal"]
        // The slider and slider-full are one measure: pooled as before, with no instrument column.
        let pooled = try hvae(["report", "--all", "--format", "csv", "--db", "old.sqlite"], in: work.url)
        #expect(csvTable(pooled.stdout).first?.prefix(3) == ["model", "value", "goal"])
        try same(["report", "--all", "--format", "csv"], "v0.8.1-report.csv", key: reportKey)
        try same(
            ["report", "--all", "--by", "model,value,goal,option_order,placement,variant", "--format", "csv"],
            "v0.8.1-report-factors.csv", key: reportKey + ["option_order", "placement", "variant"])
        try same(
            ["report", "--run", "1", "--steerability", "--format", "csv"], "v0.8.1-steerability.csv", key: ["model"])
        try same(["export", "trials", "--all"], "v0.8.1-trials.csv", key: ["trial_id"])

        // Migrated for good: the same numbers again, each trial the slider its run asked, and healthy.
        #expect(try hvae(["db", "migrate", "--db", "old.sqlite"], in: work.url).status == 0)
        try same(["export", "trials", "--all"], "v0.8.1-trials.csv", key: ["trial_id"])
        let trials = csvRecords(try hvae(["export", "trials", "--all", "--db", "old.sqlite"], in: work.url).stdout)
        #expect(Set(trials.filter { $0["run_id"] == "1" }.map { $0["instrument"]! }) == ["slider"])
        #expect(Set(trials.filter { $0["run_id"] == "2" }.map { $0["instrument"]! }) == ["slider-full"])
        let check = try hvae(["db", "check", "--db", "old.sqlite"], in: work.url)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        // A rescore reads every stored reply as it was read: nothing changes.
        let rescore = try hvae(["rescore", "--all", "--dry-run", "--db", "old.sqlite"], in: work.url)
        #expect(rescore.status == 0, "\(rescore.stderr)")
    }
}
