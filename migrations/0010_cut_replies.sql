-- hvae schema, version 10: replies cut by the token limit, found without reading every call.
--
-- A reply cut by max_tokens (finish_reason 'length' from OpenAI-format servers, 'max_tokens' from
-- Anthropic) is what the model then reads as its own value description or goal, so reports warn
-- about them. This partial index holds only those calls: the warning costs a lookup, not a scan of
-- a million calls, and the index costs nothing for calls that were not cut.

CREATE INDEX model_calls_cut ON model_calls(trial_id, step) WHERE finish_reason IN ('length', 'max_tokens');
