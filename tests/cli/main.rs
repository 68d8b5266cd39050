//! The integration tests: one binary that runs `aispend` as users do, one module per issue.

mod attribution;
mod budgets;
mod deliveries;
mod demo;
mod foundation;
mod insights;
mod unattended;
