import Foundation
import GRDB

extension ExperimentStore {
    /// All runs, newest first.
    public func runs() async throws -> [RunRecord] {
        try await pool.read { db in try RunRecord.order(Column("id").desc).fetchAll(db) }
    }

    /// The run with this id; throws `StoreError.unknownRun` when there is none.
    public func run(_ id: Int64) async throws -> RunRecord {
        guard let run = try await pool.read({ db in try RunRecord.fetchOne(db, key: id) }) else {
            throw StoreError.unknownRun(id)
        }
        return run
    }

    /// The trials of a run, in id order.
    public func trials(runID: Int64) async throws -> [TrialRecord] {
        try await pool.read { db in
            try TrialRecord.filter(Column("run_id") == runID).order(Column("id")).fetchAll(db)
        }
    }

    /// How many trials of a run are in each status.
    public func trialStatusCounts(runID: Int64) async throws -> [TrialStatus: Int] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT status, count(*) AS n FROM trials WHERE run_id = ? GROUP BY status",
                                        arguments: [runID])
            var counts: [TrialStatus: Int] = [:]
            for row in rows { if let status = TrialStatus(rawValue: row["status"]) { counts[status] = row["n"] } }
            return counts
        }
    }

    /// Why a run's failed trials failed: each distinct error with its number of trials, the most
    /// common first.
    public func failureReasons(runID: Int64) async throws -> [(error: String, trials: Int)] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT coalesce(error, 'no error recorded') AS error, count(*) AS n FROM trials
                WHERE run_id = ? AND status = 'failed' GROUP BY 1 ORDER BY n DESC, error
                """, arguments: [runID]).map { (error: $0["error"], trials: $0["n"]) }
        }
    }

    /// Rows of `vr_summary` for the given runs (all runs when empty).
    public func vrSummary(runIDs: [Int64]) async throws -> [VRSummaryRow] {
        try await pool.read { db in
            var request = SQLRequest<VRSummaryRow>(sql: "SELECT * FROM vr_summary")
            if !runIDs.isEmpty {
                request = "SELECT * FROM vr_summary WHERE run_id IN \(runIDs)"
            }
            return try request.fetchAll(db)
        }
    }

    /// The full request of a call, rebuilt from the turn chain with one recursive query
    /// (the same query docs/schema.md gives for sqlite3).
    public func requestMessages(callID: Int64) async throws -> [ChatMessage] {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: Self.requestQuery, arguments: [callID])
            return rows.map { ChatMessage(ChatMessage.Role(rawValue: $0["role"])!, $0["body"]) }
        }
    }

    /// Walks from a call's last request turn back to the first message of its trial.
    static let requestQuery = """
        WITH RECURSIVE chain(id, parent_id, position, role, text_sha256) AS (
            SELECT t.id, t.parent_id, t.position, t.role, t.text_sha256
            FROM turns AS t JOIN model_calls AS c ON c.request_turn_id = t.id WHERE c.id = ?
            UNION ALL
            SELECT t.id, t.parent_id, t.position, t.role, t.text_sha256
            FROM turns AS t JOIN chain ON t.id = chain.parent_id
        )
        SELECT chain.position, chain.role, texts.body
        FROM chain JOIN texts ON texts.sha256 = chain.text_sha256
        ORDER BY chain.position
        """
}

/// A call already stored for a trial, as resume needs it.
public struct StoredCall: Sendable, Equatable, Codable, FetchableRecord {
    public var step: String
    public var item: Int?
    public var attempt: Int
    public var retry: Int
    /// Nil when the call failed.
    public var reply: String?
}

extension ExperimentStore {
    /// A trial's stored calls in the order they were made.
    public func storedCalls(trialID: Int64) async throws -> [StoredCall] {
        try await pool.read { db in
            try StoredCall.fetchAll(db, sql: """
                SELECT c.step, c.item, c.attempt, c.retry, x.body AS reply
                FROM model_calls AS c
                LEFT JOIN turns AS t ON t.id = c.reply_turn_id
                LEFT JOIN texts AS x ON x.sha256 = t.text_sha256
                WHERE c.trial_id = ? ORDER BY c.id
                """, arguments: [trialID])
        }
    }

    /// Calls made so far in a run and their tokens per model, to carry budgets across a resume.
    public func usage(runID: Int64) async throws -> [ModelTokenUsage] {
        try await pool.read { db in
            try ModelTokenUsage.fetchAll(db, sql: """
                SELECT t.model, count(c.id) AS calls, coalesce(sum(c.input_tokens), 0) AS input_tokens,
                       coalesce(sum(c.output_tokens), 0) AS output_tokens,
                       sum(c.error IS NOT NULL) AS errors, sum(c.retry > 0) AS retries
                FROM trials AS t JOIN model_calls AS c ON c.trial_id = t.id
                WHERE t.run_id = ? GROUP BY t.model ORDER BY min(t.id)
                """, arguments: [runID])
        }
    }
}

/// Calls and tokens of one model in one run.
public struct ModelTokenUsage: Sendable, Equatable, Codable, FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public var model: String
    public var calls: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var errors: Int
    public var retries: Int
}

/// A successful reply stored for a run, with what identifies its trial and position.
public struct StoredReply: Sendable, Codable, FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public var model: String
    public var trialSeed: Int64
    public var reply: String
    public var providerModelId: String?
    public var finishReason: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
}

extension ExperimentStore {
    /// Every successful reply of a run, in the order the calls were made (what a replay serves).
    public func storedReplies(runID: Int64) async throws -> [StoredReply] {
        try await pool.read { db in
            try StoredReply.fetchAll(db, sql: """
                SELECT t.model, t.seed AS trial_seed, x.body AS reply, c.provider_model_id, c.finish_reason,
                       c.input_tokens, c.output_tokens
                FROM model_calls AS c
                JOIN trials AS t ON t.id = c.trial_id
                JOIN turns AS r ON r.id = c.reply_turn_id
                JOIN texts AS x ON x.sha256 = r.text_sha256
                WHERE t.run_id = ? ORDER BY c.id
                """, arguments: [runID])
        }
    }
}

/// An item call of a scored trial, with what a rescore needs to read its reply again.
public struct ItemCall: Sendable, Codable, FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public var callId: Int64
    public var trialId: Int64
    public var trialSeed: Int64
    public var value: String
    public var optionOrder: String
    public var item: Int
    public var attempt: Int
    /// Nil when the call failed.
    public var reply: String?
    /// The newest stored reading.
    public var parserVersion: Int?
    public var status: String?
    public var shownLetter: String?
}

extension ExperimentStore {
    /// The item calls of the complete and incomplete trials of `runIDs`, in call order.
    public func itemCalls(runIDs: [Int64]) async throws -> [ItemCall] {
        try await pool.read { db in
            let request: SQLRequest<ItemCall> = """
                SELECT c.id AS call_id, c.trial_id, t.seed AS trial_seed, t.value, t.option_order, c.item, c.attempt,
                       x.body AS reply, a.parser_version, a.status, a.shown_letter
                FROM model_calls AS c
                JOIN trials AS t ON t.id = c.trial_id
                LEFT JOIN turns AS r ON r.id = c.reply_turn_id
                LEFT JOIN texts AS x ON x.sha256 = r.text_sha256
                LEFT JOIN latest_answers AS a ON a.call_id = c.id
                WHERE t.run_id IN \(runIDs) AND t.status IN ('complete', 'incomplete') AND c.step = 'item'
                ORDER BY c.trial_id, c.id
                """
            return try request.fetchAll(db)
        }
    }
}

/// A reply the response cache can serve.
public struct CachedReply: Sendable, Codable, FetchableRecord {
    public static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
    public var reply: String
    public var providerModelId: String?
    public var systemFingerprint: String?
    public var finishReason: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
}

extension ExperimentStore {
    /// The first successful reply stored for a request with this key, in any run.
    public func cachedReply(requestKey: String) async throws -> CachedReply? {
        try await pool.read { db in
            try CachedReply.fetchOne(db, sql: """
                SELECT x.body AS reply, c.provider_model_id, c.system_fingerprint, c.finish_reason, c.input_tokens, c.output_tokens
                FROM model_calls AS c JOIN turns AS t ON t.id = c.reply_turn_id JOIN texts AS x ON x.sha256 = t.text_sha256
                WHERE c.request_key = ? ORDER BY c.id LIMIT 1
                """, arguments: [requestKey])
        }
    }
}

extension ExperimentStore {
    /// The distinct option orders the trials of these runs used.
    public func optionOrders(runIDs: [Int64]) async throws -> [String] {
        try await pool.read { db in
            let request: SQLRequest<String> = "SELECT DISTINCT option_order FROM trials WHERE run_id IN \(runIDs) ORDER BY option_order"
            return try request.fetchAll(db)
        }
    }
}
