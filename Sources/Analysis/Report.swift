import Foundation
import GRDB
import Store
import SVO

/// What a report's rows are grouped by.
public enum ReportDimension: String, CaseIterable, Sendable, Codable {
    case model, value, goal, optionOrder = "option_order", run
}

/// Which trials a report covers.
public struct ReportFilter: Sendable, Equatable, Codable {
    public var runIDs: [Int64]
    public var models: [String] = []
    public var values: [String] = []
    public var goals: [String] = []
    public var optionOrders: [String] = []
    /// Use metrics computed from answers of at most this parser version (nil: the newest).
    public var parserVersion: Int?
    /// Use metric formulas of at most this version (nil: the newest).
    public var formulaVersion: Int?

    public init(runIDs: [Int64], models: [String] = [], values: [String] = [], goals: [String] = [], optionOrders: [String] = [],
                parserVersion: Int? = nil, formulaVersion: Int? = nil) {
        self.runIDs = runIDs
        self.models = models
        self.values = values
        self.goals = goals
        self.optionOrders = optionOrders
        self.parserVersion = parserVersion
        self.formulaVersion = formulaVersion
    }

    enum CodingKeys: String, CodingKey {
        case runIDs = "run_ids", models, values, goals, optionOrders = "option_orders"
        case parserVersion = "parser_version", formulaVersion = "formula_version"
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
    public var n: Int
    /// Trials with no angle (incomplete or failed): counted, never scored as zero.
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

    enum CodingKeys: String, CodingKey {
        case group, n
        case nIncomplete = "n_incomplete", meanVR = "mean_vr", sdVR = "sd_vr", ciLow = "ci_low", ciHigh = "ci_high"
        case meanAngle = "mean_angle", pooledAngle = "pooled_angle", hitRate = "hit_rate"
        case transitiveShare = "transitive_share", meanInequalityAversion = "mean_inequality_aversion"
    }
}

/// Aggregated results of a set of trials.
public struct Report: Sendable, Equatable {
    public var filter: ReportFilter
    public var options: ReportOptions
    public var cells: [ReportCell]

    /// The cell whose group has these values (in `options.groupBy` order).
    public func cell(_ group: String...) -> ReportCell? { cells.first { $0.group == group } }

    /// Aggregates the trials that `filter` selects, grouped as `options` says.
    public static func build(store: ExperimentStore, filter: ReportFilter, options: ReportOptions = ReportOptions()) async throws -> Report {
        let trials = try await TrialRow.fetchAll(store: store, filter: filter)
        struct Key: Hashable { let values: [String] }
        var order: [Key] = []
        var groups: [Key: [TrialRow]] = [:]
        for trial in trials {
            let key = Key(values: options.groupBy.map { trial.value(of: $0) })
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(trial)
        }
        let firstSeen = Dictionary(trials.enumerated().map { ($0.element.model, $0.offset) }, uniquingKeysWith: min)
        order.sort { (lhs: Key, rhs: Key) -> Bool in
            for (index, dimension) in options.groupBy.enumerated() where lhs.values[index] != rhs.values[index] {
                return rank(dimension, lhs.values[index], firstSeen) < rank(dimension, rhs.values[index], firstSeen)
            }
            return false
        }
        // Cells are independent (each bootstrap has its own seed): compute them in parallel.
        let cells = await withTaskGroup(of: (Int, ReportCell).self) { group in
            for (index, key) in order.enumerated() {
                let trials = groups[key]!
                group.addTask { (index, cell(key.values, trials: trials, options: options)) }
            }
            var cells = [ReportCell?](repeating: nil, count: order.count)
            for await (index, cell) in group { cells[index] = cell }
            return cells.compactMap { $0 }
        }
        return Report(filter: filter, options: options, cells: cells)
    }

    static func cell(_ group: [String], trials: [TrialRow], options: ReportOptions) -> ReportCell {
        let complete = trials.filter { $0.status == "complete" }
        let vrs = complete.compactMap(\.vr)
        let interval = Statistics.bootstrapInterval(vrs, resamples: options.resamples, confidence: options.confidence,
                                                    seed: SplitMix64.mix(options.seed, stableHash(group)))
        let allocations = complete.compactMap { trial in
            trial.meanOwn.flatMap { own in trial.meanOther.map { (own, $0) } }
        }
        var pooled: Double?
        if !allocations.isEmpty {
            let own = allocations.map(\.0).reduce(0, +) / Double(allocations.count)
            let other = allocations.map(\.1).reduce(0, +) / Double(allocations.count)
            pooled = atan2(other - 50, own - 50) * 180 / .pi
        }
        return ReportCell(group: group, n: trials.count, nIncomplete: trials.count - complete.count,
                          meanVR: Statistics.mean(vrs), sdVR: Statistics.sampleSD(vrs),
                          ciLow: interval?.low, ciHigh: interval?.high,
                          meanAngle: Statistics.mean(complete.compactMap(\.angle)), pooledAngle: pooled,
                          hitRate: Statistics.mean(complete.compactMap(\.hit)),
                          transitiveShare: Statistics.mean(complete.compactMap(\.transitive)),
                          meanInequalityAversion: Statistics.mean(complete.compactMap(\.inequalityAversion)))
    }

    /// Where a group value sorts: models as they first appear, values in the study's A, P, I, C
    /// order, goal with before without, option orders as declared, runs by id.
    static func rank(_ dimension: ReportDimension, _ value: String, _ firstSeen: [String: Int]) -> Int {
        switch dimension {
        case .model: firstSeen[value] ?? Int.max
        case .value: ValueOrientation.allCases.firstIndex { $0.rawValue == value } ?? 9
        case .goal: value == "with" ? 0 : 1
        case .optionOrder: OptionOrder.allCases.firstIndex { $0.rawValue == value } ?? 9
        case .run: Int(value) ?? Int.max
        }
    }

    /// A hash of a group's values that does not change between runs of the program.
    static func stableHash(_ values: [String]) -> UInt64 {
        SHA256.digest(Data(values.joined(separator: "\u{1F}").utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension Report {
    /// The angle of every complete trial that `filter` selects, for the ring figure.
    public static func trialAngles(store: ExperimentStore, filter: ReportFilter) async throws -> [RingChart.Point] {
        try await TrialRow.fetchAll(store: store, filter: filter)
            .filter { $0.status == "complete" }
            .compactMap { trial in trial.angle.map { RingChart.Point(model: trial.model, value: trial.value, angle: $0) } }
    }
}

/// The per-trial facts a report needs.
struct TrialRow: Sendable {
    var trialId: Int64
    var runId: Int64
    var model: String
    var value: String
    var goal: String
    var optionOrder: String
    var status: String
    var vr: Double?
    var angle: Double?
    var hit: Double?
    var transitive: Double?
    var inequalityAversion: Double?
    var meanOwn: Double?
    var meanOther: Double?

    init(trialId: Int64, runId: Int64, model: String, value: String, goal: String, optionOrder: String, status: String) {
        self.trialId = trialId
        self.runId = runId
        self.model = model
        self.value = value
        self.goal = goal
        self.optionOrder = optionOrder
        self.status = status
    }

    func value(of dimension: ReportDimension) -> String {
        switch dimension {
        case .model: model
        case .value: value
        case .goal: goal
        case .optionOrder: optionOrder
        case .run: String(runId)
        }
    }

    /// The metrics a report reads, and the field each fills.
    static var metrics: [(name: String, field: WritableKeyPath<TrialRow, Double?>)] { [
        ("vr", \.vr), ("angle", \.angle), ("hit", \.hit), ("transitive", \.transitive),
        ("inequality_aversion", \.inequalityAversion), ("mean_self", \.meanOwn), ("mean_other", \.meanOther),
    ] }

    /// The selected trials with their newest metrics. Same meaning as the `trial_results` view,
    /// read metric by metric through the `trial_metrics_by_metric` covering index, the metrics in
    /// parallel on the pool's readers: pivoting the view over a million-call database takes
    /// seconds, this a fraction of one.
    static func fetchAll(store: ExperimentStore, filter: ReportFilter) async throws -> [TrialRow] {
        var trials = try await store.pool.read { db in try fetchTrials(db, filter: filter) }
        guard let first = trials.first?.trialId, let last = trials.last?.trialId else { return [] }
        var position: [Int64: Int] = [:]
        position.reserveCapacity(trials.count)
        for (index, trial) in trials.enumerated() { position[trial.trialId] = index }
        let names = metrics.map(\.name)
        let columns = try await withThrowingTaskGroup(of: (Int, [(Int64, Double?)]).self) { group in
            for (index, name) in names.enumerated() {
                group.addTask {
                    (index, try await store.pool.read { db in
                        // The newest formula version of each trial's metric (SQLite takes `value` from the max row).
                        let statement = try db.cachedStatement(sql: """
                            SELECT trial_id, value, max(formula_version * 65536 + parser_version) FROM trial_metrics
                            WHERE metric = ? AND trial_id BETWEEN ? AND ? AND formula_version <= ? AND parser_version <= ?
                            GROUP BY trial_id
                            """)
                        var pairs: [(Int64, Double?)] = []
                        let rows = try Row.fetchCursor(statement, arguments: [name, first, last, filter.formulaVersion ?? Int(Int32.max),
                                                                              filter.parserVersion ?? Int(Int32.max)])
                        while let row = try rows.next() { pairs.append((row[0], row[1])) }
                        return pairs
                    })
                }
            }
            var columns = [[(Int64, Double?)]](repeating: [], count: names.count)
            for try await (index, pairs) in group { columns[index] = pairs }
            return columns
        }
        for (metric, pairs) in zip(metrics, columns) {
            for (trialID, value) in pairs {
                if let index = position[trialID] { trials[index][keyPath: metric.field] = value }
            }
        }
        for index in trials.indices where ["complete", "incomplete"].contains(trials[index].status) {
            trials[index].status = trials[index].angle == nil ? "incomplete" : "complete"
        }
        return trials
    }

    static func fetchTrials(_ db: Database, filter: ReportFilter) throws -> [TrialRow] {
        var conditions: [SQL] = ["run_id IN \(filter.runIDs)"]
        if !filter.models.isEmpty { conditions.append("model IN \(filter.models)") }
        if !filter.values.isEmpty { conditions.append("value IN \(filter.values)") }
        if !filter.goals.isEmpty { conditions.append("goal IN \(filter.goals)") }
        if !filter.optionOrders.isEmpty { conditions.append("option_order IN \(filter.optionOrders)") }
        let request: SQLRequest<Row> = """
            SELECT id, run_id, model, value, goal, option_order, status FROM trials
            WHERE \(conditions.joined(operator: .and)) ORDER BY id
            """
        // As in `trial_results`, a scored trial's status follows its newest angle (see below).
        var trials: [TrialRow] = []
        let cursor = try Row.fetchCursor(db, request)
        while let row = try cursor.next() {
            trials.append(TrialRow(trialId: row[0], runId: row[1], model: row[2], value: row[3], goal: row[4],
                                   optionOrder: row[5], status: row[6]))
        }
        return trials
    }
}

/// Plain descriptive statistics.
public enum Statistics {
    public static func mean(_ xs: [Double]) -> Double? {
        xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
    }

    /// Sample standard deviation (divisor n - 1), computed in two passes.
    public static func sampleSD(_ xs: [Double]) -> Double? {
        guard xs.count > 1, let m = mean(xs) else { return nil }
        return (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count - 1)).squareRoot()
    }

    /// The percentile bootstrap interval of the mean: `resamples` means of samples drawn with
    /// replacement, seeded so the same data and seed give the same interval.
    public static func bootstrapInterval(_ xs: [Double], resamples: Int, confidence: Double, seed: UInt64) -> (low: Double, high: Double)? {
        guard xs.count > 1, resamples > 0 else { return nil }
        var rng = SplitMix64(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        xs.withUnsafeBufferPointer { values in
            let n = UInt64(values.count)
            for b in 0..<resamples {
                // Two draws per 64 random bits (32-bit multiply-shift each): the inner loop is most
                // of a report's time; the bias, below n / 2^32, is far under what a bootstrap shows.
                var sum = 0.0
                var k = 0
                let pairs = n <= UInt64(UInt32.max) ? values.count / 2 * 2 : 0
                while k < pairs {
                    let r = rng.next()
                    sum += values[Int(((r & 0xFFFF_FFFF) &* n) >> 32)]
                    sum += values[Int(((r >> 32) &* n) >> 32)]
                    k += 2
                }
                while k < values.count {
                    sum += values[uniformIndex(&rng, values.count)]
                    k += 1
                }
                means[b] = sum / Double(values.count)
            }
        }
        means.sort()
        let alpha = (1 - confidence) / 2
        return (quantile(means, alpha), quantile(means, 1 - alpha))
    }

    /// A uniform index below `count` by multiply-shift (Lemire): no division in the inner loop;
    /// its bias, below count / 2^64, is far under anything a bootstrap can show.
    @inline(__always)
    static func uniformIndex(_ rng: inout SplitMix64, _ count: Int) -> Int {
        Int(rng.next().multipliedFullWidth(by: UInt64(count)).high)
    }

    /// Linear-interpolation quantile of sorted values (type 7, as R and NumPy default).
    static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        let h = Double(sorted.count - 1) * p
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}
