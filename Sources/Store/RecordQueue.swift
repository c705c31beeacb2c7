import Synchronization

/// A write the runner makes many times a second, queued for the next group commit.
enum QueuedWrite: Sendable {
    /// One model call (`ExperimentStore.record`).
    case call(CallOutcome, trialID: Int64)
    /// A trial's metrics and final status (`ExperimentStore.finishTrial`).
    case finish(trialID: Int64, status: TrialStatus, error: String?, metrics: [MetricValue])
}

extension QueuedWrite {
    var trialID: Int64 {
        switch self {
        case .call(_, let trialID), .finish(let trialID, _, _, _): trialID
        }
    }
}

/// A queued write, its result, and the write of the same trial submitted before it (if any).
struct QueueEntry: Sendable {
    var write: QueuedWrite
    var pending: PendingCommit
    var after: PendingCommit?
}

/// The writes waiting for the writer, and what will commit them.
struct RecordQueue: Sendable {
    var writes: [QueueEntry] = []
    /// A batch is scheduled or running on the writer.
    var writing = false
    /// The commit timer is set.
    var timerSet = false
    /// Somebody awaits a queued write: the next batch starts as soon as the writer is free.
    var awaited = false
}

/// A write handed to the writer (`ExperimentStore.submit(_:trialID:)`): await `committed()` for
/// its id (the call's; the trial's for a finished trial) once its transaction has committed, or
/// for the error that kept it out of the database.
public final class PendingCommit: Sendable {
    private let state = Mutex<(result: Result<Int64, any Error>?, waiters: [CheckedContinuation<Int64, any Error>])>((nil, []))
    private let store: ExperimentStore

    init(store: ExperimentStore) { self.store = store }

    /// The call's id once committed; throws if it could not be stored. Can be awaited many times.
    /// Awaiting a write that is still queued commits its batch without waiting for the timer.
    public func committed() async throws -> Int64 {
        if let result { return try result.get() }
        return try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let result {
                continuation.resume(with: result)
            } else {
                store.commitQueuedWrites(awaited: true)
            }
        }
    }

    /// The outcome if the write has been committed or has failed; nil while it is queued. Does not wait.
    public var result: Result<Int64, any Error>? { state.withLock { $0.result } }

    func complete(_ result: Result<Int64, any Error>) {
        let waiters = state.withLock { state in
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }
}
