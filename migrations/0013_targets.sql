-- hvae schema, version 13: trials told a target direction instead of a named value (method.md §8).
--
-- trials.target_phi: the direction φ (degrees) the trial was told to maximise, own·cos φ + other·sin φ.
--   A trial told a named value has that value's φ (altruistic 90, prosocial 45, individualistic 0,
--   competitive -45), so every trial of schema 12 and before reads as φ of its value.
-- trials.ideal_angle: θ* of that direction, the angle of its ideal answer pattern (`IdealAnswers`),
--   which VR and the angular error are measured from. For the four values it is their θ*, as
--   hvae computes it (the test TargetMigrationTests checks these literals against the code).
-- trials.value: now NULL for a target trial (told weights, not a name); a named trial's φ must be
--   its value's.
--
-- What identifies a trial in its run moves from a UNIQUE constraint to the unique index
-- trials_by_cell, whose key has the target: a later factor of the design is then a new column
-- and a new index, without rebuilding the table again. The table is rebuilt as SQLite's ALTER
-- TABLE documentation describes (a new table, a copy, the old one dropped, the new one renamed);
-- the migrator runs with foreign keys off, so the drop touches no other table, and checks them
-- all before it commits. legacy_alter_table keeps the rename from re-checking the views and
-- triggers of other tables, which name `trials` and read the new table once it has that name.
-- The triggers and indexes of `trials` itself go with the old table and are made again below,
-- unchanged; trial_results, vr_summary and call_log are made again with the new columns.

CREATE TABLE trials_13 (
    id            INTEGER PRIMARY KEY,
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model         TEXT NOT NULL,
    provider      TEXT NOT NULL,
    value         TEXT CHECK (value = 'altruistic' OR value = 'prosocial' OR value = 'individualistic'
                              OR value = 'competitive'),
    goal          TEXT NOT NULL CHECK (goal = 'with' OR goal = 'without'),
    option_order  TEXT NOT NULL CHECK (option_order = 'original' OR option_order = 'reversed'
                                       OR option_order = 'shuffled'),
    trial_index   INTEGER NOT NULL CHECK (trial_index >= 1),
    seed          INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status = 'pending' OR status = 'running' OR status = 'complete' OR status = 'incomplete'
                         OR status = 'failed'),
    error         TEXT,
    started_at    TEXT,
    finished_at   TEXT,
    ordinal       INTEGER CHECK (ordinal >= 0),
    target_phi    REAL NOT NULL CHECK (target_phi BETWEEN -90 AND 90),
    ideal_angle   REAL NOT NULL,
    CHECK (value IS NULL OR target_phi = CASE value WHEN 'altruistic' THEN 90 WHEN 'prosocial' THEN 45
                                                    WHEN 'individualistic' THEN 0 ELSE -45 END)
) STRICT;

INSERT INTO trials_13 (id, run_id, model, provider, value, goal, option_order, trial_index, seed, status, error,
                       started_at, finished_at, ordinal, target_phi, ideal_angle)
SELECT id, run_id, model, provider, value, goal, option_order, trial_index, seed, status, error,
       started_at, finished_at, ordinal,
       CASE value WHEN 'altruistic' THEN 90 WHEN 'prosocial' THEN 45 WHEN 'individualistic' THEN 0 ELSE -45 END,
       CASE value WHEN 'altruistic' THEN 61.38954033403479 WHEN 'prosocial' THEN 45.0
                  WHEN 'individualistic' THEN 7.815293546766879 ELSE -16.260204708311957 END
FROM trials;

DROP VIEW vr_summary;
DROP VIEW trial_results;
DROP VIEW call_log;
DROP TABLE trials;
PRAGMA legacy_alter_table = ON;
ALTER TABLE trials_13 RENAME TO trials;
PRAGMA legacy_alter_table = OFF;

CREATE INDEX trials_by_status ON trials(run_id, status);
CREATE UNIQUE INDEX trials_by_ordinal ON trials(run_id, ordinal) WHERE ordinal IS NOT NULL;
CREATE UNIQUE INDEX trials_by_cell
    ON trials(run_id, model, coalesce(value, ''), target_phi, goal, option_order, trial_index);

-- As in migrations/0012.
CREATE TRIGGER tallies_on_trial AFTER INSERT ON trials
BEGIN
    INSERT INTO status_tallies (run_id, trial_status, score_status, trials) VALUES (NEW.run_id, NEW.status, '', 1)
    ON CONFLICT DO UPDATE SET trials = trials + 1;
    INSERT INTO usage_tallies (run_id, model, provider, first_trial_id)
    VALUES (NEW.run_id, NEW.model, NEW.provider, NEW.id)
    ON CONFLICT DO NOTHING;
END;

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

-- As in migrations/0008, with the trial's target and θ*.
CREATE VIEW trial_results AS
SELECT t.id AS trial_id, t.run_id, t.model, t.value, t.goal, t.option_order, t.trial_index AS trial,
       CASE WHEN s.status IS NOT NULL AND (t.status = 'complete' OR t.status = 'incomplete') THEN s.status
            ELSE t.status END AS status,
       s.angle, s.category, s.hit, s.vr, s.angular_error, s.transitive, s.invalid_items, s.inequality_aversion,
       s.mean_self, s.mean_other, s.parser_version, s.formula_version,
       t.target_phi, t.ideal_angle
FROM trials AS t
LEFT JOIN trial_scores AS s ON s.trial_id = t.id
    AND (s.formula_version, s.parser_version) = (
        SELECT formula_version, parser_version FROM trial_scores
        WHERE trial_id = t.id ORDER BY formula_version DESC, parser_version DESC LIMIT 1);

-- As in migrations/0008, a cell now being a value or a target: value is NULL for a target's cell.
CREATE VIEW vr_summary AS
SELECT run_id, model, value, goal,
       count(*) AS n,
       count(complete_vr) AS n_complete,
       avg(complete_vr) AS mean_vr,
       CASE WHEN count(complete_vr) > 1
            THEN sqrt(sum((complete_vr - cell_mean_vr) * (complete_vr - cell_mean_vr)) / (count(complete_vr) - 1))
       END AS sd_vr,
       avg(CASE WHEN status = 'complete' THEN angle END) AS mean_angle,
       avg(CASE WHEN status = 'complete' THEN hit END) AS hit_rate,
       target_phi, ideal_angle
FROM (
    SELECT r.run_id, r.model, r.value, r.target_phi, r.ideal_angle, r.goal, r.status, r.angle, r.hit,
           CASE WHEN r.status = 'complete' THEN r.vr END AS complete_vr,
           avg(CASE WHEN r.status = 'complete' THEN r.vr END)
               OVER (PARTITION BY r.run_id, r.model, r.value, r.target_phi, r.goal) AS cell_mean_vr
    FROM trial_results AS r
)
GROUP BY run_id, model, value, target_phi, goal;

-- As in migrations/0009, with the trial's target.
CREATE VIEW call_log AS
SELECT c.id AS call_id, t.run_id, c.trial_id, t.model, t.value, t.goal, t.option_order,
       CASE c.step WHEN 'item' THEN 'item ' || c.item ELSE c.step END AS step,
       c.item, c.attempt, c.retry,
       prompt.body AS prompt,
       reply.body AS reply,
       CASE WHEN c.step <> 'item' THEN CASE WHEN c.reply_turn_id IS NULL THEN NULL ELSE 'ok' END
            ELSE a.status END AS parse_status,
       a.shown_letter, a.option, a.self, a.other,
       c.finish_reason, c.http_status, c.cache_hit,
       c.latency_ms, c.input_tokens, c.output_tokens, c.error,
       t.target_phi
FROM model_calls AS c
JOIN trials AS t ON t.id = c.trial_id
JOIN turns AS rq ON rq.id = c.request_turn_id
JOIN texts AS prompt ON prompt.sha256 = rq.text_sha256
LEFT JOIN turns AS rp ON rp.id = c.reply_turn_id
LEFT JOIN texts AS reply ON reply.sha256 = rp.text_sha256
LEFT JOIN latest_answers AS a ON a.call_id = c.id;
