import Domain
import Foundation
import GRDB
import SVO

/// The lifecycle of a run (`runs.status`).
public enum RunStatus: String, Sendable, CaseIterable, Codable {
    case pending, running, finished, interrupted
    /// Trials failed, or a model was stopped (a bad key, a server that cannot be reached): the
    /// reasons are stored; `hvae resume` tries the failed and unrun trials again.
    case failed
}

/// The lifecycle of a trial (`trials.status`). `incomplete`: an item stayed unanswered after
/// every attempt, so the trial has no angle; `failed`: the provider failed, so the trial stopped.
public enum TrialStatus: String, Sendable, CaseIterable {
    case pending, running, complete, incomplete, failed

    /// The status a scored trial has.
    public init(_ scored: ScoredStatus) { self = scored == .complete ? .complete : .incomplete }
}

/// A row of `runs`.
public struct RunRecord: Sendable, Equatable {
    public var id: Int64?
    public var name: String
    public var description: String
    public var status: RunStatus
    public var experimentJSON: String
    public var experimentSHA256: String
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
    public var reproducesRunID: Int64?
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
    /// How many trials the experiment plans for this run; nil for runs of schema 8 and before,
    /// whose trials were all stored when the run was created.
    public var plannedTrials: Int?
    /// Why the run stopped before its end, if it did.
    public var stopReason: String?

    public init(name: String, description: String, experimentJSON: String, seed: Int64, toolVersion: String) {
        self.name = name
        self.description = description
        self.status = .pending
        self.experimentJSON = experimentJSON
        self.experimentSHA256 = Digest.sha256Hex(experimentJSON)
        self.seed = seed
        self.toolVersion = toolVersion
        self.createdAt = Timestamp.now
    }

}

/// Read and written by column name, its columns those of its coding keys (GRDB's Codable records).
extension RunRecord: Codable, FetchableRecord, PersistableRecord, ListedColumnsRecord {
    public static let databaseTableName = "runs"
    typealias ListedColumns = CodingKeys

    /// The columns of `runs`: the one list its reads and writes name.
    enum CodingKeys: String, CodingKey, ColumnExpression, CaseIterable {
        case id, name, description, status, seed, os, host, replay, uid, shard, owner
        case experimentJSON = "experiment_json"
        case experimentSHA256 = "experiment_sha256"
        case toolVersion = "tool_version"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case gitCommit = "git_commit"
        case sqliteVersion = "sqlite_version"
        case reproducesRunID = "reproduces_run_id"
        case shardGroup = "shard_group"
        case heartbeatAt = "heartbeat_at"
        case plannedTrials = "planned_trials"
        case stopReason = "stop_reason"
    }
}

extension RunRecord {
    /// Whether the run's trials are stored as they start (schema 9), so that a resume walks the plan.
    public var storesTrialsAsTheyStart: Bool { plannedTrials != nil }
}

/// What identifies a trial within its run: its cell and replicate number.
public struct TrialKey: Sendable, Hashable, CustomStringConvertible {
    public var model: String
    /// What the trial was told to pursue: a named value or a target direction.
    public var assignment: Assignment
    public var goal: GoalCondition
    public var optionOrder: OptionOrder
    /// Where the value assignment sits in the conversation.
    public var placement: PersonaPlacement
    /// The name of the set of templates the trial was worded with (`default`: the experiment's own).
    public var variant: String
    /// The replicate number within the cell, from 1.
    public var index: Int
    /// The instrument the trial answers (`Instruments`): `slider` unless the experiment says otherwise.
    public var instrument: String

    public init(
        model: String, assignment: Assignment, goal: GoalCondition, optionOrder: OptionOrder,
        placement: PersonaPlacement = .user, variant: String = "default", instrument: String = Instruments.defaultName,
        index: Int
    ) {
        self.instrument = instrument
        self.model = model
        self.assignment = assignment
        self.goal = goal
        self.optionOrder = optionOrder
        self.placement = placement
        self.variant = variant
        self.index = index
    }

    /// A trial of the study's design, told a named value.
    public init(model: String, value: ValueOrientation, goal: GoalCondition, optionOrder: OptionOrder, index: Int) {
        self.init(model: model, assignment: .value(value), goal: goal, optionOrder: optionOrder, index: index)
    }

    /// The named value, or nil for a target trial.
    public var value: ValueOrientation? { assignment.value }

    /// θ* of the trial: its assignment's on its instrument.
    public var idealAngle: Double {
        Instruments.named(instrument)?.idealAngle(assignment) ?? assignment.idealAngle
    }

    public var description: String {
        let placed =
            (placement == .user ? "" : " \(placement.rawValue)") + (variant == "default" ? "" : " \(variant)")
            + (instrument == Instruments.defaultName ? "" : " \(instrument)")
        return "\(model) \(assignment.label) \(goal.rawValue) \(optionOrder.rawValue)\(placed) #\(index)"
    }
}

extension Assignment {
    /// The assignment of a stored trial: its `value`, or for NULL its `target_phi`. Nil when the
    /// value is one hvae does not know or does not match the direction.
    init?(value: String?, targetPhi: Double) {
        guard let value else {
            guard Assignment.directions.contains(targetPhi) else { return nil }
            self = .target(targetPhi)
            return
        }
        guard let named = ValueOrientation(rawValue: value), named.utilityDirection == targetPhi else { return nil }
        self = .value(named)
    }

    /// The `value` column: the name, or NULL for a target.
    var valueColumn: String? { value?.rawValue }
}

/// A row of `trials`.
public struct TrialRecord: Sendable, Equatable {
    public var id: Int64?
    public var runID: Int64
    public var key: TrialKey
    public var provider: String
    public var seed: Int64
    public var status: TrialStatus
    public var error: String?
    public var startedAt: String?
    public var finishedAt: String?
    /// The trial's place in the experiment's plan; nil for trials of schema 8 and before.
    public var ordinal: Int?

    public init(runID: Int64, key: TrialKey, provider: String, seed: Int64, ordinal: Int?) {
        self.runID = runID
        self.key = key
        self.provider = provider
        self.seed = seed
        self.status = .pending
        self.ordinal = ordinal
    }

}

/// Read and written by column name (GRDB's records): `Columns` is the one list of the columns.
extension TrialRecord: FetchableRecord, PersistableRecord, ListedColumnsRecord {
    public static let databaseTableName = "trials"
    typealias ListedColumns = Columns

    /// The columns of `trials` it reads and writes.
    public enum Columns: String, ColumnExpression, CaseIterable {
        case id, model, provider, value, goal, seed, status, error, ordinal, placement, variant, instrument, form
        case runID = "run_id"
        case optionOrder = "option_order"
        case trialIndex = "trial_index"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case targetPhi = "target_phi"
        case idealAngle = "ideal_angle"
    }

    /// Throws for a trial whose value, target, goal, order, placement or status hvae does not know.
    public init(row: Row) throws {
        guard let assignment = Assignment(value: row[Columns.value], targetPhi: row[Columns.targetPhi]),
            let goal = GoalCondition(rawValue: row[Columns.goal]),
            let order = OptionOrder(rawValue: row[Columns.optionOrder]),
            let status = TrialStatus(rawValue: row[Columns.status]),
            let placement = PersonaPlacement(rawValue: row[Columns.placement])
        else {
            throw DatabaseError(
                message:
                    "trial \(row[Columns.id] as Int64? ?? -1) has a value, target, goal, order, placement or status "
                    + "hvae does not know"
            )
        }
        id = row[Columns.id]
        runID = row[Columns.runID]
        key = TrialKey(
            model: row[Columns.model], assignment: assignment, goal: goal, optionOrder: order, placement: placement,
            variant: row[Columns.variant], instrument: row[Columns.instrument], index: row[Columns.trialIndex])
        provider = row[Columns.provider]
        seed = row[Columns.seed]
        self.status = status
        error = row[Columns.error]
        startedAt = row[Columns.startedAt]
        finishedAt = row[Columns.finishedAt]
        ordinal = row[Columns.ordinal]
    }

    public func encode(to container: inout PersistenceContainer) {
        container.encodeEach { (column: Columns) -> (any DatabaseValueConvertible)? in
            switch column {
            case .id: id
            case .runID: runID
            case .model: key.model
            case .provider: provider
            case .value: key.assignment.valueColumn
            case .goal: key.goal.rawValue
            case .optionOrder: key.optionOrder.rawValue
            case .trialIndex: key.index
            case .seed: seed
            case .status: status.rawValue
            case .error: error
            case .startedAt: startedAt
            case .finishedAt: finishedAt
            case .ordinal: ordinal
            case .targetPhi: key.assignment.direction
            case .idealAngle: key.idealAngle
            case .placement: key.placement.rawValue
            case .variant: key.variant
            case .instrument: key.instrument
            case .form: Instruments.named(key.instrument)?.form(seed: UInt64(bitPattern: seed)).label
            }
        }
    }
}

/// The parser's reading of an item reply, as stored in `answers`.
public struct AnswerRecord: Sendable, Hashable {
    public var parserVersion: Int
    public var status: AnswerStatus
    public var item: Int
    /// The letter the model chose, as shown to it; nil unless `status == .ok`.
    public var shownLetter: OptionLetter?
    /// The item's real option behind that letter.
    public var option: OptionLetter?
    /// The number the reply gave, for an item that takes one (the dictator game).
    public var number: Int?
    /// The coins of that answer for the model and for the other participant, as the trial showed them.
    public var payoff: Payoff?
    /// The reply quoted payoffs with its letter that are no option's (`ParsedAnswer`).
    public var mismatchedPayoffs: Bool

    public init(
        parserVersion: Int, status: AnswerStatus, item: Int, shownLetter: OptionLetter?, option: OptionLetter?,
        number: Int? = nil, payoff: Payoff?, mismatchedPayoffs: Bool = false
    ) {
        self.number = number
        self.payoff = payoff
        self.mismatchedPayoffs = mismatchedPayoffs
        self.parserVersion = parserVersion
        self.status = status
        self.item = item
        self.shownLetter = shownLetter
        self.option = option
    }

    /// A slider answer, its coins whole.
    public init(
        parserVersion: Int, status: AnswerStatus, item: Int, shownLetter: OptionLetter?, option: OptionLetter?,
        allocation: Allocation?, mismatchedPayoffs: Bool = false
    ) {
        self.init(
            parserVersion: parserVersion, status: status, item: item, shownLetter: shownLetter, option: option,
            payoff: allocation.map(Payoff.init), mismatchedPayoffs: mismatchedPayoffs)
    }

    /// The coins as `answers.self` and `answers.other` store them: whole coins as integers (as
    /// every slider answer is, `Payoff.allocation`), others as reals.
    var storedCoins: (own: DatabaseValue, other: DatabaseValue) {
        guard let payoff else { return (.null, .null) }
        if let whole = payoff.allocation { return (whole.own.databaseValue, whole.other.databaseValue) }
        return (payoff.own.databaseValue, payoff.other.databaseValue)
    }
}

/// Everything about one model call, stored in one transaction by `ExperimentStore.record(_:trialID:)`.
public struct CallRecord: Sendable {
    public var step: CallStep
    public var attempt: Int
    /// 0 for the first try of this request, 1, 2... for transport retries (429, 5xx, timeouts).
    public var retry: Int
    /// The HTTP status received, for calls to a model API.
    public var httpStatus: Int?
    /// The whole conversation sent, ending with the newest user message.
    public var request: [ChatMessage]
    /// The reply text; nil when the call failed.
    public var reply: String?
    public var rawResponse: Data?
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
    public var answer: AnswerRecord?
    /// The shown letters' probabilities, for the item calls of a model that reads log
    /// probabilities; stored under the answer's parser version.
    public var letters: LetterProbabilities?
    /// What makes the request the same as another, for the response cache.
    public var requestKey: String?
    /// True when the reply came from the cache, not from the model.
    public var cacheHit = false

    public init(
        step: CallStep, attempt: Int, retry: Int = 0, httpStatus: Int? = nil, request: [ChatMessage],
        reply: String?, rawResponse: Data? = nil, providerModelID: String? = nil, systemFingerprint: String? = nil,
        finishReason: String? = nil, inputTokens: Int? = nil, outputTokens: Int? = nil, latencyMs: Double,
        error: String? = nil, startedAt: Date, finishedAt: Date, answer: AnswerRecord? = nil,
        requestKey: String? = nil, cacheHit: Bool = false, letters: LetterProbabilities? = nil
    ) {
        self.letters = letters
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
        self.requestKey = requestKey
        self.cacheHit = cacheHit
    }
}

/// A call already stored for a trial, as a resume needs it.
public struct StoredCall: Sendable, Equatable {
    public var step: CallStep
    public var attempt: Int
    public var retry: Int
    /// Nil when the call failed.
    public var reply: String?
    /// The provider's body, where the reading needs it (log probabilities).
    public var rawResponse: Data?

    public init(step: CallStep, attempt: Int, retry: Int, reply: String?, rawResponse: Data? = nil) {
        self.step = step
        self.attempt = attempt
        self.retry = retry
        self.reply = reply
        self.rawResponse = rawResponse
    }
}

/// A row of the `trial_results` view: a trial with its newest scores.
public struct TrialResult: Sendable, Equatable {
    public var trialID: Int64
    public var runID: Int64
    public var key: TrialKey
    /// The trial's status; a scored trial's follows its newest scores.
    public var status: TrialStatus
    public var angle: Double?
    public var category: ValueOrientation?
    public var hit: Bool?
    public var vr: Double?
    public var angularError: Double?
    public var transitive: Bool?
    public var invalidItems: Int?
    public var inequalityAversion: Double?
    public var meanSelf: Double?
    public var meanOther: Double?
    /// The angle of the probability-weighted answers, and the mean entropy (bits) of the letter
    /// distributions (method.md §8.7); nil for a trial read from its text only.
    public var expectedAngle: Double?
    public var meanEntropy: Double?
    /// How the trial's answers came (`TrialScore`; formula 3 and later, else nil).
    public var answeredItems: Int?
    public var reaskedItems: Int?
    public var unreadableReplies: Int?
    public var inventedPayoffs: Int?
    /// The trial's plan ordinal (`TrialPlan`): with the run, its place in plan order; nil for
    /// trials of runs made before ordinals were stored.
    public var ordinal: Int?
    /// The scores' parser and formula versions; nil for a trial without scores.
    public var parserVersion: Int?
    public var formulaVersion: Int?

    public init(trialID: Int64, runID: Int64, key: TrialKey, status: TrialStatus) {
        self.trialID = trialID
        self.runID = runID
        self.key = key
        self.status = status
    }
}

/// What the scorer reads of one trial: what it was told to pursue, the items it asked, and the
/// parser's reading of every item call.
public struct ScoringInput: Sendable {
    public var trialID: Int64
    public var assignment: Assignment
    /// The instrument the trial answered (`trials.instrument`).
    public var instrument: String = Instruments.defaultName
    /// The trial's option order and seed: its layouts, which map shown letters to real options.
    public var optionOrder: OptionOrder
    public var seed: Int64
    public var asked: Set<Int>
    public var readings: [ItemReading]
}
