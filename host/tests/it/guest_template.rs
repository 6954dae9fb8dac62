//! `hellowatt guest new`: the crate a guest author starts from builds to a
//! component with one command, passes every shipped scenario through the
//! host's gate (`hellowatt guest check`), and replays them natively with
//! its own `cargo test` (docs/guest-authors.md).

use std::path::Path;
use std::process::Command;

fn cargo(dir: &Path, target: &Path, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target);
    // The tests' own build settings are not the author's.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_MANIFEST_DIR",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_new_guest_builds_checks_and_replays_every_scenario() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // Kept between runs, so that a second run builds nothing.
    let target = root.join("target").join("guest-template");
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("my-fix");
    let hellowatt = env!("CARGO_BIN_EXE_hellowatt");

    let out = Command::new(hellowatt)
        .args(["guest", "new"])
        .arg(&crate_dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("cargo build --release --target wasm32-wasip2"),
        "{text}"
    );
    // Into a folder that exists: refused, nothing touched.
    let again = Command::new(hellowatt)
        .args(["guest", "new"])
        .arg(&crate_dir)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // One command to the component.
    let (ok, text) = cargo(
        &crate_dir,
        &target,
        &["build", "--release", "--target", "wasm32-wasip2"],
    );
    assert!(ok, "{text}");
    let wasm = target
        .join("wasm32-wasip2")
        .join("release")
        .join("my_fix.wasm");
    assert!(wasm.is_file(), "{}", wasm.display());

    // The gate's proof: every shipped scenario (its own folder is empty).
    let out = Command::new(hellowatt)
        .args(["guest", "check"])
        .arg(&wasm)
        .arg("--fixtures")
        .arg(crate_dir.join("scenarios"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    let shipped = hellowatt_fixtures::embedded_scenarios().unwrap().len();
    assert!(
        report.contains(&format!("{shipped} passed, 0 failed")),
        "{report}"
    );
    assert!(report.contains("guest hellowatt 1.0.1"), "{report}");

    // Its own test replays them natively.
    let (ok, text) = cargo(&crate_dir, &target, &["test"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("every_scenario_matches_its_golden ... ok"),
        "{text}"
    );
}
