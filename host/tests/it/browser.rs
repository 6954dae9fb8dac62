//! The dashboard in a real browser: `hellowatt demo --serve` (the service
//! on the simulated site) and headless Chromium (Debian's `chromium`, which
//! `.ci/run` installs; `crate::common::tools` says what happens without it). The
//! tile's values must be the store's, the charts must have drawn bars, and
//! a screenshot is kept at
//! `target/dashboard.png` (and `target/dashboard-phone.png`).

use hellowatt::store::{Granularity, Store};
use hellowatt_snapshot::{Energy, TempoColour};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs Chromium on `url`; returns the DOM after the page's scripts ran.
fn browse(chromium: &Path, url: &str, size: &str, screenshot: &Path, profile: &Path) -> String {
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
        "--virtual-time-budget=10000",
    ];
    let shot = Command::new(chromium)
        .args(flags)
        .arg(format!(
            "--user-data-dir={}",
            profile.join("shot").display()
        ))
        .arg(format!("--window-size={size}"))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(shot.success(), "chromium failed to take the screenshot");
    let dom = Command::new(chromium)
        .args(flags)
        .arg(format!("--user-data-dir={}", profile.join("dom").display()))
        .arg(format!("--window-size={size}"))
        .arg("--dump-dom")
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(dom.status.success(), "chromium failed to dump the page");
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

/// The `data-value` of the element with `data-field="field"`.
fn field(dom: &str, field: &str) -> Option<String> {
    let at = dom.find(&format!("data-field=\"{field}\""))?;
    let tag_start = dom[..at].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let v = tag.split("data-value=\"").nth(1)?;
    Some(v[..v.find('"')?].to_string())
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
    // Ready, and the year of history stored (the first run's decision saved).
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

    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let desktop = target.join("dashboard.png");
    let phone = target.join("dashboard-phone.png");
    let dom = browse(
        &chromium,
        &format!("{base}/"),
        "1280,1600",
        &desktop,
        dir.path(),
    );
    assert!(
        dom.contains("data-ready=\"true\""),
        "the page did not finish drawing:\n{}",
        &dom[..dom.len().min(3000)]
    );
    let bars = dom.matches("class=\"bar").count();
    assert!(bars >= 30 + 12, "the charts drew {bars} bars");

    // The tile against the store.
    let store = Store::open(&db).unwrap();
    let today = hellowatt::clock::today();
    let yesterday = today.add_days(-1);
    for m in store.meters(None).unwrap() {
        let day = store.daily(&m.meter_id, yesterday, yesterday).unwrap();
        let kwh = day[0].reading.amounts.kwh.unwrap();
        let shown: f64 = field(&dom, &format!("{}.yesterday.kwh", m.meter_id))
            .unwrap_or_else(|| panic!("no tile value for {}", m.meter_id))
            .parse()
            .unwrap();
        assert!(
            (shown - kwh).abs() < 1e-9,
            "{}: tile {shown}, store {kwh}",
            m.meter_id
        );
        let month = store
            .totals(
                &m.meter_id,
                Granularity::Month,
                yesterday.first_of_month(),
                yesterday,
            )
            .unwrap();
        let shown: f64 = field(&dom, &format!("{}.month.kwh", m.meter_id))
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (shown - month[0].amounts.kwh.unwrap()).abs() < 1e-6,
            "{}: month {shown}",
            m.meter_id
        );
        // The subscription and the cost with it, beside the consumption's.
        for (name, want) in [
            ("subscription_eur", month[0].amounts.subscription_eur),
            ("total_eur", month[0].total_eur),
        ] {
            let shown: f64 = field(&dom, &format!("{}.month.{name}", m.meter_id))
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                (shown - want.unwrap()).abs() < 1e-6,
                "{}: month {name} {shown}",
                m.meter_id
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
                field(&dom, &format!("{}.yesterday.tempo", m.meter_id)).unwrap(),
                colour
            );
        }
    }
    // The Tempo tile: today, tomorrow and the season's counters are the
    // store's outlook.
    let outlook = store.tempo_outlook(today).unwrap();
    for (key, d) in [("today", outlook.today), ("tomorrow", outlook.tomorrow)] {
        assert_eq!(
            field(&dom, &format!("tempo.{key}")).unwrap(),
            d.colour().map(|c| c.as_str()).unwrap_or(""),
            "tempo {key}"
        );
    }
    for c in [TempoColour::Blue, TempoColour::White, TempoColour::Red] {
        let n = outlook.season.colours.get(c);
        for (what, want) in [("used", n.used), ("remaining", n.remaining)] {
            let shown = field(&dom, &format!("tempo.{}.{what}", c.as_str()))
                .unwrap_or_else(|| panic!("no tempo.{}.{what} on the tile", c.as_str()));
            assert_eq!(shown, want.to_string(), "{c:?} {what}");
        }
    }
    assert!(
        outlook.season.colours.blue.used > 0,
        "the demo's tariff keys give the season's days"
    );
    assert_eq!(
        field(&dom, "tempo.disagreements"),
        None,
        "the demo's sources never disagree: no warning"
    );
    assert!(dom.contains("reste "), "the remaining days in French");
    // English, on a phone.
    let dom = browse(
        &chromium,
        &format!("{base}/?lang=en"),
        "390,1400",
        &phone,
        dir.path(),
    );
    assert!(dom.contains("data-ready=\"true\""));
    assert!(dom.contains("Yesterday"), "English labels");
    assert!(
        dom.contains(" left "),
        "the remaining Tempo days in English"
    );
    for shot in [&desktop, &phone] {
        let png = std::fs::read(shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "{} is not a real screenshot",
            shot.display()
        );
    }
}
