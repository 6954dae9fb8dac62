//! The host's check of what a guest returns, before anything is stored.
//!
//! A guest is third-party code: its records are data from outside. This
//! part owns the plausibility rules (dates inside the asked window, finite
//! numbers in physical ranges, bounded text and counts) and names the first
//! record and field that break one. It must never repair a record: a
//! snapshot is stored whole or not at all.
//!
//! What is out of range, and why (see `docs/hardening.md`):
//! - energy (every `*_kwh`, each period's kWh, `co2_kg`, a curve point's
//!   kWh): finite and in `0..=MAX_KWH`. Injection is the energy exported to
//!   the grid and solar production a total: both are quantities, never
//!   negative (the direction is in the field's name);
//! - money (every `*_eur`): finite and within `±MAX_EUR`; negative is
//!   allowed (a credit, a regularisation, injection earnings);
//! - temperatures: finite, −60..=60 °C (outdoors in France);
//! - a contract's subscribed power: finite, above 0 and at most
//!   `MAX_KVA`; EcoWatt levels 1..=3 for a day, 0..=3 for an hour, each
//!   hour later than the one before and inside its day;
//! - days: inside the asked window (Tempo: one day past it, for tomorrow;
//!   a month's mean temperature: its month meets the window),
//!   so a day in 1900 or 2100 is refused for any window the host asks; a
//!   curve point's start instant inside the window too, and on its day;
//! - ids: non-empty (the store keys rows by them), at most `MAX_ID` bytes,
//!   and of the shape the site gives them: a home id is an integer, a
//!   meter its 14-digit PDL or PCE (or `GI` and 6 digits, or `<home
//!   id>-gas`), a tariff period a bounded name, a window's subject one of
//!   these, `tempo` or `ecowatt` (an id of another shape could carry other
//!   data out);
//!   free text at most `MAX_TEXT` bytes (a failed part's error: each of
//!   its texts); an API version at most 32 letters, digits, dots and
//!   dashes; no control characters, zero-width
//!   characters or bidirectional overrides;
//! - counts: at most `MAX_RECORDS` records, counting meters and tariff
//!   periods (a list inside a record is as costly to store as a list of
//!   records).

use hellowatt_snapshot::{DataKind, Date, Snapshot, SyncError, TemperaturePeriod, WindowStatus};

/// More records than a month of every kind for a few meters: a guest that
/// returns this much is broken or hostile.
const MAX_RECORDS: usize = 200_000;
const MAX_ID: usize = 64;
const MAX_TEXT: usize = 1_000;
/// The largest subscribed power of a supply on the low-voltage grid
/// (a business's "tarif jaune" goes to 250 kVA).
const MAX_KVA: f64 = 250.0;
/// No household meter reads a megawatt-hour a day; a value above is garbage.
const MAX_KWH: f64 = 1_000_000.0;
const MAX_EUR: f64 = 1_000_000.0;

fn in_window(what: &str, d: Date, start: Date, end: Date) -> Result<(), String> {
    if d < start || d > end {
        return Err(format!(
            "{what}: day {d} is outside the asked window {start}..{end}"
        ));
    }
    Ok(())
}

fn energy(what: &str, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(x) if !x.is_finite() || !(0.0..=MAX_KWH).contains(&x) => {
            Err(format!("{what}: {x} kWh is not a plausible energy"))
        }
        _ => Ok(()),
    }
}

fn money(what: &str, v: Option<f64>) -> Result<(), String> {
    match v {
        Some(x) if !x.is_finite() || x.abs() > MAX_EUR => {
            Err(format!("{what}: {x} EUR is not a plausible amount"))
        }
        _ => Ok(()),
    }
}

/// `s` cut to `MAX_ID` bytes, to name a record in a message: an id of
/// many MiB must not make a message (stored with the run) as large.
fn label(s: &str) -> String {
    if s.len() <= MAX_ID {
        return s.to_string();
    }
    let mut end = MAX_ID;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// An identifier: the store keys rows by it, so it cannot be empty.
fn id(what: &str, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{what}: empty"));
    }
    text(what, s, MAX_ID)
}

fn text(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.len() > max {
        return Err(format!("{what}: {} characters, more than {max}", s.len()));
    }
    if s.chars().any(|c| c.is_control() || invisible(c)) {
        return Err(format!(
            "{what}: contains control characters (or invisible formatting ones)"
        ));
    }
    Ok(())
}

/// Zero-width characters and bidirectional overrides: printable text has
/// no use for them, and they hide what a string says from a reader.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// The longest home id: the site's are integers (six digits seen).
const MAX_HOME_DIGITS: usize = 12;
/// The longest name of a tariff period the site does not use today.
const MAX_PERIOD: usize = 32;

fn digits(s: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

// The shapes of the site's identifiers (site notes, "GET /api/homes"):
// anything else is no identifier the site sends, and could carry other
// data out (a password in a meter id). The messages never quote the
// value, for the same reason.

/// A home id: an integer.
fn home_id(what: &str, s: &str) -> Result<(), String> {
    id(what, s)?;
    if digits(s, 1..=MAX_HOME_DIGITS) {
        return Ok(());
    }
    Err(format!(
        "{what}: not a home id (digits, at most {MAX_HOME_DIGITS})"
    ))
}

/// A meter id: the 14-digit PDL (electricity) or PCE (gas; also `GI` and 6
/// digits in its older form), or `<home id>-gas` for a gas meter the site
/// does not name.
fn meter_id(what: &str, s: &str) -> Result<(), String> {
    id(what, s)?;
    if digits(s, 14..=14)
        || s.strip_prefix("GI").is_some_and(|n| digits(n, 6..=6))
        || s.strip_suffix("-gas")
            .is_some_and(|h| digits(h, 1..=MAX_HOME_DIGITS))
    {
        return Ok(());
    }
    Err(format!(
        "{what}: not a meter id (a 14-digit PDL or PCE, GI and 6 digits, or <home id>-gas)"
    ))
}

/// A tariff period key: the site's (`Base`, `HP`, `HC`,
/// `Tempo-<colour>-HP|HC`) or the name of a tariff it may add: letters,
/// digits, `-` and `_`, at most `MAX_PERIOD`.
fn period_key(what: &str, s: &str) -> Result<(), String> {
    id(what, s)?;
    if s.len() <= MAX_PERIOD
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(());
    }
    Err(format!(
        "{what}: not a tariff period (letters, digits, '-' and '_', at most {MAX_PERIOD})"
    ))
}

/// What a window is about: a meter, a home, or the Tempo calendar.
fn subject(what: &str, s: &str) -> Result<(), String> {
    if s == "tempo" || s == "ecowatt" || meter_id(what, s).is_ok() || home_id(what, s).is_ok() {
        return Ok(());
    }
    id(what, s)?;
    Err(format!(
        "{what}: not a meter id, a home id, \"tempo\" or \"ecowatt\""
    ))
}

/// Checks that a snapshot holds no record of a kind only another slot
/// provides unless it was asked for: EcoWatt days come from the EcoWatt
/// guest alone, so a guest in another slot cannot write RTE's signals.
/// (Homes come with every helloWatt snapshot, and Tempo days from tariff
/// keys with the daily readings: those kinds are the helloWatt guest's.)
pub fn asked(s: &Snapshot, kinds: &[DataKind]) -> Result<(), String> {
    if !s.ecowatt.is_empty() && !kinds.contains(&DataKind::Ecowatt) {
        return Err(format!(
            "{} EcoWatt day(s) returned, but the host did not ask for EcoWatt signals: a guest \
             returns only the kinds it is asked for",
            s.ecowatt.len()
        ));
    }
    Ok(())
}

/// Checks a snapshot returned for the window `[start, end]`./// Checks a snapshot returned for the window `[start, end]`.
pub fn snapshot(s: &Snapshot, start: Date, end: Date) -> Result<(), String> {
    // Meters and periods count too: a home with a million meters is as
    // costly to store as a million homes.
    let count = s.homes.len()
        + s.homes.iter().map(|h| h.meters.len()).sum::<usize>()
        + s.contracts.len()
        + s.daily.len()
        + s.daily.iter().map(|r| r.periods.len()).sum::<usize>()
        + s.curve.len()
        + s.temperatures.len()
        + s.tempo_days.len()
        + s.ecowatt.len()
        + s.ecowatt.iter().map(|d| d.hours.len()).sum::<usize>()
        + s.windows.len();
    if count > MAX_RECORDS {
        return Err(format!(
            "{count} records in one window (meters and tariff periods included), \
             more than the cap of {MAX_RECORDS}"
        ));
    }
    for h in &s.homes {
        home_id("home id", &h.id)?;
        for (what, v) in [
            ("home address", &h.address),
            ("home postal code", &h.postal_code),
            ("home city", &h.city),
        ] {
            if let Some(v) = v {
                text(what, v, MAX_TEXT)?;
            }
        }
        for m in &h.meters {
            meter_id(&format!("home {} meter id", label(&h.id)), &m.id)?;
        }
    }
    for c in &s.contracts {
        home_id("contract home id", &c.home_id)?;
        text("contract state", &c.state, MAX_TEXT)?;
        for v in [&c.provider, &c.offer].into_iter().flatten() {
            text("contract text", v, MAX_TEXT)?;
        }
        if let Some(kva) = c.subscribed_kva
            && !(kva.is_finite() && kva > 0.0 && kva <= MAX_KVA)
        {
            return Err(format!(
                "contract of home {}: a subscribed power of {kva} kVA (a supply is 1 to \
                 {MAX_KVA} kVA)",
                label(&c.home_id)
            ));
        }
    }
    for r in &s.daily {
        let what = format!("daily reading {} {}", label(&r.meter_id), r.date);
        meter_id(&format!("{what} meter id"), &r.meter_id)?;
        in_window(&what, r.date, start, end)?;
        for p in &r.periods {
            period_key(&format!("{what} period name"), &p.period)?;
            energy(&format!("{what} period {}", p.period), p.kwh)?;
            money(&format!("{what} period {}", p.period), p.eur)?;
        }
        for (field, v) in [
            ("kwh", r.amounts.kwh),
            ("co2_kg", r.amounts.co2_kg),
            ("solar_production_kwh", r.amounts.solar_production_kwh),
            ("injection_kwh", r.amounts.injection_kwh),
        ] {
            energy(&format!("{what} {field}"), v)?;
        }
        for (field, v) in [
            ("eur", r.amounts.eur),
            ("subscription_eur", r.amounts.subscription_eur),
            ("solar_production_eur", r.amounts.solar_production_eur),
            ("injection_eur", r.amounts.injection_eur),
        ] {
            money(&format!("{what} {field}"), v)?;
        }
    }
    for p in &s.curve {
        let what = format!("curve point {} at {}", label(&p.meter_id), p.start);
        meter_id(&format!("{what} meter id"), &p.meter_id)?;
        in_window(&what, p.date, start, end)?;
        // The start instant must lie inside the window before any calendar
        // arithmetic on it: an instant near `i64::MAX` would overflow it.
        let (first, after) = (start.paris_midnight_utc(), end.succ().paris_midnight_utc());
        if p.start < first || p.start >= after {
            return Err(format!(
                "{what}: starts outside the asked window {start}..{end}"
            ));
        }
        if Date::paris_day_of(p.start) != p.date {
            return Err(format!(
                "{what}: starts on {}, not on its day {}",
                Date::paris_day_of(p.start),
                p.date
            ));
        }
        if p.minutes == 0 || p.minutes > 1440 {
            return Err(format!("{what}: an interval of {} minutes", p.minutes));
        }
        energy(&what, p.kwh)?;
    }
    for t in &s.temperatures {
        let what = format!("temperature {} {}", label(&t.home_id), t.date);
        home_id(&format!("{what} home id"), &t.home_id)?;
        match t.period {
            TemperaturePeriod::Day => in_window(&what, t.date, start, end)?,
            TemperaturePeriod::Month => {
                if t.date.day != 1 {
                    return Err(format!("{what}: a month's mean not dated its first day"));
                }
                if t.date > end || t.date.last_of_month() < start {
                    return Err(format!(
                        "{what}: the month is outside the asked window {start}..{end}"
                    ));
                }
            }
        }
        if !t.celsius.is_finite() || !(-60.0..=60.0).contains(&t.celsius) {
            return Err(format!(
                "{what}: {} °C is not an outdoor temperature in France",
                t.celsius
            ));
        }
    }
    for t in &s.tempo_days {
        // A Tempo service may announce tomorrow: allow one day past the window.
        if t.date < start || t.date > end.succ() {
            return Err(format!(
                "tempo day {}: outside the asked window {start}..{end}",
                t.date
            ));
        }
        if let Some(m) = &t.meter_id {
            meter_id("tempo day meter id", m)?;
        }
    }
    for d in &s.ecowatt {
        let what = format!("EcoWatt day {}", d.date);
        in_window(&what, d.date, start, end)?;
        if let Some(level) = d.level
            && !(1..=3).contains(&level)
        {
            return Err(format!("{what}: a day's level of {level} (1 to 3)"));
        }
        let (first, after) = (
            d.date.paris_midnight_utc(),
            d.date.succ().paris_midnight_utc(),
        );
        let mut previous = None;
        for h in &d.hours {
            if h.start < first || h.start >= after || previous.is_some_and(|p| h.start <= p) {
                return Err(format!(
                    "{what}: an hour starting at {} is not a later hour of the day",
                    h.start
                ));
            }
            if h.level > 3 {
                return Err(format!("{what}: an hour's level of {} (0 to 3)", h.level));
            }
            previous = Some(h.start);
        }
    }
    for w in &s.windows {
        subject("window subject", &w.subject)?;
        if let WindowStatus::SiteError(detail) | WindowStatus::NotAvailable(detail) = &w.status {
            text(
                &format!("window {} detail", label(&w.subject)),
                detail,
                MAX_TEXT,
            )?;
        }
        if let WindowStatus::Failed(e) = &w.status {
            for t in error_texts(e) {
                text(&format!("window {} error", label(&w.subject)), t, MAX_TEXT)?;
            }
        }
        if w.start > w.end || w.start < start || w.end > end {
            return Err(format!(
                "window {} {}..{}: not inside {start}..{end}",
                label(&w.subject),
                w.start,
                w.end
            ));
        }
    }
    if let Some(v) = &s.api_version {
        let shaped = (1..=32).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !shaped {
            return Err(format!(
                "api version {}: not a version (1 to 32 letters, digits, dots, dashes)",
                label(v)
            ));
        }
    }
    Ok(())
}

/// Every text an error carries.
fn error_texts(e: &SyncError) -> Vec<&str> {
    match e {
        SyncError::CredentialsRejected { detail }
        | SyncError::SessionLost { detail }
        | SyncError::ActionNeeded { detail }
        | SyncError::Transport { detail }
        | SyncError::Other { detail } => vec![detail],
        SyncError::RateLimited(r) => vec![&r.detail],
        SyncError::SiteUnavailable(u) => vec![&u.detail],
        SyncError::SiteChanged(c) => vec![&c.location, &c.detail],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hellowatt_snapshot::{
        Amounts, CurvePoint, DailyReading, Home, Meter, PeriodValue, Temperature, TempoColour,
        TempoDay, TempoSource,
    };

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn reading(date: &str, kwh: f64) -> DailyReading {
        DailyReading {
            meter_id: "01234567890123".into(),
            date: d(date),
            periods: vec![],
            amounts: Amounts {
                kwh: Some(kwh),
                ..Amounts::default()
            },
        }
    }

    #[test]
    fn accepts_plausible_and_refuses_the_rest() {
        let (a, b) = (d("2026-01-01"), d("2026-01-31"));
        let ok = Snapshot {
            daily: vec![reading("2026-01-05", 12.5)],
            ..Default::default()
        };
        assert!(snapshot(&ok, a, b).is_ok());
        for (bad, needle) in [
            (reading("2026-02-01", 1.0), "outside the asked window"),
            (reading("2026-01-05", -1.0), "plausible energy"),
            (reading("2026-01-05", f64::NAN), "plausible energy"),
        ] {
            let s = Snapshot {
                daily: vec![bad],
                ..Default::default()
            };
            let e = snapshot(&s, a, b).unwrap_err();
            assert!(e.contains(needle), "{e}");
        }
        let t = Snapshot {
            temperatures: vec![Temperature {
                home_id: "1".into(),
                date: d("2026-01-02"),
                period: hellowatt_snapshot::TemperaturePeriod::Day,
                celsius: 300.0,
            }],
            ..Default::default()
        };
        assert!(snapshot(&t, a, b).unwrap_err().contains("°C"));
        let c = Snapshot {
            curve: vec![CurvePoint {
                meter_id: "01234567890123".into(),
                start: d("2026-01-03").paris_midnight_utc(),
                date: d("2026-01-02"),
                minutes: 30,
                kwh: Some(0.2),
            }],
            ..Default::default()
        };
        assert!(snapshot(&c, a, b).unwrap_err().contains("not on its day"));
    }

    #[test]
    fn refuses_what_the_store_cannot_key_or_hold() {
        let (a, b) = (d("2026-01-01"), d("2026-01-31"));
        // An empty id: the store keys rows by it.
        let mut r = reading("2026-01-05", 1.0);
        r.meter_id.clear();
        let s = Snapshot {
            daily: vec![r],
            ..Default::default()
        };
        assert!(snapshot(&s, a, b).unwrap_err().contains("meter id: empty"));

        // A curve point at the end of time: refused before any calendar
        // arithmetic (which would overflow).
        for start in [i64::MAX, i64::MIN] {
            let s = Snapshot {
                curve: vec![CurvePoint {
                    meter_id: "01234567890123".into(),
                    start,
                    date: d("2026-01-02"),
                    minutes: 30,
                    kwh: Some(0.2),
                }],
                ..Default::default()
            };
            let e = snapshot(&s, a, b).unwrap_err();
            assert!(e.contains("starts outside the asked window"), "{e}");
        }

        // A window's detail is text like any other.
        let s = Snapshot {
            windows: vec![hellowatt_snapshot::Window {
                subject: "01234567890123".into(),
                kind: hellowatt_snapshot::DataKind::ElectricityDaily,
                start: a,
                end: a,
                status: WindowStatus::SiteError("x".repeat(5000)),
            }],
            ..Default::default()
        };
        assert!(
            snapshot(&s, a, b)
                .unwrap_err()
                .contains("window 01234567890123 detail")
        );

        // Periods count towards the record cap, and a huge id is not
        // copied whole into the message.
        let mut r = reading("2026-01-05", 1.0);
        r.periods = (0..MAX_RECORDS)
            .map(|i| hellowatt_snapshot::PeriodValue {
                period: format!("p{i}"),
                kwh: None,
                eur: None,
            })
            .collect();
        let s = Snapshot {
            daily: vec![r],
            ..Default::default()
        };
        assert!(
            snapshot(&s, a, b)
                .unwrap_err()
                .contains("more than the cap")
        );
        let mut r = reading("2026-02-05", 1.0);
        r.meter_id = "m".repeat(1 << 20);
        let s = Snapshot {
            daily: vec![r],
            ..Default::default()
        };
        let e = snapshot(&s, a, b).unwrap_err();
        assert!(e.len() < 300, "{} bytes", e.len());
    }

    /// A daily reading of 2026-01-05 (kWh 1) with one more value: `field`
    /// is a `DailyReading` field, or `period kwh` / `period eur` for the
    /// values of a tariff period `HC`.
    fn daily_with(field: &str, v: f64) -> Snapshot {
        let mut r = reading("2026-01-05", 1.0);
        let v = Some(v);
        match field {
            "kwh" => r.amounts.kwh = v,
            "co2_kg" => r.amounts.co2_kg = v,
            "solar_production_kwh" => r.amounts.solar_production_kwh = v,
            "injection_kwh" => r.amounts.injection_kwh = v,
            "eur" => r.amounts.eur = v,
            "subscription_eur" => r.amounts.subscription_eur = v,
            "solar_production_eur" => r.amounts.solar_production_eur = v,
            "injection_eur" => r.amounts.injection_eur = v,
            "period kwh" | "period eur" => {
                r.periods = vec![PeriodValue {
                    period: "HC".into(),
                    kwh: v.filter(|_| field == "period kwh"),
                    eur: v.filter(|_| field == "period eur"),
                }]
            }
            other => panic!("no field {other}"),
        }
        Snapshot {
            daily: vec![r],
            ..Default::default()
        }
    }

    fn home_with(address: String, meter_ids: Vec<String>) -> Snapshot {
        Snapshot {
            homes: vec![Home {
                id: "1".into(),
                address: Some(address),
                postal_code: None,
                city: None,
                meters: meter_ids
                    .into_iter()
                    .map(|id| Meter {
                        id,
                        energy: hellowatt_snapshot::Energy::Electricity,
                    })
                    .collect(),
            }],
            ..Default::default()
        }
    }

    /// Each bound of `docs/hardening.md` ("What is out of range, and why"),
    /// on both sides, with the figures written as the document gives them
    /// (not the constants: a changed constant must fail here until the
    /// document follows).
    #[test]
    fn bounds_are_where_the_doc_says() {
        let (a, b) = (d("2026-01-01"), d("2026-01-31"));
        let accepted = |s: &Snapshot, case: &str| {
            assert_eq!(snapshot(s, a, b), Ok(()), "{case}");
        };
        let refused = |s: &Snapshot, needle: &str| {
            let e = snapshot(s, a, b).expect_err(needle);
            assert!(e.contains(needle), "wanted {needle:?}, got {e}");
        };

        // Energy: finite, 0..=1 000 000 kWh, in every energy field (CO2
        // included).
        for (field, label) in [
            ("kwh", "2026-01-05 kwh"),
            ("co2_kg", "co2_kg"),
            ("solar_production_kwh", "solar_production_kwh"),
            ("injection_kwh", "injection_kwh"),
            ("period kwh", "period HC"),
        ] {
            for ok in [0.0, 1_000_000.0] {
                accepted(&daily_with(field, ok), &format!("{field} {ok}"));
            }
            for bad in ["-0.5", "1000001"] {
                let v: f64 = bad.parse().unwrap();
                refused(
                    &daily_with(field, v),
                    &format!("{label}: {bad} kWh is not a plausible energy"),
                );
            }
        }
        let point = |kwh: f64| Snapshot {
            curve: vec![CurvePoint {
                meter_id: "01234567890123".into(),
                start: d("2026-01-05").paris_midnight_utc(),
                date: d("2026-01-05"),
                minutes: 30,
                kwh: Some(kwh),
            }],
            ..Default::default()
        };
        accepted(&point(1_000_000.0), "curve point of 1e6 kWh");
        refused(&point(1_000_001.0), "1000001 kWh is not a plausible energy");

        // Money: finite, within ±1 000 000 EUR, negative allowed.
        for (field, label) in [
            ("eur", "2026-01-05 eur"),
            ("subscription_eur", "subscription_eur"),
            ("solar_production_eur", "solar_production_eur"),
            ("injection_eur", "injection_eur"),
            ("period eur", "period HC"),
        ] {
            for ok in [-5.0, -1_000_000.0, 1_000_000.0] {
                accepted(&daily_with(field, ok), &format!("{field} {ok}"));
            }
            for bad in ["-1000001", "1000001"] {
                let v: f64 = bad.parse().unwrap();
                refused(
                    &daily_with(field, v),
                    &format!("{label}: {bad} EUR is not a plausible amount"),
                );
            }
        }

        // Temperature: finite, −60..=60 °C.
        let temperature = |celsius: f64| Snapshot {
            temperatures: vec![Temperature {
                home_id: "1".into(),
                date: d("2026-01-05"),
                period: hellowatt_snapshot::TemperaturePeriod::Day,
                celsius,
            }],
            ..Default::default()
        };
        for ok in [-60.0, 60.0] {
            accepted(&temperature(ok), &format!("{ok} °C"));
        }
        for bad in ["-60.5", "60.5"] {
            let v: f64 = bad.parse().unwrap();
            refused(
                &temperature(v),
                &format!("{bad} °C is not an outdoor temperature in France"),
            );
        }

        // A contract's subscribed power: above 0, at most 250 kVA.
        let power = |kva: f64| Snapshot {
            contracts: vec![hellowatt_snapshot::Contract {
                home_id: "1".into(),
                energy: None,
                provider: None,
                offer: None,
                state: "actual".into(),
                active: true,
                subscribed_kva: Some(kva),
            }],
            ..Default::default()
        };
        for ok in [3.0, 9.0, 36.0, 250.0] {
            accepted(&power(ok), &format!("{ok} kVA"));
        }
        for bad in [0.0, -6.0, 250.5, f64::NAN, f64::INFINITY] {
            refused(&power(bad), "a subscribed power of");
        }

        // EcoWatt: a day in the window, its level 1..=3, hours of the day
        // in order at 0..=3.
        let ecowatt = |day: &str, level: Option<u8>, hours: &[(i64, u8)]| {
            let midnight = d(day).paris_midnight_utc();
            Snapshot {
                ecowatt: vec![hellowatt_snapshot::EcoWattDay {
                    date: d(day),
                    level,
                    hours: hours
                        .iter()
                        .map(|(h, level)| hellowatt_snapshot::EcoWattHour {
                            start: midnight + h * 3600,
                            level: *level,
                        })
                        .collect(),
                    generated_at: None,
                }],
                ..Default::default()
            }
        };
        accepted(
            &ecowatt("2026-01-05", Some(3), &[(0, 0), (1, 1), (23, 3)]),
            "EcoWatt",
        );
        accepted(&ecowatt("2026-01-05", None, &[]), "EcoWatt, no level yet");
        refused(
            &ecowatt("2026-02-05", Some(1), &[]),
            "outside the asked window",
        );
        refused(&ecowatt("2026-01-05", Some(0), &[]), "a day's level of 0");
        refused(&ecowatt("2026-01-05", Some(4), &[]), "a day's level of 4");
        refused(
            &ecowatt("2026-01-05", Some(1), &[(0, 4)]),
            "an hour's level of 4",
        );
        refused(
            &ecowatt("2026-01-05", Some(1), &[(1, 1), (1, 1)]),
            "not a later hour",
        );
        refused(
            &ecowatt("2026-01-05", Some(1), &[(24, 1)]),
            "not a later hour",
        );
        refused(
            &ecowatt("2026-01-05", Some(1), &[(-1, 1)]),
            "not a later hour",
        );

        // EcoWatt days only when asked for.
        let signals = ecowatt("2026-01-05", Some(1), &[]);
        assert_eq!(asked(&signals, &[DataKind::Ecowatt]), Ok(()));
        let e = asked(&signals, &[DataKind::Homes, DataKind::Tempo]).unwrap_err();
        assert!(e.contains("did not ask for EcoWatt"), "{e}");
        assert_eq!(asked(&Snapshot::default(), &[DataKind::Homes]), Ok(()));

        // Days: inside the asked window, both ends included; 1900 and 2100
        // refused like any day outside it.
        for ok in ["2026-01-01", "2026-01-31"] {
            let s = Snapshot {
                daily: vec![reading(ok, 1.0)],
                ..Default::default()
            };
            accepted(&s, ok);
        }
        for bad in ["2025-12-31", "2026-02-01", "1900-01-01", "2100-01-01"] {
            let s = Snapshot {
                daily: vec![reading(bad, 1.0)],
                ..Default::default()
            };
            refused(
                &s,
                &format!("day {bad} is outside the asked window 2026-01-01..2026-01-31"),
            );
        }
        // Tempo: one day past the window (tomorrow's colour), not two.
        let tempo = |day: &str| Snapshot {
            tempo_days: vec![TempoDay {
                date: d(day),
                colour: Some(TempoColour::Blue),
                source: TempoSource::Service,
                meter_id: None,
            }],
            ..Default::default()
        };
        accepted(&tempo("2026-02-01"), "Tempo, one day past the window");
        for bad in ["2026-02-02", "2025-12-31"] {
            refused(
                &tempo(bad),
                &format!("tempo day {bad}: outside the asked window"),
            );
        }
        // A curve point's instant: inside the window, on its own day.
        let at = |start: i64, date: &str| Snapshot {
            curve: vec![CurvePoint {
                meter_id: "01234567890123".into(),
                start,
                date: d(date),
                minutes: 30,
                kwh: Some(0.2),
            }],
            ..Default::default()
        };
        accepted(&at(a.paris_midnight_utc(), "2026-01-01"), "first instant");
        accepted(
            &at(b.succ().paris_midnight_utc() - 1800, "2026-01-31"),
            "last half-hour",
        );
        refused(
            &at(a.paris_midnight_utc() - 1800, "2026-01-01"),
            "starts outside the asked window",
        );
        refused(
            &at(b.succ().paris_midnight_utc(), "2026-01-31"),
            "starts outside the asked window",
        );

        // Ids: non-empty, at most 64 bytes (bytes, not characters), then
        // of the site's shapes.
        let meter = |id: String| {
            let mut r = reading("2026-01-05", 1.0);
            r.meter_id = id;
            Snapshot {
                daily: vec![r],
                ..Default::default()
            }
        };
        refused(&meter("m".repeat(64)), "meter id: not a meter id");
        refused(&meter("é".repeat(32)), "meter id: not a meter id");
        refused(
            &meter("m".repeat(65)),
            "meter id: 65 characters, more than 64",
        );
        refused(
            &meter("é".repeat(33)),
            "meter id: 66 characters, more than 64",
        );
        refused(&meter(String::new()), "meter id: empty");
        refused(
            &home_with("x".into(), vec![String::new()]),
            "home 1 meter id: empty",
        );
        // Free text: at most 1000 bytes.
        accepted(&home_with("a".repeat(1000), vec![]), "a 1000-byte address");
        refused(
            &home_with("a".repeat(1001), vec![]),
            "home address: 1001 characters, more than 1000",
        );
        refused(
            &Snapshot {
                homes: vec![Home {
                    id: String::new(),
                    address: None,
                    postal_code: None,
                    city: None,
                    meters: vec![],
                }],
                ..Default::default()
            },
            "home id: empty",
        );
        // Contract words and window details: the same 1000 bytes.
        let contract = |state: String, provider: String| Snapshot {
            contracts: vec![hellowatt_snapshot::Contract {
                home_id: "1".into(),
                energy: None,
                provider: Some(provider),
                offer: None,
                state,
                active: true,
                subscribed_kva: None,
            }],
            ..Default::default()
        };
        accepted(
            &contract("a".repeat(1000), "b".repeat(1000)),
            "1000-byte contract words",
        );
        refused(
            &contract("a".repeat(1001), "EDF".into()),
            "contract state: 1001 characters, more than 1000",
        );
        refused(
            &contract("actual".into(), "b".repeat(1001)),
            "contract text: 1001 characters, more than 1000",
        );
        let detail = |text: String| Snapshot {
            windows: vec![hellowatt_snapshot::Window {
                subject: "01234567890123".into(),
                kind: hellowatt_snapshot::DataKind::ElectricityDaily,
                start: a,
                end: b,
                status: WindowStatus::NotAvailable(text),
            }],
            ..Default::default()
        };
        accepted(&detail("x".repeat(1000)), "a 1000-byte window detail");
        refused(
            &detail("x".repeat(1001)),
            "window 01234567890123 detail: 1001 characters, more than 1000",
        );
        // No control characters, in text or in ids.
        for bad in [
            "1 rue\u{7}de la Paix",
            "1 rue\nde la Paix",
            "1 rue\tde la Paix",
        ] {
            refused(
                &home_with(bad.into(), vec![]),
                "home address: contains control characters",
            );
        }
        refused(
            &meter("0123\u{0}4567".into()),
            "meter id: contains control characters",
        );

        // Counts: at most 200 000 records, meters included.
        let days = |n: usize| Snapshot {
            tempo_days: vec![
                TempoDay {
                    date: a,
                    colour: None,
                    source: TempoSource::Service,
                    meter_id: None,
                };
                n
            ],
            ..Default::default()
        };
        accepted(&days(200_000), "200 000 records");
        refused(
            &days(200_001),
            "200001 records in one window (meters and tariff periods included), \
             more than the cap of 200000",
        );
        // One home and 199 999 meters are 200 000 records; one more meter
        // is past the cap.
        let meters = |n: usize| home_with("x".into(), (0..n).map(|i| format!("{i:014}")).collect());
        accepted(&meters(199_999), "1 home and 199 999 meters");
        refused(&meters(200_000), "200001 records in one window");
    }

    /// Identifiers have the shapes the site gives them (site notes), and a
    /// refusal names the rule, never the value: an identifier of another
    /// shape could carry a secret out, and its message is stored.
    #[test]
    fn identifiers_have_the_sites_shapes() {
        let (a, b) = (d("2026-01-01"), d("2026-01-31"));
        let home = |id: &str, meters: &[&str]| Snapshot {
            homes: vec![Home {
                id: id.into(),
                address: None,
                postal_code: None,
                city: None,
                meters: meters
                    .iter()
                    .map(|m| Meter {
                        id: (*m).into(),
                        energy: hellowatt_snapshot::Energy::Gas,
                    })
                    .collect(),
            }],
            ..Default::default()
        };
        let period = |name: &str| {
            let mut r = reading("2026-01-05", 1.0);
            r.periods = vec![PeriodValue {
                period: name.into(),
                kwh: Some(1.0),
                eur: None,
            }];
            Snapshot {
                daily: vec![r],
                ..Default::default()
            }
        };
        let window = |subject: &str| Snapshot {
            windows: vec![hellowatt_snapshot::Window {
                subject: subject.into(),
                kind: hellowatt_snapshot::DataKind::ElectricityDaily,
                start: a,
                end: b,
                status: WindowStatus::Complete,
            }],
            ..Default::default()
        };
        for ok in [
            home("193728", &["09517384620417", "GI012345", "193728-gas"]),
            home("1", &[]),
            home("123456789012", &[]),
            period("Base"),
            period("HP"),
            period("Tempo-red-HC"),
            period("Heures_Creuses-2"),
            period(&"P".repeat(32)),
            window("tempo"),
            window("ecowatt"),
            window("193728"),
            window("09517384620417"),
            window("193728-gas"),
        ] {
            assert!(
                snapshot(&ok, a, b).is_ok(),
                "{ok:?}: {:?}",
                snapshot(&ok, a, b)
            );
        }
        let secret = "Hunter2-S3cret";
        for (bad, rule) in [
            (home(secret, &[]), "home id: not a home id"),
            (home("1234567890123", &[]), "home id: not a home id"),
            (home("-1", &[]), "home id: not a home id"),
            (home("1", &[secret]), "home 1 meter id: not a meter id"),
            (home("1", &["0951738462041"]), "meter id: not a meter id"),
            (home("1", &["095173846204170"]), "meter id: not a meter id"),
            (home("1", &["GI12345"]), "meter id: not a meter id"),
            (home("1", &["abc-gas"]), "meter id: not a meter id"),
            (home("1", &["-gas"]), "meter id: not a meter id"),
            (
                period(secret.replace('-', " ").as_str()),
                "period name: not a tariff period",
            ),
            (period(&"P".repeat(33)), "period name: not a tariff period"),
            (
                window(secret),
                "window subject: not a meter id, a home id, \"tempo\" or \"ecowatt\"",
            ),
        ] {
            let e = snapshot(&bad, a, b).unwrap_err();
            assert!(e.contains(rule), "{e}");
            assert!(!e.contains("Hunter") && !e.contains("S3cret"), "{e}");
        }
        // Printable text: no zero-width characters or bidirectional
        // overrides either.
        for hidden in [
            "1 rue\u{202E}xiaP",
            "1\u{200B}rue",
            "\u{FEFF}1 rue",
            "1 rue\u{2066}x",
        ] {
            let e = snapshot(&home_with(hidden.into(), vec![]), a, b).unwrap_err();
            assert!(
                e.contains("home address: contains control characters"),
                "{e}"
            );
        }
    }
}
