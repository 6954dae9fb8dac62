//! The watcher of the guest folder: file events (the `notify` crate, or a
//! scan every second when it cannot start) mapped to their candidate and
//! debounced, a periodic check of the store for another process's change,
//! and SIGHUP for a rescan.

use super::Registry;
use super::files::files_under;
use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
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

impl Registry {
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

#[cfg(test)]
mod tests {
    use super::*;

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
