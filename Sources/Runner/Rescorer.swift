import Foundation
import Store
import SVO

/// Reads stored replies again with a parser version and recomputes the metrics from those
/// readings, adding rows and keeping the old ones: a parser change is evaluated without a model call.
public struct Rescorer: Sendable {
    public typealias Parse = @Sendable (String, [(letter: OptionLetter, allocation: Allocation)]) -> ParsedAnswer

    public let store: ExperimentStore
    public let parserVersion: Int
    let parse: Parse

    /// The current parser by default; tests and experiments with parsers can pass their own.
    public init(store: ExperimentStore, parserVersion: Int = AnswerParser.version,
                parse: @escaping Parse = { AnswerParser.parse($0, shown: $1) }) {
        self.store = store
        self.parserVersion = parserVersion
        self.parse = parse
    }

    /// A reply whose reading differs from the newest stored one.
    public struct Change: Sendable, Equatable {
        public var callID: Int64
        public var trialID: Int64
        public var item: Int
        public var attempt: Int
        public var reply: String
        public var before: String
        public var after: String
    }

    public struct Outcome: Sendable {
        public var callsRead: Int
        public var changes: [Change]
        public var answersAdded: Int
        public var metricsAdded: Int
        public var trialsScored: Int
    }

    /// Re-reads every item reply of the scored trials of `runIDs`. With `dryRun` nothing is written.
    public func rescore(runIDs: [Int64], dryRun: Bool) async throws -> Outcome {
        let calls = try await store.itemCalls(runIDs: runIDs)
        var changes: [Change] = []
        var answers: [(callID: Int64, answer: AnswerRow)] = []
        var readings: [Int64: [(item: Int, attempt: Int, real: OptionLetter?)]] = [:]
        var asked: [Int64: Set<Int>] = [:]
        var values: [Int64: ValueOrientation] = [:]
        var read = 0
        for call in calls {
            asked[call.trialId, default: []].insert(call.item)
            values[call.trialId] = ValueOrientation(rawValue: call.value)
            guard let reply = call.reply, let item = SliderItem.number(call.item), let order = OptionOrder(rawValue: call.optionOrder)
            else { continue }
            read += 1
            let layout = order.layout(of: item, seed: UInt64(call.trialSeed))
            let parsed = parse(reply, layout.shownOptions)
            let real = parsed.shownLetter.map(layout.realOption(shown:))
            readings[call.trialId, default: []].append((call.item, call.attempt, real))
            let after = parsed.shownLetter.map { "ok \($0.symbol)" } ?? parsed.status.rawValue
            let before = call.status.map { $0 == "ok" ? "ok \(call.shownLetter ?? "?")" : $0 } ?? "unread"
            if before != after {
                changes.append(Change(callID: call.callId, trialID: call.trialId, item: call.item, attempt: call.attempt,
                                      reply: reply, before: before, after: after))
            }
            let allocation = real.map(item.allocation)
            answers.append((call.callId, AnswerRow(parserVersion: parserVersion, status: parsed.status.rawValue, item: call.item,
                                                   shownLetter: parsed.shownLetter?.symbol, option: real?.symbol,
                                                   own: allocation?.own, other: allocation?.other)))
        }
        guard !dryRun else { return Outcome(callsRead: read, changes: changes, answersAdded: 0, metricsAdded: 0, trialsScored: 0) }

        var metrics: [Int64: [MetricValue]] = [:]
        for (trialID, items) in asked {
            guard let value = values[trialID] else { continue }
            // Per item, the first attempt that now reads as an option, as the protocol would have taken it.
            var choices: [Int: OptionLetter] = [:]
            for reading in (readings[trialID] ?? []).sorted(by: { ($0.item, $0.attempt) < ($1.item, $1.attempt) })
            where choices[reading.item] == nil {
                if let real = reading.real { choices[reading.item] = real }
            }
            let score = TrialScore(choices: choices, asked: items.sorted(), assigned: value)
            metrics[trialID] = TrialScoring.metrics(score, parserVersion: parserVersion)
        }
        let added = try await store.addRescore(answers: answers, metrics: metrics)
        return Outcome(callsRead: read, changes: changes, answersAdded: added.answers, metricsAdded: added.metrics,
                       trialsScored: metrics.count)
    }
}
