import Foundation
import Store

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
    /// Calls answered from the response cache.
    public var cacheHits = 0
    public var startedAt = Date()

    public init(totalTrials: Int) { self.totalTrials = totalTrials }
}

/// Shared state of one run: progress, the budget, per-model limits and stopped models.
actor RunControl {
    private var progress: RunProgress
    private let report: @Sendable (RunProgress) -> Void
    private let maxCalls: Int?
    private let maxCost: Double?
    private let prices: [String: (input: Double, output: Double)]
    private var gates: [String: ModelGate] = [:]
    private var budgetStop: StopReason?
    private var stoppedModels: [String: String] = [:]

    init(experiment: Experiment, totalTrials: Int, callsSoFar: Int, costSoFar: Double,
         report: @escaping @Sendable (RunProgress) -> Void) {
        progress = RunProgress(totalTrials: totalTrials)
        progress.calls = callsSoFar
        progress.cost = costSoFar
        self.report = report
        maxCalls = experiment.maxCalls
        maxCost = experiment.maxCost
        var prices: [String: (Double, Double)] = [:]
        for model in experiment.models {
            if let api = model.provider.api {
                prices[model.name] = (api.priceInput ?? 0, api.priceOutput ?? 0)
                gates[model.name] = ModelGate(limit: api.maxConcurrency, requestsPerMinute: api.requestsPerMinute)
            }
        }
        self.prices = prices
        // A resumed run may already be over budget.
        if let maxCalls, callsSoFar >= maxCalls { budgetStop = .budget("max_calls \(maxCalls)") }
        if let maxCost, costSoFar >= maxCost { budgetStop = .budget(String(format: "max_cost $%.4f", maxCost)) }
    }

    var snapshot: RunProgress { progress }

    /// Every reason the run stopped early, budget first.
    var stopReasons: [StopReason] {
        (budgetStop.map { [$0] } ?? []) + stoppedModels.sorted { $0.key < $1.key }.map { .modelStopped(model: $0.key, message: $0.value) }
    }

    /// Nil when `model` may be called now.
    func haltReason(model: String) -> StopReason? {
        if let budgetStop { return budgetStop }
        return stoppedModels[model].map { .modelStopped(model: model, message: $0) }
    }

    func isStopped(model: String) -> Bool { budgetStop != nil || stoppedModels[model] != nil }

    func gate(for model: String) -> ModelGate? { gates[model] }

    func stop(model: String, message: String) {
        if stoppedModels[model] == nil { stoppedModels[model] = message }
    }

    func callFinished(model: String, retry: Bool, error: Bool, inputTokens: Int?, outputTokens: Int?, cacheHit: Bool = false) {
        progress.calls += 1
        if cacheHit { progress.cacheHits += 1 }
        if retry { progress.retries += 1 }
        if error { progress.errors += 1 }
        progress.inputTokens += inputTokens ?? 0
        progress.outputTokens += outputTokens ?? 0
        if let price = prices[model] {
            progress.cost += (Double(inputTokens ?? 0) * price.input + Double(outputTokens ?? 0) * price.output) / 1_000_000
        }
        checkBudget()
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

    private func checkBudget() {
        guard budgetStop == nil else { return }
        if let maxCalls, progress.calls >= maxCalls {
            budgetStop = .budget("max_calls \(maxCalls)")
        } else if let maxCost, progress.cost >= maxCost {
            budgetStop = .budget(String(format: "max_cost $%.4f (spent $%.4f)", maxCost, progress.cost))
        }
    }
}

/// Limits the calls in flight to one model, and spaces them to a requests-per-minute rate.
actor ModelGate {
    private let limit: Int?
    private let interval: Double?
    private var inFlight = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var nextStart = ContinuousClock.now

    init(limit: Int?, requestsPerMinute: Double?) {
        self.limit = limit
        interval = requestsPerMinute.map { 60 / $0 }
    }

    func acquire() async throws {
        if let limit {
            if inFlight >= limit {
                await withCheckedContinuation { waiters.append($0) }   // release() hands its slot over
            } else {
                inFlight += 1
            }
        }
        if let interval {
            let start = max(nextStart, ContinuousClock.now)
            nextStart = start + .milliseconds(Int(interval * 1000))
            let wait = start - ContinuousClock.now
            if wait > .zero {
                do { try await Task.sleep(for: wait) } catch {
                    release()
                    throw error
                }
            }
        }
    }

    func release() {
        guard limit != nil else { return }
        if waiters.isEmpty { inFlight -= 1 } else { waiters.removeFirst().resume() }
    }
}
