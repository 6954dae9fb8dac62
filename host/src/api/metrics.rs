//! `/metrics`: the Prometheus text format 0.0.4, written by the
//! `prometheus-client` crate (its `prometheus_text` encoder): HELP and TYPE
//! lines, label escaping, number formatting and the histogram's cumulative
//! buckets are the crate's, none is written here.
//!
//! Two sources: [`Metrics`], the in-process run figures the service bumps
//! after each run (durations, requests to the site, outcomes; the crate's
//! counter and histogram families; they restart at 0 with the process, as
//! Prometheus counters may), and the store and the service at scrape time
//! (last success, failures in a row and breaker per account from the saved
//! scheduler state; days missing per meter; the Tempo season's counters and
//! disagreements from the store's outlook; RTE's EcoWatt levels of today,
//! tomorrow and the current hour, without a sample while unknown; the
//! active guest and its swap counters), put into a fresh `Registry` per
//! scrape.
//!
//! Names: the crate adds `_total` to a counter, `_info` to an info metric
//! and the unit to a metric registered with one, so each is registered
//! without them (`hellowatt_runs` is exposed as `hellowatt_runs_total`); it
//! adds the full stop to HELP, so the texts here have none.
//!
//! Never here:
//! - a sample or a label written by hand: label values come from outside
//!   (account names from the config, meter ids from the site, a dropped-in
//!   guest's name and version) and only the crate's encoder, which escapes
//!   `\`, `"` and newlines, writes them;
//! - a secret, or anything the site answered beyond a meter's id: the labels
//!   are account, meter, energy, colour, day (`today`, `tomorrow`),
//!   outcome, the guest's name, version and digest, and the build's
//!   version;
//! - a label whose values grow with time (a date, a run, an error's text):
//!   series are per configured account, meter, colour or outcome.

use super::{ApiError, Shared, with_store};
use crate::scheduler::AccountState;
use crate::store::{ColourCount, EcoWattNow, Granularity, TEMPO_COLOURS, TempoOutlook};
use axum::extract::State;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, prometheus_text};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::{Registry, Unit};
use std::time::Duration;

/// Upper bounds of the sync-duration histogram, in seconds: a daily run
/// takes seconds, a month of backfill with pacing minutes.
const BUCKETS: [f64; 10] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// The outcomes of `hellowatt_runs_total`, both exposed for every account.
const OUTCOMES: [&str; 2] = ["success", "failure"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AccountLabels {
    account: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    account: String,
    outcome: &'static str,
}

#[derive(Debug, EncodeLabelSet)]
struct MeterLabels {
    meter: String,
    energy: &'static str,
}

#[derive(Debug, EncodeLabelSet)]
struct ColourLabels {
    colour: &'static str,
}

#[derive(Debug, EncodeLabelSet)]
struct DayLabels {
    day: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GuestLabels {
    name: String,
    version: String,
    sha256: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// In-process run figures, per account. Cheap to bump from any thread.
#[derive(Debug)]
pub struct Metrics {
    durations: Family<AccountLabels, Histogram>,
    requests: Family<AccountLabels, Counter>,
    runs: Family<RunLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            durations: Family::new_with_constructor(|| Histogram::new(BUCKETS)),
            requests: Family::default(),
            runs: Family::default(),
        }
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Records a finished run: how long it took, how many HTTP requests the
    /// guest made to the site, and whether it succeeded.
    pub fn record_run(&self, account: &str, duration: Duration, requests: u64, ok: bool) {
        let labels = AccountLabels {
            account: account.to_owned(),
        };
        self.durations
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
        self.requests.get_or_create(&labels).inc_by(requests);
        let outcome = if ok { OUTCOMES[0] } else { OUTCOMES[1] };
        self.runs
            .get_or_create(&RunLabels {
                account: labels.account,
                outcome,
            })
            .inc();
    }

    /// Gives the account its series (at 0) if it has none yet: every
    /// configured account is exposed, even before its first run.
    fn expose(&self, account: &str) {
        let labels = AccountLabels {
            account: account.to_owned(),
        };
        drop(self.durations.get_or_create(&labels));
        drop(self.requests.get_or_create(&labels));
        for outcome in OUTCOMES {
            drop(self.runs.get_or_create(&RunLabels {
                account: account.to_owned(),
                outcome,
            }));
        }
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
    /// EcoWatt today, tomorrow and at the scrape's instant.
    ecowatt: EcoWattNow,
    /// When Home Assistant is configured: how its last push went (`None`
    /// before the first).
    home_assistant: Option<Option<crate::store::HaPushState>>,
}

fn read_store(
    store: &crate::store::Store,
    accounts: &[String],
    today: hellowatt_snapshot::Date,
    now: i64,
    home_assistant: bool,
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
        ecowatt: store.ecowatt_now(today, now)?,
        home_assistant: if home_assistant {
            Some(store.ha_push_state()?)
        } else {
            None
        },
    })
}

/// A family filled at scrape time: its samples in the order given (the
/// crate's `Family` keeps them in a hash map), and its HELP and TYPE even
/// without a sample (before any account's first success, say), as the
/// exposition always had them.
#[derive(Debug)]
struct Series<L, M>(Vec<(L, M)>);

impl<L: EncodeLabelSet, M: EncodeMetric + TypedMetric> EncodeMetric for Series<L, M> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, metric) in &self.0 {
            metric.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }
}

/// A family without labels that has no sample while its value is unknown
/// (its HELP and TYPE stay, as [`Series`]'s).
#[derive(Debug)]
struct Maybe<M>(Option<M>);

impl<M: EncodeMetric + TypedMetric> EncodeMetric for Maybe<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.as_ref().map_or(Ok(()), |m| m.encode(encoder))
    }

    fn metric_type(&self) -> MetricType {
        M::TYPE
    }
}

/// A gauge per account, for the accounts `value` has one for.
fn per_account(
    stored: &Stored,
    value: impl Fn(&AccountState) -> Option<i64>,
) -> Series<AccountLabels, ConstGauge> {
    Series(
        stored
            .accounts
            .iter()
            .filter_map(|(account, state)| {
                let labels = AccountLabels {
                    account: account.clone(),
                };
                Some((labels, ConstGauge::new(value(state)?)))
            })
            .collect(),
    )
}

/// A gauge per Tempo colour, in the order of [`TEMPO_COLOURS`].
fn per_colour(
    tempo: &TempoOutlook,
    value: impl Fn(&ColourCount) -> u32,
) -> Series<ColourLabels, ConstGauge> {
    Series(
        TEMPO_COLOURS
            .iter()
            .map(|c| {
                let n = value(tempo.season.colours.get(*c));
                (
                    ColourLabels { colour: c.as_str() },
                    ConstGauge::new(i64::from(n)),
                )
            })
            .collect(),
    )
}

/// The whole exposition, in the order the families are registered.
fn render(
    stored: &Stored,
    runs: &Metrics,
    guest: &super::GuestSummary,
    counters: super::GuestCounters,
) -> Result<String, std::fmt::Error> {
    let mut r = Registry::default();
    r.register_with_unit(
        "hellowatt_last_success_timestamp",
        "Unix time of the account's last successful sync (absent before the first)",
        Unit::Seconds,
        per_account(stored, |s| s.last_success),
    );
    r.register(
        "hellowatt_consecutive_failures",
        "Failed syncs in a row for the account (rate limits do not count)",
        per_account(stored, |s| Some(i64::from(s.consecutive_failures))),
    );
    r.register(
        "hellowatt_breaker_open",
        "1 when helloWatt rejected the account's credentials and no log-in is tried until \
         they change or a reset",
        per_account(stored, |s| Some(i64::from(s.breaker.is_some()))),
    );
    r.register(
        "hellowatt_paused",
        "1 when the account is paused because the site changed under the active guest",
        per_account(stored, |s| Some(i64::from(s.paused.is_some()))),
    );
    let missing = stored.missing.iter().map(|(meter, energy, gaps)| {
        let labels = MeterLabels {
            meter: meter.clone(),
            energy,
        };
        (labels, ConstGauge::new(*gaps))
    });
    r.register(
        "hellowatt_days_missing",
        "Days between the meter's first and last stored day that have no kWh value",
        Series(missing.collect()),
    );
    // Always exposed, even before any Tempo day is stored: the quotas are
    // known, and a series that appears later is harder to alert on.
    r.register(
        "hellowatt_tempo_days_used",
        "Days of the current Tempo season (1 September to 31 August), up to and including \
         tomorrow, whose colour is known, by colour",
        per_colour(&stored.tempo, |n| n.used),
    );
    r.register(
        "hellowatt_tempo_days_remaining",
        "Days of the colour left in the current Tempo season (quota minus used, never \
         below 0: compare used with the quota to see an excess)",
        per_colour(&stored.tempo, |n| n.remaining),
    );
    r.register(
        "hellowatt_tempo_disagreements",
        "Days of the current Tempo season where the Tempo service and a meter's tariff keys \
         give different colours (one per meter and day)",
        ConstGauge::new(stored.tempo.disagreements.len() as u64),
    );
    // Always registered, a sample only for a known level: RTE's signal is
    // off without its credentials, and unknown is not green.
    let e = &stored.ecowatt;
    let days = [("today", &e.today), ("tomorrow", &e.tomorrow)]
        .into_iter()
        .filter_map(|(day, d)| {
            let level = d.as_ref()?.level?;
            Some((DayLabels { day }, ConstGauge::new(i64::from(level))))
        });
    r.register(
        "hellowatt_ecowatt_level",
        "RTE's EcoWatt level of the day (1 green, 2 orange: the grid is tense, 3 red: cuts \
         likely without less use), no sample until published",
        Series(days.collect()),
    );
    r.register(
        "hellowatt_ecowatt_hour_level",
        "RTE's EcoWatt level of the current hour (0 green with low-carbon production, 1 green, \
         2 orange, 3 red), no sample when not published",
        Maybe(e.hour.map(|h| ConstGauge::new(i64::from(h.level)))),
    );
    // Only when Home Assistant is configured: a series that is always 0
    // for everyone else would only be noise.
    if let Some(push) = &stored.home_assistant {
        r.register(
            "hellowatt_home_assistant_push_failing",
            "1 when the last push of statistics to Home Assistant failed (the next run sends \
             again what it could not)",
            ConstGauge::new(i64::from(push.as_ref().is_some_and(|p| p.error.is_some()))),
        );
        if let Some(at) = push.as_ref().and_then(|p| p.succeeded_at) {
            r.register_with_unit(
                "hellowatt_home_assistant_last_push_success_timestamp",
                "Unix time of the last push of statistics that Home Assistant accepted",
                Unit::Seconds,
                ConstGauge::new(at),
            );
        }
        r.register(
            "hellowatt_home_assistant_hours_sent",
            "Hours of statistics Home Assistant accepted, every statistic and push together",
            ConstCounter::new(push.as_ref().map_or(0, |p| p.sent_total)),
        );
    }
    // Every configured account has its series, even before its first run.
    for (account, _) in &stored.accounts {
        runs.expose(account);
    }
    r.register_with_unit(
        "hellowatt_sync_duration",
        "Duration of the syncs run since the service started",
        Unit::Seconds,
        runs.durations.clone(),
    );
    r.register(
        "hellowatt_site_requests",
        "HTTP requests the guest made to the site since the service started",
        runs.requests.clone(),
    );
    r.register(
        "hellowatt_runs",
        "Syncs run since the service started, by outcome",
        runs.runs.clone(),
    );
    r.register(
        "hellowatt_guest",
        "The active guest (always 1)",
        Info::new(GuestLabels {
            name: guest.name.clone(),
            version: guest.version.clone(),
            sha256: guest.sha256.clone(),
        }),
    );
    r.register(
        "hellowatt_guest_swaps",
        "Guests swapped in since the service started",
        ConstCounter::new(counters.swaps),
    );
    r.register(
        "hellowatt_guest_refusals",
        "Guests refused by the validation gate since the service started",
        ConstCounter::new(counters.refusals),
    );
    r.register(
        "hellowatt_build",
        "The running hellowatt (always 1)",
        Info::new(BuildLabels {
            version: env!("CARGO_PKG_VERSION"),
        }),
    );
    let mut out = String::new();
    prometheus_text::encode(&mut out, &r)?;
    Ok(out)
}

pub async fn handler(State(ctx): State<Shared>, uri: Uri) -> Result<Response, ApiError> {
    super::params::Params::parse(&uri, &[])?;
    let accounts = ctx.api.service.accounts();
    let now = ctx.api.service.now_utc();
    let today = hellowatt_snapshot::Date::paris_day_of(now);
    let home_assistant = ctx.api.service.home_assistant().is_some();
    let stored = with_store(&ctx, move |store| {
        Ok(read_store(store, &accounts, today, now, home_assistant)?)
    })
    .await?;
    let text = render(
        &stored,
        &ctx.api.metrics,
        &ctx.api.service.guest(),
        ctx.api.service.counters(),
    )
    .map_err(anyhow::Error::from)?;
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(accounts: &[&str]) -> Stored {
        Stored {
            accounts: accounts
                .iter()
                .map(|a| (a.to_string(), AccountState::default()))
                .collect(),
            missing: vec![],
            tempo: crate::store::Store::open_in_memory()
                .unwrap()
                .tempo_outlook(hellowatt_snapshot::Date::parse("2026-11-28").unwrap())
                .unwrap(),
            ecowatt: EcoWattNow::default(),
            home_assistant: None,
        }
    }

    fn guest() -> super::super::GuestSummary {
        super::super::GuestSummary {
            name: "g".into(),
            version: "1".into(),
            sha256: "ab".into(),
            contract: "1.0.0".into(),
        }
    }

    #[test]
    fn runs_land_in_their_buckets() {
        let m = Metrics::new();
        m.record_run("home", Duration::from_millis(500), 3, true);
        m.record_run("home", Duration::from_secs(45), 10, false);
        m.record_run("home", Duration::from_secs(7200), 100, true);
        let text = render(&stored(&[]), &m, &guest(), Default::default()).unwrap();
        // Cumulative: 0.5 s in the first bucket, 45 s in (30, 60], 7200 s
        // above the last.
        for (le, n) in [("1", 1), ("30", 1), ("60", 2), ("3600", 2), ("+Inf", 3)] {
            let line = format!(
                "hellowatt_sync_duration_seconds_bucket{{account=\"home\",le=\"{le}\"}} {n}\n"
            );
            assert!(text.contains(&line), "no {line:?} in\n{text}");
        }
        assert!(text.contains("hellowatt_sync_duration_seconds_sum{account=\"home\"} 7245.5\n"));
        assert!(text.contains("hellowatt_sync_duration_seconds_count{account=\"home\"} 3\n"));
        assert!(text.contains("hellowatt_site_requests_total{account=\"home\"} 113\n"));
        assert!(text.contains("hellowatt_runs_total{account=\"home\",outcome=\"success\"} 2\n"));
        assert!(text.contains("hellowatt_runs_total{account=\"home\",outcome=\"failure\"} 1\n"));
    }

    #[test]
    fn labels_are_escaped() {
        let text = render(
            &stored(&["we\"ird", "a\"b\\c\nd"]),
            &Metrics::new(),
            &guest(),
            Default::default(),
        )
        .unwrap();
        assert!(text.contains("hellowatt_consecutive_failures{account=\"we\\\"ird\"} 0\n"));
        assert!(text.contains("hellowatt_consecutive_failures{account=\"a\\\"b\\\\c\\nd\"} 0\n"));
        assert!(text.contains(
            "hellowatt_sync_duration_seconds_bucket{account=\"we\\\"ird\",le=\"+Inf\"} 0\n"
        ));
        assert!(text.contains("hellowatt_guest_info{name=\"g\",version=\"1\",sha256=\"ab\"} 1\n"));
        // An empty store: whole quotas, nothing used, no disagreement.
        assert!(text.contains("hellowatt_tempo_days_remaining{colour=\"red\"} 22\n"));
        assert!(text.contains("hellowatt_tempo_days_used{colour=\"blue\"} 0\n"));
        assert!(text.contains("hellowatt_tempo_disagreements 0\n"));
    }

    /// The names, types and HELP texts the crate writes are those of the
    /// hand-written exposition before it: `_total`, `_info` and the unit
    /// once, the full stop once.
    #[test]
    fn names_types_and_help_are_kept() {
        let text = render(
            &stored(&["home"]),
            &Metrics::new(),
            &guest(),
            Default::default(),
        )
        .unwrap();
        for lines in [
            "# HELP hellowatt_runs_total Syncs run since the service started, by outcome.\n\
             # TYPE hellowatt_runs_total counter\n",
            "# HELP hellowatt_consecutive_failures Failed syncs in a row for the account \
             (rate limits do not count).\n# TYPE hellowatt_consecutive_failures gauge\n",
            "# HELP hellowatt_sync_duration_seconds Duration of the syncs run since the \
             service started.\n# TYPE hellowatt_sync_duration_seconds histogram\n",
            "# HELP hellowatt_guest_info The active guest (always 1).\n\
             # TYPE hellowatt_guest_info gauge\n",
            "# TYPE hellowatt_guest_swaps_total counter\nhellowatt_guest_swaps_total 0\n",
            "# TYPE hellowatt_build_info gauge\nhellowatt_build_info{version=\"",
        ] {
            assert!(text.contains(lines), "no {lines:?} in\n{text}");
        }
        for line in text.lines().filter(|l| l.starts_with("# HELP ")) {
            assert!(line.ends_with('.') && !line.ends_with(".."), "{line}");
        }
    }

    /// Today orange with a red hour at 3, tomorrow published without a
    /// level: the day gauges and the hour's are the store's, and what is
    /// not known has no sample.
    #[test]
    fn ecowatt_levels_are_the_stores() {
        use crate::store::test_support::{ecowatt_days, store_with_ecowatt};
        let today = hellowatt_snapshot::Date::parse("2026-11-28").unwrap();
        let midnight = today.paris_midnight_utc();
        let store = store_with_ecowatt(ecowatt_days(today));
        let scrape = |now: i64| {
            let stored = read_store(&store, &[], today, now, false).unwrap();
            render(&stored, &Metrics::new(), &guest(), Default::default()).unwrap()
        };
        let days = store.ecowatt(today, today.succ()).unwrap();
        let text = scrape(today.paris_time_utc(3, 30));
        let want_today = days[0].level.unwrap();
        let hour = days[0]
            .hours
            .iter()
            .find(|h| h.start == midnight + 3 * 3600);
        let want_hour = hour.unwrap().level;
        assert_eq!((want_today, want_hour), (2, 3));
        for lines in [
            "# HELP hellowatt_ecowatt_level RTE's EcoWatt level of the day".to_string(),
            "# TYPE hellowatt_ecowatt_level gauge\n".to_string(),
            format!("hellowatt_ecowatt_level{{day=\"today\"}} {want_today}\n"),
            "# TYPE hellowatt_ecowatt_hour_level gauge\n".to_string(),
            format!("hellowatt_ecowatt_hour_level {want_hour}\n"),
        ] {
            assert!(text.contains(&lines), "no {lines:?} in\n{text}");
        }
        assert_eq!(days[1].level, None);
        assert!(
            !text.contains("day=\"tomorrow\""),
            "unknown: no sample\n{text}"
        );
        // 23:00 is not stored: no hour sample, the HELP and TYPE stay.
        let text = scrape(today.paris_time_utc(23, 30));
        assert!(text.contains("# TYPE hellowatt_ecowatt_hour_level gauge\n"));
        assert!(!text.contains("\nhellowatt_ecowatt_hour_level "), "{text}");
        // No EcoWatt at all: no sample either.
        let text = render(&stored(&[]), &Metrics::new(), &guest(), Default::default()).unwrap();
        assert!(!text.contains("hellowatt_ecowatt_level{"), "{text}");
    }
}
