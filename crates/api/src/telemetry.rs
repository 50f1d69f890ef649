//! Logging: `tracing` with a pretty or JSON formatter on standard error,
//! and optionally daily-rotated files in `log.dir`. `RUST_LOG`, when set,
//! overrides `log.level`.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, LogSettings};

/// Keeps file logging alive; dropping it flushes what is buffered.
pub struct LogGuard(
    #[expect(dead_code, reason = "held for its Drop, which flushes")] Option<WorkerGuard>,
);

/// Installs the global subscriber. Logs go to standard error, so command
/// output on standard out (an API key, migration status) stays clean.
///
/// # Errors
/// When a subscriber is already installed (tests), the filter does not
/// parse, or the log directory cannot be used.
pub fn init(settings: &LogSettings) -> Result<LogGuard, String> {
    let filter = || match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(directives),
        _ => EnvFilter::try_new(&settings.level),
    };
    let filter = filter().map_err(|e| format!("invalid configuration: log.level: {e}"))?;
    let json = settings.format == LogFormat::Json;
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let stderr = if json {
        stderr
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed()
    } else {
        stderr.boxed()
    };
    let (file, guard) = match &settings.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("invalid configuration: log.dir {dir:?}: {e}"))?;
            // Daily files, the oldest deleted beyond `log.max_files`.
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("missive.log")
                .max_log_files(settings.max_files)
                .build(dir)
                .map_err(|e| format!("invalid configuration: log.dir {dir:?}: {e}"))?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false);
            let layer = if json {
                layer
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .boxed()
            } else {
                layer.boxed()
            };
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(LogGuard(guard))
}
