//! The host's check of what a guest returns, before anything is stored.
//!
//! A guest is third-party code: its records are data from outside. This
//! part owns the plausibility rules (dates inside the asked window, finite
//! numbers in physical ranges, bounded text and counts) and names the first
//! record and field that break one. It must never repair a record: a
//! snapshot is stored whole or not at all.

use hellowatt_snapshot::{Date, Snapshot};

/// More records than a month of every kind for a few meters: a guest that
/// returns this much is broken or hostile.
const MAX_RECORDS: usize = 200_000;
const MAX_ID: usize = 64;
const MAX_TEXT: usize = 1_000;
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

fn text(what: &str, s: &str, max: usize) -> Result<(), String> {
    if s.len() > max {
        return Err(format!("{what}: {} characters, more than {max}", s.len()));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(format!("{what}: contains control characters"));
    }
    Ok(())
}

/// Checks a snapshot returned for the window `[start, end]`.
pub fn snapshot(s: &Snapshot, start: Date, end: Date) -> Result<(), String> {
    let count = s.homes.len()
        + s.contracts.len()
        + s.daily.len()
        + s.curve.len()
        + s.temperatures.len()
        + s.tempo_days.len()
        + s.windows.len();
    if count > MAX_RECORDS {
        return Err(format!(
            "{count} records in one window, more than {MAX_RECORDS}"
        ));
    }
    for h in &s.homes {
        text("home id", &h.id, MAX_ID)?;
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
            text("meter id", &m.id, MAX_ID)?;
        }
    }
    for c in &s.contracts {
        text("contract home id", &c.home_id, MAX_ID)?;
        text("contract state", &c.state, MAX_TEXT)?;
        for v in [&c.provider, &c.offer].into_iter().flatten() {
            text("contract text", v, MAX_TEXT)?;
        }
    }
    for r in &s.daily {
        let what = format!("daily reading {} {}", r.meter_id, r.date);
        text(&what, &r.meter_id, MAX_ID)?;
        in_window(&what, r.date, start, end)?;
        for p in &r.periods {
            text(&format!("{what} period name"), &p.period, MAX_ID)?;
            energy(&format!("{what} period {}", p.period), p.kwh)?;
            money(&format!("{what} period {}", p.period), p.eur)?;
        }
        for (field, v) in [
            ("kwh", r.kwh),
            ("co2_kg", r.co2_kg),
            ("solar_production_kwh", r.solar_production_kwh),
            ("injection_kwh", r.injection_kwh),
        ] {
            energy(&format!("{what} {field}"), v)?;
        }
        for (field, v) in [
            ("eur", r.eur),
            ("subscription_eur", r.subscription_eur),
            ("solar_production_eur", r.solar_production_eur),
            ("injection_eur", r.injection_eur),
        ] {
            money(&format!("{what} {field}"), v)?;
        }
    }
    for p in &s.curve {
        let what = format!("curve point {} at {}", p.meter_id, p.start);
        text(&what, &p.meter_id, MAX_ID)?;
        in_window(&what, p.date, start, end)?;
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
        let what = format!("temperature {} {}", t.home_id, t.date);
        text(&what, &t.home_id, MAX_ID)?;
        in_window(&what, t.date, start, end)?;
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
            text("tempo day meter id", m, MAX_ID)?;
        }
    }
    for w in &s.windows {
        text("window subject", &w.subject, MAX_ID)?;
        if w.start > w.end || w.start < start || w.end > end {
            return Err(format!(
                "window {} {}..{}: not inside {start}..{end}",
                w.subject, w.start, w.end
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hellowatt_snapshot::{CurvePoint, DailyReading, Temperature};

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn reading(date: &str, kwh: f64) -> DailyReading {
        DailyReading {
            meter_id: "01234567890123".into(),
            date: d(date),
            periods: vec![],
            kwh: Some(kwh),
            eur: None,
            subscription_eur: None,
            co2_kg: None,
            solar_production_kwh: None,
            solar_production_eur: None,
            injection_kwh: None,
            injection_eur: None,
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
                celsius: 300.0,
            }],
            ..Default::default()
        };
        assert!(snapshot(&t, a, b).unwrap_err().contains("°C"));
        let c = Snapshot {
            curve: vec![CurvePoint {
                meter_id: "m".into(),
                start: d("2026-01-03").paris_midnight_utc(),
                date: d("2026-01-02"),
                minutes: 30,
                kwh: Some(0.2),
            }],
            ..Default::default()
        };
        assert!(snapshot(&c, a, b).unwrap_err().contains("not on its day"));
    }
}
