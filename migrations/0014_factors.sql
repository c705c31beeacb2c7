-- hvae schema, version 14: two more factors of the design, stored per trial (method.md §8.4, §8.5).
--
-- trials.placement: `user` (the value prompt and role instruction are turns of the dialogue, as in
--   the study; every trial of schema 13 and before) or `system` (they are the system message).
-- trials.variant: the name of the set of templates the trial was worded with: `default` (the
--   experiment's templates; every trial of schema 13 and before), a built-in set (`paraphrase`,
--   `zh`) or one the experiment file names. The run's experiment JSON holds each set's wording.
-- The cell's unique index gains both; trial_results and call_log carry them. vr_summary pools
-- them as it pools option orders (`hvae report --by placement` or `--by variant` splits them).

ALTER TABLE trials ADD COLUMN placement TEXT NOT NULL DEFAULT 'user'
    CHECK (placement = 'user' OR placement = 'system');
ALTER TABLE trials ADD COLUMN variant TEXT NOT NULL DEFAULT 'default'
    CHECK (length(variant) BETWEEN 1 AND 40 AND variant NOT GLOB '*[^a-z0-9_-]*');

DROP INDEX trials_by_cell;
CREATE UNIQUE INDEX trials_by_cell
    ON trials(run_id, model, coalesce(value, ''), target_phi, goal, option_order, placement, variant, trial_index);

DROP VIEW vr_summary;
DROP VIEW trial_results;
DROP VIEW call_log;

-- As in migrations/0013, with the trial's placement and variant.
CREATE VIEW trial_results AS
SELECT t.id AS trial_id, t.run_id, t.model, t.value, t.goal, t.option_order, t.trial_index AS trial,
       CASE WHEN s.status IS NOT NULL AND (t.status = 'complete' OR t.status = 'incomplete') THEN s.status
            ELSE t.status END AS status,
       s.angle, s.category, s.hit, s.vr, s.angular_error, s.transitive, s.invalid_items, s.inequality_aversion,
       s.mean_self, s.mean_other, s.parser_version, s.formula_version,
       t.target_phi, t.ideal_angle, t.placement, t.variant
FROM trials AS t
LEFT JOIN trial_scores AS s ON s.trial_id = t.id
    AND (s.formula_version, s.parser_version) = (
        SELECT formula_version, parser_version FROM trial_scores
        WHERE trial_id = t.id ORDER BY formula_version DESC, parser_version DESC LIMIT 1);

-- As in migrations/0013 (made again: it reads trial_results).
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

-- As in migrations/0013, with the trial's placement and variant.
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
       t.target_phi, t.placement, t.variant
FROM model_calls AS c
JOIN trials AS t ON t.id = c.trial_id
JOIN turns AS rq ON rq.id = c.request_turn_id
JOIN texts AS prompt ON prompt.sha256 = rq.text_sha256
LEFT JOIN turns AS rp ON rp.id = c.reply_turn_id
LEFT JOIN texts AS reply ON reply.sha256 = rp.text_sha256
LEFT JOIN latest_answers AS a ON a.call_id = c.id;
