import Foundation
import Store
import SVO

/// The hvae version, stored with every run.
public enum HVAE {
    public static let version = "0.1.0"
    /// The git commit this binary was built from (embedded at build time), "unknown" outside a checkout.
    public static let gitCommit = buildGitCommit
}

/// Runs `work` to completion even when the current task is cancelled: a call that completed is
/// persisted, and a cancelled run still records that it was interrupted.
@discardableResult
func shielded<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await Task { try await work() }.value
}

/// How a call to `ExperimentRunner.execute` ended.
public struct RunOutcome: Sendable {
    public var progress: RunProgress
    public var status: RunStatus
    /// Why trials were left unfinished; empty when the run finished.
    public var stopReasons: [StopReason]
}

/// Runs an experiment's trials against its models and persists everything to the store.
public struct ExperimentRunner: Sendable {
    public let store: ExperimentStore

    public init(store: ExperimentStore) { self.store = store }

    /// Records a new run of `experiment` with all its trials pending, and where it runs.
    public func createRun(_ experiment: Experiment, reproducing original: Int64? = nil, replay: Bool = false,
                          shard: (index: Int, count: Int)? = nil) async throws -> RunRecord {
        var run = RunRecord(name: experiment.name, description: experiment.description,
                            experimentJson: experiment.canonicalJSON, seed: experiment.seed, toolVersion: HVAE.version)
        run.gitCommit = HVAE.gitCommit
        run.os = ProcessInfo.processInfo.operatingSystemVersionString
        run.host = ProcessInfo.processInfo.hostName
        run.reproducesRunId = original
        run.replay = replay
        if let shard {
            run.shard = "\(shard.index)/\(shard.count)"
            run.shardGroup = "\(run.experimentSha256)/\(shard.count)"
        }
        let planned = shard.map { experiment.plannedTrials(shard: $0.index, of: $0.count) } ?? experiment.plannedTrials
        let trials = planned.map { planned in
            TrialRecord(runId: 0, model: planned.model.name, provider: planned.model.provider.kind,
                        value: planned.value.rawValue, goal: planned.goal.rawValue,
                        optionOrder: planned.optionOrder.rawValue, trialIndex: planned.index, seed: planned.seed)
        }
        return try await store.createRun(run, trials: trials).0
    }

    /// The experiment a stored run executed, decoded from its canonical JSON.
    public func experiment(of run: RunRecord) throws -> Experiment {
        try JSONDecoder().decode(Experiment.self, from: Data(run.experimentJson.utf8))
    }

    /// Runs every unfinished trial of a run (pending, running or failed), up to
    /// `experiment.concurrency` at a time; the turns of one trial stay in order. A trial that
    /// already has calls continues from them without making them again (resume). Results depend
    /// only on the seeds, not on the concurrency or on interruptions.
    ///
    /// Cancelling the task cancels the calls in flight and marks the run `interrupted`.
    public func execute(runID: Int64, experiment: Experiment, providers: [String: any ChatProvider],
                        progress: @escaping @Sendable (RunProgress) -> Void = { _ in }) async throws -> RunOutcome {
        // One process at a time runs a run (`RunOwner`): claimed before its trials are read,
        // kept alive while they run, let go however the run ends.
        let owner = RunOwner.current
        try await store.claimRun(runID, for: owner)
        let store = self.store
        let heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: RunOwner.heartbeatInterval)
                try? await store.heartbeat(runID, for: owner)
            }
        }
        defer { heartbeat.cancel() }
        do {
            let outcome = try await executeClaimed(runID: runID, experiment: experiment, providers: providers, progress: progress)
            try await store.releaseRun(runID, from: owner)
            return outcome
        } catch {
            try? await shielded { try await store.releaseRun(runID, from: owner) }
            throw error
        }
    }

    private func executeClaimed(runID: Int64, experiment: Experiment, providers: [String: any ChatProvider],
                                progress: @escaping @Sendable (RunProgress) -> Void) async throws -> RunOutcome {
        let models = Dictionary(uniqueKeysWithValues: experiment.models.map { ($0.name, $0) })
        let unfinished = try await store.trials(runID: runID).filter { [.pending, .running, .failed].contains($0.status) }
        let usage = try await store.usage(runID: runID)
        let costSoFar = usage.reduce(0.0) { total, model in
            guard let api = models[model.model]?.provider.api else { return total }
            return total + (Double(model.inputTokens) * (api.priceInput ?? 0) + Double(model.outputTokens) * (api.priceOutput ?? 0)) / 1_000_000
        }
        let control = RunControl(experiment: experiment, totalTrials: unfinished.count,
                                 callsSoFar: usage.map(\.calls).reduce(0, +), costSoFar: costSoFar, report: progress)
        try await store.setRunStatus(runID, .running)

        // Trials end without waiting for their last writes (see `WriteBehind`); the run waits for
        // them before it reads or sets its status, and throws if one failed.
        var unconfirmed: [PendingCommit] = []
        /// Drops the writes committed so far, or with `wait` waits for all; throws the first that failed.
        func confirm(wait: Bool) async throws {
            if wait {
                for write in unconfirmed { _ = try await write.committed() }
                unconfirmed = []
                return
            }
            try unconfirmed.removeAll { write in
                guard let result = write.result else { return false }   // still queued
                _ = try result.get()
                return true
            }
        }
        do {
            try await withThrowingTaskGroup(of: TrialProtocol.Outcome?.self) { group in
                var queue = unfinished.makeIterator()
                func startNext() async throws -> Bool {
                    while let trial = queue.next() {
                        guard let model = models[trial.model], let provider = providers[trial.model] else {
                            throw ExperimentFileError(file: "run \(runID)", line: nil, key: "models",
                                                      message: "trial \(trial.id!) names model '\(trial.model)', which the experiment does not define")
                        }
                        if control.isStopped(model: model.name) { continue }
                        guard let value = ValueOrientation(rawValue: trial.value), let goal = GoalCondition(rawValue: trial.goal),
                              let order = OptionOrder(rawValue: trial.optionOrder)
                        else { continue }
                        let stored = trial.status == .pending ? [] : try await store.storedCalls(trialID: trial.id!)
                        let trialRun = TrialProtocol(experiment: experiment, trialID: trial.id!, value: value, goal: goal,
                                                     optionOrder: order, seed: trial.seed, model: model, provider: provider,
                                                     store: store, control: control, stored: stored)
                        group.addTask {
                            do {
                                return try await trialRun.run()
                            } catch is RunHalted {
                                return nil   // left running: a resume continues it
                            }
                        }
                        return true
                    }
                    return false
                }
                for _ in 0..<experiment.concurrency where !(try await startNext()) { break }
                while let outcome = try await group.next() {
                    if let outcome {
                        control.trialFinished(outcome.status)
                        unconfirmed.append(outcome.written)
                        try await confirm(wait: false)
                    }
                    _ = try await startNext()
                }
            }
            try await confirm(wait: true)
        } catch {
            // What the trials queued is committed before the run is marked.
            for write in unconfirmed { _ = try? await write.committed() }
            let status: RunStatus = error is CancellationError ? .interrupted : .failed
            try? await shielded { try await store.setRunStatus(runID, status) }
            throw error
        }
        let reasons = control.stopReasons
        let left = try await store.trialStatusCounts(runID: runID)
        let unfinishedLeft = (left[.pending] ?? 0) + (left[.running] ?? 0)
        let status: RunStatus = unfinishedLeft > 0 ? .interrupted : .finished
        try await store.setRunStatus(runID, status)
        return RunOutcome(progress: control.snapshot, status: status, stopReasons: reasons)
    }
}
