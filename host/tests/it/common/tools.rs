//! The real programs a few tests drive (mosquitto, openssl, Chromium, wrk).
//!
//! Under CI (`CI` set, as it is when `.ci/run` runs) a missing program
//! fails the test: `.ci/run` installs every one of them, so a test that
//! did not run there is a defect. On a developer's machine with only
//! rustup, the README's test command must still pass: the test then says
//! on the terminal, past the test harness's capture, that it did not run
//! and what to install, and returns.

use std::io::Write;
use std::path::PathBuf;

/// Whether this run is CI's (`CI` set to anything but empty, `0` or `false`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// The first of `names` found on PATH (or in the sbin folders, where Debian
/// puts mosquitto); `None`, said loudly, when absent outside CI; a panic
/// when absent under CI. `package` is the Debian package that brings it.
pub fn program(test: &str, names: &[&str], package: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = names.iter().find_map(|name| {
        dirs.iter()
            .cloned()
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let wanted = names.join(" or ");
        assert!(
            !under_ci(),
            "{test}: {wanted} is missing under CI: .ci/run installs it (apt-get install {package})"
        );
        // Straight to the terminal: libtest captures only print!/eprint!.
        let _ = writeln!(
            std::io::stderr().lock(),
            "NOT RUN {test}: {wanted} is not installed (apt-get install {package}, or `bash .ci/run`)"
        );
    }
    found
}

/// What `scripts/<script>` installed (it prints the path last: a venv's
/// python or program), installing it on first use; `None`, said loudly,
/// when it fails outside CI; a panic when it fails under CI.
pub fn installed_by(test: &str, script: &str, what: &str) -> Option<PathBuf> {
    program(test, &["python3"], "python3 python3-venv")?;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("bash")
        .arg(repo.join("scripts").join(script))
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running scripts/{script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().last().map(PathBuf::from) {
        Some(p) if out.status.success() && p.is_file() => Some(p),
        _ => {
            assert!(
                !under_ci(),
                "{test}: scripts/{script} failed under CI: {stdout}"
            );
            let _ = writeln!(
                std::io::stderr().lock(),
                "NOT RUN {test}: {what} could not be installed (scripts/{script})"
            );
            None
        }
    }
}
