//! `portal`: parse the command line, load the configuration, run.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use server::cli::{self, Cli, Command, RoleCommand, UserCommand};
use server::clock::{Clock, SystemClock};
use server::config::{Config, ConfigError, RawConfig};
use server::crypto::Hasher;
use server::startup::Application;
use server::store::Store;
use server::telemetry;

fn main() -> ExitCode {
    server::files::restrict_umask();
    let cli = Cli::parse();
    let raw = match RawConfig::load_with(&cli.overrides()) {
        Ok(raw) => raw,
        Err(e) => return config_error(e),
    };
    let rust_log = std::env::var("RUST_LOG").ok();
    match (raw.log_format(), telemetry::filter(rust_log.as_deref())) {
        (Ok(format), Ok(filter)) => telemetry::init(format, filter),
        (Err(e), _) | (_, Err(e)) => return config_error(e),
    }
    let env = server::config::environment(std::env::vars_os()).unwrap_or_default();
    for warning in server::config::unknown_variables(env) {
        tracing::warn!("{warning}");
    }
    if let Command::Config = cli.command {
        let parsed = raw.parse();
        println!("{}", raw.describe(parsed.as_ref().ok()));
        return match parsed {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => config_error(e),
        };
    }
    // `migrate` reads the database setting only: a mistake elsewhere is for `serve` to report.
    let settings = match cli.command {
        Command::Migrate => raw.database_url().map(Needs::Database),
        _ => raw.parse().map(|c| Needs::Full(Box::new(c))),
    };
    let settings = match settings {
        Ok(s) => s,
        Err(e) => return config_error(e),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match settings {
        Needs::Database(url) => rt
            .block_on(Store::open(&url))
            .map(|_| "migrations applied".to_string()),
        Needs::Full(config) => rt.block_on(run(cli.command, *config)),
    };
    match outcome {
        Ok(msg) => {
            if !msg.is_empty() {
                println!("{msg}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// What a command needs from the configuration.
enum Needs {
    Database(String),
    Full(Box<Config>),
}

fn config_error(e: ConfigError) -> ExitCode {
    eprintln!("{e}");
    ExitCode::from(2)
}

async fn run(command: Command, config: Config) -> Result<String, String> {
    let clock = Arc::new(SystemClock);
    let now = clock.now();
    if let Command::Serve { demo, .. } = command {
        let public = config.public_url.to_string();
        let app = Application::build(config, clock).await?;
        // Demo users only when asked: a production install must never start with an owner whose
        // password is printed in the README (OWASP ASVS 5.0 13.3: no default credentials).
        if demo && cli::demo::seed_if_empty(&app.state().store, &app.state().hasher, now).await? {
            println!(
                "{}",
                cli::demo::banner(&format!("Demo data is ready at {public}"))
            );
        } else if !cli::demo::has_users(&app.state().store).await? {
            tracing::warn!(
                "the database has no users yet: create the owner with `portal user add --role owner --email you@example.com --password-stdin`"
            );
        }
        tracing::info!(addr = %app.local_addr().map_err(|e| e.to_string())?, url = %public, "serving");
        app.run(shutdown_signal()).await?;
        return Ok(String::new());
    }
    let store = Store::open(&config.database_url).await?;
    let hasher = Hasher::new(1)?;
    match command {
        Command::Serve { .. } | Command::Migrate | Command::Config => Ok(String::new()),
        Command::Demo => {
            if cli::demo::seed_if_empty(&store, &hasher, now).await? {
                Ok(cli::demo::banner(&format!(
                    "Demo data added. No server runs yet: start it with `portal serve`, then open {}",
                    config.public_url
                )))
            } else {
                Ok("the database already has users; demo data not added".into())
            }
        }
        Command::User(UserCommand::Add {
            email,
            phone,
            name,
            password: pw,
            password_stdin,
            role,
            sso,
        }) => {
            let pw = cli::password(pw, password_stdin)?;
            cli::users::add(
                &store,
                &hasher,
                config.default_region.id,
                &email,
                phone.as_deref(),
                name.as_deref(),
                pw,
                &role,
                sso.as_deref(),
                now,
            )
            .await
        }
        Command::User(UserCommand::SetPassword {
            email,
            password: pw,
            password_stdin,
            require_change,
        }) => {
            let pw = cli::password(pw, password_stdin)?
                .ok_or("--password or --password-stdin is required")?;
            let keys = server::crypto::Keys::new(&server::startup::load_secret(&config)?);
            let templates =
                server::notify::templates::Templates::load(config.template_dir.as_deref())
                    .map_err(|e| format!("configuration error: PORTAL_TEMPLATE_DIR: {e}"))?;
            cli::users::set_password(
                &store,
                &hasher,
                &keys,
                &templates,
                &config.public_origin(),
                &email,
                &pw,
                require_change,
                now,
            )
            .await
        }
        Command::User(UserCommand::List { search }) => cli::users::list(&store, &search).await,
        Command::User(UserCommand::Deactivate { email }) => {
            cli::users::set_active(&store, &email, false, now).await
        }
        Command::User(UserCommand::Activate { email }) => {
            cli::users::set_active(&store, &email, true, now).await
        }
        Command::Role(RoleCommand::List) => cli::users::role_list(&store).await,
        Command::Role(RoleCommand::Add { name, permissions }) => {
            cli::users::role_add(&store, &name, &permissions, now).await
        }
        Command::Role(RoleCommand::Assign { email, role }) => {
            cli::users::role_assign(&store, &email, &role, now).await
        }
    }
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
