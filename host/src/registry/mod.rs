//! The guest registry: which component serves in a slot (the helloWatt
//! scraper's, the Tempo service's: see [`crate::slot`]), and how a new one
//! gets there. A process opens one registry per slot; they share the
//! store, the kept copies and the compiled-artifact cache, and nothing else.
//!
//! # What it owns
//! - **The slot's guest folder** (`guests/` by default, `guests/tempo/` for
//!   the Tempo slot): a person drops
//!   `NAME.wasm` there, optionally with `NAME.wasm.sig` (a publisher's
//!   signature, see [`crate::registry::signature`]) and `NAME.fixtures/` (cassettes
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
//!      version this host runs ([`Runtime::load_cached`]); and name itself
//!      after the slot (a Tempo guest dropped among helloWatt guests is
//!      refused, with where it belongs);
//!   3. reproduce the golden outcome of every scenario shipped with the
//!      host and of every scenario beside it, replayed inside the HTTP
//!      policy under the production sandbox limits ([`check::check_all`]).
//!
//!   The reason of a refusal is precise (the scenario, the field, expected
//!   against got, or the failing step), logged, kept in the store's guest
//!   history and returned in the [`Verdict`].
//! - **Signatures at every load**: an accepted guest's signature is kept
//!   beside its copy (`STATE/accepted/SHA256.wasm.sig`) and verified again,
//!   under the keys trusted at that moment, whenever the guest is loaded
//!   later: at start-up, at a roll-back, and when another process activated
//!   it. A guest that no longer verifies is not loaded (at start-up the
//!   slot falls back to the bundled guest and its history says why); only
//!   bundled guests, which came with the binary, need no signature.
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
//!   beside the database (see `GuestSettings`). Compiled code is
//!   cached in `STATE/cache` ([`crate::sandbox::cache`]): a restart maps it instead
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
//! # Layout
//! This file: the registry, the gate, the swap, roll-back and restore.
//! `watch.rs`: the folder watcher. `files.rs`: the folder's files (the
//! candidates, the fixtures beside them, atomic copies). `reason.rs`: the
//! words of a refusal.
//!
//! # What it must never do
//! - Run a sync: it replays recorded cassettes only, never reaches a site.
//! - Relax a limit: candidates run under the limits it was given, which are
//!   the production ones; the HTTP policy of the replay is the one
//!   `guest check` uses.
//! - Let a candidate serve before it passed the whole gate, or let a
//!   refusal change the active guest.

use crate::sandbox::cache::sha256_hex;
use crate::sandbox::cache::{ArtifactCache, create_private_dir};
use crate::sandbox::policy::RequestRules;
use crate::sandbox::runtime::{Guest, Limits, Runtime};
use crate::slot::Slot;
use crate::store::{GuestEvent, GuestRecord, GuestState, NewGuest, Store};
use anyhow::{Context, Result, anyhow, bail};
use arc_swap::ArcSwap;
use check::ScenarioResult;
use ed25519_dalek::VerifyingKey;
use hellowatt_fixtures::Scenario;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub mod check;
mod files;
mod reason;
mod settings;
pub mod signature;
mod watch;

pub use files::{candidates_in, fixtures_beside, load_beside};
pub use settings::{GuestSettings, open_slot, state_dir_for};
pub use watch::{DEBOUNCE, POLL_EVERY, RECONCILE_EVERY};

use files::{copy_atomically, copy_dir, files_under};
use reason::summarize;

/// The `source` recorded for the guest built into the binary.
pub const BUNDLED_SOURCE: &str = "bundled";

/// What the registry is given.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Which guest this registry serves.
    pub slot: Slot,
    /// The folder people drop this slot's guests into.
    pub guests_dir: PathBuf,
    /// The registry's private folder (accepted guests' bytes, compiled
    /// artifacts). Created with mode 0700.
    pub state_dir: PathBuf,
    /// The production sandbox limits: candidates are proven under them.
    pub limits: Limits,
    /// The requests the slot's guest may make in production: candidates
    /// are replayed under them too.
    pub requests: RequestRules,
    /// The slot's scenarios shipped with the host: every candidate must
    /// pass them.
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

/// What an accepted guest was proven on.
struct Proof {
    /// Scenarios replayed and passed.
    passed: usize,
    /// The shipped scenarios its own superseded, in words (empty: none).
    superseded: String,
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
    slot: Slot,
    runtime: Arc<Runtime>,
    store: Mutex<Store>,
    guests_dir: PathBuf,
    accepted_dir: PathBuf,
    cache: Arc<ArtifactCache>,
    limits: Limits,
    requests: RequestRules,
    fixtures: Vec<Scenario>,
    /// Fingerprint of the shipped scenarios (part of a refusal's inputs).
    fixtures_digest: String,
    trusted_keys: Vec<VerifyingKey>,
    bundled_sha256: String,
    active: ArcSwap<Guest>,
    /// One judgement, swap or roll-back at a time.
    gate: tokio::sync::Mutex<()>,
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
        let cache = Arc::new(ArtifactCache::open(&settings::cache_dir(
            &options.state_dir,
        ))?);
        let slot = options.slot;
        let bundled_sha256 = sha256_hex(slot.bundled());
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
        let recorded = store.guest_in(slot.name(), GuestState::Active)?;
        let mut events: Vec<(NewGuest, &'static str, Option<String>)> = vec![];
        let loader = Loader {
            slot,
            runtime: &runtime,
            cache: &cache,
            accepted_dir: &accepted_dir,
            limits: &options.limits,
            bundled_sha256: &bundled_sha256,
            trusted_keys: &options.trusted_keys,
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
            Some(r) => match loader.restore(&r.sha256, &r.source).await {
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
        loader.keep(&bundled_sha256, slot.bundled())?;
        let now = crate::clock::now_utc();
        for (g, what, detail) in events {
            store.activate_guest(slot.name(), &g, what, detail.as_deref(), now)?;
        }
        // The cache is shared by every slot: keep what any of them needs.
        let mut keep: Vec<String> = store
            .guests()?
            .into_iter()
            .filter(|g| matches!(g.state, GuestState::Active | GuestState::Previous))
            .map(|g| g.sha256)
            .collect();
        keep.extend(Slot::ALL.map(|s| sha256_hex(s.bundled())));
        keep.push(active.sha256.clone());
        let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
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
            slot = %slot,
            guest = %active.info.name,
            version = %active.info.version,
            sha256 = %active.sha256,
            "active guest ready in {} ms ({} compiled, {} from the artifact cache)",
            started.elapsed().as_millis(),
            cache.compiles(),
            cache.hits()
        );
        Ok(Registry {
            slot,
            runtime,
            store: Mutex::new(store),
            guests_dir: options.guests_dir,
            accepted_dir,
            cache,
            limits: options.limits,
            requests: options.requests,
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

    pub fn slot(&self) -> Slot {
        self.slot
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
            slot: self.slot,
            runtime: &self.runtime,
            cache: &self.cache,
            accepted_dir: &self.accepted_dir,
            limits: &self.limits,
            bundled_sha256: &self.bundled_sha256,
            trusted_keys: &self.trusted_keys,
        }
    }

    /// Every guest of the slot judged so far: active, previous, refused
    /// (with reasons), retired.
    pub fn list(&self) -> Result<Vec<GuestRecord>> {
        let slot = self.slot.name();
        Ok(self
            .store()?
            .guests()?
            .into_iter()
            .filter(|g| g.slot == slot)
            .collect())
    }

    /// The slot's latest `limit` events, newest first.
    pub fn history(&self, limit: usize) -> Result<Vec<GuestEvent>> {
        let slot = self.slot.name();
        Ok(self
            .store()?
            .guest_history(limit.saturating_mul(Slot::ALL.len()))?
            .into_iter()
            .filter(|e| e.slot == slot)
            .take(limit)
            .collect())
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
        let signature = read_signature(path).await?;
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
            Ok((guest, proof)) => {
                let scenarios = proof.passed;
                self.loader().keep(&guest.sha256, &bytes)?;
                self.loader()
                    .keep_signature(&guest.sha256, signature.as_deref())?;
                let took = started.elapsed();
                let before = self.active();
                let superseded = if proof.superseded.is_empty() {
                    String::new()
                } else {
                    format!("; {}", proof.superseded)
                };
                let detail = format!(
                    "from {source}; passed {scenarios} fixture scenarios{superseded}; replaces {} {} ({})",
                    before.info.name, before.info.version, before.sha256
                );
                self.store()?.activate_guest(
                    self.slot.name(),
                    &new_guest(&guest, &source),
                    "activated",
                    Some(&detail),
                    crate::clock::now_utc(),
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
                self.store()?.refuse_guest(
                    self.slot.name(),
                    &record,
                    &refusal.reason,
                    Some(&inputs),
                    crate::clock::now_utc(),
                )?;
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

    /// The gate. `Ok`: the guest and what it was proven on.
    async fn judge(
        &self,
        bytes: Vec<u8>,
        signature_file: Option<&[u8]>,
        beside: Option<&Path>,
    ) -> Result<(Guest, Proof), Refusal> {
        let signed_by = match signature::check(&bytes, signature_file, &self.trusted_keys) {
            Ok(Some(key)) => {
                tracing::debug!(target: "hellowatt::registry", "signature verified (key {key})");
                Some(key)
            }
            Ok(None) => None,
            Err(e) => return Err(Refusal::early(format!("{e:#}"))),
        };
        let guest = self
            .runtime
            .load_cached(bytes, &self.cache, &self.limits)
            .await
            .map_err(|e| Refusal::early(format!("{e:#}")))?;
        if let Err(e) = self.slot.admits(&guest.info.name) {
            return Err(Refusal {
                reason: format!("{e:#}"),
                report: None,
                guest: Some(guest),
            });
        }
        let own = match beside {
            Some(dir) => load_beside(dir).map_err(|e| Refusal {
                reason: format!("{e:#}"),
                report: None,
                guest: Some(guest.clone()),
            })?,
            None => Vec::new(),
        };
        let (scenarios, superseded) = check::proving_set(&self.fixtures, own, signed_by.as_deref())
            .map_err(|reason| Refusal {
                reason,
                report: None,
                guest: Some(guest.clone()),
            })?;
        if scenarios.is_empty() {
            return Err(Refusal {
                reason: "no fixture scenario to prove the guest on: hellowatt refuses to swap \
                         in a guest it could not check"
                    .into(),
                report: None,
                guest: Some(guest),
            });
        }
        let results = match check::check_all(
            &self.runtime,
            &guest,
            &scenarios,
            &self.limits,
            &self.requests,
        )
        .await
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
        let superseded_line = check::superseded_lines(&superseded, signed_by.as_deref());
        if results.iter().all(ScenarioResult::passed) {
            return Ok((
                guest,
                Proof {
                    passed: results.len(),
                    superseded: superseded_line.trim_end().to_string(),
                },
            ));
        }
        Err(Refusal {
            reason: summarize(&results),
            report: Some(format!(
                "{}{superseded_line}",
                check::report(&guest, &results)
            )),
            guest: Some(guest),
        })
    }

    /// Restores the last-known-good guest (the previous one) and keeps the
    /// one it replaces as the previous. Returns the guest now serving.
    pub async fn rollback(&self) -> Result<Arc<Guest>> {
        let _gate = self.gate.lock().await;
        let previous = self
            .store()?
            .guest_in(self.slot.name(), GuestState::Previous)?
            .ok_or_else(|| anyhow!("there is no previous {} guest to roll back to", self.slot))?;
        let guest = self
            .loader()
            .restore(&previous.sha256, &previous.source)
            .await
            .with_context(|| {
                format!(
                    "the previous guest {} ({}) cannot be loaded",
                    previous.name.as_deref().unwrap_or("?"),
                    previous.sha256
                )
            })?;
        let before = self.active();
        self.store()?
            .rollback_guest(self.slot.name(), crate::clock::now_utc())?;
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
        let Some(recorded) = self
            .store()?
            .guest_in(self.slot.name(), GuestState::Active)?
        else {
            return Ok(false);
        };
        if recorded.sha256 == self.active().sha256 {
            return Ok(false);
        }
        let guest = self
            .loader()
            .restore(&recorded.sha256, &recorded.source)
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
        // A refusal under other allowed requests is judged again.
        h.update(format!("\nrequests {}", self.requests).as_bytes());
        if let Some(login) = self.requests.login() {
            h.update(format!("\nlog-in {login}").as_bytes());
        }
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
/// The detached signature beside `wasm` (`NAME.wasm.sig`), if there is one.
async fn read_signature(wasm: &Path) -> Result<Option<Vec<u8>>> {
    let path = signature::sig_path(wasm);
    match tokio::fs::read(&path).await {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

struct Loader<'a> {
    slot: Slot,
    runtime: &'a Runtime,
    cache: &'a Arc<ArtifactCache>,
    accepted_dir: &'a Path,
    limits: &'a Limits,
    bundled_sha256: &'a str,
    /// Checked every time a kept guest is loaded, not only at admission.
    trusted_keys: &'a [VerifyingKey],
}

impl Loader<'_> {
    async fn bundled(&self) -> Result<Guest> {
        self.runtime
            .load_cached(self.slot.bundled().to_vec(), self.cache, self.limits)
            .await
            .with_context(|| format!("loading the bundled {} guest", self.slot))
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
        self.write_atomically(&path, bytes)
            .with_context(|| format!("keeping a copy of the guest {sha256}"))
    }

    /// Keeps the detached signature an accepted guest came with, beside its
    /// kept copy, so that every later load can verify it again under the
    /// keys trusted then. A guest accepted without one keeps none.
    fn keep_signature(&self, sha256: &str, signature: Option<&[u8]>) -> Result<()> {
        let Some(signature) = signature else {
            return Ok(());
        };
        let path = signature::sig_path(&self.accepted_path(sha256));
        self.write_atomically(&path, signature)
            .with_context(|| format!("keeping the signature of the guest {sha256}"))
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".partial-")
            .tempfile_in(self.accepted_dir)
            .with_context(|| format!("creating a file in {}", self.accepted_dir.display()))?;
        use std::io::Write as _;
        tmp.write_all(bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .context("writing the copy")?;
        tmp.persist(path)
            .map_err(|e| anyhow!(e.error))
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Loads an accepted guest by SHA-256 from the kept bytes (the bundled
    /// one from the binary), checking that they still hash to it and, when
    /// publisher keys are trusted now, that its kept signature verifies
    /// under one of them: keys trusted at admission may have been removed
    /// since, and another process may have activated it without keys. A
    /// bundled guest (this hellowatt's, or an older one's, `source`
    /// [`BUNDLED_SOURCE`]) came with the binary and needs no signature.
    async fn restore(&self, sha256: &str, source: &str) -> Result<Guest> {
        let bytes = if sha256 == self.bundled_sha256 {
            self.slot.bundled().to_vec()
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
            let kept_signature = read_signature(&path).await?;
            let keys: &[VerifyingKey] = if source == BUNDLED_SOURCE {
                &[]
            } else {
                self.trusted_keys
            };
            signature::check(&bytes, kept_signature.as_deref(), keys).context(
                "it is not signed by a key trusted now (trusted_keys): sign it with \
                 `hellowatt guest sign` and install it again, or trust its publisher's key",
            )?;
            bytes
        };
        self.runtime
            .load_cached(bytes, self.cache, self.limits)
            .await
    }
}
