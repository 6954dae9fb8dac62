-- The service's memory per account across restarts: the scheduler's state
-- (breaker, pause, cool-down, last attempts) as JSON. Bookkeeping like
-- sync_runs: left out of the content digest.
CREATE TABLE scheduler_state (
    account_id INTEGER NOT NULL PRIMARY KEY REFERENCES accounts (id),
    state      TEXT NOT NULL CHECK (json_valid(state)),
    updated_at INTEGER NOT NULL
) STRICT;
