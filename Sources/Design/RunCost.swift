import Store

extension APIModelSpec {
    /// What the calls `usage` counts cost in dollars: the model's prices times the tokens it was
    /// paid for. A cache hit calls no model and costs nothing, though its row keeps the tokens of
    /// the call it serves (schema 18). The one definition of cost: the progress line and
    /// `max_cost` count the same way as each call ends. Nil without prices.
    public func cost(of usage: ModelUsage) -> Double? {
        cost(inputTokens: usage.billedInputTokens, outputTokens: usage.billedOutputTokens)
    }
}

extension Experiment {
    /// A run's cost in dollars, from its models' usage (`APIModelSpec.cost(of:)`); nil when no
    /// model of it has prices.
    public func cost(of usage: [ModelUsage]) -> Double? {
        let costs = usage.compactMap { usage in
            models.first { $0.name == usage.model }?.provider.api?.cost(of: usage)
        }
        return costs.isEmpty ? nil : costs.reduce(0, +)
    }
}
