//! Reads for the outputs (HTTP API, dashboard, metrics, MQTT, export).
//!
//! Every range is of inclusive Europe/Paris days (`from..=to`); an empty
//! range (`from > to`) or an unknown meter gives an empty answer, not an
//! error. Lists come in a stable order (by day, then key).

use super::sum::Sum;
use super::values::{DAILY_COLUMNS, is_missing, read_amounts};
use super::{
    GuestIdentity, IngestStats, RunId, RunOutcome, Store, colour_col, contract_from_row, date_col,
    day, energy_col, opt_date_col, status_col, tempo_source_col, unknown_word,
};
use anyhow::{Context, Result, bail};
use hellowatt_snapshot::{
    Amounts, Contract, CurvePoint, DailyReading, DataKind, Date, EcoWattDay, EcoWattHour, Energy,
    PeriodValue, Temperature, TemperaturePeriod, TempoDay, Window, round_to,
};
use rusqlite::params;
use rusqlite::types::Type;
use serde::Serialize;
use std::collections::BTreeMap;

/// Decimals of a sum of euros (as [`Amounts::DECIMALS`] for `eur`).
const EUR_DECIMALS: i32 = Amounts::DECIMALS[1];

/// The bucket of a stored day: its first `len` characters (`YYYY`,
/// `YYYY-MM` or the whole day).
fn bucket_of(date: &str, len: usize) -> Result<&str> {
    date.get(..len)
        .with_context(|| format!("a stored day {date:?} that is not YYYY-MM-DD"))
}

/// Rows read in key order (a stored day in column 0) folded into their
/// buckets by `add`, a bucket opened when the day's first `len` characters
/// change: a `GROUP BY` with no sort (sum.rs says why).
fn by_bucket<A: Default>(
    mut rows: rusqlite::Rows<'_>,
    len: usize,
    what: &str,
    mut add: impl FnMut(&mut A, &rusqlite::Row<'_>) -> Result<()>,
) -> Result<BTreeMap<String, A>> {
    let mut out = BTreeMap::new();
    let mut open: Option<(String, A)> = None;
    while let Some(r) = rows.next().with_context(|| format!("reading the {what}"))? {
        let key = bucket_of(r.get_ref(0)?.as_str()?, len)?;
        if open.as_ref().is_none_or(|(k, _)| k != key)
            && let Some((k, a)) = open.replace((key.to_owned(), A::default()))
        {
            out.insert(k, a);
        }
        if let Some((_, a)) = open.as_mut() {
            add(a, r).with_context(|| format!("reading the {what}"))?;
        }
    }
    if let Some((k, a)) = open {
        out.insert(k, a);
    }
    Ok(out)
}

/// A `(key, period, kwh, eur)` row: a day's or a bucket's period.
fn keyed_period(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, PeriodValue)> {
    Ok((
        r.get(0)?,
        PeriodValue {
            period: r.get(1)?,
            kwh: r.get(2)?,
            eur: r.get(3)?,
        },
    ))
}

/// A row of `sync_runs`, with the account's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    pub id: RunId,
    pub account: String,
    pub started_at: i64,
    /// `None` while running, or when the process died during the run.
    pub finished_at: Option<i64>,
    /// `None` exactly when `finished_at` is.
    pub outcome: Option<RunOutcome>,
    pub guest: GuestIdentity,
    /// The days the run was asked for.
    pub start: Date,
    pub end: Date,
    /// While running: the sum of its ingests so far; once finished: the
    /// totals given to `finish_run`.
    pub stats: IngestStats,
    pub requests: u64,
    /// The site's API version the guest's answers came under, if it said.
    pub api_version: Option<String>,
}

/// A meter with its home and account, and the days it has data for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeterRecord {
    pub account: String,
    pub home_id: String,
    pub meter_id: String,
    pub energy: Energy,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// First and last day whose daily reading has at least one value
    /// (`None` when there is none).
    pub first_day: Option<Date>,
    pub last_day: Option<Date>,
}

/// A stored daily reading, periods sorted by name, with the runs that first
/// stored it and last changed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyRow {
    #[serde(flatten)]
    pub reading: DailyReading,
    pub first_run: RunId,
    pub updated_run: RunId,
}

/// How [`Store::totals`] groups days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    Day,
    Month,
    Year,
}

impl Granularity {
    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Month => "month",
            Granularity::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<Granularity> {
        match s {
            "day" => Some(Granularity::Day),
            "month" => Some(Granularity::Month),
            "year" => Some(Granularity::Year),
            _ => None,
        }
    }

    /// Length of the bucket's key: `YYYY-MM-DD`, `YYYY-MM`, `YYYY`.
    fn key_len(self) -> usize {
        match self {
            Granularity::Day => 10,
            Granularity::Month => 7,
            Granularity::Year => 4,
        }
    }

    /// The last day of the bucket that contains `d`.
    fn bucket_end(self, d: Date) -> Date {
        match self {
            Granularity::Day => d,
            Granularity::Month => d.last_of_month(),
            Granularity::Year => Date {
                year: d.year,
                month: 12,
                day: 31,
            },
        }
    }
}

/// One bucket of [`Store::totals`]. Sums are `None` when no day of the
/// bucket has that value: missing stays missing, never 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalRow {
    /// `2026-01-05`, `2026-01` or `2026`.
    pub bucket: String,
    /// The bucket's days within the asked range (a month cut by the range
    /// starts or ends inside it).
    pub start: Date,
    pub end: Date,
    /// Calendar days from `start` to `end`.
    pub day_count: u32,
    /// Days with a stored reading (with or without values).
    pub stored_days: u32,
    /// Days with a kWh value: `value_count < day_count` means days are
    /// missing from the sums.
    pub value_count: u32,
    /// The days' sums; an amount no day has stays `None`. `eur` is the
    /// consumption's cost, without the subscription.
    #[serde(flatten)]
    pub amounts: Amounts,
    /// The cost with the subscription: `eur` + `subscription_eur`.
    pub total_eur: Option<f64>,
}

/// The highest mean power of a day (or of a bucket of days): the curve
/// point with the most energy per minute, as kW (a half-hour's kWh × 2),
/// the earliest on a tie. Derived from the stored curve, never stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerPeak {
    /// The day (`2026-01-05`) or the month (`2026-01`) it is the peak of.
    pub bucket: String,
    /// The point's mean power over its minutes, kW, 3 decimals.
    pub kw: f64,
    /// The point's start (UTC seconds) and length.
    pub start_utc: i64,
    pub minutes: u16,
    /// The Paris day of the point.
    pub date: Date,
    /// Points of the bucket with a value (a day has 48, 46 or 50).
    pub points: u32,
}

/// A fetch window's current status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WindowRecord {
    pub account: String,
    #[serde(flatten)]
    pub window: Window,
    /// The run that first recorded the window.
    pub first_run: RunId,
    /// The run that set the current status (not bumped by a run that saw
    /// the same status again: `sync_runs` has that).
    pub last_run: RunId,
    /// When the current status was set (Unix seconds).
    pub changed_at: i64,
}

/// A daily reading as it was before `replaced_by_run` replaced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevisionRecord {
    pub id: i64,
    pub old: DailyReading,
    pub old_first_run: RunId,
    pub old_updated_run: RunId,
    pub replaced_at: i64,
    pub replaced_by_run: RunId,
}

/// A curve point as it was before `replaced_by_run` replaced its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurveRevisionRecord {
    pub id: i64,
    pub old: CurvePoint,
    pub old_updated_run: RunId,
    pub replaced_at: i64,
    pub replaced_by_run: RunId,
}

/// Longest range `totals` accepts, in days (about two centuries).
const MAX_TOTAL_DAYS: i64 = 200 * 366;

/// The SQL condition "this daily reading (alias `d`) has at least one value".
const HAS_VALUE: &str = "(d.kwh IS NOT NULL OR d.eur IS NOT NULL OR d.subscription_eur IS NOT NULL \
     OR d.co2_kg IS NOT NULL OR d.solar_production_kwh IS NOT NULL \
     OR d.solar_production_eur IS NOT NULL OR d.injection_kwh IS NOT NULL \
     OR d.injection_eur IS NOT NULL OR EXISTS (SELECT 1 FROM daily_periods p \
     WHERE p.meter_id = d.meter_id AND p.date = d.date \
     AND (p.kwh IS NOT NULL OR p.eur IS NOT NULL)))";

fn run_id(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<RunId> {
    row.get(idx).map(RunId)
}

fn limit_i64(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl Store {
    /// Runs, newest first, of one account or all.
    pub fn runs(&self, account: Option<&str>, limit: usize) -> Result<Vec<RunRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.id, a.name, r.started_at, r.finished_at, r.outcome, r.error_kind, \
                 r.error_message, r.guest_name, r.guest_version, r.guest_sha256, r.range_start, \
                 r.range_end, r.inserted, r.updated, r.unchanged, r.revisions, r.requests, \
                 r.api_version FROM sync_runs r JOIN accounts a ON a.id = r.account_id \
                 WHERE ?1 IS NULL OR a.name = ?1 ORDER BY r.id DESC LIMIT ?2",
            )
            .context("preparing the runs query")?;
        let rows = stmt
            .query_map(params![account, limit_i64(limit)], |r| {
                let outcome: Option<String> = r.get(4)?;
                let outcome = match outcome.as_deref() {
                    None => None,
                    Some("success") => Some(RunOutcome::Success),
                    Some("failed") => Some(RunOutcome::Failed {
                        kind: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                        message: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                    }),
                    Some(other) => return Err(unknown_word(4, "run outcome", other)),
                };
                Ok(RunRecord {
                    id: run_id(r, 0)?,
                    account: r.get(1)?,
                    started_at: r.get(2)?,
                    finished_at: r.get(3)?,
                    outcome,
                    guest: GuestIdentity {
                        name: r.get(7)?,
                        version: r.get(8)?,
                        sha256: r.get(9)?,
                    },
                    start: date_col(r, 10)?,
                    end: date_col(r, 11)?,
                    stats: IngestStats {
                        inserted: r.get(12)?,
                        updated: r.get(13)?,
                        unchanged: r.get(14)?,
                        revisions: r.get(15)?,
                    },
                    requests: r.get(16)?,
                    api_version: r.get(17)?,
                })
            })
            .context("querying the runs")?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading the runs")
    }

    /// Meters of one account or all, by account, home, energy and id.
    pub fn meters(&self, account: Option<&str>) -> Result<Vec<MeterRecord>> {
        let sql = format!(
            "SELECT a.name, h.id, m.id, m.energy, h.address, h.postal_code, h.city, \
             (SELECT min(d.date) FROM daily_readings d WHERE d.meter_id = m.id AND {HAS_VALUE}), \
             (SELECT max(d.date) FROM daily_readings d WHERE d.meter_id = m.id AND {HAS_VALUE}) \
             FROM meters m JOIN homes h ON h.id = m.home_id JOIN accounts a ON a.id = h.account_id \
             WHERE ?1 IS NULL OR a.name = ?1 ORDER BY a.name, h.id, m.energy, m.id"
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .context("preparing the meters query")?;
        let rows = stmt
            .query_map([account], |r| {
                let energy = energy_col(r, 3)?.ok_or_else(|| {
                    rusqlite::Error::InvalidColumnType(3, "energy".into(), Type::Null)
                })?;
                Ok(MeterRecord {
                    account: r.get(0)?,
                    home_id: r.get(1)?,
                    meter_id: r.get(2)?,
                    energy,
                    address: r.get(4)?,
                    postal_code: r.get(5)?,
                    city: r.get(6)?,
                    first_day: opt_date_col(r, 7)?,
                    last_day: opt_date_col(r, 8)?,
                })
            })
            .context("querying the meters")?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading the meters")
    }

    /// A meter's daily readings with their periods, by day.
    pub fn daily(&self, meter_id: &str, from: Date, to: Date) -> Result<Vec<DailyRow>> {
        let (from, to) = (day(from), day(to));
        let mut periods: BTreeMap<String, Vec<PeriodValue>> = BTreeMap::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT date, period, kwh, eur FROM daily_periods \
                     WHERE meter_id = ?1 AND date BETWEEN ?2 AND ?3 ORDER BY date, period",
                )
                .context("preparing the periods query")?;
            let rows = stmt
                .query_map([meter_id, &from, &to], keyed_period)
                .context("querying the periods")?;
            for row in rows {
                let (date, p) = row.context("reading the periods")?;
                periods.entry(date).or_default().push(p);
            }
        }
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT date, {DAILY_COLUMNS}, first_run, updated_run FROM daily_readings \
                 WHERE meter_id = ?1 AND date BETWEEN ?2 AND ?3 ORDER BY date"
            ))
            .context("preparing the daily query")?;
        let rows = stmt
            .query_map([meter_id, &from, &to], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    date_col(r, 0)?,
                    read_amounts(r, 1)?,
                    run_id(r, 9)?,
                    run_id(r, 10)?,
                ))
            })
            .context("querying the daily readings")?;
        let mut out = Vec::new();
        for row in rows {
            let (key, date, amounts, first_run, updated_run) =
                row.context("reading the daily readings")?;
            out.push(DailyRow {
                reading: DailyReading {
                    meter_id: meter_id.to_owned(),
                    date,
                    periods: periods.remove(&key).unwrap_or_default(),
                    amounts,
                },
                first_run,
                updated_run,
            });
        }
        Ok(out)
    }

    /// Sums of a meter's daily readings by day, month or year, one row per
    /// bucket of `from..=to` (buckets without data included, with `None`
    /// sums), summed as SQLite sums (sum.rs) over the rows in key order.
    pub fn totals(
        &self,
        meter_id: &str,
        granularity: Granularity,
        from: Date,
        to: Date,
    ) -> Result<Vec<TotalRow>> {
        if from > to {
            return Ok(Vec::new());
        }
        let span = to.days_since_epoch() - from.days_since_epoch();
        if span >= MAX_TOTAL_DAYS {
            bail!(
                "a range of {} days is too long for totals (at most {MAX_TOTAL_DAYS})",
                span + 1
            );
        }
        let len = granularity.key_len();
        // Rows in key order, cut into buckets here (sum.rs says why).
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT date, {DAILY_COLUMNS} FROM daily_readings \
                 WHERE meter_id = ?1 AND date BETWEEN ?2 AND ?3 ORDER BY date"
            ))
            .context("preparing the totals query")?;
        let rows = stmt
            .query(params![meter_id, day(from), day(to)])
            .context("querying the totals")?;
        // By bucket: days stored, and each amount's sum.
        let mut sums = by_bucket(rows, len, "totals", |(n, sums): &mut (u32, [Sum; 8]), r| {
            *n += 1;
            for (i, sum) in sums.iter_mut().enumerate() {
                sum.add(r.get(1 + i)?);
            }
            Ok(())
        })?;
        let mut out = Vec::new();
        let mut start = from;
        while start <= to {
            let end = granularity.bucket_end(start).min(to);
            let bucket = day(start)[..len].to_owned();
            // kWh is the first amount: its count is the days with a value.
            let (stored_days, sums) = sums.remove(&bucket).unwrap_or_default();
            let (value_count, amounts) = (
                sums[0].count(),
                Amounts::from_values(sums.map(|s| s.value())),
            );
            // A day's values stay as the site gave them; sums are rounded.
            let amounts = if granularity == Granularity::Day {
                amounts
            } else {
                amounts.rounded()
            };
            out.push(TotalRow {
                bucket,
                start,
                end,
                day_count: (end.days_since_epoch() - start.days_since_epoch() + 1) as u32,
                stored_days,
                value_count,
                total_eur: amounts.total_eur().map(|x| round_to(x, EUR_DECIMALS)),
                amounts,
            });
            start = end.succ();
        }
        Ok(out)
    }

    /// A meter's tariff periods summed per bucket of `granularity` over
    /// `[from, to]`: by bucket key (as [`TotalRow::bucket`]), the periods
    /// sorted by name, each sum `None` when no day had that value. Sums of
    /// several days are rounded like [`Amounts::rounded`].
    pub fn period_totals(
        &self,
        meter_id: &str,
        granularity: Granularity,
        from: Date,
        to: Date,
    ) -> Result<BTreeMap<String, Vec<PeriodValue>>> {
        let len = granularity.key_len();
        // Rows in key order (day, then period), cut into buckets here.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT date, period, kwh, eur FROM daily_periods \
                 WHERE meter_id = ?1 AND date BETWEEN ?2 AND ?3 ORDER BY date, period",
            )
            .context("preparing the period totals query")?;
        let rows = stmt
            .query(params![meter_id, day(from), day(to)])
            .context("querying the period totals")?;
        let sums = by_bucket(
            rows,
            len,
            "period totals",
            |periods: &mut BTreeMap<String, [Sum; 2]>, r| {
                let period = r.get_ref(1)?.as_str()?;
                let sum = match periods.get_mut(period) {
                    Some(sum) => sum,
                    None => periods.entry(period.to_owned()).or_default(),
                };
                sum[0].add(r.get(2)?);
                sum[1].add(r.get(3)?);
                Ok(())
            },
        )?;
        let (kwh_decimals, eur_decimals) = (Amounts::DECIMALS[0], EUR_DECIMALS);
        let rounded = granularity != Granularity::Day;
        Ok(sums
            .into_iter()
            .map(|(bucket, periods)| {
                let periods = periods
                    .into_iter()
                    .map(|(period, [kwh, eur])| {
                        let (kwh, eur) = (kwh.value(), eur.value());
                        PeriodValue {
                            period,
                            kwh: if rounded {
                                kwh.map(|x| round_to(x, kwh_decimals))
                            } else {
                                kwh
                            },
                            eur: if rounded {
                                eur.map(|x| round_to(x, eur_decimals))
                            } else {
                                eur
                            },
                        }
                    })
                    .collect();
                (bucket, periods)
            })
            .collect())
    }

    /// A meter's load curve over whole days, by start instant.
    pub fn curve(&self, meter_id: &str, from: Date, to: Date) -> Result<Vec<CurvePoint>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                // By key: a range of starts, read in order (a point's day
                // is the Paris day of its start: checked.rs).
                "SELECT start_utc, date, minutes, kwh FROM curve_points \
                 WHERE meter_id = ?1 AND start_utc >= ?2 AND start_utc < ?3 ORDER BY start_utc",
            )
            .context("preparing the curve query")?;
        let rows = stmt
            .query_map(
                params![
                    meter_id,
                    from.paris_midnight_utc(),
                    to.succ().paris_midnight_utc()
                ],
                |r| {
                    Ok(CurvePoint {
                        meter_id: meter_id.to_owned(),
                        start: r.get(0)?,
                        date: date_col(r, 1)?,
                        minutes: r.get(2)?,
                        kwh: r.get(3)?,
                    })
                },
            )
            .context("querying the curve")?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading the curve")
    }

    /// The power peak of each day of `from..=to` with a curve, or of each
    /// month (`Granularity::Month`: the highest of its days); a year is a
    /// month's question asked twelve times, so it is refused. Days and
    /// months without a curve point with a value are absent.
    pub fn power_peaks(
        &self,
        meter_id: &str,
        granularity: Granularity,
        from: Date,
        to: Date,
    ) -> Result<Vec<PowerPeak>> {
        if granularity == Granularity::Year {
            bail!("power peaks are by day or by month");
        }
        let len = granularity.key_len();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT start_utc, date, minutes, kwh FROM curve_points \
                 WHERE meter_id = ?1 AND start_utc >= ?2 AND start_utc < ?3 \
                 AND kwh IS NOT NULL AND minutes > 0 ORDER BY start_utc",
            )
            .context("preparing the power peaks query")?;
        let mut rows = stmt
            .query(params![
                meter_id,
                from.paris_midnight_utc(),
                to.succ().paris_midnight_utc()
            ])
            .context("querying the power peaks")?;
        let mut out: Vec<PowerPeak> = Vec::new();
        // The bucket of the last peak, as a day: no text per point.
        let mut last: Option<Date> = None;
        while let Some(r) = rows.next().context("reading the power peaks")? {
            let date = date_col(r, 1)?;
            let (start_utc, minutes, kwh): (i64, u16, f64) = (r.get(0)?, r.get(2)?, r.get(3)?);
            let kw = kwh * 60.0 / f64::from(minutes);
            let key = match granularity {
                Granularity::Month => date.first_of_month(),
                _ => date,
            };
            match out.last_mut() {
                Some(peak) if last == Some(key) => {
                    peak.points += 1;
                    // Strictly higher: the earliest wins a tie.
                    if kw > peak.kw {
                        (peak.kw, peak.start_utc, peak.minutes, peak.date) =
                            (kw, start_utc, minutes, date);
                    }
                }
                _ => {
                    last = Some(key);
                    out.push(PowerPeak {
                        bucket: day(date)[..len].to_owned(),
                        kw,
                        start_utc,
                        minutes,
                        date,
                        points: 1,
                    })
                }
            }
        }
        for peak in &mut out {
            peak.kw = round_to(peak.kw, 3);
        }
        Ok(out)
    }

    /// Whether a meter has a curve point with a value since `from`'s Paris
    /// midnight (one key lookup, not the points).
    pub fn has_curve_since(&self, meter_id: &str, from: Date) -> Result<bool> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM curve_points WHERE meter_id = ?1 \
                 AND start_utc >= ?2 AND kwh IS NOT NULL)",
            )
            .context("preparing the curve presence query")?
            .query_row(params![meter_id, from.paris_midnight_utc()], |r| r.get(0))
            .context("looking for a curve")
    }

    /// The stored EcoWatt days of `from..=to`, each with its hours, by day.
    pub fn ecowatt(&self, from: Date, to: Date) -> Result<Vec<EcoWattDay>> {
        let mut days: Vec<EcoWattDay> = self
            .conn
            .prepare_cached(
                "SELECT date, level, generated_at FROM ecowatt_days \
                 WHERE date BETWEEN ?1 AND ?2 ORDER BY date",
            )
            .context("preparing the EcoWatt query")?
            .query_map([day(from), day(to)], |r| {
                Ok(EcoWattDay {
                    date: date_col(r, 0)?,
                    level: r.get(1)?,
                    generated_at: r.get(2)?,
                    hours: Vec::new(),
                })
            })
            .context("querying the EcoWatt days")?
            .collect::<rusqlite::Result<_>>()
            .context("reading the EcoWatt days")?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT date, start_utc, level FROM ecowatt_hours \
                 WHERE date BETWEEN ?1 AND ?2 ORDER BY start_utc",
            )
            .context("preparing the EcoWatt hours query")?;
        let hours = stmt
            .query_map([day(from), day(to)], |r| {
                Ok((
                    date_col(r, 0)?,
                    EcoWattHour {
                        start: r.get(1)?,
                        level: r.get(2)?,
                    },
                ))
            })
            .context("querying the EcoWatt hours")?;
        // Both lists are in day order: walk them together.
        let mut at = 0;
        for row in hours {
            let (date, hour) = row.context("reading the EcoWatt hours")?;
            while days.get(at).is_some_and(|d| d.date < date) {
                at += 1;
            }
            if let Some(d) = days.get_mut(at).filter(|d| d.date == date) {
                d.hours.push(hour);
            }
        }
        Ok(days)
    }

    /// Tempo days by day, source and meter (one day can have several rows:
    /// a service's colour and each meter's tariff-key colour).
    pub fn tempo_days(&self, from: Date, to: Date) -> Result<Vec<TempoDay>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT date, colour, source, meter_id FROM tempo_days \
                 WHERE date BETWEEN ?1 AND ?2 ORDER BY date, source, coalesce(meter_id, '')",
            )
            .context("preparing the Tempo query")?;
        let rows = stmt
            .query_map([day(from), day(to)], |r| {
                Ok(TempoDay {
                    date: date_col(r, 0)?,
                    colour: colour_col(r, 1)?,
                    source: tempo_source_col(r, 2)?,
                    meter_id: r.get(3)?,
                })
            })
            .context("querying the Tempo days")?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading the Tempo days")
    }

    /// A home's temperatures whose span meets `from..=to`: days, then
    /// months (dated their first day), each by date.
    pub fn temperatures(&self, home_id: &str, from: Date, to: Date) -> Result<Vec<Temperature>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT date, period, celsius FROM temperatures WHERE home_id = ?1 \
                 AND ((period = 'day' AND date BETWEEN ?2 AND ?3) \
                   OR (period = 'month' AND date BETWEEN ?4 AND ?3)) \
                 ORDER BY period, date",
            )
            .context("preparing the temperatures query")?;
        // A month's mean is dated its first day, which may precede `from`.
        let month_from = day(from.first_of_month());
        let rows = stmt
            .query_map([home_id, &day(from), &day(to), &month_from], |r| {
                let period: String = r.get(1)?;
                Ok(Temperature {
                    home_id: home_id.to_owned(),
                    date: date_col(r, 0)?,
                    period: TemperaturePeriod::parse(&period)
                        .ok_or_else(|| unknown_word(1, "temperature period", &period))?,
                    celsius: r.get(2)?,
                })
            })
            .context("querying the temperatures")?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading the temperatures")
    }

    /// The subscribed power (kVA) of a home's electricity supply: the
    /// highest of its active electricity contracts' (a solar surplus
    /// contract beside the supply states the smaller injection power), or
    /// `None` when none gives one.
    pub fn subscribed_kva(&self, home_id: &str) -> Result<Option<f64>> {
        self.conn
            .prepare_cached(
                "SELECT max(subscribed_kva) FROM contracts \
                 WHERE home_id = ?1 AND active = 1 AND energy = 'electricity'",
            )
            .context("preparing the subscribed power query")?
            .query_row([home_id], |r| r.get(0))
            .context("reading the subscribed power")
    }

    /// Contracts of one account's homes or all, by home.
    pub fn contracts(&self, account: Option<&str>) -> Result<Vec<Contract>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT c.home_id, c.energy, c.provider, c.offer, c.state, c.active, c.subscribed_kva \
                 FROM contracts c JOIN homes h ON h.id = c.home_id \
                 JOIN accounts a ON a.id = h.account_id WHERE ?1 IS NULL OR a.name = ?1 \
                 ORDER BY c.home_id, c.energy, c.provider, c.offer, c.state, c.active",
            )
            .context("preparing the contracts query")?;
        let rows = stmt
            .query_map([account], |r| contract_from_row(r, 0))
            .context("querying the contracts")?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading the contracts")
    }

    /// The current status of every fetch window of one account or all, by
    /// subject, kind and start.
    pub fn windows(&self, account: Option<&str>) -> Result<Vec<WindowRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.name, w.subject, w.kind, w.start_date, w.end_date, w.status, w.detail, \
                 w.first_run, w.last_run, w.changed_at FROM fetch_windows w \
                 JOIN accounts a ON a.id = w.account_id WHERE ?1 IS NULL OR a.name = ?1 \
                 ORDER BY w.subject, w.kind, w.start_date, w.end_date",
            )
            .context("preparing the windows query")?;
        let rows = stmt
            .query_map([account], |r| {
                let kind: String = r.get(2)?;
                let kind = DataKind::parse(&kind)
                    .ok_or_else(|| super::unknown_word(2, "data kind", &kind))?;
                Ok(WindowRecord {
                    account: r.get(0)?,
                    window: Window {
                        subject: r.get(1)?,
                        kind,
                        start: date_col(r, 3)?,
                        end: date_col(r, 4)?,
                        status: status_col(r, 5)?,
                    },
                    first_run: run_id(r, 7)?,
                    last_run: run_id(r, 8)?,
                    changed_at: r.get(9)?,
                })
            })
            .context("querying the windows")?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading the windows")
    }

    /// The replaced versions of a meter's daily readings, by day then age.
    pub fn revisions(&self, meter_id: &str) -> Result<Vec<RevisionRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT id, date, {DAILY_COLUMNS}, periods, old_first_run, old_updated_run, \
                 replaced_at, replaced_by_run FROM daily_revisions WHERE meter_id = ?1 \
                 ORDER BY date, id"
            ))
            .context("preparing the revisions query")?;
        let rows = stmt
            .query_map([meter_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    date_col(r, 1)?,
                    read_amounts(r, 2)?,
                    r.get::<_, String>(10)?,
                    run_id(r, 11)?,
                    run_id(r, 12)?,
                    r.get::<_, i64>(13)?,
                    run_id(r, 14)?,
                ))
            })
            .context("querying the revisions")?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                date,
                amounts,
                periods,
                old_first_run,
                old_updated_run,
                replaced_at,
                replaced_by_run,
            ) = row.context("reading the revisions")?;
            let periods: Vec<PeriodValue> = serde_json::from_str(&periods)
                .with_context(|| format!("decoding the periods of revision {id}"))?;
            debug_assert!(!is_missing(&amounts, &periods));
            out.push(RevisionRecord {
                id,
                old: DailyReading {
                    meter_id: meter_id.to_owned(),
                    date,
                    periods,
                    amounts,
                },
                old_first_run,
                old_updated_run,
                replaced_at,
                replaced_by_run,
            });
        }
        Ok(out)
    }

    /// The replaced values of a meter's curve points, by start then age.
    pub fn curve_revisions(&self, meter_id: &str) -> Result<Vec<CurveRevisionRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, start_utc, date, minutes, kwh, old_updated_run, replaced_at, \
                 replaced_by_run FROM curve_revisions WHERE meter_id = ?1 ORDER BY start_utc, id",
            )
            .context("preparing the curve revisions query")?;
        let rows = stmt
            .query_map([meter_id], |r| {
                Ok(CurveRevisionRecord {
                    id: r.get(0)?,
                    old: CurvePoint {
                        meter_id: meter_id.to_owned(),
                        start: r.get(1)?,
                        date: date_col(r, 2)?,
                        minutes: r.get(3)?,
                        kwh: r.get(4)?,
                    },
                    old_updated_run: run_id(r, 5)?,
                    replaced_at: r.get(6)?,
                    replaced_by_run: run_id(r, 7)?,
                })
            })
            .context("querying the curve revisions")?;
        rows.collect::<rusqlite::Result<_>>()
            .context("reading the curve revisions")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use hellowatt_snapshot::{Snapshot, paris_iso};

    /// February 2026 (28 days) for the electricity meter: days 1..=20 with
    /// `kwh = day`, `eur = 0.5`, CO2 on even days only, no solar at all;
    /// day 21 listed without any value; days 22..=28 absent. Plus 1 and 2
    /// March with 100 kWh each.
    fn february() -> Store {
        let mut store = Store::open_in_memory().unwrap();
        let run = store
            .begin_run(ACCOUNT, &guest(), d("2026-02-01"), d("2026-03-31"), 1)
            .unwrap();
        let mut s = Snapshot {
            homes: vec![home()],
            ..Default::default()
        };
        for n in 1..=20u8 {
            let date = Date::new(2026, 2, n).unwrap();
            s.daily.push(DailyReading {
                meter_id: PDL.into(),
                date,
                periods: vec![PeriodValue {
                    period: "Base".into(),
                    kwh: Some(f64::from(n)),
                    eur: Some(0.5),
                }],
                amounts: Amounts {
                    kwh: Some(f64::from(n)),
                    eur: Some(0.5),
                    subscription_eur: Some(0.25),
                    co2_kg: (n % 2 == 0).then_some(1.0),
                    ..Amounts::default()
                },
            });
        }
        s.daily.push(missing(PDL, "2026-02-21"));
        for date in ["2026-03-01", "2026-03-02"] {
            let mut r = missing(PDL, date);
            r.periods[0].kwh = Some(100.0);
            r.amounts.kwh = Some(100.0);
            s.daily.push(r);
        }
        store.ingest(run, ACCOUNT, &s, 2).unwrap();
        store
    }

    #[test]
    fn month_totals_show_partial_months() {
        let store = february();
        let rows = store
            .totals(PDL, Granularity::Month, d("2026-02-01"), d("2026-04-30"))
            .unwrap();
        assert_eq!(rows.len(), 3);
        let feb = &rows[0];
        assert_eq!(feb.bucket, "2026-02");
        assert_eq!((feb.start, feb.end), (d("2026-02-01"), d("2026-02-28")));
        assert_eq!(
            (feb.day_count, feb.stored_days, feb.value_count),
            (28, 21, 20)
        );
        assert_eq!(feb.amounts.kwh, Some(210.0));
        assert_eq!(feb.amounts.eur, Some(10.0));
        assert_eq!(feb.amounts.subscription_eur, Some(5.0));
        assert_eq!(feb.amounts.co2_kg, Some(10.0));
        // No solar value at all: missing, not zero.
        assert_eq!(feb.amounts.solar_production_kwh, None);
        assert_eq!(feb.amounts.injection_eur, None);
        let mar = &rows[1];
        assert_eq!(mar.bucket, "2026-03");
        assert_eq!(
            (mar.day_count, mar.stored_days, mar.value_count),
            (31, 2, 2)
        );
        assert_eq!((mar.amounts.kwh, mar.amounts.eur), (Some(200.0), None));
        // A month without any data is still listed, with nothing in it.
        let apr = &rows[2];
        assert_eq!(
            (
                apr.bucket.as_str(),
                apr.day_count,
                apr.stored_days,
                apr.value_count
            ),
            ("2026-04", 30, 0, 0)
        );
        assert_eq!(apr.amounts.kwh, None);

        // A range cutting months cuts their buckets.
        let rows = store
            .totals(PDL, Granularity::Month, d("2026-02-10"), d("2026-03-01"))
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].start, rows[0].end, rows[0].day_count),
            (d("2026-02-10"), d("2026-02-28"), 19)
        );
        assert_eq!(rows[0].amounts.kwh, Some((10..=20).sum::<u32>() as f64));
        assert_eq!(
            (rows[1].start, rows[1].end, rows[1].amounts.kwh),
            (d("2026-03-01"), d("2026-03-01"), Some(100.0))
        );
    }

    #[test]
    fn month_rows_carry_their_periods_summed_and_sums_are_rounded() {
        let mut store = Store::open_in_memory().unwrap();
        let run = store
            .begin_run(ACCOUNT, &guest(), d("2026-01-01"), d("2026-01-31"), 1)
            .unwrap();
        let mut s = Snapshot {
            homes: vec![home()],
            ..Default::default()
        };
        // 0.1 + 0.2 + ... : a float sum that does not print as a decimal.
        for (n, colour) in [(5u8, "Rouge"), (6, "Bleu"), (7, "Rouge")] {
            let period = |hp: &str, kwh: f64, eur: f64| PeriodValue {
                period: format!("Tempo-{colour}-{hp}"),
                kwh: Some(kwh),
                eur: Some(eur),
            };
            s.daily.push(DailyReading {
                meter_id: PDL.into(),
                date: Date::new(2026, 1, n).unwrap(),
                periods: vec![period("HC", 0.1, 0.01), period("HP", 0.2, 0.07)],
                amounts: Amounts {
                    kwh: Some(0.3),
                    eur: Some(0.08),
                    ..Amounts::default()
                },
            });
        }
        store.ingest(run, ACCOUNT, &s, 2).unwrap();
        let month = store
            .totals(PDL, Granularity::Month, d("2026-01-01"), d("2026-01-31"))
            .unwrap();
        assert_eq!(month[0].amounts.kwh, Some(0.9));
        assert_eq!(month[0].amounts.eur, Some(0.24));
        assert_eq!(month[0].total_eur, Some(0.24));
        let periods = store
            .period_totals(PDL, Granularity::Month, d("2026-01-01"), d("2026-01-31"))
            .unwrap();
        let jan: Vec<(&str, Option<f64>, Option<f64>)> = periods["2026-01"]
            .iter()
            .map(|p| (p.period.as_str(), p.kwh, p.eur))
            .collect();
        assert_eq!(
            jan,
            [
                ("Tempo-Bleu-HC", Some(0.1), Some(0.01)),
                ("Tempo-Bleu-HP", Some(0.2), Some(0.07)),
                ("Tempo-Rouge-HC", Some(0.2), Some(0.02)),
                ("Tempo-Rouge-HP", Some(0.4), Some(0.14)),
            ]
        );
        // Days keep the site's values; a range with no period has no key.
        let days = store
            .period_totals(PDL, Granularity::Day, d("2026-01-05"), d("2026-01-06"))
            .unwrap();
        assert_eq!(
            days.keys().collect::<Vec<_>>(),
            ["2026-01-05", "2026-01-06"]
        );
        assert!(
            store
                .period_totals(PDL, Granularity::Year, d("2025-01-01"), d("2025-12-31"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn year_totals_and_empty_ranges() {
        let store = february();
        let rows = store
            .totals(PDL, Granularity::Year, d("2025-12-01"), d("2026-12-31"))
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (
                rows[0].bucket.as_str(),
                rows[0].day_count,
                rows[0].amounts.kwh
            ),
            ("2025", 31, None)
        );
        assert_eq!(rows[1].bucket, "2026");
        assert_eq!(
            (rows[1].day_count, rows[1].stored_days, rows[1].value_count),
            (365, 23, 22)
        );
        assert_eq!(rows[1].amounts.kwh, Some(410.0));
        assert!(
            store
                .totals(PDL, Granularity::Year, d("2026-02-02"), d("2026-02-01"))
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .totals(PDL, Granularity::Day, d("1800-01-01"), d("2200-01-01"))
                .is_err()
        );
        // Another meter: buckets, no values.
        let rows = store
            .totals(GAS, Granularity::Month, d("2026-02-01"), d("2026-02-28"))
            .unwrap();
        assert_eq!((rows[0].stored_days, rows[0].amounts.kwh), (0, None));
    }

    /// Totals cut in Rust over key-ordered rows (sum.rs) answer what
    /// SQLite's `GROUP BY` of the same rows answers (to the bit for days,
    /// rounded alike for months and years; sum.rs asserts the unrounded
    /// sums to the bit), over two years of odd values with holes, for every
    /// granularity and for a range that cuts buckets.
    #[test]
    fn totals_equal_sqlites_group_by_to_the_bit() {
        let mut store = Store::open_in_memory().unwrap();
        let (first, last) = (d("2024-11-03"), d("2026-11-28"));
        let run = store.begin_run(ACCOUNT, &guest(), first, last, 1).unwrap();
        let mut s = Snapshot {
            homes: vec![home()],
            ..Default::default()
        };
        // A small LCG: values with many digits, and holes.
        struct Lcg(u64);
        impl Lcg {
            fn next(&mut self) -> u64 {
                self.0 = self
                    .0
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                self.0 >> 11
            }
            fn value(&mut self) -> Option<f64> {
                let v = self.next();
                (!v.is_multiple_of(7)).then(|| (v % 100_000) as f64 / 997.0)
            }
        }
        let mut rng = Lcg(42);
        let mut date = first;
        while date <= last {
            let amounts = [(); 8].map(|()| rng.value());
            let mut periods = Vec::new();
            for period in ["Tempo-Bleu-HC", "Tempo-Bleu-HP", "Tempo-Rouge-HP"] {
                if !rng.next().is_multiple_of(3) {
                    periods.push(PeriodValue {
                        period: period.into(),
                        kwh: rng.value(),
                        eur: rng.value(),
                    });
                }
            }
            if !rng.next().is_multiple_of(10) {
                s.daily.push(DailyReading {
                    meter_id: PDL.into(),
                    date,
                    periods,
                    amounts: Amounts::from_values(amounts),
                });
            }
            date = date.succ();
        }
        store.ingest(run, ACCOUNT, &s, 2).unwrap();

        for (from, to) in [(first, last), (d("2025-02-17"), d("2025-09-03"))] {
            for g in [Granularity::Day, Granularity::Month, Granularity::Year] {
                let len = g.key_len() as i64;
                let ours = store.totals(PDL, g, from, to).unwrap();
                let mut sql = store
                    .conn
                    .prepare(&format!(
                        "SELECT substr(date, 1, ?4), count(*), count(kwh), {} \
                         FROM daily_readings WHERE meter_id = ?1 AND date BETWEEN ?2 AND ?3 \
                         GROUP BY 1 ORDER BY 1",
                        Amounts::NAMES.map(|n| format!("sum({n})")).join(", ")
                    ))
                    .unwrap();
                let theirs: Vec<(String, u32, u32, Amounts)> = sql
                    .query_map(params![PDL, day(from), day(to), len], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, read_amounts(r, 3)?))
                    })
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                // Months and years are rounded: SQLite's sums rounded alike.
                let bits = |a: Amounts| a.values().map(|v| v.map(f64::to_bits));
                let ours_stored: Vec<(String, u32, u32, [Option<u64>; 8])> = ours
                    .iter()
                    .filter(|r| r.stored_days > 0)
                    .map(|r| {
                        (
                            r.bucket.clone(),
                            r.stored_days,
                            r.value_count,
                            bits(r.amounts),
                        )
                    })
                    .collect();
                let theirs: Vec<(String, u32, u32, [Option<u64>; 8])> = theirs
                    .into_iter()
                    .map(|(b, n, c, a)| {
                        let a = if g == Granularity::Day {
                            a
                        } else {
                            a.rounded()
                        };
                        (b, n, c, bits(a))
                    })
                    .collect();
                assert_eq!(ours_stored, theirs, "{g:?} {from}..{to}");

                let ours = store.period_totals(PDL, g, from, to).unwrap();
                let mut sql = store
                    .conn
                    .prepare(
                        "SELECT substr(date, 1, ?4), period, sum(kwh), sum(eur) FROM daily_periods \
                         WHERE meter_id = ?1 AND date BETWEEN ?2 AND ?3 \
                         GROUP BY 1, 2 ORDER BY 1, 2",
                    )
                    .unwrap();
                let round = |x: Option<f64>, decimals| {
                    if g == Granularity::Day {
                        x
                    } else {
                        x.map(|x| round_to(x, decimals))
                    }
                };
                let mut theirs: BTreeMap<String, Vec<PeriodValue>> = BTreeMap::new();
                for row in sql
                    .query_map(params![PDL, day(from), day(to), len], keyed_period)
                    .unwrap()
                {
                    let (bucket, mut p) = row.unwrap();
                    p.kwh = round(p.kwh, Amounts::DECIMALS[0]);
                    p.eur = round(p.eur, EUR_DECIMALS);
                    theirs.entry(bucket).or_default().push(p);
                }
                let bits = |m: &BTreeMap<String, Vec<PeriodValue>>| -> Vec<(String, String, Option<u64>, Option<u64>)> {
                    m.iter()
                        .flat_map(|(b, ps)| {
                            ps.iter().map(move |p| {
                                (b.clone(), p.period.clone(), p.kwh.map(f64::to_bits), p.eur.map(f64::to_bits))
                            })
                        })
                        .collect()
                };
                assert!(!theirs.is_empty());
                assert_eq!(bits(&ours), bits(&theirs), "periods {g:?} {from}..{to}");
            }
        }
    }

    /// A day's peak is its point with the most kWh per minute (kW), the
    /// earliest of equal ones; points without a value do not count; the
    /// 25-hour day has its 50 points; a month's peak is its highest day's;
    /// a day without a curve has no peak.
    #[test]
    fn power_peaks_by_day_and_by_month() {
        let mut store = Store::open_in_memory().unwrap();
        let run = store
            .begin_run(ACCOUNT, &guest(), d("2026-10-01"), d("2026-11-30"), 1)
            .unwrap();
        let mut s = Snapshot {
            homes: vec![home()],
            ..Default::default()
        };
        // 2026-10-24: 0.5 kWh a half-hour, 1.4 at 19:00 and at 19:30 (the
        // first wins), one point without a value. 2026-10-25 (25 hours):
        // 0.3, and 2.1 at the second 02:00 (winter time). 2026-11-02: one
        // hour-long point of 1.9 kWh (1.9 kW) beside half-hours of 0.9
        // (1.8 kW).
        let mut point = |start: i64, minutes: u16, kwh: Option<f64>| {
            s.curve.push(CurvePoint {
                meter_id: PDL.into(),
                start,
                date: Date::paris_day_of(start),
                minutes,
                kwh,
            })
        };
        let day = d("2026-10-24").paris_midnight_utc();
        for i in 0..48 {
            let kwh = match i {
                38 | 39 => Some(1.4),
                5 => None,
                _ => Some(0.5),
            };
            point(day + i * 1800, 30, kwh);
        }
        let long_day = d("2026-10-25").paris_midnight_utc();
        for i in 0..50 {
            point(
                long_day + i * 1800,
                30,
                Some(if i == 6 { 2.1 } else { 0.3 }),
            );
        }
        let nov = d("2026-11-02").paris_midnight_utc();
        point(nov, 60, Some(1.9));
        for i in 2..48 {
            point(nov + i * 1800, 30, Some(0.9));
        }
        store.ingest(run, ACCOUNT, &s, 2).unwrap();

        let days = store
            .power_peaks(PDL, Granularity::Day, d("2026-10-23"), d("2026-11-30"))
            .unwrap();
        let got: Vec<(&str, f64, String, u16, u32)> = days
            .iter()
            .map(|p| {
                (
                    p.bucket.as_str(),
                    p.kw,
                    paris_iso(p.start_utc),
                    p.minutes,
                    p.points,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "2026-10-24",
                    2.8,
                    "2026-10-24T19:00:00+02:00".into(),
                    30,
                    47
                ),
                (
                    "2026-10-25",
                    4.2,
                    "2026-10-25T02:00:00+01:00".into(),
                    30,
                    50
                ),
                (
                    "2026-11-02",
                    1.9,
                    "2026-11-02T00:00:00+01:00".into(),
                    60,
                    47
                ),
            ]
        );
        let months = store
            .power_peaks(PDL, Granularity::Month, d("2026-10-01"), d("2026-11-30"))
            .unwrap();
        let got: Vec<(&str, f64, Date)> = months
            .iter()
            .map(|p| (p.bucket.as_str(), p.kw, p.date))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-10", 4.2, d("2026-10-25")),
                ("2026-11", 1.9, d("2026-11-02"))
            ]
        );
        // A range that cuts a day out cuts its points out.
        assert!(
            store
                .power_peaks(PDL, Granularity::Day, d("2026-10-26"), d("2026-11-01"))
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .power_peaks(PDL, Granularity::Year, d("2026-01-01"), d("2026-12-31"))
                .is_err()
        );
    }

    #[test]
    fn missing_days_stay_missing_in_day_totals() {
        let store = february();
        let rows = store
            .totals(PDL, Granularity::Day, d("2026-02-20"), d("2026-02-22"))
            .unwrap();
        let got: Vec<(&str, u32, u32, Option<f64>)> = rows
            .iter()
            .map(|r| {
                (
                    r.bucket.as_str(),
                    r.stored_days,
                    r.value_count,
                    r.amounts.kwh,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("2026-02-20", 1, 1, Some(20.0)),
                ("2026-02-21", 1, 0, None),
                ("2026-02-22", 0, 0, None)
            ]
        );
        // Odd days have no CO2: None, not 0.
        assert_eq!(rows[0].amounts.co2_kg, Some(1.0));
        let odd = store
            .totals(PDL, Granularity::Day, d("2026-02-19"), d("2026-02-19"))
            .unwrap();
        assert_eq!(
            (odd[0].amounts.kwh, odd[0].amounts.co2_kg),
            (Some(19.0), None)
        );
    }

    #[test]
    fn daily_rows_carry_their_periods() {
        let store = february();
        let rows = store.daily(PDL, d("2026-02-20"), d("2026-03-01")).unwrap();
        let dates: Vec<Date> = rows.iter().map(|r| r.reading.date).collect();
        assert_eq!(dates, [d("2026-02-20"), d("2026-02-21"), d("2026-03-01")]);
        assert_eq!(
            rows[0].reading.periods,
            [PeriodValue {
                period: "Base".into(),
                kwh: Some(20.0),
                eur: Some(0.5)
            }]
        );
        assert_eq!(rows[1].reading, missing(PDL, "2026-02-21"));
        assert_eq!(
            (rows[0].first_run, rows[0].updated_run),
            (RunId(1), RunId(1))
        );
        assert!(
            store
                .daily("nope", d("2026-02-01"), d("2026-02-28"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn meters_know_their_first_and_last_day_with_data() {
        let store = february();
        let meters = store.meters(None).unwrap();
        assert_eq!(meters.len(), 2);
        let elec = &meters[0];
        assert_eq!(
            (elec.meter_id.as_str(), elec.energy),
            (PDL, Energy::Electricity)
        );
        assert_eq!(
            (elec.first_day, elec.last_day),
            (Some(d("2026-02-01")), Some(d("2026-03-02")))
        );
        assert_eq!(
            (
                elec.account.as_str(),
                elec.home_id.as_str(),
                elec.city.as_deref()
            ),
            (ACCOUNT, HOME, Some("Lyon"))
        );
        let gas = &meters[1];
        assert_eq!(
            (gas.meter_id.as_str(), gas.first_day, gas.last_day),
            (GAS, None, None)
        );
        assert!(store.meters(Some("nobody")).unwrap().is_empty());
    }

    #[test]
    fn reads_of_the_sample() {
        let mut store = Store::open_in_memory().unwrap();
        let run = store
            .begin_run(ACCOUNT, &guest(), d("2026-01-01"), d("2026-01-31"), 1)
            .unwrap();
        let s = sample();
        store.ingest(run, ACCOUNT, &s, 2).unwrap();
        assert_eq!(
            store.curve(PDL, d("2026-01-05"), d("2026-01-05")).unwrap(),
            s.curve
        );
        assert!(
            store
                .curve(PDL, d("2026-01-06"), d("2026-01-31"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .temperatures(HOME, d("2026-01-01"), d("2026-01-31"))
                .unwrap(),
            s.temperatures
        );
        assert_eq!(
            store
                .temperatures(HOME, d("2026-01-06"), d("2026-01-06"))
                .unwrap(),
            &s.temperatures[1..]
        );
        assert_eq!(
            store.tempo_days(d("2026-01-01"), d("2026-01-31")).unwrap(),
            s.tempo_days
        );
        let mut contracts = s.contracts.clone();
        contracts.reverse(); // energy NULL sorts first
        assert_eq!(store.contracts(Some(ACCOUNT)).unwrap(), contracts);
        let windows: Vec<Window> = store
            .windows(None)
            .unwrap()
            .into_iter()
            .map(|w| w.window)
            .collect();
        let mut want = s.windows.clone();
        want.sort_by(|a, b| (&a.subject, a.kind.as_str()).cmp(&(&b.subject, b.kind.as_str())));
        assert_eq!(windows, want);
        // The run journal and the JSON forms the outputs will serve.
        let json =
            serde_json::to_value(store.daily(PDL, d("2026-01-05"), d("2026-01-05")).unwrap())
                .unwrap();
        assert_eq!(json[0]["meter_id"], PDL);
        assert_eq!(json[0]["first_run"], 1);
        let json = serde_json::to_value(store.windows(None).unwrap()).unwrap();
        assert!(
            json.as_array()
                .unwrap()
                .iter()
                .any(|w| w["status"] == "not-available" && w["detail"] == "no gas contract")
        );
        assert_eq!(Granularity::parse("month"), Some(Granularity::Month));
        assert_eq!(Granularity::Year.as_str(), "year");
    }
}
