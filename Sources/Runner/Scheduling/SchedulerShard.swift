import Design
import Foundation
import Store

/// Which slice of an experiment this process runs, read from the batch scheduler that started it
/// (`hvae run --shard auto`; docs/scale.md): a Slurm job array's task, or a Kubernetes Indexed
/// Job's completion index.
public enum SchedulerShard {
    /// A slice `index` (1-based, as `--shard i/n` counts) of `count`, and where it was read from.
    public struct Slice: Sendable, Equatable {
        public var index: Int
        public var count: Int
        /// `slurm` or `kubernetes`.
        public var scheduler: String
    }

    /// Why the environment names no slice; `description` says what to set.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The slice the environment names. Slurm: `SLURM_ARRAY_TASK_ID` t runs slice (t mod n) + 1,
    /// with n from `shards` (`--shards N`) or `HVAE_SHARDS`: the array's declared size, never the
    /// size of the array this task came in, since a failed task re-run alone (`sbatch --array=7`)
    /// is an array of one. A contiguous array of n tasks, from any first index, runs every slice
    /// once, and a re-run task runs its own. An array whose bounds
    /// (`SLURM_ARRAY_TASK_MIN`..`SLURM_ARRAY_TASK_MAX`) hold more than n tasks, or that is
    /// stepped, is refused. Kubernetes: `JOB_COMPLETION_INDEX` (0-based), with the count from
    /// `shards` or `HVAE_SHARDS`. Slurm wins when both are set (a Slurm job inside a pod is still
    /// Slurm's).
    public static func resolve(environment: [String: String], shards: Int? = nil) throws -> Slice {
        func number(_ name: String) throws -> Int? {
            guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
                return nil
            }
            guard let value = Int(text), value >= 0 else {
                throw Failure(description: "--shard auto: \(name) is '\(text)', not a whole number ≥ 0")
            }
            return value
        }
        if let task = try number("SLURM_ARRAY_TASK_ID") {
            guard let count = try shards ?? number("HVAE_SHARDS"), count >= 1 else {
                throw Failure(
                    description: """
                        --shard auto: a Slurm array task needs the number of slices, the array's full size: give \
                        --shards N (or set HVAE_SHARDS); a task re-run alone is an array of one, so its size \
                        cannot tell
                        """)
            }
            let minimum = try number("SLURM_ARRAY_TASK_MIN")
            let maximum = try number("SLURM_ARRAY_TASK_MAX")
            if let minimum, let maximum {
                let span = maximum - minimum + 1
                if let stated = try number("SLURM_ARRAY_TASK_COUNT"), stated != span {
                    throw Failure(
                        description: """
                            --shard auto: the Slurm array is stepped or sparse (\(stated) tasks between \
                            \(minimum) and \(maximum)); give it contiguous indices (--array=0-\(count - 1)), or \
                            --shard i/n
                            """)
                }
                guard span <= count else {
                    throw Failure(
                        description: """
                            --shard auto: the Slurm array has \(span) tasks (\(minimum)-\(maximum)) and --shards \
                            says \(count); make them agree
                            """)
                }
                guard (minimum...maximum).contains(task) else {
                    throw Failure(
                        description:
                            "--shard auto: SLURM_ARRAY_TASK_ID \(task) is outside the array \(minimum)-\(maximum)")
                }
            }
            return Slice(index: task % count + 1, count: count, scheduler: "slurm")
        }
        if let index = try number("JOB_COMPLETION_INDEX") {
            guard let count = try shards ?? number("HVAE_SHARDS"), count >= 1 else {
                throw Failure(
                    description: """
                        --shard auto: JOB_COMPLETION_INDEX is set but not the number of shards; give --shards N \
                        (the Job's completions) or set HVAE_SHARDS
                        """)
            }
            guard index < count else {
                throw Failure(
                    description: "--shard auto: JOB_COMPLETION_INDEX \(index) is not below the \(count) shards")
            }
            return Slice(index: index + 1, count: count, scheduler: "kubernetes")
        }
        throw Failure(
            description: """
                --shard auto: no scheduler says which shard this is (SLURM_ARRAY_TASK_ID for a Slurm array, \
                JOB_COMPLETION_INDEX for a Kubernetes Indexed Job); give --shard i/n instead
                """)
    }

    /// `pattern` with `{shard}` replaced by the slice's index and `{shards}` by the count
    /// (`--db 'study-{shard}.sqlite'`): each slice writes its own database.
    public static func databasePath(_ pattern: String, index: Int, count: Int) -> String {
        pattern.replacingOccurrences(of: "{shards}", with: String(count))
            .replacingOccurrences(of: "{shard}", with: String(index))
    }
}

/// A slice of a sharded experiment that a merged database lacks (`hvae merge` reports them).
public struct ShardGap: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// None of the slice's trials is in the database.
        case missing
        /// Some of its trials are missing or did not run to their end; `ended` did.
        case unfinished(ended: Int)
    }

    public var runID: Int64
    public var runName: String
    /// The slice, 1-based, of `count`.
    public var index: Int
    public var count: Int
    /// The slice's trials in the experiment's plan.
    public var planned: Int
    public var kind: Kind

    public var description: String {
        let run = "run \(runID) (\(runName)): shard \(index)/\(count)"
        switch kind {
        case .missing: return "\(run) is missing (none of its \(planned) trials); merge its database"
        case .unfinished(let ended):
            return """
                \(run) is unfinished (\(ended) of its \(planned) trials ran to their end); resume it where it ran \
                (hvae resume), then merge every shard into a new file (a merge keeps the trials it has)
                """
        }
    }

    /// Every slice that the runs joined from slices in `store` lack, checked against each run's
    /// experiment plan.
    public static func gaps(in store: ExperimentStore) async throws -> [ShardGap] {
        var gaps: [ShardGap] = []
        for coverage in try await store.sliceCoverage() {
            guard let experiment = try? JSONDecoder().decode(Experiment.self, from: Data(coverage.experimentJSON.utf8))
            else { continue }
            for index in 1...coverage.count {
                let planned = TrialPlan(experiment: experiment, shard: (index, coverage.count)).count
                guard planned > 0 else { continue }
                let stored = coverage.slices[index]?.stored ?? 0
                let ended = stored - (coverage.slices[index]?.unfinished ?? 0)
                guard ended < planned else { continue }
                gaps.append(
                    ShardGap(
                        runID: coverage.runID, runName: coverage.runName, index: index, count: coverage.count,
                        planned: planned, kind: stored == 0 ? .missing : .unfinished(ended: ended)))
            }
        }
        return gaps
    }
}
