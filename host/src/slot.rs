//! Guest slots: the places a guest serves in, side by side.
//!
//! A slot is named after the guest that serves in it: `hellowatt` (the
//! helloWatt scraper), `tempo` (the public Tempo services) and `ecowatt`
//! (RTE's EcoWatt signals). Each slot has
//! its own bundled guest, its own fixture scenarios that a candidate must
//! pass, its own drop folder, and its own active and previous guest in the
//! store, so that each is hot-swapped and rolled back independently.
//! What a slot's guest may reach (its origins, its pacing) and when it runs
//! come from the host's configuration, never from the guest.
//!
//! This file only names things; it must never run or judge a guest.

use crate::sandbox::policy::RequestRules;
use anyhow::{Result, anyhow, bail};
use hellowatt_fixtures::Scenario;
use std::path::{Path, PathBuf};

/// The store files the Tempo slot's runs under this name; a configured
/// account cannot take it (names starting with `@` are reserved).
pub const TEMPO_ACCOUNT: &str = "@tempo";

/// The store files the EcoWatt slot's runs under this name.
pub const ECOWATT_ACCOUNT: &str = "@ecowatt";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Hellowatt,
    Tempo,
    Ecowatt,
}

impl Slot {
    pub const ALL: [Slot; 3] = [Slot::Hellowatt, Slot::Tempo, Slot::Ecowatt];

    /// The slot's name: the store's `slot` column, and the name the guest's
    /// `describe()` must give.
    pub fn name(self) -> &'static str {
        match self {
            Slot::Hellowatt => "hellowatt",
            Slot::Tempo => "tempo",
            Slot::Ecowatt => "ecowatt",
        }
    }

    pub fn parse(name: &str) -> Result<Slot> {
        Slot::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                anyhow!(
                    "no guest slot is called {name:?}: the slots are hellowatt, tempo and ecowatt"
                )
            })
    }

    /// The guest built into hellowatt for this slot.
    pub fn bundled(self) -> &'static [u8] {
        match self {
            Slot::Hellowatt => crate::BUNDLED_GUEST,
            Slot::Tempo => crate::BUNDLED_TEMPO_GUEST,
            Slot::Ecowatt => crate::BUNDLED_ECOWATT_GUEST,
        }
    }

    /// The origin this slot's fixture scenarios were recorded against:
    /// what a replay serves and the base URL the guest is given.
    pub fn recorded_origin(self) -> &'static str {
        match self {
            Slot::Hellowatt => hellowatt_fixtures::SITE_ORIGIN,
            Slot::Tempo => hellowatt_fixtures::TEMPO_SITE_ORIGIN,
            Slot::Ecowatt => hellowatt_fixtures::ECOWATT_SITE_ORIGIN,
        }
    }

    /// The requests this slot's guest may make when the configuration
    /// names none: the helloWatt scraper's log-in and API, the Tempo
    /// services' bare GETs, the EcoWatt signals' GET (never RTE's token
    /// endpoint: the host asks for tokens itself).
    pub fn default_requests(self) -> RequestRules {
        match self {
            Slot::Hellowatt => RequestRules::hellowatt(),
            Slot::Tempo => RequestRules::tempo(),
            Slot::Ecowatt => RequestRules::ecowatt(),
        }
    }

    /// The folder people drop this slot's guests into: the guest folder
    /// itself for the helloWatt scraper, its `tempo/` and `ecowatt/`
    /// sub-folders for the Tempo and EcoWatt guests.
    pub fn folder(self, guests_dir: &Path) -> PathBuf {
        match self {
            Slot::Hellowatt => guests_dir.to_path_buf(),
            Slot::Tempo => guests_dir.join("tempo"),
            Slot::Ecowatt => guests_dir.join("ecowatt"),
        }
    }

    /// The scenarios a candidate for this slot must pass: the built-in
    /// ones, or for the helloWatt slot those of a folder (`fixtures_dir`).
    /// The Tempo and EcoWatt slots always use their built-in scenarios.
    pub fn scenarios(self, fixtures_dir: Option<&Path>) -> Result<Vec<Scenario>> {
        let loaded = match (self, fixtures_dir) {
            (Slot::Hellowatt, Some(dir)) => hellowatt_fixtures::load_scenarios(dir),
            (Slot::Hellowatt, None) => hellowatt_fixtures::embedded_scenarios(),
            (Slot::Tempo, _) => hellowatt_fixtures::embedded_tempo_scenarios(),
            (Slot::Ecowatt, _) => hellowatt_fixtures::embedded_ecowatt_scenarios(),
        };
        loaded.map_err(|e| match (self, fixtures_dir) {
            (Slot::Hellowatt, Some(dir)) => anyhow!(
                "loading the fixture scenarios in {} (`fixtures_dir`): {e}",
                dir.display()
            ),
            _ => anyhow!("reading the built-in {self} fixture scenarios: {e}"),
        })
    }

    /// Checks that a guest belongs here: its `describe()` name is the
    /// slot's. The message says where the guest should go instead.
    pub fn admits(self, guest_name: &str) -> Result<()> {
        if guest_name == self.name() {
            return Ok(());
        }
        match Slot::parse(guest_name) {
            Ok(other) => bail!(
                "this is the {} guest, not a {} guest: drop it in the {} guest folder ({})",
                other.name(),
                self.name(),
                other.name(),
                match other {
                    Slot::Hellowatt => "the guest folder itself",
                    Slot::Tempo => "the guest folder's tempo/ sub-folder",
                    Slot::Ecowatt => "the guest folder's ecowatt/ sub-folder",
                }
            ),
            Err(_) => bail!(
                "this guest calls itself {guest_name:?}: the {} slot takes only a guest named {:?}",
                self.name(),
                self.name()
            ),
        }
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
