-- hvae schema, version 2: the HTTP status of each call to a model API (NULL for the built-in
-- reference agents, which make no HTTP request), so failed and retried attempts can be told apart.
ALTER TABLE model_calls ADD COLUMN http_status INTEGER CHECK (http_status BETWEEN 100 AND 599);
