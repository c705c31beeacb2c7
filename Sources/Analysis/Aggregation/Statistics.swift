import Domain
import Foundation
import SVO

/// Descriptive and resampling statistics, seeded so that the same data and seed give the same
/// numbers on every machine.
public enum Statistics {
    public static func mean(_ xs: [Double]) -> Double? {
        xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
    }

    /// Sample standard deviation (divisor n - 1), computed in two passes; nil for fewer than two values.
    public static func sampleSD(_ xs: [Double]) -> Double? {
        guard xs.count > 1, let m = mean(xs) else { return nil }
        return (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
    }

    /// The percentile bootstrap interval of the mean: `resamples` means of samples drawn with
    /// replacement, seeded so the same data and seed give the same interval. Nil for fewer than
    /// two values.
    public static func bootstrapInterval(_ xs: [Double], resamples: Int, confidence: Double, seed: UInt64)
        -> (low: Double, high: Double)?
    {
        guard xs.count > 1, resamples > 0 else { return nil }
        var rng = SplitMix64(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        xs.withUnsafeBufferPointer { values in
            let n = UInt64(values.count)
            for b in 0..<resamples {
                // Two draws per 64 random bits (32-bit multiply-shift each): the inner loop is most
                // of a report's time; the bias, below n / 2^32, is far under what a bootstrap shows.
                var sum = 0.0
                var k = 0
                let pairs = n <= UInt64(UInt32.max) ? values.count / 2 * 2 : 0
                while k < pairs {
                    let r = rng.next()
                    sum += values[Int(((r & 0xFFFF_FFFF) &* n) >> 32)]
                    sum += values[Int(((r >> 32) &* n) >> 32)]
                    k += 2
                }
                while k < values.count {
                    sum += values[uniformIndex(&rng, values.count)]
                    k += 1
                }
                means[b] = sum / Double(values.count)
            }
        }
        means.sort()
        let alpha = (1 - confidence) / 2
        return (quantile(means, alpha), quantile(means, 1 - alpha))
    }

    /// A uniform index below `count` by multiply-shift (Lemire): no division in the inner loop;
    /// its bias, below count / 2^64, is far under anything a bootstrap can show.
    @inline(__always)
    static func uniformIndex(_ rng: inout SplitMix64, _ count: Int) -> Int {
        Int(rng.next().multipliedFullWidth(by: UInt64(count)).high)
    }

    /// Linear-interpolation quantile of sorted values (type 7, as R and NumPy default).
    static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        let h = Double(sorted.count - 1) * p
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }

    /// Percentile bootstrap interval of mean(a) − mean(b), resampling each group on its own.
    public static func bootstrapDifference(_ a: [Double], _ b: [Double], resamples: Int, confidence: Double, seed: UInt64)
        -> (low: Double, high: Double)?
    {
        guard a.count > 1, b.count > 1, resamples > 0 else { return nil }
        var rng = SplitMix64(seed: seed)
        func resampledMean(_ xs: [Double]) -> Double {
            var sum = 0.0
            for _ in 0..<xs.count { sum += xs[Int(rng.next() % UInt64(xs.count))] }
            return sum / Double(xs.count)
        }
        var differences = (0..<resamples).map { _ in resampledMean(a) - resampledMean(b) }
        differences.sort()
        let alpha = (1 - confidence) / 2
        return (quantile(differences, alpha), quantile(differences, 1 - alpha))
    }

    /// Two-sided permutation test of a difference in means: the share of random relabellings whose
    /// |difference| is at least the observed one, counting the observed labelling ((k + 1) / (P + 1)).
    public static func permutationTest(_ a: [Double], _ b: [Double], permutations: Int, seed: UInt64) -> Double? {
        guard !a.isEmpty, !b.isEmpty, permutations > 0, let meanA = mean(a), let meanB = mean(b) else { return nil }
        let observed = abs(meanA - meanB)
        var pooled = a + b
        let total = pooled.reduce(0, +)
        var rng = SplitMix64(seed: seed)
        var extreme = 0
        for _ in 0..<permutations {
            // Partial Fisher-Yates: the first a.count elements are a uniform random subset.
            var sumA = 0.0
            for i in 0..<a.count {
                let j = i + Int(rng.next() % UInt64(pooled.count - i))
                pooled.swapAt(i, j)
                sumA += pooled[i]
            }
            let difference = abs(sumA / Double(a.count) - (total - sumA) / Double(b.count))
            // A tolerance keeps exact ties (common with identical VRs) counted as extreme.
            if difference >= observed - 1e-12 { extreme += 1 }
        }
        return Double(extreme + 1) / Double(permutations + 1)
    }

    /// Holm's step-down adjustment; nil p-values stay nil and do not count.
    public static func holm(_ ps: [Double?]) -> [Double?] {
        let present = ps.enumerated().compactMap { index, p in p.map { (index, $0) } }.sorted { $0.1 < $1.1 }
        var adjusted = [Double?](repeating: nil, count: ps.count)
        var running = 0.0
        for (rank, (index, p)) in present.enumerated() {
            running = max(running, min(1, Double(present.count - rank) * p))
            adjusted[index] = running
        }
        return adjusted
    }

    /// A hash of a group's values that does not change between runs of the program, to seed each
    /// group's resampling on its own.
    static func stableHash(_ values: [String]) -> UInt64 {
        Digest.sha256(Array(values.joined(separator: "\u{1F}").utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}
