-- hvae schema, version 11: what `hvae view` needs: search in replies and the parser audit.
--
-- reply_search: full-text search (FTS5) over every call's reply, its rowid the call's id. It is
--   contentless (the reply stays stored once, in texts) and kept current by a trigger as calls are
--   recorded or merged. hvae never deletes calls; a call deleted by hand leaves its words in the
--   index, where a search joins them to nothing.
-- answers_by_status: the calls the parser read one way (every `ambiguous` reply) without a scan.
-- audit_labels: what a person read in an item reply, to measure the parser against (the viewer's
--   parser audit): the letter as shown to the model (A..I), `none` (the reply chose no option) or
--   `ambiguous` (it could be read as more than one). One label per person and call; a person who
--   labels a call again replaces their label.

CREATE VIRTUAL TABLE reply_search USING fts5(reply, content = '', tokenize = 'unicode61 remove_diacritics 2');

INSERT INTO reply_search (rowid, reply)
SELECT c.id, x.body
FROM model_calls AS c
JOIN turns AS t ON t.id = c.reply_turn_id
JOIN texts AS x ON x.sha256 = t.text_sha256;

CREATE TRIGGER reply_search_on_call AFTER INSERT ON model_calls WHEN NEW.reply_turn_id IS NOT NULL
BEGIN
    INSERT INTO reply_search (rowid, reply)
    SELECT NEW.id, x.body FROM turns AS t JOIN texts AS x ON x.sha256 = t.text_sha256 WHERE t.id = NEW.reply_turn_id;
END;

CREATE INDEX answers_by_status ON answers(status, call_id);

CREATE TABLE audit_labels (
    call_id    INTEGER NOT NULL REFERENCES model_calls(id) ON DELETE CASCADE,
    labeler    TEXT NOT NULL CHECK (length(labeler) BETWEEN 1 AND 80),
    label      TEXT NOT NULL CHECK ((length(label) = 1 AND label GLOB '[A-I]') OR label = 'none'
                                    OR label = 'ambiguous'),
    created_at TEXT NOT NULL,
    PRIMARY KEY (call_id, labeler)
) STRICT, WITHOUT ROWID;
