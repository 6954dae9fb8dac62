//! The EcoWatt guest: a WASI preview-2 component on the
//! `hellowatt:scraper@4.0.0` contract (`wit/scraper.wit`) that returns
//! RTE's EcoWatt signals (the grid's stress level of a day and of each of
//! its hours) for the days of a window that RTE has published.
//!
//! What it owns: the one request of a sync (`GET
//! /open_api/ecowatt/v5/signals`), reading its payload with every shape the
//! public clients have seen tolerated (days out of order, hours missing, a
//! 23- or 25-hour day, a free `message`), and turning every answer it does
//! not expect into a typed `sync-error`.
//!
//! What it must never do: see, ask for or send a credential. RTE's API
//! wants an OAuth2 bearer token; the host obtains it with the client
//! credentials it keeps, and adds the `Authorization` header to this
//! guest's requests to RTE's origin, as a browser adds a cookie. This
//! guest sets no `Authorization` header (the host refuses one) and reads
//! nothing of the request's credentials. Nor must it keep anything between
//! calls, retry or wait (RTE allows one call every 15 minutes: the host's
//! schedule keeps to it), follow a redirect, return a day outside the
//! window, panic on anything the network sends, or touch a file, socket,
//! clock or random source.
//!
//! All of it is plain Rust, tested natively (`cargo test -p
//! hellowatt-guest-ecowatt`):
//! - [`api`]: the flow of one `sync` call;
//! - [`parse`]: the signals payload to typed days;
//! - [`errors`]: statuses to typed errors;
//! - this root: [`EcoWatt`], the guest's `Scraper`, registered as the
//!   component.

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

/// The EcoWatt scraper. It keeps nothing between `sync` calls.
#[derive(Debug, Default, Clone, Copy)]
pub struct EcoWatt;

impl Scraper for EcoWatt {
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
hellowatt_guest_kit::register_scraper!(EcoWatt);

/// Short stable name (`describe().name`).
pub const NAME: &str = "ecowatt";

/// The guest's own version (`describe().version`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The contract version the guest declares (`describe().contract`).
pub const CONTRACT: &str = hellowatt_snapshot::CONTRACT_VERSION;

/// Free text for people (`describe().description`).
pub const DESCRIPTION: &str = "RTE's EcoWatt signals (a day's level and each hour's: green, \
     orange, red; green with low-carbon production), today and the days RTE has published, \
     from digital.iservices.rte-france.com (GET /open_api/ecowatt/v5/signals, one request per \
     sync; the host adds RTE's bearer token)";
