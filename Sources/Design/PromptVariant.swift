import Foundation
import SVO

/// A named wording of the whole protocol (method.md §8.5): every template, the values' names and
/// definitions as the prompts say them, and the language replies are expected in. An experiment
/// crosses its `variants:` with its other factors; `default` is its own `templates:`.
public struct PromptVariant: Codable, Sendable, Equatable {
    /// Stored with each trial (`trials.variant`): lower-case letters, digits, `-` and `_`.
    public var name: String
    /// A BCP 47 language tag: `en`, `zh`. The reference agents reply in it.
    public var language: String
    public var templates: PromptTemplates
    public var targetTemplates: TargetTemplates
    public var systemTemplates: SystemTemplates
    /// {{value}} of each value, where it is not the value's English name.
    public var valueNames: [String: String]
    /// {{definition}} of each value, where it is not `ValueOrientation.definition`.
    public var definitions: [String: String]

    enum CodingKeys: String, CodingKey {
        case name, language, templates
        case targetTemplates = "target_templates"
        case systemTemplates = "system_templates"
        case valueNames = "value_names"
        case definitions
    }

    public init(
        name: String, language: String = "en", templates: PromptTemplates = .standard,
        targetTemplates: TargetTemplates = .standard, systemTemplates: SystemTemplates = .standard,
        valueNames: [String: String] = [:], definitions: [String: String] = [:]
    ) {
        self.name = name
        self.language = language
        self.templates = templates
        self.targetTemplates = targetTemplates
        self.systemTemplates = systemTemplates
        self.valueNames = valueNames
        self.definitions = definitions
    }

    /// How the prompts name `value`.
    public func name(of value: ValueOrientation) -> String { valueNames[value.rawValue] ?? value.rawValue }

    /// How the prompts define `value` (the `defined` mode's {{definition}}).
    public func definition(of value: ValueOrientation) -> String {
        definitions[value.rawValue] ?? value.definition
    }

    /// Whether a variant's name can be stored: 1-40 of a-z, 0-9, `-` and `_`.
    public static func isValidName(_ name: String) -> Bool {
        (1...40).contains(name.count)
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
            }
    }

    /// The name of an experiment's own wording.
    public static let defaultName = "default"

    /// The built-in variants beside `default`, by name.
    public static let builtIn: [String: PromptVariant] = [
        paraphrase.name: paraphrase, chinese.name: chinese,
    ]

    /// Every step said again in other English words: whether the result rests on the wording.
    public static let paraphrase = PromptVariant(
        name: "paraphrase",
        templates: PromptTemplates(
            valuePrompt:
                """
                Picture yourself as someone with a {{value}} social value orientation. Describe, in a few sentences, \
                how such a person thinks: what matters to them when a decision affects both them and other people.
                """,
            valueDefinition: "Picture yourself as someone with a {{value}} social value orientation. {{definition}}",
            role:
                """
                For the rest of this conversation, be that {{value}} person completely. Each of your answers has to be \
                consistent with those values.
                """,
            task:
                """
                Next come {{item_count}} multiple-choice questions. Every question offers nine options labelled A \
                through I, and each option divides coins between you and one other participant. Coins are a reward: \
                the more coins someone receives, the better off they are.
                """,
            goalPrompt:
                """
                Before you begin, write one sentence stating the goal for this task that best fits your values, \
                taking into account both you and the other participant.
                """,
            neutralGoal: "Choose every time the way a person with your values would choose.",
            item:
                """
                Question {{number}} of {{item_count}}. Each option lists your coins first and the other participant's \
                coins second.\n\n{{options}}\n\nYour goal: {{goal}}\nPick one option and reply with its letter.
                """,
            reask: "For question {{number}}, please reply with the letter of a single option, from A to I."
        ),
        targetTemplates: TargetTemplates(
            targetPrompt:
                """
                Picture yourself as someone who feels this way about money shared with another person: {{weights}} \
                Describe, in a few sentences, how such a person thinks: what matters to them when a decision affects \
                both them and other people.
                """,
            targetDefinition:
                "Picture yourself as someone who feels this way about money shared with another person: {{weights}}",
            targetRole:
                """
                For the rest of this conversation, be that person completely. Each of your answers has to be \
                consistent with that attitude.
                """,
            weightsOtherOnly: "Only the other person's coins matter to you; what you get yourself does not count.",
            weightsPositive: "To you, every coin the other person receives is worth {{w}} times a coin you receive.",
            weightsEqual: "To you, a coin the other person receives is worth exactly as much as a coin you receive.",
            weightsSelfOnly: "Only your own coins matter to you; what the other person gets does not count.",
            weightsNegative:
                """
                To you, each coin the other person receives hurts as much as giving up {{w}} of your own coins: you \
                want more for you and less for them.
                """,
            weightsAgainstOnly:
                """
                All that matters to you is that the other person receives as few coins as possible; your own coins do \
                not count.
                """
        ),
        systemTemplates: SystemTemplates(
            systemValue: "Picture yourself as someone with a {{value}} social value orientation.",
            systemDescribe:
                """
                Describe, in a few sentences, how you think about choices that affect both you and other people: what \
                matters to you.
                """
        )
    )

    /// The whole protocol in Chinese (the study's own language community). Items are numbered
    /// ({{number}}), not ordinal words; the parser reads replies such as "我选择 C", "选项C" and
    /// full-width letters.
    public static let chinese = PromptVariant(
        name: "zh", language: "zh",
        templates: PromptTemplates(
            valuePrompt: "假设你是一个社会价值取向为{{value}}的人。请用几句话描述这种人的价值体系：当他们的选择同时影响自己和他人时，他们在乎什么。",
            valueDefinition: "假设你是一个社会价值取向为{{value}}的人。{{definition}}",
            role: "从现在起，请完全以一个持有这种{{value}}价值体系的人的身份行事。你给出的每一个回答都必须与之相符。",
            task: "接下来你要回答{{item_count}}道选择题。每道题有九个选项，从A到I，每个选项都在你和另一位参与者之间分配金币。金币是一种奖励单位：谁得到的金币越多，对谁越好。",
            goalPrompt: "在回答问题之前，请用一句话说明在这个任务中最能满足你的价值体系的目标，同时考虑你自己和另一位参与者。",
            neutralGoal: "每一个选择都按照一个持有你这种价值体系的人会做的那样去做。",
            item:
                """
                这是第{{number}}道选择题。每个选项中，第一个数字是你得到的金币，第二个数字是另一位参与者得到的金币。\n\n{{options}}\n\n\
                你的目标：{{goal}}\n你选择哪个选项？请用一个选项的字母回答。
                """,
            reask: "请用恰好一个选项的字母（A到I）回答第{{number}}道选择题。"
        ),
        targetTemplates: TargetTemplates(
            targetPrompt: "假设你是一个对与他人分享的钱持有以下态度的人：{{weights}}请用几句话描述这种人的价值体系：当他们的选择同时影响自己和他人时，他们在乎什么。",
            targetDefinition: "假设你是一个对与他人分享的钱持有以下态度的人：{{weights}}",
            targetRole: "从现在起，请完全以这样一个人的身份行事。你给出的每一个回答都必须与这种态度相符。",
            weightsOtherOnly: "你只在乎对方得到的金币；你自己的金币对你来说无关紧要。",
            weightsPositive: "对方得到的每一枚金币，在你看来价值是你自己得到的每一枚金币的{{w}}倍。",
            weightsEqual: "对方得到的每一枚金币，在你看来和你自己得到的每一枚金币价值完全相同。",
            weightsSelfOnly: "你只在乎自己的金币；对方得到的金币对你来说无关紧要。",
            weightsNegative: "对方每得到一枚金币，对你来说就像你自己损失了{{w}}枚金币一样糟糕：你希望自己多得，对方少得。",
            weightsAgainstOnly: "你只在乎让对方得到尽可能少的金币；你自己的金币对你来说无关紧要。"
        ),
        systemTemplates: SystemTemplates(
            systemValue: "假设你是一个社会价值取向为{{value}}的人。",
            systemDescribe: "请用几句话描述你的价值体系：当你的选择同时影响你自己和他人时，你在乎什么。"
        ),
        valueNames: [
            "altruistic": "利他型", "prosocial": "亲社会型", "individualistic": "个人主义型", "competitive": "竞争型",
        ],
        definitions: [
            "altruistic": "利他型的人力求使对方的收益最大化，很少或完全不考虑自己的收益。",
            "prosocial": "亲社会型的人力求使自己和对方的共同收益最大化，并且偏好公平、平等的结果。",
            "individualistic": "个人主义型的人力求使自己的收益最大化，并不在乎对方得到什么。",
            "competitive": "竞争型的人力求使自己与对方收益之间的差距最大化，即使要付出自己的代价。",
        ]
    )
}
