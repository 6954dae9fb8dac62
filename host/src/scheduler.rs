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

use hellowatt_snapshot::{Date, paris_iso};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// The shortest wait the scheduler ever plans between two runs it owes
/// itself (retries, backoffs, cool-downs), whatever the configuration says:
/// a zero in the configuration must not turn into a loop against the site.
const MIN_WAIT: i64 = 60;
/// How often [`drive`] re-reads the world (guest, credentials, backfill)
/// while it waits, blocked or not.
const RECHECK: i64 = 60;
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

/// The circuit breaker, open: helloWatt rejected these credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breaker {
    pub opened_at: i64,
    pub detail: String,
    /// Fingerprint of the rejected credentials (never the password).
    pub credentials: String,
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

/// The next run of an account.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Run at `utc` (at once if it is not in the future).
    At { utc: i64, why: Why },
    /// No run until something changes; `reason` says what, for a person.
    Blocked { reason: String },
}

impl fmt::Display for Next {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Next::At { utc, why } => write!(f, "{why} at {}", paris_iso(*utc)),
            Next::Blocked { reason } => write!(f, "blocked: {reason}"),
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
    /// A run succeeded while a backfill stayed pending: the next backfill
    /// waits `retry_every` after it instead of starting at once (in memory
    /// only, so a restart still backfills at once).
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
            return Next::Blocked {
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
        let h = mix2(self.seed ^ 0x6461_696c_7900_0000, day.days_since_epoch() as u64);
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
        if s
            .breaker
            .as_ref()
            .is_some_and(|b| b.credentials != ctx.credentials)
        {
            s.breaker = None;
        }
        if s
            .paused
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
                self.backfill_stalled_at = ctx.backfill_pending.then_some(now);
                self.success_decision(now, why, ctx)
            }
            Outcome::CredentialsRejected { detail } => {
                s.breaker = Some(Breaker {
                    opened_at: now,
                    detail: detail.clone(),
                    credentials: ctx.credentials.to_string(),
                });
                s.not_before = None;
                format!(
                    "helloWatt rejected the e-mail or password ({detail}): no more log-in \
                     attempts for {account} until its password changes in the configuration \
                     or `hellowatt reset {account}`"
                )
            }
            Outcome::RateLimited { retry_after } => {
                let (wait, said) = match retry_after {
                    Some(secs) => (server_wait(*secs), " (it said when)"),
                    None => (
                        secs(self.schedule.rate_limit_default).max(MIN_WAIT),
                        " (it did not say for how long)",
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
            } => self.failure(now, &format!("helloWatt is unavailable ({detail})"), *retry_after),
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
        let next = match self.next(now, ctx) {
            Next::At { utc, why } => format!("{why} at {}", paris_iso(utc)),
            Next::Blocked { reason } => reason,
        };
        let backfill = if why == Why::Backfill && !ctx.backfill_pending {
            "backfill complete; "
        } else {
            ""
        };
        match self.state.newest_day {
            Some(day) if day >= yesterday => {
                format!("synced; {backfill}data up to {day}; next {next}")
            }
            newest => {
                let have = newest.map_or_else(|| "no data yet".to_string(), |d| format!("data up to {d}"));
                format!(
                    "synced ({have}); {backfill}yesterday's data ({yesterday}) is not on the site \
                     yet; next try: {next}"
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

/// Maps the scheduler's UTC seconds onto real (or tokio's paused) time.
pub trait Clock {
    fn now_utc(&self) -> i64;
    /// Completes once `now_utc() >= utc`.
    fn sleep_until(&self, utc: i64) -> impl Future<Output = ()> + Send;
}

/// A [`Clock`] on tokio time. [`TokioClock::new`]: `now = base_utc + tokio
/// elapsed`, which follows tokio's paused clock in tests.
/// [`TokioClock::system`]: the system's wall clock, re-read at least every
/// minute while sleeping, so a suspend or a clock step does not shift runs.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base_utc: i64,
    start: tokio::time::Instant,
    wall: bool,
}

impl TokioClock {
    pub fn new(base_utc: i64) -> TokioClock {
        TokioClock {
            base_utc,
            start: tokio::time::Instant::now(),
            wall: false,
        }
    }

    pub fn system() -> TokioClock {
        TokioClock {
            base_utc: system_now(),
            start: tokio::time::Instant::now(),
            wall: true,
        }
    }
}

fn system_now() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => secs(d),
        Err(e) => -secs(e.duration()),
    }
}

impl Clock for TokioClock {
    fn now_utc(&self) -> i64 {
        if self.wall {
            system_now()
        } else {
            self.base_utc
                .saturating_add(secs(self.start.elapsed()))
        }
    }

    fn sleep_until(&self, utc: i64) -> impl Future<Output = ()> + Send {
        let clock = *self;
        async move {
            if clock.wall {
                loop {
                    let now = clock.now_utc();
                    if now >= utc {
                        return;
                    }
                    let wait = (utc - now).min(RECHECK) as u64;
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
            }
            let offset = Duration::from_secs(utc.saturating_sub(clock.base_utc).max(0) as u64);
            match clock.start.checked_add(offset) {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        }
    }
}

/// What [`drive`] runs: the service's side (store, guest registry, config).
pub trait Runner {
    /// The world right now; called before every decision (about once a
    /// minute while waiting, so it must be cheap) and after every run.
    fn context(&self) -> Facts;
    /// One run; never cancelled by [`drive`] once started.
    fn run(&mut self, why: Why) -> impl Future<Output = Outcome> + Send;
}

/// Requests to a running [`drive_with_commands`], from the CLI or the API.
#[derive(Debug)]
pub enum Command {
    /// A manual refresh: the reply is the next run, or why it was refused.
    Manual {
        reply: oneshot::Sender<Result<Next, String>>,
    },
    /// `hellowatt reset ACCOUNT`: the reply says whether anything changed.
    Reset { reply: oneshot::Sender<bool> },
    /// The state and the next run, for `hellowatt status`.
    Status {
        reply: oneshot::Sender<(AccountState, Next)>,
    },
}

/// Runs an account until `shutdown` becomes true (or its sender is
/// dropped): waits for the next run (re-checking the world every minute),
/// runs it, records its outcome and calls `on_decision(state, decision)`,
/// where the service persists the state and logs the decision. A run in
/// progress is always awaited, never abandoned.
pub async fn drive<C: Clock, R: Runner>(
    sched: &mut Scheduler,
    clock: &C,
    runner: &mut R,
    shutdown: watch::Receiver<bool>,
    on_decision: impl FnMut(&AccountState, &str),
) {
    let (_keep_open, commands) = mpsc::channel(1);
    drive_with_commands(sched, clock, runner, shutdown, commands, on_decision).await;
}

/// [`drive`], also serving [`Command`]s while it waits. A reset or an
/// accepted manual refresh is passed to `on_decision` like any decision.
pub async fn drive_with_commands<C: Clock, R: Runner>(
    sched: &mut Scheduler,
    clock: &C,
    runner: &mut R,
    mut shutdown: watch::Receiver<bool>,
    mut commands: mpsc::Receiver<Command>,
    mut on_decision: impl FnMut(&AccountState, &str),
) {
    let mut commands_open = true;
    let mut last_run_end: Option<i64> = None;
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        let now = clock.now_utc();
        let facts = runner.context();
        let wake = match sched.next(now, &facts.context()) {
            Next::At { utc, why } if utc <= now => {
                if let Some(end) = last_run_end
                    && now < end.saturating_add(MIN_WAIT)
                {
                    // Only a bug elsewhere gets here: never hammer the site.
                    tracing::warn!(
                        account = %sched.account,
                        "a {why} was due again at once after a run: waiting a minute"
                    );
                    end.saturating_add(MIN_WAIT)
                } else {
                    tracing::debug!(account = %sched.account, %why, "run starts");
                    let outcome = runner.run(why).await;
                    let end = clock.now_utc();
                    last_run_end = Some(end);
                    let after = runner.context();
                    // The guest and credentials that ran; the backfill as
                    // it stands now.
                    let ctx = Context {
                        backfill_pending: after.backfill_pending,
                        ..facts.context()
                    };
                    let decision = sched.record(end, why, &outcome, &ctx);
                    on_decision(sched.state(), &decision);
                    continue;
                }
            }
            Next::At { utc, .. } => utc.min(now.saturating_add(RECHECK)),
            Next::Blocked { .. } => now.saturating_add(RECHECK),
        };
        tokio::select! {
            () = clock.sleep_until(wake) => {}
            changed = shutdown.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            command = commands.recv(), if commands_open => match command {
                None => commands_open = false,
                Some(command) => serve(sched, clock, runner, command, &mut on_decision),
            },
        }
    }
}

fn serve<C: Clock, R: Runner>(
    sched: &mut Scheduler,
    clock: &C,
    runner: &R,
    command: Command,
    on_decision: &mut impl FnMut(&AccountState, &str),
) {
    let now = clock.now_utc();
    match command {
        Command::Manual { reply } => {
            let result = sched.request_manual(now).map(|()| {
                let facts = runner.context();
                sched.next(now, &facts.context())
            });
            if let Ok(next) = &result {
                let decision = format!("manual refresh requested: {next}");
                sched.state.last_decision = Some(decision.clone());
                on_decision(sched.state(), &decision);
            }
            // The requester may have gone: nothing to tell then.
            let _ = reply.send(result);
        }
        Command::Reset { reply } => {
            let changed = sched.reset();
            if changed {
                let decision = sched.state.last_decision.clone().unwrap_or_default();
                on_decision(sched.state(), &decision);
            }
            let _ = reply.send(changed);
        }
        Command::Status { reply } => {
            let facts = runner.context();
            let next = sched.next(now, &facts.context());
            let _ = reply.send((sched.state.clone(), next));
        }
    }
}
