//! The store: one SQLite file that holds everything hellowatt has brought
//! home, and nothing else.
//!
//! # What it owns
//! - The schema and its versioned migrations ([`migrations`], `PRAGMA
//!   user_version`, one transaction per migration, embedded SQL files).
//! - Idempotent upserts of a guest's
//!   [`Snapshot`](hellowatt_snapshot::Snapshot) ([`Store::ingest`], in
//!   `ingest.rs`, after the structural check of `checked.rs`; how a day's
//!   amounts map to columns is `values.rs`): one transaction per snapshot, so either every record of a
//!   snapshot is stored or none is. Ingesting the same snapshot again changes
//!   no row outside `sync_runs` ([`Store::content_digest`] proves it).
//! - Revisions: a corrected daily reading (or curve point) replaces the
//!   stored one, and the old values are kept in `daily_revisions`
//!   (`curve_revisions`) with when and by which run they were replaced.
//! - The sync-run journal (`sync_runs`): who ran, with which guest, over
//!   which days, with what outcome and counts.
//! - Reads and aggregates for the outputs ([`Store::daily`],
//!   [`Store::totals`] by day, month or year, ... in `query.rs`), and the
//!   Tempo outlook: resolved colours, season counters, disagreements
//!   ([`Store::tempo_outlook`], in `tempo.rs`); EcoWatt around an instant
//!   ([`Store::ecowatt_now`], in `ecowatt.rs`).
//!
//! # What it must never do
//! - No network and no guest: it is handed typed records by the host and
//!   never talks to the site or runs a scraper.
//! - No secrets: it never receives a password, cookie or token. Accounts are
//!   stored by the name the configuration gives them, and an error message
//!   given to [`Store::finish_run`] is stored as is, so the host redacts it
//!   first.
//!
//! # Rules the data follows
//! - Days are `YYYY-MM-DD` TEXT (Europe/Paris), instants INTEGER Unix seconds,
//!   kWh and EUR REAL; a value the site did not give is NULL, never 0, and
//!   sums over days that have no value stay `None`.
//! - Values compare exactly (`NULL == NULL`, floats with `==`). A snapshot
//!   day that is entirely missing (every value and every period value
//!   `None`) never replaces a stored day that has a value.
//! - Records must refer to what the store knows: a daily reading, curve
//!   point or Tempo day needs its meter, a temperature or contract its home,
//!   either stored by an earlier ingest or listed in the same snapshot's
//!   `homes`. Otherwise the whole ingest fails and nothing is written.
//! - One writer: a [`Store`] is one connection, not shared across threads
//!   (the host wraps it). The file is in WAL mode, so readers in other
//!   connections are not blocked; `busy_timeout` covers brief contention.

mod checked;
mod digest;
mod ecowatt;
mod guests;
mod homeassistant;
mod ingest;
pub mod migrations;
mod query;
mod state;
mod sum;
mod tempo;
mod values;

#[cfg(test)]
pub(crate) mod test_support;

pub use ecowatt::{ECOWATT_DAYS_AHEAD, EcoWattNow};
pub use guests::{GuestEvent, GuestRecord, GuestState, NewGuest};
pub use homeassistant::{HaPushState, LedgerHours};
pub use query::{
    CurveRevisionRecord, DailyRow, Granularity, MeterRecord, PowerPeak, RevisionRecord, RunRecord,
    TotalRow, WindowRecord,
};
pub use state::Request;
pub use tempo::{
    ColourCount, ColourCounts, OutlookDay, ResolvedColour, SeasonCount, TEMPO_COLOURS,
    TempoDisagreement, TempoOutlook,
};

use anyhow::{Context, Result, bail};
use hellowatt_snapshot::{Contract, Date, Energy, TempoColour, TempoSource, WindowStatus};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest error message kept for a run, in characters.
const MAX_ERROR_MESSAGE: usize = 4000;

/// The SQLite database of one hellowatt installation.
pub struct Store {
    conn: Connection,
}

/// The guest that performed a run: what `describe` said, and the hash of
/// the component file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuestIdentity {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

/// A row of `sync_runs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

/// What an ingest did, record by record (a home, a meter, a contract, a
/// daily reading with its periods, a curve point, a temperature, a Tempo
/// day, a window each count once).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestStats {
    /// Records the store did not have.
    pub inserted: u64,
    /// Records whose stored values changed (a contract that disappeared
    /// from its home's list counts here too).
    pub updated: u64,
    /// Records already stored with the same values, and entirely missing
    /// days that did not replace a stored value.
    pub unchanged: u64,
    /// Old values kept in `daily_revisions` or `curve_revisions`.
    pub revisions: u64,
}

impl IngestStats {
    /// Adds another ingest's counts: a run's totals are the sum of its
    /// windows' ingests.
    pub fn add(&mut self, other: &IngestStats) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.revisions += other.revisions;
    }

    /// True when the ingest changed no stored record.
    pub fn is_unchanged(&self) -> bool {
        self.inserted == 0 && self.updated == 0 && self.revisions == 0
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum RunOutcome {
    Success,
    /// `kind` is `SyncError::kind()` or a host cause such as `sandbox`;
    /// `message` must already be free of secrets.
    Failed {
        kind: String,
        message: String,
    },
}

impl Store {
    /// Opens (creating it if needed, with its parent folder) the database
    /// file, switches it to WAL with `synchronous=NORMAL`, turns foreign keys
    /// on, sets a busy timeout and applies pending migrations. Refuses a file
    /// whose schema is newer than this code.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating the folder {}", parent.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening the database {}", path.display()))?;
        Store::setup(conn, true).with_context(|| format!("opening the database {}", path.display()))
    }

    /// A private database in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Store> {
        let conn = Connection::open_in_memory().context("opening an in-memory database")?;
        Store::setup(conn, false).context("opening an in-memory database")
    }

    fn setup(mut conn: Connection, file: bool) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .context("setting the busy timeout")?;
        // Fails first on a file that is not a database; refuse a too-new
        // schema before changing anything (even the journal mode).
        migrations::refuse_newer(&conn)?;
        if file {
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .context("switching to WAL mode")?;
            if !mode.eq_ignore_ascii_case("wal") {
                bail!("the database refused WAL mode (journal mode is {mode:?})");
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .context("setting synchronous=NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)
            .context("turning foreign keys on")?;
        let fk: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .context("reading PRAGMA foreign_keys")?;
        if !fk {
            bail!("this SQLite does not enforce foreign keys");
        }
        migrations::migrate(&mut conn).context("migrating the schema")?;
        Ok(Store { conn })
    }

    /// Makes the next writes fail as on a full disk (`max_pages`: the file
    /// may not grow past its current size) or a read-only file, for the
    /// crash-safety tests; `None, false` lifts both. Not a setting: the
    /// limits hold for this connection only.
    #[doc(hidden)]
    pub fn simulate_write_trouble(&self, full_disk: bool, read_only: bool) -> Result<()> {
        let pages: i64 = if full_disk {
            self.conn
                .pragma_query_value(None, "page_count", |r| r.get(0))
                .context("reading PRAGMA page_count")?
        } else {
            i64::from(u32::MAX)
        };
        self.conn
            .pragma_update(None, "max_page_count", pages)
            .context("setting PRAGMA max_page_count")?;
        self.conn
            .pragma_update(None, "query_only", read_only)
            .context("setting PRAGMA query_only")?;
        Ok(())
    }

    /// SQLite's `PRAGMA data_version` of this connection: it changes when
    /// another connection commits (a sync, the registry), so a reader can
    /// tell its cached answers are out of date.
    pub fn data_version(&self) -> Result<i64> {
        self.conn
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .context("reading PRAGMA data_version")
    }

    /// The schema version of the file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        migrations::schema_version(&self.conn)
    }

    /// Checks the file: `PRAGMA integrity_check` must answer `ok` and
    /// `PRAGMA foreign_key_check` must find no dangling reference.
    pub fn integrity_check(&self) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .context("preparing integrity_check")?;
        let lines: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .context("running PRAGMA integrity_check")?
            .collect::<rusqlite::Result<_>>()
            .context("reading PRAGMA integrity_check")?;
        if lines != ["ok"] {
            bail!(
                "the database failed its integrity check: {}",
                lines.join("; ")
            );
        }
        let mut stmt = self
            .conn
            .prepare("PRAGMA foreign_key_check")
            .context("preparing foreign_key_check")?;
        let dangling: Vec<(String, Option<i64>, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .context("running PRAGMA foreign_key_check")?
            .collect::<rusqlite::Result<_>>()
            .context("reading PRAGMA foreign_key_check")?;
        if let Some((table, rowid, parent)) = dangling.first() {
            bail!(
                "the database has {} dangling reference(s), e.g. {table} row {rowid:?} -> {parent}",
                dangling.len()
            );
        }
        Ok(())
    }

    /// Starts a run: records the account (created on first use), the guest
    /// and the days asked. The run stays open (no outcome) until
    /// [`Store::finish_run`]; a process that dies leaves it open.
    pub fn begin_run(
        &mut self,
        account: &str,
        guest: &GuestIdentity,
        start: Date,
        end: Date,
        now_utc: i64,
    ) -> Result<RunId> {
        check_account_name(account)?;
        check_date(start).context("the run's first day")?;
        check_date(end).context("the run's last day")?;
        if start > end {
            bail!("a run cannot end ({end}) before it starts ({start})");
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting the transaction of a new run")?;
        tx.execute(
            "INSERT INTO accounts (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
            [account],
        )
        .with_context(|| format!("recording the account {account:?}"))?;
        let account_id: i64 = tx
            .query_row("SELECT id FROM accounts WHERE name = ?1", [account], |r| {
                r.get(0)
            })
            .with_context(|| format!("looking up the account {account:?}"))?;
        tx.execute(
            "INSERT INTO sync_runs (account_id, started_at, guest_name, guest_version, \
             guest_sha256, range_start, range_end) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                account_id,
                now_utc,
                guest.name,
                guest.version,
                guest.sha256,
                day(start),
                day(end)
            ],
        )
        .context("recording a new run")?;
        let run = RunId(tx.last_insert_rowid());
        tx.commit().context("committing a new run")?;
        Ok(run)
    }

    /// Ends a run: its outcome, the run's total counts (the sum of its
    /// ingests' stats, see [`IngestStats::add`]; they replace the running
    /// counts `ingest` keeps) and the number of HTTP requests the guest made.
    /// A run ends once. A failure message is kept up to 4000 characters.
    /// Records which API version the site accepted in a run (the guest
    /// says, in its snapshot).
    pub fn set_run_api_version(&mut self, run: RunId, version: &str) -> Result<()> {
        // The column holds 1 to 32 characters: a longer word is not a version.
        let version: String = version.chars().take(32).collect();
        self.conn
            .execute(
                "UPDATE sync_runs SET api_version = ?2 WHERE id = ?1",
                params![run.0, version],
            )
            .with_context(|| format!("recording the API version of run {}", run.0))?;
        Ok(())
    }

    pub fn finish_run(
        &mut self,
        run: RunId,
        outcome: &RunOutcome,
        stats: &IngestStats,
        requests: u64,
        now_utc: i64,
    ) -> Result<()> {
        let (outcome, kind, message) = match outcome {
            RunOutcome::Success => ("success", None, None),
            RunOutcome::Failed { kind, message } => (
                "failed",
                Some(kind.as_str()),
                Some(truncate(message, MAX_ERROR_MESSAGE)),
            ),
        };
        let n = self
            .conn
            .execute(
                "UPDATE sync_runs SET finished_at = ?2, outcome = ?3, error_kind = ?4, \
                 error_message = ?5, inserted = ?6, updated = ?7, unchanged = ?8, \
                 revisions = ?9, requests = ?10 WHERE id = ?1 AND finished_at IS NULL",
                params![
                    run.0,
                    now_utc,
                    outcome,
                    kind,
                    message,
                    stats.inserted,
                    stats.updated,
                    stats.unchanged,
                    stats.revisions,
                    requests
                ],
            )
            .with_context(|| format!("recording the end of run {}", run.0))?;
        if n == 0 {
            let exists = self
                .conn
                .query_row("SELECT 1 FROM sync_runs WHERE id = ?1", [run.0], |_| Ok(()))
                .optional()
                .with_context(|| format!("looking up run {}", run.0))?
                .is_some();
            if exists {
                bail!("run {} has already finished", run.0);
            }
            bail!("there is no run {}", run.0);
        }
        Ok(())
    }
}

/// What to do when the database itself failed a write (a full disk, a
/// read-only file, an I/O error, a lock held too long), or `None` when the
/// error is about the data. Sync runs report these as the host's trouble,
/// never as the guest's records.
pub fn storage_trouble(error: &anyhow::Error) -> Option<&'static str> {
    use rusqlite::ErrorCode as C;
    error.chain().find_map(|cause| {
        let code = match cause.downcast_ref::<rusqlite::Error>()? {
            rusqlite::Error::SqliteFailure(e, _) => e.code,
            _ => return None,
        };
        Some(match code {
            C::DiskFull => {
                "the disk holding the database is full: free some space; nothing of the \
                 failed window was stored, and the next run fetches it again"
            }
            C::ReadOnly => {
                "the database is read-only: let hellowatt write the database file, its folder \
                 and its -wal and -shm files (owner and mode), or mount the disk read-write"
            }
            C::SystemIoFailure | C::CannotOpen | C::DatabaseCorrupt | C::NotADatabase => {
                "the database file could not be written or read (I/O error): check the disk, \
                 then `PRAGMA integrity_check` (hellowatt status runs it)"
            }
            C::DatabaseBusy | C::DatabaseLocked => {
                "another process holds the database locked: stop it (another hellowatt on the \
                 same file?) and the next run goes on"
            }
            _ => return None,
        })
    })
}

fn check_account_name(account: &str) -> Result<()> {
    if account.trim().is_empty() {
        bail!("an account name cannot be empty");
    }
    Ok(())
}

/// A day as stored: `YYYY-MM-DD`.
fn day(d: Date) -> String {
    d.to_string()
}

/// Refuses a day that does not exist or does not fit `YYYY-MM-DD`.
fn check_date(d: Date) -> Result<()> {
    if !(0..=9999).contains(&d.year) {
        bail!("year {} is out of range", d.year);
    }
    Date::new(d.year, d.month, d.day)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("invalid day: {e}"))
}

/// Reads a stored day.
fn date_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Date> {
    let s: String = row.get(idx)?;
    Date::parse(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

/// Reads a stored optional day.
fn opt_date_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Date>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| {
        Date::parse(&s)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
    })
    .transpose()
}

/// A stored word that this code does not know (a hand-edited file).
fn unknown_word(idx: usize, what: &str, word: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        Type::Text,
        format!("unknown {what} {word:?} in the database").into(),
    )
}

fn energy_str(e: Energy) -> &'static str {
    e.as_str()
}

fn energy_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Energy>> {
    let s: Option<String> = row.get(idx)?;
    match s.as_deref() {
        None => Ok(None),
        Some("electricity") => Ok(Some(Energy::Electricity)),
        Some("gas") => Ok(Some(Energy::Gas)),
        Some(other) => Err(unknown_word(idx, "energy", other)),
    }
}

fn tempo_source_str(s: TempoSource) -> &'static str {
    match s {
        TempoSource::TariffKeys => "tariff-keys",
        TempoSource::Service => "service",
    }
}

fn tempo_source_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<TempoSource> {
    let s: String = row.get(idx)?;
    match s.as_str() {
        "tariff-keys" => Ok(TempoSource::TariffKeys),
        "service" => Ok(TempoSource::Service),
        other => Err(unknown_word(idx, "Tempo source", other)),
    }
}

fn colour_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<TempoColour>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| TempoColour::parse(&s).ok_or_else(|| unknown_word(idx, "Tempo colour", &s)))
        .transpose()
}

/// A window status as stored: the status word and its detail (a failed
/// part's typed error as JSON, so that it reads back whole).
fn status_parts(s: &WindowStatus) -> (&'static str, Option<String>) {
    match s {
        WindowStatus::Complete => ("complete", None),
        WindowStatus::FetchOngoing => ("fetch-ongoing", None),
        WindowStatus::SiteError(d) => ("site-error", Some(d.clone())),
        WindowStatus::NotAvailable(d) => ("not-available", Some(d.clone())),
        WindowStatus::Failed(e) => (
            "failed",
            // A SyncError is strings and integers: it always serialises.
            Some(serde_json::to_string(e).unwrap_or_else(|_| e.kind().to_string())),
        ),
    }
}

/// Reads a window status from columns `idx` (status) and `idx + 1` (detail).
fn status_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<WindowStatus> {
    let status: String = row.get(idx)?;
    let detail: Option<String> = row.get(idx + 1)?;
    match status.as_str() {
        "complete" => Ok(WindowStatus::Complete),
        "fetch-ongoing" => Ok(WindowStatus::FetchOngoing),
        "site-error" => Ok(WindowStatus::SiteError(detail.unwrap_or_default())),
        "not-available" => Ok(WindowStatus::NotAvailable(detail.unwrap_or_default())),
        "failed" => {
            let json = detail.unwrap_or_default();
            serde_json::from_str(&json)
                .map(WindowStatus::Failed)
                .map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        idx + 1,
                        Type::Text,
                        format!("a failed window's error is not readable: {e}").into(),
                    )
                })
        }
        other => Err(unknown_word(idx, "window status", other)),
    }
}

/// Reads a contract from columns `idx..idx + 7`: home_id, energy, provider,
/// offer, state, active, subscribed_kva.
fn contract_from_row(row: &Row<'_>, idx: usize) -> rusqlite::Result<Contract> {
    Ok(Contract {
        home_id: row.get(idx)?,
        energy: energy_col(row, idx + 1)?,
        provider: row.get(idx + 2)?,
        offer: row.get(idx + 3)?,
        state: row.get(idx + 4)?,
        active: row.get(idx + 5)?,
        subscribed_kva: row.get(idx + 6)?,
    })
}

fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn opens_a_new_file_in_wal_with_foreign_keys() {
        let dir = TempDir::new("open");
        let path = dir.path().join("sub/hellowatt.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), migrations::LATEST);
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = store
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1); // NORMAL
        let fk: bool = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(fk);
        store.integrity_check().unwrap();
        drop(store);
        // Reopening finds the schema in place.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), migrations::LATEST);
    }

    #[test]
    fn refuses_a_file_with_a_newer_schema() {
        let dir = TempDir::new("newer");
        let path = dir.path().join("future.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = match Store::open(&path) {
            Ok(_) => panic!("a newer schema was accepted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(
            err.contains(&format!(
                "database schema version 99 is newer than this hellowatt supports ({}): \
                 upgrade hellowatt or use another database file",
                migrations::LATEST
            )),
            "{err}"
        );
        // The file was left alone: still version 99, still no table.
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, 99);
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
    }

    #[test]
    fn refuses_a_file_that_is_not_a_database() {
        let dir = TempDir::new("garbage");
        let path = dir.path().join("notes.txt");
        std::fs::write(
            &path,
            "this is not SQLite, just some text that is long enough".repeat(20),
        )
        .unwrap();
        let err = match Store::open(&path) {
            Ok(_) => panic!("a text file was accepted"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err.contains("opening the database"), "{err}");
    }

    #[test]
    fn runs_are_journaled() {
        let mut store = Store::open_in_memory().unwrap();
        let run = store
            .begin_run("home", &guest(), d("2026-01-01"), d("2026-01-31"), 1000)
            .unwrap();
        let runs = store.runs(None, 10).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].id, run);
        assert_eq!(runs[0].outcome, None);
        assert_eq!(runs[0].finished_at, None);
        let stats = IngestStats {
            inserted: 3,
            updated: 1,
            unchanged: 2,
            revisions: 1,
        };
        store
            .finish_run(
                run,
                &RunOutcome::Failed {
                    kind: "site-unavailable".into(),
                    message: "HTTP 503".into(),
                },
                &stats,
                7,
                1010,
            )
            .unwrap();
        let r = &store.runs(Some("home"), 10).unwrap()[0];
        assert_eq!(r.account, "home");
        assert_eq!(r.started_at, 1000);
        assert_eq!(r.finished_at, Some(1010));
        assert_eq!(
            r.outcome,
            Some(RunOutcome::Failed {
                kind: "site-unavailable".into(),
                message: "HTTP 503".into()
            })
        );
        assert_eq!(r.guest, guest());
        assert_eq!((r.start, r.end), (d("2026-01-01"), d("2026-01-31")));
        assert_eq!(r.stats, stats);
        assert_eq!(r.requests, 7);
        // A run ends once; an unknown run is an error.
        let again = store
            .finish_run(run, &RunOutcome::Success, &stats, 7, 1020)
            .unwrap_err();
        assert!(again.to_string().contains("already finished"), "{again}");
        assert!(
            store
                .finish_run(RunId(42), &RunOutcome::Success, &stats, 0, 0)
                .is_err()
        );
        // Newest first, filtered by account, limited.
        let r2 = store
            .begin_run("home", &guest(), d("2026-02-01"), d("2026-02-01"), 2000)
            .unwrap();
        let r3 = store
            .begin_run("other", &guest(), d("2026-02-01"), d("2026-02-01"), 3000)
            .unwrap();
        let ids: Vec<RunId> = store.runs(None, 10).unwrap().iter().map(|r| r.id).collect();
        assert_eq!(ids, [r3, r2, run]);
        let ids: Vec<RunId> = store
            .runs(Some("home"), 1)
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, [r2]);
        assert!(store.runs(Some("nobody"), 10).unwrap().is_empty());
        // Bad input is refused.
        assert!(
            store
                .begin_run("", &guest(), d("2026-01-01"), d("2026-01-01"), 0)
                .is_err()
        );
        assert!(
            store
                .begin_run("x", &guest(), d("2026-01-02"), d("2026-01-01"), 0)
                .is_err()
        );
        let bad = Date {
            year: 2026,
            month: 2,
            day: 30,
        };
        assert!(store.begin_run("x", &guest(), bad, bad, 0).is_err());
    }

    #[test]
    fn a_store_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Store>();
    }

    #[test]
    fn long_error_messages_are_cut_on_a_char_boundary() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
