-- Contract 3.0.0: one failing part never costs the rest.
--
-- A window may now be `failed`: its series could not be read for that
-- window (the rest of the call was stored). `detail` holds the guest's
-- typed error as JSON, so the scheduler asks for that part again and the
-- status can say why. SQLite cannot alter a CHECK: the table is rebuilt
-- (nothing references it).
CREATE TABLE fetch_windows_new (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    subject    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('homes', 'electricity-daily', 'electricity-curve',
                                             'gas-daily', 'temperature', 'tempo')),
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

-- A temperature is a day's mean or a month's (dated its first day): the
-- period is part of the key, so both can be held for one home.
CREATE TABLE temperatures_new (
    home_id     TEXT NOT NULL REFERENCES homes (id),
    period      TEXT NOT NULL DEFAULT 'day' CHECK (period IN ('day', 'month')),
    date        TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    celsius     REAL NOT NULL,
    first_run   INTEGER NOT NULL REFERENCES sync_runs (id),
    updated_run INTEGER NOT NULL REFERENCES sync_runs (id),
    CHECK (period = 'day' OR substr(date, 9, 2) = '01'),
    PRIMARY KEY (home_id, period, date)
) STRICT, WITHOUT ROWID;
INSERT INTO temperatures_new (home_id, period, date, celsius, first_run, updated_run)
    SELECT home_id, 'day', date, celsius, first_run, updated_run FROM temperatures;
DROP TABLE temperatures;
ALTER TABLE temperatures_new RENAME TO temperatures;

-- Which API version the site accepted in a run (NULL: none asked, or the
-- run ended before an answer).
ALTER TABLE sync_runs ADD COLUMN api_version TEXT CHECK (api_version IS NULL OR length(api_version) BETWEEN 1 AND 32);
