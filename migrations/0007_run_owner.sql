-- hvae schema, version 7: which process is running a run, so that a second one does not run it too.
-- owner: "HOST PID" of the hvae process running the run; NULL when none is. Set when a process
--   starts or resumes the run, cleared when it stops. A process killed with kill -9 leaves it set;
--   the next one sees that the process is gone (same host) or silent (heartbeat_at) and takes over.
-- heartbeat_at: when the owner last said it was alive (ISO 8601 UTC, every 5 s while it runs).
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
