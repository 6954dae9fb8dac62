//! Compiled guests cached on disk, so that a restart (or a roll-back) does
//! not compile a component again: 5 s in a debug host, 0.4 s in a release
//! one, against about a millisecond to map a cached artifact.
//!
//! # What it owns
//! One folder of `<component sha256>-<engine key>.cwasm` files, each the
//! output of `Engine::precompile_component` for the component whose bytes
//! hash to that SHA-256, under an engine whose
//! `precompile_compatibility_hash` (hashed with SHA-256, with
//! [`FORMAT`]) gives that key. Another wasmtime or another engine
//! configuration gives another key, so its artifacts are never looked at.
//!
//! # Why loading is safe enough
//! `Component::deserialize_file` is `unsafe`: it maps machine code and runs
//! it, trusting the file. This cache only ever loads a file that
//! - sits in a folder created by this code with mode 0700, owned by the
//!   user this process runs as, and not writable by its group or others
//!   (checked when the cache opens, and the folder is refused otherwise);
//! - is named after the SHA-256 of the component bytes the caller holds and
//!   the current engine key (so a file is only ever used for the component
//!   it was compiled from);
//! - was written by this code: compiled to a temporary file in the same
//!   folder and renamed into place, so no half-written artifact is ever seen
//!   under its final name; it is owned by this user and not writable by
//!   others (checked again before every load).
//!
//! wasmtime itself refuses an artifact of another version or configuration.
//! A file that fails to load is removed and the component compiled again.
//!
//! A guest's identity everywhere (the registry, the store, the swap gate)
//! is the same [`sha256_hex`] of its bytes that names its artifact here.
//!
//! # What it must never do
//! Load a file it did not write, from a folder others can write, or under a
//! name that does not match the bytes being loaded. It never decides whether
//! a guest may run: `runtime` and `registry` do.

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The SHA-256 of `bytes` in lowercase hex: a component's identity.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Bumped when the file layout changes; part of every key.
pub const FORMAT: &str = "hellowatt-cwasm-1";

const EXTENSION: &str = "cwasm";

/// Feeds `Hash` output into SHA-256, so the key is stable across processes
/// (std's `DefaultHasher` promises no stability).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Unused: the key is the whole digest (see `engine_key`).
        0
    }
}

/// The engine's part of a cache key: 16 hex digits of the SHA-256 of
/// [`FORMAT`] and the engine's precompile compatibility hash.
pub fn engine_key(engine: &Engine) -> String {
    let mut h = ShaHasher(Sha256::new());
    h.write(FORMAT.as_bytes());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(&h.0.finalize()[..8])
}

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    /// Mapped from a cached artifact: nothing compiled.
    Hit,
    /// Compiled, and the artifact written for next time.
    Compiled,
}

/// The on-disk cache of compiled components.
#[derive(Debug)]
pub struct ArtifactCache {
    dir: PathBuf,
    /// The user this process runs as (Unix): the owner every file must have.
    owner: u32,
    hits: AtomicU64,
    compiles: AtomicU64,
}

impl ArtifactCache {
    /// Opens (creating it with mode 0700) the cache folder, and refuses one
    /// that others could write into.
    pub fn open(dir: &Path) -> Result<ArtifactCache> {
        create_private_dir(dir)?;
        let owner = current_uid(dir)?;
        check_private(dir, owner)?;
        Ok(ArtifactCache {
            dir: dir.to_path_buf(),
            owner,
            hits: AtomicU64::new(0),
            compiles: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Components mapped from the cache since it opened.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Components compiled since the cache opened.
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Where the artifact of a component (by SHA-256) lives for `engine`.
    pub fn path_for(&self, engine: &Engine, sha256: &str) -> Result<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("{sha256:?} is not a SHA-256 in hex");
        }
        Ok(self.dir.join(format!(
            "{}-{}.{EXTENSION}",
            sha256.to_ascii_lowercase(),
            engine_key(engine)
        )))
    }

    /// The component whose bytes are `bytes`: mapped from its cached
    /// artifact, or compiled and cached. Blocking (compiling takes seconds):
    /// call it from `spawn_blocking`.
    pub fn load_or_compile(&self, engine: &Engine, bytes: &[u8]) -> Result<(Component, CacheUse)> {
        let sha256 = sha256_hex(bytes);
        let path = self.path_for(engine, &sha256)?;
        if path.is_file() {
            match self.map(engine, &path) {
                Ok(component) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(sha256 = %sha256, "guest loaded from the artifact cache");
                    return Ok((component, CacheUse::Hit));
                }
                Err(e) => {
                    tracing::warn!(
                        path = %path.display(),
                        "a cached artifact could not be used, compiling again: {e:#}"
                    );
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let artifact = engine
            .precompile_component(bytes)
            .map_err(anyhow::Error::from)
            .context("compiling the guest")?;
        self.compiles.fetch_add(1, Ordering::Relaxed);
        match self.write(&path, &artifact) {
            Ok(()) => {}
            Err(e) => tracing::warn!(
                dir = %self.dir.display(),
                "the compiled guest could not be cached (the next start compiles it again): {e:#}"
            ),
        }
        // SAFETY: `artifact` is what `precompile_component` produced just
        // now, in this process, with this engine.
        let component = unsafe { Component::deserialize(engine, &artifact) }
            .map_err(anyhow::Error::from)
            .context("loading the guest just compiled")?;
        Ok((component, CacheUse::Compiled))
    }

    /// Forgets a component's artifact (a refused guest's); a missing one
    /// is no error.
    pub fn remove(&self, engine: &Engine, sha256: &str) {
        if let Ok(path) = self.path_for(engine, sha256) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Removes the artifacts of every component but those listed (by
    /// SHA-256), and those of other engines. Returns how many went.
    pub fn retain(&self, keep: &[&str]) -> Result<usize> {
        let mut removed = 0;
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("listing {}", self.dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("listing {}", self.dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(stem) = name.strip_suffix(&format!(".{EXTENSION}")) else {
                continue;
            };
            let sha = stem.split('-').next().unwrap_or_default();
            if !keep.iter().any(|k| k.eq_ignore_ascii_case(sha)) {
                std::fs::remove_file(entry.path())
                    .with_context(|| format!("removing {}", entry.path().display()))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn map(&self, engine: &Engine, path: &Path) -> Result<Component> {
        check_private(&self.dir, self.owner)?;
        check_own_file(path, self.owner)?;
        // SAFETY: see the module docs: the folder is private to this user,
        // the file was written by `write` (temporary file + rename) and its
        // name is the SHA-256 of the component being loaded with the current
        // engine's key; wasmtime checks the version and configuration.
        unsafe { Component::deserialize_file(engine, path) }
            .map_err(anyhow::Error::from)
            .with_context(|| format!("mapping {}", path.display()))
    }

    fn write(&self, path: &Path, artifact: &[u8]) -> Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".partial-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .with_context(|| format!("creating a file in {}", self.dir.display()))?;
        tmp.write_all(artifact)
            .and_then(|()| tmp.as_file().sync_all())
            .context("writing the compiled guest")?;
        tmp.persist(path)
            .map_err(|e| anyhow!(e.error))
            .with_context(|| format!("renaming the compiled guest to {}", path.display()))?;
        Ok(())
    }
}

/// Creates `dir` (and its parents) with mode 0700 for the last component.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating the folder {}", dir.display()))
}

/// The folder must belong to the user this process runs as and be closed
/// to writes by anyone else.
#[cfg(unix)]
fn check_private(dir: &Path, me: u32) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("reading the folder {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    if meta.mode() & 0o022 != 0 {
        bail!(
            "the artifact cache {} is writable by other users (mode {:o}): \
             hellowatt only loads compiled code from a folder only it can write; \
             `chmod 700` it or remove it",
            dir.display(),
            meta.mode() & 0o777
        );
    }
    if meta.uid() != me {
        bail!(
            "the artifact cache {} belongs to user {} and this process runs as user {me}: \
             hellowatt only loads compiled code from its own folder",
            dir.display(),
            meta.uid()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(dir: &Path, _me: u32) -> Result<()> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    Ok(())
}

#[cfg(not(unix))]
fn current_uid(_dir: &Path) -> Result<u32> {
    Ok(0)
}

/// The user this process runs as: the owner of a file it creates.
#[cfg(unix)]
fn current_uid(dir: &Path) -> Result<u32> {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::Builder::new()
        .prefix(".probe-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let meta = probe
        .as_file()
        .metadata()
        .context("reading a probe file's owner")?;
    Ok(meta.uid())
}

#[cfg(unix)]
fn check_own_file(path: &Path, me: u32) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta =
        std::fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    if meta.mode() & 0o022 != 0 {
        bail!("{} is writable by other users", path.display());
    }
    if meta.uid() != me {
        bail!("{} belongs to another user", path.display());
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_own_file(path: &Path, _me: u32) -> Result<()> {
    if !path.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_names_are_checked() {
        let engine = Engine::default();
        assert_eq!(engine_key(&engine), engine_key(&engine));
        assert_eq!(engine_key(&engine).len(), 16);
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(&dir.path().join("cache")).unwrap();
        assert!(cache.path_for(&engine, "../etc/passwd").is_err());
        let p = cache.path_for(&engine, &"ab".repeat(32)).unwrap();
        assert!(p.starts_with(cache.dir()));
    }

    #[cfg(unix)]
    #[test]
    fn a_folder_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = ArtifactCache::open(&open).unwrap_err();
        assert!(
            format!("{e:#}").contains("writable by other users"),
            "{e:#}"
        );
    }

    #[test]
    fn retain_keeps_only_the_listed_components() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArtifactCache::open(dir.path()).unwrap();
        let keep = "aa".repeat(32);
        let drop = "bb".repeat(32);
        for sha in [&keep, &drop] {
            std::fs::write(
                dir.path().join(format!("{sha}-0123456789abcdef.cwasm")),
                b"x",
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        assert_eq!(cache.retain(&[keep.as_str()]).unwrap(), 1);
        assert!(dir.path().join("notes.txt").exists());
        assert!(
            dir.path()
                .join(format!("{keep}-0123456789abcdef.cwasm"))
                .exists()
        );
    }
}
