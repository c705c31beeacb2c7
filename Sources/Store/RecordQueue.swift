import Synchronization

/// The calls waiting for the writer, and whether a batch is scheduled.
struct RecordQueue: Sendable {
    var calls: [(call: CallOutcome, trialID: Int64, pending: PendingCommit)] = []
    /// True from the moment a batch is scheduled until the writer finds the queue empty.
    var writing = false
}

/// A call handed to `ExperimentStore.submit(_:trialID:)`: await `committed()` for its id once
/// its transaction has committed, or for the error that kept it out of the database.
public final class PendingCommit: Sendable {
    private let state = Mutex<(result: Result<Int64, any Error>?, waiters: [CheckedContinuation<Int64, any Error>])>((nil, []))

    init() {}

    /// The call's id once committed; throws if it could not be stored. Can be awaited many times.
    public func committed() async throws -> Int64 {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let result { continuation.resume(with: result) }
        }
    }

    func complete(_ result: Result<Int64, any Error>) {
        let waiters = state.withLock { state in
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }
}
