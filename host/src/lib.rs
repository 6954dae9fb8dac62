pub mod check;
pub mod config;
pub mod contract;
pub mod policy;
pub mod redact;
pub mod runtime;
pub mod validate;
pub static BUNDLED_GUEST: &[u8] = include_bytes!(env!("HELLOWATT_GUEST_WASM"));
pub const HOSTILE_GUEST_PATH: &str = env!("HELLOWATT_HOSTILE_WASM");
