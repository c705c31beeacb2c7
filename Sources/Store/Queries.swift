import Domain
import Foundation
import GRDB
import SVO

// What the runner, the analysis and the CLI read, each as a named query with typed rows.

/// Which trials a read covers.
public struct TrialFilter: Sendable, Equatable, Codable {
    public var runIDs: [Int64]
    public var models: [String] = []
    public var values: [ValueOrientation] = []
    public var goals: [GoalCondition] = []
    public var optionOrders: [OptionOrder] = []
    /// Scores computed from answers of at most this parser version (nil: the newest).
    public var parserVersion: Int?
    /// Scores of formulas of at most this version (nil: the newest).
    public var formulaVersion: Int?

    public init(
        runIDs: [Int64], models: [String] = [], values: [ValueOrientation] = [], goals: [GoalCondition] = [],
        optionOrders: [OptionOrder] = [], parserVersion: Int? = nil, formulaVersion: Int? = nil
    ) {
        self.runIDs = runIDs
        self.models = models
        self.values = values
        self.goals = goals
        self.optionOrders = optionOrders
        self.parserVersion = parserVersion
        self.formulaVersion = formulaVersion
    }

    enum CodingKeys: String, CodingKey {
        case runIDs = "run_ids"
        case models, values, goals
        case optionOrders = "option_orders"
        case parserVersion = "parser_version"
        case formulaVersion = "formula_version"
    }

    /// The WHERE clause over a table with the trial columns (run_id, model, value, goal, option_order).
    /// `scanningIDs`: the query also bounds the trial ids, and SQLite should walk them in order (the
    /// unary + keeps it from choosing an index on run_id, after which it would sort every row).
    func condition(_ prefix: String = "", scanningIDs: Bool = false) -> (
        sql: String, arguments: [any DatabaseValueConvertible]
    ) {
        var parts = ["\(scanningIDs ? "+" : "")\(prefix)run_id IN \(placeholders(runIDs.count))"]
        var arguments: [any DatabaseValueConvertible] = runIDs
        func add(_ column: String, _ values: [String]) {
            guard !values.isEmpty else { return }
            parts.append("\(prefix)\(column) IN \(placeholders(values.count))")
            arguments += values
        }
        add("model", models)
        add("value", values.map(\.rawValue))
        add("goal", goals.map(\.rawValue))
        add("option_order", optionOrders.map(\.rawValue))
        return (parts.joined(separator: " AND "), arguments)
    }
}

extension ExperimentStore {
    /// The rows of `trial_results` for the trials `filter` selects, in plan order (run, then plan
    /// ordinal; id order for trials without one): every table hvae prints is aggregated from
    /// these, so that no number depends on the order trials were inserted in (the slices of a
    /// sharded run, merged, give the unsharded run's numbers to the last digit). With a parser or
    /// formula version in the filter, the newest scores at or below those versions stand in for
    /// the newest scores. Many trials are read in slices of their ids on several readers at once
    /// (a million-call run has 130,000).
    public func trialResults(_ filter: TrialFilter) async throws -> [TrialResult] {
        let span = try await read { db in
            let (condition, arguments) = filter.condition()
            return try Row.fetchOne(
                db, sql: "SELECT min(id) AS low, max(id) AS high, count(*) AS n FROM trials WHERE \(condition)",
                arguments: StatementArguments(arguments)
            )
            .map { ($0["low"] as Int64?, $0["high"] as Int64?, $0["n"] as Int) }
        }
        guard let span, let low = span.0, let high = span.1 else { return [] }
        // Below 20,000 trials one read takes under 50 ms and slicing only adds overhead.
        let slices = span.2 < 20_000 ? 1 : max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))
        let width = (high - low) / Int64(slices) + 1
        let ranges = (0..<Int64(slices)).map { low + $0 * width...min(high, low + ($0 + 1) * width - 1) }
        return try await withThrowingTaskGroup(of: (Int, [TrialResult]).self) { group in
            for (index, range) in ranges.enumerated() {
                // The first slice's array is made large enough for all: the others are appended
                // to it, not copied with it into a third array. At 130,000 rows of some 280 bytes
                // the kernel's zeroing of fresh pages was a quarter of the read's CPU; this made
                // the read about 7 % faster (hvae-bench report, two builds alternating).
                let expected = index == 0 ? span.2 : span.2 / ranges.count + 1
                group.addTask { (index, try await self.trialResults(filter, ids: range, expected: expected)) }
            }
            var parts = [[TrialResult]](repeating: [], count: ranges.count)
            for try await (index, part) in group { parts[index] = part }
            var all = parts[0]
            parts[0] = []
            for part in parts.dropFirst() { all.append(contentsOf: part) }
            // A run made on one machine is in plan order already (trials are stored as they
            // start, in plan order): checked in one pass, sorted only when it is not.
            if !all.isInPlanOrder { all.sort(by: TrialResult.planOrder) }
            return all
        }
    }

    /// The rows of `trial_results` that `filter` selects among the trials with ids in `ids`: one
    /// page of a run's trials, read without reading the rest.
    public func trialResults(_ filter: TrialFilter, ids: ClosedRange<Int64>) async throws -> [TrialResult] {
        try await trialResults(filter, ids: ids, expected: min(ids.count, 10_000))
    }

    private func trialResults(_ filter: TrialFilter, ids: ClosedRange<Int64>, expected: Int) async throws
        -> [TrialResult]
    {
        try await read { db in
            let (condition, arguments) = filter.condition("t.", scanningIDs: true)
            let columns = TrialResult.resultColumns
            let sql: String
            var all: [any DatabaseValueConvertible] = arguments + [ids.lowerBound, ids.upperBound]
            if filter.parserVersion == nil && filter.formulaVersion == nil {
                sql = """
                    SELECT \(columns) FROM trial_results AS t WHERE \(condition) AND t.trial_id BETWEEN ? AND ?
                    ORDER BY trial_id
                    """
            } else {
                // trial_results (migrations/0019) with bounded versions.
                sql = """
                    SELECT \(columns) FROM (
                        SELECT t.id AS trial_id, t.run_id, t.model, t.value, t.goal, t.option_order, t.trial_index AS \
                    trial,
                               \(FinishedTrial.shownStatus(trial: "t.status", score: "s.status")) AS status,
                               s.angle, s.category, s.hit, s.vr, s.angular_error, s.transitive, s.invalid_items,
                               s.inequality_aversion, s.mean_self, s.mean_other, s.parser_version, s.formula_version,
                               t.target_phi, t.ideal_angle, t.placement, t.variant, s.expected_angle, s.mean_entropy,
                               t.ordinal, s.answered_items, s.reasked_items, s.unreadable_replies, s.invented_payoffs,
                               t.instrument
                        FROM trials AS t
                        LEFT JOIN trial_scores AS s ON s.trial_id = t.id
                            AND (s.formula_version, s.parser_version) = (
                                SELECT formula_version, parser_version FROM trial_scores
                                WHERE trial_id = t.id AND formula_version <= ? AND parser_version <= ?
                                ORDER BY formula_version DESC, parser_version DESC LIMIT 1)
                        WHERE \(condition) AND t.id BETWEEN ? AND ?)
                    ORDER BY trial_id
                    """
                all = [filter.formulaVersion ?? Int(Int32.max), filter.parserVersion ?? Int(Int32.max)] + all
            }
            var results: [TrialResult] = []
            results.reserveCapacity(expected)
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(all))
            while let row = try rows.next() {
                if let result = TrialResult(resultRow: row) { results.append(result) }
            }
            return results
        }
    }

    /// The rows of the `vr_summary` view for these runs: what sqlite3 users read, and what the
    /// tests hold every report to.
    public func vrSummary(runIDs: [Int64]) async throws -> [VRSummaryRow] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT run_id, model, value, goal, n, n_complete, mean_vr, sd_vr, mean_angle, hit_rate, target_phi,
                           mean_expected_angle, n_incomplete, n_failed, n_unfinished
                    FROM vr_summary
                    WHERE run_id IN \(placeholders(runIDs.count)) ORDER BY run_id, model, value, target_phi, goal
                    """, arguments: StatementArguments(runIDs)
            ).map { row in
                VRSummaryRow(
                    runID: row["run_id"], model: row["model"], value: row["value"], targetPhi: row["target_phi"],
                    goal: row["goal"], n: row["n"], nComplete: row["n_complete"], meanVR: row["mean_vr"],
                    sdVR: row["sd_vr"], meanAngle: row["mean_angle"], hitRate: row["hit_rate"],
                    meanExpectedAngle: row["mean_expected_angle"], nIncomplete: row["n_incomplete"],
                    nFailed: row["n_failed"], nUnfinished: row["n_unfinished"])
            }
        }
    }

    /// How often each (model, value, option order, item) was answered with each shown letter and
    /// real option, over the newest readings that chose an option: what position bias is measured from.
    /// With a parser version in the filter, each call's newest reading at or below it. The trials
    /// drive (CROSS JOIN, and `+` keeps `answers_by_status` out): driven by that index SQLite
    /// would visit every `ok` reading of every parser version, 5.8 s instead of 3.1 s for
    /// 768,000 newest readings among 2.3 million.
    public func answerCounts(_ filter: TrialFilter) async throws -> [AnswerCount] {
        try await read { db in
            let (condition, arguments) = filter.condition("t.")
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT t.model, t.value, t.option_order, a.item, a.shown_letter, a.option, count(*) AS n,
                           t.target_phi, t.instrument
                    FROM trials AS t CROSS JOIN model_calls AS c ON c.trial_id = t.id
                    CROSS JOIN answers AS a ON a.call_id = c.id
                        AND \(NewestReading.condition(answer: "a", call: "c.id", bounded: true))
                    WHERE \(condition) AND +a.status = 'ok' AND a.shown_letter IS NOT NULL
                    GROUP BY 1, 2, 8, 3, 4, 5, 6, 9
                    """, arguments: StatementArguments([filter.parserVersion ?? Int(Int32.max)] + arguments)
            ).compactMap { row in
                guard let assignment = Assignment(value: row["value"], targetPhi: row["target_phi"]),
                    let order = OptionOrder(rawValue: row["option_order"]),
                    let shown = OptionLetter(symbol: row["shown_letter"]),
                    let option = OptionLetter(symbol: row["option"])
                else { return nil }
                return AnswerCount(
                    model: row["model"], assignment: assignment, optionOrder: order, item: row["item"],
                    shownLetter: shown, option: option, count: row["n"], instrument: row["instrument"])
            }
        }
    }

    /// A trial's stored calls in the order they were made.
    public func storedCalls(trialID: Int64) async throws -> [StoredCall] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.step, c.item, c.attempt, c.retry, CAST(x.body AS BLOB) AS reply,
                           CAST(c.raw_response AS BLOB) AS raw_response
                    FROM model_calls AS c
                    LEFT JOIN turns AS t ON t.id = c.reply_turn_id
                    LEFT JOIN texts AS x ON x.sha256 = t.text_sha256
                    WHERE c.trial_id = ? ORDER BY c.id
                    """, arguments: [trialID]
            ).compactMap { row in
                CallStep(name: row["step"], item: row["item"]).map {
                    StoredCall(
                        step: $0, attempt: row["attempt"], retry: row["retry"], reply: ExactText.text(row, "reply"),
                        rawResponse: row["raw_response"])
                }
            }
        }
    }

    /// Calls, tokens and what the provider reported, per model of one run, in the order the
    /// models first appear.
    public func modelUsage(runID: Int64) async throws -> [ModelUsage] {
        try await read { db in
            // The tallies of migrations/0012, kept as calls are recorded: a few rows per run.
            try Row.fetchAll(
                db,
                sql: """
                    SELECT u.model, u.provider, u.calls,
                           (SELECT group_concat(id, ',') FROM reported_ids
                            WHERE run_id = u.run_id AND model = u.model AND kind = 'model') AS model_ids,
                           (SELECT group_concat(id, ',') FROM reported_ids
                            WHERE run_id = u.run_id AND model = u.model AND kind = 'fingerprint') AS fingerprints,
                           u.errors, u.retries, u.cache_hits, u.input_tokens, u.output_tokens,
                           u.cached_input_tokens, u.cached_output_tokens
                    FROM usage_tallies AS u WHERE u.run_id = ? ORDER BY u.first_trial_id
                    """, arguments: [runID]
            ).map { row in
                ModelUsage(
                    model: row["model"], provider: row["provider"], calls: row["calls"], modelIDs: row["model_ids"],
                    fingerprints: row["fingerprints"], errors: row["errors"], retries: row["retries"],
                    cacheHits: row["cache_hits"], inputTokens: row["input_tokens"], outputTokens: row["output_tokens"],
                    cachedInputTokens: row["cached_input_tokens"], cachedOutputTokens: row["cached_output_tokens"])
            }
        }
    }

    /// Replies cut by the token limit in the chosen runs, per model and step: the
    /// `model_calls_cut` index holds just those calls, so this is a lookup however large the runs.
    public func cutReplies(runIDs: [Int64]) async throws -> [CutReplies] {
        guard !runIDs.isEmpty else { return [] }
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT t.model, c.step, count(*) AS calls
                    FROM model_calls AS c CROSS JOIN trials AS t ON t.id = c.trial_id   -- CROSS: the cut calls drive
                    WHERE c.finish_reason IN ('length', 'max_tokens') AND t.run_id IN \
                    (\(runIDs.map { _ in "?" }.joined(separator: ", ")))
                    GROUP BY t.model, c.step ORDER BY min(t.id), CASE c.step WHEN 'value' THEN 0 WHEN 'goal' THEN 1 \
                    ELSE 2 END
                    """, arguments: StatementArguments(runIDs)
            ).map { row in
                CutReplies(model: row["model"], step: row["step"], calls: row["calls"])
            }
        }
    }

    /// The successful replies of one original trial, in call order: what a replay serves.
    public func storedReplies(runID: Int64, trial key: TrialKey) async throws -> [StoredReply] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT CAST(x.body AS BLOB) AS reply, c.provider_model_id, c.finish_reason, c.input_tokens,
                           c.output_tokens, CAST(c.raw_response AS BLOB) AS raw_response
                    FROM trials AS t
                    JOIN model_calls AS c ON c.trial_id = t.id
                    JOIN turns AS r ON r.id = c.reply_turn_id
                    JOIN texts AS x ON x.sha256 = r.text_sha256
                    WHERE t.run_id = ? AND t.model = ? AND coalesce(t.value, '') = ? AND t.target_phi = ? \
                    AND t.goal = ? AND t.option_order = ? AND t.placement = ? AND t.variant = ? AND t.instrument = ? \
                    AND t.trial_index = ?
                    ORDER BY c.id
                    """,
                arguments: [
                    runID, key.model, key.assignment.valueColumn ?? "", key.assignment.direction, key.goal.rawValue,
                    key.optionOrder.rawValue, key.placement.rawValue, key.variant, key.instrument, key.index,
                ]
            )
            .map { row in
                StoredReply(
                    reply: ExactText.text(row, "reply") ?? "", providerModelID: row["provider_model_id"],
                    systemFingerprint: nil, finishReason: row["finish_reason"], inputTokens: row["input_tokens"],
                    outputTokens: row["output_tokens"], rawResponse: row["raw_response"])
            }
        }
    }

    /// The first successful reply stored for a request with this key, in any run.
    public func cachedReply(requestKey: String) async throws -> StoredReply? {
        try await read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT CAST(x.body AS BLOB) AS reply, c.provider_model_id, c.system_fingerprint, c.finish_reason,
                           c.input_tokens, c.output_tokens, CAST(c.raw_response AS BLOB) AS raw_response
                    FROM model_calls AS c JOIN turns AS t ON t.id = c.reply_turn_id JOIN texts AS x ON x.sha256 = \
                    t.text_sha256
                    WHERE c.request_key = ? ORDER BY c.id LIMIT 1
                    """, arguments: [requestKey]
            ).map { row in
                StoredReply(
                    reply: ExactText.text(row, "reply") ?? "", providerModelID: row["provider_model_id"],
                    systemFingerprint: row["system_fingerprint"], finishReason: row["finish_reason"],
                    inputTokens: row["input_tokens"], outputTokens: row["output_tokens"],
                    rawResponse: row["raw_response"])
            }
        }
    }

    /// The full request of a call, rebuilt from the turn chain with one recursive query (the
    /// query docs/schema.md gives for sqlite3).
    public func requestMessages(callID: Int64) async throws -> [ChatMessage] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    WITH RECURSIVE chain(id, parent_id, position, role, text_sha256) AS (
                        SELECT t.id, t.parent_id, t.position, t.role, t.text_sha256
                        FROM turns AS t JOIN model_calls AS c ON c.request_turn_id = t.id WHERE c.id = ?
                        UNION ALL
                        SELECT t.id, t.parent_id, t.position, t.role, t.text_sha256
                        FROM turns AS t JOIN chain ON t.id = chain.parent_id
                    )
                    SELECT chain.role, CAST(texts.body AS BLOB) AS body
                    FROM chain JOIN texts ON texts.sha256 = chain.text_sha256
                    ORDER BY chain.position
                    """, arguments: [callID]
            ).compactMap { row in
                ChatMessage.Role(rawValue: row["role"]).map { ChatMessage($0, ExactText.text(row, "body") ?? "") }
            }
        }
    }

    /// The item calls of up to `limit` scored (complete or incomplete) trials of `runIDs` with ids
    /// above `afterTrial`, in trial and call order, with their replies and newest readings: what
    /// a rescore reads again. Paged, so that memory stays flat over any number of trials. With
    /// `bodiesOf`, the provider's bodies of those models' calls come too.
    public func itemCalls(runIDs: [Int64], afterTrial: Int64, limit: Int, bodiesOf: Set<String> = [])
        async throws -> ItemCallPage
    {
        try await read { db in
            let trialIDs = try Int64.fetchAll(
                db,
                sql: """
                    SELECT id FROM trials WHERE run_id IN \(placeholders(runIDs.count)) AND id > ?
                        AND \(FinishedTrial.ended("status"))
                    ORDER BY id LIMIT ?
                    """, arguments: StatementArguments(runIDs + [afterTrial, Int64(limit)]))
            guard !trialIDs.isEmpty else { return ItemCallPage(trialIDs: [], calls: []) }
            // Each call's answers newest first: its first row carries its newest reading, as
            // `latest_answers` has it.
            var calls: [ItemCall] = []
            var previous: Int64?
            typealias C = ItemCall.Column
            let rows = try Row.fetchCursor(
                selecting(
                    C.names,
                    db.cachedStatement(
                        sql: """
                            SELECT c.id AS call_id, c.trial_id, t.seed AS trial_seed, t.option_order, c.item, c.attempt,
                                   CAST(x.body AS BLOB) AS reply, a.parser_version, a.status, a.shown_letter, t.model,
                                   CASE WHEN t.model IN \(placeholders(max(1, bodiesOf.count)))
                                        THEN CAST(c.raw_response AS BLOB) END AS raw_response,
                                   t.run_id, t.instrument, a.number
                            FROM model_calls AS c
                            JOIN trials AS t ON t.id = c.trial_id
                            LEFT JOIN turns AS r ON r.id = c.reply_turn_id
                            LEFT JOIN texts AS x ON x.sha256 = r.text_sha256
                            LEFT JOIN answers AS a ON a.call_id = c.id
                            WHERE c.trial_id IN \(placeholders(trialIDs.count)) AND c.step = 'item'
                            ORDER BY c.trial_id, c.id, a.parser_version DESC
                            """)),
                arguments: StatementArguments(
                    (bodiesOf.isEmpty ? [""] : bodiesOf.sorted()).map(DatabaseValue.init)
                        + trialIDs.map(DatabaseValue.init)))
            while let row = try rows.next() {
                let callID: Int64 = row[C.callID]
                guard callID != previous, let order = OptionOrder(rawValue: row[C.optionOrder]) else { continue }
                previous = callID
                calls.append(
                    ItemCall(
                        callID: callID, trialID: row[C.trialID], trialSeed: row[C.trialSeed], optionOrder: order,
                        item: row[C.item], attempt: row[C.attempt], reply: ExactText.text(row, C.reply),
                        model: row[C.model], runID: row[C.runID], instrument: row[C.instrument],
                        rawResponse: row[C.rawResponse], parserVersion: row[C.parserVersion],
                        status: (row[C.status] as String?).flatMap(AnswerStatus.init(rawValue:)),
                        shownLetter: (row[C.shownLetter] as String?).flatMap(OptionLetter.init(symbol:)),
                        number: row[C.number]))
            }
            return ItemCallPage(trialIDs: trialIDs, calls: calls)
        }
    }
}

/// A row of the `vr_summary` view.
public struct VRSummaryRow: Sendable, Equatable {
    public var runID: Int64
    public var model: String
    /// The named value; nil for a target's cell.
    public var value: String?
    public var targetPhi: Double
    public var goal: String
    public var n: Int
    public var nComplete: Int
    public var meanVR: Double?
    public var sdVR: Double?
    public var meanAngle: Double?
    public var hitRate: Double?
    public var meanExpectedAngle: Double?
    public var nIncomplete: Int
    public var nFailed: Int
    public var nUnfinished: Int
}

/// How often one shown letter and real option was the answer to one item, for one model, value (or
/// target) and order.
public struct AnswerCount: Sendable, Equatable {
    public var model: String
    public var assignment: Assignment
    public var optionOrder: OptionOrder
    public var item: Int
    public var shownLetter: OptionLetter
    public var option: OptionLetter
    public var count: Int
    /// The trials' instrument.
    public var instrument: String = Instruments.defaultName
}

/// Calls and tokens of one model in one run, as `hvae show` prints them.
public struct ModelUsage: Sendable, Equatable {
    public var model: String
    public var provider: String
    public var calls: Int
    /// The distinct model ids and fingerprints the provider reported, comma-separated.
    public var modelIDs: String?
    public var fingerprints: String?
    public var errors: Int
    public var retries: Int
    public var cacheHits: Int
    /// Every call's tokens, cache hits' included (their rows keep the tokens of the call they serve).
    public var inputTokens: Int
    public var outputTokens: Int
    /// The tokens of the cache hits among them (schema 18).
    public var cachedInputTokens = 0
    public var cachedOutputTokens = 0

    /// The tokens the provider was paid for: a cache hit calls no model.
    public var billedInputTokens: Int { inputTokens - cachedInputTokens }
    public var billedOutputTokens: Int { outputTokens - cachedOutputTokens }
}

/// How many replies of one model's step the token limit cut (finish reason `length`, or
/// `max_tokens` from Anthropic).
public struct CutReplies: Sendable, Equatable {
    public var model: String
    /// `value`, `goal` or `item`, as `model_calls.step` stores it.
    public var step: String
    public var calls: Int
}

/// A stored reply, with what the provider reported about it.
public struct StoredReply: Sendable, Equatable {
    public var reply: String
    public var providerModelID: String?
    public var systemFingerprint: String?
    public var finishReason: String?
    public var inputTokens: Int?
    public var outputTokens: Int?
    /// The provider's body as received by the original call (for its log probabilities).
    public var rawResponse: Data?
}

/// An item call of a scored trial, with what a rescore needs to read its reply again.
public struct ItemCall: Sendable, Equatable {
    public var callID: Int64
    public var trialID: Int64
    public var trialSeed: Int64
    public var optionOrder: OptionOrder
    public var item: Int
    public var attempt: Int
    /// Nil when the call failed.
    public var reply: String?
    /// The model's name and the provider's body: read only when the rescore asks for bodies
    /// (a model that reads log probabilities).
    public var model: String
    public var runID: Int64
    /// The trial's instrument (`trials.instrument`).
    public var instrument: String
    public var rawResponse: Data?
    /// The newest stored reading.
    public var parserVersion: Int?
    public var status: AnswerStatus?
    public var shownLetter: OptionLetter?
    public var number: Int?

    /// The columns `ExperimentStore.itemCalls` selects, in order.
    enum Column: Int, SelectedColumns {
        case callID, trialID, trialSeed, optionOrder, item, attempt, reply, parserVersion, status, shownLetter
        case model, rawResponse, runID, instrument, number
    }
}

/// One page of `ExperimentStore.itemCalls`: its trials (some may have no item call) and their item calls.
public struct ItemCallPage: Sendable, Equatable {
    public var trialIDs: [Int64]
    public var calls: [ItemCall]
}

extension TrialResult {
    /// The columns of `trial_results` it reads, in the order `list` selects them.
    enum ResultColumn: Int, SelectedColumns {
        case trialID, runID, model, value, goal, optionOrder, trial, status, angle, category, hit, vr, angularError
        case transitive, invalidItems, inequalityAversion, meanSelf, meanOther, parserVersion, formulaVersion
        case targetPhi, placement, variant, expectedAngle, meanEntropy, ordinal, answeredItems, reaskedItems
        case unreadableReplies, inventedPayoffs, instrument
    }

    /// Its columns of `trial_results`, selected in order.
    static var resultColumns: String { ResultColumn.list() }

    /// Whether `a` comes before `b` in plan order: by run, then plan ordinal, then id.
    static func planOrder(_ a: TrialResult, _ b: TrialResult) -> Bool {
        (a.runID, a.ordinal ?? -1, a.trialID) < (b.runID, b.ordinal ?? -1, b.trialID)
    }

    /// A row of `resultColumns`; nil for a row whose enumerations this binary does not know.
    init?(resultRow row: Row) {
        typealias C = ResultColumn
        guard let assignment = Assignment(value: row[C.value], targetPhi: row[C.targetPhi]),
            let goal = GoalCondition(rawValue: row[C.goal]), let order = OptionOrder(rawValue: row[C.optionOrder]),
            let status = TrialStatus(rawValue: row[C.status]),
            let placement = PersonaPlacement(rawValue: row[C.placement])
        else { return nil }
        self.init(
            trialID: row[C.trialID], runID: row[C.runID],
            key: TrialKey(
                model: row[C.model], assignment: assignment, goal: goal, optionOrder: order, placement: placement,
                variant: row[C.variant], instrument: row[C.instrument], index: row[C.trial]),
            status: status)
        angle = row[C.angle]
        category = (row[C.category] as String?).flatMap(ValueOrientation.init(rawValue:))
        hit = row[C.hit]
        vr = row[C.vr]
        angularError = row[C.angularError]
        transitive = row[C.transitive]
        invalidItems = row[C.invalidItems]
        inequalityAversion = row[C.inequalityAversion]
        meanSelf = row[C.meanSelf]
        meanOther = row[C.meanOther]
        parserVersion = row[C.parserVersion]
        formulaVersion = row[C.formulaVersion]
        expectedAngle = row[C.expectedAngle]
        meanEntropy = row[C.meanEntropy]
        ordinal = row[C.ordinal]
        answeredItems = row[C.answeredItems]
        reaskedItems = row[C.reaskedItems]
        unreadableReplies = row[C.unreadableReplies]
        inventedPayoffs = row[C.inventedPayoffs]
    }
}

extension [TrialResult] {
    /// Whether the trials are in plan order (`TrialResult.planOrder`).
    var isInPlanOrder: Bool {
        zip(self, dropFirst()).allSatisfy { !TrialResult.planOrder($1, $0) }
    }
}
