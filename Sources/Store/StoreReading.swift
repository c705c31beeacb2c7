import SVO

/// What the viewer and the comparisons read from a database: the store conforms, and the viewer's
/// pages reach it through this protocol only, never its type, so that they can be served from
/// anything that answers these questions. Every member reads; the one write the viewer makes
/// (an audit label) goes through a writable `ExperimentStore` it opens for that.
public protocol StoreReading: ItemReplySource {
    /// The database file's path.
    var path: String { get }
    /// Changes whenever anything a page shows may have changed (`ExperimentStore.changeMark`).
    func changeMark() async throws -> String
    func runs() async throws -> [RunRecord]
    func run(_ id: Int64) async throws -> RunRecord
    func trials(runID: Int64, afterID id: Int64, statuses: [TrialStatus], limit: Int) async throws -> [TrialRecord]
    func trialResults(_ filter: TrialFilter) async throws -> [TrialResult]
    func trialResults(_ filter: TrialFilter, ids: ClosedRange<Int64>) async throws -> [TrialResult]
    func trialStatusCounts(runID: Int64) async throws -> [TrialStatus: Int]
    func failureReasons(runID: Int64) async throws -> [(error: String, trials: Int)]
    func modelUsage(runID: Int64) async throws -> [ModelUsage]
    func models(runIDs: [Int64]) async throws -> [String]
    func variants(runIDs: [Int64]) async throws -> [String]
    func answerCounts(_ filter: TrialFilter) async throws -> [AnswerCount]
    func transcript(trialID: Int64) async throws -> Transcript
    func callLines(_ query: CallQuery, limit: Int) async throws -> [CallLine]
    func lastAnswerID() async throws -> Int64
    func auditReplies(callIDs: [Int64]) async throws -> [AuditReply]
    func auditPairs(runIDs: [Int64]) async throws -> [AuditPair]
}

extension ExperimentStore: StoreReading {}

/// Where the parser audit's sample comes from: the store, or anything that answers the same
/// three questions.
public protocol ItemReplySource: Sendable {
    /// The largest call id (0 with none): no item reply has a larger one.
    func lastCallID() async throws -> Int64
    /// Of `callIDs`, the item calls of `runIDs` that have a reading, with the newest reading's status.
    func itemReplyStatuses(callIDs: [Int64], runIDs: [Int64]) async throws -> [Int64: AnswerStatus]
    /// Every item call of `runIDs` whose newest reading has `status`.
    func itemReplies(status: AnswerStatus, runIDs: [Int64]) async throws -> [Int64]
}
