//! The demo account's data: deterministic and plausible for any day, from a
//! hash of the date (no randomness: the same answer every time, whatever
//! `today` is, for a day before `today`). The shapes follow the recorded
//! scenarios of `fixtures/scenarios/`.
//!
//! What the demo serves (a client author's view):
//! - `GET /api/user`: `{"id", "email", "firstName", "lastName"}`.
//! - `GET /api/homes`: one home, id `DEMO_HOME_ID` (418263), an invented
//!   address and town (`area.postalCode`, `area.name`, `area.inseeCode`),
//!   `enedisHome.pdl` (14 digits, starting with `0` like every synthetic
//!   PDL, `tariffOption: "TEMPO"`, 9 kVA) and `grdfHome.pce`.
//! - `GET /api/homes/{id}/contracts`: `[{"id", "energyType",
//!   "contractState", "provider": {"id", "name"}, "offer": {"id", "name"},
//!   "startDate", "endDate", "subscribedPowerKva"}]`: EDF "Tarif Bleu -
//!   Option Tempo" (actual), the EDF OA surplus purchase contract of the
//!   solar panels (actual, `energyType` electricity, like the recordings),
//!   an ENGIE gas contract (actual) and the former "Tarif Bleu - Option
//!   Base" (`"terminated"`).
//! - Days: data exists up to yesterday (D-1) relative to `today`, for every
//!   kind; every earlier day has data (no start of history). A measure
//!   window's `isFetchOngoing` is `true` when the window contains `today`
//!   (the site is still fetching that day; the values up to yesterday are
//!   given), else `false`; a window wholly after `today` is `{"values": [],
//!   "isFetchOngoing": false}`. No `error` object is ever sent.
//! - `sge_measures/conso_daily`: one value per day, `datetime` at local
//!   midnight with its offset; `kwhDetailed` split into
//!   `Tempo-<colour>-HC`/`-HP` (HP 06:00–22:00, HC 22:00–06:00; the
//!   00:00–06:00 hours belong to the previous Tempo day and carry its
//!   colour, so a day can hold HC keys of two colours; exactly one HP key,
//!   the day's colour); `eurosDetailed` the same keys at the Tempo prices
//!   of 1 August 2025 (blue 0.1232/0.1494, white 0.1391/0.1730, red
//!   0.1460/0.6468 EUR per kWh HC/HP) plus `subscription` (9 kVA, 0.6522 a
//!   day); `valueCo2` (kg); `solarProductionValueKwh` (0–25 kWh, seasonal),
//!   `injectionValueKwh` (a part of the production), `injectionValueEur`
//!   (0.04 EUR/kWh), `solarProductionValueEur` (the self-consumed part at
//!   the blue HP price). Energies in kWh with three decimals (whole Wh),
//!   euros with four. Daily totals run 8–30 kWh: more in winter (heating
//!   degree days), at weekends, less on red days.
//! - Tempo colours: a season runs 1 September to 31 August; red goes to the
//!   22 coldest-scoring weekdays of November–March (never on 1 January, 1
//!   and 11 November, 25 December), white to the 43 next coldest-scoring
//!   days that are not Sundays, every other day is blue (Sunday always).
//! - `sge_measures/courbe`: every half-hour from local midnight, `datetime`
//!   at the start of the half-hour with the offset in force (46 points on
//!   the spring DST day, 50 on the autumn one), `kwhDetailed` and
//!   `eurosDetailed` with one key `HP` or `HC`, `valueCo2`,
//!   `measureTimeGap: 30`. A day's points add up exactly (in Wh) to its
//!   daily `kwhDetailed` total, HC and HP alike.
//! - `adict_measures/conso_daily`: gas, 5–90 kWh a day following heating
//!   degree days, key `Base`, euros with `subscription`, `valueCo2`.
//! - `temperature_measures/yearly`: `{"values": [{"datetime",
//!   "valueCelsius"}]}` (no `isFetchOngoing`), one decimal, for the days of
//!   the `startDate`/`endDate` window before `today` (either bound may be
//!   left out: the window defaults to the 365 days before `today`, so no
//!   query gives those 365 days): one value per day (local midnight), or,
//!   with `temperature_monthly`, one per calendar month of those days, at
//!   the 1st of the month (local midnight, its offset), the mean of that
//!   whole month's daily values up to yesterday, rounded to 0.1 (inferred:
//!   hellowatt_hass calls the values monthly).

use std::collections::{BTreeMap, HashMap};
use std::f64::consts::PI;

use hellowatt_snapshot::{Date, RED_DAYS, TempoSeason, WHITE_DAYS, paris_iso, paris_offset_at};
use serde_json::{Map, Value, json};

use super::{DEMO_HOME_ID, DEMO_LOGIN};

const DEMO_PDL: &str = "09517362840159";
const DEMO_PCE: &str = "05183926470315";

// 2025–2026 Tempo prices (regulated tariff from 1 August 2025, EUR incl.
// taxes, per kWh) and the 9 kVA subscription (238.06 EUR a year).
const TEMPO_BLUE_HC: f64 = 0.1232;
const TEMPO_BLUE_HP: f64 = 0.1494;
const TEMPO_WHITE_HC: f64 = 0.1391;
const TEMPO_WHITE_HP: f64 = 0.1730;
const TEMPO_RED_HC: f64 = 0.1460;
const TEMPO_RED_HP: f64 = 0.6468;
const TEMPO_SUBSCRIPTION_PER_DAY: f64 = 238.06 / 365.0;
/// Surplus purchase price of injected energy (small installations, 2025).
const INJECTION_PRICE: f64 = 0.04;
const GAS_PRICE: f64 = 0.1084;
const GAS_SUBSCRIPTION_PER_DAY: f64 = 0.7004;
const GAS_CO2_PER_KWH: f64 = 0.227;

// Salts of the per-day hash, one per quantity.
const SALT_TEMP_SPELL: u64 = 1;
const SALT_TEMP_DAY: u64 = 2;
const SALT_ELEC: u64 = 3;
const SALT_TEMPO: u64 = 4;
const SALT_SUN: u64 = 5;
const SALT_INJECTION: u64 = 6;
const SALT_GAS: u64 = 7;
const SALT_SLOT: u64 = 8;

fn mix(mut z: u64) -> u64 {
    // splitmix64's finaliser.
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number in [0, 1) that depends only on the day, the salt and `i`.
fn unit(day: Date, salt: u64, i: u64) -> f64 {
    let h = mix(mix(mix(day.days_since_epoch() as u64) ^ salt) ^ i.wrapping_mul(0x9E37));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn day_of_year(d: Date) -> f64 {
    let first = Date {
        year: d.year,
        month: 1,
        day: 1,
    };
    (d.days_since_epoch() - first.days_since_epoch()) as f64
}

/// -1 in mid-January, +1 in mid-July.
fn season(d: Date) -> f64 {
    -(2.0 * PI * (day_of_year(d) - 20.0) / 365.25).cos()
}

/// 0 at the winter solstice, 1 at the summer one.
fn sunshine(d: Date) -> f64 {
    0.5 + 0.5 * (2.0 * PI * (day_of_year(d) - 172.0) / 365.25).cos()
}

fn is_weekend(d: Date) -> bool {
    d.weekday() >= 5
}

/// The day's mean outdoor temperature (°C): a seasonal wave, week-long
/// cold or warm spells, and a daily jitter.
pub(crate) fn temperature(d: Date) -> f64 {
    let spell: f64 = (-3..=3)
        .map(|k| unit(d.add_days(k), SALT_TEMP_SPELL, 0) - 0.5)
        .sum::<f64>()
        * 2.2;
    let jitter = (unit(d, SALT_TEMP_DAY, 0) - 0.5) * 3.0;
    12.0 + 8.5 * season(d) + spell + jitter
}

fn heating_degrees(d: Date, base: f64) -> f64 {
    (base - temperature(d)).max(0.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Colour {
    Blue,
    White,
    Red,
}

impl Colour {
    fn name(self) -> &'static str {
        match self {
            Colour::Blue => "blue",
            Colour::White => "white",
            Colour::Red => "red",
        }
    }

    fn price(self, hc: bool) -> f64 {
        match (self, hc) {
            (Colour::Blue, true) => TEMPO_BLUE_HC,
            (Colour::Blue, false) => TEMPO_BLUE_HP,
            (Colour::White, true) => TEMPO_WHITE_HC,
            (Colour::White, false) => TEMPO_WHITE_HP,
            (Colour::Red, true) => TEMPO_RED_HC,
            (Colour::Red, false) => TEMPO_RED_HP,
        }
    }
}

fn red_allowed(d: Date) -> bool {
    let holiday = matches!((d.month, d.day), (1, 1) | (11, 1) | (11, 11) | (12, 25));
    d.weekday() < 5 && matches!(d.month, 11 | 12 | 1 | 2 | 3) && !holiday
}

/// The colours of a whole season, from its 1 September.
fn season_colours(start: Date) -> Vec<Colour> {
    let end = Date {
        year: start.year + 1,
        month: 9,
        day: 1,
    };
    let days: Vec<Date> = (0..end.days_since_epoch() - start.days_since_epoch())
        .map(|i| start.add_days(i))
        .collect();
    let score = |d: Date| (12.0 - temperature(d)) + 2.0 * unit(d, SALT_TEMPO, 0);
    let mut ranked: Vec<(f64, usize)> = days
        .iter()
        .enumerate()
        .map(|(i, &d)| (score(d), i))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut colours = vec![Colour::Blue; days.len()];
    let mut reds = 0;
    for &(_, i) in &ranked {
        if reds < RED_DAYS && red_allowed(days[i]) {
            colours[i] = Colour::Red;
            reds += 1;
        }
    }
    let mut whites = 0;
    for &(_, i) in &ranked {
        if whites < WHITE_DAYS && colours[i] == Colour::Blue && days[i].weekday() != 6 {
            colours[i] = Colour::White;
            whites += 1;
        }
    }
    colours
}

/// Tempo colours, a season computed once per calendar.
#[derive(Default)]
pub(crate) struct TempoCalendar {
    seasons: HashMap<i32, Vec<Colour>>,
}

impl TempoCalendar {
    pub fn colour(&mut self, d: Date) -> Colour {
        let start = TempoSeason::holding(d).start;
        let colours = self
            .seasons
            .entry(start.year)
            .or_insert_with(|| season_colours(start));
        let i = (d.days_since_epoch() - start.days_since_epoch()) as usize;
        colours.get(i).copied().unwrap_or(Colour::Blue)
    }
}

/// One half-hour of the load curve.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    /// Start of the half-hour, seconds since the epoch.
    pub utc: i64,
    pub wh: u64,
    pub hc: bool,
    /// The colour of the Tempo day (06:00 to 06:00) it belongs to.
    pub colour: Colour,
}

/// A day of electricity: its half-hours and daily figures.
#[derive(Debug, Clone)]
pub(crate) struct ElectricityDay {
    pub slots: Vec<Slot>,
    /// `Tempo-<colour>-HC|HP` -> Wh.
    pub periods: BTreeMap<String, u64>,
    pub solar_wh: u64,
    pub injection_wh: u64,
}

/// The day's target consumption in kWh (8–30).
fn electricity_kwh(d: Date, colour: Colour) -> f64 {
    let weekend = if is_weekend(d) { 2.0 } else { 0.0 };
    let mut kwh =
        9.0 + 0.95 * heating_degrees(d, 16.0) + weekend + (unit(d, SALT_ELEC, 0) - 0.5) * 3.0;
    if colour == Colour::Red {
        kwh *= 0.85;
    }
    (kwh * d.paris_day_hours() as f64 / 24.0).clamp(8.0, 30.0)
}

pub(crate) fn electricity_day(d: Date, calendar: &mut TempoCalendar) -> ElectricityDay {
    let colour = calendar.colour(d);
    let previous = calendar.colour(d.add_days(-1));
    let weekend = is_weekend(d);
    let hdd = heating_degrees(d, 16.0);
    let midnight = d.paris_midnight_utc();
    let n = (d.paris_day_hours() * 2) as usize;

    // Shape of the day: base load and heating, a water heater in the night,
    // morning and evening peaks, meals at home at weekends.
    let mut weights = Vec::with_capacity(n);
    let mut layout = Vec::with_capacity(n);
    for i in 0..n {
        let utc = midnight + 1800 * i as i64;
        let local = utc + i64::from(paris_offset_at(utc));
        let h = local.rem_euclid(86_400) as f64 / 3600.0;
        let hc = !(6.0..22.0).contains(&h);
        let slot_colour = if h < 6.0 { previous } else { colour };
        let mut w = 0.35 + hdd * 0.04;
        if !(2.0..23.0).contains(&h) {
            w += 1.0;
        }
        if (6.5..8.5).contains(&h) {
            w += 0.9;
        }
        if (11.5..13.5).contains(&h) {
            w += if weekend { 0.7 } else { 0.2 };
        }
        if weekend && (9.0..18.0).contains(&h) {
            w += 0.3;
        }
        if (18.0..22.0).contains(&h) {
            w += 1.1;
        }
        if colour == Colour::Red && !hc {
            w *= 0.6;
        }
        w *= 0.8 + 0.4 * unit(d, SALT_SLOT, i as u64);
        weights.push(w);
        layout.push((utc, hc, slot_colour));
    }

    // Whole Wh per half-hour, adding up exactly to the day's total (largest
    // remainders get the Wh left over).
    let total_wh = (electricity_kwh(d, colour) * 1000.0).round() as u64;
    let sum: f64 = weights.iter().sum();
    let ideal: Vec<f64> = weights.iter().map(|w| total_wh as f64 * w / sum).collect();
    let mut wh: Vec<u64> = ideal.iter().map(|x| x.floor() as u64).collect();
    let mut left = total_wh.saturating_sub(wh.iter().sum());
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (ideal[a] - ideal[a].floor(), ideal[b] - ideal[b].floor());
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(n * 2) {
        if left == 0 {
            break;
        }
        wh[i] += 1;
        left -= 1;
    }

    let mut periods = BTreeMap::new();
    let slots: Vec<Slot> = layout
        .iter()
        .zip(&wh)
        .map(|(&(utc, hc, colour), &wh)| {
            let key = format!("Tempo-{}-{}", colour.name(), if hc { "HC" } else { "HP" });
            *periods.entry(key).or_insert(0) += wh;
            Slot {
                utc,
                wh,
                hc,
                colour,
            }
        })
        .collect();

    let sun = sunshine(d);
    let production = (3.0 + 22.0 * sun) * (0.12 + 0.88 * unit(d, SALT_SUN, 0).powf(0.6));
    let solar_wh = ((production * 1000.0).round() as u64).min(25_000);
    let share = 0.25 + 0.35 * sun + 0.15 * unit(d, SALT_INJECTION, 0);
    let injection_wh = (solar_wh as f64 * share).round() as u64;

    ElectricityDay {
        slots,
        periods,
        solar_wh,
        injection_wh,
    }
}

/// The day's gas in Wh (5–90 kWh).
pub(crate) fn gas_wh(d: Date) -> u64 {
    let kwh = (7.5 + 4.8 * heating_degrees(d, 17.0) + (unit(d, SALT_GAS, 0) - 0.5) * 4.0)
        .clamp(5.0, 90.0);
    (kwh * 1000.0).round() as u64
}

/// Grid carbon intensity, kg/kWh: higher in winter.
fn co2_per_kwh(d: Date) -> f64 {
    0.05 - 0.02 * season(d)
}

fn kwh(wh: u64) -> f64 {
    wh as f64 / 1000.0
}

fn round_to(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

/// The data of the demo account as of `today`.
pub(crate) struct Demo {
    today: Date,
}

impl Demo {
    pub fn new(today: Date) -> Demo {
        Demo { today }
    }

    pub fn user(&self) -> Value {
        json!({
            "id": 90417,
            "email": DEMO_LOGIN,
            "firstName": "Camille",
            "lastName": "Démo"
        })
    }

    pub fn homes(&self) -> Value {
        json!([{
            "id": DEMO_HOME_ID,
            "name": "Mon logement",
            "address": "12 allée des Tilleuls Bleus",
            "area": {"postalCode": "41990", "name": "Villeneuve-sur-Démo", "inseeCode": "41299"},
            "homeType": "house",
            "surface": 118,
            "residentsCount": 3,
            "enedisHome": {
                "id": 731_904,
                "pdl": DEMO_PDL,
                "isConsentValid": true,
                "subscribedPower": 9,
                "tariffOption": "TEMPO"
            },
            "grdfHome": {"id": 260_417, "pce": DEMO_PCE, "isConsentValid": true}
        }])
    }

    /// Tempo supply, the surplus purchase contract of the solar panels, gas,
    /// and the electricity contract Tempo replaced.
    pub fn contracts(&self) -> Value {
        json!([
            {
                "id": 7_300_412,
                "energyType": "electricity",
                "contractState": "actual",
                "provider": {"id": 14, "name": "EDF"},
                "offer": {"id": 273, "name": "Tarif Bleu - Option Tempo"},
                "startDate": "2023-10-02",
                "endDate": null,
                "subscribedPowerKva": 9
            },
            {
                "id": 7_300_415,
                "energyType": "electricity",
                "contractState": "actual",
                "provider": {"id": 93, "name": "EDF OA"},
                "offer": {"id": 301, "name": "Obligation d'achat - Vente en surplus"},
                "startDate": "2024-05-21",
                "endDate": null,
                "subscribedPowerKva": 3
            },
            {
                "id": 7_300_413,
                "energyType": "gas",
                "contractState": "actual",
                "provider": {"id": 70, "name": "ENGIE"},
                "offer": {"id": 224, "name": "Gaz Tranquillité 2 ans"},
                "startDate": "2022-11-07",
                "endDate": null,
                "subscribedPowerKva": null
            },
            {
                "id": 5_120_877,
                "energyType": "electricity",
                "contractState": "terminated",
                "provider": {"id": 14, "name": "EDF"},
                "offer": {"id": 135, "name": "Tarif Bleu - Option Base"},
                "startDate": "2019-03-01",
                "endDate": "2023-10-01",
                "subscribedPowerKva": 9
            }
        ])
    }

    /// The days of a window that have data, and whether the site is still
    /// fetching the window.
    fn available(&self, days: &[Date]) -> (Vec<Date>, bool) {
        let ongoing = days.contains(&self.today);
        let served = days.iter().copied().filter(|d| *d < self.today).collect();
        (served, ongoing)
    }

    fn payload(values: Vec<Value>, ongoing: bool) -> Value {
        json!({"values": values, "isFetchOngoing": ongoing})
    }

    pub fn electricity_daily(&self, days: &[Date]) -> Value {
        let (days, ongoing) = self.available(days);
        let mut calendar = TempoCalendar::default();
        let values = days
            .iter()
            .map(|&d| {
                let day = electricity_day(d, &mut calendar);
                let mut kwh_detailed = Map::new();
                let mut euros_detailed = Map::new();
                let mut total_wh = 0;
                for (key, &wh) in &day.periods {
                    total_wh += wh;
                    kwh_detailed.insert(key.clone(), json!(kwh(wh)));
                    let hc = key.ends_with("-HC");
                    let colour = if key.contains("-red-") {
                        Colour::Red
                    } else if key.contains("-white-") {
                        Colour::White
                    } else {
                        Colour::Blue
                    };
                    euros_detailed
                        .insert(key.clone(), json!(round_to(kwh(wh) * colour.price(hc), 4)));
                }
                euros_detailed.insert(
                    "subscription".into(),
                    json!(round_to(TEMPO_SUBSCRIPTION_PER_DAY, 4)),
                );
                let self_consumed = day.solar_wh - day.injection_wh;
                json!({
                    "datetime": d.paris_midnight_iso(),
                    "kwhDetailed": kwh_detailed,
                    "eurosDetailed": euros_detailed,
                    "valueCo2": round_to(kwh(total_wh) * co2_per_kwh(d), 3),
                    "injectionValueKwh": kwh(day.injection_wh),
                    "injectionValueEur": round_to(kwh(day.injection_wh) * INJECTION_PRICE, 4),
                    "solarProductionValueKwh": kwh(day.solar_wh),
                    "solarProductionValueEur": round_to(kwh(self_consumed) * TEMPO_BLUE_HP, 4)
                })
            })
            .collect();
        Self::payload(values, ongoing)
    }

    pub fn electricity_curve(&self, days: &[Date]) -> Value {
        let (days, ongoing) = self.available(days);
        let mut calendar = TempoCalendar::default();
        let mut values = Vec::new();
        for &d in &days {
            let co2_per_kwh = co2_per_kwh(d);
            for slot in electricity_day(d, &mut calendar).slots {
                let key = if slot.hc { "HC" } else { "HP" };
                let energy = kwh(slot.wh);
                values.push(json!({
                    "datetime": paris_iso(slot.utc),
                    "kwhDetailed": {key: energy},
                    "eurosDetailed": {key: round_to(energy * slot.colour.price(slot.hc), 4)},
                    "valueCo2": round_to(energy * co2_per_kwh, 4),
                    "measureTimeGap": 30
                }));
            }
        }
        Self::payload(values, ongoing)
    }

    pub fn gas_daily(&self, days: &[Date]) -> Value {
        let (days, ongoing) = self.available(days);
        let values = days
            .iter()
            .map(|&d| {
                let wh = gas_wh(d);
                json!({
                    "datetime": d.paris_midnight_iso(),
                    "kwhDetailed": {"Base": kwh(wh)},
                    "eurosDetailed": {
                        "Base": round_to(kwh(wh) * GAS_PRICE, 4),
                        "subscription": GAS_SUBSCRIPTION_PER_DAY
                    },
                    "valueCo2": round_to(kwh(wh) * GAS_CO2_PER_KWH, 3)
                })
            })
            .collect();
        Self::payload(values, ongoing)
    }

    /// The window the temperatures answer without a query: the 365 days
    /// before `today`.
    pub fn temperature_days_default(&self) -> (Date, Date) {
        (self.today.add_days(-365), self.today)
    }

    /// The temperatures of the days of a window that have data: one value
    /// per day, or with `monthly` one per calendar month of those days, the
    /// mean of the month's daily values up to yesterday.
    pub fn temperatures(&self, days: &[Date], monthly: bool) -> Value {
        let daily = |d: Date| round_to(temperature(d), 1);
        let days: Vec<Date> = days.iter().copied().filter(|d| *d < self.today).collect();
        let values: Vec<Value> = if monthly {
            let mut months: Vec<Date> = days.iter().map(|d| d.first_of_month()).collect();
            months.dedup();
            months
                .into_iter()
                .map(|first| {
                    let served: Vec<f64> = (0..)
                        .map(|k| first.add_days(k))
                        .take_while(|d| d.month == first.month && *d < self.today)
                        .map(daily)
                        .collect();
                    let mean = served.iter().sum::<f64>() / served.len().max(1) as f64;
                    json!({
                        "datetime": first.paris_midnight_iso(),
                        "valueCelsius": round_to(mean, 1)
                    })
                })
                .collect()
        } else {
            days.into_iter()
                .map(|d| json!({"datetime": d.paris_midnight_iso(), "valueCelsius": daily(d)}))
                .collect()
        };
        json!({ "values": values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn range(a: &str, b: &str) -> Vec<Date> {
        let (a, b) = (d(a), d(b));
        (0..b.days_since_epoch() - a.days_since_epoch())
            .map(|i| a.add_days(i))
            .collect()
    }

    fn wh(v: &Value) -> i64 {
        (v.as_f64().unwrap() * 1000.0).round() as i64
    }

    #[test]
    fn same_answer_every_time() {
        let days = range("2025-12-01", "2026-01-01");
        let a = Demo::new(d("2026-11-28"));
        let b = Demo::new(d("2027-06-01"));
        assert_eq!(a.electricity_daily(&days), a.electricity_daily(&days));
        assert_eq!(a.electricity_daily(&days), b.electricity_daily(&days));
        assert_eq!(a.electricity_curve(&days), b.electricity_curve(&days));
        assert_eq!(a.gas_daily(&days), b.gas_daily(&days));
        // A day looks the same asked alone or within a month.
        let alone = a.electricity_daily(&[d("2025-12-15")]);
        let month = a.electricity_daily(&days);
        assert_eq!(alone["values"][0], month["values"][14]);
        // Any range, even far back.
        let old = a.electricity_daily(&range("2019-01-01", "2019-02-01"));
        assert_eq!(old["values"].as_array().unwrap().len(), 31);
    }

    #[test]
    fn values_stay_in_plausible_ranges() {
        let mut calendar = TempoCalendar::default();
        let mut winter = 0.0;
        let mut summer = 0.0;
        for day in range("2023-09-01", "2026-09-01") {
            let e = electricity_day(day, &mut calendar);
            let total: u64 = e.periods.values().sum();
            assert!((8_000..=30_000).contains(&total), "{day}: {total} Wh");
            assert!(e.solar_wh <= 25_000, "{day}");
            assert!(e.injection_wh <= e.solar_wh, "{day}");
            let g = gas_wh(day);
            assert!((5_000..=90_000).contains(&g), "{day}: {g} Wh gas");
            let t = temperature(day);
            assert!((-15.0..=35.0).contains(&t), "{day}: {t} °C");
            if day.month == 1 {
                winter += total as f64;
            }
            if day.month == 7 {
                summer += total as f64;
            }
        }
        assert!(winter > summer * 1.3, "winter {winter} vs summer {summer}");
    }

    #[test]
    fn tempo_rules_hold_every_season() {
        let mut calendar = TempoCalendar::default();
        for year in 2015..2032 {
            let start = Date {
                year,
                month: 9,
                day: 1,
            };
            let end = Date {
                year: year + 1,
                month: 9,
                day: 1,
            };
            let (mut red, mut white) = (0, 0);
            let mut day = start;
            while day < end {
                let c = calendar.colour(day);
                match c {
                    Colour::Red => {
                        red += 1;
                        assert!(day.weekday() < 5, "red on a weekend: {day}");
                        assert!(
                            matches!(day.month, 11 | 12 | 1 | 2 | 3),
                            "red out of winter: {day}"
                        );
                    }
                    Colour::White => white += 1,
                    Colour::Blue => {}
                }
                if day.weekday() == 6 {
                    assert_eq!(c, Colour::Blue, "{day} is a Sunday");
                }
                day = day.succ();
            }
            assert_eq!((red, white), (RED_DAYS, WHITE_DAYS), "season {year}");
        }
    }

    #[test]
    fn curve_adds_up_to_the_daily_figures() {
        let demo = Demo::new(d("2027-01-01"));
        let days = range("2025-09-01", "2026-12-01");
        let daily = demo.electricity_daily(&days);
        let curve = demo.electricity_curve(&days);
        let mut by_day: BTreeMap<String, (i64, i64, usize)> = BTreeMap::new();
        for point in curve["values"].as_array().unwrap() {
            let dt = point["datetime"].as_str().unwrap();
            assert_eq!(point["measureTimeGap"], 30);
            let detailed = point["kwhDetailed"].as_object().unwrap();
            assert_eq!(detailed.len(), 1);
            let entry = by_day.entry(dt[..10].to_string()).or_default();
            entry.2 += 1;
            if let Some(v) = detailed.get("HC") {
                entry.0 += wh(v);
            } else {
                entry.1 += wh(&detailed["HP"]);
            }
        }
        let values = daily["values"].as_array().unwrap();
        assert_eq!(values.len(), days.len());
        assert_eq!(by_day.len(), days.len());
        for v in values {
            let date = &v["datetime"].as_str().unwrap()[..10];
            let detailed = v["kwhDetailed"].as_object().unwrap();
            let hc: i64 = detailed
                .iter()
                .filter(|(k, _)| k.ends_with("-HC"))
                .map(|(_, v)| wh(v))
                .sum();
            let hp: i64 = detailed
                .iter()
                .filter(|(k, _)| k.ends_with("-HP"))
                .map(|(_, v)| wh(v))
                .sum();
            let (chc, chp, points) = by_day[date];
            assert_eq!((hc, hp), (chc, chp), "{date}");
            // And as floats, the way a client adds them up.
            let daily_kwh: f64 = detailed.values().map(|v| v.as_f64().unwrap()).sum();
            assert!((daily_kwh - (chc + chp) as f64 / 1000.0).abs() < 1e-9);
            let day = Date::parse(date).unwrap();
            assert_eq!(points as i64, day.paris_day_hours() * 2, "{date}");
            // One HP key, of the day's own colour.
            assert_eq!(detailed.keys().filter(|k| k.ends_with("-HP")).count(), 1);
            let euros = v["eurosDetailed"].as_object().unwrap();
            assert!(euros.contains_key("subscription"));
            for k in detailed.keys() {
                assert!(k.starts_with("Tempo-") && euros.contains_key(k), "{k}");
            }
        }
    }

    #[test]
    fn monthly_temperatures_are_the_means_of_the_daily_ones() {
        let demo = Demo::new(d("2026-11-28"));
        let days = range("2026-01-15", "2026-11-29");
        let daily = demo.temperatures(&range("2026-01-01", "2026-11-28"), false);
        let monthly = demo.temperatures(&days, true);
        let months = monthly["values"].as_array().unwrap();
        // January (partly asked) to November (to yesterday); today and
        // after give nothing.
        assert_eq!(months.len(), 11);
        assert_eq!(months[0]["datetime"], "2026-01-01T00:00:00+01:00");
        assert_eq!(months[5]["datetime"], "2026-06-01T00:00:00+02:00");
        assert_eq!(months[10]["datetime"], "2026-11-01T00:00:00+01:00");
        for (i, month) in months.iter().enumerate() {
            let key = &month["datetime"].as_str().unwrap()[..7];
            let of_month: Vec<f64> = daily["values"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| v["datetime"].as_str().unwrap().starts_with(key))
                .map(|v| v["valueCelsius"].as_f64().unwrap())
                .collect();
            // The whole month, even January that the window starts in the
            // middle of; November up to yesterday.
            let whole = if i == 10 {
                27
            } else {
                usize::from(hellowatt_snapshot::days_in_month(2026, i as u8 + 1))
            };
            assert_eq!(of_month.len(), whole, "{key}");
            let mean = of_month.iter().sum::<f64>() / of_month.len() as f64;
            assert_eq!(
                month["valueCelsius"].as_f64().unwrap(),
                round_to(mean, 1),
                "{key}"
            );
        }
        // Winter is colder than summer.
        assert!(months[0]["valueCelsius"].as_f64() < months[6]["valueCelsius"].as_f64());
    }

    #[test]
    fn dst_days_have_46_and_50_points() {
        let demo = Demo::new(d("2027-01-01"));
        let points = |day: &str| {
            demo.electricity_curve(&[d(day)])["values"]
                .as_array()
                .unwrap()
                .len()
        };
        assert_eq!(points("2026-03-29"), 46);
        assert_eq!(points("2026-10-25"), 50);
        assert_eq!(points("2026-03-30"), 48);
    }

    #[test]
    fn early_hours_carry_the_previous_tempo_colour() {
        let mut calendar = TempoCalendar::default();
        let mut seen_two_colours = false;
        for day in range("2025-11-01", "2026-04-01") {
            let colour = calendar.colour(day);
            let previous = calendar.colour(day.add_days(-1));
            let e = electricity_day(day, &mut calendar);
            let hp = format!("Tempo-{}-HP", colour.name());
            assert!(e.periods.contains_key(&hp), "{day}");
            let early = format!("Tempo-{}-HC", previous.name());
            assert!(e.periods.contains_key(&early), "{day}");
            seen_two_colours |= colour != previous;
        }
        assert!(seen_two_colours);
    }

    #[test]
    fn payload_shapes() {
        let demo = Demo::new(d("2026-11-28"));
        let homes = demo.homes();
        assert_eq!(homes[0]["id"], DEMO_HOME_ID);
        assert_eq!(homes[0]["enedisHome"]["pdl"].as_str().unwrap().len(), 14);
        assert!(homes[0]["grdfHome"]["pce"].is_string());
        let gas = demo.gas_daily(&[d("2026-01-10")]);
        let v = &gas["values"][0];
        assert_eq!(v["datetime"], "2026-01-10T00:00:00+01:00");
        assert!(v["kwhDetailed"]["Base"].as_f64().unwrap() > 5.0);
        assert!(v.get("solarProductionValueKwh").is_none());
        assert!(gas.get("error").is_none());
        assert_eq!(gas["isFetchOngoing"], false);
        let contracts = demo.contracts();
        let states: Vec<(&str, &str)> = contracts
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["energyType"].as_str().unwrap(),
                    c["contractState"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            states,
            [
                ("electricity", "actual"),
                ("electricity", "actual"),
                ("gas", "actual"),
                ("electricity", "terminated")
            ]
        );
        let e = demo.electricity_daily(&[d("2026-07-10")]);
        let v = &e["values"][0];
        assert_eq!(v["datetime"], "2026-07-10T00:00:00+02:00");
        assert!(v["solarProductionValueKwh"].as_f64().unwrap() > 0.0);
        assert!(
            v["injectionValueKwh"].as_f64().unwrap()
                <= v["solarProductionValueKwh"].as_f64().unwrap()
        );
        let (first, end) = demo.temperature_days_default();
        let t = demo.temperatures(&range(&first.to_string(), &end.to_string()), false);
        assert_eq!(t["values"].as_array().unwrap().len(), 365);
        assert!(t["values"][0]["valueCelsius"].is_f64());
    }
}
