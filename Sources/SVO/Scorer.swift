import Foundation

/// The parser's reading of one item call, as the scorer takes it: which real option it chose, if any.
public struct ItemReading: Sendable, Hashable {
    /// The slider item (1-15).
    public var item: Int
    /// 1 for the first ask, 2 and up for re-asks.
    public var attempt: Int
    /// The item's real option the reply chose; nil when the reply was not read as one option.
    public var option: OptionLetter?
    /// The number the reply gave, for an item that takes a number (the dictator game).
    public var number: Int?
    /// The shown letters' probabilities where the reply named its answer (`answer_from:
    /// logprobs` or `both`); nil for a model read from its text only.
    public var letters: LetterProbabilities?
    /// The reply quoted payoffs with its letter that are no option's (`ParsedAnswer`).
    public var mismatchedPayoffs: Bool

    public init(
        item: Int, attempt: Int, option: OptionLetter?, number: Int? = nil, letters: LetterProbabilities? = nil,
        mismatchedPayoffs: Bool = false
    ) {
        self.number = number
        self.item = item
        self.attempt = attempt
        self.option = option
        self.letters = letters
        self.mismatchedPayoffs = mismatchedPayoffs
    }

    /// The answer the reply gave; nil when it was not read as one.
    public var answer: ItemAnswer? { option.map(ItemAnswer.option) ?? number.map(ItemAnswer.number) }
}

/// Whether a scored trial has an angle (method.md §3 step 5): the one place this rule is stated.
public enum ScoredStatus: String, Sendable, Codable, CaseIterable {
    /// Every primary item was answered: the trial has an angle and everything derived from it.
    case complete
    /// A primary item stayed unanswered after every attempt: no angle, never a zero.
    case incomplete
}

/// The per-trial metrics of method.md §4.
public struct TrialScore: Sendable, Equatable {
    public var status: ScoredStatus
    public var angle: Double?
    public var category: ValueOrientation?
    public var hit: Bool?
    public var angularError: Double?
    public var valueRationality: Double?
    public var transitive: Bool?
    public var inequalityAversion: Double?
    /// Items asked but left unanswered after every attempt.
    public var invalidItems: Int
    /// Mean coins for self and for the other over the six primary answers (the S and O of §2.2),
    /// from which pooled angles are computed; nil unless all six were answered.
    public var meanOwn: Double?
    public var meanOther: Double?
    /// The probability-weighted coins for self and for the other, averaged over the six primary
    /// items, and their angle (method.md §8.7); nil unless every primary item's counted answer
    /// came with its letters' probabilities.
    public var expectedOwn: Double?
    public var expectedOther: Double?
    public var expectedAngle: Double?
    /// Mean entropy in bits of the letter distributions of the counted answers that have one.
    public var meanEntropy: Double?
    /// How the answers came (formula 3): the items answered, those answered only on a re-ask, the
    /// replies not read as one option (each re-asked), and the counted answers whose reply quoted
    /// payoffs that are no option's. What a report gives beside VR, so that a model that wins on
    /// re-asks or invents payoffs is seen as such.
    public var answeredItems = 0
    public var reaskedItems = 0
    public var unreadableReplies = 0
    public var inventedPayoffs = 0

    public init(
        status: ScoredStatus, angle: Double? = nil, category: ValueOrientation? = nil, hit: Bool? = nil,
        angularError: Double? = nil, valueRationality: Double? = nil, transitive: Bool? = nil,
        inequalityAversion: Double? = nil, invalidItems: Int = 0, meanOwn: Double? = nil, meanOther: Double? = nil
    ) {
        self.status = status
        self.angle = angle
        self.category = category
        self.hit = hit
        self.angularError = angularError
        self.valueRationality = valueRationality
        self.transitive = transitive
        self.inequalityAversion = inequalityAversion
        self.invalidItems = invalidItems
        self.meanOwn = meanOwn
        self.meanOther = meanOther
    }
}

/// Scores a trial from the parser's readings of its item calls. The runner (at each trial's
/// end) and `hvae rescore` both score through here, on the answers as stored.
public enum Scorer {
    /// The version of the scoring formulas, stored with every score; a change in any formula
    /// bumps it, and the new scores are added beside the old ones.
    /// 1: θ* as constants rounded to two decimals. 2: θ* computed from the ideal patterns.
    /// 3: a trial's counts of items answered, of those answered on a re-ask, of unreadable replies
    /// and of answers with invented payoffs (its other scores as in 2).
    public static let formulaVersion = 3

    /// Scores one trial. Per item, the first attempt that read as an option counts, exactly as
    /// the protocol takes it (it stops asking an item once a reply reads as one option); `asked`
    /// are the items the trial asked. A missing primary answer leaves the angle and everything
    /// derived from it undefined (never zero). A target trial (`Assignment.target`) is scored
    /// against its own θ*, and has no hit. Letter probabilities, where the readings have them,
    /// are those of the counted attempts, shown letters mapped to real options by the trial's
    /// `order` and `seed` (its layouts).
    public static func score(
        _ readings: [ItemReading], asked: Set<Int>, assigned: Assignment, order: OptionOrder = .original,
        seed: UInt64 = 0
    ) -> TrialScore {
        let counted = counted(readings)
        var score = score(choices: counted.compactMapValues(\.option), asked: asked, assigned: assigned)
        tally(&score, readings: readings, counted: counted)
        let distributions = counted.compactMapValues { reading in
            reading.letters?.normalised.flatMap { shown in
                SliderItem.number(reading.item).map { (shown, order.layout(of: $0, seed: seed)) }
            }
        }
        let expected = (1...6).compactMap { distributions[$0].map(Expectation.allocation) }
        if expected.count == 6 {
            let own = expected.map(\.own).reduce(0, +) / 6
            let other = expected.map(\.other).reduce(0, +) / 6
            (score.expectedOwn, score.expectedOther) = (own, other)
            score.expectedAngle = SVOAngle.angle(meanOwn: own, meanOther: other)
        }
        // Summed in item order: the same trial gives the same bits on every platform.
        let entropies = counted.sorted { $0.key < $1.key }.compactMap { $0.value.letters?.entropy }
        if !entropies.isEmpty { score.meanEntropy = entropies.reduce(0, +) / Double(entropies.count) }
        return score
    }

    /// The reading that counts per item: its first attempt that read as an answer, exactly as the
    /// protocol takes it (it stops asking an item once a reply reads as one answer).
    static func counted(_ readings: [ItemReading]) -> [Int: ItemReading] {
        var counted: [Int: ItemReading] = [:]
        for reading in readings.sorted(by: { ($0.item, $0.attempt) < ($1.item, $1.attempt) })
        where counted[reading.item] == nil && reading.answer != nil {
            counted[reading.item] = reading
        }
        return counted
    }

    /// How the answers came (formula 3): items answered, answered only on a re-ask, replies not
    /// read as an answer, and counted answers that quoted payoffs no option has.
    static func tally(_ score: inout TrialScore, readings: [ItemReading], counted: [Int: ItemReading]) {
        score.answeredItems = counted.count
        score.reaskedItems = counted.values.count { $0.attempt > 1 }
        score.unreadableReplies = readings.count { $0.answer == nil }
        score.inventedPayoffs = counted.values.count { $0.mismatchedPayoffs }
    }

    /// The probability-weighted allocation of one item (method.md §8.7).
    enum Expectation {
        static func allocation(_ entry: (shown: [Double], layout: OptionLayout)) -> (own: Double, other: Double) {
            var (own, other) = (0.0, 0.0)
            for letter in OptionLetter.allCases {
                let p = entry.shown[letter.rawValue]
                let allocation = entry.layout.item.allocation(entry.layout.realOption(shown: letter))
                own += p * Double(allocation.own)
                other += p * Double(allocation.other)
            }
            return (own, other)
        }
    }

    /// Scores the real options chosen per item.
    static func score(choices: [Int: OptionLetter], asked: Set<Int>, assigned: Assignment) -> TrialScore {
        var allocations: [Int: Allocation] = [:]
        for (number, letter) in choices {
            if let item = SliderItem.number(number) { allocations[number] = item.allocation(letter) }
        }
        let angle = SVOAngle.angle(primaryAnswers: allocations)
        var score = TrialScore(
            status: angle == nil ? .incomplete : .complete, angle: angle,
            invalidItems: asked.filter { choices[$0] == nil }.count)
        let primary = (1...6).compactMap { allocations[$0] }
        if primary.count == 6 {
            score.meanOwn = Double(primary.map(\.own).reduce(0, +)) / 6
            score.meanOther = Double(primary.map(\.other).reduce(0, +)) / 6
        }
        score.transitive = Transitivity.isTransitive(primaryAnswers: allocations)
        if let angle {
            let category = ValueOrientation.category(ofAngle: angle)
            score.category = category
            // A target has no named value to hit (method.md §8).
            score.hit = assigned.value.map { category == $0 }
            score.angularError = ValueRationality.angularError(angle: angle, assigned: assigned)
            score.valueRationality = ValueRationality.vr60(angle: angle, assigned: assigned)
            // §2.5: only prosocial trials of the full instrument have an inequality-aversion index.
            if category == .prosocial, asked.contains(where: { $0 > 6 }) {
                score.inequalityAversion = InequalityAversion.index(secondaryChoices: choices.filter { $0.key > 6 })
            }
        }
        return score
    }
}
