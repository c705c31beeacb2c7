import Design
import Foundation
import GRDB
import Store
import Testing

@testable import Runner

@Suite("Shards from the scheduler's environment, and what a merged database lacks of them")
struct SchedulerShardTests {
    @Test("Slurm arrays: the count from --shards, the task's slice (task mod n) + 1, a re-run task its own slice")
    func slurm() throws {
        func slice(_ environment: [String: String], shards: Int? = nil) throws -> SchedulerShard.Slice {
            try SchedulerShard.resolve(environment: environment, shards: shards)
        }
        // --array=0-15%4: task t runs slice t + 1.
        let throttled = [
            "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "15", "SLURM_ARRAY_TASK_COUNT": "16",
            "SLURM_ARRAY_TASK_ID": "15",
        ]
        #expect(try slice(throttled, shards: 16) == .init(index: 16, count: 16, scheduler: "slurm"))
        #expect(try slice(throttled.merging(["HVAE_SHARDS": "16"]) { $1 }).count == 16)
        // From any first index, the array's 16 tasks run the 16 slices once each.
        let slices = try (4...19).map { task in
            try slice(
                ["SLURM_ARRAY_TASK_ID": String(task), "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "19"],
                shards: 16
            ).index
        }
        #expect(Set(slices) == Set(1...16))
        // Task 7 re-run alone (sbatch --array=7: an array of one) runs slice 8 of 16, as it did the
        // first time; without --shards it would have been a study of one slice, so it is refused.
        let rerun = ["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "7", "SLURM_ARRAY_TASK_MAX": "7"]
        #expect(try slice(rerun, shards: 16) == .init(index: 8, count: 16, scheduler: "slurm"))
        #expect(throws: SchedulerShard.Failure.self) { try slice(rerun) }
        #expect(throws: SchedulerShard.Failure.self) { try slice(["SLURM_ARRAY_TASK_ID": "2"]) }
        // An array larger than --shards says, and a stepped one, are refused.
        #expect(throws: SchedulerShard.Failure.self) { try slice(throttled, shards: 8) }
        #expect(throws: SchedulerShard.Failure.self) {
            try slice(throttled.merging(["SLURM_ARRAY_TASK_COUNT": "8"]) { $1 }, shards: 16)
        }
        // Slurm wins over a Kubernetes index in the same environment.
        #expect(try slice(throttled.merging(["JOB_COMPLETION_INDEX": "3"]) { $1 }, shards: 16).scheduler == "slurm")
    }

    @Test("Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX from 0, the count from --shards or HVAE_SHARDS")
    func kubernetes() throws {
        #expect(
            try SchedulerShard.resolve(environment: ["JOB_COMPLETION_INDEX": "0"], shards: 4)
                == .init(index: 1, count: 4, scheduler: "kubernetes"))
        #expect(
            try SchedulerShard.resolve(environment: ["JOB_COMPLETION_INDEX": "3", "HVAE_SHARDS": "4"])
                == .init(index: 4, count: 4, scheduler: "kubernetes"))
        // --shards wins over the variable.
        #expect(
            try SchedulerShard.resolve(environment: ["JOB_COMPLETION_INDEX": "3", "HVAE_SHARDS": "2"], shards: 8)
                .count == 8)
        #expect(throws: SchedulerShard.Failure.self) {
            try SchedulerShard.resolve(environment: ["JOB_COMPLETION_INDEX": "4", "HVAE_SHARDS": "4"])
        }
        #expect(throws: SchedulerShard.Failure.self) { try SchedulerShard.resolve(environment: [:]) }
    }

    @Test("--db patterns: {shard} and {shards}")
    func patterns() {
        #expect(
            SchedulerShard.databasePath("out/study-{shard}-of-{shards}.sqlite", index: 3, count: 16)
                == "out/study-3-of-16.sqlite")
        #expect(SchedulerShard.databasePath("plain.sqlite", index: 3, count: 16) == "plain.sqlite")
    }

    @Test("a merged database lacking a slice, or holding one cut short, names each; a whole one none")
    func gaps() async throws {
        let experiment = try ExperimentFile.parse(
            yaml: """
                name: gaps
                trials: 3
                values: [prosocial, competitive]
                models:
                  - name: ideal
                    provider: reference
                    agent: ideal
                """)
        let providers = try ProviderFactory.makeAll(experiment, transport: NetworkTransport())
        var slices: [ScratchStore] = []
        for index in 1...3 {
            let scratch = try ScratchStore()
            let runner = ExperimentRunner(store: scratch.store)
            let run = try await runner.createRun(experiment, shard: (index, 3))
            if index == 2 {
                // Cut short: cancelled after its first trial's calls.
                _ = await runCancelled(
                    runner, runID: run.id!, experiment: experiment, providers: providers, afterCalls: 7)
            } else {
                _ = try await runner.execute(runID: run.id!, experiment: experiment, providers: providers)
            }
            slices.append(scratch)
        }
        let merged = try ScratchStore()
        _ = try await merged.store.merge(from: slices[0].store.path)
        let planned = TrialPlan(experiment: experiment, shard: (1, 3)).count
        #expect(
            try await ShardGap.gaps(in: merged.store).map { "\($0.index) \($0.kind)" } == [
                "2 missing", "3 missing",
            ])
        _ = try await merged.store.merge(from: slices[1].store.path)
        _ = try await merged.store.merge(from: slices[2].store.path)
        let gaps = try await ShardGap.gaps(in: merged.store)
        #expect(gaps.count == 1)
        let gap = try #require(gaps.first)
        #expect(gap.index == 2 && gap.count == 3 && gap.planned == planned)
        guard case .unfinished(let ended) = gap.kind else {
            Issue.record("expected shard 2 unfinished, found \(gap.kind)")
            return
        }
        #expect(ended < planned)
        #expect(gap.description.contains("shard 2/3 is unfinished") && gap.description.contains("hvae resume"))

        // Merging the same slice again plans its trials once (the joined run stays as it was).
        let before = try await merged.store.run(1)
        _ = try await merged.store.merge(from: slices[0].store.path)
        #expect(try await merged.store.run(1).plannedTrials == before.plannedTrials)

        // Resumed on its machine, every shard merged into a new file: nothing is missing, and the
        // joined run is finished.
        let runner = ExperimentRunner(store: slices[1].store)
        _ = try await runner.execute(runID: 1, experiment: experiment, providers: providers)
        // Merged again into the file that holds it cut short, it would leave those trials
        // unfinished for good (a merge never replaces a trial) and blame the slice: refused, the
        // output named as the cause, nothing written.
        let unfinished = try await merged.store.trialResults(TrialFilter(runIDs: [1])).filter {
            $0.status != .complete && $0.status != .incomplete
        }.count
        #expect(unfinished > 0)
        let stale = try await merged.store.staleTrials(comparedWith: slices[1].store.path)
        #expect(stale == [StaleTrials(runID: 1, runName: "gaps", trials: unfinished)])
        let calls = try await merged.reader.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls") }
        do {
            _ = try await merged.store.merge(from: slices[1].store.path)
            Issue.record("a merge into an output holding stale trials went on")
        } catch let error as StoreError {
            #expect(error == .staleMergeOutput(path: merged.store.path, input: slices[1].store.path, runs: stale))
            #expect(
                error.description.hasPrefix(
                    "\(merged.store.path) already holds \(unfinished) unfinished trial(s) of run 1 (gaps)"))
            #expect(error.description.contains("merge every database into a new file"))
        }
        #expect(
            try await merged.reader.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls") }
                == calls)
        // The slices that did not move on merge again as before: nothing to add, nothing refused.
        #expect(try await merged.store.staleTrials(comparedWith: slices[2].store.path).isEmpty)
        let again = try ScratchStore()
        for slice in slices { _ = try await again.store.merge(from: slice.store.path) }
        #expect(try await ShardGap.gaps(in: again.store).isEmpty)
        #expect(try await again.store.run(1).status == .finished)
        #expect(try await again.store.run(1).plannedTrials == TrialPlan(experiment: experiment).total)
    }
}
