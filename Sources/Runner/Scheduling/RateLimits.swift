import Domain
import Foundation
import Synchronization

/// How many calls to one model may be in flight, found from the server's 429s (and Anthropic's
/// 529, overloaded): halved when refusals are more than a tenth of the recent calls (two at least),
/// grown back by one per limit's worth of successes, quickly up to the level of the last cut and
/// four times as slowly from there (additive increase, multiplicative decrease). So a server that
/// takes two calls at a time is found at once and probed only now and then, while the occasional
/// 429 of a busy provider (one call in twenty) no longer halves the limit each time: halving on
/// every refusal, with growth four times as slow everywhere, kept a run at 1 or 2 of 16 with 7.7 %
/// of its calls refused.
struct AdaptiveConcurrency: Sendable, Equatable {
    /// The most it grows to: the model's `max_concurrency`, or the experiment's concurrency.
    let ceiling: Int
    private(set) var limit: Int
    /// Counts the decreases. Calls in flight when the limit fell were started under the old one:
    /// their 429s say nothing new, so one burst of refusals halves the limit once, not per refusal.
    private(set) var generation = 0
    private var successes = 0
    /// The limit when the last cut came (above the ceiling before any): growth slows there.
    private var knee: Int
    /// The outcomes of the recent calls (true: refused), oldest first, at most `windowSize`.
    private var recent: [Bool] = []

    init(ceiling: Int) {
        self.ceiling = max(1, ceiling)
        limit = self.ceiling
        knee = self.ceiling + 1
    }

    /// Successes per step up, per call of the limit, below the last cut's level and at it.
    static let growthPace = 1
    static let probePace = 4
    /// The share of recent calls refused above which the limit is halved.
    static let refusedShare = 0.1

    /// How many recent calls the refusals are counted among: four rounds of the limit, 20 at least.
    var windowSize: Int { max(20, 4 * limit) }

    private mutating func remember(refused: Bool) {
        recent.append(refused)
        if recent.count > windowSize { recent.removeFirst(recent.count - windowSize) }
    }

    /// A call started in `callGeneration` was refused for its rate. True when the limit changed.
    mutating func rateLimited(startedIn callGeneration: Int) -> Bool {
        guard callGeneration == generation else { return false }
        remember(refused: true)
        let refusals = recent.count { $0 }
        guard refusals >= 2, Double(refusals) > Self.refusedShare * Double(recent.count) else { return false }
        generation += 1
        successes = 0
        recent.removeAll()
        knee = limit
        let before = limit
        limit = max(1, limit / 2)
        return limit != before
    }

    /// A call succeeded. True when the limit grew.
    mutating func succeeded() -> Bool {
        remember(refused: false)
        guard limit < ceiling else { return false }
        successes += 1
        let pace = limit + 1 < knee ? Self.growthPace : Self.probePace
        guard successes >= pace * limit else { return false }
        successes = 0
        limit += 1
        if limit >= knee { knee = limit + 1 }
        return true
    }
}

/// Spends a model's tokens per minute at a steady rate, at most `tolerance` seconds' worth at once
/// (a generic cell rate algorithm: `due` is when the tokens reserved so far are paid for). Calls
/// reserve their estimate before they start and are corrected once the usage is known, so an
/// estimate that was too high gives its tokens back, and one too low delays the calls after it.
struct TokenPace: Sendable, Equatable {
    let perSecond: Double
    /// Providers enforce a minute's limit over shorter periods too (OpenAI: "quantized"), so no
    /// more than one second's worth goes out at once.
    let tolerance: Double
    /// Seconds (on the caller's clock) by which the tokens reserved so far are paid for.
    private(set) var due: Double

    init(tokensPerMinute: Double, tolerance: Double = 1) {
        perSecond = tokensPerMinute / 60
        self.tolerance = tolerance
        due = -.infinity
    }

    /// Reserves `tokens` for a call that asks to start at `now`; returns how many seconds it waits.
    mutating func reserve(_ tokens: Int, now: Double) -> Double {
        let paid = max(due, now)
        due = paid + Double(tokens) / perSecond
        return max(0, paid - tolerance - now)
    }

    /// The call used `tokens` more (or, negative, fewer) than it reserved.
    mutating func correct(by tokens: Int) {
        due += Double(tokens) / perSecond
    }
}

/// The tokens a call will count against `tokens_per_minute`, before it is made: its input at
/// about four bytes of UTF-8 per token plus a few per message, and its whole `max_tokens` (256
/// when unset), which is how providers count a request before it runs.
enum TokenEstimate {
    static let unsetMaxTokens = 256

    static func of(_ messages: [ChatMessage], maxTokens: Int?) -> Int {
        let input = messages.reduce(0) { $0 + ($1.content.utf8.count + 3) / 4 + 4 }
        return input + (maxTokens ?? unsetMaxTokens)
    }
}

/// What became of a call that went through a model's gate.
enum GateOutcome: Sendable {
    /// Answered; `tokens` is the reported usage (input + output), when reported.
    case succeeded(tokens: Int?)
    /// Refused for its rate: 429, or 529 (Anthropic's "overloaded").
    case rateLimited
    /// Failed otherwise (a timeout, a 5xx, a dropped connection).
    case failed
    /// Never sent (cancelled while it waited): its tokens are given back.
    case notSent
}

/// One model's limits on the calls in flight and their rates: `max_concurrency` (adapted to the
/// server's 429s), `requests_per_minute` and `tokens_per_minute`. Every API model has one, since
/// every API may answer 429; reference agents have none.
actor ModelGate {
    /// What a call took from the gate, handed back on release.
    struct Ticket: Sendable {
        let generation: Int
        let tokens: Int
    }

    private var concurrency: AdaptiveConcurrency
    private let interval: Double?
    private var pace: TokenPace?
    private var inFlight = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private let clock: any RunClock
    /// When the next call may start by `requests_per_minute`, in the clock's seconds.
    private var nextStart: Double
    /// The current limit, readable without waiting for the actor: the dispatcher consults it
    /// before each trial it starts.
    nonisolated let currentLimit: Atomic<Int>
    nonisolated let ceiling: Int

    /// `ceiling` is the model's `max_concurrency`, or the experiment's concurrency.
    init(ceiling: Int, requestsPerMinute: Double?, tokensPerMinute: Double?, clock: any RunClock) {
        self.clock = clock
        nextStart = clock.now
        concurrency = AdaptiveConcurrency(ceiling: ceiling)
        self.ceiling = concurrency.ceiling
        currentLimit = Atomic(concurrency.limit)
        interval = requestsPerMinute.map { 60 / $0 }
        pace = tokensPerMinute.map { TokenPace(tokensPerMinute: $0) }
    }

    /// Waits for a slot and for the rates, then lets a call of about `tokens` tokens start.
    func acquire(tokens: Int) async throws -> Ticket {
        if inFlight >= concurrency.limit {
            await withCheckedContinuation { waiters.append($0) }  // release() hands its slot over
        } else {
            inFlight += 1
        }
        var wait = 0.0
        let now = clock.now
        if let interval {
            let start = max(nextStart, now)
            nextStart = start + interval
            wait = start - now
        }
        if pace != nil { wait = max(wait, pace!.reserve(tokens, now: now)) }
        let ticket = Ticket(generation: concurrency.generation, tokens: tokens)
        if wait > 0 {
            do { try await clock.sleep(seconds: wait) } catch {
                release(ticket, .notSent)
                throw error
            }
        }
        // The generation the call starts in: a limit that fell while it waited is the one it meets.
        return Ticket(generation: concurrency.generation, tokens: tokens)
    }

    func release(_ ticket: Ticket, _ outcome: GateOutcome) {
        inFlight -= 1
        var limitChanged = false
        switch outcome {
        case .succeeded(let tokens):
            if let tokens { pace?.correct(by: tokens - ticket.tokens) }
            limitChanged = concurrency.succeeded()
        case .rateLimited:
            limitChanged = concurrency.rateLimited(startedIn: ticket.generation)
        case .failed:
            break  // the reservation stands: a failed call may have been counted
        case .notSent:
            pace?.correct(by: -ticket.tokens)
        }
        if limitChanged { currentLimit.store(concurrency.limit, ordering: .relaxed) }
        while inFlight < concurrency.limit, !waiters.isEmpty {
            inFlight += 1
            waiters.removeFirst().resume()
        }
    }

    /// Trials of this model worth running at once: one more than its calls allowed in flight, so
    /// that a slot freed is taken at once, not after the next trial has stored its last reply;
    /// nil while the limit is the experiment's own (then only the experiment's concurrency binds).
    nonisolated func trialCapacity(experimentConcurrency: Int) -> Int? {
        let limit = currentLimit.load(ordering: .relaxed)
        return limit < experimentConcurrency ? limit + 1 : nil
    }
}
