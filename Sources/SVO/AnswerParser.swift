import Foundation

/// Why a reply could not be read as one option, or `ok` when it could.
public enum AnswerStatus: String, Sendable, Codable, CaseIterable {
    case ok
    /// The reply names no option.
    case noOption = "no_option"
    /// The reply names two or more different options.
    case ambiguous
    /// The reply declines to choose.
    case refusal
    /// The reply is empty or white space.
    case empty
}

/// The parser's reading of one reply to one item.
public struct ParsedAnswer: Sendable, Hashable {
    public let status: AnswerStatus
    /// The letter the model chose, as shown to it; nil unless `status == .ok`.
    public let shownLetter: OptionLetter?

    public static func ok(_ letter: OptionLetter) -> ParsedAnswer { ParsedAnswer(status: .ok, shownLetter: letter) }
    public static func rejected(_ status: AnswerStatus) -> ParsedAnswer { ParsedAnswer(status: status, shownLetter: nil) }
}

/// Reads a model's reply to a slider item (method.md §3 step 5).
///
/// Version 1 looks for the chosen option in three tiers and uses the first tier that finds any:
/// 1. a stated decision: "The answer is E", "I would choose option C", "My choice: c.";
/// 2. the reply's layout: a lone letter ("C", "**C**", "(C)", "C."), or a line that starts with a
///    letter ("E: 85, 41", "Option C: 59, 96");
/// 3. loose mentions: a payoff pair that matches exactly one shown option ("(59, 96)"), or a
///    capital letter standing alone in running text.
/// The tier's options must all be the same one, else the reply is `ambiguous`. Lower-case
/// letters count only next to a decision word or standing alone, and a capital "I" or "A" that
/// starts a phrase ("I would", "A fair split") is read as a pronoun or article, not an answer.
/// A reply with no option is a `refusal` when it declines ("I cannot", "As an AI"), else `no_option`.
public enum AnswerParser {
    /// Stored with every answer; a change in behaviour must bump it.
    public static let version = 1

    /// Parses `reply` against the options as they were shown (letter and payoff).
    public static func parse(_ reply: String, shown: [(letter: OptionLetter, allocation: Allocation)]) -> ParsedAnswer {
        if let letter = bareLetter(reply) { return .ok(letter) }
        return readByPatterns(reply, shown: shown)
    }

    /// The three tiers, with regular expressions; `parse` skips them for a bare letter.
    static func readByPatterns(_ reply: String, shown: [(letter: OptionLetter, allocation: Allocation)]) -> ParsedAnswer {
        Patterns.pool.withPatterns { parse(reply, shown: shown, patterns: $0) }
    }

    /// A reply that is one capital letter A-I and nothing else but whitespace: the commonest
    /// answer to "Answer with the letter of one option", read here without the regular
    /// expressions. Tier 2 reads it the same way (a test checks they agree).
    static func bareLetter(_ reply: String) -> OptionLetter? {
        var letter: UInt8?
        for byte in reply.utf8 {
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "A")...UInt8(ascii: "I") where letter == nil: letter = byte
            default: return nil
            }
        }
        return letter.flatMap { OptionLetter(rawValue: Int($0 - UInt8(ascii: "A"))) }
    }

    private static func parse(_ reply: String, shown: [(letter: OptionLetter, allocation: Allocation)], patterns: Patterns) -> ParsedAnswer {
        let text = normalise(reply)
        if text.allSatisfy(\.isWhitespace) { return .rejected(.empty) }

        for tier in [statedDecisions(in:patterns:), layoutLetters(in:patterns:)] {
            let found = tier(text, patterns)
            if !found.isEmpty { return verdict(found) }
        }
        if isRefusal(text) { return .rejected(.refusal) }
        let loose = payoffMentions(in: text, shown: shown, patterns: patterns).union(standaloneCapitals(in: text, patterns: patterns))
        return loose.isEmpty ? .rejected(.noOption) : verdict(loose)
    }

    private static func verdict(_ options: Set<OptionLetter>) -> ParsedAnswer {
        options.count == 1 ? .ok(options.first!) : .rejected(.ambiguous)
    }

    /// Drops markdown emphasis and typographic quotes, which models sprinkle around letters.
    static func normalise(_ reply: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in reply.unicodeScalars {
            switch scalar {
            case "*", "_", "`", "#": continue
            case "\u{201C}", "\u{201D}": scalars.append("\"")
            case "\u{2018}", "\u{2019}": scalars.append("'")
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    // MARK: Tier 1: stated decisions

    private static func statedDecisions(in text: String, patterns: Patterns) -> Set<OptionLetter> {
        var found: Set<OptionLetter> = []
        for match in text.matches(of: patterns.decision) {
            let before = text[..<match.range.lowerBound].suffix(8).lowercased()
            if before.hasSuffix("not ") || before.hasSuffix("n't ") || before.hasSuffix("never ") { continue }
            guard acceptsLetter(match.output.first, in: text),
                  let letter = OptionLetter(symbol: String(match.output.first))
            else { continue }
            found.insert(letter)
            for character in match.output.rest where ("A"..."I").contains(character) {
                if let letter = OptionLetter(symbol: String(character)) { found.insert(letter) }
            }
        }
        return found
    }

    /// A capital letter counts unless it runs into a word ("Answer is Awesome"); a lower-case
    /// one only when no word follows it ("my answer is c."), so that the article in
    /// "I choose a fair split" is not read as option A.
    private static func acceptsLetter(_ letter: Substring, in text: String) -> Bool {
        let following = text[letter.endIndex...]
        if let next = following.first, next.isLetter || next.isNumber { return false }
        if letter.uppercased() == letter { return true }
        return !(following.drop(while: \.isWhitespace).first?.isLetter ?? false)
    }

    // MARK: Tier 2: layout

    private static func layoutLetters(in text: String, patterns: Patterns) -> Set<OptionLetter> {
        // Trimmed by hand: Foundation's trimmingCharacters bridges through NSString on Linux.
        let edge: (Character) -> Bool = { $0.isWhitespace || $0 == "." || $0 == "!" || $0 == "\"" || $0 == "'" }
        let trimmed = String(text.drop(while: edge).reversed().drop(while: edge).reversed())
        if let match = trimmed.wholeMatch(of: patterns.loneLetter), let letter = OptionLetter(symbol: String(match.output.1)) {
            return [letter]
        }
        var found: Set<OptionLetter> = []
        for line in text.split(whereSeparator: \.isNewline) {
            if let match = line.firstMatch(of: patterns.lineStart), let letter = OptionLetter(symbol: String(match.output.letter)) {
                // "I. think" never happens, but "I: 85, 85" and "A. 50, 100" do.
                found.insert(letter)
            }
        }
        return found
    }

    // MARK: Tier 3: loose mentions

    private static func payoffMentions(in text: String, shown: [(letter: OptionLetter, allocation: Allocation)], patterns: Patterns) -> Set<OptionLetter> {
        var found: Set<OptionLetter> = []
        for match in text.matches(of: patterns.payoffPair) {
            guard let own = Int(match.output.1), let other = Int(match.output.2) else { continue }
            let matching = shown.filter { $0.allocation == Allocation(own: own, other: other) }
            if matching.count == 1 { found.insert(matching[0].letter) }
        }
        return found
    }

    private static func standaloneCapitals(in text: String, patterns: Patterns) -> Set<OptionLetter> {
        // A range such as "options A to I" names no choice.
        let withoutRanges = text.replacing(patterns.letterRange, with: " ")
        var found: Set<OptionLetter> = []
        for match in withoutRanges.matches(of: patterns.capital) {
            let letter = String(match.output.letter)
            let rest = withoutRanges[match.range.upperBound...]
            if match.range.lowerBound > withoutRanges.startIndex,
               withoutRanges[withoutRanges.index(before: match.range.lowerBound)] == "'" { continue }
            // "I would", "I'm", "A fair split": a pronoun or article, not an answer.
            if rest.first == "'" { continue }
            if letter == "I" || letter == "A", rest.first == " ",
               let word = rest.dropFirst().first, word.isLetter { continue }
            if let option = OptionLetter(symbol: letter) { found.insert(option) }
        }
        return found
    }

    // MARK: Refusals

    static func isRefusal(_ text: String) -> Bool {
        let lower = text.lowercased().replacingOccurrences(of: "\u{2019}", with: "'")
        let cues = [
            "i cannot", "i can't", "i can not", "i'm unable", "i am unable", "unable to",
            "i won't", "i will not", "i refuse", "i'm sorry", "i am sorry", "as an ai",
            "as a language model", "i do not have personal", "i don't have personal",
            "not comfortable", "decline to", "i'd rather not", "i would rather not",
        ]
        return cues.contains { lower.contains($0) }
    }
}

/// The parser's regular expressions, compiled once: a regex literal is parsed at run time each
/// time it is evaluated, which made parsing the most expensive step of a call.
private struct Patterns {
    let decision = #/(?i)(?<cue>\b(?:choose|chose|choosing|pick|picked|picking|select|selected|selecting|go(?:ing)? with|opt(?:ing)? for|prefer|take)\b\s*:?|\b(?:answer|choice|selection|decision|pick|option)\b\s*(?:is|would be|will be|=|:|-)\s*:?)\s*(?:(?i)option\s+)?["'(\[]?(?<first>[A-Ia-i])(?<rest>(?:["')\]]?\s*(?:,|/|&|\bor\b|\band\b)\s*(?:(?i)option\s+)?["'(\[]?[A-I](?![A-Za-z]))*)/#
    let loneLetter = #/(?i)^(?:option\s+|answer\s*:?\s*)?[(\[]?([A-I])[)\]]?\s*[.:)]?$/#
    let lineStart = #/^\s*(?:[-•>]\s*)?(?:(?i)option\s+)?[(\[]?(?<letter>[A-I])[)\]]?\s*(?:[:.)\-–]|$)/#
    let payoffPair = #/(?i)(\d{1,3})\s*(?:coins?\s*)?(?:(?:for|to)\s+(?:me|myself|you|self)\s*)?(?:,|/|;|\band\b)\s*(\d{1,3})/#
    let capital = #/\b(?<letter>[A-I])\b/#
    let letterRange = #/\b[A-I]\s*(?:to|through|-|–)\s*[A-I]\b/#

    /// Compiled sets, each used by one parse at a time.
    static let pool = PatternPool()
}

/// Compiled pattern sets for concurrent parses: a parse takes a free set (or compiles a new
/// one) and puts it back, so parses on different threads never wait for one another. The pool
/// grows to the largest number of parses ever run at once.
// @unchecked Sendable is safe: `free` is read and written only while `lock` is held, and a set
// taken out of it is used by the one thread that took it until that thread puts it back, so no
// Regex (not Sendable) is ever used by two threads at once; the lock orders the hand-overs.
// (SVO imports nothing but Foundation, hence NSLock rather than Mutex.)
private final class PatternPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Patterns] = []

    func withPatterns<T>(_ body: (Patterns) -> T) -> T {
        lock.lock()
        let taken = free.popLast()
        lock.unlock()
        let patterns = taken ?? Patterns()
        defer {
            lock.lock()
            free.append(patterns)
            lock.unlock()
        }
        return body(patterns)
    }
}
