-- hvae schema, version 5: one index fewer on model_calls.
-- model_calls_by_trial (trial_id) repeated the leftmost column of the UNIQUE (trial_id, step, item,
-- attempt, retry) index, which serves every lookup of a trial's calls (and the cascade from trials)
-- as well: every call was written into both.
DROP INDEX IF EXISTS model_calls_by_trial;
