-- hvae schema, version 16: provider batch APIs (issue 15; docs/providers.md, "Batch mode").
--
-- A model with `batch: true` sends its calls through the provider's batch API (OpenAI's Batch API,
-- Anthropic's Message Batches) in rounds: the next call of every trial that is waiting for one, as
-- one batch (or several, within the APIs' limits). Each call is still recorded in model_calls as a
-- normal call is; these tables hold what a process needs to find its batches again after a kill or
-- a reboot, so that `hvae resume` re-attaches to a batch still running on the provider instead of
-- submitting (and paying for) its requests again.
--
-- batches: one row per batch submitted. `provider_batch_id` is the provider's id (batch_..., or
--   msgbatch_...), `input_file_id` the uploaded JSONL of an OpenAI batch. `status` is the
--   provider's word as last seen (OpenAI: validating, in_progress, finalizing, completed, failed,
--   expired, cancelling, cancelled; Anthropic: in_progress, canceling, ended). `requests`,
--   `succeeded` and `failed` count its requests. `round` numbers the run's rounds for this model
--   from 1. A batch that fails whole (the provider's `failed`, ended with no result at all, or
--   expired with none of its requests run) has its requests submitted once more, in the next
--   round; `error` keeps the reason.
-- batch_requests: the requests of each batch by `custom_id`, which hvae derives from the run, the
--   trial, the call's index in its trial and its retry ("hvae-r1-t42-c3-a0"), so that a result can
--   only ever be matched to the call that asked for it.

CREATE TABLE batches (
    id                INTEGER PRIMARY KEY,
    run_id            INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model             TEXT NOT NULL,
    provider          TEXT NOT NULL CHECK (provider = 'openai' OR provider = 'anthropic'),
    provider_batch_id TEXT NOT NULL,
    input_file_id     TEXT,
    round             INTEGER NOT NULL CHECK (round >= 1),
    status            TEXT NOT NULL,
    requests          INTEGER NOT NULL CHECK (requests >= 1),
    succeeded         INTEGER NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
    failed            INTEGER NOT NULL DEFAULT 0 CHECK (failed >= 0),
    error             TEXT,
    submitted_at      TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    ended_at          TEXT,
    UNIQUE (provider, provider_batch_id)
);
CREATE INDEX batches_by_run ON batches(run_id, model, round);

CREATE TABLE batch_requests (
    batch_id  INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    custom_id TEXT NOT NULL,
    trial_id  INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,
    PRIMARY KEY (custom_id, batch_id)
) WITHOUT ROWID;
