import Design
import Domain
import Foundation
import GRDB
import Runner
import SVO
import Store

/// A database of about `calls` calls with the shape a real run stores, built with SQL (the runner
/// would take many minutes to make a million calls): 8 models x 4 values x 2 goal conditions, each
/// trial a whole conversation (value description, goal, six items, a re-ask after a hedge) as a
/// chain of turns; replies in the styles of the parser's corpus, many of them distinct (they name
/// the trial); an answer per item call as parser v2 reads it; and scores from the real scorer.
/// Raw response bodies are left out (NULL), to keep the file to a few hundred MB.
enum ScaleDatabase {
    /// Builds it at `path`; returns its trials and calls, and the time the scorer took.
    static func build(path: String, calls: Int) async throws -> (trials: Int, calls: Int, scoring: Double) {
        let store = try ExperimentStore(path: path)
        let trialsPerCell = max(1, calls / 500)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            db.add(
                function: DatabaseFunction("sha256hex", argumentCount: 1, pure: true) { values in
                    String.fromDatabaseValue(values[0]).map { (text: String) in Digest.sha256Hex(text) }
                })
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        // The four values with their directions and θ*, as the runner stores them.
        let valueRows = ValueOrientation.allCases.map { value in
            "SELECT '\(value.rawValue)' AS value, \(value.utilityDirection) AS phi, \(value.idealAngle) AS ideal"
        }.joined(separator: " UNION ALL ")
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (id, name, status, experiment_json, experiment_sha256, seed, tool_version, \
                    created_at,
                                      started_at, finished_at, planned_trials)
                    VALUES (1, 'scale', 'finished', '{}', '\(String(repeating: "0", count: 64))', 1, 'bench',
                            '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-01T06:00:00.000Z', \
                    \(trialsPerCell * 64));
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(trialsPerCell))
                    INSERT INTO trials (run_id, model, provider, value, goal, option_order, trial_index, seed, status, \
                    started_at,
                                        finished_at, ordinal, target_phi, ideal_angle)
                    SELECT 1, 'model-' || m.k, 'openai', v.value, g.goal, 'original', n.i, n.i * 1000 + m.k, 'running',
                           '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:09.000Z', NULL, v.phi, v.ideal
                    FROM (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
                          UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7) AS m,
                         (\(valueRows)) AS v,
                         (SELECT 'with' AS goal UNION ALL SELECT 'without') AS g, n;
                    UPDATE trials SET ordinal = id - 1;
                    CREATE TEMP TABLE options (item INTEGER, k INTEGER, letter TEXT, own INTEGER, other INTEGER);
                    CREATE TEMP TABLE prompts (kind TEXT, value TEXT, goal TEXT, item INTEGER, body TEXT);
                    """)
            for item in SliderItem.primary {
                for option in OptionLetter.allCases {
                    let allocation = item.allocation(option)
                    try db.execute(
                        sql: "INSERT INTO options VALUES (?, ?, ?, ?, ?)",
                        arguments: [item.number, option.rawValue, option.symbol, allocation.own, allocation.other])
                }
            }
            let templates = PromptTemplates.standard
            func fill(_ template: String, _ fields: [String: String]) -> String {
                fields.reduce(template) { $0.replacingOccurrences(of: "{{\($1.key)}}", with: $1.value) }
            }
            let ordinals = ["first", "second", "third", "fourth", "fifth", "sixth"]
            for value in ValueOrientation.allCases.map(\.rawValue) {
                let common = ["value": value, "item_count": "6"]
                try db.execute(
                    sql: "INSERT INTO prompts VALUES ('value', ?, NULL, NULL, ?)",
                    arguments: [value, fill(templates.valuePrompt, common)])
                let preamble = fill(templates.role, common) + "\n\n" + fill(templates.task, common)
                try db.execute(
                    sql: "INSERT INTO prompts VALUES ('goal', ?, 'with', NULL, ?)",
                    arguments: [value, preamble + "\n\n" + fill(templates.goalPrompt, common)])
                try db.execute(
                    sql: "INSERT INTO prompts VALUES ('goal-reply', ?, 'with', NULL, ?)",
                    arguments: [
                        value,
                        "My goal is to choose, in every question, the split that best serves my \(value) values.",
                    ])
                for goal in ["with", "without"] {
                    let goalText =
                        goal == "with"
                        ? "My goal is to choose, in every question, the split that best serves my \(value) values."
                        : fill(templates.neutralGoal, common)
                    for item in SliderItem.primary {
                        let options = OptionLetter.allCases.map {
                            "\($0.symbol): \(item.allocation($0).own), \(item.allocation($0).other)"
                        }.joined(separator: "\n")
                        var text = fill(
                            templates.item,
                            common.merging([
                                "ordinal": ordinals[item.number - 1], "number": String(item.number),
                                "options": options, "goal": goalText,
                            ]) { $1 })
                        if goal == "without" && item.number == 1 { text = preamble + "\n\n" + text }
                        try db.execute(
                            sql: "INSERT INTO prompts VALUES ('item', ?, ?, ?, ?)",
                            arguments: [value, goal, item.number, text])
                    }
                }
            }
            for item in SliderItem.primary {
                try db.execute(
                    sql: "INSERT INTO prompts VALUES ('reask', NULL, NULL, ?, ?)",
                    arguments: [item.number, fill(templates.reask, ["ordinal": ordinals[item.number - 1]])])
            }
            try db.execute(
                sql: """
                    -- Per trial and item: the reply's style (1 in 16 a hedge, then re-asked) and the option chosen.
                    CREATE TEMP TABLE plan AS
                    SELECT t.id AS trial_id, t.value, t.goal, i.item,
                           (t.id * 7 + i.item * 13) % 16 AS style, (t.id * 31 + i.item * 17) % 9 AS k,
                           ((t.id * 31 + i.item * 17) % 9 + 1 + (t.id + i.item) % 8) % 9 AS other_k,
                           CASE t.goal WHEN 'with' THEN 4 ELSE 2 END + (i.item - 1) * 4 AS slot
                    FROM trials AS t,
                         (SELECT 1 AS item UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5
                          UNION ALL SELECT 6) AS i;
                    CREATE TEMP TABLE tt (trial_id INTEGER, position INTEGER, role TEXT, body TEXT, step TEXT, item \
                    INTEGER,
                                          attempt INTEGER, reply INTEGER, sha TEXT);
                    INSERT INTO tt (trial_id, position, role, body, reply)
                    SELECT t.id, 0, 'user', p.body, 0 FROM trials AS t JOIN prompts AS p ON p.kind = 'value' AND \
                    p.value = t.value;
                    INSERT INTO tt (trial_id, position, role, body, step, attempt, reply)
                    SELECT id, 1, 'assistant', 'As a ' || value || ' person I weigh what my choices give me and the \
                    other '
                           || 'participant; speaking as participant ' || id || ', I would hold to that.', 'value', 1, 1
                    FROM trials;
                    INSERT INTO tt (trial_id, position, role, body, reply)
                    SELECT t.id, 2, 'user', p.body, 0 FROM trials AS t JOIN prompts AS p ON p.kind = 'goal' AND \
                    p.value = t.value
                    WHERE t.goal = 'with';
                    INSERT INTO tt (trial_id, position, role, body, step, attempt, reply)
                    SELECT t.id, 3, 'assistant', p.body, 'goal', 1, 1 FROM trials AS t
                    JOIN prompts AS p ON p.kind = 'goal-reply' AND p.value = t.value WHERE t.goal = 'with';
                    INSERT INTO tt (trial_id, position, role, body, reply)
                    SELECT pl.trial_id, pl.slot, 'user', p.body, 0 FROM plan AS pl
                    JOIN prompts AS p ON p.kind = 'item' AND p.value = pl.value AND p.goal = pl.goal AND p.item = \
                    pl.item;
                    INSERT INTO tt (trial_id, position, role, body, step, item, attempt, reply)
                    SELECT pl.trial_id, pl.slot + 1, 'assistant',
                           CASE pl.style / 2
                               WHEN 0 THEN o.letter
                               WHEN 1 THEN 'Option ' || o.letter || ': ' || o.own || ', ' || o.other
                               WHEN 2 THEN 'I choose ' || o.letter || ' because it best fits my ' || pl.value
                                           || ' values (participant ' || pl.trial_id || ').'
                               WHEN 3 THEN '**' || o.letter || '**'
                               WHEN 4 THEN 'The answer is: ' || o.letter || '.'
                               WHEN 5 THEN '(' || o.own || ', ' || o.other || ')'
                               ELSE CASE WHEN pl.style = 15 THEN 'Either ' || o.letter || ' or ' || h.letter || ' \
                    would be fine.'
                                         ELSE 'Hmm. ' || o.letter || ' seems best to me, given my ' || pl.value || ' \
                    values ('
                                              || pl.trial_id || ').' END
                           END, 'item', pl.item, 1, 1
                    FROM plan AS pl JOIN options AS o ON o.item = pl.item AND o.k = pl.k
                    JOIN options AS h ON h.item = pl.item AND h.k = pl.other_k;
                    INSERT INTO tt (trial_id, position, role, body, reply)
                    SELECT pl.trial_id, pl.slot + 2, 'user', p.body, 0 FROM plan AS pl
                    JOIN prompts AS p ON p.kind = 'reask' AND p.item = pl.item WHERE pl.style = 15;
                    INSERT INTO tt (trial_id, position, role, body, step, item, attempt, reply)
                    SELECT pl.trial_id, pl.slot + 3, 'assistant', o.letter, 'item', pl.item, 2, 1
                    FROM plan AS pl JOIN options AS o ON o.item = pl.item AND o.k = pl.k WHERE pl.style = 15;
                    UPDATE tt SET sha = sha256hex(body);
                    INSERT INTO texts (sha256, body) SELECT sha, body FROM tt WHERE true GROUP BY sha ON CONFLICT DO \
                    NOTHING;
                    INSERT INTO turns (id, trial_id, parent_id, position, role, text_sha256)
                    SELECT trial_id * 40 + position, trial_id,
                           lag(trial_id * 40 + position) OVER (PARTITION BY trial_id ORDER BY position), position, \
                    role, sha
                    FROM tt ORDER BY trial_id, position;
                    INSERT INTO model_calls (trial_id, step, item, attempt, retry, http_status, request_turn_id, \
                    reply_turn_id,
                                             provider_model_id, finish_reason, input_tokens, output_tokens, latency_ms,
                                             started_at, finished_at)
                    SELECT trial_id, step, item, attempt, 0, 200, trial_id * 40 + position - 1, trial_id * 40 + \
                    position,
                           'bench-model-1', 'stop', 200 + 60 * position, length(body) / 4 + 1, 400 + (trial_id % 97),
                           '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z'
                    FROM tt WHERE reply = 1 ORDER BY trial_id, position;
                    INSERT INTO answers (call_id, parser_version, status, item, shown_letter, option, self, other)
                    SELECT c.id, \(AnswerParser.version), CASE WHEN pl.style = 15 AND c.attempt = 1 THEN 'ambiguous' \
                    ELSE 'ok' END,
                           c.item,
                           CASE WHEN pl.style = 15 AND c.attempt = 1 THEN NULL ELSE o.letter END,
                           CASE WHEN pl.style = 15 AND c.attempt = 1 THEN NULL ELSE o.letter END,
                           CASE WHEN pl.style = 15 AND c.attempt = 1 THEN NULL ELSE o.own END,
                           CASE WHEN pl.style = 15 AND c.attempt = 1 THEN NULL ELSE o.other END
                    FROM model_calls AS c JOIN plan AS pl ON pl.trial_id = c.trial_id AND pl.item = c.item
                    JOIN options AS o ON o.item = c.item AND o.k = pl.k
                    WHERE c.step = 'item';
                    DROP TABLE tt;
                    DROP TABLE plan;
                    """)
        }
        let (trials, callCount) = try await queue.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM trials")!,
                try Int.fetchOne(db, sql: "SELECT count(*) FROM model_calls")!
            )
        }
        try queue.close()
        // Scores through the scorer a run uses, a batch of trials per transaction.
        let scorer = TrialScorer(store: store)
        let start = ContinuousClock.now
        for first in stride(from: 1, through: trials, by: 1_000) {
            try await scorer.score((first..<min(first + 1_000, trials + 1)).map(Int64.init), settingStatus: true)
        }
        return (trials, callCount, seconds(ContinuousClock.now - start))
    }
}
