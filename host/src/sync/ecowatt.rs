//! The EcoWatt slot's runs: when to ask RTE for its signals, and one run.
//!
//! # What it owns
//! - **The schedule** ([`next_run`]), a pure function of the clock, of the
//!   last runs (the store's, so that a restart keeps to RTE's limit) and
//!   of the failures in a row: the signals every `ecowatt_every_minutes`
//!   (60 by default); never two calls within [`RTE_PERIOD`] (RTE allows
//!   one call every 15 minutes per application and answers 429 to the
//!   second); after a 429, its `Retry-After` when RTE gives one, else the
//!   15 minutes again; after another failure, a back-off doubling from 15
//!   minutes to [`MAX_BACKOFF`]; RTE refusing the credentials waits
//!   [`MAX_BACKOFF`] (the keys must change: never retried blindly).
//! - **The runs** ([`run_once`]): a bearer token from the host's broker
//!   ([`TokenBroker`]), then the `ecowatt` guest under a policy holding
//!   RTE's origin only, its requests carrying the token (added by the
//!   policy's browser), over today and the three days after. A refused
//!   token is forgotten, so the next run asks RTE for another. Rows are
//!   filed under the pseudo-account [`ECOWATT_ACCOUNT`]; a run that could
//!   not get a token is filed too, failed, so that `status` says why.
//!
//! # What it must never do
//! - Give the guest the client credentials or the token, or take an
//!   origin, a period or a schedule from it.
//! - Replace a stored level by "unknown" (the store keeps the last
//!   publication's levels).

use crate::config::EcowattConfig;
use crate::sandbox::runtime::{Guest, Limits, Runtime};
use crate::slot::ECOWATT_ACCOUNT;
use crate::store::{ECOWATT_DAYS_AHEAD, IngestStats, RunOutcome, Store};
use crate::sync::rte_token::{TokenBroker, TokenError};
use crate::sync::{self, Part, RunFailure, RunSummary, StoreAccess, Target};
use anyhow::Result;
use hellowatt_snapshot::{DataKind, Date, SyncError};
use std::time::Duration;

/// RTE's limit: one call every 15 minutes per application.
pub const RTE_PERIOD: i64 = 15 * 60;

/// Longest wait between two attempts after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(4 * 3600);

/// What the store says, for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    /// When the last run started (Unix seconds), from the store.
    pub last_run: Option<i64>,
    /// Whether today's signal is stored.
    pub today_known: bool,
}

/// Reads the facts for `today` from the store.
pub fn facts(store: &Store, today: Date) -> Result<Facts> {
    Ok(Facts {
        last_run: store
            .runs(Some(ECOWATT_ACCOUNT), 1)?
            .first()
            .map(|r| r.started_at),
        today_known: !store.ecowatt(today, today)?.is_empty(),
    })
}

/// What the schedule remembers of the last failures (in memory: after a
/// restart the store's last run keeps RTE's limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Failures in a row.
    pub failures: u32,
    /// What the last failure was.
    pub last_failure: Option<Failure>,
}

/// A failure the schedule answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// RTE refused the credentials or the token.
    Refused,
    /// 429, with RTE's `Retry-After` in seconds when it gave one.
    RateLimited(Option<u64>),
    /// Anything else (down, changed, a guest trouble).
    Other,
}

impl Failure {
    /// The schedule's reading of a run's failure.
    pub fn of(failure: &RunFailure) -> Failure {
        match failure {
            RunFailure::Guest(SyncError::CredentialsRejected { .. }) => Failure::Refused,
            RunFailure::Guest(SyncError::RateLimited(r)) => {
                Failure::RateLimited(r.retry_after_seconds)
            }
            _ => Failure::Other,
        }
    }
}

/// Why the next run happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Nothing stored for today yet (first start, a new day, downtime).
    Today,
    /// The regular refresh.
    Refresh,
    /// After a failure.
    Retry,
    /// After RTE's 429.
    RateLimited,
    /// After RTE refused the credentials.
    Refused,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::Today => "today's signal",
            Why::Refresh => "refresh",
            Why::Retry => "retry",
            Why::RateLimited => "after RTE's rate limit",
            Why::Refused => "after RTE refused the credentials",
        })
    }
}

/// When to run next (Unix seconds; at or before `now` means at once).
pub fn next_run(now: i64, facts: &Facts, attempts: &Attempts, every: Duration) -> (i64, Why) {
    let Some(last) = facts.last_run else {
        return (now, Why::Today);
    };
    let allowed = last.saturating_add(RTE_PERIOD);
    let (at, why) = match attempts.last_failure.filter(|_| attempts.failures > 0) {
        Some(Failure::Refused) => (
            last.saturating_add(MAX_BACKOFF.as_secs() as i64),
            Why::Refused,
        ),
        Some(Failure::RateLimited(after)) => (
            last.saturating_add(after.map_or(RTE_PERIOD, |a| a.min(86_400) as i64)),
            Why::RateLimited,
        ),
        Some(Failure::Other) => {
            let factor = 1i64 << attempts.failures.saturating_sub(1).min(16);
            let wait = RTE_PERIOD
                .saturating_mul(factor)
                .min(MAX_BACKOFF.as_secs() as i64);
            (last.saturating_add(wait), Why::Retry)
        }
        None if !facts.today_known => (now, Why::Today),
        None => (last.saturating_add(every.as_secs() as i64), Why::Refresh),
    };
    (at.max(allowed), why)
}

/// The days a run asks for: today and the days RTE publishes after it.
pub fn window(today: Date) -> (Date, Date) {
    (today, today.add_days(ECOWATT_DAYS_AHEAD))
}

/// What one run did.
#[derive(Debug)]
pub enum Ran {
    /// The guest ran (its summary says how it went).
    Guest(RunSummary),
    /// No token: the guest did not run; the failed run is in the store.
    NoToken { run_id: i64, error: TokenError },
}

impl Ran {
    /// The schedule's reading of the run: `None` when it succeeded.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Ran::Guest(s) => s.failure.as_ref().map(Failure::of),
            Ran::NoToken {
                error: TokenError::Refused(_),
                ..
            } => Some(Failure::Refused),
            Ran::NoToken { .. } => Some(Failure::Other),
        }
    }
}

/// One EcoWatt run for `today` at `now`.
#[allow(clippy::too_many_arguments)]
pub async fn run_once<S: StoreAccess>(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut S,
    config: &EcowattConfig,
    broker: &TokenBroker,
    limits: &Limits,
    today: Date,
    now: i64,
) -> Result<Ran> {
    let (start, end) = window(today);
    let token = match broker.token(now).await {
        Ok(t) => t,
        Err(error) => {
            let run_id = record_no_token(&mut *store.lock().await, guest, &error, start, end, now)?;
            return Ok(Ran::NoToken { run_id, error });
        }
    };
    let target = Target {
        account: ECOWATT_ACCOUNT,
        origin: &config.origin,
        http: &config.http,
        limits,
        login: "",
        password: "",
        kinds: &[DataKind::Ecowatt],
        progress: None,
    };
    let hooks = sync::hooks_for(&target).with_bearer(token.expose());
    let parts = [Part::whole(start, end)];
    let summary = sync::run_with_hooks(runtime, guest, store, &target, &parts, hooks).await?;
    if matches!(
        summary.failure.as_ref().map(Failure::of),
        Some(Failure::Refused)
    ) {
        broker.forget();
    }
    Ok(Ran::Guest(summary))
}

/// Files a run that could not get a token, failed with the broker's words
/// (which hold no secret).
fn record_no_token(
    store: &mut Store,
    guest: &Guest,
    error: &TokenError,
    start: Date,
    end: Date,
    now: i64,
) -> Result<i64> {
    let run = store.begin_run(
        ECOWATT_ACCOUNT,
        &sync::guest_identity(guest),
        start,
        end,
        now,
    )?;
    store.finish_run(
        run,
        &RunOutcome::Failed {
            kind: error.kind().to_string(),
            message: error.to_string(),
        },
        &IngestStats::default(),
        0,
        now,
    )?;
    Ok(run.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const NOW: i64 = 1_796_000_000;

    fn after(last: i64, today_known: bool) -> Facts {
        Facts {
            last_run: Some(last),
            today_known,
        }
    }

    fn failed(failures: u32, failure: Failure) -> Attempts {
        Attempts {
            failures,
            last_failure: Some(failure),
        }
    }

    #[test]
    fn first_start_at_once_then_every_period_never_within_fifteen_minutes() {
        let ok = Attempts::default();
        assert_eq!(
            next_run(NOW, &Facts::default(), &ok, HOUR),
            (NOW, Why::Today)
        );
        // Refreshed an hour after the last run.
        assert_eq!(
            next_run(NOW, &after(NOW - 600, true), &ok, HOUR),
            (NOW - 600 + 3600, Why::Refresh)
        );
        // Today missing (a new day): at once, unless RTE's 15 minutes since
        // the last call (a restart, say) are not over.
        assert_eq!(
            next_run(NOW, &after(NOW - 3600, false), &ok, HOUR),
            (NOW, Why::Today)
        );
        assert_eq!(
            next_run(NOW, &after(NOW - 60, false), &ok, HOUR),
            (NOW - 60 + RTE_PERIOD, Why::Today)
        );
        // A period under 15 minutes (a configuration refused elsewhere)
        // still keeps to RTE's limit.
        assert_eq!(
            next_run(NOW, &after(NOW, true), &ok, Duration::from_secs(60)),
            (NOW + RTE_PERIOD, Why::Refresh)
        );
    }

    #[test]
    fn a_429_waits_its_retry_after_or_fifteen_minutes() {
        let last = NOW - 10;
        assert_eq!(
            next_run(
                NOW,
                &after(last, true),
                &failed(1, Failure::RateLimited(None)),
                HOUR
            ),
            (last + RTE_PERIOD, Why::RateLimited)
        );
        assert_eq!(
            next_run(
                NOW,
                &after(last, true),
                &failed(1, Failure::RateLimited(Some(3600))),
                HOUR
            ),
            (last + 3600, Why::RateLimited)
        );
        // A Retry-After shorter than RTE's period does not shorten it.
        assert_eq!(
            next_run(
                NOW,
                &after(last, true),
                &failed(1, Failure::RateLimited(Some(5))),
                HOUR
            ),
            (last + RTE_PERIOD, Why::RateLimited)
        );
    }

    #[test]
    fn failures_back_off_and_refused_credentials_wait_longest() {
        let last = NOW;
        let at = |n| next_run(NOW, &after(last, true), &failed(n, Failure::Other), HOUR);
        assert_eq!(at(1), (last + RTE_PERIOD, Why::Retry));
        assert_eq!(at(3), (last + 4 * RTE_PERIOD, Why::Retry));
        assert_eq!(at(40), (last + MAX_BACKOFF.as_secs() as i64, Why::Retry));
        assert_eq!(
            next_run(NOW, &after(last, false), &failed(1, Failure::Refused), HOUR),
            (last + MAX_BACKOFF.as_secs() as i64, Why::Refused)
        );
    }

    #[test]
    fn the_window_is_today_and_three_days() {
        let today = Date::parse("2026-12-31").unwrap();
        assert_eq!(window(today), (today, Date::parse("2027-01-03").unwrap()));
    }
}
