//! `hellowatt sync --from` over months: on a terminal a progress bar (its
//! last frame: every month stored, the run's requests, the time it took),
//! and the plain log lines when stderr is not a terminal. The terminal is a
//! real pseudo-terminal, from util-linux's `script` (Debian's bsdutils).

use crate::common::tools;
use hellowatt::store::Store;
use hellowatt_sim::{self as sim, DEMO_LOGIN, DEMO_PASSWORD, SimMode};
use std::path::Path;
use std::process::{Command, Output};

/// Six whole months, well inside the demo's history.
const FROM: &str = "2025-01-01";
const TO: &str = "2025-06-30";
const MONTHS: usize = 6;

fn write_config(dir: &Path, site: &str) -> std::path::PathBuf {
    let config = dir.join("hellowatt.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\nsite_url = \"{site}\"\npacing_ms = 0\ntempo = \"off\"\n\
             kinds = [\"homes\", \"electricity-daily\", \"gas-daily\"]\n",
            dir.join("hellowatt.db").display()
        ),
    )
    .unwrap();
    config
}

fn sync(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hellowatt"));
    cmd.arg("--config")
        .arg(config)
        .args(["sync", "--from", FROM, "--to", TO])
        .env("HELLOWATT_EMAIL", DEMO_LOGIN)
        .env("HELLOWATT_PASSWORD", DEMO_PASSWORD)
        .env("HELLOWATT_GUESTS_DIR", config.with_file_name("guests"))
        .env_remove("RUST_LOG");
    cmd
}

/// The requests of the database's last run.
fn last_run_requests(config: &Path) -> u64 {
    let store = Store::open(&config.with_file_name("hellowatt.db")).unwrap();
    store.runs(None, 1).unwrap()[0].requests
}

/// The text a terminal would show last on each line: the bar redraws with
/// `\r` and erases with escape sequences, so keep what follows the last
/// carriage return of each line, escapes removed.
fn screen_lines(raw: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters, one final byte in @..~.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split('\n')
        .map(|l| {
            l.rsplit('\r')
                .find(|s| !s.trim().is_empty())
                .unwrap_or("")
                .to_owned()
        })
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_gets_a_bar_and_a_pipe_gets_lines() {
    const TEST: &str = "a_terminal_gets_a_bar_and_a_pipe_gets_lines";
    let Some(script) = tools::program(TEST, &["script"], "bsdutils") else {
        return;
    };
    let today = hellowatt::clock::today();
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let url = server.url();

    // A terminal: `script` runs the command on a pseudo-terminal and copies
    // what it drew to its own stdout.
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &url);
    let cmd = sync(&config);
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_str().unwrap().replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let guests = config.with_file_name("guests");
    let on_tty: Output = tokio::task::spawn_blocking(move || {
        Command::new(script)
            .args(["--quiet", "--return", "--command", &line, "/dev/null"])
            .env("TERM", "xterm")
            .env("COLUMNS", "120")
            .env("HELLOWATT_EMAIL", DEMO_LOGIN)
            .env("HELLOWATT_PASSWORD", DEMO_PASSWORD)
            .env("HELLOWATT_GUESTS_DIR", guests)
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let raw = String::from_utf8_lossy(&on_tty.stdout).to_string();
    assert!(on_tty.status.success(), "{raw}");
    let screen = screen_lines(&raw);
    let requests = last_run_requests(&config);
    assert!(requests >= MONTHS as u64, "{requests} requests");
    let bar = screen
        .iter()
        .rev()
        .find(|l| l.contains("months ·"))
        .unwrap_or_else(|| panic!("no bar on the terminal: {screen:#?}"));
    assert!(
        bar.starts_with('✔')
            && bar.contains(&format!("{MONTHS}/{MONTHS} months · {requests} requests"))
            && bar.contains("(last: 2025-06)"),
        "the bar's last frame: {bar:?}"
    );
    // No log line per request on the terminal: the bar says it.
    assert!(
        !screen.iter().any(|l| l.contains("fetching")),
        "{screen:#?}"
    );
    assert!(
        screen
            .iter()
            .any(|l| l.starts_with("run ") && l.contains("windows")),
        "the summary line follows the bar: {screen:#?}"
    );

    // A pipe: the same sync as lines, one per month fetched, no bar.
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &url);
    let mut cmd = sync(&config);
    let piped = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&piped.stderr);
    assert!(piped.status.success(), "{err}");
    assert!(!err.contains('\r') && !err.contains("months ·"), "{err}");
    assert!(!err.contains('\u{1b}'), "no colour in a pipe: {err}");
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("hellowatt::sync: fetching"))
            .count(),
        MONTHS,
        "{err}"
    );
}
