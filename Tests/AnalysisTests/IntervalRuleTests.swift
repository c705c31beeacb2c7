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

    @Test("every table's intervals are at the level asked for: narrower at 80% than at 95%, and headed so")
    func confidenceHonoured() async throws {
        let fixture = try await ReportFixture(Self.experiment(trials: 3))
        let filter = TrialFilter(runIDs: fixture.runIDs)
        let trials = try await fixture.store.trialResults(filter)
        let answers = try await fixture.store.answerCounts(filter)
        /// Each interval at 80% lies inside its interval at 95% (the same resamples, seed and
        /// values), and at least one of them is strictly narrower.
        func narrower(_ low: [(Double?, Double?)], _ high: [(Double?, Double?)]) -> Bool {
            let pairs = zip(low, high).compactMap { l, h -> (Double, Double, Double, Double)? in
                guard let a = l.0, let b = l.1, let c = h.0, let d = h.1 else { return nil }
                return (a, b, c, d)
            }
            return !pairs.isEmpty && pairs.allSatisfy { $0.2 <= $0.0 && $0.1 <= $0.3 }
                && pairs.contains { $0.1 - $0.0 < $0.3 - $0.2 }
        }
        func build(_ level: Double) async throws -> [[(Double?, Double?)]] {
            let report = Report.build(trials, filter: filter, options: ReportOptions(resamples: 400, confidence: level))
            let sensitivity = try #require(Sensitivity.build(trials, resamples: 400, confidence: level))
            let bias = try #require(PositionBias.build(trials, answers: answers, resamples: 400, confidence: level))
            let steer = try #require(Steerability.build(trials, resamples: 400, confidence: level))
            let reliability = Reliability.build(trials, resamples: 400, confidence: level)
            let comparison = try await Comparison.build(
                store: fixture.store, filter: filter, dimension: .optionOrder, a: "original", b: "reversed",
                resamples: 400, confidence: level, permutations: 10)
            for text in [
                try ReportRenderer.render(report, as: .table), sensitivity.render(as: .table),
                bias.render(as: .table), steer.render(as: .table), reliability.render(as: .table),
                ComparisonRenderer.render(comparison, as: .table),
            ] {
                #expect(
                    text.contains(ReportRenderer.intervalHeader(level)) && (level == 0.95 || !text.contains("95% CI")))
            }
            return [
                report.cells.map { ($0.ciLow, $0.ciHigh) },
                sensitivity.rows.map { ($0.variants.ciLow, $0.variants.ciHigh) },
                bias.rows.map { ($0.ciLow, $0.ciHigh) }, steer.points.map { ($0.ciLow, $0.ciHigh) },
                reliability.splitHalf.map { ($0.ciLow, $0.ciHigh) }, comparison.rows.map { ($0.ciLow, $0.ciHigh) },
            ]
        }
        let low = try await build(0.8)
        let high = try await build(0.95)
        for (name, (l, h)) in zip(
            ["report", "sensitivity", "position bias", "steerability", "split-half", "compare"], zip(low, high))
        {
            #expect(narrower(l, h), "\(name)")
        }
        #expect(ReportRenderer.intervalHeader(0.9) == "90% CI" && ReportRenderer.intervalHeader(0.975) == "97.5% CI")
    }
}
