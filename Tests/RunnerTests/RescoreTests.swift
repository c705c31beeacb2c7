import Foundation
import GRDB
import Store
import SVO
import Testing
@testable import Runner
import Analysis

@Suite("Rescoring stored replies")
struct RescoreTests {
    /// A parser "v2" that also reads "Option N" as the N-th letter.
    static let numbered: Rescorer.Parse = { reply, shown in
        if let match = reply.firstMatch(of: #/Option (\d)/#), let n = Int(match.output.1), (1...9).contains(n) {
            return .ok(OptionLetter(rawValue: n - 1)!)
        }
        return AnswerParser.parse(reply, shown: shown)
    }

    @Test("a parser change adds a new parser version's rows, keeps the old ones, and rescores the trials")
    func parserChange() async throws {
        // Items are answered "Option 5": parser v1 reads no option, so every trial is incomplete.
        let provider = ScriptedProvider { request, _ in request.context.step == .value ? "Fair." : "Option 5" }
        let (scratch, runID, progress) = try await run("""
            name: numbered
            trials: 1
            values: [prosocial, competitive]
            goal: without
            models:
              - name: m
                agent: ideal
            """, providers: ["m": provider])
        #expect(progress.incomplete == 2)
        let store = scratch.store

        let dry = try await Rescorer(store: store, parserVersion: 2, parse: Self.numbered).rescore(runIDs: [runID], dryRun: true)
        #expect(dry.changes.count == 2 * 6 * 3)
        #expect(dry.changes.allSatisfy { $0.before == "no_option" && $0.after == "ok E" })
        #expect(try await store.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM answers WHERE parser_version = 2") } == 0)

        let outcome = try await Rescorer(store: store, parserVersion: 2, parse: Self.numbered).rescore(runIDs: [runID], dryRun: false)
        #expect(outcome.answersAdded == 36)
        #expect(outcome.trialsScored == 2)
        let (v1, v2, results) = try store.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM answers WHERE parser_version = 1")!,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM answers WHERE parser_version = 2 AND status = 'ok'")!,
             try Row.fetchAll(db, sql: "SELECT value, status, angle, invalid_items FROM trial_results ORDER BY trial_id"))
        }
        #expect(v1 == 36)
        #expect(v2 == 36)
        // EEEEEE: θ = 22.93; the views now use the v2 readings, and the trials are complete.
        for row in results {
            #expect(row["status"] == "complete")
            #expect(abs((row["angle"] as Double) - 22.93) < 0.005)
            #expect(row["invalid_items"] == 0.0)
        }
        let oldMetrics = try await store.pool.read { db in
            try Double.fetchAll(db, sql: "SELECT value FROM trial_metrics WHERE metric = 'invalid_items' AND parser_version = 1")
        }
        #expect(oldMetrics == [6, 6])
        #expect(try await store.vrSummary(runIDs: [runID]).map(\.nComplete) == [1, 1])

        // Reports use the newest readings, or the older ones when asked.
        let newest = try await Report.build(store: store, filter: ReportFilter(runIDs: [runID]), options: ReportOptions(resamples: 1))
        let older = try await Report.build(store: store, filter: ReportFilter(runIDs: [runID], parserVersion: 1), options: ReportOptions(resamples: 1))
        #expect(newest.cells.allSatisfy { $0.nIncomplete == 0 && $0.meanAngle != nil })
        #expect(older.cells.allSatisfy { $0.nIncomplete == 1 && $0.meanVR == nil })

        // Rescoring again with the same version adds nothing.
        let again = try await Rescorer(store: store, parserVersion: 2, parse: Self.numbered).rescore(runIDs: [runID], dryRun: false)
        #expect(again.answersAdded == 0)
        #expect(again.metricsAdded == 0)
        #expect(again.changes.isEmpty)
    }
}
