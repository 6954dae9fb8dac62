//! hellowatt: brings a household's helloWatt data home.
//!
//! The scraper is a sandboxed WebAssembly component (`wit/scraper.wit`);
//! this crate is the native host around it. Data flows one way:
//! `config` → `scheduler` → `sync` → `sandbox` (the guest in `runtime`,
//! behind `policy`; what it returns checked by `validate`) → `store` →
//! outputs (`api` with the dashboard, metrics and export, `mqtt`, `cli`
//! status). `service` runs it all on the `scheduler`'s timing, reading the
//! time from `clock`. `registry` decides which guest serves in each
//! `slot`: its `check` proves a candidate on the (synthetic) fixture
//! scenarios, its `signature` on a publisher's key. The simulated site
//! (`hellowatt-sim`, a crate of its own) is a fake of the site for tests
//! and the demo.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod homeassistant;
pub mod mqtt;
pub mod registry;
pub mod sandbox;
pub mod scheduler;
pub mod service;
pub mod slot;
pub mod store;
pub mod sync;
pub mod tls;

/// The helloWatt guest built from `guest/` by the build script: the default
/// when no `guest` is configured.
pub static BUNDLED_GUEST: &[u8] = include_bytes!(env!("HELLOWATT_GUEST_WASM"));

/// The Tempo guest built from `guest-tempo/`: the bundled guest of the
/// Tempo slot.
pub static BUNDLED_TEMPO_GUEST: &[u8] = include_bytes!(env!("HELLOWATT_TEMPO_GUEST_WASM"));

/// The EcoWatt guest built from `guest-ecowatt/`: the bundled guest of
/// the EcoWatt slot.
pub static BUNDLED_ECOWATT_GUEST: &[u8] = include_bytes!(env!("HELLOWATT_ECOWATT_GUEST_WASM"));

/// Where the build script left the test-only hostile guest.
pub const HOSTILE_GUEST_PATH: &str = env!("HELLOWATT_HOSTILE_WASM");

#[cfg(test)]
mod layout {
    //! The modules' imports flow one way: no module reaches back into one
    //! that depends on it. Read from the sources, so that a new cycle fails
    //! here with its path, not in a reader's head.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// A folder whose `mod.rs` only declares its files (`sandbox/`): its
    /// files are modules of their own here, so that no cycle hides in it.
    fn is_namespace(dir: &Path) -> bool {
        std::fs::read_to_string(dir.join("mod.rs")).is_ok_and(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("//"))
                .all(|l| l.starts_with("pub mod ") || l.starts_with("mod "))
        })
    }

    /// Each top-level module of `src/` (each file of a namespace folder)
    /// and the modules its code (comments and its own `tests` module aside)
    /// names as `crate::…`.
    fn imports() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let namespaces: BTreeSet<String> = std::fs::read_dir(&src)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir() && is_namespace(p))
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
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
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| {
                        c.as_os_str()
                            .to_string_lossy()
                            .trim_end_matches(".rs")
                            .to_string()
                    })
                    .collect();
                let module = match parts.as_slice() {
                    [folder, file, ..] if namespaces.contains(folder) => {
                        if file == "mod" {
                            continue;
                        }
                        format!("{folder}::{file}")
                    }
                    [first, ..] => first.clone(),
                    [] => continue,
                };
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
                            let word = |s: &str| -> String {
                                s.chars()
                                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                                    .collect()
                            };
                            let name = name.trim();
                            let mut dep = word(name);
                            if namespaces.contains(&dep) {
                                let inner = name[dep.len()..].trim_start_matches("::");
                                dep = format!("{dep}::{}", word(inner));
                            }
                            if !dep.is_empty() && dep != module {
                                deps.insert(dep);
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
        // Every part of the flow is found, each file of `sandbox/` apart.
        for part in [
            "config",
            "scheduler",
            "sync",
            "sandbox::runtime",
            "sandbox::policy",
            "sandbox::validate",
            "store",
            "api",
            "mqtt",
            "registry",
            "service",
            "cli",
            "clock",
        ] {
            assert!(graph.contains_key(part), "{part} was not found: {graph:?}");
        }
        assert!(
            graph["service"].contains("scheduler"),
            "the reader misses imports"
        );
        assert!(
            graph["sandbox::runtime"].contains("sandbox::policy"),
            "the reader misses the sandbox's files: {:?}",
            graph.get("sandbox::runtime")
        );
        let cycles: Vec<String> = graph
            .keys()
            .filter_map(|m| cycle_through(&graph, m))
            .map(|c| c.join(" → "))
            .collect();
        assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
    }
}
