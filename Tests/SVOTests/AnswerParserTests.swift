import Foundation
import Testing

@testable import SVO

@Suite("Answer parser v3")
struct AnswerParserTests {
    @Test("every reply of the corpus reads as expected", arguments: AnswerCorpus.all)
    func corpus(entry: CorpusEntry) {
        #expect(AnswerParser.parse(entry.reply, shown: itemThree) == entry.parser)
    }

    @Test(
        "a bare capital letter is read without tokenising, as the full reading reads it",
        arguments: OptionLetter.allCases.flatMap { letter in ["", " ", "\n", "\t ", " \r\n"].map { (letter, $0) } })
    func bareLetterShortcut(letter: OptionLetter, padding: String) {
        let reply = padding + letter.symbol + padding.reversed()
        #expect(AnswerParser.bareLetter(reply) == letter)
        #expect(Reading(reply, shown: itemThree).verdict == .ok(letter))
    }

    @Test(
        "anything more than a bare capital letter goes through the full reading",
        arguments: ["E.", "e", "EE", "E F", "J", "", "  ", "Option E", "**E**", "E\u{00A0}"])
    func noShortcut(reply: String) {
        #expect(AnswerParser.bareLetter(reply) == nil)
    }

    /// Templates that name two options, `{1}` and `{2}` (their payoffs `{p1}`, `{p2}`).
    static let twoOptionTemplates = [
        "{1} or {2}", "Either {1} or {2} would be fine.", "I think {1} or {2}.", "{1}, {2}",
        "{1} and {2} are both good.",
        "Options {1}, {2} are both good.", "The answer could be {1} or it could be {2}.", "I choose {1} or {2}.",
        "My answer is {1} or {2}.", "{1}: {p1} or {2}: {p2}", "{1}\n{2}", "Maybe {1}. Maybe {2}.",
        "{1} seems fair, but {2} is better for me.", "Either option {1} or option {2}.",
        "I'm torn between {1} and {2}.",
        "{p1} or {p2}", "{1} ({p1}) or {2} ({p2})", "我在{1}和{2}之间犹豫", "A fair split is {1} or {2}.", "{1}/{2}",
        "**{1}** or **{2}**", "Answer: {1} or {2}", "I'd go with {1}, or {2}.", "{1}? {2}?", "- {1}: {p1}\n- {2}: {p2}",
        "Option {1} is good. Option {2} is good too.", "{1} is what I would pick, though {2} is what I prefer.",
    ]

    @Test("a reply that names two different options is never read as one, whatever the template, letters and case")
    func twoOptionsNeverOK() {
        var rng = SplitMix64(seed: 20_261_201)
        var checked = 0
        for _ in 0..<3_000 {
            let template = Self.twoOptionTemplates[Int(rng.next() % UInt64(Self.twoOptionTemplates.count))]
            let first = OptionLetter(rawValue: Int(rng.next() % 9))!
            var second = OptionLetter(rawValue: Int(rng.next() % 9))!
            while second == first { second = OptionLetter(rawValue: Int(rng.next() % 9))! }
            let order = OptionOrder.allCases[Int(rng.next() % 3)]
            let layout = order.layout(of: SliderItem.number(Int(rng.next() % 15) + 1)!, seed: rng.next())
            func symbol(_ letter: OptionLetter) -> String {
                rng.next() % 2 == 0 ? letter.symbol : letter.symbol.lowercased()
            }
            func payoff(_ letter: OptionLetter) -> String {
                let allocation = layout.shownOptions[letter.rawValue].allocation
                return "\(allocation.own), \(allocation.other)"
            }
            let reply = template.replacingOccurrences(of: "{p1}", with: payoff(first))
                .replacingOccurrences(of: "{p2}", with: payoff(second))
                .replacingOccurrences(of: "{1}", with: symbol(first)).replacingOccurrences(
                    of: "{2}", with: symbol(second))
            let verdict = AnswerParser.parse(reply, shown: layout.shownOptions)
            #expect(
                verdict.status != .ok, "\(reply.debugDescription) was read as \(verdict.shownLetter?.symbol ?? "?")")
            checked += 1
        }
        #expect(checked == 3_000)
    }

    @Test("a stated decision wins over other options mentioned, in either order")
    func decisionWins() {
        for (reply, letter) in [
            ("I choose F, though G is close.", OptionLetter.f), ("G is close, but I choose F.", .f),
            ("B and C are fine; my answer is C.", .c), ("My answer is C; B and D are fine too.", .c),
        ] {
            #expect(AnswerParser.parse(reply, shown: itemThree) == .ok(letter), "\(reply)")
        }
    }

    @Test("a payoff pair reads the shown letter under a shuffled order")
    func pairUnderShuffle() throws {
        let layout = OptionOrder.shuffled.layout(of: SliderItem.number(3)!, seed: 42)
        let shownAsB = layout.shownOptions[1]
        let reply = "\(shownAsB.allocation.own), \(shownAsB.allocation.other)"
        #expect(AnswerParser.parse(reply, shown: layout.shownOptions) == .ok(.b))
        // The letter with the payoffs it is shown with is ok; with the payoffs of the original order, a conflict.
        #expect(AnswerParser.parse("B: \(reply)", shown: layout.shownOptions) == .ok(.b))
        let original = itemThree[1].allocation
        if original != shownAsB.allocation {
            #expect(
                AnswerParser.parse("B: \(original.own), \(original.other)", shown: layout.shownOptions)
                    == .rejected(.conflict))
        }
    }

    @Test("a long reply is read whole: a decision at the end of 100 KB of prose, and a hedge hidden in it")
    func longReply() {
        let prose = String(
            repeating: "Thinking about fairness and what the other participant receives matters to me. ", count: 1_300)
        #expect(prose.utf8.count > 100_000)
        #expect(AnswerParser.parse(prose + "I choose D.", shown: itemThree) == .ok(.d))
        #expect(AnswerParser.parse(prose + "Maybe D. " + prose + "Maybe E.", shown: itemThree) == .rejected(.ambiguous))
        #expect(AnswerParser.parse(prose, shown: itemThree) == .rejected(.noOption))
    }

    /// The rates docs/method.md reports, measured on the corpus: a reply a person reads as no single
    /// option (or as another option) but the parser accepts is a false acceptance; a reply a person
    /// reads as one option that the parser rejects is a false rejection.
    @Test("false acceptance is zero on the corpus; both rates are the ones docs/method.md states")
    func rates() throws {
        var falseAccepted = 0
        var falseRejected = 0
        var readAsOne = 0
        for entry in AnswerCorpus.all {
            let verdict = AnswerParser.parse(entry.reply, shown: itemThree)
            switch entry.human {
            case .option(let letter):
                readAsOne += 1
                if verdict.status != .ok {
                    falseRejected += 1
                } else if verdict.shownLetter?.symbol != letter {
                    falseAccepted += 1
                }
            case .noSingleOption:
                if verdict.status == .ok { falseAccepted += 1 }
            }
        }
        #expect(falseAccepted == 0)
        let total = AnswerCorpus.all.count
        let method = try readRepositoryFile("docs/method.md")
        let statement =
            "parser v3 on its corpus of \(total) replies: false acceptance 0 of \(total - readAsOne) "
                + """
                replies that name no single option; false rejection \(falseRejected) of \(readAsOne) replies that name \
                one
                """
        #expect(method.contains(statement), "docs/method.md should say: \(statement)")
    }
}
