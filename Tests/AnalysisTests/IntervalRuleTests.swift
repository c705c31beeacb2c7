import Foundation
import Store
import Testing

@testable import Analysis

/// One rule for every interval hvae prints (`Statistics.intervalMinimum`): below five values in a
/// resampled group a table shows the estimate and n, no interval, and flags it (†). Before, the
/// sensitivity table gave Δθ an interval from 1 and 2 trials while the position-bias table left
/// the same interval blank, and the rows layout bootstrapped cells of 2 trials.
@Suite("Intervals: one minimum for every table")
struct IntervalRuleTests {
    @Test("every bootstrap gives no interval below five values in a group, and one from five")
    func statistics() {
        func values(_ n: Int) -> [Double] { (0..<n).map { Double($0 * 7 % 11) } }
        for n in 1...6 {
            let enough = n >= Statistics.intervalMinimum
            #expect(
                (Statistics.bootstrapInterval(values(n), resamples: 50, confidence: 0.95, seed: 1) != nil) == enough)
            #expect(
                (Statistics.bootstrapDifference(values(n), values(9), resamples: 50, confidence: 0.95, seed: 1) != nil)
                    == enough)
            #expect(
                (Statistics.bootstrapRange([values(9), values(n)], resamples: 50, confidence: 0.95, seed: 1) != nil)
                    == enough)
            let rows = values(n).map { [$0, $0 * 2 + Double(n % 3)] }
            let interval = Statistics.bootstrapStatistic(rows, resamples: 50, confidence: 0.95, seed: 1) { rows in
                Statistics.mean(rows.map { $0[1] - $0[0] })
            }
            #expect((interval != nil) == enough)
        }
    }

    static func experiment(trials: Int) -> String {
        """
        name: few
        trials: \(trials)
        goal: with
        values: [prosocial, competitive]
        option_orders: [original, reversed]
        variants: [default, paraphrase]
        models:
          - name: noisy
            agent: noisy
        """
    }

    @Test(
        "two trials a level: the report, sensitivity, position-bias and comparison tables show no interval and flag it")
    func fewTrials() async throws {
        let fixture = try await ReportFixture(Self.experiment(trials: 2))
        let filter = TrialFilter(runIDs: fixture.runIDs)
        let trials = try await fixture.store.trialResults(filter)
        let report = Report.build(
            trials, filter: filter,
            options: ReportOptions(groupBy: [.model, .value, .goal, .optionOrder, .variant], resamples: 200))
        #expect(report.cells.allSatisfy { $0.nComplete == 2 && $0.ciLow == nil && $0.tooFewForInterval })
        let table = try ReportRenderer.render(report, as: .table)
        #expect(table.contains(ReportRenderer.tooFewNote))

        // Each variant level pools the two orders: 4 trials, and each order the two variants.
        let sensitivity = try #require(Sensitivity.build(trials, resamples: 200))
        #expect(sensitivity.rows.allSatisfy { $0.variants.spread != nil && $0.variants.ciLow == nil })
        #expect(sensitivity.rows.allSatisfy { $0.variants.tooFewForInterval && $0.orders.tooFewForInterval })
        #expect(sensitivity.render(as: .table).contains(ReportRenderer.tooFewNote))
        let bias = try #require(
            PositionBias.build(trials, answers: try await fixture.store.answerCounts(filter), resamples: 200))
        #expect(bias.rows.allSatisfy { $0.shift != nil && $0.ciLow == nil && $0.tooFewForInterval })
        #expect(bias.render(as: .markdown).contains(ReportRenderer.tooFewNote))

        // The orders of one run are the same draws but for the order: 4 pairs a value.
        let comparison = try await Comparison.build(
            store: fixture.store, filter: filter, dimension: .optionOrder, a: "original", b: "reversed",
            resamples: 200, permutations: 200)
        #expect(comparison.rows.allSatisfy { $0.pairs == 4 && $0.ciLow == nil && $0.tooFewForInterval })
        let rendered = ComparisonRenderer.render(comparison, as: .table)
        #expect(rendered.contains("†") && rendered.contains(ReportRenderer.tooFewNote))
    }

    @Test("three trials a level: six to a variant or order, and every one of those tables has its intervals")
    func enoughTrials() async throws {
        let fixture = try await ReportFixture(Self.experiment(trials: 3))
        let filter = TrialFilter(runIDs: fixture.runIDs)
        let trials = try await fixture.store.trialResults(filter)
        let report = Report.build(trials, filter: filter, options: ReportOptions(resamples: 200))
        #expect(report.cells.allSatisfy { $0.nComplete == 12 && $0.ciLow != nil && !$0.tooFewForInterval })
        #expect(!(try ReportRenderer.render(report, as: .table)).contains(ReportRenderer.tooFewNote))
        let sensitivity = try #require(Sensitivity.build(trials, resamples: 200))
        #expect(sensitivity.rows.allSatisfy { $0.variants.ciLow != nil && $0.orders.ciLow != nil })
        let bias = try #require(
            PositionBias.build(trials, answers: try await fixture.store.answerCounts(filter), resamples: 200))
        #expect(bias.rows.allSatisfy { $0.ciLow != nil })
        let comparison = try await Comparison.build(
            store: fixture.store, filter: filter, dimension: .optionOrder, a: "original", b: "reversed",
            resamples: 200, permutations: 200)
        #expect(comparison.rows.allSatisfy { $0.pairs == 6 && $0.ciLow != nil })
    }
}
