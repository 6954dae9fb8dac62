//! Where a slot's registry keeps its files and whom it trusts, from the
//! configuration, and the one way the service and the CLI open it.

use super::{Registry, RegistryOptions};
use crate::config::Config;
use crate::registry::signature;
use crate::sandbox::runtime::Runtime;
use crate::slot::Slot;
use crate::store::Store;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the registry's files are and which publishers it trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestSettings {
    /// The folder people drop guests into (`HELLOWATT_GUESTS_DIR`, default
    /// `guests/`).
    pub dir: PathBuf,
    /// The registry's private folder: kept copies of accepted guests and
    /// compiled artifacts. Beside the database: `hellowatt.db` →
    /// `hellowatt.guests/`.
    pub state_dir: PathBuf,
    /// The scenarios every candidate must pass (`HELLOWATT_FIXTURES_DIR`;
    /// `None`: the shipped ones, built into the binary).
    pub fixtures_dir: Option<PathBuf>,
    /// Trusted publisher keys, hex (`HELLOWATT_TRUSTED_KEYS`, separated by
    /// commas or spaces). None: unsigned guests are accepted.
    pub trusted_keys: Vec<String>,
}

impl GuestSettings {
    pub const DEFAULT_DIR: &'static str = "guests";

    /// The compiled-guest cache of this registry (every command's too).
    pub fn cache_dir(&self) -> PathBuf {
        cache_dir(&self.state_dir)
    }

    /// The settings from the environment and the database path. (Until the
    /// configuration file carries `guests_dir`, `trusted_keys` and
    /// `fixtures_dir`, the environment is where they come from.)
    pub fn from_env(db: &Path, env: impl Fn(&str) -> Option<String>) -> GuestSettings {
        let non_empty = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        GuestSettings {
            dir: non_empty("HELLOWATT_GUESTS_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(Self::DEFAULT_DIR)),
            state_dir: state_dir_for(db),
            fixtures_dir: non_empty("HELLOWATT_FIXTURES_DIR").map(PathBuf::from),
            trusted_keys: non_empty("HELLOWATT_TRUSTED_KEYS")
                .map(|v| {
                    v.split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|k| !k.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The settings of the configuration (`guests_dir`, `fixtures_dir`,
    /// `trusted_keys`, each also `HELLOWATT_<KEY>`).
    pub fn from_config(config: &Config) -> GuestSettings {
        GuestSettings {
            dir: config.guests_dir.clone(),
            state_dir: state_dir_for(&config.db),
            fixtures_dir: config.fixtures_dir.clone(),
            trusted_keys: config.trusted_keys.clone(),
        }
    }
}

/// The compiled-guest cache inside a registry's private folder.
pub fn cache_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("cache")
}

/// The registry's private folder for a database file.
pub fn state_dir_for(db: &Path) -> PathBuf {
    db.with_extension("guests")
}

/// Opens a slot's registry on the process's runtime (the service's: one
/// engine per process).
pub async fn open_slot(
    runtime: Arc<Runtime>,
    config: &Config,
    settings: &GuestSettings,
    slot: Slot,
) -> Result<Registry> {
    // The shipped scenarios are built in, so an installed binary proves
    // guests without the source tree; a folder can replace them.
    let fixtures = slot.scenarios(settings.fixtures_dir.as_deref())?;
    let trusted_keys =
        signature::parse_public_keys(&settings.trusted_keys).context("HELLOWATT_TRUSTED_KEYS")?;
    let store =
        Store::open(&config.db).with_context(|| format!("opening {}", config.db.display()))?;
    Registry::open(
        runtime,
        store,
        RegistryOptions {
            slot,
            guests_dir: slot.folder(&settings.dir),
            state_dir: settings.state_dir.clone(),
            limits: config.limits.clone(),
            requests: config.requests_for(slot),
            fixtures,
            trusted_keys,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_environment() {
        let s = GuestSettings::from_env(Path::new("/var/lib/hellowatt/hellowatt.db"), |_| None);
        assert_eq!(s.dir, PathBuf::from("guests"));
        assert_eq!(
            s.state_dir,
            PathBuf::from("/var/lib/hellowatt/hellowatt.guests")
        );
        assert!(s.trusted_keys.is_empty());
        let s = GuestSettings::from_env(Path::new("x.db"), |k| match k {
            "HELLOWATT_GUESTS_DIR" => Some("/srv/guests".into()),
            "HELLOWATT_TRUSTED_KEYS" => Some("aa, bb cc".into()),
            _ => None,
        });
        assert_eq!(s.dir, PathBuf::from("/srv/guests"));
        assert_eq!(s.trusted_keys, ["aa", "bb", "cc"]);
    }
}
