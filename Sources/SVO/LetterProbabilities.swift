import Foundation

/// One generated token with its log probability and the most probable alternatives at its
/// position, as OpenAI-format servers return them (`choices[0].logprobs.content[k]`).
public struct TokenLogprob: Sendable, Hashable {
    public var token: String
    public var logprob: Double
    /// The position's `top_logprobs`: the alternatives the server reports, the token itself
    /// usually among them.
    public var alternatives: [Alternative]

    public struct Alternative: Sendable, Hashable {
        public var token: String
        public var logprob: Double

        public init(token: String, logprob: Double) {
            self.token = token
            self.logprob = logprob
        }
    }

    public init(token: String, logprob: Double, alternatives: [Alternative]) {
        self.token = token
        self.logprob = logprob
        self.alternatives = alternatives
    }
}

/// The probability the model gave each shown letter where its reply names its answer
/// (method.md §8.7). Stored per item call in `letter_probabilities`, a row per letter in
/// `option_probabilities`.
public struct LetterProbabilities: Sendable, Hashable {
    public enum Status: String, Sendable, CaseIterable {
        /// The answer's position was found and its letters' probabilities read.
        case ok
        /// No token of the reply is the letter the reading chose (or the reply was not read as
        /// one letter): there is no position to read, and nothing is stored as zero.
        case noLetter = "no_letter"
        /// The response carried no token log probabilities (the server ignored the request).
        case missing
    }

    public var status: Status
    /// The 0-based index of the answer's token in the reply; nil unless `ok`.
    public var tokenIndex: Int?
    /// The probability of each shown letter A-I at that position (nine numbers, summing to at
    /// most 1); nil unless `ok`.
    public var shown: [Double]?
    /// The probability left to every other token at that position: 1 − the sum of `shown`.
    public var outside: Double?

    public init(status: Status, tokenIndex: Int? = nil, shown: [Double]? = nil, outside: Double? = nil) {
        self.status = status
        self.tokenIndex = tokenIndex
        self.shown = shown
        self.outside = outside
    }

    /// The nine letters' probabilities normalised to sum to 1; nil unless `ok` with some mass.
    public var normalised: [Double]? {
        guard let shown else { return nil }
        let total = shown.reduce(0, +)
        return total > 0 ? shown.map { $0 / total } : nil
    }

    /// The one most probable shown letter; nil when two share the top (or there is none).
    public var mostProbable: OptionLetter? {
        guard let shown, let top = shown.max(), top > 0 else { return nil }
        let tops = shown.indices.filter { shown[$0] == top }
        return tops.count == 1 ? OptionLetter(rawValue: tops[0]) : nil
    }

    /// Shannon entropy in bits of the normalised nine (0 for a certain choice, log2 9 ≈ 3.17 for
    /// a uniform one).
    public var entropy: Double? {
        normalised.map { ps in -ps.filter { $0 > 0 }.map { $0 * log2($0) }.reduce(0, +) }
    }
}

/// Finds the answer's token in a reply's log probabilities and reads the nine letters' mass there
/// (method.md §8.7). Part of reading an item reply: a change in it bumps `AnswerParser.version`.
public enum LetterReader {
    /// `tokens`: the reply's tokens (nil when the response had none); `chosen`: the shown letter
    /// the reading of the reply's text chose, if any.
    ///
    /// The answer's position is the first token that is `chosen` alone (spaces, brackets and
    /// punctuation around it dropped, a full-width letter read as its ASCII twin), skipping an
    /// "I" that reads as the pronoun (followed by an apostrophe or a lower-case word). Without a
    /// chosen letter there is no position: the model's distribution is read only where its reply
    /// committed to an answer, never at a token that merely looks like a letter (a reply's first
    /// token "I" or "A" is mostly a word).
    public static func read(_ tokens: [TokenLogprob]?, chosen: OptionLetter?) -> LetterProbabilities {
        // An empty reply has log probabilities, of no token: nothing is missing, there is no letter.
        guard let tokens else { return LetterProbabilities(status: .missing) }
        guard let chosen else { return LetterProbabilities(status: .noLetter) }
        let position = tokens.indices.first { index in
            guard letter(tokens[index].token) == chosen else { return false }
            if chosen == .i, index + 1 < tokens.count, continuesPronoun(tokens[index + 1].token) { return false }
            return true
        }
        guard let position else { return LetterProbabilities(status: .noLetter) }
        let token = tokens[position]
        var mass = [Double](repeating: 0, count: 9)
        var seen = Set<String>()
        // Distinct tokens are distinct outcomes, so their probabilities add; the sampled token
        // counts even when the server's top list left it out.
        for alternative in token.alternatives + [TokenLogprob.Alternative(token: token.token, logprob: token.logprob)]
        where seen.insert(alternative.token).inserted {
            if let letter = letter(alternative.token), alternative.logprob.isFinite {
                mass[letter.rawValue] += exp(min(0, alternative.logprob))
            }
        }
        // Servers round log probabilities; a sum a hair above 1 is scaled back to 1.
        let total = mass.reduce(0, +)
        if total > 1 { mass = mass.map { $0 / total } }
        return LetterProbabilities(
            status: .ok, tokenIndex: position, shown: mass, outside: max(0, 1 - mass.reduce(0, +)))
    }

    /// The letter a token is, alone: "C", " C", "(C", "C)", "**C", "Ｃ"; nil for anything else.
    static func letter(_ token: String) -> OptionLetter? {
        let core = token.unicodeScalars.filter { !ignored.contains($0) }
        guard core.count == 1, let scalar = core.first else { return nil }
        switch scalar.value {
        case 0x41...0x49: return OptionLetter(rawValue: Int(scalar.value) - 0x41)
        case 0xFF21...0xFF29: return OptionLetter(rawValue: Int(scalar.value) - 0xFF21)
        default: return nil
        }
    }

    /// What may stand around a letter in its token without making it another word.
    private static let ignored: Set<Unicode.Scalar> = Set(" \t\n\r\"'`*_()[]{}<>.,:;!?-—「」（）【】：，。、".unicodeScalars)
        .union(["\u{3000}"])

    /// A token after "I" that makes it the pronoun: "'m", "’d", " would", " think".
    private static func continuesPronoun(_ token: String) -> Bool {
        let scalars = Array(token.unicodeScalars)
        guard let first = scalars.first else { return false }
        if first == "'" || first == "\u{2019}" { return true }
        guard first == " ", scalars.count > 1 else { return false }
        return CharacterSet.lowercaseLetters.contains(scalars[1])
    }
}
