//! Pure functions from the site's JSON payloads to the snapshot's records.
//!
//! This module owns the parsing rules of `fixtures/README.md`: homes and
//! their meters, contracts, daily readings (every tariff key summed, the
//! subscription apart, missing never zero), the load curve, temperatures,
//! Tempo colours of past days, window statuses. When a payload does not
//! have the expected shape it says precisely where (a JSON path such as
//! `values[3].kwhDetailed.HP`) and what it found. It must never do I/O,
//! log, or know which endpoint a payload came from: the caller adds the
//! location.

use hellowatt_snapshot::{
    Amounts, Contract, CurvePoint, DailyReading, Date, Energy, Home, Meter, PeriodValue,
    Temperature, TemperaturePeriod, TempoColour, TempoDay, TempoSource, WindowStatus,
    parse_timestamp,
};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// What did not match, with its JSON path; the caller adds the location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(pub String);

type Parsed<T> = Result<T, ShapeError>;

/// `values[3]` + `datetime` = `values[3].datetime`.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A short description of a JSON value for error details.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {:?}", crate::errors::short(s)),
        Value::Array(a) => format!("a list of {} items", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

fn expected(path: &str, what: &str, found: &Value) -> ShapeError {
    let found = describe(found);
    if path.is_empty() {
        ShapeError(format!("expected {what}, found {found}"))
    } else {
        ShapeError(format!("{path}: expected {what}, found {found}"))
    }
}

fn missing(path: &str, key: &str) -> ShapeError {
    if path.is_empty() {
        ShapeError(format!("missing field {key:?}"))
    } else {
        ShapeError(format!("{path}: missing field {key:?}"))
    }
}

fn as_object<'a>(v: &'a Value, path: &str) -> Parsed<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| expected(path, "an object", v))
}

/// A list at the top level, or DRF's paginated `{"results": [...]}`.
fn as_list(v: &Value) -> Parsed<(&Vec<Value>, &'static str)> {
    match v {
        Value::Array(a) => Ok((a, "")),
        Value::Object(o) => match o.get("results") {
            Some(Value::Array(a)) => Ok((a, "results")),
            Some(other) => Err(expected("results", "a list", other)),
            None => Err(expected("", "a list", v)),
        },
        other => Err(expected("", "a list", other)),
    }
}

fn item_path(list_path: &str, i: usize) -> String {
    format!("{list_path}[{i}]")
}

/// An optional number: absent or `null` is `None` (never zero).
fn opt_f64(o: &Map<String, Value>, key: &str, path: &str) -> Parsed<Option<f64>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| expected(&join(path, key), "a number", &Value::Number(n.clone()))),
        // Django REST Framework writes decimals as strings by default: a
        // site that switches its fields to DecimalField must not break us.
        Some(Value::String(t)) if is_decimal(t) => match decimal(t) {
            Some(x) => Ok(Some(x)),
            None => Err(expected(
                &join(path, key),
                "a number or null",
                &Value::String(t.clone()),
            )),
        },
        Some(other) => Err(expected(&join(path, key), "a number or null", other)),
    }
}

/// A DRF decimal string's value: [`is_decimal`] and finite.
pub(crate) fn decimal(t: &str) -> Option<f64> {
    if !is_decimal(t) {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// `-12.5`, `3`, `0.125`: what DRF's DecimalField writes; nothing else
/// (no exponent, no `NaN`, no spaces).
fn is_decimal(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    let mut parts = digits.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// An optional string; numbers are accepted and written out.
fn opt_string(o: &Map<String, Value>, key: &str, path: &str) -> Parsed<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(expected(&join(path, key), "a string or null", other)),
    }
}

/// An optional object: absent or `null` is `None`.
fn opt_object<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Parsed<Option<&'a Map<String, Value>>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(expected(&join(path, key), "an object or null", other)),
    }
}

/// An identifier: a string or an integer, required.
fn id(o: &Map<String, Value>, key: &str, path: &str) -> Parsed<String> {
    match o.get(key) {
        None => Err(missing(path, key)),
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
        Some(other) => Err(expected(&join(path, key), "an identifier", other)),
    }
}

// ---------------------------------------------------------------- homes

/// A home as the flow needs it: the record, and the meters to fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct HomeInfo {
    pub home: Home,
    /// The electricity delivery point, when the site names one.
    pub pdl: Option<String>,
    /// The gas meter id: the PCE, or `<home-id>-gas`.
    pub gas_meter: String,
    /// The site names the gas meter (a PCE): it is listed in `home.meters`.
    /// Otherwise `<home-id>-gas` is listed only once gas readings come.
    pub gas_named: bool,
}

/// `GET /api/homes`: `id`, `address`, `area.postalCode`, `area.name`,
/// `enedisHome.pdl`, `grdfHome.pce` (`grdfHome` or its `pce` null: no gas
/// meter named).
pub fn homes(v: &Value) -> Parsed<Vec<HomeInfo>> {
    let (list, list_path) = as_list(v)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let path = item_path(list_path, i);
        let o = as_object(item, &path)?;
        let home_id = id(o, "id", &path)?;
        let address = opt_string(o, "address", &path)?;
        let (postal_code, city) = match opt_object(o, "area", &path)? {
            Some(area) => {
                let area_path = join(&path, "area");
                (
                    opt_string(area, "postalCode", &area_path)?,
                    opt_string(area, "name", &area_path)?,
                )
            }
            None => (None, None),
        };
        let pdl = match opt_object(o, "enedisHome", &path)? {
            Some(e) => opt_string(e, "pdl", &join(&path, "enedisHome"))?.filter(|p| !p.is_empty()),
            None => None,
        };
        let grdf = opt_object(o, "grdfHome", &path)?;
        let pce = match grdf {
            Some(g) => opt_string(g, "pce", &join(&path, "grdfHome"))?.filter(|p| !p.is_empty()),
            None => None,
        };
        let gas_named = pce.is_some();
        let gas_meter = pce.unwrap_or_else(|| format!("{home_id}-gas"));
        let mut meters = Vec::new();
        if let Some(pdl) = &pdl {
            meters.push(Meter {
                id: pdl.clone(),
                energy: Energy::Electricity,
            });
        }
        if gas_named {
            meters.push(Meter {
                id: gas_meter.clone(),
                energy: Energy::Gas,
            });
        }
        out.push(HomeInfo {
            home: Home {
                id: home_id,
                address,
                postal_code,
                city,
                meters,
            },
            pdl,
            gas_meter,
            gas_named,
        });
    }
    Ok(out)
}

// ------------------------------------------------------------ contracts

/// `elec…` is electricity, `gas…`/`gaz…` is gas, anything else unknown.
pub fn energy_of(word: &str) -> Option<Energy> {
    let w = word.to_ascii_lowercase();
    if w.contains("elec") || w.contains("élec") {
        Some(Energy::Electricity)
    } else if w.contains("gas") || w.contains("gaz") {
        Some(Energy::Gas)
    } else {
        None
    }
}

/// `provider: {"name": …}` (a plain string is accepted too).
fn name_of(o: &Map<String, Value>, key: &str, path: &str) -> Parsed<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Object(inner)) => opt_string(inner, "name", &join(path, key)),
        Some(other) => Err(expected(&join(path, key), "an object with a name", other)),
    }
}

/// The names a contract's subscribed power may go by. None is confirmed
/// on the real site (the recordings here are synthetic and use the first);
/// the others are the names the Jeedom plugin's and the site's French
/// vocabulary suggest.
const POWER_KEYS: [&str; 5] = [
    "subscribedPowerKva",
    "subscribedPower",
    "subscribed_power",
    "puissanceSouscrite",
    "powerKva",
];

/// A contract's subscribed power in kVA: a number, or a string such as
/// `"9"`, `"9 kVA"` or `"9,0 kVA"`, under any of [`POWER_KEYS`]. What is
/// not a household's power (1 to 36 kVA, and up to 250 for a business
/// supply) is `None`, never an error: the rest of the contract stays.
fn subscribed_kva(o: &Map<String, Value>) -> Option<f64> {
    let kva = POWER_KEYS.iter().find_map(|k| match o.get(*k)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            let number = s
                .strip_suffix("kVA")
                .or_else(|| s.strip_suffix("kva"))
                .unwrap_or(s)
                .trim()
                .replace(',', ".");
            number.parse::<f64>().ok()
        }
        _ => None,
    })?;
    (kva.is_finite() && (1.0..=250.0).contains(&kva)).then_some(kva)
}

/// `GET /api/homes/{id}/contracts`.
pub fn contracts(v: &Value, home_id: &str) -> Parsed<Vec<Contract>> {
    let (list, list_path) = as_list(v)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let path = item_path(list_path, i);
        let o = as_object(item, &path)?;
        let energy = ["energyType", "energy", "kind"]
            .iter()
            .filter_map(|k| o.get(*k).and_then(Value::as_str))
            .find_map(energy_of);
        let state = opt_string(o, "contractState", &path)?.unwrap_or_default();
        out.push(Contract {
            home_id: home_id.to_string(),
            energy,
            provider: name_of(o, "provider", &path)?,
            offer: name_of(o, "offer", &path)?,
            active: state == "actual",
            state,
            subscribed_kva: subscribed_kva(o),
        });
    }
    Ok(out)
}

// ------------------------------------------------------- measure payload

/// The parts of a measure payload common to every series.
struct Payload<'a> {
    values: &'a Vec<Value>,
    status: WindowStatus,
    top: &'a Map<String, Value>,
}

/// The names a measure payload's list goes by. The test-only
/// `values-renamed` build also reads `data` (the fix of the site change
/// that the site-change rehearsal makes: `host/tests/it/site_change.rs`).
const VALUES_KEYS: &[&str] = if cfg!(feature = "values-renamed") {
    &["values", "data"]
} else {
    &["values"]
};

fn payload(v: &Value) -> Parsed<Payload<'_>> {
    let top = as_object(v, "")?;
    let list = VALUES_KEYS.iter().find_map(|k| top.get(*k));
    let values = match list {
        None => return Err(missing("", "values")),
        Some(Value::Array(a)) => a,
        Some(other) => return Err(expected("values", "a list", other)),
    };
    Ok(Payload {
        values,
        status: window_status(top, values.is_empty()),
        top,
    })
}

/// `fetch-ongoing` when `isFetchOngoing` is true; `site-error` when there
/// are no values and an `error` object; `complete` otherwise.
pub fn window_status(top: &Map<String, Value>, no_values: bool) -> WindowStatus {
    if top.get("isFetchOngoing").and_then(Value::as_bool) == Some(true) {
        return WindowStatus::FetchOngoing;
    }
    if no_values {
        match top.get("error") {
            Some(Value::Object(e)) => {
                let text = |k: &str| {
                    e.get(k).and_then(|v| match v {
                        Value::String(s) if !s.is_empty() => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                };
                let detail = match (text("identifier"), text("message")) {
                    (Some(i), Some(m)) => format!("{i}: {m}"),
                    (Some(i), None) => i,
                    (None, Some(m)) => m,
                    (None, None) => "the site gave an error without a message".into(),
                };
                return WindowStatus::SiteError(detail);
            }
            Some(Value::String(s)) if !s.is_empty() => return WindowStatus::SiteError(s.clone()),
            _ => {}
        }
    }
    WindowStatus::Complete
}

/// The names a value's timestamp goes by. The test-only `v2` build also
/// reads `date`, a renaming the v1 guest does not follow. (Not `data` for
/// `values`: the shipped `site-changed` scenario records that renaming as a
/// site change, so a guest that follows it cannot pass the host's gate.)
const DATETIME_KEYS: &[&str] = if cfg!(feature = "v2") {
    &["datetime", "date"]
} else {
    &["datetime"]
};

/// The Europe/Paris day of a value's `datetime`, and the instant.
fn datetime(o: &Map<String, Value>, path: &str) -> Parsed<(i64, Date)> {
    match DATETIME_KEYS.iter().find_map(|k| o.get(*k)) {
        None => Err(missing(path, "datetime")),
        Some(Value::String(s)) => match parse_timestamp(s) {
            Ok(t) => Ok((t, Date::paris_day_of(t))),
            Err(_) => Err(expected(
                &join(path, "datetime"),
                "a timestamp with an offset",
                &Value::String(s.clone()),
            )),
        },
        Some(other) => Err(expected(
            &join(path, "datetime"),
            "a timestamp string",
            other,
        )),
    }
}

/// A `{"<period>": number|null}` map; absent or null is empty.
fn detailed<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Parsed<Vec<(&'a str, Option<f64>)>> {
    let Some(m) = opt_object(o, key, path)? else {
        return Ok(Vec::new());
    };
    let here = join(path, key);
    m.keys()
        .map(|k| Ok((k.as_str(), opt_f64(m, k, &here)?)))
        .collect()
}

/// Sum of the values present; `None` when none is.
pub(crate) fn sum(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    values
        .into_iter()
        .flatten()
        .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

/// Days, points or temperatures of one window, and what was set aside.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub records: Vec<T>,
    pub status: WindowStatus,
    /// Days of values outside the asked window (dropped).
    pub outside: Vec<Date>,
    /// Days (or, for the curve, days of instants) given twice: the first
    /// value is kept.
    pub duplicates: Vec<Date>,
}

fn in_window(d: Date, start: Date, end: Date) -> bool {
    start <= d && d <= end
}

/// Sorts a page's records as they come: outside the window (set aside),
/// given twice (the first kept: `key` tells a repeat), or kept.
pub(crate) struct Pager<T, K> {
    pub page: Page<T>,
    seen: BTreeSet<K>,
    start: Date,
    end: Date,
}

impl<T, K: Ord> Pager<T, K> {
    pub(crate) fn new(status: WindowStatus, start: Date, end: Date) -> Pager<T, K> {
        Pager {
            page: Page {
                records: Vec::new(),
                status,
                outside: vec![],
                duplicates: vec![],
            },
            // A set, not a scan of the records: a scan is quadratic in a
            // page (a month of curve is ~1 500 points). BTreeSet: a
            // HashSet's random seed would import wasi:random.
            seen: BTreeSet::new(),
            start,
            end,
        }
    }

    /// A record of day `date`, told apart from the others by `key`.
    pub(crate) fn add(&mut self, date: Date, key: K, record: T) {
        if !in_window(date, self.start, self.end) {
            self.page.outside.push(date);
        } else if !self.seen.insert(key) {
            self.page.duplicates.push(date);
        } else {
            self.page.records.push(record);
        }
    }
}

/// One day of a daily payload (electricity or gas).
pub fn daily_reading(item: &Value, path: &str, meter_id: &str) -> Parsed<DailyReading> {
    let o = as_object(item, path)?;
    let (_, date) = datetime(o, path)?;
    let kwh = detailed(o, "kwhDetailed", path)?;
    let euros = detailed(o, "eurosDetailed", path)?;
    let amounts = Amounts {
        co2_kg: opt_f64(o, "valueCo2", path)?,
        solar_production_kwh: opt_f64(o, "solarProductionValueKwh", path)?,
        solar_production_eur: opt_f64(o, "solarProductionValueEur", path)?,
        injection_kwh: opt_f64(o, "injectionValueKwh", path)?,
        injection_eur: opt_f64(o, "injectionValueEur", path)?,
        ..Amounts::default()
    };
    Ok(reading(meter_id, date, &kwh, &euros, amounts))
}

/// A day's record from its tariff keys (each key's energy, then each
/// key's cost, in the order given) and its other amounts: every key a
/// period, `subscription` apart, the totals summed over the periods. The
/// `Value` way and the typed one ([`crate::measure`]) both build it here.
pub(crate) fn reading<K: AsRef<str>>(
    meter_id: &str,
    date: Date,
    kwh: &[(K, Option<f64>)],
    euros: &[(K, Option<f64>)],
    mut amounts: Amounts,
) -> DailyReading {
    let mut periods: Vec<PeriodValue> = kwh
        .iter()
        .map(|(k, v)| PeriodValue {
            period: k.as_ref().to_string(),
            kwh: *v,
            eur: None,
        })
        .collect();
    let mut subscription = None;
    for (k, v) in euros {
        let k = k.as_ref();
        if k == "subscription" {
            subscription = *v;
        } else if let Some(p) = periods.iter_mut().find(|p| p.period == k) {
            p.eur = *v;
        } else {
            periods.push(PeriodValue {
                period: k.to_string(),
                kwh: None,
                eur: *v,
            });
        }
    }
    amounts.kwh = sum(periods.iter().map(|p| p.kwh));
    amounts.eur = sum(periods.iter().map(|p| p.eur));
    amounts.subscription_eur = subscription;
    DailyReading {
        meter_id: meter_id.to_string(),
        date,
        amounts,
        periods,
    }
}

/// `sge_measures/conso_daily` or `adict_measures/conso_daily` for the
/// window `start..=end` (Europe/Paris days).
pub fn daily(v: &Value, meter_id: &str, start: Date, end: Date) -> Parsed<Page<DailyReading>> {
    let p = payload(v)?;
    let mut pager = Pager::new(p.status, start, end);
    for (i, item) in p.values.iter().enumerate() {
        let reading = daily_reading(item, &item_path("values", i), meter_id)?;
        pager.add(reading.date, reading.date, reading);
    }
    Ok(pager.page)
}

/// `Tempo-<colour>-<slot>` → the colour and the slot (`HP`, `HC`).
fn tempo_key(key: &str) -> Option<(TempoColour, &str)> {
    let mut parts = key.splitn(3, '-');
    let (tempo, colour, slot) = (parts.next()?, parts.next()?, parts.next()?);
    if !tempo.eq_ignore_ascii_case("tempo") {
        return None;
    }
    Some((TempoColour::parse(&colour.to_ascii_lowercase())?, slot))
}

/// The Tempo colour of a past day from its tariff keys: the colour whose
/// `Tempo-<colour>-HP` key carries energy; when no HP key does, the only
/// colour whose keys carry energy; `None` when neither rule gives exactly
/// one colour (00:00–06:00 belongs to the previous Tempo day, so HC alone
/// can be ambiguous).
pub fn tempo_colour(periods: &[PeriodValue]) -> Option<TempoColour> {
    let mut hp: Vec<TempoColour> = Vec::new();
    let mut any: Vec<TempoColour> = Vec::new();
    for p in periods {
        let Some((colour, slot)) = tempo_key(&p.period) else {
            continue;
        };
        if !p.kwh.is_some_and(|k| k > 0.0) {
            continue;
        }
        if slot.eq_ignore_ascii_case("HP") && !hp.contains(&colour) {
            hp.push(colour);
        }
        if !any.contains(&colour) {
            any.push(colour);
        }
    }
    match (hp.as_slice(), any.as_slice()) {
        ([one], _) => Some(*one),
        ([], [one]) => Some(*one),
        _ => None,
    }
}

/// The `tempo-days` record a daily reading gives, if any.
pub fn tempo_day(reading: &DailyReading) -> Option<TempoDay> {
    Some(TempoDay {
        date: reading.date,
        colour: Some(tempo_colour(&reading.periods)?),
        source: TempoSource::TariffKeys,
        meter_id: Some(reading.meter_id.clone()),
    })
}

/// Interval length in minutes: the value's `measureTimeGap`, else the
/// payload's, else 30 (today's site).
fn minutes(o: &Map<String, Value>, top: &Map<String, Value>, path: &str) -> Parsed<u16> {
    for (m, p) in [(o, path), (top, "")] {
        match m.get("measureTimeGap") {
            None | Some(Value::Null) => continue,
            Some(v) => {
                return gap_minutes(v.as_u64())
                    .ok_or_else(|| expected(&join(p, "measureTimeGap"), "minutes (1 to 1440)", v));
            }
        }
    }
    Ok(30)
}

/// A `measureTimeGap` read as a whole number: minutes from 1 to 1440.
pub(crate) fn gap_minutes(n: Option<u64>) -> Option<u16> {
    n.filter(|n| (1..=1440).contains(n))
        .and_then(|n| u16::try_from(n).ok())
}

/// `sge_measures/courbe`: one point per value, its energy from
/// `kwhDetailed` (summed over its keys) or else `valueKwh`.
pub fn curve(v: &Value, meter_id: &str, start: Date, end: Date) -> Parsed<Page<CurvePoint>> {
    let p = payload(v)?;
    let mut pager = Pager::new(p.status, start, end);
    for (i, item) in p.values.iter().enumerate() {
        let path = item_path("values", i);
        let o = as_object(item, &path)?;
        let (at, date) = datetime(o, &path)?;
        let detailed = detailed(o, "kwhDetailed", &path)?;
        let kwh = match sum(detailed.iter().map(|(_, v)| *v)) {
            Some(k) => Some(k),
            None => opt_f64(o, "valueKwh", &path)?,
        };
        let point = CurvePoint {
            meter_id: meter_id.to_string(),
            start: at,
            date,
            minutes: minutes(o, p.top, &path)?,
            kwh,
        };
        pager.add(date, at, point);
    }
    Ok(pager.page)
}

/// `temperature_measures/yearly`: `{"datetime": …, "valueCelsius": …}`
/// (a plain `YYYY-MM-DD` date is accepted too); a null temperature is no
/// record.
///
/// The one public client that reads it calls the values monthly; ours were
/// daily. The points say which: monthly when every one falls on the 1st of
/// a month and there are several, or a lone 1st answers a window of more
/// than that day (a daily series would give a point per day). A month's
/// mean is kept when its month meets the window.
pub fn temperatures(v: &Value, home_id: &str, start: Date, end: Date) -> Parsed<Page<Temperature>> {
    let p = payload(v)?;
    let mut page: Page<Temperature> = Page {
        records: Vec::new(),
        status: p.status,
        outside: vec![],
        duplicates: vec![],
    };
    let mut points = Vec::new();
    for (i, item) in p.values.iter().enumerate() {
        let path = item_path("values", i);
        let o = as_object(item, &path)?;
        let date = match o.get("datetime") {
            Some(Value::String(s)) if s.len() == 10 => Date::parse(s).map_err(|_| {
                expected(
                    &join(&path, "datetime"),
                    "a date",
                    &Value::String(s.clone()),
                )
            })?,
            _ => datetime(o, &path)?.1,
        };
        let Some(celsius) = opt_f64(o, "valueCelsius", &path)? else {
            continue;
        };
        points.push((date, celsius));
    }
    let period = temperature_period(&points, start, end);
    let mut seen = BTreeSet::new();
    for (date, celsius) in points {
        let inside = match period {
            TemperaturePeriod::Day => in_window(date, start, end),
            TemperaturePeriod::Month => date <= end && date.last_of_month() >= start,
        };
        if !inside {
            page.outside.push(date);
        } else if !seen.insert(date) {
            page.duplicates.push(date);
        } else {
            page.records.push(Temperature {
                home_id: home_id.to_string(),
                date,
                period,
                celsius,
            });
        }
    }
    Ok(page)
}

/// Whether temperature points dated `points` are days or months (see
/// [`temperatures`]).
pub fn temperature_period(points: &[(Date, f64)], start: Date, end: Date) -> TemperaturePeriod {
    let mut dates: Vec<Date> = points.iter().map(|p| p.0).collect();
    dates.sort();
    dates.dedup();
    let all_firsts = !dates.is_empty() && dates.iter().all(|d| d.day == 1);
    if all_firsts && (dates.len() > 1 || start < end) {
        TemperaturePeriod::Month
    } else {
        TemperaturePeriod::Day
    }
}

// ------------------------------------------------- the typed reading

/// The measure payloads (daily electricity and gas, the load curve) read
/// straight from the answer's bytes into typed structs, without building a
/// `serde_json::Value` tree first: no map per value, no string per key, no
/// JSON path per value. A month of curve is 1 500 values, a backfill tens
/// of thousands: this is where the guest spent its time (docs/benchmarks.md,
/// "A sync call").
///
/// It is a fast path in front of [`crate::parse`], never a second set of
/// rules. Each reader here returns the page only when it is sure that
/// [`parse::daily`] or [`parse::curve`] would return that very page (the
/// records are built by the same functions); at the first thing it does
/// not follow exactly (a value of another type, a duplicated key, a list
/// where an object goes, a renamed field of a test build) it returns
/// `None`, and the caller reads the answer the `Value` way, with its
/// tolerance and its error messages. So a typed reading can only be
/// faster, never less tolerant.
///
/// What the `Value` way reads, read alike here: numbers as JSON numbers or
/// DRF decimal strings, `null` or absent as "no value" (never zero), every
/// key of `kwhDetailed`/`eurosDetailed` in the order a `Value` map gives
/// them (sorted; a repeated key keeps its last value), any extra field
/// ignored. One difference, a more tolerant one: a field this reading does
/// not look at is skipped unparsed, so a payload whose only fault is there
/// (a number out of `f64`'s range, nesting deeper than 128) is read where
/// the `Value` way refused the whole answer as a site change.
///
/// A fix to [`daily`](super::daily) or [`curve`](super::curve) for a site
/// change must be made here too (or `ENABLED` set to `false`): a reading
/// this module still takes would otherwise keep the old rule. Renamed or
/// retyped fields fall to the `Value` way by themselves.
pub mod typed {
    use super::{self as parse, Page};
    use hellowatt_snapshot::{CurvePoint, DailyReading, Date, WindowStatus, parse_timestamp};
    use serde::Deserialize;
    use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::{Map, Number, Value};
    use std::borrow::Cow;
    use std::fmt;
    use std::marker::PhantomData;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// [`parse::daily`] from the answer's bytes, or `None` when only the
    /// `Value` way can tell (see the module doc).
    pub fn daily(
        body: &[u8],
        meter_id: &str,
        start: Date,
        end: Date,
    ) -> Option<Page<DailyReading>> {
        if !enabled() {
            return None;
        }
        let Obj(top) = serde_json::from_slice::<Obj<RawTop<DailyValue>>>(body).ok()?;
        let Top { values, status } = top.checked()?;
        let mut pager = parse::Pager::new(status, start, end);
        for v in values.0 {
            let (_, date) = instant(v.datetime?.0.as_ref())?;
            let amounts = hellowatt_snapshot::Amounts {
                co2_kg: v.co2.0,
                solar_production_kwh: v.solar_production_kwh.0,
                solar_production_eur: v.solar_production_eur.0,
                injection_kwh: v.injection_kwh.0,
                injection_eur: v.injection_eur.0,
                ..Default::default()
            };
            let reading =
                parse::reading(meter_id, date, &v.kwh.sorted(), &v.euros.sorted(), amounts);
            pager.add(reading.date, reading.date, reading);
        }
        Some(pager.page)
    }

    /// [`parse::curve`] from the answer's bytes, or `None` when only the
    /// `Value` way can tell (see the module doc).
    pub fn curve(body: &[u8], meter_id: &str, start: Date, end: Date) -> Option<Page<CurvePoint>> {
        if !enabled() {
            return None;
        }
        let Obj(top) = serde_json::from_slice::<Obj<RawTop<CurveValue>>>(body).ok()?;
        let top_gap = top.gap.clone();
        let Top { values, status } = top.checked()?;
        let mut pager = parse::Pager::new(status, start, end);
        for v in values.0 {
            let (at, date) = instant(v.datetime?.0.as_ref())?;
            let kwh = parse::sum(v.kwh.sorted().iter().map(|(_, k)| *k)).or(v.value_kwh.0);
            // The value's own interval, else the payload's, else 30 minutes.
            let minutes = match (&v.gap, &top_gap) {
                (Some(n), _) | (None, Some(n)) => parse::gap_minutes(n.as_u64())?,
                (None, None) => 30,
            };
            let point = CurvePoint {
                meter_id: meter_id.to_string(),
                start: at,
                date,
                minutes,
                kwh,
            };
            pager.add(date, at, point);
        }
        Some(pager.page)
    }

    /// Test builds that read renamed fields (`v2`, `values-renamed`) take the
    /// `Value` way only: this reading knows today's names.
    const ENABLED: bool = !(cfg!(feature = "v2") || cfg!(feature = "values-renamed"));

    /// Set by [`value_way_only`].
    static VALUE_WAY_ONLY: AtomicBool = AtomicBool::new(false);

    /// Benchmarks only: with `true`, every measure payload takes the `Value`
    /// way, as before this reading existed, so that the guest bench shows the
    /// native figure before and after in one run. Never set by the guest.
    #[doc(hidden)]
    pub fn value_way_only(yes: bool) {
        VALUE_WAY_ONLY.store(yes, Ordering::Relaxed);
    }

    fn enabled() -> bool {
        ENABLED && !VALUE_WAY_ONLY.load(Ordering::Relaxed)
    }

    /// A value's instant and its Europe/Paris day.
    fn instant(s: &str) -> Option<(i64, Date)> {
        let t = parse_timestamp(s).ok()?;
        Some((t, Date::paris_day_of(t)))
    }

    // ------------------------------------------------------------- payload

    /// The top of a measure payload: the values, and what the window's status
    /// is read from.
    #[derive(Deserialize)]
    #[serde(bound(deserialize = "V: Deserialize<'de>"))]
    struct RawTop<V> {
        #[serde(default, deserialize_with = "present")]
        values: Option<Values<V>>,
        #[serde(default, rename = "isFetchOngoing")]
        fetch_ongoing: Option<Value>,
        #[serde(default)]
        error: Option<Value>,
        /// The payload's interval (the curve's fallback for its values).
        #[serde(default, rename = "measureTimeGap")]
        gap: Option<Number>,
    }

    struct Top<V> {
        values: Values<V>,
        status: WindowStatus,
    }

    impl<V> RawTop<V> {
        /// The values (a payload without them is the `Value` way's to refuse)
        /// and the window's status, by [`parse::window_status`] itself.
        fn checked(self) -> Option<Top<V>> {
            let values = self.values?;
            let mut top = Map::new();
            if let Some(v) = self.fetch_ongoing {
                top.insert("isFetchOngoing".into(), v);
            }
            if let Some(v) = self.error {
                top.insert("error".into(), v);
            }
            let status = parse::window_status(&top, values.0.is_empty());
            Some(Top { values, status })
        }
    }

    /// One value of a daily payload: the fields `parse::daily_reading` reads.
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct DailyValue<'a> {
        #[serde(borrow, deserialize_with = "present")]
        datetime: Option<Text<'a>>,
        #[serde(borrow, rename = "kwhDetailed")]
        kwh: Detailed<'a>,
        #[serde(borrow, rename = "eurosDetailed")]
        euros: Detailed<'a>,
        #[serde(rename = "valueCo2")]
        co2: Num,
        #[serde(rename = "solarProductionValueKwh")]
        solar_production_kwh: Num,
        #[serde(rename = "solarProductionValueEur")]
        solar_production_eur: Num,
        #[serde(rename = "injectionValueKwh")]
        injection_kwh: Num,
        #[serde(rename = "injectionValueEur")]
        injection_eur: Num,
    }

    /// One value of the load curve: the fields `parse::curve` reads.
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct CurveValue<'a> {
        #[serde(borrow, deserialize_with = "present")]
        datetime: Option<Text<'a>>,
        #[serde(borrow, rename = "kwhDetailed")]
        kwh: Detailed<'a>,
        #[serde(rename = "valueKwh")]
        value_kwh: Num,
        #[serde(rename = "measureTimeGap")]
        gap: Option<Number>,
    }

    // ------------------------------------------------------- lenient pieces

    /// A field that, when present, must be read by its type even when `null`
    /// (an `Option` field would take `null` for absent).
    fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        T::deserialize(d).map(Some)
    }

    /// A JSON object read into `T`, never a list (serde's derived structs
    /// also take a list of their fields in order; the `Value` way does not).
    struct Obj<T>(T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = Obj<T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                    T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
                }
            }
            d.deserialize_map(V(PhantomData))
        }
    }

    /// The payload's list of values, each an object.
    struct Values<V>(Vec<V>);

    impl<'de, V: Deserialize<'de>> Deserialize<'de> for Values<V> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct L<V>(PhantomData<V>);
            impl<'de, V: Deserialize<'de>> Visitor<'de> for L<V> {
                type Value = Values<V>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a list of objects")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Values<V>, A::Error> {
                    // Bounded: a size hint comes from the input.
                    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                    while let Some(Obj(v)) = seq.next_element::<Obj<V>>()? {
                        out.push(v);
                    }
                    Ok(Values(out))
                }
            }
            d.deserialize_seq(L(PhantomData))
        }
    }

    /// A string, borrowed from the answer when it has no escapes.
    struct Text<'a>(Cow<'a, str>);

    impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Text<'a>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a string")
                }
                fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'a>, E> {
                    Ok(Text(Cow::Borrowed(s)))
                }
                fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'a>, E> {
                    Ok(Text(Cow::Owned(s.to_string())))
                }
            }
            d.deserialize_str(V(PhantomData))
        }
    }

    /// A number as [`parse`] reads one: a JSON number, a DRF decimal string,
    /// or `null` (no value). Anything else fails the typed reading.
    #[derive(Clone, Copy, Default)]
    struct Num(Option<f64>);

    struct NumVisitor;

    impl<'de> Visitor<'de> for NumVisitor {
        type Value = Num;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number, a decimal string or null")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Num, E> {
            Ok(Num(None))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Num, E> {
            Ok(Num(Number::from(n).as_f64()))
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Num, E> {
            Ok(Num(Number::from(n).as_f64()))
        }
        fn visit_f64<E: de::Error>(self, x: f64) -> Result<Num, E> {
            Ok(Num(Some(x)))
        }
        fn visit_str<E: de::Error>(self, t: &str) -> Result<Num, E> {
            match parse::decimal(t) {
                Some(x) => Ok(Num(Some(x))),
                None => Err(E::custom("not a decimal")),
            }
        }
    }

    impl<'de> Deserialize<'de> for Num {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(NumVisitor)
        }
    }

    /// A `{"<period>": number|null}` map (absent or `null`: empty), in the
    /// order it came.
    #[derive(Default)]
    struct Detailed<'a>(Vec<(Cow<'a, str>, Option<f64>)>);

    impl<'a> Detailed<'a> {
        /// As a `Value` map holds it: sorted by key, a repeated key's last
        /// value kept.
        fn sorted(mut self) -> Vec<(Cow<'a, str>, Option<f64>)> {
            // Today's site: one key or a few, in order, each once.
            if self.0.windows(2).all(|w| w[0].0 < w[1].0) {
                return self.0;
            }
            // Stable: the repeats of a key stay in the order they came.
            self.0.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(Cow<'a, str>, Option<f64>)> = Vec::with_capacity(self.0.len());
            for (k, v) in self.0 {
                match out.last_mut() {
                    Some(last) if last.0 == k => last.1 = v,
                    _ => out.push((k, v)),
                }
            }
            out
        }
    }

    impl<'de: 'a, 'a> Deserialize<'de> for Detailed<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Detailed<'a>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an object of numbers, or null")
                }
                fn visit_unit<E: de::Error>(self) -> Result<Detailed<'a>, E> {
                    Ok(Detailed::default())
                }
                fn visit_map<A: MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Detailed<'a>, A::Error> {
                    let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                    while let Some(Text(k)) = map.next_key::<Text<'a>>()? {
                        let Num(v) = map.next_value::<Num>()?;
                        out.push((k, v));
                    }
                    Ok(Detailed(out))
                }
            }
            d.deserialize_any(V(PhantomData))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::json;

        fn d(s: &str) -> Date {
            Date::parse(s).unwrap()
        }

        const M: &str = "01234567890123";

        /// The typed page, checked against the `Value` way's.
        fn both_daily(v: &Value) -> Option<Page<DailyReading>> {
            let body = serde_json::to_vec(v).unwrap();
            let (s, e) = (d("2026-01-01"), d("2026-01-31"));
            let typed = daily(&body, M, s, e)?;
            assert_eq!(Ok(&typed), parse::daily(v, M, s, e).as_ref());
            Some(typed)
        }

        #[test]
        fn every_shape_the_value_way_reads_alike_is_read_here() {
            if !ENABLED {
                // Test builds that rename fields take the `Value` way only.
                return;
            }
            let v = json!({
                "values": [
                    {"datetime": "2026-01-05T00:00:00+01:00",
                     "kwhDetailed": {"HP": "10.500", "HC": -0.25, "Weird": null},
                     "eurosDetailed": {"HP": 2, "subscription": "0.4500", "Other": 1.5},
                     "valueCo2": null, "injectionValueKwh": 3, "unknown": [1, {"a": 2}]},
                    {"datetime": "2026-01-06T00:00:00+01:00", "kwhDetailed": null},
                    {"datetime": "2026-01-06T12:00:00+01:00"},
                    {"datetime": "2025-12-31T00:00:00+01:00"}
                ],
                "isFetchOngoing": false, "error": null, "extra": {"x": 1}
            });
            let page = both_daily(&v).expect("read the typed way");
            assert_eq!(page.records.len(), 2);
            assert_eq!(page.duplicates, vec![d("2026-01-06")]);
            assert_eq!(page.outside, vec![d("2025-12-31")]);
            let statuses = [
                json!({"values": [], "isFetchOngoing": true}),
                json!({"values": [], "error": {"identifier": "x", "message": "y"}}),
                json!({"values": [], "error": "down"}),
                json!({"values": [], "isFetchOngoing": "yes"}),
            ];
            for v in statuses {
                assert!(both_daily(&v).is_some(), "{v}");
            }
        }

        #[test]
        fn a_repeated_or_escaped_period_key_reads_as_a_value_map_holds_it() {
            if !ENABLED {
                // Test builds that rename fields take the `Value` way only.
                return;
            }
            let body = br#"{"values": [{"datetime": "2026-01-05T00:00:00+01:00",
                "kwhDetailed": {"HP": 1.0, "H\u0043": 2.0, "HP": 3.0, "Base": 0.5}}]}"#;
            let v: Value = serde_json::from_slice(body).unwrap();
            let (s, e) = (d("2026-01-01"), d("2026-01-31"));
            let typed = daily(body, M, s, e).expect("read the typed way");
            assert_eq!(Ok(&typed), parse::daily(&v, M, s, e).as_ref());
            let keys: Vec<_> = typed.records[0]
                .periods
                .iter()
                .map(|p| (p.period.as_str(), p.kwh))
                .collect();
            assert_eq!(
                keys,
                vec![("Base", Some(0.5)), ("HC", Some(2.0)), ("HP", Some(3.0))]
            );
        }

        #[test]
        fn what_the_value_way_must_judge_is_left_to_it() {
            let (s, e) = (d("2026-01-01"), d("2026-01-31"));
            let bodies: [&[u8]; 13] = [
                br#"[]"#,
                br#"[[{"datetime": "2026-01-05T00:00:00+01:00"}]]"#,
                br#"{"isFetchOngoing": false}"#,
                br#"{"values": null}"#,
                br#"{"values": {}}"#,
                br#"{"values": [["2026-01-05T00:00:00+01:00"]]}"#,
                br#"{"values": [{"kwhDetailed": {}}]}"#,
                br#"{"values": [{"datetime": null}]}"#,
                br#"{"values": [{"datetime": "05/01/2026"}]}"#,
                br#"{"values": [{"datetime": "2026-01-05T00:00:00+01:00", "kwhDetailed": {"HP": "1,5"}}]}"#,
                br#"{"values": [{"datetime": "2026-01-05T00:00:00+01:00", "kwhDetailed": {"HP": true}}]}"#,
                br#"{"values": [{"datetime": "2026-01-05T00:00:00+01:00", "datetime": "2026-01-06T00:00:00+01:00"}]}"#,
                br#"{"values": [], "values": []}"#,
            ];
            for body in bodies {
                let text = String::from_utf8_lossy(body);
                assert!(daily(body, M, s, e).is_none(), "{text}");
                assert!(curve(body, M, s, e).is_none(), "{text}");
            }
            let co2 =
                br#"{"values": [{"datetime": "2026-01-05T00:00:00+01:00", "valueCo2": true}]}"#;
            assert!(daily(co2, M, s, e).is_none());
            // The curve's interval: whole minutes from 1 to 1440, else the
            // `Value` way says what is wrong.
            for gap in ["\"30\"", "30.0", "0", "1441", "-5"] {
                let body = format!(
                    r#"{{"values": [{{"datetime": "2026-01-05T00:00:00+01:00", "measureTimeGap": {gap}}}]}}"#
                );
                assert!(curve(body.as_bytes(), M, s, e).is_none(), "{gap}");
            }
        }

        #[test]
        fn curve_points_take_their_interval_from_the_value_then_the_payload() {
            if !ENABLED {
                // Test builds that rename fields take the `Value` way only.
                return;
            }
            let v = json!({"values": [
                {"datetime": "2026-03-29T01:30:00+01:00", "kwhDetailed": {"Base": 0.25}, "measureTimeGap": 10},
                {"datetime": "2026-03-29T03:00:00+02:00", "kwhDetailed": {"Base": null}, "valueKwh": "0.5"},
                {"datetime": "2026-03-29T03:30:00+02:00", "valueKwh": 0.5, "measureTimeGap": null},
                {"datetime": "2026-03-29T03:30:00+02:00", "valueKwh": 0.75},
                {"datetime": "2026-03-30T00:00:00+02:00", "kwhDetailed": {"Base": 1.0}}
            ], "measureTimeGap": 15});
            let body = serde_json::to_vec(&v).unwrap();
            let day = d("2026-03-29");
            let typed = curve(&body, M, day, day).expect("read the typed way");
            assert_eq!(Ok(&typed), parse::curve(&v, M, day, day).as_ref());
            let got: Vec<_> = typed.records.iter().map(|p| (p.minutes, p.kwh)).collect();
            assert_eq!(
                got,
                vec![(10, Some(0.25)), (15, Some(0.5)), (15, Some(0.5))]
            );
            assert_eq!(typed.duplicates, vec![day]);
            assert_eq!(typed.outside, vec![d("2026-03-30")]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn pv(period: &str, kwh: Option<f64>) -> PeriodValue {
        PeriodValue {
            period: period.into(),
            kwh,
            eur: None,
        }
    }

    /// The subscribed power under any of its names and forms; what is not
    /// a power is no power, and never costs the contract.
    #[test]
    fn a_contracts_subscribed_power_in_any_form() {
        let contract = |extra: serde_json::Value| {
            let mut c = json!({"energyType": "electricity", "contractState": "actual"});
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            contracts(&json!([c]), "1")
                .unwrap()
                .remove(0)
                .subscribed_kva
        };
        assert_eq!(contract(json!({"subscribedPowerKva": 9})), Some(9.0));
        assert_eq!(contract(json!({"subscribedPower": "12 kVA"})), Some(12.0));
        assert_eq!(contract(json!({"puissanceSouscrite": "6,0kVA"})), Some(6.0));
        assert_eq!(contract(json!({"powerKva": 36.0})), Some(36.0));
        assert_eq!(contract(json!({})), None);
        assert_eq!(contract(json!({"subscribedPowerKva": null})), None);
        assert_eq!(contract(json!({"subscribedPowerKva": 0})), None);
        assert_eq!(contract(json!({"subscribedPowerKva": 9000})), None);
        assert_eq!(contract(json!({"subscribedPowerKva": "nine"})), None);
        assert_eq!(contract(json!({"subscribedPowerKva": {"value": 9}})), None);
    }

    #[test]
    fn decimals_written_as_strings_are_numbers() {
        let v = json!({
            "values": [{
                "datetime": "2026-01-05T00:00:00+01:00",
                "kwhDetailed": {"HP": "10.500", "HC": "-0.25"},
                "eurosDetailed": {"HP": "2", "subscription": "0.4500"}
            }],
            "isFetchOngoing": false
        });
        let page = daily(&v, "01234567890123", d("2026-01-01"), d("2026-01-31")).unwrap();
        let r = &page.records[0];
        assert_eq!(r.amounts.kwh, Some(10.25));
        assert_eq!(r.amounts.eur, Some(2.0));
        assert_eq!(r.amounts.subscription_eur, Some(0.45));
        for bad in ["1e3", "NaN", " 1", "1.", ".5", "inf", ""] {
            let v = json!({"values": [{"datetime": "2026-01-05T00:00:00+01:00",
                                        "kwhDetailed": {"HP": bad}}]});
            assert!(
                daily(&v, "m", d("2026-01-01"), d("2026-01-31")).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn daily_sums_every_key_and_keeps_the_subscription_apart() {
        let v = json!({
            "values": [{
                "datetime": "2026-01-05T00:00:00+01:00",
                "kwhDetailed": {"HP": 10.5, "HC": 4.5, "Weird-new-key": 1.0},
                "eurosDetailed": {"HP": 2.0, "HC": 0.5, "subscription": 0.45, "Weird-new-key": 0.25},
                "valueCo2": 0.8,
                "injectionValueKwh": 3.2, "injectionValueEur": 0.4,
                "solarProductionValueKwh": 5.1, "solarProductionValueEur": 0.0
            }],
            "isFetchOngoing": false
        });
        let page = daily(&v, "01234567890123", d("2026-01-01"), d("2026-01-31")).unwrap();
        assert_eq!(page.status, WindowStatus::Complete);
        let r = &page.records[0];
        assert_eq!(r.date, d("2026-01-05"));
        assert_eq!(r.amounts.kwh, Some(16.0));
        assert_eq!(r.amounts.eur, Some(2.75));
        assert_eq!(r.amounts.subscription_eur, Some(0.45));
        assert_eq!(r.periods.len(), 3);
        assert!(r.periods.iter().all(|p| p.period != "subscription"));
        assert_eq!(r.amounts.co2_kg, Some(0.8));
        assert_eq!(r.amounts.injection_kwh, Some(3.2));
        assert_eq!(r.amounts.solar_production_kwh, Some(5.1));
        assert_eq!(r.amounts.solar_production_eur, Some(0.0));
    }

    #[test]
    fn null_is_not_zero() {
        let v = json!({"values": [
            {"datetime": "2026-01-05T00:00:00+01:00",
             "kwhDetailed": {"HP": null, "HC": 3.0},
             "eurosDetailed": {"HP": null, "HC": null}},
            {"datetime": "2026-01-06T00:00:00+01:00",
             "kwhDetailed": {"Base": null}, "eurosDetailed": null},
            {"datetime": "2026-01-07T00:00:00+01:00"}
        ]});
        let page = daily(&v, "m", d("2026-01-01"), d("2026-01-31")).unwrap();
        let [a, b, c] = &page.records[..] else {
            panic!()
        };
        assert_eq!(a.amounts.kwh, Some(3.0));
        assert_eq!(a.amounts.eur, None);
        assert_eq!(
            a.periods.iter().find(|p| p.period == "HP").unwrap().kwh,
            None
        );
        assert_eq!(b.amounts.kwh, None);
        assert_eq!(b.periods, vec![pv("Base", None)]);
        assert_eq!(
            (
                c.amounts.kwh,
                c.amounts.eur,
                c.amounts.subscription_eur,
                c.amounts.co2_kg
            ),
            (None, None, None, None)
        );
        assert!(c.periods.is_empty());
    }

    #[test]
    fn euro_only_keys_become_periods() {
        let v = json!({"datetime": "2026-01-05T00:00:00+01:00",
                       "kwhDetailed": {"HP": 1.0}, "eurosDetailed": {"HC": 0.5}});
        let r = daily_reading(&v, "values[0]", "m").unwrap();
        assert_eq!(r.periods.len(), 2);
        assert_eq!(r.amounts.kwh, Some(1.0));
        assert_eq!(r.amounts.eur, Some(0.5));
    }

    #[test]
    fn days_are_paris_dates_and_the_window_is_enforced() {
        let v = json!({"values": [
            // 23:00 UTC the day before is midnight in Paris.
            {"datetime": "2026-01-31T23:00:00Z", "kwhDetailed": {"Base": 1.0}},
            {"datetime": "2026-01-31T00:00:00+01:00", "kwhDetailed": {"Base": 2.0}},
            {"datetime": "2026-01-31T12:00:00+01:00", "kwhDetailed": {"Base": 3.0}},
            {"datetime": "2025-12-31T00:00:00+01:00", "kwhDetailed": {"Base": 4.0}}
        ]});
        let page = daily(&v, "m", d("2026-01-01"), d("2026-01-31")).unwrap();
        assert_eq!(page.records.len(), 1);
        assert_eq!(page.records[0].amounts.kwh, Some(2.0));
        assert_eq!(page.outside, vec![d("2026-02-01"), d("2025-12-31")]);
        assert_eq!(page.duplicates, vec![d("2026-01-31")]);
    }

    #[test]
    fn shape_errors_say_where_and_what() {
        let e = |v: Value| {
            daily(&v, "m", d("2026-01-01"), d("2026-01-31"))
                .unwrap_err()
                .0
        };
        assert_eq!(
            e(json!({"isFetchOngoing": false})),
            "missing field \"values\""
        );
        assert_eq!(e(json!([])), "expected an object, found a list of 0 items");
        assert_eq!(
            e(json!({"values": {}})),
            "values: expected a list, found an object"
        );
        assert_eq!(
            e(json!({"values": [{"datetime": "2026-01-05T00:00:00+01:00",
                                   "kwhDetailed": {"HP": "1,5"}}]})),
            "values[0].kwhDetailed.HP: expected a number or null, found the string \"1,5\""
        );
        assert_eq!(
            e(json!({"values": [{"kwhDetailed": {}}]})),
            "values[0]: missing field \"datetime\""
        );
        assert_eq!(
            e(json!({"values": [{"datetime": "05/01/2026"}]})),
            "values[0].datetime: expected a timestamp with an offset, found the string \"05/01/2026\""
        );
    }

    #[test]
    fn window_statuses() {
        let st = |v: Value| {
            daily(&v, "m", d("2026-01-01"), d("2026-01-31"))
                .unwrap()
                .status
        };
        assert_eq!(st(json!({"values": []})), WindowStatus::Complete);
        assert_eq!(
            st(
                json!({"values": [], "error": {"identifier": "no_consent", "message": "Pas de consentement"}})
            ),
            WindowStatus::SiteError("no_consent: Pas de consentement".into())
        );
        assert_eq!(
            st(json!({"values": [], "error": null})),
            WindowStatus::Complete
        );
        assert_eq!(
            st(json!({"values": [], "isFetchOngoing": true})),
            WindowStatus::FetchOngoing
        );
        // Values given with an error beside them: the values count.
        let v = json!({"values": [{"datetime": "2026-01-05T00:00:00+01:00"}],
                       "error": {"identifier": "x", "message": "y"}});
        assert_eq!(st(v), WindowStatus::Complete);
    }

    #[test]
    fn tempo_rule() {
        use TempoColour::*;
        // HP decides.
        let p = [
            pv("Tempo-blue-HC", Some(3.0)),
            pv("Tempo-white-HP", Some(8.0)),
            pv("Tempo-white-HC", Some(2.0)),
        ];
        assert_eq!(tempo_colour(&p), Some(White));
        // No HP energy: the only colour with energy.
        let p = [
            pv("Tempo-red-HC", Some(3.0)),
            pv("Tempo-red-HP", Some(0.0)),
            pv("Tempo-blue-HP", None),
        ];
        assert_eq!(tempo_colour(&p), Some(Red));
        // Ambiguous: HC of two colours, no HP.
        let p = [
            pv("Tempo-blue-HC", Some(3.0)),
            pv("Tempo-white-HC", Some(2.0)),
        ];
        assert_eq!(tempo_colour(&p), None);
        // Two HP colours: no record either.
        let p = [
            pv("Tempo-blue-HP", Some(3.0)),
            pv("Tempo-red-HP", Some(2.0)),
        ];
        assert_eq!(tempo_colour(&p), None);
        // Not Tempo, or no energy at all.
        assert_eq!(
            tempo_colour(&[pv("HP", Some(3.0)), pv("HC", Some(1.0))]),
            None
        );
        assert_eq!(tempo_colour(&[pv("Tempo-blue-HP", Some(0.0))]), None);
        assert_eq!(tempo_colour(&[pv("Tempo-purple-HP", Some(1.0))]), None);
    }

    #[test]
    fn curve_points() {
        let v = json!({"values": [
            {"datetime": "2026-03-29T01:30:00+01:00", "kwhDetailed": {"Base": 0.25}, "measureTimeGap": 30},
            {"datetime": "2026-03-29T03:00:00+02:00", "kwhDetailed": {"Base": null}, "measureTimeGap": 30},
            {"datetime": "2026-03-29T03:30:00+02:00", "valueKwh": 0.5, "measureTimeGap": 10},
            {"datetime": "2026-03-30T00:00:00+02:00", "kwhDetailed": {"Base": 1.0}, "measureTimeGap": 30}
        ]});
        let page = curve(&v, "m", d("2026-03-29"), d("2026-03-29")).unwrap();
        assert_eq!(page.records.len(), 3);
        assert_eq!(page.outside, vec![d("2026-03-30")]);
        let p = &page.records[0];
        assert_eq!(p.start, parse_timestamp("2026-03-29T00:30:00Z").unwrap());
        assert_eq!(
            (p.date, p.minutes, p.kwh),
            (d("2026-03-29"), 30, Some(0.25))
        );
        assert_eq!(page.records[1].kwh, None);
        assert_eq!(
            (page.records[2].minutes, page.records[2].kwh),
            (10, Some(0.5))
        );
        let bad =
            json!({"values": [{"datetime": "2026-03-29T01:30:00+01:00", "measureTimeGap": "30"}]});
        assert_eq!(
            curve(&bad, "m", d("2026-03-29"), d("2026-03-29"))
                .unwrap_err()
                .0,
            "values[0].measureTimeGap: expected minutes (1 to 1440), found the string \"30\""
        );
    }

    #[test]
    fn homes_and_meters() {
        let v = json!([
            {"id": 123456, "address": "1 rue de l'Exemple", "area": {"postalCode": "75001", "name": "Paris"},
             "enedisHome": {"pdl": "01234567890123"}, "grdfHome": {"pce": "GI000001"}},
            {"id": 234567, "address": null, "area": null, "enedisHome": {"pdl": "09876543210987"}, "grdfHome": null},
            {"id": "345678", "enedisHome": null, "grdfHome": {"pce": null}}
        ]);
        let h = homes(&v).unwrap();
        assert_eq!(h[0].home.id, "123456");
        assert_eq!(h[0].home.city.as_deref(), Some("Paris"));
        assert_eq!(h[0].home.meters.len(), 2);
        assert_eq!(h[0].gas_meter, "GI000001");
        assert_eq!(
            h[1].home.meters,
            vec![Meter {
                id: "09876543210987".into(),
                energy: Energy::Electricity
            }]
        );
        assert_eq!(h[1].gas_meter, "234567-gas");
        assert_eq!(h[2].pdl, None);
        assert_eq!(h[2].gas_meter, "345678-gas");
        assert!(!h[2].gas_named);
        // An unnamed gas meter is listed only once readings come (the flow).
        assert!(h[2].home.meters.is_empty());
        assert_eq!(
            homes(&json!({"homes": []})).unwrap_err().0,
            "expected a list, found an object"
        );
        assert_eq!(
            homes(&json!([{"address": "x"}])).unwrap_err().0,
            "[0]: missing field \"id\""
        );
        assert_eq!(
            homes(&json!({"results": [{"id": 1}]})).unwrap()[0].home.id,
            "1"
        );
    }

    #[test]
    fn contract_fields() {
        let v = json!([
            {"energyType": "electricity", "contractState": "actual",
             "provider": {"name": "EDF"}, "offer": {"name": "Tempo"}},
            {"kind": "GAZ_NATUREL", "contractState": "terminated", "provider": null},
            {"contractState": "actual"}
        ]);
        let c = contracts(&v, "123456").unwrap();
        assert_eq!(c[0].energy, Some(Energy::Electricity));
        assert!(c[0].active);
        assert_eq!(c[0].provider.as_deref(), Some("EDF"));
        assert_eq!(c[0].offer.as_deref(), Some("Tempo"));
        assert_eq!(c[1].energy, Some(Energy::Gas));
        assert!(!c[1].active);
        assert_eq!(c[1].state, "terminated");
        assert_eq!(c[2].energy, None);
    }

    #[test]
    fn temperatures_in_range() {
        let v = json!({"values": [
            {"datetime": "2026-01-05T00:00:00+01:00", "valueCelsius": 4.5},
            {"datetime": "2026-01-06", "valueCelsius": -1.0},
            {"datetime": "2026-01-07T00:00:00+01:00", "valueCelsius": null},
            {"datetime": "2025-06-07T00:00:00+02:00", "valueCelsius": 20.0}
        ]});
        let page = temperatures(&v, "123456", d("2026-01-01"), d("2026-01-31")).unwrap();
        assert_eq!(page.records.len(), 2);
        assert_eq!(page.records[1].celsius, -1.0);
        assert!(
            page.records
                .iter()
                .all(|t| t.period == TemperaturePeriod::Day)
        );
        assert_eq!(page.outside, vec![d("2025-06-07")]);
    }

    #[test]
    fn temperature_points_are_days_or_months() {
        let at =
            |dates: &[&str]| -> Vec<(Date, f64)> { dates.iter().map(|s| (d(s), 5.0)).collect() };
        let (jan1, jan31) = (d("2026-01-01"), d("2026-01-31"));
        // Several points, every one on the 1st: months.
        assert_eq!(
            temperature_period(&at(&["2025-12-01", "2026-01-01"]), jan1, jan1),
            TemperaturePeriod::Month
        );
        // A lone 1st answering more than that day: a month (a daily series
        // would give a point per day).
        assert_eq!(
            temperature_period(&at(&["2026-01-01"]), jan1, jan31),
            TemperaturePeriod::Month
        );
        // A lone 1st answering that day alone: that day.
        assert_eq!(
            temperature_period(&at(&["2026-01-01"]), jan1, jan1),
            TemperaturePeriod::Day
        );
        // The same 1st twice is still one point.
        assert_eq!(
            temperature_period(&at(&["2026-01-01", "2026-01-01"]), jan1, jan1),
            TemperaturePeriod::Day
        );
        // One point off the 1st: days.
        assert_eq!(
            temperature_period(
                &at(&["2025-12-01", "2026-01-01", "2026-01-02"]),
                jan1,
                jan31
            ),
            TemperaturePeriod::Day
        );
        assert_eq!(temperature_period(&[], jan1, jan31), TemperaturePeriod::Day);
    }

    #[test]
    fn monthly_temperatures_are_kept_when_their_month_meets_the_window() {
        let v = json!({"values": [
            {"datetime": "2025-12-01T00:00:00+01:00", "valueCelsius": 5.5},
            {"datetime": "2026-01-01T00:00:00+01:00", "valueCelsius": 4.0},
            {"datetime": "2026-02-01T00:00:00+01:00", "valueCelsius": null},
            {"datetime": "2026-03-01T00:00:00+01:00", "valueCelsius": 8.5},
            {"datetime": "2026-04-01T00:00:00+02:00", "valueCelsius": 11.0}
        ]});
        let page = temperatures(&v, "123456", d("2026-01-15"), d("2026-03-01")).unwrap();
        let got: Vec<_> = page
            .records
            .iter()
            .map(|t| (t.date.to_string(), t.period, t.celsius))
            .collect();
        assert_eq!(
            got,
            vec![
                ("2026-01-01".to_string(), TemperaturePeriod::Month, 4.0),
                ("2026-03-01".to_string(), TemperaturePeriod::Month, 8.5),
            ]
        );
        assert_eq!(page.outside, vec![d("2025-12-01"), d("2026-04-01")]);
    }
}
