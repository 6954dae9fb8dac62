//! The snapshot a guest returns, as plain Rust with a stable JSON form,
//! and the request it answers.
//!
//! This crate mirrors the records of `wit/scraper.wit` one for one. It owns
//! the golden JSON format of `fixtures/` (what a guest must return for a
//! cassette) and the comparison of two snapshots. The guest receives its
//! request and builds its answer in these types, converted from and to the
//! WIT types at its edge (by `hellowatt-guest-kit`); the host converts the
//! WIT types back. It must never hold behaviour of either side: no parsing
//! of the site, no storage. Beside the records it holds
//! the calendar facts that host, guests and the simulated site share:
//! Europe/Paris dates ([`Date`]) and the Tempo season ([`TempoSeason`]).

mod date;
mod diff;
mod tempo;

pub use date::{Date, DateError, days_in_month, paris_iso, paris_offset_at, parse_timestamp};
pub use diff::{Difference, diff_outcomes};
pub use tempo::{RED_DAYS, TempoSeason, WHITE_DAYS};

use serde::{Deserialize, Serialize};

/// The contract version this crate mirrors (`package hellowatt:scraper@…`).
pub const CONTRACT_VERSION: &str = "4.0.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataKind {
    Homes,
    ElectricityDaily,
    ElectricityCurve,
    GasDaily,
    Temperature,
    Tempo,
    Ecowatt,
}

impl DataKind {
    pub const ALL: [DataKind; 7] = [
        DataKind::Homes,
        DataKind::ElectricityDaily,
        DataKind::ElectricityCurve,
        DataKind::GasDaily,
        DataKind::Temperature,
        DataKind::Tempo,
        DataKind::Ecowatt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataKind::Homes => "homes",
            DataKind::ElectricityDaily => "electricity-daily",
            DataKind::ElectricityCurve => "electricity-curve",
            DataKind::GasDaily => "gas-daily",
            DataKind::Temperature => "temperature",
            DataKind::Tempo => "tempo",
            DataKind::Ecowatt => "ecowatt",
        }
    }

    pub fn parse(s: &str) -> Option<DataKind> {
        DataKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A daily series (electricity or gas): what the history is made of.
    pub fn is_daily_series(self) -> bool {
        matches!(self, DataKind::ElectricityDaily | DataKind::GasDaily)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Energy {
    Electricity,
    Gas,
}

impl Energy {
    pub fn as_str(self) -> &'static str {
        match self {
            Energy::Electricity => "electricity",
            Energy::Gas => "gas",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TempoColour {
    Blue,
    White,
    Red,
}

impl TempoColour {
    pub fn as_str(self) -> &'static str {
        match self {
            TempoColour::Blue => "blue",
            TempoColour::White => "white",
            TempoColour::Red => "red",
        }
    }

    pub fn parse(s: &str) -> Option<TempoColour> {
        match s {
            "blue" => Some(TempoColour::Blue),
            "white" => Some(TempoColour::White),
            "red" => Some(TempoColour::Red),
            _ => None,
        }
    }
}

/// What the host asks of one sync call (the contract's `sync-request`):
/// the site, the account, the window and the kinds of data wanted.
///
/// It holds no secret: the host keeps the password and gives the guest a
/// placeholder for it (see the contract's `credentials`). Its `Debug`
/// leaves out the login, which is personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct SyncRequest {
    /// The site's origin, e.g. `https://www.hellowatt.fr` (a path prefix
    /// is allowed, a query is not).
    pub base_url: String,
    pub login: String,
    /// What the guest puts in the log-in form's password field; the host
    /// sends the real password in its place.
    pub password_placeholder: String,
    /// First day, inclusive (Europe/Paris).
    pub start: Date,
    /// Last day, inclusive.
    pub end: Date,
    pub kinds: Vec<DataKind>,
}

impl std::fmt::Debug for SyncRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncRequest")
            .field("base_url", &self.base_url)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestInfo {
    pub name: String,
    pub version: String,
    pub contract: String,
    pub provides: Vec<DataKind>,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    pub id: String,
    pub energy: Energy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Home {
    pub id: String,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub meters: Vec<Meter>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    pub home_id: String,
    pub energy: Option<Energy>,
    pub provider: Option<String>,
    pub offer: Option<String>,
    pub state: String,
    pub active: bool,
    /// The subscribed power (kVA) when the site gives it (contract 4.0.0).
    #[serde(default)]
    pub subscribed_kva: Option<f64>,
}

/// One hour of an EcoWatt signal: its start (UTC seconds) and level, 0
/// (green, low-carbon) to 3 (red).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcoWattHour {
    pub start: i64,
    pub level: u8,
}

/// RTE's EcoWatt signal of one Europe/Paris day (contract 4.0.0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcoWattDay {
    pub date: Date,
    /// 1 green, 2 orange, 3 red; `None` when the answer gave none.
    pub level: Option<u8>,
    pub hours: Vec<EcoWattHour>,
    /// When RTE generated it (UTC seconds), if said.
    pub generated_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodValue {
    pub period: String,
    pub kwh: Option<f64>,
    pub eur: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyReading {
    pub meter_id: String,
    pub date: Date,
    pub periods: Vec<PeriodValue>,
    /// Flattened: the golden JSON and the API keep `kwh`, `eur`, … beside
    /// `meter_id` and `date`.
    #[serde(flatten)]
    pub amounts: Amounts,
}

/// `x` rounded to `decimals` places: the nearest double to the decimal
/// value, so that it prints as that decimal.
pub fn round_to(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// What a day (or a sum of days) amounts to beside its tariff periods:
/// energy, cost, CO2 and the solar side. `None` is "no value", never zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Amounts {
    pub kwh: Option<f64>,
    pub eur: Option<f64>,
    pub subscription_eur: Option<f64>,
    pub co2_kg: Option<f64>,
    pub solar_production_kwh: Option<f64>,
    pub solar_production_eur: Option<f64>,
    pub injection_kwh: Option<f64>,
    pub injection_eur: Option<f64>,
}

impl Amounts {
    /// The amounts' names, in the order of [`Amounts::values`]: the JSON
    /// keys, and the store's column names.
    pub const NAMES: [&'static str; 8] = [
        "kwh",
        "eur",
        "subscription_eur",
        "co2_kg",
        "solar_production_kwh",
        "solar_production_eur",
        "injection_kwh",
        "injection_eur",
    ];

    /// What the day cost with its subscription: `eur` (the consumption's
    /// cost) plus `subscription_eur`, each when the site gave it, as the
    /// Home Assistant clients count a cost (every euro key summed). `None`
    /// when the site gave neither.
    pub fn total_eur(&self) -> Option<f64> {
        match (self.eur, self.subscription_eur) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        }
    }

    /// The amounts in the order of [`Amounts::NAMES`], for code that walks
    /// them all (columns, checks) instead of naming each.
    pub fn values(&self) -> [Option<f64>; 8] {
        [
            self.kwh,
            self.eur,
            self.subscription_eur,
            self.co2_kg,
            self.solar_production_kwh,
            self.solar_production_eur,
            self.injection_kwh,
            self.injection_eur,
        ]
    }

    /// The inverse of [`Amounts::values`].
    pub fn from_values(v: [Option<f64>; 8]) -> Amounts {
        let [
            kwh,
            eur,
            subscription_eur,
            co2_kg,
            solar_production_kwh,
            solar_production_eur,
            injection_kwh,
            injection_eur,
        ] = v;
        Amounts {
            kwh,
            eur,
            subscription_eur,
            co2_kg,
            solar_production_kwh,
            solar_production_eur,
            injection_kwh,
            injection_eur,
        }
    }

    /// Decimals kept of a sum of days, in the order of [`Amounts::NAMES`]:
    /// a watt-hour, a hundredth of a cent, ten grams. A sum of floats
    /// otherwise shows its binary error (`35.160000000000004`).
    pub const DECIMALS: [i32; 8] = [3, 4, 4, 2, 3, 4, 3, 4];

    /// The amounts rounded to [`Amounts::DECIMALS`].
    pub fn rounded(&self) -> Amounts {
        let mut v = self.values();
        for (x, d) in v.iter_mut().zip(Self::DECIMALS) {
            *x = x.map(|x| round_to(x, d));
        }
        Amounts::from_values(v)
    }

    /// No amount has a value.
    pub fn is_empty(&self) -> bool {
        self.values().iter().all(Option::is_none)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub meter_id: String,
    /// Seconds since the Unix epoch, UTC.
    pub start: i64,
    pub date: Date,
    pub minutes: u16,
    pub kwh: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    pub home_id: String,
    /// The day, or the first day of the month for a month's mean.
    pub date: Date,
    /// Absent in a file means a day's mean (contract 2.x had only those).
    #[serde(default)]
    pub period: TemperaturePeriod,
    pub celsius: f64,
}

/// What span a temperature is the mean of.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum TemperaturePeriod {
    #[default]
    Day,
    Month,
}

impl TemperaturePeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            TemperaturePeriod::Day => "day",
            TemperaturePeriod::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<TemperaturePeriod> {
        match s {
            "day" => Some(TemperaturePeriod::Day),
            "month" => Some(TemperaturePeriod::Month),
            _ => None,
        }
    }

    /// The last day a temperature dated `date` covers.
    pub fn last_day(self, date: Date) -> Date {
        match self {
            TemperaturePeriod::Day => date,
            TemperaturePeriod::Month => date.last_of_month(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TempoSource {
    TariffKeys,
    Service,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TempoDay {
    pub date: Date,
    pub colour: Option<TempoColour>,
    pub source: TempoSource,
    pub meter_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "detail", rename_all = "kebab-case")]
pub enum WindowStatus {
    Complete,
    FetchOngoing,
    SiteError(String),
    NotAvailable(String),
    /// The series could not be read for this window; the rest of the call
    /// was. The host asks for it again on a later run.
    Failed(SyncError),
}

impl std::fmt::Display for WindowStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WindowStatus::Complete => f.write_str("complete"),
            WindowStatus::FetchOngoing => {
                f.write_str("the site is still fetching it from Enedis or GRDF")
            }
            WindowStatus::SiteError(d) => write!(f, "the site said: {d}"),
            WindowStatus::NotAvailable(d) => write!(f, "not available: {d}"),
            WindowStatus::Failed(e) => write!(f, "failed, asked again on the next run: {e}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub subject: String,
    pub kind: DataKind,
    pub start: Date,
    pub end: Date,
    #[serde(flatten)]
    pub status: WindowStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub homes: Vec<Home>,
    pub contracts: Vec<Contract>,
    pub daily: Vec<DailyReading>,
    pub curve: Vec<CurvePoint>,
    pub temperatures: Vec<Temperature>,
    pub tempo_days: Vec<TempoDay>,
    /// EcoWatt days (contract 4.0.0).
    #[serde(default)]
    pub ecowatt: Vec<EcoWattDay>,
    pub windows: Vec<Window>,
    /// The site's API version the answers came under, when one was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

impl Snapshot {
    /// Sorts every list by its natural key, so that two guests that return
    /// the same records in another order compare equal.
    pub fn normalize(&mut self) {
        self.homes.sort_by(|a, b| a.id.cmp(&b.id));
        for home in &mut self.homes {
            home.meters
                .sort_by(|a, b| (a.energy, &a.id).cmp(&(b.energy, &b.id)));
        }
        self.contracts.sort_by(|a, b| {
            (&a.home_id, a.energy, &a.provider, &a.offer, &a.state).cmp(&(
                &b.home_id,
                b.energy,
                &b.provider,
                &b.offer,
                &b.state,
            ))
        });
        self.daily
            .sort_by(|a, b| (&a.meter_id, a.date).cmp(&(&b.meter_id, b.date)));
        for reading in &mut self.daily {
            reading.periods.sort_by(|a, b| a.period.cmp(&b.period));
        }
        self.curve
            .sort_by(|a, b| (&a.meter_id, a.start).cmp(&(&b.meter_id, b.start)));
        self.temperatures
            .sort_by(|a, b| (&a.home_id, a.period, a.date).cmp(&(&b.home_id, b.period, b.date)));
        self.tempo_days.sort_by(|a, b| {
            (a.date, &a.meter_id, a.source as u8).cmp(&(b.date, &b.meter_id, b.source as u8))
        });
        self.ecowatt.sort_by_key(|d| d.date);
        for day in &mut self.ecowatt {
            day.hours.sort_by_key(|h| h.start);
        }
        self.windows.sort_by(|a, b| {
            (&a.subject, a.kind, a.start, a.end).cmp(&(&b.subject, b.kind, b.start, b.end))
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub retry_after_seconds: Option<u64>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    pub status: Option<u16>,
    pub retry_after_seconds: Option<u64>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteChange {
    pub location: String,
    pub detail: String,
}

/// Why a sync failed, mirroring the contract's `sync-error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SyncError {
    CredentialsRejected {
        detail: String,
    },
    RateLimited(RateLimit),
    SessionLost {
        detail: String,
    },
    /// The credentials were accepted, but a person must act on the site
    /// first (confirm an e-mail, a second factor, new terms).
    ActionNeeded {
        detail: String,
    },
    SiteUnavailable(Unavailable),
    SiteChanged(SiteChange),
    Transport {
        detail: String,
    },
    Other {
        detail: String,
    },
}

impl SyncError {
    /// The case's name as in the contract, for logs and the store.
    pub fn kind(&self) -> &'static str {
        match self {
            SyncError::CredentialsRejected { .. } => "credentials-rejected",
            SyncError::RateLimited(_) => "rate-limited",
            SyncError::SessionLost { .. } => "session-lost",
            SyncError::ActionNeeded { .. } => "action-needed",
            SyncError::SiteUnavailable(_) => "site-unavailable",
            SyncError::SiteChanged(_) => "site-changed",
            SyncError::Transport { .. } => "transport",
            SyncError::Other { .. } => "other",
        }
    }
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncError::CredentialsRejected { detail } => {
                write!(f, "the site rejected the credentials: {detail}")
            }
            SyncError::RateLimited(r) => match r.retry_after_seconds {
                Some(s) => write!(
                    f,
                    "rate-limited by the site (retry after {s} s): {}",
                    r.detail
                ),
                None => write!(f, "rate-limited by the site: {}", r.detail),
            },
            SyncError::SessionLost { detail } => {
                write!(
                    f,
                    "the session expired and could not be re-established: {detail}"
                )
            }
            SyncError::ActionNeeded { detail } => write!(
                f,
                "the site accepted the log-in but wants a person to act first: {detail}"
            ),
            SyncError::SiteUnavailable(u) => match u.status {
                Some(s) => write!(f, "the site is unavailable (HTTP {s}): {}", u.detail),
                None => write!(f, "the site is unavailable: {}", u.detail),
            },
            SyncError::SiteChanged(c) => {
                write!(f, "the site changed at {}: {}", c.location, c.detail)
            }
            SyncError::Transport { detail } => write!(f, "transport failure: {detail}"),
            SyncError::Other { detail } => write!(f, "{detail}"),
        }
    }
}

impl std::error::Error for SyncError {}

/// What a `sync` call gave: the form of a golden file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Snapshot(Snapshot),
    Error(SyncError),
}

impl Outcome {
    pub fn from_result(result: Result<Snapshot, SyncError>) -> Outcome {
        match result {
            Ok(s) => Outcome::Snapshot(s),
            Err(e) => Outcome::Error(e),
        }
    }

    pub fn normalize(&mut self) {
        if let Outcome::Snapshot(s) = self {
            s.normalize();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_names_are_their_json_keys_in_order() {
        let a = Amounts::from_values([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0].map(Some));
        assert_eq!(Amounts::from_values(a.values()), a);
        let json = serde_json::to_value(a).unwrap();
        let object = json.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        let mut sorted_names = Amounts::NAMES.to_vec();
        sorted_names.sort_unstable();
        // serde_json's map is sorted: compare as sets, then each value.
        assert_eq!(keys, sorted_names);
        for (name, value) in Amounts::NAMES.iter().zip(a.values()) {
            assert_eq!(object[*name].as_f64(), value, "{name}");
        }
        assert!(Amounts::default().is_empty() && !a.is_empty());
    }

    #[test]
    fn the_total_cost_adds_the_subscription_to_what_is_given() {
        let a = |eur, subscription_eur| Amounts {
            eur,
            subscription_eur,
            ..Amounts::default()
        };
        assert_eq!(a(Some(2.5), Some(0.5)).total_eur(), Some(3.0));
        assert_eq!(a(Some(2.5), None).total_eur(), Some(2.5));
        assert_eq!(a(None, Some(0.5)).total_eur(), Some(0.5));
        assert_eq!(a(None, None).total_eur(), None);
    }

    #[test]
    fn a_reading_keeps_its_amounts_flat_in_json() {
        let r = DailyReading {
            meter_id: "m".into(),
            date: Date::parse("2026-01-05").unwrap(),
            periods: Vec::new(),
            amounts: Amounts {
                kwh: Some(1.5),
                ..Amounts::default()
            },
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["kwh"], 1.5);
        assert!(json["eur"].is_null() && json.get("amounts").is_none());
        assert_eq!(serde_json::from_value::<DailyReading>(json).unwrap(), r);
    }

    #[test]
    fn a_sync_request_never_shows_the_login() {
        let req = SyncRequest {
            base_url: "https://www.hellowatt.fr".into(),
            login: "someone@example.com".into(),
            password_placeholder: "hellowatt-password-00".into(),
            start: Date::new(2026, 1, 1).unwrap(),
            end: Date::new(2026, 1, 31).unwrap(),
            kinds: vec![DataKind::Homes],
        };
        let shown = format!("{req:?}");
        assert!(shown.contains("https://www.hellowatt.fr"), "{shown}");
        assert!(!shown.contains("someone@example.com"), "{shown}");
        assert!(shown.ends_with(".. }"), "{shown}");
    }
}
