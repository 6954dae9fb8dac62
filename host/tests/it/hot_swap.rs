//! Hot swap, end to end: the guest registry watches a folder; a v2 guest
//! (built here from the same source with the `v2` feature: another
//! version, and it reads a measure entry's `datetime` renamed `date`)
//! dropped into it goes live without a restart and the next sync uses it,
//! while a run started before the swap finishes on v1; broken candidates
//! are refused with their reason and v2 keeps serving; roll-back returns to
//! v1; a restart keeps the active guest and maps it from the artifact cache
//! instead of compiling it.
//!
//! The variants are built once per test run, each in its own target folder
//! (`target/guests-{v2,contract-next,trap}`), by `cargo build --profile guest
//! --target wasm32-wasip2 -p hellowatt-guest --features F`: a no-op when
//! nothing changed. Timings are printed: run with `--nocapture` to see them.

use ed25519_dalek::{Signer, SigningKey};
use hellowatt::cli::guest as cli_guest;
use hellowatt::config::Config;
use hellowatt::registry::signature;
use hellowatt::registry::{Registry, RegistryOptions, Verdict};
use hellowatt::sandbox::cache::sha256_hex;
use hellowatt::sandbox::policy::{Backend, HttpLimits, Origin, PolicyHooks};
use hellowatt::sandbox::redact::Redactor;
use hellowatt::sandbox::runtime::{Limits, Runtime};
use hellowatt::slot::Slot;
use hellowatt::store::{GuestState, RunOutcome, Store};
use hellowatt::sync;
use hellowatt_fixtures::{Scenario, load_scenario, load_scenarios, scenarios_dir};
use hellowatt_sim::{self as sim, SimMode};
use hellowatt_snapshot::SyncRequest;
use hellowatt_snapshot::{SyncError, WindowStatus};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

// ---------------------------------------------------------------- guests

struct Variants {
    v2: Vec<u8>,
    contract_next: Vec<u8>,
    trap: Vec<u8>,
}

static VARIANTS: OnceLock<Variants> = OnceLock::new();

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is inside the workspace")
        .to_path_buf()
}

/// Builds one variant of the guest (a no-op when it is up to date).
pub(crate) fn build_variant(feature: &str) -> Vec<u8> {
    let root = workspace_root();
    let target = root.join("target").join(format!("guests-{feature}"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--profile",
            "guest",
            "--target",
            "wasm32-wasip2",
            "-p",
            "hellowatt-guest",
            "--features",
            feature,
            "--target-dir",
        ])
        .arg(&target);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("running cargo to build a guest variant");
    assert!(status.success(), "building the `{feature}` guest failed");
    let wasm = target
        .join("wasm32-wasip2")
        .join("guest")
        .join("hellowatt_guest.wasm");
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
    println!(
        "guest variant `{feature}`: {} bytes (build step {} ms)",
        bytes.len(),
        started.elapsed().as_millis()
    );
    bytes
}

fn variants() -> &'static Variants {
    VARIANTS.get_or_init(|| Variants {
        v2: build_variant("v2"),
        contract_next: build_variant("contract-next"),
        trap: build_variant("trap"),
    })
}

async fn variants_async() -> &'static Variants {
    tokio::task::spawn_blocking(variants).await.unwrap()
}

/// A component with nothing in it: the wrong world.
const EMPTY_COMPONENT: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
/// A core wasm module, not a component.
const CORE_MODULE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/// The smallest component a contract 1.x guest is: it imports
/// `hellowatt:scraper/log@1.0.0` (an empty instance), which is what the
/// host reads first. Binary format: the preamble; a type section (7) with
/// one empty instance type (0x42 0x00); an import section (10, 32 bytes)
/// with one plain name (0x00, 27 bytes) of that instance type (0x05, 0).
const CONTRACT_1_COMPONENT: [u8; 47] = old_contract_component(b"hellowatt:scraper/log@1.0.0");
/// The same for contract 2.x (which had no failed parts).
const CONTRACT_2_COMPONENT: [u8; 47] = old_contract_component(b"hellowatt:scraper/log@2.0.0");
/// The same for contract 3.x (no subscribed power, no EcoWatt days).
const CONTRACT_3_COMPONENT: [u8; 47] = old_contract_component(b"hellowatt:scraper/log@3.0.0");

const fn old_contract_component(name: &[u8; 27]) -> [u8; 47] {
    const HEAD: [u8; 18] = [
        0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, // component preamble
        0x07, 0x03, 0x01, 0x42, 0x00, // one empty instance type
        0x0a, 0x20, 0x01, 0x00, 0x1b, // one import, a plain name of 27 bytes
    ];
    const NAME_LEN: usize = 27;
    let mut out = [0u8; 47];
    let mut i = 0;
    while i < HEAD.len() {
        out[i] = HEAD[i];
        i += 1;
    }
    let mut j = 0;
    while j < NAME_LEN {
        out[HEAD.len() + j] = name[j];
        j += 1;
    }
    out[45] = 0x05; // an instance…
    out[46] = 0x00; // …of type 0
    out
}

// -------------------------------------------------------------- fixtures

/// `base-electricity` as a changed site serves it: the measure entries'
/// `datetime` renamed `date`. The golden outcome is unchanged.
fn write_renamed_scenario(dest: &Path) -> PathBuf {
    let src = scenarios_dir().join("base-electricity");
    let dir = dest.join("renamed-datetime");
    std::fs::create_dir_all(&dir).unwrap();
    let mut renamed = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let mut text = std::fs::read_to_string(entry.path()).unwrap();
        if name.ends_with("-response.http") && text.contains("\"datetime\":") {
            text = text.replace("\"datetime\":", "\"date\":");
            renamed += 1;
        }
        std::fs::write(dir.join(name), text).unwrap();
    }
    assert!(renamed >= 2, "the scenario changed shape: {renamed}");
    dir
}

fn shipped() -> Vec<Scenario> {
    load_scenarios(&scenarios_dir()).unwrap()
}

// ------------------------------------------------------------- plumbing

fn config(url: &str, s: &Scenario, db: &Path) -> Config {
    crate::common::config(
        url,
        &s.request.login,
        &s.request.password,
        s.request.kinds.clone(),
        db,
    )
}

struct Setup {
    _tmp: tempfile::TempDir,
    guests: PathBuf,
    state: PathBuf,
    db: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    Setup {
        guests: tmp.path().join("guests"),
        state: tmp.path().join("hellowatt.guests"),
        db: tmp.path().join("hellowatt.db"),
        _tmp: tmp,
    }
}

async fn open(
    s: &Setup,
    runtime: Arc<Runtime>,
    keys: &[ed25519_dalek::VerifyingKey],
) -> Arc<Registry> {
    open_slot(s, runtime, keys, Slot::Hellowatt, shipped()).await
}

async fn open_slot(
    s: &Setup,
    runtime: Arc<Runtime>,
    keys: &[ed25519_dalek::VerifyingKey],
    slot: Slot,
    fixtures: Vec<Scenario>,
) -> Arc<Registry> {
    let store = Store::open(&s.db).unwrap();
    Arc::new(
        Registry::open(
            runtime,
            store,
            RegistryOptions {
                slot,
                guests_dir: slot.folder(&s.guests),
                state_dir: s.state.clone(),
                limits: Limits::default(),
                requests: slot.default_requests(),
                fixtures,
                trusted_keys: keys.to_vec(),
            },
        )
        .await
        .unwrap(),
    )
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// The refusal reasons recorded for a component, oldest first.
fn refusals(reg: &Registry, sha256: &str) -> Vec<String> {
    let mut r: Vec<String> = reg
        .history(1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.sha256 == sha256 && e.event == "refused")
        .map(|e| e.detail.unwrap_or_default())
        .collect();
    r.reverse();
    r
}

/// Writes a candidate (signed with `key` if given) into the folder the
/// watcher watches, and waits for its new refusal, which it returns.
async fn drop_refused(
    reg: &Registry,
    name: &str,
    bytes: &[u8],
    key: Option<&SigningKey>,
) -> String {
    let sha = sha256_hex(bytes);
    let before = refusals(reg, &sha).len();
    let path = reg.guests_dir().join(name);
    if let Some(key) = key {
        let sig = key.sign(bytes);
        std::fs::write(
            signature::sig_path(&path),
            hex::encode(sig.to_bytes()) + "\n",
        )
        .unwrap();
    }
    std::fs::write(&path, bytes).unwrap();
    wait_for(
        &format!("the refusal of {name}"),
        Duration::from_secs(300),
        || refusals(reg, &sha).len() > before,
    )
    .await;
    let reason = refusals(reg, &sha).pop().unwrap();
    println!("refused {name}: {reason}");
    reason
}

async fn sync_once(
    runtime: &Runtime,
    reg: &Registry,
    scenario: &Scenario,
    db: &Path,
) -> sync::RunSummary {
    let server = sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimMode::Scenario(scenario.clone()),
    )
    .await
    .unwrap();
    let cfg = config(&server.url(), scenario, db);
    let mut store = Store::open(db).unwrap();
    let guest = reg.active();
    let summary = sync::run_windows(
        runtime,
        &guest,
        &mut store,
        &cfg,
        &cfg.accounts[0],
        &[(scenario.request.start, scenario.request.end)],
    )
    .await
    .unwrap();
    server.shutdown().await;
    summary
}

fn last_run_guest(db: &Path) -> (String, Option<RunOutcome>) {
    let store = Store::open(db).unwrap();
    let r = store.runs(None, 1).unwrap().remove(0);
    (r.guest.version, r.outcome)
}

// ----------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_guest_goes_live_broken_ones_are_refused_and_rollback_returns() {
    let variants = variants_async().await;
    let s = setup();
    let publisher = signature::generate().unwrap();
    let stranger = signature::generate().unwrap();
    let keys = [publisher.verifying_key()];
    let runtime = Arc::new(Runtime::new().unwrap());
    let reg = open(&s, Arc::clone(&runtime), &keys).await;
    let v1 = reg.active();
    assert_eq!(v1.sha256, sha256_hex(hellowatt::BUNDLED_GUEST));
    assert_eq!(v1.info.version, "1.0.0");
    let (stop, shutdown) = watch::channel(false);
    let watcher = tokio::spawn(Arc::clone(&reg).watch(shutdown));

    // The site changed: v1 no longer understands it.
    let scratch = tempfile::tempdir().unwrap();
    let renamed = load_scenario(&write_renamed_scenario(scratch.path())).unwrap();
    let summary = sync_once(&runtime, &reg, &renamed, &s.db).await;
    let failure = summary.failure.expect("v1 fails on the changed site");
    assert_eq!(failure.kind(), "site-changed", "{failure}");

    // A run starts on v1 before the swap...
    let server = sim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimMode::Scenario(renamed.clone()),
    )
    .await
    .unwrap();
    let hooks = PolicyHooks::new(
        Origin::parse(&server.url()).unwrap(),
        HttpLimits {
            pacing: Duration::ZERO,
            ..HttpLimits::default()
        },
        Backend::Network,
        Arc::new(Redactor::with_secrets([renamed.request.password.as_str()])),
    )
    .with_account(&renamed.request.login, &renamed.request.password);
    let placeholder = hooks.placeholder();
    let mut in_flight = runtime
        .start(&reg.active(), hooks, &Limits::default())
        .await
        .unwrap();

    // v2, signed by the trusted publisher, with the changed site's cassette
    // beside it, dropped into the folder.
    write_renamed_scenario(&s.guests.join("v2.fixtures"));
    let v2_path = s.guests.join("v2.wasm");
    std::fs::write(
        signature::sig_path(&v2_path),
        hex::encode(publisher.sign(&variants.v2).to_bytes()),
    )
    .unwrap();
    let v2_sha = sha256_hex(&variants.v2);
    std::fs::write(&v2_path, &variants.v2).unwrap();
    let dropped = Instant::now();
    wait_for("v2 to go live", Duration::from_secs(300), || {
        if let Some(r) = refusals(&reg, &v2_sha).pop() {
            panic!("v2 was refused: {r}");
        }
        reg.active().sha256 == v2_sha
    })
    .await;
    let drop_to_live = dropped.elapsed();
    println!(
        "TIMING file drop -> live guest (debounce {} ms + validation on {} scenarios): {} ms",
        hellowatt::registry::DEBOUNCE.as_millis(),
        shipped().len() + 1,
        drop_to_live.as_millis()
    );
    let v2 = reg.active();
    assert_eq!(v2.info.version, "1.1.0-test");

    // ...and finishes on v1, which still fails on the changed site: its
    // daily series fails as a site change (the rest of the call is kept).
    let call = SyncRequest {
        base_url: server.url(),
        login: renamed.request.login.clone(),
        password_placeholder: placeholder,
        start: renamed.request.start,
        end: renamed.request.end,
        kinds: renamed.request.kinds.clone(),
    };
    let old = in_flight.sync(&call).await.expect("no sandbox error");
    let daily_changed = old.as_ref().is_ok_and(|s| {
        s.windows.iter().any(|w| {
            w.kind == hellowatt_snapshot::DataKind::ElectricityDaily
                && matches!(w.status, WindowStatus::Failed(SyncError::SiteChanged(_)))
        })
    });
    assert!(daily_changed, "the run in flight ran on v1: {old:?}");
    drop(in_flight);
    server.shutdown().await;

    // The next sync uses v2, and succeeds.
    let summary = sync_once(&runtime, &reg, &renamed, &s.db).await;
    assert!(summary.failure.is_none(), "{:?}", summary.failure);
    assert_eq!(
        last_run_guest(&s.db),
        ("1.1.0-test".to_string(), Some(RunOutcome::Success))
    );

    // Broken candidates are refused, each with its reason; v2 keeps serving.
    let r = drop_refused(&reg, "trap.wasm", &variants.trap, Some(&publisher)).await;
    assert!(r.contains("the guest crashed"), "{r}");
    assert!(r.contains("panics on purpose"), "{r}");
    assert!(
        r.contains(&format!(
            "failed {} of {}",
            shipped().len(),
            shipped().len()
        )),
        "{r}"
    );

    let r = drop_refused(&reg, "world.wasm", &EMPTY_COMPONENT, Some(&publisher)).await;
    assert!(r.contains("does not export the contract"), "{r}");
    let r = drop_refused(&reg, "core.wasm", &CORE_MODULE, Some(&publisher)).await;
    assert!(r.contains("core wasm module, not a component"), "{r}");

    let r = drop_refused(
        &reg,
        "contract5.wasm",
        &variants.contract_next,
        Some(&publisher),
    )
    .await;
    assert!(r.contains("hellowatt:scraper@5.0.0"), "{r}");
    assert!(r.contains("hellowatt:scraper@4.0.0"), "{r}");

    // A guest on contract 1.x (which took the password) is refused by its
    // imports, signed by a trusted key or not, and told what to do.
    let r = drop_refused(
        &reg,
        "contract1.wasm",
        &CONTRACT_1_COMPONENT,
        Some(&publisher),
    )
    .await;
    assert!(r.contains("hellowatt:scraper@1.x"), "{r}");
    assert!(
        r.contains("password") && r.contains("Rebuild the guest"),
        "{r}"
    );
    // So is one on contract 2.x, whose answers this host cannot read.
    let r = drop_refused(
        &reg,
        "contract2.wasm",
        &CONTRACT_2_COMPONENT,
        Some(&publisher),
    )
    .await;
    assert!(
        r.contains("hellowatt:scraper@2.x") && r.contains("Rebuild the guest"),
        "{r}"
    );
    // And one on contract 3.x, whose records lack 4.0.0's fields.
    let r = drop_refused(
        &reg,
        "contract3.wasm",
        &CONTRACT_3_COMPONENT,
        Some(&publisher),
    )
    .await;
    assert!(
        r.contains("hellowatt:scraper@3.x") && r.contains("subscribed-kva"),
        "{r}"
    );

    // v1 (under another hash) with the changed site's cassette: it fails
    // exactly that one, and the reason names it, the field, expected, got.
    let v1b = crate::common::nonce::with_nonce(hellowatt::BUNDLED_GUEST, "v1b");
    write_renamed_scenario(&s.guests.join("v1b.fixtures"));
    let r = drop_refused(&reg, "v1b.wasm", &v1b, Some(&publisher)).await;
    assert!(
        r.starts_with(&format!(
            "failed 1 of {} fixture scenarios: [v1b.fixtures/renamed-datetime]",
            shipped().len() + 1
        )),
        "{r}"
    );
    assert!(r.contains("expected") && r.contains("got"), "{r}");
    assert!(r.contains("snapshot.daily"), "{r}");

    let hostile = std::fs::read(hellowatt::HOSTILE_GUEST_PATH).unwrap();
    let r = drop_refused(&reg, "hostile.wasm", &hostile, Some(&publisher)).await;
    // A guest of another name never reaches the fixtures: the slot is
    // named after the guest that serves in it.
    assert!(
        r.starts_with(
            "this guest calls itself \"hostile\": the hellowatt slot takes only a guest \
             named \"hellowatt\""
        ),
        "{r}"
    );

    // Signatures: another publisher's key, then none at all.
    let v2b = crate::common::nonce::with_nonce(&variants.v2, "v2b");
    let r = drop_refused(&reg, "v2b.wasm", &v2b, Some(&stranger)).await;
    assert!(r.starts_with("bad signature"), "{r}");
    std::fs::remove_file(signature::sig_path(&s.guests.join("v2b.wasm"))).unwrap();
    let before = refusals(&reg, &sha256_hex(&v2b)).len();
    // (the watcher sees the removed signature and judges the guest again)
    wait_for(
        "the unsigned v2b's refusal",
        Duration::from_secs(60),
        || refusals(&reg, &sha256_hex(&v2b)).len() > before,
    )
    .await;
    let r = refusals(&reg, &sha256_hex(&v2b)).pop().unwrap();
    assert!(r.starts_with("no signature"), "{r}");
    assert_eq!(reg.active().sha256, v2_sha, "v2 kept serving throughout");

    // A refused candidate judged on the same inputs is not judged again.
    match reg.consider(&s.guests.join("hostile.wasm")).await.unwrap() {
        Verdict::Unchanged { state, note, .. } => {
            assert_eq!(state, GuestState::Refused);
            assert!(note.contains("calls itself \"hostile\""), "{note}");
        }
        other => panic!("{other}"),
    }

    // What `hellowatt guest list` and `status` show.
    let list = {
        let store = Store::open(&s.db).unwrap();
        let status = hellowatt::cli::status::guest_sentences(&store).unwrap();
        assert_eq!(
            status[0],
            format!("The hellowatt slot runs the guest hellowatt 1.1.0-test (sha256 {v2_sha})."),
        );
        cli_guest::list(&store, 20).unwrap().text
    };
    println!("{list}");
    assert!(
        list.contains(&format!("active:   hellowatt 1.1.0-test (sha256 {v2_sha}")),
        "{list}"
    );
    assert!(
        list.contains(&format!("previous: hellowatt 1.0.0 (sha256 {}", v1.sha256)),
        "{list}"
    );
    assert_eq!(list.matches("refused:  ").count(), 10, "{list}");

    // A restart keeps v2 and maps it from the artifact cache.
    stop.send(true).unwrap();
    watcher.await.unwrap();
    drop(reg);
    let started = Instant::now();
    let runtime = Arc::new(Runtime::new().unwrap());
    let reg = open(&s, Arc::clone(&runtime), &keys).await;
    let warm = started.elapsed();
    assert_eq!(
        reg.active().sha256,
        v2_sha,
        "the active guest survives a restart"
    );
    assert_eq!((reg.cache().compiles(), reg.cache().hits()), (0, 1));
    drop(reg);
    // The same restart with an empty cache compiles v2.
    for entry in std::fs::read_dir(s.state.join("cache")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let started = Instant::now();
    let runtime = Arc::new(Runtime::new().unwrap());
    let reg = open(&s, Arc::clone(&runtime), &keys).await;
    let cold = started.elapsed();
    assert_eq!(reg.active().sha256, v2_sha);
    assert_eq!((reg.cache().compiles(), reg.cache().hits()), (1, 0));
    println!(
        "TIMING restart (engine + store + registry, active guest loaded and described): \
         {} ms with the cached compiled guest, {} ms with a cold compile",
        warm.as_millis(),
        cold.as_millis()
    );

    // Roll-back returns to v1, which the next sync uses; v2 is kept.
    let back = reg.rollback().await.unwrap();
    assert_eq!(back.sha256, v1.sha256);
    assert_eq!(reg.active().sha256, v1.sha256);
    let summary = sync_once(
        &runtime,
        &reg,
        &load_scenario(&scenarios_dir().join("base-electricity")).unwrap(),
        &s.db,
    )
    .await;
    assert!(summary.failure.is_none(), "{:?}", summary.failure);
    assert_eq!(last_run_guest(&s.db).0, "1.0.0");
    let list = reg.list().unwrap();
    assert_eq!(list[0].state, GuestState::Active);
    assert_eq!(list[0].sha256, v1.sha256);
    assert_eq!(list[1].state, GuestState::Previous);
    assert_eq!(list[1].sha256, v2_sha);
    drop(reg);

    // And the roll-back survives a restart too.
    let reg = open(&s, Arc::new(Runtime::new().unwrap()), &keys).await;
    assert_eq!(reg.active().sha256, v1.sha256);
}

/// `hellowatt guest install` and `guest rollback` run in their own process
/// (here: a second registry on the same files); the running service (the
/// first one, watching) follows them.
/// A guest's signature is checked whenever the guest is loaded, not only
/// when it was admitted: at start-up, at a roll-back, and when another
/// process activated it, each time under the keys trusted at that moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_is_verified_again_every_time_it_is_loaded() {
    let variants = variants_async().await;
    let s = setup();
    let publisher = signature::generate().unwrap();
    let other = signature::generate().unwrap();
    let runtime = Arc::new(Runtime::new().unwrap());
    let v2_sha = sha256_hex(&variants.v2);
    let bundled_sha = sha256_hex(hellowatt::BUNDLED_GUEST);
    let kept_sig = signature::sig_path(&s.state.join("accepted").join(format!("{v2_sha}.wasm")));

    // Admitted under the publisher's key: the signature is kept with it.
    let reg = open(&s, Arc::clone(&runtime), &[publisher.verifying_key()]).await;
    write_renamed_scenario(&s.guests.join("v2.fixtures"));
    let path = s.guests.join("v2.wasm");
    std::fs::write(&path, &variants.v2).unwrap();
    std::fs::write(
        signature::sig_path(&path),
        hex::encode(publisher.sign(&variants.v2).to_bytes()),
    )
    .unwrap();
    let verdict = reg.consider(&path).await.unwrap();
    assert!(matches!(verdict, Verdict::Activated { .. }));
    assert!(kept_sig.is_file(), "{} was not kept", kept_sig.display());
    drop(reg);
    // The dropped files are gone: what is loaded from now on is the kept copy.
    std::fs::remove_dir_all(&s.guests).unwrap();

    // Still trusted: restored at start-up.
    let reg = open(&s, Arc::clone(&runtime), &[publisher.verifying_key()]).await;
    assert_eq!(reg.active().sha256, v2_sha);
    drop(reg);

    // Its key is no longer trusted: at start-up it is not loaded, the
    // bundled guest serves, and the slot's history says why.
    let reg = open(&s, Arc::clone(&runtime), &[other.verifying_key()]).await;
    assert_eq!(reg.active().sha256, bundled_sha);
    let why = reg
        .history(20)
        .unwrap()
        .into_iter()
        .find(|e| e.event == "fallback")
        .and_then(|e| e.detail)
        .unwrap_or_default();
    assert!(
        why.contains(&v2_sha)
            && why.contains("not signed by a key trusted now")
            && why.contains("bad signature"),
        "{why}"
    );

    // v2 is the previous guest now: a roll-back to it is refused too.
    let Err(e) = reg.rollback().await else {
        panic!("rolled back to a guest no trusted key signed");
    };
    let e = format!("{e:#}");
    assert!(e.contains("not signed by a key trusted now"), "{e}");
    assert_eq!(reg.active().sha256, bundled_sha);

    // Another process that trusts no key rolls back to it; this one,
    // which trusts another key, does not load it and keeps its guest.
    let lax = open(&s, Arc::clone(&runtime), &[]).await;
    lax.rollback().await.unwrap();
    assert_eq!(lax.active().sha256, v2_sha);
    let e = format!("{:#}", reg.reconcile().await.unwrap_err());
    assert!(
        e.contains("another hellowatt process activated") && e.contains("bad signature"),
        "{e}"
    );
    assert_eq!(reg.active().sha256, bundled_sha);

    // Without its kept signature, even the publisher's key cannot vouch
    // for it any more.
    std::fs::remove_file(&kept_sig).unwrap();
    let reg = open(&s, Arc::clone(&runtime), &[publisher.verifying_key()]).await;
    assert_eq!(reg.active().sha256, bundled_sha);
    assert!(
        reg.history(1).unwrap()[0]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("no signature")),
        "{:?}",
        reg.history(1).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_follows_install_and_rollback_from_another_process() {
    let variants = variants_async().await;
    let s = setup();
    let service = open(&s, Arc::new(Runtime::new().unwrap()), &[]).await;
    let v1 = service.active();
    let (stop, shutdown) = watch::channel(false);
    let watcher = tokio::spawn(Arc::clone(&service).watch(shutdown));

    // The publisher signs; with no trusted key configured it does not
    // matter, and the unsigned guest is accepted.
    let outside = tempfile::tempdir().unwrap();
    let key_file = outside.path().join("publisher.key");
    let out = cli_guest::keygen(&key_file).unwrap();
    assert!(out.text.contains("public key"), "{}", out.text);
    let file = outside.path().join("scraper-v2.wasm");
    std::fs::write(&file, &variants.v2).unwrap();
    let out = cli_guest::sign(&key_file, &file).unwrap();
    assert!(out.text.contains("scraper-v2.wasm.sig"), "{}", out.text);
    write_renamed_scenario(&outside.path().join("scraper-v2.fixtures"));

    let cli = open(&s, Arc::new(Runtime::new().unwrap()), &[]).await;
    let verdict = cli.install(&file).await.unwrap();
    let v2 = match &verdict {
        Verdict::Activated { guest, .. } => Arc::clone(guest),
        other => panic!("{other}"),
    };
    assert_eq!(v2.info.version, "1.1.0-test");
    for copied in [
        "scraper-v2.wasm",
        "scraper-v2.wasm.sig",
        "scraper-v2.fixtures/renamed-datetime/golden.json",
    ] {
        assert!(s.guests.join(copied).is_file(), "{copied} not copied");
    }
    let took = wait_for("the service to take v2", Duration::from_secs(60), || {
        service.active().sha256 == v2.sha256
    })
    .await;
    println!(
        "the service followed `guest install` after {} ms",
        took.as_millis()
    );

    cli.rollback().await.unwrap();
    drop(cli);
    let took = wait_for(
        "the service to follow the roll-back",
        Duration::from_secs(60),
        || service.active().sha256 == v1.sha256,
    )
    .await;
    println!(
        "the service followed `guest rollback` after {} ms",
        took.as_millis()
    );

    // Installing a refused guest fails and changes nothing.
    let cli = open(&s, Arc::new(Runtime::new().unwrap()), &[]).await;
    let bad = outside.path().join("contract5.wasm");
    std::fs::write(&bad, &variants.contract_next).unwrap();
    let verdict = cli.install(&bad).await.unwrap();
    let out = cli_guest::verdict_output(&verdict, &s.guests);
    assert!(!out.success);
    assert!(
        out.text.contains("REFUSED") && out.text.contains("4.0.0"),
        "{}",
        out.text
    );
    assert!(!s.guests.join("contract5.wasm").exists());
    assert_eq!(cli.active().sha256, v1.sha256);
    drop(cli);

    // With the watcher stopped, a file dropped is only seen by a rescan
    // (what SIGHUP does).
    stop.send(true).unwrap();
    watcher.await.unwrap();
    let v2c = crate::common::nonce::with_nonce(&variants.v2, "v2c");
    std::fs::write(s.guests.join("v2c.wasm"), &v2c).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(service.active().sha256, v1.sha256);
    let verdicts = service.rescan().await.unwrap();
    let v2c_verdict = verdicts
        .iter()
        .find(|(p, _)| p.ends_with("v2c.wasm"))
        .map(|(_, v)| v)
        .expect("the rescan considered v2c.wasm");
    assert!(v2c_verdict.is_activated(), "{v2c_verdict}");
    assert_eq!(service.active().sha256, sha256_hex(&v2c));
}

/// The helloWatt and Tempo slots share the store, the kept copies and the
/// artifact cache, and nothing else: a Tempo guest dropped among helloWatt
/// guests is refused with where it belongs; in its own folder it passes the
/// Tempo scenarios and serves, and rolls back, without touching the
/// helloWatt guest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_slot_swaps_and_rolls_back_on_its_own() {
    let s = setup();
    let runtime = Arc::new(Runtime::new().unwrap());
    let hw = open(&s, Arc::clone(&runtime), &[]).await;
    let tempo = open_slot(
        &s,
        Arc::clone(&runtime),
        &[],
        Slot::Tempo,
        Slot::Tempo.scenarios(None).unwrap(),
    )
    .await;
    assert_eq!(tempo.active().info.name, "tempo");
    assert_eq!(
        tempo.active().sha256,
        sha256_hex(hellowatt::BUNDLED_TEMPO_GUEST)
    );
    assert_eq!(hw.active().sha256, sha256_hex(hellowatt::BUNDLED_GUEST));

    let v2 = crate::common::nonce::with_nonce(hellowatt::BUNDLED_TEMPO_GUEST, "tempo-v2");
    let misplaced = s.guests.join("tempo-v2.wasm");
    std::fs::write(&misplaced, &v2).unwrap();
    match hw.consider(&misplaced).await.unwrap() {
        Verdict::Refused { reason, .. } => assert!(
            reason.starts_with("this is the tempo guest, not a hellowatt guest: drop it in"),
            "{reason}"
        ),
        other => panic!("{other}"),
    }
    std::fs::remove_file(&misplaced).unwrap();

    let placed = tempo.guests_dir().join("tempo-v2.wasm");
    std::fs::create_dir_all(tempo.guests_dir()).unwrap();
    std::fs::write(&placed, &v2).unwrap();
    let took = match tempo.consider(&placed).await.unwrap() {
        Verdict::Activated { took, .. } => took,
        other => panic!("{other}"),
    };
    println!("tempo v2 validated and live in {} ms", took.as_millis());
    assert_eq!(tempo.active().sha256, sha256_hex(&v2));
    assert_eq!(hw.active().sha256, sha256_hex(hellowatt::BUNDLED_GUEST));

    assert!(hw.rollback().await.is_err(), "no previous helloWatt guest");
    let back = tempo.rollback().await.unwrap();
    assert_eq!(back.sha256, sha256_hex(hellowatt::BUNDLED_TEMPO_GUEST));

    let store = Store::open(&s.db).unwrap();
    let status = hellowatt::cli::status::guest_sentences(&store)
        .unwrap()
        .join("\n");
    assert!(
        status.contains("The hellowatt slot runs the guest hellowatt 1.0.0 "),
        "{status}"
    );
    assert!(
        status.contains("The tempo slot runs the guest tempo 1.0.0 "),
        "{status}"
    );
    let list = cli_guest::list(&store, 10).unwrap().text;
    println!("{list}");
    assert!(
        list.contains("tempo guest:\n  active:   tempo 1.0.0"),
        "{list}"
    );
    assert!(
        list.contains(&format!(
            "previous: tempo 1.0.0 (sha256 {}",
            sha256_hex(&v2)
        )),
        "{list}"
    );
    assert!(list.contains("tempo rolled-back"), "{list}");
}

/// The EcoWatt slot's gate: the bundled guest passes every EcoWatt scenario
/// (signals known, tomorrow unpublished, the clocks changing, a refused
/// token, RTE's rate limit, a changed answer), replayed with the scenario's
/// bearer token added by the host, as RTE's would be; without it the replay
/// refuses the request, so the scenarios do check that the host adds it. A
/// Tempo guest dropped in the EcoWatt folder is refused with where it
/// belongs; a new EcoWatt guest there swaps in, the other slots untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ecowatt_slot_gates_its_guests_on_its_own_scenarios() {
    use hellowatt::registry::check::{check_all, check_scenario};
    let scenarios = Slot::Ecowatt.scenarios(None).unwrap();
    let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
    for wanted in [
        "signals-known",
        "tomorrow-unpublished",
        "clocks-change",
        "token-refused",
        "rate-limited",
        "site-changed",
    ] {
        assert!(names.contains(&wanted), "no {wanted} in {names:?}");
    }
    let runtime = Arc::new(Runtime::new().unwrap());
    let guest = runtime
        .load(
            hellowatt::BUNDLED_ECOWATT_GUEST.to_vec(),
            &Limits::default(),
        )
        .await
        .unwrap();
    let requests = Slot::Ecowatt.default_requests();
    let results = check_all(&runtime, &guest, &scenarios, &Limits::default(), &requests)
        .await
        .unwrap();
    for r in &results {
        assert!(
            r.passed() && r.denied.is_empty() && r.unused.is_empty(),
            "{}: {:?} {:?} {:?} {:?}",
            r.name,
            r.differences,
            r.failure,
            r.denied,
            r.unused
        );
    }
    let mut bare =
        load_scenario(&hellowatt_fixtures::ecowatt_scenarios_dir().join("signals-known")).unwrap();
    bare.request.bearer = String::new();
    let r = check_scenario(&runtime, &guest, &bare, &Limits::default(), &requests)
        .await
        .unwrap();
    assert!(!r.passed());
    assert!(
        r.denied
            .iter()
            .any(|d| d.contains("header Authorization should be")),
        "{:?}",
        r.denied
    );

    let s = setup();
    let hw = open(&s, Arc::clone(&runtime), &[]).await;
    let eco = open_slot(
        &s,
        Arc::clone(&runtime),
        &[],
        Slot::Ecowatt,
        scenarios.clone(),
    )
    .await;
    assert_eq!(
        eco.active().sha256,
        sha256_hex(hellowatt::BUNDLED_ECOWATT_GUEST)
    );
    std::fs::create_dir_all(eco.guests_dir()).unwrap();
    let misplaced = eco.guests_dir().join("tempo.wasm");
    std::fs::write(&misplaced, hellowatt::BUNDLED_TEMPO_GUEST).unwrap();
    match eco.consider(&misplaced).await.unwrap() {
        Verdict::Refused { reason, .. } => assert!(
            reason.starts_with(
                "this is the tempo guest, not a ecowatt guest: drop it in the tempo guest folder"
            ),
            "{reason}"
        ),
        other => panic!("{other}"),
    }
    std::fs::remove_file(&misplaced).unwrap();
    let v2 = crate::common::nonce::with_nonce(hellowatt::BUNDLED_ECOWATT_GUEST, "ecowatt-v2");
    let placed = eco.guests_dir().join("ecowatt-v2.wasm");
    std::fs::write(&placed, &v2).unwrap();
    match eco.consider(&placed).await.unwrap() {
        Verdict::Activated { took, .. } => {
            println!("ecowatt v2 validated and live in {} ms", took.as_millis())
        }
        other => panic!("{other}"),
    }
    assert_eq!(eco.active().sha256, sha256_hex(&v2));
    assert_eq!(hw.active().sha256, sha256_hex(hellowatt::BUNDLED_GUEST));
    assert_eq!(
        Slot::Ecowatt.folder(&s.guests),
        s.guests.join("ecowatt"),
        "its own sub-folder"
    );
}
