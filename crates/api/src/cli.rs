//! The `missive` command line.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use migration::MigrationStatus;
use migration::{Migrator, MigratorTrait};
use missive_domain::api_key::ApiKeyName;
use missive_domain::services::users::{RegisterError, Registration};
use missive_domain::user::{Email, FullName, Password};

use crate::app::{Application, build_state, connect, connect_for_migrations};
use crate::config::Settings;

/// Missive: a self-hosted chat and message-persistence backend.
#[derive(Debug, Parser)]
#[command(name = "missive", version, about)]
pub struct Cli {
    /// Configuration file (default: ./missive.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        /// Which migration action.
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage users.
    User {
        /// Which user action.
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API keys.
    #[command(name = "api-key")]
    ApiKey {
        /// Which key action.
        #[command(subcommand)]
        action: ApiKeyAction,
    },
}

/// `missive migrate …`.
#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Revert the most recent migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table and apply all migrations from scratch (destroys data).
    Fresh,
}

/// `missive user …`.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create a user.
    Create {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Password (8–128 characters); read from standard input when omitted.
        #[arg(long)]
        password: Option<String>,
    },
}

/// `missive api-key …`.
#[derive(Debug, Subcommand)]
pub enum ApiKeyAction {
    /// Create an API key for a user and print it (shown only once).
    Create {
        /// The owner's e-mail address.
        #[arg(long)]
        email: String,
        /// A label for the key.
        #[arg(long)]
        name: String,
    },
}

/// Runs a command other than `serve` to completion.
///
/// # Errors
/// Whatever the command fails with, as one readable message.
pub async fn run_command(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => unreachable_serve(),
        Command::Migrate { action } => migrate(action, &settings).await,
        Command::User {
            action:
                UserAction::Create {
                    email,
                    name,
                    password,
                },
        } => create_user(settings, &email, &name, password).await,
        Command::ApiKey {
            action: ApiKeyAction::Create { email, name },
        } => create_api_key(settings, &email, &name).await,
    }
}

fn unreachable_serve() -> anyhow::Result<()> {
    bail!("serve is handled by main")
}

async fn migrate(action: MigrateAction, settings: &Settings) -> anyhow::Result<()> {
    let database = connect_for_migrations(settings).await?;
    let conn = database.connection();
    match action {
        MigrateAction::Up => Migrator::up(conn, None).await?,
        MigrateAction::Down => Migrator::down(conn, Some(1)).await?,
        MigrateAction::Fresh => Migrator::fresh(conn).await?,
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(conn).await? {
                let status = match migration.status() {
                    MigrationStatus::Applied => "applied",
                    MigrationStatus::Pending => "pending",
                };
                println!("{status:8} {}", migration.name());
            }
            return Ok(());
        }
    }
    println!("migrate {action:?}: done", action = action_name(&action));
    Ok(())
}

fn action_name(action: &MigrateAction) -> &'static str {
    match action {
        MigrateAction::Up => "up",
        MigrateAction::Down => "down",
        MigrateAction::Status => "status",
        MigrateAction::Fresh => "fresh",
    }
}

async fn ready_state(settings: Settings) -> anyhow::Result<crate::state::AppState> {
    if settings.database.auto_migrate {
        connect_for_migrations(&settings)
            .await?
            .migrate_up()
            .await
            .context("cannot apply database migrations")?;
    }
    let database = connect(&settings).await?;
    let (state, _dispatcher) =
        build_state(settings, database, &missive_infra::SignalBus::in_process())?;
    Ok(state)
}

async fn create_user(
    settings: Settings,
    email: &str,
    name: &str,
    password: Option<String>,
) -> anyhow::Result<()> {
    let password = match password {
        Some(password) => password,
        None => {
            let mut line = String::new();
            std::io::stdin()
                .read_to_string(&mut line)
                .context("cannot read the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let registration = Registration {
        email: Email::new(email).map_err(|e| anyhow::anyhow!("--email {e}"))?,
        full_name: FullName::new(name).map_err(|e| anyhow::anyhow!("--name {e}"))?,
        password: Password::new(password).map_err(|e| anyhow::anyhow!("--password {e}"))?,
    };
    let state = ready_state(settings).await?;
    let user = match state.users.register(registration).await {
        Ok(user) => user,
        Err(RegisterError::EmailTaken) => bail!("a user with email {email} already exists"),
        Err(RegisterError::Infra(e)) => return Err(e.into()),
    };
    println!("created user {} <{}>", user.id, user.email);
    Ok(())
}

async fn create_api_key(settings: Settings, email: &str, name: &str) -> anyhow::Result<()> {
    let email = Email::new(email).map_err(|e| anyhow::anyhow!("--email {e}"))?;
    let name = ApiKeyName::new(name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
    let state = ready_state(settings).await?;
    let user = state
        .users
        .find_user_by_email(&email)
        .await
        .map_err(|_| anyhow::anyhow!("no user with email {email}"))?;
    let created = state.api_keys.create_api_key(user.id, name).await?;
    eprintln!(
        "created API key {} for {} — store it now, it is not shown again:",
        created.key.id, user.email
    );
    println!("{}", created.secret.expose());
    Ok(())
}

/// Runs the server until SIGINT or SIGTERM.
///
/// # Errors
/// When the server cannot start or fails.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    Application::build(settings)
        .await?
        .run(shutdown_signal())
        .await
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
