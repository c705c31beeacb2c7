import Design
import Domain
import Foundation
import SVO
import Store
import Synchronization

/// A built-in simulated respondent: no language model, a known answer rule. Reference agents
/// answer through the same chat interface as real models: they read the options from the
/// rendered prompt and reply in text that the same parser reads, so a run on them tests the
/// whole pipeline and gives known metrics.
public struct ReferenceAgent: ChatProvider {
    public let spec: ReferenceAgentSpec

    public init(spec: ReferenceAgentSpec) { self.spec = spec }

    /// Reported as the model id of every call, so no one mistakes these for model output.
    public var modelID: String { "hvae-reference/\(spec.agent.rawValue)" }

    public func complete(_ request: ChatRequest) async throws -> ChatResponse {
        var rng = SplitMix64(seed: SplitMix64.mix(UInt64(request.context.trialSeed), UInt64(request.context.callIndex)))
        let text: String
        let pursued = pursuedAssignment(request.context.assignment)
        let chinese = request.context.language.hasPrefix("zh")
        let tag = chinese ? "（参考代理 \(spec.agent.rawValue)）" : "(reference agent \(spec.agent.rawValue)) "
        switch request.context.step {
        case .value:
            text = tag + (chinese ? Self.describeInChinese(pursued) : Self.describe(pursued))
        case .goal:
            text =
                tag
                + (chinese
                    ? "我的目标是在每道题中选择最符合我的\(Self.nameInChinese(pursued))的分配。"
                    : "My goal is to choose, in every question, the split that best serves my \(Self.name(pursued)).")
        case .item(let number) where !(Instruments.named(request.context.key.instrument) is SliderInstrument):
            text = answer(item: number, context: request.context, rng: &rng) ?? tag + "I do not know this question."
        case .item:
            guard let shown = Self.latestOptions(in: request.messages),
                let item = SliderItem.matching(options: shown.map(\.allocation))
            else {
                text = tag + (chinese ? "我没有看到从A到I的九个选项。" : "I see no list of nine options A to I to choose from.")
                break
            }
            let letter = choose(item: item, shown: shown, assignment: request.context.assignment, rng: &rng)
            let allocation = shown[letter.rawValue].allocation
            text =
                chinese
                ? replyInChinese(letter: letter, allocation: allocation, rng: &rng)
                : reply(letter: letter, allocation: allocation, rng: &rng)
        }
        return ChatResponse(text: text, providerModelID: modelID, finishReason: "stop")
    }

    /// What this agent pursues when told `assigned`: the stubborn agent its own value, whatever it is told.
    private func pursuedAssignment(_ assigned: Assignment) -> Assignment {
        spec.agent == .stubborn ? .value(spec.value ?? .prosocial) : assigned
    }

    /// Its step-1 reply: a value's definition, or the direction it maximises.
    private static func describe(_ assignment: Assignment) -> String {
        switch assignment {
        case .value(let value): value.definition
        case .target(let phi):
            "I maximise cos(\(Assignment.format(phi))°) times my coins plus sin(\(Assignment.format(phi))°) "
                + "times theirs."
        }
    }

    private static func name(_ assignment: Assignment) -> String {
        switch assignment {
        case .value(let value): "\(value.rawValue) values"
        case .target(let phi): "weighting of coins (φ = \(Assignment.format(phi))°)"
        }
    }

    /// The shown letter this agent picks.
    func choose(
        item: SliderItem, shown: [(letter: OptionLetter, allocation: Allocation)], assignment: Assignment,
        rng: inout SplitMix64
    ) -> OptionLetter {
        let real = shown.map { entry in OptionLetter.allCases.first { item.allocation($0) == entry.allocation }! }
        let direction = pursuedAssignment(assignment).direction
        switch spec.agent {
        case .fixed:
            return OptionLetter(symbol: spec.letter ?? "A") ?? .a
        case .random:
            return OptionLetter(rawValue: Int(rng.next() % 9))!
        case .ideal, .stubborn:
            let best = IdealAnswers.option(on: item, direction: direction)
            return OptionLetter(rawValue: real.firstIndex(of: best)!)!
        case .noisy:
            let utilities = real.map { IdealAnswers.utility($0, on: item, direction: direction) }
            return OptionLetter(rawValue: sample(utilities, rng: &rng))!
        }
    }

    /// The `noisy` agent's draw: an index with probability softmax(utility / temperature).
    private func sample(_ utilities: [Double], rng: inout SplitMix64) -> Int {
        let temperature = spec.temperature ?? 5
        let top = utilities.max()!
        let weights = utilities.map { exp(($0 - top) / temperature) }
        var target = rng.nextUnit() * weights.reduce(0, +)
        for (index, weight) in weights.enumerated() {
            target -= weight
            if target < 0 { return index }
        }
        return weights.count - 1
    }

    /// Its reply to an item of an instrument other than the published slider, which it knows from
    /// the trial's instrument and seed (as the runner derives the form) rather than from the prompt:
    /// a parallel form's items are no published item, and the other instruments are worded in prose.
    /// `fixed` answers the first option, or passes 0 tokens.
    func answer(item number: Int, context: TrialContext, rng: inout SplitMix64) -> String? {
        let seed = UInt64(bitPattern: context.trialSeed)
        guard let item = Instruments.named(context.key.instrument)?.form(seed: seed).item(number) else { return nil }
        let layout = ItemLayout(item: item, order: context.key.optionOrder, seed: seed)
        let direction = pursuedAssignment(context.assignment).direction
        // The answers it can give, as shown: letters in shown order, or the numbers 0...T.
        let points: [Payoff] =
            item.budget.map { budget in (0...budget.tokens).map { budget.payoff(passing: $0) } }
            ?? layout.realOptionAtShownPosition.map { item.exact[$0.rawValue] }
        let index: Int
        switch spec.agent {
        case .fixed:
            let letter = item.budget == nil ? OptionLetter(symbol: spec.letter ?? "A") : nil
            index = letter.map(\.rawValue).flatMap { points.indices.contains($0) ? $0 : nil } ?? 0
        case .random:
            index = Int(rng.next() % UInt64(points.count))
        case .ideal, .stubborn:
            index = IdealAnswers.best(points, direction)
        case .noisy:
            index = sample(points.map { $0.utility(direction: direction) }, rng: &rng)
        }
        if item.budget != nil { return numberReply(index, rng: &rng) }
        let letter = OptionLetter(rawValue: index)!
        let payoff = layout.shownOptions[index].payoff
        guard spec.variedReplies else { return letter.symbol }
        let l = letter.symbol
        switch rng.next() % 5 {
        case 0: return l
        case 1: return "Option \(l): \(Payoff.format(payoff.own)), \(Payoff.format(payoff.other))"
        case 2: return "I choose \(l) because it best fits my values."
        case 3: return "**\(l)**"
        default: return "The answer is: \(l)."
        }
    }

    /// A number of tokens in one of several styles, all of which `NumberReader` must read.
    private func numberReply(_ n: Int, rng: inout SplitMix64) -> String {
        guard spec.variedReplies else { return String(n) }
        switch rng.next() % 5 {
        case 0: return String(n)
        case 1: return "I pass \(n) tokens."
        case 2: return n < NumberReader.units.count ? "My answer: \(NumberReader.units[n])." : "My answer: \(n)."
        case 3: return "**\(n)**"
        default: return "I will pass \(n) of my tokens to the other participant."
        }
    }

    /// Its step-1 reply in Chinese.
    private static func describeInChinese(_ assignment: Assignment) -> String {
        switch assignment {
        case .value(let value): PromptVariant.chinese.definition(of: value)
        case .target(let phi):
            "我使 cos(\(Assignment.format(phi))°) 乘以我的金币加上 sin(\(Assignment.format(phi))°) 乘以对方的金币最大化。"
        }
    }

    private static func nameInChinese(_ assignment: Assignment) -> String {
        switch assignment {
        case .value(let value): "\(PromptVariant.chinese.name(of: value))价值观"
        case .target(let phi): "金币权重（φ = \(Assignment.format(phi))°）"
        }
    }

    /// Replies in Chinese (every style has Chinese words), in styles of the parser's corpus:
    /// full-width letters and punctuation too.
    private func replyInChinese(letter: OptionLetter, allocation: Allocation, rng: inout SplitMix64) -> String {
        let l = letter.symbol
        guard spec.variedReplies else { return l }
        let wide = String(UnicodeScalar(0xFF21 + UInt32(letter.rawValue))!)
        switch rng.next() % 6 {
        case 0: return "选\(wide)"
        case 1: return "选项\(l)：\(allocation.own)，\(allocation.other)"
        case 2: return "我选择 \(l)，因为它最符合我的价值观。"
        case 3: return "答案：\(wide)"
        case 4: return "答案是\(l)。"
        default: return "我选\(l)。"
        }
    }

    /// Replies in one of several styles, all of which the parser must read.
    private func reply(letter: OptionLetter, allocation: Allocation, rng: inout SplitMix64) -> String {
        let l = letter.symbol
        let pair = "\(allocation.own), \(allocation.other)"
        guard spec.variedReplies else { return l }
        switch rng.next() % 6 {
        case 0: return l
        case 1: return "Option \(l): \(pair)"
        case 2: return "I choose \(l) because it best fits my values."
        case 3: return "**\(l)**"
        case 4: return "The answer is: \(l)."
        default: return "(\(pair))"
        }
    }

    /// An option line as the item template renders it, compiled once (Regex is not Sendable, hence the Mutex).
    private static let optionLine = Mutex(#/(?m)^([A-I]): (\d+), (\d+)$/#)

    /// The options of the newest user message that lists any, as shown ("A: 50, 100" lines).
    static func latestOptions(in messages: [ChatMessage]) -> [(letter: OptionLetter, allocation: Allocation)]? {
        for message in messages.reversed() where message.role == .user {
            var options: [(letter: OptionLetter, allocation: Allocation)] = []
            let matches = optionLine.withLock { regex in message.content.matches(of: regex) }
            for match in matches {
                if let letter = OptionLetter(symbol: String(match.output.1)), let own = Int(match.output.2),
                    let other = Int(match.output.3)
                {
                    options.append((letter, Allocation(own: own, other: other)))
                }
            }
            // A re-ask lists no options: look further back, to the item it repeats.
            if options.count == 9, options.map(\.letter) == OptionLetter.allCases { return options }
        }
        return nil
    }
}
