-- Home Assistant long-term statistics (homeassistant/): what hellowatt
-- last had Home Assistant confirm, so that a push sends only the hours
-- from the first one that changed, and how the last push went.
--
-- Bookkeeping, not data: both tables stay out of the content digest, and
-- losing them costs one full push, nothing else.

-- One hour of one statistic as Home Assistant accepted it: the hour's
-- amount (`state`) and the series' running total at its end (`sum`).
CREATE TABLE ha_statistics (
    statistic_id TEXT NOT NULL CHECK (statistic_id GLOB 'hellowatt:*'),
    start_utc    INTEGER NOT NULL CHECK (start_utc % 3600 = 0),
    state        REAL NOT NULL,
    sum          REAL NOT NULL,
    PRIMARY KEY (statistic_id, start_utc)
) STRICT, WITHOUT ROWID;

-- The last push to Home Assistant (one row). `error` is the host's own
-- text, which never holds the token.
CREATE TABLE ha_push (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    attempted_at  INTEGER NOT NULL,
    succeeded_at  INTEGER,
    error         TEXT,
    series        INTEGER NOT NULL DEFAULT 0 CHECK (series >= 0),
    hours_sent    INTEGER NOT NULL DEFAULT 0 CHECK (hours_sent >= 0),
    sent_total    INTEGER NOT NULL DEFAULT 0 CHECK (sent_total >= 0)
) STRICT;
