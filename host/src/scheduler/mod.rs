//! When each account runs, and what a run's outcome means for the next one.
//!
//! The scheduler owns the schedule (a daily attempt from a Europe/Paris hour,
//! then a retry every few hours until yesterday's data is on the site, with a
//! per-user jitter), retries after failures (exponential backoff with
//! jitter, capped), the cool-downs helloWatt asks for (429, `Retry-After`),
//! the circuit breaker on rejected credentials, the pause on a site change
//! and the minimum interval between manual refreshes.
//!
//! It must never run a sync, touch the store or the network itself: the
//! service does, through the [`Runner`] trait. It must never retry a
//! rejected password: once helloWatt rejects the credentials, no run starts
//! for the account until the credentials' fingerprint changes or a person
//! runs `hellowatt reset ACCOUNT`.
//!
//! Times are UTC seconds (`i64`), so [`Scheduler::next`] and
//! [`Scheduler::record`] are pure functions of a time, an [`AccountState`]
//! (which the service persists) and a [`Context`]. A [`Clock`] maps them onto
//! tokio time, so [`drive`] runs unchanged on tokio's paused test clock.
//! Calendar arithmetic is Europe/Paris through [`Date`], correct across DST.
//!
//! This file holds the decisions; `drive.rs` the clock and the loop that
//! waits for them, runs the [`Runner`] and records the outcome.

use hellowatt_snapshot::{Date, paris_iso};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

mod drive;
pub use drive::{Clock, Command, Runner, TokioClock, drive, drive_with_commands};

/// The shortest wait the scheduler ever plans between two runs it owes
/// itself (retries, backoffs, cool-downs), whatever the configuration says:
/// a zero in the configuration must not turn into a loop against the site.
const MIN_WAIT: i64 = 60;
/// How often [`drive`] re-reads the world (guest, credentials, backfill)
/// while it waits for a run.
const RECHECK: i64 = 60;
/// How often it does while the account is blocked (paused, breaker open):
/// only another guest or other credentials unblock it, and reading those
/// is local and cheap.
const BLOCKED_RECHECK: i64 = 5;
/// The longest server-given wait honoured as such (a garbled `Retry-After`
/// must not silence an account for years); the site is asked again after it.
const MAX_SERVER_WAIT: i64 = 24 * 3600;

/// When an account is polled. Hours and minutes are Europe/Paris wall-clock
/// times; the configuration must keep them in 0–23 and 0–59.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The daily attempt, Paris time (default 15:00).
    pub daily_at: (u8, u8),
    /// No new daily attempt or retry-until-data starts after this, Paris time
    /// (default 23:00). Retries after a failure are not bound by it.
    pub last_attempt_at: (u8, u8),
    /// Until yesterday's data is present, try again this long after the
    /// previous attempt (default 2 h).
    pub retry_every: Duration,
    /// Added to planned daily times: deterministic per user and day, in
    /// `[0, jitter)` (default 20 min).
    pub jitter: Duration,
    /// First backoff after a failure, doubled at each further one (5 min).
    pub backoff_base: Duration,
    /// The longest backoff before its jitter (6 h).
    pub backoff_cap: Duration,
    /// Cool-down after a 429 without `Retry-After` (1 h).
    pub rate_limit_default: Duration,
    /// Minimum time between the last run or manual request of an account and
    /// a manual refresh (15 min).
    pub manual_min_interval: Duration,
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            daily_at: (15, 0),
            last_attempt_at: (23, 0),
            retry_every: Duration::from_secs(2 * 3600),
            jitter: Duration::from_secs(20 * 60),
            backoff_base: Duration::from_secs(5 * 60),
            backoff_cap: Duration::from_secs(6 * 3600),
            rate_limit_default: Duration::from_secs(3600),
            manual_min_interval: Duration::from_secs(15 * 60),
        }
    }
}

/// What the scheduler remembers of an account; the service persists it after
/// every decision. Fields missing from an older file take their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountState {
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    /// Newest day with data, as of the last success.
    pub newest_day: Option<Date>,
    /// Failed runs in a row (site unavailable, transport, sandbox, …); a
    /// rate limit does not count.
    pub consecutive_failures: u32,
    /// End of a backoff or cool-down. While set, a retry is owed: it runs at
    /// this time, or at once if the time has passed (after a restart, say).
    pub not_before: Option<i64>,
    /// Credentials rejected: no log-in until they change or a reset.
    pub breaker: Option<Breaker>,
    /// Site changed: no run until a different guest is active.
    pub paused: Option<Pause>,
    pub last_manual: Option<i64>,
    /// The last decision, in words, for `hellowatt status`.
    pub last_decision: Option<String>,
    /// End of the cool-down helloWatt asked for with its last 429. Unlike a
    /// backoff, `reset` keeps it: ignoring it is how accounts get locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limited_until: Option<i64>,
}

/// The circuit breaker, open: helloWatt rejected these credentials, or
/// accepted them but wants a person to act on the site first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breaker {
    pub opened_at: i64,
    pub detail: String,
    /// Fingerprint of the rejected credentials (never the password).
    pub credentials: String,
    /// The site waits for a person (an e-mail to confirm, a second
    /// factor, new terms): a manual refresh, which says they acted, runs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub action_needed: bool,
}

/// The account is paused: this guest no longer understands the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    pub since: i64,
    pub detail: String,
    pub guest_sha256: String,
}

/// What a run ended with, as far as scheduling is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `newest_day`: the newest day with data after the run (in the store,
    /// not only in this run's records); `None` if there is none.
    Success {
        newest_day: Option<Date>,
    },
    CredentialsRejected {
        detail: String,
    },
    /// The log-in went through but the site wants a person to act first.
    ActionNeeded {
        detail: String,
    },
    RateLimited {
        retry_after: Option<u64>,
    },
    /// Site unavailable, transport failure, session lost.
    Unavailable {
        retry_after: Option<u64>,
        detail: String,
    },
    SiteChanged {
        detail: String,
    },
    /// Sandbox, invalid records, anything else: backoff like `Unavailable`.
    Failed {
        kind: String,
        detail: String,
    },
}

/// Why a run starts. Informational for the runner: a run always fetches what
/// is missing (the backfill while one is pending, whatever the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    Backfill,
    Daily,
    Retry,
    Manual,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Why::Backfill => "backfill",
            Why::Daily => "daily run",
            Why::Retry => "retry",
            Why::Manual => "manual refresh",
        })
    }
}

/// Why no run can start: each asks something else of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// The site rejected the e-mail or password.
    CredentialsRejected,
    /// The site accepted the log-in but wants a person to act there first.
    ActionNeeded,
    /// The active guest no longer understands the site.
    SiteChanged,
}

/// The next run of an account.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Run at `utc` (at once if it is not in the future).
    At { utc: i64, why: Why },
    /// No run until something changes, since `since`; `reason` says what,
    /// for a person.
    Blocked {
        block: Block,
        since: i64,
        reason: String,
    },
}

impl fmt::Display for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Next::At { utc, why } => write!(f, "{why} at {}", paris_iso(*utc)),
            Next::Blocked { reason, .. } => write!(f, "blocked: {reason}"),
        }
    }
}

/// What happens next for an account or a slot, as the API serves it
/// (`/api/v1/summary`): a kind and its instant, so that a reader words it in
/// its own language, beside the English sentence (`text`) of the logs and
/// `/api/v1/status`.
#[derive(Debug, Clone, PartialEq)]
pub struct NextStep {
    pub kind: StepKind,
    /// When the run starts (Unix seconds); `None` when blocked.
    pub at: Option<i64>,
    /// Since when no run can start (Unix seconds); `None` for a run.
    pub since: Option<i64>,
    pub text: String,
}

/// Every next step the account scheduler and the Tempo and EcoWatt slots
/// produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Daily,
    Retry,
    Backfill,
    Manual,
    /// The Tempo slot: days of the season are missing.
    TempoCatchUp,
    /// The Tempo slot: tomorrow's colour.
    TempoTomorrow,
    /// The EcoWatt slot: RTE's signals, today's or a refresh.
    Ecowatt,
    CredentialsRejected,
    ActionNeeded,
    SiteChanged,
}

impl Next {
    pub fn step(&self) -> NextStep {
        let text = self.to_string();
        match self {
            Next::At { utc, why } => NextStep {
                kind: match why {
                    Why::Backfill => StepKind::Backfill,
                    Why::Daily => StepKind::Daily,
                    Why::Retry => StepKind::Retry,
                    Why::Manual => StepKind::Manual,
                },
                at: Some(*utc),
                since: None,
                text,
            },
            Next::Blocked { block, since, .. } => NextStep {
                kind: match block {
                    Block::CredentialsRejected => StepKind::CredentialsRejected,
                    Block::ActionNeeded => StepKind::ActionNeeded,
                    Block::SiteChanged => StepKind::SiteChanged,
                },
                at: None,
                since: Some(*since),
                text,
            },
        }
    }
}

/// What the scheduler needs to know of the world right now.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The account's history is missing back to the configured depth.
    pub backfill_pending: bool,
    /// The active guest.
    pub guest_sha256: &'a str,
    /// Fingerprint of the configured e-mail and password, never the password.
    pub credentials: &'a str,
}

/// The owned form of a [`Context`], as a [`Runner`] reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub backfill_pending: bool,
    pub guest_sha256: String,
    pub credentials: String,
}

impl Facts {
    pub fn context(&self) -> Context<'_> {
        Context {
            backfill_pending: self.backfill_pending,
            guest_sha256: &self.guest_sha256,
            credentials: &self.credentials,
        }
    }
}

/// A stable per-user seed for the jitter: FNV-1a of the e-mail, lower-cased.
/// Stable across builds and Rust versions (unlike `DefaultHasher`).
pub fn seed_for(email: &str) -> u64 {
    email
        .trim()
        .to_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// One account's schedule, state and decisions.
#[derive(Debug, Clone)]
pub struct Scheduler {
    account: String,
    schedule: Schedule,
    state: AccountState,
    seed: u64,
    /// A manual refresh was accepted and no run has happened since.
    manual_pending: bool,
    /// A backfill run succeeded and the backfill stayed pending: the next
    /// backfill waits `retry_every` after it instead of starting at once (in
    /// memory only, so a restart still backfills at once).
    backfill_stalled_at: Option<i64>,
}

impl Scheduler {
    /// `seed`: per-user jitter, deterministic ([`seed_for`] the e-mail).
    pub fn new(account: &str, schedule: Schedule, state: AccountState, seed: u64) -> Scheduler {
        Scheduler {
            account: account.to_string(),
            schedule,
            state,
            seed,
            manual_pending: false,
            backfill_stalled_at: None,
        }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    pub fn state(&self) -> &AccountState {
        &self.state
    }

    /// The next run, from these rules in order:
    /// 1. breaker open for these credentials → blocked;
    /// 2. paused for this guest → blocked;
    /// 3. a retry owed (`not_before` set) → at `not_before` (or now);
    /// 4. breaker or pause left from other credentials or another guest →
    ///    now (the configuration or the guest changed);
    /// 5. manual refresh requested → now;
    /// 6. backfill pending → now;
    /// 7. the daily schedule (see [`Scheduler::daily`]).
    pub fn next(&self, now: i64, ctx: &Context<'_>) -> Next {
        let s = &self.state;
        let account = &self.account;
        if let Some(b) = &s.breaker
            && b.credentials == ctx.credentials
        {
            if b.action_needed {
                if self.manual_pending {
                    return Next::At {
                        utc: now,
                        why: Why::Manual,
                    };
                }
                return Next::Blocked {
                    block: Block::ActionNeeded,
                    since: b.opened_at,
                    reason: format!(
                        "helloWatt wants a person to act on the site before {account} can log \
                         in ({}, on {}): do what it asks in a browser, then refresh (dashboard \
                         or API) or `hellowatt reset {account}`",
                        b.detail,
                        paris_iso(b.opened_at)
                    ),
                };
            }
            return Next::Blocked {
                block: Block::CredentialsRejected,
                since: b.opened_at,
                reason: format!(
                    "helloWatt rejected the e-mail or password on {}: no log-in will be tried \
                     for {account} until its password changes in the configuration or \
                     `hellowatt reset {account}`",
                    paris_iso(b.opened_at)
                ),
            };
        }
        if let Some(p) = &s.paused
            && p.guest_sha256 == ctx.guest_sha256
        {
            return Next::Blocked {
                block: Block::SiteChanged,
                since: p.since,
                reason: format!(
                    "the site changed ({}): paused until a different guest is active",
                    p.detail
                ),
            };
        }
        if let Some(not_before) = s.not_before {
            return Next::At {
                utc: not_before.max(now),
                why: Why::Retry,
            };
        }
        if s.breaker.is_some() || s.paused.is_some() {
            return Next::At {
                utc: now,
                why: Why::Retry,
            };
        }
        if self.manual_pending {
            return Next::At {
                utc: now,
                why: Why::Manual,
            };
        }
        if ctx.backfill_pending {
            let utc = match self.backfill_stalled_at {
                Some(t) => t.saturating_add(self.retry_every()).max(now),
                None => now,
            };
            return Next::At {
                utc,
                why: Why::Backfill,
            };
        }
        self.daily(now)
    }

    /// The daily schedule. Today is the Paris day of `now`. With data up to
    /// yesterday, the next run is tomorrow's. Otherwise, after an attempt
    /// today at or after the daily time, the next is `retry_every` after it,
    /// unless that is past `last_attempt_at` (then tomorrow); with no such
    /// attempt, today's planned time, or now if that has passed and
    /// `last_attempt_at` has not.
    fn daily(&self, now: i64) -> Next {
        let today = Date::paris_day_of(now);
        let yesterday = today.add_days(-1);
        let tomorrow = Next::At {
            utc: self.planned(today.succ()),
            why: Why::Daily,
        };
        if self.state.newest_day.is_some_and(|d| d >= yesterday) {
            return tomorrow;
        }
        let (h, m) = self.schedule.daily_at;
        let start = today.paris_time_utc(h, m);
        let last = self.last_start(today);
        if let Some(attempt) = self.state.last_attempt
            && attempt >= start
        {
            let retry = attempt.saturating_add(self.retry_every());
            return if retry <= last {
                Next::At {
                    utc: retry.max(now),
                    why: Why::Retry,
                }
            } else {
                tomorrow
            };
        }
        let planned = self.planned(today);
        if planned >= now {
            Next::At {
                utc: planned,
                why: Why::Daily,
            }
        } else if now <= last {
            Next::At {
                utc: now,
                why: Why::Daily,
            }
        } else {
            tomorrow
        }
    }

    /// A day's planned daily time: `daily_at` plus the day's jitter, never
    /// past `last_attempt_at`.
    fn planned(&self, day: Date) -> i64 {
        let (h, m) = self.schedule.daily_at;
        let start = day.paris_time_utc(h, m);
        let planned = start.saturating_add(self.daily_jitter(day));
        let last = self.last_start(day);
        if start <= last {
            planned.min(last)
        } else {
            planned
        }
    }

    fn last_start(&self, day: Date) -> i64 {
        let (h, m) = self.schedule.last_attempt_at;
        day.paris_time_utc(h, m)
    }

    fn retry_every(&self) -> i64 {
        secs(self.schedule.retry_every).max(MIN_WAIT)
    }

    /// This user's jitter on `day`, in seconds, in `[0, jitter)`.
    pub fn daily_jitter(&self, day: Date) -> i64 {
        let span = secs(self.schedule.jitter);
        if span <= 0 {
            return 0;
        }
        let h = mix2(
            self.seed ^ 0x6461_696c_7900_0000,
            day.days_since_epoch() as u64,
        );
        (h % span as u64) as i64
    }

    /// The wait after the `failures`-th failure in a row:
    /// `min(cap, base·2^(failures−1))` plus a deterministic jitter of up to
    /// 20 %.
    pub fn backoff_delay(&self, failures: u32, now: i64) -> i64 {
        let base = secs(self.schedule.backoff_base);
        let exponent = failures.saturating_sub(1);
        let raw = if exponent >= 62 {
            i64::MAX
        } else {
            base.saturating_mul(1_i64 << exponent)
        };
        let delay = raw.min(secs(self.schedule.backoff_cap)).max(MIN_WAIT);
        let spread = delay / 5;
        let jitter = if spread > 0 {
            let h = mix2(
                self.seed ^ 0x6261_636b_6f66_6600,
                (now as u64) ^ (u64::from(failures) << 40),
            );
            (h % spread as u64) as i64
        } else {
            0
        };
        delay.saturating_add(jitter)
    }

    /// Records a run's outcome (`now`: when it ended; `ctx`: the guest and
    /// credentials it ran with, whether a backfill is still pending). Returns
    /// the decision in words a user understands, also kept in
    /// `state.last_decision`.
    pub fn record(&mut self, now: i64, why: Why, outcome: &Outcome, ctx: &Context<'_>) -> String {
        let s = &mut self.state;
        s.last_attempt = Some(now);
        self.manual_pending = false;
        // A breaker for other credentials, a pause for another guest: the
        // configuration or the guest changed since, they no longer apply.
        if s.breaker
            .as_ref()
            .is_some_and(|b| b.credentials != ctx.credentials)
        {
            s.breaker = None;
        }
        if s.paused
            .as_ref()
            .is_some_and(|p| p.guest_sha256 != ctx.guest_sha256)
        {
            s.paused = None;
        }
        if !matches!(outcome, Outcome::RateLimited { .. }) {
            s.rate_limited_until = None;
        }
        let account = self.account.clone();
        let decision = match outcome {
            Outcome::Success { newest_day } => {
                s.consecutive_failures = 0;
                s.not_before = None;
                s.breaker = None;
                s.paused = None;
                s.last_success = Some(now);
                s.newest_day = s.newest_day.max(*newest_day);
                self.backfill_stalled_at =
                    (why == Why::Backfill && ctx.backfill_pending).then_some(now);
                self.success_decision(now, why, ctx)
            }
            Outcome::CredentialsRejected { detail } => {
                s.breaker = Some(Breaker {
                    opened_at: now,
                    detail: detail.clone(),
                    credentials: ctx.credentials.to_string(),
                    action_needed: false,
                });
                s.not_before = None;
                format!(
                    "helloWatt rejected the e-mail or password ({detail}): no more log-in \
                     attempts for {account} until its password changes in the configuration \
                     or `hellowatt reset {account}`"
                )
            }
            Outcome::ActionNeeded { detail } => {
                s.breaker = Some(Breaker {
                    opened_at: now,
                    detail: detail.clone(),
                    credentials: ctx.credentials.to_string(),
                    action_needed: true,
                });
                s.not_before = None;
                format!(
                    "helloWatt accepted the log-in but wants a person to act first ({detail}): \
                     no more log-in attempts for {account} until a refresh is asked (after \
                     acting on the site) or `hellowatt reset {account}`"
                )
            }
            Outcome::RateLimited { retry_after } => {
                let (wait, said) = match retry_after {
                    Some(secs) => {
                        let wait = server_wait(*secs);
                        (wait, format!(" for {}", human(wait)))
                    }
                    None => (
                        secs(self.schedule.rate_limit_default).max(MIN_WAIT),
                        " without saying for how long".to_string(),
                    ),
                };
                let until = now.saturating_add(wait);
                s.not_before = Some(until);
                s.rate_limited_until = Some(until);
                format!(
                    "helloWatt asked to slow down{said}: waiting until {} ({})",
                    paris_iso(until),
                    human(wait)
                )
            }
            Outcome::Unavailable {
                retry_after,
                detail,
            } => self.failure(
                now,
                &format!("helloWatt is unavailable ({detail})"),
                *retry_after,
            ),
            Outcome::Failed { kind, detail } => {
                self.failure(now, &format!("the run failed ({kind}: {detail})"), None)
            }
            Outcome::SiteChanged { detail } => {
                s.paused = Some(Pause {
                    since: now,
                    detail: detail.clone(),
                    guest_sha256: ctx.guest_sha256.to_string(),
                });
                s.not_before = None;
                let short: String = ctx.guest_sha256.chars().take(12).collect();
                format!(
                    "the site changed ({detail}): {account} is paused until a different guest \
                     is active (the current one is {short}); it resumes by itself then"
                )
            }
        };
        self.state.last_decision = Some(decision.clone());
        decision
    }

    fn success_decision(&self, now: i64, why: Why, ctx: &Context<'_>) -> String {
        let yesterday = Date::paris_day_of(now).add_days(-1);
        let current = self.state.newest_day.is_some_and(|d| d >= yesterday);
        let next = match self.next(now, ctx) {
            Next::At {
                utc,
                why: Why::Backfill,
            } => format!("the backfill continues at {}", paris_iso(utc)),
            Next::At { utc, .. } if current => format!("next run at {}", paris_iso(utc)),
            Next::At { utc, .. } => format!("next try at {}", paris_iso(utc)),
            Next::Blocked { reason, .. } => reason,
        };
        let backfill = if why == Why::Backfill && !ctx.backfill_pending {
            "backfill complete; "
        } else {
            ""
        };
        match self.state.newest_day {
            Some(day) if current => format!("synced; {backfill}data up to {day}; {next}"),
            newest => {
                let have =
                    newest.map_or_else(|| "no data yet".into(), |d| format!("data up to {d}"));
                format!(
                    "synced ({have}); {backfill}yesterday's data ({yesterday}) is not on the site \
                     yet; {next}"
                )
            }
        }
    }

    fn failure(&mut self, now: i64, what: &str, retry_after: Option<u64>) -> String {
        let failures = self.state.consecutive_failures.saturating_add(1);
        self.state.consecutive_failures = failures;
        let mut wait = self.backoff_delay(failures, now);
        if let Some(secs) = retry_after {
            wait = wait.max(server_wait(secs));
        }
        let at = now.saturating_add(wait);
        self.state.not_before = Some(at);
        format!(
            "{what}: retry {failures} at {} (in {})",
            paris_iso(at),
            human(wait)
        )
    }

    /// `hellowatt reset ACCOUNT`: closes the breaker, clears the pause and
    /// the backoff, so the daily schedule resumes. A cool-down helloWatt
    /// asked for (429) is kept. True if something changed.
    pub fn reset(&mut self) -> bool {
        let before = self.state.clone();
        let s = &mut self.state;
        s.breaker = None;
        s.paused = None;
        s.consecutive_failures = 0;
        s.not_before = s.rate_limited_until;
        self.backfill_stalled_at = None;
        let changed = self.state != before;
        if changed {
            let mut decision = format!(
                "reset by a person: log-in attempts and the schedule resume for {}",
                self.account
            );
            if let Some(until) = self.state.rate_limited_until {
                decision += &format!(
                    " (after the cool-down helloWatt asked for, until {})",
                    paris_iso(until)
                );
            }
            self.state.last_decision = Some(decision);
        }
        changed
    }

    /// A manual refresh. Refused within `manual_min_interval` of the last run
    /// or manual request (the error says how long to wait). Accepted, the
    /// next run is at once ([`Why::Manual`]), unless the account is blocked
    /// or a retry is already owed (the manual refresh is then that retry).
    pub fn request_manual(&mut self, now: i64) -> Result<(), String> {
        let interval = secs(self.schedule.manual_min_interval);
        if let Some(last) = self.state.last_manual.max(self.state.last_attempt) {
            let ready = last.saturating_add(interval);
            if now < ready {
                return Err(format!(
                    "{} was last refreshed or asked to refresh at {}, and a manual refresh is \
                     allowed once every {}: try again in {}",
                    self.account,
                    paris_iso(last),
                    human(interval),
                    human(ready - now)
                ));
            }
        }
        self.state.last_manual = Some(now);
        self.manual_pending = true;
        Ok(())
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn server_wait(secs: u64) -> i64 {
    i64::try_from(secs)
        .unwrap_or(i64::MAX)
        .clamp(MIN_WAIT, MAX_SERVER_WAIT)
}

/// `1 h 5 min`, `14 min 20 s`, `40 s`.
fn human(secs: i64) -> String {
    let s = secs.max(0);
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// SplitMix64's finaliser: a well-spread, stable hash of two words.
fn mix2(a: u64, b: u64) -> u64 {
    fn mix(x: u64) -> u64 {
        let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    mix(mix(a) ^ b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hellowatt_snapshot::parse_timestamp;
    use std::collections::VecDeque;
    use std::future::Future;
    use std::sync::{Arc, Mutex};
    use tokio::sync::{mpsc, oneshot, watch};

    const MIN: i64 = 60;
    const HOUR: i64 = 3600;
    const DAY: i64 = 86_400;

    fn t(s: &str) -> i64 {
        parse_timestamp(s).unwrap()
    }

    fn day(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn seed() -> u64 {
        seed_for("someone@example.fr")
    }

    fn up_to_yesterday(now: i64) -> Outcome {
        Outcome::Success {
            newest_day: Some(Date::paris_day_of(now).add_days(-1)),
        }
    }

    fn unavailable() -> Outcome {
        Outcome::Unavailable {
            retry_after: None,
            detail: "HTTP 503".into(),
        }
    }

    fn facts() -> Facts {
        Facts {
            backfill_pending: false,
            guest_sha256: "a".repeat(64),
            credentials: "cred-1".into(),
        }
    }

    /// A runner that answers scripted outcomes and records when it ran.
    struct Fake {
        clock: TokioClock,
        facts: Arc<Mutex<Facts>>,
        script: VecDeque<Outcome>,
        otherwise: fn(i64) -> Outcome,
        runs: Vec<(i64, Why)>,
        takes: Duration,
        /// A run completes the backfill.
        completes_backfill: bool,
        stop_after: usize,
        stop: Option<watch::Sender<bool>>,
    }

    impl Runner for Fake {
        fn context(&self) -> Facts {
            self.facts.lock().unwrap().clone()
        }

        fn run(&mut self, why: Why) -> impl Future<Output = Outcome> + Send {
            let now = self.clock.now_utc();
            self.runs.push((now, why));
            let outcome = self
                .script
                .pop_front()
                .unwrap_or_else(|| (self.otherwise)(now));
            if self.completes_backfill {
                self.facts.lock().unwrap().backfill_pending = false;
            }
            if self.runs.len() >= self.stop_after
                && let Some(stop) = &self.stop
            {
                stop.send(true).unwrap();
            }
            let takes = self.takes;
            async move {
                tokio::time::sleep(takes).await;
                outcome
            }
        }
    }

    struct Sim {
        sched: Scheduler,
        fake: Fake,
        clock: TokioClock,
        facts: Arc<Mutex<Facts>>,
        /// The state and decision passed to `on_decision`, in order.
        decisions: Vec<(AccountState, String)>,
    }

    impl Sim {
        fn new(
            start: i64,
            state: AccountState,
            script: Vec<Outcome>,
            otherwise: fn(i64) -> Outcome,
        ) -> Sim {
            Sim::with_schedule(start, Schedule::default(), state, script, otherwise)
        }

        fn with_schedule(
            start: i64,
            schedule: Schedule,
            state: AccountState,
            script: Vec<Outcome>,
            otherwise: fn(i64) -> Outcome,
        ) -> Sim {
            let clock = TokioClock::new(start);
            let facts = Arc::new(Mutex::new(facts()));
            Sim {
                sched: Scheduler::new("home", schedule, state, seed()),
                fake: Fake {
                    clock,
                    facts: facts.clone(),
                    script: script.into(),
                    otherwise,
                    runs: Vec::new(),
                    takes: Duration::ZERO,
                    completes_backfill: false,
                    stop_after: usize::MAX,
                    stop: None,
                },
                clock,
                facts,
                decisions: Vec::new(),
            }
        }

        /// Drives until the simulated time `until` or `max_runs` more runs.
        async fn until(&mut self, until: i64, max_runs: usize) {
            let (_commands_tx, commands) = mpsc::channel(1);
            self.until_with(until, max_runs, commands, async {}).await;
        }

        /// Same, serving `commands` and running `events` alongside.
        async fn until_with(
            &mut self,
            until: i64,
            max_runs: usize,
            commands: mpsc::Receiver<Command>,
            events: impl Future<Output = ()>,
        ) {
            let (tx, rx) = watch::channel(false);
            self.fake.stop_after = self.fake.runs.len().saturating_add(max_runs);
            self.fake.stop = Some(tx.clone());
            let clock = self.clock;
            let decisions = &mut self.decisions;
            let driving = drive_with_commands(
                &mut self.sched,
                &clock,
                &mut self.fake,
                rx,
                commands,
                |state, decision| {
                    assert_eq!(state.last_decision.as_deref(), Some(decision));
                    decisions.push((state.clone(), decision.to_string()));
                },
            );
            let driving = async move {
                tokio::pin!(driving);
                tokio::select! {
                    () = &mut driving => {}
                    () = clock.sleep_until(until) => {
                        tx.send(true).unwrap();
                        driving.await;
                    }
                }
            };
            tokio::join!(driving, events);
        }

        fn runs(&self) -> &[(i64, Why)] {
            &self.fake.runs
        }

        fn local_runs(&self) -> Vec<String> {
            self.runs().iter().map(|(utc, _)| paris_iso(*utc)).collect()
        }

        fn decision(&self, i: usize) -> &str {
            &self.decisions[i].1
        }

        fn next(&self) -> Next {
            let facts = self.facts.lock().unwrap().clone();
            self.sched.next(self.clock.now_utc(), &facts.context())
        }
    }

    async fn ask(commands: &mpsc::Sender<Command>) -> Result<Next, String> {
        let (reply, answer) = oneshot::channel();
        commands.send(Command::Manual { reply }).await.unwrap();
        answer.await.unwrap()
    }

    async fn reset(commands: &mpsc::Sender<Command>) -> bool {
        let (reply, answer) = oneshot::channel();
        commands.send(Command::Reset { reply }).await.unwrap();
        answer.await.unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn daily_window_retries_until_yesterdays_data_arrives() {
        let start = t("2026-06-10T08:00:00+02:00");
        let state = AccountState {
            newest_day: Some(day("2026-06-08")),
            ..AccountState::default()
        };
        let not_yet = Outcome::Success {
            newest_day: Some(day("2026-06-08")),
        };
        let arrived = Outcome::Success {
            newest_day: Some(day("2026-06-09")),
        };
        let mut sim = Sim::new(
            start,
            state,
            vec![not_yet.clone(), not_yet, arrived],
            up_to_yesterday,
        );
        sim.until(t("2026-06-12T00:00:00+02:00"), 100).await;

        let j10 = sim.sched.daily_jitter(day("2026-06-10"));
        let j11 = sim.sched.daily_jitter(day("2026-06-11"));
        assert!((0..20 * MIN).contains(&j10) && (0..20 * MIN).contains(&j11));
        assert_ne!(j10, j11);
        let first = t("2026-06-10T15:00:00+02:00") + j10;
        assert_eq!(
            sim.runs(),
            [
                (first, Why::Daily),
                (first + 2 * HOUR, Why::Retry),
                (first + 4 * HOUR, Why::Retry),
                (t("2026-06-11T15:00:00+02:00") + j11, Why::Daily),
            ]
        );
        let local = sim.local_runs();
        for (run, prefix) in local.iter().zip([
            "2026-06-10T15:",
            "2026-06-10T17:",
            "2026-06-10T19:",
            "2026-06-11T15:",
        ]) {
            assert!(run.starts_with(prefix), "{run} is not {prefix}xx");
        }
        assert!(
            sim.decision(0)
                .contains("yesterday's data (2026-06-09) is not on the site yet"),
            "{}",
            sim.decision(0)
        );
        assert!(
            sim.decision(0)
                .contains(&format!("next try at {}", paris_iso(first + 2 * HOUR))),
            "{}",
            sim.decision(0)
        );
        assert_eq!(
            sim.decision(2),
            format!(
                "synced; data up to 2026-06-09; next run at {}",
                paris_iso(t("2026-06-11T15:00:00+02:00") + j11)
            )
        );
        assert_eq!(sim.sched.state().newest_day, Some(day("2026-06-10")));
    }

    #[tokio::test(start_paused = true)]
    async fn daily_window_never_starts_after_the_last_attempt_hour() {
        let start = t("2026-06-10T08:00:00+02:00");
        let state = AccountState {
            newest_day: Some(day("2026-06-01")),
            ..AccountState::default()
        };
        fn never(_: i64) -> Outcome {
            Outcome::Success {
                newest_day: Some(day("2026-06-01")),
            }
        }
        let mut sim = Sim::new(start, state, vec![], never);
        sim.until(t("2026-06-14T00:00:00+02:00"), 100).await;

        for d in ["2026-06-10", "2026-06-11", "2026-06-12", "2026-06-13"] {
            let date = day(d);
            let first = date.paris_time_utc(15, 0) + sim.sched.daily_jitter(date);
            let expected: Vec<i64> = (0..)
                .map(|k| first + k * 2 * HOUR)
                .take_while(|&utc| utc <= date.paris_time_utc(23, 0))
                .collect();
            let runs: Vec<i64> = sim
                .runs()
                .iter()
                .map(|&(utc, _)| utc)
                .filter(|&utc| Date::paris_day_of(utc) == date)
                .collect();
            assert_eq!(runs, expected, "{d}");
            assert!((4..=5).contains(&runs.len()));
        }
        for run in sim.local_runs() {
            let hhmm = &run[11..16];
            assert!(("15:00"..="23:00").contains(&hhmm), "{run}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn without_jitter_the_last_try_of_a_day_is_at_23_00() {
        let schedule = Schedule {
            jitter: Duration::ZERO,
            ..Schedule::default()
        };
        let start = t("2026-06-10T08:00:00+02:00");
        fn never(_: i64) -> Outcome {
            Outcome::Success { newest_day: None }
        }
        let mut sim = Sim::with_schedule(start, schedule, AccountState::default(), vec![], never);
        sim.until(t("2026-06-11T16:00:00+02:00"), 100).await;
        assert_eq!(
            sim.local_runs(),
            [
                "2026-06-10T15:00:00+02:00",
                "2026-06-10T17:00:00+02:00",
                "2026-06-10T19:00:00+02:00",
                "2026-06-10T21:00:00+02:00",
                "2026-06-10T23:00:00+02:00",
                "2026-06-11T15:00:00+02:00",
            ]
        );
        assert!(sim.decision(0).contains("synced (no data yet)"));
    }

    #[test]
    fn jitter_is_bounded_deterministic_and_varies() {
        let sched =
            |seed| Scheduler::new("home", Schedule::default(), AccountState::default(), seed);
        let first = day("2026-01-01");
        for s in 0..20u64 {
            let a = sched(s);
            let b = sched(s);
            let per_day: Vec<i64> = (0..365)
                .map(|n| a.daily_jitter(first.add_days(n)))
                .collect();
            assert!(per_day.iter().all(|j| (0..20 * MIN).contains(j)));
            assert_eq!(
                per_day,
                (0..365)
                    .map(|n| b.daily_jitter(first.add_days(n)))
                    .collect::<Vec<_>>()
            );
            let mut distinct = per_day.clone();
            distinct.sort_unstable();
            distinct.dedup();
            assert!(
                distinct.len() > 300,
                "seed {s}: {} distinct",
                distinct.len()
            );
        }
        let across_seeds: std::collections::BTreeSet<i64> =
            (0..50u64).map(|s| sched(s).daily_jitter(first)).collect();
        assert!(across_seeds.len() > 40);
        assert_eq!(
            seed_for("Someone@Example.fr "),
            seed_for("someone@example.fr")
        );
        assert_ne!(seed_for("a@example.fr"), seed_for("b@example.fr"));
        // FNV-1a's published value for "a": stable across builds.
        assert_eq!(seed_for("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_from_5_min_caps_at_6_h_and_resets_after_success() {
        let start = t("2026-06-10T15:30:00+02:00");
        let mut script = vec![unavailable(); 10];
        script.push(Outcome::Success {
            newest_day: Some(day("2026-06-10")),
        });
        script.push(Outcome::Failed {
            kind: "sandbox".into(),
            detail: "out of fuel".into(),
        });
        let mut sim = Sim::new(start, AccountState::default(), script, up_to_yesterday);
        sim.until(start + 10 * DAY, 13).await;
        let runs = sim.runs().to_vec();
        assert_eq!(runs.len(), 13);
        assert_eq!(runs[0], (start, Why::Daily));

        let mut waits = Vec::new();
        for i in 0..10 {
            let gap = runs[i + 1].0 - runs[i].0;
            let expected = ((5 * MIN) << i).min(6 * HOUR);
            assert!(
                expected <= gap && gap < expected * 6 / 5,
                "failure {}: waited {gap} s, expected {expected} s + <20 %",
                i + 1
            );
            assert_eq!(runs[i + 1].1, Why::Retry);
            assert_eq!(sim.decisions[i].0.consecutive_failures, i as u32 + 1);
            waits.push(gap);
        }
        // The jitter moves each wait, not all by the same amount.
        let extras: std::collections::BTreeSet<i64> = waits
            .iter()
            .enumerate()
            .map(|(i, w)| w - ((5 * MIN) << i).min(6 * HOUR))
            .collect();
        assert!(extras.len() > 5);
        assert!(
            sim.decision(2)
                .starts_with("helloWatt is unavailable (HTTP 503): retry 3 at "),
            "{}",
            sim.decision(2)
        );

        // Run 10 succeeds: counters back to zero, next run is tomorrow's.
        let after_success = &sim.decisions[10].0;
        assert_eq!(after_success.consecutive_failures, 0);
        assert_eq!(after_success.not_before, None);
        assert_eq!(after_success.last_success, Some(runs[10].0));
        assert_eq!(runs[11].1, Why::Daily);
        assert!(paris_iso(runs[11].0)[11..].starts_with("15:"));
        // The next failure starts the sequence again at 5 min.
        let gap = runs[12].0 - runs[11].0;
        assert!((5 * MIN..6 * MIN).contains(&gap), "{gap}");
        assert_eq!(sim.decisions[11].0.consecutive_failures, 1);
        assert!(
            sim.decision(11)
                .starts_with("the run failed (sandbox: out of fuel): retry 1 at")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_an_hour_without_it() {
        let start = t("2026-06-10T15:30:00+02:00");
        let script = vec![
            Outcome::RateLimited {
                retry_after: Some(3600),
            },
            Outcome::RateLimited { retry_after: None },
            Outcome::RateLimited {
                retry_after: Some(600),
            },
            Outcome::Unavailable {
                retry_after: Some(7200),
                detail: "HTTP 503".into(),
            },
        ];
        let mut sim = Sim::new(start, AccountState::default(), script, up_to_yesterday);
        sim.until(start + 2 * DAY, 5).await;
        let at: Vec<i64> = sim.runs().iter().map(|&(utc, _)| utc - start).collect();
        assert_eq!(
            at,
            [0, HOUR, 2 * HOUR, 2 * HOUR + 10 * MIN, 4 * HOUR + 10 * MIN]
        );
        assert!(sim.runs()[1..].iter().all(|&(_, why)| why == Why::Retry));
        // A server-given wait does not grow the backoff.
        assert_eq!(sim.decisions[0].0.consecutive_failures, 0);
        assert_eq!(sim.decisions[2].0.consecutive_failures, 0);
        assert_eq!(sim.decisions[3].0.consecutive_failures, 1);
        assert_eq!(
            sim.decision(0),
            format!(
                "helloWatt asked to slow down for 1 h: waiting until {} (1 h)",
                paris_iso(start + HOUR)
            )
        );
        assert!(
            sim.decision(1)
                .starts_with("helloWatt asked to slow down without saying for how long: waiting")
        );
        assert!(sim.decision(3).contains("retry 1 at") && sim.decision(3).contains("(in 2 h)"));
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_after_one_rejection_until_the_credentials_change() {
        let start = t("2026-06-10T15:30:00+02:00");
        let script = vec![Outcome::CredentialsRejected {
            detail: "the site refused the log-in".into(),
        }];
        let mut sim = Sim::new(start, AccountState::default(), script, up_to_yesterday);
        sim.until(start + 3 * DAY, 100).await;
        assert_eq!(sim.runs(), [(start, Why::Daily)]);
        assert_eq!(
            sim.decision(0),
            "helloWatt rejected the e-mail or password (the site refused the log-in): no more \
             log-in attempts for home until its password changes in the configuration or \
             `hellowatt reset home`"
        );
        let Next::Blocked {
            block: Block::CredentialsRejected,
            since,
            reason,
        } = sim.next()
        else {
            panic!("not blocked: {:?}", sim.next());
        };
        assert_eq!(since, start);
        assert_eq!(
            reason,
            format!(
                "helloWatt rejected the e-mail or password on {}: no log-in will be tried for \
                 home until its password changes in the configuration or `hellowatt reset home`",
                paris_iso(start)
            )
        );
        // A manual refresh does not get past it.
        let now = sim.clock.now_utc();
        sim.sched.request_manual(now).unwrap();
        assert!(matches!(sim.next(), Next::Blocked { .. }));

        // The password changes in the configuration: one run, at once.
        let changed_at = now + 10 * MIN;
        let facts = sim.facts.clone();
        let clock = sim.clock;
        let (_tx, commands) = mpsc::channel(1);
        sim.until_with(changed_at + HOUR, 100, commands, async move {
            clock.sleep_until(changed_at).await;
            facts.lock().unwrap().credentials = "cred-2".into();
        })
        .await;
        assert_eq!(sim.runs().len(), 2);
        let (resumed, why) = sim.runs()[1];
        assert!((changed_at..=changed_at + MIN).contains(&resumed));
        assert_eq!(why, Why::Retry);
        assert_eq!(sim.sched.state().breaker, None);
    }

    #[test]
    fn an_action_needed_on_the_site_waits_for_a_person() {
        let now = t("2026-06-10T15:30:00+02:00");
        let ctx = Context {
            backfill_pending: false,
            guest_sha256: "g",
            credentials: "cred",
        };
        let mut sched = Scheduler::new("home", Schedule::default(), AccountState::default(), 1);
        let said = sched.record(
            now,
            Why::Daily,
            &Outcome::ActionNeeded {
                detail: "confirm the e-mail".into(),
            },
            &ctx,
        );
        assert!(said.contains("wants a person to act first"), "{said}");
        // No run on the schedule, days later: blocked, saying what to do.
        match sched.next(now + 3 * DAY, &ctx) {
            Next::Blocked {
                block: Block::ActionNeeded,
                since,
                reason,
            } => {
                assert_eq!(since, now);
                assert!(reason.contains("confirm the e-mail"), "{reason}");
                assert!(reason.contains("hellowatt reset home"), "{reason}");
            }
            other => panic!("expected blocked, got {other:?}"),
        }
        // A refresh asked by a person (who acted on the site) runs at once.
        sched.request_manual(now + 3 * DAY).unwrap();
        assert_eq!(
            sched.next(now + 3 * DAY, &ctx),
            Next::At {
                utc: now + 3 * DAY,
                why: Why::Manual
            }
        );
        // Its success closes the block.
        sched.record(
            now + 3 * DAY,
            Why::Manual,
            &Outcome::Success { newest_day: None },
            &ctx,
        );
        assert_eq!(sched.state().breaker, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejection_of_new_credentials_blocks_them_too() {
        let start = t("2026-06-10T15:30:00+02:00");
        let rejected = Outcome::CredentialsRejected {
            detail: "wrong".into(),
        };
        let mut sim = Sim::new(
            start,
            AccountState::default(),
            vec![rejected.clone(), rejected],
            up_to_yesterday,
        );
        sim.until(start + HOUR, 100).await;
        sim.facts.lock().unwrap().credentials = "cred-2".into();
        sim.until(start + 4 * DAY, 100).await;
        assert_eq!(sim.runs().len(), 2);
        assert_eq!(
            sim.sched
                .state()
                .breaker
                .as_ref()
                .map(|b| b.credentials.as_str()),
            Some("cred-2")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reset_closes_the_breaker_and_the_schedule_resumes() {
        let start = t("2026-06-10T15:30:00+02:00");
        let script = vec![Outcome::CredentialsRejected {
            detail: "wrong".into(),
        }];
        let mut sim = Sim::new(start, AccountState::default(), script, up_to_yesterday);
        sim.until(t("2026-06-11T10:00:00+02:00"), 100).await;
        assert_eq!(sim.runs().len(), 1);

        let (tx, commands) = mpsc::channel(4);
        let answers = Arc::new(Mutex::new(Vec::new()));
        let got = answers.clone();
        sim.until_with(t("2026-06-12T00:00:00+02:00"), 100, commands, async move {
            {
                let answer = reset(&tx).await;
                got.lock().unwrap().push(answer);
            }
            {
                let answer = reset(&tx).await;
                got.lock().unwrap().push(answer);
            }
        })
        .await;
        assert_eq!(*answers.lock().unwrap(), [true, false]);
        let j = sim.sched.daily_jitter(day("2026-06-11"));
        assert_eq!(
            sim.runs()[1..],
            [(t("2026-06-11T15:00:00+02:00") + j, Why::Daily)]
        );
        assert_eq!(
            sim.decision(1),
            "reset by a person: log-in attempts and the schedule resume for home"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn site_change_pauses_until_a_different_guest_is_active() {
        let start = t("2026-06-10T15:30:00+02:00");
        let script = vec![Outcome::SiteChanged {
            detail: "GET /api/homes: `id` missing".into(),
        }];
        let mut sim = Sim::new(start, AccountState::default(), script, up_to_yesterday);
        sim.until(start + 2 * DAY, 100).await;
        assert_eq!(sim.runs().len(), 1);
        assert!(
            sim.decision(0).starts_with(
                "the site changed (GET /api/homes: `id` missing): home is paused until a \
                 different guest is active (the current one is aaaaaaaaaaaa)"
            ),
            "{}",
            sim.decision(0)
        );
        assert_eq!(
            sim.next(),
            Next::Blocked {
                block: Block::SiteChanged,
                since: sim.runs()[0].0,
                reason: "the site changed (GET /api/homes: `id` missing): paused until a \
                         different guest is active"
                    .into()
            }
        );

        let swapped_at = sim.clock.now_utc() + 17 * MIN + 7;
        let facts = sim.facts.clone();
        let clock = sim.clock;
        let (_tx, commands) = mpsc::channel(1);
        sim.until_with(swapped_at + DAY, 2, commands, async move {
            clock.sleep_until(swapped_at).await;
            facts.lock().unwrap().guest_sha256 = "b".repeat(64);
        })
        .await;
        let (resumed, why) = sim.runs()[1];
        assert!((swapped_at..=swapped_at + MIN).contains(&resumed));
        assert_eq!(why, Why::Retry);
        assert_eq!(sim.decisions[1].0.paused, None);
        // Then the daily schedule again.
        assert_eq!(sim.runs()[2].1, Why::Daily);
    }

    /// A fixed guest dropped in seconds after the run that paused the
    /// account runs at once: the minute between runs guards against a
    /// loop on the same guest, not against a new one.
    #[tokio::test(start_paused = true)]
    async fn a_new_guest_right_after_the_pause_runs_within_seconds() {
        let start = t("2026-06-10T15:30:00+02:00");
        let script = vec![Outcome::SiteChanged {
            detail: "renamed".into(),
        }];
        let mut sim = Sim::new(start, AccountState::default(), script, up_to_yesterday);
        sim.until(start + 1, 100).await;
        assert_eq!(sim.runs().len(), 1);
        let paused_at = sim.runs()[0].0;
        let swapped_at = paused_at + 3;
        let facts = sim.facts.clone();
        let clock = sim.clock;
        let (_tx, commands) = mpsc::channel(1);
        sim.until_with(swapped_at + 20, 2, commands, async move {
            clock.sleep_until(swapped_at).await;
            facts.lock().unwrap().guest_sha256 = "b".repeat(64);
        })
        .await;
        let (resumed, why) = sim.runs()[1];
        assert_eq!(why, Why::Retry);
        assert!(
            resumed - swapped_at <= BLOCKED_RECHECK,
            "resumed {} s after the swap",
            resumed - swapped_at
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_guest_that_fails_backs_off_instead_of_looping() {
        let start = t("2026-06-10T15:30:00+02:00");
        let script = vec![Outcome::SiteChanged { detail: "x".into() }, unavailable()];
        let mut sim = Sim::new(start, AccountState::default(), script, up_to_yesterday);
        sim.until(start + HOUR, 100).await;
        sim.facts.lock().unwrap().guest_sha256 = "b".repeat(64);
        sim.until(start + 2 * HOUR, 3).await;
        let at: Vec<i64> = sim.runs().iter().map(|&(utc, _)| utc - start).collect();
        assert_eq!(at.len(), 3);
        assert_eq!(at[1], HOUR);
        assert!((5 * MIN..6 * MIN).contains(&(at[2] - at[1])));
    }

    #[tokio::test(start_paused = true)]
    async fn the_daily_run_keeps_its_paris_hour_across_dst() {
        for (from, days, switch, before, after) in [
            ("2026-03-26", 6, "2026-03-29", "+01:00", "+02:00"),
            ("2026-10-22", 6, "2026-10-25", "+02:00", "+01:00"),
        ] {
            let first = day(from);
            let state = AccountState {
                newest_day: Some(first.add_days(-2)),
                ..AccountState::default()
            };
            let mut sim = Sim::new(first.paris_time_utc(8, 0), state, vec![], up_to_yesterday);
            sim.until(first.add_days(days).paris_time_utc(0, 0), 100)
                .await;
            assert_eq!(sim.runs().len(), days as usize, "{from}");
            for (n, (run, &(utc, why))) in sim.local_runs().iter().zip(sim.runs()).enumerate() {
                let date = first.add_days(n as i64);
                let jitter = sim.sched.daily_jitter(date);
                let offset = if date < day(switch) { before } else { after };
                let expected = format!("{date}T15:{:02}:{:02}{offset}", jitter / 60, jitter % 60);
                assert_eq!(run, &expected);
                assert_eq!(why, Why::Daily);
                assert_eq!(utc, date.paris_time_utc(15, 0) + jitter);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn manual_refresh_runs_at_once_then_respects_the_minimum_interval() {
        let start = t("2026-06-10T10:00:00+02:00");
        let state = AccountState {
            newest_day: Some(day("2026-06-09")),
            last_attempt: Some(t("2026-06-09T15:05:00+02:00")),
            ..AccountState::default()
        };
        let mut sim = Sim::new(start, state, vec![], up_to_yesterday);
        let (tx, commands) = mpsc::channel(4);
        let answers = Arc::new(Mutex::new(Vec::new()));
        let got = answers.clone();
        let clock = sim.clock;
        sim.until_with(start + 30 * MIN, 100, commands, async move {
            {
                let answer = ask(&tx).await;
                got.lock().unwrap().push(answer);
            }
            clock.sleep_until(start + 5 * MIN).await;
            {
                let answer = ask(&tx).await;
                got.lock().unwrap().push(answer);
            }
            clock.sleep_until(start + 16 * MIN).await;
            {
                let answer = ask(&tx).await;
                got.lock().unwrap().push(answer);
            }
        })
        .await;
        let answers = answers.lock().unwrap();
        assert_eq!(
            answers[0],
            Ok(Next::At {
                utc: start,
                why: Why::Manual
            })
        );
        let refused = answers[1].clone().unwrap_err();
        assert!(refused.contains("try again in 10 min"), "{refused}");
        assert!(refused.contains("once every 15 min"), "{refused}");
        assert!(answers[2].is_ok());
        assert_eq!(
            sim.runs(),
            [(start, Why::Manual), (start + 16 * MIN, Why::Manual)]
        );
        assert_eq!(sim.decision(0), "manual refresh requested: running it now");
    }

    #[test]
    fn manual_refresh_is_refused_within_the_interval_with_the_wait() {
        let now = t("2026-06-10T10:00:00+02:00");
        let mut s = Scheduler::new("home", Schedule::default(), AccountState::default(), 1);
        let f = facts();
        s.request_manual(now).unwrap();
        assert_eq!(
            s.next(now, &f.context()),
            Next::At {
                utc: now,
                why: Why::Manual
            }
        );
        let err = s.request_manual(now + 40).unwrap_err();
        assert!(err.contains("try again in 14 min 20 s"), "{err}");
        s.record(now + 5, Why::Manual, &up_to_yesterday(now), &f.context());
        assert_ne!(
            s.next(now + 10, &f.context()),
            Next::At {
                utc: now + 10,
                why: Why::Manual
            }
        );
        assert!(s.request_manual(now + 15 * MIN).is_err());
        assert!(s.request_manual(now + 15 * MIN + 5).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_pending_backfill_runs_at_once() {
        let start = t("2026-06-10T09:00:00+02:00");
        let mut sim = Sim::new(start, AccountState::default(), vec![], up_to_yesterday);
        sim.facts.lock().unwrap().backfill_pending = true;
        sim.fake.completes_backfill = true;
        sim.until(t("2026-06-11T00:00:00+02:00"), 100).await;
        assert_eq!(sim.runs(), [(start, Why::Backfill)]);
        let j = sim.sched.daily_jitter(day("2026-06-11"));
        assert_eq!(
            sim.decision(0),
            format!(
                "synced; backfill complete; data up to 2026-06-09; next run at {}",
                paris_iso(t("2026-06-11T15:00:00+02:00") + j)
            )
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_backfill_that_stays_pending_does_not_loop() {
        let start = t("2026-06-10T09:00:00+02:00");
        let mut sim = Sim::new(start, AccountState::default(), vec![], up_to_yesterday);
        sim.facts.lock().unwrap().backfill_pending = true;
        sim.until(start + 5 * HOUR, 100).await;
        assert_eq!(
            sim.runs(),
            [
                (start, Why::Backfill),
                (start + 2 * HOUR, Why::Backfill),
                (start + 4 * HOUR, Why::Backfill)
            ]
        );
        assert!(
            sim.decision(0).ends_with(&format!(
                "the backfill continues at {}",
                paris_iso(start + 2 * HOUR)
            )),
            "{}",
            sim.decision(0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_backfill_is_retried_then_resumed_at_once() {
        let start = t("2026-06-10T09:00:00+02:00");
        let mut sim = Sim::new(
            start,
            AccountState::default(),
            vec![unavailable()],
            up_to_yesterday,
        );
        sim.facts.lock().unwrap().backfill_pending = true;
        // The retry does not complete the backfill (a runner may serve a
        // retry with a refresh only); the backfill follows it at once.
        sim.until(start + HOUR, 3).await;
        let runs = sim.runs().to_vec();
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0], (start, Why::Backfill));
        assert_eq!(runs[1].1, Why::Retry);
        assert!((5 * MIN..6 * MIN).contains(&(runs[1].0 - start)));
        assert_eq!(runs[2].1, Why::Backfill);
        assert!(runs[2].0 - runs[1].0 <= MIN);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_waits_for_the_run_in_progress() {
        let start = t("2026-06-10T15:30:00+02:00");
        let mut sim = Sim::new(start, AccountState::default(), vec![], up_to_yesterday);
        sim.fake.takes = Duration::from_secs(30 * 60);
        sim.until(start + 10 * MIN, 100).await;
        assert_eq!(sim.runs(), [(start, Why::Daily)]);
        assert_eq!(sim.decisions.len(), 1);
        assert_eq!(sim.clock.now_utc(), start + 30 * MIN);
        assert_eq!(sim.sched.state().last_attempt, Some(start + 30 * MIN));
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_a_wait_at_once_and_before_start_runs_nothing() {
        let start = t("2026-06-10T08:00:00+02:00");
        let mut sched = Scheduler::new("home", Schedule::default(), AccountState::default(), 1);
        let clock = TokioClock::new(start);
        let facts = Arc::new(Mutex::new(facts()));
        let mut fake = Fake {
            clock,
            facts,
            script: VecDeque::new(),
            otherwise: up_to_yesterday,
            runs: Vec::new(),
            takes: Duration::ZERO,
            completes_backfill: false,
            stop_after: usize::MAX,
            stop: None,
        };
        let (tx, rx) = watch::channel(true);
        drive(&mut sched, &clock, &mut fake, rx, |_, _| ()).await;
        assert!(fake.runs.is_empty());
        assert_eq!(clock.now_utc(), start);

        tx.send_replace(false);
        let rx = tx.subscribe();
        let stopper = async {
            clock.sleep_until(start + HOUR + 7).await;
            tx.send(true).unwrap();
        };
        tokio::join!(drive(&mut sched, &clock, &mut fake, rx, |_, _| ()), stopper);
        assert!(fake.runs.is_empty());
        assert_eq!(clock.now_utc(), start + HOUR + 7);

        // A dropped sender ends the drive too.
        let (tx, rx) = watch::channel(false);
        drop(tx);
        drive(&mut sched, &clock, &mut fake, rx, |_, _| ()).await;
        assert!(fake.runs.is_empty());
    }

    #[test]
    fn next_rules_come_in_order() {
        let now = t("2026-06-10T10:00:00+02:00");
        let f = facts();
        let ctx = f.context();
        let mut s = Scheduler::new("home", Schedule::default(), AccountState::default(), 7);
        // An owed retry comes before a manual refresh and a backfill, and
        // runs at once if its time has passed (after a restart, say).
        s.state.not_before = Some(now + 100);
        s.manual_pending = true;
        let backfill = Context {
            backfill_pending: true,
            ..ctx
        };
        assert_eq!(
            s.next(now, &backfill),
            Next::At {
                utc: now + 100,
                why: Why::Retry
            }
        );
        s.state.not_before = Some(now - DAY);
        assert_eq!(
            s.next(now, &ctx),
            Next::At {
                utc: now,
                why: Why::Retry
            }
        );
        s.state.not_before = None;
        assert_eq!(
            s.next(now, &backfill),
            Next::At {
                utc: now,
                why: Why::Manual
            }
        );
        s.manual_pending = false;
        assert_eq!(
            s.next(now, &backfill),
            Next::At {
                utc: now,
                why: Why::Backfill
            }
        );
        // Daily: before the hour, today's planned time.
        let planned = t("2026-06-10T15:00:00+02:00") + s.daily_jitter(day("2026-06-10"));
        assert_eq!(
            s.next(now, &ctx),
            Next::At {
                utc: planned,
                why: Why::Daily
            }
        );
        // Started after the hour, before the last one: now.
        let late = t("2026-06-10T18:00:00+02:00");
        assert_eq!(
            s.next(late, &ctx),
            Next::At {
                utc: late,
                why: Why::Daily
            }
        );
        // Started after the last hour: tomorrow.
        let night = t("2026-06-10T23:30:00+02:00");
        let tomorrow = t("2026-06-11T15:00:00+02:00") + s.daily_jitter(day("2026-06-11"));
        assert_eq!(
            s.next(night, &ctx),
            Next::At {
                utc: tomorrow,
                why: Why::Daily
            }
        );
        // A paused account whose guest is still active stays blocked, even
        // with a retry owed; with another guest it resumes after the wait.
        s.state.paused = Some(Pause {
            since: now,
            detail: "x".into(),
            guest_sha256: f.guest_sha256.clone(),
        });
        s.state.not_before = Some(now + 100);
        assert!(matches!(s.next(now, &ctx), Next::Blocked { .. }));
        let other = Context {
            guest_sha256: "other",
            ..ctx
        };
        assert_eq!(
            s.next(now, &other),
            Next::At {
                utc: now + 100,
                why: Why::Retry
            }
        );
        s.state.not_before = None;
        assert_eq!(
            s.next(now, &other),
            Next::At {
                utc: now,
                why: Why::Retry
            }
        );
    }

    #[test]
    fn record_clears_stale_breakers_and_pauses_and_never_one_that_applies() {
        let now = t("2026-06-10T15:30:00+02:00");
        let f = facts();
        let mut s = Scheduler::new("home", Schedule::default(), AccountState::default(), 7);
        s.record(
            now,
            Why::Daily,
            &Outcome::CredentialsRejected {
                detail: "no".into(),
            },
            &f.context(),
        );
        // Another outcome with the same credentials (a run the service made
        // anyway) leaves the breaker open; new credentials clear it.
        s.record(now + 1, Why::Retry, &unavailable(), &f.context());
        assert!(s.state().breaker.is_some());
        let new = Facts {
            credentials: "cred-2".into(),
            ..facts()
        };
        s.record(now + 2, Why::Retry, &unavailable(), &new.context());
        assert_eq!(s.state().breaker, None);
        assert_eq!(s.state().consecutive_failures, 2);
    }

    #[test]
    fn reset_keeps_a_cool_down_the_site_asked_for() {
        let now = t("2026-06-10T15:30:00+02:00");
        let f = facts();
        let mut s = Scheduler::new("home", Schedule::default(), AccountState::default(), 7);
        assert!(!s.reset());
        s.record(now, Why::Daily, &unavailable(), &f.context());
        s.record(
            now + 600,
            Why::Retry,
            &Outcome::RateLimited {
                retry_after: Some(1800),
            },
            &f.context(),
        );
        assert!(s.reset());
        assert_eq!(s.state().consecutive_failures, 0);
        assert_eq!(s.state().not_before, Some(now + 2400));
        assert!(
            s.state()
                .last_decision
                .as_deref()
                .is_some_and(|d| d.contains("cool-down"))
        );
        assert!(!s.reset());
        // A garbled Retry-After is honoured for a day at most, a zero for a minute.
        s.record(
            now,
            Why::Retry,
            &Outcome::RateLimited {
                retry_after: Some(u64::MAX),
            },
            &f.context(),
        );
        assert_eq!(s.state().not_before, Some(now + DAY));
        s.record(
            now,
            Why::Retry,
            &Outcome::RateLimited {
                retry_after: Some(0),
            },
            &f.context(),
        );
        assert_eq!(s.state().not_before, Some(now + MIN));
    }

    #[test]
    fn backoff_never_overflows() {
        let s = Scheduler::new("home", Schedule::default(), AccountState::default(), 7);
        for failures in [0, 1, 30, 62, 63, 64, 1000, u32::MAX] {
            let d = s.backoff_delay(failures, 0);
            assert!((5 * MIN..=6 * HOUR * 6 / 5).contains(&d), "{failures}: {d}");
        }
    }

    #[test]
    fn state_round_trips_and_older_files_load() {
        let state = AccountState {
            last_attempt: Some(1),
            last_success: Some(2),
            newest_day: Some(day("2026-03-28")),
            consecutive_failures: 3,
            not_before: Some(4),
            breaker: Some(Breaker {
                opened_at: 5,
                detail: "no".into(),
                credentials: "fp".into(),
                action_needed: true,
            }),
            paused: Some(Pause {
                since: 6,
                detail: "changed".into(),
                guest_sha256: "ab".into(),
            }),
            last_manual: Some(7),
            last_decision: Some("synced".into()),
            rate_limited_until: Some(8),
        };
        let json = serde_json::to_string(&state).unwrap();
        assert!(json.contains(r#""newest_day":"2026-03-28""#), "{json}");
        assert_eq!(serde_json::from_str::<AccountState>(&json).unwrap(), state);
        let old: AccountState =
            serde_json::from_str(r#"{"last_attempt": 1, "newest_day": "2026-03-28"}"#).unwrap();
        assert_eq!(old.last_attempt, Some(1));
        assert_eq!(old.rate_limited_until, None);
        assert!(
            !serde_json::to_string(&old)
                .unwrap()
                .contains("rate_limited_until")
        );
    }

    #[test]
    fn the_drive_future_can_be_spawned() {
        fn assert_send<T: Send + 'static>(_: T) {}
        let clock = TokioClock::new(0);
        let fake = Fake {
            clock,
            facts: Arc::new(Mutex::new(facts())),
            script: VecDeque::new(),
            otherwise: up_to_yesterday,
            runs: Vec::new(),
            takes: Duration::ZERO,
            completes_backfill: false,
            stop_after: usize::MAX,
            stop: None,
        };
        let sched = Scheduler::new("home", Schedule::default(), AccountState::default(), 1);
        let (_tx, rx) = watch::channel(false);
        let (_ctx, commands) = mpsc::channel(1);
        assert_send(async move {
            let (mut sched, mut fake) = (sched, fake);
            drive_with_commands(&mut sched, &clock, &mut fake, rx, commands, |_, _| ()).await;
        });
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(40), "40 s");
        assert_eq!(human(15 * MIN), "15 min");
        assert_eq!(human(14 * MIN + 20), "14 min 20 s");
        assert_eq!(human(HOUR), "1 h");
        assert_eq!(human(HOUR + 5 * MIN + 3), "1 h 5 min");
    }
}
