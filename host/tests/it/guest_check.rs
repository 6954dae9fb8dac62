//! `guest check`: the bundled guest reproduces every golden outcome when
//! its cassette is replayed inside the policy (no socket), and a guest that
//! does not is refused with a report naming the scenario and the field.

use hellowatt::registry::check;
use hellowatt::sandbox::runtime::{Limits, Runtime};
use hellowatt::slot::Slot;
use hellowatt_fixtures::{load_scenarios, scenarios_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_guest_passes_every_scenario() {
    let runtime = Runtime::new().unwrap();
    let guest = runtime
        .load(hellowatt::BUNDLED_GUEST.to_vec(), &Limits::default())
        .await
        .unwrap();
    assert_eq!(guest.info.name, "hellowatt");
    assert_eq!(guest.info.contract, hellowatt_snapshot::CONTRACT_VERSION);
    let scenarios = load_scenarios(&scenarios_dir()).unwrap();
    let results = check::check_all(
        &runtime,
        &guest,
        &scenarios,
        &Limits::default(),
        &Slot::Hellowatt.default_requests(),
    )
    .await
    .unwrap();
    let report = check::report(&guest, &results);
    assert!(results.iter().all(|r| r.passed()), "{report}");
    assert_eq!(results.len(), scenarios.len());
    for r in &results {
        assert!(r.denied.is_empty(), "{}: {:?}", r.name, r.denied);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_guest_is_refused_with_the_reason() {
    let runtime = Runtime::new().unwrap();
    let guest = crate::common::hostile_guest(&runtime).await;
    let scenarios = load_scenarios(&scenarios_dir()).unwrap();
    let base = scenarios
        .iter()
        .find(|s| s.name == "base-electricity")
        .unwrap();
    let r = check::check_scenario(
        &runtime,
        &guest,
        base,
        &Limits::default(),
        &Slot::Hellowatt.default_requests(),
    )
    .await
    .unwrap();
    assert!(!r.passed());
    let report = check::report(&guest, std::slice::from_ref(&r));
    assert!(report.contains("FAIL  base-electricity"), "{report}");
    assert!(
        report.contains("snapshot.daily (count): expected 28, got 0"),
        "{report}"
    );
    assert!(report.contains("0 passed, 1 failed"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_are_not_components_are_refused() {
    let runtime = Runtime::new().unwrap();
    let core_module = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    let e = runtime
        .load(core_module.to_vec(), &Limits::default())
        .await
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("core wasm module, not a component"),
        "{e:#}"
    );
    let e = runtime
        .load(b"<html>".to_vec(), &Limits::default())
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("not a wasm component"), "{e:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundled_guest_imports_only_what_the_contract_allows() {
    let runtime = Runtime::new().unwrap();
    let guest = runtime
        .load(hellowatt::BUNDLED_GUEST.to_vec(), &Limits::default())
        .await
        .unwrap();
    println!("imports of the bundled guest ({} bytes):", guest.size);
    for i in &guest.imports {
        println!("  {i}");
    }
    assert!(
        guest
            .imports
            .iter()
            .any(|i| i == "wasi:http/outgoing-handler@0.2.12")
    );
    assert!(
        guest
            .imports
            .iter()
            .any(|i| i == "hellowatt:scraper/log@4.0.0")
    );
    for i in &guest.imports {
        let ok = [
            "wasi:http/",
            "wasi:io/",
            "wasi:clocks/",
            "wasi:random/",
            "wasi:cli/",
            "hellowatt:scraper/",
        ]
        .iter()
        .any(|p| i.starts_with(p));
        assert!(ok, "unexpected import {i}");
        assert!(!i.contains("filesystem") && !i.contains("sockets"), "{i}");
    }
    assert!(guest.size < 1_500_000, "the guest is {} bytes", guest.size);
}
