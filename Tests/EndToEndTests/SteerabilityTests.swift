import Foundation
import GRDB
import Testing

@Suite("Steerability end to end: examples/steerability.yaml on the reference agents", .serialized)
struct SteerabilityTests {
    /// The curves of `report --steerability --format csv`, by "model goal placement".
    static func curves(_ csv: String) -> [String: [String: String]] {
        let lines = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = lines[0].map(String.init)
        var curves: [String: [String: String]] = [:]
        for fields in lines.dropFirst() {
            let row = Dictionary(uniqueKeysWithValues: zip(header, fields.map(String.init)))
            curves["\(row["model"]!) \(row["goal"]!) \(row["placement"]!)"] = row
        }
        return curves
    }

    @Test("the sweep's report gives the acceptance figures, its trials store φ and θ*, and the figure draws them")
    func sweep() throws {
        let work = try WorkingDirectory()
        let run = try hvae(["run", repositoryRoot.appending(path: "examples/steerability.yaml").path], in: work.url)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("run 1: steerability, 2000 trials"))

        let report = try hvae(["report", "--steerability", "--format", "csv"], in: work.url)
        #expect(report.status == 0, "\(report.stderr)")
        let curves = Self.curves(report.stdout)
        #expect(curves.count == 20)
        for goal in ["with", "without"] {
            for placement in ["user", "system"] {
                let goal = "\(goal) \(placement)"
                let ideal = try #require(curves["ideal \(goal)"])
                #expect(ideal["points"] == "10")
                #expect(String(format: "%.3f", Double(ideal["slope"]!)!) == "1.000")
                #expect(String(format: "%.3f", Double(ideal["r_squared"]!)!) == "1.000")
                #expect(abs(Double(ideal["mean_absolute_error"]!)!) < 1e-9)
                let stubborn = try #require(curves["stubborn-individualistic \(goal)"])
                #expect(Double(stubborn["slope"]!) == 0)
                #expect(stubborn["r_squared"] == "")  // undefined, not 1
                let fixed = try #require(curves["fixed-A \(goal)"])
                #expect(Double(fixed["slope"]!) == 0)
                #expect(String(format: "%.2f", Double(fixed["intercept"]!)!) == "30.47")
                #expect(Double(fixed["range"]!) == 0)
                let noisy = try #require(curves["noisy \(goal)"])
                #expect(Double(noisy["slope"]!)! > 0.7 && Double(noisy["slope"]!)! < 1)
            }
        }

        // Through SQL: every trial is a target trial with its direction and θ*; the ideal agent's VR is 60.
        let queue = try DatabaseQueue(path: work.path("hvae.sqlite"))
        try queue.read { db in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM trials WHERE value IS NOT NULL") == 0)
            let phis = try Double.fetchAll(db, sql: "SELECT DISTINCT target_phi FROM trials ORDER BY 1")
            #expect(phis == [-45, -30, -15, 0, 15, 30, 45, 60, 75, 90])
            let idealVR = try Double.fetchAll(
                db, sql: "SELECT DISTINCT vr FROM trial_results WHERE model = 'ideal' AND status = 'complete'")
            #expect(idealVR == [60])
            let summary = try Row.fetchAll(
                db, sql: "SELECT target_phi, ideal_angle, n FROM vr_summary WHERE model = 'ideal' AND goal = 'with'")
            // Pooled over the two placements and two variants, as vr_summary pools option orders.
            #expect(summary.count == 10 && summary.allSatisfy { $0["n"] == 20 && $0["target_phi"] != nil })
            // A target trial is told weights, never a value's name.
            let prompt = try String.fetchOne(
                db,
                sql: "SELECT prompt FROM call_log WHERE target_phi = 75 AND step = 'value' ORDER BY call_id LIMIT 1")
            #expect(prompt?.contains("3.73 times as much as each coin you get") == true)
            #expect(prompt?.contains("social value orientation") == false)
            // Half the trials place it in the system message, half in the dialogue; half are worded in Chinese.
            let cells = try Row.fetchAll(
                db, sql: "SELECT placement, variant, count(*) AS n FROM trials GROUP BY 1, 2 ORDER BY 1, 2")
            #expect(
                cells.map { "\($0["placement"] as String) \($0["variant"] as String) \($0["n"] as Int)" } == [
                    "system default 500", "system zh 500", "user default 500", "user zh 500",
                ])
            let systemTurns = try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM turns AS r JOIN trials AS t ON t.id = r.trial_id
                    WHERE r.position = 0 AND r.role = 'system'
                    """)
            #expect(systemTurns == 1000)
            // The Chinese variant: Chinese prompts, Chinese replies from the agents, every reply read.
            let chinese = try Row.fetchAll(
                db, sql: "SELECT prompt, reply, parse_status FROM call_log WHERE variant = 'zh' AND item IS NOT NULL")
            #expect(chinese.count == 1000 * 6)
            func hasHan(_ text: String) -> Bool {
                text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
            }
            #expect(chinese.allSatisfy { hasHan($0["prompt"]) && hasHan($0["reply"]) })
            #expect(chinese.allSatisfy { $0["parse_status"] == "ok" })
            #expect(
                chinese.contains {
                    ($0["reply"] as String).unicodeScalars.contains { (0xFF21...0xFF29).contains($0.value) }
                })
        }

        // The VR report names targets by their label; an export carries the columns.
        let table = try hvae(["report", "--model", "ideal"], in: work.url)
        #expect(table.stdout.contains("phi=-45") && table.stdout.contains("phi=90"))
        let export = try hvae(["export", "trials"], in: work.url)
        let header = export.stdout.components(separatedBy: "\r\n")[0]
        #expect(header.contains(",target_phi,ideal_angle,placement,variant,"))

        let plot = try hvae(["plot", "steer", "-o", work.path("steer.svg")], in: work.url)
        #expect(plot.status == 0, "\(plot.stderr)")
        let svg = try String(contentsOfFile: work.path("steer.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("class=\"diagonal\""))
        // One point per model, goal condition and target, each at its mean angle.
        #expect(svg.components(separatedBy: "class=\"point\"").count - 1 == 200)
        #expect(
            svg.contains(
                "data-model=\"fixed-A\" data-goal=\"with\" data-placement=\"system\" data-target=\"phi=90\" "
                    + "data-ideal=\"61.39\" data-mean=\"30.47\""))
        #expect(svg.contains("ideal, with goal, user placement: slope 1.00"))
        // The random agent is the baseline, in grey.
        #expect(svg.contains("random (baseline: random answers), with goal, user placement: slope"))
        #expect(svg.contains("data-model=\"random\" data-goal=\"with\" data-placement=\"user\""))
        // Each of its points (filled in the dialogue placement) is grey; no other model's is.
        let points = svg.components(separatedBy: "<circle class=\"point\"").dropFirst().map {
            $0.prefix { $0 != ">" }
        }
        let grey = points.filter { $0.contains("fill=\"#aaaaaa\"") || $0.contains("stroke=\"#aaaaaa\"") }
        #expect(grey.count == 40 && grey.allSatisfy { $0.contains("data-model=\"random\"") })

        // The wording and the placement, compared: the reference agents do not depend on either.
        let sensitivity = try hvae(["report", "--sensitivity", "--format", "csv"], in: work.url)
        #expect(sensitivity.status == 0, "\(sensitivity.stderr)")
        let rows = sensitivity.stdout.components(separatedBy: "\r\n").filter { $0.hasPrefix("ideal,") }
        #expect(rows.count == 10 && rows.allSatisfy { $0.hasPrefix("ideal,phi=") && $0.contains(",2,0.0,") })
        let placement = try hvae(["compare", "placement", "user", "system", "--format", "csv"], in: work.url)
        #expect(placement.status == 0, "\(placement.stderr)")
        // It pools the models and the variants, and says so; the placements of one cell pair.
        #expect(placement.stderr.contains("note: the comparison pools models ideal, noisy, "))
        #expect(placement.stderr.contains("; variants default, zh; narrow it with --model"))
        let placementRows = placement.stdout.components(separatedBy: "\r\n").dropFirst().filter { !$0.isEmpty }
        #expect(!placementRows.isEmpty)
        #expect(
            placementRows.allSatisfy {
                let fields = $0.split(separator: ",", omittingEmptySubsequences: false)
                return fields[1] == fields[5] && fields[6] == "0"
            })
        // Targets have no column in the study's table: it says so, and the viewer shows the curves instead.
        let study = try hvae(["report", "--layout", "study"], in: work.url)
        #expect(study.status != 0 && study.stderr.contains("these trials were told targets only"))
        let bundle = try hvae(["view", "--bundle", work.path("site"), "--run", "1"], in: work.url)
        #expect(bundle.status == 0, "\(bundle.stderr)")
        let page = try String(contentsOfFile: work.path("site/run-1.html"), encoding: .utf8)
        #expect(
            page.contains("<h2>Steerability</h2>") && page.components(separatedBy: "class=\"point\"").count - 1 == 200)
        #expect(!page.contains(">altruistic</th>"))
        let pooled = try hvae(["report"], in: work.url)
        #expect(pooled.stderr.contains("note: each cell pools the placements system, user"))
        #expect(pooled.stderr.contains("note: each cell pools the variants default, zh"))
    }

    @Test("the ring and the radar of a run told targets only refuse with the reason, writing nothing")
    func namedValueFiguresOfTargets() throws {
        let work = try WorkingDirectory()
        try work.write(
            "targets.yaml",
            """
            name: targets
            trials: 2
            targets: [0, 45, 90]
            models:
              - name: ideal
                agent: ideal
            """)
        #expect(try hvae(["run", "targets.yaml", "--quiet"], in: work.url).status == 0)
        for figure in ["ring", "radar"] {
            let plot = try hvae(["plot", figure, "-o", "\(figure).svg"], in: work.url)
            #expect(plot.status == 1, "\(figure): \(plot.stdout)")
            #expect(
                plot.stderr.contains(
                    "the 12 complete trials of run(s) 1 were told targets (directions φ), not named values, which "
                        + "this figure shows; `hvae plot steer` plots targets"), "\(figure): \(plot.stderr)")
            #expect(!FileManager.default.fileExists(atPath: work.path("\(figure).svg")))
        }
        #expect(try hvae(["plot", "steer", "-o", "steer.svg"], in: work.url).status == 0)
    }

    @Test("a report of a run without targets is unchanged, and --steerability over its values gives four points")
    func values() throws {
        let work = try WorkingDirectory()
        try SharedRuns.quickstart(into: work)
        let report = try hvae(["report", "--steerability", "--format", "csv"], in: work.url)
        let curves = Self.curves(report.stdout)
        #expect(curves["ideal with user"]?["points"] == "4")
        #expect(curves["ideal with user"].map { String(format: "%.3f", Double($0["slope"]!)!) } == "1.000")
        #expect(curves["stubborn-prosocial without user"]?["slope"] == "0.0")
        let bad = try hvae(["report", "--steerability", "--layout", "study"], in: work.url)
        #expect(bad.status != 0 && bad.stderr.contains("--steerability has its own tables"))
    }
}

@Suite("Reliability and baselines end to end", .serialized)
struct ReliabilityEndToEndTests {
    static func experiment(seed: Int) -> String {
        """
        name: waves
        seed: \(seed)
        trials: 4
        goal: without
        models:
          - name: ideal
            agent: ideal
          - name: coin
            agent: random
        """
    }

    @Test("report --reliability over two waves and a replay: the replay is left out, ICC and split-half are given")
    func waves() throws {
        let work = try WorkingDirectory()
        try work.write("one.yaml", Self.experiment(seed: 1))
        try work.write("two.yaml", Self.experiment(seed: 2))
        #expect(try hvae(["run", "one.yaml", "--quiet"], in: work.url).status == 0)
        #expect(try hvae(["run", "two.yaml", "--quiet"], in: work.url).status == 0)
        #expect(try hvae(["reproduce", "1", "--replay", "--quiet"], in: work.url).status == 0)
        let report = try hvae(["report", "--reliability", "--all", "--format", "csv"], in: work.url)
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stderr.contains("note: left out replays 3"))
        let tables = report.stdout.components(separatedBy: "\r\n\r\n")
        #expect(tables.count == 2)
        let retest = tables[0].components(separatedBy: "\r\n")
        #expect(retest[0] == "model,runs,subjects,icc,ci_low,ci_high")
        #expect(retest[1].hasPrefix("ideal,2,16,1.0,"))
        let coin = try #require(retest.first { $0.hasPrefix("coin,2,16,") })
        let icc = try #require(Double(coin.split(separator: ",")[3]))
        #expect(icc < 0.9)  // random answers are not a stable measurement
        #expect(tables[1].hasPrefix("run,model,cells,r,spearman_brown,ci_low,ci_high\r\n1,ideal,4,"))
        // The random agent is marked as the baseline in the study table.
        let study = try hvae(["report", "--run", "1", "--layout", "study"], in: work.url)
        #expect(study.stdout.contains("coin (baseline)"))
        #expect(study.stdout.contains("(baseline): answers uniformly at random"))
        let one = try hvae(["report", "--reliability", "--run", "2"], in: work.url)
        #expect(one.stderr.contains("note: one run: split-half only"))
        let replay = try hvae(["report", "--reliability"], in: work.url)  // the newest run, the replay
        #expect(replay.status != 0 && replay.stderr.contains("run(s) 3 are replays; choose the runs they replay"))
    }
}
