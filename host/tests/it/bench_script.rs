//! `scripts/bench.sh --quick` on the binary this test run built: the
//! whole-process benchmark (start, memory, the API under wrk) runs once in
//! seconds, so that it cannot rot. No figure is judged here; the figures
//! and their targets are in docs/benchmarks.md.

use std::process::Command;

#[test]
fn the_whole_process_benchmark_runs_in_quick_mode() {
    let test = "the_whole_process_benchmark_runs_in_quick_mode";
    // wrk is optional in quick mode, except under CI: bench.sh fails there.
    if crate::common::tools::program(test, &["curl"], "curl").is_none()
        || crate::common::tools::program(test, &["python3"], "python3").is_none()
    {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(root.join("scripts/bench.sh"))
        .arg("--quick")
        .env("HELLOWATT_BIN", env!("CARGO_BIN_EXE_hellowatt"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // Without wrk (outside CI) the script skips its API part: said here.
    let wrk =
        crate::common::tools::program(&format!("{test} (its API part)"), &["wrk"], "wrk").is_some();
    let mut figures = vec!["start.", "rss.", "backfill."];
    if wrk {
        figures.push("api.");
    }
    for figure in figures {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("RESULT {figure}"))),
            "no {figure} figure in:\n{stdout}"
        );
    }
    println!("{stdout}");
}

/// `scripts/bench-cli-sync --quick`: `hellowatt sync` and the plain Python
/// client side by side, 2 months, once. The script itself refuses to
/// compare two clients that did not make the same requests; no time is
/// judged here.
#[test]
fn the_command_line_sync_benchmark_runs_in_quick_mode() {
    let test = "the_command_line_sync_benchmark_runs_in_quick_mode";
    // Under CI a missing python3 (or its venv module, or PyPI) fails.
    if crate::common::tools::program(test, &["python3"], "python3").is_none() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("python3")
        .arg(root.join("scripts/bench-cli-sync"))
        .arg("--quick")
        .env("HELLOWATT_BIN", env!("CARGO_BIN_EXE_hellowatt"))
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for figure in [
        "cli_sync.2_months.hellowatt",
        "cli_sync.2_months.python_aiohttp",
        "cli_sync.2_months.cpu_ratio",
        "cli_sync.one_day.cache_warm",
        "cli_sync.one_day.compiled_each_time",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("RESULT {figure} = "))),
            "no {figure} figure in:\n{stdout}"
        );
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("requests: hellowatt ")),
        "{stdout}"
    );
    println!("{stdout}");
}
