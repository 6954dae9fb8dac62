//! The files around a candidate: the `.wasm` files of the guest folder,
//! the `NAME.fixtures/` folder beside one, and copies that a watcher never
//! sees half-written.

use anyhow::{Context, Result, anyhow, bail};
use hellowatt_fixtures::Scenario;
use std::path::{Path, PathBuf};

/// `NAME.wasm` → `NAME.fixtures/`, when that folder exists.
pub fn fixtures_beside(wasm: &Path) -> Option<PathBuf> {
    let dir = wasm.with_extension("fixtures");
    dir.is_dir().then_some(dir)
}

/// The scenarios of a `NAME.fixtures/` folder (one per sub-folder, or the
/// folder itself), named `NAME.fixtures/SCENARIO` in reports.
pub fn load_beside(dir: &Path) -> Result<Vec<Scenario>> {
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
pub(super) fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
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

/// Copies a file through a temporary file and a rename, so that a watcher
/// never sees half of it under its name.
pub(super) fn copy_atomically(from: &Path, to: &Path) -> Result<()> {
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

pub(super) fn copy_dir(from: &Path, to: &Path) -> Result<()> {
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
