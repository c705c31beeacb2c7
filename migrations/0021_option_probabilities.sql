-- hvae schema, version 21: letter probabilities as rows, one per shown option (issue 28, item 2).
--
-- letter_probabilities keeps, per item call and parser version, the reading of the reply's log
--   probabilities: its status, the answer's token and the mass `outside` every shown letter.
--   Its nine columns p_a … p_i leave it: an instrument may show any number of options.
-- option_probabilities: the probability of one shown letter at that token, one row per call,
--   parser version and letter. Rows only for an `ok` reading (a trigger refuses others: there is
--   never a zero that stands for "unknown"), for every letter the reading covers (A to I today,
--   zeros included, as the columns were).
-- Every stored number moves as it is: a row's p_a becomes its row for A, and so on.

ALTER TABLE letter_probabilities RENAME TO letter_probabilities_0015;

CREATE TABLE letter_probabilities (
    call_id        INTEGER NOT NULL REFERENCES model_calls(id) ON DELETE CASCADE,
    parser_version INTEGER NOT NULL CHECK (parser_version >= 1),
    status         TEXT NOT NULL CHECK (status = 'ok' OR status = 'no_letter' OR status = 'missing'),
    token_index    INTEGER CHECK (token_index >= 0),
    outside        REAL CHECK (outside BETWEEN 0 AND 1),
    -- A position and the mass outside the letters exactly when the token was found.
    CHECK ((status = 'ok') = (token_index IS NOT NULL AND outside IS NOT NULL)),
    CHECK (status = 'ok' OR (token_index IS NULL AND outside IS NULL)),
    PRIMARY KEY (call_id, parser_version)
) STRICT, WITHOUT ROWID;

INSERT INTO letter_probabilities (call_id, parser_version, status, token_index, outside)
SELECT call_id, parser_version, status, token_index, outside FROM letter_probabilities_0015;

CREATE TABLE option_probabilities (
    call_id        INTEGER NOT NULL,
    parser_version INTEGER NOT NULL,
    letter         TEXT NOT NULL CHECK (length(letter) = 1 AND letter GLOB '[A-Z]'),
    probability    REAL NOT NULL CHECK (probability BETWEEN 0 AND 1),
    PRIMARY KEY (call_id, parser_version, letter),
    FOREIGN KEY (call_id, parser_version) REFERENCES letter_probabilities (call_id, parser_version)
        ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TRIGGER option_probabilities_of_ok_readings
BEFORE INSERT ON option_probabilities
WHEN (SELECT status FROM letter_probabilities
      WHERE call_id = NEW.call_id AND parser_version = NEW.parser_version) IS NOT 'ok'
BEGIN
    SELECT RAISE(ABORT, 'option_probabilities: a letter''s probability belongs to an ok reading');
END;

INSERT INTO option_probabilities (call_id, parser_version, letter, probability)
SELECT call_id, parser_version, letter, probability FROM (
    SELECT call_id, parser_version, 'A' AS letter, p_a AS probability FROM letter_probabilities_0015
    UNION ALL SELECT call_id, parser_version, 'B', p_b FROM letter_probabilities_0015
    UNION ALL SELECT call_id, parser_version, 'C', p_c FROM letter_probabilities_0015
    UNION ALL SELECT call_id, parser_version, 'D', p_d FROM letter_probabilities_0015
    UNION ALL SELECT call_id, parser_version, 'E', p_e FROM letter_probabilities_0015
    UNION ALL SELECT call_id, parser_version, 'F', p_f FROM letter_probabilities_0015
    UNION ALL SELECT call_id, parser_version, 'G', p_g FROM letter_probabilities_0015
    UNION ALL SELECT call_id, parser_version, 'H', p_h FROM letter_probabilities_0015
    UNION ALL SELECT call_id, parser_version, 'I', p_i FROM letter_probabilities_0015
)
WHERE probability IS NOT NULL
ORDER BY call_id, parser_version, letter;

DROP TABLE letter_probabilities_0015;
