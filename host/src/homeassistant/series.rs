//! The hourly statistics Home Assistant is given, computed from the store
//! alone: the same store always gives the same series, bit for bit, so a
//! push can compare them with what Home Assistant last accepted.
//!
//! One series per meter and quantity (see the module docs of
//! `homeassistant` for the list and the statistic ids). Where an hour's
//! amount comes from:
//! - **Electricity consumption** from the 30-minute curve on days whose
//!   curve is whole (every interval of the Paris day, 23 or 25 hours on the
//!   days the clocks change, with a value): each hour is the sum of its two
//!   half-hours. Other days: the day's total at the day's first hour
//!   (Paris midnight). The curve is the meter's own measure; the site's
//!   daily figure may differ from its sum by rounding, and the series
//!   follows the curve on the days it has one.
//! - **Its cost** on a day with a whole curve: the day's cost shared
//!   between the hours in proportion to their kWh (helloWatt prices a day,
//!   not an hour). Other days: at the day's first hour.
//! - **Tariff periods** (`HP`, `HC`, `Tempo-<colour>-HP|HC`, not `Base`),
//!   gas, solar production and grid injection: helloWatt gives them per
//!   day only, so each day's value is at the day's first hour. Which
//!   half-hours are off-peak depends on the meter's schedule, which the
//!   site does not give.
//!
//! A day without a value adds no hour (Home Assistant's sum carries over),
//! never a zero.

use crate::store::{DailyRow, MeterRecord};
use hellowatt_snapshot::{CurvePoint, Date, Energy};
use std::collections::BTreeMap;

/// A statistic's unit, as Home Assistant spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    Kwh,
    Eur,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Kwh => "kWh",
            Unit::Eur => "EUR",
        }
    }
}

/// One hour of a statistic: its amount (`state`) and the series' running
/// total at the hour's end (`sum`), both from the series' first hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hour {
    /// The hour's start, Unix seconds (UTC, on the hour).
    pub start: i64,
    pub state: f64,
    pub sum: f64,
}

/// One external statistic: `hellowatt:<meter>_<quantity>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub id: String,
    pub name: String,
    pub unit: Unit,
    /// By start, each on the hour.
    pub hours: Vec<Hour>,
}

/// The statistic id of a meter's quantity: Home Assistant accepts
/// `[a-z0-9_]` after the domain, no leading, trailing or doubled `_`.
pub fn statistic_id(meter_id: &str, quantity: &str) -> String {
    format!("hellowatt:{}", slug(&format!("{meter_id}_{quantity}")))
}

fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Amounts by hour start, summed as they are added.
#[derive(Default)]
struct Hourly(BTreeMap<i64, f64>);

impl Hourly {
    fn add(&mut self, start: i64, amount: f64) {
        *self.0.entry(start - start.rem_euclid(3600)).or_insert(0.0) += amount;
    }

    fn into_hours(self) -> Vec<Hour> {
        let mut sum = 0.0;
        self.0
            .into_iter()
            .map(|(start, state)| {
                sum += state;
                Hour { start, state, sum }
            })
            .collect()
    }
}

/// A day's whole curve by hour, or `None` when the curve misses an
/// interval or a value that day.
fn whole_day(date: Date, points: &[&CurvePoint]) -> Option<BTreeMap<i64, f64>> {
    let minutes: i64 = points.iter().map(|p| i64::from(p.minutes)).sum();
    if points.is_empty() || minutes != date.paris_day_hours() * 60 {
        return None;
    }
    let mut hours = BTreeMap::new();
    for p in points {
        *hours
            .entry(p.start - p.start.rem_euclid(3600))
            .or_insert(0.0) += p.kwh?;
    }
    Some(hours)
}

/// Every series of one meter, from its daily readings and its curve.
pub fn of_meter(meter: &MeterRecord, days: &[DailyRow], curve: &[CurvePoint]) -> Vec<Series> {
    let mut by_day: BTreeMap<Date, Vec<&CurvePoint>> = BTreeMap::new();
    for p in curve {
        by_day.entry(p.date).or_default().push(p);
    }
    let whole: BTreeMap<Date, BTreeMap<i64, f64>> = by_day
        .iter()
        .filter_map(|(date, points)| Some((*date, whole_day(*date, points)?)))
        .collect();

    let mut energy = Hourly::default();
    let mut cost = Hourly::default();
    let mut production = Hourly::default();
    let mut injection = Hourly::default();
    let mut compensation = Hourly::default();
    let mut periods: BTreeMap<(String, Unit), Hourly> = BTreeMap::new();
    let mut dated: std::collections::BTreeSet<Date> = whole.keys().copied().collect();
    dated.extend(days.iter().map(|d| d.reading.date));

    let daily: BTreeMap<Date, &DailyRow> = days.iter().map(|d| (d.reading.date, d)).collect();
    for date in dated {
        let first_hour = date.paris_midnight_utc();
        let curve = whole.get(&date);
        let row = daily.get(&date).map(|d| &d.reading);
        let amounts = row.map(|r| r.amounts).unwrap_or_default();
        match curve {
            Some(hours) => hours.iter().for_each(|(&h, &kwh)| energy.add(h, kwh)),
            None => {
                if let Some(kwh) = amounts.kwh {
                    energy.add(first_hour, kwh);
                }
            }
        }
        if let Some(eur) = amounts.eur {
            let total: f64 = curve.map_or(0.0, |h| h.values().sum());
            match curve {
                Some(hours) if total > 0.0 => hours
                    .iter()
                    .for_each(|(&h, &kwh)| cost.add(h, eur * kwh / total)),
                _ => cost.add(first_hour, eur),
            }
        }
        for (amount, series) in [
            (amounts.solar_production_kwh, &mut production),
            (amounts.injection_kwh, &mut injection),
            (amounts.injection_eur, &mut compensation),
        ] {
            if let Some(v) = amount {
                series.add(first_hour, v);
            }
        }
        for p in row.map(|r| r.periods.as_slice()).unwrap_or_default() {
            if p.period == "Base" {
                continue;
            }
            for (value, unit) in [(p.kwh, Unit::Kwh), (p.eur, Unit::Eur)] {
                if let Some(v) = value {
                    periods
                        .entry((p.period.clone(), unit))
                        .or_default()
                        .add(first_hour, v);
                }
            }
        }
    }

    let device = format!(
        "helloWatt {} {}",
        match meter.energy {
            Energy::Electricity => "électricité",
            Energy::Gas => "gaz",
        },
        crate::mqtt::masked(&meter.meter_id)
    );
    let mut out = Vec::new();
    let mut push = |quantity: &str, label: &str, unit: Unit, hourly: Hourly| {
        if !hourly.0.is_empty() {
            out.push(Series {
                id: statistic_id(&meter.meter_id, quantity),
                name: format!("{device} {label}"),
                unit,
                hours: hourly.into_hours(),
            });
        }
    };
    push("energy", "consommation", Unit::Kwh, energy);
    push("cost", "coût", Unit::Eur, cost);
    push("production", "production solaire", Unit::Kwh, production);
    push("injection", "injection", Unit::Kwh, injection);
    push(
        "injection_compensation",
        "rémunération de l'injection",
        Unit::Eur,
        compensation,
    );
    for ((period, unit), hourly) in periods {
        let (quantity, label) = match unit {
            Unit::Kwh => ("energy", "consommation"),
            Unit::Eur => ("cost", "coût"),
        };
        push(
            &format!("{quantity}_{period}"),
            &format!("{label} {period}"),
            unit,
            hourly,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RunId;
    use hellowatt_snapshot::{Amounts, DailyReading, PeriodValue};

    const METER: &str = "09512345678959";

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn meter(energy: Energy) -> MeterRecord {
        MeterRecord {
            account: "home".into(),
            home_id: "h1".into(),
            meter_id: METER.into(),
            energy,
            address: None,
            postal_code: None,
            city: None,
            first_day: None,
            last_day: None,
        }
    }

    fn day(date: &str, amounts: Amounts, periods: &[(&str, f64, f64)]) -> DailyRow {
        DailyRow {
            reading: DailyReading {
                meter_id: METER.into(),
                date: d(date),
                periods: periods
                    .iter()
                    .map(|&(period, kwh, eur)| PeriodValue {
                        period: period.into(),
                        kwh: Some(kwh),
                        eur: Some(eur),
                    })
                    .collect(),
                amounts,
            },
            first_run: RunId(1),
            updated_run: RunId(1),
        }
    }

    fn kwh_eur(kwh: f64, eur: f64) -> Amounts {
        Amounts {
            kwh: Some(kwh),
            eur: Some(eur),
            ..Amounts::default()
        }
    }

    /// A whole day of half-hours, the n-th worth `value(n)`.
    fn curve(date: &str, value: impl Fn(usize) -> f64) -> Vec<CurvePoint> {
        let date = d(date);
        let start = date.paris_midnight_utc();
        (0..date.paris_day_hours() as usize * 2)
            .map(|n| CurvePoint {
                meter_id: METER.into(),
                start: start + 1800 * n as i64,
                date,
                minutes: 30,
                kwh: Some(value(n)),
            })
            .collect()
    }

    fn find<'a>(series: &'a [Series], quantity: &str) -> &'a Series {
        let id = statistic_id(METER, quantity);
        series.iter().find(|s| s.id == id).unwrap_or_else(|| {
            panic!(
                "no {id} in {:?}",
                series.iter().map(|s| &s.id).collect::<Vec<_>>()
            )
        })
    }

    #[test]
    fn statistic_ids_are_what_home_assistant_accepts() {
        assert_eq!(
            statistic_id(METER, "energy"),
            "hellowatt:09512345678959_energy"
        );
        assert_eq!(
            statistic_id(METER, "cost_Tempo-blue-HP"),
            "hellowatt:09512345678959_cost_tempo_blue_hp"
        );
        assert_eq!(
            statistic_id("_GRDF 12/ab_", "energy"),
            "hellowatt:grdf_12_ab_energy"
        );
    }

    #[test]
    fn a_day_with_a_whole_curve_is_hourly_and_its_cost_follows_the_kwh() {
        let days = [day("2026-01-10", kwh_eur(99.0, 4.8), &[])];
        let points = curve("2026-01-10", |n| if n < 2 { 1.0 } else { 0.1 });
        let series = of_meter(&meter(Energy::Electricity), &days, &points);
        let energy = find(&series, "energy");
        assert_eq!(energy.hours.len(), 24);
        let midnight = d("2026-01-10").paris_midnight_utc();
        assert_eq!(energy.hours[0].start, midnight);
        assert_eq!(energy.hours[0].state, 2.0);
        assert!((energy.hours[23].sum - (2.0 + 23.0 * 0.2)).abs() < 1e-9);
        let cost = find(&series, "cost");
        assert_eq!(cost.hours.len(), 24);
        let total = 2.0 + 23.0 * 0.2;
        assert!((cost.hours[0].state - 4.8 * 2.0 / total).abs() < 1e-12);
        assert!(
            (cost.hours[23].sum - 4.8).abs() < 1e-9,
            "the day's cost, shared"
        );
    }

    #[test]
    fn days_without_a_whole_curve_are_at_the_first_hour_and_sums_run_on() {
        let mut partial = curve("2026-01-11", |_| 0.5);
        partial.pop();
        let days = [
            day("2026-01-10", kwh_eur(10.0, 2.0), &[]),
            day("2026-01-11", kwh_eur(11.0, 2.5), &[]),
        ];
        let series = of_meter(&meter(Energy::Electricity), &days, &partial);
        let energy = find(&series, "energy");
        assert_eq!(
            energy.hours,
            vec![
                Hour {
                    start: d("2026-01-10").paris_midnight_utc(),
                    state: 10.0,
                    sum: 10.0
                },
                Hour {
                    start: d("2026-01-11").paris_midnight_utc(),
                    state: 11.0,
                    sum: 21.0
                },
            ]
        );
        assert_eq!(find(&series, "cost").hours[1].sum, 4.5);
    }

    #[test]
    fn the_days_the_clocks_change_have_23_and_25_hours_in_utc() {
        for (date, hours, first_utc_hour) in [
            ("2026-03-29", 23, "2026-03-28T23:00:00Z"),
            ("2026-10-25", 25, "2026-10-24T22:00:00Z"),
        ] {
            let points = curve(date, |_| 0.25);
            let series = of_meter(&meter(Energy::Electricity), &[], &points);
            let energy = find(&series, "energy");
            assert_eq!(energy.hours.len(), hours, "{date}");
            assert_eq!(
                energy.hours[0].start,
                hellowatt_snapshot::parse_timestamp(first_utc_hour).unwrap(),
                "{date} starts at Paris midnight"
            );
            assert!(
                energy
                    .hours
                    .iter()
                    .all(|h| h.state == 0.5 && h.start % 3600 == 0)
            );
            assert_eq!(energy.hours.last().unwrap().sum, 0.5 * hours as f64);
        }
    }

    #[test]
    fn periods_solar_and_gas_are_daily_at_the_first_hour() {
        let days = [day(
            "2026-01-10",
            Amounts {
                solar_production_kwh: Some(3.0),
                injection_kwh: Some(1.5),
                injection_eur: Some(0.2),
                ..kwh_eur(20.0, 5.0)
            },
            &[("Tempo-red-HP", 12.0, 4.0), ("Tempo-red-HC", 8.0, 1.0)],
        )];
        let series = of_meter(&meter(Energy::Electricity), &days, &[]);
        let midnight = d("2026-01-10").paris_midnight_utc();
        for (quantity, value) in [
            ("production", 3.0),
            ("injection", 1.5),
            ("injection_compensation", 0.2),
            ("energy_tempo_red_hp", 12.0),
            ("cost_tempo_red_hc", 1.0),
        ] {
            assert_eq!(
                find(&series, quantity).hours,
                vec![Hour {
                    start: midnight,
                    state: value,
                    sum: value
                }],
                "{quantity}"
            );
        }
        assert_eq!(find(&series, "cost_tempo_red_hp").unit, Unit::Eur);
        let base = [day(
            "2026-01-10",
            kwh_eur(20.0, 5.0),
            &[("Base", 20.0, 5.0)],
        )];
        let gas = of_meter(&meter(Energy::Gas), &base, &[]);
        assert_eq!(
            gas.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
            [
                "hellowatt:09512345678959_energy",
                "hellowatt:09512345678959_cost"
            ],
            "no series for Base, none for what the meter never had"
        );
        assert_eq!(gas[0].name, "helloWatt gaz 0951…59 consommation");
    }

    #[test]
    fn a_missing_value_adds_no_hour() {
        let days = [
            day("2026-01-10", kwh_eur(10.0, 2.0), &[]),
            day(
                "2026-01-11",
                Amounts {
                    eur: Some(1.0),
                    ..Amounts::default()
                },
                &[],
            ),
        ];
        let series = of_meter(&meter(Energy::Electricity), &days, &[]);
        assert_eq!(find(&series, "energy").hours.len(), 1);
        assert_eq!(find(&series, "cost").hours.len(), 2);
    }
}
