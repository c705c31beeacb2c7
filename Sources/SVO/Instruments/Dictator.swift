import Foundation

/// Dictator games with budgets, in the manner of Andreoni & Miller (2002) (method.md §9.4): six
/// items "you have T tokens; each token you keep is worth a coins to you, each token you pass is
/// worth b coins to the other person; how many tokens do you pass?", answered with a whole number
/// in 0..T. θ = atan2(mean other, mean own) of the payoffs. Keeping every token is best for both
/// an individualistic and a competitive person, so the game cannot tell them apart
/// (`Instrument.indistinguishable(from:)`), and reports say so instead of a VR.
public struct DictatorGame: MeanPayoffMeasure {
    public init() {}

    public var name: String { "dictator" }
    public var summary: String { "six dictator games with budgets: how many of T tokens to pass, each worth b coins" }

    /// (T, a, b) of items 1-6.
    public static let budgets = [
        Budget(tokens: 40, kept: 1, passed: 3), Budget(tokens: 40, kept: 3, passed: 1),
        Budget(tokens: 60, kept: 1, passed: 2), Budget(tokens: 60, kept: 2, passed: 1),
        Budget(tokens: 80, kept: 1, passed: 1), Budget(tokens: 100, kept: 1, passed: 1),
    ]

    static let theForm = InstrumentForm(
        items: budgets.enumerated().map { InstrumentItem(number: $0.offset + 1, budget: $0.element) })

    public func form(seed: UInt64) -> InstrumentForm { Self.theForm }

    public var wording: InstrumentWording? {
        InstrumentWording(
            task: """
                You are about to answer {{item_count}} questions. In each, you divide tokens between yourself and \
                another participant, and the tokens become coins. A coin is a unit of reward: more coins are better \
                for whoever receives them.
                """,
            item: """
                This is the {{ordinal}} question. You have {{tokens}} tokens to divide. Each token you keep is worth \
                {{kept}} to you; each token you pass is worth {{passed}} to the other participant.\n\nYour goal: \
                {{goal}}\nHow many tokens do you pass to the other participant? Answer with one whole number from 0 to \
                {{tokens}}.
                """,
            reask: "Please answer the {{ordinal}} question with one whole number of tokens, from 0 to {{tokens}}.")
    }
}
