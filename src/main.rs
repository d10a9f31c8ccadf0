//! The `canvass` command: parses the command line and hands over to the library.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc returns freed memory to the system; glibc's malloc keeps each thread's arena
/// (Argon2 logins allocate 19 MiB apiece), which left an idle server holding hundreds of MB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's settings for the server, which mimalloc reads from its environment as the process
/// starts: memory is committed as it is touched rather than a whole arena at once, and freed
/// memory goes back to the system at once rather than after a delay. A login's 19 MiB Argon2
/// block is then returned when the login ends, instead of lingering under the next large
/// upload (BENCHMARKS.md, issue 5).
const ALLOCATOR_SETTINGS: [(&str, &str); 2] = [
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ("MIMALLOC_PURGE_DELAY", "0"),
];

/// `canvass serve` starts itself again with [`ALLOCATOR_SETTINGS`] in its environment when
/// they are missing: they must be there before the first allocation, which is before `main`.
/// (Setting them through mimalloc's C API would need `unsafe`, which this crate forbids, and
/// comes too late for the first arena.) An operator's own `MIMALLOC_*` values are kept.
fn tune_allocator() {
    let serving = std::env::args_os().nth(1).is_some_and(|a| a == "serve");
    let missing = ALLOCATOR_SETTINGS
        .iter()
        .any(|(name, _)| std::env::var_os(name).is_none());
    if !serving || !missing {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut again = std::process::Command::new(exe);
    again.args(std::env::args_os().skip(1));
    for (name, value) in ALLOCATOR_SETTINGS {
        if std::env::var_os(name).is_none() {
            again.env(name, value);
        }
    }
    // `exec` only returns on failure; then the server runs with mimalloc's defaults.
    let e = std::os::unix::process::CommandExt::exec(&mut again);
    eprintln!("canvass: could not restart with the allocator's settings ({e}); going on without");
}

use canvass::app::App;
use canvass::app::accounts::StaffAccount;
use canvass::config::{SettingArgs, Settings};

/// Verified agencies ask one neighbourhood for camera footage of one incident; residents
/// share clips voluntarily, as evidence with a chain of custody.
#[derive(Debug, Parser)]
#[command(name = "canvass", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the service. Every setting below is also a TOML key (`--config`) and a
    /// `CANVASS_*` variable; flags win over variables, which win over the file.
    Serve {
        #[command(flatten)]
        settings: SettingArgs,
        /// Seed a demo city into an empty database and print the accounts to log in with.
        #[arg(long)]
        demo: bool,
    },
    /// Checks a deployment's transparency log end to end: signature, every entry, every
    /// inclusion proof, and consistency with the checkpoint seen last time. Exits non-zero,
    /// with the reason, on any mismatch.
    VerifyLog {
        /// The deployment's public URL, e.g. https://canvass.example.org
        #[arg(long)]
        url: String,
        /// Where the last checkpoint and key seen are kept between runs.
        #[arg(long, default_value = "canvass-verify-log.json")]
        state: std::path::PathBuf,
    },
    /// Checks an evidence export offline: every clip's SHA-256 and size, every custody chain,
    /// and that the request is the one in the transparency log (inclusion proof and signed
    /// checkpoint).
    #[command(
        after_help = "Exit codes:\n  0  every check passed\n  1  a check failed: the export is not intact (each failure is printed)\n  2  nothing could be checked: the file is not a readable ZIP, manifest.json is missing or unparseable, or the key file cannot be read"
    )]
    VerifyExport {
        /// The export's ZIP file, as downloaded from /api/v1/requests/{id}/export.
        file: std::path::PathBuf,
        /// The log's verifier key, obtained independently (the deployment's
        /// /api/v1/transparency/key), as text or as @FILE; the export must be signed by it.
        #[arg(long)]
        key: Option<String>,
    },
    /// Administration from the server's shell.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Creates a platform admin. The password comes from CANVASS_ADMIN_PASSWORD, else a prompt.
    CreateAdmin {
        /// The admin's email.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        settings: SettingArgs,
    },
    /// Hashes every evidence blob again now and records each result in its chain of custody.
    /// Prints the report; exits 1 when any clip is altered, missing or unreadable.
    IntegritySweep {
        #[command(flatten)]
        settings: SettingArgs,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

fn load(settings: &SettingArgs) -> Result<Settings, ExitCode> {
    Settings::load(settings).map_err(|e| {
        eprintln!("canvass: {e}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    tune_allocator();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("canvass: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve { settings, demo } => match load(&settings) {
            Ok(s) => serve(s, demo).await,
            Err(code) => return code,
        },
        Command::VerifyLog { url, state } => verify_log(&url, &state).await,
        Command::VerifyExport { file, key } => {
            return canvass::verify::export::run(&file, key.as_deref());
        }
        Command::Admin {
            command: AdminCommand::CreateAdmin { email, settings },
        } => match load(&settings) {
            Ok(s) => create_admin(s, &email).await,
            Err(code) => return code,
        },
        Command::Admin {
            command: AdminCommand::IntegritySweep { settings },
        } => match load(&settings) {
            Ok(s) => return integrity_sweep(s).await,
            Err(code) => return code,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("canvass: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let running = canvass::server::start(settings).await?;
    if demo {
        match running.app.seed_demo().await? {
            Some(city) => {
                let s = &running.app.settings;
                println!("{}", city.describe(&s.public_url, s.require_staff_mfa));
            }
            None => {
                println!("The database already has accounts; the demo city was not seeded again.")
            }
        }
    }
    println!("Canvass is serving on http://{}", running.addr);
    let stopped = running.app.clone();
    tokio::select! {
        r = running.wait() => r,
        _ = tokio::signal::ctrl_c() => {
            stopped.db.close().await;
            Ok(())
        }
    }
}

async fn verify_log(url: &str, state: &std::path::Path) -> anyhow::Result<()> {
    let v = canvass::verify::log::verify(url, state).await?;
    let since = match v.previous_size {
        Some(n) => format!(", consistent with the {n} entries seen last time"),
        None => String::from(" (first run: checkpoint and key saved for next time)"),
    };
    println!(
        "OK: {} entries, every inclusion proof verifies, checkpoint signed by {}{since}",
        v.checkpoint.size, v.checkpoint.origin
    );
    Ok(())
}

async fn create_admin(settings: Settings, email: &str) -> anyhow::Result<()> {
    let app = App::open(settings).await?;
    let password = match std::env::var("CANVASS_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            print!("Password for {email}: ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let user = app
        .create_admin(StaffAccount {
            email: email.to_owned(),
            password,
            display_name: None,
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}{}", details(&e)))?;
    println!(
        "Created admin {} ({}). Sign in and enroll a second factor.",
        user.email, user.id
    );
    app.db.close().await;
    Ok(())
}

/// `admin integrity-sweep`: exit 0 when every clip matched, 1 otherwise (or on an error).
async fn integrity_sweep(settings: Settings) -> ExitCode {
    let run = async {
        let app = App::open(settings).await?;
        let report = app.integrity_sweep(app.now()).await;
        app.db.close().await;
        Ok::<_, anyhow::Error>(report?)
    };
    let report = match run.await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("canvass: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Integrity sweep: {} evidence item(s) checked: {} matched, {} mismatched, {} missing, {} unreadable.",
        report.checked, report.matched, report.mismatched, report.missing, report.unreadable
    );
    for f in &report.failures {
        println!(
            "{:<10}  evidence {}: {}",
            f.outcome.to_uppercase(),
            f.evidence_id,
            f.message
        );
    }
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        println!(
            "Evidence FAILED its integrity check: see the lines above and each item's chain of custody."
        );
        ExitCode::FAILURE
    }
}

fn details(e: &canvass::app::AppError) -> String {
    match e {
        canvass::app::AppError::Invalid(v) => v
            .details
            .iter()
            .map(|(field, problems)| format!("\n  {field}: {}", problems.join("; ")))
            .collect(),
        _ => String::new(),
    }
}
