//! The Tempo guest: a WASI preview-2 component on the
//! `hellowatt:scraper@1.0.0` contract (`wit/scraper.wit`) that returns the
//! Tempo colour of every day of a window, as announced by a public Tempo
//! service.
//!
//! What it owns: choosing the service from the base URL
//! (api-couleur-tempo.fr's `jourTempo`, one request per day, or RTE's
//! `tempoLight`, one request per sync), the switch to `tempoLight` when the
//! first `jourTempo` request answers 404, reading both payloads, and
//! turning every answer it does not expect into a typed `sync-error`.
//!
//! What it must never do: use or log the credentials (the host passes empty
//! ones; this guest does not even carry them past the component's edge),
//! retry or wait (the host decides, from the error case), follow a
//! redirect, return a day outside the asked window, panic on anything the
//! network sends, or touch a file, socket, clock or random source: its only
//! way out is `wasi:http/outgoing-handler`, which the host filters.
//!
//! Everything but the wasm-only module is plain Rust, tested natively
//! (`cargo test -p hellowatt-guest-tempo`) against the cassettes of
//! `fixtures/tempo/`:
//! - [`transport`]: the GET request shape and the `Transport` trait;
//! - [`api`]: the flow of one `sync` call;
//! - [`parse`]: both payloads to typed colours;
//! - [`errors`]: statuses to typed errors;
//! - [`logging`]: diagnostics as a trait;
//! - `component` (wasm32 only): `describe` and `sync` exported, and
//!   `Transport` over `wasi:http`.
//!
//! What every guest needs alike (the contract's bindings, the conversions
//! to and from WIT, the `wasi:http` mechanics, `Retry-After`, the logging
//! trait, the response and base URL shapes) is in `hellowatt-guest-kit`,
//! shared with the helloWatt guest; `logging` and parts of `transport` and
//! `errors` re-export it.

pub mod api;
pub mod errors;
pub mod parse;
pub mod transport;

/// Diagnostics as a trait (shared with the other guests).
pub use hellowatt_guest_kit::logging;

#[cfg(target_arch = "wasm32")]
mod component;

/// Short stable name (`describe().name`).
pub const NAME: &str = "tempo";

/// The guest's own version (`describe().version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The contract version the guest declares (`describe().contract`).
pub const CONTRACT: &str = hellowatt_snapshot::CONTRACT_VERSION;

/// Free text for people (`describe().description`).
pub const DESCRIPTION: &str = "Tempo day colours (blue, white, red; unknown until announced) \
     from api-couleur-tempo.fr (GET /api/jourTempo/{date}, one request per day), or from RTE's \
     tempoLight (www.services-rte.com, GET /cms/open_data/v1/tempoLight, one request per sync) \
     when the base URL is RTE's or when jourTempo answers 404";
