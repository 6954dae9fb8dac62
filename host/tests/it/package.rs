//! The Debian package (`scripts/package-deb`): built around the binary these
//! tests run (uncompressed, `--fast`), installed with `dpkg -i` into a
//! private root (`dpkg --root`: nothing is installed on the machine, no user
//! created), then the installed `hellowatt demo` runs, and `dpkg -r` removes
//! it keeping the edited configuration. Under CI a missing dpkg fails the
//! test; elsewhere (not Debian) it says it did not run.

use std::path::{Path, PathBuf};
use std::process::Command;

const TEST: &str = "package";

/// The command's stdout, then its stderr; a panic if it failed.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// An empty dpkg database under `root`, as a fresh machine has.
fn private_root(root: &Path) {
    let db = root.join("var/lib/dpkg");
    for d in ["info", "updates", "triggers"] {
        std::fs::create_dir_all(db.join(d)).unwrap();
    }
    std::fs::write(db.join("status"), "").unwrap();
    std::fs::write(db.join("available"), "").unwrap();
}

fn dpkg(root: &Path) -> Command {
    let mut cmd = Command::new("dpkg");
    cmd.arg(format!("--root={}", root.display())).args([
        "--force-not-root",
        "--force-script-chrootless",
        // libc6 and adduser are the machine's, not in the private root's
        // empty database.
        "--force-depends",
        "--log=/dev/null",
    ]);
    cmd
}

#[test]
fn the_debian_package_installs_runs_the_demo_and_keeps_its_configuration() {
    if crate::common::tools::program(TEST, &["dpkg-deb"], "dpkg").is_none() {
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().unwrap();
    let built = Command::new("bash")
        .arg(repo.join("scripts/package-deb"))
        .args([
            "--fast",
            "--binary",
            env!("CARGO_BIN_EXE_hellowatt"),
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&built.stdout);
    assert!(
        built.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let deb = PathBuf::from(said.lines().last().unwrap_or_default());
    assert!(deb.is_file(), "{said}");

    // What it says it is, and holds.
    let fields = run(Command::new("dpkg-deb")
        .arg("-f")
        .arg(&deb)
        .args(["Package", "Version", "Depends"]));
    assert!(fields.contains("Package: hellowatt\n"), "{fields}");
    assert!(
        fields.contains(&format!("Version: {}\n", env!("CARGO_PKG_VERSION"))),
        "{fields}"
    );
    let contents = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    for path in [
        "./usr/bin/hellowatt",
        "./lib/systemd/system/hellowatt.service",
        "./etc/hellowatt/config.toml",
        "./usr/share/doc/hellowatt/README.md",
        "./usr/share/doc/hellowatt/copyright",
    ] {
        assert!(contents.contains(path), "{path} not in:\n{contents}");
    }

    // Installed with dpkg -i.
    let root = dir.path().join("root");
    private_root(&root);
    let installed = run(dpkg(&root).arg("-i").arg(&deb));
    assert!(installed.contains("hellowatt demo"), "{installed}");
    let unit = std::fs::read_to_string(root.join("lib/systemd/system/hellowatt.service")).unwrap();
    assert!(
        unit.contains("\nExecStart=/usr/bin/hellowatt --config /etc/hellowatt/config.toml run\n"),
        "{unit}"
    );
    assert!(unit.contains("\nUser=hellowatt\n"), "{unit}");
    let config = root.join("etc/hellowatt/config.toml");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The installed binary runs the demo.
    let demo = run(Command::new(root.join("usr/bin/hellowatt"))
        .arg("demo")
        .arg("--db")
        .arg(dir.path().join("demo.db"))
        .env_remove("HELLOWATT_CONFIG"));
    assert!(demo.contains("synced "), "{demo}");
    assert!(demo.contains("electricity meter "), "{demo}");

    // Removed: the binary goes, the configuration a person edited stays.
    std::fs::write(&config, "email = \"me@example.org\"\n").unwrap();
    run(dpkg(&root).args(["-r", "hellowatt"]));
    assert!(!root.join("usr/bin/hellowatt").exists());
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "email = \"me@example.org\"\n"
    );
}
