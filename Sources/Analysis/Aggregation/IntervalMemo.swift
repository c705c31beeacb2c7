import Foundation
import Synchronization

/// Bootstrap intervals remembered by their exact inputs: a cell's values (bit for bit, in order),
/// the resamples, the confidence and the seed. The interval is a pure function of these, so one
/// remembered is the one computed again, to the last bit. The viewer keeps one memo for as long
/// as it serves: while a run writes, every call changes the database and every page is rendered
/// anew, but only the cells whose trials changed are bootstrapped again (at a million calls, 64
/// cells × 10,000 resamples × 2,000 trials were most of a run page's time).
public final class IntervalMemo: Sendable {
    struct Key: Hashable {
        var values: [UInt64]
        var resamples: Int
        var confidence: UInt64
        var seed: UInt64
    }

    private struct Entries {
        var intervals: [Key: (low: Double, high: Double)?] = [:]
        /// Values held by the keys, to bound memory by what is remembered, not by entries.
        var values = 0
        var computed = 0
    }

    /// How many values the remembered cells may hold before the memo starts afresh: 4 million
    /// (32 MB), some 30 reports of a million-call run's 130,000 trials.
    let capacity: Int
    private let entries = Mutex(Entries())

    public init(capacity: Int = 4_000_000) { self.capacity = capacity }

    /// Intervals computed (not remembered) so far.
    public var computed: Int { entries.withLock { $0.computed } }

    /// The interval of `xs`, remembered or computed by `Statistics.bootstrapInterval`.
    func interval(_ xs: [Double], resamples: Int, confidence: Double, seed: UInt64) -> (low: Double, high: Double)? {
        let key = Key(
            values: xs.map(\.bitPattern), resamples: resamples, confidence: confidence.bitPattern, seed: seed)
        if let known = entries.withLock({ $0.intervals[key] }) { return known }
        // Computed outside the lock: cells are bootstrapped in parallel.
        let interval = Statistics.bootstrapInterval(xs, resamples: resamples, confidence: confidence, seed: seed)
        entries.withLock { entries in
            if entries.values + xs.count > capacity {
                entries.intervals = [:]
                entries.values = 0
            }
            if entries.intervals.updateValue(interval, forKey: key) == nil { entries.values += xs.count }
            entries.computed += 1
        }
        return interval
    }
}
