import Foundation
import GRDB

/// Timestamps are stored as ISO 8601 UTC text with milliseconds, readable in sqlite3 and sortable.
public enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    public static func string(_ date: Date) -> String { style.format(date) }
    public static var now: String { string(Date()) }
    /// The date a stored timestamp names; nil if it is not one.
    public static func date(_ text: String) -> Date? { try? style.parse(text) }
}

/// The lifecycle of a run.
public enum RunStatus: String, Codable, Sendable, DatabaseValueConvertible, CaseIterable {
    case pending, running, finished, interrupted, failed
}

/// The lifecycle of a trial. `incomplete`: an item stayed unanswered after every attempt, so
/// the trial has no angle; `failed`: the provider failed, so the trial stopped.
public enum TrialStatus: String, Codable, Sendable, DatabaseValueConvertible, CaseIterable {
    case pending, running, complete, incomplete, failed
}

/// A row of `runs`.
public struct RunRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "runs"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var name: String
    public var description: String
    public var status: RunStatus
    public var experimentJson: String
    public var experimentSha256: String
    public var seed: Int64
    public var toolVersion: String
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    /// The commit hvae was built from; "unknown" outside a git checkout.
    public var gitCommit: String?
    public var os: String?
    public var host: String?
    /// Filled in by the store when the run is created.
    public var sqliteVersion: String?
    /// The run this one reproduces, for `hvae reproduce`.
    public var reproducesRunId: Int64?
    /// True when every reply was served from the reproduced run's stored replies.
    public var replay = false
    /// Identity across databases (a UUID), for merging.
    public var uid: String? = UUID().uuidString
    /// "i/n" for one slice of a sharded experiment, "merged" once its slices are joined.
    public var shard: String?
    /// Shared by the slices of one sharded experiment: its SHA-256 and the number of slices.
    public var shardGroup: String?
    /// "HOST PID" of the process running the run, while one is (see `ExperimentStore.claimRun`).
    public var owner: String?
    /// When the owner last said it was alive.
    public var heartbeatAt: String?

    public init(name: String, description: String, experimentJson: String, seed: Int64, toolVersion: String) {
        self.name = name
        self.description = description
        self.status = .pending
        self.experimentJson = experimentJson
        self.experimentSha256 = SHA256.hex(experimentJson)
        self.seed = seed
        self.toolVersion = toolVersion
        self.createdAt = Timestamp.now
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A row of `trials`.
public struct TrialRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "trials"
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public static let databaseColumnEncodingStrategy = DatabaseColumnEncodingStrategy.convertToSnakeCase

    public var id: Int64?
    public var runId: Int64
    public var model: String
    public var provider: String
    public var value: String
    public var goal: String
    public var optionOrder: String
    public var trialIndex: Int
    public var seed: Int64
    public var status: TrialStatus
    public var error: String?
    public var startedAt: String?
    public var finishedAt: String?

    public init(runId: Int64, model: String, provider: String, value: String, goal: String,
                optionOrder: String, trialIndex: Int, seed: Int64) {
        self.runId = runId
        self.model = model
        self.provider = provider
        self.value = value
        self.goal = goal
        self.optionOrder = optionOrder
        self.trialIndex = trialIndex
        self.seed = seed
        self.status = .pending
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

// Rows by hand rather than through Codable: a run inserts and reads back every one of its trials,
// which cost about 34 µs of CPU a trial through GRDB's Codable path and 14 µs written out
// (perf of `hvae-bench phase runner`).
extension TrialRecord {
    public init(row: Row) throws {
        id = row["id"]
        runId = row["run_id"]
        model = row["model"]
        provider = row["provider"]
        value = row["value"]
        goal = row["goal"]
        optionOrder = row["option_order"]
        trialIndex = row["trial_index"]
        seed = row["seed"]
        status = row["status"]
        error = row["error"]
        startedAt = row["started_at"]
        finishedAt = row["finished_at"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["run_id"] = runId
        container["model"] = model
        container["provider"] = provider
        container["value"] = value
        container["goal"] = goal
        container["option_order"] = optionOrder
        container["trial_index"] = trialIndex
        container["seed"] = seed
        container["status"] = status
        container["error"] = error
        container["started_at"] = startedAt
        container["finished_at"] = finishedAt
    }
}

/// One message of a chat conversation.
public struct ChatMessage: Codable, Sendable, Hashable {
    public enum Role: String, Codable, Sendable, CaseIterable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(_ role: Role, _ content: String) {
        self.role = role
        self.content = content
    }
}

/// Which step of the trial protocol a call belongs to.
public enum CallStep: Sendable, Hashable {
    case value, goal, item(Int)

    /// The `step` column: value, goal or item.
    public var name: String {
        switch self {
        case .value: "value"
        case .goal: "goal"
        case .item: "item"
        }
    }

    /// The `item` column: the item number for item steps.
    public var item: Int? {
        if case .item(let n) = self { return n }
        return nil
    }
}

/// The parser's reading of an item reply, as stored in `answers`.
public struct AnswerRow: Sendable, Hashable {
    public var parserVersion: Int
    public var status: String
    public var item: Int
    public var shownLetter: String?
    public var option: String?
    public var own: Int?
    public var other: Int?

    public init(parserVersion: Int, status: String, item: Int, shownLetter: String?, option: String?, own: Int?, other: Int?) {
        self.parserVersion = parserVersion
        self.status = status
        self.item = item
        self.shownLetter = shownLetter
        self.option = option
        self.own = own
        self.other = other
    }
}

/// Everything about one model call, persisted in one transaction by `ExperimentStore.record(_:trialID:)`.
public struct CallOutcome: Sendable {
    public var step: CallStep
    public var attempt: Int
    /// 0 for the first try of this request, 1, 2... for transport retries (429, 5xx, timeouts).
    public var retry: Int
    /// The HTTP status, for calls to a model API.
    public var httpStatus: Int?
    /// The whole conversation sent, ending with the newest user message.
    public var request: [ChatMessage]
    /// The reply text; nil when the call failed.
    public var reply: String?
    public var rawResponse: String?
    public var providerModelID: String?
    public var systemFingerprint: String?
    public var finishReason: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var latencyMs: Double
    public var error: String?
    public var startedAt: Date
    public var finishedAt: Date
    /// The parsed answer, for item steps whose call returned a reply.
    public var answer: AnswerRow?
    /// What makes the request the same as another, for the response cache.
    public var requestKey: String?
    /// True when the reply came from the cache, not from the model.
    public var cacheHit = false

    public init(step: CallStep, attempt: Int, retry: Int = 0, httpStatus: Int? = nil, request: [ChatMessage],
                reply: String?, rawResponse: String? = nil,
                providerModelID: String? = nil, systemFingerprint: String? = nil, finishReason: String? = nil, inputTokens: Int? = nil,
                outputTokens: Int? = nil, latencyMs: Double, error: String? = nil, startedAt: Date,
                finishedAt: Date, answer: AnswerRow? = nil, requestKey: String? = nil, cacheHit: Bool = false) {
        self.requestKey = requestKey
        self.cacheHit = cacheHit
        self.step = step
        self.attempt = attempt
        self.retry = retry
        self.httpStatus = httpStatus
        self.request = request
        self.reply = reply
        self.rawResponse = rawResponse
        self.providerModelID = providerModelID
        self.systemFingerprint = systemFingerprint
        self.finishReason = finishReason
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.latencyMs = latencyMs
        self.error = error
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.answer = answer
    }
}

/// One value of one per-trial metric, with the formula that produced it.
public struct MetricValue: Sendable, Hashable {
    public var metric: String
    public var formula: String
    public var formulaVersion: Int
    /// The parser version of the answers it was computed from.
    public var parserVersion: Int = 1
    public var value: Double?
    public var label: String?

    public init(metric: String, formula: String, formulaVersion: Int, value: Double) {
        self.metric = metric
        self.formula = formula
        self.formulaVersion = formulaVersion
        self.value = value
    }

    public init(metric: String, formula: String, formulaVersion: Int, label: String) {
        self.metric = metric
        self.formula = formula
        self.formulaVersion = formulaVersion
        self.label = label
    }
}

/// A row of the `vr_summary` view.
public struct VRSummaryRow: Codable, Sendable, FetchableRecord, Hashable {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public var runId: Int64
    public var model: String
    public var value: String
    public var goal: String
    public var n: Int
    public var nComplete: Int
    public var meanVr: Double?
    public var sdVr: Double?
    public var meanAngle: Double?
    public var hitRate: Double?
}
