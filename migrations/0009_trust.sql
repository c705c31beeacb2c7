-- hvae schema, version 9: what the trust issue needs stored.
--
-- answers.status may be 'conflict': the reply names one option but quotes another option's
--   payoffs with it (parser v2). The CHECK is edited in place as migration 0006 edits them (only
--   its text changes; no row is copied).
-- runs.planned_trials: how many trials the run's experiment plans (for its shard). Trials are
--   stored as they start, so a run of millions of trials starts at once and in bounded memory;
--   NULL for runs of schema 8 and before, whose trials were all stored when the run was created.
-- runs.stop_reason: why the run stopped before its end (a budget; a model stopped, with the
--   server's message), NULL otherwise.
-- trials.ordinal: the trial's place in its experiment's plan (0, 1, ...), so that a resume walks
--   the plan and the stored trials side by side; NULL for trials of schema 8 and before.
-- call_log shows each call's finish_reason (a reply cut by max_tokens says `length`), its HTTP
--   status and whether it came from the cache.

PRAGMA writable_schema = ON;

UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status = ''ok'' OR status = ''no_option'' OR status = ''ambiguous'' OR status = ''refusal'' OR status = ''empty'')',
    'CHECK (status = ''ok'' OR status = ''no_option'' OR status = ''ambiguous'' OR status = ''refusal'' OR status = ''empty'' OR status = ''conflict'')')
WHERE type = 'table' AND name = 'answers';

PRAGMA writable_schema = OFF;
PRAGMA writable_schema = RESET;

ALTER TABLE runs ADD COLUMN planned_trials INTEGER CHECK (planned_trials >= 0);
ALTER TABLE runs ADD COLUMN stop_reason TEXT;
ALTER TABLE trials ADD COLUMN ordinal INTEGER CHECK (ordinal >= 0);
CREATE UNIQUE INDEX trials_by_ordinal ON trials(run_id, ordinal) WHERE ordinal IS NOT NULL;

DROP VIEW call_log;
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
       c.latency_ms, c.input_tokens, c.output_tokens, c.error
FROM model_calls AS c
JOIN trials AS t ON t.id = c.trial_id
JOIN turns AS rq ON rq.id = c.request_turn_id
JOIN texts AS prompt ON prompt.sha256 = rq.text_sha256
LEFT JOIN turns AS rp ON rp.id = c.reply_turn_id
LEFT JOIN texts AS reply ON reply.sha256 = rp.text_sha256
LEFT JOIN latest_answers AS a ON a.call_id = c.id;
