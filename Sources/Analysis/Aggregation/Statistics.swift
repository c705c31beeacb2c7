import Domain
import Foundation
import SVO

/// Descriptive and resampling statistics, seeded so that the same data and seed give the same
/// numbers on every machine.
public enum Statistics {
    public static func mean(_ xs: [Double]) -> Double? {
        xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
    }

    /// Sample standard deviation (divisor n - 1); nil for fewer than two values. Two passes over
    /// the values less the smallest (as `vr_summary` computes it): equal values give exactly 0,
    /// where a mean that differs from them in its last bit gave 3.7e-15.
    public static func sampleSD(_ xs: [Double]) -> Double? {
        guard xs.count > 1, let low = xs.min() else { return nil }
        let shifted = xs.map { $0 - low }
        let m = shifted.reduce(0, +) / Double(shifted.count)
        return (shifted.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
    }

    /// The fewest values in each resampled group (trials, pairs of trials, or cells) that any
    /// bootstrap interval hvae prints rests on: the one rule of every table. Below it a
    /// percentile bootstrap has too few distinct resamples to hold its level (two values give
    /// three distinct means), so a cell shows its mean and n, no interval, and is flagged (†).
    public static let intervalMinimum = 5

    /// Whether groups of these sizes are enough for an interval (`intervalMinimum` each).
    public static func supportsInterval(_ counts: [Int]) -> Bool {
        !counts.isEmpty && counts.allSatisfy { $0 >= intervalMinimum }
    }

    /// The percentile bootstrap interval of the mean: `resamples` means of samples drawn with
    /// replacement, seeded so the same data and seed give the same interval. Nil for fewer than
    /// `intervalMinimum` values.
    public static func bootstrapInterval(_ xs: [Double], resamples: Int, confidence: Double, seed: UInt64)
        -> (low: Double, high: Double)?
    {
        guard supportsInterval([xs.count]), resamples > 0 else { return nil }
        var means = [Double](repeating: 0, count: resamples)
        let start = BootstrapRandom(seed: seed)
        xs.withUnsafeBufferPointer { values in
            let n = values.count
            // Two draws per 64 random bits (32-bit multiply-shift each), then one more for an odd
            // count; the bias, below n / 2^32, is far under what a bootstrap shows.
            guard n <= Int(UInt32.max) else {
                var rng = start
                for b in 0..<resamples {
                    var sum = 0.0
                    for _ in 0..<n { sum += values[uniformIndex(&rng, n)] }
                    means[b] = sum / Double(n)
                }
                return
            }
            let draws = UInt64(n / 2 + n % 2)  // random words per resample
            @inline(__always) func resample(_ rng: inout BootstrapRandom) -> Double {
                var sum = 0.0
                for _ in 0..<(n / 2) {
                    let r = rng.next()
                    sum += values[Int(((r & 0xFFFF_FFFF) &* UInt64(n)) >> 32)]
                    sum += values[Int(((r >> 32) &* UInt64(n)) >> 32)]
                }
                if n % 2 == 1 { sum += values[uniformIndex(&rng, n)] }
                return sum / Double(n)
            }
            // Four resamples at a time, each from its own place in the one random stream (the
            // generator jumps ahead in one step) and each summed in the same order as alone: the
            // same means, bit for bit, with four additions in flight instead of one. The additions'
            // latency, not the arithmetic, was most of a large report's time.
            var b = 0
            while b + 4 <= resamples {
                var r0 = start.advanced(by: UInt64(b) * draws)
                var r1 = r0.advanced(by: draws)
                var r2 = r1.advanced(by: draws)
                var r3 = r2.advanced(by: draws)
                var (s0, s1, s2, s3) = (0.0, 0.0, 0.0, 0.0)
                let scale = UInt64(n)
                for _ in 0..<(n / 2) {
                    let (w0, w1, w2, w3) = (r0.next(), r1.next(), r2.next(), r3.next())
                    s0 += values[Int(((w0 & 0xFFFF_FFFF) &* scale) >> 32)]
                    s1 += values[Int(((w1 & 0xFFFF_FFFF) &* scale) >> 32)]
                    s2 += values[Int(((w2 & 0xFFFF_FFFF) &* scale) >> 32)]
                    s3 += values[Int(((w3 & 0xFFFF_FFFF) &* scale) >> 32)]
                    s0 += values[Int(((w0 >> 32) &* scale) >> 32)]
                    s1 += values[Int(((w1 >> 32) &* scale) >> 32)]
                    s2 += values[Int(((w2 >> 32) &* scale) >> 32)]
                    s3 += values[Int(((w3 >> 32) &* scale) >> 32)]
                }
                if n % 2 == 1 {
                    s0 += values[uniformIndex(&r0, n)]
                    s1 += values[uniformIndex(&r1, n)]
                    s2 += values[uniformIndex(&r2, n)]
                    s3 += values[uniformIndex(&r3, n)]
                }
                (means[b], means[b + 1], means[b + 2], means[b + 3]) =
                    (s0 / Double(n), s1 / Double(n), s2 / Double(n), s3 / Double(n))
                b += 4
            }
            var rng = start.advanced(by: UInt64(b) * draws)
            while b < resamples {
                means[b] = resample(&rng)
                b += 1
            }
        }
        return percentileInterval(means, confidence: confidence)
    }

    /// The percentile interval of a bootstrap's draws of a statistic: the (1 − confidence) / 2 and
    /// (1 + confidence) / 2 quantiles, the one rule every bootstrap interval hvae prints ends with.
    static func percentileInterval(_ draws: [Double], confidence: Double) -> (low: Double, high: Double) {
        let sorted = draws.sorted()
        let alpha = (1 - confidence) / 2
        return (quantile(sorted, alpha), quantile(sorted, 1 - alpha))
    }

    /// The bootstrap every interval but the mean's takes: `resamples` draws of a statistic, each
    /// from the next resample of one seeded stream (`draw` resamples and computes), then the
    /// percentile rule. A draw where the statistic is undefined (nil) is skipped; nil unless at
    /// least half are defined. The mean's interval (`bootstrapInterval`) is this with its own
    /// stream, made fast for the report's thousands of cells; the others keep SplitMix64, so that
    /// their printed intervals stay what they were.
    static func bootstrap(
        resamples: Int, confidence: Double, seed: UInt64, _ draw: (inout SplitMix64) -> Double?
    ) -> (low: Double, high: Double)? {
        guard resamples > 0 else { return nil }
        var rng = SplitMix64(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(resamples)
        for _ in 0..<resamples {
            if let value = draw(&rng) { values.append(value) }
        }
        guard values.count * 2 >= resamples else { return nil }
        return percentileInterval(values, confidence: confidence)
    }

    /// The mean of `xs` resampled with replacement, drawing one word of `rng` per value (by
    /// modulo): the resampling of the difference's and the range's bootstraps.
    static func resampledMean(_ xs: [Double], _ rng: inout SplitMix64) -> Double {
        var sum = 0.0
        for _ in 0..<xs.count { sum += xs[Int(rng.next() % UInt64(xs.count))] }
        return sum / Double(xs.count)
    }

    /// A uniform index below `count` by multiply-shift (Lemire): no division in the inner loop;
    /// its bias, below count / 2^64, is far under anything a bootstrap can show.
    @inline(__always)
    static func uniformIndex(_ rng: inout BootstrapRandom, _ count: Int) -> Int {
        Int(rng.next().multipliedFullWidth(by: UInt64(count)).high)
    }

    /// Linear-interpolation quantile of sorted values (type 7, as R and NumPy default).
    static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        let h = Double(sorted.count - 1) * p
        let lo = Int(h.rounded(.down))
        let hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }

    /// Percentile bootstrap interval of mean(a) − mean(b), resampling each group on its own. Nil
    /// when a group has fewer than `intervalMinimum` values.
    public static func bootstrapDifference(
        _ a: [Double], _ b: [Double], resamples: Int, confidence: Double, seed: UInt64
    )
        -> (low: Double, high: Double)?
    {
        guard supportsInterval([a.count, b.count]) else { return nil }
        return bootstrap(resamples: resamples, confidence: confidence, seed: seed) { rng in
            resampledMean(a, &rng) - resampledMean(b, &rng)
        }
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

    /// Two-sided sign-flip test of paired differences (their mean is 0 under the null): the share
    /// of random sign assignments whose |mean| is at least the observed one, counting the
    /// observed ((k + 1) / (P + 1)). Differences that are all 0 give 1.
    public static func signFlipTest(_ differences: [Double], permutations: Int, seed: UInt64) -> Double? {
        guard !differences.isEmpty, permutations > 0, let observed = mean(differences).map(abs) else { return nil }
        var rng = SplitMix64(seed: seed)
        var extreme = 0
        for _ in 0..<permutations {
            var sum = 0.0
            var word: UInt64 = 0
            for (index, d) in differences.enumerated() {
                if index % 64 == 0 { word = rng.next() }
                sum += word & 1 == 1 ? d : -d
                word >>= 1
            }
            // A tolerance keeps exact ties counted as extreme, as in `permutationTest`.
            if abs(sum / Double(differences.count)) >= observed - 1e-12 { extreme += 1 }
        }
        return Double(extreme + 1) / Double(permutations + 1)
    }

    /// Percentile bootstrap interval of max − min of the groups' means, resampling each group on
    /// its own. Nil with fewer than two groups or one of fewer than `intervalMinimum` values.
    public static func bootstrapRange(
        _ groups: [[Double]], resamples: Int, confidence: Double, seed: UInt64
    ) -> (low: Double, high: Double)? {
        guard groups.count > 1, supportsInterval(groups.map(\.count)) else { return nil }
        return bootstrap(resamples: resamples, confidence: confidence, seed: seed) { rng in
            let means = groups.map { resampledMean($0, &rng) }
            return means.max()! - means.min()!
        }
    }

    /// ICC(2,1) (Shrout & Fleiss 1979; McGraw & Wong's ICC(A,1)): two-way random effects, absolute
    /// agreement, one measurement, of `rows` (one per subject, one column per rater or wave):
    /// (MSR − MSE) / (MSR + (k − 1)·MSE + k·(MSC − MSE) / n). Nil with fewer than two subjects or
    /// raters, rows of unequal length, or no variance at all (undefined, never 1).
    public static func icc21(_ rows: [[Double]]) -> Double? {
        let n = rows.count
        guard n > 1, let k = rows.first?.count, k > 1, rows.allSatisfy({ $0.count == k }) else { return nil }
        let all = rows.flatMap { $0 }
        guard Set(all).count > 1 else { return nil }
        let grand = all.reduce(0, +) / Double(n * k)
        let rowMeans = rows.map { $0.reduce(0, +) / Double(k) }
        let columnMeans = (0..<k).map { j in rows.reduce(0) { $0 + $1[j] } / Double(n) }
        let ssr = Double(k) * rowMeans.reduce(0) { $0 + ($1 - grand) * ($1 - grand) }
        let ssc = Double(n) * columnMeans.reduce(0) { $0 + ($1 - grand) * ($1 - grand) }
        var sse = 0.0
        for (i, row) in rows.enumerated() {
            for (j, x) in row.enumerated() {
                let residual = x - rowMeans[i] - columnMeans[j] + grand
                sse += residual * residual
            }
        }
        let msr = ssr / Double(n - 1)
        let msc = ssc / Double(k - 1)
        let mse = sse / Double((n - 1) * (k - 1))
        let denominator = msr + Double(k - 1) * mse + Double(k) * (msc - mse) / Double(n)
        guard denominator > 0 else { return nil }
        return (msr - mse) / denominator
    }

    /// Pearson's r of pairs (`[x, y]` each). Nil with fewer than three pairs or when x or y does
    /// not vary.
    public static func pearson(_ pairs: [[Double]]) -> Double? {
        guard pairs.count > 2, pairs.allSatisfy({ $0.count == 2 }) else { return nil }
        let xs = pairs.map { $0[0] }
        let ys = pairs.map { $0[1] }
        guard Set(xs).count > 1, Set(ys).count > 1, let mx = mean(xs), let my = mean(ys) else { return nil }
        let sxy = zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) }
        let sxx = xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        let syy = ys.reduce(0) { $0 + ($1 - my) * ($1 - my) }
        return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
    }

    /// The Spearman-Brown correction of a split-half correlation to the whole: 2r / (1 + r); nil at r = −1.
    public static func spearmanBrown(_ r: Double) -> Double? { r > -1 ? 2 * r / (1 + r) : nil }

    /// Percentile bootstrap interval of `statistic` over `rows` resampled with replacement (seeded).
    /// Resamples where the statistic is undefined are skipped; nil unless at least half are defined,
    /// and for fewer than `intervalMinimum` rows.
    public static func bootstrapStatistic(
        _ rows: [[Double]], resamples: Int, confidence: Double, seed: UInt64, _ statistic: ([[Double]]) -> Double?
    ) -> (low: Double, high: Double)? {
        guard supportsInterval([rows.count]), statistic(rows) != nil else { return nil }
        return bootstrap(resamples: resamples, confidence: confidence, seed: seed) { rng in
            statistic((0..<rows.count).map { _ in rows[Int(rng.next() % UInt64(rows.count))] })
        }
    }

    /// The least-squares line y = intercept + slope·x through `points`, each weighing the same, and
    /// its R² (1 − residual / total sum of squares). Nil with fewer than two distinct x. When y does
    /// not vary the line is flat (slope exactly 0, whatever the rounding of y's mean) and R² is nil:
    /// there is nothing to explain (undefined, never 1). Sums of squares are of deviations from the
    /// means (two passes).
    public static func leastSquares(_ points: [(x: Double, y: Double)])
        -> (slope: Double, intercept: Double, rSquared: Double?)?
    {
        guard let meanX = mean(points.map(\.x)), let meanY = mean(points.map(\.y)) else { return nil }
        guard Set(points.map(\.x)).count > 1 else { return nil }
        if Set(points.map(\.y)).count == 1 { return (0, points[0].y, nil) }
        let sxx = points.reduce(0) { $0 + ($1.x - meanX) * ($1.x - meanX) }
        let sxy = points.reduce(0) { $0 + ($1.x - meanX) * ($1.y - meanY) }
        let syy = points.reduce(0) { $0 + ($1.y - meanY) * ($1.y - meanY) }
        let slope = sxy / sxx
        let intercept = meanY - slope * meanX
        let residual = points.reduce(0) { sum, point in
            let miss = point.y - intercept - slope * point.x
            return sum + miss * miss
        }
        return (slope, intercept, max(0, 1 - residual / syy))
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

/// The bootstrap's random stream: wyrand (Wang Yi's generator, public domain), a Weyl sequence
/// mixed by one 64×64→128-bit multiply. It passes PractRand and BigCrush, and costs four
/// instructions a word against SplitMix64's nine: the random words were most of a large report's
/// time (1.3 billion draws for 64 cells of 2,000 trials at 10,000 resamples). Like SplitMix64 its
/// state advances by a constant, so any point of the stream is one step away.
struct BootstrapRandom: Sendable {
    private var state: UInt64
    private static let increment: UInt64 = 0xA076_1D64_78BD_642F

    init(seed: UInt64) { state = seed }

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= Self.increment
        let product = (state ^ 0xE703_7ED1_A0B4_28DB).multipliedFullWidth(by: state)
        return product.high ^ product.low
    }

    /// The generator as it will be after `draws` more calls of `next()`.
    func advanced(by draws: UInt64) -> BootstrapRandom {
        var copy = self
        copy.state &+= draws &* Self.increment
        return copy
    }
}
