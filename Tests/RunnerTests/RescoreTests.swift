import Analysis
import Foundation
import GRDB
import SVO
import Store
import Testing

@testable import Runner

@Suite("Rescoring stored replies")
struct RescoreTests {
    /// A parser, one version newer than hvae's, that also reads "Option N" as the N-th letter.
    static let numbered: ItemReply.Parse = { reply, shown in
        if let match = reply.firstMatch(of: #/Option (\d)/#), let n = Int(match.output.1), (1...9).contains(n) {
            return .ok(OptionLetter(rawValue: n - 1)!)
        }
        return AnswerParser.parse(reply, shown: shown)
    }

    @Test("a parser change adds a new parser version's rows, keeps the old ones, and rescores the trials")
    func parserChange() async throws {
        // Items are answered "Option 5": hvae's parser reads no option, so every trial is incomplete.
        let provider = ScriptedProvider { request, _ in request.context.step == .value ? "Fair." : "Option 5" }
        let (scratch, runID, progress) = try await run(
            """
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

        let dry = try await Rescorer(store: store, parserVersion: Self.newer, parse: Self.numbered).rescore(
            runIDs: [runID], dryRun: true)
        #expect(dry.changes.count == 2 * 6 * 3)
        #expect(dry.changes.allSatisfy { $0.before == "no_option" && $0.after == "ok E" })
        #expect(
            try await scratch.reader.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM answers WHERE parser_version = ?", arguments: [Self.newer])
            } == 0)

        let outcome = try await Rescorer(store: store, parserVersion: Self.newer, parse: Self.numbered).rescore(
            runIDs: [runID], dryRun: false)
        #expect(outcome.answersAdded == 36)
        #expect(outcome.trialsScored == 2)
        let (current, newer, results) = try scratch.reader.read { db in
            (
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM answers WHERE parser_version = ?",
                    arguments: [AnswerParser.version])!,
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM answers WHERE parser_version = ? AND status = 'ok'",
                    arguments: [Self.newer])!,
                try Row.fetchAll(
                    db,
                    sql:
                        """
                        SELECT value, status, angle, invalid_items, parser_version FROM trial_results ORDER BY trial_id
                        """
                )
            )
        }
        #expect(current == 36)
        #expect(newer == 36)
        // EEEEEE: θ = 22.93; the views now use the newer readings, and the trials are complete.
        for row in results {
            #expect(row["status"] == "complete")
            #expect(abs((row["angle"] as Double) - 22.93) < 0.005)
            #expect(row["invalid_items"] == 0)
            #expect(row["parser_version"] == Self.newer)
        }
        let oldScores = try await scratch.reader.read { db in
            try Int.fetchAll(
                db, sql: "SELECT invalid_items FROM trial_scores WHERE parser_version = ?",
                arguments: [AnswerParser.version])
        }
        #expect(oldScores == [6, 6])
        #expect(try await store.vrSummary(runIDs: [runID]).map(\.nComplete) == [1, 1])

        // Reports use the newest readings, or the older ones when asked.
        let newest = try await Report.build(
            store: store, filter: TrialFilter(runIDs: [runID]), options: ReportOptions(resamples: 1))
        let older = try await Report.build(
            store: store, filter: TrialFilter(runIDs: [runID], parserVersion: AnswerParser.version),
            options: ReportOptions(resamples: 1))
        #expect(newest.cells.allSatisfy { $0.nIncomplete == 0 && $0.meanAngle != nil })
        #expect(older.cells.allSatisfy { $0.nIncomplete == 1 && $0.meanVR == nil })

        // Rescoring again with the same version adds nothing.
        let again = try await Rescorer(store: store, parserVersion: Self.newer, parse: Self.numbered).rescore(
            runIDs: [runID], dryRun: false)
        #expect(again.answersAdded == 0)
        #expect(again.changes.isEmpty)
        #expect(
            try await scratch.reader.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM trial_scores") } == 4)
    }

    static let newer = AnswerParser.version + 1

    @Test("the run's scores and a rescore's with the same parser are the same numbers: one scorer")
    func oneScorer() async throws {
        let (scratch, runID, _) = try await run(
            """
            name: same
            trials: 2
            option_orders: [original, shuffled]
            instrument: full
            models:
              - name: noisy
                agent: noisy
            """)
        let columns =
            """
            status, angle, category, hit, vr, angular_error, transitive, invalid_items, inequality_aversion, \
            mean_self, mean_other
            """
        let before = try scratch.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT \(columns) FROM trial_scores ORDER BY trial_id")
        }
        // The same readings under a newer parser version number: a new row per trial, equal to the run's.
        _ = try await Rescorer(store: scratch.store, parserVersion: Self.newer).rescore(runIDs: [runID], dryRun: false)
        let after = try scratch.reader.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(columns) FROM trial_scores WHERE parser_version = ? ORDER BY trial_id",
                arguments: [Self.newer])
        }
        #expect(before.count == 32)
        #expect(after == before)
    }
}
