import Design
import Domain
import Foundation
import GRDB
import SVO
import Store
import Testing

@testable import Analysis
@testable import Runner

/// A fresh database with runs of `yaml` (one per seed).
final class ReportFixture {
    let directory: URL
    let store: ExperimentStore
    var runIDs: [Int64] = []

    init(
        _ yaml: String = ReportFixture.standard, seeds: [Int] = [1],
        providers: (@Sendable (Experiment) throws -> [String: any ChatProvider])? = nil
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appending(path: "hvae-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try ExperimentStore(path: directory.appending(path: "r.sqlite").path)
        for seed in seeds {
            let experiment = try ExperimentFile.parse(yaml: yaml + "\nseed: \(seed)\n")
            let runner = ExperimentRunner(store: store)
            let run = try await runner.createRun(experiment)
            _ = try await runner.execute(
                runID: run.id!, experiment: experiment,
                providers: try providers?(experiment)
                    ?? ProviderFactory.makeAll(experiment, transport: NetworkTransport()))
            runIDs.append(run.id!)
        }
    }

    /// A read-only connection of its own, for the tests' queries.
    var reader: DatabaseQueue {
        get throws {
            var configuration = Configuration()
            configuration.readonly = true
            return try DatabaseQueue(path: store.path, configuration: configuration)
        }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    static let standard = """
        name: report
        trials: 4
        option_orders: [original, reversed]
        models:
          - name: noisy
            agent: noisy
          - name: stubborn
            agent: stubborn
            value: prosocial
        """
}

@Suite("Reports: statistics and formats")
struct ReportTests {
    @Test("a killed run's cell counts its trials apart: complete, incomplete, failed, unfinished; a warning says so")
    func unfinishedApart() async throws {
        let fixture = try await ReportFixture(
            """
            name: counts
            trials: 10
            values: [prosocial]
            goal: without
            models:
              - name: stubborn
                agent: stubborn
                value: prosocial
            """)
        // As a kill leaves a run: of its 10 trials, 2 pending, 2 running, 1 failed, 1 left an item
        // unanswered (its newest scores say so), 4 complete.
        try await DatabaseQueue(path: fixture.store.path).write { db in
            try db.execute(
                sql: """
                    UPDATE trials SET status = CASE trial_index WHEN 1 THEN 'pending' WHEN 2 THEN 'pending'
                        WHEN 3 THEN 'running' WHEN 4 THEN 'running' WHEN 5 THEN 'failed' ELSE status END;
                    UPDATE trial_scores SET status = 'incomplete', vr = NULL, angle = NULL
                    WHERE trial_id = (SELECT id FROM trials WHERE trial_index = 6);
                    UPDATE trials SET status = 'incomplete' WHERE trial_index = 6
                    """)
        }
        let report = try await Report.build(store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs))
        let cell = try #require(report.cells.first)
        #expect(
            [cell.n, cell.nComplete, cell.nIncomplete, cell.nFailed, cell.nUnfinished] == [10, 4, 1, 1, 4] as [Int])
        let row = try #require(try await fixture.store.vrSummary(runIDs: fixture.runIDs).first)
        #expect([row.n, row.nComplete, row.nIncomplete, row.nFailed, row.nUnfinished] == [10, 4, 1, 1, 4] as [Int])
        #expect(
            report.unfinishedWarning?.hasPrefix("warning: 4 of these 10 trials are unfinished (pending or running")
                == true)
        let csv = try ReportRenderer.render(report, as: .csv)
        #expect(csv.hasPrefix("model,value,goal,n,n_complete,n_incomplete,n_failed,n_unfinished,mean_vr,"))
        #expect(csv.contains("stubborn,prosocial,without,10,4,1,1,4,60.0,0.0,"), "\(csv)")
        let table = try ReportRenderer.render(report, as: .table)
        #expect(table.contains("incomplete") && table.contains("failed") && table.contains("unfinished"))
        // A finished run has nothing to warn of.
        let finished = try await ReportFixture()
        #expect(
            try await Report.build(store: finished.store, filter: TrialFilter(runIDs: finished.runIDs))
                .unfinishedWarning == nil)
    }

    @Test("how each model's answers came: re-asks, unreadable replies and invented payoffs, in the footer and JSON")
    func answerQuality() async throws {
        // Item 1 is hedged, then answered on the re-ask; item 2 quotes payoffs that are no option's.
        let scripted: @Sendable (Experiment) throws -> [String: any ChatProvider] = { experiment in
            var providers = try ProviderFactory.makeAll(experiment, transport: NetworkTransport())
            providers["stubborn"] = ScriptedReplies { request, _ in
                guard case .item(let item) = request.context.step else { return "I care." }
                let reasked =
                    request.messages.count > 3 && request.messages[request.messages.count - 2].content == "B or C"
                switch item {
                case 1: return reasked ? "C" : "B or C"
                case 2: return "D: 98"
                default: return "E"
                }
            }
            return providers
        }
        let fixture = try await ReportFixture(
            """
            name: quality
            trials: 3
            values: [prosocial]
            goal: without
            models:
              - name: noisy
                agent: noisy
              - name: stubborn
                agent: stubborn
                value: prosocial
            """, providers: scripted)
        let report = try await Report.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs), options: ReportOptions(resamples: 10))
        let stubborn = try #require(report.answers.first { $0.model == "stubborn" })
        #expect(
            [
                stubborn.itemsAnswered, stubborn.answeredOnReask, stubborn.replies, stubborn.unreadable,
                stubborn.inventedPayoffs,
            ] == [18, 3, 21, 3, 3] as [Int])
        let noisy = try #require(report.answers.first { $0.model == "noisy" })
        #expect([noisy.answeredOnReask, noisy.unreadable, noisy.inventedPayoffs] == [0, 0, 0] as [Int])
        let table = try ReportRenderer.render(report, as: .table)
        #expect(
            table.contains(
                "Answers of stubborn: 16.7% of 18 items answered on a re-ask; 14.3% of 21 replies unreadable; 16.7% of "
                    + "answers with invented payoffs."), "\(table)")
        #expect(table.contains("Answers of noisy: 0.0% of 18 items answered on a re-ask;"))
        let json = try JSONSerialization.jsonObject(with: Data(try ReportRenderer.render(report, as: .json).utf8))
        let answers = try #require((json as? [String: Any])?["answers"] as? [[String: Any]])
        #expect(answers.contains { $0["model"] as? String == "stubborn" && $0["invented_payoffs"] as? Int == 3 })
        // Scores of an older formula have no counts: they are left out, not counted as zeros.
        try await DatabaseQueue(path: fixture.store.path).write { db in
            try db.execute(
                sql: """
                    UPDATE trial_scores SET answered_items = NULL
                    WHERE trial_id IN (SELECT id FROM trials WHERE model = 'noisy')
                    """)
        }
        let older = try await Report.build(store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs))
        #expect(older.answers.map(\.model) == ["stubborn"])
    }

    @Test("the sd of equal values is exactly 0, in the report and in vr_summary")
    func constantCells() async throws {
        for value in [43.61, 0.1, 22.82, 1e-9, 60] {
            #expect(Statistics.sampleSD(Array(repeating: value, count: 7)) == 0)
        }
        #expect(Statistics.sampleSD([1, 2, 3, 4]) == (5.0 / 3).squareRoot())
        // stubborn-prosocial's VR is the same in every trial of a cell: 43.61 told altruistic.
        let fixture = try await ReportFixture()
        let report = try await Report.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs), options: ReportOptions(resamples: 10))
        let constant = report.cells.filter { $0.group[0] == "stubborn" }
        #expect(!constant.isEmpty && constant.allSatisfy { $0.sdVR == 0 })
        let rows = try await fixture.store.vrSummary(runIDs: fixture.runIDs).filter { $0.model == "stubborn" }
        #expect(!rows.isEmpty && rows.allSatisfy { $0.sdVR == 0 })
        #expect(try ReportRenderer.render(report, as: .csv).contains("stubborn,altruistic,with,8,8,0,0,0,43.61"))
    }

    @Test(
        """
        every report agrees with the vr_summary view, cell by cell: several runs, incomplete trials, two parser versions
        """
    )
    func agreesWithView() async throws {
        // A model that hedges now and then: some trials stay incomplete.
        let hedging: @Sendable (Experiment) throws -> [String: any ChatProvider] = { experiment in
            var providers = try ProviderFactory.makeAll(experiment, transport: NetworkTransport())
            let sometimes = ScriptedReplies { request, _ in
                guard case .item(let item) = request.context.step else { return "I care." }
                return request.context.trialSeed % 5 == 0 && item == 3 ? "B or C" : "Option 5"
            }
            providers["stubborn"] = sometimes
            return providers
        }
        let fixture = try await ReportFixture(seeds: [1, 2, 3], providers: hedging)
        // A second parser version reads "Option 5" as E: trials complete, and the views follow.
        _ = try await Rescorer(store: fixture.store, parserVersion: AnswerParser.version + 1) { reply, shown in
            reply == "Option 5" ? .ok(.e) : AnswerParser.parse(reply, shown: shown)
        }.rescore(runIDs: [fixture.runIDs[0]], dryRun: false)
        let report = try await Report.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs),
            options: ReportOptions(groupBy: [.run, .model, .value, .goal], resamples: 10))
        let view = try await fixture.store.vrSummary(runIDs: fixture.runIDs)
        #expect(report.cells.count == 3 * 16)
        #expect(report.cells.count == view.count)
        #expect(report.cells.contains { $0.nIncomplete > 0 && $0.nIncomplete < $0.n })
        #expect(report.cells.contains { $0.nIncomplete == $0.n && $0.meanVR == nil })
        for cell in report.cells {
            let row = try #require(view.first { [String($0.runID), $0.model, $0.value, $0.goal] == cell.group })
            #expect(cell.n == row.n)
            #expect(cell.nComplete == row.nComplete)
            #expect(cell.nIncomplete == row.nIncomplete)
            #expect(cell.nFailed == row.nFailed && cell.nUnfinished == row.nUnfinished)
            #expect(cell.nComplete + cell.nIncomplete + cell.nFailed + cell.nUnfinished == cell.n)
            #expect(cell.meanVR.map { abs($0 - row.meanVR!) < 1e-9 } ?? (row.meanVR == nil))
            #expect(cell.sdVR.map { abs($0 - row.sdVR!) < 1e-9 } ?? (row.sdVR == nil))
            #expect(cell.meanAngle.map { abs($0 - row.meanAngle!) < 1e-9 } ?? (row.meanAngle == nil))
            #expect(cell.hitRate.map { abs($0 - row.hitRate!) < 1e-9 } ?? (row.hitRate == nil))
        }
        // The study's order: values A, P, I, C, with before without.
        let one = try await Report.build(store: fixture.store, filter: TrialFilter(runIDs: [fixture.runIDs[1]]))
        #expect(
            one.cells.prefix(8).map { $0.group[1] } == [
                "altruistic", "altruistic", "prosocial", "prosocial",
                "individualistic", "individualistic", "competitive", "competitive",
            ])
        #expect(one.cells.prefix(2).map { $0.group[2] } == ["with", "without"])
    }

    @Test("filters and groupings select and split the right trials")
    func filtersAndGroups() async throws {
        let fixture = try await ReportFixture(seeds: [1, 2])
        let filter = TrialFilter(
            runIDs: fixture.runIDs, models: ["stubborn"], values: [.altruistic, .competitive], goals: [.with])
        let byOrder = try await Report.build(
            store: fixture.store, filter: filter,
            options: ReportOptions(groupBy: [.value, .optionOrder, .run]))
        #expect(
            byOrder.cells.map(\.group) == [
                ["altruistic", "original", "1"], ["altruistic", "original", "2"], ["altruistic", "reversed", "1"],
                ["altruistic", "reversed", "2"],
                ["competitive", "original", "1"], ["competitive", "original", "2"], ["competitive", "reversed", "1"],
                ["competitive", "reversed", "2"],
            ])
        #expect(byOrder.cells.allSatisfy { $0.n == 4 })
        // The stubborn agent is prosocial whatever it is told: VR 43.61 on altruistic, 0 on competitive.
        #expect(byOrder.cells.prefix(4).allSatisfy { abs($0.meanVR! - 43.61) < 0.005 })
        #expect(byOrder.cells.suffix(4).allSatisfy { $0.meanVR == 0 })

        let pooled = try await Report.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs, models: ["noisy"]),
            options: ReportOptions(groupBy: [.model]))
        #expect(pooled.cells.count == 1)
        #expect(pooled.cells[0].n == 2 * 4 * 2 * 2 * 4)
    }

    @Test("pooled θ is the angle of the averaged allocations; transitive share and hit rate are shares")
    func pooledAngle() async throws {
        let fixture = try await ReportFixture()
        let report = try await Report.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs, models: ["noisy"]),
            options: ReportOptions(groupBy: [.model, .value]))
        for cell in report.cells {
            let (own, other) = try await fixture.reader.read { db in
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT avg(a.self) AS own, avg(a.other) AS other
                        FROM call_log AS a JOIN trials AS t ON t.id = a.trial_id
                        WHERE t.model = 'noisy' AND t.value = ? AND t.status = 'complete' AND a.parse_status = 'ok' \
                        AND a.item <= 6
                        """, arguments: [cell.group[1]])!
                return (row["own"] as Double, row["other"] as Double)
            }
            #expect(abs(cell.pooledAngle! - atan2(other - 50, own - 50) * 180 / .pi) < 1e-9)
            #expect((0...1).contains(cell.transitiveShare!))
            #expect((0...1).contains(cell.hitRate!))
        }
    }

    @Test("the bootstrap interval is seeded, brackets the mean, and narrows with more data")
    func bootstrap() {
        let xs = (0..<40).map { Double($0 % 7) * 3 + 20 }
        let a = Statistics.bootstrapInterval(xs, resamples: 2_000, confidence: 0.95, seed: 7)!
        let b = Statistics.bootstrapInterval(xs, resamples: 2_000, confidence: 0.95, seed: 7)!
        let c = Statistics.bootstrapInterval(xs, resamples: 2_000, confidence: 0.95, seed: 8)!
        #expect(a == b)
        #expect(a != c)
        let mean = Statistics.mean(xs)!
        #expect(a.low < mean && mean < a.high)
        // The normal approximation: mean ± 1.96 sd / sqrt(n), within 15 %.
        let half = 1.96 * Statistics.sampleSD(xs)! / Double(xs.count).squareRoot()
        #expect(abs((a.high - a.low) / 2 - half) / half < 0.15)
        let wider = Statistics.bootstrapInterval(Array(xs.prefix(10)), resamples: 2_000, confidence: 0.95, seed: 7)!
        #expect(wider.high - wider.low > a.high - a.low)
        #expect(Statistics.bootstrapInterval([5], resamples: 100, confidence: 0.95, seed: 1) == nil)
    }

    /// The bootstrap as it was written first: one resample after another from one random stream.
    static func sequentialBootstrap(_ xs: [Double], resamples: Int, confidence: Double, seed: UInt64) -> (
        Double, Double
    ) {
        var rng = BootstrapRandom(seed: seed)
        let n = UInt64(xs.count)
        var means: [Double] = []
        for _ in 0..<resamples {
            var sum = 0.0
            var k = 0
            while k + 1 < xs.count {
                let r = rng.next()
                sum += xs[Int(((r & 0xFFFF_FFFF) &* n) >> 32)]
                sum += xs[Int(((r >> 32) &* n) >> 32)]
                k += 2
            }
            if k < xs.count { sum += xs[Int(rng.next().multipliedFullWidth(by: n).high)] }
            means.append(sum / Double(xs.count))
        }
        means.sort()
        let alpha = (1 - confidence) / 2
        return (Statistics.quantile(means, alpha), Statistics.quantile(means, 1 - alpha))
    }

    @Test(
        """
        the bootstrap's random indices are uniform: a chi-square test over 64 bins, and no seed repeats another's start
        """
    )
    func bootstrapRandomUniform() {
        var rng = BootstrapRandom(seed: 20_261_201)
        let bins = 64
        let draws = 640_000
        var counts = [Int](repeating: 0, count: bins)
        for _ in 0..<(draws / 2) {
            let r = rng.next()
            counts[Int(((r & 0xFFFF_FFFF) &* UInt64(bins)) >> 32)] += 1
            counts[Int(((r >> 32) &* UInt64(bins)) >> 32)] += 1
        }
        let expected = Double(draws) / Double(bins)
        let chiSquare = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        // 63 degrees of freedom: the 99.9th percentile is 103.4; a generator with a bias fails by far.
        #expect(chiSquare < 103.4, "chi-square \(chiSquare)")
        let starts = Set(
            (0..<1_000).map { seed in
                var r = BootstrapRandom(seed: UInt64(seed))
                return r.next()
            })
        #expect(starts.count == 1_000)
        // Jumping ahead lands where stepping does.
        var stepped = BootstrapRandom(seed: 5)
        for _ in 0..<1_234 { _ = stepped.next() }
        var jumped = BootstrapRandom(seed: 5).advanced(by: 1_234)
        #expect(stepped.next() == jumped.next())
    }

    @Test(
        "four resamples at a time give the interval of one at a time, bit for bit",
        arguments: [5, 6, 7, 64, 1_001], [1, 3, 4, 5, 13, 2_000])
    func bootstrapInterleaved(count: Int, resamples: Int) {
        var rng = SplitMix64(seed: UInt64(count * 31 + resamples))
        let xs = (0..<count).map { _ in rng.nextUnit() * 60 }
        let interleaved = Statistics.bootstrapInterval(xs, resamples: resamples, confidence: 0.95, seed: 99)!
        let sequential = Self.sequentialBootstrap(xs, resamples: resamples, confidence: 0.95, seed: 99)
        #expect(interleaved.low == sequential.0 && interleaved.high == sequential.1)
    }

    @Test("csv, json, markdown, latex and table carry the same numbers")
    func formatsAgree() async throws {
        let fixture = try await ReportFixture()
        let report = try await Report.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs),
            options: ReportOptions(resamples: 500))
        let csvLines = try ReportRenderer.render(report, as: .csv).components(separatedBy: "\r\n").filter {
            !$0.isEmpty
        }
        #expect(
            csvLines.first
                == "model,value,goal,n,n_complete,n_incomplete,n_failed,n_unfinished,mean_vr,sd_vr,ci_low,ci_high,"
                + "mean_angle,pooled_angle,hit_rate,"
                + "transitive_share,mean_inequality_aversion,mean_expected_angle,mean_entropy"
        )
        #expect(csvLines.count == report.cells.count + 1)

        struct Document: Decodable {
            let cells: [ReportCell]
            let options: ReportOptions
            let filter: TrialFilter
        }
        let json = try JSONDecoder().decode(
            Document.self, from: Data(try ReportRenderer.render(report, as: .json).utf8))
        #expect(json.cells == report.cells)
        #expect(json.options.resamples == 500)
        #expect(json.options.seed == 20_230_527)

        let markdown = try ReportRenderer.render(report, as: .markdown)
        let latex = try ReportRenderer.render(report, as: .latex)
        let table = try ReportRenderer.render(report, as: .table)
        #expect(latex.contains("\\toprule") && latex.contains("\\bottomrule") && latex.contains("$\\pm$"))
        for (cell, line) in zip(report.cells, csvLines.dropFirst()) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(Array(fields[0..<3]) == cell.group)
            #expect(Double(fields[8]) == cell.meanVR)
            #expect(Double(fields[10]) == cell.ciLow)
            let meanSD = String(format: "%.2f ± ", cell.meanVR!) + (cell.sdVR.map { String(format: "%.2f", $0) } ?? "–")
            #expect(
                markdown.contains(
                    "| \(cell.group.joined(separator: " | ")) | \(cell.n) | \(cell.nIncomplete) | \(cell.nFailed) | "
                        + "\(cell.nUnfinished) | \(meanSD) |"))
            #expect(
                latex.contains(
                    """
                    \(cell.group.joined(separator: " & ")) & \(cell.n) & \(cell.nIncomplete) & \(cell.nFailed) & \
                    \(cell.nUnfinished) & \
                    \(meanSD.replacingOccurrences(of: "±", with: "$\\pm$")) &
                    """
                ))
            #expect(table.contains(meanSD))
        }
    }

    @Test("the study layout: models and goals as rows, the four values as columns")
    func studyLayout() async throws {
        let fixture = try await ReportFixture()
        let report = try await Report.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs), options: ReportOptions(resamples: 10))
        let markdown = try ReportRenderer.render(report, as: .markdown, layout: .study)
        let lines = markdown.split(separator: "\n")
        #expect(lines[0] == "| model | goal | altruistic | prosocial | individualistic | competitive |")
        #expect(lines.count == 2 + 4 + 2)  // the table and its notes: VR, then how the answers came
        // Each cell says how many complete trials it rests on, and fewer than five are flagged.
        #expect(
            lines.contains(
                "| stubborn | with | 43.61 ± 0.00 (8) | 60.00 ± 0.00 (8) | 22.82 ± 0.00 (8) | 0.00 ± 0.00 (8) |"))
        #expect(!markdown.contains("†"))
        let csv = try ReportRenderer.render(report, as: .csv, layout: .study)
        #expect(csv.hasPrefix("model,goal,altruistic_mean_vr,altruistic_sd_vr,altruistic_n,altruistic_n_complete,"))
        // JSON: the CSV's columns, numbers as numbers, a missing spread as null.
        let json = try ReportRenderer.render(report, as: .json, layout: .study)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(objects.count == 4)
        let stubborn = try #require(
            objects.first { $0["model"] as? String == "stubborn" && $0["goal"] as? String == "with" })
        #expect(Set(stubborn.keys) == Set(csv.split(separator: "\r\n")[0].split(separator: ",").map(String.init)))
        let expected = try #require(report.cells.first { $0.group == ["stubborn", "prosocial", "with"] })
        #expect(stubborn["prosocial_mean_vr"] as? Double == expected.meanVR)
        #expect(stubborn["prosocial_n"] as? Int == expected.n)
        #expect(stubborn["prosocial_sd_vr"] is Double || stubborn["prosocial_sd_vr"] is NSNull)
        #expect(throws: ReportLayoutError.self) {
            try ReportRenderer.render(
                Report(filter: report.filter, options: ReportOptions(groupBy: [.model]), cells: []), as: .table,
                layout: .study)
        }
    }

    @Test("a cell of one trial: its sd undefined; fewer than five trials: flagged, no interval, in both layouts")
    func fewTrials() async throws {
        let fixture = try await ReportFixture(
            """
            name: one
            trials: 1
            values: [prosocial, competitive]
            goal: with
            models:
              - name: noisy
                agent: noisy
            """)
        let report = try await Report.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs),
            options: ReportOptions(resamples: 10))
        let cell = try #require(report.cells.first)
        #expect(cell.sdVR == nil)
        for format in [ReportFormat.table, .markdown] {
            let rows = try ReportRenderer.render(report, as: format)
            #expect(rows.contains(String(format: "%.2f ± –", cell.meanVR!)))
            #expect(!rows.contains("± 0.00"))
            let study = try ReportRenderer.render(report, as: format, layout: .study)
            #expect(study.contains(String(format: "%.2f ± – (1) †", cell.meanVR!)))
            #expect(study.contains(ReportRenderer.tooFewNote))
            #expect(rows.contains(ReportRenderer.tooFewNote))
        }
        #expect(try ReportRenderer.render(report, as: .latex, layout: .study).contains("$^\\dagger$"))
    }

    @Test("a replay and a second run of one experiment are not pooled: their trials are the same draws")
    func distinctDraws() async throws {
        func run(_ id: Int64, sha: String, replay: Bool = false, shard: String? = nil) -> RunRecord {
            var record = RunRecord(name: "e", description: "", experimentJSON: sha, seed: 1, toolVersion: "t")
            record.id = id
            record.replay = replay
            record.shard = shard
            return record
        }
        let runs = [
            run(1, sha: "a"), run(2, sha: "a", replay: true), run(3, sha: "b"), run(4, sha: "a"),
            run(5, sha: "c", shard: "1/2"), run(6, sha: "c", shard: "2/2"),
        ]
        let (kept, leftOut) = DistinctDraws.select(runs)
        #expect(kept == [1, 3, 5, 6])
        #expect(leftOut == [.init(run: 2, repeats: 1, replay: true), .init(run: 4, repeats: 1, replay: false)])
        let note = try #require(DistinctDraws.note(leftOut))
        #expect(note.contains("run 2 (a replay of run 1)") && note.contains("--include-repeats"))
        #expect(DistinctDraws.note([]) == nil)
        // A replay whose original is not among them is kept: it is the only copy of those draws.
        #expect(DistinctDraws.select([runs[1], runs[2]]).kept == [2, 3])
    }

    @Test("CSV fields with commas, quotes and line breaks are quoted per RFC 4180")
    func csvQuoting() {
        #expect(
            CSV.record(["plain", "a,b", "say \"hi\"", "two\nlines", "crlf\r\nend", ""])
                == "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"crlf\r\nend\",\r\n")
    }

    @Test("LaTeX special characters are escaped")
    func latexEscaping() {
        #expect(
            LaTeX.escape("gpt_4o & 50% $x #1 {a} ~ ^ \\")
                == "gpt\\_4o \\& 50\\% \\$x \\#1 \\{a\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}")
    }

    @Test("statistics: mean and sample standard deviation")
    func statistics() {
        #expect(Statistics.mean([]) == nil)
        #expect(Statistics.mean([1, 2, 3, 4]) == 2.5)
        #expect(Statistics.sampleSD([5]) == nil)
        #expect(abs(Statistics.sampleSD([2, 4, 4, 4, 5, 5, 7, 9])! - 2.138089935299395) < 1e-12)
    }
}
