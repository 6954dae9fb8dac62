//! Diagnostics the flow emits, as a trait so that the flow stays plain Rust:
//! the component routes them to the host's `log` import, native tests
//! collect them. (A trimmed copy of the helloWatt guest's `logging`.)
//!
//! This module owns only the levels and the trait. Callers must never pass
//! credentials or response bodies: messages name endpoints, dates and
//! counts.

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

/// Keeps every message, for tests.
#[derive(Debug, Default)]
pub struct Collect(pub Vec<(Level, String)>);

impl Log for Collect {
    fn log(&mut self, level: Level, message: &str) {
        self.0.push((level, message.to_string()));
    }
}
