//! `/metrics`: the Prometheus text format 0.0.4.
//!
//! Two sources: [`Metrics`], the in-process counters the service bumps after
//! each run (durations, requests to the site, outcomes; they restart at 0
//! with the process, as Prometheus counters may), and the store and the
//! service at scrape time (last success, failures in a row and breaker per
//! account from the saved scheduler state; days missing per meter; the
//! Tempo season's counters and disagreements from the store's outlook; the
//! active guest and its swap counters).

use super::{ApiError, Shared, with_store};
use crate::scheduler::AccountState;
use crate::store::{Granularity, TEMPO_COLOURS, TempoOutlook};
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the sync-duration histogram, in seconds: a daily run
/// takes seconds, a month of backfill with pacing minutes.
const BUCKETS: [f64; 10] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// In-process run figures, per account. Cheap to bump from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    accounts: Mutex<BTreeMap<String, RunFigures>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct RunFigures {
    /// Runs per bucket of [`BUCKETS`] (not cumulative), then above the last.
    buckets: [u64; BUCKETS.len() + 1],
    duration_sum: f64,
    requests: u64,
    succeeded: u64,
    failed: u64,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Records a finished run: how long it took, how many HTTP requests the
    /// guest made to the site, and whether it succeeded.
    pub fn record_run(&self, account: &str, duration: Duration, requests: u64, ok: bool) {
        let secs = duration.as_secs_f64();
        let mut accounts = self
            .accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let f = accounts.entry(account.to_owned()).or_default();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        f.buckets[i] += 1;
        f.duration_sum += secs;
        f.requests += requests;
        if ok {
            f.succeeded += 1;
        } else {
            f.failed += 1;
        }
    }

    fn snapshot(&self) -> BTreeMap<String, RunFigures> {
        self.accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A label value as the text format wants it.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A float as the text format wants it.
fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// Writes a metric family: HELP, TYPE, then its samples.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Family<'a> {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out, name }
    }

    fn sample(&mut self, suffix: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.out, "{}{suffix}", self.name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", num(value));
    }
}

/// What the store says, per account and per meter.
struct Stored {
    /// Account, its saved state (default when none or unreadable).
    accounts: Vec<(String, AccountState)>,
    /// Meter id, energy, days missing between its first and last day.
    missing: Vec<(String, &'static str, u64)>,
    /// The Tempo outlook of today.
    tempo: TempoOutlook,
}

fn read_store(
    store: &crate::store::Store,
    accounts: &[String],
    today: hellowatt_snapshot::Date,
) -> anyhow::Result<Stored> {
    let mut states = Vec::new();
    for a in accounts {
        let state = store
            .scheduler_state(a)?
            .and_then(|json| serde_json::from_str::<AccountState>(&json).ok())
            .unwrap_or_default();
        states.push((a.clone(), state));
    }
    let mut missing = Vec::new();
    for m in store.meters(None)? {
        let (Some(first), Some(last)) = (m.first_day, m.last_day) else {
            continue;
        };
        let gaps: u64 = store
            .totals(&m.meter_id, Granularity::Year, first, last)?
            .iter()
            .map(|t| u64::from(t.day_count.saturating_sub(t.value_count)))
            .sum();
        missing.push((m.meter_id, m.energy.as_str(), gaps));
    }
    Ok(Stored {
        accounts: states,
        missing,
        tempo: store.tempo_outlook(today)?,
    })
}

/// The whole exposition.
fn render(
    stored: &Stored,
    runs: &BTreeMap<String, RunFigures>,
    guest: &super::GuestSummary,
    counters: super::GuestCounters,
) -> String {
    let mut out = String::new();
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the account's last successful sync (absent before the first).",
        );
        for (a, s) in &stored.accounts {
            if let Some(t) = s.last_success {
                f.sample("", &[("account", a)], t as f64);
            }
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_consecutive_failures",
            "gauge",
            "Failed syncs in a row for the account (rate limits do not count).",
        );
        for (a, s) in &stored.accounts {
            f.sample("", &[("account", a)], f64::from(s.consecutive_failures));
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_breaker_open",
            "gauge",
            "1 when helloWatt rejected the account's credentials and no log-in is tried until \
             they change or a reset.",
        );
        for (a, s) in &stored.accounts {
            f.sample(
                "",
                &[("account", a)],
                f64::from(u8::from(s.breaker.is_some())),
            );
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_paused",
            "gauge",
            "1 when the account is paused because the site changed under the active guest.",
        );
        for (a, s) in &stored.accounts {
            f.sample(
                "",
                &[("account", a)],
                f64::from(u8::from(s.paused.is_some())),
            );
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_days_missing",
            "gauge",
            "Days between the meter's first and last stored day that have no kWh value.",
        );
        for (meter, energy, gaps) in &stored.missing {
            f.sample("", &[("meter", meter), ("energy", energy)], *gaps as f64);
        }
    }
    // Always exposed, even before any Tempo day is stored: the quotas are
    // known, and a series that appears later is harder to alert on.
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_tempo_days_used",
            "gauge",
            "Days of the current Tempo season (1 September to 31 August), up to and including \
             tomorrow, whose colour is known, by colour.",
        );
        for c in TEMPO_COLOURS {
            let n = stored.tempo.season.colours.get(c);
            f.sample("", &[("colour", c.as_str())], f64::from(n.used));
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_tempo_days_remaining",
            "gauge",
            "Days of the colour left in the current Tempo season (quota minus used, never \
             below 0: compare used with the quota to see an excess).",
        );
        for c in TEMPO_COLOURS {
            let n = stored.tempo.season.colours.get(c);
            f.sample("", &[("colour", c.as_str())], f64::from(n.remaining));
        }
    }
    Family::new(
        &mut out,
        "hellowatt_tempo_disagreements",
        "gauge",
        "Days of the current Tempo season where the Tempo service and a meter's tariff keys \
         give different colours (one per meter and day).",
    )
    .sample("", &[], stored.tempo.disagreements.len() as f64);
    // Every configured account has its series, even before its first run.
    let mut names: Vec<&str> = stored.accounts.iter().map(|(a, _)| a.as_str()).collect();
    for a in runs.keys() {
        if !names.contains(&a.as_str()) {
            names.push(a);
        }
    }
    let empty = RunFigures::default();
    let figures = |a: &str| runs.get(a).unwrap_or(&empty);
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_sync_duration_seconds",
            "histogram",
            "Duration of the syncs run since the service started.",
        );
        for a in &names {
            let r = figures(a);
            let mut cumulative = 0;
            for (i, le) in BUCKETS.iter().enumerate() {
                cumulative += r.buckets[i];
                f.sample(
                    "_bucket",
                    &[("account", a), ("le", &num(*le))],
                    cumulative as f64,
                );
            }
            cumulative += r.buckets[BUCKETS.len()];
            f.sample(
                "_bucket",
                &[("account", a), ("le", "+Inf")],
                cumulative as f64,
            );
            f.sample("_sum", &[("account", a)], r.duration_sum);
            f.sample("_count", &[("account", a)], cumulative as f64);
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_site_requests_total",
            "counter",
            "HTTP requests the guest made to the site since the service started.",
        );
        for a in &names {
            f.sample("", &[("account", a)], figures(a).requests as f64);
        }
    }
    {
        let mut f = Family::new(
            &mut out,
            "hellowatt_runs_total",
            "counter",
            "Syncs run since the service started, by outcome.",
        );
        for a in &names {
            let r = figures(a);
            f.sample(
                "",
                &[("account", a), ("outcome", "success")],
                r.succeeded as f64,
            );
            f.sample(
                "",
                &[("account", a), ("outcome", "failure")],
                r.failed as f64,
            );
        }
    }
    Family::new(
        &mut out,
        "hellowatt_guest_info",
        "gauge",
        "The active guest (always 1).",
    )
    .sample(
        "",
        &[
            ("name", &guest.name),
            ("version", &guest.version),
            ("sha256", &guest.sha256),
        ],
        1.0,
    );
    Family::new(
        &mut out,
        "hellowatt_guest_swaps_total",
        "counter",
        "Guests swapped in since the service started.",
    )
    .sample("", &[], counters.swaps as f64);
    Family::new(
        &mut out,
        "hellowatt_guest_refusals_total",
        "counter",
        "Guests refused by the validation gate since the service started.",
    )
    .sample("", &[], counters.refusals as f64);
    Family::new(
        &mut out,
        "hellowatt_build_info",
        "gauge",
        "The running hellowatt (always 1).",
    )
    .sample("", &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    out
}

pub async fn handler(State(ctx): State<Shared>, uri: Uri) -> Result<Response, ApiError> {
    super::params::Params::parse(&uri, &[])?;
    let accounts = ctx.api.service.accounts();
    let today = hellowatt_snapshot::Date::paris_day_of(ctx.api.service.now_utc());
    let stored = with_store(&ctx, move |store| Ok(read_store(store, &accounts, today)?)).await?;
    let text = render(
        &stored,
        &ctx.api.metrics.snapshot(),
        &ctx.api.service.guest(),
        ctx.api.service.counters(),
    );
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_land_in_their_buckets() {
        let m = Metrics::new();
        m.record_run("home", Duration::from_millis(500), 3, true);
        m.record_run("home", Duration::from_secs(45), 10, false);
        m.record_run("home", Duration::from_secs(7200), 100, true);
        let s = m.snapshot();
        let f = &s["home"];
        assert_eq!(f.buckets[0], 1);
        assert_eq!(f.buckets[4], 1); // 30 < 45 <= 60
        assert_eq!(f.buckets[BUCKETS.len()], 1);
        assert_eq!((f.requests, f.succeeded, f.failed), (113, 2, 1));
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let stored = Stored {
            accounts: vec![("we\"ird".into(), AccountState::default())],
            missing: vec![],
            tempo: crate::store::Store::open_in_memory()
                .unwrap()
                .tempo_outlook(hellowatt_snapshot::Date::parse("2026-11-28").unwrap())
                .unwrap(),
        };
        let guest = super::super::GuestSummary {
            name: "g".into(),
            version: "1".into(),
            sha256: "ab".into(),
            contract: "1.0.0".into(),
        };
        let text = render(&stored, &BTreeMap::new(), &guest, Default::default());
        assert!(text.contains("hellowatt_consecutive_failures{account=\"we\\\"ird\"} 0\n"));
        assert!(text.contains(
            "hellowatt_sync_duration_seconds_bucket{account=\"we\\\"ird\",le=\"+Inf\"} 0\n"
        ));
        assert!(text.contains("hellowatt_guest_info{name=\"g\",version=\"1\",sha256=\"ab\"} 1\n"));
        // An empty store: whole quotas, nothing used, no disagreement.
        assert!(text.contains("hellowatt_tempo_days_remaining{colour=\"red\"} 22\n"));
        assert!(text.contains("hellowatt_tempo_days_used{colour=\"blue\"} 0\n"));
        assert!(text.contains("hellowatt_tempo_disagreements 0\n"));
    }
}
