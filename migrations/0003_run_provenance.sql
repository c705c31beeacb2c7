-- hvae schema, version 3: where a run came from.
-- git_commit: the commit hvae was built from ('unknown' outside a git checkout; '-dirty' when the
--   tree had uncommitted changes). os, host, sqlite_version: the machine and library that ran it.
-- reproduces_run_id: the run this one reproduces (hvae reproduce); replay = 1 when every reply was
--   served from that run's stored replies instead of calling the models.
-- uid: a run's identity across databases, so that merging the same file twice adds nothing.
-- shard ('i/n', or 'merged') and shard_group (the experiment's SHA-256 and n): the slices of one
--   sharded experiment share a group, and `hvae merge` joins them into one run.
ALTER TABLE runs ADD COLUMN git_commit TEXT;
ALTER TABLE runs ADD COLUMN os TEXT;
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN sqlite_version TEXT;
ALTER TABLE runs ADD COLUMN reproduces_run_id INTEGER REFERENCES runs(id);
ALTER TABLE runs ADD COLUMN replay INTEGER NOT NULL DEFAULT 0 CHECK (replay IN (0, 1));
ALTER TABLE runs ADD COLUMN uid TEXT;
CREATE UNIQUE INDEX runs_by_uid ON runs(uid);
ALTER TABLE runs ADD COLUMN shard TEXT;
ALTER TABLE runs ADD COLUMN shard_group TEXT;
CREATE INDEX runs_by_shard_group ON runs(shard_group);
