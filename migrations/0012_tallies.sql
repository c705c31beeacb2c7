-- hvae schema, version 12: tallies kept as rows are recorded, so that a run's overview (its trials
-- by status, its calls, tokens and cost) is a lookup of a few rows instead of a scan of every call.
-- On a million calls the scans took 0.25 s and 1.1 s. (A tally of answers by option, for the
-- position-bias table, was tried and left out: its trigger made a rescore of a million replies
-- 25 % slower, 28.6 s to 35.5 s.)
--
-- Each tally is the count its comment gives, over the rows stored; triggers keep it so as trials,
-- calls and scores are inserted (by a run, a rescore or a merge) and as a trial's status
-- changes. hvae never deletes or rewrites those rows otherwise; a row deleted or changed by hand
-- leaves a tally stale, which `hvae db check` reports (it counts everything again and compares).
-- A tally never goes below zero, and a row whose count is zero stays (reads skip it).
--
-- status_tallies: trials per run, by the trial's stored status and the status of its newest scores
--   ('' when it has none). The status a trial is shown with is the view trial_status_counts,
--   which applies the rule of trial_results to these pairs.
-- usage_tallies: per run and model, its calls and what they cost, as model_calls has them; a row
--   per model from its first trial on, so a model with no call yet shows 0.
-- reported_ids: the distinct model ids and system fingerprints providers reported, per run and model.

CREATE TABLE status_tallies (
    run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    trial_status TEXT NOT NULL,
    score_status TEXT NOT NULL,
    trials       INTEGER NOT NULL CHECK (trials >= 0),
    PRIMARY KEY (run_id, trial_status, score_status)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_tallies (
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model          TEXT NOT NULL,
    provider       TEXT NOT NULL,
    first_trial_id INTEGER NOT NULL,
    calls          INTEGER NOT NULL DEFAULT 0 CHECK (calls >= 0),
    errors         INTEGER NOT NULL DEFAULT 0 CHECK (errors >= 0),
    retries        INTEGER NOT NULL DEFAULT 0 CHECK (retries >= 0),
    cache_hits     INTEGER NOT NULL DEFAULT 0 CHECK (cache_hits >= 0),
    input_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, model)
) STRICT, WITHOUT ROWID;

CREATE TABLE reported_ids (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model  TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('model', 'fingerprint')),
    id     TEXT NOT NULL,
    PRIMARY KEY (run_id, model, kind, id)
) STRICT, WITHOUT ROWID;

-- The status each trial is shown with, counted per run: the rule of trial_results (migrations/0008)
-- applied to the pairs of status_tallies. A test checks the two agree.
CREATE VIEW trial_status_counts AS
SELECT run_id,
       CASE WHEN score_status <> '' AND (trial_status = 'complete' OR trial_status = 'incomplete') THEN score_status
            ELSE trial_status END AS status,
       sum(trials) AS trials
FROM status_tallies
GROUP BY 1, 2
HAVING sum(trials) > 0;

-- What is stored already.
INSERT INTO status_tallies (run_id, trial_status, score_status, trials)
SELECT t.run_id, t.status, coalesce((
           SELECT status FROM trial_scores WHERE trial_id = t.id
           ORDER BY formula_version DESC, parser_version DESC LIMIT 1), ''), count(*)
FROM trials AS t
GROUP BY 1, 2, 3;

INSERT INTO usage_tallies (run_id, model, provider, first_trial_id)
SELECT run_id, model, provider, min(id) FROM trials GROUP BY run_id, model;

UPDATE usage_tallies SET (calls, errors, retries, cache_hits, input_tokens, output_tokens) = (
    SELECT count(*), coalesce(sum(c.error IS NOT NULL), 0), coalesce(sum(c.retry > 0), 0),
           coalesce(sum(c.cache_hit), 0), coalesce(sum(c.input_tokens), 0), coalesce(sum(c.output_tokens), 0)
    FROM trials AS t JOIN model_calls AS c ON c.trial_id = t.id
    WHERE t.run_id = usage_tallies.run_id AND t.model = usage_tallies.model);

INSERT INTO reported_ids (run_id, model, kind, id)
SELECT DISTINCT t.run_id, t.model, 'model', c.provider_model_id
FROM trials AS t JOIN model_calls AS c ON c.trial_id = t.id WHERE c.provider_model_id IS NOT NULL
UNION
SELECT DISTINCT t.run_id, t.model, 'fingerprint', c.system_fingerprint
FROM trials AS t JOIN model_calls AS c ON c.trial_id = t.id WHERE c.system_fingerprint IS NOT NULL;

-- A new trial: counted under its status, with no scores; its model gets a usage row.
CREATE TRIGGER tallies_on_trial AFTER INSERT ON trials
BEGIN
    INSERT INTO status_tallies (run_id, trial_status, score_status, trials) VALUES (NEW.run_id, NEW.status, '', 1)
    ON CONFLICT DO UPDATE SET trials = trials + 1;
    INSERT INTO usage_tallies (run_id, model, provider, first_trial_id)
    VALUES (NEW.run_id, NEW.model, NEW.provider, NEW.id)
    ON CONFLICT DO NOTHING;
END;

-- A trial's status changed: its count moves, its scores' status staying what it was.
CREATE TRIGGER tallies_on_trial_status AFTER UPDATE OF status ON trials WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE status_tallies SET trials = trials - 1
    WHERE run_id = NEW.run_id AND trial_status = OLD.status AND score_status = coalesce((
        SELECT status FROM trial_scores WHERE trial_id = NEW.id
        ORDER BY formula_version DESC, parser_version DESC LIMIT 1), '');
    INSERT INTO status_tallies (run_id, trial_status, score_status, trials)
    VALUES (NEW.run_id, NEW.status, coalesce((
        SELECT status FROM trial_scores WHERE trial_id = NEW.id
        ORDER BY formula_version DESC, parser_version DESC LIMIT 1), ''), 1)
    ON CONFLICT DO UPDATE SET trials = trials + 1;
END;

-- New scores that are now the trial's newest: its count moves from the scores before them
-- (or from none) to these, unless those had the same status (as most of a rescore's do).
CREATE TRIGGER tallies_on_scores AFTER INSERT ON trial_scores
WHEN (NEW.formula_version, NEW.parser_version) = (
    SELECT formula_version, parser_version FROM trial_scores WHERE trial_id = NEW.trial_id
    ORDER BY formula_version DESC, parser_version DESC LIMIT 1)
AND coalesce((
    SELECT status FROM trial_scores
    WHERE trial_id = NEW.trial_id AND (formula_version, parser_version) < (NEW.formula_version, NEW.parser_version)
    ORDER BY formula_version DESC, parser_version DESC LIMIT 1), '') <> NEW.status
BEGIN
    UPDATE status_tallies SET trials = trials - 1
    WHERE (run_id, trial_status) = (SELECT run_id, status FROM trials WHERE id = NEW.trial_id)
      AND score_status = coalesce((
        SELECT status FROM trial_scores
        WHERE trial_id = NEW.trial_id AND (formula_version, parser_version) < (NEW.formula_version, NEW.parser_version)
        ORDER BY formula_version DESC, parser_version DESC LIMIT 1), '');
    INSERT INTO status_tallies (run_id, trial_status, score_status, trials)
    SELECT run_id, status, NEW.status, 1 FROM trials WHERE id = NEW.trial_id
    ON CONFLICT DO UPDATE SET trials = trials + 1;
END;

-- A new call: its run and model's totals grow, and the ids its provider reported are noted.
CREATE TRIGGER tallies_on_call AFTER INSERT ON model_calls
BEGIN
    UPDATE usage_tallies SET calls = calls + 1, errors = errors + (NEW.error IS NOT NULL),
        retries = retries + (NEW.retry > 0), cache_hits = cache_hits + NEW.cache_hit,
        input_tokens = input_tokens + coalesce(NEW.input_tokens, 0),
        output_tokens = output_tokens + coalesce(NEW.output_tokens, 0)
    WHERE (run_id, model) = (SELECT run_id, model FROM trials WHERE id = NEW.trial_id);
    INSERT INTO reported_ids (run_id, model, kind, id)
    SELECT run_id, model, 'model', NEW.provider_model_id FROM trials
    WHERE id = NEW.trial_id AND NEW.provider_model_id IS NOT NULL
    ON CONFLICT DO NOTHING;
    INSERT INTO reported_ids (run_id, model, kind, id)
    SELECT run_id, model, 'fingerprint', NEW.system_fingerprint FROM trials
    WHERE id = NEW.trial_id AND NEW.system_fingerprint IS NOT NULL
    ON CONFLICT DO NOTHING;
END;
