//! hellowatt: brings a household's helloWatt data home.
//!
//! The scraper is a sandboxed WebAssembly component (`wit/scraper.wit`);
//! this crate is the native host around it. Data flows one way:
//! `config` → `sync` → `runtime` (guest, behind `policy`) → `validate` →
//! `store` → outputs (`api` with the dashboard and metrics, `mqtt`,
//! `export`, `cli` status). `service` runs it all on the `scheduler`'s
//! timing. `sim` is a fake of the site
//! for tests and the demo; `check` proves a guest on the recorded fixtures.

pub mod api;
pub mod cache;
pub mod check;
pub mod cli;
pub mod cli_guest;
pub mod clock;
pub mod config;
pub mod contract;
pub mod demo;
pub mod export;
pub mod mqtt;
pub mod policy;
pub mod record;
pub mod redact;
pub mod registry;
pub mod runtime;
pub mod scheduler;
pub mod service;
pub mod signature;
pub mod sim;
pub mod slot;
pub mod store;
pub mod sync;
pub mod tempo;
pub mod validate;

/// The helloWatt guest built from `guest/` by the build script: the default
/// when no `guest` is configured.
pub static BUNDLED_GUEST: &[u8] = include_bytes!(env!("HELLOWATT_GUEST_WASM"));

/// The Tempo guest built from `guest-tempo/`: the bundled guest of the
/// Tempo slot.
pub static BUNDLED_TEMPO_GUEST: &[u8] = include_bytes!(env!("HELLOWATT_TEMPO_GUEST_WASM"));

/// Where the build script left the test-only hostile guest.
pub const HOSTILE_GUEST_PATH: &str = env!("HELLOWATT_HOSTILE_WASM");

#[cfg(test)]
mod layout {
    //! The modules' imports flow one way: no module reaches back into one
    //! that depends on it. Read from the sources, so that a new cycle fails
    //! here with its path, not in a reader's head.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Each top-level module of `src/` and the top-level modules its code
    /// (comments and its own `tests` module aside) names as `crate::…`.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let rel = path.strip_prefix(&src).unwrap();
                let first = rel.components().next().unwrap().as_os_str();
                let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
                if module == "lib" || module == "main" {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
                let deps = graph.entry(module.clone()).or_default();
                for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                    for (i, _) in line.match_indices("crate::") {
                        let rest = &line[i + "crate::".len()..];
                        let names: Vec<&str> = match rest.strip_prefix('{') {
                            Some(group) => group.split([',', '}']).collect(),
                            None => vec![rest],
                        };
                        for name in names {
                            let name: String = name
                                .trim()
                                .chars()
                                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                                .collect();
                            if !name.is_empty() && name != module {
                                deps.insert(name);
                            }
                        }
                    }
                }
            }
        }
        let modules: BTreeSet<String> = graph.keys().cloned().collect();
        for deps in graph.values_mut() {
            deps.retain(|d| modules.contains(d));
        }
        graph
    }

    /// A path from `from` back to itself, if there is one.
    fn cycle_through(
        graph: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
    ) -> Option<Vec<String>> {
        let mut paths = vec![vec![from.to_string()]];
        let mut seen = BTreeSet::new();
        while let Some(path) = paths.pop() {
            let last = path.last().unwrap();
            for next in &graph[last] {
                if next == from {
                    let mut cycle = path.clone();
                    cycle.push(from.to_string());
                    return Some(cycle);
                }
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    paths.push(longer);
                }
            }
        }
        None
    }

    #[test]
    fn modules_form_no_import_cycle() {
        // The search itself finds a cycle where there is one.
        let toy: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
            .into_iter()
            .map(|(m, d)| (m.to_string(), BTreeSet::from([d.to_string()])))
            .collect();
        assert_eq!(
            cycle_through(&toy, "a").unwrap().join(" → "),
            "a → b → c → a"
        );

        let graph = imports();
        assert!(graph.len() > 20, "the modules were not found: {graph:?}");
        assert!(
            graph["service"].contains("scheduler"),
            "the reader misses imports"
        );
        let cycles: Vec<String> = graph
            .keys()
            .filter_map(|m| cycle_through(&graph, m))
            .map(|c| c.join(" → "))
            .collect();
        assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
    }
}
