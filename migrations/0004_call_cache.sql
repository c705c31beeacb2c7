-- hvae schema, version 4: the response cache.
-- request_key: SHA-256 of what makes two requests the same (provider, base URL, model, sampling
--   parameters, messages, and the trial's seed and call index, so repeated samples stay independent).
-- cache_hit: 1 when the reply was taken from an earlier call with the same key instead of the model.
ALTER TABLE model_calls ADD COLUMN request_key TEXT;
ALTER TABLE model_calls ADD COLUMN cache_hit INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1));
CREATE INDEX model_calls_by_request_key ON model_calls(request_key) WHERE request_key IS NOT NULL;
