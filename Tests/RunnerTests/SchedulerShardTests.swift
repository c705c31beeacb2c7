import Foundation
import Store
import Testing

@testable import Runner

@Suite("Shards from the scheduler's environment, and what a merged database lacks of them")
struct SchedulerShardTests {
    @Test("Slurm arrays: the task within MIN..MAX or 0..COUNT-1, numbered from 1")
    func slurm() throws {
        let array = ["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "19"]
        #expect(try SchedulerShard.resolve(environment: array) == .init(index: 4, count: 16, scheduler: "slurm"))
        let counted = ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "16"]
        #expect(try SchedulerShard.resolve(environment: counted) == .init(index: 1, count: 16, scheduler: "slurm"))
        // --array=0-15%4 throttles; the tasks are still 0..15.
        let throttled = array.merging([
            "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "15",
            "SLURM_ARRAY_TASK_COUNT": "16", "SLURM_ARRAY_TASK_ID": "15",
        ]) { $1 }
        #expect(try SchedulerShard.resolve(environment: throttled) == .init(index: 16, count: 16, scheduler: "slurm"))
        // Slurm wins over a Kubernetes index in the same environment.
        #expect(
            try SchedulerShard.resolve(environment: counted.merging(["JOB_COMPLETION_INDEX": "3"]) { $1 }).scheduler
                == "slurm")
        #expect(throws: SchedulerShard.Failure.self) {
            try SchedulerShard.resolve(environment: ["SLURM_ARRAY_TASK_ID": "2"])
        }
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
        let again = try ScratchStore()
        for slice in slices { _ = try await again.store.merge(from: slice.store.path) }
        #expect(try await ShardGap.gaps(in: again.store).isEmpty)
        #expect(try await again.store.run(1).status == .finished)
        #expect(try await again.store.run(1).plannedTrials == TrialPlan(experiment: experiment).total)
    }
}
