//! The `aispend` binary: parse, run, turn the result into an exit code.

use std::process::ExitCode;

/// mimalloc returns freed pages to the system late and reuses them fast, which suits
/// Polars' many short-lived column buffers better than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    aispend::main_entry()
}
