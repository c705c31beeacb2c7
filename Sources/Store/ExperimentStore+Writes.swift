import Foundation
import GRDB

extension ExperimentStore {
    /// Inserts a run and all its trials (as `pending`) in one transaction; returns the run with its id.
    public func createRun(_ run: RunRecord, trials: [TrialRecord]) async throws -> (RunRecord, [TrialRecord]) {
        try await pool.write { db in
            var run = run
            run.sqliteVersion = try String.fetchOne(db, sql: "SELECT sqlite_version()")
            try run.insert(db)
            let inserted = try trials.map { trial -> TrialRecord in
                var trial = trial
                trial.runId = run.id!
                try trial.insert(db)
                return trial
            }
            return (run, inserted)
        }
    }

    /// Sets a run's status, stamping `started_at` when it starts and `finished_at` when it ends.
    public func setRunStatus(_ runID: Int64, _ status: RunStatus) async throws {
        try await pool.write { db in
            let now = Timestamp.now
            switch status {
            case .running:
                try db.execute(sql: "UPDATE runs SET status = ?, started_at = coalesce(started_at, ?) WHERE id = ?",
                               arguments: [status, now, runID])
            case .pending:
                try db.execute(sql: "UPDATE runs SET status = ? WHERE id = ?", arguments: [status, runID])
            case .finished, .interrupted, .failed:
                try db.execute(sql: "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                               arguments: [status, now, runID])
            }
        }
    }

    /// Marks a trial as running.
    public func startTrial(_ trialID: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE trials SET status = 'running', started_at = coalesce(started_at, ?) WHERE id = ?",
                           arguments: [Timestamp.now, trialID])
        }
    }

    /// Persists one call: the request's new messages (texts stored once), the call, its reply and
    /// its parsed answer, all or nothing. Returns the call's id once it is committed.
    @discardableResult
    public func record(_ call: CallOutcome, trialID: Int64) async throws -> Int64 {
        try await submit(call, trialID: trialID).committed()
    }

    /// Queues one call for the writer and returns at once; the result says when it is committed.
    ///
    /// Calls are committed together: a batch is committed at most `commitInterval` after its first
    /// call was queued, or at once when somebody awaits one of its calls (`PendingCommit.committed()`).
    /// With many trials in flight one commit serves many calls (a call that cannot be stored fails
    /// alone). A call is queued even if the submitting task is cancelled, so a completed call is
    /// kept when a run is interrupted.
    ///
    /// `after`: the write of the same trial submitted just before this one. If that one failed,
    /// this one fails too (`StoreError.earlierWriteFailed`) instead of storing a conversation with
    /// a call missing from it.
    public func submit(_ call: CallOutcome, trialID: Int64, after: PendingCommit? = nil) -> PendingCommit {
        enqueue(.call(call, trialID: trialID), after: after)
    }

    /// Queues a trial's metrics and final status, to be committed with the calls queued beside it
    /// (see `submit(_:trialID:after:)`); returns at once.
    public func submitFinish(_ trialID: Int64, status: TrialStatus, error: String? = nil, metrics: [MetricValue],
                             after: PendingCommit? = nil) -> PendingCommit {
        enqueue(.finish(trialID: trialID, status: status, error: error, metrics: metrics), after: after)
    }

    private func enqueue(_ write: QueuedWrite, after: PendingCommit?) -> PendingCommit {
        let pending = PendingCommit(store: self)
        let setTimer = recordQueue.withLock { queue in
            queue.writes.append(QueueEntry(write: write, pending: pending, after: after))
            guard !queue.writing, !queue.timerSet else { return false }
            queue.timerSet = true
            return true
        }
        if setTimer { setCommitTimer() }
        return pending
    }

    private func setCommitTimer() {
        DispatchQueue.global().asyncAfter(deadline: .now() + commitInterval) { self.commitQueuedWrites(timer: true) }
    }

    /// Starts a batch on the writer unless one is running (which starts the next when it ends).
    /// `timer`: called by the commit timer, which it clears. `awaited`: somebody awaits a queued
    /// write, so a running batch is to be followed at once by the next.
    func commitQueuedWrites(timer: Bool = false, awaited: Bool = false) {
        let start = recordQueue.withLock { queue in
            if timer { queue.timerSet = false }
            if awaited { queue.awaited = true }
            guard !queue.writing, !queue.writes.isEmpty else { return false }
            queue.writing = true
            return true
        }
        if start { scheduleRecordBatch() }
    }

    /// Commits the queued writes in one transaction on the writer. Writes that arrived meanwhile
    /// get a new timer (or an immediate batch if somebody waits for one of them).
    private func scheduleRecordBatch() {
        pool.asyncWriteWithoutTransaction { db in
            self.commitBatch(db)
            let (now, setTimer) = self.recordQueue.withLock { queue in
                queue.writing = false
                if queue.writes.isEmpty { return (false, false) }
                if queue.awaited { queue.writing = true; return (true, false) }
                if queue.timerSet { return (false, false) }
                queue.timerSet = true
                return (false, true)
            }
            if now { self.scheduleRecordBatch() } else if setTimer { self.setCommitTimer() }
        }
    }

    /// Takes every queued write and commits them together.
    private func commitBatch(_ db: Database) {
        let batch = recordQueue.withLock { queue in
            defer { queue.writes = []; queue.awaited = false }
            return queue.writes
        }
        if batch.isEmpty { return }
        writerMemory.withLock { memory in
            /// `body` in a transaction of its own. If it is rolled back, the memory, which saw its
            /// writes, is forgotten.
            func transaction<T>(_ body: (inout WriterMemory) throws -> T) throws -> T {
                do {
                    return try Self.inTransaction(db) { try body(&memory) }
                } catch {
                    memory.forget()
                    throw error
                }
            }
            // Every write in one transaction; if one cannot be stored, that transaction is rolled
            // back and each write is tried in a transaction of its own, so only the bad one fails.
            // (Savepoints would do the same in one pass, at a cost on every call, for a failure
            // that only a bug or a changed protocol causes.)
            do {
                let ids = try transaction { memory in try batch.map { try Self.perform($0, db: db, memory: &memory) } }
                for (entry, id) in zip(batch, ids) { entry.pending.complete(.success(id)) }
            } catch {
                // One at a time, each completed before the next: a write after a failed one of its
                // trial sees that failure (`perform`).
                for entry in batch {
                    entry.pending.complete(Result { try transaction { try Self.perform(entry, db: db, memory: &$0) } })
                }
            }
        }
    }

    /// Runs `body` in an immediate transaction, committed if it returns and rolled back if it
    /// throws. The statements are prepared once per connection (GRDB's `inTransaction` parses
    /// BEGIN and COMMIT anew each time, a measurable share of a one-call transaction).
    private static func inTransaction<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let result = try body()
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            if !db.isInsideTransaction { throw error }
            try? db.execute(sql: "ROLLBACK TRANSACTION")
            throw error
        }
    }

    private static func perform(_ entry: QueueEntry, db: Database, memory: inout WriterMemory) throws -> Int64 {
        // An earlier write of the same batch has no result yet: it shares this transaction.
        if case .failure = entry.after?.result { throw StoreError.earlierWriteFailed(trialID: entry.write.trialID) }
        switch entry.write {
        case .call(let call, let trialID):
            return try insert(call, trialID: trialID, db: db, memory: &memory)
        case .finish(let trialID, let status, let error, let metrics):
            memory.trialFinished(trialID)
            let now = Timestamp.now
            try insert(metrics, trialID: trialID, at: now, db: db)
            try db.cachedStatement(sql: "UPDATE trials SET status = ?, error = ?, finished_at = ? WHERE id = ?")
                .execute(arguments: [status, error, now, trialID])
            return trialID
        }
    }

    private static func insert(_ call: CallOutcome, trialID: Int64, db: Database, memory: inout WriterMemory) throws -> Int64 {
        let (requestTurnID, firstTurns) = try Self.appendTurns(call.request, trialID: trialID, db: db, memory: &memory)
        if firstTurns {
            // A new trial becomes running with its first stored call, in the same transaction
            // (a write of its own per trial cost as much as a call).
            try db.cachedStatement(sql: "UPDATE trials SET status = 'running', started_at = coalesce(started_at, ?) WHERE id = ? AND status = 'pending'")
                .execute(arguments: [Timestamp.string(call.startedAt), trialID])
        }
        var replyTurnID: Int64?
        if let reply = call.reply {
            let position = call.request.count
            replyTurnID = try Self.insertTurn(ChatMessage(.assistant, reply), trialID: trialID,
                                              parentID: requestTurnID, position: position, db: db, memory: &memory)
        }
        try db.cachedStatement(sql: """
                INSERT INTO model_calls (trial_id, step, item, attempt, retry, http_status, request_turn_id,
                    reply_turn_id, raw_response, provider_model_id, finish_reason, input_tokens, output_tokens,
                    latency_ms, error, started_at, finished_at, system_fingerprint, request_key, cache_hit)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [trialID, call.step.name, call.step.item, call.attempt, call.retry, call.httpStatus,
                        requestTurnID, replyTurnID,
                        call.rawResponse, call.providerModelID, call.finishReason, call.inputTokens,
                        call.outputTokens, call.latencyMs, call.error,
                        Timestamp.string(call.startedAt), Timestamp.string(call.finishedAt), call.systemFingerprint,
                        call.requestKey, call.cacheHit])
        let callID = db.lastInsertedRowID
        if let answer = call.answer {
            try Self.insert(answer, callID: callID, db: db)
        }
        return callID
    }

    static func insert(_ answer: AnswerRow, callID: Int64, db: Database) throws {
        try db.cachedStatement(sql: """
                INSERT INTO answers (call_id, parser_version, status, item, shown_letter, option, self, other)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [callID, answer.parserVersion, answer.status, answer.item, answer.shownLetter,
                        answer.option, answer.own, answer.other])
    }

    /// Stores the messages of `request` that the trial's stored chain does not have yet, after
    /// checking that the request extends the chain (same length or longer, and the same message
    /// where the chain ends). Returns the id of the request's last turn, and whether the chain was empty.
    static func appendTurns(_ request: [ChatMessage], trialID: Int64, db: Database,
                            memory: inout WriterMemory) throws -> (lastTurnID: Int64, chainWasEmpty: Bool) {
        // Only the chain's last turn is needed: each call costs the same however long the trial.
        // Columns by position: a Row looks names up by a case-insensitive comparison.
        let last = try memory.tail(of: trialID) ?? Row.fetchOne(db.cachedStatement(sql: """
            SELECT id, position, role, text_sha256 FROM turns WHERE trial_id = ? ORDER BY position DESC LIMIT 1
            """), arguments: [trialID]).map { row in
            WriterMemory.ChainTail(id: row[0], position: row[1], role: row[2], sha256: row[3], content: nil)
        }
        let storedCount = last.map { $0.position + 1 } ?? 0
        guard !request.isEmpty, storedCount <= request.count else {
            throw StoreError.conversationMismatch(trialID: trialID)
        }
        if let last, !last.matches(request[storedCount - 1]) {
            throw StoreError.conversationMismatch(trialID: trialID)
        }
        var parentID: Int64? = last?.id
        for position in storedCount..<request.count {
            parentID = try insertTurn(request[position], trialID: trialID, parentID: parentID, position: position,
                                      db: db, memory: &memory)
        }
        return (parentID!, last == nil)
    }

    /// Stores one message as the trial's turn at `position` (its text first, unless stored already).
    static func insertTurn(_ message: ChatMessage, trialID: Int64, parentID: Int64?, position: Int, db: Database,
                           memory: inout WriterMemory) throws -> Int64 {
        let sha = SHA256.hex(message.content)
        if !memory.hasText(sha) {
            try db.cachedStatement(sql: "INSERT INTO texts (sha256, body) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .execute(arguments: [sha, message.content])
            memory.textStored(sha)
        }
        try db.cachedStatement(sql: "INSERT INTO turns (trial_id, parent_id, position, role, text_sha256) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [trialID, parentID, position, message.role.rawValue, sha])
        let id = db.lastInsertedRowID
        memory.setTail(.init(id: id, position: position, role: message.role.rawValue, sha256: sha, content: message.content),
                       of: trialID)
        return id
    }

    /// Adds metric rows; a row already there (same metric, formula and parser version) is kept as it is.
    static func insert(_ metrics: [MetricValue], trialID: Int64, at time: String, db: Database) throws {
        for metric in metrics {
            try db.cachedStatement(sql: """
                INSERT INTO trial_metrics (trial_id, metric, formula, formula_version, parser_version, value, label, computed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """).execute(arguments: [trialID, metric.metric, metric.formula, metric.formulaVersion, metric.parserVersion,
                                         metric.value, metric.label, time])
        }
    }

    /// Ends a trial: its metrics and its final status, all or nothing, committed with the calls
    /// queued beside it (see `submit(_:trialID:after:)`). Returns once committed.
    public func finishTrial(_ trialID: Int64, status: TrialStatus, error: String? = nil, metrics: [MetricValue]) async throws {
        _ = try await submitFinish(trialID, status: status, error: error, metrics: metrics).committed()
    }
}

extension ExperimentStore {
    /// Adds answers and metrics of a rescore in one transaction, keeping every row already there.
    /// Returns how many answers and metric rows were added.
    public func addRescore(answers: [(callID: Int64, answer: AnswerRow)], metrics: [Int64: [MetricValue]]) async throws -> (answers: Int, metrics: Int) {
        try await pool.write { db in
            var added = 0
            for (callID, answer) in answers {
                try db.cachedStatement(sql: """
                    INSERT INTO answers (call_id, parser_version, status, item, shown_letter, option, self, other)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """).execute(arguments: [callID, answer.parserVersion, answer.status, answer.item, answer.shownLetter,
                                             answer.option, answer.own, answer.other])
                added += db.changesCount
            }
            let now = Timestamp.now
            let before = db.totalChangesCount
            for (trialID, rows) in metrics { try Self.insert(rows, trialID: trialID, at: now, db: db) }
            return (added, db.totalChangesCount - before)
        }
    }
}
