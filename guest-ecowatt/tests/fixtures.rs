//! The EcoWatt guest's flow, run natively: every scenario of
//! `fixtures/ecowatt/` replayed through a cassette-backed `Transport`
//! (header checks on, the scenario's bearer token added by the browser as
//! the host adds RTE's) and compared with its golden file.

use hellowatt_fixtures::{ECOWATT_SITE_ORIGIN, Scenario, load_scenarios};
use hellowatt_guest_ecowatt::api;
use hellowatt_guest_ecowatt::logging::NoLog;
use hellowatt_guest_kit::testing::{assert_scenarios, replay_problems};

/// Runs one scenario; returns what is wrong with it, if anything.
fn check(s: &Scenario) -> Vec<String> {
    replay_problems(s, ECOWATT_SITE_ORIGIN, |t, req| {
        api::sync(t, req, &mut NoLog)
    })
}

#[test]
fn every_ecowatt_scenario_matches_its_golden() {
    let dir = hellowatt_fixtures::ecowatt_scenarios_dir();
    let scenarios = load_scenarios(&dir).unwrap_or_else(|e| panic!("loading the scenarios: {e}"));
    assert!(scenarios.len() >= 6, "only {} scenarios", scenarios.len());
    for s in &scenarios {
        assert!(
            !s.request.bearer.is_empty(),
            "{}: the host adds a token",
            s.name
        );
        assert_eq!(s.request.password, "", "{}: no password", s.name);
    }
    assert_scenarios("EcoWatt", &scenarios, check);
}

/// Without the host's token the cassette refuses the request: the
/// scenarios check that the guest's request carries the header the host
/// adds, not one of its own.
#[test]
fn without_the_hosts_token_the_replay_refuses() {
    let dir = hellowatt_fixtures::ecowatt_scenarios_dir();
    let mut s = hellowatt_fixtures::load_scenario(&dir.join("signals-known")).unwrap();
    s.request.bearer = String::new();
    let problems = check(&s);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("header Authorization should be")),
        "{problems:?}"
    );
}
