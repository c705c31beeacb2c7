-- hvae schema, version 20: the parser audit labels numbers too.
--
-- audit_labels.label: besides a letter A-I (as shown to the model), none or ambiguous, the whole
--   number a person read in a reply to an item that takes one (the dictator game's tokens passed),
--   written in decimal digits without leading zeros. Which labels fit which reply (the item's
--   letters, or its range) is checked when a label is saved. The CHECK is edited in place as
--   migration 0006 edits them (only its text changes; every stored label satisfies the new one).

PRAGMA writable_schema = ON;

UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK ((length(label) = 1 AND label GLOB ''[A-I]'') OR label = ''none''
                                    OR label = ''ambiguous'')',
    'CHECK ((length(label) = 1 AND label GLOB ''[A-I]'') OR label = ''none''
                                    OR label = ''ambiguous''
                                    OR (length(label) BETWEEN 1 AND 9 AND label NOT GLOB ''*[^0-9]*''
                                        AND (label = ''0'' OR label NOT GLOB ''0*'')))')
WHERE type = 'table' AND name = 'audit_labels';

PRAGMA writable_schema = OFF;
PRAGMA writable_schema = RESET;
