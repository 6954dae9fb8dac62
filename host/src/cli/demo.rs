//! `hellowatt demo`: the whole pipeline against the simulated site, with a
//! summary a person can read. Simulated site, simulated Tempo service and
//! simulated RTE EcoWatt service on 127.0.0.1, the three bundled guests in
//! their sandboxes (each reaching only its own origin; the EcoWatt guest's
//! requests carrying the token the host got with the demo's RTE
//! application), a SQLite file, then the stored figures.
//!
//! It owns the demo's choices (range, temporary database) and the summary's
//! layout; it must never reach the real site.

use crate::config::{
    Account, Config, DEFAULT_KINDS, EcowattConfig, Secret, ServiceConfig, TempoConfig,
};
use crate::sandbox::policy::HttpLimits;
use crate::sandbox::runtime::{Guest, Runtime};
use crate::store::{Granularity, Store};
use crate::sync::{self, RunSummary};
use anyhow::{Context, Result};
use hellowatt_sim::{self as sim, DEMO_LOGIN, DEMO_PASSWORD, SimMode};
use hellowatt_snapshot::{Date, Energy};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The demo's range: from the first day of the month two months ago to
/// yesterday (data on the site runs to D-1).
pub fn demo_range(today: Date) -> (Date, Date) {
    let to = today.add_days(-1);
    let from = to
        .first_of_month()
        .add_days(-1)
        .first_of_month()
        .add_days(-1)
        .first_of_month();
    (from, to)
}

/// The Tempo service at `url` (the simulated one), without pacing or
/// fallback.
fn demo_tempo(url: &str) -> Result<TempoConfig> {
    Ok(TempoConfig {
        primary: crate::sandbox::policy::Origin::parse(url).map_err(anyhow::Error::msg)?,
        fallback: None,
        http: HttpLimits {
            pacing: Duration::ZERO,
            requests: crate::slot::Slot::Tempo.default_requests(),
            ..HttpLimits::default()
        },
        announce_at: hellowatt_sim::ANNOUNCED_AT,
        retry_every: Duration::from_secs(1800),
    })
}

/// RTE's EcoWatt service at `url` (the simulated one), with the demo's
/// RTE application.
fn demo_ecowatt(url: &str) -> Result<EcowattConfig> {
    Ok(EcowattConfig {
        origin: crate::sandbox::policy::Origin::parse(url).map_err(anyhow::Error::msg)?,
        client_id: Secret::new(sim::DEMO_RTE_CLIENT_ID),
        client_secret: Secret::new(sim::DEMO_RTE_CLIENT_SECRET),
        http: HttpLimits {
            pacing: Duration::ZERO,
            max_requests: 4,
            requests: crate::slot::Slot::Ecowatt.default_requests(),
            ..HttpLimits::default()
        },
        every: Duration::from_secs(3600),
    })
}

/// The demo account on the simulated site at `url`: no pacing, nothing
/// served, the bundled guest.
fn demo_config(url: &str, db: &std::path::Path) -> Result<Config> {
    let account = Account {
        name: "demo".into(),
        email: Some(DEMO_LOGIN.into()),
        password: Some(Secret::new(DEMO_PASSWORD)),
        kinds: DEFAULT_KINDS.to_vec(),
    };
    let site = crate::sandbox::policy::Origin::parse(url).map_err(anyhow::Error::msg)?;
    Ok(Config::for_test_site(site, account, db))
}

pub struct DemoOutcome {
    pub summary: RunSummary,
    pub report: String,
    pub db: PathBuf,
}

/// Runs the demo into `db` (a fresh file is best; an existing one is
/// updated, which shows the idempotent upserts).
pub async fn run(
    runtime: &Runtime,
    guest: &Guest,
    db: PathBuf,
    today: Date,
) -> Result<DemoOutcome> {
    let started = Instant::now();
    let server = sim::start("127.0.0.1:0".parse()?, SimMode::Demo { today })
        .await
        .context("starting the simulated site")?;
    let tempo_server = sim::start_tempo("127.0.0.1:0".parse()?, sim::TempoSimMode::Both)
        .await
        .context("starting the simulated Tempo service")?;
    let ecowatt_server = sim::start_ecowatt("127.0.0.1:0".parse()?, sim::EcoWattSimMode::Normal)
        .await
        .context("starting the simulated EcoWatt service")?;
    let config = demo_config(&server.url(), &db)?;
    let tempo = demo_tempo(&tempo_server.url())?;
    let ecowatt = demo_ecowatt(&ecowatt_server.url())?;
    let account = &config.accounts[0];
    let mut store = Store::open(&db).with_context(|| format!("opening {}", db.display()))?;
    let (from, to) = demo_range(today);
    let summary = sync::run(runtime, guest, &mut store, &config, account, from, to).await?;
    let tempo_guest = runtime
        .load(crate::BUNDLED_TEMPO_GUEST.to_vec(), &config.limits)
        .await
        .context("loading the bundled Tempo guest")?;
    let tempo_run = crate::sync::tempo::run_once(
        runtime,
        &tempo_guest,
        &mut store,
        &tempo,
        &config.limits,
        today,
    )
    .await?;
    let ecowatt_guest = runtime
        .load(crate::BUNDLED_ECOWATT_GUEST.to_vec(), &config.limits)
        .await
        .context("loading the bundled EcoWatt guest")?;
    let broker = crate::sync::rte_token::TokenBroker::new(&ecowatt);
    // The demo's day, at this time of day: the simulated RTE publishes
    // around it, as the simulated site does.
    let real = crate::clock::now_utc();
    let now = today.paris_midnight_utc() + (real - Date::paris_day_of(real).paris_midnight_utc());
    ecowatt_server.set_now(Some(now));
    let ecowatt_run = crate::sync::ecowatt::run_once(
        runtime,
        &ecowatt_guest,
        &mut store,
        &ecowatt,
        &broker,
        &config.limits,
        today,
        now,
    )
    .await?;
    let elapsed = started.elapsed();
    server.shutdown().await;
    tempo_server.shutdown().await;
    ecowatt_server.shutdown().await;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "hellowatt demo: the simulated helloWatt site, the bundled guest in its sandbox, SQLite"
    );
    let _ = writeln!(
        out,
        "guest {} {} (sha256 {}…), site {}",
        guest.info.name,
        guest.info.version,
        &guest.sha256[..16],
        config.site.url()
    );
    let _ = writeln!(
        out,
        "synced {from} to {to}: {} month windows, {} requests, {} rows written ({} unchanged), {:.1} s",
        summary.windows,
        summary.traffic.requests,
        summary.stats.inserted + summary.stats.updated,
        summary.stats.unchanged,
        elapsed.as_secs_f64()
    );
    if let Some(f) = &summary.failure {
        let _ = writeln!(out, "the sync failed ({}): {f}", f.kind());
    }
    if let Some(t) = &tempo_run {
        let _ = writeln!(
            out,
            "{}",
            slot_run_line(
                "Tempo",
                &tempo_guest,
                &tempo.primary.url(),
                "",
                "requests",
                t
            )
        );
    }
    let _ = match &ecowatt_run {
        crate::sync::ecowatt::Ran::Guest(e) => writeln!(
            out,
            "{}",
            slot_run_line(
                "EcoWatt",
                &ecowatt_guest,
                &ecowatt.origin.url(),
                " (the host's RTE token)",
                "request(s)",
                e
            )
        ),
        crate::sync::ecowatt::Ran::NoToken { error, .. } => {
            writeln!(out, "EcoWatt: no token from RTE: {error}")
        }
    };
    write_store_summary(&mut out, &store, from, to)?;
    let _ = writeln!(out, "database: {}", db.display());
    Ok(DemoOutcome {
        summary,
        report: out,
        db,
    })
}

/// `hellowatt demo --serve`: the service itself on the simulated site
/// (two years of history, then the daily schedule), with the dashboard and the
/// API on `listen`, until `shutdown`.
pub async fn serve(
    runtime: Runtime,
    guest: Guest,
    db: PathBuf,
    today: Date,
    listen: std::net::SocketAddr,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let server = sim::start("127.0.0.1:0".parse()?, SimMode::Demo { today })
        .await
        .context("starting the simulated site")?;
    let tempo_server = sim::start_tempo("127.0.0.1:0".parse()?, sim::TempoSimMode::Both)
        .await
        .context("starting the simulated Tempo service")?;
    let ecowatt_server = sim::start_ecowatt("127.0.0.1:0".parse()?, sim::EcoWattSimMode::Normal)
        .await
        .context("starting the simulated EcoWatt service")?;
    let config = Config {
        service: ServiceConfig {
            // Two years: the dashboard compares each month with a year before.
            backfill_months: 24,
            ..ServiceConfig::default()
        },
        listen: Some(listen),
        tempo: Some(demo_tempo(&tempo_server.url())?),
        ecowatt: Some(demo_ecowatt(&ecowatt_server.url())?),
        ..demo_config(&server.url(), &db)?
    };
    let source = crate::service::GuestSource::Fixed(Box::new(guest));
    let shared = crate::service::assemble(config, std::sync::Arc::new(runtime), source).await?;
    println!(
        "hellowatt demo: the service on the simulated site {} (two years of history)",
        server.url()
    );
    println!("dashboard: http://{listen}/   (English: http://{listen}/?lang=en)");
    println!(
        "API: http://{listen}/api/v1/status, http://{listen}/api/v1/openapi.json, http://{listen}/metrics"
    );
    println!("database: {}   — Ctrl-C to stop", db.display());
    let result = crate::service::run(shared, shutdown).await;
    server.shutdown().await;
    tempo_server.shutdown().await;
    ecowatt_server.shutdown().await;
    result
}

/// One line for a slot guest's run: the guest, its service, what it did.
fn slot_run_line(
    slot: &str,
    guest: &Guest,
    service: &str,
    note: &str,
    requests: &str,
    run: &RunSummary,
) -> String {
    format!(
        "{slot} guest {} {}, service {service}{note}: {} {requests}, {} rows written{}",
        guest.info.name,
        guest.info.version,
        run.traffic.requests,
        run.stats.inserted + run.stats.updated,
        run.failure
            .as_ref()
            .map(|f| format!(", failed ({}): {f}", f.kind()))
            .unwrap_or_default()
    )
}

fn fmt(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(x) => format!("{x:>9.2} {unit}"),
        None => format!("{:>9} {unit}", "—"),
    }
}

/// Per meter: month totals, then Tempo days and contracts.
pub fn write_store_summary(out: &mut String, store: &Store, from: Date, to: Date) -> Result<()> {
    for m in store.meters(None)? {
        let place = [m.address.as_deref(), m.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "\n{} meter {} (home {}, {place})",
            m.energy.as_str(),
            m.meter_id,
            m.home_id
        );
        for t in store.totals(&m.meter_id, Granularity::Month, from, to)? {
            let mut line = format!(
                "  {}  {}  {}  ({}/{} days)",
                t.bucket,
                fmt(t.amounts.kwh, "kWh"),
                fmt(t.amounts.eur, "EUR"),
                t.value_count,
                t.day_count
            );
            if m.energy == Energy::Electricity && t.amounts.solar_production_kwh.is_some() {
                let _ = write!(
                    line,
                    "  solar {}  injected {}",
                    fmt(t.amounts.solar_production_kwh, "kWh"),
                    fmt(t.amounts.injection_kwh, "kWh")
                );
            }
            let _ = writeln!(out, "{line}");
        }
        let curve = store.curve(&m.meter_id, to, to)?;
        let day_peak = store
            .power_peaks(&m.meter_id, Granularity::Day, to, to)?
            .pop();
        if let Some(p) = day_peak {
            let _ = writeln!(
                out,
                "  load curve {to}: {} half-hours, peak power {:.2} kW at {}",
                curve.len(),
                p.kw,
                hellowatt_snapshot::paris_iso(p.start_utc)
            );
        }
        let month = store
            .power_peaks(&m.meter_id, Granularity::Month, to.first_of_month(), to)?
            .pop();
        if let Some(p) = month {
            let _ = writeln!(
                out,
                "  highest power of {}: {:.2} kW on {} at {}",
                p.bucket,
                p.kw,
                p.date,
                &hellowatt_snapshot::paris_iso(p.start_utc)[11..16]
            );
        }
    }
    let today = to.succ();
    let ecowatt = store.ecowatt(today, today.add_days(crate::store::ECOWATT_DAYS_AHEAD))?;
    if !ecowatt.is_empty() {
        let _ = writeln!(out, "\nEcoWatt (RTE):");
        for sentence in super::status::ecowatt_sentences(&ecowatt, today) {
            let _ = writeln!(out, "  {sentence}");
        }
    }
    if !store.tempo_days(from, to.add_days(2))?.is_empty() {
        let _ = writeln!(out, "\nTempo:");
        for sentence in super::status::tempo_sentences(&store.tempo_outlook(to.succ())?) {
            let _ = writeln!(out, "  {sentence}");
        }
    }
    let contracts = store.contracts(None)?;
    if !contracts.is_empty() {
        let _ = writeln!(out, "\ncontracts:");
        for c in contracts {
            let _ = writeln!(
                out,
                "  {} {} — {} ({}){}",
                c.energy.map_or("?", |e| e.as_str()),
                c.provider.as_deref().unwrap_or("?"),
                c.offer.as_deref().unwrap_or("?"),
                if c.active { "active" } else { c.state.as_str() },
                c.subscribed_kva
                    .map(|k| format!(", subscribed power {k} kVA"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_two_full_months_and_this_one() {
        let d = |s| Date::parse(s).unwrap();
        assert_eq!(
            demo_range(d("2026-11-28")),
            (d("2026-09-01"), d("2026-11-27"))
        );
        assert_eq!(
            demo_range(d("2026-03-01")),
            (d("2025-12-01"), d("2026-02-28"))
        );
    }
}
