//! The dashboard in a real browser: `hellowatt demo --serve` (the service
//! on the simulated site) and headless Chromium (Debian's `chromium`, which
//! `.ci/run` installs; `crate::common::tools` says what happens without it).
//! Every value the page draws must be the store's: the tile, the load curve
//! of a day (the one asked in the URL, else the last day with a curve), each
//! month's cost by tariff period, each month beside the same month a year
//! before with its mean temperature, RTE's EcoWatt levels of today and
//! tomorrow, hour by hour; the French page must read French only,
//! times in local format. Screenshots of each view, desktop and phone, are
//! kept as `target/dashboard-*.png`.

use hellowatt::store::{Granularity, Store};
use hellowatt_snapshot::{Date, Energy, TemperaturePeriod, TempoColour, days_in_month, paris_iso};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Headless Chromium with a profile of its own per view.
struct Browser {
    chromium: PathBuf,
    profiles: PathBuf,
    base: String,
    shots: Vec<PathBuf>,
}

impl Browser {
    /// Loads `query` at `size`, keeps a screenshot as
    /// `target/dashboard-{name}.png` and returns the DOM after the page's
    /// scripts ran.
    fn view(&mut self, name: &str, query: &str, size: &str) -> String {
        let flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--virtual-time-budget=15000",
        ];
        let url = format!("{}/{query}", self.base);
        let shot = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target")
            .join(format!("dashboard-{name}.png"));
        let run = |profile: &str, what: &[String]| {
            Command::new(&self.chromium)
                .args(flags)
                .arg(format!(
                    "--user-data-dir={}",
                    self.profiles.join(format!("{name}-{profile}")).display()
                ))
                .arg(format!("--window-size={size}"))
                .args(what)
                .arg(&url)
                .stderr(Stdio::null())
                .output()
                .unwrap()
        };
        let out = run("shot", &[format!("--screenshot={}", shot.display())]);
        assert!(out.status.success(), "chromium failed to take {name}");
        let out = run("dom", &["--dump-dom".to_string()]);
        assert!(out.status.success(), "chromium failed to dump {name}");
        let dom = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            dom.contains("data-ready=\"true\""),
            "{name}: the page did not finish drawing:\n{}",
            &dom[..dom.len().min(3000)]
        );
        self.shots.push(shot);
        dom
    }
}

/// The `data-value` of the element with `data-field="field"`.
fn field(dom: &str, field: &str) -> Option<String> {
    attribute(dom, field, "data-value")
}

/// Attribute `name` of the element with `data-field="field"`.
fn attribute(dom: &str, field: &str, name: &str) -> Option<String> {
    let at = dom.find(&format!("data-field=\"{field}\""))?;
    attribute_at(dom, at, name)
}

/// Attribute `name` of the tag around byte `at`.
fn attribute_at(dom: &str, at: usize, name: &str) -> Option<String> {
    let tag_start = dom[..at].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let v = tag.split(&format!(" {name}=\"")).nth(1)?;
    Some(v[..v.find('"')?].to_string())
}

/// Every `data-field` starting with `prefix` (the rest of the name) and its
/// `data-value`.
fn fields(dom: &str, prefix: &str) -> BTreeMap<String, String> {
    let needle = format!("data-field=\"{prefix}");
    let mut out = BTreeMap::new();
    for (at, _) in dom.match_indices(&needle) {
        let rest = &dom[at + needle.len()..];
        let name = &rest[..rest.find('"').unwrap_or(0)];
        let value = attribute_at(dom, at, "data-value").unwrap_or_default();
        assert!(
            out.insert(name.to_string(), value).is_none(),
            "{prefix}{name} twice"
        );
    }
    out
}

/// A shown value against the store's: equal within `eps`, or both missing
/// (an empty `data-value`).
fn same(what: &str, shown: Option<&String>, want: Option<f64>, eps: f64) {
    let shown = shown.unwrap_or_else(|| panic!("{what}: not on the page"));
    match want {
        None => assert_eq!(shown, "", "{what}: missing in the store, shown {shown}"),
        Some(w) => {
            let v: f64 = shown
                .parse()
                .unwrap_or_else(|_| panic!("{what}: shown {shown:?}, store {w}"));
            assert!((v - w).abs() < eps, "{what}: shown {v}, store {w}");
        }
    }
}

/// The first day of the month `n` months before `d`'s.
fn months_before(d: Date, n: usize) -> Date {
    (0..n).fold(d.first_of_month(), |m, _| m.add_days(-1).first_of_month())
}

/// Adds `v` to a sum that stays `None` while no value is known (the page's
/// rule: missing is not zero).
fn plus(sum: Option<f64>, v: Option<f64>) -> Option<f64> {
    match (sum, v) {
        (Some(s), Some(v)) => Some(s + v),
        (s, None) => s,
        (None, v) => v,
    }
}

/// What a person reads: text nodes (SVG tooltips included) and the
/// `title`, `aria-label`, `alt` and `placeholder` attributes.
fn visible_text(dom: &str) -> String {
    let mut out = String::new();
    let mut rest = dom;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open..open + close];
        for attr in ["title", "aria-label", "alt", "placeholder"] {
            if let Some(v) = tag.split(&format!(" {attr}=\"")).nth(1) {
                out.push_str(&v[..v.find('"').unwrap_or(v.len())]);
                out.push(' ');
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out.replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// English words of the page's labels and of the scheduler's sentences
/// that are not French words too.
const ENGLISH: &[&str] = &[
    "the",
    "at",
    "run",
    "runs",
    "daily",
    "retry",
    "backfill",
    "manual",
    "refresh",
    "blocked",
    "next",
    "yesterday",
    "today",
    "tomorrow",
    "month",
    "months",
    "year",
    "years",
    "last",
    "day",
    "days",
    "left",
    "over",
    "with",
    "and",
    "of",
    "for",
    "by",
    "no",
    "data",
    "consumption",
    "cost",
    "loading",
    "error",
    "meter",
    "history",
    "status",
    "sync",
    "season",
    "blue",
    "white",
    "red",
    "unknown",
    "gas",
    "electricity",
    "subscription",
    "peak",
    "off",
    "hours",
    "load",
    "curve",
    "before",
    "this",
    "none",
    "failures",
    "colour",
    "pushed",
    "failed",
    "paused",
    "credentials",
    "rejected",
    "waiting",
    "mean",
    "inactive",
    "scraper",
    "against",
    "each",
    "beside",
    "per",
];

/// The English words in `text` (the language switch's own name aside).
fn english_words(text: &str) -> Vec<String> {
    let mut found: Vec<String> = text
        .split(|c: char| !c.is_alphabetic())
        .map(str::to_lowercase)
        .filter(|w| ENGLISH.contains(&w.as_str()))
        .collect();
    found.sort();
    found.dedup();
    found
}

/// ISO dates and instants (`2026-12-03`, `2026-12-03T15:06:21+01:00`) in
/// `text`.
fn iso_dates(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    (0..b.len().saturating_sub(9))
        .filter(|&i| {
            digits(i..i + 4)
                && b[i + 4] == b'-'
                && digits(i + 5..i + 7)
                && b[i + 7] == b'-'
                && digits(i + 8..i + 10)
        })
        .map(|i| String::from_utf8_lossy(&b[i..(i + 25).min(b.len())]).into_owned())
        .collect()
}

/// The French page reads French: no English word, no ISO date or instant.
fn assert_french(name: &str, dom: &str) {
    let text = visible_text(dom);
    assert_eq!(
        english_words(&text),
        Vec::<String>::new(),
        "{name}: English on the French page"
    );
    assert_eq!(
        iso_dates(&text),
        Vec::<String>::new(),
        "{name}: ISO dates on the French page"
    );
}

/// The tile against the store: yesterday, this month (the consumption's
/// cost, the subscription and both), yesterday's Tempo colour, the Tempo
/// outlook.
fn assert_tile(dom: &str, store: &Store, today: Date) {
    let yesterday = today.add_days(-1);
    for m in store.meters(None).unwrap() {
        let day = store.daily(&m.meter_id, yesterday, yesterday).unwrap();
        same(
            &format!("{} yesterday kWh", m.meter_id),
            field(dom, &format!("{}.yesterday.kwh", m.meter_id)).as_ref(),
            day[0].reading.amounts.kwh,
            1e-9,
        );
        let month = store
            .totals(
                &m.meter_id,
                Granularity::Month,
                yesterday.first_of_month(),
                yesterday,
            )
            .unwrap();
        for (name, want) in [
            ("kwh", month[0].amounts.kwh),
            ("subscription_eur", month[0].amounts.subscription_eur),
            ("total_eur", month[0].total_eur),
        ] {
            same(
                &format!("{} month {name}", m.meter_id),
                field(dom, &format!("{}.month.{name}", m.meter_id)).as_ref(),
                want,
                1e-6,
            );
        }
        if m.energy == Energy::Electricity {
            let tempo = store.tempo_days(yesterday, yesterday).unwrap();
            let colour = tempo
                .first()
                .and_then(|t| t.colour)
                .map(|c| c.as_str().to_string())
                .unwrap_or_default();
            assert_eq!(
                field(dom, &format!("{}.yesterday.tempo", m.meter_id)).unwrap(),
                colour
            );
        }
    }
    let outlook = store.tempo_outlook(today).unwrap();
    for (key, d) in [("today", outlook.today), ("tomorrow", outlook.tomorrow)] {
        assert_eq!(
            field(dom, &format!("tempo.{key}")).unwrap(),
            d.colour().map(|c| c.as_str()).unwrap_or(""),
            "tempo {key}"
        );
    }
    for c in [TempoColour::Blue, TempoColour::White, TempoColour::Red] {
        let n = outlook.season.colours.get(c);
        for (what, want) in [("used", n.used), ("remaining", n.remaining)] {
            let shown = field(dom, &format!("tempo.{}.{what}", c.as_str()))
                .unwrap_or_else(|| panic!("no tempo.{}.{what} on the tile", c.as_str()));
            assert_eq!(shown, want.to_string(), "{c:?} {what}");
        }
    }
    assert!(
        outlook.season.colours.blue.used > 0,
        "the demo's tariff keys give the season's days"
    );
    assert_eq!(
        field(dom, "tempo.disagreements"),
        None,
        "the demo's sources never disagree: no warning"
    );
}

/// RTE's EcoWatt signal against the store: for today and tomorrow, the
/// day's level and one cell per stored hour, each the store's level (an
/// hour not published drawn as unknown, without a field). The demo's
/// EcoWatt sync stores today on: the section must be there.
fn assert_ecowatt(dom: &str, store: &Store, today: Date) {
    let days = store.ecowatt(today, today.succ()).unwrap();
    assert!(
        days.iter().any(|d| d.date == today),
        "the store has no EcoWatt day for today: the demo syncs EcoWatt"
    );
    assert!(
        !dom.contains(
            "<section id=\"ecowatt\" class=\"charts\" aria-labelledby=\"ecowatt-title\" hidden"
        ),
        "the EcoWatt section is hidden"
    );
    for (key, date) in [("today", today), ("tomorrow", today.succ())] {
        let day = days.iter().find(|d| d.date == date);
        let level = day.and_then(|d| d.level).map(|l| l.to_string());
        assert_eq!(
            field(dom, &format!("ecowatt.{key}")).unwrap_or_else(|| panic!("no ecowatt.{key}")),
            level.unwrap_or_default(),
            "EcoWatt {key}: the day's level"
        );
        let shown = fields(dom, &format!("ecowatt.{key}."));
        let hours = day.map_or(&[][..], |d| &d.hours[..]);
        assert_eq!(
            shown.len(),
            hours.len(),
            "EcoWatt {key}: one cell per stored hour"
        );
        for h in hours {
            assert_eq!(
                shown.get(&h.start.to_string()),
                Some(&h.level.to_string()),
                "EcoWatt {key} at {}",
                paris_iso(h.start)
            );
        }
        // Every hour of the day has a cell, stored or not.
        let at = dom
            .find(&format!("data-date=\"{date}\""))
            .unwrap_or_else(|| panic!("no EcoWatt row for {date}"));
        let row = &dom[at..];
        let row = &row[..row.find("eco-ticks").unwrap_or(row.len())];
        assert_eq!(
            row.matches("class=\"eco-cell ").count() as i64,
            date.paris_day_hours(),
            "EcoWatt {key}: a cell per hour of the day"
        );
    }
}

/// The scheduler's next step on the page is the summary's, by kind and
/// instant.
fn assert_next_run(dom: &str, summary: &Value) {
    let accounts = summary["accounts"].as_array().unwrap();
    assert!(!accounts.is_empty(), "the demo has an account");
    for a in accounts {
        let name = a["name"].as_str().unwrap();
        let next = &a["next_run"];
        let kind = next["kind"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: the summary has no next step kind: {next}"));
        let f = format!("account.{name}.next_run");
        assert_eq!(field(dom, &f).as_deref(), Some(kind), "{name}: next step");
        let at = next["at"].as_str().or(next["since"].as_str()).unwrap();
        assert_eq!(attribute(dom, &f, "data-at").as_deref(), Some(at), "{name}");
    }
}

/// The curve's days in the store, oldest first, in the 31 days to
/// yesterday (what the page searches for its default day).
fn curve_days(store: &Store, meter: &str, yesterday: Date) -> Vec<Date> {
    let mut days: Vec<Date> = store
        .curve(meter, yesterday.add_days(-30), yesterday)
        .unwrap()
        .iter()
        .map(|p| p.date)
        .collect();
    days.dedup();
    days
}

/// Each half-hour bar of `day`'s curve is the store's point, no more.
fn assert_curve(dom: &str, store: &Store, meter: &str, day: Date) {
    assert_eq!(
        field(dom, "curve.day").as_deref(),
        Some(day.to_string().as_str()),
        "the day picker"
    );
    let points = store.curve(meter, day, day).unwrap();
    assert!(points.len() >= 46, "{day}: {} points", points.len());
    let shown = fields(dom, &format!("curve.{meter}."));
    assert_eq!(shown.len(), points.len(), "{day}: the curve's bars");
    for p in &points {
        let f = format!("curve.{meter}.{}", p.start);
        same(&f, shown.get(&p.start.to_string()), p.kwh, 1e-9);
        // Off-peak: the usual 22:00-06:00, Paris time (none is stored).
        let hour: u32 = paris_iso(p.start)[11..13].parse().unwrap();
        let slot = if !(6..22).contains(&hour) { "hc" } else { "hp" };
        if p.kwh.is_some() {
            let class = attribute(dom, &f, "class").unwrap_or_default();
            assert!(
                class.ends_with(&format!(" {slot}")),
                "{f} at {hour} h: {class}"
            );
        }
    }
    // The off-peak hours shaded: the night's two ends (a DST day too).
    assert_eq!(dom.matches("class=\"band hc\"").count(), 2, "{day}");
    // The day's peak power and its start, from the same points.
    let (kw, at) = crate::common::peak_of(&points).expect("a day with a curve has a peak");
    same(
        "curve.peak",
        field(dom, "curve.peak").as_ref(),
        Some(kw),
        1e-9,
    );
    assert_eq!(
        attribute(dom, "curve.peak", "data-at"),
        Some(at.to_string())
    );
}

/// Each of the 12 months' bar of the peaks chart is the highest power of
/// the store's curve in that month (up to yesterday), or empty without one.
fn assert_peaks(dom: &str, store: &Store, meter: &str, yesterday: Date) {
    let shown = fields(dom, &format!("peaks.{meter}."));
    assert_eq!(shown.len(), 12, "the peaks chart's months: {shown:?}");
    let mut with_peak = 0;
    for i in 0..12 {
        let from = months_before(yesterday, i);
        let to = from
            .add_days(31)
            .first_of_month()
            .add_days(-1)
            .min(yesterday);
        let want = crate::common::peak_of(&store.curve(meter, from, to).unwrap()).map(|(kw, _)| kw);
        with_peak += usize::from(want.is_some());
        let key = from.to_string()[..7].to_string();
        same(&format!("peaks.{key}"), shown.get(&key), want, 1e-9);
    }
    assert!(with_peak > 0, "the demo's curve gives a month a peak");
    // Beside them, the subscribed power: the highest of the home's active
    // electricity contracts' in the store's rows.
    let home = store
        .meters(None)
        .unwrap()
        .into_iter()
        .find(|m| m.meter_id == meter)
        .unwrap()
        .home_id;
    let supply = crate::common::supply_kva(store, &home);
    assert!(supply.is_some(), "the demo's supply gives its power");
    same(
        "peaks.subscribed",
        field(dom, "peaks.subscribed").as_ref(),
        supply,
        1e-9,
    );
}

/// The history's bars (kWh, the page's default): the last 30 days, 12
/// months and 3 years, each the store's total.
fn assert_history(dom: &str, store: &Store, meter: &str, yesterday: Date) {
    let shown = fields(dom, &format!("history.{meter}."));
    let year_from = Date::new(yesterday.year - 2, 1, 1).unwrap();
    let mut buckets = 0;
    for (g, from) in [
        (Granularity::Day, yesterday.add_days(-29)),
        (Granularity::Month, months_before(yesterday, 11)),
        (Granularity::Year, year_from),
    ] {
        for t in store.totals(meter, g, from, yesterday).unwrap() {
            let what = format!("history {meter} {}", t.bucket);
            same(&what, shown.get(&t.bucket), t.amounts.kwh, 1e-6);
            buckets += 1;
        }
    }
    assert_eq!(shown.len(), buckets, "{meter}: 30 days, 12 months, 3 years");
}

/// Each of the 12 months' cost split by tariff period is the sum of the
/// store's days (the API rounds a month's to 0.0001 EUR).
fn assert_split(dom: &str, store: &Store, meter: &str, yesterday: Date) -> usize {
    let mut want: BTreeMap<String, Option<f64>> = BTreeMap::new();
    for d in store
        .daily(meter, months_before(yesterday, 11), yesterday)
        .unwrap()
    {
        let month = &d.reading.date.to_string()[..7];
        for p in &d.reading.periods {
            let sum = want.entry(format!("{month}.{}", p.period)).or_default();
            *sum = plus(*sum, p.eur);
        }
    }
    let shown = fields(dom, &format!("split.{meter}."));
    assert_eq!(
        shown.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{meter}: the months' periods"
    );
    for (k, w) in &want {
        same(&format!("split {meter} {k}"), shown.get(k), *w, 0.6e-4);
    }
    want.len()
}

/// Each of the 12 months beside the same month a year before: kWh and
/// euros (the store's month totals; the current month so far beside the
/// same days a year before), the mean temperature (the site's month mean,
/// else the mean of the stored days), and the bars (kWh). Returns the
/// pairs with both years' kWh.
fn assert_year_over_year(
    dom: &str,
    store: &Store,
    meter: &str,
    home: &str,
    yesterday: Date,
) -> usize {
    let from = months_before(yesterday, 23);
    let mut rows = store
        .totals(meter, Granularity::Month, from, yesterday)
        .unwrap();
    assert_eq!(rows.len(), 24);
    let last_year = Date::new(
        yesterday.year - 1,
        yesterday.month,
        yesterday
            .day
            .min(days_in_month(yesterday.year - 1, yesterday.month)),
    )
    .unwrap();
    rows[11] = store
        .totals(
            meter,
            Granularity::Month,
            last_year.first_of_month(),
            last_year,
        )
        .unwrap()
        .remove(0);
    let mut days: BTreeMap<String, (f64, u32)> = BTreeMap::new();
    let mut months: BTreeMap<String, f64> = BTreeMap::new();
    for t in store.temperatures(home, from, yesterday).unwrap() {
        let key = t.date.to_string()[..7].to_string();
        match t.period {
            TemperaturePeriod::Day => {
                let e = days.entry(key).or_default();
                e.0 += t.celsius;
                e.1 += 1;
            }
            TemperaturePeriod::Month => {
                months.insert(key, t.celsius);
            }
        }
    }
    let celsius = |bucket: &str| {
        months
            .get(bucket)
            .copied()
            .or_else(|| days.get(bucket).map(|(s, n)| s / f64::from(*n)))
    };
    let shown = fields(dom, &format!("yoy.{meter}."));
    assert_eq!(shown.len(), 12 * 8, "{meter}: 12 months of 8 figures");
    let mut pairs = 0;
    for (now, before) in rows[12..].iter().zip(&rows[..12]) {
        let f = |name: &str| shown.get(&format!("{}.{name}", now.bucket));
        let what = |name: &str| format!("{meter} {} {name}", now.bucket);
        for (name, want) in [
            ("kwh", now.amounts.kwh),
            ("bar", now.amounts.kwh),
            ("eur", now.amounts.eur),
            ("kwh_before", before.amounts.kwh),
            ("bar_before", before.amounts.kwh),
            ("eur_before", before.amounts.eur),
        ] {
            same(&what(name), f(name), want, 1e-6);
        }
        same(&what("celsius"), f("celsius"), celsius(&now.bucket), 1e-9);
        same(
            &what("celsius_before"),
            f("celsius_before"),
            celsius(&before.bucket),
            1e-9,
        );
        if now.amounts.kwh.is_some() && before.amounts.kwh.is_some() {
            pairs += 1;
        }
    }
    pairs
}

#[test]
fn the_dashboard_shows_the_store_and_draws_its_charts() {
    let Some(chromium) = crate::common::tools::program(
        "the_dashboard_shows_the_store_and_draws_its_charts",
        &["chromium", "chromium-browser", "google-chrome"],
        "chromium",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let port = crate::common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _service = Service(
        Command::new(env!("CARGO_BIN_EXE_hellowatt"))
            .args([
                "demo",
                "--serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--db",
            ])
            .arg(&db)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Ready, and the two years of history stored (the first run's decision saved).
    let start = Instant::now();
    loop {
        let done = crate::common::http_get(&format!("{base}/api/v1/status"))
            .is_some_and(|s| s.contains("\"last_success\":\"20"));
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the demo service did not finish its first sync"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // And RTE's signals, which the EcoWatt slot asks for at start beside it.
    loop {
        let today = hellowatt::clock::today();
        let url = format!("{base}/api/v1/ecowatt?from={today}&to={today}");
        if crate::common::http_get(&url).is_some_and(|s| s.contains("\"level\"")) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(150),
            "the demo service stored no EcoWatt signal for today"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let summary: Value =
        serde_json::from_str(&crate::common::http_get(&format!("{base}/api/v1/summary")).unwrap())
            .unwrap();

    let store = Store::open(&db).unwrap();
    let today = hellowatt::clock::today();
    let yesterday = today.add_days(-1);
    let meters = store.meters(None).unwrap();
    let meter = |energy| {
        meters
            .iter()
            .find(|m| m.energy == energy)
            .unwrap_or_else(|| panic!("the demo has a {energy:?} meter"))
    };
    let (elec, gas) = (meter(Energy::Electricity), meter(Energy::Gas));
    let days = curve_days(&store, &elec.meter_id, yesterday);
    let last = *days.last().expect("the demo stores a load curve");
    // A day other than the default, chosen in the URL.
    let chosen = days[0];
    assert_ne!(chosen, last, "the demo stores several days of curve");

    let mut browser = Browser {
        chromium,
        profiles: dir.path().to_path_buf(),
        base: base.clone(),
        shots: Vec::new(),
    };

    // French, desktop, electricity, the curve of the day in the URL.
    let dom = browser.view("electricity", &format!("?day={chosen}"), "1280,3400");
    assert!(dom.matches("class=\"bar").count() >= 30 + 12 + 48);
    assert_tile(&dom, &store, today);
    assert_next_run(&dom, &summary);
    assert_history(&dom, &store, &elec.meter_id, yesterday);
    assert_ecowatt(&dom, &store, today);
    assert_curve(&dom, &store, &elec.meter_id, chosen);
    assert_peaks(&dom, &store, &elec.meter_id, yesterday);
    let periods = assert_split(&dom, &store, &elec.meter_id, yesterday);
    assert!(
        periods >= 12 * 2,
        "Tempo: HP and HC each month at least, {periods}"
    );
    let pairs = assert_year_over_year(&dom, &store, &elec.meter_id, &elec.home_id, yesterday);
    assert_eq!(
        pairs, 12,
        "two years of history: every month has last year's"
    );
    assert!(dom.contains("reste "), "the remaining days in French");
    assert_french("electricity", &dom);

    // French, phone: the curve of the last day with one, by default.
    let dom = browser.view("electricity-phone", "", "390,4400");
    assert_curve(&dom, &store, &elec.meter_id, last);
    assert_ecowatt(&dom, &store, today);
    assert_french("electricity-phone", &dom);

    // Gas: the same charts, no curve.
    for (name, size) in [("gas", "1280,3000"), ("gas-phone", "390,4000")] {
        let dom = browser.view(name, &format!("?meter={}", gas.meter_id), size);
        assert!(
            dom.contains(
                "<section id=\"curve\" class=\"charts\" aria-labelledby=\"curve-title\" hidden"
            ),
            "{name}: gas has no curve"
        );
        assert!(
            fields(&dom, "curve.")
                .iter()
                .all(|(k, v)| k == "day" || v.is_empty())
        );
        assert!(
            fields(&dom, "peaks.")
                .iter()
                .all(|(k, v)| k == "subscribed" && v.is_empty()),
            "{name}: gas has no peaks"
        );
        assert_history(&dom, &store, &gas.meter_id, yesterday);
        assert!(assert_split(&dom, &store, &gas.meter_id, yesterday) >= 12);
        let pairs = assert_year_over_year(&dom, &store, &gas.meter_id, &gas.home_id, yesterday);
        assert_eq!(pairs, 12, "{name}: every month has last year's");
        assert_french(name, &dom);
    }

    // English, on a phone; the same words the French page must not have
    // are found here (the check can fail).
    let dom = browser.view("english-phone", "?lang=en", "390,4400");
    assert!(dom.contains("Yesterday"), "English labels");
    assert!(
        dom.contains(" left "),
        "the remaining Tempo days in English"
    );
    assert_next_run(&dom, &summary);
    assert_curve(&dom, &store, &elec.meter_id, last);
    let english = english_words(&visible_text(&dom));
    assert!(english.len() >= 10, "English words found: {english:?}");

    for shot in &browser.shots {
        let png = std::fs::read(shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "{} is not a real screenshot",
            shot.display()
        );
    }
}

#[test]
fn the_language_checks_find_what_they_look_for() {
    let dom = r#"<p title="Next run">Prochaine <b>collecte</b> le 3&nbsp;décembre</p>
        <td data-value="2026-12-03">daily run at 2026-12-03T15:06:21+01:00</td>"#;
    let text = visible_text(dom);
    assert_eq!(english_words(&text), ["at", "daily", "next", "run"]);
    assert_eq!(iso_dates(&text), ["2026-12-03T15:06:21+01:00"]);
    assert!(!text.contains("data-value"), "attributes are not text");
    assert_eq!(
        english_words("Hier, ce mois, cette année: reste 3 jours · Bleu HC"),
        Vec::<String>::new()
    );
}
