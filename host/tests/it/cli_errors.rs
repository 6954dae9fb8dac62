//! Bad command lines: every mistake gets a message naming the argument (or
//! the key) and how to write it, and changes nothing. Runs the real binary.
//! Clap's own errors (a missing or malformed value, an unknown command)
//! say how by pointing at `--help`, which shows each argument's form.

use std::process::Command;

/// Clap's pointer to the help, after each of its errors.
const HELP: &str = "For more information, try '--help'.";

#[test]
fn every_mistake_names_the_argument_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("h.db");
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["sync", "--from", "2026-13-01", "--to", "2026-11-01"],
            &["--from", "2026-13-01", "YYYY-MM-DD"],
        ),
        (
            &["sync", "--from", "2026-11-05", "--to", "2026-11-01"],
            &["--from 2026-11-05 is after --to 2026-11-01"],
        ),
        (
            &["export", "--format", "xml"],
            &["--format", "possible values: csv, json", HELP],
        ),
        (
            &["guest", "rollback", "nope"],
            &["\"nope\"", "hellowatt, tempo and ecowatt"],
        ),
        (&["reset", "nobody"], &["\"nobody\"", "accounts: default"]),
        (
            &["--config", "/nonexistent/h.toml", "status"],
            &["/nonexistent/h.toml", "--config", "HELLOWATT_"],
        ),
        (
            &["record", "--out"],
            &["--out", "a value is required", HELP],
        ),
        (
            &["guest", "check", "/nonexistent/g.wasm"],
            &["/nonexistent/g.wasm", "No such file", "a .wasm file"],
        ),
        (
            &["demo", "--listen", "nowhere"],
            &["--listen", "nowhere", "invalid socket address syntax", HELP],
        ),
        (
            &["frobnicate"],
            &[
                "unrecognized subcommand",
                "frobnicate",
                "Usage: hellowatt [OPTIONS] <COMMAND>",
                HELP,
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (args, wanted) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_hellowatt"))
            .args(*args)
            .current_dir(tmp.path())
            .env("HELLOWATT_EMAIL", "someone@example.org")
            .env("HELLOWATT_PASSWORD", "Not-a-real-pass-1!")
            .env("HELLOWATT_DB", &db)
            .env("HELLOWATT_TEMPO", "off")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            failures.push(format!("{args:?}: succeeded"));
        }
        for w in *wanted {
            if !text.contains(w) {
                failures.push(format!("{args:?}: {w:?} missing from {text:?}"));
            }
        }
        if text.contains("Not-a-real-pass-1!") {
            failures.push(format!("{args:?}: the password is in the message"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(!db.exists(), "a refused command created the database");
}
