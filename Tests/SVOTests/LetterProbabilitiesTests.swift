import Foundation
import Testing

@testable import SVO

@Suite("Letter probabilities: where the reply names its answer, and what the model gave each letter")
struct LetterProbabilitiesTests {
    /// A reply's tokens, each certain, with `letters` as the alternatives at `index`.
    func tokens(_ texts: [String], at index: Int, _ letters: [(String, Double)]) -> [TokenLogprob] {
        texts.enumerated().map { position, text in
            guard position == index else {
                return TokenLogprob(token: text, logprob: 0, alternatives: [.init(token: text, logprob: 0)])
            }
            let chosen = letters.first {
                $0.0.trimmingCharacters(in: .whitespaces) == text.trimmingCharacters(in: .whitespaces)
            }
            return TokenLogprob(
                token: text, logprob: log(chosen?.1 ?? 1),
                alternatives: letters.map { .init(token: $0.0, logprob: log($0.1)) })
        }
    }

    @Test("a letter alone in its token: spaces, brackets, markup and full-width forms, but not words or lower case")
    func lettersAlone() {
        for text in ["C", " C", "(C", "C)", "**C", " C.", "Ｃ", "「C」", "\u{3000}C"] {
            #expect(LetterReader.letter(text) == .c, "\(text)")
        }
        for text in ["Cat", "c", "CD", " J", "", " ", "1", "选项C"] {
            #expect(LetterReader.letter(text) == nil, "\(text)")
        }
        #expect(LetterReader.letter("I") == .i)
        #expect(LetterReader.letter(" A") == .a)
    }

    @Test("the probabilities are read at the first token that is the chosen letter, and add over its spellings")
    func readsAtTheAnswer() throws {
        let reply = tokens(
            ["A", " is", " fair", ",", " I", " choose", " C", "."], at: 6,
            [(" C", 0.5), (" B", 0.2), ("C", 0.1), (" the", 0.1), (" D", 0.05)])
        let read = LetterReader.read(reply, chosen: .c)
        #expect(read.status == .ok)
        #expect(read.tokenIndex == 6)
        let shown = try #require(read.shown)
        #expect(abs(shown[OptionLetter.c.rawValue] - 0.6) < 1e-12)
        #expect(abs(shown[OptionLetter.b.rawValue] - 0.2) < 1e-12)
        #expect(abs(shown[OptionLetter.d.rawValue] - 0.05) < 1e-12)
        #expect(shown[OptionLetter.a.rawValue] == 0)
        #expect(abs(try #require(read.outside) - 0.15) < 1e-12)
        #expect(read.mostProbable == .c)
        // The first A (a word here) is not the answer's position: the reading chose C.
        #expect(LetterReader.read(reply, chosen: .a).tokenIndex == 0)
    }

    @Test("an I that is the pronoun is skipped; the letter I where it is the answer is read")
    func pronounI() {
        let reply = tokens(["I", " would", " pick", " I", "."], at: 3, [(" I", 0.7), (" H", 0.3)])
        let read = LetterReader.read(reply, chosen: .i)
        #expect(read.tokenIndex == 3)
        #expect(read.mostProbable == .i)
        let contracted = tokens(["I", "'m", " going", " with", " I"], at: 4, [(" I", 0.9)])
        #expect(LetterReader.read(contracted, chosen: .i).tokenIndex == 4)
        // "I." as a whole answer is the letter.
        #expect(LetterReader.read(tokens(["I", "."], at: 0, [("I", 0.8)]), chosen: .i).tokenIndex == 0)
    }

    @Test("the sampled token counts when the top list leaves it out; a sum above 1 from rounding is scaled to 1")
    func sampledAndRounding() throws {
        let outsideTop = [
            TokenLogprob(token: " G", logprob: log(0.01), alternatives: [.init(token: " A", logprob: log(0.9))])
        ]
        let read = LetterReader.read(outsideTop, chosen: .g)
        let shown = try #require(read.shown)
        #expect(abs(shown[OptionLetter.g.rawValue] - 0.01) < 1e-12)
        #expect(abs(shown[OptionLetter.a.rawValue] - 0.9) < 1e-12)
        let rounded = [
            TokenLogprob(
                token: "A", logprob: -0.0001,
                alternatives: [.init(token: "A", logprob: -0.0001), .init(token: " A", logprob: -0.5)])
        ]
        let scaled = LetterReader.read(rounded, chosen: .a)
        #expect(abs(try #require(scaled.shown).reduce(0, +) - 1) < 1e-12)
        #expect(scaled.outside == 0)
    }

    @Test("no tokens is missing; no chosen letter, or none standing alone, is no_letter: never zeros")
    func nothingToRead() {
        #expect(LetterReader.read(nil, chosen: .c) == LetterProbabilities(status: .missing))
        // An empty reply's tokens are none: it has no letter, and nothing is missing.
        #expect(LetterReader.read([], chosen: nil) == LetterProbabilities(status: .noLetter))
        let reply = tokens(["Option", "C", "."], at: 1, [("C", 1)])
        #expect(LetterReader.read(reply, chosen: nil) == LetterProbabilities(status: .noLetter))
        #expect(LetterReader.read(reply, chosen: .d) == LetterProbabilities(status: .noLetter))
        let glued = [TokenLogprob(token: "optionC", logprob: 0, alternatives: [])]
        #expect(LetterReader.read(glued, chosen: .c).status == .noLetter)
        #expect(LetterProbabilities(status: .noLetter).entropy == nil)
        #expect(LetterProbabilities(status: .noLetter).mostProbable == nil)
    }

    @Test("normalised over the nine, entropy in bits, and a tie has no most probable letter")
    func derived() throws {
        let uniform = LetterProbabilities(
            status: .ok, tokenIndex: 0, shown: Array(repeating: 0.1, count: 9), outside: 0.1)
        #expect(abs(try #require(uniform.entropy) - log2(9)) < 1e-12)
        #expect(uniform.mostProbable == nil)
        #expect(abs(try #require(uniform.normalised).reduce(0, +) - 1) < 1e-12)
        var certain = Array(repeating: 0.0, count: 9)
        certain[4] = 0.5
        let one = LetterProbabilities(status: .ok, tokenIndex: 2, shown: certain, outside: 0.5)
        #expect(one.entropy == 0)
        #expect(one.mostProbable == .e)
        #expect(try #require(one.normalised)[4] == 1)
    }

    @Test("the expected angle: certain distributions give the chosen angle; mixed ones the weighted means, by layout")
    func expectedAngle() throws {
        let items = SliderItem.primary
        func certain(_ letter: OptionLetter) -> LetterProbabilities {
            var shown = Array(repeating: 0.0, count: 9)
            shown[letter.rawValue] = 0.9
            return LetterProbabilities(status: .ok, tokenIndex: 0, shown: shown, outside: 0.1)
        }
        // Each item answered with its shown letter E, certain of it, under the reversed order.
        let order = OptionOrder.reversed
        let readings = items.map { ItemReading(item: $0.number, attempt: 1, option: .e, letters: certain(.e)) }
        let score = Scorer.score(readings, asked: Set(1...6), assigned: .value(.prosocial), order: order, seed: 7)
        #expect(abs(try #require(score.expectedAngle) - (try #require(score.angle))) < 1e-9)
        #expect(score.meanEntropy == 0)

        // Item 1 split 3:1 between shown A and shown I (reversed: real I and real A), the others certain.
        var mixed = readings
        var split = Array(repeating: 0.0, count: 9)
        split[0] = 0.6
        split[8] = 0.2
        mixed[0].letters = LetterProbabilities(status: .ok, tokenIndex: 0, shown: split, outside: 0.2)
        let mixedScore = Scorer.score(mixed, asked: Set(1...6), assigned: .value(.prosocial), order: order, seed: 7)
        let first = items[0]
        let half = (
            own: 0.75 * Double(first.allocation(.i).own) + 0.25 * Double(first.allocation(.a).own),
            other: 0.75 * Double(first.allocation(.i).other) + 0.25 * Double(first.allocation(.a).other)
        )
        let rest = items.dropFirst().map { $0.allocation(.e) }
        let own = (half.own + Double(rest.map(\.own).reduce(0, +))) / 6
        let other = (half.other + Double(rest.map(\.other).reduce(0, +))) / 6
        #expect(abs(try #require(mixedScore.expectedOwn) - own) < 1e-9)
        #expect(abs(try #require(mixedScore.expectedOther) - other) < 1e-9)
        #expect(
            abs(try #require(mixedScore.expectedAngle) - SVOAngle.angle(meanOwn: own, meanOther: other)) < 1e-9)
        // H(0.75, 0.25) for the split item, zero for five.
        let bits = -(0.75 * log2(0.75) + 0.25 * log2(0.25))
        #expect(abs(try #require(mixedScore.meanEntropy) - bits / 6) < 1e-12)

        // A primary item whose counted answer has no probabilities leaves the expected angle undefined.
        var gap = readings
        gap[2].letters = LetterProbabilities(status: .noLetter)
        let gapScore = Scorer.score(gap, asked: Set(1...6), assigned: .value(.prosocial), order: order, seed: 7)
        #expect(gapScore.expectedAngle == nil)
        #expect(gapScore.angle != nil)
        // The probabilities of the counted attempt count, not those of an unread one before it.
        var reasked = readings
        reasked[1].attempt = 2
        reasked.append(ItemReading(item: 2, attempt: 1, option: nil, letters: LetterProbabilities(status: .noLetter)))
        #expect(
            Scorer.score(reasked, asked: Set(1...6), assigned: .value(.prosocial), order: order, seed: 7)
                .expectedAngle == score.expectedAngle)
        // Text-only readings have none of it.
        let text = items.map { ItemReading(item: $0.number, attempt: 1, option: .e) }
        let textScore = Scorer.score(text, asked: Set(1...6), assigned: .value(.prosocial))
        #expect(textScore.expectedAngle == nil && textScore.meanEntropy == nil)
    }
}
