import Domain
import Foundation
import GRDB

/// A batch submitted to a provider's batch API, as `batches` stores it (migrations/0016).
public struct BatchRecord: Sendable, Equatable {
    public var id: Int64?
    public var runID: Int64
    public var model: String
    /// `openai` or `anthropic`.
    public var provider: String
    public var providerBatchID: String
    /// The uploaded JSONL of an OpenAI batch.
    public var inputFileID: String?
    public var round: Int
    /// The provider's status, as last seen.
    public var status: String
    public var requests: Int
    public var succeeded = 0
    public var failed = 0
    public var error: String?
    public var submittedAt: Date
    public var updatedAt: Date
    public var endedAt: Date?

    public init(
        runID: Int64, model: String, provider: String, providerBatchID: String, inputFileID: String?, round: Int,
        status: String, requests: Int, submittedAt: Date = Date()
    ) {
        self.runID = runID
        self.model = model
        self.provider = provider
        self.providerBatchID = providerBatchID
        self.inputFileID = inputFileID
        self.round = round
        self.status = status
        self.requests = requests
        self.submittedAt = submittedAt
        updatedAt = submittedAt
    }

    /// `provider_batch_id` of a batch recorded before its submission, until the provider accepts
    /// it: this prefix and the client's tag. A kill in between leaves it so, and a resume looks
    /// for the tag at the provider before it submits those calls again.
    public static let intentPrefix = "pending:"
    /// `status` of a batch recorded before its submission.
    public static let submitting = "submitting"
    /// `status` of a recorded intent the provider never accepted (its calls went again).
    public static let notSubmitted = "not_submitted"

    /// Recorded before its submission and not (yet) known to be accepted.
    public var isIntent: Bool { providerBatchID.hasPrefix(Self.intentPrefix) }
    /// The client's tag of an intent.
    public var intentTag: String? { isIntent ? String(providerBatchID.dropFirst(Self.intentPrefix.count)) : nil }

}

/// Read and written by column name (GRDB's records): `Columns` is the one list of the columns;
/// times are stored as `Timestamp` text.
extension BatchRecord: FetchableRecord, PersistableRecord, ListedColumnsRecord {
    public static let databaseTableName = "batches"
    typealias ListedColumns = Columns

    /// The columns of `batches` it reads and writes.
    public enum Columns: String, ColumnExpression, CaseIterable {
        case id, model, provider, round, status, requests, succeeded, failed, error
        case runID = "run_id"
        case providerBatchID = "provider_batch_id"
        case inputFileID = "input_file_id"
        case submittedAt = "submitted_at"
        case updatedAt = "updated_at"
        case endedAt = "ended_at"
    }

    public init(row: Row) {
        id = row[Columns.id]
        runID = row[Columns.runID]
        model = row[Columns.model]
        provider = row[Columns.provider]
        providerBatchID = row[Columns.providerBatchID]
        inputFileID = row[Columns.inputFileID]
        round = row[Columns.round]
        status = row[Columns.status]
        requests = row[Columns.requests]
        succeeded = row[Columns.succeeded]
        failed = row[Columns.failed]
        error = row[Columns.error]
        submittedAt = Timestamp.date(row[Columns.submittedAt]) ?? .distantPast
        updatedAt = Timestamp.date(row[Columns.updatedAt]) ?? .distantPast
        endedAt = (row[Columns.endedAt] as String?).flatMap(Timestamp.date)
    }

    public func encode(to container: inout PersistenceContainer) {
        container.encodeEach { (column: Columns) -> (any DatabaseValueConvertible)? in
            switch column {
            case .id: id
            case .runID: runID
            case .model: model
            case .provider: provider
            case .providerBatchID: providerBatchID
            case .inputFileID: inputFileID
            case .round: round
            case .status: status
            case .requests: requests
            case .succeeded: succeeded
            case .failed: failed
            case .error: error
            case .submittedAt: Timestamp.string(submittedAt)
            case .updatedAt: Timestamp.string(updatedAt)
            case .endedAt: endedAt.map(Timestamp.string)
            }
        }
    }
}

/// One request of a batch: its custom_id and the trial whose call it is.
public struct BatchRequestRecord: Sendable, Equatable {
    public var customID: String
    public var trialID: Int64

    public init(customID: String, trialID: Int64) {
        self.customID = customID
        self.trialID = trialID
    }
}

extension ExperimentStore {
    /// Records a batch the provider accepted, with its requests, in one transaction: from then on
    /// a resume finds it rather than submitting its requests again.
    public func recordBatch(_ batch: BatchRecord, requests: [BatchRequestRecord]) async throws -> BatchRecord {
        try await write { db in
            try batch.insert(db)
            var stored = batch
            stored.id = db.lastInsertedRowID
            let insert = try db.makeStatement(
                sql: "INSERT INTO batch_requests (batch_id, custom_id, trial_id) VALUES (?, ?, ?)")
            for request in requests {
                try insert.execute(arguments: [stored.id, request.customID, request.trialID])
            }
            return stored
        }
    }

    /// The uploaded input file of a batch recorded before its submission (OpenAI): kept at once,
    /// so that the batch created over it is found again after a kill.
    public func setBatchInputFile(_ id: Int64, fileID: String) async throws {
        try await write { db in
            try db.execute(sql: "UPDATE batches SET input_file_id = ? WHERE id = ?", arguments: [fileID, id])
        }
    }

    /// The provider accepted a batch recorded before its submission: its id and status.
    public func acceptBatch(
        _ id: Int64, providerBatchID: String, inputFileID: String?, status: String, at now: Date = Date()
    ) async throws -> BatchRecord {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE batches SET provider_batch_id = ?, input_file_id = coalesce(?, input_file_id), status = ?,
                        updated_at = ?
                    WHERE id = ?
                    """, arguments: [providerBatchID, inputFileID, status, Timestamp.string(now), id])
            return try BatchRecord.fetchOne(
                db, sql: "SELECT \(BatchRecord.selection) FROM batches WHERE id = ?", arguments: [id])!
        }
    }

    /// A batch recorded before its submission that the provider never accepted: ended, with why.
    /// Its calls are submitted again, and it counts as no failure of theirs.
    public func abandonBatch(_ id: Int64, reason: String, at now: Date = Date()) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE batches SET status = ?, error = ?, updated_at = ?, ended_at = coalesce(ended_at, ?)
                    WHERE id = ?
                    """,
                arguments: [
                    BatchRecord.notSubmitted, reason, Timestamp.string(now), Timestamp.string(now), id,
                ])
        }
    }

    /// Every provider batch id this database holds, of any run.
    public func knownBatchIDs() async throws -> Set<String> {
        try await read { db in Set(try String.fetchAll(db, sql: "SELECT provider_batch_id FROM batches")) }
    }

    /// Stores what the provider last said about a batch.
    public func updateBatch(
        _ id: Int64, status: String, succeeded: Int, failed: Int, error: String? = nil, ended: Bool = false,
        at now: Date = Date()
    ) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE batches SET status = ?, succeeded = ?, failed = ?, error = coalesce(?, error), \
                    updated_at = ?, ended_at = CASE WHEN ? THEN coalesce(ended_at, ?) ELSE ended_at END
                    WHERE id = ?
                    """,
                arguments: [
                    status, succeeded, failed, error, Timestamp.string(now), ended, Timestamp.string(now), id,
                ])
        }
    }

    /// The latest batch of `run` that holds the request `customID`: the one a resumed call
    /// re-attaches to. Nil when the call was never submitted.
    public func batch(holding customID: String, runID: Int64) async throws -> BatchRecord? {
        try await read { db in
            try BatchRecord.fetchOne(
                db,
                sql: """
                    SELECT \(BatchRecord.selection) FROM batches
                    WHERE run_id = ? AND id IN (SELECT batch_id FROM batch_requests WHERE custom_id = ?)
                    ORDER BY id DESC LIMIT 1
                    """,
                arguments: [runID, customID])
        }
    }

    /// How many batches of the run that held `customID` failed whole (`error` set, no request
    /// succeeded or failed on its own): a request is submitted again once, not forever.
    public func wholeBatchFailures(of customID: String, runID: Int64) async throws -> Int {
        try await read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT count(*) FROM batches
                    WHERE run_id = ? AND error IS NOT NULL AND succeeded = 0 AND failed = 0 AND status <> ?
                      AND id IN (SELECT batch_id FROM batch_requests WHERE custom_id = ?)
                    """, arguments: [runID, BatchRecord.notSubmitted, customID]) ?? 0
        }
    }

    /// The batches of a run, oldest first.
    public func batches(runID: Int64) async throws -> [BatchRecord] {
        try await read { db in
            try BatchRecord.fetchAll(
                db, sql: "SELECT \(BatchRecord.selection) FROM batches WHERE run_id = ? ORDER BY id", arguments: [runID]
            )
        }
    }

    /// Per run, its batches that have not ended (by what the provider last said).
    public func openBatchCounts() async throws -> [Int64: Int] {
        try await read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT run_id, count(*) AS open FROM batches WHERE ended_at IS NULL GROUP BY run_id")
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["run_id"] as Int64, $0["open"] as Int) })
        }
    }

    /// The highest round of `model`'s batches in the run (0 before the first).
    public func lastBatchRound(runID: Int64, model: String) async throws -> Int {
        try await read { db in
            try Int.fetchOne(
                db, sql: "SELECT coalesce(max(round), 0) FROM batches WHERE run_id = ? AND model = ?",
                arguments: [runID, model]) ?? 0
        }
    }
}
