//! Property tests of the host's snapshot validation (`validate::snapshot`):
//! arbitrary snapshots (dates that do not exist or lie far away, NaN and
//! infinities, huge strings and counts) never make it panic, and whatever
//! it accepts the store ingests without error, into an in-memory store, or
//! refuses whole for one of the two rules that need the store; tamed
//! snapshots (one home, one meter, January, one record per key) are all
//! accepted and every record stored.
//!
//! CI runs `PROPTEST_CASES` (default 64 here) cases per property; a longer
//! run: `PROPTEST_CASES=20000 cargo test -p hellowatt --test it fuzz_validate::`.

use hellowatt::sandbox::validate;
use hellowatt::store::{GuestIdentity, RunId, Store};
use hellowatt_snapshot::{
    Amounts, Contract, CurvePoint, DailyReading, DataKind, Date, EcoWattDay, EcoWattHour, Energy,
    Home, Meter, PeriodValue, Snapshot, Temperature, TempoColour, TempoDay, TempoSource, Window,
    WindowStatus,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::collections::BTreeSet;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Days that exist near the window, days that do not (2026-02-30, month
/// 13, day 0), and years far away (1900, 2100, i32 extremes). `Date`'s
/// fields are public: a guest's dates reach `validate` unchecked.
fn arb_date() -> impl Strategy<Value = Date> {
    prop_oneof![
        6 => (0i64..120).prop_map(|n| Date::parse("2025-12-15").unwrap().add_days(n)),
        1 => (any::<i32>(), any::<u8>(), any::<u8>())
            .prop_map(|(year, month, day)| Date { year, month, day }),
        1 => prop_oneof![Just(1900), Just(2100), Just(0), Just(9999), Just(10000)]
            .prop_map(|year| Date { year, month: 1, day: 1 }),
        1 => Just(Date { year: 2026, month: 2, day: 30 }),
    ]
}

fn arb_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 0.0f64..100.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-1.0),
        1 => Just(1e300),
        1 => any::<f64>(),
    ]
}

fn arb_opt_f64() -> impl Strategy<Value = Option<f64>> {
    prop::option::of(arb_f64())
}

/// Ids: a few plausible ones (so records collide and merge), empty, with
/// control characters, multi-byte, or long (up to 64 KiB).
fn arb_id() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop_oneof![Just("1"), Just("2"), Just("01234567890123"), Just("1-gas")]
            .prop_map(str::to_string),
        1 => Just(String::new()),
        1 => Just("a\u{0}b".to_string()),
        1 => "[é€😀a-z]{1,70}",
        1 => (1usize..65_536).prop_map(|n| "x".repeat(n)),
    ]
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => ".{0,30}",
        1 => (900usize..1200).prop_map(|n| "é".repeat(n / 2)),
        1 => (1usize..(1 << 20)).prop_map(|n| "y".repeat(n)),
    ]
}

fn arb_energy() -> impl Strategy<Value = Energy> {
    prop_oneof![Just(Energy::Electricity), Just(Energy::Gas)]
}

fn arb_kind() -> impl Strategy<Value = DataKind> {
    prop_oneof![
        Just(DataKind::Homes),
        Just(DataKind::ElectricityDaily),
        Just(DataKind::ElectricityCurve),
        Just(DataKind::GasDaily),
        Just(DataKind::Temperature),
        Just(DataKind::Tempo),
    ]
}

fn arb_home() -> impl Strategy<Value = Home> {
    (
        arb_id(),
        prop::option::of(arb_text()),
        prop::option::of(arb_text()),
        prop::option::of(arb_text()),
        prop::collection::vec(
            (arb_id(), arb_energy()).prop_map(|(id, energy)| Meter { id, energy }),
            0..4,
        ),
    )
        .prop_map(|(id, address, postal_code, city, meters)| Home {
            id,
            address,
            postal_code,
            city,
            meters,
        })
}

fn arb_contract() -> impl Strategy<Value = Contract> {
    (
        arb_id(),
        prop::option::of(arb_energy()),
        prop::option::of(arb_text()),
        prop::option::of(arb_text()),
        arb_text(),
        any::<bool>(),
        arb_opt_f64(),
    )
        .prop_map(
            |(home_id, energy, provider, offer, state, active, subscribed_kva)| Contract {
                home_id,
                energy,
                provider,
                offer,
                state,
                active,
                subscribed_kva,
            },
        )
}

/// EcoWatt days: any day, any level, hours anywhere (near the day, or any
/// instant), in any order, at any level.
fn arb_ecowatt() -> impl Strategy<Value = EcoWattDay> {
    (
        arb_date(),
        prop::option::of(any::<u8>()),
        prop::collection::vec(
            (
                prop_oneof![
                    4 => (-2i64..30).prop_map(|h| h * 3600),
                    1 => any::<i64>(),
                ],
                prop_oneof![4 => 0u8..4, 1 => any::<u8>()],
            ),
            0..30,
        ),
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(date, level, hours, generated_at)| {
            // Near the day's midnight when the date is one (else as drawn).
            let base =
                Date::new(date.year, date.month, date.day).map_or(0, |d| d.paris_midnight_utc());
            EcoWattDay {
                date,
                level,
                hours: hours
                    .into_iter()
                    .map(|(offset, level)| EcoWattHour {
                        start: base.saturating_add(offset),
                        level,
                    })
                    .collect(),
                generated_at,
            }
        })
}

fn arb_daily() -> impl Strategy<Value = DailyReading> {
    (
        arb_id(),
        arb_date(),
        prop::collection::vec(
            (
                prop_oneof![Just("HC"), Just("HP"), Just("Base"), Just("")]
                    .prop_map(str::to_string),
                arb_opt_f64(),
                arb_opt_f64(),
            )
                .prop_map(|(period, kwh, eur)| PeriodValue { period, kwh, eur }),
            0..4,
        ),
        prop::array::uniform8(arb_opt_f64()),
    )
        .prop_map(|(meter_id, date, periods, v)| DailyReading {
            meter_id,
            date,
            periods,
            amounts: Amounts {
                kwh: v[0],
                eur: v[1],
                subscription_eur: v[2],
                co2_kg: v[3],
                solar_production_kwh: v[4],
                solar_production_eur: v[5],
                injection_kwh: v[6],
                injection_eur: v[7],
            },
        })
}

fn arb_curve() -> impl Strategy<Value = CurvePoint> {
    (
        arb_id(),
        arb_date(),
        prop_oneof![
            4 => (0i64..48).prop_map(Some),
            1 => Just(None),
        ],
        prop_oneof![Just(i64::MAX), Just(i64::MIN), any::<i64>()],
        prop_oneof![Just(30u16), Just(0), Just(1441), any::<u16>()],
        arb_opt_f64(),
    )
        .prop_map(|(meter_id, date, slot, wild, minutes, kwh)| {
            // Mostly an instant on (or near) its day; sometimes anything.
            let start = match slot {
                Some(i) if (2000..=2100).contains(&date.year) => {
                    date.paris_midnight_utc() + i * 1800
                }
                _ => wild,
            };
            CurvePoint {
                meter_id,
                start,
                date,
                minutes,
                kwh,
            }
        })
}

fn arb_temperature() -> impl Strategy<Value = Temperature> {
    (
        arb_id(),
        arb_date(),
        prop_oneof![4 => -20.0f64..40.0, 1 => arb_f64()],
    )
        .prop_map(|(home_id, date, celsius)| Temperature {
            home_id,
            date,
            period: hellowatt_snapshot::TemperaturePeriod::Day,
            celsius,
        })
}

fn arb_tempo() -> impl Strategy<Value = TempoDay> {
    (
        arb_date(),
        prop::option::of(prop_oneof![
            Just(TempoColour::Blue),
            Just(TempoColour::White),
            Just(TempoColour::Red)
        ]),
        prop_oneof![Just(TempoSource::TariffKeys), Just(TempoSource::Service)],
        prop::option::of(arb_id()),
    )
        .prop_map(|(date, colour, source, meter_id)| TempoDay {
            date,
            colour,
            source,
            meter_id,
        })
}

fn arb_window() -> impl Strategy<Value = Window> {
    (
        arb_id(),
        arb_kind(),
        arb_date(),
        arb_date(),
        prop_oneof![
            Just(WindowStatus::Complete),
            Just(WindowStatus::FetchOngoing),
            arb_text().prop_map(WindowStatus::SiteError),
            arb_text().prop_map(WindowStatus::NotAvailable),
        ],
    )
        .prop_map(|(subject, kind, start, end, status)| Window {
            subject,
            kind,
            start,
            end,
            status,
        })
}

fn arb_snapshot() -> impl Strategy<Value = Snapshot> {
    (
        prop::collection::vec(arb_home(), 0..3),
        prop::collection::vec(arb_contract(), 0..3),
        prop::collection::vec(arb_daily(), 0..6),
        prop::collection::vec(arb_curve(), 0..6),
        prop::collection::vec(arb_temperature(), 0..4),
        prop::collection::vec(arb_tempo(), 0..4),
        prop::collection::vec(arb_ecowatt(), 0..3),
        prop::collection::vec(arb_window(), 0..4),
    )
        .prop_map(
            |(homes, contracts, daily, curve, temperatures, tempo_days, ecowatt, windows)| {
                Snapshot {
                    homes,
                    contracts,
                    daily,
                    curve,
                    temperatures,
                    tempo_days,
                    ecowatt,
                    windows,
                    api_version: None,
                }
            },
        )
}

/// What a plausible snapshot looks like after `arb_snapshot`'s noise is
/// taken out: so that accepted snapshots are common enough to test the
/// store side, not only refusals.
fn tame(mut s: Snapshot) -> Snapshot {
    let ok = |x: Option<f64>| {
        x.filter(|v| v.is_finite())
            .map(f64::abs)
            .map(|v| v % 1000.0)
    };
    // One home and one meter that every record refers to: the store
    // refuses data of a meter or home it has never been told of.
    let good_id = |id: &mut String| *id = "01234567890123".into();
    let in_jan = |d: &mut Date| {
        if Date::new(d.year, d.month, d.day).is_err() || d.year != 2026 || d.month != 1 {
            *d = Date::parse("2026-01-15").unwrap();
        }
    };
    s.homes = vec![Home {
        id: "1".into(),
        address: None,
        postal_code: None,
        city: None,
        meters: vec![Meter {
            id: "01234567890123".into(),
            energy: Energy::Electricity,
        }],
    }];
    s.contracts.clear();
    for r in &mut s.daily {
        good_id(&mut r.meter_id);
        in_jan(&mut r.date);
        r.amounts.kwh = ok(r.amounts.kwh);
        r.amounts.eur = ok(r.amounts.eur);
        r.amounts.subscription_eur = ok(r.amounts.subscription_eur);
        r.amounts.co2_kg = ok(r.amounts.co2_kg);
        r.amounts.solar_production_kwh = ok(r.amounts.solar_production_kwh);
        r.amounts.solar_production_eur = ok(r.amounts.solar_production_eur);
        r.amounts.injection_kwh = ok(r.amounts.injection_kwh);
        r.amounts.injection_eur = ok(r.amounts.injection_eur);
        for p in &mut r.periods {
            // A tariff period's shape: letters, digits, '-', '_'; at most 32.
            p.period
                .retain(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            p.period.truncate(32);
            if p.period.is_empty() {
                p.period = "Base".into();
            }
            p.kwh = ok(p.kwh);
            p.eur = ok(p.eur);
        }
    }
    for p in &mut s.curve {
        good_id(&mut p.meter_id);
        in_jan(&mut p.date);
        p.start = p.date.paris_midnight_utc() + (p.start.rem_euclid(48)) * 1800;
        p.minutes = 30;
        p.kwh = ok(p.kwh);
    }
    for t in &mut s.temperatures {
        t.home_id = "1".into();
        in_jan(&mut t.date);
        if !t.celsius.is_finite() {
            t.celsius = 1.0;
        }
        t.celsius = t.celsius.clamp(-60.0, 60.0);
    }
    for t in &mut s.tempo_days {
        in_jan(&mut t.date);
        if let Some(m) = &mut t.meter_id {
            good_id(m);
        }
    }
    for d in &mut s.ecowatt {
        in_jan(&mut d.date);
        d.level = d.level.map(|l| l % 3 + 1);
        let midnight = d.date.paris_midnight_utc();
        let mut hours: Vec<i64> = d.hours.iter().map(|h| h.start.rem_euclid(24)).collect();
        hours.sort_unstable();
        hours.dedup();
        let levels: Vec<u8> = d.hours.iter().map(|h| h.level % 4).collect();
        d.hours = hours
            .into_iter()
            .zip(levels)
            .map(|(h, level)| EcoWattHour {
                start: midnight + h * 3600,
                level,
            })
            .collect();
    }
    first_of_each(&mut s.ecowatt, |d| d.date);
    for w in &mut s.windows {
        good_id(&mut w.subject);
        in_jan(&mut w.start);
        w.end = w.start;
        if let WindowStatus::SiteError(x) | WindowStatus::NotAvailable(x) = &mut w.status {
            // At a character boundary: `truncate` panics inside one.
            let mut end = x.len().min(100);
            while !x.is_char_boundary(end) {
                end -= 1;
            }
            x.truncate(end);
            // Printable: no control or invisible formatting characters.
            x.retain(|c| c.is_ascii_graphic() || c == ' ');
        }
    }
    // One record per store key (`host/src/store/ingest.rs`): the store
    // refuses two different records with one key, and the taming above
    // makes many (one meter, dates folded into January).
    for r in &mut s.daily {
        first_of_each(&mut r.periods, |p| p.period.clone());
    }
    first_of_each(&mut s.daily, |r| (r.meter_id.clone(), r.date));
    first_of_each(&mut s.curve, |p| (p.meter_id.clone(), p.start));
    first_of_each(&mut s.temperatures, |t| (t.home_id.clone(), t.date));
    first_of_each(&mut s.tempo_days, |t| {
        (t.date, t.source == TempoSource::Service, t.meter_id.clone())
    });
    first_of_each(&mut s.windows, |w| {
        (w.subject.clone(), w.kind, w.start, w.end)
    });
    s
}

/// Keeps the first of the items that share a key.
fn first_of_each<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    let mut seen = BTreeSet::new();
    items.retain(|x| seen.insert(key(x)));
}

/// Validates, and when accepted, ingests into a fresh in-memory store.
/// The store may refuse two things `validate` leaves to it, both with a
/// clear message and nothing stored: two different records with the same
/// key (duplicates are a site fault, merged when equal, refused whole when
/// not), and data of a meter or home the store was never told of (that
/// depends on what is already stored, which `validate` does not see).
fn check(s: &Snapshot) -> Result<(), TestCaseError> {
    let (start, end) = window();
    let verdict = validate::snapshot(s, start, end);
    if verdict.is_err() {
        return Ok(());
    }
    let (mut store, run, empty) = fresh_store()?;
    match store.ingest(run, "fuzz", s, 0) {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = format!("{e:#}");
            prop_assert!(
                e.contains("the snapshot has two different") || e.contains("the store knows no"),
                "validate accepted what the store refuses: {e}"
            );
            prop_assert_eq!(store.content_digest().unwrap(), empty);
            Ok(())
        }
    }
}

/// The window every snapshot is checked against: January 2026.
fn window() -> (Date, Date) {
    (
        Date::parse("2026-01-01").unwrap(),
        Date::parse("2026-01-31").unwrap(),
    )
}

/// An empty in-memory store with a run of `fuzz` open, and its digest.
fn fresh_store() -> Result<(Store, RunId, String), TestCaseError> {
    let fail = |e: anyhow::Error| TestCaseError::fail(format!("{e:#}"));
    let (start, end) = window();
    let mut store = Store::open_in_memory().map_err(fail)?;
    let guest = GuestIdentity {
        name: "fuzz".into(),
        version: "0".into(),
        sha256: "0".repeat(64),
    };
    let run = store
        .begin_run("fuzz", &guest, start, end, 0)
        .map_err(fail)?;
    let empty = store.content_digest().map_err(fail)?;
    Ok((store, run, empty))
}

/// A tamed snapshot is accepted by `validate` and stored whole by a fresh
/// store: every record inserted (a home, its meter and each record count
/// once; a reading's periods and an EcoWatt day's hours come with it),
/// nothing refused.
fn accepted_and_stored(s: &Snapshot) -> Result<(), TestCaseError> {
    let (start, end) = window();
    validate::snapshot(s, start, end).map_err(TestCaseError::fail)?;
    let (mut store, run, empty) = fresh_store()?;
    let stats = store
        .ingest(run, "fuzz", s, 0)
        .map_err(|e| TestCaseError::fail(format!("the store refused it: {e:#}")))?;
    let records = s.homes.len()
        + s.homes.iter().map(|h| h.meters.len()).sum::<usize>()
        + s.daily.len()
        + s.curve.len()
        + s.temperatures.len()
        + s.tempo_days.len()
        + s.ecowatt.len()
        + s.windows.len();
    prop_assert_eq!(stats.inserted, records as u64, "{:?}", stats);
    prop_assert_eq!((stats.updated, stats.revisions), (0, 0));
    prop_assert_ne!(store.content_digest().unwrap(), empty);
    prop_assert!(store.integrity_check().is_ok());
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Anything: never a panic; what passes is stored.
    #[test]
    fn arbitrary_snapshots(s in arb_snapshot()) {
        check(&s)?;
    }

    /// Mostly plausible snapshots: accepted, and every record stored.
    #[test]
    fn tamed_snapshots_are_accepted_and_stored(s in arb_snapshot().prop_map(tame)) {
        accepted_and_stored(&s)?;
    }
}

proptest! {
    // Each case builds up to 360 000 records: fewer cases.
    #![proptest_config(Config { cases: config().cases.min(16), ..config() })]

    /// Counts around the record cap, meters and periods included: refused
    /// above it with the cap named, quickly, whatever the content.
    #[test]
    fn counts_around_the_cap(homes in 0usize..3, meters in 0usize..120_000, periods in 0usize..120_000) {
        let meter = |i: usize| Meter { id: format!("{i:014}"), energy: Energy::Electricity };
        let s = Snapshot {
            homes: (0..homes)
                .map(|h| Home {
                    id: format!("{h}"),
                    address: None,
                    postal_code: None,
                    city: None,
                    meters: (0..meters).map(meter).collect(),
                })
                .collect(),
            daily: vec![DailyReading {
                meter_id: "00000000000000".into(),
                date: Date::parse("2026-01-02").unwrap(),
                periods: (0..periods)
                    .map(|i| PeriodValue { period: format!("p{i}"), kwh: None, eur: None })
                    .collect(),
                amounts: Amounts::default(),
            }],
            ..Default::default()
        };
        let count = homes + homes * meters + 1 + periods;
        let r = validate::snapshot(&s, Date::parse("2026-01-01").unwrap(), Date::parse("2026-01-31").unwrap());
        if count > 200_000 {
            let e = r.expect_err("above the cap");
            prop_assert!(e.contains("more than the cap of 200000"), "{}", e);
        } else {
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}
