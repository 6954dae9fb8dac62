//! The structural check of a snapshot, before the ingest writes any of it:
//! every day must exist, every number be finite (SQLite would store NaN as
//! NULL and break idempotence), every id be non-empty, and two records
//! with the same key must be equal (equal duplicates are merged; different
//! ones are a guest bug and fail the ingest). The result is in key order.
//!
//! It owns those rules and their error messages (which record, which
//! field). It must never touch the database: what is stored decides
//! nothing here (that is the ingest's comparison, `ingest.rs`).

use super::{check_date, tempo_source_str};
use anyhow::{Context, Result, bail};
use hellowatt_snapshot::{
    Amounts, Contract, CurvePoint, DailyReading, Date, EcoWattDay, Home, Snapshot, Temperature,
    TempoDay, Window,
};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// A snapshot checked and put in key order, duplicates merged. The curve,
/// by far the longest list, is borrowed from the snapshot, not copied.
pub(super) struct Checked<'a> {
    pub(super) homes: Vec<Home>,
    pub(super) contracts: BTreeMap<String, Vec<Contract>>,
    pub(super) daily: Vec<DailyReading>,
    pub(super) curve: Vec<&'a CurvePoint>,
    pub(super) temperatures: Vec<Temperature>,
    pub(super) tempo: Vec<TempoDay>,
    pub(super) ecowatt: Vec<EcoWattDay>,
    pub(super) windows: Vec<Window>,
}

fn non_empty(id: &str, what: &str) -> Result<()> {
    if id.is_empty() {
        bail!("{what} has an empty id");
    }
    Ok(())
}

fn finite(v: Option<f64>, what: impl FnOnce() -> String) -> Result<()> {
    match v {
        Some(x) if !x.is_finite() => bail!("{} is not a finite number ({x})", what()),
        _ => Ok(()),
    }
}

/// Merges records with equal keys, refusing two different records with the
/// same key. The result is in key order.
fn unique<K: Ord, T: PartialEq>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
    what: impl Fn(&T) -> String,
) -> Result<Vec<T>> {
    let mut map = BTreeMap::new();
    for item in items {
        match map.entry(key(&item)) {
            Entry::Vacant(v) => {
                v.insert(item);
            }
            Entry::Occupied(o) => {
                if *o.get() != item {
                    bail!("the snapshot has two different {}", what(&item));
                }
            }
        }
    }
    Ok(map.into_values().collect())
}

/// As [`unique`], sorting in place by `cmp` instead of keying a map: no
/// key is built per item (the curve's thousands of points).
fn unique_sorted<T: PartialEq>(
    mut items: Vec<T>,
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering,
    what: impl Fn(&T) -> String,
) -> Result<Vec<T>> {
    // Stable: of equal records, the first is kept, as `unique` keeps it.
    items.sort_by(&cmp);
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        match out.last() {
            Some(last) if cmp(last, &item).is_eq() => {
                if *last != item {
                    bail!("the snapshot has two different {}", what(&item));
                }
            }
            _ => out.push(item),
        }
    }
    Ok(out)
}

impl<'a> Checked<'a> {
    pub(super) fn from_snapshot(s: &'a Snapshot) -> Result<Checked<'a>> {
        let mut homes = Vec::with_capacity(s.homes.len());
        for h in &s.homes {
            non_empty(&h.id, "a home")?;
            for m in &h.meters {
                non_empty(&m.id, &format!("a meter of home {:?}", h.id))?;
            }
            let meters = unique(
                h.meters.iter().cloned(),
                |m| m.id.clone(),
                |m| format!("meters {:?} in home {:?}", m.id, h.id),
            )?;
            homes.push(Home {
                meters,
                ..h.clone()
            });
        }
        let homes = unique(homes, |h| h.id.clone(), |h| format!("homes {:?}", h.id))?;
        // A meter belongs to one home.
        unique(
            homes
                .iter()
                .flat_map(|h| h.meters.iter().map(move |m| (h.id.as_str(), m))),
            |(_, m)| m.id.clone(),
            |(_, m)| format!("homes or energies for meter {:?}", m.id),
        )?;

        let mut contracts: BTreeMap<String, Vec<Contract>> = BTreeMap::new();
        for c in &s.contracts {
            non_empty(&c.home_id, "the home of a contract")?;
            let what = || format!("the subscribed power of a contract of home {:?}", c.home_id);
            finite(c.subscribed_kva, what)?;
            if c.subscribed_kva.is_some_and(|k| k <= 0.0) {
                bail!("{} is not a positive number of kVA", what());
            }
            let list = contracts.entry(c.home_id.clone()).or_default();
            if !list.contains(c) {
                list.push(c.clone());
            }
        }
        for list in contracts.values_mut() {
            list.sort_by(|a, b| {
                (a.energy, &a.provider, &a.offer, &a.state, a.active).cmp(&(
                    b.energy,
                    &b.provider,
                    &b.offer,
                    &b.state,
                    b.active,
                ))
            });
        }

        let mut daily = Vec::with_capacity(s.daily.len());
        for r in &s.daily {
            non_empty(&r.meter_id, "the meter of a daily reading")?;
            let what = || format!("daily reading of meter {:?} on {}", r.meter_id, r.date);
            check_date(r.date).with_context(what)?;
            for (name, v) in Amounts::NAMES.into_iter().zip(r.amounts.values()) {
                finite(v, || format!("{name} of the {}", what()))?;
            }
            for p in &r.periods {
                finite(p.kwh, || {
                    format!("kwh of period {:?} of the {}", p.period, what())
                })?;
                finite(p.eur, || {
                    format!("eur of period {:?} of the {}", p.period, what())
                })?;
            }
            let periods = unique(
                r.periods.iter().cloned(),
                |p| p.period.clone(),
                |p| format!("values for period {:?} in the {}", p.period, what()),
            )?;
            daily.push(DailyReading {
                periods,
                ..r.clone()
            });
        }
        let daily = unique(
            daily,
            |r| (r.meter_id.clone(), r.date),
            |r| format!("daily readings of meter {:?} on {}", r.meter_id, r.date),
        )?;

        for p in &s.curve {
            non_empty(&p.meter_id, "the meter of a curve point")?;
            let what = || format!("curve point of meter {:?} at {}", p.meter_id, p.start);
            check_date(p.date).with_context(what)?;
            // The curve is read by ranges of start instants (query.rs).
            if Date::paris_day_of(p.start) != p.date {
                bail!(
                    "{}: its day {} is not the Europe/Paris day of its start ({})",
                    what(),
                    p.date,
                    Date::paris_day_of(p.start)
                );
            }
            finite(p.kwh, || format!("kwh of the {}", what()))?;
        }
        let curve = unique_sorted(
            s.curve.iter().collect(),
            |a, b| (a.meter_id.as_str(), a.start).cmp(&(b.meter_id.as_str(), b.start)),
            |p| format!("curve points of meter {:?} at {}", p.meter_id, p.start),
        )?;

        for t in &s.temperatures {
            non_empty(&t.home_id, "the home of a temperature")?;
            let what = || format!("temperature of home {:?} on {}", t.home_id, t.date);
            check_date(t.date).with_context(what)?;
            finite(Some(t.celsius), || format!("the {}", what()))?;
        }
        let temperatures = unique(
            s.temperatures.iter().cloned(),
            |t| (t.home_id.clone(), t.period, t.date),
            |t| {
                format!(
                    "temperatures ({}) of home {:?} on {}",
                    t.period.as_str(),
                    t.home_id,
                    t.date
                )
            },
        )?;

        for t in &s.tempo_days {
            if let Some(m) = &t.meter_id {
                non_empty(m, "the meter of a Tempo day")?;
            }
            check_date(t.date).with_context(|| format!("Tempo day {}", t.date))?;
        }
        let tempo = unique(
            s.tempo_days.iter().cloned(),
            |t| (t.date, tempo_source_str(t.source), t.meter_id.clone()),
            |t| {
                format!(
                    "Tempo days for {} ({:?}, meter {:?})",
                    t.date, t.source, t.meter_id
                )
            },
        )?;

        for d in &s.ecowatt {
            let what = || format!("EcoWatt day {}", d.date);
            check_date(d.date).with_context(what)?;
            if d.level.is_some_and(|l| !(1..=3).contains(&l)) {
                bail!("{}: a day's level outside 1..=3", what());
            }
            let (first, after) = (
                d.date.paris_midnight_utc(),
                d.date.succ().paris_midnight_utc(),
            );
            for h in &d.hours {
                if !(first..after).contains(&h.start) || h.level > 3 {
                    bail!("{}: an hour at {} of level {}", what(), h.start, h.level);
                }
            }
            if d.hours.windows(2).any(|w| w[0].start >= w[1].start) {
                bail!("{}: its hours are not in order, one each", what());
            }
        }
        let ecowatt = unique(
            s.ecowatt.iter().cloned(),
            |d| d.date,
            |d| format!("EcoWatt signals for {}", d.date),
        )?;

        for w in &s.windows {
            non_empty(&w.subject, "the subject of a window")?;
            let what = || format!("{} window of {:?}", w.kind.as_str(), w.subject);
            check_date(w.start).with_context(what)?;
            check_date(w.end).with_context(what)?;
        }
        let windows = unique(
            s.windows.iter().cloned(),
            |w| (w.subject.clone(), w.kind, w.start, w.end),
            |w| {
                format!(
                    "statuses for the {} window {}..{} of {:?}",
                    w.kind.as_str(),
                    w.start,
                    w.end,
                    w.subject
                )
            },
        )?;

        Ok(Checked {
            homes,
            contracts,
            daily,
            curve,
            temperatures,
            tempo,
            ecowatt,
            windows,
        })
    }
}
