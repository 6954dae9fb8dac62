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
