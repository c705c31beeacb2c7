-- hvae schema, version 6: the same CHECK constraints, written so that SQLite evaluates them cheaply.
--
-- SQLite (3.40, this project's) evaluates `x IN (three or more constants)` in a CHECK constraint by
-- building a small temporary index for every row it writes: 1 to 2 µs each, six per model call,
-- more per trial. This migration saved 15 to 27 µs of CPU per call in benchmark 1
-- (docs/performance.md). `x = 'a' OR x = 'b' OR ...` and `x GLOB '[A-I]'` accept and refuse exactly
-- the same values, NULL included (NULL passes both ways), at almost no cost.
--
-- Only the text of the constraints changes, not one stored row, so the tables are edited in place
-- as SQLite's documentation describes for changing CHECK constraints
-- (https://sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes"), instead
-- of copying every row of every table into a new one. Every hvae database has the constraints'
-- text exactly as 0001_initial.sql wrote it; the tests check that none is left unchanged. SQLite's
-- defensive mode (on by default in macOS's system SQLite) forbids this edit; the migrator turns it
-- off while a migration runs (Sources/Store/Migrations.swift).

PRAGMA writable_schema = ON;

UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''pending'', ''running'', ''finished'', ''interrupted'', ''failed''))',
    'CHECK (status = ''pending'' OR status = ''running'' OR status = ''finished'' OR status = ''interrupted'' OR status = ''failed'')')
WHERE type = 'table' AND name = 'runs';

UPDATE sqlite_schema SET sql = replace(replace(replace(sql,
    'CHECK (value IN (''altruistic'', ''prosocial'', ''individualistic'', ''competitive''))',
    'CHECK (value = ''altruistic'' OR value = ''prosocial'' OR value = ''individualistic'' OR value = ''competitive'')'),
    'CHECK (option_order IN (''original'', ''reversed'', ''shuffled''))',
    'CHECK (option_order = ''original'' OR option_order = ''reversed'' OR option_order = ''shuffled'')'),
    'CHECK (status IN (''pending'', ''running'', ''complete'', ''incomplete'', ''failed''))',
    'CHECK (status = ''pending'' OR status = ''running'' OR status = ''complete'' OR status = ''incomplete'' OR status = ''failed'')')
WHERE type = 'table' AND name = 'trials';

UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (role IN (''system'', ''user'', ''assistant''))',
    'CHECK (role = ''system'' OR role = ''user'' OR role = ''assistant'')')
WHERE type = 'table' AND name = 'turns';

UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (step IN (''value'', ''goal'', ''item''))',
    'CHECK (step = ''value'' OR step = ''goal'' OR step = ''item'')')
WHERE type = 'table' AND name = 'model_calls';

UPDATE sqlite_schema SET sql = replace(replace(replace(sql,
    'CHECK (status IN (''ok'', ''no_option'', ''ambiguous'', ''refusal'', ''empty''))',
    'CHECK (status = ''ok'' OR status = ''no_option'' OR status = ''ambiguous'' OR status = ''refusal'' OR status = ''empty'')'),
    'CHECK (shown_letter IN (''A'',''B'',''C'',''D'',''E'',''F'',''G'',''H'',''I''))',
    'CHECK (shown_letter GLOB ''[A-I]'')'),
    'CHECK (option IN (''A'',''B'',''C'',''D'',''E'',''F'',''G'',''H'',''I''))',
    'CHECK (option GLOB ''[A-I]'')')
WHERE type = 'table' AND name = 'answers';

PRAGMA writable_schema = OFF;
-- This connection parses the schema again (it would go on with the constraints it had read)...
PRAGMA writable_schema = RESET;
-- ...and so does every other open connection, at its next statement, because a CREATE or DROP
-- changes the schema's version number (the documented procedure's `PRAGMA schema_version = N + 1`,
-- which plain SQL cannot compute).
CREATE TABLE hvae_schema_changed (x);
DROP TABLE hvae_schema_changed;
