import Design
import Domain
import Foundation
import SVO
import Store

/// The hvae version, stored with every run.
public enum HVAE {
    public static let version = "0.9.0"
    /// The git commit this binary was built from (embedded at build time), "unknown" outside a checkout.
    public static let gitCommit = buildGitCommit
}

/// Runs `work` to completion even when the current task is cancelled: a cancelled run still
/// records that it was interrupted.
@discardableResult
func shielded<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task { try await work() }.value
}

/// How a call to `ExperimentRunner.execute` ended.
public struct RunOutcome: Sendable {
    public var progress: RunProgress
    public var status: RunStatus
    /// Why trials were left unfinished or unrun; empty when the run finished.
    public var stopReasons: [StopReason]
    /// Trials not run to their end: not started, pending, or cut off (failed trials not counted).
    public var unfinished: Int
}

/// Runs an experiment's trials against its models and persists everything to the store.
public struct ExperimentRunner: Sendable {
    public let store: ExperimentStore
    /// What the runner's waits are measured by (`RunClock`): pacing, retry backoff, `give_up_after`.
    public let clock: any RunClock

    public init(store: ExperimentStore, clock: any RunClock = SystemClock()) {
        self.store = store
        self.clock = clock
    }

    /// Records a new run of `experiment` and where it runs. Its trials are stored as they start,
    /// so a run of millions of trials starts at once and in bounded memory.
    public func createRun(
        _ experiment: Experiment, reproducing original: Int64? = nil, replay: Bool = false,
        shard: (index: Int, count: Int)? = nil
    ) async throws -> RunRecord {
        var run = RunRecord(
            name: experiment.name, description: experiment.description,
            experimentJSON: experiment.canonicalJSON, seed: experiment.seed, toolVersion: HVAE.version)
        run.gitCommit = HVAE.gitCommit
        run.os = ProcessInfo.processInfo.operatingSystemVersionString
        run.host = ProcessInfo.processInfo.hostName
        run.reproducesRunID = original
        run.replay = replay
        if let shard {
            run.shard = "\(shard.index)/\(shard.count)"
            run.shardGroup = "\(run.experimentSHA256)/\(shard.count)"
        }
        run.plannedTrials = TrialPlan(experiment: experiment, shard: shard).count
        return try await store.createRun(run)
    }

    /// The plan of a stored run: its experiment's, or its slice's.
    public func plan(of run: RunRecord) throws -> TrialPlan {
        let parts = run.shard?.split(separator: "/").compactMap { Int($0) } ?? []
        return TrialPlan(
            experiment: try Experiment(storedIn: run), shard: parts.count == 2 ? (parts[0], parts[1]) : nil)
    }

    /// Runs every trial of a run that has not run to its end (unstarted, pending, running, or
    /// failed), up to `experiment.concurrency` at a time; the turns of one trial stay in order. A
    /// trial that already has calls continues from them without making them again (resume).
    /// Results depend only on the seeds, not on the concurrency or on interruptions.
    ///
    /// Cancelling the task cancels the calls in flight and marks the run `interrupted`, with
    /// `interruption()` as its `stop_reason` ("interrupted by SIGINT").
    public func execute(
        runID: Int64, experiment: Experiment, providers: [String: any ChatProvider],
        progress: @escaping @Sendable (RunProgress) -> Void = { _ in },
        interruption: @escaping @Sendable () -> String = { "interrupted" }
    ) async throws -> RunOutcome {
        // One process at a time runs a run (`RunOwner`): claimed before its trials are read,
        // kept alive while they run, let go however the run ends.
        let owner = RunOwner.current
        let store = self.store
        do {
            try await store.claimRun(runID, for: owner)
        } catch let error where error is CancellationError || Task.isCancelled {
            // Stopped before the run was claimed (a signal the moment it was stored): it is
            // marked interrupted all the same, unless another process runs it.
            try? await shielded {
                try await store.claimRun(runID, for: owner)
                try await store.setRunStatus(runID, .interrupted, stopReason: interruption())
                try await store.releaseRun(runID, from: owner)
            }
            throw CancellationError()
        }
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: RunOwner.heartbeatInterval)
                try? await store.heartbeat(runID, for: owner)
            }
        }
        defer { heartbeat.cancel() }
        do {
            let outcome = try await executeClaimed(
                runID: runID, experiment: experiment, providers: providers, interruption: interruption,
                progress: progress)
            try await store.releaseRun(runID, from: owner)
            return outcome
        } catch {
            if error is CancellationError || Task.isCancelled {
                // Stopped before its trials ran, or after (while they run, `executeClaimed` marks it).
                try? await shielded {
                    try await store.setRunStatus(runID, .interrupted, stopReason: interruption())
                }
            }
            try? await shielded { try await store.releaseRun(runID, from: owner) }
            throw error
        }
    }

    private func executeClaimed(
        runID: Int64, experiment: Experiment, providers: [String: any ChatProvider],
        interruption: @escaping @Sendable () -> String, progress: @escaping @Sendable (RunProgress) -> Void
    ) async throws -> RunOutcome {
        let run = try await store.run(runID)
        let plan = try self.plan(of: run)
        let models = Dictionary(uniqueKeysWithValues: experiment.models.map { ($0.name, $0) })
        let counts = try await store.trialStatusCounts(runID: runID)
        let finished = (counts[.complete] ?? 0) + (counts[.incomplete] ?? 0)
        let stored = counts.values.reduce(0, +)
        let usage = try await store.modelUsage(runID: runID)
        let costSoFar = experiment.cost(of: usage) ?? 0
        let control = RunControl(
            experiment: experiment, totalTrials: (run.plannedTrials ?? stored) - finished,
            callsSoFar: usage.map(\.calls).reduce(0, +), costSoFar: costSoFar, clock: clock, report: progress)
        try await store.setRunStatus(runID, .running)
        let scorer = TrialScorer(store: store)
        // Batch models: their calls go through a collector that gathers each round into batches.
        var providers = providers
        var collectors: [String: BatchCollector] = [:]
        for model in experiment.models {
            guard let api = model.provider.api, api.isBatch, let provider = providers[model.name],
                let batchAPI = BatchProvider.api(for: provider)
            else { continue }
            let name = model.name
            let collector = BatchCollector(
                api: batchAPI, store: store, runID: runID, model: name, poll: api.batchPoll,
                polled: { control.batchPolled(model: name, $0) })
            collectors[model.name] = collector
            providers[model.name] = BatchProvider(collector: collector)
        }
        var dispatcher = TrialDispatcher(
            store: store, run: run, plan: plan, experiment: experiment, control: control,
            batchSizes: collectors.keys.reduce(into: [:]) { sizes, name in
                sizes[name] = models[name]?.provider.api?.batchSize ?? BatchCollector.defaultRoundSize
            })

        do {
            try await withThrowingTaskGroup(of: TrialEnd.self) { group in
                func model(of key: TrialKey) throws -> (spec: ModelSpec, provider: any ChatProvider) {
                    guard let model = models[key.model], let provider = providers[key.model] else {
                        throw ExperimentFileError(
                            file: "run \(runID)", line: nil, key: "models",
                            message: "a trial names model '\(key.model)', which the experiment does not define")
                    }
                    return (model, provider)
                }
                var running = 0
                /// Starts trials while the experiment's concurrency and the models' shares allow.
                func startTrials() async throws {
                    while running < dispatcher.capacity, let next = try await dispatcher.next() {
                        let (queue, trial, fresh) = (next.queue, next.trial, next.fresh)
                        try Task.checkCancellation()
                        let (model, provider) = try model(of: trial.key)
                        let stored =
                            fresh || trial.status == .pending ? [] : try await store.storedCalls(trialID: trial.id!)
                        let caller = ModelCaller(
                            experiment: experiment, model: model, provider: provider, store: store,
                            control: control, trial: trial, stored: stored)
                        let trialRun = TrialProtocol(
                            experiment: experiment, trial: trial, caller: caller, scorer: scorer)
                        running += 1
                        let collector = collectors[model.name]
                        await collector?.trialStarted()
                        group.addTask {
                            let end: TrialEnd
                            do {
                                end = TrialEnd(queue: queue, status: try await trialRun.run())
                            } catch is RunHalted {
                                end = TrialEnd(queue: queue, status: nil)  // left running: a resume continues it
                            } catch {
                                await collector?.trialEnded()
                                throw error
                            }
                            await collector?.trialEnded()
                            return end
                        }
                    }
                    for collector in collectors.values { await collector.dispatched() }
                }
                try await startTrials()
                while let end = try await group.next() {
                    running -= 1
                    dispatcher.finished(queue: end.queue)
                    if let status = end.status { control.trialFinished(status) }
                    try await startTrials()
                }
            }
        } catch {
            // Stopped from outside (Ctrl-C, a full disk): nothing failed, and a resume continues.
            let cancelled = error is CancellationError || Task.isCancelled
            let status: RunStatus =
                cancelled || error as? StoreError == .diskFull(path: store.path) ? .interrupted : .failed
            let reason = cancelled ? interruption() : "\(error)"
            try? await shielded { try await self.store.setRunStatus(runID, status, stopReason: reason) }
            throw cancelled ? CancellationError() : error
        }
        let reasons = control.stopReasons
        let left = try await store.trialStatusCounts(runID: runID)
        let unstarted = run.plannedTrials.map { $0 - left.values.reduce(0, +) } ?? 0
        let unfinished = (left[.pending] ?? 0) + (left[.running] ?? 0) + max(0, unstarted)
        let modelStopped = reasons.contains { if case .modelStopped = $0 { true } else { false } }
        let status: RunStatus =
            (left[.failed] ?? 0) > 0 || modelStopped ? .failed : unfinished > 0 ? .interrupted : .finished
        try await store.setRunStatus(
            runID, status,
            stopReason: reasons.isEmpty ? nil : reasons.map(\.description).joined(separator: "; "))
        return RunOutcome(progress: control.snapshot, status: status, stopReasons: reasons, unfinished: unfinished)
    }
}

/// The trials of a run still to run, in plan order, read a page at a time so that memory stays
/// flat however many trials the run has. A run of schema 9 stores its trials as they start, so
/// its plan is walked beside its stored trials (by plan ordinal): a planned trial not stored yet
/// is new; a stored one that did not run to its end is resumed; one that did is skipped. A run
/// of an older schema stored all its trials when it was created: its unfinished ones are read.
struct RemainingTrials {
    enum Work {
        case planned(PlannedTrial)
        case stored(TrialRecord)

        var key: TrialKey {
            switch self {
            case .planned(let planned): planned.key
            case .stored(let record): record.key
            }
        }
    }

    let store: ExperimentStore
    let run: RunRecord
    let plan: TrialPlan
    private var ordinals: StrideTo<Int>.Iterator
    /// Where the walk ends: the plan's end, or the end of one model's block of it.
    private let end: Int
    /// Stored trials with an ordinal at or after the walk's position, in ordinal order.
    private var page: ArraySlice<TrialRecord> = []
    private var pageIsLast = false
    private var afterID: Int64 = 0
    static let pageSize = 512

    /// The remaining trials of the plan, or of its ordinals in `range` (one model's block).
    init(store: ExperimentStore, run: RunRecord, plan: TrialPlan, range: Range<Int>? = nil) {
        self.store = store
        self.run = run
        self.plan = plan
        ordinals = plan.ordinals(from: range?.lowerBound ?? 0).makeIterator()
        end = range?.upperBound ?? plan.total
    }

    static let unfinished: [TrialStatus] = [.pending, .running, .failed]

    mutating func next() async throws -> Work? {
        guard run.storesTrialsAsTheyStart else {
            if page.isEmpty, !pageIsLast {
                page = try await store.trials(
                    runID: run.id!, afterID: afterID, statuses: Self.unfinished,
                    limit: Self.pageSize)[...]
                pageIsLast = page.count < Self.pageSize
                afterID = page.last?.id ?? afterID
            }
            return page.popFirst().map(Work.stored)
        }
        while let ordinal = ordinals.next(), ordinal < end {
            if page.isEmpty, !pageIsLast {
                page = try await store.trials(runID: run.id!, fromOrdinal: ordinal, limit: Self.pageSize)[...]
                pageIsLast = page.count < Self.pageSize
            }
            while let first = page.first, (first.ordinal ?? -1) < ordinal { page.removeFirst() }
            guard let stored = page.first, stored.ordinal == ordinal else { return .planned(plan.trial(at: ordinal)) }
            page.removeFirst()
            if Self.unfinished.contains(stored.status) { return .stored(stored) }
        }
        return nil
    }
}
