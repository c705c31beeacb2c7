-- hvae schema, version 2: what model APIs report about each call beyond the reply.
-- http_status: the HTTP status of the call (NULL for the built-in reference agents, which make no
--   HTTP request), so failed and retried attempts can be told apart.
-- system_fingerprint: OpenAI's identifier of the backend configuration that served the call.
ALTER TABLE model_calls ADD COLUMN http_status INTEGER CHECK (http_status BETWEEN 100 AND 599);
ALTER TABLE model_calls ADD COLUMN system_fingerprint TEXT;
