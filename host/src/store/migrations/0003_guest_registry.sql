-- The guest registry's memory across restarts: every guest component it
-- has judged (one row per component, by the SHA-256 of its bytes), which
-- one serves, which one is the last-known-good, and what happened when.
-- Bookkeeping like sync_runs: left out of the content digest.

-- One row per component. `state`:
--   active    serves the runs (at most one row);
--   previous  the last-known-good, what `rollback` restores (at most one);
--   refused   failed the validation gate (`reason` says why);
--   retired   served once, pushed out by two later activations.
-- `name`, `version` and `contract` are what `describe` said: NULL when the
-- component was refused before it could be asked. `inputs` fingerprints
-- what a refusal judged (the bytes, the signature file, the fixtures beside
-- it, the trusted keys), so that the same refusal is not repeated until one
-- of them changes.
CREATE TABLE guests (
    sha256     TEXT NOT NULL PRIMARY KEY CHECK (length(sha256) = 64),
    name       TEXT,
    version    TEXT,
    contract   TEXT,
    size       INTEGER NOT NULL CHECK (size >= 0),
    source     TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('active', 'previous', 'refused', 'retired')),
    reason     TEXT,
    inputs     TEXT,
    first_seen INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CHECK (state <> 'refused' OR reason IS NOT NULL)
) STRICT;

CREATE UNIQUE INDEX guests_one_active ON guests (state) WHERE state = 'active';
CREATE UNIQUE INDEX guests_one_previous ON guests (state) WHERE state = 'previous';

-- What happened, oldest first: the bundled guest taken (first start, or a
-- host upgrade), activations, refusals, roll-backs, and fall-backs to the
-- bundled guest when the recorded one could not be loaded at start.
CREATE TABLE guest_history (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES guests (sha256),
    event  TEXT NOT NULL CHECK (event IN ('bundled', 'activated', 'refused', 'rolled-back', 'fallback')),
    detail TEXT
) STRICT;

CREATE INDEX guest_history_sha256 ON guest_history (sha256);
