//! `hellowatt guest install|list|rollback|sign|keygen`, and the guest lines
//! of `hellowatt status`: the command-line side of the guest registry.
//!
//! Each command is a function that returns the text a person reads and
//! whether it succeeded ([`Output`]), so tests call them directly; `cli.rs`
//! parses the arguments ([`RegistryCommand`]) and calls [`run`]. This file
//! owns the wording; the registry, the store and `signature` do the work.
//!
//! `install` and `rollback` change the store from their own process; a
//! running service picks the change up within seconds (the registry's
//! watcher reconciles with the store) or at once on SIGHUP.

use crate::config::Config;
use crate::registry::signature;
use crate::registry::{GuestSettings, Registry, Verdict};
use crate::sandbox::runtime::Runtime;
use crate::service::CacheUse;
use crate::slot::Slot;
use crate::store::{GuestRecord, GuestState, Store};
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// What a command prints, and whether it succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub text: String,
    pub success: bool,
}

impl Output {
    fn ok(text: String) -> Output {
        Output {
            text,
            success: true,
        }
    }
}

/// The registry subcommands, for `cli.rs` to put under `hellowatt guest`.
#[derive(Debug, clap::Subcommand)]
pub enum RegistryCommand {
    /// Validate FILE.wasm (signature, contract, every fixture scenario and
    /// those of FILE.fixtures/), copy it into its slot's guest folder and
    /// make it the active guest of that slot (the slot is the name the
    /// guest gives itself: hellowatt, tempo or ecowatt). A running service
    /// picks it up within seconds.
    Install { file: PathBuf },
    /// The active guest (name, version, sha256), the previous one, and the
    /// refused ones with their reasons.
    List {
        /// Also show the latest events of the history.
        #[arg(long, default_value_t = 10)]
        history: usize,
    },
    /// Make the previous guest (the last-known-good) of a slot active again.
    Rollback {
        /// The slot: hellowatt (the default), tempo or ecowatt.
        #[arg(default_value = "hellowatt")]
        slot: String,
    },
    /// Sign FILE.wasm for publication: writes FILE.wasm.sig.
    Sign {
        /// The secret key file (from `hellowatt guest keygen`).
        #[arg(long)]
        key: PathBuf,
        file: PathBuf,
    },
    /// Create a publisher key pair: OUT (secret, mode 0600) and OUT.pub.
    Keygen { out: PathBuf },
}

/// Runs a registry subcommand and prints its output.
pub async fn run(command: RegistryCommand, config: &Config) -> Result<ExitCode> {
    let settings = GuestSettings::from_config(config);
    let output = match command {
        RegistryCommand::Install { file } => install(config, &settings, &file).await?,
        RegistryCommand::List { history } => {
            let store = Store::open(&config.db)
                .with_context(|| format!("opening {}", config.db.display()))?;
            list(&store, history)?
        }
        RegistryCommand::Rollback { slot } => {
            rollback(config, &settings, Slot::parse(&slot)?).await?
        }
        RegistryCommand::Sign { key, file } => sign(&key, &file)?,
        RegistryCommand::Keygen { out } => keygen(&out)?,
    };
    print!("{}", output.text);
    Ok(if output.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Opens a slot's registry the way the service does.
pub async fn open_registry(
    config: &Config,
    settings: &GuestSettings,
    slot: Slot,
) -> Result<Registry> {
    let runtime = Arc::new(crate::service::command_runtime(config, CacheUse::Create)?);
    crate::registry::open_slot(runtime, config, settings, slot).await
}

/// `hellowatt guest install FILE`.
pub async fn install(config: &Config, settings: &GuestSettings, file: &Path) -> Result<Output> {
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    let runtime = Arc::new(crate::service::command_runtime(config, CacheUse::Create)?);
    let slot = slot_of(&runtime, config, file).await?;
    let registry = crate::registry::open_slot(runtime, config, settings, slot).await?;
    let verdict = registry.install(file).await?;
    Ok(verdict_output(&verdict, &slot.folder(&settings.dir)))
}

/// The slot a guest file belongs to: the name its `describe()` gives. A
/// file that cannot be loaded goes to the helloWatt slot, whose gate then
/// says what is wrong with it.
async fn slot_of(runtime: &Runtime, config: &Config, file: &Path) -> Result<Slot> {
    let bytes = tokio::fs::read(file)
        .await
        .with_context(|| format!("reading {}", file.display()))?;
    Ok(match runtime.load(bytes, &config.limits).await {
        Ok(guest) => Slot::parse(&guest.info.name).unwrap_or(Slot::Hellowatt),
        Err(_) => Slot::Hellowatt,
    })
}

/// How a verdict reads; `folder` is where an installed guest was copied.
pub fn verdict_output(verdict: &Verdict, folder: &Path) -> Output {
    match verdict {
        Verdict::Activated { guest, took } => Output::ok(format!(
            "active guest: {} {} (contract {}, sha256 {})\nvalidated and activated in {} ms; \
             the previous guest is kept for `hellowatt guest rollback`\ncopied into {}\n",
            guest.info.name,
            guest.info.version,
            guest.info.contract,
            guest.sha256,
            took.as_millis(),
            folder.display()
        )),
        Verdict::Refused {
            sha256,
            reason,
            report,
        } => {
            let mut text = format!("REFUSED {sha256}\n{reason}\n");
            if let Some(report) = report {
                text.push_str(report);
            }
            text.push_str("the active guest is unchanged\n");
            Output {
                text,
                success: false,
            }
        }
        Verdict::Unchanged {
            sha256,
            state,
            note,
        } => Output {
            text: format!("{sha256} ({state}): {note}\n"),
            success: *state == GuestState::Active,
        },
    }
}

fn guest_line(r: &GuestRecord) -> String {
    format!(
        "{} {} (sha256 {}, contract {}, {} bytes, from {})",
        r.name.as_deref().unwrap_or("(unnamed)"),
        r.version.as_deref().unwrap_or("?"),
        r.sha256,
        r.contract.as_deref().unwrap_or("?"),
        r.size,
        r.source
    )
}

/// `hellowatt guest list`: reads the store only (no guest is loaded). One
/// section per slot, then the history of both.
pub fn list(store: &Store, history: usize) -> Result<Output> {
    let guests = store.guests()?;
    let mut out = String::new();
    for slot in Slot::ALL {
        let _ = writeln!(out, "{slot} guest:");
        let of = |s: GuestState| {
            guests
                .iter()
                .filter(move |g| g.slot == slot.name() && g.state == s)
        };
        match of(GuestState::Active).next() {
            Some(g) => {
                let _ = writeln!(out, "  active:   {}", guest_line(g));
            }
            None => {
                let _ = writeln!(
                    out,
                    "  active:   the bundled guest (no guest recorded yet: the service records \
                     it at its first start)"
                );
            }
        }
        match of(GuestState::Previous).next() {
            Some(g) => {
                let _ = writeln!(out, "  previous: {}", guest_line(g));
            }
            None => {
                let _ = writeln!(out, "  previous: none");
            }
        }
        for g in of(GuestState::Refused) {
            let _ = writeln!(
                out,
                "  refused:  {}\n            {}",
                guest_line(g),
                g.reason.as_deref().unwrap_or("")
            );
        }
        for g in of(GuestState::Retired) {
            let _ = writeln!(out, "  retired:  {}", guest_line(g));
        }
    }
    if history > 0 {
        let events = store.guest_history(history)?;
        if !events.is_empty() {
            let _ = writeln!(out, "history (newest first):");
        }
        for e in events {
            let _ = writeln!(
                out,
                "  {} {} {} {}{}",
                hellowatt_snapshot::paris_iso(e.at),
                e.slot,
                e.event,
                e.sha256.get(..12).unwrap_or(&e.sha256),
                e.detail.map(|d| format!(": {d}")).unwrap_or_default()
            );
        }
    }
    Ok(Output::ok(out))
}

/// `hellowatt guest rollback [SLOT]`.
pub async fn rollback(config: &Config, settings: &GuestSettings, slot: Slot) -> Result<Output> {
    let registry = open_registry(config, settings, slot).await?;
    let before = registry.active();
    let guest = registry.rollback().await?;
    Ok(Output::ok(format!(
        "active {slot} guest: {} {} (sha256 {})\nprevious: {} {} (sha256 {}); run `hellowatt \
         guest rollback {slot}` again to return to it\n",
        guest.info.name,
        guest.info.version,
        guest.sha256,
        before.info.name,
        before.info.version,
        before.sha256
    )))
}

/// `hellowatt guest sign --key KEY FILE.wasm`.
pub fn sign(key: &Path, file: &Path) -> Result<Output> {
    let key = signature::read_secret_key(key)?;
    let out = signature::sign_file(&key, file)?;
    Ok(Output::ok(format!(
        "wrote {}\npublic key (for HELLOWATT_TRUSTED_KEYS): {}\n",
        out.display(),
        signature::public_key_hex(&key.verifying_key())
    )))
}

/// `hellowatt guest keygen OUT`.
pub fn keygen(out: &Path) -> Result<Output> {
    let key = signature::generate()?;
    let public = signature::write_secret_key(out, &key)?;
    Ok(Output::ok(format!(
        "secret key: {} (keep it private)\npublic key: {} ({})\nusers trust it with \
         HELLOWATT_TRUSTED_KEYS={}\n",
        out.display(),
        public.display(),
        signature::public_key_hex(&key.verifying_key()),
        signature::public_key_hex(&key.verifying_key())
    )))
}

/// `hellowatt guest check FILE`: the gate's proof of a guest, without
/// installing it. The guest's own scenarios (`--fixtures DIR`, else
/// `NAME.fixtures/` beside the file) are checked with those shipped with
/// hellowatt, and may supersede shipped ones under the gate's rule: only
/// when `FILE.sig` verifies under a trusted key. `only` checks the given
/// scenarios alone (while writing a fix).
pub async fn check_file(
    config: &Config,
    file: &Path,
    fixtures: Option<&Path>,
    only: bool,
) -> Result<Output> {
    use crate::registry::check;
    let runtime = crate::service::command_runtime(config, CacheUse::IfThere)?;
    let bytes = std::fs::read(file).with_context(|| {
        format!(
            "reading {} (give the path of a guest component, a .wasm file)",
            file.display()
        )
    })?;
    let keys = signature::parse_public_keys(&config.trusted_keys).context("trusted_keys")?;
    let signature_file = match std::fs::read(signature::sig_path(file)) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).context("reading the guest's signature"),
    };
    let signed_by = signature::check(&bytes, signature_file.as_deref(), &keys)?;
    let guest = runtime
        .load(bytes, &config.limits)
        .await
        .with_context(|| format!("{} cannot be used as a guest", file.display()))?;
    // The built-in scenarios of the guest's slot (helloWatt's for a guest
    // of another name).
    let slot = Slot::parse(&guest.info.name).unwrap_or(Slot::Hellowatt);
    if let Some(dir) = fixtures
        && !dir.is_dir()
    {
        bail!(
            "--fixtures {}: no such folder (give the folder of the guest's own scenarios)",
            dir.display()
        );
    }
    let own_dir = fixtures
        .map(Path::to_path_buf)
        .or_else(|| crate::registry::fixtures_beside(file));
    // A folder without scenarios yet (a new guest's) adds none.
    let has_scenarios = |dir: &Path| {
        dir.join("scenario.json").is_file()
            || std::fs::read_dir(dir).is_ok_and(|entries| {
                entries
                    .flatten()
                    .any(|e| e.path().join("scenario.json").is_file())
            })
    };
    let own = match &own_dir {
        Some(dir) if has_scenarios(dir) => crate::registry::load_beside(dir)?,
        _ => Vec::new(),
    };
    let (scenarios, superseded) = if only {
        if own.is_empty() {
            bail!("--only checks the guest's own scenarios: give them with --fixtures DIR");
        }
        (own, Vec::new())
    } else {
        check::proving_set(&slot.scenarios(None)?, own, signed_by.as_deref())
            .map_err(anyhow::Error::msg)?
    };
    let results = check::check_all(
        &runtime,
        &guest,
        &scenarios,
        &config.limits,
        &config.requests_for(slot),
    )
    .await?;
    let mut text = check::report(&guest, &results);
    text.push_str(&check::superseded_lines(&superseded, signed_by.as_deref()));
    if only {
        text.push_str(
            "only the given scenarios were checked: the gate also replays those shipped with \
             hellowatt\n",
        );
    }
    Ok(Output {
        success: results.iter().all(|r| r.passed()),
        text,
    })
}
