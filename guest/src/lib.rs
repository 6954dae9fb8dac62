//! The helloWatt scraper guest: a WASI preview-2 component on the
//! `hellowatt:scraper@1.0.0` contract (`wit/scraper.wit`).
//!
//! It logs in to the helloWatt customer area, reads the homes, contracts,
//! daily electricity and gas, the load curve and temperatures of one
//! window, and returns them as a typed snapshot (or a typed error). It
//! talks to the site only through `wasi:http/outgoing-handler`, which the
//! host filters, and keeps its session in memory between `sync` calls of
//! one instance.
//!
//! Everything but the two wasm-only modules is plain Rust, tested natively
//! (`cargo test -p hellowatt-guest`) against the cassettes of `fixtures/`:
//! - [`transport`]: the request/response shapes and the `Transport` trait;
//! - [`session`]: cookies, CSRF token, log-in;
//! - [`api`]: the flow of one `sync` call;
//! - [`parse`]: JSON payloads to snapshot records;
//! - [`errors`]: the site's answers to typed errors;
//! - [`logging`]: diagnostics as a trait;
//! - `component` (wasm32 only): `describe` and `sync` exported, the session
//!   kept between calls, and `Transport` over `wasi:http`.
//!
//! What every guest needs alike (the contract's bindings, the conversions
//! to and from WIT, the `wasi:http` mechanics, `Retry-After`, the logging
//! trait) is in `hellowatt-guest-kit`; `logging` and parts of `transport`
//! and `errors` re-export it.

pub mod api;
pub mod errors;
pub mod parse;
pub mod session;
pub mod transport;

/// Diagnostics as a trait (shared with the other guests).
pub use hellowatt_guest_kit::logging;

#[cfg(target_arch = "wasm32")]
mod component;

/// Short stable name (`describe().name`).
pub const NAME: &str = "hellowatt";

/// The guest's own version (`describe().version`). The test-only `v2`
/// feature reports `1.1.0-test`.
pub const VERSION: &str = if cfg!(feature = "v2") {
    "1.1.0-test"
} else {
    env!("CARGO_PKG_VERSION")
};

/// The contract version the guest declares (`describe().contract`). The
/// test-only `contract2` feature declares `2.0.0`, which no host runs.
pub const CONTRACT: &str = if cfg!(feature = "contract2") {
    "2.0.0"
} else {
    hellowatt_snapshot::CONTRACT_VERSION
};

/// Free text for people (`describe().description`).
pub const DESCRIPTION: &str = "helloWatt customer area (www.hellowatt.fr): homes, contracts, \
     daily electricity and gas (kWh, EUR per tariff period, CO2, solar, injection, Tempo colours \
     of past days), the 30-minute load curve, outdoor temperatures";
