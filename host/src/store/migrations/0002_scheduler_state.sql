-- The service's memory per account across restarts: the scheduler's state
-- (breaker, pause, cool-down, last attempts) as JSON. Bookkeeping like
-- sync_runs: left out of the content digest.
CREATE TABLE scheduler_state (
    account_id INTEGER NOT NULL PRIMARY KEY REFERENCES accounts (id),
    state      TEXT NOT NULL CHECK (json_valid(state)),
    updated_at INTEGER NOT NULL
) STRICT;

-- What a person asked of the running service (`hellowatt reset`,
-- `hellowatt refresh`), picked up by the service within a minute.
CREATE TABLE service_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id),
    kind         TEXT NOT NULL CHECK (kind IN ('reset', 'refresh')),
    requested_at INTEGER NOT NULL,
    handled_at   INTEGER
) STRICT;
