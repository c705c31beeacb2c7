import Foundation
import SVO
import Store

/// The scoring stage (as inspect_ai's scorer): a trial's stored answers in, its stored scores
/// out. `hvae run` scores each trial through here when the trial ends, and `hvae rescore` scores
/// stored trials through here again; there is no other path from answers to scores.
public struct TrialScorer: Sendable {
    public let store: ExperimentStore
    /// The answers scored: this parser version's (or the newest below it, per call).
    public let parserVersion: Int

    public init(store: ExperimentStore, parserVersion: Int = AnswerParser.version) {
        self.store = store
        self.parserVersion = parserVersion
    }

    /// Scores `trialIDs` from their stored answers and stores the scores; `settingStatus` makes
    /// each trial complete or incomplete as its scores say (the end of a trial in a run).
    @discardableResult
    public func score(_ trialIDs: [Int64], settingStatus: Bool) async throws -> [Int64: ScoredStatus] {
        try await store.scoreTrials(
            trialIDs, parserVersion: parserVersion, formulaVersion: Scorer.formulaVersion,
            settingStatus: settingStatus
        ) { input in
            Scorer.score(input.readings, asked: input.asked, assigned: input.assignment)
        }
    }
}

/// Reads an item reply into what `answers` stores: the parser's verdict on the letters as shown,
/// and the item's real option behind the letter. The runner reads each reply through here as it
/// arrives, and `hvae rescore` reads stored replies through here again.
public enum ItemReply {
    public typealias Parse = @Sendable (String, [(letter: OptionLetter, allocation: Allocation)]) -> ParsedAnswer

    public static func read(
        _ reply: String, layout: OptionLayout, parserVersion: Int = AnswerParser.version,
        parse: Parse = { AnswerParser.parse($0, shown: $1) }
    ) -> (ParsedAnswer, AnswerRecord) {
        let parsed = parse(reply, layout.shownOptions)
        let real = parsed.shownLetter.map(layout.realOption(shown:))
        return (
            parsed,
            AnswerRecord(
                parserVersion: parserVersion, status: parsed.status, item: layout.item.number,
                shownLetter: parsed.shownLetter, option: real, allocation: real.map(layout.item.allocation))
        )
    }
}
