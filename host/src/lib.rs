//! hellowatt: brings a household's helloWatt data home.
//!
//! The scraper is a sandboxed WebAssembly component (`wit/scraper.wit`);
//! this crate is the native host around it. Data flows one way:
//! `config` → `sync` → `runtime` (guest, behind `policy`) → `validate` →
//! `store` → outputs (`export`, `cli` status). `sim` is a fake of the site
//! for tests and the demo; `check` proves a guest on the recorded fixtures.

pub mod cache;
pub mod check;
pub mod cli;
pub mod cli_guest;
pub mod config;
pub mod contract;
pub mod demo;
pub mod export;
pub mod policy;
pub mod redact;
pub mod registry;
pub mod runtime;
pub mod signature;
pub mod sim;
pub mod store;
pub mod sync;
pub mod validate;

/// The helloWatt guest built from `guest/` by the build script: the default
/// when no `guest` is configured.
pub static BUNDLED_GUEST: &[u8] = include_bytes!(env!("HELLOWATT_GUEST_WASM"));

/// Where the build script left the test-only hostile guest.
pub const HOSTILE_GUEST_PATH: &str = env!("HELLOWATT_HOSTILE_WASM");
