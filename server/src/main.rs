#![recursion_limit = "256"]
//! `kassa`: the shop server and its maintenance commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use anyhow::Context;
use app::catalog::{csv_io, media::MediaStore};
use app::money::Currency;
use indicatif::{ProgressBar, ProgressStyle};
use kassa::{config::Settings, startup, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "kassa", version, about = "Kassa: an open-source shop")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the shop (the default). Seeds the demo catalog into an empty database.
    Serve {
        /// Start with an empty catalog instead of the demo products.
        #[arg(long, env = "KASSA_NO_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
        no_demo: bool,
    },
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Add the demo catalog (products, variants, images, collections) to an empty database.
    SeedDemo,
    /// Import products from a CSV file (Shopify-like columns); all of the file or nothing.
    Import {
        /// The CSV file. Picture file names in it are relative to its folder.
        file: PathBuf,
        /// Replace products whose handle already exists instead of refusing the file.
        #[arg(long)]
        replace: bool,
        /// Currency of prices without a "Variant Currency" column.
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
    /// Export every product to a CSV file that `kassa import` reads back.
    Export {
        /// Where to write; `-` for standard output.
        file: PathBuf,
    },
    /// Create the shop owner's account. Asks for the password on a terminal; otherwise reads
    /// it from the first line of standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
    },
    /// Create an API token acting for a staff account, with its role; prints the token (it is
    /// shown only this once).
    CreateApiToken {
        /// The staff (or owner) account the token acts for.
        #[arg(long)]
        email: String,
        /// What the token is for, as the staff page and the audit log show it.
        #[arg(long)]
        name: String,
        /// Days until the token stops working; never, if not given.
        #[arg(long)]
        expires_days: Option<i64>,
    },
    /// Send the abandoned-checkout reminders that are due now (the server does every half
    /// minute), or as if it were some hours later (to try the reminders out).
    SendReminders {
        #[arg(long, default_value_t = 0)]
        hours_later: i64,
    },
}

fn main() -> ExitCode {
    if let Err(error) = dotenvy::dotenv() {
        if !error.not_found() {
            eprintln!("kassa: .env: {error}");
            return ExitCode::from(2);
        }
    }
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("kassa: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init();
    // First, before any thread opens a database.
    if let Err(error) = kassa::sqlite_memory::use_mimalloc() {
        tracing::warn!(%error, "SQLite keeps the C library's allocator");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kassa: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(
        cli.command.unwrap_or(Command::Serve { no_demo: false }),
        settings,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` keeps the whole cause chain on one line.
            eprintln!("kassa: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    let db = match command {
        Command::Import { .. } => startup::open_database_for_bulk_writes(&settings).await?,
        _ => startup::open_database(&settings).await?,
    };
    match command {
        Command::Migrate => {
            println!("database is up to date");
        }
        Command::SeedDemo => {
            if app::catalog::ssr::count_products(&db).await? > 0 {
                anyhow::bail!("the catalog is not empty; seed-demo only fills an empty database");
            }
            let count = app::catalog::demo::seed_demo_catalog(&db).await?;
            println!("added {count} demo products");
        }
        Command::Import {
            file,
            replace,
            currency,
        } => {
            let result = import(&db, &settings, &file, replace, &currency).await;
            // What was written (all of it, or the batches before a failure) on disk before
            // the command says so.
            db.make_durable()
                .await
                .context("could not sync the import to disk")?;
            // Even a partial import changed the catalog: servers on this database (Postgres)
            // drop their cached pages.
            if let Err(error) = db.announce(kassa::page_cache::CATALOG_CHANGED).await {
                eprintln!("kassa: could not tell running servers the catalog changed: {error}");
            }
            result?
        }
        Command::Export { file } => {
            let count = if file.as_os_str() == "-" {
                csv_io::export_products(&db, std::io::stdout().lock()).await?
            } else {
                let out = std::fs::File::create(&file)
                    .with_context(|| format!("cannot create {}", file.display()))?;
                csv_io::export_products(&db, std::io::BufWriter::new(out)).await?
            };
            eprintln!("exported {count} products");
        }
        Command::CreateAdmin { email } => {
            let password = read_password()?;
            match app::admin::auth::create_account(
                &db,
                &email,
                &password,
                app::admin::Role::Owner,
                true,
            )
            .await
            {
                Ok(_) => eprintln!("created the owner account {}", email.trim()),
                Err(message) => anyhow::bail!("{message}"),
            }
        }
        Command::CreateApiToken {
            email,
            name,
            expires_days,
        } => {
            let created = app::admin::tokens::create(&db, &email, &name, expires_days, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "created the API token '{}' for {} (shown only now):",
                created.name, created.staff_email
            );
            println!("{}", created.token);
        }
        Command::SendReminders { hours_later } => {
            if !(0..=24 * 365).contains(&hours_later) {
                anyhow::bail!("--hours-later: use 0 to 8760");
            }
            // Reminders need no payment gateway: only the shop's address and key.
            let checkout = app::checkout::service::Checkout::new(
                db,
                app::payments::gateway::Gateway::Test,
                settings.public_url.clone(),
            );
            if let Some(key) = &settings.secret_key {
                checkout.use_secret_key(key.expose());
            }
            let at = app::db::now_epoch() + hours_later * 3600;
            let sent = app::promotions::reminders::ssr::send_due(&checkout, at).await?;
            eprintln!("queued {sent} reminder(s); the server sends the outbox");
        }
        Command::Serve { no_demo } => {
            if !no_demo && app::catalog::ssr::count_products(&db).await? == 0 {
                let count = app::catalog::demo::seed_demo_catalog(&db).await?;
                tracing::info!(count, "empty catalog: added the demo products");
            }
            startup::serve(&settings, db).await?;
        }
    }
    Ok(())
}

/// Checks the whole file, prints every problem with its line and column, and writes only a
/// clean file, reading it twice so that a file of any size takes little memory.
async fn import(
    db: &app::db::Db,
    settings: &Settings,
    file: &std::path::Path,
    replace: bool,
    currency: &str,
) -> anyhow::Result<()> {
    let currency = Currency::parse(currency).map_err(|e| anyhow::anyhow!("--currency: {e}"))?;
    let open = || {
        std::fs::File::open(file)
            .map(std::io::BufReader::new)
            .with_context(|| format!("cannot open {}", file.display()))
    };
    let base_dir = file.parent().unwrap_or(std::path::Path::new("."));
    let media = MediaStore::new(&settings.data_dir);
    let checked = match csv_io::check_import(db, open()?, base_dir, currency, &media, replace).await
    {
        Ok(checked) => checked,
        Err(csv_io::ImportError::Invalid(errors)) => return Err(report(file, errors)),
        Err(error) => return Err(error.into()),
    };
    let bar = ProgressBar::new(checked.products() as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} products")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("importing");
    let result =
        csv_io::write_import(db, open()?, &checked, |done| bar.set_position(done as u64)).await;
    bar.finish_and_clear();
    match result {
        Ok(count) => {
            println!("imported {count} products from {}", file.display());
            Ok(())
        }
        Err(csv_io::ImportError::Invalid(errors)) => Err(report(file, errors)),
        Err(error) => Err(error.into()),
    }
}

fn report(file: &std::path::Path, errors: Vec<csv_io::LineError>) -> anyhow::Error {
    for error in errors.iter().take(100) {
        eprintln!("{}: {error}", file.display());
    }
    if errors.len() > 100 {
        eprintln!("… and {} more", errors.len() - 100);
    }
    anyhow::anyhow!(
        "{}: {} problem(s); nothing was imported",
        file.display(),
        errors.len()
    )
}

/// The new account's password: prompted (and not echoed) on a terminal, else one line of stdin.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        anyhow::ensure!(password == again, "the passwords differ");
        Ok(password)
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}
