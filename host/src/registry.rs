//! The guest registry: which scraper component serves, and how a new one
//! gets there.
//!
//! # What it owns
//! - **The guest folder** (`guests/` by default): a person drops
//!   `NAME.wasm` there, optionally with `NAME.wasm.sig` (a publisher's
//!   signature, see [`crate::signature`]) and `NAME.fixtures/` (cassettes
//!   shipped with the guest, in the format of `fixtures/scenarios/`: one
//!   scenario per sub-folder, or the folder itself is one scenario).
//!   [`Registry::watch`] watches it (inotify and friends through the
//!   `notify` crate, debounced by [`DEBOUNCE`]; polling every second when
//!   the platform watcher cannot start) and rescans it on SIGHUP.
//! - **The validation gate** ([`Registry::consider`]): a candidate must
//!   1. verify under a trusted publisher key, when keys are configured;
//!   2. compile (off the async runtime), import nothing beyond the
//!      contract's allow-list, match the contract's types (checked before
//!      any call), export `describe` and `sync`, and declare a contract
//!      version this host runs ([`Runtime::load_cached`]);
//!   3. reproduce the golden outcome of every scenario shipped with the
//!      host and of every scenario beside it, replayed inside the HTTP
//!      policy under the production sandbox limits ([`check::check_all`]).
//!
//!   The reason of a refusal is precise (the scenario, the field, expected
//!   against got, or the failing step), logged, kept in the store's guest
//!   history and returned in the [`Verdict`].
//! - **The atomic swap**: the active guest is an `ArcSwap<Guest>`; a run
//!   takes the `Arc` from [`Registry::active`] when it starts, so runs in
//!   flight finish on the guest they started with, and every run started
//!   after a swap uses the new one. A refused candidate never touches it.
//! - **Last-known-good and roll-back**: activating a guest keeps the one it
//!   replaces as `previous`; [`Registry::rollback`] swaps them back (a
//!   second roll-back rolls forward again).
//! - **Persistence**: the choice lives in the store (`guests`,
//!   `guest_history`, migration 3) and survives a restart. The bytes of
//!   every accepted guest are copied to `STATE/accepted/SHA256.wasm`, so the
//!   active and the previous guest do not depend on the files people keep
//!   in (or delete from) the guest folder; `STATE` is a private folder
//!   beside the database (see `cli_guest::GuestSettings`). Compiled code is
//!   cached in `STATE/cache` ([`crate::cache`]): a restart maps it instead
//!   of compiling. At start the active guest is restored from there; when
//!   none was recorded, or the recorded one was the bundled guest of an
//!   older hellowatt, the bundled guest is taken; when the recorded one
//!   cannot be loaded, the registry falls back to the bundled guest and
//!   says so in the log and the history.
//! - **Other processes**: `hellowatt guest install` and `guest rollback`
//!   run in their own process and change the store; a running service
//!   notices within [`RECONCILE_EVERY`] (or at once on SIGHUP) and loads the
//!   guest the store names ([`Registry::reconcile`]).
//!
//! A restored or rolled-back guest goes through step 2 again (it is
//! compiled code loaded anew) but not through the fixtures: it passed them
//! when it was accepted, and a roll-back is the way out of an emergency.
//!
//! # What it must never do
//! - Run a sync: it replays recorded cassettes only, never reaches a site.
//! - Relax a limit: candidates run under the limits it was given, which are
//!   the production ones; the HTTP policy of the replay is the one
//!   `guest check` uses.
//! - Let a candidate serve before it passed the whole gate, or let a
//!   refusal change the active guest.

use crate::cache::{ArtifactCache, create_private_dir};
use crate::check::{self, ScenarioResult};
use crate::runtime::{Guest, Limits, Runtime, sha256_hex};
use crate::signature;
use crate::store::{GuestEvent, GuestRecord, GuestState, NewGuest, Store};
use anyhow::{Context, Result, anyhow, bail};
use arc_swap::ArcSwap;
use ed25519_dalek::VerifyingKey;
use hellowatt_fixtures::Scenario;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Quiet time after the last file event before candidates are considered
/// (a copy in progress writes many times).
pub const DEBOUNCE: Duration = Duration::from_millis(500);
/// How often the watcher checks the store for a guest another process
/// activated (and, when polling, how often it scans the folder: every
/// [`POLL_EVERY`]).
pub const RECONCILE_EVERY: Duration = Duration::from_secs(5);
/// The folder scan period when the platform watcher is unavailable.
pub const POLL_EVERY: Duration = Duration::from_secs(1);

/// The `source` recorded for the guest built into the binary.
pub const BUNDLED_SOURCE: &str = "bundled";

/// Differences quoted per failed scenario in a refusal reason, when few
/// scenarios failed (the log and the verdict's report have them all); one
/// each when more did.
const MAX_DIFFERENCES_QUOTED: usize = 3;
/// More failed scenarios than this: one difference quoted each.
const FEW_FAILURES: usize = 3;
/// A refusal reason longer than this (in characters) is cut, pointing to
/// the log's full report.
const MAX_REASON_CHARS: usize = 3000;

/// What the registry is given.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// The folder people drop guests into.
    pub guests_dir: PathBuf,
    /// The registry's private folder (accepted guests' bytes, compiled
    /// artifacts). Created with mode 0700.
    pub state_dir: PathBuf,
    /// The production sandbox limits: candidates are proven under them.
    pub limits: Limits,
    /// The scenarios shipped with the host: every candidate must pass them.
    pub fixtures: Vec<Scenario>,
    /// Trusted publisher keys; empty: signatures are not required.
    pub trusted_keys: Vec<VerifyingKey>,
}

/// The outcome of considering a candidate.
#[derive(Clone)]
pub enum Verdict {
    /// It passed the gate and now serves.
    Activated {
        guest: Arc<Guest>,
        /// From reading the file to serving, validation included.
        took: Duration,
    },
    /// It was refused; the active guest is untouched.
    Refused {
        sha256: String,
        /// One paragraph, as stored in the history.
        reason: String,
        /// The full `guest check` report, when it got that far.
        report: Option<String>,
    },
    /// Nothing to do: this component was judged before.
    Unchanged {
        sha256: String,
        state: GuestState,
        note: String,
    },
}

impl Verdict {
    pub fn is_activated(&self) -> bool {
        matches!(self, Verdict::Activated { .. })
    }

    pub fn sha256(&self) -> &str {
        match self {
            Verdict::Activated { guest, .. } => &guest.sha256,
            Verdict::Refused { sha256, .. } | Verdict::Unchanged { sha256, .. } => sha256,
        }
    }
}

impl std::fmt::Debug for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Activated { guest, took } => write!(
                f,
                "activated {} {} (sha256 {}) in {} ms",
                guest.info.name,
                guest.info.version,
                guest.sha256,
                took.as_millis()
            ),
            Verdict::Refused { sha256, reason, .. } => {
                write!(f, "refused {sha256}: {reason}")
            }
            Verdict::Unchanged {
                sha256,
                state,
                note,
            } => write!(f, "unchanged {sha256} ({state}): {note}"),
        }
    }
}

/// Why a candidate was refused.
struct Refusal {
    reason: String,
    report: Option<String>,
    /// What `describe` said, when it got that far.
    guest: Option<Guest>,
}

impl Refusal {
    fn early(reason: String) -> Refusal {
        Refusal {
            reason,
            report: None,
            guest: None,
        }
    }
}

/// The guest registry of one hellowatt process.
pub struct Registry {
    runtime: Arc<Runtime>,
    store: Mutex<Store>,
    guests_dir: PathBuf,
    accepted_dir: PathBuf,
    cache: Arc<ArtifactCache>,
    limits: Limits,
    fixtures: Vec<Scenario>,
    /// Fingerprint of the shipped scenarios (part of a refusal's inputs).
    fixtures_digest: String,
    trusted_keys: Vec<VerifyingKey>,
    bundled_sha256: String,
    active: ArcSwap<Guest>,
    /// One judgement, swap or roll-back at a time.
    gate: tokio::sync::Mutex<()>,
}

fn now_utc() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

fn new_guest(guest: &Guest, source: &str) -> NewGuest {
    NewGuest {
        sha256: guest.sha256.clone(),
        name: Some(guest.info.name.clone()),
        version: Some(guest.info.version.clone()),
        contract: Some(guest.info.contract.clone()),
        size: guest.size as u64,
        source: source.to_string(),
    }
}

impl Registry {
    /// Opens the registry: creates its folders, restores the active guest
    /// recorded in the store (or takes the bundled one) and prunes compiled
    /// artifacts nobody needs. `store` is the registry's own connection.
    pub async fn open(
        runtime: Arc<Runtime>,
        store: Store,
        options: RegistryOptions,
    ) -> Result<Registry> {
        std::fs::create_dir_all(&options.guests_dir).with_context(|| {
            format!("creating the guest folder {}", options.guests_dir.display())
        })?;
        create_private_dir(&options.state_dir)?;
        let accepted_dir = options.state_dir.join("accepted");
        create_private_dir(&accepted_dir)?;
        let cache = Arc::new(ArtifactCache::open(&options.state_dir.join("cache"))?);
        let bundled_sha256 = sha256_hex(crate::BUNDLED_GUEST);
        let fixtures_digest = {
            let mut h = Sha256::new();
            for s in &options.fixtures {
                h.update(s.name.as_bytes());
                h.update(s.exchanges.len().to_le_bytes());
            }
            hex::encode(h.finalize())
        };

        let started = Instant::now();
        let mut store = store;
        let recorded = store.guest_in(GuestState::Active)?;
        let previous = store.guest_in(GuestState::Previous)?;
        let mut events: Vec<(NewGuest, &'static str, Option<String>)> = vec![];
        let loader = Loader {
            runtime: &runtime,
            cache: &cache,
            accepted_dir: &accepted_dir,
            limits: &options.limits,
            bundled_sha256: &bundled_sha256,
        };
        let active = match recorded {
            None => {
                let g = loader.bundled().await?;
                events.push((
                    new_guest(&g, BUNDLED_SOURCE),
                    "bundled",
                    Some("first start: the guest built into hellowatt".into()),
                ));
                g
            }
            Some(r) if r.source == BUNDLED_SOURCE && r.sha256 != bundled_sha256 => {
                let g = loader.bundled().await?;
                events.push((
                    new_guest(&g, BUNDLED_SOURCE),
                    "bundled",
                    Some(format!(
                        "hellowatt was upgraded: its bundled guest replaces the older bundled \
                         guest {}",
                        r.sha256
                    )),
                ));
                g
            }
            Some(r) => match loader.restore(&r.sha256).await {
                Ok(g) => g,
                Err(e) => {
                    let why = format!(
                        "the active guest {} ({}) could not be restored, falling back to the \
                         bundled guest: {e:#}",
                        r.name.as_deref().unwrap_or("?"),
                        r.sha256
                    );
                    tracing::error!(target: "hellowatt::registry", "{why}");
                    let g = loader.bundled().await?;
                    events.push((new_guest(&g, BUNDLED_SOURCE), "fallback", Some(why)));
                    g
                }
            },
        };
        // The bundled guest's bytes too: after an upgrade, a roll-back to
        // the older bundled guest finds them.
        loader.keep(&bundled_sha256, crate::BUNDLED_GUEST)?;
        let now = now_utc();
        for (g, what, detail) in events {
            store.activate_guest(&g, what, detail.as_deref(), now)?;
        }
        let mut keep = vec![active.sha256.as_str(), bundled_sha256.as_str()];
        if let Some(p) = &previous {
            keep.push(p.sha256.as_str());
        }
        match cache.retain(&keep) {
            Ok(0) => {}
            Ok(n) => {
                tracing::debug!(target: "hellowatt::registry", "removed {n} unused compiled guest(s)")
            }
            Err(e) => {
                tracing::warn!(target: "hellowatt::registry", "pruning the artifact cache: {e:#}")
            }
        }
        tracing::info!(
            target: "hellowatt::registry",
            guest = %active.info.name,
            version = %active.info.version,
            sha256 = %active.sha256,
            "active guest ready in {} ms ({} compiled, {} from the artifact cache)",
            started.elapsed().as_millis(),
            cache.compiles(),
            cache.hits()
        );
        Ok(Registry {
            runtime,
            store: Mutex::new(store),
            guests_dir: options.guests_dir,
            accepted_dir,
            cache,
            limits: options.limits,
            fixtures: options.fixtures,
            fixtures_digest,
            trusted_keys: options.trusted_keys,
            bundled_sha256,
            active: ArcSwap::from_pointee(active),
            gate: tokio::sync::Mutex::new(()),
        })
    }

    /// The guest that serves now. A run keeps this `Arc` until it ends.
    pub fn active(&self) -> Arc<Guest> {
        self.active.load_full()
    }

    pub fn guests_dir(&self) -> &Path {
        &self.guests_dir
    }

    /// The artifact cache (its counters tell compiles from cache hits).
    pub fn cache(&self) -> &ArtifactCache {
        &self.cache
    }

    fn store(&self) -> Result<MutexGuard<'_, Store>> {
        self.store
            .lock()
            .map_err(|_| anyhow!("the guest registry's store connection is poisoned"))
    }

    fn loader(&self) -> Loader<'_> {
        Loader {
            runtime: &self.runtime,
            cache: &self.cache,
            accepted_dir: &self.accepted_dir,
            limits: &self.limits,
            bundled_sha256: &self.bundled_sha256,
        }
    }

    /// Every guest judged so far: active, previous, refused (with reasons),
    /// retired.
    pub fn list(&self) -> Result<Vec<GuestRecord>> {
        self.store()?.guests()
    }

    /// The latest `limit` events, newest first.
    pub fn history(&self, limit: usize) -> Result<Vec<GuestEvent>> {
        self.store()?.guest_history(limit)
    }

    /// Puts a candidate through the gate and, if it passes, makes it the
    /// active guest. A component judged before is not judged again: an
    /// accepted one (active, previous, retired) is left where it is, and a
    /// refused one only comes back when its signature file, its fixtures
    /// or the trusted keys changed. `Err` is the host's trouble (the file
    /// cannot be read, the store fails), never the candidate's.
    pub async fn consider(&self, path: &Path) -> Result<Verdict> {
        let _gate = self.gate.lock().await;
        self.consider_locked(path, false).await
    }

    /// `hellowatt guest install FILE`: judges the file even if it was judged
    /// before (unless it is the active guest), and once it passed copies it
    /// (with its signature and fixtures) into the guest folder.
    pub async fn install(&self, path: &Path) -> Result<Verdict> {
        let _gate = self.gate.lock().await;
        let verdict = self.consider_locked(path, true).await?;
        if verdict.is_activated()
            && let Err(e) = self.copy_into_folder(path)
        {
            // It serves anyway: the registry keeps its own copy.
            tracing::warn!(
                target: "hellowatt::registry",
                "the guest is active, but copying it into {} failed: {e:#}",
                self.guests_dir.display()
            );
        }
        Ok(verdict)
    }

    async fn consider_locked(&self, path: &Path, force: bool) -> Result<Verdict> {
        let started = Instant::now();
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("reading the candidate guest {}", path.display()))?;
        let sha256 = sha256_hex(&bytes);
        if self.active().sha256 == sha256 {
            return Ok(Verdict::Unchanged {
                sha256,
                state: GuestState::Active,
                note: "this is the active guest already".into(),
            });
        }
        let known = self.store()?.guest(&sha256)?;
        if let Some(record) = &known {
            if record.state == GuestState::Active {
                // Another process (`hellowatt guest install`) activated it.
                self.reconcile_locked().await?;
                return Ok(Verdict::Activated {
                    guest: self.active(),
                    took: started.elapsed(),
                });
            }
            if !force && record.state.was_accepted() {
                return Ok(Verdict::Unchanged {
                    sha256,
                    state: record.state,
                    note: format!(
                        "this guest passed the gate before and is the {} guest: \
                         `hellowatt guest rollback` or `hellowatt guest install {}` makes it \
                         active again",
                        record.state,
                        path.display()
                    ),
                });
            }
        }
        let sig_path = signature::sig_path(path);
        let signature = match tokio::fs::read(&sig_path).await {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}", sig_path.display()));
            }
        };
        let beside = fixtures_beside(path);
        let inputs = self.inputs_digest(&sha256, signature.as_deref(), beside.as_deref())?;
        if let Some(record) = &known
            && !force
            && record.state == GuestState::Refused
            && record.inputs.as_deref() == Some(inputs.as_str())
        {
            return Ok(Verdict::Unchanged {
                sha256,
                state: GuestState::Refused,
                note: format!(
                    "refused before, and nothing it was judged on changed: {}",
                    record.reason.as_deref().unwrap_or("(no reason recorded)")
                ),
            });
        }

        let source = path.display().to_string();
        tracing::info!(target: "hellowatt::registry", candidate = %source, sha256 = %sha256, "validating a candidate guest");
        match self
            .judge(bytes.clone(), signature.as_deref(), beside.as_deref())
            .await
        {
            Ok((guest, scenarios)) => {
                self.loader().keep(&guest.sha256, &bytes)?;
                let took = started.elapsed();
                let before = self.active();
                let detail = format!(
                    "from {source}; passed {scenarios} fixture scenarios; replaces {} {} ({})",
                    before.info.name, before.info.version, before.sha256
                );
                self.store()?.activate_guest(
                    &new_guest(&guest, &source),
                    "activated",
                    Some(&detail),
                    now_utc(),
                )?;
                let guest = Arc::new(guest);
                self.active.store(Arc::clone(&guest));
                tracing::info!(
                    target: "hellowatt::registry",
                    guest = %guest.info.name,
                    version = %guest.info.version,
                    sha256 = %guest.sha256,
                    "new guest live after {} ms (passed {scenarios} scenarios); it replaces {} {} ({}), kept as the previous guest",
                    took.as_millis(),
                    before.info.name,
                    before.info.version,
                    short(&before.sha256)
                );
                Ok(Verdict::Activated { guest, took })
            }
            Err(refusal) => {
                self.cache.remove(self.runtime.engine(), &sha256);
                let record = match &refusal.guest {
                    Some(g) => new_guest(g, &source),
                    None => NewGuest {
                        sha256: sha256.clone(),
                        name: None,
                        version: None,
                        contract: None,
                        size: bytes.len() as u64,
                        source: source.clone(),
                    },
                };
                self.store()?
                    .refuse_guest(&record, &refusal.reason, Some(&inputs), now_utc())?;
                tracing::warn!(
                    target: "hellowatt::registry",
                    candidate = %source,
                    sha256 = %sha256,
                    "guest refused, the active guest keeps serving: {}",
                    refusal.reason
                );
                if let Some(report) = &refusal.report {
                    tracing::warn!(target: "hellowatt::registry", candidate = %source, "fixture report:\n{report}");
                }
                Ok(Verdict::Refused {
                    sha256,
                    reason: refusal.reason,
                    report: refusal.report,
                })
            }
        }
    }

    /// The gate. `Ok`: the guest and how many scenarios it passed.
    async fn judge(
        &self,
        bytes: Vec<u8>,
        signature_file: Option<&[u8]>,
        beside: Option<&Path>,
    ) -> Result<(Guest, usize), Refusal> {
        match signature::check(&bytes, signature_file, &self.trusted_keys) {
            Ok(Some(key)) => {
                tracing::debug!(target: "hellowatt::registry", "signature verified (key {key})")
            }
            Ok(None) => {}
            Err(e) => return Err(Refusal::early(format!("{e:#}"))),
        }
        let guest = self
            .runtime
            .load_cached(bytes, &self.cache, &self.limits)
            .await
            .map_err(|e| Refusal::early(format!("{e:#}")))?;
        let mut scenarios = self.fixtures.clone();
        if let Some(dir) = beside {
            let extra = load_beside(dir).map_err(|e| Refusal {
                reason: format!("{e:#}"),
                report: None,
                guest: Some(guest.clone()),
            })?;
            scenarios.extend(extra);
        }
        if scenarios.is_empty() {
            return Err(Refusal {
                reason: "no fixture scenario to prove the guest on: hellowatt refuses to swap \
                         in a guest it could not check"
                    .into(),
                report: None,
                guest: Some(guest),
            });
        }
        let results = match check::check_all(&self.runtime, &guest, &scenarios, &self.limits).await
        {
            Ok(r) => r,
            Err(e) => {
                return Err(Refusal {
                    reason: format!("the fixtures could not be replayed: {e:#}"),
                    report: None,
                    guest: Some(guest),
                });
            }
        };
        if results.iter().all(ScenarioResult::passed) {
            return Ok((guest, results.len()));
        }
        Err(Refusal {
            reason: summarize(&results),
            report: Some(check::report(&guest, &results)),
            guest: Some(guest),
        })
    }

    /// Restores the last-known-good guest (the previous one) and keeps the
    /// one it replaces as the previous. Returns the guest now serving.
    pub async fn rollback(&self) -> Result<Arc<Guest>> {
        let _gate = self.gate.lock().await;
        let previous = self
            .store()?
            .guest_in(GuestState::Previous)?
            .ok_or_else(|| anyhow!("there is no previous guest to roll back to"))?;
        let guest = self
            .loader()
            .restore(&previous.sha256)
            .await
            .with_context(|| {
                format!(
                    "the previous guest {} ({}) cannot be loaded",
                    previous.name.as_deref().unwrap_or("?"),
                    previous.sha256
                )
            })?;
        let before = self.active();
        self.store()?.rollback_guest(now_utc())?;
        let guest = Arc::new(guest);
        self.active.store(Arc::clone(&guest));
        tracing::warn!(
            target: "hellowatt::registry",
            guest = %guest.info.name,
            version = %guest.info.version,
            sha256 = %guest.sha256,
            "rolled back: {} {} ({}) serves again in place of {} {} ({})",
            guest.info.name,
            guest.info.version,
            short(&guest.sha256),
            before.info.name,
            before.info.version,
            short(&before.sha256)
        );
        Ok(guest)
    }

    /// Loads the guest the store says is active, if another process changed
    /// it. True when the active guest changed.
    pub async fn reconcile(&self) -> Result<bool> {
        let _gate = self.gate.lock().await;
        self.reconcile_locked().await
    }

    async fn reconcile_locked(&self) -> Result<bool> {
        let Some(recorded) = self.store()?.guest_in(GuestState::Active)? else {
            return Ok(false);
        };
        if recorded.sha256 == self.active().sha256 {
            return Ok(false);
        }
        let guest = self
            .loader()
            .restore(&recorded.sha256)
            .await
            .with_context(|| {
                format!(
                    "loading the guest {} that another hellowatt process activated",
                    recorded.sha256
                )
            })?;
        let guest = Arc::new(guest);
        self.active.store(Arc::clone(&guest));
        tracing::info!(
            target: "hellowatt::registry",
            guest = %guest.info.name,
            version = %guest.info.version,
            sha256 = %guest.sha256,
            "another hellowatt process changed the active guest: now serving it"
        );
        Ok(true)
    }

    /// Considers every `.wasm` of the guest folder, oldest first (so the
    /// newest one that passes ends up active), after picking up a change
    /// another process made. What SIGHUP does.
    pub async fn rescan(&self) -> Result<Vec<(PathBuf, Verdict)>> {
        if let Err(e) = self.reconcile().await {
            tracing::error!(target: "hellowatt::registry", "{e:#}");
        }
        let mut out = Vec::new();
        for path in candidates_in(&self.guests_dir)? {
            match self.consider(&path).await {
                Ok(v) => out.push((path, v)),
                Err(e) => {
                    tracing::error!(target: "hellowatt::registry", candidate = %path.display(), "{e:#}")
                }
            }
        }
        Ok(out)
    }

    /// Watches the guest folder until `shutdown` turns true (or its sender
    /// goes): rescans once, then considers each new or changed candidate
    /// after [`DEBOUNCE`] of quiet, checks the store for another process's
    /// change every [`RECONCILE_EVERY`], and rescans on SIGHUP (Unix).
    pub async fn watch(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        if *shutdown.borrow_and_update() {
            return;
        }
        let (tx, mut events) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
        let watcher = start_watcher(&self.guests_dir, tx);
        let polling = match &watcher {
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(
                    target: "hellowatt::registry",
                    dir = %self.guests_dir.display(),
                    "the folder watcher did not start ({e:#}): scanning the folder every {} s instead",
                    POLL_EVERY.as_secs()
                );
                true
            }
        };
        if let Err(e) = self.rescan().await {
            tracing::error!(target: "hellowatt::registry", "scanning the guest folder: {e:#}");
        }
        let mut seen = if polling {
            fingerprints(&self.guests_dir)
        } else {
            Default::default()
        };
        let mut pending: BTreeSet<PathBuf> = BTreeSet::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut tick = tokio::time::interval(if polling { POLL_EVERY } else { RECONCILE_EVERY });
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_reconcile = tokio::time::Instant::now();
        let mut hangup = Hangup::new();
        tracing::info!(
            target: "hellowatt::registry",
            dir = %self.guests_dir.display(),
            "watching the guest folder ({})",
            if polling { "polling" } else { "notify" }
        );
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                Some(path) = events.recv() => {
                    if let Some(candidate) = candidate_of(&self.guests_dir, &path) {
                        pending.insert(candidate);
                        deadline = Some(tokio::time::Instant::now() + DEBOUNCE);
                    }
                }
                () = sleep_until(deadline), if deadline.is_some() => {
                    deadline = None;
                    for candidate in std::mem::take(&mut pending) {
                        if !candidate.is_file() {
                            continue;
                        }
                        match self.consider(&candidate).await {
                            Ok(v) => tracing::debug!(target: "hellowatt::registry", candidate = %candidate.display(), "{v}"),
                            Err(e) => tracing::error!(target: "hellowatt::registry", candidate = %candidate.display(), "{e:#}"),
                        }
                    }
                }
                _ = tick.tick() => {
                    if polling {
                        let now = fingerprints(&self.guests_dir);
                        for (path, print) in &now {
                            if seen.get(path) != Some(print) {
                                pending.insert(path.clone());
                                deadline = Some(tokio::time::Instant::now() + DEBOUNCE);
                            }
                        }
                        seen = now;
                    }
                    if last_reconcile.elapsed() >= RECONCILE_EVERY {
                        last_reconcile = tokio::time::Instant::now();
                        if let Ok(_gate) = self.gate.try_lock()
                            && let Err(e) = self.reconcile_locked().await
                        {
                            tracing::error!(target: "hellowatt::registry", "{e:#}");
                        }
                    }
                }
                () = hangup.recv() => {
                    tracing::info!(target: "hellowatt::registry", "SIGHUP: rescanning the guest folder");
                    if let Err(e) = self.rescan().await {
                        tracing::error!(target: "hellowatt::registry", "rescanning the guest folder: {e:#}");
                    }
                }
            }
        }
        drop(watcher);
    }

    /// What a refusal is judged on, besides the bytes: the signature file,
    /// the fixtures beside the guest, the trusted keys, the shipped
    /// scenarios and this hellowatt's version.
    fn inputs_digest(
        &self,
        sha256: &str,
        signature_file: Option<&[u8]>,
        beside: Option<&Path>,
    ) -> Result<String> {
        let mut h = Sha256::new();
        h.update(b"hellowatt-guest-inputs-1\n");
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        h.update(sha256.as_bytes());
        h.update(self.fixtures_digest.as_bytes());
        match signature_file {
            Some(s) => {
                h.update(b"\nsig ");
                h.update(sha256_hex(s).as_bytes());
            }
            None => h.update(b"\nno sig"),
        }
        let mut keys: Vec<String> = self
            .trusted_keys
            .iter()
            .map(signature::public_key_hex)
            .collect();
        keys.sort();
        for k in keys {
            h.update(b"\nkey ");
            h.update(k.as_bytes());
        }
        if let Some(dir) = beside {
            for file in files_under(dir)? {
                let rel = file.strip_prefix(dir).unwrap_or(&file);
                let content =
                    std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                h.update(b"\nfixture ");
                h.update(rel.to_string_lossy().as_bytes());
                h.update(sha256_hex(&content).as_bytes());
            }
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Copies an installed guest (and its signature and fixtures) into the
    /// guest folder, unless it is there already.
    fn copy_into_folder(&self, path: &Path) -> Result<()> {
        let Some(name) = path.file_name() else {
            bail!("{} has no file name", path.display());
        };
        let folder = std::fs::canonicalize(&self.guests_dir)
            .with_context(|| format!("resolving {}", self.guests_dir.display()))?;
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if std::fs::canonicalize(parent).ok().as_deref() == Some(folder.as_path()) {
            return Ok(());
        }
        let sig = signature::sig_path(path);
        if sig.is_file() {
            let mut sig_name = name.to_os_string();
            sig_name.push(".sig");
            copy_atomically(&sig, &folder.join(sig_name))?;
        }
        if let Some(dir) = fixtures_beside(path)
            && let Some(dir_name) = dir.file_name()
        {
            copy_dir(&dir, &folder.join(dir_name))?;
        }
        // The component last: a watcher sees it with its signature beside it.
        copy_atomically(path, &folder.join(name))
    }
}

/// Loads guests from the bytes the registry keeps.
struct Loader<'a> {
    runtime: &'a Runtime,
    cache: &'a Arc<ArtifactCache>,
    accepted_dir: &'a Path,
    limits: &'a Limits,
    bundled_sha256: &'a str,
}

impl Loader<'_> {
    async fn bundled(&self) -> Result<Guest> {
        self.runtime
            .load_cached(crate::BUNDLED_GUEST.to_vec(), self.cache, self.limits)
            .await
            .context("loading the bundled guest")
    }

    fn accepted_path(&self, sha256: &str) -> PathBuf {
        self.accepted_dir.join(format!("{sha256}.wasm"))
    }

    /// Keeps a copy of an accepted guest's bytes (no-op if kept already).
    fn keep(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self.accepted_path(sha256);
        if path.is_file() {
            return Ok(());
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(self.accepted_dir)
            .with_context(|| format!("creating a file in {}", self.accepted_dir.display()))?;
        use std::io::Write as _;
        tmp.write_all(bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .with_context(|| format!("keeping a copy of the guest {sha256}"))?;
        tmp.persist(&path)
            .map_err(|e| anyhow!(e.error))
            .with_context(|| format!("keeping a copy of the guest in {}", path.display()))?;
        Ok(())
    }

    /// Loads an accepted guest by SHA-256 from the kept bytes (the bundled
    /// one from the binary), checking that they still hash to it.
    async fn restore(&self, sha256: &str) -> Result<Guest> {
        let bytes = if sha256 == self.bundled_sha256 {
            crate::BUNDLED_GUEST.to_vec()
        } else {
            let path = self.accepted_path(sha256);
            let bytes = tokio::fs::read(&path)
                .await
                .with_context(|| format!("reading the kept copy {}", path.display()))?;
            if sha256_hex(&bytes) != sha256 {
                bail!(
                    "the kept copy {} is damaged: its SHA-256 is not its name",
                    path.display()
                );
            }
            bytes
        };
        self.runtime
            .load_cached(bytes, self.cache, self.limits)
            .await
    }
}

/// One paragraph naming every failed scenario, its first differences
/// (field, expected, got) or its failure; scenarios that failed the same
/// way share one entry.
fn summarize(results: &[ScenarioResult]) -> String {
    let failed: Vec<&ScenarioResult> = results.iter().filter(|r| !r.passed()).collect();
    let mut out = format!(
        "failed {} of {} fixture scenarios: ",
        failed.len(),
        results.len()
    );
    let quoted = if failed.len() > FEW_FAILURES {
        1
    } else {
        MAX_DIFFERENCES_QUOTED
    };
    let mut entries: Vec<(Vec<&str>, String)> = Vec::new();
    for r in &failed {
        let mut parts: Vec<String> = Vec::new();
        if let Some(f) = &r.failure {
            parts.push(one_line(f));
        }
        parts.extend(r.differences.iter().take(quoted).map(|d| d.to_string()));
        if r.differences.len() > quoted {
            parts.push(format!(
                "and {} more difference(s)",
                r.differences.len() - quoted
            ));
        }
        if parts.is_empty() {
            parts.extend(r.denied.iter().map(|d| format!("denied {d}")));
        }
        let text = parts.join(", ");
        match entries.iter_mut().find(|(_, t)| *t == text) {
            Some((names, _)) => names.push(&r.name),
            None => entries.push((vec![&r.name], text)),
        }
    }
    let entries: Vec<String> = entries
        .into_iter()
        .map(|(names, text)| format!("[{}] {text}", names.join(", ")))
        .collect();
    out.push_str(&entries.join("; "));
    if let Some((cut, _)) = out.char_indices().nth(MAX_REASON_CHARS) {
        out.truncate(cut);
        out.push_str("… (cut: the log has the full report)");
    }
    out
}

/// A failure on one line, without wasm backtrace frames (`N: 0x… - name`);
/// what an error chain put after the last frame is kept.
fn one_line(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match backtrace_frame_rest(line) {
            Some(Some(rest)) => kept.push(rest),
            Some(None) => {}
            None => kept.push(line),
        }
    }
    kept.join(" ")
}

/// `None`: not a frame line. `Some(rest)`: a frame, and the text after it.
fn backtrace_frame_rest(line: &str) -> Option<Option<&str>> {
    let (index, rest) = line.split_once(':')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim_start().strip_prefix("0x")?;
    let (_, after) = rest.split_once(" - ")?;
    Some(after.split_once(": ").map(|(_, tail)| tail))
}

/// `NAME.wasm` → `NAME.fixtures/`, when that folder exists.
pub fn fixtures_beside(wasm: &Path) -> Option<PathBuf> {
    let dir = wasm.with_extension("fixtures");
    dir.is_dir().then_some(dir)
}

/// The scenarios of a `NAME.fixtures/` folder (one per sub-folder, or the
/// folder itself), named `NAME.fixtures/SCENARIO` in reports.
fn load_beside(dir: &Path) -> Result<Vec<Scenario>> {
    read_beside(dir).with_context(|| {
        format!(
            "the fixtures beside the guest ({}) cannot be read",
            dir.display()
        )
    })
}

fn read_beside(dir: &Path) -> Result<Vec<Scenario>> {
    let label = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut scenarios = if dir.join("scenario.json").is_file() {
        vec![hellowatt_fixtures::load_scenario(dir).map_err(|e| anyhow!("{e}"))?]
    } else {
        hellowatt_fixtures::load_scenarios(dir).map_err(|e| anyhow!("{e}"))?
    };
    if scenarios.is_empty() {
        bail!("{} holds no scenario", dir.display());
    }
    for s in &mut scenarios {
        s.name = format!("{label}/{}", s.name);
    }
    Ok(scenarios)
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let entry = entry.with_context(|| format!("listing {}", d.display()))?;
            let ty = entry
                .file_type()
                .with_context(|| format!("reading {}", entry.path().display()))?;
            if ty.is_dir() {
                stack.push(entry.path());
            } else if ty.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The `.wasm` files of the guest folder, oldest first.
pub fn candidates_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || !name.ends_with(".wasm") || !path.is_file() {
            continue;
        }
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(std::time::SystemTime::UNIX_EPOCH);
        found.push((modified, path));
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// The candidate a changed path belongs to: `X.wasm` itself, its
/// `X.wasm.sig`, or anything under `X.fixtures/`. Hidden files (temporary
/// copies) belong to none.
fn candidate_of(dir: &Path, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(dir).ok()?;
    let mut parts = rel.components();
    let first = parts.next()?.as_os_str().to_str()?;
    if first.starts_with('.') {
        return None;
    }
    let nested = parts.next().is_some();
    let wasm = if let Some(stem) = first.strip_suffix(".fixtures") {
        format!("{stem}.wasm")
    } else if nested {
        return None;
    } else if let Some(w) = first.strip_suffix(".sig") {
        w.strip_suffix(".wasm")?;
        w.to_string()
    } else if first.ends_with(".wasm") {
        first.to_string()
    } else {
        return None;
    };
    Some(dir.join(wasm))
}

/// Size and modification time of every file that makes up the candidates
/// of the folder (for polling).
fn fingerprints(
    dir: &Path,
) -> std::collections::BTreeMap<PathBuf, (u64, Option<std::time::SystemTime>)> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(files) = files_under(dir) else {
        return out;
    };
    for file in files {
        let Some(candidate) = candidate_of(dir, &file) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let entry = out.entry(candidate).or_insert((0u64, None));
        entry.0 = entry.0.wrapping_add(meta.len());
        let m = meta.modified().ok();
        if m > entry.1 {
            entry.1 = m;
        }
    }
    out
}

fn start_watcher(
    dir: &Path,
    tx: tokio::sync::mpsc::UnboundedSender<PathBuf>,
) -> Result<notify::RecommendedWatcher> {
    use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
    use notify::{RecursiveMode, Watcher};
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        // Reads (ours included) must not wake the watcher.
        let relevant = match event.kind {
            EventKind::Create(_) | EventKind::Remove(_) => true,
            EventKind::Modify(ModifyKind::Metadata(_)) => false,
            EventKind::Modify(_) => true,
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
            EventKind::Access(_) | EventKind::Other | EventKind::Any => false,
        };
        if relevant {
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    })
    .context("creating the folder watcher")?;
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    Ok(watcher)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// SIGHUP on Unix; never elsewhere (or when the handler cannot be set).
struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    fn new() -> Hangup {
        #[cfg(unix)]
        {
            let signal =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            Hangup { signal }
        }
        #[cfg(not(unix))]
        {
            Hangup {}
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.signal {
            if s.recv().await.is_some() {
                return;
            }
            self.signal = None;
        }
        std::future::pending::<()>().await
    }
}

/// Copies a file through a temporary file and a rename, so that a watcher
/// never sees half of it under its name.
fn copy_atomically(from: &Path, to: &Path) -> Result<()> {
    let dir = to.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    std::fs::copy(from, tmp.path())
        .with_context(|| format!("copying {} to {}", from.display(), dir.display()))?;
    tmp.persist(to)
        .map_err(|e| anyhow!(e.error))
        .with_context(|| format!("renaming the copy to {}", to.display()))?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    for file in files_under(from)? {
        let rel = file.strip_prefix(from).unwrap_or(&file);
        let target = to.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(&file, &target)
            .with_context(|| format!("copying {} to {}", file.display(), target.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backtraces_fold_into_one_line() {
        let text = "the guest crashed: error while executing at wasm backtrace:\n    \
                    0:   0x5ca0 - <unknown>!<wasm function 133>\n   \
                    11:   0x1e98 - <unknown>!<wasm function 28>: wasm trap: unreachable (panicked at x.rs:1:2: boom)";
        assert_eq!(
            one_line(text),
            "the guest crashed: error while executing at wasm backtrace: wasm trap: \
             unreachable (panicked at x.rs:1:2: boom)"
        );
        assert_eq!(one_line("a: b\nc"), "a: b c");
    }

    #[test]
    fn paths_map_to_their_candidate() {
        let dir = Path::new("/g");
        let c = |p: &str| candidate_of(dir, Path::new(p));
        assert_eq!(c("/g/v2.wasm"), Some(PathBuf::from("/g/v2.wasm")));
        assert_eq!(c("/g/v2.wasm.sig"), Some(PathBuf::from("/g/v2.wasm")));
        assert_eq!(
            c("/g/v2.fixtures/renamed/golden.json"),
            Some(PathBuf::from("/g/v2.wasm"))
        );
        assert_eq!(c("/g/v2.fixtures"), Some(PathBuf::from("/g/v2.wasm")));
        assert_eq!(c("/g/.partial-x"), None);
        assert_eq!(c("/g/notes.txt"), None);
        assert_eq!(c("/g/other.sig"), None);
        assert_eq!(c("/g/sub/x.wasm"), None);
        assert_eq!(c("/elsewhere/x.wasm"), None);
    }
}
