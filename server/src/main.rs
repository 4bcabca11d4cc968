//! `kassa`: the shop server and its maintenance commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use kassa::{config::Settings, startup, telemetry};

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
        #[arg(long, env = "KASSA_NO_DEMO")]
        no_demo: bool,
    },
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Add the demo catalog (products, variants, images, collections) to an empty database.
    SeedDemo,
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
    let db = startup::open_database(&settings).await?;
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
