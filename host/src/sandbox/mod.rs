//! The guest boundary: everything that stands between an untrusted
//! component and the rest of the host.
//!
//! - `contract`: the one bindgen site of `wit/`, and the conversions between
//!   its types and the model (`hellowatt-snapshot`);
//! - `runtime`: the engine, the linker that gives a guest exactly its
//!   allowed imports, and a store per run with its memory, CPU and time
//!   limits;
//! - `policy`: the only way out of a guest, HTTP to the allowed origin,
//!   paced and capped;
//! - `validate`: what a guest returns, checked before anything is stored;
//! - `cache`: compiled components on disk, named by their SHA-256;
//! - `redact`: secrets kept out of whatever a run says.
//!
//! Nothing here decides what to fetch or stores anything: `sync` asks,
//! `store` keeps. What leaves this folder is a validated `Snapshot` or a
//! typed error whose text has been through the redactor.

pub mod cache;
pub mod contract;
pub mod policy;
pub mod redact;
pub mod runtime;
pub mod validate;
