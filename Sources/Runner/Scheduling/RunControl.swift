import Design
import Foundation
import Store
import Synchronization

/// Why a run stopped before all its trials were done.
public enum StopReason: Sendable, Equatable, CustomStringConvertible {
    /// `max_calls` or `max_cost` was reached.
    case budget(String)
    /// A model answered with an error no retry can fix; its remaining trials were not run.
    case modelStopped(model: String, message: String)

    public var description: String {
        switch self {
        case .budget(let what): "budget reached: \(what)"
        case .modelStopped(let model, let message): "model '\(model)' stopped: \(message)"
        }
    }
}

/// Thrown inside a trial when the run must not make another call; the trial is left resumable.
struct RunHalted: Error { let reason: StopReason }

/// Where a run stands, reported after every call and every finished trial.
public struct RunProgress: Sendable, Equatable {
    public var totalTrials: Int
    public var finishedTrials = 0
    public var complete = 0
    public var incomplete = 0
    public var failed = 0
    /// Calls made, every attempt and retry included.
    public var calls = 0
    /// Calls that were transport retries (429, 5xx, timeouts...).
    public var retries = 0
    /// Calls that ended in an error.
    public var errors = 0
    public var inputTokens = 0
    public var outputTokens = 0
    /// Dollars, for models with prices.
    public var cost = 0.0
    /// Replies with characters that could not be decoded (read as U+FFFD), and how many characters.
    public var repliesWithReplacements = 0
    public var replacedCharacters = 0
    /// Models whose server refused calls for their rate (429, 529), and what hvae did about it.
    public var throttled: [String: Throttle] = [:]

    /// Batches not ended yet (batch mode), by the provider's id: requests done and in progress.
    public var openBatches: [String: BatchCounts] = [:]

    /// Where one batch stands, as its last poll said.
    public struct BatchCounts: Sendable, Equatable {
        public var model: String
        public var done: Int
        public var inProgress: Int
    }

    /// A model's calls refused for their rate, and its calls in flight: the limit now, the lowest
    /// it was cut to, and the ceiling it grows back to.
    public struct Throttle: Sendable, Equatable {
        public var refusals = 0
        public var limit: Int
        public var lowest: Int
        public var ceiling: Int
    }
    /// Calls answered from the response cache.
    public var cacheHits = 0
    public var startedAt = Date()

    public init(totalTrials: Int) { self.totalTrials = totalTrials }
}

/// Shared state of one run: progress, the budget, per-model limits and stopped models.
///
/// A lock rather than an actor: every trial consults it several times per call, and with a lock
/// held for a few additions none of those visits is an executor hop.
final class RunControl: Sendable {
    private struct State {
        var progress: RunProgress
        var budgetStop: StopReason?
        var stoppedModels: [String: String] = [:]
        /// Per model: since when every call has failed to connect, and how many have.
        var unreachable: [String: (since: Double, calls: Int)] = [:]
    }

    private let state: Mutex<State>
    private let report: @Sendable (RunProgress) -> Void
    private let maxCalls: Int?
    private let maxCost: Double?
    private let apis: [String: APIModelSpec]
    private let gates: [String: ModelGate]
    private let clock: any RunClock

    init(
        experiment: Experiment, totalTrials: Int, callsSoFar: Int, costSoFar: Double, clock: any RunClock,
        report: @escaping @Sendable (RunProgress) -> Void
    ) {
        self.clock = clock
        var progress = RunProgress(totalTrials: totalTrials)
        progress.calls = callsSoFar
        progress.cost = costSoFar
        self.report = report
        maxCalls = experiment.maxCalls
        maxCost = experiment.maxCost
        var apis: [String: APIModelSpec] = [:]
        var gates: [String: ModelGate] = [:]
        for model in experiment.models {
            if let api = model.provider.api {
                apis[model.name] = api
                // A batch model's calls wait for their round, not for a slot.
                if api.isBatch { continue }
                gates[model.name] = ModelGate(
                    ceiling: api.maxConcurrency ?? experiment.concurrency, requestsPerMinute: api.requestsPerMinute,
                    tokensPerMinute: api.tokensPerMinute, clock: clock)
            }
        }
        self.apis = apis
        self.gates = gates
        // A resumed run may already be over budget.
        var budgetStop: StopReason?
        if let maxCalls, callsSoFar >= maxCalls { budgetStop = .budget("max_calls \(maxCalls)") }
        if let maxCost, costSoFar >= maxCost { budgetStop = .budget(String(format: "max_cost $%.4f", maxCost)) }
        state = Mutex(State(progress: progress, budgetStop: budgetStop))
    }

    var snapshot: RunProgress { state.withLock { $0.progress } }

    /// Every reason the run stopped early, budget first.
    var stopReasons: [StopReason] {
        state.withLock { state in
            (state.budgetStop.map { [$0] } ?? [])
                + state.stoppedModels.sorted { $0.key < $1.key }.map { .modelStopped(model: $0.key, message: $0.value) }
        }
    }

    /// Nil when `model` may be called now.
    func haltReason(model: String) -> StopReason? {
        state.withLock { state in
            if let budgetStop = state.budgetStop { return budgetStop }
            return state.stoppedModels[model].map { .modelStopped(model: model, message: $0) }
        }
    }

    func isStopped(model: String) -> Bool { haltReason(model: model) != nil }

    /// The model's concurrency and rate gate; nil for a reference agent.
    func gate(for model: String) -> ModelGate? { gates[model] }

    func stop(model: String, message: String) {
        state.withLock { state in
            if state.stoppedModels[model] == nil { state.stoppedModels[model] = message }
        }
    }

    /// Counts a call. A failure to connect that has gone on for the model's `give_up_after`
    /// seconds (and three calls or more) stops the model: a dead endpoint stops the run at once,
    /// not after every trial has been through every retry.
    func callFinished(
        model: String, retry: Bool, error: Bool, inputTokens: Int?, outputTokens: Int?, cacheHit: Bool = false,
        failure: ProviderError? = nil, replacedCharacters: Int = 0
    ) {
        state.withLock { state in
            state.progress.calls += 1
            if replacedCharacters > 0 {
                state.progress.repliesWithReplacements += 1
                state.progress.replacedCharacters += replacedCharacters
            }
            if cacheHit { state.progress.cacheHits += 1 }
            if retry { state.progress.retries += 1 }
            if error { state.progress.errors += 1 }
            state.progress.inputTokens += inputTokens ?? 0
            state.progress.outputTokens += outputTokens ?? 0
            if let api = apis[model] {
                state.progress.cost += api.cost(inputTokens: inputTokens ?? 0, outputTokens: outputTokens ?? 0) ?? 0
                if let failure, let unreachable = failure.networkUnreachable {
                    let now = clock.now
                    let streak = state.unreachable[model].map { ($0.since, $0.calls + 1) } ?? (now, 1)
                    state.unreachable[model] = streak
                    let window = api.giveUpAfter ?? 30
                    if streak.1 >= 3, now - streak.0 >= window, state.stoppedModels[model] == nil {
                        let what = unreachable ? "could not be reached" : "gave no complete reply"
                        state.stoppedModels[model] =
                            "the server at \(api.baseURL) \(what) for \(Int(window)) s "
                                + """
                                (\(streak.1) calls in a row failed; the last: \(failure.message)); \
                                \(unreachable ? "start it" : "check it"), then `hvae resume`
                                """
                    }
                } else {
                    state.unreachable[model] = nil
                }
            }
            checkBudget(&state)
            if let gate = gates[model] {
                let limit = gate.currentLimit.load(ordering: .relaxed)
                if failure?.isRateLimit == true || state.progress.throttled[model] != nil {
                    var throttle =
                        state.progress.throttled[model]
                        ?? RunProgress.Throttle(limit: limit, lowest: limit, ceiling: gate.ceiling)
                    if failure?.isRateLimit == true { throttle.refusals += 1 }
                    throttle.limit = limit
                    throttle.lowest = min(throttle.lowest, limit)
                    state.progress.throttled[model] = throttle
                }
            }
            // Reported under the lock, so that reports arrive in order.
            report(state.progress)
        }
    }

    /// Waits `seconds` before a retry, or less if the model is stopped meanwhile (then throws
    /// `RunHalted`): a stopped model's trials do not sleep out their backoff.
    func pause(seconds: Double, model: String) async throws {
        let end = clock.now + seconds
        while true {
            let left = end - clock.now
            guard left > 0 else { return }
            if let reason = haltReason(model: model) { throw RunHalted(reason: reason) }
            try await clock.sleep(seconds: min(0.2, left))
        }
    }

    /// A batch was polled: its counts go in the progress until it ends.
    func batchPolled(model: String, _ batch: BatchState) {
        state.withLock { state in
            state.progress.openBatches[batch.id] =
                batch.ended
                ? nil
                : RunProgress.BatchCounts(
                    model: model, done: batch.succeeded + batch.failed, inProgress: batch.processing)
            report(state.progress)
        }
    }

    func trialFinished(_ status: TrialStatus) {
        state.withLock { state in
            state.progress.finishedTrials += 1
            switch status {
            case .complete: state.progress.complete += 1
            case .incomplete: state.progress.incomplete += 1
            case .failed: state.progress.failed += 1
            case .pending, .running: break
            }
            report(state.progress)
        }
    }

    private func checkBudget(_ state: inout State) {
        guard state.budgetStop == nil else { return }
        if let maxCalls, state.progress.calls >= maxCalls {
            state.budgetStop = .budget("max_calls \(maxCalls)")
        } else if let maxCost, state.progress.cost >= maxCost {
            state.budgetStop = .budget(String(format: "max_cost $%.4f (spent $%.4f)", maxCost, state.progress.cost))
        }
    }
}
