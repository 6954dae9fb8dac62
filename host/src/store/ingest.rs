//! Ingest: a guest's snapshot into the tables, in one transaction.
//!
//! The snapshot is checked first, outside the transaction (`checked.rs`:
//! days, finite numbers, ids, duplicate keys). Then each record is
//! compared with the stored one and counted as inserted, updated or
//! unchanged:
//!
//! | record | key | on a difference |
//! | --- | --- | --- |
//! | home | id | overwrite (address, city, account) |
//! | meter | id | overwrite (home, energy) |
//! | contract | the home's whole list | a snapshot with contracts for a home replaces that home's set; one without leaves it |
//! | daily reading + periods | meter, day | old values to `daily_revisions`, then replace; an entirely missing day never replaces a day with a value |
//! | curve point | meter, start | old value to `curve_revisions`, then replace; a missing value never replaces a value |
//! | temperature | home, day | overwrite, no revision |
//! | Tempo day | day, source, meter | overwrite; a colour is never replaced by "not known yet" |
//! | EcoWatt day + hours | day; hour start | overwrite (a forecast, no revision); a level is never replaced by none, an hour the answer lacks keeps its level |
//! | window | subject, kind, start, end | status and detail, `last_run`, `changed_at` |
//!
//! Replacing a day (or curve point) that held no value at all writes no
//! revision: nothing is lost. Nothing is ever deleted by an ingest except a
//! home's contracts that its new list no longer has.

use super::checked::Checked;
use super::values::{DAILY_COLUMNS, is_missing, read_amounts, reading_params};
use super::{
    IngestStats, RunId, Store, check_account_name, day, energy_str, status_parts, tempo_source_str,
};
use anyhow::{Context, Result, bail};
use hellowatt_snapshot::{
    Amounts, Contract, CurvePoint, DailyReading, EcoWattDay, Home, Meter, PeriodValue, Snapshot,
    Temperature, TempoDay, Window,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::HashSet;

impl Store {
    /// Stores one snapshot for `account` under `run`, in one transaction:
    /// either every record is stored or none (the error says which record
    /// was refused). `run` must be open and belong to `account`. The run's
    /// running counts in `sync_runs` grow by the returned stats.
    pub fn ingest(
        &mut self,
        run: RunId,
        account: &str,
        snapshot: &Snapshot,
        now_utc: i64,
    ) -> Result<IngestStats> {
        check_account_name(account)?;
        let checked = Checked::from_snapshot(snapshot).context("checking the snapshot")?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting the ingest transaction")?;
        let account_id = open_run_account(&tx, run, account)?;
        let mut w = Writer {
            conn: &tx,
            run: run.0,
            now: now_utc,
            account_id,
            stats: IngestStats::default(),
            homes: HashSet::new(),
            meters: HashSet::new(),
        };
        for home in &checked.homes {
            w.home(home)
                .with_context(|| format!("storing home {:?}", home.id))?;
        }
        for (home_id, contracts) in &checked.contracts {
            w.contracts(home_id, contracts)
                .with_context(|| format!("storing the contracts of home {home_id:?}"))?;
        }
        for r in &checked.daily {
            w.daily(r).with_context(|| {
                format!(
                    "storing the daily reading of meter {:?} on {}",
                    r.meter_id, r.date
                )
            })?;
        }
        // A meter's points are in key order: its stored points in their
        // span are read in one range, not looked up one by one.
        for points in checked.curve.chunk_by(|a, b| a.meter_id == b.meter_id) {
            let stored = w.stored_curve(points).with_context(|| {
                format!("reading the stored curve of meter {:?}", points[0].meter_id)
            })?;
            let mut stored = stored.into_iter().peekable();
            let mut new: Vec<&CurvePoint> = Vec::new();
            for p in points {
                while stored.next_if(|s| s.start < p.start).is_some() {}
                match stored.next_if(|s| s.start == p.start) {
                    None => new.push(p),
                    Some(old) => w.curve(p, old).with_context(|| {
                        format!(
                            "storing the curve point of meter {:?} at {}",
                            p.meter_id, p.start
                        )
                    })?,
                }
            }
            w.new_curve_points(&new).with_context(|| {
                format!(
                    "storing the new curve points of meter {:?}",
                    points[0].meter_id
                )
            })?;
        }
        for t in &checked.temperatures {
            w.temperature(t).with_context(|| {
                format!(
                    "storing the temperature of home {:?} on {}",
                    t.home_id, t.date
                )
            })?;
        }
        for t in &checked.tempo {
            w.tempo(t)
                .with_context(|| format!("storing the Tempo day {} ({:?})", t.date, t.source))?;
        }
        for d in &checked.ecowatt {
            w.ecowatt(d)
                .with_context(|| format!("storing the EcoWatt day {}", d.date))?;
        }
        for win in &checked.windows {
            w.window(win).with_context(|| {
                format!(
                    "storing the {} window {}..{} of {:?}",
                    win.kind.as_str(),
                    win.start,
                    win.end,
                    win.subject
                )
            })?;
        }
        let stats = w.stats;
        tx.execute(
            "UPDATE sync_runs SET inserted = inserted + ?2, updated = updated + ?3, \
             unchanged = unchanged + ?4, revisions = revisions + ?5 WHERE id = ?1",
            params![
                run.0,
                stats.inserted,
                stats.updated,
                stats.unchanged,
                stats.revisions
            ],
        )
        .with_context(|| format!("adding the ingest's counts to run {}", run.0))?;
        tx.commit().context("committing the ingest")?;
        Ok(stats)
    }
}

/// The account id of an open run of `account`.
fn open_run_account(conn: &Connection, run: RunId, account: &str) -> Result<i64> {
    let row: Option<(i64, String, Option<i64>)> = conn
        .query_row(
            "SELECT r.account_id, a.name, r.finished_at FROM sync_runs r \
             JOIN accounts a ON a.id = r.account_id WHERE r.id = ?1",
            [run.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .with_context(|| format!("looking up run {}", run.0))?;
    let Some((account_id, name, finished_at)) = row else {
        bail!("there is no run {}", run.0);
    };
    if name != account {
        bail!("run {} belongs to account {name:?}, not {account:?}", run.0);
    }
    if finished_at.is_some() {
        bail!("run {} has already finished", run.0);
    }
    Ok(account_id)
}

/// Writes checked records inside the ingest transaction and counts.
struct Writer<'a> {
    conn: &'a Connection,
    run: i64,
    now: i64,
    account_id: i64,
    stats: IngestStats,
    /// Homes and meters known to exist in this transaction.
    homes: HashSet<String>,
    meters: HashSet<String>,
}

/// New curve points inserted by one statement.
const CURVE_BATCH: usize = 48;

/// `INSERT` of [`CURVE_BATCH`] curve points, six values each (the run is
/// both the first and the updating one).
fn curve_batch_insert() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let rows: Vec<String> = (0..CURVE_BATCH)
            .map(|i| {
                let n = i * 6;
                format!(
                    "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6,
                    n + 6
                )
            })
            .collect();
        format!(
            "INSERT INTO curve_points (meter_id, start_utc, date, minutes, kwh, first_run, \
             updated_run) VALUES {}",
            rows.join(", ")
        )
    })
}

/// A curve point as stored.
struct StoredPoint {
    start: i64,
    date: String,
    minutes: u16,
    kwh: Option<f64>,
    updated_run: i64,
}

/// What happened to one record.
enum Change {
    Inserted,
    Updated,
    Unchanged,
}

impl Writer<'_> {
    fn count(&mut self, change: Change) {
        match change {
            Change::Inserted => self.stats.inserted += 1,
            Change::Updated => self.stats.updated += 1,
            Change::Unchanged => self.stats.unchanged += 1,
        }
    }

    fn require_home(&mut self, id: &str) -> Result<()> {
        if self.homes.contains(id) {
            return Ok(());
        }
        let found = self
            .conn
            .prepare_cached("SELECT 1 FROM homes WHERE id = ?1")
            .context("preparing the home lookup")?
            .query_row([id], |_| Ok(()))
            .optional()
            .with_context(|| format!("looking up home {id:?}"))?
            .is_some();
        if !found {
            bail!(
                "the store knows no home {id:?}: a snapshot must list a home (kind `homes`) \
                 in an earlier ingest or in the same snapshot before its data can be stored"
            );
        }
        self.homes.insert(id.to_owned());
        Ok(())
    }

    fn require_meter(&mut self, id: &str) -> Result<()> {
        if self.meters.contains(id) {
            return Ok(());
        }
        let found = self
            .conn
            .prepare_cached("SELECT 1 FROM meters WHERE id = ?1")
            .context("preparing the meter lookup")?
            .query_row([id], |_| Ok(()))
            .optional()
            .with_context(|| format!("looking up meter {id:?}"))?
            .is_some();
        if !found {
            bail!(
                "the store knows no meter {id:?}: a snapshot must list a meter under its home \
                 (kind `homes`) in an earlier ingest or in the same snapshot before its data \
                 can be stored"
            );
        }
        self.meters.insert(id.to_owned());
        Ok(())
    }

    fn home(&mut self, h: &Home) -> Result<()> {
        type HomeRow = (i64, Option<String>, Option<String>, Option<String>);
        let new: HomeRow = (
            self.account_id,
            h.address.clone(),
            h.postal_code.clone(),
            h.city.clone(),
        );
        let old: Option<HomeRow> = self
            .conn
            .prepare_cached(
                "SELECT account_id, address, postal_code, city FROM homes WHERE id = ?1",
            )
            .context("preparing the home query")?
            .query_row([&h.id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .context("reading the stored home")?;
        let change = match old {
            Some(old) if old == new => Change::Unchanged,
            Some(_) => {
                self.conn
                    .prepare_cached(
                        "UPDATE homes SET account_id = ?2, address = ?3, postal_code = ?4, \
                         city = ?5 WHERE id = ?1",
                    )
                    .context("preparing the home update")?
                    .execute(params![h.id, new.0, new.1, new.2, new.3])
                    .context("updating the home")?;
                Change::Updated
            }
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO homes (id, account_id, address, postal_code, city) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )
                    .context("preparing the home insert")?
                    .execute(params![h.id, new.0, new.1, new.2, new.3])
                    .context("inserting the home")?;
                Change::Inserted
            }
        };
        self.count(change);
        self.homes.insert(h.id.clone());
        for m in &h.meters {
            self.meter(&h.id, m)
                .with_context(|| format!("storing meter {:?}", m.id))?;
        }
        Ok(())
    }

    fn meter(&mut self, home_id: &str, m: &Meter) -> Result<()> {
        let energy = energy_str(m.energy);
        let old: Option<(String, String)> = self
            .conn
            .prepare_cached("SELECT home_id, energy FROM meters WHERE id = ?1")
            .context("preparing the meter query")?
            .query_row([&m.id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .context("reading the stored meter")?;
        let change = match old {
            Some((h, e)) if h == home_id && e == energy => Change::Unchanged,
            Some(_) => {
                self.conn
                    .prepare_cached("UPDATE meters SET home_id = ?2, energy = ?3 WHERE id = ?1")
                    .context("preparing the meter update")?
                    .execute(params![m.id, home_id, energy])
                    .context("updating the meter")?;
                Change::Updated
            }
            None => {
                self.conn
                    .prepare_cached("INSERT INTO meters (id, home_id, energy) VALUES (?1, ?2, ?3)")
                    .context("preparing the meter insert")?
                    .execute(params![m.id, home_id, energy])
                    .context("inserting the meter")?;
                Change::Inserted
            }
        };
        self.count(change);
        self.meters.insert(m.id.clone());
        Ok(())
    }

    /// Replaces the home's stored set of contracts by `new` (already free
    /// of duplicates): equal contracts stay untouched (same row, same
    /// `first_run`), new ones are inserted, stored ones missing from `new`
    /// are deleted and counted as updated.
    fn contracts(&mut self, home_id: &str, new: &[Contract]) -> Result<()> {
        self.require_home(home_id)?;
        let mut stored: Vec<Option<(i64, Contract)>> = self
            .conn
            .prepare_cached(
                "SELECT id, home_id, energy, provider, offer, state, active, subscribed_kva \
                 FROM contracts WHERE home_id = ?1 ORDER BY id",
            )
            .context("preparing the contracts query")?
            .query_map([home_id], |r| {
                Ok(Some((r.get(0)?, super::contract_from_row(r, 1)?)))
            })
            .context("reading the stored contracts")?
            .collect::<rusqlite::Result<_>>()
            .context("reading the stored contracts")?;
        for c in new {
            let matching = stored
                .iter_mut()
                .find(|s| matches!(s, Some((_, old)) if old == c));
            if let Some(slot) = matching {
                *slot = None;
                self.count(Change::Unchanged);
                continue;
            }
            self.conn
                .prepare_cached(
                    "INSERT INTO contracts (home_id, energy, provider, offer, state, active, \
                     subscribed_kva, first_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .context("preparing the contract insert")?
                .execute(params![
                    home_id,
                    c.energy.map(energy_str),
                    c.provider,
                    c.offer,
                    c.state,
                    c.active,
                    c.subscribed_kva,
                    self.run
                ])
                .context("inserting a contract")?;
            self.count(Change::Inserted);
        }
        for (id, _) in stored.into_iter().flatten() {
            self.conn
                .prepare_cached("DELETE FROM contracts WHERE id = ?1")
                .context("preparing the contract delete")?
                .execute([id])
                .context("deleting a contract the site no longer lists")?;
            self.count(Change::Updated);
        }
        Ok(())
    }

    fn stored_periods(&self, meter_id: &str, date: &str) -> Result<Vec<PeriodValue>> {
        self.conn
            .prepare_cached(
                "SELECT period, kwh, eur FROM daily_periods WHERE meter_id = ?1 AND date = ?2 \
                 ORDER BY period",
            )
            .context("preparing the periods query")?
            .query_map([meter_id, date], |r| {
                Ok(PeriodValue {
                    period: r.get(0)?,
                    kwh: r.get(1)?,
                    eur: r.get(2)?,
                })
            })
            .context("reading the stored periods")?
            .collect::<rusqlite::Result<_>>()
            .context("reading the stored periods")
    }

    fn insert_periods(&self, meter_id: &str, date: &str, periods: &[PeriodValue]) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO daily_periods (meter_id, date, period, kwh, eur) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .context("preparing the period insert")?;
        for p in periods {
            stmt.execute(params![meter_id, date, p.period, p.kwh, p.eur])
                .with_context(|| format!("inserting period {:?}", p.period))?;
        }
        Ok(())
    }

    fn daily(&mut self, r: &DailyReading) -> Result<()> {
        self.require_meter(&r.meter_id)?;
        let date = day(r.date);
        let new = r.amounts;
        let old: Option<(Amounts, i64, i64)> = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DAILY_COLUMNS}, first_run, updated_run FROM daily_readings \
                 WHERE meter_id = ?1 AND date = ?2"
            ))
            .context("preparing the daily query")?
            .query_row([&r.meter_id, &date], |row| {
                Ok((read_amounts(row, 0)?, row.get(8)?, row.get(9)?))
            })
            .optional()
            .context("reading the stored daily reading")?;
        let Some((old, old_first_run, old_updated_run)) = old else {
            self.conn
                .prepare_cached(&format!(
                    "INSERT INTO daily_readings (meter_id, date, {DAILY_COLUMNS}, first_run, \
                     updated_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)"
                ))
                .context("preparing the daily insert")?
                .execute(reading_params(&r.meter_id, &date, &new.values(), &self.run).as_slice())
                .context("inserting the daily reading")?;
            self.insert_periods(&r.meter_id, &date, &r.periods)?;
            self.count(Change::Inserted);
            return Ok(());
        };
        let old_periods = self.stored_periods(&r.meter_id, &date)?;
        let old_missing = is_missing(&old, &old_periods);
        if (old == new && old_periods == r.periods)
            || (is_missing(&new, &r.periods) && !old_missing)
        {
            self.count(Change::Unchanged);
            return Ok(());
        }
        if !old_missing {
            let periods_json =
                serde_json::to_string(&old_periods).context("encoding the old periods")?;
            self.conn
                .prepare_cached(&format!(
                    "INSERT INTO daily_revisions (meter_id, date, {DAILY_COLUMNS}, periods, \
                     old_first_run, old_updated_run, replaced_at, replaced_by_run) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                ))
                .context("preparing the revision insert")?
                .execute(params![
                    r.meter_id,
                    date,
                    old.kwh,
                    old.eur,
                    old.subscription_eur,
                    old.co2_kg,
                    old.solar_production_kwh,
                    old.solar_production_eur,
                    old.injection_kwh,
                    old.injection_eur,
                    periods_json,
                    old_first_run,
                    old_updated_run,
                    self.now,
                    self.run
                ])
                .context("keeping the old daily reading as a revision")?;
            self.stats.revisions += 1;
        }
        self.conn
            .prepare_cached(
                "UPDATE daily_readings SET kwh = ?3, eur = ?4, subscription_eur = ?5, \
                 co2_kg = ?6, solar_production_kwh = ?7, solar_production_eur = ?8, \
                 injection_kwh = ?9, injection_eur = ?10, updated_run = ?11 \
                 WHERE meter_id = ?1 AND date = ?2",
            )
            .context("preparing the daily update")?
            .execute(reading_params(&r.meter_id, &date, &new.values(), &self.run).as_slice())
            .context("updating the daily reading")?;
        self.conn
            .prepare_cached("DELETE FROM daily_periods WHERE meter_id = ?1 AND date = ?2")
            .context("preparing the periods delete")?
            .execute([&r.meter_id, &date])
            .context("removing the old periods")?;
        self.insert_periods(&r.meter_id, &date, &r.periods)?;
        self.count(Change::Updated);
        Ok(())
    }

    /// The stored points of `points`' meter from its first start to its
    /// last, in key order (`points` is one meter's, in key order).
    fn stored_curve(&mut self, points: &[&CurvePoint]) -> Result<Vec<StoredPoint>> {
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            return Ok(Vec::new());
        };
        self.require_meter(&first.meter_id)?;
        self.conn
            .prepare_cached(
                "SELECT start_utc, date, minutes, kwh, updated_run FROM curve_points \
                 WHERE meter_id = ?1 AND start_utc BETWEEN ?2 AND ?3 ORDER BY start_utc",
            )
            .context("preparing the curve range query")?
            .query_map(params![first.meter_id, first.start, last.start], |r| {
                Ok(StoredPoint {
                    start: r.get(0)?,
                    date: r.get(1)?,
                    minutes: r.get(2)?,
                    kwh: r.get(3)?,
                    updated_run: r.get(4)?,
                })
            })
            .context("reading the stored curve points")?
            .collect::<rusqlite::Result<_>>()
            .context("reading a stored curve point")
    }

    /// Inserts points none of which is stored: [`CURVE_BATCH`] rows per
    /// statement (a backfill's points are nearly all new), the rest one by
    /// one.
    fn new_curve_points(&mut self, points: &[&CurvePoint]) -> Result<()> {
        let mut batches = points.chunks_exact(CURVE_BATCH);
        for batch in &mut batches {
            let dates: Vec<String> = batch.iter().map(|p| day(p.date)).collect();
            let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(CURVE_BATCH * 6);
            for (p, date) in batch.iter().zip(&dates) {
                values.extend([
                    &p.meter_id as &dyn rusqlite::ToSql,
                    &p.start,
                    date,
                    &p.minutes,
                    &p.kwh,
                    &self.run,
                ]);
            }
            self.conn
                .prepare_cached(curve_batch_insert())
                .context("preparing the curve batch insert")?
                .execute(values.as_slice())
                .context("inserting curve points")?;
        }
        for p in batches.remainder() {
            self.conn
                .prepare_cached(
                    "INSERT INTO curve_points (meter_id, start_utc, date, minutes, kwh, \
                     first_run, updated_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                )
                .context("preparing the curve insert")?
                .execute(params![
                    p.meter_id,
                    p.start,
                    day(p.date),
                    p.minutes,
                    p.kwh,
                    self.run
                ])
                .context("inserting the curve point")?;
        }
        self.stats.inserted += points.len() as u64;
        Ok(())
    }

    /// Stores `p` over its stored point (same meter and start) `old`.
    fn curve(&mut self, p: &CurvePoint, old: StoredPoint) -> Result<()> {
        let date = day(p.date);
        let StoredPoint {
            date: old_date,
            minutes: old_minutes,
            kwh: old_kwh,
            updated_run: old_updated_run,
            ..
        } = old;
        let same = old_date == date && old_minutes == p.minutes && old_kwh == p.kwh;
        if same || (p.kwh.is_none() && old_kwh.is_some()) {
            self.count(Change::Unchanged);
            return Ok(());
        }
        if old_kwh.is_some() {
            self.conn
                .prepare_cached(
                    "INSERT INTO curve_revisions (meter_id, start_utc, date, minutes, kwh, \
                     old_updated_run, replaced_at, replaced_by_run) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .context("preparing the curve revision insert")?
                .execute(params![
                    p.meter_id,
                    p.start,
                    old_date,
                    old_minutes,
                    old_kwh,
                    old_updated_run,
                    self.now,
                    self.run
                ])
                .context("keeping the old curve point as a revision")?;
            self.stats.revisions += 1;
        }
        self.conn
            .prepare_cached(
                "UPDATE curve_points SET date = ?3, minutes = ?4, kwh = ?5, updated_run = ?6 \
                 WHERE meter_id = ?1 AND start_utc = ?2",
            )
            .context("preparing the curve update")?
            .execute(params![
                p.meter_id, p.start, date, p.minutes, p.kwh, self.run
            ])
            .context("updating the curve point")?;
        self.count(Change::Updated);
        Ok(())
    }

    fn temperature(&mut self, t: &Temperature) -> Result<()> {
        self.require_home(&t.home_id)?;
        let date = day(t.date);
        let period = t.period.as_str();
        let old: Option<f64> = self
            .conn
            .prepare_cached(
                "SELECT celsius FROM temperatures WHERE home_id = ?1 AND period = ?2 AND date = ?3",
            )
            .context("preparing the temperature query")?
            .query_row([&t.home_id, period, &date], |r| r.get(0))
            .optional()
            .context("reading the stored temperature")?;
        let change = match old {
            Some(c) if c == t.celsius => Change::Unchanged,
            Some(_) => {
                self.conn
                    .prepare_cached(
                        "UPDATE temperatures SET celsius = ?4, updated_run = ?5 \
                         WHERE home_id = ?1 AND period = ?2 AND date = ?3",
                    )
                    .context("preparing the temperature update")?
                    .execute(params![t.home_id, period, date, t.celsius, self.run])
                    .context("updating the temperature")?;
                Change::Updated
            }
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO temperatures \
                         (home_id, period, date, celsius, first_run, updated_run) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    )
                    .context("preparing the temperature insert")?
                    .execute(params![t.home_id, period, date, t.celsius, self.run])
                    .context("inserting the temperature")?;
                Change::Inserted
            }
        };
        self.count(change);
        Ok(())
    }

    fn tempo(&mut self, t: &TempoDay) -> Result<()> {
        if let Some(m) = &t.meter_id {
            self.require_meter(m)?;
        }
        let date = day(t.date);
        let source = tempo_source_str(t.source);
        let colour = t.colour.map(|c| c.as_str());
        let old: Option<(i64, Option<String>)> = self
            .conn
            .prepare_cached(
                "SELECT id, colour FROM tempo_days WHERE date = ?1 AND source = ?2 \
                 AND coalesce(meter_id, '') = coalesce(?3, '')",
            )
            .context("preparing the Tempo query")?
            .query_row(params![date, source, t.meter_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .context("reading the stored Tempo day")?;
        let change = match old {
            Some((_, old)) if old.as_deref() == colour || colour.is_none() => Change::Unchanged,
            Some((id, _)) => {
                self.conn
                    .prepare_cached(
                        "UPDATE tempo_days SET colour = ?2, updated_run = ?3 WHERE id = ?1",
                    )
                    .context("preparing the Tempo update")?
                    .execute(params![id, colour, self.run])
                    .context("updating the Tempo day")?;
                Change::Updated
            }
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO tempo_days (date, colour, source, meter_id, first_run, \
                         updated_run) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    )
                    .context("preparing the Tempo insert")?
                    .execute(params![date, colour, source, t.meter_id, self.run])
                    .context("inserting the Tempo day")?;
                Change::Inserted
            }
        };
        self.count(change);
        Ok(())
    }

    /// A day's EcoWatt signal: a forecast that a later publication
    /// replaces, except that a level is never replaced by none and an hour
    /// the new answer lacks keeps its stored level.
    fn ecowatt(&mut self, d: &EcoWattDay) -> Result<()> {
        let date = day(d.date);
        let old: Option<(Option<u8>, Option<i64>)> = self
            .conn
            .prepare_cached("SELECT level, generated_at FROM ecowatt_days WHERE date = ?1")
            .context("preparing the EcoWatt query")?
            .query_row([&date], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .context("reading the stored EcoWatt day")?;
        let mut change = match old {
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO ecowatt_days (date, level, generated_at, first_run, \
                         updated_run) VALUES (?1, ?2, ?3, ?4, ?4)",
                    )
                    .context("preparing the EcoWatt insert")?
                    .execute(params![date, d.level, d.generated_at, self.run])
                    .context("inserting the EcoWatt day")?;
                Change::Inserted
            }
            Some((level, generated_at)) => {
                let new = (d.level.or(level), d.generated_at.or(generated_at));
                if new == (level, generated_at) {
                    Change::Unchanged
                } else {
                    self.conn
                        .prepare_cached(
                            "UPDATE ecowatt_days SET level = ?2, generated_at = ?3, \
                             updated_run = ?4 WHERE date = ?1",
                        )
                        .context("preparing the EcoWatt update")?
                        .execute(params![date, new.0, new.1, self.run])
                        .context("updating the EcoWatt day")?;
                    Change::Updated
                }
            }
        };
        for h in &d.hours {
            // Writes only a new hour or a new level: 0 rows for the same.
            let written = self
                .conn
                .prepare_cached(
                    "INSERT INTO ecowatt_hours (start_utc, date, level) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (start_utc) DO UPDATE SET level = excluded.level \
                     WHERE ecowatt_hours.level IS NOT excluded.level",
                )
                .context("preparing the EcoWatt hour write")?
                .execute(params![h.start, date, h.level])
                .context("writing an EcoWatt hour")?;
            if written == 0 {
                continue;
            }
            if let Change::Unchanged = change {
                change = Change::Updated;
                self.conn
                    .prepare_cached("UPDATE ecowatt_days SET updated_run = ?2 WHERE date = ?1")
                    .context("preparing the EcoWatt update")?
                    .execute(params![date, self.run])
                    .context("updating the EcoWatt day")?;
            }
        }
        self.count(change);
        Ok(())
    }

    fn window(&mut self, w: &Window) -> Result<()> {
        let (status, detail) = status_parts(&w.status);
        let (start, end) = (day(w.start), day(w.end));
        let old: Option<(i64, i64, String, Option<String>)> = self
            .conn
            .prepare_cached(
                "SELECT id, account_id, status, detail FROM fetch_windows \
                 WHERE subject = ?1 AND kind = ?2 AND start_date = ?3 AND end_date = ?4",
            )
            .context("preparing the window query")?
            .query_row(params![w.subject, w.kind.as_str(), start, end], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .context("reading the stored window")?;
        let change = match old {
            Some((_, account_id, s, d))
                if account_id == self.account_id && s == status && d == detail =>
            {
                Change::Unchanged
            }
            // A part that failed this time leaves a window read before as
            // it was: its records are still there, and the next refresh
            // reads it again anyway. Only a window never read keeps the
            // failure, so that a later run asks for it.
            Some((_, account_id, s, _))
                if account_id == self.account_id && status == "failed" && s != "failed" =>
            {
                Change::Unchanged
            }
            Some((id, ..)) => {
                self.conn
                    .prepare_cached(
                        "UPDATE fetch_windows SET account_id = ?2, status = ?3, detail = ?4, \
                         last_run = ?5, changed_at = ?6 WHERE id = ?1",
                    )
                    .context("preparing the window update")?
                    .execute(params![
                        id,
                        self.account_id,
                        status,
                        detail,
                        self.run,
                        self.now
                    ])
                    .context("updating the window")?;
                Change::Updated
            }
            None => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO fetch_windows (account_id, subject, kind, start_date, \
                         end_date, status, detail, first_run, last_run, changed_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
                    )
                    .context("preparing the window insert")?
                    .execute(params![
                        self.account_id,
                        w.subject,
                        w.kind.as_str(),
                        start,
                        end,
                        status,
                        detail,
                        self.run,
                        self.now
                    ])
                    .context("inserting the window")?;
                Change::Inserted
            }
        };
        self.count(change);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{Granularity, RunOutcome};
    use super::*;
    use hellowatt_snapshot::{DataKind, Date, SyncError, TempoColour, TempoSource, WindowStatus};

    /// A store with one run of `ACCOUNT` open.
    fn store() -> (Store, RunId) {
        let mut store = Store::open_in_memory().unwrap();
        let run = store
            .begin_run(ACCOUNT, &guest(), d("2026-01-01"), d("2026-01-31"), 100)
            .unwrap();
        (store, run)
    }

    fn next_run(store: &mut Store, now: i64) -> RunId {
        store
            .begin_run(ACCOUNT, &guest(), d("2026-01-01"), d("2026-01-31"), now)
            .unwrap()
    }

    const SAMPLE_RECORDS: u64 = 1 + 2 + 2 + 4 + 3 + 2 + 2 + 3;

    #[test]
    fn first_ingest_inserts_everything() {
        let (mut store, run) = store();
        let stats = store.ingest(run, ACCOUNT, &sample(), 200).unwrap();
        assert_eq!(
            stats,
            IngestStats {
                inserted: SAMPLE_RECORDS,
                ..Default::default()
            }
        );
        // The run's running counts follow.
        assert_eq!(store.runs(None, 1).unwrap()[0].stats, stats);
        store.integrity_check().unwrap();
    }

    #[test]
    fn ingesting_the_same_snapshot_again_changes_nothing() {
        let (mut store, run) = store();
        store.ingest(run, ACCOUNT, &sample(), 200).unwrap();
        store
            .finish_run(run, &RunOutcome::Success, &IngestStats::default(), 5, 210)
            .unwrap();
        let before = store.content_digest().unwrap();

        let run2 = next_run(&mut store, 300);
        let stats = store.ingest(run2, ACCOUNT, &sample(), 400).unwrap();
        assert_eq!(
            stats,
            IngestStats {
                unchanged: SAMPLE_RECORDS,
                ..Default::default()
            }
        );
        assert_eq!(store.content_digest().unwrap(), before);

        // The same records in another order, with exact duplicates, too.
        let mut shuffled = sample();
        shuffled.daily.reverse();
        shuffled.curve.reverse();
        shuffled.windows.reverse();
        shuffled.contracts.reverse();
        shuffled.homes[0].meters.reverse();
        shuffled.daily[0].periods.reverse();
        shuffled.temperatures.push(shuffled.temperatures[0].clone());
        shuffled.daily.push(shuffled.daily[1].clone());
        let stats = store.ingest(run2, ACCOUNT, &shuffled, 500).unwrap();
        assert_eq!(
            stats,
            IngestStats {
                unchanged: SAMPLE_RECORDS,
                ..Default::default()
            }
        );
        assert_eq!(store.content_digest().unwrap(), before);
        store.integrity_check().unwrap();
    }

    #[test]
    fn a_correction_keeps_the_old_values_as_one_revision() {
        let (mut store, run) = store();
        store.ingest(run, ACCOUNT, &sample(), 200).unwrap();
        let original = store
            .daily(PDL, d("2026-01-05"), d("2026-01-05"))
            .unwrap()
            .remove(0);

        let run2 = next_run(&mut store, 300);
        let mut corrected = sample();
        corrected.daily[0] = reading("2026-01-05", 11.0, 20.0);
        let stats = store.ingest(run2, ACCOUNT, &corrected, 400).unwrap();
        assert_eq!(
            stats,
            IngestStats {
                updated: 1,
                unchanged: SAMPLE_RECORDS - 1,
                revisions: 1,
                inserted: 0
            }
        );
        let now = store
            .daily(PDL, d("2026-01-05"), d("2026-01-05"))
            .unwrap()
            .remove(0);
        assert_eq!(now.reading, corrected.daily[0]);
        assert_eq!((now.first_run, now.updated_run), (run, run2));

        let revs = store.revisions(PDL).unwrap();
        assert_eq!(revs.len(), 1);
        assert_eq!(revs[0].old, original.reading);
        assert_eq!((revs[0].old_first_run, revs[0].old_updated_run), (run, run));
        assert_eq!((revs[0].replaced_at, revs[0].replaced_by_run), (400, run2));

        // The corrected snapshot again: nothing more.
        let digest = store.content_digest().unwrap();
        let stats = store.ingest(run2, ACCOUNT, &corrected, 500).unwrap();
        assert!(stats.is_unchanged(), "{stats:?}");
        assert_eq!(store.revisions(PDL).unwrap().len(), 1);
        assert_eq!(store.content_digest().unwrap(), digest);

        // Same totals, another breakdown: also a correction.
        let mut split = corrected.clone();
        split.daily[0].periods[0].period = "Tempo-white-HC".into();
        let stats = store.ingest(run2, ACCOUNT, &split, 600).unwrap();
        assert_eq!((stats.updated, stats.revisions), (1, 1));
        let revs = store.revisions(PDL).unwrap();
        assert_eq!(revs.len(), 2);
        assert_eq!(revs[1].old, corrected.daily[0]);
        let now = store
            .daily(PDL, d("2026-01-05"), d("2026-01-05"))
            .unwrap()
            .remove(0);
        let mut expected = split.daily[0].clone();
        expected.periods.sort_by(|a, b| a.period.cmp(&b.period));
        assert_eq!(now.reading, expected);
    }

    #[test]
    fn a_missing_day_never_replaces_a_value_but_a_value_fills_a_missing_day() {
        let (mut store, run) = store();
        store.ingest(run, ACCOUNT, &sample(), 200).unwrap();
        let digest = store.content_digest().unwrap();

        // 2026-01-05 now comes back without any value (and without periods).
        let mut gap = sample();
        gap.daily[0] = missing(PDL, "2026-01-05");
        gap.daily[0].periods.clear();
        let run2 = next_run(&mut store, 300);
        let stats = store.ingest(run2, ACCOUNT, &gap, 400).unwrap();
        assert_eq!(
            stats,
            IngestStats {
                unchanged: SAMPLE_RECORDS,
                ..Default::default()
            }
        );
        assert_eq!(store.content_digest().unwrap(), digest);
        let kept = store
            .daily(PDL, d("2026-01-05"), d("2026-01-05"))
            .unwrap()
            .remove(0);
        assert_eq!(kept.reading, sample().daily[0]);

        // 2026-01-07 was missing; a value fills it, with no revision.
        let mut filled = sample();
        filled.daily[2] = reading("2026-01-07", 1.0, 2.0);
        let stats = store.ingest(run2, ACCOUNT, &filled, 500).unwrap();
        assert_eq!((stats.updated, stats.revisions), (1, 0));
        assert!(store.revisions(PDL).unwrap().is_empty());
        let row = store
            .daily(PDL, d("2026-01-07"), d("2026-01-07"))
            .unwrap()
            .remove(0);
        assert_eq!(row.reading.amounts.kwh, Some(3.0));

        // A partly missing day is a correction (explicit values win).
        let mut partial = filled.clone();
        partial.daily[2].amounts.eur = None;
        let stats = store.ingest(run2, ACCOUNT, &partial, 600).unwrap();
        assert_eq!((stats.updated, stats.revisions), (1, 1));
    }

    #[test]
    fn curve_corrections_and_gaps() {
        let (mut store, run) = store();
        store.ingest(run, ACCOUNT, &sample(), 200).unwrap();
        let run2 = next_run(&mut store, 300);
        let mut s = sample();
        s.curve[0].kwh = None; // a gap does not erase 0.25
        s.curve[1].kwh = Some(0.75); // a correction of 0.5
        s.curve[2].kwh = Some(0.125); // fills a gap, no revision
        let stats = store.ingest(run2, ACCOUNT, &s, 400).unwrap();
        assert_eq!((stats.updated, stats.revisions), (2, 1));
        let points = store.curve(PDL, d("2026-01-05"), d("2026-01-05")).unwrap();
        let kwh: Vec<Option<f64>> = points.iter().map(|p| p.kwh).collect();
        assert_eq!(kwh, [Some(0.25), Some(0.75), Some(0.125)]);
        let revs = store.curve_revisions(PDL).unwrap();
        assert_eq!(revs.len(), 1);
        assert_eq!(revs[0].old, sample().curve[1]);
        assert_eq!(
            (
                revs[0].replaced_at,
                revs[0].replaced_by_run,
                revs[0].old_updated_run
            ),
            (400, run2, run)
        );
    }

    /// Points inserted many to a statement are stored as given, each in
    /// its place (two full batches and a remainder, values and gaps).
    #[test]
    fn many_new_curve_points_are_stored_as_given() {
        let (mut store, run) = store();
        let mut s = sample();
        let start = d("2026-01-06").paris_midnight_utc();
        s.curve = (0..(2 * CURVE_BATCH + 5) as i64)
            .map(|i| CurvePoint {
                meter_id: PDL.into(),
                start: start + i * 600,
                date: Date::paris_day_of(start + i * 600),
                minutes: 10,
                kwh: (i % 7 != 3).then_some(i as f64 / 8.0),
            })
            .collect();
        let stats = store.ingest(run, ACCOUNT, &s, 200).unwrap();
        assert!(stats.inserted >= s.curve.len() as u64, "{stats:?}");
        let stored = store.curve(PDL, d("2026-01-06"), d("2026-01-07")).unwrap();
        assert_eq!(stored, s.curve);
    }

    /// A later snapshot's points meet the stored ones by start, whatever
    /// the overlap: a stored point it lacks is left alone, one before or
    /// after the stored span is new, and the snapshot's order does not
    /// matter (the stored span is read in one range).
    #[test]
    fn curve_points_meet_the_stored_ones_by_start() {
        let (mut store, run) = store();
        let mut first = sample();
        first.curve.remove(1); // stored: 0 and 2 (2 without a value)
        store.ingest(run, ACCOUNT, &first, 200).unwrap();
        let run2 = next_run(&mut store, 300);
        let mut s = sample();
        let mut before = s.curve[0].clone();
        before.start -= 1800;
        before.date = d("2026-01-04");
        before.kwh = Some(1.0);
        let mut after = s.curve[2].clone();
        after.start += 1800;
        after.kwh = Some(2.0);
        s.curve[2].kwh = Some(0.125);
        s.curve.remove(0); // the stored point 0 is not in this snapshot
        s.curve.extend([after, before]); // out of order
        let stats = store.ingest(run2, ACCOUNT, &s, 400).unwrap();
        // Inserted: the point 1 and the two around; updated: 2 (a gap filled).
        assert_eq!(
            (stats.inserted, stats.updated, stats.revisions),
            (3, 1, 0),
            "{stats:?}"
        );
        let points = store.curve(PDL, d("2026-01-04"), d("2026-01-05")).unwrap();
        let kwh: Vec<Option<f64>> = points.iter().map(|p| p.kwh).collect();
        assert_eq!(
            kwh,
            [Some(1.0), Some(0.25), Some(0.5), Some(0.125), Some(2.0)]
        );
    }

    #[test]
    fn tempo_colours_are_never_forgotten() {
        let (mut store, run) = store();
        store.ingest(run, ACCOUNT, &sample(), 200).unwrap();
        let mut s = sample();
        s.tempo_days[0].colour = None; // known blue, now "unknown": kept
        s.tempo_days[1].colour = Some(TempoColour::Red); // announced
        let stats = store.ingest(run, ACCOUNT, &s, 300).unwrap();
        assert_eq!(stats.updated, 1);
        let days = store.tempo_days(d("2026-01-01"), d("2026-01-31")).unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].colour, Some(TempoColour::Blue));
        assert_eq!(days[1].colour, Some(TempoColour::Red));
        assert_eq!(days[1].source, TempoSource::Service);
        assert_eq!(days[1].meter_id, None);
        // Same day, other source or meter: separate rows.
        let mut s = Snapshot::default();
        s.tempo_days.push(TempoDay {
            date: d("2026-01-08"),
            colour: Some(TempoColour::White),
            source: TempoSource::TariffKeys,
            meter_id: Some(PDL.into()),
        });
        let stats = store.ingest(run, ACCOUNT, &s, 400).unwrap();
        assert_eq!(stats.inserted, 1);
        assert_eq!(
            store
                .tempo_days(d("2026-01-08"), d("2026-01-08"))
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn window_status_moves_from_fetch_ongoing_to_complete() {
        let (mut store, run) = store();
        store.ingest(run, ACCOUNT, &sample(), 200).unwrap();
        let daily_window = |store: &Store| {
            store
                .windows(Some(ACCOUNT))
                .unwrap()
                .into_iter()
                .find(|w| w.window.kind == DataKind::ElectricityDaily)
                .unwrap()
        };
        let w = daily_window(&store);
        assert_eq!(w.window.status, WindowStatus::FetchOngoing);
        assert_eq!((w.first_run, w.last_run, w.changed_at), (run, run, 200));

        // Fetched again later: complete.
        let run2 = next_run(&mut store, 300);
        let mut s = sample();
        s.windows[0].status = WindowStatus::Complete;
        let stats = store.ingest(run2, ACCOUNT, &s, 400).unwrap();
        assert_eq!(stats.updated, 1);
        let w = daily_window(&store);
        assert_eq!(w.window.status, WindowStatus::Complete);
        assert_eq!((w.first_run, w.last_run, w.changed_at), (run, run2, 400));

        // The same status in a third run moves nothing, not even last_run.
        let digest = store.content_digest().unwrap();
        let run3 = next_run(&mut store, 500);
        let stats = store.ingest(run3, ACCOUNT, &s, 600).unwrap();
        assert!(stats.is_unchanged());
        let w = daily_window(&store);
        assert_eq!((w.last_run, w.changed_at), (run2, 400));
        assert_eq!(store.content_digest().unwrap(), digest);

        // A detail change is a change.
        let mut s2 = s.clone();
        s2.windows[2].status = WindowStatus::NotAvailable("HTTP 500".into());
        assert_eq!(store.ingest(run3, ACCOUNT, &s2, 700).unwrap().updated, 1);
        let all = store.windows(None).unwrap();
        assert_eq!(all.len(), 3);
        assert!(store.windows(Some("someone else")).unwrap().is_empty());
    }

    #[test]
    fn a_failed_part_is_kept_until_read_and_never_hides_a_window_read_before() {
        use hellowatt_snapshot::{SiteChange, Unavailable};
        let (mut store, run) = store();
        let mut s = sample();
        // Window 0 (electricity-daily) read, window 1 failed on its first try.
        s.windows[0].status = WindowStatus::Complete;
        let broke = SyncError::SiteUnavailable(Unavailable {
            status: Some(502),
            retry_after_seconds: None,
            detail: "GET /api/homes/1/sge_measures/courbe answered HTTP 502".into(),
        });
        s.windows[1].status = WindowStatus::Failed(broke.clone());
        store.ingest(run, ACCOUNT, &s, 200).unwrap();
        let status_of = |store: &Store, i: usize| {
            let w = &s.windows[i];
            store
                .windows(Some(ACCOUNT))
                .unwrap()
                .into_iter()
                .find(|r| r.window.kind == w.kind && r.window.start == w.start)
                .unwrap()
                .window
                .status
        };
        // The typed error reads back whole.
        assert_eq!(status_of(&store, 1), WindowStatus::Failed(broke));

        // Next run: the refresh of window 0 fails; it stays complete, and
        // nothing stored changes. Window 1 fails otherwise: the new error.
        let digest = store.content_digest().unwrap();
        let run2 = next_run(&mut store, 300);
        let changed = SyncError::SiteChanged(SiteChange {
            location: "GET /api/homes/1/sge_measures/courbe".into(),
            detail: "missing field \"values\"".into(),
        });
        let mut again = s.clone();
        again.windows[0].status = WindowStatus::Failed(changed.clone());
        let stats = store.ingest(run2, ACCOUNT, &again, 400).unwrap();
        assert_eq!(status_of(&store, 0), WindowStatus::Complete);
        assert_eq!(store.content_digest().unwrap(), digest, "{stats:?}");
        again.windows[1].status = WindowStatus::Failed(changed.clone());
        store.ingest(run2, ACCOUNT, &again, 400).unwrap();
        assert_eq!(status_of(&store, 1), WindowStatus::Failed(changed));

        // Read at last: complete.
        let run3 = next_run(&mut store, 500);
        let mut read = s.clone();
        read.windows[1].status = WindowStatus::Complete;
        store.ingest(run3, ACCOUNT, &read, 600).unwrap();
        assert_eq!(status_of(&store, 1), WindowStatus::Complete);
    }

    #[test]
    fn a_months_mean_temperature_is_kept_beside_the_days() {
        use hellowatt_snapshot::TemperaturePeriod;
        let (mut store, run) = store();
        let mut s = sample();
        let day = s.temperatures[0].clone();
        s.temperatures.push(Temperature {
            date: d("2026-01-01"),
            period: TemperaturePeriod::Month,
            celsius: 4.2,
            ..day.clone()
        });
        store.ingest(run, ACCOUNT, &s, 200).unwrap();
        let got = store
            .temperatures(&day.home_id, d("2026-01-05"), d("2026-01-06"))
            .unwrap();
        // The month counts from its first day, before the range asked.
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().any(|t| t.period == TemperaturePeriod::Month
            && t.date == d("2026-01-01")
            && t.celsius == 4.2));
        assert_eq!(
            got.iter()
                .filter(|t| t.period == TemperaturePeriod::Day)
                .count(),
            2
        );
        // A day's reading on the 1st would not collide with the month's.
        let mut first = s.clone();
        first.temperatures = vec![Temperature {
            date: d("2026-01-01"),
            celsius: -3.0,
            ..day
        }];
        first.daily.clear();
        let stats = store.ingest(run, ACCOUNT, &first, 300).unwrap();
        assert_eq!(stats.inserted, 1, "{stats:?}");
    }

    #[test]
    fn a_failed_ingest_leaves_the_database_unchanged() {
        let (mut store, run) = store();
        let empty = store.content_digest().unwrap();

        // Homes would be written first; the reading of an unknown meter
        // comes later and must undo them.
        let mut bad = sample();
        let mut stray = reading("2026-01-05", 1.0, 1.0);
        stray.meter_id = "09999999999999".into();
        bad.daily.push(stray);
        let err = format!("{:#}", store.ingest(run, ACCOUNT, &bad, 200).unwrap_err());
        assert!(err.contains("knows no meter \"09999999999999\""), "{err}");
        assert_eq!(store.content_digest().unwrap(), empty);
        assert_eq!(
            store.runs(None, 1).unwrap()[0].stats,
            IngestStats::default()
        );

        // With data stored: a failing snapshot changes none of it.
        store.ingest(run, ACCOUNT, &sample(), 300).unwrap();
        let stored = store.content_digest().unwrap();
        let run_stats = store.runs(None, 1).unwrap()[0].stats.clone();
        let mut bad = sample();
        bad.daily[0] = reading("2026-01-05", 99.0, 99.0); // would be a correction
        bad.temperatures.push(Temperature {
            home_id: "nowhere".into(),
            date: d("2026-01-05"),
            period: hellowatt_snapshot::TemperaturePeriod::Day,
            celsius: 1.0,
        });
        let err = format!("{:#}", store.ingest(run, ACCOUNT, &bad, 400).unwrap_err());
        assert!(err.contains("knows no home \"nowhere\""), "{err}");
        assert_eq!(store.content_digest().unwrap(), stored);
        assert!(store.revisions(PDL).unwrap().is_empty());
        assert_eq!(store.runs(None, 1).unwrap()[0].stats, run_stats);
        store.integrity_check().unwrap();
    }

    #[test]
    fn bad_snapshots_are_refused_before_writing() {
        let (mut store, run) = store();
        let empty = store.content_digest().unwrap();
        let refuse = |store: &mut Store, s: Snapshot, needle: &str| {
            let err = format!("{:#}", store.ingest(run, ACCOUNT, &s, 200).unwrap_err());
            assert!(err.contains(needle), "{err}");
        };
        let mut s = sample();
        s.daily[1].amounts.eur = Some(f64::NAN);
        refuse(&mut store, s, "eur of the daily reading");
        let mut s = sample();
        s.curve[0].kwh = Some(f64::INFINITY);
        refuse(&mut store, s, "not a finite number");
        let mut s = sample();
        s.curve[0].date = s.curve[0].date.succ();
        refuse(&mut store, s, "is not the Europe/Paris day of its start");
        let mut s = sample();
        let mut twin = s.daily[0].clone();
        twin.amounts.kwh = Some(1.0);
        s.daily.push(twin);
        refuse(&mut store, s, "two different daily readings");
        let mut s = sample();
        s.daily[0].periods.push(PeriodValue {
            period: "Tempo-blue-HC".into(),
            kwh: None,
            eur: None,
        });
        refuse(&mut store, s, "two different values for period");
        let mut s = sample();
        s.daily[0].date = Date {
            year: 2026,
            month: 2,
            day: 30,
        };
        refuse(&mut store, s, "does not exist");
        let mut s = sample();
        s.homes.push(Home {
            id: "200002".into(),
            address: None,
            postal_code: None,
            city: None,
            meters: vec![Meter {
                id: PDL.into(),
                energy: hellowatt_snapshot::Energy::Electricity,
            }],
        });
        refuse(&mut store, s, "homes or energies for meter");
        let mut s = sample();
        s.windows.push(window(
            PDL,
            DataKind::ElectricityDaily,
            "2026-01-05",
            "2026-01-07",
            WindowStatus::Complete,
        ));
        refuse(&mut store, s, "two different statuses");
        let mut s = sample();
        s.homes[0].id.clear();
        refuse(&mut store, s, "empty id");
        assert_eq!(store.content_digest().unwrap(), empty);
    }

    #[test]
    fn runs_must_be_open_and_of_the_same_account() {
        let (mut store, run) = store();
        let err = store
            .ingest(run, "someone else", &sample(), 200)
            .unwrap_err()
            .to_string();
        assert!(err.contains("belongs to account"), "{err}");
        assert!(store.ingest(RunId(77), ACCOUNT, &sample(), 200).is_err());
        store
            .finish_run(run, &RunOutcome::Success, &IngestStats::default(), 0, 200)
            .unwrap();
        let err = store
            .ingest(run, ACCOUNT, &sample(), 300)
            .unwrap_err()
            .to_string();
        assert!(err.contains("already finished"), "{err}");
    }

    /// EcoWatt days: stored with their hours and window; the same answer
    /// again changes nothing; a later publication replaces a day's level
    /// and hours, but a level is never replaced by none and an hour the new
    /// answer lacks keeps its level; two different days for one date are
    /// refused whole.
    #[test]
    fn ecowatt_days_follow_later_publications() {
        use hellowatt_snapshot::{DataKind, EcoWattDay, EcoWattHour, Window, WindowStatus};
        let (mut store, run) = store();
        let day = |date: &str, level: Option<u8>, hours: &[(i64, u8)]| {
            let midnight = d(date).paris_midnight_utc();
            EcoWattDay {
                date: d(date),
                level,
                hours: hours
                    .iter()
                    .map(|(h, l)| EcoWattHour {
                        start: midnight + h * 3600,
                        level: *l,
                    })
                    .collect(),
                generated_at: Some(midnight - 3600),
            }
        };
        let first = vec![
            day("2026-01-05", Some(2), &[(0, 1), (8, 2), (9, 2)]),
            day("2026-01-06", Some(1), &[(0, 0), (1, 1)]),
        ];
        let s = Snapshot {
            ecowatt: first.clone(),
            windows: vec![Window {
                subject: "ecowatt".into(),
                kind: DataKind::Ecowatt,
                start: d("2026-01-05"),
                end: d("2026-01-08"),
                status: WindowStatus::Complete,
            }],
            ..Default::default()
        };
        let stats = store.ingest(run, ACCOUNT, &s, 200).unwrap();
        assert_eq!(
            (stats.inserted, stats.updated),
            (3, 0),
            "two days and a window"
        );
        assert_eq!(
            store.ecowatt(d("2026-01-01"), d("2026-01-31")).unwrap(),
            first
        );
        let digest = store.content_digest().unwrap();
        let again = store.ingest(run, ACCOUNT, &s, 300).unwrap();
        assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 3));
        assert_eq!(store.content_digest().unwrap(), digest);

        // The 5th revised to red at 09:00, its 08:00 not in the answer; the
        // 6th republished without a day level.
        let later = Snapshot {
            ecowatt: vec![
                day("2026-01-05", Some(3), &[(0, 1), (9, 3)]),
                day("2026-01-06", None, &[(0, 0), (1, 1)]),
            ],
            ..Default::default()
        };
        let stats = store.ingest(run, ACCOUNT, &later, 400).unwrap();
        assert_eq!((stats.updated, stats.unchanged), (1, 1));
        let got = store.ecowatt(d("2026-01-05"), d("2026-01-06")).unwrap();
        assert_eq!(
            got[0],
            day("2026-01-05", Some(3), &[(0, 1), (8, 2), (9, 3)])
        );
        assert_eq!(got[1], first[1], "no level never replaces a level");

        let twice = Snapshot {
            ecowatt: vec![
                day("2026-01-07", Some(1), &[]),
                day("2026-01-07", Some(2), &[]),
            ],
            ..Default::default()
        };
        let before = store.content_digest().unwrap();
        let err = format!("{:#}", store.ingest(run, ACCOUNT, &twice, 500).unwrap_err());
        assert!(err.contains("EcoWatt signals for 2026-01-07"), "{err}");
        assert_eq!(store.content_digest().unwrap(), before);
    }

    #[test]
    fn a_homes_contract_list_is_replaced_as_a_set() {
        let (mut store, run) = store();
        store.ingest(run, ACCOUNT, &sample(), 200).unwrap();
        // The Tempo contract ended, a new one began; the old one stays listed.
        let mut s = sample();
        s.contracts[0].state = "ended".into();
        s.contracts[0].active = false;
        s.contracts.push(Contract {
            home_id: HOME.into(),
            energy: Some(hellowatt_snapshot::Energy::Electricity),
            provider: Some("EDF".into()),
            offer: Some("Base".into()),
            state: "actual".into(),
            active: true,
            subscribed_kva: None,
        });
        let stats = store.ingest(run, ACCOUNT, &s, 300).unwrap();
        // 2 new contracts, 1 old removed, 1 (the long-ended one) untouched.
        assert_eq!((stats.inserted, stats.updated), (2, 1));
        let mut got = store.contracts(Some(ACCOUNT)).unwrap();
        let mut want = s.contracts.clone();
        let key = |c: &Contract| {
            (
                c.energy,
                c.provider.clone(),
                c.offer.clone(),
                c.state.clone(),
            )
        };
        got.sort_by_key(key);
        want.sort_by_key(key);
        assert_eq!(got, want);
        // A snapshot without contracts (homes not asked) leaves them alone.
        let digest = store.content_digest().unwrap();
        let mut daily_only = s.clone();
        daily_only.contracts.clear();
        daily_only.homes.clear();
        assert!(
            store
                .ingest(run, ACCOUNT, &daily_only, 400)
                .unwrap()
                .is_unchanged()
        );
        assert_eq!(store.content_digest().unwrap(), digest);
    }

    #[test]
    fn homes_and_meters_follow_the_site() {
        let (mut store, run) = store();
        store.ingest(run, ACCOUNT, &sample(), 200).unwrap();
        let mut s = sample();
        s.homes[0].city = Some("Villeurbanne".into());
        s.homes[0].meters.push(Meter {
            id: "01234567890999".into(),
            energy: hellowatt_snapshot::Energy::Electricity,
        });
        let stats = store.ingest(run, ACCOUNT, &s, 300).unwrap();
        assert_eq!((stats.inserted, stats.updated), (1, 1));
        let meters = store.meters(Some(ACCOUNT)).unwrap();
        assert_eq!(meters.len(), 3);
        assert!(
            meters
                .iter()
                .all(|m| m.city.as_deref() == Some("Villeurbanne"))
        );
        // Totals still read (a cheap smoke test across files).
        assert_eq!(
            store
                .totals(PDL, Granularity::Year, d("2026-01-01"), d("2026-12-31"))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_file_store_survives_reopening_with_its_content() {
        let dir = TempDir::new("reopen");
        let path = dir.path().join("hw.db");
        let digest = {
            let mut store = Store::open(&path).unwrap();
            let run = store
                .begin_run(ACCOUNT, &guest(), d("2026-01-01"), d("2026-01-31"), 1)
                .unwrap();
            store.ingest(run, ACCOUNT, &sample(), 2).unwrap();
            store.content_digest().unwrap()
        };
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.content_digest().unwrap(), digest);
        let run = store
            .begin_run(ACCOUNT, &guest(), d("2026-01-01"), d("2026-01-31"), 3)
            .unwrap();
        assert!(
            store
                .ingest(run, ACCOUNT, &sample(), 4)
                .unwrap()
                .is_unchanged()
        );
        assert_eq!(store.content_digest().unwrap(), digest);
        store.integrity_check().unwrap();
    }
}
