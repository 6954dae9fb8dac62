-- hellowatt store, schema version 1.
--
-- Conventions: calendar days are TEXT `YYYY-MM-DD` (Europe/Paris local, as
-- the guest gives them); instants are INTEGER Unix seconds (UTC); energy and
-- money are REAL kWh and EUR; a value the site did not give is NULL, never 0.
-- Every table is STRICT. `*_run` columns name the sync run that wrote a row.
-- Applied inside one transaction by `migrations.rs`, which also sets
-- `PRAGMA user_version`.

-- One helloWatt log-in, by the name the configuration gives it (never the
-- e-mail or the password: the store never sees credentials).
CREATE TABLE accounts (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE CHECK (name <> '')
) STRICT;

-- Per-run bookkeeping: the only table a run always writes, and the only one
-- `Store::content_digest` leaves out.
CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id),
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    -- NULL while running (or when the process died during the run).
    outcome       TEXT CHECK (outcome IN ('success', 'failed')),
    error_kind    TEXT,
    error_message TEXT,
    guest_name    TEXT NOT NULL,
    guest_version TEXT NOT NULL,
    guest_sha256  TEXT NOT NULL,
    range_start   TEXT NOT NULL CHECK (range_start GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    range_end     TEXT NOT NULL CHECK (range_end GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    inserted      INTEGER NOT NULL DEFAULT 0 CHECK (inserted >= 0),
    updated       INTEGER NOT NULL DEFAULT 0 CHECK (updated >= 0),
    unchanged     INTEGER NOT NULL DEFAULT 0 CHECK (unchanged >= 0),
    revisions     INTEGER NOT NULL DEFAULT 0 CHECK (revisions >= 0),
    requests      INTEGER NOT NULL DEFAULT 0 CHECK (requests >= 0),
    CHECK ((outcome IS NULL) = (finished_at IS NULL)),
    CHECK (outcome IS NOT 'failed' OR error_kind IS NOT NULL),
    CHECK (outcome IS NOT 'success' OR (error_kind IS NULL AND error_message IS NULL))
) STRICT;
CREATE INDEX sync_runs_by_account ON sync_runs (account_id, id);

-- A home as the site identifies it (`/api/homes` ids are global).
CREATE TABLE homes (
    id          TEXT NOT NULL PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    address     TEXT,
    postal_code TEXT,
    city        TEXT
) STRICT;
CREATE INDEX homes_by_account ON homes (account_id);

-- A delivery point: PDL (electricity) or PCE (gas).
CREATE TABLE meters (
    id      TEXT NOT NULL PRIMARY KEY,
    home_id TEXT NOT NULL REFERENCES homes (id),
    energy  TEXT NOT NULL CHECK (energy IN ('electricity', 'gas'))
) STRICT;
CREATE INDEX meters_by_home ON meters (home_id);

-- The contracts of a home, as the site lists them. A snapshot that carries
-- contracts for a home replaces that home's set.
CREATE TABLE contracts (
    id        INTEGER PRIMARY KEY,
    home_id   TEXT NOT NULL REFERENCES homes (id),
    energy    TEXT CHECK (energy IN ('electricity', 'gas')),
    provider  TEXT,
    offer     TEXT,
    state     TEXT NOT NULL,
    active    INTEGER NOT NULL CHECK (active IN (0, 1)),
    first_run INTEGER NOT NULL REFERENCES sync_runs (id)
) STRICT;
CREATE INDEX contracts_by_home ON contracts (home_id);

-- One meter's day: totals (kWh and EUR summed over the tariff periods by the
-- guest), the subscription share, CO2, solar production and grid injection.
CREATE TABLE daily_readings (
    meter_id             TEXT NOT NULL REFERENCES meters (id),
    date                 TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    kwh                  REAL,
    eur                  REAL,
    subscription_eur     REAL,
    co2_kg               REAL,
    solar_production_kwh REAL,
    solar_production_eur REAL,
    injection_kwh        REAL,
    injection_eur        REAL,
    first_run            INTEGER NOT NULL REFERENCES sync_runs (id),
    updated_run          INTEGER NOT NULL REFERENCES sync_runs (id),
    PRIMARY KEY (meter_id, date)
) STRICT, WITHOUT ROWID;

-- The per-tariff-period breakdown of a daily reading (`Base`, `HP`, `HC`,
-- `Tempo-blue-HC`...: the site's keys verbatim). Replaced with its reading.
CREATE TABLE daily_periods (
    meter_id TEXT NOT NULL,
    date     TEXT NOT NULL,
    period   TEXT NOT NULL,
    kwh      REAL,
    eur      REAL,
    PRIMARY KEY (meter_id, date, period),
    FOREIGN KEY (meter_id, date) REFERENCES daily_readings (meter_id, date) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- A daily reading as it was before a later run replaced it with other
-- values. `periods` is a JSON array of {"period", "kwh", "eur"}.
CREATE TABLE daily_revisions (
    id                   INTEGER PRIMARY KEY,
    meter_id             TEXT NOT NULL REFERENCES meters (id),
    date                 TEXT NOT NULL,
    kwh                  REAL,
    eur                  REAL,
    subscription_eur     REAL,
    co2_kg               REAL,
    solar_production_kwh REAL,
    solar_production_eur REAL,
    injection_kwh        REAL,
    injection_eur        REAL,
    periods              TEXT NOT NULL CHECK (json_valid(periods)),
    old_first_run        INTEGER NOT NULL REFERENCES sync_runs (id),
    old_updated_run      INTEGER NOT NULL REFERENCES sync_runs (id),
    replaced_at          INTEGER NOT NULL,
    replaced_by_run      INTEGER NOT NULL REFERENCES sync_runs (id)
) STRICT;
CREATE INDEX daily_revisions_by_day ON daily_revisions (meter_id, date);

-- The load curve: one row per interval (30 minutes today).
CREATE TABLE curve_points (
    meter_id    TEXT NOT NULL REFERENCES meters (id),
    start_utc   INTEGER NOT NULL,
    date        TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    minutes     INTEGER NOT NULL CHECK (minutes BETWEEN 0 AND 65535),
    kwh         REAL,
    first_run   INTEGER NOT NULL REFERENCES sync_runs (id),
    updated_run INTEGER NOT NULL REFERENCES sync_runs (id),
    PRIMARY KEY (meter_id, start_utc)
) STRICT, WITHOUT ROWID;
CREATE INDEX curve_points_by_day ON curve_points (meter_id, date);

-- A curve point as it was before a later run replaced its value.
CREATE TABLE curve_revisions (
    id              INTEGER PRIMARY KEY,
    meter_id        TEXT NOT NULL REFERENCES meters (id),
    start_utc       INTEGER NOT NULL,
    date            TEXT NOT NULL,
    minutes         INTEGER NOT NULL,
    kwh             REAL,
    old_updated_run INTEGER NOT NULL REFERENCES sync_runs (id),
    replaced_at     INTEGER NOT NULL,
    replaced_by_run INTEGER NOT NULL REFERENCES sync_runs (id)
) STRICT;
CREATE INDEX curve_revisions_by_point ON curve_revisions (meter_id, start_utc);

-- Daily outdoor temperature of a home. Corrections overwrite (no revision).
CREATE TABLE temperatures (
    home_id     TEXT NOT NULL REFERENCES homes (id),
    date        TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    celsius     REAL NOT NULL,
    first_run   INTEGER NOT NULL REFERENCES sync_runs (id),
    updated_run INTEGER NOT NULL REFERENCES sync_runs (id),
    PRIMARY KEY (home_id, date)
) STRICT, WITHOUT ROWID;

-- Tempo colours by day, source and (for tariff keys) meter. A known colour
-- is never replaced by NULL (not known yet).
CREATE TABLE tempo_days (
    id          INTEGER PRIMARY KEY,
    date        TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    colour      TEXT CHECK (colour IN ('blue', 'white', 'red')),
    source      TEXT NOT NULL CHECK (source IN ('tariff-keys', 'service')),
    meter_id    TEXT REFERENCES meters (id),
    first_run   INTEGER NOT NULL REFERENCES sync_runs (id),
    updated_run INTEGER NOT NULL REFERENCES sync_runs (id)
) STRICT;
CREATE UNIQUE INDEX tempo_days_key ON tempo_days (date, source, coalesce(meter_id, ''));

-- How complete each fetched window of each series is. `last_run` and
-- `changed_at` move only when the status or its detail changes.
CREATE TABLE fetch_windows (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    subject    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('homes', 'electricity-daily', 'electricity-curve',
                                             'gas-daily', 'temperature', 'tempo')),
    start_date TEXT NOT NULL CHECK (start_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    end_date   TEXT NOT NULL CHECK (end_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    status     TEXT NOT NULL CHECK (status IN ('complete', 'fetch-ongoing', 'site-error', 'not-available')),
    detail     TEXT,
    first_run  INTEGER NOT NULL REFERENCES sync_runs (id),
    last_run   INTEGER NOT NULL REFERENCES sync_runs (id),
    changed_at INTEGER NOT NULL,
    CHECK ((status IN ('site-error', 'not-available')) = (detail IS NOT NULL)),
    UNIQUE (subject, kind, start_date, end_date)
) STRICT;
CREATE INDEX fetch_windows_by_account ON fetch_windows (account_id);
