//! The OpenAPI document against the server, by a property-based tester:
//! schemathesis (pinned, from PyPI: `scripts/install-schemathesis`, cached
//! under `target/`) generates about two thousand requests from
//! `/api/v1/openapi.json` and checks every answer against the document
//! (status codes, content types, schemas, headers, no 5xx, a missing or
//! wrong token refused when one is configured, a valid request accepted).
//!
//! `hellowatt run` serves a store filled by a two-month backfill from the
//! simulated site, once without a token and once with one. One check is
//! off on the seven range routes: a valid-looking request refused. Those
//! routes refuse `from` after `to` and ranges longer than their limit
//! (400), a rule between two parameters and today's date that a parameter's
//! schema cannot state; the document says it in words and lists the 400.
//!
//! Under CI (`CI` set) a missing Python or a failed install fails the test;
//! elsewhere the test says it did not run (`crate::common::tools`).

use crate::common::{free_port, wait_for};
use hellowatt_sim::{self as sim, DEMO_LOGIN, DEMO_PASSWORD, SimMode};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const TEST: &str = "schemathesis";

/// The tester's configuration: the one check that cannot hold on the range
/// routes (see the module doc), off there and only there.
const ST_CONFIG: &str = "\
[[operations]]
include-path-regex = \"^/api/v1/(readings|curve|peaks|temperatures|tempo|ecowatt|export)$\"
checks.positive_data_acceptance.enabled = false
";

/// The `schemathesis` executable, installing it on first use.
fn schemathesis() -> Option<PathBuf> {
    crate::common::tools::installed_by(TEST, "install-schemathesis", "schemathesis")
}

/// `hellowatt run` on `dir`, killed when dropped.
struct Service(std::process::Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One run of the tester against a fresh service: its JSON report.
async fn run_against(st: &Path, site: &str, token: Option<&str>) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let api = format!("127.0.0.1:{}", free_port());
    let config = dir.path().join("hellowatt.toml");
    let mut text = format!(
        "db = \"{}\"\nsite_url = \"{site}\"\npacing_ms = 0\nbackfill_months = 2\n\
         listen = \"{api}\"\ntempo = \"off\"\n",
        dir.path().join("hellowatt.db").display(),
    );
    if let Some(t) = token {
        text.push_str(&format!("api_token = \"{t}\"\n"));
    }
    std::fs::write(&config, text).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let log = dir.path().join("hellowatt.log");
    let service = Service(
        Command::new(env!("CARGO_BIN_EXE_hellowatt"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("HELLOWATT_EMAIL", DEMO_LOGIN)
            .env("HELLOWATT_PASSWORD", DEMO_PASSWORD)
            .env("HELLOWATT_GUESTS_DIR", dir.path().join("guests"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    // The whole backfill stored first: the tester then reads real data,
    // and no sync writes while it asks.
    wait_for("the backfill", Duration::from_secs(120), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("backfill complete"))
    })
    .await;

    std::fs::write(dir.path().join("schemathesis.toml"), ST_CONFIG).unwrap();
    let report = dir.path().join("report.json");
    let mut cmd = Command::new(st);
    cmd.current_dir(dir.path()) // its .hypothesis/ and .schemathesis/ go there
        .args(["--config-file", "schemathesis.toml", "run"])
        .arg(format!("http://{api}/api/v1/openapi.json"))
        .args([
            "--generation-deterministic",
            "-n",
            "100",
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--no-color",
            "--report",
            "json",
            "--report-json-path",
        ])
        .arg(&report);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let out = cmd.output().expect("running schemathesis");
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "no report ({e}):\n{said}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    }))
    .unwrap();
    drop(service);
    let log = std::fs::read_to_string(&log).unwrap();
    (doc, format!("{said}\n--- service log ---\n{log}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_does_what_its_openapi_document_says_with_and_without_a_token() {
    let Some(st) = schemathesis() else {
        return;
    };
    let today = hellowatt::clock::today();
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimMode::Demo { today })
        .await
        .unwrap();
    let token = "schemathesis-token-0123456789abcdef";
    for token in [None, Some(token)] {
        let (report, said) = run_against(&st, &server.url(), token).await;
        let cases = &report["test_cases"];
        println!(
            "schemathesis {} ({}): {} requests generated, {} failures, {} errors, {:.1} s",
            report["schemathesis_version"],
            if token.is_some() {
                "with a token"
            } else {
                "no token"
            },
            cases["generated"],
            cases["unique_failures"],
            report["errors"].as_array().map_or(0, Vec::len),
            report["running_time"].as_f64().unwrap_or(0.0),
        );
        assert_eq!(report["exit_code"], 0, "{said}");
        assert_eq!(report["failures"], Value::Array(vec![]), "{said}");
        assert_eq!(report["errors"], Value::Array(vec![]), "{said}");
        // Every route of the document tried, and enough requests that this
        // is a test (2051 and 2108 when the version was pinned).
        let ops = &report["operations"];
        assert_eq!(ops["tested"], ops["total"], "{said}");
        assert!(ops["total"].as_u64().unwrap_or(0) >= 20, "{said}");
        assert!(cases["generated"].as_u64().unwrap_or(0) >= 1500, "{said}");
        // Two thousand requests, some of them odd: the service logged no
        // error (a refresh filed while the service takes its requests once
        // was one: store::state::take_requests).
        let log = said.split("--- service log ---").nth(1).unwrap_or_default();
        assert!(
            !log.lines().any(|l| l.contains(" ERROR ")),
            "the service logged an error:\n{log}"
        );
        assert!(
            !log.contains(token.unwrap_or("\u{0}")),
            "the token reached the log"
        );
    }
    server.shutdown().await;
}
