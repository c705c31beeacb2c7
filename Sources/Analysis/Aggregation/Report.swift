import Domain
import Foundation
import SVO
import Store
import Synchronization

/// What a report's rows are grouped by.
public enum ReportDimension: String, CaseIterable, Sendable, Codable {
    case model, value, goal, optionOrder = "option_order", run

    /// The group value of a trial along this dimension.
    public func value(of trial: TrialResult) -> String {
        switch self {
        case .model: trial.key.model
        case .value: trial.key.value.rawValue
        case .goal: trial.key.goal.rawValue
        case .optionOrder: trial.key.optionOrder.rawValue
        case .run: String(trial.runID)
        }
    }
}

/// How a report aggregates.
public struct ReportOptions: Sendable, Equatable, Codable {
    public var groupBy: [ReportDimension] = [.model, .value, .goal]
    /// Bootstrap resamples for the confidence interval of mean VR.
    public var resamples: Int = 10_000
    /// Seed of the bootstrap: the same seed gives the same interval.
    public var seed: UInt64 = 20_230_527
    public var confidence: Double = 0.95

    public init(groupBy: [ReportDimension] = [.model, .value, .goal], resamples: Int = 10_000,
                seed: UInt64 = 20_230_527, confidence: Double = 0.95) {
        self.groupBy = groupBy
        self.resamples = resamples
        self.seed = seed
        self.confidence = confidence
    }

    enum CodingKeys: String, CodingKey {
        case groupBy = "group_by", resamples, seed, confidence
    }
}

/// One group of trials and its statistics (method.md §5).
public struct ReportCell: Sendable, Equatable, Codable {
    /// The group's value for each grouping dimension, in the report's order.
    public var group: [String]
    /// Trials of the group, whatever their status.
    public var n: Int
    /// Trials with no angle (incomplete, failed, or not run to their end): counted, never scored as zero.
    public var nIncomplete: Int
    public var meanVR: Double?
    /// Sample standard deviation (n - 1); nil with fewer than two complete trials.
    public var sdVR: Double?
    /// Percentile bootstrap interval of mean VR; nil with fewer than two complete trials.
    public var ciLow: Double?
    public var ciHigh: Double?
    public var meanAngle: Double?
    /// θ of the allocations averaged over the group's complete trials.
    public var pooledAngle: Double?
    public var hitRate: Double?
    public var transitiveShare: Double?
    /// Mean inequality-aversion index over the trials that have one (full instrument, prosocial).
    public var meanInequalityAversion: Double?

    /// Trials with an angle: what the means rest on.
    public var nComplete: Int { n - nIncomplete }

    enum CodingKeys: String, CodingKey {
        case group, n
        case nIncomplete = "n_incomplete", meanVR = "mean_vr", sdVR = "sd_vr", ciLow = "ci_low", ciHigh = "ci_high"
        case meanAngle = "mean_angle", pooledAngle = "pooled_angle", hitRate = "hit_rate"
        case transitiveShare = "transitive_share", meanInequalityAversion = "mean_inequality_aversion"
    }

    /// The statistics of one group of trials (rows of `trial_results`): the one place hvae
    /// aggregates trials. Means are over the trials `trial_results` calls complete.
    public static func aggregate(_ group: [String], trials: [TrialResult], options: ReportOptions) -> ReportCell {
        let complete = trials.filter { $0.status == .complete }
        let vrs = complete.compactMap(\.vr)
        let interval = Statistics.bootstrapInterval(vrs, resamples: options.resamples, confidence: options.confidence,
                                                    seed: SplitMix64.mix(options.seed, Statistics.stableHash(group)))
        let means = complete.compactMap { trial in trial.meanSelf.flatMap { own in trial.meanOther.map { (own, $0) } } }
        let pooled = Statistics.mean(means.map(\.0)).flatMap { own in
            Statistics.mean(means.map(\.1)).map { SVOAngle.angle(meanOwn: own, meanOther: $0) }
        }
        return ReportCell(group: group, n: trials.count, nIncomplete: trials.count - complete.count,
                          meanVR: Statistics.mean(vrs), sdVR: Statistics.sampleSD(vrs),
                          ciLow: interval?.low, ciHigh: interval?.high,
                          meanAngle: Statistics.mean(complete.compactMap(\.angle)), pooledAngle: pooled,
                          hitRate: Statistics.mean(complete.compactMap(\.hit).map { $0 ? 1 : 0 }),
                          transitiveShare: Statistics.mean(complete.compactMap(\.transitive).map { $0 ? 1 : 0 }),
                          meanInequalityAversion: Statistics.mean(complete.compactMap(\.inequalityAversion)))
    }
}

/// Aggregated results of a set of trials.
public struct Report: Sendable, Equatable {
    public var filter: TrialFilter
    public var options: ReportOptions
    public var cells: [ReportCell]

    /// The cell whose group has these values (in `options.groupBy` order).
    public func cell(_ group: String...) -> ReportCell? { cells.first { $0.group == group } }

    /// Aggregates the trials that `filter` selects, grouped as `options` says.
    public static func build(store: ExperimentStore, filter: TrialFilter, options: ReportOptions = ReportOptions()) async throws
        -> Report
    {
        build(try await store.trialResults(filter), filter: filter, options: options)
    }

    /// Aggregates `trials`, grouped as `options` says, in the study's order.
    public static func build(_ trials: [TrialResult], filter: TrialFilter, options: ReportOptions = ReportOptions()) -> Report {
        var order: [[String]] = []
        var groups: [[String]: [TrialResult]] = [:]
        for trial in trials {
            let key = options.groupBy.map { $0.value(of: trial) }
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(trial)
        }
        let firstSeen = Dictionary(trials.enumerated().map { ($0.element.key.model, $0.offset) }, uniquingKeysWith: min)
        order.sort { lhs, rhs in
            for (index, dimension) in options.groupBy.enumerated() where lhs[index] != rhs[index] {
                return rank(dimension, lhs[index], firstSeen) < rank(dimension, rhs[index], firstSeen)
            }
            return false
        }
        // Cells are independent (each bootstrap has its own seed): computed in parallel.
        let (keys, members) = (order, groups)
        let cells = Mutex([ReportCell?](repeating: nil, count: keys.count))
        DispatchQueue.concurrentPerform(iterations: keys.count) { index in
            let cell = ReportCell.aggregate(keys[index], trials: members[keys[index]]!, options: options)
            cells.withLock { $0[index] = cell }
        }
        return Report(filter: filter, options: options, cells: cells.withLock { $0.compactMap { $0 } })
    }

    /// Where a group value sorts: models as they first appear, values in the study's A, P, I, C
    /// order, goal with before without, option orders as declared, runs by id.
    static func rank(_ dimension: ReportDimension, _ value: String, _ firstSeen: [String: Int]) -> Int {
        switch dimension {
        case .model: firstSeen[value] ?? Int.max
        case .value: ValueOrientation.allCases.firstIndex { $0.rawValue == value } ?? 9
        case .goal: GoalCondition.allCases.firstIndex { $0.rawValue == value } ?? 9
        case .optionOrder: OptionOrder.allCases.firstIndex { $0.rawValue == value } ?? 9
        case .run: Int(value) ?? Int.max
        }
    }
}
