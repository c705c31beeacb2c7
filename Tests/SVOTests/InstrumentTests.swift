import Foundation
import Testing

@testable import SVO

@Suite("Instruments: forms, ideal answers, angles and scores (method.md §9)")
struct InstrumentTests {
    /// The readings of a trial that answers every item of `form` as `answer` says, at the first ask.
    static func readings(_ form: InstrumentForm, _ answer: (InstrumentItem) -> ItemAnswer) -> [ItemReading] {
        form.items.map { item in
            switch answer(item) {
            case .option(let letter): ItemReading(item: item.number, attempt: 1, option: letter)
            case .number(let n): ItemReading(item: item.number, attempt: 1, option: nil, number: n)
            }
        }
    }

    static func score(
        _ instrument: any Instrument, seed: UInt64, assigned: Assignment, _ answer: (InstrumentItem) -> ItemAnswer
    ) -> TrialScore {
        let form = instrument.form(seed: seed)
        return instrument.score(
            readings(form, answer), form: form, asked: Set(form.items.map(\.number)), assigned: assigned,
            order: .original, seed: seed)
    }

    static let assignments: [Assignment] =
        ValueOrientation.allCases.map(Assignment.value) + [.target(22.5), .target(-30), .target(67.5)]

    @Test("the registry names each instrument once; slider is the default")
    func registry() {
        #expect(Instruments.names == ["slider", "slider-full", "slider-parallel", "ring", "dictator"])
        #expect(Instruments.named(Instruments.defaultName) is SliderInstrument)
        #expect(Instruments.named("likert") == nil)
    }

    @Test(
        "ideal answers score VR exactly 60 on every instrument, form and assignment",
        arguments: Instruments.names)
    func idealIsSixty(name: String) throws {
        let instrument = try #require(Instruments.named(name))
        for seed: UInt64 in [0, 1, 42, 0xDEAD_BEEF] {
            for assigned in Self.assignments {
                let score = Self.score(instrument, seed: seed, assigned: assigned) {
                    $0.idealAnswer(direction: assigned.direction)
                }
                #expect(score.status == .complete)
                #expect(score.valueRationality == 60, "\(name) \(assigned.label) seed \(seed)")
                #expect(score.angularError == 0)
            }
        }
    }

    @Test("the slider's θ* on every instrument of its items is the study's; a target's is computed as a value's")
    func idealAngles() {
        for value in ValueOrientation.allCases {
            #expect(SliderInstrument.primary.idealAngle(.value(value)) == value.idealAngle)
            #expect(ParallelSlider().idealAngle(.value(value)) == value.idealAngle)
        }
        // The ring's and the dictator's ideal angles: the values' own directions (the ring's to the
        // rounding of its points, which lie symmetrically about each value's direction).
        for value in ValueOrientation.allCases {
            #expect(abs(RingMeasure().idealAngle(.value(value)) - value.utilityDirection) < 1e-12)
        }
        #expect(DictatorGame().idealAngle(direction: 90) == 90)
        #expect(DictatorGame().idealAngle(direction: 45) == 45)
        #expect(DictatorGame().idealAngle(direction: 0) == 0)
        #expect(DictatorGame().idealAngle(direction: -45) == 0)
    }

    @Test("the slider scores as Scorer always did: the same letters give the same score, field for field")
    func sliderUnchanged() {
        let letters: [OptionLetter] = [.a, .i, .e, .c, .b, .h]
        let readings = letters.enumerated().map { ItemReading(item: $0.offset + 1, attempt: 1, option: $0.element) }
        for assigned in Self.assignments {
            let old = Scorer.score(readings, asked: Set(1...6), assigned: assigned)
            let form = SliderInstrument.primary.form(seed: 9)
            let new = SliderInstrument.primary.score(
                readings, form: form, asked: Set(1...6), assigned: assigned, order: .original, seed: 9)
            #expect(new == old)
        }
    }

    @Test("every parallel form is its own and none is the published one; its payoffs are positive")
    func parallelForms() {
        var labels: Set<String> = []
        for seed: UInt64 in 0..<500 {
            let form = ParallelSlider().form(seed: seed)
            let offsets = ParallelSlider.offsets(seed: seed)
            #expect(form.label == offsets.map(String.init).joined(separator: ","))
            #expect(offsets.allSatisfy { $0 != 0 && (-15...15).contains($0) })
            labels.insert(form.label!)
            for (item, published) in zip(form.items, SliderItem.primary) {
                #expect(item.options.allSatisfy { $0.own > 0 && $0.other > 0 })
                #expect(item.options != published.options.map(Payoff.init))
                // A diagonal shift: every option's own − other is the published one's.
                #expect(
                    zip(item.options, published.options).allSatisfy { $0.own - $0.other == Double($1.own - $1.other) })
            }
        }
        // 500 seeds, 29^6 possible forms: a repeat would mean the seed is not used.
        #expect(labels.count == 500)
    }

    @Test("the same letters give the same angle on the slider and on every parallel form")
    func parallelSameAngle() {
        let letters: [OptionLetter] = [.c, .g, .b, .i, .e, .a]
        let answers = Dictionary(
            uniqueKeysWithValues: letters.enumerated().map { ($0.offset + 1, ItemAnswer.option($0.element)) })
        let slider = SliderInstrument.primary.angle(answers, form: SliderInstrument.primary.form(seed: 0))
        for seed: UInt64 in [3, 77, 1000] {
            let form = ParallelSlider().form(seed: seed)
            #expect(ParallelSlider().angle(answers, form: form) == slider)
            // Measured on the form's own coins about the centre moved by the mean offset: the same angle.
            let offsets = ParallelSlider.offsets(seed: seed)
            let shift = Double(offsets.reduce(0, +)) / 6
            let shown = form.items.map { $0.payoff(answers[$0.number]!)! }
            let own = shown.map(\.own).reduce(0, +) / 6
            let other = shown.map(\.other).reduce(0, +) / 6
            let moved = atan2(other - 50 - shift, own - 50 - shift) * 180 / .pi
            #expect(abs(moved - slider!) < 1e-9)
        }
    }

    @Test("the ring: 24 points of radius 15 at 15° steps, each item two neighbours, A and the order drawn by seed")
    func ring() {
        #expect(RingMeasure.points.count == 24)
        #expect(RingMeasure.points[0] == Payoff(own: 15, other: 0))
        #expect(RingMeasure.points[1] == Payoff(own: 14.5, other: 3.9))
        #expect(RingMeasure.points[6] == Payoff(own: 0, other: 15))
        for point in RingMeasure.points {
            #expect(abs((point.own * point.own + point.other * point.other).squareRoot() - 15) < 0.1)
        }
        let a = RingMeasure().form(seed: 1)
        let b = RingMeasure().form(seed: 2)
        #expect(Set(a.items.map(\.number)) == Set(1...24))
        #expect(a.items.map(\.number) != b.items.map(\.number))
        for item in a.items {
            #expect(
                Set(item.options)
                    == Set([RingMeasure.points[item.number - 1], RingMeasure.points[item.number % 24]]))
        }
        // Which point is A varies: some items differ between the two forms.
        #expect(a.items.contains { item in b.item(item.number)!.options != item.options })
        #expect(RingMeasure().form(seed: 1) == a)
    }

    @Test("the dictator game cannot tell individualistic from competitive; the others tell every value apart")
    func indistinguishable() {
        #expect(DictatorGame().indistinguishable(from: .individualistic) == [.competitive])
        #expect(DictatorGame().indistinguishable(from: .competitive) == [.individualistic])
        #expect(DictatorGame().indistinguishable(from: .prosocial).isEmpty)
        for name in ["slider", "slider-full", "slider-parallel", "ring"] {
            for value in ValueOrientation.allCases {
                #expect(Instruments.named(name)!.indistinguishable(from: value).isEmpty)
            }
        }
        #expect(!Instruments.measuresVR("dictator", .value(.competitive)))
        #expect(Instruments.measuresVR("dictator", .value(.altruistic)))
        #expect(Instruments.measuresVR("dictator", .target(0)))
    }

    @Test("a dictator trial: payoffs a·(T − n) and b·n, θ = atan2(mean other, mean own)")
    func dictator() {
        let score = Self.score(DictatorGame(), seed: 0, assigned: .value(.prosocial)) { item in
            .number(item.budget!.tokens / 2)
        }
        // Half of every budget passed: own 20·1, 20·3, 30·1, 30·2, 40, 50; other 20·3, 20·1, 30·2, 30·1, 40, 50.
        #expect(score.meanOwn == 260.0 / 6)
        #expect(score.meanOther == 260.0 / 6)
        #expect(score.angle == 45)
        #expect(score.valueRationality == 60)
        let missing = DictatorGame().score(
            [ItemReading(item: 1, attempt: 1, option: nil, number: 3)], form: DictatorGame().form(seed: 0),
            asked: Set(1...6), assigned: .value(.altruistic), order: .original, seed: 0)
        #expect(missing.status == .incomplete)
        #expect(missing.angle == nil && missing.valueRationality == nil)
        #expect(missing.invalidItems == 5)
    }

    @Test("a ring trial's angular error goes the shorter way round; its VR is 60 − that")
    func ringError() {
        // Every item answered with the point nearer 180°: θ near 180, against altruistic's 90.
        let score = Self.score(RingMeasure(), seed: 5, assigned: .value(.altruistic)) { item in
            .option(OptionLetter(rawValue: IdealAnswers.best(item.exact, 180))!)
        }
        let angle = try! #require(score.angle)
        #expect(abs(abs(angle) - 180) < 1e-9)
        #expect(abs(score.angularError! - 90) < 1e-9)
        #expect(score.valueRationality == 0)
    }

    @Test("a layout shows any number of options; a letter the item does not show names none")
    func layout() {
        let item = RingMeasure().form(seed: 3).items[0]
        let layout = ItemLayout(item: item, order: .reversed, seed: 3)
        #expect(layout.shownOptions.map(\.letter) == [.a, .b])
        #expect(layout.shownOptions.map(\.payoff) == item.options.reversed())
        #expect(layout.renderedOptions.split(separator: "\n").count == 2)
        #expect(layout.read("B").shownLetter == .b)
        #expect(layout.answer(layout.read("B")) == .option(.a))
        #expect(layout.read("C").status == .noOption)
        #expect(layout.read("A or B").status == .ambiguous)
        // Decimal payoffs are not matched against quoted numbers, and never mark a letter as inventing them.
        let quoted = layout.read("Option A: \(Payoff.format(layout.shownOptions[0].payoff.own)), 1")
        #expect(quoted.status == .ok && !quoted.mismatchedPayoffs)
        let slider = ItemLayout(item: SliderInstrument.primary.form(seed: 0).items[0], order: .original, seed: 0)
        #expect(slider.renderedOptions.hasPrefix("A: 85, 85\nB: 85, 76\n"))
    }
}

@Suite("NumberReader: a whole number, never a guess")
struct NumberReaderTests {
    @Test(
        "replies read as one number",
        arguments: [
            ("12", 12), (" 12\n", 12), ("I pass 12 tokens.", 12), ("**12**", 12), ("My answer: twelve.", 12),
            ("twenty-five", 25), ("twenty five tokens", 25), ("I will pass 0 of my tokens.", 0), ("zero", 0),
            ("I pass a hundred", 100), ("<answer>40</answer>", 40), ("I pass 20. Passing 20 is fair.", 20),
            ("You have 40 tokens to divide. I pass 10.", 10), ("I would give the other participant 7 tokens.", 7),
            ("My answer is 30, since I keep nothing.", 30), ("12 tokens", 12), ("I'll pass 3.", 3),
            // What SmolLM2 wrote (second probe): decisions in the perfect and with "have to".
            ("To be fair, I've passed 12 tokens to the other participant.", 12), ("I would have to pass 8 tokens.", 8),
        ])
    func reads(reply: String, expected: Int) {
        let parsed = NumberReader.read(reply, range: 0...100)
        #expect(parsed.status == .ok, "\(reply)")
        #expect(parsed.number == expected, "\(reply)")
        #expect(parsed.shownLetter == nil)
    }

    @Test(
        "replies that give no single number in range are not ok",
        arguments: [
            ("", AnswerStatus.empty), ("   ", .empty), ("I keep 28 and pass 12.", .ambiguous),
            ("somewhere between 10 and 20", .ambiguous), ("10-20 tokens", .ambiguous), ("10 to 20", .ambiguous),
            ("Answer with one whole number from 0 to 40.", .noOption), ("I pass 12.5 tokens", .noOption),
            ("I pass 41 tokens", .noOption), ("-5", .noOption), ("I cannot choose.", .refusal),
            ("all of them", .noOption), ("<b></b>", .noOption),
            // What SmolLM2 wrote (run of 2026-12-07): list markers and calculations are no answer.
            ("3. The other person is asking for your assistance in making an answer", .noOption),
            ("What a delightful challenge!\n\n1. First and foremost, we need to calculate the", .noOption),
            (
                "To find out how many tokens you need to divide by 40 coins, you would have to multiply the number of",
                .noOption
            ),
            ("I pass 12 tokens, or maybe I pass 14.", .ambiguous), ("Dividing 40 by 3 gives 13.", .ambiguous),
            ("I have 3 tokens to divide, so how many tokens do you pass to the other participant?", .noOption),
            ("I have 30 tokens.", .noOption),
        ])
    func rejects(reply: String, status: AnswerStatus) {
        let parsed = NumberReader.read(reply, range: 0...40)
        #expect(parsed.status == status, "\(reply)")
        #expect(parsed.number == nil)
    }
}
