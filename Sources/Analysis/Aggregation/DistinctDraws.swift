import Foundation
import Store

/// Which of a set of runs hold distinct draws. A replay serves its original's replies again, and
/// any two runs of the same experiment (same experiment hash, and so the same seed and the same
/// trial seeds) draw the same trials: pooling them counts every trial twice, doubling n and
/// shrinking every sd, interval and p-value. So by default only the first run of each
/// experiment (and slice) is kept; the others are left out, and said to be.
public enum DistinctDraws {
    /// A run left out, and the run whose draws it repeats.
    public struct Repeat: Sendable, Equatable {
        public var run: Int64
        public var repeats: Int64
        /// True when the run is a replay (its replies are the other run's, served again).
        public var replay: Bool
    }

    /// The runs to pool, in id order, and the ones left out.
    public static func select(_ runs: [RunRecord]) -> (kept: [Int64], leftOut: [Repeat]) {
        var first: [String: RunRecord] = [:]
        var kept: [Int64] = []
        var leftOut: [Repeat] = []
        // The original first, so that a replay is what is left out.
        for run in runs.sorted(by: { ($0.replay ? 1 : 0, $0.id ?? 0) < ($1.replay ? 1 : 0, $1.id ?? 0) }) {
            let draws = run.experimentSHA256 + "|" + (run.shard ?? "")
            if let original = first[draws] {
                leftOut.append(Repeat(run: run.id!, repeats: original.id!, replay: run.replay))
            } else {
                first[draws] = run
                kept.append(run.id!)
            }
        }
        return (kept.sorted(), leftOut.sorted { $0.run < $1.run })
    }

    /// One line that says what was left out and how to pool it anyway; nil when nothing was.
    public static func note(_ leftOut: [Repeat]) -> String? {
        guard !leftOut.isEmpty else { return nil }
        let runs = leftOut.map {
            "run \($0.run) (\($0.replay ? "a replay of" : "the same draws as") run \($0.repeats))"
        }
        return "left out \(runs.joined(separator: ", ")): pooling it would count its trials twice; "
            + "--include-repeats pools it anyway (for more trials, raise `trials:` instead)"
    }
}
