//! Shared by the store's unit tests: a hand-made snapshot, a temporary
//! folder, short constructors.

use super::{GuestIdentity, Store};
use hellowatt_snapshot::{
    Amounts, Contract, CurvePoint, DailyReading, DataKind, Date, EcoWattDay, EcoWattHour, Energy,
    Home, Meter, PeriodValue, Snapshot, Temperature, TempoColour, TempoDay, TempoSource, Window,
    WindowStatus,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub const ACCOUNT: &str = "famille";
pub const HOME: &str = "100001";
pub const PDL: &str = "01234567890123";
pub const GAS: &str = "100001-gas";

pub fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

pub fn guest() -> GuestIdentity {
    GuestIdentity {
        name: "hellowatt".into(),
        version: "1.0.0".into(),
        sha256: "ab".repeat(32),
    }
}

/// A folder under the system's temporary folder, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "hellowatt-store-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn home() -> Home {
    Home {
        id: HOME.into(),
        address: Some("12 rue des Essais".into()),
        postal_code: Some("69000".into()),
        city: Some("Lyon".into()),
        meters: vec![
            Meter {
                id: PDL.into(),
                energy: Energy::Electricity,
            },
            Meter {
                id: GAS.into(),
                energy: Energy::Gas,
            },
        ],
    }
}

/// A Tempo day of electricity: HC and HP of one colour.
pub fn reading(date: &str, hc: f64, hp: f64) -> DailyReading {
    DailyReading {
        meter_id: PDL.into(),
        date: d(date),
        periods: vec![
            PeriodValue {
                period: "Tempo-blue-HC".into(),
                kwh: Some(hc),
                eur: Some(hc * 0.125),
            },
            PeriodValue {
                period: "Tempo-blue-HP".into(),
                kwh: Some(hp),
                eur: Some(hp * 0.25),
            },
        ],
        amounts: Amounts {
            kwh: Some(hc + hp),
            eur: Some(hc * 0.125 + hp * 0.25),
            subscription_eur: Some(0.5),
            co2_kg: Some(0.25),
            solar_production_kwh: Some(2.0),
            solar_production_eur: Some(0.0),
            injection_kwh: Some(1.0),
            injection_eur: Some(0.125),
        },
    }
}

/// A day the site listed without any value.
pub fn missing(meter: &str, date: &str) -> DailyReading {
    DailyReading {
        meter_id: meter.into(),
        date: d(date),
        periods: vec![PeriodValue {
            period: "Base".into(),
            kwh: None,
            eur: None,
        }],
        amounts: Amounts::default(),
    }
}

pub fn window(
    subject: &str,
    kind: DataKind,
    start: &str,
    end: &str,
    status: WindowStatus,
) -> Window {
    Window {
        subject: subject.into(),
        kind,
        start: d(start),
        end: d(end),
        status,
    }
}

/// Three days of January 2026 with every kind of record.
pub fn sample() -> Snapshot {
    let start = d("2026-01-05").paris_midnight_utc();
    Snapshot {
        homes: vec![home()],
        contracts: vec![
            Contract {
                home_id: HOME.into(),
                energy: Some(Energy::Electricity),
                provider: Some("EDF".into()),
                offer: Some("Tempo".into()),
                state: "actual".into(),
                active: true,
                subscribed_kva: None,
            },
            Contract {
                home_id: HOME.into(),
                energy: None,
                provider: None,
                offer: None,
                state: "ended".into(),
                active: false,
                subscribed_kva: None,
            },
        ],
        daily: vec![
            reading("2026-01-05", 10.0, 20.0),
            reading("2026-01-06", 12.0, 18.5),
            missing(PDL, "2026-01-07"),
            DailyReading {
                meter_id: GAS.into(),
                date: d("2026-01-05"),
                periods: vec![],
                amounts: Amounts {
                    kwh: Some(40.0),
                    eur: Some(4.5),
                    subscription_eur: Some(0.75),
                    ..Amounts::default()
                },
            },
        ],
        curve: vec![
            CurvePoint {
                meter_id: PDL.into(),
                start,
                date: d("2026-01-05"),
                minutes: 30,
                kwh: Some(0.25),
            },
            CurvePoint {
                meter_id: PDL.into(),
                start: start + 1800,
                date: d("2026-01-05"),
                minutes: 30,
                kwh: Some(0.5),
            },
            CurvePoint {
                meter_id: PDL.into(),
                start: start + 3600,
                date: d("2026-01-05"),
                minutes: 30,
                kwh: None,
            },
        ],
        temperatures: vec![
            Temperature {
                home_id: HOME.into(),
                date: d("2026-01-05"),
                period: hellowatt_snapshot::TemperaturePeriod::Day,
                celsius: 3.5,
            },
            Temperature {
                home_id: HOME.into(),
                date: d("2026-01-06"),
                period: hellowatt_snapshot::TemperaturePeriod::Day,
                celsius: -1.25,
            },
        ],
        tempo_days: vec![
            TempoDay {
                date: d("2026-01-05"),
                colour: Some(TempoColour::Blue),
                source: TempoSource::TariffKeys,
                meter_id: Some(PDL.into()),
            },
            TempoDay {
                date: d("2026-01-08"),
                colour: None,
                source: TempoSource::Service,
                meter_id: None,
            },
        ],
        ecowatt: vec![],
        windows: vec![
            window(
                PDL,
                DataKind::ElectricityDaily,
                "2026-01-05",
                "2026-01-07",
                WindowStatus::FetchOngoing,
            ),
            window(
                PDL,
                DataKind::ElectricityCurve,
                "2026-01-05",
                "2026-01-07",
                WindowStatus::Complete,
            ),
            window(
                GAS,
                DataKind::GasDaily,
                "2026-01-05",
                "2026-01-07",
                WindowStatus::NotAvailable("no gas contract".into()),
            ),
        ],
        api_version: Some("1.48".into()),
    }
}

/// EcoWatt as the outputs' tests read it: `today` orange, its hours
/// green with low-carbon production to 03:00, red from 03:00 to 04:00,
/// green after, and the last hour not published; tomorrow published
/// without a level or hours.
pub fn ecowatt_days(today: Date) -> Vec<EcoWattDay> {
    let midnight = today.paris_midnight_utc();
    vec![
        EcoWattDay {
            date: today,
            level: Some(2),
            hours: (0..today.paris_day_hours() - 1)
                .map(|h| EcoWattHour {
                    start: midnight + h * 3600,
                    level: match h {
                        0..=2 => 0,
                        3 => 3,
                        _ => 1,
                    },
                })
                .collect(),
            generated_at: Some(midnight - 3600),
        },
        EcoWattDay {
            date: today.succ(),
            level: None,
            hours: vec![],
            generated_at: None,
        },
    ]
}

/// A store holding only `days`, ingested as the EcoWatt guest's would be.
pub fn store_with_ecowatt(days: Vec<EcoWattDay>) -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let run = store
        .begin_run(ACCOUNT, &guest(), d("2020-01-01"), d("2030-12-31"), 1)
        .unwrap();
    let snapshot = Snapshot {
        ecowatt: days,
        ..Snapshot::default()
    };
    store.ingest(run, ACCOUNT, &snapshot, 2).unwrap();
    store
}
