//! `hellowatt guest new DIR`: a guest crate to start a fix from, on the
//! day the site changes (docs/guest-authors.md walks the rest).
//!
//! It owns what the new crate holds: the bundled helloWatt guest's sources
//! (as built into this binary, its test-only variants taken out), a
//! `Cargo.toml` on `hellowatt-guest-kit` and the contract of the hellowatt
//! source tree given (or the one this binary was built from), the versions
//! this hellowatt was built with (`Cargo.lock`), a `scenarios/` folder for
//! the author's own scenarios, and a test that replays them with the
//! shipped ones natively (`cargo test`), superseding as the gate does. It
//! never writes into a folder that exists.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The bundled guest's sources, as this hellowatt was built.
const SOURCES: [(&str, &str); 5] = [
    ("src/lib.rs", include_str!("../../../guest/src/lib.rs")),
    ("src/api.rs", include_str!("../../../guest/src/api.rs")),
    (
        "src/errors.rs",
        include_str!("../../../guest/src/errors.rs"),
    ),
    ("src/parse.rs", include_str!("../../../guest/src/parse.rs")),
    (
        "src/session.rs",
        include_str!("../../../guest/src/session.rs"),
    ),
];

/// The versions every crate of this hellowatt was built with.
const LOCK: &str = include_str!("../../../Cargo.lock");

/// The test-only builds of the bundled guest (the host's own tests): a new
/// guest has none, so each `cfg!(feature = ...)` becomes `false`.
const TEST_FEATURES: [&str; 4] = ["v2", "contract-next", "values-renamed", "trap"];

/// The hellowatt source tree this binary was built from, if it is still
/// there.
pub fn built_from() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    root.join("guest-kit")
        .join("Cargo.toml")
        .is_file()
        .then(|| root.to_path_buf())
}

/// Writes the new guest crate into `dir` (which must not exist), on the
/// hellowatt source tree `src`. Returns what to do next, for a person.
pub fn new_guest(dir: &Path, src: &Path) -> Result<String> {
    if dir.exists() {
        bail!("{} already exists: give a new folder", dir.display());
    }
    let src = src
        .canonicalize()
        .with_context(|| format!("the hellowatt source tree {}", src.display()))?;
    for part in ["guest-kit", "snapshot", "fixtures", "wit"] {
        if !src.join(part).exists() {
            bail!(
                "{} is not a hellowatt source tree (no {part}/): give one with --hellowatt-src",
                src.display()
            );
        }
    }
    let crate_name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| {
            n.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect::<String>()
        })
        .filter(|n| n.starts_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or_else(|| "hellowatt-guest-fix".into());
    let mut files: Vec<(String, String)> = SOURCES
        .iter()
        .map(|(path, text)| (path.to_string(), without_test_features(text)))
        .collect();
    files.push(("Cargo.toml".into(), cargo_toml(&crate_name, &src)));
    files.push(("Cargo.lock".into(), LOCK.into()));
    files.push((
        "rust-toolchain.toml".into(),
        "[toolchain]\nchannel = \"1.95.0\"\ntargets = [\"wasm32-wasip2\"]\nprofile = \"minimal\"\n"
            .into(),
    ));
    let lib = crate_name.replace('-', "_");
    files.push((
        "tests/scenarios.rs".into(),
        SCENARIO_TEST.replace("GUEST", &format!("{lib}::HelloWatt")),
    ));
    files.push(("scenarios/README.md".into(), SCENARIOS_README.into()));
    files.push(("README.md".into(), readme(&crate_name)));
    for (path, text) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(format!(
        "a new helloWatt guest in {dir}, on the hellowatt sources at {src}:\n  \
         cd {dir}\n  \
         cargo test                                      # every scenario, natively\n  \
         cargo build --release --target wasm32-wasip2    # the component\n  \
         hellowatt guest check target/wasm32-wasip2/release/{file}.wasm --fixtures scenarios\n\
         then sign it and drop it in: see docs/guest-authors.md\n",
        dir = dir.display(),
        src = src.display(),
        file = crate_name.replace('-', "_"),
    ))
}

fn without_test_features(text: &str) -> String {
    let mut out = text.to_string();
    for f in TEST_FEATURES {
        out = out.replace(&format!("cfg!(feature = \"{f}\")"), "false");
    }
    out
}

fn cargo_toml(name: &str, src: &Path) -> String {
    let p = |part: &str| src.join(part).display().to_string().replace('\\', "/");
    format!(
        r#"# A helloWatt guest: the hellowatt:scraper contract's component.
# Build: cargo build --release --target wasm32-wasip2
[package]
name = "{name}"
version = "1.0.1"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
hellowatt-snapshot = {{ path = "{snapshot}" }}
hellowatt-guest-kit = {{ path = "{kit}" }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"
scraper = {{ version = "0.29", default-features = false }}

[dev-dependencies]
hellowatt-guest-kit = {{ path = "{kit}", features = ["testing"] }}
hellowatt-fixtures = {{ path = "{fixtures}" }}

# Size over speed: a guest spends its time waiting on the network.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
strip = true
panic = "abort"

# A crate of its own, not a member of the tree it depends on.
[workspace]
"#,
        snapshot = p("snapshot"),
        kit = p("guest-kit"),
        fixtures = p("fixtures"),
    )
}

fn readme(name: &str) -> String {
    format!(
        "# {name}\n\n\
         A helloWatt guest for hellowatt, started from the bundled guest by `hellowatt guest \
         new`. The steps from a broken sync to a signed guest in the drop folder are in \
         hellowatt's docs/guest-authors.md.\n\n\
         - `src/`: the flow (`api.rs`), the log-in (`session.rs`), the payloads (`parse.rs`), \
         the errors (`errors.rs`).\n\
         - `scenarios/`: this guest's own scenarios (recordings with a golden outcome); \
         `cargo test` replays them with the scenarios shipped with hellowatt.\n"
    )
}

const SCENARIOS_README: &str = "\
One folder per scenario, in the format of hellowatt's fixtures/scenarios/
(scenario.json, NNN-request.http, NNN-response.http, golden.json).
`hellowatt record --out scenarios/NAME` writes one from the site; the
golden outcome of a fixed guest is written by hand or by hellowatt's
`fixtures/generate.py golden-daily`, never by the guest. A scenario may
replace a shipped one with \"supersedes\": [\"site-changed\"] in its
scenario.json; the host accepts that only from a guest signed by a key it
trusts.
";

const SCENARIO_TEST: &str = r#"//! Every scenario shipped with hellowatt, and this guest's own
//! (`scenarios/`), replayed natively with header checks on, as the host's
//! gate replays them in the sandbox. An own scenario that supersedes a
//! shipped one replaces it here as it will at the gate (which also wants
//! the guest signed by a trusted key).

use hellowatt_fixtures::{Scenario, embedded_scenarios, load_scenarios};
use hellowatt_guest_kit::Scraper;
use hellowatt_guest_kit::testing::{Replayer, assert_scenarios};
use hellowatt_snapshot::{Outcome, SyncError, SyncRequest, diff_outcomes};
use std::path::Path;

const ORIGIN: &str = "https://www.hellowatt.fr";

struct Cassette(Replayer);

impl hellowatt_guest_kit::transport::Transport for Cassette {
    fn send(
        &mut self,
        req: &hellowatt_guest_kit::transport::Request,
    ) -> Result<hellowatt_guest_kit::transport::Response, SyncError> {
        self.0.send(req)
    }
}

fn check(s: &Scenario) -> Vec<String> {
    let mut t = Cassette(Replayer::for_scenario(s, ORIGIN));
    let mut guest = GUEST::default();
    let req = SyncRequest {
        base_url: ORIGIN.to_string(),
        login: s.request.login.clone(),
        password_placeholder: hellowatt_guest_kit::testing::PLACEHOLDER.to_string(),
        start: s.request.start,
        end: s.request.end,
        kinds: s.request.kinds.clone(),
    };
    let mut log = hellowatt_guest_kit::logging::Collect::default();
    let got = Outcome::from_result(guest.sync(&mut t, &req, &mut log));
    let mut problems: Vec<String> = diff_outcomes(&s.golden, &got)
        .into_iter()
        .map(|d| d.to_string())
        .collect();
    if !problems.is_empty() {
        problems.extend(t.0.refusals.iter().map(|r| format!("replay refused: {r}")));
    }
    problems
}

#[test]
fn every_scenario_matches_its_golden() {
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let own = load_scenarios(&own).unwrap_or_else(|e| panic!("scenarios/: {e}"));
    let mut all: Vec<Scenario> = embedded_scenarios()
        .unwrap()
        .into_iter()
        .filter(|shipped| !own.iter().any(|o| o.supersedes.contains(&shipped.name)))
        .collect();
    all.extend(own);
    assert_scenarios("shipped and own", &all, check);
}
"#;
