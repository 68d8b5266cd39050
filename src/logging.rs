//! Logging and warnings on stderr through `tracing`.
//!
//! Warnings that need action show without `-v`; `-q` keeps only errors; `-v` adds debug and
//! `-vv` trace; `RUST_LOG` overrides all of these. `--log-format json` writes one JSON object
//! per line for log collectors. Colour follows the terminal and `NO_COLOR`.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::EnvFilter;

use crate::cli::{GlobalArgs, LogFormat};

/// Installs the global subscriber; later calls are ignored (tests run many commands).
pub fn init(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    // The AWS SDK warns on every fallback of its credential and region chains (no IMDS
    // off EC2); the failing call's own error says what matters, so those show with `-v`.
    let sdk = if global.verbose == 0 { ",aws_config=error" } else { "" };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("aispend={level},warn{sdk}")));
    PROGRESS.store(progress_enabled(global), Ordering::Relaxed);
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time();
    let _ = match global.log_format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Text => builder.with_ansi(color).with_level(true).try_init(),
    };
}

/// Whether this run may draw progress bars, decided once in [`init`].
static PROGRESS: AtomicBool = AtomicBool::new(false);

/// True when progress bars may be drawn.
pub fn progress_enabled(global: &GlobalArgs) -> bool {
    !global.quiet && !global.no_progress && std::io::stderr().is_terminal()
}

/// A progress bar over `length` steps, hidden when progress is off for this run.
pub fn progress(length: u64, what: &str) -> indicatif::ProgressBar {
    if !PROGRESS.load(Ordering::Relaxed) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(length);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(what.to_string());
    bar
}

/// Warns with `message` unless this run already did: a run that makes one report twice (on
/// both cost bases) must not say the same thing twice.
pub fn warn_once(message: &str) {
    static SAID: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::OnceLock::new();
    let said = SAID.get_or_init(Default::default);
    let first = said.lock().map_or(true, |mut said| said.insert(message.to_string()));
    if first {
        tracing::warn!("{message}");
    }
}
