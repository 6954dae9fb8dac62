//! What the hellowatt scraper guests share (`guest/`, the helloWatt site;
//! `guest-tempo/`, the Tempo services): the plumbing between a guest's
//! flow and the `hellowatt:scraper@1.0.0` contract (`wit/scraper.wit`).
//!
//! What it owns, by module:
//! - [`logging`]: the diagnostics trait the flows log through;
//! - [`transport`]: the response shape, the base URL, the "denied" error;
//! - [`errors`]: `Retry-After` and HTTP dates, and the error details every
//!   guest words the same way (a redirect not followed, a 429);
//! - `bindings`, `convert`, `wasi_http` (wasm32 only): the contract's
//!   bindings and their `export!` macro, the conversions between the WIT
//!   types and the model of `hellowatt-snapshot`, and the `wasi:http`
//!   mechanics of one request;
//! - `testing` (feature `testing`, for the guests' native tests only):
//!   cassette replay and the scenario loop.
//!
//! What it must never do: know a site (its pages, paths, JSON, cookies),
//! decide what a status means for a guest beyond the shared wording (each
//! guest classifies its own answers), hold state between calls, retry,
//! follow a redirect, or read a clock: a guest's flow, parsing and error
//! classification stay in that guest.

pub mod errors;
pub mod logging;
pub mod transport;

/// The bindings of the contract (and of the WASI packages it uses), for
/// every guest: one `generate!` for the whole workspace. A guest exports
/// itself with `hellowatt_guest_kit::bindings::export!(MyGuest)`, which
/// also embeds the world's type information in that guest's component.
/// Generated code: lints are the generator's business.
#[cfg(target_arch = "wasm32")]
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "scraper",
        generate_all,
        // The guests are other crates: the macro must be `pub` and find
        // the types here, not next to where it is invoked.
        pub_export_macro: true,
        export_macro_name: "export",
        default_bindings_module: "::hellowatt_guest_kit::bindings",
    });
}

#[cfg(target_arch = "wasm32")]
pub mod convert;
#[cfg(target_arch = "wasm32")]
pub mod wasi_http;

#[cfg(feature = "testing")]
pub mod testing;
