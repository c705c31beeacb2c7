import Foundation

/// Reads a reply to an item that takes a whole number (the dictator game: how many tokens to
/// pass) as `AnswerParser` reads letters: it never guesses. A reply is `ok` only when it gives
/// exactly one number, in the item's range, as its answer.
///
/// In order: an empty reply is `empty`, a reply that declines is a `refusal` (`AnswerParser`'s
/// cues); markup is read as space (`Markup`); sentences that echo the question ("You have 40
/// tokens to divide", "Answer with one whole number from 0 to 40") are dropped, and so are list
/// markers ("3. The other person..."); a range ("10 to 20", "10-20", "between 10 and 20") is
/// `ambiguous`. What is left is read as an answer only when it states one: a decision ("I pass 12",
/// "I will give them 12 tokens", "My answer: twelve") or the number alone ("12", "**12**", "12
/// tokens"). Decisions that name two different numbers are `ambiguous`; so is a reply without a
/// decision that mentions two ("I keep 28 and pass 12"); any other reply is `no_option` ("divide
/// by 60 coins", a calculation), and so is a number outside the range, a fraction ("12.5") or a
/// negative one. Digits and English number words ("twelve", "twenty-five", "a hundred") are read;
/// the same number said twice is one number.
public enum NumberReader {
    /// Reads `reply` for an item whose answers are `range`.
    public static func read(_ reply: String, range: ClosedRange<Int>) -> ParsedAnswer {
        if reply.allSatisfy(\.isWhitespace) { return .rejected(.empty) }
        if AnswerParser.isRefusal(reply) { return .rejected(.refusal) }
        var decided: Set<Int> = []
        var mentioned: Set<Int> = []
        var unreadable = false
        var kept: [[Token]] = []
        for sentence in sentences(Markup.stripped(reply)) where !echoes(sentence) {
            let tokens = tokenize(sentence)
            if hasRange(tokens) { return .rejected(.ambiguous) }
            guard !tokens.isEmpty else { continue }
            kept.append(tokens)
            decided.formUnion(decisions(tokens))
            for token in tokens {
                if case .number(let n) = token { mentioned.insert(n) }
                if token == .unreadable { unreadable = true }
            }
        }
        // The number alone: one sentence of one number, with "tokens" at most.
        if decided.isEmpty, kept.count == 1, let bare = bareNumber(kept[0]) { decided = [bare] }
        guard let number = decided.first else {
            return .rejected(mentioned.count > 1 ? .ambiguous : .noOption)
        }
        guard decided.count == 1 else { return .rejected(.ambiguous) }
        if unreadable { return .rejected(.noOption) }
        return range.contains(number) ? .number(number) : .rejected(.noOption)
    }

    /// Words that may stand between "I" and the verb of a decision ("I will", "I would have to",
    /// "I've"): "I have 3 tokens" is no decision, since no verb of one follows.
    static let modals: Set<String> = [
        "will", "would", "d", "ll", "ve", "have", "had", "shall", "should", "must", "could", "choose", "chose",
        "decide", "decided", "to", "am", "going", "want", "can", "therefore", "then", "so", "now",
    ]
    /// The verbs of a decision, and words that may stand between the verb and its number.
    static let verbs: Set<String> = [
        "pass", "give", "send", "transfer", "passing", "giving", "passed", "gave", "sent", "transferred",
    ]
    static let objects: Set<String> = ["the", "other", "participant", "person", "them", "him", "her", "player"]
    /// Words after which the next number is the answer ("Answer: 12", "My answer is twelve").
    static let answerWords: Set<String> = ["answer", "pass", "passed"]

    /// The numbers a sentence states as decisions: "I [modal…] pass|give|send [them…] N", and
    /// "answer [is] N" (the colon is no token).
    static func decisions(_ tokens: [Token]) -> [Int] {
        var found: [Int] = []
        func word(_ i: Int) -> String? {
            guard tokens.indices.contains(i), case .word(let w) = tokens[i] else { return nil }
            return w
        }
        for index in tokens.indices {
            guard let w = word(index) else { continue }
            var next = index + 1
            if w == "i" {
                while let m = word(next), modals.contains(m) { next += 1 }
                guard let verb = word(next), verbs.contains(verb) else { continue }
                next += 1
                while let o = word(next), objects.contains(o) { next += 1 }
            } else if w == "answer" {
                if word(next) == "is" { next += 1 }
            } else {
                continue
            }
            if tokens.indices.contains(next), case .number(let n) = tokens[next] { found.append(n) }
        }
        return found
    }

    /// The number of a sentence that is a number and nothing else ("12", "12 tokens").
    static func bareNumber(_ tokens: [Token]) -> Int? {
        guard case .number(let n) = tokens.first else { return nil }
        let rest = tokens.dropFirst()
        return rest.allSatisfy { $0 == .word("tokens") || $0 == .word("token") } ? n : nil
    }

    /// Phrases of the question that a reply may repeat; a sentence holding one is an echo.
    static let echoCues = [
        "tokens to divide", "token you keep", "token you pass", "tokens you keep is worth", "is worth",
        "whole number from", "whole number of tokens", "how many tokens do you pass", "answer with one",
        "you have ",
    ]

    static func echoes(_ sentence: String) -> Bool {
        let lower = sentence.lowercased()
        return echoCues.contains { lower.contains($0) }
    }

    /// The reply cut at sentence ends (". ", "! ", "? ", a new line), a decimal point kept, with
    /// each line's list marker ("3. ", "3) ", "- ") dropped.
    static func sentences(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        let characters = Array(withoutListMarkers(text))
        for (index, character) in characters.enumerated() {
            let next = index + 1 < characters.count ? characters[index + 1] : " "
            if character.isNewline || ("!?。！？".contains(character)) || (character == "." && !next.isNumber) {
                result.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        result.append(current)
        return result
    }

    /// `text` with the number that opens a line of a list ("3. The other...", "2) ...") taken out.
    static func withoutListMarkers(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> Substring in
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
            let after = trimmed.dropFirst(digits.count)
            guard !digits.isEmpty, let mark = after.first, mark == "." || mark == ")",
                after.dropFirst().first == " ", after.dropFirst(2).contains(where: { !$0.isWhitespace })
            else { return line }
            return after.dropFirst()
        }.joined(separator: "\n")
    }

    enum Token: Equatable {
        case number(Int)
        /// A number that is no whole non-negative count: a fraction or a negative number.
        case unreadable
        case word(String)
        case dash
    }

    /// The number words zero to nineteen.
    public static let units = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    ]
    static let tens = [
        "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    ]

    /// Words, numbers (number words joined: "twenty five", "twenty-five", "a hundred", "one
    /// hundred") and dashes between numbers.
    static func tokenize(_ sentence: String) -> [Token] {
        var raw: [Token] = []
        let scalars = Array(sentence.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if CharacterSet.decimalDigits.contains(scalar) && scalar.isASCII {
                var end = index
                while end < scalars.count, scalars[end].isASCII, CharacterSet.decimalDigits.contains(scalars[end]) {
                    end += 1
                }
                let digits = String(String.UnicodeScalarView(scalars[index..<end]))
                let negative =
                    index > 0 && scalars[index - 1] == "-" && (index < 2 || !isDigit(scalars[index - 2]))
                    && !(raw.last.map { if case .number = $0 { true } else { false } } ?? false)
                // "12.5" and "12,5" are no count of tokens; "1,000" is no answer in any range here either.
                let fraction =
                    end + 1 < scalars.count && (scalars[end] == "." || scalars[end] == ",")
                    && isDigit(scalars[end + 1])
                if fraction || negative || digits.count > 6 {
                    raw.append(.unreadable)
                    end += 1
                    while end < scalars.count, isDigit(scalars[end]) { end += 1 }
                } else {
                    raw.append(.number(Int(digits)!))
                }
                index = end
            } else if CharacterSet.letters.contains(scalar) {
                var end = index
                while end < scalars.count, CharacterSet.letters.contains(scalars[end]) { end += 1 }
                raw.append(.word(String(String.UnicodeScalarView(scalars[index..<end])).lowercased()))
                index = end
            } else {
                if scalar == "-" || scalar == "–" || scalar == "~" { raw.append(.dash) }
                index += 1
            }
        }
        return joinNumberWords(raw)
    }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool { scalar.isASCII && ("0"..."9").contains(Character(scalar)) }

    /// Number words to numbers: a unit, a ten, a ten and a unit ("twenty five", "twenty-five"),
    /// "hundred" after "a" or "one".
    static func joinNumberWords(_ tokens: [Token]) -> [Token] {
        var out: [Token] = []
        var index = 0
        func word(_ i: Int) -> String? {
            guard tokens.indices.contains(i), case .word(let w) = tokens[i] else { return nil }
            return w
        }
        while index < tokens.count {
            guard let w = word(index) else {
                out.append(tokens[index])
                index += 1
                continue
            }
            if w == "a" || w == "one", word(index + 1) == "hundred" {
                out.append(.number(100))
                index += 2
            } else if w == "hundred" {
                out.append(.number(100))
                index += 1
            } else if let ten = tens[w] {
                var next = index + 1
                if tokens.indices.contains(next), tokens[next] == .dash { next += 1 }
                if let unit = word(next).flatMap({ units.firstIndex(of: $0) }), (1...9).contains(unit) {
                    out.append(.number(ten + unit))
                    index = next + 1
                } else {
                    out.append(.number(ten))
                    index += 1
                }
            } else if let unit = units.firstIndex(of: w) {
                out.append(.number(unit))
                index += 1
            } else {
                out.append(.word(w))
                index += 1
            }
        }
        return out
    }

    /// A range of two different numbers: "10 to 20", "10-20", "from 10 to 20", "between 10 and 20".
    static func hasRange(_ tokens: [Token]) -> Bool {
        for index in tokens.indices.dropLast(2) {
            guard case .number(let a) = tokens[index], case .number(let b) = tokens[index + 2], a != b else { continue }
            switch tokens[index + 1] {
            case .dash: return true
            case .word("to"), .word("or"): return true
            case .word("and"):
                if index > 0, tokens[index - 1] == .word("between") { return true }
            default: continue
            }
        }
        return false
    }
}
