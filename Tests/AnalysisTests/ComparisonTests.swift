import Foundation
import Store
import Testing

@testable import Analysis

@Suite("Comparisons: bootstrap difference, permutation test, Holm")
struct ComparisonTests {
    @Test("Holm's adjustment, worked example")
    func holm() {
        let adjusted = Statistics.holm([0.01, 0.04, 0.03, 0.005, nil])
        let expected: [Double?] = [0.03, 0.06, 0.06, 0.02, nil]
        for (x, y) in zip(adjusted, expected) {
            if let y { #expect(abs(x! - y) < 1e-12) } else { #expect(x == nil) }
        }
    }

    @Test("the permutation test approaches the exact p-value")
    func permutation() {
        // Of the 20 ways to split {1..6} in two triples, 2 are as extreme as {1,2,3} | {4,5,6}: p = 0.1.
        let p = Statistics.permutationTest([1, 2, 3], [4, 5, 6], permutations: 20_000, seed: 3)!
        #expect(abs(p - 0.1) < 0.01)
        // Identical groups: every relabelling is as extreme, p = 1.
        #expect(Statistics.permutationTest([60, 60, 60], [60, 60], permutations: 500, seed: 1) == 1)
        #expect(Statistics.permutationTest([], [1], permutations: 10, seed: 1) == nil)
    }

    @Test("the bootstrap interval of a difference brackets it and is seeded")
    func bootstrapDifference() {
        let a = (0..<30).map { 50 + Double($0 % 5) }
        let b = (0..<30).map { 45 + Double($0 % 7) }
        let interval = Statistics.bootstrapDifference(a, b, resamples: 4_000, confidence: 0.95, seed: 9)!
        let difference = Statistics.mean(a)! - Statistics.mean(b)!
        #expect(interval.low < difference && difference < interval.high)
        #expect(Statistics.bootstrapDifference(a, b, resamples: 4_000, confidence: 0.95, seed: 9)! == interval)
    }

    @Test("comparing two models on a run: per value, with the right counts and signs")
    func models() async throws {
        let fixture = try await ReportFixture()
        let comparison = try await Comparison.build(
            store: fixture.store, filter: TrialFilter(runIDs: fixture.runIDs),
            dimension: .model, a: "stubborn", b: "noisy", resamples: 500, permutations: 500)
        #expect(comparison.rows.map(\.value) == ["altruistic", "prosocial", "individualistic", "competitive"])
        #expect(comparison.rows.allSatisfy { $0.nA == 16 && $0.nB == 16 })
        // Two models of one run answer the same draws: every trial has its partner.
        #expect(comparison.rows.allSatisfy { $0.pairs == 16 && $0.unpaired == 0 })
        let competitive = comparison.rows[3]
        // The stubborn prosocial agent scores 0 on competitive; the noisy one near 55.
        #expect(competitive.meanA == 0)
        #expect(competitive.difference! < -40)
        #expect(competitive.ciHigh! < 0)
        #expect(competitive.p! < 0.01)
        #expect(comparison.rows.allSatisfy { $0.pHolm! >= $0.p! })
        let csv = ComparisonRenderer.render(comparison, as: .csv)
        #expect(csv.hasPrefix("value,n_a,mean_a,n_b,mean_b,pairs,unpaired,difference,ci_low,ci_high,p,p_holm\r\n"))
    }
}
