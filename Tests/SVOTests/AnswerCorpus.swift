import Testing

@testable import SVO

/// Item 3 in its original order: A 50,100  B 54,98  C 59,96  D 63,94  E 68,93  F 72,91  G 76,89  H 81,87  I 85,85.
let itemThree = OptionOrder.original.layout(of: SliderItem.number(3)!, seed: 0).shownOptions

/// What a careful person reads in a reply: the one option it chose, or that it names no single one.
enum HumanReading: Equatable {
    case option(String)
    case noSingleOption
}

/// One reply of the corpus, with the human reading and the parser's expected verdict (on item 3).
struct CorpusEntry: CustomTestStringConvertible {
    let reply: String
    let human: HumanReading
    let parser: ParsedAnswer
    let group: String

    var testDescription: String { "\(group): \(reply.debugDescription)" }
}

/// The parser's corpus: realistic replies (the formats small local models give, shared/local-llm.md;
/// replies seen from SmolLM2 through llama.cpp), hedges and lists of options, garbage, echoes of
/// the instructions, conflicts and Chinese replies. Labelled with what a person reads in each,
/// so that the false-acceptance and false-rejection rates in docs/method.md are measured here.
enum AnswerCorpus {
    static func ok(_ reply: String, _ letter: String, _ group: String = "realistic") -> CorpusEntry {
        CorpusEntry(reply: reply, human: .option(letter), parser: .ok(OptionLetter(symbol: letter)!), group: group)
    }

    static func none(_ reply: String, _ status: AnswerStatus, _ group: String) -> CorpusEntry {
        CorpusEntry(reply: reply, human: .noSingleOption, parser: .rejected(status), group: group)
    }

    /// A letter read with payoffs quoted beside it that are no option's: the letter is the answer,
    /// marked as one with invented payoffs.
    static func invented(_ reply: String, _ letter: String) -> CorpusEntry {
        CorpusEntry(
            reply: reply, human: .option(letter), parser: .ok(OptionLetter(symbol: letter)!, mismatchedPayoffs: true),
            group: "invented payoffs")
    }

    /// A person reads one option; the parser, on purpose, does not guess it (a re-ask follows).
    static func declined(_ reply: String, _ letter: String, _ status: AnswerStatus) -> CorpusEntry {
        CorpusEntry(
            reply: reply, human: .option(letter), parser: .rejected(status), group: "read by a person, declined")
    }

    static let realistic: [CorpusEntry] = [
        // Formats seen from small local models (shared/local-llm.md), with the payoffs they quote.
        ok("A", "A"), ok("A:", "A"), ok("E: 68,93", "E"), ok("The answer is: E.", "E"),
        ok("D: 63,94\nThe answer is D.", "D"),
        // Plain letters with punctuation, quotes, brackets, markdown.
        ok("C.", "C"), ok("c", "C"), ok("(C)", "C"), ok("\"C\"", "C"), ok("**C**", "C"), ok("**Option C**", "C"),
        ok("`G`", "G"), ok("I", "I"), ok("i.", "I"), ok("  H  \n", "H"), ok("[B]", "B"), ok("'F'", "F"),
        // Prefixes and payoff pairs after the letter.
        ok("Option C", "C"), ok("option c", "C"), ok("Option C: 59, 96", "C"), ok("Answer: F", "F"),
        ok("Answer: f", "F"),
        ok("C: 59, 96", "C"), ok("**Answer:** H: 81, 87", "H"), ok("- B: 54, 98", "B"), ok("H (81, 87)", "H"),
        // Sentences.
        ok("I choose C because it gives the other participant more while keeping a fair share for me.", "C"),
        ok("I would pick E", "E"), ok("I would pick E.", "E"), ok("I'd go with option B.", "B"),
        ok("My choice is G.", "G"),
        ok("My final answer is I.", "I"), ok("I think the best option is I.", "I"),
        ok("I select option A, since it maximises the other person's coins.", "A"),
        ok("Given my value system, I will choose H (81, 87).", "H"), ok("As a prosocial person, I prefer D.", "D"),
        ok("I choose C over D because C is fairer.", "C"), ok("I would not choose A. I choose I.", "I"),
        ok("I choose a fair split: E", "E"), ok("A fair split matters to me, so my answer is e.", "E"),
        ok("I choose F, though G is close.", "F"), ok("My answer is E, but B is also good.", "E"),
        ok("I'm not sure, but I choose B.", "B"), ok("Which option do you choose? I choose B.", "B"),
        ok("Final answer: **C**", "C"), ok("I choose: E", "E"), ok("My pick: B", "B"),
        ok("My answer: E (68 coins for me, 93 for the other)", "E"),
        ok("A: 50, 100\nB: 54, 98\nC: 59, 96\nI choose B.", "B"),
        // The payoff pair alone, matching exactly one option.
        ok("59, 96", "C"), ok("(85, 85)", "I"), ok("I take 68 coins and the other participant gets 93: 68, 93", "E"),
        ok("I'll take 72 coins for me and 91 for the other.", "F"),
        // A letter alone in running text; the article and the pronoun do not count.
        ok("Hmm. B seems best to me.", "B"), ok("I think H is the right choice here.", "H"),
        ok("Considering the options A to I, G balances both of us.", "G"),
        ok("As an AI I have no feelings, but I choose B.", "B"), ok("A is the most generous option.", "A"),
        ok("I is the fairest split for both of us.", "I"), ok("For me, A would give the other person the most.", "A"),
        // Chinese replies and full-width letters and punctuation.
        ok("我选择 C", "C", "chinese"), ok("选项C", "C", "chinese"), ok("我选C。", "C", "chinese"), ok("答案：Ｄ", "D", "chinese"),
        ok("Ｂ", "B", "chinese"), ok("我的选择是E，因为它最公平。", "E", "chinese"), ok("答案是G", "G", "chinese"),
        ok("我认为H最好", "H", "chinese"), ok("选项Ｆ：72，91", "F", "chinese"),
    ]

    static let realisticRejected: [CorpusEntry] = [
        none("", .empty, "empty"), none("   \n ", .empty, "empty"), none("**", .empty, "empty"),
        none("I think a fair split is best for both of us.", .noOption, "no option"),
        none("I want to be generous.", .noOption, "no option"),
        none("A balanced outcome is what I value.", .noOption, "no option"),
        none("42, 17", .noOption, "no option"), none("The options range from A to I.", .noOption, "no option"),
        none("I'm sorry, but I cannot make this choice.", .refusal, "refusal"),
        none("As an AI language model, I do not have personal preferences.", .refusal, "refusal"),
        none("I cannot choose between A and B.", .refusal, "refusal"),
        none("I won't take part in this.", .refusal, "refusal"),
        none("我不能做这个选择。", .refusal, "refusal"),
    ]

    /// Replies that name two or more different options: never one choice.
    static let hedged: [CorpusEntry] = [
        // Seen in the fault tests of the trust issue, each once read as a choice.
        none("Either A or B would be fine.", .ambiguous, "hedge"),
        none("The answer could be I or it could be A.", .ambiguous, "hedge"),
        none("Options E, A are both good.", .ambiguous, "hedge"), none("D: 85, 85 or B: 50, 100", .ambiguous, "hedge"),
        none("A fair split is A or D.", .ambiguous, "hedge"), none("I and G", .ambiguous, "hedge"),
        // Seen on SmolLM2: several letters in one reply.
        none("A: C, 85", .ambiguous, "several letters"), none("Option D: \"A\"", .ambiguous, "several letters"),
        none("I, B\nD: 87, 19", .ambiguous, "several letters"),
        // More of the same kinds.
        none("Option C or option D.", .ambiguous, "hedge"), none("I choose C or D.", .ambiguous, "hedge"),
        none("A: 50, 100\nB: 54, 98\nC: 59, 96", .ambiguous, "hedge"),
        none("Either B or F would work; B fits, but F too.", .ambiguous, "hedge"),
        none("59, 96 or 85, 85", .ambiguous, "hedge"), none("B or C", .ambiguous, "hedge"),
        none("b or c", .ambiguous, "hedge"),
        none("a or B", .ambiguous, "hedge"), none("E/F", .ambiguous, "hedge"), none("G, H", .ambiguous, "hedge"),
        none("Maybe A. Maybe I.", .ambiguous, "hedge"), none("I'm torn between C and E.", .ambiguous, "hedge"),
        none("My answer is A or B.", .ambiguous, "hedge"), none("I would pick either D or E.", .ambiguous, "hedge"),
        none("C seems fair, but H is better for me.", .ambiguous, "hedge"),
        none("I like B and F equally.", .ambiguous, "hedge"), none("Either option A or option I.", .ambiguous, "hedge"),
        none("E (68, 93) or F (72, 91)", .ambiguous, "hedge"), none("A\nI", .ambiguous, "hedge"),
        none("H is good. G is good too.", .ambiguous, "hedge"),
        none("It is a toss-up between A and I.", .ambiguous, "hedge"),
        none("I would choose A. Actually, I choose B.", .ambiguous, "hedge"),
        none("Options: A, C, E.", .ambiguous, "hedge"),
        none("我在C和D之间犹豫。", .ambiguous, "hedge"), none("B还是C？", .ambiguous, "hedge"),
        none("The best ones are D and E.", .ambiguous, "hedge"), none("D, then E, then F.", .ambiguous, "hedge"),
        none("A or I, both maximise something.", .ambiguous, "hedge"), none("50, 100 or 54, 98?", .ambiguous, "hedge"),
        none("Answer: B/C", .ambiguous, "hedge"), none("I'd say G, maybe H.", .ambiguous, "hedge"),
    ]

    /// Text that is mostly symbols, control characters or random letters: no answer, even when
    /// it happens to hold one letter.
    static let garbage: [CorpusEntry] = [
        none("G;.D.CADE/CI-H", .noOption, "garbage"),
        none("\u{1}\u{7}\u{1B}F\u{2}\u{7F}\u{FFFD}\u{FFFD}", .noOption, "garbage"),
        none("\u{FFFD}\u{FFFD}x9#F\u{2}@@\u{FFFD}", .noOption, "garbage"), none("QX.ZK;B;WRT", .noOption, "garbage"),
        none("$$%^ F &&@@ ##", .noOption, "garbage"), none("~~~ ||| E ||| ~~~", .noOption, "garbage"),
        none("XKCD BFG HTML C", .noOption, "garbage"), none("@@@@@@@@@@ D", .noOption, "garbage"),
        none("\u{0}\u{0}\u{0}A\u{0}\u{0}", .noOption, "garbage"), none("<<<>>> H <<<>>>", .noOption, "garbage"),
        none("VVV B VVV WWW", .noOption, "garbage"), none("|\\|/|\\ C /|\\|/", .noOption, "garbage"),
    ]

    /// Echoes of the prompt are no answer.
    static let echoes: [CorpusEntry] = [
        none("Which option do you choose? Answer with letter B to A to I", .noOption, "echo"),
        none("Answer with the letter of one option.", .noOption, "echo"),
        none(
            "Please answer the third choice question with the letter of exactly one option, A to I.", .noOption,
            """
            echo
            """),
        none("Which option do you choose? Answer with the letter of one option.", .noOption, "echo"),
        none(
            """
            In each option, the first number is the coins for you and the second number is the coins for the other \
            participant.
            """,
            .noOption, "echo"),
    ]

    /// A letter whose quoted payoffs belong to another option: which one it meant is unknown.
    static let conflicts: [CorpusEntry] = [
        none("I chose option E: 54, 98", .conflict, "conflict"), none("B (85, 85)", .conflict, "conflict"),
        none("My answer is H: 50, 100.", .conflict, "conflict"), none("D: 68, 93", .conflict, "conflict"),
    ]

    /// A letter with payoffs that are no option's (seen on SmolLM2, 47 times in 261 replies): the
    /// numbers point nowhere, the letter names the option.
    static let inventedPayoffs: [CorpusEntry] = [
        invented("E: 85,41", "E"), invented("D: 85,33\nThe answer is D.", "D"), invented("A: 7, 45", "A"),
        invented("D: 98", "D"), invented("I will pick option D: 98", "D"), invented("My answer is G (12, 3).", "G"),
        ok("D: 63", "D", "invented payoffs"), ok("D: 94", "D", "invented payoffs"),
    ]

    /// Replies in markup: tag names and attributes are no letters, the text inside is text.
    static let markup: [CorpusEntry] = [
        ok("<b>C</b>", "C", "markup"), ok("<p>I choose C.</p>", "C", "markup"), ok("```\nC\n```", "C", "markup"),
        ok("```text\nE\n```", "E", "markup"), ok("<em>G</em>", "G", "markup"), ok("<h1>F</h1>", "F", "markup"),
        ok("I choose <strong>B</strong>.", "B", "markup"), ok("<dd>E</dd>", "E", "markup"),
        ok(#"<a href="https://example.com/i">source</a> My answer is D."#, "D", "markup"),
        ok("<!-- A or B? --> E", "E", "markup"), ok("<answer>H</answer>", "H", "markup"),
        ok("<br>I pick I.<br/>", "I", "markup"), ok("E <i>because it is fair</i>", "E", "markup"),
        none(#"</td></tr></table><h1 style="color:red">INJECTED</h1>"#, .noOption, "markup"),
        none("<b></b>", .noOption, "markup"), none("<br>", .noOption, "markup"),
        none(#"<img src="a.png" alt="i">"#, .noOption, "markup"), none("<i>fairness</i>", .noOption, "markup"),
        none(##"<a href="#">link</a>"##, .noOption, "markup"),
        none("<h1>Hello</h1><p>a fair split</p>", .noOption, "markup"),
    ]

    /// A person reads one option here, but the reply gives the parser no safe way to tell.
    static let readByPeople: [CorpusEntry] = [
        declined("B SEEMS BEST TO ME", "B", .noOption),
        declined("I don't think I'd choose A; B it is.", "B", .ambiguous),
        declined("Not A, not B, but C.", "C", .ambiguous),
        declined("Definitely not A or B. C.", "C", .ambiguous),
    ]

    static var all: [CorpusEntry] {
        realistic + realisticRejected + hedged + garbage + echoes + conflicts + inventedPayoffs + markup + readByPeople
    }
}
