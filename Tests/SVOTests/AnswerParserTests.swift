import Testing
@testable import SVO

/// Item 3 in its original order: A 50,100  B 54,98  C 59,96  D 63,94  E 68,93  F 72,91  G 76,89  H 81,87  I 85,85.
let itemThree = OptionOrder.original.layout(of: SliderItem.number(3)!, seed: 0).shownOptions

@Suite("Answer parser v1")
struct AnswerParserTests {
    static let accepted: [(String, String)] = [
        // Formats seen from small local models (shared/local-llm.md).
        ("A", "A"),
        ("A:", "A"),
        ("E: 85,41", "E"),
        ("The answer is: E.", "E"),
        ("D: 85,33\nThe answer is D.", "D"),
        // Plain letters with punctuation, quotes, brackets, markdown.
        ("C.", "C"),
        ("c", "C"),
        ("(C)", "C"),
        ("\"C\"", "C"),
        ("**C**", "C"),
        ("**Option C**", "C"),
        ("`G`", "G"),
        ("I", "I"),
        ("i.", "I"),
        // Prefixes and payoff pairs after the letter.
        ("Option C", "C"),
        ("option c", "C"),
        ("Option C: 59, 96", "C"),
        ("Answer: F", "F"),
        ("Answer: f", "F"),
        ("C: 59, 96", "C"),
        ("**Answer:** H: 81, 87", "H"),
        // Sentences.
        ("I choose C because it gives the other participant more while keeping a fair share for me.", "C"),
        ("I would pick E", "E"),
        ("I would pick E.", "E"),
        ("I'd go with option B.", "B"),
        ("My choice is G.", "G"),
        ("My final answer is I.", "I"),
        ("I think the best option is I.", "I"),
        ("I select option A, since it maximises the other person's coins.", "A"),
        ("Given my value system, I will choose H (81, 87).", "H"),
        ("As a prosocial person, I prefer D.", "D"),
        ("I choose C over D because C is fairer.", "C"),
        ("I would not choose A. I choose I.", "I"),
        ("I choose a fair split: E", "E"),
        ("A fair split matters to me, so my answer is e.", "E"),
        // The payoff pair alone, matching exactly one option.
        ("59, 96", "C"),
        ("(85, 85)", "I"),
        ("I take 68 coins and the other participant gets 93: 68, 93", "E"),
        ("I'll take 72 coins for me and 91 for the other.", "F"),
        // A letter alone in running text; the article and the pronoun do not count.
        ("Hmm. B seems best to me.", "B"),
        ("I think H is the right choice here.", "H"),
        ("Considering the options A to I, G balances both of us.", "G"),
        ("As an AI I have no feelings, but I choose B.", "B"),
        ("- B: 54, 98", "B"),
    ]

    @Test("a bare capital letter is read without the patterns, as the patterns read it",
          arguments: OptionLetter.allCases.flatMap { letter in ["", " ", "\n", "\t ", " \r\n"].map { (letter, $0) } })
    func bareLetterShortcut(letter: OptionLetter, padding: String) {
        let reply = padding + letter.symbol + padding.reversed()
        #expect(AnswerParser.bareLetter(reply) == letter)
        #expect(AnswerParser.readByPatterns(reply, shown: itemThree) == .ok(letter))
        #expect(AnswerParser.parse(reply, shown: itemThree) == .ok(letter))
    }

    @Test("anything more than a bare capital letter goes through the patterns",
          arguments: ["E.", "e", "EE", "E F", "J", "", "  ", "Option E", "**E**", "E\u{00A0}"])
    func noShortcut(reply: String) {
        #expect(AnswerParser.bareLetter(reply) == nil)
    }

    @Test("accepted replies", arguments: accepted)
    func acceptsReply(reply: String, letter: String) {
        #expect(AnswerParser.parse(reply, shown: itemThree) == .ok(OptionLetter(symbol: letter)!))
    }

    static let rejected: [(String, AnswerStatus)] = [
        ("", .empty),
        ("   \n ", .empty),
        ("I think a fair split is best for both of us.", .noOption),
        ("I want to be generous.", .noOption),
        ("A balanced outcome is what I value.", .noOption),
        ("42, 17", .noOption),
        ("The options range from A to I.", .noOption),
        ("Option C or option D.", .ambiguous),
        ("I choose C or D.", .ambiguous),
        ("A: 50, 100\nB: 54, 98\nC: 59, 96", .ambiguous),
        ("Either B or F would work; B fits, but F too.", .ambiguous),
        ("59, 96 or 85, 85", .ambiguous),
        ("I'm sorry, but I cannot make this choice.", .refusal),
        ("As an AI language model, I do not have personal preferences.", .refusal),
        ("I cannot choose between A and B.", .refusal),
        ("I won't take part in this.", .refusal),
    ]

    @Test("rejected replies name the reason", arguments: rejected)
    func rejectsReply(reply: String, status: AnswerStatus) {
        #expect(AnswerParser.parse(reply, shown: itemThree) == .rejected(status))
    }

    @Test("the corpus is large enough to mean something")
    func corpusSize() {
        #expect(Self.accepted.count + Self.rejected.count >= 40)
    }

    @Test("a payoff pair reads the shown letter under a shuffled order")
    func pairUnderShuffle() throws {
        let layout = OptionOrder.shuffled.layout(of: SliderItem.number(3)!, seed: 42)
        let shownAsB = layout.shownOptions[1]
        let reply = "\(shownAsB.allocation.own), \(shownAsB.allocation.other)"
        #expect(AnswerParser.parse(reply, shown: layout.shownOptions) == .ok(.b))
    }
}
