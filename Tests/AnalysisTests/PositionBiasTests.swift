import Foundation
import SVO
import Store
import Testing

@testable import Analysis
@testable import Runner

@Suite("Position bias, value by value")
struct PositionBiasTests {
    @Test(
        """
        an always-A agent shows the largest bias: its angle moves with the order and it keeps its letter; an ideal one \
        keeps its option
        """
    )
    func alwaysA() async throws {
        let fixture = try await ReportFixture(
            """
            name: bias
            trials: 3
            option_orders: [original, reversed]
            models:
              - name: first-letter
                agent: fixed
                letter: A
              - name: ideal
                agent: ideal
            """)
        let filter = TrialFilter(runIDs: fixture.runIDs)
        let trials = try await fixture.store.trialResults(filter)
        let bias = try #require(
            PositionBias.build(trials, answers: try await fixture.store.answerCounts(filter), resamples: 200))
        #expect(bias.rows.count == 2 * 4)
        for row in bias.rows {
            #expect(row.order == "reversed" && row.reference == "original")
            #expect(row.n == 6 && row.nReference == 6)
        }
        let fixed = bias.rows.filter { $0.model == "first-letter" }
        let ideal = bias.rows.filter { $0.model == "ideal" }
        // AAAAAA (30.47°) under the original order, IIIIII (14.74°) under the reversed one, whatever the value.
        for row in fixed {
            #expect(abs(row.shift! - (14.74 - 30.47)) < 0.01)
            #expect(row.sameLetter == 1)
            #expect(row.sameOption == 0)
        }
        for row in ideal {
            #expect(abs(row.shift!) < 1e-9)
            #expect(row.sameOption == 1)
            #expect(row.sameLetter! < 0.5)
        }
        let largest = try #require(bias.rows.max { abs($0.shift ?? 0) < abs($1.shift ?? 0) })
        #expect(largest.model == "first-letter")
        let table = bias.render(as: .markdown)
        #expect(table.contains("| first-letter | altruistic | reversed vs original | 6 / 6 | 14.74 | -15.72 |"))
        #expect(table.contains("| 100% | 0% |"))
    }

    @Test("one option order has no position bias table")
    func oneOrder() async throws {
        let fixture = try await ReportFixture("name: one\ntrials: 1\nmodels:\n  - name: a\n    agent: ideal\n")
        let filter = TrialFilter(runIDs: fixture.runIDs)
        #expect(
            PositionBias.build(
                try await fixture.store.trialResults(filter), answers: try await fixture.store.answerCounts(filter))
                == nil)
    }
}
