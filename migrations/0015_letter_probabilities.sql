-- hvae schema, version 15: answers read from token log probabilities (method.md §8.7).
--
-- letter_probabilities: for an item call of a model with `answer_from: logprobs` or `both`, the
--   probability the model gave each shown letter A-I at the token where its reply named its
--   answer, and the mass left to every other token there. One row per call and parser version
--   (finding that token is part of reading the reply, as the parser is), derived from the call's
--   stored raw_response, so `hvae rescore` derives it again. `status` says why a call has no
--   probabilities: `no_letter` (no token of the reply is the letter it was read as choosing, or it
--   was not read as one letter) or `missing` (the response had no log probabilities): never zeros.
-- trial_scores gains the trial's expected allocation (probability-weighted coins for self and
--   other, averaged over the six primary items), its angle, and the mean entropy (bits) of the
--   counted answers' letter distributions. NULL for every trial read from its text only.
-- trial_results also gains each trial's plan ordinal. A report must not depend on the order in
--   which trials were inserted: the slices of a sharded experiment, merged, have their trials in
--   another id order than the same experiment run on one machine, and a bootstrap (or a
--   floating-point sum) over them in id order would give other digits. hvae reads trials in plan
--   order (run, then ordinal: model, value or target, goal, option order, placement, variant,
--   replicate, as TrialPlan numbers them), which both share. NULL for trials of runs made before
--   plan ordinals were stored, which are read in id order.

CREATE TABLE letter_probabilities (
    call_id        INTEGER NOT NULL REFERENCES model_calls(id) ON DELETE CASCADE,
    parser_version INTEGER NOT NULL CHECK (parser_version >= 1),
    status         TEXT NOT NULL CHECK (status = 'ok' OR status = 'no_letter' OR status = 'missing'),
    token_index    INTEGER CHECK (token_index >= 0),
    p_a            REAL CHECK (p_a BETWEEN 0 AND 1),
    p_b            REAL CHECK (p_b BETWEEN 0 AND 1),
    p_c            REAL CHECK (p_c BETWEEN 0 AND 1),
    p_d            REAL CHECK (p_d BETWEEN 0 AND 1),
    p_e            REAL CHECK (p_e BETWEEN 0 AND 1),
    p_f            REAL CHECK (p_f BETWEEN 0 AND 1),
    p_g            REAL CHECK (p_g BETWEEN 0 AND 1),
    p_h            REAL CHECK (p_h BETWEEN 0 AND 1),
    p_i            REAL CHECK (p_i BETWEEN 0 AND 1),
    outside        REAL CHECK (outside BETWEEN 0 AND 1),
    -- Probabilities exactly when the token was found; none of them otherwise.
    CHECK ((status = 'ok') = (token_index IS NOT NULL AND outside IS NOT NULL AND p_a IS NOT NULL
        AND p_b IS NOT NULL AND p_c IS NOT NULL AND p_d IS NOT NULL AND p_e IS NOT NULL AND p_f IS NOT NULL
        AND p_g IS NOT NULL AND p_h IS NOT NULL AND p_i IS NOT NULL)),
    CHECK (status = 'ok' OR (token_index IS NULL AND outside IS NULL AND p_a IS NULL)),
    PRIMARY KEY (call_id, parser_version)
) STRICT, WITHOUT ROWID;

ALTER TABLE trial_scores ADD COLUMN expected_self REAL;
ALTER TABLE trial_scores ADD COLUMN expected_other REAL;
ALTER TABLE trial_scores ADD COLUMN expected_angle REAL;
ALTER TABLE trial_scores ADD COLUMN mean_entropy REAL CHECK (mean_entropy >= 0);

DROP VIEW vr_summary;
DROP VIEW trial_results;

-- As in migrations/0014, with the expected angle, the mean entropy, the expected allocation and
-- the plan ordinal.
CREATE VIEW trial_results AS
SELECT t.id AS trial_id, t.run_id, t.model, t.value, t.goal, t.option_order, t.trial_index AS trial,
       CASE WHEN s.status IS NOT NULL AND (t.status = 'complete' OR t.status = 'incomplete') THEN s.status
            ELSE t.status END AS status,
       s.angle, s.category, s.hit, s.vr, s.angular_error, s.transitive, s.invalid_items, s.inequality_aversion,
       s.mean_self, s.mean_other, s.parser_version, s.formula_version,
       t.target_phi, t.ideal_angle, t.placement, t.variant,
       s.expected_angle, s.mean_entropy, s.expected_self, s.expected_other, t.ordinal
FROM trials AS t
LEFT JOIN trial_scores AS s ON s.trial_id = t.id
    AND (s.formula_version, s.parser_version) = (
        SELECT formula_version, parser_version FROM trial_scores
        WHERE trial_id = t.id ORDER BY formula_version DESC, parser_version DESC LIMIT 1);

-- As in migrations/0014, with the mean expected angle over the complete trials that have one.
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
       target_phi, ideal_angle,
       avg(CASE WHEN status = 'complete' THEN expected_angle END) AS mean_expected_angle
FROM (
    SELECT r.run_id, r.model, r.value, r.target_phi, r.ideal_angle, r.goal, r.status, r.angle, r.hit,
           r.expected_angle,
           CASE WHEN r.status = 'complete' THEN r.vr END AS complete_vr,
           avg(CASE WHEN r.status = 'complete' THEN r.vr END)
               OVER (PARTITION BY r.run_id, r.model, r.value, r.target_phi, r.goal) AS cell_mean_vr
    FROM trial_results AS r
)
GROUP BY run_id, model, value, target_phi, goal;
