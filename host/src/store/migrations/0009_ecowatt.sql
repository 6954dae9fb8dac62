-- Contract 4.0.0: RTE's EcoWatt signals, a day's level and each hour's, as
-- RTE last published them (a forecast: a later publication replaces a
-- day's, no revision is kept).
CREATE TABLE ecowatt_days (
    date         TEXT PRIMARY KEY CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    -- 1 green, 2 orange, 3 red; NULL when the answer gave none.
    level        INTEGER CHECK (level BETWEEN 1 AND 3),
    generated_at INTEGER,
    first_run    INTEGER NOT NULL REFERENCES sync_runs (id),
    updated_run  INTEGER NOT NULL REFERENCES sync_runs (id)
) STRICT, WITHOUT ROWID;

-- One hour of a day: its start (UTC seconds) and level, 0 (green, and the
-- production low-carbon) to 3 (red).
CREATE TABLE ecowatt_hours (
    start_utc INTEGER PRIMARY KEY,
    date      TEXT NOT NULL REFERENCES ecowatt_days (date) ON DELETE CASCADE,
    level     INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3)
) STRICT, WITHOUT ROWID;
CREATE INDEX ecowatt_hours_by_day ON ecowatt_hours (date);

-- A window may be of the `ecowatt` kind. SQLite cannot alter a CHECK: the
-- table is rebuilt as migration 5 did (nothing references it).
CREATE TABLE fetch_windows_new (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    subject    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('homes', 'electricity-daily', 'electricity-curve',
                                             'gas-daily', 'temperature', 'tempo', 'ecowatt')),
    start_date TEXT NOT NULL CHECK (start_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    end_date   TEXT NOT NULL CHECK (end_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    status     TEXT NOT NULL CHECK (status IN ('complete', 'fetch-ongoing', 'site-error',
                                               'not-available', 'failed')),
    detail     TEXT,
    first_run  INTEGER NOT NULL REFERENCES sync_runs (id),
    last_run   INTEGER NOT NULL REFERENCES sync_runs (id),
    changed_at INTEGER NOT NULL,
    CHECK ((status IN ('site-error', 'not-available', 'failed')) = (detail IS NOT NULL)),
    CHECK (status IS NOT 'failed' OR json_valid(detail)),
    UNIQUE (subject, kind, start_date, end_date)
) STRICT;
INSERT INTO fetch_windows_new
    SELECT id, account_id, subject, kind, start_date, end_date, status, detail,
           first_run, last_run, changed_at
    FROM fetch_windows;
DROP TABLE fetch_windows;
ALTER TABLE fetch_windows_new RENAME TO fetch_windows;
CREATE INDEX fetch_windows_by_account ON fetch_windows (account_id);
CREATE INDEX fetch_windows_failed ON fetch_windows (account_id) WHERE status = 'failed';
