import Foundation
import Store
import SVO

/// The hvae version, stored with every run.
public enum HVAE {
    public static let version = "0.1.0"
}

/// Where a run stands, reported after every call and every finished trial.
public struct RunProgress: Sendable, Equatable {
    public var totalTrials: Int
    public var finishedTrials = 0
    public var complete = 0
    public var incomplete = 0
    public var failed = 0
    public var calls = 0
}

/// Runs an experiment's trials against its models and persists everything to the store.
public struct ExperimentRunner: Sendable {
    public let store: ExperimentStore

    public init(store: ExperimentStore) { self.store = store }

    /// Records a new run of `experiment` with all its trials pending.
    public func createRun(_ experiment: Experiment) async throws -> RunRecord {
        let run = RunRecord(name: experiment.name, description: experiment.description,
                            experimentJson: experiment.canonicalJSON, seed: experiment.seed, toolVersion: HVAE.version)
        let trials = experiment.plannedTrials.map { planned in
            TrialRecord(runId: 0, model: planned.model.name, provider: planned.model.provider.kind,
                        value: planned.value.rawValue, goal: planned.goal.rawValue,
                        optionOrder: planned.optionOrder.rawValue, trialIndex: planned.index, seed: planned.seed)
        }
        return try await store.createRun(run, trials: trials).0
    }

    /// Runs every pending trial of a run, up to `experiment.concurrency` at a time; the turns of
    /// one trial stay in order. Results depend only on the seeds, not on the concurrency.
    public func execute(runID: Int64, experiment: Experiment,
                        providers: [String: any ChatProvider]? = nil,
                        progress: @escaping @Sendable (RunProgress) -> Void = { _ in }) async throws -> RunProgress {
        let providers = providers ?? Dictionary(uniqueKeysWithValues: experiment.models.map { ($0.name, ProviderFactory.make($0)) })
        let models = Dictionary(uniqueKeysWithValues: experiment.models.map { ($0.name, $0) })
        let pending = try await store.trials(runID: runID).filter { $0.status == .pending }
        let tracker = ProgressTracker(RunProgress(totalTrials: pending.count), report: progress)
        try await store.setRunStatus(runID, .running)

        do {
            try await withThrowingTaskGroup(of: TrialProtocol.Outcome.self) { group in
                var queue = pending.makeIterator()
                func startNext() -> Bool {
                    guard let trial = queue.next() else { return false }
                    guard let provider = providers[trial.model], models[trial.model] != nil,
                          let value = ValueOrientation(rawValue: trial.value), let goal = GoalCondition(rawValue: trial.goal),
                          let order = OptionOrder(rawValue: trial.optionOrder)
                    else { return startNext() }
                    let protocolRun = TrialProtocol(experiment: experiment, trialID: trial.id!, value: value, goal: goal,
                                                    optionOrder: order, seed: trial.seed, provider: provider, store: store,
                                                    onCall: { await tracker.callFinished() })
                    group.addTask { try await protocolRun.run() }
                    return true
                }
                for _ in 0..<experiment.concurrency where !startNext() { break }
                while let outcome = try await group.next() {
                    await tracker.trialFinished(outcome.status)
                    _ = startNext()
                }
            }
        } catch {
            try? await store.setRunStatus(runID, error is CancellationError ? .interrupted : .failed)
            throw error
        }
        try await store.setRunStatus(runID, .finished)
        return await tracker.snapshot
    }
}

/// Counts calls and trials from concurrent trial tasks and forwards each change.
actor ProgressTracker {
    private var progress: RunProgress
    private let report: @Sendable (RunProgress) -> Void

    init(_ progress: RunProgress, report: @escaping @Sendable (RunProgress) -> Void) {
        self.progress = progress
        self.report = report
    }

    var snapshot: RunProgress { progress }

    func callFinished() {
        progress.calls += 1
        report(progress)
    }

    func trialFinished(_ status: TrialStatus) {
        progress.finishedTrials += 1
        switch status {
        case .complete: progress.complete += 1
        case .incomplete: progress.incomplete += 1
        case .failed: progress.failed += 1
        case .pending, .running: break
        }
        report(progress)
    }
}
