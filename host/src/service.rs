//! `hellowatt run`: the long-running service. One task per account drives
//! the scheduler; a run is a `sync` over the windows the moment calls for
//! (the missing history, newest month first, at first start; the sliding
//! refresh window afterwards), stored window by window.
//!
//! Beside the accounts, one task runs the EcoWatt slot's guest on the
//! schedule of `crate::sync::ecowatt` (with a token from the host's RTE
//! broker), and one task runs the Tempo slot's guest on the schedule
//! of `crate::sync::tempo` (its own origins and pacing, its own hot-swapped
//! guest).
//!
//! It owns the wiring between the scheduler, the store, the runtime and the
//! person at the terminal, from [`assemble`] (the one composition root,
//! for `hellowatt run` and `hellowatt demo --serve`) on: the start-up report, the decisions logged once,
//! the requests filed by `hellowatt reset` / `refresh`, graceful shutdown.
//! It must never decide *when* to run (the scheduler does) nor parse the
//! site (the guest does).

use crate::clock::now_utc;
use crate::config::{Account, Config, ServiceConfig};
use crate::sandbox::runtime::{Guest, Runtime};
use crate::scheduler::{
    self, AccountState, Command, Facts, Next, NextStep, Outcome, Runner, Schedule, Scheduler,
    StepKind, Why,
};
use crate::store::{Request, Store};
use crate::sync::{self, RunFailure, RunSummary, month_windows};
use anyhow::{Context, Result};
use hellowatt_snapshot::{DataKind, Date, Energy, SyncError, WindowStatus};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

/// How often the service looks for requests filed by the CLI.
const REQUEST_POLL: Duration = Duration::from_secs(5);

/// Where the active guest comes from.
pub enum Guests {
    /// One guest for the life of the process (`guest` configured, the demo).
    Fixed(Arc<Guest>),
    /// The guest folder, validated and hot-swapped by the registry.
    Registry(Arc<crate::registry::Registry>),
}

impl Guests {
    /// The guest a run starts with; a swap during the run does not touch it.
    pub fn active(&self) -> Arc<Guest> {
        match self {
            Guests::Fixed(g) => Arc::clone(g),
            Guests::Registry(r) => r.active(),
        }
    }
}

/// Where [`assemble`] takes the guests from.
pub enum GuestSource {
    /// `hellowatt run`: the configured `guest` file pinned for the helloWatt
    /// slot, else that slot's registry (its drop folder, hot swap); the
    /// Tempo slot's registry when the Tempo service is on.
    Configured,
    /// `hellowatt demo --serve`: this helloWatt guest, and the bundled Tempo
    /// guest when the Tempo service is on, for the life of the process.
    Fixed(Box<Guest>),
}

/// Whether a command may create the compiled-guest cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Commands that keep state beside the database (`run`, `sync`,
    /// `record`, `doctor`, `guest install`): made when missing, as the
    /// registry makes it.
    Create,
    /// Commands that only look (`demo`, `guest check`): used when the
    /// service or an earlier command made it, else every guest is compiled
    /// in memory and no folder is left behind.
    IfThere,
}

/// The runtime of a command: one engine, its loads through the
/// compiled-guest cache beside the configured database (the one the
/// service's registry fills), so that a command compiles a guest once, not
/// at every invocation (issue #21: 0.4 s of a one-day sync in a release
/// build, 0.8 s CPU in a debug one).
pub fn command_runtime(config: &Config, usage: CacheUse) -> Result<Runtime> {
    let dir = crate::registry::GuestSettings::from_config(config).cache_dir();
    let cache = match usage {
        CacheUse::IfThere if !dir.is_dir() => None,
        usage => match crate::sandbox::cache::ArtifactCache::open(&dir) {
            Ok(cache) => Some(Arc::new(cache)),
            Err(e) if usage == CacheUse::Create => {
                return Err(e.context("opening the compiled-guest cache"));
            }
            // A cache this user may not use (another user's service) is
            // skipped: a look is never refused for it.
            Err(e) => {
                tracing::debug!("compiling without the cache {}: {e:#}", dir.display());
                None
            }
        },
    };
    Ok(Runtime::new()?.with_cache(cache))
}

/// The guest a command (`sync`, `record`, `doctor`) runs: the one the
/// service runs now, the helloWatt slot's active guest (a fixed guest
/// dropped in, or the bundled one), or the pinned `guest`, each through the
/// runtime's compiled-guest cache ([`command_runtime`]).
pub async fn command_guest(runtime: &Arc<Runtime>, config: &Config) -> Result<Guest> {
    use crate::registry::{GuestSettings, open_slot};
    match &config.guest {
        Some(_) => configured_guest(runtime, config).await,
        None => {
            let registry = open_slot(
                Arc::clone(runtime),
                config,
                &GuestSettings::from_config(config),
                crate::slot::Slot::Hellowatt,
            )
            .await
            .context("opening the helloWatt guest registry")?;
            Ok(Guest::clone(&registry.active()))
        }
    }
}

/// The bytes of the guest `guest` pins.
fn pinned(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading the guest {}", path.display()))
}

/// The guest `config` names (`guest`), or the bundled one, through the
/// runtime's cache when it has one.
pub async fn configured_guest(runtime: &Runtime, config: &Config) -> Result<Guest> {
    match &config.guest {
        Some(path) => {
            let bytes = pinned(path)?;
            runtime
                .load(bytes, &config.limits)
                .await
                .with_context(|| format!("loading the guest {}", path.display()))
        }
        None => runtime
            .load(crate::BUNDLED_GUEST.to_vec(), &config.limits)
            .await
            .context("loading the bundled guest"),
    }
}

/// Builds the service from its configuration: the guests, the store, MQTT.
/// Everything that runs the service starts here, so that `run` and the
/// demo cannot drift apart.
pub async fn assemble(
    config: Config,
    runtime: Arc<Runtime>,
    source: GuestSource,
) -> Result<Arc<Shared>> {
    use crate::registry::{GuestSettings, open_slot};
    use crate::slot::Slot;
    let settings = GuestSettings::from_config(&config);
    let registry = |slot: Slot| {
        let (runtime, config, settings) = (Arc::clone(&runtime), &config, &settings);
        async move {
            let registry = open_slot(runtime, config, settings, slot)
                .await
                .with_context(|| format!("opening the {slot} guest registry"))?;
            anyhow::Ok(Guests::Registry(Arc::new(registry)))
        }
    };
    let (guests, tempo, ecowatt) = match source {
        GuestSource::Configured => {
            let guests = match &config.guest {
                Some(_) => {
                    tracing::info!("`guest` is configured: hot swap from the guest folder is off");
                    Guests::Fixed(Arc::new(configured_guest(&runtime, &config).await?))
                }
                None => registry(Slot::Hellowatt).await?,
            };
            // `guest` pins the helloWatt scraper only.
            let tempo = match &config.tempo {
                Some(_) => Some(registry(Slot::Tempo).await?),
                None => None,
            };
            let ecowatt = match &config.ecowatt {
                Some(_) => Some(registry(Slot::Ecowatt).await?),
                None => None,
            };
            (guests, tempo, ecowatt)
        }
        GuestSource::Fixed(guest) => {
            let tempo = match &config.tempo {
                Some(_) => Some(Guests::Fixed(Arc::new(
                    runtime
                        .load(crate::BUNDLED_TEMPO_GUEST.to_vec(), &config.limits)
                        .await
                        .context("loading the bundled Tempo guest")?,
                ))),
                None => None,
            };
            let ecowatt = match &config.ecowatt {
                Some(_) => Some(Guests::Fixed(Arc::new(
                    runtime
                        .load(crate::BUNDLED_ECOWATT_GUEST.to_vec(), &config.limits)
                        .await
                        .context("loading the bundled EcoWatt guest")?,
                ))),
                None => None,
            };
            (Guests::Fixed(Arc::new(*guest)), tempo, ecowatt)
        }
    };
    let store =
        Store::open(&config.db).with_context(|| format!("opening {}", config.db.display()))?;
    let mqtt = match &config.mqtt {
        Some(m) => Some(crate::mqtt::MqttPublisher::connect(m).context("starting MQTT")?),
        None => None,
    };
    let mut shared = Shared::new(runtime, guests, store, config, mqtt);
    if let Some(tempo) = tempo {
        shared = shared.with_tempo(tempo);
    }
    if let Some(ecowatt) = ecowatt {
        shared = shared.with_ecowatt(ecowatt);
    }
    Ok(Arc::new(shared))
}

/// What every account task shares.
pub struct Shared {
    pub runtime: Arc<Runtime>,
    pub guests: Guests,
    /// The Tempo slot's guest; `None` when the Tempo service is off.
    pub tempo: Option<Guests>,
    /// The EcoWatt slot's guest; `None` without RTE credentials.
    pub ecowatt: Option<Guests>,
    pub store: Mutex<Store>,
    pub config: Config,
    /// MQTT for Home Assistant, when configured.
    pub mqtt: Mutex<Option<crate::mqtt::MqttPublisher>>,
    /// Figures of the runs, for `/metrics`.
    pub metrics: Arc<crate::api::Metrics>,
    /// Each account's next step, refreshed by its task.
    pub next_runs: std::sync::Mutex<std::collections::HashMap<String, NextStep>>,
    /// One push to Home Assistant at a time (two accounts' runs, or the
    /// first push and a run, may end together).
    ha_pushing: Mutex<()>,
}

impl Shared {
    pub fn new(
        runtime: Arc<Runtime>,
        guests: Guests,
        store: Store,
        config: Config,
        mqtt: Option<crate::mqtt::MqttPublisher>,
    ) -> Shared {
        Shared {
            runtime,
            guests,
            tempo: None,
            ecowatt: None,
            store: Mutex::new(store),
            config,
            mqtt: Mutex::new(mqtt),
            metrics: Arc::new(crate::api::Metrics::new()),
            next_runs: Default::default(),
            ha_pushing: Mutex::new(()),
        }
    }

    /// Adds the Tempo slot's guest (runs only when `config.tempo` is set).
    pub fn with_tempo(mut self, guests: Guests) -> Shared {
        self.tempo = Some(guests);
        self
    }

    /// Adds the EcoWatt slot's guest (runs only when `config.ecowatt` is
    /// set).
    pub fn with_ecowatt(mut self, guests: Guests) -> Shared {
        self.ecowatt = Some(guests);
        self
    }

    fn set_next(&self, account: &str, next: &Next) {
        self.set_next_step(account, next.step());
    }

    fn set_next_step(&self, account: &str, next: NextStep) {
        let mut map = self.next_runs.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(account.to_string(), next);
    }
}

impl crate::api::ServiceInfo for Shared {
    fn accounts(&self) -> Vec<String> {
        self.config
            .accounts
            .iter()
            .map(|a| a.name.clone())
            .collect()
    }

    fn guest(&self) -> crate::api::GuestSummary {
        let guest = self.guests.active();
        crate::api::GuestSummary {
            name: guest.info.name.clone(),
            version: guest.info.version.clone(),
            sha256: guest.sha256.clone(),
            contract: guest.info.contract.clone(),
        }
    }

    fn guest_history(&self) -> Vec<crate::api::GuestHistoryEntry> {
        let Guests::Registry(registry) = &self.guests else {
            return Vec::new();
        };
        let records = registry.list().unwrap_or_default();
        registry
            .history(100)
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let record = records.iter().find(|r| r.sha256 == e.sha256);
                crate::api::GuestHistoryEntry {
                    name: record.and_then(|r| r.name.clone()).unwrap_or_default(),
                    version: record.and_then(|r| r.version.clone()).unwrap_or_default(),
                    sha256: e.sha256,
                    state: e.event,
                    reason: e.detail,
                    at: e.at,
                }
            })
            .collect()
    }

    fn next_step(&self, account: &str) -> Option<NextStep> {
        self.next_runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
            .cloned()
    }

    fn home_assistant(&self) -> Option<String> {
        self.config
            .home_assistant
            .as_ref()
            .map(crate::homeassistant::HaConfig::display_url)
    }

    fn counters(&self) -> crate::api::GuestCounters {
        let history = self.guest_history();
        let count = |what: &str| history.iter().filter(|e| e.state == what).count() as u64;
        crate::api::GuestCounters {
            swaps: count("activated") + count("rolled-back"),
            refusals: count("refused"),
        }
    }
}

impl Shared {
    /// Publishes the store's figures over MQTT, if configured. A broker
    /// that is down costs a warning, never a run.
    pub async fn publish(&self) {
        let future = {
            let mqtt = self.mqtt.lock().await;
            let Some(publisher) = mqtt.as_ref() else {
                return;
            };
            let store = self.store.lock().await;
            publisher.publish_snapshot(&store, crate::clock::today())
        };
        match future.await {
            Ok(r) => tracing::debug!(
                "MQTT: published {} message(s) for {} meter(s)",
                r.messages,
                r.meters
            ),
            Err(e) => tracing::warn!("MQTT: {e:#}"),
        }
    }

    /// Brings Home Assistant's long-term statistics up to the store, if
    /// configured. Home Assistant down or refusing costs a warning (and a
    /// line in the status), never a run; the next push sends what this one
    /// could not.
    pub async fn push_statistics(&self) {
        let Some(ha) = &self.config.home_assistant else {
            return;
        };
        let _one_at_a_time = self.ha_pushing.lock().await;
        let now = crate::clock::now_utc();
        match crate::homeassistant::push(&self.store, ha, false, now).await {
            Ok(r) if r.hours > 0 => tracing::info!(
                "Home Assistant: sent {} hour(s) of {} statistic(s){}",
                r.hours,
                r.uploads,
                if r.forgotten > 0 {
                    format!(
                        ", {} of them whole again (Home Assistant no longer had them)",
                        r.forgotten
                    )
                } else {
                    String::new()
                }
            ),
            Ok(r) => tracing::debug!(
                "Home Assistant: {} statistic(s) already up to date",
                r.series
            ),
            Err(e) => tracing::warn!("Home Assistant: {e:#} (sent again after the next run)"),
        }
    }
}

pub fn schedule_of(s: &ServiceConfig) -> Schedule {
    Schedule {
        daily_at: s.daily_at,
        retry_every: s.retry_every,
        manual_min_interval: s.manual_min_interval,
        ..Schedule::default()
    }
}

/// The kind whose stored windows say how far the history goes.
fn history_kind(account: &Account) -> Option<DataKind> {
    [DataKind::ElectricityDaily, DataKind::GasDaily]
        .into_iter()
        .find(|k| account.kinds.contains(k))
}

/// The months of the history still missing, newest first: the calendar
/// months from `months` ago to yesterday that have no finished window of
/// the history kind in the store. Recomputed from the store every time, so
/// a backfill resumes where it stopped after a crash.
pub fn backfill_windows(
    store: &Store,
    account: &Account,
    today: Date,
    months: u32,
) -> Result<Vec<(Date, Date)>> {
    let Some(kind) = history_kind(account) else {
        return Ok(Vec::new());
    };
    if months == 0 {
        return Ok(Vec::new());
    }
    let yesterday = today.add_days(-1);
    let mut from = today.first_of_month();
    for _ in 0..months {
        from = from.add_days(-1).first_of_month();
    }
    let done: Vec<(Date, Date)> = store
        .windows(Some(&account.name))?
        .into_iter()
        .filter(|w| {
            w.window.kind == kind
                && !matches!(
                    w.window.status,
                    WindowStatus::FetchOngoing | WindowStatus::Failed(_)
                )
        })
        .map(|w| (w.window.start, w.window.end))
        .collect();
    let mut missing: Vec<(Date, Date)> = month_windows(from, yesterday)
        .into_iter()
        .filter(|(s, e)| !done.iter().any(|(ds, de)| ds <= s && de >= e))
        .collect();
    missing.reverse();
    Ok(missing)
}

/// At most this many failed parts are asked again per run: a series the
/// guest no longer reads fails every time, and must not grow each run's
/// requests without bound.
pub const MAX_RETRIED_PARTS: usize = 8;

/// The parts earlier runs could not read (failed windows, see
/// `WindowStatus::Failed`) that no later window of the same series has
/// read since, newest first, at most [`MAX_RETRIED_PARTS`]: each is asked
/// again alone, its window and its failed kinds only. Parts inside
/// `planned` (windows this run asks whole anyway) are left to those.
pub fn failed_parts(
    store: &Store,
    account: &Account,
    planned: &[(Date, Date)],
) -> Result<Vec<sync::Part>> {
    let windows = store.windows(Some(&account.name))?;
    let read_later = |f: &crate::store::WindowRecord| {
        let mut day = f.window.start;
        while day <= f.window.end {
            let covered = windows.iter().any(|w| {
                w.window.subject == f.window.subject
                    && w.window.kind == f.window.kind
                    && !matches!(w.window.status, WindowStatus::Failed(_))
                    && w.last_run.0 > f.last_run.0
                    && w.window.start <= day
                    && day <= w.window.end
            });
            if !covered {
                return false;
            }
            day = day.succ();
        }
        true
    };
    let mut failed: Vec<&crate::store::WindowRecord> = windows
        .iter()
        .filter(|w| matches!(w.window.status, WindowStatus::Failed(_)))
        .filter(|w| account.kinds.contains(&w.window.kind))
        .filter(|w| {
            !planned
                .iter()
                .any(|&(s, e)| s <= w.window.start && w.window.end <= e)
        })
        .filter(|w| !read_later(w))
        .collect();
    // The daily series first (the history), then the newest: a series that
    // fails every run must not crowd the others out of the cap.
    failed.sort_by_key(|w| {
        (
            !w.window.kind.is_daily_series(),
            std::cmp::Reverse((w.window.start, w.window.end)),
        )
    });
    let mut parts: Vec<sync::Part> = Vec::new();
    for w in failed {
        let (start, end) = (w.window.start, w.window.end);
        if let Some(p) = parts.iter_mut().find(|p| p.start == start && p.end == end) {
            let kinds = p.kinds.get_or_insert_with(Vec::new);
            if !kinds.contains(&w.window.kind) {
                kinds.push(w.window.kind);
            }
        } else if parts.len() < MAX_RETRIED_PARTS {
            parts.push(sync::Part {
                start,
                end,
                kinds: Some(vec![w.window.kind]),
            });
        }
    }
    Ok(parts)
}

/// The windows a daily run re-reads: the last `days` days up to yesterday.
pub fn refresh_windows(today: Date, days: u32) -> Vec<(Date, Date)> {
    let yesterday = today.add_days(-1);
    month_windows(yesterday.add_days(-i64::from(days.max(1)) + 1), yesterday)
}

/// The newest day for which every electricity meter of the account has a
/// reading (gas when there is no electricity).
fn newest_day(store: &Store, account: &str) -> Result<Option<Date>> {
    let meters = store.meters(Some(account))?;
    let pick = |e: Energy| {
        meters
            .iter()
            .filter(|m| m.energy == e)
            .map(|m| m.last_day)
            .collect::<Vec<_>>()
    };
    let mut days = pick(Energy::Electricity);
    if days.is_empty() {
        days = pick(Energy::Gas);
    }
    Ok(days.into_iter().min().flatten())
}

/// What a run's summary means for the scheduler (`newest`: the newest day
/// with data in the store after the run). Public for the fault tests.
pub fn outcome_of(summary: &RunSummary, newest: Option<Date>) -> Outcome {
    match &summary.failure {
        None => Outcome::Success { newest_day: newest },
        Some(RunFailure::Guest(e)) => match e {
            SyncError::CredentialsRejected { detail } => Outcome::CredentialsRejected {
                detail: detail.clone(),
            },
            SyncError::ActionNeeded { detail } => Outcome::ActionNeeded {
                detail: detail.clone(),
            },
            SyncError::RateLimited(r) => Outcome::RateLimited {
                retry_after: r.retry_after_seconds,
            },
            SyncError::SiteUnavailable(u) => Outcome::Unavailable {
                retry_after: u.retry_after_seconds,
                detail: e.to_string(),
            },
            SyncError::SessionLost { .. } | SyncError::Transport { .. } => Outcome::Unavailable {
                retry_after: None,
                detail: e.to_string(),
            },
            SyncError::SiteChanged(_) => Outcome::SiteChanged {
                detail: e.to_string(),
            },
            SyncError::Other { .. } => Outcome::Failed {
                kind: e.kind().into(),
                detail: e.to_string(),
            },
        },
        Some(f) => Outcome::Failed {
            kind: f.kind().into(),
            detail: f.to_string(),
        },
    }
}

/// One account's side of the scheduler.
struct AccountRunner {
    shared: Arc<Shared>,
    account: Account,
    fingerprint: String,
    /// Whether history is missing, as of the last look at the store (at
    /// start and after every run: nothing else adds history).
    backfill_pending: bool,
}

fn pending(store: &Store, account: &Account, config: &Config) -> bool {
    match backfill_windows(
        store,
        account,
        crate::clock::today(),
        config.service.backfill_months,
    ) {
        Ok(w) => !w.is_empty(),
        Err(e) => {
            tracing::error!(account = %account.name, "reading the history from the store: {e:#}");
            false
        }
    }
}

impl AccountRunner {
    async fn run_once(&mut self, why: Why) -> Outcome {
        let today = crate::clock::today();
        let shared = Arc::clone(&self.shared);
        // Held to choose the windows only: the run locks it per window.
        let store = shared.store.lock().await;
        // A retry after a failed backfill goes on with the backfill.
        let backfill = why == Why::Backfill || (why == Why::Retry && self.backfill_pending);
        let windows = if backfill {
            let months = shared.config.service.backfill_months;
            match backfill_windows(&store, &self.account, today, months) {
                Ok(w) => w,
                Err(e) => {
                    return Outcome::Failed {
                        kind: "store".into(),
                        detail: format!("{e:#}"),
                    };
                }
            }
        } else {
            refresh_windows(today, shared.config.service.refresh_days)
        };
        let retried = match failed_parts(&store, &self.account, &windows) {
            Ok(p) => p,
            Err(e) => {
                return Outcome::Failed {
                    kind: "store".into(),
                    detail: format!("{e:#}"),
                };
            }
        };
        if windows.is_empty() && retried.is_empty() {
            return Outcome::Success {
                newest_day: newest_day(&store, &self.account.name).ok().flatten(),
            };
        }
        tracing::info!(
            account = %self.account.name,
            "{why}: {} month window(s), {} to {}, and {} failed part(s) asked again",
            windows.len(),
            windows.iter().map(|w| w.0).min().map_or(String::new(), |d| d.to_string()),
            windows.iter().map(|w| w.1).max().map_or(String::new(), |d| d.to_string()),
            retried.len(),
        );
        let mut parts = sync::whole_parts(&windows);
        parts.extend(retried);
        drop(store);
        // The guest of this run: a swap meanwhile serves the next one.
        let guest = shared.guests.active();
        let started = std::time::Instant::now();
        let result = sync::run_parts(
            &shared.runtime,
            &guest,
            &mut &shared.store,
            &shared.config,
            &self.account,
            &parts,
        )
        .await;
        let store = shared.store.lock().await;
        self.backfill_pending = pending(&store, &self.account, &shared.config);
        let newest = newest_day(&store, &self.account.name).ok().flatten();
        drop(store);
        shared.publish().await;
        // A backfill stores its months newest first: each month pushed as it
        // came would send every later hour again (their sums move), month
        // after month. Home Assistant gets the whole history once, after it.
        if !self.backfill_pending {
            shared.push_statistics().await;
        }
        match result {
            Ok(summary) => {
                shared.metrics.record_run(
                    &self.account.name,
                    started.elapsed(),
                    u64::from(summary.traffic.requests),
                    summary.failure.is_none(),
                );
                tracing::info!(
                    account = %self.account.name,
                    "run {}: {} window(s), {} failed part(s), {} request(s), {} inserted, \
                     {} updated, {} revision(s)",
                    summary.run_id,
                    summary.windows,
                    summary.failed.len(),
                    summary.traffic.requests,
                    summary.stats.inserted,
                    summary.stats.updated,
                    summary.stats.revisions
                );
                outcome_of(&summary, newest)
            }
            Err(e) => match crate::store::storage_trouble(&e) {
                Some(fix) => Outcome::Failed {
                    kind: "store".into(),
                    detail: format!("{fix} ({e:#})"),
                },
                None => Outcome::Failed {
                    kind: "host".into(),
                    detail: format!("{e:#}"),
                },
            },
        }
    }
}

impl Runner for AccountRunner {
    fn context(&self) -> Facts {
        Facts {
            backfill_pending: self.backfill_pending,
            guest_sha256: self.shared.guests.active().sha256.clone(),
            credentials: self.fingerprint.clone(),
        }
    }

    fn run(&mut self, why: Why) -> impl std::future::Future<Output = Outcome> + Send {
        self.run_once(why)
    }
}

/// Loads an account's scheduler from the store.
pub fn load_scheduler(
    store: &Store,
    account: &Account,
    service: &ServiceConfig,
) -> Result<Scheduler> {
    let state = match store.scheduler_state(&account.name)? {
        Some(json) => serde_json::from_str::<AccountState>(&json).unwrap_or_else(|e| {
            tracing::warn!(account = %account.name, "the saved scheduler state is unreadable ({e}): starting afresh");
            AccountState::default()
        }),
        None => AccountState::default(),
    };
    let seed = scheduler::seed_for(account.email.as_deref().unwrap_or(&account.name));
    Ok(Scheduler::new(
        &account.name,
        schedule_of(service),
        state,
        seed,
    ))
}

/// The start-up report: accounts, guest, next runs.
pub fn startup_report(shared: &Shared, schedulers: &[(Account, Scheduler, bool)]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let g = shared.guests.active();
    let _ = writeln!(
        out,
        "hellowatt {} running: database {}, site {}",
        env!("CARGO_PKG_VERSION"),
        shared.config.db.display(),
        shared.config.site.url()
    );
    let _ = writeln!(
        out,
        "active guest: {} {} (sha256 {})",
        g.info.name, g.info.version, g.sha256
    );
    for (account, sched, pending) in schedulers {
        let facts = Facts {
            backfill_pending: *pending,
            guest_sha256: g.sha256.clone(),
            credentials: account.fingerprint(),
        };
        let next = sched.next(now_utc(), &facts.context());
        shared.set_next(&account.name, &next);
        let _ = writeln!(
            out,
            "account {} ({}): kinds {}; next: {next}",
            account.name,
            account.email.as_deref().unwrap_or("no e-mail"),
            account
                .kinds
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // Slots that are off say how to turn them on.
    let _ = match (&shared.config.ecowatt, &shared.ecowatt) {
        (Some(e), Some(guests)) => {
            let g = guests.active();
            writeln!(
                out,
                "EcoWatt: guest {} {}, RTE at {}, every {} minutes",
                g.info.name,
                g.info.version,
                e.origin.url(),
                e.every.as_secs() / 60
            )
        }
        _ => writeln!(out, "{}", crate::config::ECOWATT_OFF),
    };
    out
}

/// Runs the service until `shutdown` turns true; a run in progress then
/// finishes (its windows are each stored whole or not at all).
pub async fn run(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) -> Result<()> {
    let mut tasks = Vec::new();
    let mut plans = Vec::new();
    for account in &shared.config.accounts {
        account
            .credentials()
            .with_context(|| format!("account {}", account.name))?;
        let store = shared.store.lock().await;
        let sched = load_scheduler(&store, account, &shared.config.service)?;
        let pending = !backfill_windows(
            &store,
            account,
            crate::clock::today(),
            shared.config.service.backfill_months,
        )?
        .is_empty();
        plans.push((account.clone(), sched, pending));
    }
    for line in startup_report(&shared, &plans).lines() {
        tracing::info!("{line}");
    }
    // What the store already holds, for subscribers that start now.
    shared.publish().await;
    // In a task: a Home Assistant that does not answer must not hold up
    // the API or the first run.
    tasks.push(tokio::spawn({
        let shared = Arc::clone(&shared);
        async move { shared.push_statistics().await }
    }));
    if let Guests::Registry(registry) = &shared.guests {
        tasks.push(tokio::spawn(Arc::clone(registry).watch(shutdown.clone())));
    }
    if let Some(Guests::Registry(registry)) = &shared.tempo {
        tasks.push(tokio::spawn(Arc::clone(registry).watch(shutdown.clone())));
    }
    if shared.tempo.is_some() && shared.config.tempo.is_some() {
        tasks.push(tokio::spawn(drive_tempo(
            Arc::clone(&shared),
            shutdown.clone(),
        )));
    }
    if let Some(Guests::Registry(registry)) = &shared.ecowatt {
        tasks.push(tokio::spawn(Arc::clone(registry).watch(shutdown.clone())));
    }
    if shared.ecowatt.is_some() && shared.config.ecowatt.is_some() {
        tasks.push(tokio::spawn(drive_ecowatt(
            Arc::clone(&shared),
            shutdown.clone(),
        )));
    }
    if let Some(addr) = shared.config.listen {
        // Connections of its own: a sync holds the service's for minutes.
        let store = crate::api::StorePool::open(
            &shared.config.db,
            crate::api::StorePool::default_readers(),
        )
        .context("opening the database for the API")?;
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!("listening on {addr} (set `listen` to another address, or \"off\")")
        })?;
        let state = crate::api::ApiState {
            store: Arc::new(store),
            service: Arc::clone(&shared) as Arc<dyn crate::api::ServiceInfo>,
            token: shared
                .config
                .api_token
                .as_ref()
                .map(|t| t.expose().to_string()),
            metrics: Arc::clone(&shared.metrics),
            allowed_hosts: shared.config.allowed_hosts.clone(),
        };
        let mut stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = crate::api::serve(listener, state, stopped).await {
                tracing::error!("the HTTP API stopped: {e:#}");
            }
        }));
    }
    // Decisions are saved by one task, so that the scheduler's callback
    // never waits on the store (another account's run may hold it).
    let (saves, mut to_save) = mpsc::unbounded_channel::<(String, String)>();
    let saver = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Some((name, json)) = to_save.recv().await {
                if let Err(e) =
                    shared
                        .store
                        .lock()
                        .await
                        .save_scheduler_state(&name, &json, now_utc())
                {
                    tracing::error!(account = %name, "saving the scheduler state: {e:#}");
                }
            }
        })
    };
    for (account, mut sched, backfill_pending) in plans {
        let shared = Arc::clone(&shared);
        let shutdown = shutdown.clone();
        let (tx, rx) = mpsc::channel(4);
        let decided = Arc::new(tokio::sync::Notify::new());
        tasks.push(tokio::spawn(forward_requests(
            Arc::clone(&shared),
            account.name.clone(),
            tx,
            shutdown.clone(),
            Arc::clone(&decided),
        )));
        let saves = saves.clone();
        tasks.push(tokio::spawn(async move {
            let name = account.name.clone();
            let mut runner = AccountRunner {
                fingerprint: account.fingerprint(),
                shared,
                account,
                backfill_pending,
            };
            let clock = scheduler::TokioClock::system();
            scheduler::drive_with_commands(
                &mut sched,
                &clock,
                &mut runner,
                shutdown,
                rx,
                |state, decision| {
                    tracing::info!(account = %name, "{decision}");
                    // The API's view of the next step follows at once.
                    decided.notify_one();
                    match serde_json::to_string(state) {
                        Ok(json) => {
                            let _ = saves.send((name.clone(), json));
                        }
                        Err(e) => {
                            tracing::error!(account = %name, "encoding the scheduler state: {e}")
                        }
                    }
                },
            )
            .await;
        }));
    }
    drop(saves);
    for t in tasks {
        let _ = t.await;
    }
    let _ = saver.await;
    if let Some(publisher) = shared.mqtt.lock().await.take() {
        publisher.shutdown().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The Tempo slot's task: sleeps until [`crate::sync::tempo::next_run`] says,
/// runs, publishes, until `shutdown`.
async fn drive_tempo(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let (Some(config), Some(guests)) = (shared.config.tempo.clone(), shared.tempo.as_ref()) else {
        return;
    };
    let mut attempts = crate::sync::tempo::Attempts::default();
    let mut said = String::new();
    let mut published_for = Date::paris_day_of(now_utc());
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = now_utc();
        let today = Date::paris_day_of(now);
        // Today's and tomorrow's colours move with the date, not with a
        // run: retained MQTT states follow the day as it turns.
        if today != published_for {
            published_for = today;
            shared.publish().await;
        }
        let facts = match crate::sync::tempo::facts(&*shared.store.lock().await, today) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("Tempo: reading the store: {e:#}");
                attempts.failures += 1;
                attempts.last = Some(now);
                crate::sync::tempo::Facts {
                    first_missing: None,
                    tomorrow_known: false,
                }
            }
        };
        let (at, why) = crate::sync::tempo::next_run(now, &facts, &attempts, &config);
        let next = format!("{why} at {}", hellowatt_snapshot::paris_iso(at.max(now)));
        if next != said {
            tracing::info!("Tempo: next run: {next}");
            let kind = match why {
                crate::sync::tempo::Why::CatchUp => StepKind::TempoCatchUp,
                crate::sync::tempo::Why::Tomorrow => StepKind::TempoTomorrow,
                crate::sync::tempo::Why::Retry => StepKind::Retry,
            };
            let step = NextStep {
                kind,
                at: Some(at.max(now)),
                since: None,
                text: next.clone(),
            };
            shared.set_next_step(crate::slot::TEMPO_ACCOUNT, step);
            said = next;
        }
        if at > now {
            // Wake at least hourly: the day may turn, or another task may
            // have stored colours meanwhile.
            let to_midnight = today.succ().paris_midnight_utc() - now + 60;
            let wait = Duration::from_secs((at - now).min(3600).min(to_midnight).max(1) as u64);
            tokio::select! {
                () = tokio::time::sleep(wait) => continue,
                _ = shutdown.changed() => return,
            }
        }
        let guest = guests.active();
        attempts.last = Some(now);
        let result = crate::sync::tempo::run_once(
            &shared.runtime,
            &guest,
            &mut &shared.store,
            &config,
            &shared.config.limits,
            today,
        )
        .await;
        match result {
            Ok(Some(summary)) => {
                log_slot_run("Tempo", &summary, "colours");
                attempts.failures = match summary.failure {
                    None => 0,
                    Some(_) => attempts.failures + 1,
                };
            }
            Ok(None) => attempts.failures = 0,
            Err(e) => {
                attempts.failures += 1;
                tracing::error!("Tempo: {e:#}");
            }
        }
        shared.publish().await;
    }
}

/// Logs a slot's run: its counts, or its failure and that the `rows`
/// already stored are kept.
fn log_slot_run(slot: &str, summary: &crate::sync::RunSummary, rows: &str) {
    match &summary.failure {
        None => tracing::info!(
            "{slot}: run {}: {} request(s), {} inserted, {} updated",
            summary.run_id,
            summary.traffic.requests,
            summary.stats.inserted,
            summary.stats.updated
        ),
        Some(f) => tracing::warn!(
            "{slot}: run {} failed ({}): {f}; the {rows} already stored are kept",
            summary.run_id,
            f.kind()
        ),
    }
}

/// The EcoWatt slot's task: sleeps until [`crate::sync::ecowatt::next_run`]
/// says, runs with a token from the host's broker, publishes, until
/// `shutdown`.
async fn drive_ecowatt(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    use crate::sync::ecowatt::{self, Attempts, Why};
    let (Some(config), Some(guests)) = (shared.config.ecowatt.clone(), shared.ecowatt.as_ref())
    else {
        return;
    };
    let broker = crate::sync::rte_token::TokenBroker::new(&config);
    let mut attempts = Attempts::default();
    let mut said = String::new();
    let mut published_hour = now_utc() / 3600;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = now_utc();
        let today = Date::paris_day_of(now);
        // The current hour's level moves with the clock, not with a run:
        // retained MQTT states follow each hour as it starts.
        if now / 3600 != published_hour {
            published_hour = now / 3600;
            shared.publish().await;
        }
        let facts = match ecowatt::facts(&*shared.store.lock().await, today) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!("EcoWatt: reading the store: {e:#}");
                // Keep to RTE's limit as if a call had just been made.
                ecowatt::Facts {
                    last_run: Some(now),
                    today_known: true,
                }
            }
        };
        let (at, why) = ecowatt::next_run(now, &facts, &attempts, config.every);
        let next = format!("{why} at {}", hellowatt_snapshot::paris_iso(at.max(now)));
        if next != said {
            tracing::info!("EcoWatt: next call: {next}");
            let kind = match why {
                Why::Today | Why::Refresh => StepKind::Ecowatt,
                Why::Retry | Why::RateLimited => StepKind::Retry,
                Why::Refused => StepKind::CredentialsRejected,
            };
            let step = NextStep {
                kind,
                at: Some(at.max(now)),
                since: None,
                text: next.clone(),
            };
            shared.set_next_step(crate::slot::ECOWATT_ACCOUNT, step);
            said = next;
        }
        if at > now {
            // Wake when the hour turns: its level is published.
            let to_next_hour = 3600 - now.rem_euclid(3600) + 1;
            let wait = Duration::from_secs((at - now).min(to_next_hour).max(1) as u64);
            tokio::select! {
                () = tokio::time::sleep(wait) => continue,
                _ = shutdown.changed() => return,
            }
        }
        let guest = guests.active();
        let result = ecowatt::run_once(
            &shared.runtime,
            &guest,
            &mut &shared.store,
            &config,
            &broker,
            &shared.config.limits,
            today,
            now,
        )
        .await;
        match result {
            Ok(ran) => {
                let failure = ran.failure();
                match &ran {
                    ecowatt::Ran::Guest(summary) => log_slot_run("EcoWatt", summary, "signals"),
                    ecowatt::Ran::NoToken { run_id, error } => tracing::warn!(
                        "EcoWatt: run {run_id} got no token ({}): {error}",
                        error.kind()
                    ),
                }
                attempts.failures = if failure.is_some() {
                    attempts.failures + 1
                } else {
                    0
                };
                attempts.last_failure = failure;
            }
            Err(e) => {
                attempts.failures += 1;
                attempts.last_failure = Some(ecowatt::Failure::Other);
                tracing::error!("EcoWatt: {e:#}");
            }
        }
        shared.publish().await;
    }
}

/// Turns requests filed in the store (by `hellowatt reset` / `refresh`)
/// into scheduler commands.
async fn forward_requests(
    shared: Arc<Shared>,
    account: String,
    tx: mpsc::Sender<Command>,
    mut shutdown: watch::Receiver<bool>,
    decided: Arc<tokio::sync::Notify>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(REQUEST_POLL) => {}
            () = decided.notified() => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        // Keep the API's view of the next step current.
        let (reply, answer) = oneshot::channel();
        if tx.send(Command::Status { reply }).await.is_err() {
            return;
        }
        if let Ok((_, next)) = answer.await {
            shared.set_next(&account, &next);
        }
        let requests = match shared.store.lock().await.take_requests(&account, now_utc()) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%account, "reading requests: {e:#}");
                continue;
            }
        };
        for request in requests {
            match request {
                Request::Reset => {
                    let (reply, answer) = oneshot::channel();
                    if tx.send(Command::Reset { reply }).await.is_err() {
                        return;
                    }
                    if let Ok(changed) = answer.await {
                        tracing::info!(%account, "reset requested: {}", if changed { "done" } else { "nothing to reset" });
                    }
                }
                Request::Refresh => {
                    let (reply, answer) = oneshot::channel();
                    if tx.send(Command::Manual { reply }).await.is_err() {
                        return;
                    }
                    match answer.await {
                        Ok(Ok(next)) => tracing::info!(%account, "refresh requested: {next}"),
                        Ok(Err(why)) => tracing::warn!(%account, "refresh refused: {why}"),
                        Err(_) => {}
                    }
                }
            }
        }
    }
}

/// An account's scheduling as `hellowatt status` words it.
pub struct AccountOutlook {
    pub next: crate::scheduler::Next,
    pub state: crate::scheduler::AccountState,
    pub backfill_pending: bool,
}

/// What the scheduler of `account` would do now, from its persisted state.
pub fn account_outlook(
    store: &Store,
    account: &Account,
    config: &Config,
    guest_sha256: &str,
) -> Result<AccountOutlook> {
    let sched = load_scheduler(store, account, &config.service)?;
    let backfill_pending = !backfill_windows(
        store,
        account,
        crate::clock::today(),
        config.service.backfill_months,
    )?
    .is_empty();
    let facts = Facts {
        backfill_pending,
        guest_sha256: guest_sha256.to_string(),
        credentials: account.fingerprint(),
    };
    Ok(AccountOutlook {
        next: sched.next(now_utc(), &facts.context()),
        state: sched.state().clone(),
        backfill_pending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    /// A command that keeps state compiles the bundled guest into the cache
    /// beside the database; the next command, and a look (`demo`, `guest
    /// check`), map it; a look before any command leaves no folder.
    #[tokio::test]
    async fn commands_compile_a_guest_once_and_a_look_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let account = Account {
            name: "a".into(),
            email: None,
            password: None,
            kinds: vec![DataKind::Homes],
        };
        let site = crate::sandbox::policy::Origin::parse("https://www.hellowatt.fr").unwrap();
        let config = Config::for_test_site(site, account, &dir.path().join("h.db"));
        let cache_dir = crate::registry::GuestSettings::from_config(&config).cache_dir();
        let load = |usage| {
            let config = &config;
            async move {
                let runtime = command_runtime(config, usage).unwrap();
                runtime
                    .load(crate::BUNDLED_GUEST.to_vec(), &config.limits)
                    .await
                    .unwrap();
                runtime
                    .cache()
                    .map(|c| (c.compiles(), c.hits(), c.dir().to_path_buf()))
            }
        };

        assert_eq!(load(CacheUse::IfThere).await, None);
        assert!(!cache_dir.exists(), "a look made {}", cache_dir.display());
        assert_eq!(
            load(CacheUse::Create).await,
            Some((1, 0, cache_dir.clone()))
        );
        assert_eq!(
            load(CacheUse::Create).await,
            Some((0, 1, cache_dir.clone()))
        );
        assert_eq!(
            load(CacheUse::IfThere).await,
            Some((0, 1, cache_dir.clone()))
        );
    }

    #[test]
    fn refresh_covers_the_last_days_to_yesterday() {
        assert_eq!(
            refresh_windows(d("2026-11-05"), 30),
            vec![
                (d("2026-10-06"), d("2026-10-31")),
                (d("2026-11-01"), d("2026-11-04"))
            ]
        );
    }

    #[test]
    fn backfill_is_newest_first_and_skips_what_is_stored() {
        let store = Store::open_in_memory().unwrap();
        let account = Account {
            name: "a".into(),
            email: None,
            password: None,
            kinds: vec![DataKind::ElectricityDaily],
        };
        let w = backfill_windows(&store, &account, d("2026-11-05"), 2).unwrap();
        assert_eq!(
            w,
            vec![
                (d("2026-11-01"), d("2026-11-04")),
                (d("2026-10-01"), d("2026-10-31")),
                (d("2026-09-01"), d("2026-09-30")),
            ]
        );
        let none = Account {
            kinds: vec![DataKind::Homes],
            ..account
        };
        assert!(
            backfill_windows(&store, &none, d("2026-11-05"), 2)
                .unwrap()
                .is_empty()
        );
    }

    /// What a restart after a crash sees: the months already stored are
    /// not asked again; a month still being fetched, one of another kind
    /// or another account, or one covered only in part, is.
    #[test]
    fn backfill_resumes_from_the_stored_windows() {
        use hellowatt_snapshot::{Snapshot, Window};
        let mut store = Store::open_in_memory().unwrap();
        let account = Account {
            name: "a".into(),
            email: None,
            password: None,
            kinds: vec![DataKind::ElectricityDaily, DataKind::GasDaily],
        };
        let window = |kind, start: &str, end: &str, status| Window {
            subject: "pdl".into(),
            kind,
            start: d(start),
            end: d(end),
            status,
        };
        let guest = crate::store::GuestIdentity {
            name: "hellowatt".into(),
            version: "1.0.0".into(),
            sha256: "ab".repeat(32),
        };
        let mut seed = |name: &str, windows: Vec<Window>| {
            let run = store
                .begin_run(name, &guest, d("2026-05-01"), d("2026-11-04"), 1)
                .unwrap();
            let snapshot = Snapshot {
                windows,
                ..Snapshot::default()
            };
            store.ingest(run, name, &snapshot, 1).unwrap();
        };
        use DataKind::{ElectricityDaily as Elec, GasDaily as Gas};
        seed(
            "a",
            vec![
                // Stored, finished: not asked again.
                window(Elec, "2026-10-01", "2026-10-31", WindowStatus::Complete),
                window(
                    Elec,
                    "2026-08-01",
                    "2026-08-31",
                    WindowStatus::SiteError("E1: no data".into()),
                ),
                // One window covering the whole of June and more.
                window(Elec, "2026-05-20", "2026-06-30", WindowStatus::Complete),
                // Still being fetched: asked again.
                window(Elec, "2026-09-01", "2026-09-30", WindowStatus::FetchOngoing),
                // July only in part, and in full only for gas.
                window(Elec, "2026-07-01", "2026-07-20", WindowStatus::Complete),
                window(Gas, "2026-07-01", "2026-07-31", WindowStatus::Complete),
            ],
        );
        // Another account's November says nothing of this one's.
        seed(
            "b",
            vec![window(
                Elec,
                "2026-11-01",
                "2026-11-04",
                WindowStatus::Complete,
            )],
        );
        assert_eq!(
            backfill_windows(&store, &account, d("2026-11-05"), 5).unwrap(),
            vec![
                (d("2026-11-01"), d("2026-11-04")),
                (d("2026-09-01"), d("2026-09-30")),
                (d("2026-07-01"), d("2026-07-31")),
            ]
        );
    }
}
