import Domain
import Foundation
import SVO
import Store
import Testing

@testable import Analysis
@testable import Runner

@Suite("Reliability: ICC(2,1) across runs, split-half within a run")
struct ReliabilityTests {
    @Test("ICC(2,1) gives Shrout and Fleiss's worked example; agreement, zero variance and r behave")
    func statistics() throws {
        // Shrout & Fleiss (1979), Table 2: six targets, four judges; ICC(2,1) = 0.29.
        let table: [[Double]] = [
            [9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7],
        ]
        let icc = try #require(Statistics.icc21(table))
        #expect(String(format: "%.2f", icc) == "0.29")
        #expect(abs(icc - 0.28976) < 1e-4)
        // Raters that agree exactly: 1; a constant shift between raters lowers absolute agreement.
        #expect(Statistics.icc21([[1, 1], [2, 2], [3, 3]]) == 1)
        #expect(try #require(Statistics.icc21([[1, 3], [2, 4], [3, 5]])) < 0.5)
        // No variance at all: undefined, never 1. One subject or one rater: undefined.
        #expect(Statistics.icc21([[30.47, 30.47], [30.47, 30.47]]) == nil)
        #expect(Statistics.icc21([[1, 2]]) == nil && Statistics.icc21([[1], [2]]) == nil)
        #expect(try #require(Statistics.pearson([[1, 2], [2, 4], [3, 7]])) > 0.98)
        #expect(Statistics.pearson([[1, 5], [2, 5], [3, 5]]) == nil)
        #expect(Statistics.pearson([[1, 2], [2, 4]]) == nil)
        #expect(Statistics.spearmanBrown(0.5).map { abs($0 - 2.0 / 3) < 1e-12 } == true)
        #expect(Statistics.spearmanBrown(-1) == nil)
    }

    @Test("two runs with other seeds: the ideal agent agrees exactly, noise lowers it, a fixed agent is undefined")
    func runs() async throws {
        let fixture = try await ReportFixture(
            """
            name: waves
            trials: 6
            goal: without
            models:
              - name: ideal
                agent: ideal
              - name: noisy
                agent: noisy
                temperature: 20
              - name: fixed
                agent: fixed
            """, seeds: [1, 2])
        let trials = try await fixture.store.trialResults(TrialFilter(runIDs: fixture.runIDs))
        let reliability = Reliability.build(trials, resamples: 200)
        let retest = Dictionary(uniqueKeysWithValues: reliability.retest.map { ($0.model, $0) })
        #expect(retest["ideal"]?.icc == 1 && retest["ideal"]?.runs == 2 && retest["ideal"]?.subjects == 24)
        let noisy = try #require(retest["noisy"]?.icc)
        #expect(noisy > 0 && noisy < 1)
        #expect(try #require(retest["noisy"]?.ciLow) <= noisy && noisy <= (retest["noisy"]?.ciHigh)!)
        #expect(retest["fixed"]?.icc == nil && retest["fixed"]?.ciLow == nil)
        // Split-half per run: four cells (values), odd against even replicates.
        let halves = reliability.splitHalf.filter { $0.run == fixture.runIDs[0] }
        #expect(halves.map(\.model) == ["ideal", "noisy", "fixed"] && halves.allSatisfy { $0.cells == 4 })
        #expect(halves[0].spearmanBrown == 1 && halves[2].r == nil)
        // One run alone has no test-retest table.
        let one = Reliability.build(trials.filter { $0.runID == fixture.runIDs[0] }, resamples: 10)
        #expect(one.retest.isEmpty && one.splitHalf.count == 3)
    }

    @Test("a split-half figure that cannot be computed says why: one replicate, too few cells, no variance")
    func splitHalfReasons() async throws {
        let fixture = try await ReportFixture(
            """
            name: once
            trials: 1
            goal: without
            models:
              - name: ideal
                agent: ideal
            """)
        let one = Reliability.build(try await fixture.store.trialResults(TrialFilter(runIDs: fixture.runIDs)))
        #expect(one.splitHalf.count == 1 && one.splitHalf[0].r == nil)
        #expect(one.splitHalf[0].reason?.contains("run `trials: 2` or more") == true)
        #expect(one.notes == ["split-half of ideal in run \(fixture.runIDs[0]): \(one.splitHalf[0].reason!)"])
        #expect(one.render(as: .table).contains("run `trials: 2` or more"))

        let twice = try await ReportFixture(
            """
            name: twice
            trials: 2
            goal: without
            models:
              - name: ideal
                agent: ideal
              - name: fixed
                agent: fixed
            """)
        let reliability = Reliability.build(try await twice.store.trialResults(TrialFilter(runIDs: twice.runIDs)))
        let ideal = try #require(reliability.splitHalf.first { $0.model == "ideal" })
        // Four cells give a figure but too few for an interval: flagged, as every table's.
        #expect(ideal.spearmanBrown == 1 && ideal.ciLow == nil && ideal.tooFewForInterval && ideal.reason == nil)
        let fixed = try #require(reliability.splitHalf.first { $0.model == "fixed" })
        #expect(fixed.r == nil && fixed.reason == "a half's cell means do not vary")
        #expect(reliability.render(as: .markdown).contains(ReportRenderer.tooFewNote))
    }
}
