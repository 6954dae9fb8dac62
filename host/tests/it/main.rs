//! The host's integration tests, one binary (wasmtime is linked once, and
//! one engine and one compiled guest serve every module: `common`). A
//! module per topic; `cargo test -p hellowatt --test it faults::` runs one.

mod common;

mod api;
#[cfg(target_os = "linux")]
mod bench_script;
mod browser;
mod cli_errors;
mod e2e;
mod ecowatt;
mod faults;
mod fuzz_validate;
mod guest_check;
mod guest_secrets;
mod guest_template;
mod home_assistant;
mod hot_swap;
mod mqtt;
#[cfg(target_os = "linux")]
mod package;
mod progress;
mod real_site;
mod sandbox;
#[cfg(unix)]
mod schemathesis;
#[cfg(unix)]
mod secrets;
mod service;
mod site_change;
mod store_trouble;
mod tempo;
