//! The helloWatt scraper guest: a WASI preview-2 component on the
//! `hellowatt:scraper@4.0.0` contract (`wit/scraper.wit`).
//!
//! It logs in to the helloWatt customer area, reads the homes, contracts,
//! daily electricity and gas, the load curve and temperatures of one
//! window, and returns them as a typed snapshot (or a typed error). It
//! talks to the site only through `wasi:http/outgoing-handler`, which the
//! host filters, and keeps its session in memory between `sync` calls of
//! one instance ([`HelloWatt`], the guest's `Scraper`).
//!
//! All of it is plain Rust, tested natively (`cargo test -p
//! hellowatt-guest`) against the cassettes of `fixtures/`:
//! - [`session`]: cookies, CSRF token, log-in;
//! - [`api`]: the flow of one `sync` call;
//! - [`parse`]: JSON payloads to snapshot records (the measure payloads
//!   first the typed way, [`parse::typed`], without a `Value` tree);
//! - [`errors`]: the site's answers to typed errors;
//! - this root: [`HelloWatt`], the session slot kept between calls and
//!   the guest's `describe` constants, registered as the component.
//!
//! What every guest needs alike (the `Scraper` trait and the component
//! adapter with the contract's bindings, the conversions to and from WIT,
//! the request and response shapes and `Transport` over `wasi:http`,
//! `Retry-After`, the logging trait) is in `hellowatt-guest-kit`;
//! [`transport`] and [`logging`] are its modules, re-exported, and
//! `errors` uses its wordings. The guest never sees the password: it puts
//! the host's placeholder in the log-in form, and the host, which also
//! keeps the session cookie, fills in the password.

pub mod api;
pub mod errors;
pub mod parse;
pub mod session;

/// Diagnostics as a trait (shared with the other guests).
pub use hellowatt_guest_kit::logging;
/// The request and response shapes and the `Transport` trait (shared with
/// the other guests); every request of this flow has the default body
/// limit, a body beyond it a transport error.
pub use hellowatt_guest_kit::transport;

use hellowatt_guest_kit::logging::Log;
use hellowatt_guest_kit::transport::Transport;
use hellowatt_guest_kit::{Info, Scraper};
use hellowatt_snapshot::{Snapshot, SyncError, SyncRequest};
use session::Session;

/// The helloWatt scraper: the session of one instance (cookies and CSRF
/// token of one base URL and login), reused by its next `sync` call.
#[derive(Default)]
pub struct HelloWatt {
    session: Option<Session>,
}

impl Scraper for HelloWatt {
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
        if cfg!(feature = "trap") {
            panic!("the `trap` test build of the guest panics on purpose");
        }
        api::sync(http, &mut self.session, request, log)
    }
}

// The component's exports (wasm32 only; nothing natively).
hellowatt_guest_kit::register_scraper!(HelloWatt);

/// Short stable name (`describe().name`).
pub const NAME: &str = "hellowatt";

/// The guest's own version (`describe().version`). The test-only `v2`
/// feature reports `1.1.0-test`, `values-renamed` `1.2.0-test`.
pub const VERSION: &str = if cfg!(feature = "v2") {
    "1.1.0-test"
} else if cfg!(feature = "values-renamed") {
    "1.2.0-test"
} else {
    env!("CARGO_PKG_VERSION")
};

/// The contract version the guest declares (`describe().contract`). The
/// test-only `contract-next` feature declares the next major, `5.0.0`,
/// which no host runs.
pub const CONTRACT: &str = if cfg!(feature = "contract-next") {
    "5.0.0"
} else {
    hellowatt_snapshot::CONTRACT_VERSION
};

/// Free text for people (`describe().description`).
pub const DESCRIPTION: &str = "helloWatt customer area (www.hellowatt.fr): homes, contracts, \
     daily electricity and gas (kWh, EUR per tariff period, CO2, solar, injection, Tempo colours \
     of past days), the 30-minute load curve, outdoor temperatures";
