import Design
import Foundation
import SVO
import Store

/// Reads stored replies again with a parser version and scores the trials from those readings,
/// adding rows and keeping the old ones: a parser change is evaluated without a model call.
/// The trials are read a page at a time, so memory stays flat however many there are.
public struct Rescorer: Sendable {
    public let store: ExperimentStore
    public let parserVersion: Int
    let parse: ItemReply.Parse

    /// The current parser by default; tests and experiments with parsers can pass their own.
    public init(
        store: ExperimentStore, parserVersion: Int = AnswerParser.version,
        parse: @escaping ItemReply.Parse = { AnswerParser.parse($0, shown: $1) }
    ) {
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
        public var callsRead = 0
        /// How many replies read differently from their newest stored reading.
        public var changeCount = 0
        /// The first `Rescorer.changesKept` of them.
        public var changes: [Change] = []
        public var answersAdded = 0
        public var trialsScored = 0
    }

    /// Changes kept for listing; the count goes on past them.
    public static let changesKept = 10_000
    static let trialsPerPage = 500

    /// Re-reads every item reply of the scored trials of `runIDs`. With `dryRun` nothing is written.
    public func rescore(runIDs: [Int64], dryRun: Bool) async throws -> Outcome {
        var outcome = Outcome()
        var after: Int64 = 0
        let scorer = TrialScorer(store: store, parserVersion: parserVersion)
        // Where each model's answers are read from, as its run's experiment says: the rescore reads
        // them as the run did.
        var models: [Int64: [String: ModelSpec]] = [:]
        for runID in runIDs {
            let run = try await store.run(runID)
            let experiment = try? JSONDecoder().decode(Experiment.self, from: Data(run.experimentJSON.utf8))
            for model in experiment?.models ?? [] { models[runID, default: [:]][model.name] = model }
        }
        let bodiesOf = Set(
            models.values.flatMap { $0.values.filter { $0.provider.api?.readsLogprobs == true }.map(\.name) })
        while true {
            let page = try await store.itemCalls(
                runIDs: runIDs, afterTrial: after, limit: Self.trialsPerPage, bodiesOf: bodiesOf)
            guard let last = page.trialIDs.last else { break }
            after = last
            var answers: [(callID: Int64, answer: AnswerRecord, letters: LetterProbabilities?)] = []
            // The calls come trial by trial: each trial's form is derived once, from its seed.
            var form: (trialID: Int64, form: InstrumentForm)?
            for call in page.calls {
                guard let reply = call.reply, let instrument = Instruments.named(call.instrument) else { continue }
                if form?.trialID != call.trialID {
                    form = (call.trialID, instrument.form(seed: UInt64(bitPattern: call.trialSeed)))
                }
                guard let item = form?.form.item(call.item) else { continue }
                outcome.callsRead += 1
                let layout = ItemLayout(item: item, order: call.optionOrder, seed: UInt64(bitPattern: call.trialSeed))
                let model = models[call.runID]?[call.model]
                let (parsed, answer, letters) = ItemReply.read(
                    reply, tokens: model?.tokens(in: call.rawResponse), layout: layout,
                    source: model?.provider.api?.answerFrom ?? .text, parserVersion: parserVersion, parse: parse)
                let before =
                    call.status.map {
                        $0 == .ok
                            ? "ok \(call.shownLetter?.symbol ?? call.number.map(String.init) ?? "?")" : $0.rawValue
                    } ?? "unread"
                let now =
                    parsed.status == .ok
                    ? "ok \(parsed.shownLetter?.symbol ?? parsed.number.map(String.init) ?? "?")"
                    : parsed.status.rawValue
                if before != now {
                    outcome.changeCount += 1
                    if outcome.changes.count < Self.changesKept {
                        outcome.changes.append(
                            Change(
                                callID: call.callID, trialID: call.trialID, item: call.item,
                                attempt: call.attempt, reply: reply, before: before, after: now))
                    }
                }
                answers.append((call.callID, answer, letters))
            }
            guard !dryRun else { continue }
            outcome.answersAdded += try await store.addAnswers(answers)
            outcome.trialsScored += try await scorer.score(page.trialIDs, settingStatus: false).count
        }
        return outcome
    }
}
