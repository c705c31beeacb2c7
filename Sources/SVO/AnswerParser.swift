import Foundation

/// Why a reply could not be read as one option, or `ok` when it could.
public enum AnswerStatus: String, Sendable, Codable, CaseIterable {
    case ok
    /// The reply names no option (or only an echo of the instructions, or garbage).
    case noOption = "no_option"
    /// The reply names two or more different options.
    case ambiguous
    /// The reply declines to choose.
    case refusal
    /// The reply is empty or white space.
    case empty
    /// The reply names one option but quotes with it the payoffs of another option ("I chose
    /// option E: 85, 76" where 85, 76 is B): which one it meant is unknown.
    case conflict
}

/// The parser's reading of one reply to one item.
public struct ParsedAnswer: Sendable, Hashable {
    public let status: AnswerStatus
    /// The letter the model chose, as shown to it; nil unless `status == .ok`.
    public let shownLetter: OptionLetter?
    /// The reply quoted payoffs with its letter that are no option's ("D: 98", "A: 7, 45"): the
    /// letter is read, and the answer counted, so that a report shows how often a model invents
    /// payoffs. Payoffs of another option are a `conflict` instead.
    public let mismatchedPayoffs: Bool
    /// The number the reply gave, for an item that takes one (`NumberReader`); nil otherwise.
    public let number: Int?

    public init(status: AnswerStatus, shownLetter: OptionLetter?, mismatchedPayoffs: Bool = false, number: Int? = nil) {
        self.status = status
        self.shownLetter = shownLetter
        self.mismatchedPayoffs = mismatchedPayoffs
        self.number = number
    }

    public static func number(_ n: Int) -> ParsedAnswer { ParsedAnswer(status: .ok, shownLetter: nil, number: n) }

    public static func ok(_ letter: OptionLetter, mismatchedPayoffs: Bool = false) -> ParsedAnswer {
        ParsedAnswer(status: .ok, shownLetter: letter, mismatchedPayoffs: mismatchedPayoffs)
    }
    public static func rejected(_ status: AnswerStatus) -> ParsedAnswer {
        ParsedAnswer(status: status, shownLetter: nil)
    }
}

/// Reads a model's reply to a slider item (method.md §3 step 5). It never guesses: a reply is
/// `ok` only when it names exactly one option.
///
/// Version 2, in order:
/// 1. A stated decision ("I choose F", "The answer is: E", "我选择 C") wins over any mention,
///    unless it names several options ("I choose C or D": `ambiguous`) or is negated ("I would
///    not choose A").
/// 2. A short answer: one letter alone, with brackets, quotes, "Option"/"Answer:" or its payoffs.
/// 3. A reply that declines is a `refusal`.
/// 4. Otherwise every option the reply names counts, whatever its case: letters B to H wherever
///    they stand, "A" and "I" where they are no article or pronoun ("A or B", "I is the fairest"
///    count; "A fair split", "I would" do not), letters in a list or in option syntax ("a or b",
///    "(c)", "option c", "c:" starting a line), and payoff pairs that match exactly one shown
///    option. One option is `ok`; two or more are `ambiguous`. These mentions count only in text
///    that reads as language (`isGarbage`); mostly symbols or random letters is `no_option`.
/// Letter ranges ("options A to I", "B to A to I") name no option, and sentences that echo the
/// instructions ("Answer with the letter of one option") are dropped before reading. Markup is
/// read as space (`Markup`): a tag's name is no letter, the text it encloses is text. A letter
/// whose quoted payoffs are another option's is a `conflict`; payoffs that are no option's leave
/// the letter read, marked `mismatchedPayoffs`.
public enum AnswerParser {
    /// Stored with every answer; a change in behaviour must bump it.
    /// 1: the first parser. 2: never reads a hedge, a list of options, an echo of the
    /// instructions or garbage as a choice; payoffs that contradict the letter are a conflict.
    /// 3: markup is no words (`<h1>` was read as H); payoffs that are no option's do not make a
    /// conflict ("A: 7, 45" is A, as "D: 98" was D), and are counted.
    public static let version = 3

    /// Parses `reply` against the options as they were shown (letter and payoff).
    public static func parse(_ reply: String, shown: [(letter: OptionLetter, allocation: Allocation)]) -> ParsedAnswer {
        if let letter = bareLetter(reply) { return .ok(letter) }
        let text = Markup.stripped(reply)
        // Markup and nothing else: there was a reply, and it names nothing.
        if text != reply, text.allSatisfy(\.isWhitespace) { return .rejected(.noOption) }
        return Reading(text, shown: shown).verdict
    }

    /// A reply that is one capital letter A-I and nothing else but whitespace: the commonest
    /// answer, read without tokenising. `Reading` gives the same verdict (a test checks it).
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

    /// Whether `reply` declines to choose: one of `refusalCues` occurs in it, in any case (a
    /// typographic apostrophe read as a plain one). Searched byte by byte: Foundation's string
    /// search bridges through NSString on Linux, and this runs for many replies of every rescore.
    static func isRefusal(_ reply: String) -> Bool {
        let lower = Array(reply.lowercased().utf8)
        var text: [UInt8] = []
        text.reserveCapacity(lower.count)
        var index = 0
        while index < lower.count {
            // U+2019 (E2 80 99) as "'".
            if index + 2 < lower.count, lower[index] == 0xE2, lower[index + 1] == 0x80, lower[index + 2] == 0x99 {
                text.append(UInt8(ascii: "'"))
                index += 3
            } else {
                text.append(lower[index])
                index += 1
            }
        }
        // One pass: at each byte only the cues that start with it are compared.
        guard !text.isEmpty else { return false }
        for start in 0..<text.count {
            for cue in refusalByFirstByte[Int(text[start])] where start + cue.count <= text.count {
                if text[start..<start + cue.count].elementsEqual(cue) { return true }
            }
        }
        return false
    }

    /// The refusal cues as bytes, indexed by their first byte.
    static let refusalByFirstByte: [[[UInt8]]] = {
        var table = [[[UInt8]]](repeating: [], count: 256)
        for cue in refusalBytes { table[Int(cue[0])].append(cue) }
        return table
    }()

    static let refusalBytes = refusalCues.map { Array($0.utf8) }

    static let refusalCues = [
        "i cannot", "i can't", "i can not", "i'm unable", "i am unable", "unable to",
        "i won't", "i will not", "i refuse", "i'm sorry", "i am sorry", "as an ai",
        "as a language model", "i do not have personal", "i don't have personal",
        "not comfortable", "decline to", "i'd rather not", "i would rather not", "我不能", "无法选择", "拒绝",
    ]
}

/// One reading of one reply: its tokens with echoes dropped, the options it names and how.
struct Reading {
    typealias Token = ReplyText.Token
    let shown: [(letter: OptionLetter, allocation: Allocation)]
    let reply: String
    /// The reply's tokens, and the same with sentences that echo the instructions dropped.
    let original: [Token]
    let tokens: [Token]

    init(_ reply: String, shown: [(letter: OptionLetter, allocation: Allocation)]) {
        self.reply = reply
        self.shown = shown
        original = ReplyText(reply).tokens
        tokens = Self.droppingEchoes(original)
    }

    /// A letter token: where it is and which option letter (either case).
    struct Letter {
        var index: Int
        var letter: OptionLetter
    }

    /// A pair of coin amounts, tokens `start...end`.
    struct Pair {
        var start: Int
        var end: Int
        var allocation: Allocation
    }

    var verdict: ParsedAnswer {
        func hasContent(_ tokens: [Token]) -> Bool {
            tokens.contains { if case .newline = $0.kind { false } else { true } }
        }
        guard hasContent(tokens) else { return .rejected(hasContent(original) ? .noOption : .empty) }
        let inRange = rangeLetters().union(abbreviationLetters())
        let letters = tokens.indices.compactMap { letter(at: $0) }.filter { !inRange.contains($0.index) }
        let pairs = payoffPairs()
        // Each letter's payoffs quoted right after it ("E: 85, 41", "H (81, 87)"): a pair that
        // starts within three tokens of it.
        let pairAt = Dictionary(pairs.map { ($0.start, $0) }, uniquingKeysWith: { first, _ in first })
        var attached: [Int: Pair] = [:]
        for letter in letters {
            for start in letter.index + 1...letter.index + 3 {
                if let pair = pairAt[start], isAttached(pair, to: letter.index) {
                    attached[letter.index] = pair
                    break
                }
            }
        }
        let attachedStarts = Set(attached.values.map { $0.start })
        let letterIndices = Set(letters.map { $0.index })

        // Payoffs quoted with the chosen letter: another option's make a conflict; no option's
        // leave the letter read, and are counted.
        func checked(_ option: OptionLetter) -> ParsedAnswer {
            let expected = shown.first { $0.letter == option }?.allocation
            var mismatched = false
            for letter in letters where letter.letter == option {
                if let pair = attached[letter.index] {
                    guard pair.allocation != expected else { continue }
                    if shown.contains(where: { $0.allocation == pair.allocation }) { return .rejected(.conflict) }
                    mismatched = true
                } else if let number = attachedNumber(to: letter.index), let expected,
                    number != expected.own && number != expected.other
                {
                    mismatched = true
                }
            }
            return .ok(option, mismatchedPayoffs: mismatched)
        }

        let decided = decisions(letters)
        if !decided.isEmpty {
            return decided.count == 1 ? checked(decided.first!) : .rejected(.ambiguous)
        }
        if let short = shortAnswer(letters, pairs: pairs, attached: attached) { return checked(short) }
        if AnswerParser.isRefusal(reply) { return .rejected(.refusal) }
        if isGarbage(structural: attached.count) { return .rejected(.noOption) }

        var named: Set<OptionLetter> = []
        for letter in letters where isMention(letter, among: letterIndices, attached: attached[letter.index] != nil) {
            named.insert(letter.letter)
        }
        for pair in pairs where !attachedStarts.contains(pair.start) {
            let matching = shown.filter { $0.allocation == pair.allocation }
            if matching.count == 1 { named.insert(matching[0].letter) }
        }
        switch named.count {
        case 0: return .rejected(.noOption)
        case 1: return checked(named.first!)
        default: return .rejected(.ambiguous)
        }
    }

    // MARK: Tokens

    func word(_ index: Int) -> String? {
        guard tokens.indices.contains(index), case .word(let lower, _, _, _) = tokens[index].kind else { return nil }
        return lower
    }

    func punct(_ index: Int) -> Unicode.Scalar? {
        guard tokens.indices.contains(index), case .punct(let scalar, _) = tokens[index].kind else { return nil }
        return scalar
    }

    func isLineBreakOrEnd(_ index: Int) -> Bool {
        guard tokens.indices.contains(index) else { return true }
        if case .newline = tokens[index].kind { return true }
        return false
    }

    /// The option letter a token is, if it is a single letter A-I (either case).
    func letter(at index: Int) -> Letter? {
        guard case .word(_, let original, _, 1) = tokens[index].kind,
            let option = OptionLetter(symbol: original)
        else { return nil }
        return Letter(index: index, letter: option)
    }

    // MARK: Echoes of the instructions

    /// Phrases of the item and re-ask prompts that a reply may echo; a sentence holding one is
    /// no answer ("Which option do you choose? Answer with letter B to A to I").
    static let echoes: [[String]] = [
        ["answer", "with", "the", "letter"], ["answer", "with", "letter"], ["answer", "with", "one", "letter"],
        ["answer", "with", "a", "letter"], ["which", "option", "do", "you", "choose"],
        ["which", "option", "would", "you", "choose"], ["letter", "of", "one", "option"],
        ["letter", "of", "exactly", "one", "option"], ["the", "first", "number", "is", "the", "coins"],
    ]

    static let echoStarts = Set(echoes.map { $0[0] })

    static func droppingEchoes(_ tokens: [Token]) -> [Token] {
        func isBoundary(_ token: Token) -> Bool {
            switch token.kind {
            case .newline: true
            case .punct(let scalar, _): scalar == "." || scalar == "?" || scalar == "!" || scalar == ";"
            default: false
            }
        }
        func lower(_ index: Int) -> String? {
            guard case .word(let lower, _, _, _) = tokens[index].kind else { return nil }
            return lower
        }
        // Copied only once an echo is found: most replies have none, and a long one's tokens are a
        // megabyte.
        var kept: [Token]? = nil
        var start = 0
        while start < tokens.count {
            var end = start
            while end < tokens.count, !isBoundary(tokens[end]) { end += 1 }
            // The sentence is start..<end, its terminator at end.
            var echo = false
            var index = start
            while index < end, !echo {
                if let first = lower(index), echoStarts.contains(first) {
                    echo = echoes.contains { phrase in
                        phrase[0] == first && index + phrase.count <= end
                            && phrase.indices.allSatisfy { lower(index + $0) == phrase[$0] }
                    }
                }
                index += 1
            }
            if echo, kept == nil { kept = Array(tokens[0..<start]) }
            if !echo, kept != nil { kept!.append(contentsOf: tokens[start..<min(end + 1, tokens.count)]) }
            start = end + 1
        }
        return kept ?? tokens
    }

    // MARK: Ranges and payoffs

    static let rangeWords: Set<String> = ["to", "through", "thru", "till", "until"]

    /// Letters joined into a range ("A to I", "A-I", "B to A to I"): they name no option.
    func rangeLetters() -> Set<Int> {
        var inRange: Set<Int> = []
        var index = 0
        while index < tokens.count {
            guard letter(at: index) != nil else {
                index += 1
                continue
            }
            var chain = [index]
            var next = index + 1
            while next + 1 < tokens.count, isRangeConnector(next), letter(at: next + 1) != nil {
                chain.append(next + 1)
                next += 2
            }
            if chain.count > 1 { inRange.formUnion(chain) }
            index = chain.last! + 1
        }
        return inRange
    }

    /// "e.g." and "i.e." are not options.
    func abbreviationLetters() -> Set<Int> {
        var found: Set<Int> = []
        for index in tokens.indices {
            guard let first = word(index), let second = word(index + 2), punct(index + 1) == ".",
                (first == "e" && second == "g") || (first == "i" && second == "e")
            else { continue }
            found.formUnion([index, index + 2])
        }
        return found
    }

    func isRangeConnector(_ index: Int) -> Bool {
        if let word = word(index) { return Self.rangeWords.contains(word) }
        if let scalar = punct(index) { return scalar == "-" || scalar == "~" }
        if case .cjk(let text) = tokens[index].kind { return text == "到" || text == "至" }
        return false
    }

    static let pairUnits: Set<String> = ["coin", "coins"]
    static let pairPrepositions: Set<String> = ["for", "to"]
    static let pairPersons: Set<String> = ["me", "myself", "you", "self", "yourself"]

    /// Pairs of coin amounts: "59, 96", "(59 / 96)", "72 coins for me and 91".
    func payoffPairs() -> [Pair] {
        var pairs: [Pair] = []
        var index = 0
        while index < tokens.count {
            guard case .number(let first?, _) = tokens[index].kind, first <= 999 else {
                index += 1
                continue
            }
            var next = index + 1
            if let unit = word(next), Self.pairUnits.contains(unit) { next += 1 }
            if let preposition = word(next), Self.pairPrepositions.contains(preposition),
                let person = word(next + 1), Self.pairPersons.contains(person)
            {
                next += 2
            }
            let separated: Bool
            if let scalar = punct(next) {
                separated = scalar == "," || scalar == "/" || scalar == ";"
            } else {
                separated = word(next) == "and"
            }
            if separated, tokens.indices.contains(next + 1), case .number(let second?, _) = tokens[next + 1].kind,
                second <= 999
            {
                pairs.append(Pair(start: index, end: next + 1, allocation: Allocation(own: first, other: second)))
                index = next + 2
            } else {
                index += 1
            }
        }
        return pairs
    }

    /// A lone number quoted right after the letter at `letterIndex` ("D: 98"), as a pair would be.
    func attachedNumber(to letterIndex: Int) -> Int? {
        for index in letterIndex + 1...letterIndex + 3 where tokens.indices.contains(index) {
            if case .number(let value?, _) = tokens[index].kind {
                let between = (letterIndex + 1..<index).allSatisfy { position in
                    punct(position).map { ":-=([".unicodeScalars.contains($0) } ?? false
                }
                return between ? value : nil
            }
        }
        return nil
    }

    /// Whether `pair` quotes the payoffs of the letter at `letterIndex`: it follows the letter,
    /// with at most a colon, dash, equals sign or opening bracket between.
    func isAttached(_ pair: Pair, to letterIndex: Int) -> Bool {
        guard pair.start > letterIndex, pair.start - letterIndex <= 3 else { return false }
        return (letterIndex + 1..<pair.start).allSatisfy { index in
            guard let scalar = punct(index) else { return false }
            return ":-=([".unicodeScalars.contains(scalar)
        }
    }

    // MARK: Stated decisions

    static let decisionVerbs: Set<String> = [
        "choose", "chose", "choosing", "chosen", "pick", "picked", "picking", "select", "selected", "selecting",
        "prefer", "preferred", "take", "taking",
    ]
    /// Two-word verbs: "go with", "opt for".
    static let decisionPhrases: [String: Set<String>] = [
        "go": ["with"], "going": ["with"], "went": ["with"], "opt": ["for"], "opting": ["for"], "opted": ["for"],
    ]
    static let decisionNouns: Set<String> = ["answer", "choice", "selection", "decision", "pick", "option"]
    /// Every word that can start a decision cue.
    static let cueWords = decisionVerbs.union(decisionNouns).union(decisionPhrases.keys)
    /// Words that may stand between a cue and its letter: "I choose option C", "is the letter E".
    static let fillers: Set<String> = ["option", "letter", "the", "either"]
    static let negations: Set<String> = ["not", "never", "no", "cannot"]
    static let conjunctions: Set<String> = ["or", "and", "nor", "vs", "versus"]
    static let cjkConjunctions: Set<String> = ["和", "或", "或者", "还是", "与"]

    /// The letters the reply states as its decision. Empty when it states none.
    func decisions(_ letters: [Letter]) -> Set<OptionLetter> {
        let letterAt = Dictionary(uniqueKeysWithValues: letters.map { ($0.index, $0) })
        var decided: Set<OptionLetter> = []
        for index in tokens.indices {
            guard let after = cueEnd(at: index), !isNegated(before: index) else { continue }
            var next = after
            while let word = word(next), Self.fillers.contains(word) { next += 1 }
            while let scalar = punct(next), "([\"'".unicodeScalars.contains(scalar) { next += 1 }
            guard let first = letterAt[next], acceptsDecided(first) else { continue }
            decided.insert(first.letter)
            // "I choose C or D", "my answer is A, B": every letter of the list is decided.
            var cursor = next + 1
            while true {
                while let scalar = punct(cursor), "\"')]".unicodeScalars.contains(scalar) { cursor += 1 }
                let joined =
                    (word(cursor).map(Self.conjunctions.contains) ?? false)
                    || (punct(cursor).map { ",/&".unicodeScalars.contains($0) } ?? false)
                guard joined else { break }
                var candidate = cursor + 1
                // ", or E", ", and E"
                if punct(cursor) != nil, let word = word(candidate), Self.conjunctions.contains(word) { candidate += 1 }
                while let word = word(candidate), Self.fillers.contains(word) || word == "maybe" || word == "perhaps" {
                    candidate += 1
                }
                while let scalar = punct(candidate), "([\"'".unicodeScalars.contains(scalar) { candidate += 1 }
                guard let another = letterAt[candidate], acceptsDecided(another) else { break }
                decided.insert(another.letter)
                cursor = candidate + 1
            }
        }
        return decided
    }

    /// If a decision cue starts at `index`, the index of the token after it.
    func cueEnd(at index: Int) -> Int? {
        if let word = word(index) {
            // Most words are no cue: one lookup tells, instead of three.
            guard Self.cueWords.contains(word) else { return nil }
            if Self.decisionVerbs.contains(word) {
                return punct(index + 1) == ":" ? index + 2 : index + 1
            }
            if let second = Self.decisionPhrases[word], let next = self.word(index + 1), second.contains(next) {
                return index + 2
            }
            if Self.decisionNouns.contains(word) {
                // "answer is", "choice: ", "answer would be", "answer is: E", "option = C".
                var next = index + 1
                if let scalar = punct(next), scalar == ":" || scalar == "=" || scalar == "-" { return next + 1 }
                if self.word(next) == "is" {
                    next += 1
                } else if ["would", "will"].contains(self.word(next) ?? ""), self.word(next + 1) == "be" {
                    next += 2
                } else {
                    return nil
                }
                return punct(next) == ":" ? next + 1 : next
            }
            return nil
        }
        if case .cjk(let text) = tokens[index].kind {
            let negated = text.contains("不选") || text.contains("没选") || text.contains("不会选")
            let verb = ["选择", "选", "答案是", "答案为", "选项是", "选的是"].contains { text.hasSuffix($0) }
            let noun = ["答案", "选项"].contains { text.hasSuffix($0) }
            if !negated, verb { return punct(index + 1) == ":" ? index + 2 : index + 1 }
            if !negated, noun, punct(index + 1) == ":" { return index + 2 }
        }
        return nil
    }

    /// "I would not choose A", "I wouldn't pick A", "I don't think I'd choose A": a negation in
    /// the four words before the cue, up to a comma or a "but" ("I'm not sure, but I choose B").
    func isNegated(before index: Int) -> Bool {
        var back = index - 1
        var words = 0
        while back >= 0, words < 4 {
            guard let word = word(back) else { return false }
            if Self.clauseStarts.contains(word) { return false }
            if Self.negations.contains(word) || word.hasSuffix("n't") { return true }
            words += 1
            back -= 1
        }
        return false
    }

    static let clauseStarts: Set<String> = ["but", "so", "yet", "then", "however", "instead", "therefore"]

    /// A letter after a cue is the decision unless it is the article or the pronoun ("I choose a
    /// fair split", "my answer is I think B").
    func acceptsDecided(_ letter: Letter) -> Bool { readsAsOption(letter) }

    // MARK: Short answers

    static let prefixes: Set<String> = ["option", "answer", "choice", "letter"]

    /// The letter of a reply that is a short answer: one letter, with nothing else but
    /// punctuation, a prefix word ("Option", "Answer:", "选项") and the payoffs quoted with it.
    func shortAnswer(_ letters: [Letter], pairs: [Pair], attached: [Int: Pair]) -> OptionLetter? {
        guard letters.count == 1, let only = letters.first else { return nil }
        let quoted = attached[only.index].map { Set($0.start...$0.end) } ?? []
        for (index, token) in tokens.enumerated() where index != only.index && !quoted.contains(index) {
            switch token.kind {
            case .punct(_, let noise) where !noise: continue
            case .newline: continue
            case .word(let lower, _, _, _) where Self.prefixes.contains(lower): continue
            case .cjk(let text) where text == "选项" || text == "答案": continue
            default: return nil
            }
        }
        return only.letter
    }

    // MARK: Mentions

    /// Words after which "A" or "I" is an option, not the article or the pronoun:
    /// "A or B", "I is the fairest", "A would give more".
    static let afterOption: Set<String> = [
        "or", "and", "nor", "vs", "versus", "than", "over", "is", "was", "are", "were", "seems", "looks", "gives",
        "offers", "provides", "maximises", "maximizes", "minimises", "minimizes", "has", "fits", "means", "yields",
        "keeps", "balances", "splits", "leaves", "matches", "serves", "works", "wins", "sounds", "because", "since",
    ]
    static let modals: Set<String> = ["would", "will", "could", "might", "should", "may", "can", "must"]

    /// Whether a letter token names an option, by the rules of `AnswerParser`.
    func isMention(_ letter: Letter, among letters: Set<Int>, attached: Bool) -> Bool {
        attached || isInList(letter, among: letters) || isInOptionSyntax(letter) || readsAsOption(letter)
    }

    /// B to H are no English words, so they are options wherever they stand. "A" and "I" (either
    /// case) are the article and the pronoun when a word follows them that an article or a
    /// pronoun takes ("A fair split", "I would"); before "or", "and", "is", "because" ... and
    /// before punctuation they are options ("A or B", "I is the fairest", "My pick is A.").
    func readsAsOption(_ letter: Letter) -> Bool {
        guard letter.letter == .a || letter.letter == .i, let next = word(letter.index + 1) else { return true }
        if Self.afterOption.contains(next) { return true }
        // "A would give more" is option A; "I would pick E" is the pronoun.
        return letter.letter == .a && Self.modals.contains(next)
    }

    /// "A or B", "a, b and c", "I and G": letters joined by a conjunction, comma or slash.
    func isInList(_ letter: Letter, among indices: Set<Int>) -> Bool {
        func joined(_ between: Int) -> Bool {
            if let word = word(between) { return Self.conjunctions.contains(word) }
            if let scalar = punct(between) { return scalar == "," || scalar == "/" || scalar == "&" }
            if tokens.indices.contains(between), case .cjk(let text) = tokens[between].kind {
                return Self.cjkConjunctions.contains(text)
            }
            return false
        }
        return (indices.contains(letter.index + 2) && joined(letter.index + 1))
            || (indices.contains(letter.index - 2) && joined(letter.index - 1))
    }

    /// "option c", "(c)", "'c'", and a letter starting a line before a colon or bracket ("c: 59, 96").
    func isInOptionSyntax(_ letter: Letter) -> Bool {
        let index = letter.index
        if let previous = word(index - 1), previous == "option" || previous == "options" || previous == "letter" {
            return true
        }
        if index > 0, case .cjk(let text) = tokens[index - 1].kind, text.hasSuffix("选项") { return true }
        if let open = punct(index - 1), let close = punct(index + 1),
            (open == "(" && close == ")") || (open == "[" && close == "]") || (open == "\"" && close == "\"")
                || (open == "'" && close == "'")
        {
            return true
        }
        var start = index - 1
        while let scalar = punct(start), scalar == "-" || scalar == ">" || scalar == "•" || scalar == "(" { start -= 1 }
        // isLineBreakOrEnd(-1) is true: the reply's start is a line's start.
        if isLineBreakOrEnd(start), let next = punct(index + 1), next == ":" || next == ")" { return true }
        return false
    }

    // MARK: Language

    /// Whether the reply is mostly garbage: more letters outside words (lone letters, runs of
    /// capitals or of consonants) and noise scalars (symbols, control characters, undecodable
    /// bytes) than letters in words, CJK ideographs and digits, with some noise or some
    /// letter run that is no word among them. Letters that label quoted payoffs ("B: 54, 98")
    /// count as structure, not as loose letters, and a reply of lone letters alone ("E/F",
    /// "A\nI") is judged by the options it names. Loose mentions in garbage are no answer:
    /// "G;.D.CADE/CI-H", or undecodable bytes around a lone "F".
    func isGarbage(structural: Int) -> Bool {
        var language = 0
        var loose = -structural
        var noise = 0
        var digits = 0
        var nonWords = 0
        for token in tokens {
            switch token.kind {
            case .word(_, _, let isLanguage, let count):
                if isLanguage { language += count } else { loose += count }
                if !isLanguage, count > 1 { nonWords += 1 }
            case .cjk(let text): language += text.unicodeScalars.count
            case .number(_, let length): digits += length
            case .punct(_, let isNoise): if isNoise { noise += 1 }
            case .newline: break
            }
        }
        return max(0, loose) + noise > language + digits && (noise > 0 || nonWords > 0)
    }
}
