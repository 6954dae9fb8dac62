//! The `hellowatt` command line: parses arguments, sets up logging and the
//! async runtime, and calls the part that does the work. It owns the
//! wording of what a person sees on the terminal and the exit codes; it
//! must never hold logic that a test or another output would need.

pub mod demo;
pub mod doctor;
pub mod guest;
mod progress;
pub mod record;
pub mod status;
pub mod template;

use crate::api::export;
use crate::clock::today;
use crate::config::Config;
use crate::service::CacheUse;
use crate::store::{Granularity, Store};
use crate::sync;
use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use hellowatt_sim as sim;
use hellowatt_snapshot::Date;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hellowatt",
    version,
    about = "Brings your helloWatt data home: SQLite, exports, status."
)]
#[command(long_about = "Brings your helloWatt data home.\n\n\
Configuration comes from --config FILE (TOML) and the environment: every key KEY can be set \
as HELLOWATT_<KEY>, e.g. HELLOWATT_EMAIL, HELLOWATT_PASSWORD, HELLOWATT_DB, \
HELLOWATT_SITE_URL, HELLOWATT_PACING_MS.")]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "HELLOWATT_CONFIG")]
    config: Option<PathBuf>,
    /// More log output (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline against the simulated site and print a summary.
    Demo {
        /// Keep the database here (default: a fresh file in a temporary folder).
        #[arg(long)]
        db: Option<PathBuf>,
        /// Keep running as the service on the simulated site, with the
        /// dashboard and API (two years of history), until Ctrl-C.
        #[arg(long)]
        serve: bool,
        /// With --serve: where the dashboard and API listen.
        #[arg(long, default_value = crate::config::DEFAULT_LISTEN)]
        listen: SocketAddr,
    },
    /// Serve the simulated helloWatt site (demo account demo@hellowatt.test).
    Simulate {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8484")]
        listen: SocketAddr,
        /// Where the simulated Tempo service listens.
        #[arg(long, default_value = "127.0.0.1:8485")]
        tempo_listen: SocketAddr,
        /// Where the simulated RTE EcoWatt service (token endpoint and
        /// signals) listens.
        #[arg(long, default_value = "127.0.0.1:8486")]
        ecowatt_listen: SocketAddr,
        /// Serve one recorded fixture scenario instead of the demo account.
        #[arg(long)]
        scenario: Option<String>,
        /// Serve the demo account as a changed site: `values-renamed` (the
        /// daily electricity's list under `data`), the change of the
        /// README's site-change rehearsal.
        #[arg(long, value_parser = ["values-renamed"])]
        site_change: Option<String>,
    },
    /// Fetch a date range from the site into the database.
    Sync {
        /// The account to sync (needed when several are configured).
        #[arg(long)]
        account: Option<String>,
        /// First day (YYYY-MM-DD); default: 30 days before --to.
        #[arg(long)]
        from: Option<String>,
        /// Last day (YYYY-MM-DD); default: yesterday (the site's data runs to D-1).
        #[arg(long)]
        to: Option<String>,
    },
    /// The service: keeps every configured account current, on a schedule.
    Run,
    /// Close an account's circuit breaker (after fixing its password), lift a
    /// pause or a cool-down. Picked up by a running service within seconds.
    Reset { account: String },
    /// Ask the running service for a sync now (at most every
    /// manual_min_interval_minutes).
    Refresh { account: String },
    /// What is in the database and how the last runs went.
    Status {
        /// How many recent runs to show.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Export stored readings as CSV or JSON.
    Export {
        #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
        format: String,
        #[arg(long, default_value = "day", value_parser = ["day", "month", "year"])]
        granularity: String,
        /// First day (default: the first stored day).
        #[arg(long)]
        from: Option<String>,
        /// Last day (default: the last stored day).
        #[arg(long)]
        to: Option<String>,
        /// Only this meter (PDL or PCE).
        #[arg(long)]
        meter: Option<String>,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Sync a range against the site and write it as an anonymised fixture
    /// scenario (a cassette and the guest's outcome), safe to share when
    /// the site changed.
    Record {
        /// The account (needed when several are configured).
        #[arg(long)]
        account: Option<String>,
        /// First day (YYYY-MM-DD); default: 7 days before --to.
        #[arg(long)]
        from: Option<String>,
        /// Last day; default: yesterday.
        #[arg(long)]
        to: Option<String>,
        /// The scenario folder to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Try each part of the site once with the configured account (log-in,
    /// homes, one day of each series, the curve, the temperature, the Tempo
    /// service) and say what works: no secret or personal data is printed,
    /// nothing is stored. Exits non-zero when a step fails.
    Doctor {
        /// The account (needed when several are configured).
        #[arg(long)]
        account: Option<String>,
    },
    /// Guest components: check one against the recorded fixtures.
    #[command(subcommand)]
    Guest(GuestCommand),
    /// Home Assistant's long-term statistics (ha_url, ha_token_file).
    #[command(subcommand)]
    Ha(HaCommand),
}

#[derive(Subcommand)]
enum HaCommand {
    /// Send Home Assistant the hours it does not have as the database
    /// holds them (the running service does this after every run).
    Push {
        /// Send every hour again, whatever was sent before.
        #[arg(long)]
        full: bool,
    },
}

#[derive(Subcommand)]
enum GuestCommand {
    #[command(flatten)]
    Registry(guest::RegistryCommand),
    /// Start a new helloWatt guest in DIR: the bundled guest's sources, a
    /// Cargo.toml on the hellowatt sources, a scenarios/ folder and a test
    /// that replays every scenario (see docs/guest-authors.md).
    New {
        dir: PathBuf,
        /// The hellowatt source tree the guest builds on (default: the one
        /// this hellowatt was built from).
        #[arg(long)]
        hellowatt_src: Option<PathBuf>,
    },
    /// Replay every recorded scenario through FILE.wasm (no network) and
    /// compare with the golden snapshots. Exit code 0 only if all pass.
    /// The scenarios are those of the guest's slot (hellowatt, tempo or
    /// ecowatt).
    Check {
        file: PathBuf,
        /// The guest's own scenarios: a folder of scenario folders (or one
        /// scenario folder). Default: NAME.fixtures/ beside the file, if
        /// any. They are checked with the scenarios shipped with hellowatt,
        /// and may supersede shipped ones ("supersedes" in scenario.json)
        /// when FILE.sig verifies under a trusted key, as at the gate.
        #[arg(long)]
        fixtures: Option<PathBuf>,
        /// Check the --fixtures scenarios alone (while writing a fix).
        #[arg(long)]
        only: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's and the check's output is their report; steps show with -v.
    let quiet = matches!(
        cli.command,
        Command::Demo { serve: false, .. } | Command::Guest(GuestCommand::Check { .. })
    );
    // The doctor's report is meant to be pasted into a bug report: the
    // guest's own log lines name homes and meters, so they show with -v.
    let silent = matches!(cli.command, Command::Doctor { .. });
    // A sync on a terminal shows a bar instead of a line per request;
    // warnings still print (above it), and -v brings the lines back.
    let bar = matches!(cli.command, Command::Sync { .. }) && cli.verbose == 0 && progress::wanted();
    init_tracing(cli.verbose, quiet || bar, silent);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The command runs as a task on a worker, as the service runs a sync:
    // the request futures wasi-http spawns for a guest then run on the
    // same thread, where from `block_on` each would be handed to a worker
    // and back (the sync-call bench: 44 ms on the calling thread, 34 ms on
    // a worker).
    match rt.block_on(rt.spawn(dispatch(cli))) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: the command stopped unexpectedly: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool, silent: bool) {
    let default = match verbose {
        0 if silent => "error",
        0 if quiet => "warn",
        0 => "hellowatt=info,warn",
        1 => "hellowatt=debug,info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours for a terminal only: the journal and log files get plain text.
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(|| progress::LogWriter)
        .try_init();
}

fn parse_date(arg: &str, value: &str) -> Result<Date> {
    Date::parse(value).map_err(|e| {
        anyhow!("--{arg} {value:?}: {e}: write the day as YYYY-MM-DD, e.g. 2026-11-01")
    })
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo { db, serve, listen } => {
            let config = Config::load(cli.config.as_deref())?;
            let runtime = crate::service::command_runtime(&config, CacheUse::IfThere)?;
            let guest = crate::service::configured_guest(&runtime, &config).await?;
            let (db, _tmp) = match db {
                Some(db) => (db, None),
                None => {
                    let dir = tempfile::Builder::new()
                        .prefix("hellowatt-demo-")
                        .tempdir()?;
                    (dir.path().join("hellowatt.db"), Some(dir))
                }
            };
            if serve {
                let stopped = shutdown_on_signal("stopping the demo");
                demo::serve(runtime, guest, db, today(), listen, stopped).await?;
                return Ok(ExitCode::SUCCESS);
            }
            let outcome = demo::run(&runtime, &guest, db, today()).await?;
            print!("{}", outcome.report);
            if _tmp.is_some() {
                println!("(a temporary database: pass --db FILE to keep it)");
            }
            Ok(if outcome.summary.failure.is_some() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Simulate {
            listen,
            tempo_listen,
            ecowatt_listen,
            scenario,
            site_change,
        } => {
            let mode = match scenario {
                None => sim::SimMode::Demo { today: today() },
                Some(name) => {
                    let dir = hellowatt_fixtures::scenarios_dir().join(&name);
                    let s = hellowatt_fixtures::load_scenario(&dir).with_context(|| {
                        format!("no usable scenario {name:?} in {}", dir.display())
                    })?;
                    sim::SimMode::Scenario(s)
                }
            };
            let server = sim::start(listen, mode)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            if site_change.is_some() {
                server.set_fault(
                    Some(sim::Fault::RenamedKey {
                        from: "values".into(),
                        to: "data".into(),
                    }),
                    sim::FaultScope::PathContaining("sge_measures/conso_daily".into()),
                );
                println!("changed site: the daily electricity's `values` are now `data`");
            }
            let tempo = sim::start_tempo(tempo_listen, sim::TempoSimMode::Both)
                .await
                .with_context(|| format!("listening on {tempo_listen} (--tempo-listen)"))?;
            let ecowatt = sim::start_ecowatt(ecowatt_listen, sim::EcoWattSimMode::Normal)
                .await
                .with_context(|| format!("listening on {ecowatt_listen} (--ecowatt-listen)"))?;
            println!("simulated helloWatt site on {}", server.url());
            println!("simulated Tempo service on {}", tempo.url());
            println!("simulated RTE EcoWatt service on {}", ecowatt.url());
            println!("demo account: {} / {}", sim::DEMO_LOGIN, sim::DEMO_PASSWORD);
            println!(
                "demo RTE application: {} / {}",
                sim::DEMO_RTE_CLIENT_ID,
                sim::DEMO_RTE_CLIENT_SECRET
            );
            println!(
                "try: HELLOWATT_SITE_URL={} HELLOWATT_TEMPO_URL={} HELLOWATT_TEMPO_FALLBACK_URL=off \
                 HELLOWATT_ECOWATT_URL={} HELLOWATT_RTE_CLIENT_ID={} HELLOWATT_RTE_CLIENT_SECRET={} \
                 HELLOWATT_EMAIL={} HELLOWATT_PASSWORD='{}' HELLOWATT_PACING_MS=0 hellowatt sync",
                server.url(),
                tempo.url(),
                ecowatt.url(),
                sim::DEMO_RTE_CLIENT_ID,
                sim::DEMO_RTE_CLIENT_SECRET,
                sim::DEMO_LOGIN,
                sim::DEMO_PASSWORD
            );
            println!("Ctrl-C to stop");
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            server.shutdown().await;
            tempo.shutdown().await;
            ecowatt.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync { account, from, to } => {
            let config = Config::load(cli.config.as_deref())?;
            let account = config.account(account.as_deref())?;
            account.credentials()?;
            let to = match to {
                Some(t) => parse_date("to", &t)?,
                None => today().add_days(-1),
            };
            let from = match from {
                Some(f) => parse_date("from", &f)?,
                None => to.add_days(-29),
            };
            if from > to {
                bail!("--from {from} is after --to {to}");
            }
            if config.site.url() != crate::sandbox::policy::DEFAULT_SITE {
                tracing::warn!(site = %config.site.url(), "using a site override instead of {}", crate::sandbox::policy::DEFAULT_SITE);
            }
            let runtime =
                std::sync::Arc::new(crate::service::command_runtime(&config, CacheUse::Create)?);
            let guest = crate::service::command_guest(&runtime, &config).await?;
            let mut store = Store::open(&config.db)
                .with_context(|| format!("opening {}", config.db.display()))?;
            let bar = (cli.verbose == 0 && progress::wanted()).then(progress::SyncBar::new);
            let parts = sync::whole_parts(&sync::month_windows(from, to));
            let watched = bar.as_ref().map(|b| b as &dyn sync::Progress);
            let s = sync::run_watched(
                &runtime, &guest, &mut store, &config, account, &parts, watched,
            )
            .await;
            if let Some(bar) = &bar {
                bar.finish(s.as_ref().is_ok_and(|s| s.failure.is_none()));
            }
            let s = s?;
            println!(
                "run {}: {from} to {to}, {} windows ({} failed parts), {} requests; {} inserted, {} updated, {} unchanged, {} revisions",
                s.run_id,
                s.windows,
                s.failed.len(),
                s.traffic.requests,
                s.stats.inserted,
                s.stats.updated,
                s.stats.unchanged,
                s.stats.revisions
            );
            if let Some(tempo) = &config.tempo {
                sync_tempo(std::sync::Arc::clone(&runtime), &config, tempo, &mut store).await;
            }
            if let Some(ecowatt) = &config.ecowatt {
                sync_ecowatt(runtime, &config, ecowatt, &mut store).await;
            }
            match s.failure {
                None => Ok(ExitCode::SUCCESS),
                Some(f) => {
                    eprintln!("sync failed ({}): {f}", f.kind());
                    eprintln!("{}", advice(f.kind()));
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Run => {
            // First: a SIGTERM while the guests load (compiling one takes
            // a second or more) stops the service cleanly once it starts.
            let stopped = shutdown_on_signal(
                "stopping: the run in progress (if any) finishes its current month first",
            );
            let config = Config::load(cli.config.as_deref())?;
            for a in &config.accounts {
                a.credentials()?;
            }
            if config.site.url() != crate::sandbox::policy::DEFAULT_SITE {
                tracing::warn!(site = %config.site.url(), "using a site override instead of {}", crate::sandbox::policy::DEFAULT_SITE);
            }
            let runtime =
                std::sync::Arc::new(crate::service::command_runtime(&config, CacheUse::Create)?);
            let source = crate::service::GuestSource::Configured;
            let shared = crate::service::assemble(config, runtime, source).await?;
            crate::service::run(shared, stopped).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reset { account } => request(
            cli.config.as_deref(),
            &account,
            crate::store::Request::Reset,
        ),
        Command::Refresh { account } => request(
            cli.config.as_deref(),
            &account,
            crate::store::Request::Refresh,
        ),
        Command::Ha(HaCommand::Push { full }) => {
            let config = Config::load(cli.config.as_deref())?;
            let Some(ha) = &config.home_assistant else {
                bail!(
                    "Home Assistant is not configured: set ha_url (its address, e.g. \
                     http://homeassistant.local:8123) and ha_token_file (a long-lived access \
                     token, chmod 600)"
                );
            };
            let store = tokio::sync::Mutex::new(
                Store::open(&config.db)
                    .with_context(|| format!("opening {}", config.db.display()))?,
            );
            let report = crate::homeassistant::push(&store, ha, full, crate::clock::now_utc())
                .await
                .context("pushing the statistics to Home Assistant")?;
            println!(
                "Home Assistant {}: {} statistic(s); {} hour(s) of {} sent{}",
                ha.display_url(),
                report.series,
                report.hours,
                report.uploads,
                if report.contacted {
                    ""
                } else {
                    " (it had them all: not contacted)"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { runs } => {
            let config = Config::load(cli.config.as_deref())?;
            if !config.db.exists() {
                bail!(
                    "no database at {}: run `hellowatt sync` first (or set HELLOWATT_DB)",
                    config.db.display()
                );
            }
            let store = Store::open(&config.db)
                .with_context(|| format!("opening {}", config.db.display()))?;
            print!(
                "{}",
                status::report(&store, &config, runs, crate::clock::now_utc())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            format,
            granularity,
            from,
            to,
            meter,
            output,
        } => {
            let config = Config::load(cli.config.as_deref())?;
            if !config.db.exists() {
                bail!(
                    "no database at {}: run `hellowatt sync` first (or set HELLOWATT_DB)",
                    config.db.display()
                );
            }
            let store = Store::open(&config.db)
                .with_context(|| format!("opening {}", config.db.display()))?;
            let meters = store.meters(None)?;
            let first = meters.iter().filter_map(|m| m.first_day).min();
            let last = meters.iter().filter_map(|m| m.last_day).max();
            let from = match from {
                Some(f) => parse_date("from", &f)?,
                None => first.ok_or_else(|| {
                    anyhow!("the database holds no readings yet: run `hellowatt sync`")
                })?,
            };
            let to = match to {
                Some(t) => parse_date("to", &t)?,
                None => last.unwrap_or(from),
            };
            let granularity = Granularity::parse(&granularity)
                .ok_or_else(|| anyhow!("--granularity: day, month or year"))?;
            let text = export::export(
                &store,
                export::Format::parse(&format)?,
                granularity,
                from,
                to,
                meter.as_deref(),
            )?;
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { account } => {
            let config = Config::load(cli.config.as_deref())?;
            let account = config.account(account.as_deref())?;
            let runtime =
                std::sync::Arc::new(crate::service::command_runtime(&config, CacheUse::Create)?);
            let guest = crate::service::command_guest(&runtime, &config).await?;
            let tempo = match &config.tempo {
                Some(_) => Some(
                    runtime
                        .load(crate::BUNDLED_TEMPO_GUEST.to_vec(), &config.limits)
                        .await
                        .context("loading the bundled Tempo guest")?,
                ),
                None => None,
            };
            println!(
                "hellowatt doctor: {} as configured, guest {} {}",
                config.site.url(),
                guest.info.name,
                guest.info.version
            );
            let report = crate::cli::doctor::diagnose(
                &runtime,
                &guest,
                tempo.as_ref(),
                &config,
                account,
                today(),
            )
            .await?;
            print!("{}", report.render());
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Record {
            account,
            from,
            to,
            out,
        } => {
            let config = Config::load(cli.config.as_deref())?;
            let account = config.account(account.as_deref())?;
            let to = match to {
                Some(t) => parse_date("to", &t)?,
                None => today().add_days(-1),
            };
            let from = match from {
                Some(f) => parse_date("from", &f)?,
                None => to.add_days(-6),
            };
            if from > to {
                bail!("--from {from} is after --to {to}");
            }
            let runtime =
                std::sync::Arc::new(crate::service::command_runtime(&config, CacheUse::Create)?);
            let guest = crate::service::command_guest(&runtime, &config).await?;
            let report =
                crate::cli::record::record(&runtime, &guest, &config, account, from, to, &out)
                    .await?;
            println!(
                "recorded {} exchanges into {} (outcome: {}); {} values anonymised. Check it with \
                 `hellowatt guest check GUEST.wasm --fixtures {}` (the scenario's parent folder).",
                report.exchanges,
                report.dir.display(),
                report.outcome_kind,
                report.replaced,
                out.parent()
                    .map_or_else(|| ".".into(), |p| p.display().to_string())
            );
            // Deny by default: what was not replaced, for a person to check
            // before sharing the scenario.
            println!("{}", report.kept_lines());
            Ok(ExitCode::SUCCESS)
        }
        Command::Guest(GuestCommand::Registry(command)) => {
            let config = Config::load(cli.config.as_deref())?;
            guest::run(command, &config).await
        }
        Command::Guest(GuestCommand::New { dir, hellowatt_src }) => {
            let src = match hellowatt_src.or_else(template::built_from) {
                Some(src) => src,
                None => bail!(
                    "the hellowatt sources this binary was built from are gone: give a \
                     hellowatt source tree with --hellowatt-src DIR (git clone it)"
                ),
            };
            print!("{}", template::new_guest(&dir, &src)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Guest(GuestCommand::Check {
            file,
            fixtures,
            only,
        }) => {
            let config = Config::load(cli.config.as_deref())?;
            let out = guest::check_file(&config, &file, fixtures.as_deref(), only).await?;
            print!("{}", out.text);
            Ok(if out.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// `hellowatt sync`'s Tempo part: the missing days of the season and
/// tomorrow, by the Tempo slot's active guest. A failure is reported, not
/// fatal: the helloWatt sync is what the command is for.
async fn sync_tempo(
    runtime: std::sync::Arc<crate::sandbox::runtime::Runtime>,
    config: &Config,
    tempo: &crate::config::TempoConfig,
    store: &mut Store,
) {
    let settings = crate::registry::GuestSettings::from_config(config);
    let result = async {
        let registry = crate::registry::open_slot(
            std::sync::Arc::clone(&runtime),
            config,
            &settings,
            crate::slot::Slot::Tempo,
        )
        .await?;
        let guest = registry.active();
        crate::sync::tempo::run_once(&runtime, &guest, store, tempo, &config.limits, today()).await
    }
    .await;
    match result {
        Ok(Some(t)) => match &t.failure {
            None => println!(
                "tempo run {}: {} requests; {} inserted, {} updated",
                t.run_id, t.traffic.requests, t.stats.inserted, t.stats.updated
            ),
            Some(f) => eprintln!(
                "tempo: the Tempo service failed ({}): {f}; the colours already stored are kept",
                f.kind()
            ),
        },
        Ok(None) => {}
        Err(e) => eprintln!("tempo: {e:#}"),
    }
}

/// `hellowatt sync`'s EcoWatt part: today's and the next days' signals, by
/// the EcoWatt slot's active guest, with a token the host asks RTE for;
/// not when RTE's 15 minutes since the last call are not over. A failure
/// is reported, not fatal.
async fn sync_ecowatt(
    runtime: std::sync::Arc<crate::sandbox::runtime::Runtime>,
    config: &Config,
    ecowatt: &crate::config::EcowattConfig,
    store: &mut Store,
) {
    use crate::sync::ecowatt::{self, Ran};
    let now = crate::clock::now_utc();
    let settings = crate::registry::GuestSettings::from_config(config);
    let result = async {
        let last = ecowatt::facts(store, today())?.last_run;
        if let Some(last) = last
            && now < last + ecowatt::RTE_PERIOD
        {
            return Ok(Err(last + ecowatt::RTE_PERIOD));
        }
        let registry = crate::registry::open_slot(
            std::sync::Arc::clone(&runtime),
            config,
            &settings,
            crate::slot::Slot::Ecowatt,
        )
        .await?;
        let guest = registry.active();
        let broker = crate::sync::rte_token::TokenBroker::new(ecowatt);
        let ran = ecowatt::run_once(
            &runtime,
            &guest,
            store,
            ecowatt,
            &broker,
            &config.limits,
            today(),
            now,
        )
        .await?;
        anyhow::Ok(Ok(ran))
    }
    .await;
    match result {
        Ok(Ok(Ran::Guest(s))) => match &s.failure {
            None => println!(
                "ecowatt run {}: {} request(s); {} inserted, {} updated",
                s.run_id, s.traffic.requests, s.stats.inserted, s.stats.updated
            ),
            Some(f) => eprintln!(
                "ecowatt: RTE's EcoWatt service failed ({}): {f}; the signals already stored \
                 are kept",
                f.kind()
            ),
        },
        Ok(Ok(Ran::NoToken { error, .. })) => eprintln!("ecowatt: {error}"),
        Ok(Err(at)) => println!(
            "ecowatt: not asked (RTE allows one call every 15 minutes; the next from {})",
            hellowatt_snapshot::paris_iso(at)
        ),
        Err(e) => eprintln!("ecowatt: {e:#}"),
    }
}

/// SIGTERM (systemd) or SIGINT (Ctrl-C), as a shutdown signal. The SIGTERM
/// handler is installed before this returns, not when a task first runs,
/// so a stop sent while the service is still starting is not lost.
fn shutdown_on_signal(note: &'static str) -> tokio::sync::watch::Receiver<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    tokio::spawn(async move {
        #[cfg(unix)]
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}): Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("{note}");
        let _ = stop.send(true);
    });
    stopped
}

/// Files a request for the running service; also applies a reset to the
/// saved state at once, so that it holds even if no service runs now.
fn request(
    config: Option<&std::path::Path>,
    account: &str,
    what: crate::store::Request,
) -> Result<ExitCode> {
    let config = Config::load(config)?;
    let account = config.account(Some(account))?;
    let mut store =
        Store::open(&config.db).with_context(|| format!("opening {}", config.db.display()))?;
    let now = crate::clock::now_utc();
    if what == crate::store::Request::Reset {
        let mut sched = crate::service::load_scheduler(&store, account, &config.service)?;
        if sched.reset() {
            let json = serde_json::to_string(sched.state())?;
            store.save_scheduler_state(&account.name, &json, now)?;
        }
    }
    store.file_request(&account.name, what, now)?;
    match what {
        crate::store::Request::Reset => println!(
            "{}: reset; the service tries again within a minute (if it runs), with the configured credentials",
            account.name
        ),
        crate::store::Request::Refresh => println!(
            "{}: refresh requested; the running service starts it within seconds (see its log or `hellowatt status`)",
            account.name
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// What a person should do after a failed run, by kind.
pub fn advice(kind: &str) -> &'static str {
    match kind {
        "credentials-rejected" => {
            "helloWatt refused the e-mail or password: check them by logging in on www.hellowatt.fr; \
             hellowatt will not retry on its own, so that your account is not locked"
        }
        "rate-limited" => {
            "helloWatt asks to slow down: wait (an hour if it did not say) before trying again"
        }
        "session-lost" => "the site logged us out twice in a row: try again later",
        "action-needed" => {
            "helloWatt accepted the log-in but wants you to do something on the site first (confirm \
             the e-mail address, a second factor, new terms): log in at \
             https://www.hellowatt.fr/mon-compte/me-connecter in a browser, do what it asks, then \
             refresh; hellowatt will not log in on its own until then"
        }
        "site-unavailable" | "transport" => {
            "the site is unreachable or in maintenance: try again later"
        }
        "site-changed" => {
            "helloWatt changed its site: a new guest is needed (check for one, or record the site with \
             `hellowatt record` and report it)"
        }
        k if k.starts_with("sandbox") => {
            "the guest was stopped by the sandbox: report it with the log above"
        }
        "invalid-records" => {
            "the guest returned data the host refused: nothing was stored for that window"
        }
        _ => "see the message above",
    }
}
