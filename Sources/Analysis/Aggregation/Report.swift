import Domain
import Foundation
import SVO
import Store
import Synchronization

/// What a report's rows are grouped by.
public enum ReportDimension: String, CaseIterable, Sendable, Codable {
    case model, value, goal
    case optionOrder = "option_order"
    case placement, variant, instrument
    case run

    /// The group value of a trial along this dimension.
    public func value(of trial: TrialResult) -> String {
        switch self {
        case .model: trial.key.model
        case .value: trial.key.assignment.label
        case .goal: trial.key.goal.rawValue
        case .optionOrder: trial.key.optionOrder.rawValue
        case .placement: trial.key.placement.rawValue
        case .variant: trial.key.variant
        case .instrument: trial.key.instrument
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

    public init(
        groupBy: [ReportDimension] = [.model, .value, .goal], resamples: Int = 10_000,
        seed: UInt64 = 20_230_527, confidence: Double = 0.95
    ) {
        self.groupBy = groupBy
        self.resamples = resamples
        self.seed = seed
        self.confidence = confidence
    }

    enum CodingKeys: String, CodingKey {
        case groupBy = "group_by"
        case resamples, seed, confidence
    }
}

/// One group of trials and its statistics (method.md §5).
public struct ReportCell: Sendable, Equatable, Codable {
    /// The group's value for each grouping dimension, in the report's order.
    public var group: [String]
    /// Trials of the group, whatever their status: complete, incomplete, failed and unfinished
    /// add up to it. Only complete trials have an angle; the others are counted, never scored as zero.
    public var n: Int
    public var nComplete: Int
    /// Trials whose model left an item unanswered.
    public var nIncomplete: Int
    /// Trials the provider failed (an error that retries did not overcome).
    public var nFailed: Int
    /// Trials not run to their end yet (pending or running): the run was stopped, or goes on.
    public var nUnfinished: Int
    public var meanVR: Double?
    /// Sample standard deviation (n - 1); nil with fewer than two complete trials.
    public var sdVR: Double?
    /// Percentile bootstrap interval of mean VR; nil below `Statistics.intervalMinimum` complete
    /// trials (`tooFewForInterval`).
    public var ciLow: Double?
    public var ciHigh: Double?
    public var meanAngle: Double?
    /// θ of the allocations averaged over the group's complete trials.
    public var pooledAngle: Double?
    public var hitRate: Double?
    public var transitiveShare: Double?
    /// Mean inequality-aversion index over the trials that have one (full instrument, prosocial).
    public var meanInequalityAversion: Double?
    /// Mean expected angle (from the letters' probabilities) over the complete trials that have
    /// one, and mean choice entropy in bits (method.md §8.7); nil for models read from text only.
    public var meanExpectedAngle: Double?
    public var meanEntropy: Double?
    /// The values the group's instrument cannot tell its value from (the dictator game:
    /// individualistic and competitive both keep every token); empty for most groups. Such a
    /// group has no VR, hit rate or interval: the instrument cannot measure them (`Instrument.indistinguishable`).
    public var indistinguishableFrom: [String] = []

    /// Whether the cell has a mean but too few complete trials for an interval: shown flagged (†).
    public var tooFewForInterval: Bool { meanVR != nil && !Statistics.supportsInterval([nComplete]) }

    enum CodingKeys: String, CodingKey {
        case group, n
        case nComplete = "n_complete"
        case nIncomplete = "n_incomplete"
        case nFailed = "n_failed"
        case nUnfinished = "n_unfinished"
        case meanVR = "mean_vr"
        case sdVR = "sd_vr"
        case ciLow = "ci_low"
        case ciHigh = "ci_high"
        case meanAngle = "mean_angle"
        case pooledAngle = "pooled_angle"
        case hitRate = "hit_rate"
        case transitiveShare = "transitive_share"
        case meanInequalityAversion = "mean_inequality_aversion"
        case meanExpectedAngle = "mean_expected_angle"
        case meanEntropy = "mean_entropy"
        case indistinguishableFrom = "indistinguishable_from"
    }

    /// The statistics of one group of trials (rows of `trial_results`): the one place hvae
    /// aggregates trials. Means are over the trials `trial_results` calls complete.
    /// With a `memo`, an interval computed before for the same values is taken from it.
    public static func aggregate(
        _ group: [String], trials: [TrialResult], options: ReportOptions, memo: IntervalMemo? = nil
    ) -> ReportCell {
        let complete = trials.filter { $0.status == .complete }
        // One instrument and one value that it cannot tell from another: no VR to give.
        let instruments = Set(trials.map(\.key.instrument))
        // The pooled angle of one measure (the slider's items 1-6, asked alone or with 7-15).
        let instrument =
            Set(instruments.map(Instruments.measure)).count == 1 ? Instruments.named(instruments.first!) : nil
        let values = Set(trials.map(\.key.assignment))
        let indistinguishable: [String] =
            values.count == 1 && instruments.count == 1
            ? (values.first!.value.flatMap { Instruments.indistinguishable[instruments.first!]?[$0] } ?? [])
                .map(\.rawValue) : []
        let vrs = indistinguishable.isEmpty ? complete.compactMap(\.vr) : []
        let seed = SplitMix64.mix(options.seed, Statistics.stableHash(group))
        // `map`, not `?.`: a cell the memo has no interval for (too few values) is not
        // bootstrapped a second time.
        let (resamples, confidence) = (options.resamples, options.confidence)
        let interval =
            memo.map { $0.interval(vrs, resamples: resamples, confidence: confidence, seed: seed) }
            ?? Statistics.bootstrapInterval(vrs, resamples: resamples, confidence: confidence, seed: seed)
        let means = complete.compactMap { trial in trial.meanSelf.flatMap { own in trial.meanOther.map { (own, $0) } } }
        // Each instrument has its own centre: means of different instruments have no pooled angle.
        let pooled = instrument.flatMap { instrument in
            Statistics.mean(means.map(\.0)).flatMap { own in
                Statistics.mean(means.map(\.1)).map { instrument.pooledAngle(meanOwn: own, meanOther: $0) }
            }
        }
        return ReportCell(
            group: group, n: trials.count, nComplete: complete.count,
            nIncomplete: trials.count { $0.status == .incomplete }, nFailed: trials.count { $0.status == .failed },
            nUnfinished: trials.count { $0.status == .pending || $0.status == .running },
            meanVR: Statistics.mean(vrs), sdVR: Statistics.sampleSD(vrs),
            ciLow: interval?.low, ciHigh: interval?.high,
            meanAngle: Statistics.mean(complete.compactMap(\.angle)), pooledAngle: pooled,
            hitRate: indistinguishable.isEmpty ? Statistics.mean(complete.compactMap(\.hit).map { $0 ? 1 : 0 }) : nil,
            transitiveShare: Statistics.mean(complete.compactMap(\.transitive).map { $0 ? 1 : 0 }),
            meanInequalityAversion: Statistics.mean(complete.compactMap(\.inequalityAversion)),
            meanExpectedAngle: Statistics.mean(complete.compactMap(\.expectedAngle)),
            meanEntropy: Statistics.mean(complete.compactMap(\.meanEntropy)),
            indistinguishableFrom: indistinguishable)
    }
}

/// How one model's answers came, over the scored trials of a report (formula 3 and later): what
/// VR does not show, a model that wins its items on re-asks, or that invents payoffs.
public struct AnswerQuality: Sendable, Equatable, Codable {
    public var model: String
    public var itemsAnswered: Int
    /// Items answered only on a re-ask.
    public var answeredOnReask: Int
    /// Item replies, read or not: the answered items and the unreadable replies.
    public var replies: Int
    /// Replies not read as one option (each was re-asked).
    public var unreadable: Int
    /// Answers whose reply quoted payoffs that are no option's.
    public var inventedPayoffs: Int

    public var reaskShare: Double? { itemsAnswered > 0 ? Double(answeredOnReask) / Double(itemsAnswered) : nil }
    public var unreadableShare: Double? { replies > 0 ? Double(unreadable) / Double(replies) : nil }
    public var inventedShare: Double? { itemsAnswered > 0 ? Double(inventedPayoffs) / Double(itemsAnswered) : nil }

    enum CodingKeys: String, CodingKey {
        case model, replies, unreadable
        case itemsAnswered = "items_answered"
        case answeredOnReask = "answered_on_reask"
        case inventedPayoffs = "invented_payoffs"
    }

    /// Per model, in order of first appearance, over the trials scored by formula 3 or later.
    public static func of(_ trials: [TrialResult]) -> [AnswerQuality] {
        var order: [String] = []
        var byModel: [String: AnswerQuality] = [:]
        for trial in trials {
            guard let answered = trial.answeredItems else { continue }
            let model = trial.key.model
            if byModel[model] == nil {
                order.append(model)
                byModel[model] = AnswerQuality(
                    model: model, itemsAnswered: 0, answeredOnReask: 0, replies: 0, unreadable: 0, inventedPayoffs: 0)
            }
            let unreadable = trial.unreadableReplies ?? 0
            byModel[model]!.itemsAnswered += answered
            byModel[model]!.answeredOnReask += trial.reaskedItems ?? 0
            byModel[model]!.replies += answered + unreadable
            byModel[model]!.unreadable += unreadable
            byModel[model]!.inventedPayoffs += trial.inventedPayoffs ?? 0
        }
        return order.map { byModel[$0]! }
    }

    /// The footer lines of a report's table: one per model, or one line when every answer came
    /// at its first ask, readable and with true payoffs.
    public static func notes(_ models: [AnswerQuality]) -> [String] {
        guard !models.isEmpty else { return [] }
        func percent(_ share: Double?) -> String { share.map { String(format: "%.1f%%", $0 * 100) } ?? "–" }
        if models.allSatisfy({ $0.answeredOnReask == 0 && $0.unreadable == 0 && $0.inventedPayoffs == 0 }) {
            return ["Answers: every item answered at its first ask; no reply unreadable; no payoffs invented."]
        }
        return models.map { quality in
            """
            Answers of \(quality.model): \(percent(quality.reaskShare)) of \(quality.itemsAnswered) items answered on \
            a re-ask; \(percent(quality.unreadableShare)) of \(quality.replies) replies unreadable; \
            \(percent(quality.inventedShare)) of answers with invented payoffs.
            """
        }
    }
}

/// Aggregated results of a set of trials.
public struct Report: Sendable, Equatable {
    public var filter: TrialFilter
    public var options: ReportOptions
    public var cells: [ReportCell]
    /// How each model's answers came (`AnswerQuality`).
    public var answers: [AnswerQuality] = []

    /// The cell whose group has these values (in `options.groupBy` order).
    public func cell(_ group: String...) -> ReportCell? { cells.first { $0.group == group } }

    /// A line for standard error when the report counts unfinished trials (a stopped or running
    /// run's): they are in `n` and not scored, and a mean over the others may still move.
    public var unfinishedWarning: String? {
        let unfinished = cells.reduce(0) { $0 + $1.nUnfinished }
        guard unfinished > 0 else { return nil }
        let runs = filter.runIDs.map(String.init).joined(separator: ", ")
        return """
            warning: \(unfinished) of these \(cells.reduce(0) { $0 + $1.n }) trials are unfinished (pending or \
            running: their run has not ended), counted in n and in the unfinished column, never scored; \
            `hvae resume` runs them (run\(filter.runIDs.count == 1 ? "" : "s") \(runs))
            """
    }

    /// Aggregates the trials that `filter` selects, grouped as `options` says.
    public static func build(
        store: ExperimentStore, filter: TrialFilter, options: ReportOptions = ReportOptions(),
        memo: IntervalMemo? = nil
    ) async throws -> Report {
        build(try await store.trialResults(filter), filter: filter, options: options, memo: memo)
    }

    /// Aggregates `trials`, grouped as `options` says, in the study's order. A `memo` gives the
    /// intervals of cells whose values it has seen (the same numbers, bit for bit). Trials of
    /// different measures are never pooled (`Instrument.measure`): with more than one, the groups
    /// split by instrument (after the model) whether or not `options` says so. The slider and
    /// slider-full are one measure, pooled as they always were.
    public static func build(
        _ trials: [TrialResult], filter: TrialFilter, options: ReportOptions = ReportOptions(),
        memo: IntervalMemo? = nil
    ) -> Report {
        var options = options
        if !options.groupBy.contains(.instrument), InstrumentSplit.splits(trials) {
            options.groupBy.insert(.instrument, at: options.groupBy.firstIndex(of: .model).map { $0 + 1 } ?? 0)
        }
        let groups = TrialGroups(trials, by: options.groupBy)
        let (keys, members) = (groups.keys, groups.members)
        // Cells are independent (each bootstrap has its own seed): computed in parallel.
        let cells = Mutex([ReportCell?](repeating: nil, count: keys.count))
        let grouped = options
        DispatchQueue.concurrentPerform(iterations: keys.count) { index in
            let cell = ReportCell.aggregate(keys[index], trials: members[index], options: grouped, memo: memo)
            cells.withLock { $0[index] = cell }
        }
        return Report(
            filter: filter, options: options, cells: cells.withLock { $0.compactMap { $0 } },
            answers: AnswerQuality.of(trials))
    }
}
