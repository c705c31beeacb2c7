import Design
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
            // Every stored instrument is registered: a database of a newer hvae (with one this one
            // lacks) is refused when opened, by its schema version.
            let instrument = Instruments.named(input.instrument) ?? SliderInstrument.primary
            let seed = UInt64(bitPattern: input.seed)
            return instrument.score(
                input.readings, form: instrument.form(seed: seed), asked: input.asked, assigned: input.assignment,
                order: input.optionOrder, seed: seed)
        }
    }
}

/// Reads an item reply into what `answers` stores: the reading of the reply (`ItemLayout.read`:
/// a letter as shown, or a number), the item's real answer behind it and its payoffs; for a model
/// that reads log probabilities, also the shown letters' probabilities (method.md §8.7). The runner
/// reads each reply through here as it arrives (and again on resume), and `hvae rescore` reads
/// stored replies through here again.
public enum ItemReply {
    public typealias Parse = @Sendable (String, [(letter: OptionLetter, allocation: Allocation)]) -> ParsedAnswer

    /// `tokens`: the reply's tokens with their log probabilities, in the provider-neutral form its
    /// provider read them into (`ModelSpec.tokens(in:)`; read only when `source` is not `text`):
    /// scoring never reads a provider's body. With `logprobs` the answer is the most probable
    /// letter at the token where the text named its answer: a reply the parser cannot read keeps
    /// the parser's verdict, and a tie between letters is `ambiguous`, and no token to read at is
    /// `no_option`.
    public static func read(
        _ reply: String, tokens: [TokenLogprob]? = nil, layout: ItemLayout, source: AnswerSource = .text,
        parserVersion: Int = AnswerParser.version, parse: Parse = { AnswerParser.parse($0, shown: $1) }
    ) -> (ParsedAnswer, AnswerRecord, LetterProbabilities?) {
        var parsed = layout.read(reply, parse: parse)
        var letters: LetterProbabilities?
        // A number answer has no letters (an experiment refuses `answer_from` other than text for it).
        if source != .text, layout.item.budget == nil {
            let read = LetterReader.read(tokens, chosen: parsed.shownLetter)
            letters = read
            if source == .logprobs, parsed.status == .ok {
                parsed =
                    read.mostProbable.map { .ok($0, mismatchedPayoffs: parsed.mismatchedPayoffs) }
                    ?? .rejected(read.status == .ok ? .ambiguous : .noOption)
                // The most probable letter may be one the item does not show (C on a ring item).
                if let letter = parsed.shownLetter, layout.realOption(shown: letter) == nil {
                    parsed = .rejected(.noOption)
                }
            }
        }
        let answer = layout.answer(parsed)
        var real: OptionLetter?
        if case .option(let letter) = answer { real = letter }
        return (
            parsed,
            AnswerRecord(
                parserVersion: parserVersion, status: parsed.status, item: layout.item.number,
                shownLetter: parsed.shownLetter, option: real, number: parsed.number,
                payoff: answer.flatMap(layout.item.payoff), mismatchedPayoffs: parsed.mismatchedPayoffs),
            letters
        )
    }
}
