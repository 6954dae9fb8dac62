//! The scheduler on a clock: [`Clock`] maps its UTC seconds onto tokio
//! time (real or paused), and [`drive`] waits for each decision of
//! [`Scheduler::next`], has the [`Runner`] run it, records the outcome and
//! serves the CLI's and the API's [`Command`]s meanwhile.
//!
//! It owns the waiting and the order of things, never a decision: every
//! "when" and "why" comes from the pure functions of `mod.rs`. It must never
//! cancel a run once started.

use super::{
    AccountState, BLOCKED_RECHECK, Context, Facts, MIN_WAIT, Next, Outcome, RECHECK, Scheduler,
    Why, secs,
};
use hellowatt_snapshot::paris_iso;
use std::future::Future;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

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
            base_utc: crate::clock::now_utc(),
            start: tokio::time::Instant::now(),
            wall: true,
        }
    }
}

impl Clock for TokioClock {
    fn now_utc(&self) -> i64 {
        if self.wall {
            crate::clock::now_utc()
        } else {
            self.base_utc.saturating_add(secs(self.start.elapsed()))
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
/// dropped): waits for the next run (re-checking the world every minute,
/// every few seconds while blocked),
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
    // When the last run ended, the facts it ran under, and why it ran.
    let mut last_run: Option<(i64, Facts, Why)> = None;
    loop {
        if *shutdown.borrow_and_update() {
            return;
        }
        let now = clock.now_utc();
        let facts = runner.context();
        let wake = match sched.next(now, &facts.context()) {
            Next::At { utc, why } if utc <= now => {
                if let Some((end, ran, ran_why)) = &last_run
                    && now < end.saturating_add(MIN_WAIT)
                    && ran.guest_sha256 == facts.guest_sha256
                    && ran.credentials == facts.credentials
                    && (why != Why::Manual || *ran_why == Why::Manual)
                {
                    // Only a bug elsewhere, or refreshes asked in a loop,
                    // get here: never hammer the site. (Another guest or
                    // other credentials since the last run are a new
                    // situation: a fixed guest runs at once; one manual
                    // refresh right after a scheduled run runs at once too,
                    // a second within the minute waits.)
                    tracing::warn!(
                        account = %sched.account,
                        "a {why} was due again at once after a run: waiting a minute"
                    );
                    end.saturating_add(MIN_WAIT)
                } else {
                    tracing::debug!(account = %sched.account, %why, "run starts");
                    let outcome = runner.run(why).await;
                    let end = clock.now_utc();
                    last_run = Some((end, facts.clone(), why));
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
            // Blocked until the world changes (another guest, other
            // credentials): looking costs nothing, so look often, and a
            // fixed guest dropped in resumes the account within seconds.
            Next::Blocked { .. } => now.saturating_add(BLOCKED_RECHECK),
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
                let decision = match next {
                    Next::At {
                        why: Why::Manual, ..
                    } => "manual refresh requested: running it now".to_string(),
                    Next::At { utc, why } => format!(
                        "manual refresh requested: the {why} at {} will serve it",
                        paris_iso(*utc)
                    ),
                    Next::Blocked { reason, .. } => {
                        format!("manual refresh requested, but no run can start: {reason}")
                    }
                };
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
