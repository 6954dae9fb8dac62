//! The wasm runtime: one `Engine` for the process, the linker that gives
//! guests exactly the imports they may have, guests compiled and
//! pre-instantiated once, and a fresh `Store` per run with its memory cap,
//! CPU budget and wall-clock timeouts.
//!
//! It owns the sandbox's limits and turns every way a guest can misbehave
//! (trap, memory bomb, endless loop, silence) into a `SandboxError` that
//! names the limit. It must never decide what to fetch or store: that is
//! `sync`'s job.
//!
//! Profiling: with `HELLOWATT_PERFMAP=1` in the environment, the engine
//! writes a perf map of the guests' compiled code (`/tmp/perf-PID.map`,
//! wasmtime's `ProfilingStrategy::PerfMap`), so that `perf report` names
//! the guest's functions instead of showing bare JIT addresses. Off by
//! default: the map grows with every guest compiled or loaded.

use crate::sandbox::cache::{ArtifactCache, sha256_hex};
use crate::sandbox::contract::{self, LogLevel, Scraper, ScraperPre};
use crate::sandbox::policy::{PolicyHooks, Traffic};
use crate::sandbox::redact::Redactor;
use anyhow::{Context, Result, anyhow, bail};
use hellowatt_snapshot::{GuestInfo, Snapshot, SyncError, SyncRequest, WindowStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable, types::ComponentItem};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// One epoch tick. The CPU budget is counted in ticks spent running wasm.
const TICK: Duration = Duration::from_millis(10);

/// What a guest may import. Anything else is refused before it runs, with
/// the name of the import: a scraper has no business with files, sockets or
/// the environment beyond these.
const ALLOWED_IMPORTS: [&str; 8] = [
    "wasi:http/outgoing-handler@0.2",
    "wasi:http/types@0.2",
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:cli/",
    "hellowatt:scraper/log@4.",
    "hellowatt:scraper/types@4.",
];

/// Host resources (headers, requests, bodies, pollables) a guest may hold
/// at once. A scraper holds a handful per request; each one lives in host
/// memory outside the guest's memory cap, so wasmtime's default (a million)
/// would let a guest make the host hold hundreds of MiB.
pub const MAX_HOST_RESOURCES: usize = 10_000;

/// Guest stderr kept per run (a panic message fits; a flood does not).
const STDERR_CAPACITY: usize = 16 * 1024;

/// The sandbox limits of a run.
#[derive(Debug, Clone)]
pub struct Limits {
    pub memory_bytes: usize,
    /// Time spent running wasm code in one `sync` call (not waiting on I/O).
    pub cpu_per_call: Duration,
    /// Wall-clock limit of one `sync` call, I/O included.
    pub wall_per_call: Duration,
    /// Wall-clock limit of a whole run (all its calls).
    pub wall_per_run: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 * 1024 * 1024,
            cpu_per_call: Duration::from_secs(20),
            wall_per_call: Duration::from_secs(600),
            wall_per_run: Duration::from_secs(3 * 3600),
        }
    }
}

/// How a run was stopped by the sandbox (as opposed to a typed guest error).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SandboxError {
    #[error("the guest hit the memory limit of {} MiB and was stopped", .limit_bytes / (1024 * 1024))]
    Memory { limit_bytes: usize },
    #[error("the guest used more than {:?} of CPU in one call and was stopped", .budget)]
    Cpu { budget: Duration },
    #[error("the guest did not answer within {:?} and was stopped", .limit)]
    WallClock { limit: Duration },
    #[error("the run took longer than {:?} in all and was stopped", .limit)]
    RunTime { limit: Duration },
    #[error("the guest held more than {limit} host resources (handles) at once and was stopped")]
    Resources { limit: usize },
    #[error("the guest crashed: {0}")]
    Trap(String),
    #[error("the guest returned data the contract cannot hold: {0}")]
    Invalid(String),
    #[error("this guest instance already failed and cannot be called again")]
    Poisoned,
}

impl SandboxError {
    /// Short name of the limit, for the store and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            SandboxError::Memory { .. } => "sandbox-memory",
            SandboxError::Cpu { .. } => "sandbox-cpu",
            SandboxError::WallClock { .. } => "sandbox-timeout",
            SandboxError::RunTime { .. } => "sandbox-run-timeout",
            SandboxError::Resources { .. } => "sandbox-resources",
            SandboxError::Trap(_) => "sandbox-trap",
            SandboxError::Invalid(_) => "sandbox-invalid",
            SandboxError::Poisoned => "sandbox-poisoned",
        }
    }
}

/// The state of one run's store.
pub struct RunState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: PolicyHooks,
    limits: StoreLimits,
    guest_name: String,
    cpu_ticks: u64,
    cpu_budget_ticks: u64,
    cpu_exhausted: bool,
    /// Time spent running the guest's own code, when measured
    /// ([`GuestRun::measure_guest_time`]).
    guest_clock: GuestClock,
}

/// Sums the intervals during which wasm code runs, from wasmtime's call
/// hooks: entering wasm or coming back from a host import starts one,
/// leaving wasm or calling an import ends it. Host imports (wasi:http,
/// streams, logging, memory growth) and the lifting of results are thus
/// outside it.
#[derive(Debug, Default)]
struct GuestClock {
    since: Option<std::time::Instant>,
    total: Duration,
}

impl GuestClock {
    fn hook(&mut self, hook: wasmtime::CallHook) {
        use wasmtime::CallHook::*;
        match hook {
            CallingWasm | ReturningFromHost => self.since = Some(std::time::Instant::now()),
            ReturningFromWasm | CallingHost => {
                if let Some(since) = self.since.take() {
                    self.total += since.elapsed();
                }
            }
        }
    }
}

impl WasiView for RunState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RunState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Longest guest log line kept; a guest cannot flood the logs with one call.
const MAX_LOG_LINE: usize = 2000;

impl contract::hellowatt::scraper::log::Host for RunState {
    fn log(&mut self, level: LogLevel, message: String) {
        let level = match level {
            LogLevel::Trace => tracing::Level::TRACE,
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Error => tracing::Level::ERROR,
        };
        guest_log(self.hooks.redactor(), &self.guest_name, level, &message);
    }
}

/// Where a guest's log line goes: redacted, cut at [`MAX_LOG_LINE`], then
/// to `tracing` under the target `hellowatt::guest`. Public so that the
/// benchmarks give the guest's native build the very same sink.
pub fn guest_log(redactor: &Redactor, guest: &str, level: tracing::Level, message: &str) {
    let mut message = redactor.redact(message);
    if message.len() > MAX_LOG_LINE {
        let mut end = MAX_LOG_LINE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    match level {
        tracing::Level::TRACE => tracing::trace!(target: "hellowatt::guest", guest, "{message}"),
        tracing::Level::DEBUG => tracing::debug!(target: "hellowatt::guest", guest, "{message}"),
        tracing::Level::INFO => tracing::info!(target: "hellowatt::guest", guest, "{message}"),
        tracing::Level::WARN => tracing::warn!(target: "hellowatt::guest", guest, "{message}"),
        tracing::Level::ERROR => tracing::error!(target: "hellowatt::guest", guest, "{message}"),
    }
}

impl contract::hellowatt::scraper::types::Host for RunState {}

/// The process's wasm engine and linker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<RunState>,
    ticker_stop: Arc<AtomicBool>,
    /// Where [`Runtime::load`] maps compiled guests from (and puts them):
    /// the compiled-guest cache of the configuration a command runs with,
    /// the one its registry uses. `None`: every load compiles.
    cache: Option<Arc<ArtifactCache>>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// A compiled, checked, pre-instantiated guest.
#[derive(Clone)]
pub struct Guest {
    pre: ScraperPre<RunState>,
    pub info: GuestInfo,
    pub sha256: String,
    pub size: usize,
    /// What the component imports, e.g. `wasi:http/outgoing-handler@0.2.12`.
    pub imports: Vec<String>,
}

/// `HELLOWATT_PERFMAP` set to anything but empty or `0` asks for a perf
/// map of the guests' code (see the module doc).
fn perfmap_wanted(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

impl Runtime {
    pub fn new() -> Result<Runtime> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        if perfmap_wanted(std::env::var_os("HELLOWATT_PERFMAP").as_deref()) {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("creating the wasm engine")?;

        let mut linker = Linker::<RunState>::new(&engine);
        add_allowed_wasi(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking WASI")?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking wasi:http")?;
        contract::hellowatt::scraper::log::add_to_linker::<RunState, HasSelf<RunState>>(
            &mut linker,
            |s| s,
        )
        .map_err(anyhow::Error::from)
        .context("linking the log interface")?;
        contract::hellowatt::scraper::types::add_to_linker::<RunState, HasSelf<RunState>>(
            &mut linker,
            |s| s,
        )
        .map_err(anyhow::Error::from)
        .context("linking the types interface")?;

        // Epochs advance in wall time on their own thread; a store's deadline
        // callback turns them into a CPU budget (see `start`).
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&ticker_stop);
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    ticking.increment_epoch();
                }
            })
            .context("starting the epoch thread")?;
        Ok(Runtime {
            engine,
            linker,
            ticker_stop,
            cache: None,
        })
    }

    /// This runtime with `cache` for its [`Runtime::load`]s: a command
    /// that runs a guest maps it from the cache the service fills instead
    /// of compiling it again (0.4 s of a one-day `hellowatt sync`).
    pub fn with_cache(mut self, cache: Option<Arc<ArtifactCache>>) -> Runtime {
        self.cache = cache;
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled-guest cache its loads go through, if any.
    pub fn cache(&self) -> Option<&ArtifactCache> {
        self.cache.as_deref()
    }

    /// Compiles and checks a guest: its imports, its types against the
    /// contract, and its `describe` (contract version). Compilation runs off
    /// the async runtime; with a cache ([`Runtime::with_cache`]) the
    /// compiled guest is mapped from it when there, the checks the same.
    pub async fn load(&self, bytes: Vec<u8>, limits: &Limits) -> Result<Guest> {
        self.load_from(bytes, self.cache.clone(), limits).await
    }

    /// [`Runtime::load`], with the compiled component taken from (or put
    /// into) the on-disk artifact cache: a guest compiled once is not
    /// compiled again after a restart. The checks are the same.
    pub async fn load_cached(
        &self,
        bytes: Vec<u8>,
        cache: &Arc<ArtifactCache>,
        limits: &Limits,
    ) -> Result<Guest> {
        self.load_from(bytes, Some(Arc::clone(cache)), limits).await
    }

    async fn load_from(
        &self,
        bytes: Vec<u8>,
        cache: Option<Arc<ArtifactCache>>,
        limits: &Limits,
    ) -> Result<Guest> {
        let sha256 = sha256_hex(&bytes);
        let size = bytes.len();
        if bytes.get(..8) != Some(&[0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00][..]) {
            if bytes.get(..4) == Some(&[0x00, 0x61, 0x73, 0x6d][..]) {
                bail!(
                    "this is a core wasm module, not a component: build the guest with \
                     `cargo build --release --target wasm32-wasip2`"
                );
            }
            bail!("this file is not a wasm component");
        }
        let engine = self.engine.clone();
        let component = tokio::task::spawn_blocking(move || match cache {
            Some(cache) => cache.load_or_compile(&engine, &bytes).map(|(c, _)| c),
            None => Component::new(&engine, &bytes)
                .map_err(anyhow::Error::from)
                .context("compiling the guest"),
        })
        .await
        .context("the compile task failed")??;
        let imports = self.check_imports(&component)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context("the guest does not match the host's contract")?;
        let pre = ScraperPre::new(pre)
            .map_err(anyhow::Error::from)
            .context("the guest does not export the contract's `describe` and `sync`")?;

        let probe = Guest {
            pre,
            info: GuestInfo {
                name: "(unknown)".into(),
                version: String::new(),
                contract: String::new(),
                provides: vec![],
                description: String::new(),
            },
            sha256,
            size,
            imports,
        };
        // `describe` runs in a sandbox that allows no request at all.
        let hooks = PolicyHooks::new(
            crate::sandbox::policy::Origin::parse(crate::sandbox::policy::DEFAULT_SITE)
                .map_err(|e| anyhow!(e))?,
            crate::sandbox::policy::HttpLimits {
                max_requests: 0,
                ..Default::default()
            },
            crate::sandbox::policy::Backend::Network,
            Arc::default(),
        );
        let mut run = self.start(&probe, hooks, limits).await?;
        let info = run
            .describe()
            .await
            .context("calling the guest's describe")?;
        contract::check_contract_version(&info.contract).map_err(|e| anyhow!(e))?;
        Ok(Guest { info, ..probe })
    }

    fn check_imports(&self, component: &Component) -> Result<Vec<String>> {
        let ty = component.component_type();
        let mut names = Vec::new();
        for (name, item) in ty.imports(&self.engine) {
            if let Some(refusal) = contract::refused_major(name) {
                bail!(refusal);
            }
            let allowed = ALLOWED_IMPORTS.iter().any(|p| name.starts_with(p));
            if !allowed || !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
                bail!(
                    "the guest imports `{name}`, which hellowatt does not give to guests \
                     (allowed: wasi:http outgoing-handler and types, wasi:io, wasi:clocks, \
                     wasi:random, wasi:cli, hellowatt:scraper/log)"
                );
            }
            names.push(name.to_string());
        }
        Ok(names)
    }

    /// A new store and instance for one run.
    pub async fn start(
        &self,
        guest: &Guest,
        hooks: PolicyHooks,
        limits: &Limits,
    ) -> Result<GuestRun> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        // No environment, no arguments, no preopened directory, no sockets:
        // the builder gives none unless asked.
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        let cpu_budget_ticks = (limits.cpu_per_call.as_millis() / TICK.as_millis()).max(1) as u64;
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HOST_RESOURCES);
        let state = RunState {
            wasi,
            http: WasiHttpCtx::new(),
            table,
            hooks: hooks.clone(),
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory_bytes)
                .instances(10)
                .tables(10)
                .memories(4)
                .trap_on_grow_failure(true)
                .build(),
            guest_name: guest.info.name.clone(),
            cpu_ticks: 0,
            cpu_budget_ticks,
            cpu_exhausted: false,
            guest_clock: GuestClock::default(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1);
        // Called only while wasm runs and a tick has passed: counting the
        // calls measures time spent computing, not time waiting on the site.
        store.epoch_deadline_callback(|mut ctx| {
            let s = ctx.data_mut();
            s.cpu_ticks += 1;
            if s.cpu_ticks > s.cpu_budget_ticks {
                s.cpu_exhausted = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Yield(1))
        });
        let instance = tokio::time::timeout(
            limits.wall_per_call,
            guest.pre.instantiate_async(&mut store),
        )
        .await
        .map_err(|_| {
            anyhow!(SandboxError::WallClock {
                limit: limits.wall_per_call
            })
        })?
        .map_err(anyhow::Error::from)
        .context("instantiating the guest")?;
        Ok(GuestRun {
            store,
            instance,
            hooks,
            limits: limits.clone(),
            stderr,
            poisoned: false,
            deadline: tokio::time::Instant::now() + limits.wall_per_run,
        })
    }
}

/// Adds the WASI interfaces a guest may import, and nothing else: no
/// filesystem, no sockets.
fn add_allowed_wasi(l: &mut Linker<RunState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    use wasmtime_wasi::p2::bindings::{cli, random};
    use wasmtime_wasi::random::WasiRandom;

    wasmtime_wasi::p2::add_to_linker_proxy_interfaces_async(l)?;
    random::insecure::add_to_linker::<RunState, WasiRandom>(l, |t| t.wasi.random())?;
    random::insecure_seed::add_to_linker::<RunState, WasiRandom>(l, |t| t.wasi.random())?;
    cli::exit::add_to_linker::<RunState, WasiCli>(l, <RunState as WasiCliView>::cli)?;
    cli::environment::add_to_linker::<RunState, WasiCli>(l, <RunState as WasiCliView>::cli)?;
    cli::terminal_input::add_to_linker::<RunState, WasiCli>(l, <RunState as WasiCliView>::cli)?;
    cli::terminal_output::add_to_linker::<RunState, WasiCli>(l, <RunState as WasiCliView>::cli)?;
    cli::terminal_stdin::add_to_linker::<RunState, WasiCli>(l, <RunState as WasiCliView>::cli)?;
    cli::terminal_stdout::add_to_linker::<RunState, WasiCli>(l, <RunState as WasiCliView>::cli)?;
    cli::terminal_stderr::add_to_linker::<RunState, WasiCli>(l, <RunState as WasiCliView>::cli)?;
    Ok(())
}

/// One run: one instance, several `sync` calls (one window each).
pub struct GuestRun {
    store: Store<RunState>,
    instance: Scraper,
    hooks: PolicyHooks,
    limits: Limits,
    stderr: MemoryOutputPipe,
    poisoned: bool,
    /// The end of the run's wall-clock budget.
    deadline: tokio::time::Instant,
}

impl GuestRun {
    pub async fn describe(&mut self) -> Result<GuestInfo, SandboxError> {
        self.guarded(|run| {
            Box::pin(async move { run.instance.call_describe(&mut run.store).await })
        })
        .await
        .map(contract::guest_info)
    }

    /// Calls the guest's `sync`. The outer error is the sandbox's (the run is
    /// over); the inner one is the guest's typed answer.
    pub async fn sync(
        &mut self,
        call: &SyncRequest,
    ) -> Result<Result<Snapshot, SyncError>, SandboxError> {
        let request = contract::request_to_wit(call);
        let answer = self
            .guarded(move |run| {
                Box::pin(async move { run.instance.call_sync(&mut run.store, &request).await })
            })
            .await?;
        let redactor = Arc::clone(self.hooks.redactor());
        match answer {
            Ok(snapshot) => contract::snapshot(snapshot)
                .map(|mut s| {
                    // A failed part's error is text the guest chose too.
                    for w in &mut s.windows {
                        if let WindowStatus::Failed(e) = &mut w.status {
                            *e = redact_error(e.clone(), &redactor);
                        }
                    }
                    Ok(s)
                })
                .map_err(|e| {
                    self.poisoned = true;
                    SandboxError::Invalid(redactor.redact(&e.0))
                }),
            Err(e) => Ok(Err(redact_error(contract::sync_error(e), &redactor))),
        }
    }

    pub fn traffic(&self) -> Traffic {
        self.hooks.traffic()
    }

    /// From now on, times the guest's own code (see [`GuestClock`]); read
    /// with [`GuestRun::guest_time`]. For benchmarks: it costs a clock
    /// read on every crossing of the sandbox's edge.
    pub fn measure_guest_time(&mut self) {
        self.store.call_hook(|mut ctx, hook| {
            ctx.data_mut().guest_clock.hook(hook);
            Ok(())
        });
    }

    /// Time spent running the guest's own code since
    /// [`GuestRun::measure_guest_time`]; zero when not measured.
    pub fn guest_time(&self) -> Duration {
        self.store.data().guest_clock.total
    }

    pub fn hooks(&self) -> &PolicyHooks {
        &self.hooks
    }

    /// Runs one guest call under the CPU budget and the wall-clock limit,
    /// and classifies a failure by the limit that stopped it.
    async fn guarded<T>(
        &mut self,
        call: impl for<'a> FnOnce(
            &'a mut GuestRun,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = wasmtime::Result<T>> + Send + 'a>,
        >,
    ) -> Result<T, SandboxError> {
        if self.poisoned {
            return Err(SandboxError::Poisoned);
        }
        self.store.data_mut().cpu_ticks = 0;
        self.store.data_mut().cpu_exhausted = false;
        self.store.set_epoch_deadline(1);
        // The call's own limit, or what is left of the run's, whichever ends first.
        let run_left = self
            .deadline
            .saturating_duration_since(tokio::time::Instant::now());
        let (wall, timeout_error) = if run_left < self.limits.wall_per_call {
            (
                run_left,
                SandboxError::RunTime {
                    limit: self.limits.wall_per_run,
                },
            )
        } else {
            (
                self.limits.wall_per_call,
                SandboxError::WallClock {
                    limit: self.limits.wall_per_call,
                },
            )
        };
        let result = tokio::time::timeout(wall, call(self)).await;
        let error = match result {
            Ok(Ok(v)) => return Ok(v),
            Err(_) => timeout_error,
            Ok(Err(e)) => {
                let trap = e.downcast_ref::<wasmtime::Trap>().copied();
                self.classify(anyhow::Error::from(e), trap)
            }
        };
        self.poisoned = true;
        let stderr = String::from_utf8_lossy(&self.stderr.contents()).into_owned();
        if !stderr.trim().is_empty() {
            let stderr = self.hooks.redactor().redact(stderr.trim());
            tracing::warn!(target: "hellowatt::guest", guest = %self.store.data().guest_name, "guest stderr: {stderr}");
        }
        Err(error)
    }

    fn classify(&self, e: anyhow::Error, trap: Option<wasmtime::Trap>) -> SandboxError {
        let state = self.store.data();
        if state.cpu_exhausted {
            return SandboxError::Cpu {
                budget: self.limits.cpu_per_call,
            };
        }
        let text = format!("{e:#}");
        if text.contains("forcing trap when growing memory") {
            return SandboxError::Memory {
                limit_bytes: self.limits.memory_bytes,
            };
        }
        // wasmtime's `ResourceTableError::Full`, raised by a host call.
        if text.contains("resource table has no free keys") {
            return SandboxError::Resources {
                limit: MAX_HOST_RESOURCES,
            };
        }
        // A wasm trap is named by its code ("out of bounds memory access",
        // "call stack exhausted"); the wasm backtrace around it (function
        // numbers of a stripped guest) says nothing to a reader.
        let mut detail = match trap {
            Some(trap) => trap.to_string(),
            None => self.hooks.redactor().redact(&text),
        };
        let stderr = String::from_utf8_lossy(&self.stderr.contents()).into_owned();
        let mut lines = stderr.lines();
        if let Some(panic) = lines.by_ref().find(|l| l.contains("panicked at")) {
            // Rust prints the panic's message on the line after its place.
            let message = lines.next().unwrap_or_default().trim();
            let panic = format!("{} {message}", panic.trim());
            detail = format!("{detail} ({})", self.hooks.redactor().redact(panic.trim()));
        }
        SandboxError::Trap(detail)
    }
}

/// A guest's error detail is text it chose: it goes through the redactor
/// like its logs.
fn redact_error(e: SyncError, r: &crate::sandbox::redact::Redactor) -> SyncError {
    use hellowatt_snapshot::{RateLimit, SiteChange, Unavailable};
    match e {
        SyncError::CredentialsRejected { detail } => SyncError::CredentialsRejected {
            detail: r.redact(&detail),
        },
        SyncError::RateLimited(x) => SyncError::RateLimited(RateLimit {
            detail: r.redact(&x.detail),
            ..x
        }),
        SyncError::SessionLost { detail } => SyncError::SessionLost {
            detail: r.redact(&detail),
        },
        SyncError::ActionNeeded { detail } => SyncError::ActionNeeded {
            detail: r.redact(&detail),
        },
        SyncError::SiteUnavailable(x) => SyncError::SiteUnavailable(Unavailable {
            detail: r.redact(&x.detail),
            ..x
        }),
        SyncError::SiteChanged(x) => SyncError::SiteChanged(SiteChange {
            location: r.redact(&x.location),
            detail: r.redact(&x.detail),
        }),
        SyncError::Transport { detail } => SyncError::Transport {
            detail: r.redact(&detail),
        },
        SyncError::Other { detail } => SyncError::Other {
            detail: r.redact(&detail),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::perfmap_wanted;
    use std::ffi::OsStr;

    /// The contract's own imports are allowed at the major the host runs,
    /// and only at it (a bump of `SUPPORTED_MAJOR` must move them too).
    #[test]
    fn the_contracts_imports_are_allowed_at_the_supported_major() {
        let major = super::super::contract::SUPPORTED_MAJOR;
        for interface in ["log", "types"] {
            let wanted = format!("hellowatt:scraper/{interface}@{major}.");
            assert!(
                super::ALLOWED_IMPORTS.contains(&wanted.as_str()),
                "{wanted}"
            );
        }
        let scraper = super::ALLOWED_IMPORTS
            .iter()
            .filter(|p| p.starts_with("hellowatt:"))
            .count();
        assert_eq!(scraper, 2);
    }

    #[test]
    fn the_perf_map_is_asked_for_by_a_non_empty_value_other_than_0() {
        assert!(!perfmap_wanted(None));
        assert!(!perfmap_wanted(Some(OsStr::new(""))));
        assert!(!perfmap_wanted(Some(OsStr::new("0"))));
        assert!(perfmap_wanted(Some(OsStr::new("1"))));
        assert!(perfmap_wanted(Some(OsStr::new("yes"))));
    }
}
