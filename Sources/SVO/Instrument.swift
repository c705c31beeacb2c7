import Foundation

/// A payoff pair: what one answer gives the one who chooses and the other person. Coins may be
/// fractional (the ring's points) or negative (the ring takes coins away).
public struct Payoff: Hashable, Sendable {
    public var own: Double
    public var other: Double

    public init(own: Double, other: Double) {
        self.own = own
        self.other = other
    }

    public init(_ allocation: Allocation) {
        self.init(own: Double(allocation.own), other: Double(allocation.other))
    }

    /// own·cos φ + other·sin φ: what a respondent of direction φ (degrees) maximises (method.md §2.4).
    public func utility(direction: Double) -> Double {
        let phi = direction * .pi / 180
        return own * cos(phi) + other * sin(phi)
    }

    /// The payoffs as whole coins, when both are whole: what a slider item shows.
    public var allocation: Allocation? {
        guard own == own.rounded(), other == other.rounded(), abs(own) < 1e9, abs(other) < 1e9 else { return nil }
        return Allocation(own: Int(own), other: Int(other))
    }

    /// A coin amount as shown and stored: whole coins without a decimal point ("85"), others with
    /// one decimal ("14.5", "-3.9").
    public static func format(_ coins: Double) -> String {
        coins == coins.rounded() ? String(Int(coins)) : String(format: "%.1f", coins)
    }
}

/// A whole-number answer's budget (the dictator game): `tokens` to divide, each kept token worth
/// `kept` coins to the one who chooses, each passed token `passed` coins to the other person.
public struct Budget: Hashable, Sendable {
    public let tokens: Int
    public let kept: Int
    public let passed: Int

    public init(tokens: Int, kept: Int, passed: Int) {
        self.tokens = tokens
        self.kept = kept
        self.passed = passed
    }

    /// The payoffs of passing `n` tokens.
    public func payoff(passing n: Int) -> Payoff {
        Payoff(own: Double(kept * (tokens - n)), other: Double(passed * n))
    }
}

/// The kind of answer an item takes.
public enum AnswerKind: Hashable, Sendable {
    /// One of `count` options, shown as the letters A, B, ...
    case option(count: Int)
    /// A whole number in the range.
    case number(ClosedRange<Int>)
}

/// An answer to an item: one of its real options, or a number.
public enum ItemAnswer: Hashable, Sendable {
    case option(OptionLetter)
    case number(Int)
}

/// One item of a trial's form: its options (or its budget), as the instrument defines it.
public struct InstrumentItem: Hashable, Sendable {
    /// The item's number, as `model_calls.item` and `answers.item` store it.
    public let number: Int
    /// The real options' payoffs as shown, option A first; empty for a number item.
    public let options: [Payoff]
    /// The points the ideal answer is judged on: the options before the shown payoffs were
    /// rounded (a slider item's line), else the options themselves.
    public let exact: [Payoff]
    /// The budget of a number item; nil for an item of options.
    public let budget: Budget?

    public init(number: Int, options: [Payoff], exact: [Payoff]? = nil) {
        self.number = number
        self.options = options
        self.exact = exact ?? options
        self.budget = nil
    }

    public init(number: Int, budget: Budget) {
        self.number = number
        self.options = []
        self.exact = []
        self.budget = budget
    }

    /// What answer the item takes.
    public var kind: AnswerKind {
        budget.map { .number(0...$0.tokens) } ?? .option(count: options.count)
    }

    /// The payoffs of an answer; nil for an answer the item does not take.
    public func payoff(_ answer: ItemAnswer) -> Payoff? {
        switch (answer, budget) {
        case (.option(let letter), nil): options.indices.contains(letter.rawValue) ? options[letter.rawValue] : nil
        case (.number(let n), let budget?): (0...budget.tokens).contains(n) ? budget.payoff(passing: n) : nil
        default: nil
        }
    }

    /// The answer of a respondent who maximises the utility of direction `direction` (degrees):
    /// the best exact point; ties go to the answer nearest to an equal split, then to the first.
    public func idealAnswer(direction: Double) -> ItemAnswer {
        if let budget {
            return .number(IdealAnswers.best((0...budget.tokens).map { budget.payoff(passing: $0) }, direction))
        }
        return .option(OptionLetter(rawValue: IdealAnswers.best(exact, direction))!)
    }
}

/// A trial's form of an instrument: its items in the order asked, and how it differs from the
/// published form, where it does.
public struct InstrumentForm: Hashable, Sendable {
    public let items: [InstrumentItem]
    /// What `trials.form` stores: nil when the trial's items are the instrument's own, else what
    /// makes them this trial's (a parallel form's offsets).
    public let label: String?

    public init(items: [InstrumentItem], label: String? = nil) {
        self.items = items
        self.label = label
    }

    /// The item numbered `number`.
    public func item(_ number: Int) -> InstrumentItem? { items.first { $0.number == number } }
}

/// The wording of an instrument's own steps (its task, items and reminders), for instruments that
/// do not use the experiment's slider templates. Placeholders as `PromptTemplates`: {{item_count}},
/// {{ordinal}}, {{number}}, {{options}}, {{goal}}, and for a number item {{tokens}}, {{kept}}, {{passed}}.
public struct InstrumentWording: Sendable, Hashable {
    public let task: String
    public let item: String
    public let reask: String

    public init(task: String, item: String, reask: String) {
        self.task = task
        self.item = item
        self.reask = reask
    }
}

/// A measure of social value: what a trial is asked, how a reply to an item is read, what the
/// ideal answers are and how a trial is scored (method.md §2, §9). Every instrument gives an angle
/// θ in payoff space and is scored against the angle θ* of its ideal answers, so that value
/// rationality, VR = max(0, 60 − |θ − θ*|), means the same on each. The runner, the scorer,
/// `hvae rescore`, the reference agents, the analysis and the viewer work through this
/// interface; an instrument is one type conforming to it, registered in `Instruments.all`.
public protocol Instrument: Sendable {
    /// Its name in experiment files (`instruments:`) and in `trials.instrument`.
    var name: String { get }
    /// One line for `--help` and docs.
    var summary: String { get }
    /// The measure its angle is on: trials of one measure may be pooled, trials of different ones
    /// never are. Its own name, but for `slider-full`, whose angle is the slider's (items 1-6).
    var measure: String { get }
    /// The trial's form, derived from its seed alone, so that a replay or a rescore derives it again.
    func form(seed: UInt64) -> InstrumentForm
    /// The wording of its task and items; nil for the slider, which the experiment's templates word.
    var wording: InstrumentWording? { get }
    /// The angle θ of a set of answers on `form` (degrees); nil unless every item the angle needs
    /// is answered.
    func angle(_ answers: [Int: ItemAnswer], form: InstrumentForm) -> Double?
    /// The mean coins (own, other) the pooled angle of a group is computed from, and the angle of
    /// such means (`pooledAngle`).
    func means(_ answers: [Int: ItemAnswer], form: InstrumentForm) -> (own: Double, other: Double)?
    /// The angle of mean coins: a trial's angle, and a group's from its trials' means averaged.
    func pooledAngle(meanOwn: Double, meanOther: Double) -> Double
    /// θ*: the angle of the ideal answers of direction φ (degrees), computed as a trial's angle
    /// is, so that a trial of ideal answers has |θ − θ*| = 0 exactly. The same on every form of an
    /// instrument (a form moves or reorders items, never the ideal angle).
    func idealAngle(direction: Double) -> Double
    /// Scores a trial from the readings of its item calls (`Scorer.score` for the slider).
    func score(
        _ readings: [ItemReading], form: InstrumentForm, asked: Set<Int>, assigned: Assignment, order: OptionOrder,
        seed: UInt64
    ) -> TrialScore
}

extension Instrument {
    /// θ* from the ideal answers on the form of seed 0.
    public func idealAngle(direction: Double) -> Double {
        let form = form(seed: 0)
        let answers = Dictionary(
            uniqueKeysWithValues: form.items.map { ($0.number, $0.idealAnswer(direction: direction)) })
        return angle(answers, form: form)!
    }

    /// θ* of an assignment on this instrument.
    public func idealAngle(_ assigned: Assignment) -> Double { idealAngle(direction: assigned.direction) }

    /// The named values whose ideal answers on this instrument are those of `value` too (itself
    /// excluded): values the instrument cannot tell apart, whose VR it cannot give. Empty on the
    /// slider and the ring; individualistic and competitive on the dictator game (both keep every token).
    public func indistinguishable(from value: ValueOrientation) -> [ValueOrientation] {
        let form = form(seed: 0)
        func pattern(_ v: ValueOrientation) -> [ItemAnswer] {
            form.items.map { $0.idealAnswer(direction: v.utilityDirection) }
        }
        let own = pattern(value)
        return ValueOrientation.allCases.filter { $0 != value && pattern($0) == own }
    }

    /// A group's angle from its trials' mean coins; `SVOAngle` centred at (0, 0).
    public func pooledAngle(meanOwn: Double, meanOther: Double) -> Double {
        atan2(meanOther, meanOwn) * 180 / .pi
    }

    public var wording: InstrumentWording? { nil }

    public var measure: String { name }
}

/// The registered instruments: the one place an instrument is added.
public enum Instruments {
    /// Every instrument, by name; `slider` (items 1-6 of the SVO Slider Measure) is the default.
    public static let all: [any Instrument] = [
        SliderInstrument.primary, SliderInstrument.full, ParallelSlider(), RingMeasure(), DictatorGame(),
    ]

    /// The default instrument's name.
    public static let defaultName = "slider"

    /// Per instrument, per value, the values it cannot tell that value from
    /// (`Instrument.indistinguishable(from:)`), computed once; values it tells apart are absent.
    public static let indistinguishable: [String: [ValueOrientation: [ValueOrientation]]] = Dictionary(
        uniqueKeysWithValues: all.map { instrument in
            (
                instrument.name,
                Dictionary(
                    uniqueKeysWithValues: ValueOrientation.allCases.compactMap { value in
                        let others = instrument.indistinguishable(from: value)
                        return others.isEmpty ? nil : (value, others)
                    })
            )
        })

    /// Whether a trial of instrument `name` told `assignment` has a VR that measures something: not
    /// when the instrument cannot tell the value from another (the dictator game's individualistic
    /// and competitive). Reports, comparisons and the viewer leave such VRs out, and say why.
    public static func measuresVR(_ name: String, _ assignment: Assignment) -> Bool {
        guard let value = assignment.value else { return true }
        return indistinguishable[name]?[value] == nil
    }

    /// The measure of the instrument called `name` (`Instrument.measure`); the name itself for one
    /// hvae does not know.
    public static func measure(_ name: String) -> String { named(name)?.measure ?? name }

    /// The instrument called `name`; nil for a name hvae does not know.
    public static func named(_ name: String) -> (any Instrument)? { all.first { $0.name == name } }

    /// The names, in registration order.
    public static var names: [String] { all.map(\.name) }
}

/// An instrument whose angle is that of its answers' mean payoffs about (0, 0) (the ring and the
/// dictator game): θ = atan2(mean other, mean own), nil unless every item is answered, and VR
/// against its own θ*.
public protocol MeanPayoffMeasure: Instrument {}

extension MeanPayoffMeasure {
    public func angle(_ answers: [Int: ItemAnswer], form: InstrumentForm) -> Double? {
        means(answers, form: form).map { pooledAngle(meanOwn: $0.own, meanOther: $0.other) }
    }

    public func means(_ answers: [Int: ItemAnswer], form: InstrumentForm) -> (own: Double, other: Double)? {
        AngleScoring.means(answers, form: form)
    }

    public func score(
        _ readings: [ItemReading], form: InstrumentForm, asked: Set<Int>, assigned: Assignment, order: OptionOrder,
        seed: UInt64
    ) -> TrialScore {
        AngleScoring.score(readings, instrument: self, form: form, asked: asked, assigned: assigned)
    }
}

/// Scoring shared by the mean-payoff instruments: per item the first reading that names an answer
/// counts, a trial with every item answered has an angle, and VR is taken against the
/// instrument's own θ*.
enum AngleScoring {
    static func score(
        _ readings: [ItemReading], instrument: some Instrument, form: InstrumentForm, asked: Set<Int>,
        assigned: Assignment
    ) -> TrialScore {
        let counted = Scorer.counted(readings)
        let answers = counted.compactMapValues(\.answer)
        let angle = instrument.angle(answers, form: form)
        var score = TrialScore(
            status: angle == nil ? .incomplete : .complete, angle: angle,
            invalidItems: asked.filter { answers[$0] == nil }.count)
        if let means = instrument.means(answers, form: form) { (score.meanOwn, score.meanOther) = means }
        if let angle {
            let category = ValueOrientation.category(ofAngle: angle)
            let error = ValueRationality.circularError(angle: angle, ideal: instrument.idealAngle(assigned))
            score.category = category
            score.hit = assigned.value.map { category == $0 }
            score.angularError = error
            score.valueRationality = ValueRationality.vr60(angularError: error)
        }
        Scorer.tally(&score, readings: readings, counted: counted)
        return score
    }

    /// The means of the answered items' payoffs; nil unless every item of the form is answered.
    static func means(_ answers: [Int: ItemAnswer], form: InstrumentForm) -> (own: Double, other: Double)? {
        // Summed in item-number order, whatever order the form asks them in: the same answers give
        // the same bits on every form and every platform.
        let payoffs = form.items.sorted { $0.number < $1.number }.compactMap { item in
            answers[item.number].flatMap(item.payoff)
        }
        guard payoffs.count == form.items.count, !payoffs.isEmpty else { return nil }
        let n = Double(payoffs.count)
        return (payoffs.map(\.own).reduce(0, +) / n, payoffs.map(\.other).reduce(0, +) / n)
    }
}
