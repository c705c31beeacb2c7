-- hvae schema, version 19: instruments (method.md §9). A trial answers one instrument; the
-- schema stores any instrument's items and answers.
--
-- trials.instrument: `slider` (items 1-6), `slider-full` (items 1-15), `slider-parallel`, `ring`
--   or `dictator` (`Instruments.all`). A trial of schema 18 and before answered its run's
--   `instrument:` (`primary` is `slider`, `full` is `slider-full`), and is given that name here.
-- trials.form: what makes a trial's form its own, where it has one: a parallel form's six
--   offsets ("3,-7,12,-1,5,9"). NULL for an instrument's own form. The form is derived again from
--   the trial's seed by replay and rescore; the column shows it to `sqlite3` and checks it.
-- model_calls.item, answers.item: any item number from 1 (the ring has 24 items).
-- answers.self, answers.other: ANY instead of INTEGER, so that the ring's points (14.5, -3.9) are
--   stored as the trial saw them; whole coins stay INTEGER, so no stored value changes.
-- answers.number: the number a reply gave, for an item that takes one (the dictator game); an ok
--   answer is a shown letter and a real option, or a number, with its payoffs.
-- The cell's unique index gains the instrument; trial_results and call_log carry it (and
--   call_log the number); vr_summary splits by it. The CHECKs and types are edited in place as
--   migration 0006 edits them (only their text changes; no row is copied).

ALTER TABLE trials ADD COLUMN instrument TEXT NOT NULL DEFAULT 'slider'
    CHECK (length(instrument) BETWEEN 1 AND 40 AND instrument NOT GLOB '*[^a-z0-9_-]*');
ALTER TABLE trials ADD COLUMN form TEXT;
ALTER TABLE answers ADD COLUMN number INTEGER CHECK (number >= 0);

UPDATE trials SET instrument = 'slider-full'
WHERE run_id IN (SELECT id FROM runs WHERE json_extract(experiment_json, '$.instrument') = 'full');

PRAGMA writable_schema = ON;

UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (item BETWEEN 1 AND 15)', 'CHECK (item >= 1)')
WHERE type = 'table' AND name = 'model_calls';

UPDATE sqlite_schema SET sql = replace(replace(replace(replace(sql,
    'CHECK (item BETWEEN 1 AND 15)', 'CHECK (item >= 1)'),
    'self           INTEGER,', 'self           ANY,'),
    'other          INTEGER,', 'other          ANY,'),
    'CHECK ((status = ''ok'') = (option IS NOT NULL AND shown_letter IS NOT NULL
                              AND self IS NOT NULL AND other IS NOT NULL))',
    'CHECK ((status = ''ok'') = (((option IS NOT NULL AND shown_letter IS NOT NULL) <> (number IS NOT NULL))
                              AND self IS NOT NULL AND other IS NOT NULL))')
WHERE type = 'table' AND name = 'answers';

PRAGMA writable_schema = OFF;
PRAGMA writable_schema = RESET;

DROP INDEX trials_by_cell;
CREATE UNIQUE INDEX trials_by_cell
    ON trials(run_id, model, coalesce(value, ''), target_phi, goal, option_order, placement, variant, instrument,
              trial_index);

DROP VIEW vr_summary;
DROP VIEW trial_results;
DROP VIEW call_log;

-- As in migrations/0017, with the trial's instrument and form.
CREATE VIEW trial_results AS
SELECT t.id AS trial_id, t.run_id, t.model, t.value, t.goal, t.option_order, t.trial_index AS trial,
       CASE WHEN s.status IS NOT NULL AND (t.status = 'complete' OR t.status = 'incomplete') THEN s.status
            ELSE t.status END AS status,
       s.angle, s.category, s.hit, s.vr, s.angular_error, s.transitive, s.invalid_items, s.inequality_aversion,
       s.mean_self, s.mean_other, s.parser_version, s.formula_version,
       t.target_phi, t.ideal_angle, t.placement, t.variant,
       s.expected_angle, s.mean_entropy, s.expected_self, s.expected_other, t.ordinal,
       s.answered_items, s.reasked_items, s.unreadable_replies, s.invented_payoffs,
       t.instrument, t.form
FROM trials AS t
LEFT JOIN trial_scores AS s ON s.trial_id = t.id
    AND (s.formula_version, s.parser_version) = (
        SELECT formula_version, parser_version FROM trial_scores
        WHERE trial_id = t.id ORDER BY formula_version DESC, parser_version DESC LIMIT 1);

-- As in migrations/0017, one row per instrument too: angles and VR of different instruments are
-- not pooled.
CREATE VIEW vr_summary AS
SELECT run_id, model, value, goal,
       count(*) AS n,
       count(complete_vr) AS n_complete,
       avg(complete_vr) AS mean_vr,
       CASE WHEN count(complete_vr) > 1
            THEN sqrt(sum((complete_vr - cell_min_vr - cell_mean_shift) * (complete_vr - cell_min_vr - cell_mean_shift))
                      / (count(complete_vr) - 1))
       END AS sd_vr,
       avg(CASE WHEN status = 'complete' THEN angle END) AS mean_angle,
       avg(CASE WHEN status = 'complete' THEN hit END) AS hit_rate,
       target_phi, ideal_angle,
       avg(CASE WHEN status = 'complete' THEN expected_angle END) AS mean_expected_angle,
       count(CASE WHEN status = 'incomplete' THEN 1 END) AS n_incomplete,
       count(CASE WHEN status = 'failed' THEN 1 END) AS n_failed,
       count(CASE WHEN status IN ('pending', 'running') THEN 1 END) AS n_unfinished,
       instrument
FROM (
    SELECT *, avg(complete_vr - cell_min_vr)
                  OVER (PARTITION BY run_id, model, value, target_phi, goal, instrument) AS cell_mean_shift
    FROM (
        SELECT r.run_id, r.model, r.value, r.target_phi, r.ideal_angle, r.goal, r.status, r.angle, r.hit,
               r.expected_angle, r.instrument,
               CASE WHEN r.status = 'complete' THEN r.vr END AS complete_vr,
               min(CASE WHEN r.status = 'complete' THEN r.vr END)
                   OVER (PARTITION BY r.run_id, r.model, r.value, r.target_phi, r.goal, r.instrument) AS cell_min_vr
        FROM trial_results AS r
    )
)
GROUP BY run_id, model, value, target_phi, goal, instrument;

-- As in migrations/0014, with the trial's instrument and the answer's number.
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
       t.target_phi, t.placement, t.variant, t.instrument, a.number
FROM model_calls AS c
JOIN trials AS t ON t.id = c.trial_id
JOIN turns AS rq ON rq.id = c.request_turn_id
JOIN texts AS prompt ON prompt.sha256 = rq.text_sha256
LEFT JOIN turns AS rp ON rp.id = c.reply_turn_id
LEFT JOIN texts AS reply ON reply.sha256 = rp.text_sha256
LEFT JOIN latest_answers AS a ON a.call_id = c.id;

CREATE TABLE hvae_schema_changed (x);
DROP TABLE hvae_schema_changed;
