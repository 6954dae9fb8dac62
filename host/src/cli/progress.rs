//! `hellowatt sync`'s progress on a terminal: one bar (months stored of the
//! run's total, requests sent, time left) instead of a log line per request,
//! with warnings printed above it. When stderr is not a terminal (a pipe, a
//! log file, the journal) there is no bar and the log lines are as ever.
//!
//! It owns the bar and the log writer that keeps lines from tearing it; it
//! never decides what is logged (the filter is `init_tracing`'s).

use crate::sync::{Progress, RequestCounter};
use hellowatt_snapshot::Date;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::io::{IsTerminal as _, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// The bar on screen, if any: the log writer prints above it.
static SHOWN: OnceLock<ProgressBar> = OnceLock::new();

/// Whether a bar can be drawn: stderr is a terminal that draws.
pub fn wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// The `tracing` writer: stderr, lines printed above the bar when one is
/// shown so that neither tears the other.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let write = || std::io::stderr().lock().write_all(buf);
        match SHOWN.get() {
            Some(bar) => bar.suspend(write)?,
            None => write()?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// A sync's bar: [`Progress`] for `crate::sync::run_watched`.
pub struct SyncBar {
    bar: ProgressBar,
    requests: Arc<Mutex<Option<RequestCounter>>>,
}

impl SyncBar {
    /// A bar on stderr, drawn from the run's start.
    pub fn new() -> SyncBar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let requests = Arc::new(Mutex::new(None::<RequestCounter>));
        bar.set_style(style(&requests, RUNNING));
        let _ = SHOWN.set(bar.clone());
        SyncBar { bar, requests }
    }

    /// The run ended: the last frame stays, with the time it took.
    pub fn finish(&self, ok: bool) {
        self.bar
            .set_style(style(&self.requests, if ok { DONE } else { FAILED }));
        self.bar.finish();
        // indicatif leaves the cursor after the last frame: what the
        // command prints next starts on a line of its own.
        let _ = writeln!(std::io::stderr());
    }
}

impl Default for SyncBar {
    fn default() -> Self {
        SyncBar::new()
    }
}

const RUNNING: &str =
    "{spinner} [{bar:30}] {pos}/{len} months · {requests} requests · {eta} left {msg}";
const DONE: &str = "✔ [{bar:30}] {pos}/{len} months · {requests} requests · {elapsed} {msg}";
const FAILED: &str =
    "✘ [{bar:30}] {pos}/{len} months · {requests} requests · stopped after {elapsed} {msg}";

fn style(requests: &Arc<Mutex<Option<RequestCounter>>>, template: &str) -> ProgressStyle {
    let requests = Arc::clone(requests);
    let count = move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
        let n = requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, RequestCounter::get);
        let _ = w.write_str(&n.to_string());
    };
    ProgressStyle::with_template(template)
        // The templates are constants: a typo is a bug the tests show.
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("requests", count)
        .progress_chars("=> ")
}

impl Progress for SyncBar {
    fn start(&self, parts: usize, requests: RequestCounter) {
        *self.requests.lock().unwrap_or_else(|e| e.into_inner()) = Some(requests);
        self.bar.set_length(parts as u64);
        self.bar.set_position(0);
        self.bar.reset_eta();
        // Redraws while a month is fetched: the request count moves.
        self.bar.enable_steady_tick(Duration::from_millis(200));
    }

    fn part_done(&self, done: usize, start: Date, _end: Date) {
        self.bar.set_position(done as u64);
        self.bar
            .set_message(format!("(last: {})", &start.to_string()[..7]));
    }
}
