//! The `aispend` binary: parse, run, turn the result into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    aispend::main_entry()
}
