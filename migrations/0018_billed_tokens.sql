-- hvae schema, version 18: a run's cost, defined once (issue 28, "one SQL home per rule").
--
-- A cache hit (`cache: true`) serves an earlier call's reply without calling the model, and its row
-- keeps that call's token counts so that the reply's usage stays visible. Nothing was sent and
-- nothing is paid for it. The progress line and `max_cost` counted cache hits as free, while
-- `hvae show`, the viewer and a resumed run's budget priced their tokens: one run, two costs.
-- usage_tallies now also counts the tokens of cache hits, and a run's cost is the price of the
-- tokens less those (`ModelUsage.billedInputTokens`, `billedOutputTokens`), wherever it is shown
-- or checked.
--
-- usage_tallies.cached_input_tokens, cached_output_tokens: the input and output tokens of the
--   model's cache hits in the run; filled here from the stored calls (only rows with cache hits,
--   found through the request_key index), then kept by tallies_on_call.

ALTER TABLE usage_tallies ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_tallies ADD COLUMN cached_output_tokens INTEGER NOT NULL DEFAULT 0;

UPDATE usage_tallies SET
    cached_input_tokens = (
        SELECT coalesce(sum(c.input_tokens), 0) FROM model_calls AS c JOIN trials AS t ON t.id = c.trial_id
        WHERE c.request_key IS NOT NULL AND c.cache_hit = 1
          AND t.run_id = usage_tallies.run_id AND t.model = usage_tallies.model),
    cached_output_tokens = (
        SELECT coalesce(sum(c.output_tokens), 0) FROM model_calls AS c JOIN trials AS t ON t.id = c.trial_id
        WHERE c.request_key IS NOT NULL AND c.cache_hit = 1
          AND t.run_id = usage_tallies.run_id AND t.model = usage_tallies.model)
WHERE cache_hits > 0;

DROP TRIGGER tallies_on_call;

-- A new call: its run and model's totals grow, and the ids its provider reported are noted.
CREATE TRIGGER tallies_on_call AFTER INSERT ON model_calls
BEGIN
    UPDATE usage_tallies SET calls = calls + 1, errors = errors + (NEW.error IS NOT NULL),
        retries = retries + (NEW.retry > 0), cache_hits = cache_hits + NEW.cache_hit,
        input_tokens = input_tokens + coalesce(NEW.input_tokens, 0),
        output_tokens = output_tokens + coalesce(NEW.output_tokens, 0),
        cached_input_tokens = cached_input_tokens + NEW.cache_hit * coalesce(NEW.input_tokens, 0),
        cached_output_tokens = cached_output_tokens + NEW.cache_hit * coalesce(NEW.output_tokens, 0)
    WHERE (run_id, model) = (SELECT run_id, model FROM trials WHERE id = NEW.trial_id);
    INSERT INTO reported_ids (run_id, model, kind, id)
    SELECT run_id, model, 'model', NEW.provider_model_id FROM trials
    WHERE id = NEW.trial_id AND NEW.provider_model_id IS NOT NULL
    ON CONFLICT DO NOTHING;
    INSERT INTO reported_ids (run_id, model, kind, id)
    SELECT run_id, model, 'fingerprint', NEW.system_fingerprint FROM trials
    WHERE id = NEW.trial_id AND NEW.system_fingerprint IS NOT NULL
    ON CONFLICT DO NOTHING;
END;
