//! The Tempo slot's runs: which days to ask the public Tempo service for,
//! when, and from which source.
//!
//! # What it owns
//! - **The schedule** ([`next_run`]), a pure function of the clock, of what
//!   the store holds and of the last attempts: catch up on the season's
//!   missing days at once; look for tomorrow's colour from
//!   `tempo_announce_at` (11:00 by default; RTE announces at about 10:40)
//!   and again every `tempo_retry_minutes` until it is known; then sleep
//!   until the next day's announcement. A failure backs off (the retry
//!   period, doubled per failure, at most [`MAX_BACKOFF`]).
//! - **The windows** ([`window`]): from the season's first day without a
//!   colour from the service (1 September at first start) to tomorrow.
//! - **The runs** ([`run_once`]): the `tempo` guest under a policy that
//!   holds the Tempo origin of the attempt and nothing else (never the
//!   helloWatt site), with the Tempo pacing; the default source first, the
//!   fallback (RTE's tempoLight) when the default one is down, changed or
//!   refuses. Rows are filed under the pseudo-account [`TEMPO_ACCOUNT`].
//!
//! # What it must never do
//! - Read a colour itself: the guest reads the services, the store keeps
//!   the colours (a known colour is never replaced by "unknown", so a
//!   service that is down loses nothing).
//! - Take an origin, a pacing or a schedule from the guest: they come from
//!   the host's configuration (`tempo_*` keys).

use crate::config::TempoConfig;
use crate::sandbox::runtime::{Guest, Runtime};
use crate::slot::TEMPO_ACCOUNT;
use crate::store::Store;
use crate::sync::{self, RunFailure, RunSummary, Target, month_windows};
use anyhow::Result;
use hellowatt_snapshot::{DataKind, Date, SyncError, TempoSeason, TempoSource};
use std::time::Duration;

/// Longest wait between two attempts after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4 * 3600);

/// What the store says, for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The season's first day up to today without a colour from the
    /// service.
    pub first_missing: Option<Date>,
    /// Whether the service's colour of tomorrow is stored.
    pub tomorrow_known: bool,
}

/// Reads the facts for `today` from the store.
pub fn facts(store: &Store, today: Date) -> Result<Facts> {
    let tomorrow = today.succ();
    let known: std::collections::HashSet<Date> = store
        .tempo_days(TempoSeason::holding(today).start, tomorrow)?
        .into_iter()
        .filter(|t| t.source == TempoSource::Service && t.colour.is_some())
        .map(|t| t.date)
        .collect();
    let mut first_missing = None;
    let mut d = TempoSeason::holding(today).start;
    while d <= today {
        if !known.contains(&d) {
            first_missing = Some(d);
            break;
        }
        d = d.succ();
    }
    Ok(Facts {
        first_missing,
        tomorrow_known: known.contains(&tomorrow),
    })
}

/// The days a run asks for: from the first missing day (or tomorrow) to
/// tomorrow.
pub fn window(facts: &Facts, today: Date) -> (Date, Date) {
    (facts.first_missing.unwrap_or(today.succ()), today.succ())
}

/// What the schedule remembers between runs (in memory: after a restart
/// the store's facts are enough to decide).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Failures in a row.
    pub failures: u32,
    /// When the last run started (Unix seconds).
    pub last: Option<i64>,
}

/// Why the next run happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Days of the season are missing (first start, or after downtime).
    CatchUp,
    /// Tomorrow's colour: announced from `tempo_announce_at`.
    Tomorrow,
    /// After a failure.
    Retry,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::CatchUp => "catch up on the season",
            Why::Tomorrow => "tomorrow's colour",
            Why::Retry => "retry",
        })
    }
}

/// When to run next (Unix seconds; at or before `now` means at once).
pub fn next_run(now: i64, facts: &Facts, attempts: &Attempts, config: &TempoConfig) -> (i64, Why) {
    let retry = config.retry_every.as_secs() as i64;
    if attempts.failures > 0 {
        let factor = 1i64 << attempts.failures.saturating_sub(1).min(16);
        let wait = retry
            .saturating_mul(factor)
            .min(MAX_BACKOFF.as_secs() as i64);
        return (
            attempts.last.unwrap_or(now).saturating_add(wait),
            Why::Retry,
        );
    }
    if facts.first_missing.is_some() {
        return (now, Why::CatchUp);
    }
    let today = Date::paris_day_of(now);
    let (h, m) = config.announce_at;
    if facts.tomorrow_known {
        return (today.succ().paris_time_utc(h, m), Why::Tomorrow);
    }
    let announce = today.paris_time_utc(h, m);
    match attempts.last {
        _ if now < announce => (announce, Why::Tomorrow),
        Some(last) if last >= announce => (last.saturating_add(retry).max(now), Why::Tomorrow),
        _ => (now, Why::Tomorrow),
    }
}

/// Whether an error of the default source sends the run to the fallback.
fn worth_the_fallback(failure: &RunFailure) -> bool {
    matches!(
        failure,
        RunFailure::Guest(
            SyncError::SiteUnavailable(_)
                | SyncError::SiteChanged(_)
                | SyncError::RateLimited(_)
                | SyncError::Transport { .. }
                | SyncError::SessionLost { .. }
        )
    )
}

/// One Tempo run for `today`: the missing days and tomorrow, from the
/// default source, then from the fallback if the default one failed in a
/// way another source can help with. Returns the last run's summary (and
/// `None` when nothing was missing).
pub async fn run_once<S: sync::StoreAccess>(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut S,
    config: &TempoConfig,
    limits: &crate::sandbox::runtime::Limits,
    today: Date,
) -> Result<Option<RunSummary>> {
    let facts = facts(&*store.lock().await, today)?;
    let (from, to) = window(&facts, today);
    let windows = month_windows(from, to);
    let mut sources = vec![&config.primary];
    sources.extend(config.fallback.as_ref());
    let mut last = None;
    for (i, origin) in sources.into_iter().enumerate() {
        let target = Target {
            account: TEMPO_ACCOUNT,
            origin,
            http: &config.http,
            limits,
            login: "",
            password: "",
            kinds: &[DataKind::Tempo],
            progress: None,
        };
        if i > 0 {
            tracing::warn!(
                "Tempo: the default source failed, asking the fallback {}",
                origin.url()
            );
        }
        let summary = sync::run_target(runtime, guest, store, &target, &windows).await?;
        let retry_elsewhere = summary.failure.as_ref().is_some_and(worth_the_fallback);
        last = Some(summary);
        if !retry_elsewhere {
            break;
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::policy::{HttpLimits, Origin};

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn config() -> TempoConfig {
        TempoConfig {
            primary: Origin::parse(crate::config::DEFAULT_TEMPO_URL).unwrap(),
            fallback: None,
            http: HttpLimits {
                requests: crate::slot::Slot::Tempo.default_requests(),
                ..HttpLimits::default()
            },
            announce_at: (11, 0),
            retry_every: Duration::from_secs(1800),
        }
    }

    fn at(date: &str, h: u8, m: u8) -> i64 {
        d(date).paris_time_utc(h, m)
    }

    const UP_TO_DATE: Facts = Facts {
        first_missing: None,
        tomorrow_known: false,
    };

    #[test]
    fn tomorrow_is_looked_for_from_eleven_until_known() {
        let c = config();
        let none = Attempts::default();
        // Before 11:00: wait for the announcement.
        assert_eq!(
            next_run(at("2026-11-28", 9, 0), &UP_TO_DATE, &none, &c),
            (at("2026-11-28", 11, 0), Why::Tomorrow)
        );
        // From 11:00, at once; then every 30 minutes while unknown.
        assert_eq!(
            next_run(at("2026-11-28", 11, 5), &UP_TO_DATE, &none, &c),
            (at("2026-11-28", 11, 5), Why::Tomorrow)
        );
        let tried = Attempts {
            failures: 0,
            last: Some(at("2026-11-28", 11, 5)),
        };
        assert_eq!(
            next_run(at("2026-11-28", 11, 6), &UP_TO_DATE, &tried, &c),
            (at("2026-11-28", 11, 35), Why::Tomorrow)
        );
        // Known: the next day's announcement.
        let known = Facts {
            tomorrow_known: true,
            ..UP_TO_DATE
        };
        assert_eq!(
            next_run(at("2026-11-28", 11, 6), &known, &tried, &c),
            (at("2026-11-29", 11, 0), Why::Tomorrow)
        );
        // An attempt from yesterday does not delay today's.
        let yesterday = Attempts {
            failures: 0,
            last: Some(at("2026-11-27", 23, 0)),
        };
        assert_eq!(
            next_run(at("2026-11-28", 12, 0), &UP_TO_DATE, &yesterday, &c),
            (at("2026-11-28", 12, 0), Why::Tomorrow)
        );
    }

    #[test]
    fn missing_days_first_and_failures_back_off() {
        let c = config();
        let missing = Facts {
            first_missing: Some(d("2026-09-01")),
            tomorrow_known: false,
        };
        let now = at("2026-11-28", 3, 0);
        assert_eq!(
            next_run(now, &missing, &Attempts::default(), &c),
            (now, Why::CatchUp)
        );
        let failed = |failures| Attempts {
            failures,
            last: Some(now),
        };
        assert_eq!(
            next_run(now, &missing, &failed(1), &c),
            (now + 1800, Why::Retry)
        );
        assert_eq!(
            next_run(now, &missing, &failed(3), &c),
            (now + 7200, Why::Retry)
        );
        assert_eq!(
            next_run(now, &missing, &failed(40), &c),
            (now + MAX_BACKOFF.as_secs() as i64, Why::Retry)
        );
    }

    #[test]
    fn seasons_start_on_the_first_of_september() {
        assert_eq!(TempoSeason::holding(d("2026-08-31")).start, d("2025-09-01"));
        assert_eq!(TempoSeason::holding(d("2026-09-01")).start, d("2026-09-01"));
        assert_eq!(TempoSeason::holding(d("2027-02-28")).start, d("2026-09-01"));
        let f = Facts {
            first_missing: Some(d("2026-09-01")),
            tomorrow_known: false,
        };
        assert_eq!(
            window(&f, d("2026-11-28")),
            (d("2026-09-01"), d("2026-11-29"))
        );
        assert_eq!(
            window(&UP_TO_DATE, d("2026-11-28")),
            (d("2026-11-29"), d("2026-11-29"))
        );
    }
}
