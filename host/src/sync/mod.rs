//! One sync run: a date range, cut into calendar months, fetched by one
//! guest instance (it logs in once), each month validated and stored as
//! soon as it arrives, so a crash loses at most one month.
//!
//! It owns the order of a run and the sync-run record in the store. It must
//! never parse the site (the guest does) nor relax a limit (the runtime and
//! the policy do): a guest's records are checked by `validate` before the
//! store sees them.

pub mod ecowatt;
pub mod rte_token;
pub mod tempo;

use crate::config::{Account, Config};
use crate::sandbox::policy::{Backend, HttpLimits, Origin, PolicyHooks, Traffic};
use crate::sandbox::redact::Redactor;
use crate::sandbox::runtime::{Guest, Limits, Runtime, SandboxError};
use crate::sandbox::validate;
use crate::store::{GuestIdentity, IngestStats, RunOutcome, Store};
use anyhow::{Context, Result};
use hellowatt_snapshot::SyncRequest;
use hellowatt_snapshot::{DataKind, Date, SyncError, Window, WindowStatus};
use std::future::Future;
use std::ops::DerefMut;
use std::sync::Arc;

/// Why a run ended early.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    #[error("{0}")]
    Guest(SyncError),
    #[error("{0}")]
    Sandbox(SandboxError),
    #[error("the guest returned invalid records: {0}")]
    Invalid(String),
    /// The database failed a write (full disk, read-only file, I/O): the
    /// window was not stored; the message says what to do.
    #[error("the database could not store the window: {0}")]
    Store(String),
}

impl RunFailure {
    pub fn kind(&self) -> &'static str {
        match self {
            RunFailure::Guest(e) => e.kind(),
            RunFailure::Sandbox(e) => e.kind(),
            RunFailure::Invalid(_) => "invalid-records",
            RunFailure::Store(_) => "store",
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct RunSummary {
    pub run_id: i64,
    pub windows: usize,
    /// Parts (a series over a window) the guest could not read, with the
    /// reason: stored as failed windows (unless read before) and asked
    /// again by a later run.
    pub failed: Vec<Window>,
    /// The site's API version the guest's answers came under.
    pub api_version: Option<String>,
    pub stats: IngestStats,
    pub traffic: Traffic,
    pub failure: Option<RunFailure>,
}

pub fn guest_identity(guest: &Guest) -> GuestIdentity {
    GuestIdentity {
        name: guest.info.name.clone(),
        version: guest.info.version.clone(),
        sha256: guest.sha256.clone(),
    }
}

/// Calendar months of `[from, to]`, clipped to it.
pub fn month_windows(from: Date, to: Date) -> Vec<(Date, Date)> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = start.last_of_month().min(to);
        out.push((start, end));
        start = end.succ();
    }
    out
}

/// How a run reaches the store: a command-line sync owns its [`Store`];
/// the service shares one behind a mutex and a run locks it only while it
/// records the run or writes a window, never while the guest waits on the
/// site, so MQTT, the refresh requests and the Tempo slot do not queue
/// behind a backfill.
pub trait StoreAccess: Send {
    type Guard<'a>: DerefMut<Target = Store> + Send
    where
        Self: 'a;
    fn lock(&mut self) -> impl Future<Output = Self::Guard<'_>> + Send;
}

impl StoreAccess for Store {
    type Guard<'a> = &'a mut Store;
    fn lock(&mut self) -> impl Future<Output = &mut Store> + Send {
        std::future::ready(self)
    }
}

impl StoreAccess for &tokio::sync::Mutex<Store> {
    type Guard<'a>
        = tokio::sync::MutexGuard<'a, Store>
    where
        Self: 'a;
    fn lock(&mut self) -> impl Future<Output = tokio::sync::MutexGuard<'_, Store>> + Send {
        tokio::sync::Mutex::lock(self)
    }
}

/// Runs one sync of `[from, to]` for the configured account, one calendar
/// month per guest call, through the network (or the simulated site the
/// configuration points at).
pub async fn run<S: StoreAccess>(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut S,
    config: &Config,
    account: &Account,
    from: Date,
    to: Date,
) -> Result<RunSummary> {
    run_windows(
        runtime,
        guest,
        store,
        config,
        account,
        &month_windows(from, to),
    )
    .await
}

/// What a run talks to and files its rows under: an account on the
/// helloWatt site, or the Tempo service (see `crate::sync::tempo`).
pub struct Target<'a> {
    /// The name the store files the run under.
    pub account: &'a str,
    /// The only origin the guest may reach in this run.
    pub origin: &'a Origin,
    pub http: &'a HttpLimits,
    pub limits: &'a Limits,
    pub login: &'a str,
    /// Held by the host's browser for the log-in; the guest gets a
    /// placeholder. Empty for a target without an account (Tempo).
    pub password: &'a str,
    pub kinds: &'a [DataKind],
    /// Told as the run goes, when someone watches.
    pub progress: Option<&'a dyn Progress>,
}

/// One `sync` call of a run: a window, and the kinds to ask for in it
/// (`None`: every kind the target wants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub start: Date,
    pub end: Date,
    pub kinds: Option<Vec<DataKind>>,
}

impl Part {
    /// Every kind over `start..=end`.
    pub fn whole(start: Date, end: Date) -> Part {
        Part {
            start,
            end,
            kinds: None,
        }
    }
}

/// Every kind over each window.
pub fn whole_parts(windows: &[(Date, Date)]) -> Vec<Part> {
    windows.iter().map(|&(s, e)| Part::whole(s, e)).collect()
}

/// Runs one sync over the given windows, in order, on one guest instance.
pub async fn run_windows<S: StoreAccess>(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut S,
    config: &Config,
    account: &Account,
    windows: &[(Date, Date)],
) -> Result<RunSummary> {
    run_parts(
        runtime,
        guest,
        store,
        config,
        account,
        &whole_parts(windows),
    )
    .await
}

/// Runs one sync over the given parts, in order, on one guest instance.
pub async fn run_parts<S: StoreAccess>(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut S,
    config: &Config,
    account: &Account,
    parts: &[Part],
) -> Result<RunSummary> {
    run_watched(runtime, guest, store, config, account, parts, None).await
}

/// What watches a run go by (a terminal's progress bar): told when the
/// run starts and as each part is stored. It must not block: it is called
/// between two guest calls.
pub trait Progress: Send + Sync {
    /// The run starts with `parts` guest calls; `requests` counts the
    /// requests sent to the site so far, read at any time.
    fn start(&self, parts: usize, requests: RequestCounter);
    /// `done` parts of the run are stored, the last one `start..=end`.
    fn part_done(&self, done: usize, start: Date, end: Date);
}

/// The number of requests a run has sent so far, for a [`Progress`].
#[derive(Clone)]
pub struct RequestCounter(PolicyHooks);

impl RequestCounter {
    pub fn get(&self) -> u32 {
        self.0.traffic().requests
    }
}

/// [`run_parts`], told to `progress` as it goes.
pub async fn run_watched<S: StoreAccess>(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut S,
    config: &Config,
    account: &Account,
    parts: &[Part],
    progress: Option<&dyn Progress>,
) -> Result<RunSummary> {
    let (login, password) = account.credentials()?;
    let target = Target {
        account: &account.name,
        origin: &config.site,
        http: &config.http,
        limits: &config.limits,
        login,
        password: password.expose(),
        kinds: &account.kinds,
        progress,
    };
    run_with_hooks(runtime, guest, store, &target, parts, hooks_for(&target)).await
}

/// The HTTP policy of one run of `target`: its origin and limits, the
/// redaction of its secrets, and the browser that holds its password for
/// the log-in (a target without a password has none).
pub fn hooks_for(target: &Target<'_>) -> PolicyHooks {
    // The e-mail too: a failed part's error is text the guest chose.
    let redactor = Arc::new(Redactor::for_account(target.password, target.login));
    PolicyHooks::new(
        target.origin.clone(),
        target.http.clone(),
        Backend::Network,
        redactor,
    )
    .with_account(target.login, target.password)
}

/// Runs one sync of `target` over the given windows, in order, on one guest
/// instance.
pub async fn run_target<S: StoreAccess>(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut S,
    target: &Target<'_>,
    windows: &[(Date, Date)],
) -> Result<RunSummary> {
    let parts = whole_parts(windows);
    run_with_hooks(runtime, guest, store, target, &parts, hooks_for(target)).await
}

/// [`run_target`] under hooks of the caller's ([`hooks_for`] with a
/// trace, in the tests that prove where secrets go).
pub async fn run_with_hooks<S: StoreAccess>(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut S,
    target: &Target<'_>,
    parts: &[Part],
    hooks: PolicyHooks,
) -> Result<RunSummary> {
    // Windows may come newest first (a backfill): the run spans them all.
    let (Some(first), Some(last)) = (
        parts.iter().map(|w| w.start).min(),
        parts.iter().map(|w| w.end).max(),
    ) else {
        anyhow::bail!("nothing to sync: the date range is empty");
    };
    let run_id = store
        .lock()
        .await
        .begin_run(
            target.account,
            &guest_identity(guest),
            first,
            last,
            crate::clock::now_utc(),
        )
        .context("recording the start of the sync run")?;
    let mut summary = RunSummary {
        run_id: run_id.0,
        windows: 0,
        failed: Vec::new(),
        api_version: None,
        stats: IngestStats::default(),
        traffic: Traffic::default(),
        failure: None,
    };
    let outcome = fetch_and_store(
        runtime,
        guest,
        store,
        target,
        run_id,
        hooks.clone(),
        parts,
        &mut summary,
    )
    .await;
    summary.traffic = hooks.traffic();
    let record = match &outcome {
        Ok(()) => RunOutcome::Success,
        Err(f) => RunOutcome::Failed {
            kind: f.kind().to_string(),
            message: f.to_string(),
        },
    };
    store
        .lock()
        .await
        .finish_run(
            run_id,
            &record,
            &summary.stats,
            u64::from(summary.traffic.requests),
            crate::clock::now_utc(),
        )
        .context("recording the end of the sync run")?;
    if let Err(f) = &outcome {
        tracing::warn!(account = %target.account, kind = f.kind(), "sync failed: {f}");
    }
    summary.failure = outcome.err();
    Ok(summary)
}

#[allow(clippy::too_many_arguments)] // one run's parts, all distinct
async fn fetch_and_store<S: StoreAccess>(
    runtime: &Runtime,
    guest: &Guest,
    store: &mut S,
    target: &Target<'_>,
    run_id: crate::store::RunId,
    hooks: PolicyHooks,
    parts: &[Part],
    summary: &mut RunSummary,
) -> Result<(), RunFailure> {
    let placeholder = hooks.placeholder();
    if let Some(p) = target.progress {
        p.start(parts.len(), RequestCounter(hooks.clone()));
    }
    let mut run = runtime
        .start(guest, hooks, target.limits)
        .await
        .map_err(|e| RunFailure::Sandbox(SandboxError::Trap(format!("{e:#}"))))?;
    for (i, part) in parts.iter().enumerate() {
        let (start, end) = (part.start, part.end);
        // Contracts once per run, not once per window (homes come with
        // every snapshot anyway).
        let kinds: Vec<DataKind> = match &part.kinds {
            Some(kinds) => kinds.clone(),
            None => target
                .kinds
                .iter()
                .copied()
                .filter(|k| i == 0 || *k != DataKind::Homes)
                .collect(),
        };
        let call = SyncRequest {
            base_url: target.origin.url(),
            login: target.login.to_string(),
            password_placeholder: placeholder.clone(),
            start,
            end,
            kinds,
        };
        tracing::info!(account = %target.account, %start, %end, "fetching");
        let snapshot = match run.sync(&call).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(RunFailure::Guest(e)),
            Err(e) => return Err(RunFailure::Sandbox(e)),
        };
        validate::snapshot(&snapshot, start, end)
            .and_then(|()| validate::asked(&snapshot, &call.kinds))
            .map_err(RunFailure::Invalid)?;
        // The store is held for this write only, never while the guest
        // waits on the site.
        let mut held = store.lock().await;
        let stats = held
            .ingest(run_id, target.account, &snapshot, crate::clock::now_utc())
            .map_err(|e| match crate::store::storage_trouble(&e) {
                Some(fix) => RunFailure::Store(format!("{fix} ({e:#})")),
                None => RunFailure::Invalid(format!("the store refused the records: {e:#}")),
            })?;
        if snapshot.api_version.is_some() && snapshot.api_version != summary.api_version {
            summary.api_version.clone_from(&snapshot.api_version);
            if let Some(v) = &summary.api_version {
                held.set_run_api_version(run_id, v)
                    .map_err(|e| RunFailure::Store(format!("{e:#}")))?;
            }
        }
        drop(held);
        summary.windows += 1;
        summary.stats.add(&stats);
        if let Some(p) = target.progress {
            p.part_done(i + 1, start, end);
        }
        let failed: Vec<&Window> = snapshot
            .windows
            .iter()
            .filter(|w| matches!(w.status, WindowStatus::Failed(_)))
            .collect();
        summary.failed.extend(failed.iter().map(|w| (*w).clone()));
        for w in &failed {
            if let WindowStatus::Failed(e) = &w.status {
                tracing::warn!(
                    account = %target.account,
                    kind = %w.kind.as_str(),
                    start = %w.start,
                    end = %w.end,
                    "a part failed and is asked again next run: {e}"
                );
            }
        }
        // The rest of the window is stored; a daily series the guest no
        // longer understands still stops the account (the pause waits for
        // a new guest), while a curve or a temperature that changed only
        // shows as failed parts.
        if let Some(e) = failed.iter().find_map(|w| match &w.status {
            WindowStatus::Failed(e @ SyncError::SiteChanged(_)) if w.kind.is_daily_series() => {
                Some(e.clone())
            }
            _ => None,
        }) {
            return Err(RunFailure::Guest(e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months() {
        let d = |s| Date::parse(s).unwrap();
        assert_eq!(
            month_windows(d("2025-12-15"), d("2026-02-03")),
            vec![
                (d("2025-12-15"), d("2025-12-31")),
                (d("2026-01-01"), d("2026-01-31")),
                (d("2026-02-01"), d("2026-02-03")),
            ]
        );
        assert_eq!(
            month_windows(d("2026-02-03"), d("2026-02-03")),
            vec![(d("2026-02-03"), d("2026-02-03"))]
        );
        assert!(month_windows(d("2026-02-04"), d("2026-02-03")).is_empty());
    }
}
