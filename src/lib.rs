//! aispend: allocate the real AWS invoice and LLM gateway spend to the owners who caused it.
//!
//! The flow is ingest, enrich, allocate, analyse, output. [`main_entry`] parses the command
//! line, runs one command and maps its result to an exit code: 0 success, 1 a policy result
//! the user asked to fail on, 2 an error. A broken pipe on stdout exits 0 quietly.

pub mod allocate;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod enrich;
pub mod error;
pub mod ingest;
pub mod logging;
pub mod model;
pub mod money;
pub mod output;
pub mod report;
pub mod settings;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

/// Runs the command line and returns the process exit code.
pub fn main_entry() -> ExitCode {
    let cli = cli::Cli::parse();
    logging::init(&cli.global);
    let json_logs = cli.global.log_format == cli::LogFormat::Json;
    let result = run_catching_overflow(cli).map_err(ingest::locate::locate);
    aws::s3::remove_downloads();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => exit_for(&error, json_logs),
    }
}

/// The words of Polars' panic when a decimal sum outgrows its 38 digits.
const DECIMAL_OVERFLOW: &str = "can't fit values with";

/// Runs the command; a money sum that outgrows the 38 digits of a decimal column (Polars
/// panics then) becomes an error that says so, and any other panic stays a panic.
fn run_catching_overflow(cli: cli::Cli) -> anyhow::Result<()> {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !panic_text(info.payload()).contains(DECIMAL_OVERFLOW) {
            default_hook(info);
        }
    }));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| commands::run(cli))) {
        Ok(result) => result,
        Err(payload) if panic_text(payload.as_ref()).contains(DECIMAL_OVERFLOW) => {
            Err(error::hinted(
                "a sum of money outgrew the 38 digits of a money column (about 10^20)",
                "some amounts of the bill are far too large to be real charges; check its amount \
                 columns, or read fewer months at once",
            ))
        }
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// The message of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|text| (*text).to_string()))
        .unwrap_or_default()
}

/// Prints an error the way users read it (or as one JSON log line with `--log-format json`)
/// and picks the exit code.
fn exit_for(error: &anyhow::Error, json_logs: bool) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    if let Some(policy) = error.downcast_ref::<error::PolicyFailure>() {
        if json_logs {
            tracing::error!(exit_code = 1, "{policy}");
        } else {
            let _ = writeln!(std::io::stderr(), "aispend: {policy}");
        }
        return ExitCode::from(1);
    }
    if json_logs {
        tracing::error!(exit_code = 2, "{}", error::render(error));
    } else {
        let _ = writeln!(std::io::stderr(), "{}", error::render(error));
    }
    ExitCode::from(2)
}

/// True when the error is stdout closing under us (`aispend ... | head`).
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
