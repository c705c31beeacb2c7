import Foundation
import GRDB
import Store

/// One cell of the headline table: a model under one assigned value and goal condition.
public struct VRCell: Sendable, Equatable, Codable {
    public var model: String
    public var value: String
    public var goal: String
    /// Trials in the cell, whatever their status.
    public var n: Int
    /// Trials without an angle (incomplete or failed): counted here, never as a zero VR.
    public var nIncomplete: Int
    /// Over complete trials only; nil when there are none.
    public var meanVR: Double?
    /// Sample standard deviation (n - 1); nil with fewer than two complete trials.
    public var sdVR: Double?
    public var meanAngle: Double?
    public var hitRate: Double?

    enum CodingKeys: String, CodingKey {
        case model, value, goal, n
        case nIncomplete = "n_incomplete", meanVR = "mean_vr", sdVR = "sd_vr", meanAngle = "mean_angle", hitRate = "hit_rate"
    }
}

/// Mean value rationality per model x value x goal over a set of runs (method.md §5).
public struct VRReport: Sendable, Equatable {
    public var runIDs: [Int64]
    public var cells: [VRCell]

    /// Aggregates the trials of `runIDs` from the `trial_results` view.
    public static func build(store: ExperimentStore, runIDs: [Int64]) async throws -> VRReport {
        let rows = try await store.pool.read { db in
            try TrialResult.fetchAll(db, sql: """
                SELECT model, value, goal, status, vr, angle, hit FROM trial_results
                WHERE run_id IN \(sqlList(runIDs))
                ORDER BY trial_id
                """, arguments: StatementArguments(runIDs))
        }
        struct Key: Hashable { let model: String, value: String, goal: String }
        var order: [Key] = []
        var groups: [Key: [TrialResult]] = [:]
        for row in rows {
            let key = Key(model: row.model, value: row.value, goal: row.goal)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(row)
        }
        let valueRank = ["altruistic": 0, "prosocial": 1, "individualistic": 2, "competitive": 3]
        let modelRank = Dictionary(order.map(\.model).enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: min)
        order.sort {
            (modelRank[$0.model]!, valueRank[$0.value] ?? 9, $0.goal) < (modelRank[$1.model]!, valueRank[$1.value] ?? 9, $1.goal)
        }
        let cells = order.map { key -> VRCell in
            let trials = groups[key]!
            let complete = trials.filter { $0.status == "complete" }
            let vrs = complete.compactMap(\.vr)
            return VRCell(model: key.model, value: key.value, goal: key.goal, n: trials.count,
                          nIncomplete: trials.count - complete.count,
                          meanVR: Statistics.mean(vrs), sdVR: Statistics.sampleSD(vrs),
                          meanAngle: Statistics.mean(complete.compactMap(\.angle)),
                          hitRate: Statistics.mean(complete.compactMap(\.hit)))
        }
        return VRReport(runIDs: runIDs, cells: cells)
    }

    private static func sqlList(_ ids: [Int64]) -> String {
        "(" + Array(repeating: "?", count: max(ids.count, 1)).joined(separator: ", ") + ")"
    }
}

/// The columns of `trial_results` the report needs.
struct TrialResult: Decodable, Sendable, FetchableRecord {
    var model: String
    var value: String
    var goal: String
    var status: String
    var vr: Double?
    var angle: Double?
    var hit: Double?
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
}
