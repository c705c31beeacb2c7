-- hvae schema, version 1.
-- Conventions: STRICT tables; timestamps are ISO 8601 UTC text ('2026-11-29T08:12:04.123Z');
-- enumerations are lower-case text guarded by CHECK constraints.

-- Marks the file as an hvae database (visible with `PRAGMA application_id`): 0x48564145, "HVAE".
PRAGMA application_id = 1213612357;

-- One execution of an experiment file.
CREATE TABLE runs (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'running', 'finished', 'interrupted', 'failed')),
    experiment_json   TEXT NOT NULL,          -- canonical JSON, every default filled in
    experiment_sha256 TEXT NOT NULL CHECK (length(experiment_sha256) = 64),
    seed              INTEGER NOT NULL,
    tool_version      TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT
) STRICT;

-- One administration of the questionnaire to one model under one assigned value and goal condition.
CREATE TABLE trials (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model         TEXT NOT NULL,              -- the model's name in the experiment file
    provider      TEXT NOT NULL,              -- 'reference' for the built-in simulated agents
    value         TEXT NOT NULL
                  CHECK (value IN ('altruistic', 'prosocial', 'individualistic', 'competitive')),
    goal          TEXT NOT NULL CHECK (goal IN ('with', 'without')),
    option_order  TEXT NOT NULL CHECK (option_order IN ('original', 'reversed', 'shuffled')),
    trial_index   INTEGER NOT NULL CHECK (trial_index >= 1),   -- replicate number within its cell
    seed          INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'complete', 'incomplete', 'failed')),
    error         TEXT,
    started_at    TEXT,
    finished_at   TEXT,
    UNIQUE (run_id, model, value, goal, option_order, trial_index)
) STRICT;
CREATE INDEX trials_by_status ON trials(run_id, status);

-- Every distinct message text, stored once and addressed by the SHA-256 of its UTF-8 bytes.
CREATE TABLE texts (
    sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    body   TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- The messages of each trial's conversation as a chain: each turn points to the turn before it.
-- A call's request is the chain that ends at its request_turn_id, so the shared prefix of a
-- growing conversation is stored once per trial (see docs/schema.md for the query).
CREATE TABLE turns (
    id          INTEGER PRIMARY KEY,
    trial_id    INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    parent_id   INTEGER REFERENCES turns(id),
    position    INTEGER NOT NULL CHECK (position >= 0),   -- 0 for the first message
    role        TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    text_sha256 TEXT NOT NULL REFERENCES texts(sha256),
    UNIQUE (trial_id, position)
) STRICT;
CREATE INDEX turns_by_parent ON turns(parent_id);

-- One request to a model and what came back (or the error).
CREATE TABLE model_calls (
    id                INTEGER PRIMARY KEY,
    trial_id          INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    step              TEXT NOT NULL CHECK (step IN ('value', 'goal', 'item')),
    item              INTEGER CHECK (item BETWEEN 1 AND 15),   -- set when step = 'item'
    attempt           INTEGER NOT NULL CHECK (attempt >= 1),   -- 1, then 2... for re-asks after unreadable replies
    retry             INTEGER NOT NULL DEFAULT 0 CHECK (retry >= 0),  -- transport retries of the same request
    request_turn_id   INTEGER NOT NULL REFERENCES turns(id),  -- last message of the request
    reply_turn_id     INTEGER REFERENCES turns(id),           -- NULL when the call failed
    raw_response      TEXT,                                    -- provider's body as received
    provider_model_id TEXT,                                    -- model id the provider reported
    finish_reason     TEXT,
    input_tokens      INTEGER,
    output_tokens     INTEGER,
    latency_ms        REAL,
    error             TEXT,
    started_at        TEXT NOT NULL,
    finished_at       TEXT NOT NULL,
    CHECK ((step = 'item') = (item IS NOT NULL)),
    UNIQUE (trial_id, step, item, attempt, retry)
) STRICT;
CREATE INDEX model_calls_by_trial ON model_calls(trial_id);

-- The parser's reading of an item reply. A new parser version adds rows; old rows stay.
CREATE TABLE answers (
    id             INTEGER PRIMARY KEY,
    call_id        INTEGER NOT NULL REFERENCES model_calls(id) ON DELETE CASCADE,
    parser_version INTEGER NOT NULL CHECK (parser_version >= 1),
    status         TEXT NOT NULL CHECK (status IN ('ok', 'no_option', 'ambiguous', 'refusal', 'empty')),
    item           INTEGER NOT NULL CHECK (item BETWEEN 1 AND 15),
    shown_letter   TEXT CHECK (shown_letter IN ('A','B','C','D','E','F','G','H','I')),
    option         TEXT CHECK (option IN ('A','B','C','D','E','F','G','H','I')),  -- the item's real option
    self           INTEGER,
    other          INTEGER,
    CHECK ((status = 'ok') = (option IS NOT NULL AND shown_letter IS NOT NULL
                              AND self IS NOT NULL AND other IS NOT NULL)),
    UNIQUE (call_id, parser_version)
) STRICT;

-- Per-trial metrics. A new formula version, or a rescore with a new parser version, adds rows;
-- old rows stay.
CREATE TABLE trial_metrics (
    trial_id        INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    metric          TEXT NOT NULL,
    formula         TEXT NOT NULL,            -- e.g. 'vr60'
    formula_version INTEGER NOT NULL CHECK (formula_version >= 1),
    parser_version  INTEGER NOT NULL CHECK (parser_version >= 1),  -- the answers it was computed from
    value           REAL,                     -- numeric metrics
    label           TEXT,                     -- categorical metrics (category)
    computed_at     TEXT NOT NULL,
    CHECK ((value IS NULL) <> (label IS NULL)),
    PRIMARY KEY (trial_id, metric, formula_version, parser_version)
) STRICT;
-- One metric across all trials in trial order, without touching the table: what reports read.
CREATE INDEX trial_metrics_by_metric ON trial_metrics(metric, trial_id, formula_version, parser_version, value, label);

-- The newest version of each metric of each trial: the newest formula, then the newest parser.
CREATE VIEW latest_trial_metrics AS
SELECT m.*
FROM trial_metrics AS m
WHERE (m.formula_version, m.parser_version) =
      (SELECT formula_version, parser_version FROM trial_metrics
       WHERE trial_id = m.trial_id AND metric = m.metric
       ORDER BY formula_version DESC, parser_version DESC LIMIT 1);

-- The newest parser version's answer to each call.
CREATE VIEW latest_answers AS
SELECT a.*
FROM answers AS a
WHERE a.parser_version = (SELECT max(parser_version) FROM answers WHERE call_id = a.call_id);

CREATE VIEW trial_results AS
SELECT t.id AS trial_id, t.run_id, t.model, t.value, t.goal, t.option_order,
       t.trial_index AS trial,
       -- A scored trial is complete when its newest metrics have an angle: a rescore can change it.
       CASE WHEN t.status IN ('complete', 'incomplete')
            THEN CASE WHEN max(CASE WHEN m.metric = 'angle' THEN m.value END) IS NULL THEN 'incomplete' ELSE 'complete' END
            ELSE t.status END AS status,
       max(CASE WHEN m.metric = 'angle'         THEN m.value END) AS angle,
       max(CASE WHEN m.metric = 'category'      THEN m.label END) AS category,
       max(CASE WHEN m.metric = 'hit'           THEN m.value END) AS hit,
       max(CASE WHEN m.metric = 'vr'            THEN m.value END) AS vr,
       max(CASE WHEN m.metric = 'angular_error' THEN m.value END) AS angular_error,
       max(CASE WHEN m.metric = 'transitive'    THEN m.value END) AS transitive,
       max(CASE WHEN m.metric = 'invalid_items' THEN m.value END) AS invalid_items,
       max(CASE WHEN m.metric = 'inequality_aversion' THEN m.value END) AS inequality_aversion,
       max(CASE WHEN m.metric = 'mean_self' THEN m.value END) AS mean_self,
       max(CASE WHEN m.metric = 'mean_other' THEN m.value END) AS mean_other
FROM trials AS t
LEFT JOIN latest_trial_metrics AS m ON m.trial_id = t.id
GROUP BY t.id;

CREATE VIEW call_log AS
SELECT c.id AS call_id, t.run_id, c.trial_id, t.model, t.value, t.goal,
       CASE c.step WHEN 'item' THEN 'item ' || c.item ELSE c.step END AS step,
       c.item, c.attempt, c.retry,
       prompt.body AS prompt,
       reply.body AS reply,
       CASE WHEN c.step <> 'item' THEN CASE WHEN c.reply_turn_id IS NULL THEN NULL ELSE 'ok' END
            ELSE a.status END AS parse_status,
       a.shown_letter, a.option, a.self, a.other,
       c.latency_ms, c.input_tokens, c.output_tokens, c.error
FROM model_calls AS c
JOIN trials AS t ON t.id = c.trial_id
JOIN turns AS rq ON rq.id = c.request_turn_id
JOIN texts AS prompt ON prompt.sha256 = rq.text_sha256
LEFT JOIN turns AS rp ON rp.id = c.reply_turn_id
LEFT JOIN texts AS reply ON reply.sha256 = rp.text_sha256
LEFT JOIN latest_answers AS a ON a.call_id = c.id;

-- Mean VR per run x model x value x goal, over complete trials only: an incomplete or failed
-- trial counts in n but never as a zero. sd_vr is the sample standard deviation (n - 1),
-- computed in two passes (no catastrophic cancellation: identical values give 0 or ~1e-15).
CREATE VIEW vr_summary AS
WITH complete AS (
    SELECT * FROM trial_results WHERE status = 'complete'
), cells AS (
    SELECT run_id, model, value, goal,
           count(*) AS n,
           count(CASE WHEN status = 'complete' THEN 1 END) AS n_complete
    FROM trial_results
    GROUP BY run_id, model, value, goal
), means AS (
    SELECT run_id, model, value, goal,
           avg(vr) AS mean_vr, count(vr) AS n_vr, avg(angle) AS mean_angle, avg(hit) AS hit_rate
    FROM complete
    GROUP BY run_id, model, value, goal
), spreads AS (
    SELECT c.run_id, c.model, c.value, c.goal,
           sqrt(sum((c.vr - m.mean_vr) * (c.vr - m.mean_vr)) / (m.n_vr - 1)) AS sd_vr
    FROM complete AS c
    JOIN means AS m USING (run_id, model, value, goal)
    WHERE m.n_vr > 1
    GROUP BY c.run_id, c.model, c.value, c.goal
)
SELECT cells.run_id, cells.model, cells.value, cells.goal, cells.n, cells.n_complete,
       means.mean_vr, spreads.sd_vr, means.mean_angle, means.hit_rate
FROM cells
LEFT JOIN means USING (run_id, model, value, goal)
LEFT JOIN spreads USING (run_id, model, value, goal);
