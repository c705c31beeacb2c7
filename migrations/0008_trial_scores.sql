-- hvae schema, version 8: every score of a trial in one row of one table.
--
-- trial_scores: one row per trial and scorer version (the scoring formulas' version and the parser
-- version of the answers scored), a typed column per metric. It replaces trial_metrics, which held
-- one row per metric and had to be pivoted (a GROUP BY over ten rows a trial) for every read.
-- The runner scores a trial from its stored answers when it ends; `hvae rescore` adds rows for a
-- newer parser or formula version beside the old ones, which stay.
--
-- The rows of trial_metrics are copied here, one row per trial and parser version (every metric
-- of schema 1-7 was formula version 1), and trial_metrics is dropped: keeping it would leave two
-- homes for one number. Its per-metric formula names were fixed (atan2, svo-boundaries, ...); they
-- are the formulas of scorer version 1, described in docs/method.md.
CREATE TABLE trial_scores (
    trial_id            INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    formula_version     INTEGER NOT NULL CHECK (formula_version >= 1),
    parser_version      INTEGER NOT NULL CHECK (parser_version >= 1),
    status              TEXT NOT NULL CHECK (status = 'complete' OR status = 'incomplete'),
    angle               REAL,
    category            TEXT CHECK (category = 'altruistic' OR category = 'prosocial' OR category = 'individualistic'
                                    OR category = 'competitive'),
    hit                 INTEGER CHECK (hit = 0 OR hit = 1),
    vr                  REAL CHECK (vr BETWEEN 0 AND 60),
    angular_error       REAL CHECK (angular_error >= 0),
    transitive          INTEGER CHECK (transitive = 0 OR transitive = 1),
    invalid_items       INTEGER NOT NULL CHECK (invalid_items >= 0),
    inequality_aversion REAL,
    mean_self           REAL,
    mean_other          REAL,
    computed_at         TEXT NOT NULL,
    -- A complete trial has an angle, an incomplete one none; what derives from the angle follows it.
    CHECK ((status = 'complete') = (angle IS NOT NULL)),
    CHECK ((angle IS NULL) = (vr IS NULL)),
    PRIMARY KEY (trial_id, formula_version, parser_version)
) STRICT, WITHOUT ROWID;

INSERT INTO trial_scores (trial_id, formula_version, parser_version, status, angle, category, hit, vr, angular_error,
                          transitive, invalid_items, inequality_aversion, mean_self, mean_other, computed_at)
SELECT trial_id, max(formula_version), parser_version,
       CASE WHEN max(CASE WHEN metric = 'angle' THEN value END) IS NULL THEN 'incomplete' ELSE 'complete' END,
       max(CASE WHEN metric = 'angle' THEN value END),
       max(CASE WHEN metric = 'category' THEN label END),
       CAST(max(CASE WHEN metric = 'hit' THEN value END) AS INTEGER),
       max(CASE WHEN metric = 'vr' THEN value END),
       max(CASE WHEN metric = 'angular_error' THEN value END),
       CAST(max(CASE WHEN metric = 'transitive' THEN value END) AS INTEGER),
       coalesce(CAST(max(CASE WHEN metric = 'invalid_items' THEN value END) AS INTEGER), 0),
       max(CASE WHEN metric = 'inequality_aversion' THEN value END),
       max(CASE WHEN metric = 'mean_self' THEN value END),
       max(CASE WHEN metric = 'mean_other' THEN value END),
       max(computed_at)
FROM trial_metrics
GROUP BY trial_id, parser_version;

DROP VIEW vr_summary;
DROP VIEW trial_results;
DROP VIEW latest_trial_metrics;
DROP INDEX trial_metrics_by_metric;
DROP TABLE trial_metrics;

-- One row per trial: the trial, and its newest scores (the newest formula version, then the
-- newest parser version). `status` is the trial's, except that a scored trial is complete or
-- incomplete as its newest scores say (a rescore with a better parser can complete a trial).
CREATE VIEW trial_results AS
SELECT t.id AS trial_id, t.run_id, t.model, t.value, t.goal, t.option_order, t.trial_index AS trial,
       CASE WHEN s.status IS NOT NULL AND (t.status = 'complete' OR t.status = 'incomplete') THEN s.status
            ELSE t.status END AS status,
       s.angle, s.category, s.hit, s.vr, s.angular_error, s.transitive, s.invalid_items, s.inequality_aversion,
       s.mean_self, s.mean_other, s.parser_version, s.formula_version
FROM trials AS t
LEFT JOIN trial_scores AS s ON s.trial_id = t.id
    AND (s.formula_version, s.parser_version) = (
        SELECT formula_version, parser_version FROM trial_scores
        WHERE trial_id = t.id ORDER BY formula_version DESC, parser_version DESC LIMIT 1);

-- Mean VR per run x model x value x goal, over complete trials only: an incomplete or failed
-- trial counts in n but never as a zero. sd_vr is the sample standard deviation (n - 1; NULL
-- with fewer than two complete trials), from the deviations from the cell's mean (two passes:
-- identical values give 0 or about 1e-15, never the large error of sum of squares minus square of sums).
CREATE VIEW vr_summary AS
SELECT run_id, model, value, goal,
       count(*) AS n,
       count(complete_vr) AS n_complete,
       avg(complete_vr) AS mean_vr,
       CASE WHEN count(complete_vr) > 1
            THEN sqrt(sum((complete_vr - cell_mean_vr) * (complete_vr - cell_mean_vr)) / (count(complete_vr) - 1))
       END AS sd_vr,
       avg(CASE WHEN status = 'complete' THEN angle END) AS mean_angle,
       avg(CASE WHEN status = 'complete' THEN hit END) AS hit_rate
FROM (
    SELECT r.run_id, r.model, r.value, r.goal, r.status, r.angle, r.hit,
           CASE WHEN r.status = 'complete' THEN r.vr END AS complete_vr,
           avg(CASE WHEN r.status = 'complete' THEN r.vr END)
               OVER (PARTITION BY r.run_id, r.model, r.value, r.goal) AS cell_mean_vr
    FROM trial_results AS r
)
GROUP BY run_id, model, value, goal;
