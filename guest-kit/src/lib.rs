//! What the hellowatt scraper guests share (`guest/`, the helloWatt site;
//! `guest-tempo/`, the Tempo services): the plumbing between a guest's
//! flow and the `hellowatt:scraper@4.0.0` contract (`wit/scraper.wit`).
//! A guest implements the plain trait [`Scraper`] and exports itself with
//! one line, `hellowatt_guest_kit::register_scraper!(MyScraper);`.
//!
//! What it owns, by module:
//! - [`scraper`]: the [`Scraper`] trait, and the component adapter that
//!   [`register_scraper!`] expands to (wasm32 only): `describe`, `sync`,
//!   the scraper kept per instance;
//! - [`logging`]: the diagnostics trait the flows log through;
//! - [`transport`]: the request and response shapes, the `Transport` trait,
//!   the base URL, the "denied" error;
//! - [`errors`]: `Retry-After` and HTTP dates, and the error details every
//!   guest words the same way (a redirect not followed, a 429);
//! - `bindings`, `convert`, `wasi_http` (wasm32 only): the contract's
//!   bindings and their `export!` macro, the conversions between the WIT
//!   types and the model of `hellowatt-snapshot`, and `Transport` over
//!   `wasi:http`;
//! - `testing` (feature `testing`, for the guests' native tests only, and
//!   this crate's own tests):
//!   cassette replay and the scenario loop.
//!
//! What it must never do: know a site (its pages, paths, JSON, cookies),
//! decide what a status means for a guest beyond the shared wording (each
//! guest classifies its own answers), hold state between calls other than
//! the guest's own scraper value, read the credentials, retry, follow a
//! redirect, or read a clock: a guest's flow, parsing and error
//! classification stay in that guest.

pub mod errors;
pub mod logging;
pub mod scraper;
pub mod transport;

pub use scraper::{Info, Scraper};

/// The bindings of the contract (and of the WASI packages it uses), for
/// every guest: one `generate!` for the whole workspace. Generated code:
/// lints are the generator's business.
///
/// Private, with only the contract's side re-exported in [`bindings`]: the
/// `wasi:*` import wrappers then stay internal to this crate, so that the
/// optimiser may inline each into its one caller (`wasi_http`), as it did
/// when every guest had its own bindings (public, they cost the Tempo
/// guest about 2.4 KB).
#[cfg(target_arch = "wasm32")]
#[allow(clippy::too_many_arguments)]
mod generated {
    wit_bindgen::generate!({
        path: "../wit",
        world: "scraper",
        generate_all,
        // The guests are other crates: the macro must be `pub` and find
        // the types in `bindings`, not next to where it is invoked.
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "::hellowatt_guest_kit::bindings",
    });
}

/// The contract's side of the bindings: its types and `log` import
/// (`hellowatt::scraper`), the `Guest` trait, and the `export!` macro with
/// the glue it calls. [`register_scraper!`] exports a guest through them,
/// which also embeds the world's type information in that guest's
/// component (a guest that must speak the raw contract could call
/// `export!` itself). The `wasi:*` wrappers are not here: only this
/// crate's `wasi_http` speaks to them.
#[cfg(target_arch = "wasm32")]
pub mod bindings {
    pub use crate::generated::{
        __export_world_scraper_cabi, __post_return_describe, __post_return_sync,
        _export_describe_cabi, _export_sync_cabi, Guest, export, hellowatt,
    };
}

#[cfg(target_arch = "wasm32")]
pub mod convert;
#[cfg(target_arch = "wasm32")]
pub mod wasi_http;

#[cfg(any(test, feature = "testing"))]
pub mod testing;
