import Domain
import Foundation
import GRDB
import SVO

// The reads behind `hvae view`'s pages: a trial's transcript, the calls page with its filters and
// search, and the parser audit's replies and labels. Every page reads through these; none writes
// but `saveAuditLabel`.

/// One message of a trial's conversation, in the order it was sent.
public struct TranscriptTurn: Sendable, Equatable {
    public var id: Int64
    public var position: Int
    public var role: ChatMessage.Role
    public var text: String
}

/// One call of a trial: what was asked (the chain ending at `requestTurnID`), what came back or
/// went wrong, and the parser's newest reading of it.
public struct TranscriptCall: Sendable, Equatable {
    public var id: Int64
    public var step: CallStep
    public var attempt: Int
    public var retry: Int
    public var requestTurnID: Int64
    public var replyTurnID: Int64?
    public var httpStatus: Int?
    public var providerModelID: String?
    public var finishReason: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var latencyMs: Double?
    public var error: String?
    public var cacheHit: Bool
    public var startedAt: String
    /// The newest parser version's reading (item calls with a reply).
    public var answer: AnswerRecord?
    /// The letters' probabilities of that reading, for a model that reads them (`answer_from`).
    public var letters: LetterProbabilities?

    /// The columns of `model_calls` the transcript selects, in order, before the answer's.
    enum Column: Int, SelectedColumns {
        case id, step, item, attempt, retry, requestTurnID, replyTurnID, httpStatus, providerModelID, finishReason
        case inputTokens, outputTokens, latencyMs, error, cacheHit, startedAt
    }
}

/// Everything stored about one trial.
public struct Transcript: Sendable, Equatable {
    public var trial: TrialRecord
    public var turns: [TranscriptTurn]
    public var calls: [TranscriptCall]
    /// The trial's row of `trial_results` (its newest scores).
    public var result: TrialResult?
}

/// Which calls the calls page lists. Empty lists and nil mean "any".
public struct CallQuery: Sendable, Equatable {
    public var runIDs: [Int64] = []
    public var models: [String] = []
    public var values: [ValueOrientation] = []
    public var goals: [GoalCondition] = []
    /// `value`, `goal` or `item`.
    public var steps: [String] = []
    /// Parse statuses of the newest reading; `ok` also selects value and goal calls that got a reply.
    public var statuses: [AnswerStatus] = []
    public var attempt: Int?
    /// Words every listed reply contains (FTS5, case- and accent-insensitive; `"..."` for a phrase,
    /// a trailing `*` for a prefix).
    public var search: String?
    /// Keyset pagination: calls with a larger id than this.
    public var afterID: Int64 = 0

    public init() {}
}

/// A line of the calls page.
public struct CallLine: Sendable, Equatable {
    public var id: Int64
    public var trialID: Int64
    public var runID: Int64
    public var model: String
    public var assignment: Assignment
    public var goal: GoalCondition
    public var step: CallStep
    public var attempt: Int
    public var retry: Int
    /// The newest reading's status for item calls; `ok` for other calls with a reply; nil without one.
    public var status: String?
    public var shownLetter: OptionLetter?
    /// The reply's first `CallLine.excerptLength` characters.
    public var excerpt: String?
    public var replyLength: Int
    public var latencyMs: Double?
    public var outputTokens: Int?
    public var error: String?

    /// How much of a reply a line carries: a page of 50 lines stays small whatever the replies.
    public static let excerptLength = 300
}

/// An item reply as the parser audit shows it.
public struct AuditReply: Sendable, Equatable {
    public var callID: Int64
    public var trialID: Int64
    public var model: String
    public var item: Int
    public var optionOrder: OptionOrder
    public var trialSeed: Int64
    public var reply: String
    /// The newest reading.
    public var answer: AnswerRecord
    /// The trial's instrument (`trials.instrument`).
    public var instrument: String = Instruments.defaultName

    /// The columns `auditReplies` selects, in order, before the answer's.
    enum Column: Int, SelectedColumns {
        case callID, trialID, model, item, optionOrder, trialSeed, reply, instrument
    }
}

/// A person's label of an item reply beside the parser's newest reading of it.
public struct AuditPair: Sendable, Equatable {
    public var callID: Int64
    public var trialID: Int64
    public var model: String
    public var labeler: String
    /// `A`..`I` (as shown), a whole number (`AuditLabel`), `none` or `ambiguous`.
    public var label: String
    public var labeledAt: String
    public var parserVersion: Int
    public var status: AnswerStatus
    public var shownLetter: OptionLetter?
    /// The number the parser read, for an item that takes one.
    public var number: Int?
    /// The trial's instrument (`trials.instrument`).
    public var instrument: String

    public init(
        callID: Int64, trialID: Int64, model: String, labeler: String, label: String, labeledAt: String,
        parserVersion: Int, status: AnswerStatus, shownLetter: OptionLetter?, number: Int? = nil,
        instrument: String = Instruments.defaultName
    ) {
        self.number = number
        self.instrument = instrument
        self.callID = callID
        self.trialID = trialID
        self.model = model
        self.labeler = labeler
        self.label = label
        self.labeledAt = labeledAt
        self.parserVersion = parserVersion
        self.status = status
        self.shownLetter = shownLetter
    }
}

extension ExperimentStore {
    /// One trial: its record, every message in order, every call and its scores.
    public func transcript(trialID: Int64) async throws -> Transcript {
        try await read { db in
            guard
                let trial = try TrialRecord.fetchOne(
                    db, sql: "SELECT \(TrialRecord.selection) FROM trials WHERE id = ?", arguments: [trialID])
            else { throw StoreError.unknownTrial(trialID) }
            let turns = try Row.fetchAll(
                db,
                sql: """
                    SELECT t.id, t.position, t.role, CAST(x.body AS BLOB) AS body
                    FROM turns AS t JOIN texts AS x ON x.sha256 = t.text_sha256
                    WHERE t.trial_id = ? ORDER BY t.position
                    """, arguments: [trialID]
            ).map { row in
                TranscriptTurn(
                    id: row["id"], position: row["position"], role: ChatMessage.Role(rawValue: row["role"]) ?? .user,
                    text: ExactText.text(row, "body") ?? "")
            }
            typealias C = TranscriptCall.Column
            let answerOffset = C.allCases.count
            let lettersOffset = answerOffset + AnswerRecord.Column.allCases.count
            let statement = try db.makeStatement(
                sql: """
                    SELECT c.id, c.step, c.item, c.attempt, c.retry, c.request_turn_id, c.reply_turn_id, c.http_status,
                           c.provider_model_id, c.finish_reason, c.input_tokens, c.output_tokens, c.latency_ms,
                           CAST(c.error AS BLOB) AS error, c.cache_hit, c.started_at,
                           \(AnswerRecord.Column.list("a")), \(LetterProbabilities.Column.list("l"))
                    FROM model_calls AS c
                    LEFT JOIN answers AS a ON a.call_id = c.id
                        AND \(NewestReading.condition(answer: "a", call: "c.id"))
                    LEFT JOIN letter_probabilities AS l ON l.call_id = c.id AND l.parser_version = a.parser_version
                    WHERE c.trial_id = ? ORDER BY c.id
                    """)
            var readings: [OptionProbabilities.Key?] = []
            var calls = try Row.fetchAll(
                selecting(C.names + AnswerRecord.Column.names + LetterProbabilities.Column.names, statement),
                arguments: [trialID]
            ).compactMap { row -> TranscriptCall? in
                guard let step = CallStep(name: row[C.step], item: row[C.item]) else { return nil }
                let reading = LetterProbabilities.reading(row, after: lettersOffset, callID: row[C.id])
                readings.append(reading?.letters.status == .ok ? reading?.key : nil)
                return TranscriptCall(
                    id: row[C.id], step: step, attempt: row[C.attempt], retry: row[C.retry],
                    requestTurnID: row[C.requestTurnID], replyTurnID: row[C.replyTurnID], httpStatus: row[C.httpStatus],
                    providerModelID: row[C.providerModelID], finishReason: row[C.finishReason],
                    inputTokens: row[C.inputTokens], outputTokens: row[C.outputTokens], latencyMs: row[C.latencyMs],
                    error: ExactText.text(row, C.error), cacheHit: (row[C.cacheHit] as Int?) == 1,
                    startedAt: row[C.startedAt], answer: AnswerRecord(row: row, after: answerOffset),
                    letters: reading?.letters)
            }
            if readings.contains(where: { $0 != nil }) {
                let shown = try OptionProbabilities.shown(trials: [trialID], db: db)
                for (index, key) in readings.enumerated() {
                    if let key { calls[index].letters?.shown = shown[key] }
                }
            }
            let result = try Row.fetchOne(
                db, sql: "SELECT \(TrialResult.resultColumns) FROM trial_results WHERE trial_id = ?",
                arguments: [trialID]
            ).flatMap(TrialResult.init(resultRow:))
            return Transcript(trial: trial, turns: turns, calls: calls, result: result)
        }
    }

    /// Up to `limit` calls that `query` selects, by id from `query.afterID`, with one more line
    /// when there are more (so a page knows whether to offer "next"). Each line carries an excerpt
    /// of its reply, never the whole reply, so memory stays flat however the calls are paged.
    public func callLines(_ query: CallQuery, limit: Int) async throws -> [CallLine] {
        try await read { db in
            var conditions = ["c.id > ?"]
            var arguments: [any DatabaseValueConvertible] = [query.afterID]
            func list<T>(_ column: String, _ items: [T], _ text: (T) -> String) {
                guard !items.isEmpty else { return }
                conditions.append("\(column) IN \(placeholders(items.count))")
                arguments += items.map(text)
            }
            if !query.runIDs.isEmpty {
                conditions.append("t.run_id IN \(placeholders(query.runIDs.count))")
                arguments += query.runIDs
            }
            list("t.model", query.models) { $0 }
            list("t.value", query.values, \.rawValue)
            list("t.goal", query.goals, \.rawValue)
            list("c.step", query.steps) { $0 }
            if let attempt = query.attempt {
                conditions.append("c.attempt = ?")
                arguments.append(attempt)
            }
            var source = "model_calls AS c"
            var order = "c.id"
            let searching = query.search.map(Self.ftsQuery).map { !$0.isEmpty } ?? false
            let newest = NewestReading.condition(answer: "s", call: "s.call_id")
            if !query.statuses.isEmpty && !searching && !query.statuses.contains(.ok) {
                // Only item replies can have these statuses: the status index drives, handing out
                // the matching call ids in order from the page's start, so a page stops at its end.
                source = "answers AS s CROSS JOIN model_calls AS c ON c.id = s.call_id"
                conditions.append("s.status IN \(placeholders(query.statuses.count)) AND s.call_id > ? AND \(newest)")
                arguments += query.statuses.map(\.rawValue) as [any DatabaseValueConvertible]
                arguments.append(query.afterID)
                order = "s.call_id"
            } else if !query.statuses.isEmpty {
                // The reading's status: the newest answer's, or `ok` for a replied value or goal call;
                // with a search, the search drives and each match's answer is looked up.
                var parts = [
                    """
                    EXISTS (SELECT 1 FROM answers AS s WHERE s.call_id = c.id AND s.status IN \
                    \(placeholders(query.statuses.count)) AND \(newest))
                    """
                ]
                arguments += query.statuses.map(\.rawValue) as [any DatabaseValueConvertible]
                if query.statuses.contains(.ok) { parts.append(ShownCallStatus.okWithoutReading(call: "c")) }
                conditions.append("(" + parts.joined(separator: " OR ") + ")")
            }
            if let search = query.search.map(Self.ftsQuery), !search.isEmpty {
                // The index drives: it hands out matching call ids in order, from the page's start.
                source = "reply_search AS f CROSS JOIN model_calls AS c ON c.id = f.rowid"
                conditions.insert("reply_search MATCH ?", at: 0)
                arguments.insert(search, at: 0)
                conditions.append("f.rowid > ?")
                arguments.append(query.afterID)
                order = "f.rowid"
            }
            let sql = """
                SELECT c.id, c.trial_id, t.run_id, t.model, t.value, t.goal, c.step, c.item, c.attempt, c.retry,
                       \(ShownCallStatus.expression(call: "c", answer: "a")) AS status,
                       a.shown_letter, CAST(substr(x.body, 1, \(CallLine.excerptLength)) AS BLOB) AS excerpt,
                       length(x.body) AS reply_length, c.latency_ms, c.output_tokens,
                       CAST(substr(c.error, 1, 300) AS BLOB) AS error, t.target_phi
                FROM \(source)
                JOIN trials AS t ON t.id = c.trial_id
                LEFT JOIN answers AS a ON a.call_id = c.id
                    AND \(NewestReading.condition(answer: "a", call: "c.id"))
                LEFT JOIN turns AS r ON r.id = c.reply_turn_id
                LEFT JOIN texts AS x ON x.sha256 = r.text_sha256
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY \(order) LIMIT ?
                """
            arguments.append(limit + 1)
            do {
                return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).compactMap { row in
                    guard let assignment = Assignment(value: row["value"], targetPhi: row["target_phi"]),
                        let goal = GoalCondition(rawValue: row["goal"]),
                        let step = CallStep(name: row["step"], item: row["item"])
                    else { return nil }
                    return CallLine(
                        id: row["id"], trialID: row["trial_id"], runID: row["run_id"], model: row["model"],
                        assignment: assignment, goal: goal, step: step, attempt: row["attempt"], retry: row["retry"],
                        status: row["status"],
                        shownLetter: (row["shown_letter"] as String?).flatMap(OptionLetter.init(symbol:)),
                        excerpt: ExactText.text(row, "excerpt"), replyLength: row["reply_length"] ?? 0,
                        latencyMs: row["latency_ms"], outputTokens: row["output_tokens"],
                        error: ExactText.text(row, "error"))
                }
            } catch let error as DatabaseError where error.message?.contains("fts5") == true {
                throw StoreError.badSearch(query.search ?? "", detail: error.message ?? "")
            }
        }
    }

    /// A person's search text as an FTS5 query that cannot be a syntax error: each word becomes a
    /// quoted string (all must match), `"a phrase"` stays one string, and a word ending in `*` a
    /// prefix.
    static func ftsQuery(_ text: String) -> String {
        var terms: [String] = []
        var rest = Substring(text)
        while let start = rest.firstIndex(where: { !$0.isWhitespace }) {
            rest = rest[start...]
            var term: Substring
            var prefix = false
            if rest.first == "\"" {
                let body = rest.dropFirst()
                let end = body.firstIndex(of: "\"") ?? body.endIndex
                term = body[..<end]
                rest = end < body.endIndex ? body[body.index(after: end)...] : ""
            } else {
                let end = rest.firstIndex(where: \.isWhitespace) ?? rest.endIndex
                term = rest[..<end]
                rest = rest[end...]
                if term.count > 1, term.last == "*" {
                    term = term.dropLast()
                    prefix = true
                }
            }
            guard !term.isEmpty else { continue }
            terms.append("\"" + term.replacingOccurrences(of: "\"", with: "\"\"") + "\"" + (prefix ? " *" : ""))
        }
        return terms.joined(separator: " ")
    }

    /// A mark that changes whenever anything a page shows changes: a call, answer (a rescore's
    /// too), trial, score or label stored, a run's status or heartbeat, and whether the process of
    /// a run stored as running is still at it. Pages rendered under one mark can be served again
    /// while it holds; it costs a few index lookups and one count of `trial_scores`.
    public func changeMark() async throws -> String {
        try await read { db in
            let stored =
                try String.fetchOne(
                    db,
                    sql: """
                        SELECT (SELECT coalesce(max(id), 0) FROM model_calls) || '/' ||
                               (SELECT coalesce(max(id), 0) FROM answers) || '/' ||
                               (SELECT coalesce(max(id), 0) FROM trials) || '/' ||
                               (SELECT count(*) FROM trial_scores) || '/' ||
                               (SELECT count(*) || coalesce(max(created_at), '') FROM audit_labels) || '/' ||
                               (SELECT group_concat(id || status || coalesce(finished_at, '') ||
                                                    coalesce(heartbeat_at, '') || coalesce(stop_reason, ''), ',')
                                FROM runs)
                        """) ?? ""
            // Whether a run's process is at it depends on the clock and on the processes alive, not
            // on the file: a run killed with kill -9 changes nothing stored, yet its pages must now
            // call it stalled.
            let running = try RunRecord.fetchAll(
                db, sql: "SELECT \(RunRecord.selection) FROM runs WHERE status = 'running' ORDER BY id")
            return stored + "/" + running.map { "\($0.id ?? 0)\($0.isBeingRun ? "+" : "-")" }.joined(separator: ",")
        }
    }

    /// The largest answer id: it grows with every reading stored, a new call's or a rescore's.
    public func lastAnswerID() async throws -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM answers") ?? 0 }
    }

    /// The largest call id: it grows with every call recorded.
    public func lastCallID() async throws -> Int64 {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM model_calls") ?? 0 }
    }

    /// The models, in the order they first appear, of these runs (all runs when empty).
    public func models(runIDs: [Int64]) async throws -> [String] {
        try await read { db in
            // usage_tallies has a row per run and model (migrations/0012): no scan of the trials.
            let condition = runIDs.isEmpty ? "" : "WHERE run_id IN \(placeholders(runIDs.count))"
            return try String.fetchAll(
                db, sql: "SELECT model FROM usage_tallies \(condition) GROUP BY model ORDER BY min(first_trial_id)",
                arguments: StatementArguments(runIDs))
        }
    }

    /// The variants (wordings) the trials of these runs used, in the order they first appear.
    public func variants(runIDs: [Int64]) async throws -> [String] {
        try await read { db in
            let condition = runIDs.isEmpty ? "" : "WHERE run_id IN \(placeholders(runIDs.count))"
            return try String.fetchAll(
                db, sql: "SELECT variant FROM trials \(condition) GROUP BY variant ORDER BY min(id)",
                arguments: StatementArguments(runIDs))
        }
    }

    // MARK: The parser audit

    /// Of `callIDs`, the item calls of these runs that have a reading, each with its newest
    /// reading's status: one lookup by id per call, which is how the parser audit samples a large
    /// database without reading all of it (`ParserAudit.sample`).
    public func itemReplyStatuses(callIDs: [Int64], runIDs: [Int64]) async throws -> [Int64: AnswerStatus] {
        guard !callIDs.isEmpty, !runIDs.isEmpty else { return [:] }
        return try await read { db in
            var found: [Int64: AnswerStatus] = [:]
            // SQLite takes at most 32,766 parameters a statement.
            for start in stride(from: 0, to: callIDs.count, by: 4_096) {
                let ids = Array(callIDs[start..<min(callIDs.count, start + 4_096)])
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT c.id, a.status
                        FROM model_calls AS c  -- CROSS: the ids drive; from the run, 0.2 s a batch
                        CROSS JOIN trials AS t ON t.id = c.trial_id
                        CROSS JOIN answers AS a ON a.call_id = c.id
                            AND \(NewestReading.condition(answer: "a", call: "c.id"))
                        WHERE c.id IN \(placeholders(ids.count)) AND c.step = 'item'
                            AND t.run_id IN \(placeholders(runIDs.count))
                        """, arguments: StatementArguments(ids + runIDs))
                while let row = try rows.next() {
                    if let status = AnswerStatus(rawValue: row["status"]) { found[row["id"]] = status }
                }
            }
            return found
        }
    }

    /// Every item call of these runs whose newest reading has `status`, in id order. Driven by
    /// `answers_by_status`, so it reads what that status holds (every parser version's), not the
    /// runs' other calls: cheap for the rare statuses a sample cannot find by lookups.
    public func itemReplies(status: AnswerStatus, runIDs: [Int64]) async throws -> [Int64] {
        guard !runIDs.isEmpty else { return [] }
        return try await read { db in
            try Int64.fetchAll(
                db,
                sql: """
                    SELECT a.call_id
                    FROM answers AS a INDEXED BY answers_by_status
                    JOIN model_calls AS c ON c.id = a.call_id
                    JOIN trials AS t ON t.id = c.trial_id
                    WHERE a.status = ? AND c.step = 'item' AND t.run_id IN \(placeholders(runIDs.count))
                        AND \(NewestReading.condition(answer: "a", call: "a.call_id"))
                    ORDER BY a.call_id
                    """,
                arguments: StatementArguments([status.rawValue] + runIDs))
        }
    }

    /// The item replies with these call ids, in the order given.
    public func auditReplies(callIDs: [Int64]) async throws -> [AuditReply] {
        guard !callIDs.isEmpty else { return [] }
        let found = try await read { db in
            typealias C = AuditReply.Column
            let statement = try db.makeStatement(
                sql: """
                    SELECT c.id AS call_id, c.trial_id, t.model, c.item, t.option_order, t.seed AS trial_seed,
                           CAST(x.body AS BLOB) AS reply, t.instrument, \(AnswerRecord.Column.list("a"))
                    FROM model_calls AS c
                    JOIN trials AS t ON t.id = c.trial_id
                    JOIN turns AS r ON r.id = c.reply_turn_id
                    JOIN texts AS x ON x.sha256 = r.text_sha256
                    JOIN answers AS a ON a.call_id = c.id
                        AND \(NewestReading.condition(answer: "a", call: "c.id"))
                    WHERE c.id IN \(placeholders(callIDs.count))
                    """)
            return try Row.fetchAll(
                selecting(C.names + AnswerRecord.Column.names, statement), arguments: StatementArguments(callIDs)
            ).compactMap { row -> AuditReply? in
                guard let order = OptionOrder(rawValue: row[C.optionOrder]),
                    let answer = AnswerRecord(row: row, after: C.allCases.count)
                else { return nil }
                return AuditReply(
                    callID: row[C.callID], trialID: row[C.trialID], model: row[C.model], item: row[C.item],
                    optionOrder: order, trialSeed: row[C.trialSeed], reply: ExactText.text(row, C.reply) ?? "",
                    answer: answer, instrument: row[C.instrument])
            }
        }
        let byID = Dictionary(found.map { ($0.callID, $0) }, uniquingKeysWith: { a, _ in a })
        return callIDs.compactMap { byID[$0] }
    }

    /// Every label given to item replies of these runs (all runs when empty), with the parser's
    /// newest reading of each, in the order they were given.
    public func auditPairs(runIDs: [Int64]) async throws -> [AuditPair] {
        try await read { db in
            let condition = runIDs.isEmpty ? "" : "WHERE t.run_id IN \(placeholders(runIDs.count))"
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT l.call_id, t.model, l.labeler, l.label, l.created_at, a.parser_version, a.status,
                           a.shown_letter, a.number, c.trial_id, t.instrument
                    FROM audit_labels AS l   -- CROSS: the labels (few) drive, not a large run's trials
                    CROSS JOIN model_calls AS c ON c.id = l.call_id
                    CROSS JOIN trials AS t ON t.id = c.trial_id
                    JOIN answers AS a ON a.call_id = c.id
                        AND \(NewestReading.condition(answer: "a", call: "c.id"))
                    \(condition)
                    ORDER BY l.created_at, l.call_id, l.labeler
                    """, arguments: StatementArguments(runIDs)
            ).compactMap { row -> AuditPair? in
                guard let status = AnswerStatus(rawValue: row["status"]) else { return nil }
                return AuditPair(
                    callID: row["call_id"], trialID: row["trial_id"], model: row["model"], labeler: row["labeler"],
                    label: row["label"], labeledAt: row["created_at"], parserVersion: row["parser_version"],
                    status: status, shownLetter: (row["shown_letter"] as String?).flatMap(OptionLetter.init(symbol:)),
                    number: row["number"], instrument: row["instrument"])
            }
        }
    }

    /// The item a call asked, as its trial's form showed it, when the call is an item call with a
    /// reply: what a person may label (`AuditLabel`); nil for any other call.
    public func auditItem(callID: Int64) async throws -> InstrumentItem? {
        try await read { db in
            let call = try Row.fetchOne(
                db,
                sql: """
                    SELECT c.step = 'item' AND c.reply_turn_id IS NOT NULL AS replied, c.item, t.instrument, t.seed
                    FROM model_calls AS c JOIN trials AS t ON t.id = c.trial_id WHERE c.id = ?
                    """,
                arguments: [callID])
            guard let call, call["replied"] as Bool, let instrument = Instruments.named(call["instrument"]) else {
                return nil
            }
            return instrument.form(seed: UInt64(bitPattern: call["seed"])).item(call["item"])
        }
    }

    /// Stores `label` as what `labeler` read in the item reply of call `callID`, replacing their
    /// earlier label of it: the only write the viewer makes. Which labels fit which reply is the
    /// audit's rule (`AuditLabel.stored`), checked before; the table's CHECK refuses any label
    /// that fits no reply.
    public func saveAuditLabel(callID: Int64, labeler: String, label: String) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO audit_labels (call_id, labeler, label, created_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (call_id, labeler)
                    DO UPDATE SET label = excluded.label, created_at = excluded.created_at
                    """, arguments: [callID, labeler, label, Timestamp.now])
        }
    }
}

extension AnswerRecord {
    /// The columns of `answers` it reads, in order.
    enum Column: Int, SelectedColumns {
        case parserVersion, status, item, shownLetter, option, own, other, number

        var name: String { self == .own ? "self" : Self.snakeCase(String(describing: self)) }
    }

    /// An answer from its `Column`s selected after `offset` others; nil when the row has none.
    init?(row: Row, after offset: Int) {
        typealias C = Column
        guard let version: Int = row[C.parserVersion, after: offset],
            let status = AnswerStatus(rawValue: row[C.status, after: offset])
        else { return nil }
        let payoff: Payoff? = {
            guard let own: Double = row[C.own, after: offset], let other: Double = row[C.other, after: offset]
            else { return nil }
            return Payoff(own: own, other: other)
        }()
        self.init(
            parserVersion: version, status: status, item: row[C.item, after: offset],
            shownLetter: (row[C.shownLetter, after: offset] as String?).flatMap(OptionLetter.init(symbol:)),
            option: (row[C.option, after: offset] as String?).flatMap(OptionLetter.init(symbol:)),
            number: row[C.number, after: offset], payoff: payoff)
    }
}
