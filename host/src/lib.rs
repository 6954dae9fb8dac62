//! hellowatt: brings a household's helloWatt data home.
//!
//! The scraper is a sandboxed WebAssembly component (`wit/scraper.wit`);
//! this crate is the native host around it. Data flows one way:
//! `config` → `sync` → `runtime` (guest, behind `policy`) → `validate` →
//! `store` → outputs (`api` with the dashboard and metrics, `mqtt`,
//! `export`, `cli` status). `service` runs it all on the `scheduler`'s
//! timing. `sim` is a fake of the site
//! for tests and the demo; `check` proves a guest on the recorded fixtures.

pub mod api;
pub mod cache;
pub mod check;
pub mod cli;
pub mod cli_guest;
pub mod config;
pub mod contract;
pub mod demo;
pub mod export;
pub mod mqtt;
pub mod policy;
pub mod record;
pub mod redact;
pub mod registry;
pub mod runtime;
pub mod scheduler;
pub mod service;
pub mod signature;
pub mod sim;
pub mod slot;
pub mod store;
pub mod sync;
pub mod tempo;
pub mod validate;

/// The helloWatt guest built from `guest/` by the build script: the default
/// when no `guest` is configured.
pub static BUNDLED_GUEST: &[u8] = include_bytes!(env!("HELLOWATT_GUEST_WASM"));

/// The Tempo guest built from `guest-tempo/`: the bundled guest of the
/// Tempo slot.
pub static BUNDLED_TEMPO_GUEST: &[u8] = include_bytes!(env!("HELLOWATT_TEMPO_GUEST_WASM"));

/// Where the build script left the test-only hostile guest.
pub const HOSTILE_GUEST_PATH: &str = env!("HELLOWATT_HOSTILE_WASM");
