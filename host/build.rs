//! Builds the bundled guests for `wasm32-wasip2` with the workspace's
//! `guest` profile, once per change of their sources (not once per test),
//! in a target directory of their own so that the nested cargo does not
//! wait on the lock of the build that runs this script.
//!
//! `HELLOWATT_GUEST_WASM` (the helloWatt scraper, embedded as the default
//! guest) and `HELLOWATT_HOSTILE_WASM` (a misbehaving guest for the tests)
//! point at the results.

use std::path::{Path, PathBuf};
use std::process::Command;

const GUESTS: [(&str, &str, &str); 4] = [
    ("hellowatt-guest", "hellowatt_guest", "HELLOWATT_GUEST_WASM"),
    (
        "hellowatt-guest-tempo",
        "hellowatt_guest_tempo",
        "HELLOWATT_TEMPO_GUEST_WASM",
    ),
    (
        "hellowatt-guest-ecowatt",
        "hellowatt_guest_ecowatt",
        "HELLOWATT_ECOWATT_GUEST_WASM",
    ),
    (
        "hellowatt-hostile-guest",
        "hellowatt_hostile_guest",
        "HELLOWATT_HOSTILE_WASM",
    ),
];

fn main() {
    let manifest =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf();
    for watched in [
        "guest/src",
        "guest/Cargo.toml",
        "guest-tempo/src",
        "guest-tempo/Cargo.toml",
        "guest-ecowatt/src",
        "guest-ecowatt/Cargo.toml",
        "guest-kit/src",
        "guest-kit/Cargo.toml",
        "tests/guests",
        "wit",
        "snapshot/src",
        "snapshot/Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=HELLOWATT_GUEST_TARGET_DIR");
    println!("cargo:rerun-if-env-changed=HELLOWATT_PREBUILT_GUESTS");

    // Packagers (and offline builds) can hand in guests built elsewhere.
    if let Some(dir) = std::env::var_os("HELLOWATT_PREBUILT_GUESTS") {
        for (_, file, var) in GUESTS {
            let wasm = PathBuf::from(&dir).join(format!("{file}.wasm"));
            assert!(
                wasm.is_file(),
                "HELLOWATT_PREBUILT_GUESTS: {} is missing",
                wasm.display()
            );
            println!("cargo:rustc-env={var}={}", wasm.display());
        }
        return;
    }

    ensure_wasm_target();

    let target_dir = std::env::var_os("HELLOWATT_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("guests"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--profile",
            "guest",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    for (package, _, _) in GUESTS {
        cmd.args(["-p", package]);
    }
    // What the outer build sets for itself must not leak into the guests'
    // build: flags for the host target, clippy's wrapper, a forced target.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
        "CLIPPY_ARGS",
        "CLIPPY_CONF_DIR",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("running cargo to build the guests");
    if !status.success() {
        panic!("building the guests failed (see the compiler's errors above)");
    }
    for (_, file, var) in GUESTS {
        let wasm = target_dir
            .join("wasm32-wasip2")
            .join("guest")
            .join(format!("{file}.wasm"));
        assert!(
            Path::new(&wasm).is_file(),
            "{} was not produced",
            wasm.display()
        );
        println!("cargo:rustc-env={var}={}", wasm.display());
    }
}

const WASM_TARGET: &str = "wasm32-wasip2";

/// Makes sure the compiler running this build has the guests' standard
/// library. rustup applies rust-toolchain.toml's `targets` only when it
/// installs the toolchain, so a machine that already had 1.95.0 lacks it.
/// Runs before the guests are built. (Cargo runs this script only once
/// most dependencies have compiled: it cannot fail any earlier.)
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = wasm_libdir(&rustc);
    // Watched, so that the run after an addition (the folder is newer than
    // that run's start) does it again without the warning, which cargo
    // would otherwise replay on every build; and a removal is noticed.
    if let Some(dir) = &libdir {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    let present = || libdir.as_deref().is_some_and(holds_core);
    if present() {
        return;
    }
    // The rustup proxy that started cargo names its toolchain; without
    // it, rustup would pick the toolchain from rust-toolchain.toml.
    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    let mut add = Command::new("rustup");
    add.args(["target", "add", WASM_TARGET]);
    if let Some(toolchain) = &toolchain {
        add.args(["--toolchain", toolchain]);
    }
    let shown = match &toolchain {
        Some(toolchain) => format!("rustup target add {WASM_TARGET} --toolchain {toolchain}"),
        None => format!("rustup target add {WASM_TARGET}"),
    };
    match add.output() {
        Ok(out) if out.status.success() && present() => {
            println!("cargo:warning=the {WASM_TARGET} target was missing: added it with `{shown}`");
        }
        Ok(out) => fail(&format!(
            "the {WASM_TARGET} target is missing and `{shown}` failed:\n{}\n\
             Run that command yourself, then build again.",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(_) => fail(&format!(
            "the {WASM_TARGET} target is missing for `{rustc}` and rustup is not on PATH. \
             Install the target's standard library, then build again: with rustup, \
             `rustup target add {WASM_TARGET}`; without it, your Rust distribution's \
             rust-std for {WASM_TARGET}; or build the guests elsewhere and point \
             HELLOWATT_PREBUILT_GUESTS at them."
        )),
    }
}

/// Where `rustc` keeps (or would keep) the guests' standard library.
fn wasm_libdir(rustc: &str) -> Option<PathBuf> {
    let out = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Whether `libdir` holds the guests' standard library (its `core`).
fn holds_core(libdir: &Path) -> bool {
    libdir.read_dir().is_ok_and(|mut entries| {
        entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libcore-")))
    })
}

/// Stops the build with `message`, shown both as a cargo warning (always
/// printed) and on stderr (printed with the failed script's output).
fn fail(message: &str) -> ! {
    for line in message.lines() {
        println!("cargo:warning={line}");
    }
    eprintln!("error: {message}");
    std::process::exit(1);
}
