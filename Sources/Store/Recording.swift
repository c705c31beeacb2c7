import Domain
import Foundation
import GRDB
import SVO

// The write path, from a finished model call to its committed rows:
//
//   trial ─ record(call) ─▶ CallQueue ─▶ writer connection: BEGIN; every queued call:
//     texts (each distinct text once), turns (the request's new messages, the reply),
//     model_calls, answers; COMMIT ─▶ each call's id back to its trial
//
// A trial records a call and makes its next one while the commit runs (one behind: the trial's
// `Conversation.settle()` in Runner awaits the commit before it records again, and before the
// trial ends). So at most one completed call per trial is uncommitted: a kill or crash loses only
// the calls in flight and those, and a trial's stored calls are always its first ones. Calls that complete
// while the writer is busy wait in the queue and share the next transaction (group commit): with
// many trials in flight one commit serves many calls. If that transaction fails, each of its
// calls is tried in a transaction of its own, so that only a bad one fails.
//
// A trial's end is written apart: `scoreTrials` reads its stored answers, scores them through the
// scorer it is given and stores the scores (and the trial's status) in one transaction;
// `failTrial` marks a trial the provider failed.

/// Calls waiting for the writer, and whether it is taking them.
struct CallQueue {
    struct Entry {
        var call: CallRecord
        var trialID: Int64
        var done: CheckedContinuation<Int64, any Error>
    }

    var waiting: [Entry] = []
    /// The writer is committing queued calls, and takes new ones before it stops.
    var draining = false
}

extension ExperimentStore {
    /// Stores one call: the request's new messages (texts stored once), the call, its reply and
    /// its parsed answer, all or nothing. Returns the call's id once it is committed. A call is
    /// stored even if the calling task is cancelled meanwhile: a completed call is never lost to
    /// Ctrl-C.
    @discardableResult
    public func record(_ call: CallRecord, trialID: Int64) async throws -> Int64 {
        let writer = try requireWriter()
        return try await withCheckedThrowingContinuation { continuation in
            let start = callQueue.withLock { queue in
                queue.waiting.append(CallQueue.Entry(call: call, trialID: trialID, done: continuation))
                defer { queue.draining = true }
                return !queue.draining
            }
            if start { writer.asyncWriteWithoutTransaction { db in self.drainCalls(db) } }
        }
    }

    /// Commits queued calls until none is left.
    private func drainCalls(_ db: Database) {
        while true {
            let batch = callQueue.withLock { queue in
                defer { queue.waiting = [] }
                if queue.waiting.isEmpty { queue.draining = false }
                return queue.waiting
            }
            if batch.isEmpty { return }
            do {
                let ids = try Self.inTransaction(db) {
                    try batch.map { try Self.insert($0.call, trialID: $0.trialID, db: db) }
                }
                for (entry, id) in zip(batch, ids) { entry.done.resume(returning: id) }
            } catch {
                for entry in batch {
                    do {
                        let id = try Self.inTransaction(db) {
                            try Self.insert(entry.call, trialID: entry.trialID, db: db)
                        }
                        entry.done.resume(returning: id)
                    } catch {
                        entry.done.resume(
                            throwing: (error as? DatabaseError).map { Self.translated($0, path: path) } ?? error)
                    }
                }
            }
        }
    }

    /// Runs `body` in an immediate transaction, committed if it returns and rolled back if it throws.
    private static func inTransaction<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.run("BEGIN IMMEDIATE TRANSACTION")
        do {
            let result = try body()
            try db.run("COMMIT TRANSACTION")
            return result
        } catch {
            if db.isInsideTransaction { try? db.run("ROLLBACK TRANSACTION") }
            throw error
        }
    }

    private static func insert(_ call: CallRecord, trialID: Int64, db: Database) throws -> Int64 {
        let (requestTurnID, chainWasEmpty) = try appendTurns(call.request, trialID: trialID, db: db)
        if chainWasEmpty {
            // A new trial becomes running with its first stored call, in the same transaction.
            try db.run(
                """
                UPDATE trials SET status = 'running', started_at = coalesce(started_at, ?) WHERE id = ? AND status = \
                'pending'
                """, arguments: [Timestamp.string(call.startedAt), trialID])
        }
        let replyTurnID = try call.reply.map { reply in
            try insertTurn(
                ChatMessage(.assistant, reply), trialID: trialID, parentID: requestTurnID,
                position: call.request.count, db: db)
        }
        try db.run(
            """
            INSERT INTO model_calls (trial_id, step, item, attempt, retry, http_status, request_turn_id, reply_turn_id,
                raw_response, provider_model_id, finish_reason, input_tokens, output_tokens, latency_ms, error,
                started_at, finished_at, system_fingerprint, request_key, cache_hit)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?, ?, ?, ?, CAST(? AS TEXT), ?, ?, ?, ?, ?)
            """,
            arguments: [
                trialID, call.step.name, call.step.item, call.attempt, call.retry, call.httpStatus, requestTurnID,
                replyTurnID, ExactText.bytes(call.rawResponse), call.providerModelID, call.finishReason,
                call.inputTokens,
                call.outputTokens, call.latencyMs, ExactText.bytes(call.error), Timestamp.string(call.startedAt),
                Timestamp.string(call.finishedAt), call.systemFingerprint, call.requestKey, call.cacheHit,
            ])
        let callID = db.lastInsertedRowID
        if let answer = call.answer {
            try insert(answer, callID: callID, db: db)
            if let letters = call.letters {
                try OptionProbabilities.insert(letters, callID: callID, parserVersion: answer.parserVersion, db: db)
            }
        }
        return callID
    }

    /// Adds an answer; one already there for the call and parser version is kept as it is.
    static func insert(_ answer: AnswerRecord, callID: Int64, db: Database) throws {
        try db.run(
            """
            INSERT INTO answers (call_id, parser_version, status, item, shown_letter, option, self, other,
                mismatched_payoffs, number)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """,
            arguments: [
                callID, answer.parserVersion, answer.status.rawValue, answer.item, answer.shownLetter?.symbol,
                answer.option?.symbol, answer.storedCoins.own, answer.storedCoins.other, answer.mismatchedPayoffs,
                answer.number,
            ])
    }

    /// Stores the messages of `request` that the trial's stored chain does not have yet, after
    /// checking that the request extends the chain (as long or longer, and the same message, byte
    /// for byte, where the chain ends). Returns the request's last turn, and whether the chain was empty.
    private static func appendTurns(_ request: [ChatMessage], trialID: Int64, db: Database) throws -> (Int64, Bool) {
        // Only the chain's last turn is read: each call costs the same however long the trial.
        let last = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id, position, role, text_sha256 FROM turns WHERE trial_id = ? ORDER BY position DESC LIMIT 1
                    """), arguments: [trialID])
        let storedCount = last.map { ($0["position"] as Int) + 1 } ?? 0
        guard !request.isEmpty, storedCount <= request.count else {
            throw StoreError.conversationMismatch(trialID: trialID)
        }
        if let last {
            let message = request[storedCount - 1]
            guard last[2] == message.role.rawValue, last[3] == Digest.sha256Hex(message.content) else {
                throw StoreError.conversationMismatch(trialID: trialID)
            }
        }
        var parentID: Int64? = last?[0]
        for position in storedCount..<request.count {
            parentID = try insertTurn(
                request[position], trialID: trialID, parentID: parentID, position: position, db: db)
        }
        return (parentID!, last == nil)
    }

    /// Stores one message as the trial's turn at `position` (its text first, unless stored already).
    private static func insertTurn(
        _ message: ChatMessage, trialID: Int64, parentID: Int64?, position: Int,
        db: Database
    ) throws -> Int64 {
        let sha = Digest.sha256Hex(message.content)
        try db.run(
            "INSERT INTO texts (sha256, body) VALUES (?, CAST(? AS TEXT)) ON CONFLICT DO NOTHING",
            arguments: [sha, ExactText.bytes(message.content)])
        try db.run(
            "INSERT INTO turns (trial_id, parent_id, position, role, text_sha256) VALUES (?, ?, ?, ?, ?)",
            arguments: [trialID, parentID, position, message.role.rawValue, sha])
        return db.lastInsertedRowID
    }
}

extension ExperimentStore {
    /// Ends a trial the provider failed: its status and the error, kept for `hvae show` and resume.
    public func failTrial(_ trialID: Int64, error: String) async throws {
        try await write { db in
            try db.run(
                "UPDATE trials SET status = 'failed', error = CAST(? AS TEXT), finished_at = ? WHERE id = ?",
                arguments: [ExactText.bytes(error), Timestamp.now, trialID])
        }
    }

    /// Scores trials from their stored answers and stores the scores, in one transaction: for
    /// each trial, the readings of parser version `parserVersion` (or the newest one below it) of
    /// its item calls go through `scorer`, and its scores are added beside any it has (scores it
    /// has already for these versions are kept). With `settingStatus` the trial's status becomes
    /// what its scores say (the run's end of a trial); a rescore leaves it, since `trial_results`
    /// follows the newest scores. Returns each trial's scored status.
    public func scoreTrials(
        _ trialIDs: [Int64], parserVersion: Int, formulaVersion: Int, settingStatus: Bool,
        scorer: @escaping @Sendable (ScoringInput) -> TrialScore
    ) async throws -> [Int64: ScoredStatus] {
        guard !trialIDs.isEmpty else { return [:] }
        return try await write { db in
            let now = Timestamp.now
            var statuses: [Int64: ScoredStatus] = [:]
            for input in try Self.scoringInputs(trialIDs, parserVersion: parserVersion, db: db) {
                let score = scorer(input)
                try Self.insert(
                    score, trialID: input.trialID, formulaVersion: formulaVersion, parserVersion: parserVersion,
                    at: now, db: db)
                if settingStatus {
                    try db.run(
                        "UPDATE trials SET status = ?, error = NULL, finished_at = ? WHERE id = ?",
                        arguments: [TrialStatus(score.status).rawValue, now, input.trialID])
                }
                statuses[input.trialID] = score.status
            }
            return statuses
        }
    }

    /// The columns of an item call's reading that scoring selects, in order, before its letters.
    private enum ReadingColumn: Int, SelectedColumns {
        case trialID, callID, item, attempt, answered, option, mismatchedPayoffs, number
    }

    /// What the scorer reads of each trial, in one query for them all.
    private static func scoringInputs(_ trialIDs: [Int64], parserVersion: Int, db: Database) throws -> [ScoringInput] {
        var inputs: [Int64: ScoringInput] = [:]
        for row in try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT id, value, target_phi, option_order, seed, instrument FROM trials
                    WHERE id IN \(placeholders(trialIDs.count))
                    """),
            arguments: StatementArguments(trialIDs))
        {
            guard let assignment = Assignment(value: row["value"], targetPhi: row["target_phi"]),
                let order = OptionOrder(rawValue: row["option_order"])
            else { continue }
            inputs[row["id"]] = ScoringInput(
                trialID: row["id"], assignment: assignment, instrument: row["instrument"], optionOrder: order,
                seed: row["seed"], asked: [], readings: [])
        }
        // Each call's answers, newest parser version first (at or below the one scored): the
        // first row of a call is its reading, as `latest_answers` picks it without the bound.
        typealias C = ReadingColumn
        let letters = C.allCases.count
        let rows = try Row.fetchCursor(
            selecting(
                C.names + LetterProbabilities.Column.names,
                db.cachedStatement(
                    sql: """
                        SELECT c.trial_id, c.id AS call_id, c.item, c.attempt, c.reply_turn_id IS NOT NULL AS answered,
                               a.option, a.mismatched_payoffs, a.number, \(LetterProbabilities.Column.list("l"))
                        FROM model_calls AS c
                        LEFT JOIN answers AS a ON a.call_id = c.id AND a.parser_version <= ?
                        LEFT JOIN letter_probabilities AS l ON l.call_id = c.id AND l.parser_version = a.parser_version
                        WHERE c.trial_id IN \(placeholders(trialIDs.count)) AND c.step = 'item'
                        ORDER BY c.id, a.parser_version DESC
                        """)), arguments: StatementArguments([parserVersion] + trialIDs.map(Int.init)))
        var previous: Int64?
        // The readings whose letters' probabilities are read after: (trial, index in its readings).
        var readWithLetters: [(trialID: Int64, index: Int, key: OptionProbabilities.Key)] = []
        while let row = try rows.next() {
            let trialID: Int64 = row[C.trialID]
            let callID: Int64 = row[C.callID]
            let item: Int = row[C.item]
            guard callID != previous else { continue }
            previous = callID
            inputs[trialID]?.asked.insert(item)
            // A failed try has no reply and no reading; the try that answered is its own row.
            if row[C.answered] as Bool, let index = inputs[trialID]?.readings.count {
                let reading = LetterProbabilities.reading(row, after: letters, callID: callID)
                if let reading, reading.letters.status == .ok { readWithLetters.append((trialID, index, reading.key)) }
                inputs[trialID]?.readings.append(
                    ItemReading(
                        item: item, attempt: row[C.attempt],
                        option: (row[C.option] as String?).flatMap(OptionLetter.init(symbol:)), number: row[C.number],
                        letters: reading?.letters, mismatchedPayoffs: row[C.mismatchedPayoffs] as Int? == 1))
            }
        }
        if !readWithLetters.isEmpty {
            let shown = try OptionProbabilities.shown(trials: trialIDs, db: db)
            for (trialID, index, key) in readWithLetters {
                inputs[trialID]?.readings[index].letters?.shown = shown[key]
            }
        }
        return trialIDs.compactMap { inputs[$0] }
    }

    private static func insert(
        _ score: TrialScore, trialID: Int64, formulaVersion: Int, parserVersion: Int, at time: String,
        db: Database
    ) throws {
        try db.run(
            """
            INSERT INTO trial_scores (trial_id, formula_version, parser_version, status, angle, category, hit, vr,
                angular_error, transitive, invalid_items, inequality_aversion, mean_self, mean_other, computed_at,
                expected_self, expected_other, expected_angle, mean_entropy, answered_items, reasked_items,
                unreadable_replies, invented_payoffs)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """,
            arguments: [
                trialID, formulaVersion, parserVersion, score.status.rawValue, score.angle,
                score.category?.rawValue, score.hit, score.valueRationality, score.angularError,
                score.transitive, score.invalidItems, score.inequalityAversion, score.meanOwn,
                score.meanOther, time, score.expectedOwn, score.expectedOther, score.expectedAngle, score.meanEntropy,
                score.answeredItems, score.reaskedItems, score.unreadableReplies, score.inventedPayoffs,
            ])
    }

    /// Adds answers read from text only; see `addAnswers(_:)` with letter probabilities.
    public func addAnswers(_ answers: [(callID: Int64, answer: AnswerRecord)]) async throws -> Int {
        try await addAnswers(answers.map { ($0.callID, $0.answer, nil) })
    }

    /// Adds the answers of a rescore (with their letter probabilities, for a model that reads
    /// them), keeping every answer already there. Returns how many answers were added.
    public func addAnswers(_ answers: [(callID: Int64, answer: AnswerRecord, letters: LetterProbabilities?)])
        async throws -> Int
    {
        try await write { db in
            // changesCount, not totalChangesCount: the rows the tallies' triggers change are not answers.
            var added = 0
            for (callID, answer, letters) in answers {
                try Self.insert(answer, callID: callID, db: db)
                added += db.changesCount
                if let letters {
                    try OptionProbabilities.insert(letters, callID: callID, parserVersion: answer.parserVersion, db: db)
                }
            }
            return added
        }
    }
}

/// Text bound and read byte for byte. SQLite's C API (and GRDB's String binding with it) cuts a
/// text at its first U+0000; bound as a BLOB and cast to TEXT in SQL, and read back cast to a BLOB,
/// every byte is kept.
enum ExactText {
    /// The UTF-8 bytes to bind where the SQL says `CAST(? AS TEXT)`.
    static func bytes(_ text: String?) -> Data? { text.map { Data($0.utf8) } }

    /// Bytes as received, to bind where the SQL says `CAST(? AS TEXT)`: SQLite keeps a TEXT value's
    /// bytes as given, valid UTF-8 or not, and `CAST(x AS BLOB)` gives them back.
    static func bytes(_ data: Data?) -> Data? { data }

    /// The text of a column the SQL read as `CAST(x AS BLOB)`.
    static func text(_ row: Row, _ index: Int) -> String? {
        (row[index] as Data?).map { String(decoding: $0, as: UTF8.self) } ?? (row[index] as String?)
    }

    /// The text of a selected column the SQL read as `CAST(x AS BLOB)`.
    static func text(_ row: Row, _ column: some SelectedColumns, after offset: Int = 0) -> String? {
        text(row, offset + column.rawValue)
    }

    /// The text of a column, by name, that the SQL read as `CAST(x AS BLOB)`.
    static func text(_ row: Row, _ column: String) -> String? {
        (row[column] as Data?).map { String(decoding: $0, as: UTF8.self) } ?? (row[column] as String?)
    }
}

extension Database {
    /// Runs `sql` through a statement prepared once per connection: the write path runs the same
    /// few statements for every call, and compiling them each time was a large share of a rescore.
    func run(_ sql: String, arguments: StatementArguments = []) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}

/// `(?, ?, ?)` for `count` arguments.
func placeholders(_ count: Int) -> String {
    "(" + Array(repeating: "?", count: max(count, 1)).joined(separator: ", ") + ")"
}
