import Domain
import Foundation
import SVO
import Store

/// How the model learns its value orientation (method.md §3 step 1).
public enum ValueAssignment: String, Codable, Sendable, CaseIterable {
    /// The study's mode: the model describes the value system itself, and its words stay in context.
    case selfDescribed = "self-described"
    /// A fixed plain-words definition, with no model call.
    case defined
}

/// The `instrument:` key of experiment files before `instruments:`: which slider items are asked.
/// An experiment of one slider instrument is stored with it, so that its canonical JSON (and hash)
/// is the one it had before instruments.
package enum SliderItems: String, Codable, Sendable, CaseIterable {
    /// Items 1-6 (`slider`).
    case primary
    /// Items 1-15 (`slider-full`).
    case full

    package var instrument: String { self == .primary ? SliderInstrument.primary.name : SliderInstrument.full.name }

    package init?(instrument: String) {
        guard let match = Self.allCases.first(where: { $0.instrument == instrument }) else { return nil }
        self = match
    }
}

/// A fully specified experiment: every default filled in, so that its canonical JSON (stored with
/// each run) says exactly what was done.
public struct Experiment: Codable, Sendable, Equatable {
    public var name: String
    public var description: String
    public var seed: Int64
    /// Trials per cell (model x value or target x goal x option order x placement x variant x instrument).
    public var trials: Int
    /// The named values trials are told (the study's design).
    public var values: [ValueOrientation]
    /// Target directions φ (degrees) trials are told as weights (method.md §8), after the values.
    public var targets: [Double] = []
    public var goals: [GoalCondition]
    public var valueAssignment: ValueAssignment
    /// The instruments the trials are crossed with (`Instruments`), in plan order.
    public var instruments: [String]
    public var optionOrders: [OptionOrder]
    /// Where the value assignment sits: the study's `user` (in the dialogue), `system`, or both.
    public var placements: [PersonaPlacement] = [.user]
    /// Attempts per item, the first included: 3 means up to two re-asks.
    public var maxAttempts: Int
    /// Trials run at the same time (so also the most calls in flight).
    public var concurrency: Int
    /// Stop cleanly after this many model calls (nil: no cap).
    public var maxCalls: Int?
    /// Stop cleanly once the cost, from the models' prices, reaches this many dollars (nil: no cap).
    public var maxCost: Double?
    /// Reuse the stored reply of an identical earlier request instead of calling the model.
    public var cache = false
    public var templates: PromptTemplates
    /// The wording of a target trial's value steps; present exactly when there are targets, so
    /// that an experiment without targets has the canonical JSON (and hash) it had before them.
    public var targetTemplates: TargetTemplates?
    /// The wording only `system` placement uses; present exactly when it is run (as `targetTemplates`).
    public var systemTemplates: SystemTemplates?
    /// The wordings the trials are crossed with, in plan order; `default` is the templates above.
    public var variants: [PromptVariant] = []
    public var models: [ModelSpec]

    /// The experiment's own wording, as a variant: what its trials are worded with unless
    /// `variants:` says otherwise.
    public var defaultVariant: PromptVariant {
        PromptVariant(
            name: PromptVariant.defaultName, templates: templates, targetTemplates: targetTemplates ?? .standard,
            systemTemplates: systemTemplates ?? .standard)
    }

    /// The models that answer uniformly at random (`random` reference agents): the baseline a
    /// reader compares a model with, since the slider sorts random answerers mostly into prosocial
    /// and individualistic (the neutral bias, method.md §8.6).
    public var randomBaselines: [String] {
        models.compactMap { model in
            if case .reference(let spec) = model.provider, spec.agent == .random { return model.name }
            return nil
        }
    }

    /// The random baselines of stored runs, read from their experiment JSON (unreadable ones skipped).
    public static func randomBaselines(of runs: [RunRecord]) -> [String] {
        distinct(
            runs.flatMap { run in
                (try? JSONDecoder().decode(Experiment.self, from: Data(run.experimentJSON.utf8)))?.randomBaselines ?? []
            })
    }

    private static func distinct(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }

    /// The variant named `name` (a trial's `key.variant`).
    public func variant(named name: String) -> PromptVariant? { variants.first { $0.name == name } }

    /// What the trials are told, in plan order: the named values, then the targets.
    public var assignments: [Assignment] { values.map(Assignment.value) + targets.map(Assignment.target) }

    enum CodingKeys: String, CodingKey {
        case name, description, seed, trials, values, targets, goals, instrument, instruments, concurrency, templates
        case models
        case targetTemplates = "target_templates"
        case placements = "persona"
        case systemTemplates = "system_templates"
        case variants
        case valueAssignment = "value_assignment"
        case optionOrders = "option_orders"
        case maxAttempts = "max_attempts"
        case maxCalls = "max_calls"
        case maxCost = "max_cost"
        case cache
    }

    public init(
        name: String, description: String, seed: Int64, trials: Int, values: [ValueOrientation], goals: [GoalCondition],
        valueAssignment: ValueAssignment, instruments: [String] = [Instruments.defaultName],
        optionOrders: [OptionOrder],
        maxAttempts: Int,
        concurrency: Int, maxCalls: Int? = nil, maxCost: Double? = nil, cache: Bool = false,
        templates: PromptTemplates, targets: [Double] = [], targetTemplates: TargetTemplates? = nil,
        placements: [PersonaPlacement] = [.user], systemTemplates: SystemTemplates? = nil,
        variants: [PromptVariant]? = nil, models: [ModelSpec]
    ) {
        self.name = name
        self.description = description
        self.seed = seed
        self.trials = trials
        self.values = values
        self.goals = goals
        self.valueAssignment = valueAssignment
        self.instruments = instruments
        self.optionOrders = optionOrders
        self.maxAttempts = maxAttempts
        self.concurrency = concurrency
        self.maxCalls = maxCalls
        self.maxCost = maxCost
        self.cache = cache
        self.templates = templates
        self.targets = targets
        self.targetTemplates = targets.isEmpty ? nil : (targetTemplates ?? .standard)
        self.placements = placements
        self.systemTemplates = placements.contains(.system) ? (systemTemplates ?? .standard) : nil
        self.models = models
        self.variants = variants ?? [defaultVariant]
    }

    /// Keys added after a run was stored take their defaults, so every stored experiment still decodes.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decode(String.self, forKey: .name),
            description: try c.decode(String.self, forKey: .description),
            seed: try c.decode(Int64.self, forKey: .seed), trials: try c.decode(Int.self, forKey: .trials),
            values: try c.decode([ValueOrientation].self, forKey: .values),
            goals: try c.decode([GoalCondition].self, forKey: .goals),
            valueAssignment: try c.decode(ValueAssignment.self, forKey: .valueAssignment),
            instruments: try c.decodeIfPresent([String].self, forKey: .instruments)
                ?? [try c.decode(SliderItems.self, forKey: .instrument).instrument],
            optionOrders: try c.decode([OptionOrder].self, forKey: .optionOrders),
            maxAttempts: try c.decode(Int.self, forKey: .maxAttempts),
            concurrency: try c.decode(Int.self, forKey: .concurrency),
            maxCalls: try c.decodeIfPresent(Int.self, forKey: .maxCalls),
            maxCost: try c.decodeIfPresent(Double.self, forKey: .maxCost),
            cache: try c.decodeIfPresent(Bool.self, forKey: .cache) ?? false,
            templates: try c.decode(PromptTemplates.self, forKey: .templates),
            targets: try c.decodeIfPresent([Double].self, forKey: .targets) ?? [],
            targetTemplates: try c.decodeIfPresent(TargetTemplates.self, forKey: .targetTemplates),
            placements: try c.decodeIfPresent([PersonaPlacement].self, forKey: .placements) ?? [.user],
            systemTemplates: try c.decodeIfPresent(SystemTemplates.self, forKey: .systemTemplates),
            variants: try c.decodeIfPresent([PromptVariant].self, forKey: .variants),
            models: try c.decode([ModelSpec].self, forKey: .models))
    }

    /// Leaves out the keys of targets when there are none, and of placement when it is the study's
    /// alone (see `targetTemplates`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(seed, forKey: .seed)
        try c.encode(trials, forKey: .trials)
        try c.encode(values, forKey: .values)
        if !targets.isEmpty { try c.encode(targets, forKey: .targets) }
        try c.encode(goals, forKey: .goals)
        try c.encode(valueAssignment, forKey: .valueAssignment)
        if instruments.count == 1, let items = SliderItems(instrument: instruments[0]) {
            try c.encode(items, forKey: .instrument)
        } else {
            try c.encode(instruments, forKey: .instruments)
        }
        try c.encode(optionOrders, forKey: .optionOrders)
        if placements != [.user] { try c.encode(placements, forKey: .placements) }
        try c.encodeIfPresent(systemTemplates, forKey: .systemTemplates)
        if variants != [defaultVariant] { try c.encode(variants, forKey: .variants) }
        try c.encode(maxAttempts, forKey: .maxAttempts)
        try c.encode(concurrency, forKey: .concurrency)
        try c.encodeIfPresent(maxCalls, forKey: .maxCalls)
        try c.encodeIfPresent(maxCost, forKey: .maxCost)
        try c.encode(cache, forKey: .cache)
        try c.encode(templates, forKey: .templates)
        try c.encodeIfPresent(targetTemplates, forKey: .targetTemplates)
        try c.encode(models, forKey: .models)
    }

    /// The experiment a stored run executed, decoded from its canonical JSON.
    public init(storedIn run: RunRecord) throws {
        self = try JSONDecoder().decode(Experiment.self, from: Data(run.experimentJSON.utf8))
    }

    /// The experiment as canonical JSON: sorted keys, no insignificant white space.
    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain values cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// Every trial the experiment asks for, in a fixed order, computed as needed.
    public var plan: TrialPlan { TrialPlan(experiment: self) }

    /// A trial's seed depends only on the run seed and the trial's cell and index, so results are
    /// the same whatever the concurrency and whatever else the experiment contains.
    /// A trial of the study's design (a named value, placed in the dialogue, in the experiment's
    /// own wording) has the seed it had before targets, placements and variants existed; the
    /// others name what differs. The instrument is left out: the trials of one cell and replicate
    /// on different instruments share their seed, so that instruments are compared pair by pair.
    package func trialSeed(_ key: TrialKey) -> Int64 {
        let assigned =
            switch key.assignment {
            case .value(let value): value.rawValue
            case .target(let phi): "target \(phi)"
            }
        var parts = [key.model, assigned, key.goal.rawValue, key.optionOrder.rawValue, String(key.index)]
        if key.placement != .user { parts.append("placement \(key.placement.rawValue)") }
        if key.variant != PromptVariant.defaultName { parts.append("variant \(key.variant)") }
        return TrialSeed.derive(runSeed: seed, parts)
    }
}

/// One trial an experiment asks for.
public struct PlannedTrial: Sendable, Equatable {
    public var model: ModelSpec
    public var key: TrialKey
    public var seed: Int64
    /// Its place in the experiment's plan.
    public var ordinal: Int
}

/// The trials of an experiment in their fixed order (model, then value or target, goal, option
/// order, placement, variant, instrument and replicate), or of one slice of them: every n-th, so that slices
/// are disjoint, cover the experiment together and keep every trial's seed. Computed on demand, never all in memory:
/// a plan of millions of trials costs nothing until its trials run.
public struct TrialPlan: Sendable {
    public let experiment: Experiment
    /// Slice `index` (1-based) of `count`, or the whole plan.
    public let shard: (index: Int, count: Int)?

    public init(experiment: Experiment, shard: (index: Int, count: Int)? = nil) {
        self.experiment = experiment
        self.shard = shard
    }

    /// The trials of the whole experiment.
    public var total: Int {
        experiment.models.count * experiment.assignments.count * experiment.goals.count
            * experiment.optionOrders.count * experiment.placements.count * experiment.variants.count
            * experiment.instruments.count * experiment.trials
    }

    /// The trials of this plan (its slice).
    public var count: Int {
        guard let shard else { return total }
        return total > shard.index - 1 ? (total - shard.index) / shard.count + 1 : 0
    }

    /// The ordinals of this plan's trials, in order, from `start` on (an ordinal of the plan).
    public func ordinals(from start: Int = 0) -> StrideTo<Int> {
        guard let shard else { return stride(from: start, to: total, by: 1) }
        // The first ordinal at or after `start` of the slice's residue.
        let residue = shard.index - 1
        let first = start + ((residue - start) % shard.count + shard.count) % shard.count
        return stride(from: first, to: total, by: shard.count)
    }

    /// The trial at `ordinal` of the whole experiment.
    public func trial(at ordinal: Int) -> PlannedTrial {
        let e = experiment
        let assignments = e.assignments
        var rest = ordinal
        let index = rest % e.trials + 1
        rest /= e.trials
        let instrument = e.instruments[rest % e.instruments.count]
        rest /= e.instruments.count
        let variant = e.variants[rest % e.variants.count].name
        rest /= e.variants.count
        let placement = e.placements[rest % e.placements.count]
        rest /= e.placements.count
        let order = e.optionOrders[rest % e.optionOrders.count]
        rest /= e.optionOrders.count
        let goal = e.goals[rest % e.goals.count]
        rest /= e.goals.count
        let assignment = assignments[rest % assignments.count]
        rest /= assignments.count
        let model = e.models[rest]
        let key = TrialKey(
            model: model.name, assignment: assignment, goal: goal, optionOrder: order, placement: placement,
            variant: variant, instrument: instrument, index: index)
        return PlannedTrial(model: model, key: key, seed: e.trialSeed(key), ordinal: ordinal)
    }
}

/// A model under test: its name in results, and how to reach it.
public struct ModelSpec: Codable, Sendable, Equatable {
    public var name: String
    public var provider: ProviderSpec

    public init(name: String, provider: ProviderSpec) {
        self.name = name
        self.provider = provider
    }

    enum CodingKeys: String, CodingKey { case name, provider, settings }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(provider.kind, forKey: .provider)
        switch provider {
        case .reference(let agent): try container.encode(agent, forKey: .settings)
        case .api(_, let api): try container.encode(api, forKey: .settings)
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        let kind = try container.decode(String.self, forKey: .provider)
        if kind == ProviderSpec.referenceKind {
            provider = .reference(try container.decode(ReferenceAgentSpec.self, forKey: .settings))
        } else {
            provider = .api(kind, try container.decode(APIModelSpec.self, forKey: .settings))
        }
    }
}

/// The providers hvae can call, with their settings.
public enum ProviderSpec: Sendable, Equatable {
    /// Built-in simulated agents (no language model): for checking the pipeline and the metrics.
    case reference(ReferenceAgentSpec)
    /// A model API by its registered name (Runner's `ModelAPIs`), with the model's settings. The
    /// experiment model knows an API by name only: a stored experiment decodes wherever runs are
    /// read, and the runner resolves the name when it calls (an unknown one is refused there).
    case api(String, APIModelSpec)

    /// How experiment files and the stored experiment name the reference agents.
    public static let referenceKind = "reference"

    /// Its name: `provider:` in experiment files.
    public var kind: String {
        switch self {
        case .reference: Self.referenceKind
        case .api(let name, _): name
        }
    }

    /// The settings of an HTTP model API; nil for reference agents.
    public var api: APIModelSpec? {
        switch self {
        case .reference: nil
        case .api(_, let spec): spec
        }
    }

}

/// A built-in reference agent: a simulated respondent with a known answer rule.
public struct ReferenceAgentSpec: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Maximises own·cos φ + other·sin φ for the assigned value.
        case ideal
        /// Samples options with softmax(utility / temperature).
        case noisy
        /// Always answers the same shown letter: a position-biased model.
        case fixed
        /// Ignores the assigned value and maximises a fixed orientation's utility.
        case stubborn
        /// Answers uniformly at random.
        case random
    }

    public var agent: Kind
    /// `noisy`: softmax temperature in coins of utility.
    public var temperature: Double?
    /// `fixed`: the letter it always answers.
    public var letter: String?
    /// `stubborn`: the orientation it always pursues.
    public var value: ValueOrientation?
    /// Whether replies vary in style (plain letter, "Option C: 59, 96", a sentence...) to exercise the parser.
    public var variedReplies: Bool

    enum CodingKeys: String, CodingKey {
        case agent, temperature, letter, value
        case variedReplies = "varied_replies"
    }

    public init(
        agent: Kind, temperature: Double? = nil, letter: String? = nil, value: ValueOrientation? = nil,
        variedReplies: Bool = true
    ) {
        self.agent = agent
        self.temperature = temperature
        self.letter = letter
        self.value = value
        self.variedReplies = variedReplies
    }
}
