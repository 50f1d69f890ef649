//! The `missive` binary.

use std::process::ExitCode;

use clap::Parser;
use missive_api::cli::{Cli, Command, run_command, serve};
use missive_api::{Settings, telemetry};

/// mimalloc instead of glibc's malloc: fewer cycles per allocation on the
/// request path, and freed memory goes back to the system instead of
/// staying in per-thread arenas (BENCHMARKS.md, "Optimisations").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("missive: {error}");
            return ExitCode::from(2);
        }
    };
    // Held to the end of main: dropping it flushes file logs.
    let _logs = match telemetry::init(&settings.log) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("missive: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("missive: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            command => run_command(command, settings).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "missive failed");
            eprintln!("missive: {error:#}");
            ExitCode::FAILURE
        }
    }
}
