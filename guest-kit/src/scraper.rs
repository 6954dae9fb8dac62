//! The plain Rust side of a guest: the [`Scraper`] trait a guest
//! implements, and the component adapter that
//! [`register_scraper!`](crate::register_scraper) (at the crate root) puts
//! in front of it.
//!
//! This module owns the edge every guest shares: `describe` answered from
//! [`Scraper::INFO`], the WIT `sync-request` converted to the model's
//! [`SyncRequest`] (credentials included, moved untouched), one scraper
//! value per instance kept between `sync` calls (a `sync` while another
//! runs is refused), the `wasi_http::WasiHttp` transport for the
//! request's base URL, the host's `log` import, and the result converted
//! back. It must never hold a guest's flow or parsing, read or log the
//! credentials, retry, or keep anything between calls but the scraper
//! value itself.

use crate::logging::Log;
use crate::transport::Transport;
use hellowatt_snapshot::{DataKind, Snapshot, SyncError, SyncRequest};

/// What `describe()` answers, as constants of the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Short stable name.
    pub name: &'static str,
    /// The guest's own version.
    pub version: &'static str,
    /// The contract version the guest declares.
    pub contract: &'static str,
    /// The data kinds the guest provides.
    pub provides: &'static [DataKind],
    /// Free text for people.
    pub description: &'static str,
}

/// A guest's flow behind the contract, as plain Rust: native tests call it
/// directly, and [`register_scraper!`](crate::register_scraper) exports it
/// as the component.
///
/// The value is the state of one guest instance, kept between its `sync`
/// calls (`Default` makes the first); a guest with no state is a unit
/// struct.
pub trait Scraper: Default + 'static {
    /// `describe()`'s answer.
    const INFO: Info;

    /// One `sync` call: `http` reaches the request's base URL (and only
    /// what the host allows), `log` goes to the host.
    fn sync(
        &mut self,
        http: &mut dyn Transport,
        request: &SyncRequest,
        log: &mut dyn Log,
    ) -> Result<Snapshot, SyncError>;
}

/// What [`register_scraper!`](crate::register_scraper) expands to calls:
/// generic functions, so that the macro's body stays a few lines.
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod __adapter {
    use super::Scraper;
    use crate::bindings::hellowatt::scraper::types as wit;
    use crate::convert::{error_to_wit, guest_info, request_from_wit, snapshot_to_wit};
    use crate::logging::HostLog;
    use crate::wasi_http::WasiHttp;
    use hellowatt_snapshot::SyncError;
    use std::cell::RefCell;
    use std::thread::LocalKey;

    /// The instance's scraper, made on the first `sync`.
    pub type Slot<S> = RefCell<Option<S>>;

    pub fn describe<S: Scraper>() -> wit::GuestInfo {
        let info = S::INFO;
        guest_info(
            info.name,
            info.version,
            info.contract,
            info.provides,
            info.description,
        )
    }

    pub fn sync<S: Scraper>(
        slot: &'static LocalKey<Slot<S>>,
        request: wit::SyncRequest,
    ) -> Result<wit::Snapshot, wit::SyncError> {
        let req = request_from_wit(request).map_err(error_to_wit)?;
        let result = match WasiHttp::new(&req.base_url) {
            Ok(mut http) => slot.with(|slot| match slot.try_borrow_mut() {
                Ok(mut slot) => {
                    slot.get_or_insert_with(S::default)
                        .sync(&mut http, &req, &mut HostLog)
                }
                Err(_) => Err(SyncError::Other {
                    detail: "sync called while another sync runs".into(),
                }),
            }),
            Err(e) => Err(e),
        };
        result.map(snapshot_to_wit).map_err(error_to_wit)
    }
}

/// Exports a [`Scraper`] as the component: `register_scraper!(MyType);`
/// once, at the guest crate's root. On wasm32 it expands to the contract's
/// exports (`describe`, `sync`) over the kit's adapter, with one `MyType`
/// per instance kept between `sync` calls; on any other target, to
/// nothing (native tests call the trait directly).
///
/// Its paths into this crate start at `$crate`, so that it works from the
/// guest's crate whatever name that gives this one.
#[macro_export]
macro_rules! register_scraper {
    ($scraper:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            ::std::thread_local! {
                static SCRAPER: $crate::scraper::__adapter::Slot<$scraper> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct Component;

            impl $crate::bindings::Guest for Component {
                fn describe() -> $crate::bindings::hellowatt::scraper::types::GuestInfo {
                    $crate::scraper::__adapter::describe::<$scraper>()
                }

                fn sync(
                    request: $crate::bindings::hellowatt::scraper::types::SyncRequest,
                ) -> ::core::result::Result<
                    $crate::bindings::hellowatt::scraper::types::Snapshot,
                    $crate::bindings::hellowatt::scraper::types::SyncError,
                > {
                    $crate::scraper::__adapter::sync::<$scraper>(&SCRAPER, request)
                }
            }

    $crate::bindings::export!(Component with_types_in $crate::bindings);
        };
    };
}
