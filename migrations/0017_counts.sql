-- hvae schema, version 17: vr_summary counts a cell's trials by what became of them, and its
-- standard deviation is exactly 0 for equal values; answers say when a reply's payoffs were no
-- option's.
--
-- trial_scores gains how a trial's answers came (formula 3): answered_items, reasked_items (answered
--   only on a re-ask), unreadable_replies (item replies not read as one option) and
--   invented_payoffs (counted answers whose reply quoted payoffs that are no option's); NULL for
--   scores of older formulas. trial_results carries them.
-- answers.mismatched_payoffs: 1 when the reply quoted payoffs with its letter that are no option's
--   ("D: 98", "A: 7, 45"), read as that letter since parser version 3 (payoffs of another option
--   are a conflict); 0 otherwise, and for every answer of an older parser.
-- n_complete, n_incomplete (the model left an item unanswered), n_failed (the provider failed
--   the trial) and n_unfinished (pending or running: the run has not ended) add up to n. Before,
--   only n and n_complete were given, and `hvae report`'s `n_incomplete` counted every trial that
--   was not complete, unfinished ones included.
-- sd_vr is computed from the values less the cell's smallest (the shifted two-pass formula, as
--   `Statistics.sampleSD`): equal values give exactly 0, where the mean of a constant cell could
--   differ from its value in the last bit and give 3.7e-15.

ALTER TABLE answers ADD COLUMN mismatched_payoffs INTEGER NOT NULL DEFAULT 0
    CHECK (mismatched_payoffs = 0 OR (mismatched_payoffs = 1 AND status = 'ok'));

ALTER TABLE trial_scores ADD COLUMN answered_items INTEGER CHECK (answered_items >= 0);
ALTER TABLE trial_scores ADD COLUMN reasked_items INTEGER CHECK (reasked_items >= 0);
ALTER TABLE trial_scores ADD COLUMN unreadable_replies INTEGER CHECK (unreadable_replies >= 0);
ALTER TABLE trial_scores ADD COLUMN invented_payoffs INTEGER CHECK (invented_payoffs >= 0);

DROP VIEW vr_summary;
DROP VIEW trial_results;

-- As in migrations/0015, with how the answers came.
CREATE VIEW trial_results AS
SELECT t.id AS trial_id, t.run_id, t.model, t.value, t.goal, t.option_order, t.trial_index AS trial,
       CASE WHEN s.status IS NOT NULL AND (t.status = 'complete' OR t.status = 'incomplete') THEN s.status
            ELSE t.status END AS status,
       s.angle, s.category, s.hit, s.vr, s.angular_error, s.transitive, s.invalid_items, s.inequality_aversion,
       s.mean_self, s.mean_other, s.parser_version, s.formula_version,
       t.target_phi, t.ideal_angle, t.placement, t.variant,
       s.expected_angle, s.mean_entropy, s.expected_self, s.expected_other, t.ordinal,
       s.answered_items, s.reasked_items, s.unreadable_replies, s.invented_payoffs
FROM trials AS t
LEFT JOIN trial_scores AS s ON s.trial_id = t.id
    AND (s.formula_version, s.parser_version) = (
        SELECT formula_version, parser_version FROM trial_scores
        WHERE trial_id = t.id ORDER BY formula_version DESC, parser_version DESC LIMIT 1);

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
       count(CASE WHEN status IN ('pending', 'running') THEN 1 END) AS n_unfinished
FROM (
    SELECT *, avg(complete_vr - cell_min_vr)
                  OVER (PARTITION BY run_id, model, value, target_phi, goal) AS cell_mean_shift
    FROM (
        SELECT r.run_id, r.model, r.value, r.target_phi, r.ideal_angle, r.goal, r.status, r.angle, r.hit,
               r.expected_angle,
               CASE WHEN r.status = 'complete' THEN r.vr END AS complete_vr,
               min(CASE WHEN r.status = 'complete' THEN r.vr END)
                   OVER (PARTITION BY r.run_id, r.model, r.value, r.target_phi, r.goal) AS cell_min_vr
        FROM trial_results AS r
    )
)
GROUP BY run_id, model, value, target_phi, goal;
