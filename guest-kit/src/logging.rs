//! Diagnostics the flows emit, as a trait so that a flow stays plain Rust:
//! a component routes them to the host's `log` import ([`HostLog`], wasm32
//! only), native tests collect them ([`Collect`]).
//!
//! This module owns only the levels, the trait and those sinks. Callers
//! must never pass credentials, cookies, CSRF tokens or response bodies:
//! messages name steps, endpoints, dates and counts.

/// Mirrors the contract's `log.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

pub trait Log {
    fn log(&mut self, level: Level, message: &str);

    fn info(&mut self, message: &str) {
        self.log(Level::Info, message);
    }

    fn warn(&mut self, message: &str) {
        self.log(Level::Warn, message);
    }
}

/// Discards everything.
pub struct NoLog;

impl Log for NoLog {
    fn log(&mut self, _level: Level, _message: &str) {}
}

/// Keeps every message, for tests and for callers that report later.
#[derive(Debug, Default)]
pub struct Collect(pub Vec<(Level, String)>);

impl Log for Collect {
    fn log(&mut self, level: Level, message: &str) {
        self.0.push((level, message.to_string()));
    }
}

/// Routes a flow's diagnostics to the host's `log` import.
#[cfg(target_arch = "wasm32")]
pub struct HostLog;

#[cfg(target_arch = "wasm32")]
impl Log for HostLog {
    fn log(&mut self, level: Level, message: &str) {
        use crate::bindings::hellowatt::scraper::log as host_log;
        let level = match level {
            Level::Trace => host_log::Level::Trace,
            Level::Debug => host_log::Level::Debug,
            Level::Info => host_log::Level::Info,
            Level::Warn => host_log::Level::Warn,
            Level::Error => host_log::Level::Error,
        };
        host_log::log(level, message);
    }
}
