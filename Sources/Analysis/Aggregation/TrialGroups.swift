import Domain
import SVO
import Store

/// Trial rows grouped by their values along dimensions of the design: the one place analysis
/// groups trials. Reports, steerability, sensitivity, position bias and reliability take their
/// groups from it.
///
/// Groups come in the study's order: models and variants as they first appear, values in the
/// study's A, P, I, C order then targets from the largest direction down (as `Assignment` orders
/// them), goal with before without, option orders and placements as their enumerations declare
/// them, instruments as registered, runs by id. Within a group, trials keep the order they were
/// given in, so a bootstrap over a group sees its values in the same order however it was found.
public struct TrialGroups: Sendable {
    /// The dimensions the trials are grouped by.
    public let dimensions: [ReportDimension]
    /// Each group's values along `dimensions`, in the study's order.
    public let keys: [[String]]
    /// Each group's trials, in the order of `keys`.
    public let members: [[TrialResult]]
    private let positions: [[String]: Int]

    /// Groups `trials` by their values along `dimensions` (every trial in one group when there are none).
    public init(_ trials: [TrialResult], by dimensions: [ReportDimension]) {
        self.dimensions = dimensions
        // Grouped by small integer codes (a model's first appearance, an enumeration's case, a
        // run id), whose order is the study's: a report over a million-call run groups 130,000 trials.
        var models: [String: Int] = [:]
        var variants: [String: Int] = [:]
        // Instruments this hvae does not know (a database a newer one wrote): after the
        // registered ones, as they first appear, each its own group.
        var unknown: [String: Int] = [:]
        func code(_ dimension: ReportDimension, _ trial: TrialResult) -> Int {
            switch dimension {
            case .model:
                if let known = models[trial.key.model] { return known }
                models[trial.key.model] = models.count
                return models.count - 1
            case .value: return Self.code(trial.key.assignment)
            case .goal: return GoalCondition.allCases.firstIndex(of: trial.key.goal)!
            case .optionOrder: return OptionOrder.allCases.firstIndex(of: trial.key.optionOrder)!
            case .placement: return PersonaPlacement.allCases.firstIndex(of: trial.key.placement)!
            case .variant:
                if let known = variants[trial.key.variant] { return known }
                variants[trial.key.variant] = variants.count
                return variants.count - 1
            case .instrument:
                if let known = Instruments.all.firstIndex(where: { $0.name == trial.key.instrument }) { return known }
                if let seen = unknown[trial.key.instrument] { return seen }
                unknown[trial.key.instrument] = Instruments.all.count + unknown.count
                return Instruments.all.count + unknown.count - 1
            case .run: return Int(trial.runID)
            }
        }
        var groups: [[Int]: [TrialResult]] = [:]
        for trial in trials { groups[dimensions.map { code($0, trial) }, default: []].append(trial) }
        let order = groups.keys.sorted { $0.lexicographicallyPrecedes($1) }
        members = order.map { groups[$0]! }
        keys = members.map { group in dimensions.map { $0.value(of: group[0]) } }
        positions = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
    }

    /// The groups with their values along `dimensions`, in the study's order.
    public var groups: Zip2Sequence<[[String]], [[TrialResult]]> { zip(keys, members) }

    /// The trials whose values along `dimensions` are `key` (none when there are none).
    public subscript(_ key: String...) -> [TrialResult] { positions[key].map { members[$0] } ?? [] }

    /// An assignment as a small integer in `Assignment`'s order: the values 0-3, then a target's
    /// thousandths of a degree below 90 (directions have at most three decimals), from 4.
    static func code(_ assignment: Assignment) -> Int {
        switch assignment {
        case .value(let value): ValueOrientation.allCases.firstIndex(of: value)!
        case .target(let phi): 4 + Int(((90 - phi) * 1000).rounded())
        }
    }
}

/// The rule every analysis keeps: angles of different measures (`Instrument.measure`) are never
/// pooled. Trials of one measure are analysed as before, with no instrument column; with more, an
/// analysis splits its rows by instrument and prints the instrument after the model.
enum InstrumentSplit {
    /// The instruments to split `trials` by, in registration order; `[nil]` (no split) when they
    /// hold one measure.
    static func instruments(of trials: [TrialResult]) -> [String?] {
        guard splits(trials) else { return [nil] }
        return TrialGroups(trials, by: [.instrument]).keys.map { $0[0] }
    }

    /// Whether `trials` hold more than one measure, and so split by instrument.
    static func splits(_ trials: [TrialResult]) -> Bool {
        guard let first = trials.first.map({ Instruments.measure($0.key.instrument) }) else { return false }
        return trials.contains { Instruments.measure($0.key.instrument) != first }
    }

    /// The instrument column's header: present when some row names an instrument.
    static func header(_ instruments: [String?]) -> [String] {
        instruments.contains { $0 != nil } ? ["instrument"] : []
    }

    /// A row's instrument cell under `header`.
    static func cell(_ instrument: String?, _ header: [String]) -> [String] {
        header.isEmpty ? [] : [instrument ?? ""]
    }

    /// A seed's parts with the instrument after the model when there is one, so that a run of one
    /// measure keeps the seeds (and intervals) it had.
    static func seedParts(_ model: String, _ instrument: String?, _ rest: [String]) -> [String] {
        [model] + (instrument.map { [$0] } ?? []) + rest
    }
}
