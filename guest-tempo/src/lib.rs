//! The Tempo guest: a WASI preview-2 component on the
//! `hellowatt:scraper@4.0.0` contract (`wit/scraper.wit`) that returns the
//! Tempo colour of every day of a window, as announced by a public Tempo
//! service.
//!
//! What it owns: choosing the service from the base URL
//! (api-couleur-tempo.fr's `jourTempo`, one request per day, or RTE's
//! `tempoLight`, one request per sync), the switch to `tempoLight` when the
//! first `jourTempo` request answers 404, reading both payloads, and
//! turning every answer it does not expect into a typed `sync-error`.
//!
//! What it must never do: read, use or log the credentials (the host
//! passes empty ones; the request this guest gets still has the fields,
//! and no code of it reads them), keep anything between calls ([`Tempo`]
//! holds no state), retry or wait (the host decides, from the error
//! case), follow a redirect, return a day outside the asked window, panic
//! on anything the network sends, or touch a file, socket, clock or random
//! source: its only way out is `wasi:http/outgoing-handler`, which the
//! host filters.
//!
//! All of it is plain Rust, tested natively (`cargo test -p
//! hellowatt-guest-tempo`) against the cassettes of `fixtures/tempo/`:
//! - [`api`]: the flow of one `sync` call;
//! - [`parse`]: both payloads to typed colours;
//! - [`errors`]: statuses to typed errors;
//! - this root: [`Tempo`], the guest's `Scraper`, and its `describe`
//!   constants, registered as the component.
//!
//! What every guest needs alike (the `Scraper` trait and the component
//! adapter with the contract's bindings, the conversions to and from WIT,
//! the request and response shapes and `Transport` over `wasi:http`,
//! `Retry-After`, the logging trait, the base URL) is in
//! `hellowatt-guest-kit`, shared with the helloWatt guest; [`transport`]
//! and [`logging`] are its modules, re-exported, and `errors` uses its
//! wordings.

pub mod api;
pub mod errors;
pub mod parse;

/// Diagnostics as a trait (shared with the other guests).
pub use hellowatt_guest_kit::logging;
/// The request and response shapes and the `Transport` trait (shared with
/// the other guests).
pub use hellowatt_guest_kit::transport;

use hellowatt_guest_kit::logging::Log;
use hellowatt_guest_kit::transport::Transport;
use hellowatt_guest_kit::{Info, Scraper};
use hellowatt_snapshot::{Snapshot, SyncError, SyncRequest};

/// The Tempo scraper. It keeps nothing between `sync` calls.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tempo;

impl Scraper for Tempo {
    const INFO: Info = Info {
        name: NAME,
        version: VERSION,
        contract: CONTRACT,
        provides: &api::PROVIDES,
        description: DESCRIPTION,
    };

    fn sync(
        &mut self,
        http: &mut dyn Transport,
        request: &SyncRequest,
        log: &mut dyn Log,
    ) -> Result<Snapshot, SyncError> {
        api::sync(http, request, log)
    }
}

// The component's exports (wasm32 only; nothing natively).
hellowatt_guest_kit::register_scraper!(Tempo);

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
