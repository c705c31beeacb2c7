import Design
import Foundation
import Store

/// Batch mode for one model: gathers the calls of its trials into rounds, submits each round
/// through the provider's batch API, polls it, and hands every trial its own result, matched by
/// custom_id. The trials themselves run the normal protocol: each call awaits its result here as
/// it would await an HTTP response, so recording, parsing, re-asks and retries are the same code
/// as for normal calls.
///
/// A round goes when every running trial of the model waits on a batch (or no new call has come
/// for `gather` seconds). Every batch is stored (`batches`, `batch_requests`) as soon as the
/// provider accepts it; a call whose custom_id a stored batch holds re-attaches to that batch (a
/// resume after a kill) instead of being submitted again.
actor BatchCollector {
    let api: any BatchAPI
    let store: ExperimentStore
    let runID: Int64
    let model: String
    /// Seconds before the first poll, and between polls at most (doubling in between).
    let firstPoll: Double
    let mostPoll: Double
    /// Seconds without a new call after which a round goes even if some trial has not asked yet.
    let gather: Double
    /// Told every poll's answer (the run's progress shows it).
    let polled: @Sendable (BatchState) -> Void

    private struct Waiter {
        let customID: String
        let trialID: Int64
        let request: ChatRequest
        let entry: Data
        /// Found in a stored batch (a resume), not submitted by this process.
        let reattached: Bool
        let continuation: CheckedContinuation<ChatResponse, any Error>
    }

    private struct Watch {
        var record: BatchRecord
        var waiters: [String: Waiter] = [:]
        /// Submitted by this process, so every call it holds waits on it from the start; a
        /// batch found again (a resume) is attached to call by call, as its trials come back.
        var submittedHere: Bool
        /// The ended batch's results, kept for the calls of a resumed run that attach later.
        var results: [String: BatchResult]?
        var served = 0
    }

    /// Trials of a batch model in one round when `batch_size` is not set.
    static let defaultRoundSize = 10_000

    private var active = 0
    /// The runner is starting trials: a round waits until it has started all it will.
    private var dispatching = false
    private var waiting: [Waiter] = []
    /// Calls of a batch being submitted, by custom_id: a cancelled one is ended at once.
    private var submitting: [String: Waiter] = [:]
    private var watches: [Int64: Watch] = [:]
    private var round: Int?
    private var gatherTimer: Task<Void, Never>?

    init(
        api: any BatchAPI, store: ExperimentStore, runID: Int64, model: String, poll: Double?, gather: Double = 2,
        polled: @escaping @Sendable (BatchState) -> Void = { _ in }
    ) {
        self.polled = polled
        self.api = api
        self.store = store
        self.runID = runID
        self.model = model
        mostPoll = poll ?? 60
        firstPoll = min(10, mostPoll)
        self.gather = gather
    }

    /// A trial of the model started, or ended: a round waits for the running trials only.
    func trialStarted() {
        active += 1
        dispatching = true
    }

    /// The runner has started every trial it can for now.
    func dispatched() {
        dispatching = false
        considerSubmitting()
    }

    func trialEnded() {
        active -= 1
        considerSubmitting()
    }

    /// The result of one call, from the batch that holds it (re-attached) or from the next round.
    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        guard let call = request.call else {
            throw ProviderError(kind: .configuration, message: "batch mode needs the call's identity")
        }
        let customID = call.customID(runID: runID)
        let entry = try api.entry(customID: customID, request: request)
        if round == nil {
            let stored = try await store.lastBatchRound(runID: runID, model: model)
            if round == nil { round = stored }  // another call may have set it meanwhile
        }
        var held = try await store.batch(holding: customID, runID: runID)
        if let intent = held, intent.isIntent {
            // Recorded, then killed before the provider's answer was stored: found by its tag,
            // or known never to have been accepted.
            held = try await recover(intent)
        }
        if held?.status == BatchRecord.notSubmitted { held = nil }
        let failedWhole = try await store.wholeBatchFailures(of: customID, runID: runID)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let waiter = Waiter(
                    customID: customID, trialID: call.trialID, request: request, entry: entry,
                    reattached: held != nil, continuation: continuation)
                if let held, !Self.endedWithoutResults(held) {
                    attach(waiter, to: held)
                } else if failedWhole >= 2 {
                    continuation.resume(
                        throwing: ProviderError(
                            kind: .http(status: 400),
                            message: "the batch holding this request failed whole twice: \(held?.error ?? "no reason")")
                    )
                } else {
                    waiting.append(waiter)
                    considerSubmitting()
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(customID) }
        }
    }

    /// An intent's outcome, found once for all its calls (they come back one by one on a resume).
    private var recovering: [Int64: Task<BatchRecord?, any Error>] = [:]

    /// The batch an intent became at the provider, now stored; nil when the provider never
    /// accepted it (then stored as `not_submitted`, and its calls are submitted again).
    private func recover(_ intent: BatchRecord) async throws -> BatchRecord? {
        let id = intent.id!
        if let task = recovering[id] { return try await task.value }
        let (api, store, runID) = (api, store, runID)
        let task = Task { try await BatchIntentResolution.resolve(intent, api: api, store: store, runID: runID) }
        recovering[id] = task
        return try await task.value
    }

    /// A batch that ended with no result of its own: the provider failed it, or it gave none.
    private static func endedWithoutResults(_ record: BatchRecord) -> Bool {
        record.error != nil && record.succeeded == 0 && record.failed == 0
    }

    /// A cancelled trial stops waiting; its batch, if submitted, goes on at the provider.
    private func cancelWaiter(_ customID: String) {
        if let index = waiting.firstIndex(where: { $0.customID == customID }) {
            waiting.remove(at: index).continuation.resume(throwing: CancellationError())
        }
        submitting.removeValue(forKey: customID)?.continuation.resume(throwing: CancellationError())
        for (id, var watch) in watches {
            if let waiter = watch.waiters.removeValue(forKey: customID) {
                waiter.continuation.resume(throwing: CancellationError())
                watches[id] = watch
            }
        }
    }

    private func considerSubmitting() {
        guard !waiting.isEmpty else { return }
        let onBatches = watches.values.reduce(0) { $0 + $1.waiters.count }
        if (!dispatching && waiting.count + onBatches >= active) || waiting.count >= api.maxRequests {
            submitRound()
            return
        }
        // Some trial has not asked yet: go after `gather` seconds of no new call anyway.
        gatherTimer?.cancel()
        let gather = gather
        gatherTimer = Task {
            try? await Task.sleep(for: .milliseconds(Int(gather * 1000)))
            if !Task.isCancelled { self.submitRound() }
        }
    }

    /// Submits every waiting call as one round: one batch, or several within the API's limits.
    private func submitRound() {
        gatherTimer?.cancel()
        gatherTimer = nil
        guard !waiting.isEmpty else { return }
        let number = (round ?? 0) + 1
        round = number
        var chunk: [Waiter] = []
        var bytes = 0
        for waiter in waiting { submitting[waiter.customID] = waiter }
        for waiter in waiting {
            if !chunk.isEmpty, chunk.count >= api.maxRequests || bytes + waiter.entry.count + 1 > api.maxBytes {
                let full = chunk
                Task { await self.submit(full, round: number) }
                chunk = []
                bytes = 0
            }
            chunk.append(waiter)
            bytes += waiter.entry.count + 1
        }
        waiting = []
        let last = chunk
        Task { await self.submit(last, round: number) }
    }

    /// Submissions refused for a passing reason (429, 5xx, a timeout) are tried again this often
    /// before the calls fail: a full queue at the provider clears in minutes, not at once.
    static let submitAttempts = 6

    private func submit(_ chunk: [Waiter], round number: Int) async {
        var record: BatchRecord
        let tag = "hvae-" + UUID().uuidString.lowercased()
        do {
            // The intent is stored before the provider sees the batch: a kill after it accepts the
            // batch and before its id is stored leaves this row, and the resume finds the batch
            // by its tag rather than paying for its requests twice.
            record = try await store.recordBatch(
                BatchRecord(
                    runID: runID, model: model, provider: api.provider,
                    providerBatchID: BatchRecord.intentPrefix + tag, inputFileID: nil, round: number,
                    status: BatchRecord.submitting, requests: chunk.count),
                requests: chunk.map { BatchRequestRecord(customID: $0.customID, trialID: $0.trialID) })
        } catch {
            for waiter in stillSubmitting(chunk) { waiter.continuation.resume(throwing: error) }
            return
        }
        let id = record.id!
        do {
            var attempt = 0
            var accepted: BatchState?
            while accepted == nil {
                do {
                    accepted = try await api.submit(chunk.map(\.entry), tag: tag) { [store] fileID in
                        try await store.setBatchInputFile(id, fileID: fileID)
                    }
                } catch let error as ProviderError where error.isRetryable && attempt + 1 < Self.submitAttempts {
                    // The provider may have accepted it before its answer was lost.
                    let stored = try await store.batch(holding: chunk[0].customID, runID: runID) ?? record
                    accepted = try? await BatchIntentResolution.find(stored, api: api, store: store, runID: runID)
                    if accepted != nil { break }
                    let delay = Backoff.delay(retry: attempt, retryAfter: error.retryAfter, base: firstPoll)
                    try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
                    attempt += 1
                }
            }
            let state = accepted!
            record = try await store.acceptBatch(
                id, providerBatchID: state.id, inputFileID: state.inputFileID, status: state.status)
        } catch {
            // The last try's answer may be what was lost: looked for once more, as before a retry.
            let stored = (try? await store.batch(holding: chunk[0].customID, runID: runID)) ?? record
            if let state = try? await BatchIntentResolution.find(stored, api: api, store: store, runID: runID),
                let found = try? await store.acceptBatch(
                    id, providerBatchID: state.id, inputFileID: state.inputFileID, status: state.status)
            {
                record = found
            } else {
                // Not accepted: the intent is closed, and each call fails as a normal call does
                // (the retry rules apply).
                try? await store.abandonBatch(id, reason: "not accepted by the provider: \(error)")
                for waiter in stillSubmitting(chunk) { waiter.continuation.resume(throwing: error) }
                return
            }
        }
        var watch = Watch(record: record, submittedHere: true)
        // A call cancelled meanwhile has ended; the batch goes on at the provider, and a resume
        // re-attaches to it.
        for waiter in stillSubmitting(chunk) { watch.waiters[waiter.customID] = waiter }
        watches[record.id!] = watch
        await follow(record.id!, firstDelay: firstPoll)
    }

    /// The calls of `chunk` not cancelled during its submission, taken off `submitting`.
    private func stillSubmitting(_ chunk: [Waiter]) -> [Waiter] {
        chunk.filter { submitting.removeValue(forKey: $0.customID) != nil }
    }

    private func attach(_ waiter: Waiter, to record: BatchRecord) {
        let id = record.id!
        if var watch = watches[id] {
            if let results = watch.results {
                watch.served += 1
                watches[id] = watch.served >= watch.record.requests ? nil : watch
                serve(waiter, from: results, batch: record)
            } else {
                watch.waiters[waiter.customID] = waiter
                watches[id] = watch
            }
            return
        }
        watches[id] = Watch(record: record, waiters: [waiter.customID: waiter], submittedHere: false)
        // A batch found again is asked about at once: it may have ended long ago.
        Task { await self.follow(id, firstDelay: 0) }
    }

    /// Polls a batch until it ends, then serves its waiters.
    private func follow(_ id: Int64, firstDelay: Double) async {
        guard let record = watches[id]?.record else { return }
        var delay = firstDelay
        var state: BatchState
        while true {
            if delay > 0 { try? await Task.sleep(for: .milliseconds(Int(delay * 1000))) }
            delay = delay == 0 ? firstPoll : min(mostPoll, delay * 2)
            // Every call waiting on it was cancelled (the run stopped): the batch goes on at the
            // provider without this process watching it.
            if watches[id]?.waiters.isEmpty ?? true {
                watches[id] = nil
                return
            }
            do {
                state = try await api.state(of: record.providerBatchID)
            } catch let error as ProviderError where error.isRetryable {
                continue  // the batch goes on at the provider; ask again later
            } catch {
                failAll(id, error)
                return
            }
            polled(state)
            try? await store.updateBatch(
                id, status: state.status, succeeded: state.succeeded, failed: state.failed, ended: state.ended)
            if state.ended { break }
        }
        let cancelled = Self.cancelledStatuses.contains(state.status)
        if !cancelled, state.failure != nil || state.succeeded + state.failed == 0 {
            await failedWhole(
                id, state,
                reason: state.failure.flatMap { $0.isEmpty ? nil : $0 }
                    ?? "batch \(state.id) ended \(state.status) with no result")
            return
        }
        var results: [String: BatchResult]?
        for attempt in 0..<5 where results == nil {
            do { results = try await api.results(of: state) } catch let error as ProviderError where error.isRetryable {
                try? await Task.sleep(for: .milliseconds(Int(firstPoll * 1000) * (attempt + 1)))
            } catch {
                failAll(id, error)
                return
            }
        }
        guard let results, var watch = watches[id] else {
            failAll(
                id,
                ProviderError(kind: .connection(.other), message: "the results of batch \(state.id) could not be read"))
            return
        }
        // Not one request ran before the window closed: the batch expired whole.
        let expired = results.values.allSatisfy {
            if case .failed(let error) = $0.outcome { error.kind == .timeout } else { false }
        }
        if !cancelled, !results.isEmpty, expired {
            await failedWhole(
                id, state, reason: "batch \(state.id) expired whole: none of its \(results.count) requests ran")
            return
        }
        watch.record.status = state.status
        let served = watch.waiters.values
        // Taken off the batch before they are served: a call put back in the queue (cancelled)
        // must not count as still waiting on this batch.
        watch.waiters = [:]
        watch.served += served.count
        // Results are kept only while calls of a resumed run may still come for them.
        let done = watch.submittedHere || watch.served >= watch.record.requests
        watch.results = done ? nil : results
        watches[id] = done ? nil : watch
        for waiter in served { serve(waiter, from: results, batch: watch.record) }
    }

    /// The provider's statuses of a cancelled batch: what did not run was cancelled, not failed.
    static let cancelledStatuses: Set<String> = ["cancelled", "cancelling", "canceling"]

    /// A batch that failed or expired whole: its calls are submitted once more, in the next
    /// round; a second such failure ends them with the provider's message.
    private func failedWhole(_ id: Int64, _ state: BatchState, reason: String) async {
        try? await store.updateBatch(id, status: state.status, succeeded: 0, failed: 0, error: reason, ended: true)
        let again = watches.removeValue(forKey: id)?.waiters.values ?? [:].values
        for waiter in again {
            let failures = (try? await store.wholeBatchFailures(of: waiter.customID, runID: runID)) ?? 2
            if failures >= 2 {
                waiter.continuation.resume(
                    throwing: ProviderError(
                        kind: .http(status: 400), message: "the batch failed whole twice: \(reason)"))
            } else {
                waiting.append(waiter)
            }
        }
        considerSubmitting()
    }

    private func serve(_ waiter: Waiter, from results: [String: BatchResult], batch: BatchRecord) {
        let cancelled = Self.cancelledStatuses.contains(batch.status)
        guard let result = results[waiter.customID] ?? (cancelled ? BatchResult(line: Data(), outcome: .canceled) : nil)
        else {
            waiter.continuation.resume(
                throwing: ProviderError(
                    kind: .malformed, message: "batch \(batch.providerBatchID) returned no result for this request"))
            return
        }
        switch result.outcome {
        case .response(let status):
            waiter.continuation.resume(
                with: Result { try api.response(line: result.line, status: status, for: waiter.request) })
        case .failed(var error):
            error.rawBody = result.line
            waiter.continuation.resume(throwing: error)
        case .canceled:
            if waiter.reattached {
                // A resume after `hvae batch cancel`: the user asked for these calls again.
                waiting.append(waiter)
                considerSubmitting()
            } else {
                waiter.continuation.resume(
                    throwing: ProviderError(
                        kind: .configuration,
                        message: """
                            batch \(batch.providerBatchID) was cancelled; `hvae resume \(runID)` submits its \
                            calls again
                            """))
            }
        }
    }

    private func failAll(_ id: Int64, _ error: any Error) {
        for waiter in watches.removeValue(forKey: id)?.waiters.values ?? [:].values {
            waiter.continuation.resume(throwing: error)
        }
    }
}

/// What became of a batch recorded before its submission (an intent) whose process was killed
/// before the provider's answer was stored.
enum BatchIntentResolution {
    /// The provider's batch the intent became; nil when the provider holds none. Throws when
    /// several could be it (Anthropic keeps no tag: batches are told by time and size).
    static func find(_ intent: BatchRecord, api: any BatchAPI, store: ExperimentStore, runID: Int64) async throws
        -> BatchState?
    {
        guard let tag = intent.intentTag else { return nil }
        let found = try await api.find(
            BatchIntent(
                tag: tag, inputFileID: intent.inputFileID, requests: intent.requests, recordedAt: intent.submittedAt),
            known: try await store.knownBatchIDs())
        guard found.count <= 1 else {
            throw ProviderError(
                kind: .configuration,
                message: """
                    batches \(found.map(\.id).joined(separator: ", ")) were created at the provider after round \
                    \(intent.round) of run \(runID) was submitted, each with its \(intent.requests) requests, and the \
                    API keeps no tag to tell which is this run's; cancel the others at the provider, then \
                    `hvae resume \(runID)`
                    """)
        }
        return found.first
    }

    /// Stores what became of `intent`: the provider's batch (returned), or `not_submitted` (nil).
    static func resolve(_ intent: BatchRecord, api: any BatchAPI, store: ExperimentStore, runID: Int64)
        async throws -> BatchRecord?
    {
        if let state = try await find(intent, api: api, store: store, runID: runID) {
            return try await store.acceptBatch(
                intent.id!, providerBatchID: state.id, inputFileID: state.inputFileID, status: state.status)
        }
        try await store.abandonBatch(
            intent.id!,
            reason: "the provider holds no batch tagged \(intent.intentTag ?? "?"): it was never accepted, and its "
                + "calls were submitted again")
        return nil
    }
}

/// A model in batch mode, as the runner calls it: every call goes through its collector.
struct BatchProvider: ChatProvider {
    let collector: BatchCollector

    func complete(_ request: ChatRequest) async throws -> ChatResponse {
        try await collector.complete(request)
    }

    /// The batch API of a model's normal provider; nil for one that has none (a replay, a
    /// reference agent).
    static func api(for provider: any ChatProvider) -> (any BatchAPI)? {
        (provider as? any BatchCapable)?.batchAPI
    }
}

/// `hvae batch cancel`: asks the provider to cancel a run's batches that have not ended.
public enum BatchCancellation {
    /// What became of one batch.
    public struct Outcome: Sendable {
        public var batch: BatchRecord
        /// The provider's status after the request, or why it could not be cancelled.
        public var result: Result<String, ProviderError>
    }

    /// Cancels every batch of `runID` that has not ended, with the models' keys from `environment`;
    /// stores each one's new status.
    public static func cancel(
        runID: Int64, store: ExperimentStore, transport: any HTTPTransport,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> [Outcome] {
        let run = try await store.run(runID)
        let experiment = try Experiment(storedIn: run)
        var outcomes: [Outcome] = []
        for found in try await store.batches(runID: runID) where found.endedAt == nil {
            var batch = found
            let result: Result<String, ProviderError>
            do {
                guard let model = experiment.models.first(where: { $0.name == batch.model }),
                    let api = BatchProvider.api(
                        for: try ProviderFactory.make(model, transport: transport, environment: environment))
                else {
                    throw ProviderError(
                        kind: .configuration, message: "model '\(batch.model)' of run \(runID) has no batch API")
                }
                if batch.isIntent {
                    // Killed before the provider's answer was stored: cancel what it accepted, if anything.
                    guard
                        let accepted = try await BatchIntentResolution.resolve(
                            batch, api: api, store: store, runID: runID)
                    else {
                        outcomes.append(Outcome(batch: batch, result: .success(BatchRecord.notSubmitted)))
                        continue
                    }
                    batch = accepted
                }
                let state = try await api.cancel(batch.providerBatchID)
                try await store.updateBatch(
                    batch.id!, status: state.status, succeeded: state.succeeded, failed: state.failed,
                    ended: state.ended)
                result = .success(state.status)
            } catch let error as ProviderError {
                result = .failure(error)
            }
            outcomes.append(Outcome(batch: batch, result: result))
        }
        return outcomes
    }
}
