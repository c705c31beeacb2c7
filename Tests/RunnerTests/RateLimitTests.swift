import Domain
import Foundation
import GRDB
import ModelServer
import Synchronization
import Testing

@testable import Runner

@Suite("Rate limits: adaptive concurrency, tokens per minute")
struct RateLimitUnitTests {
    @Test("refusals above a tenth of the recent calls halve the limit once per burst; growth is quick up to the cut")
    func adaptiveConcurrency() {
        var limit = AdaptiveConcurrency(ceiling: 8)
        #expect(limit.limit == 8)
        // (generation the refused call started in, whether the limit changed, the limit after): the
        // first refusal alone cuts nothing; the second does; one started before the cut says
        // nothing new; the next generation's two refusals halve again.
        let refusals = [(0, false, 8), (0, true, 4), (0, false, 4), (1, false, 4), (1, true, 2)]
        for (generation, changes, after) in refusals {
            let changed = limit.rateLimited(startedIn: generation)
            #expect(changed == changes)
            #expect(limit.limit == after)
        }
        // Back up: one step per limit's worth of successes below the level of the last cut (4),
        // four times as many from there on.
        var grown: [(limit: Int, calls: Int)] = []
        var calls = 0
        while limit.limit < 8 {
            calls += 1
            if limit.succeeded() { grown.append((limit.limit, calls)) }
        }
        #expect(grown.map(\.limit) == [3, 4, 5, 6, 7, 8])
        #expect(grown.map(\.calls) == [2, 2 + 12, 14 + 16, 30 + 20, 50 + 24, 74 + 28])
        let atCeiling = limit.succeeded()
        #expect(!atCeiling)
        // One refusal in twenty calls, as a busy provider gives them: the limit stays.
        var busy = AdaptiveConcurrency(ceiling: 16)
        for call in 1...2_000 {
            if call % 20 == 0 {
                _ = busy.rateLimited(startedIn: busy.generation)
            } else {
                _ = busy.succeeded()
            }
        }
        #expect(busy.limit == 16)
    }

    @Test("tokens are paced at the rate with one second's worth at once; corrections give back or take")
    func tokenPace() {
        var pace = TokenPace(tokensPerMinute: 6_000)  // 100 a second
        // (tokens, now, seconds to wait): up to one second ahead of the rate goes at once.
        var waits: [Double] = []
        for (tokens, now) in [(50, 10.0), (50, 10), (100, 10), (100, 10)] {
            waits.append(pace.reserve(tokens, now: now))
        }
        #expect(waits == [0, 0, 0, 1])  // the fourth: paid by 12, minus one second, minus now
        #expect(abs(pace.due - 13) < 1e-9)
        // The last call used 20 tokens, not 100: 0.8 s back.
        pace.correct(by: -80)
        #expect(abs(pace.due - 12.2) < 1e-9)
        // Time passing pays: at 20 the debt is gone, and a second's worth goes at once again.
        waits = [(100, 20.0), (100, 20), (1, 20)].map { pace.reserve($0, now: $1) }
        #expect(waits[0] == 0 && waits[1] == 0 && waits[2] > 0)
    }

    @Test("the gate starts calls by its clock: requests_per_minute an interval apart, tokens_per_minute at its pace")
    func gateByClock() async throws {
        // 600 a minute: the first call at once, then one every 0.1 s, whatever the calls' size.
        let clock = VirtualClock()
        let requests = ModelGate(ceiling: 4, requestsPerMinute: 600, tokensPerMinute: nil, clock: clock)
        var starts: [Double] = []
        for _ in 0..<10 {
            let ticket = try await requests.acquire(tokens: 1_000)
            starts.append(clock.now)
            await requests.release(ticket, .succeeded(tokens: 1_000))
        }
        #expect(zip(starts, (0..<10).map { Double($0) / 10 }).allSatisfy { abs($0 - $1) < 1e-9 }, "\(starts)")

        // 6,000 tokens a minute (100 a second), up to one second's worth ahead: calls of 50 tokens
        // go three at once, then one every half second; the fourth used 10, and its 40 back
        // (0.4 s) bring the fifth forward.
        let paced = VirtualClock()
        let tokens = ModelGate(ceiling: 4, requestsPerMinute: nil, tokensPerMinute: 6_000, clock: paced)
        var times: [Double] = []
        for call in 0..<6 {
            let ticket = try await tokens.acquire(tokens: 50)
            times.append(paced.now)
            await tokens.release(ticket, .succeeded(tokens: call == 3 ? 10 : 50))
        }
        let expected = [0, 0, 0, 0.5, 0.6, 1.1]
        #expect(zip(times, expected).allSatisfy { abs($0 - $1) < 1e-9 }, "\(times)")
        // Both limits: each call waits for the later of the two.
        let both = VirtualClock()
        let gate = ModelGate(ceiling: 4, requestsPerMinute: 600, tokensPerMinute: 6_000, clock: both)
        for _ in 0..<3 {
            let ticket = try await gate.acquire(tokens: 100)
            await gate.release(ticket, .succeeded(tokens: 100))
        }
        // The second call waits for the interval (0.1 s), the third for the tokens (paid by 2 s,
        // less the second ahead, less the 0.1 s gone: 0.9 s).
        #expect(both.sleeps.map { ($0 * 1e6).rounded() / 1e6 } == [0.1, 0.9])
    }

    @Test("the estimate counts the input at four bytes a token and the whole max_tokens")
    func estimate() {
        let messages = [ChatMessage(.system, String(repeating: "a", count: 400)), ChatMessage(.user, "Hello!")]
        #expect(TokenEstimate.of(messages, maxTokens: 64) == (100 + 4) + (2 + 4) + 64)
        #expect(TokenEstimate.of(messages, maxTokens: nil) == 110 + TokenEstimate.unsetMaxTokens)
    }
}

/// Arrival times and reported usage at a scripted server, and how many calls it refused.
private final class ServerLedger: Sendable {
    let arrivals = Mutex<[(at: ContinuousClock.Instant, tokens: Int)]>([])
    let inFlight = Atomic<Int>(0)
    let refused = Atomic<Int>(0)
    let served = Atomic<Int>(0)
}

/// The usage ModelAPIServer reports for a request: its words in, one word out.
private func reportedTokens(_ request: ServerRequest) -> Int {
    let messages = (request.json?["messages"] as? [[String: Any]]) ?? []
    return messages.compactMap { $0["content"] as? String }.map { $0.split(separator: " ").count }.reduce(0, +) + 1
}

@Suite("Rate limits against a server with a scripted limit", .serialized)
struct RateLimitTests {
    @Test("on 429s the calls in flight halve, so a server that takes two at a time is found, not hammered")
    func adaptiveAgainstServer() async throws {
        let ledger = ServerLedger()
        // Two calls at a time; a third at once is refused with 429 (no Retry-After), as a
        // provider's concurrency limit refuses it.
        let server = try ModelAPIServer(api: .openai) { _, _ in
            defer { ledger.inFlight.subtract(1, ordering: .sequentiallyConsistent) }
            guard ledger.inFlight.add(1, ordering: .sequentiallyConsistent).newValue <= 2 else {
                ledger.refused.add(1, ordering: .sequentiallyConsistent)
                return .error(status: 429, message: "Rate limit reached for requests")
            }
            Thread.sleep(forTimeInterval: 0.02)
            ledger.served.add(1, ordering: .sequentiallyConsistent)
            return .reply("E")
        }
        defer { server.stop() }
        let lowest = Atomic<Int>(.max)
        let yaml = apiExperiment(server, trials: 12, extra: "    max_retries: 30")
            .replacingOccurrences(of: "concurrency: 4", with: "concurrency: 8")
        let (scratch, _, outcome) = try await runAPI(yaml) { progress in
            if let throttle = progress.throttled["m"] {
                lowest.min(throttle.limit, ordering: .sequentiallyConsistent)
                #expect(throttle.ceiling == 8)
            }
        }
        #expect(outcome.progress.complete == 12)
        let served = ledger.served.load(ordering: .sequentiallyConsistent)
        let refused = ledger.refused.load(ordering: .sequentiallyConsistent)
        #expect(served == 12 * 7)
        // At a fixed 8 in flight against a limit of 2, most calls are refused at least once (each
        // round of 8 gets 2 through): several refusals per call served. Halving finds the limit in
        // two cuts, and the slow growth back probes it once every dozen calls or so.
        #expect(refused < served / 3, "\(refused) refusals for \(served) calls served")
        // The first round of 8 gets 6 refusals: the limit is halved at least once. How far it
        // falls after depends on how many calls wait out their backoff at a time, which depends
        // on the machine's load (alone: to 2).
        #expect(lowest.load(ordering: .sequentiallyConsistent) <= 4)
        // Every refusal is on record as a retry, as any transport failure is.
        let retried = try callRows(scratch).filter { $0["http_status"] as Int? == 429 }.count
        #expect(retried == refused)
    }

    @Test("one call in twenty refused for its rate: the run keeps at least half its concurrency on average")
    func occasionalRefusals() async throws {
        let server = try ModelAPIServer(api: .openai) { _, n in
            if n % 20 == 19 { return .error(status: 429, message: "Rate limit reached for requests") }
            Thread.sleep(forTimeInterval: 0.005)
            return .reply("E")
        }
        defer { server.stop() }
        let limits = Mutex<[Int]>([])
        let yaml = apiExperiment(server, trials: 40, extra: "    max_retries: 30")
            .replacingOccurrences(of: "concurrency: 4", with: "concurrency: 16")
        let (_, _, outcome) = try await runAPI(yaml) { progress in
            limits.withLock { $0.append(progress.throttled["m"]?.limit ?? 16) }
        }
        #expect(outcome.progress.complete == 40)
        let seen = limits.withLock { $0 }
        let mean = Double(seen.reduce(0, +)) / Double(max(1, seen.count))
        // Halving at every refusal kept such a run at 1 or 2 of 16.
        #expect(mean >= 8, "mean limit \(mean) over \(seen.count) calls")
        #expect(outcome.progress.throttled["m"]?.refusals ?? 0 > 10)
    }

    @Test("tokens_per_minute paces the calls so that the server's token limit is never exceeded")
    func tokensPerMinute() async throws {
        let ledger = ServerLedger()
        // 2,000 tokens a second (120,000 a minute), counted as the server counts usage; it refuses
        // a call when the last second had more than two seconds' worth (the client may run one
        // second ahead), plus one call's.
        let rate = 2_000
        let server = try ModelAPIServer(api: .openai) { request, _ in
            let tokens = reportedTokens(request)
            let now = ContinuousClock.now
            let over = ledger.arrivals.withLock { arrivals in
                let recent = arrivals.filter { now - $0.at < .seconds(1) }.map(\.tokens).reduce(0, +)
                arrivals.append((now, tokens))
                return recent > 2 * rate + 400
            }
            if over {
                ledger.refused.add(1, ordering: .sequentiallyConsistent)
                return .error(status: 429, message: "Rate limit reached for tokens per min (TPM)")
            }
            return .reply("E")
        }
        defer { server.stop() }
        let yaml = apiExperiment(server, trials: 4, extra: "    tokens_per_minute: \(rate * 60)\n    max_tokens: 8")
            .replacingOccurrences(of: "concurrency: 4", with: "concurrency: 8")
        let (scratch, _, outcome) = try await runAPI(yaml)
        #expect(outcome.progress.complete == 4)
        #expect(ledger.refused.load(ordering: .sequentiallyConsistent) == 0)
        let arrivals = ledger.arrivals.withLock { $0 }
        let total = arrivals.map(\.tokens).reduce(0, +)
        #expect(total > 3 * rate, "the run must need more than the burst the pace allows, or nothing is tested")
        // The pace is what kept it under: the calls are spread over at least (total - burst) / rate.
        let span = try #require(arrivals.last).at - (try #require(arrivals.first)).at
        #expect(span >= .milliseconds((total - 2 * rate) * 1_000 / rate - 200))
        #expect(try callRows(scratch).count == arrivals.count)
    }

    @Test("models are interleaved: a second model's server is busy from the start, not after the first's trials")
    func interleavedModels() async throws {
        let starts = Mutex<[String: [ContinuousClock.Instant]]>([:])
        func server(_ name: String) throws -> ModelAPIServer {
            try ModelAPIServer(api: .openai) { _, _ in
                starts.withLock { $0[name, default: []].append(.now) }
                Thread.sleep(forTimeInterval: 0.01)
                return .reply("E")
            }
        }
        let first = try server("a")
        let second = try server("b")
        defer {
            first.stop()
            second.stop()
        }
        let yaml = """
            name: two
            trials: 8
            values: [prosocial]
            goal: without
            concurrency: 4
            models:
              - name: a
                provider: openai
                model: test-model
                base_url: \(first.baseURL)
                max_concurrency: 1
              - name: b
                provider: openai
                model: test-model
                base_url: \(second.baseURL)
                max_concurrency: 1
            """
        let (scratch, runID, outcome) = try await runAPI(yaml)
        #expect(outcome.progress.complete == 16)
        let (a, b) = starts.withLock { ($0["a"] ?? [], $0["b"] ?? []) }
        #expect(a.count == 56 && b.count == 56)
        let spanA = try #require(a.last) - (try #require(a.first))
        // Dispatched model by model, b's first call waited for a's first four trials (half of a's
        // calls): concurrency 4, every slot on a. Interleaved, it comes at the start.
        #expect(try #require(b.first) - (try #require(a.first)) < spanA / 4)
        // The plan is the same: every trial of both models, with its plan ordinal.
        let ordinals = try await scratch.store.trials(runID: runID, fromOrdinal: 0, limit: 100).compactMap(\.ordinal)
        #expect(ordinals.sorted() == Array(0..<16))
    }
}
