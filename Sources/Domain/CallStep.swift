/// The step of the trial protocol a model call belongs to (method.md §3).
public enum CallStep: Sendable, Hashable, CustomStringConvertible {
    /// Step 1: the model describes the value system it was assigned.
    case value
    /// Step 3: the model writes itself a goal.
    case goal
    /// Step 4: one item of the trial's instrument, by number (from 1).
    case item(Int)

    /// The `model_calls.step` column: value, goal or item.
    public var name: String {
        switch self {
        case .value: "value"
        case .goal: "goal"
        case .item: "item"
        }
    }

    /// The `model_calls.item` column: the item number of item steps, else nil.
    public var item: Int? {
        if case .item(let number) = self { return number }
        return nil
    }

    /// The step stored as `name` and `item`; nil for a pair no protocol step has.
    public init?(name: String, item: Int?) {
        switch (name, item) {
        case ("value", nil): self = .value
        case ("goal", nil): self = .goal
        case ("item", let number?) where number >= 1: self = .item(number)
        default: return nil
        }
    }

    /// As the `call_log` view writes it: `value`, `goal`, `item 3`.
    public var description: String { item.map { "item \($0)" } ?? name }
}

/// Which goal an experiment's trials work towards (method.md §3 step 3).
public enum GoalCondition: String, Codable, Sendable, CaseIterable {
    /// The model states its own goal for the task before the items.
    case with
    /// A fixed neutral goal: follow your value system.
    case without
}

/// Where a trial's value assignment sits in its conversation (method.md §8.4).
public enum PersonaPlacement: String, Codable, Sendable, CaseIterable {
    /// In the dialogue: the value prompt and the role instruction are user turns (the study's).
    case user
    /// In the system message, before the dialogue (Anthropic's top-level `system`).
    case system
}
