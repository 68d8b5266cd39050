//! Analyses: pure functions from frames to frames. No files, no network, no clock.

pub mod budget_export;
pub mod budget_run;
pub mod budgets;
pub mod ledger;
pub mod showback;
pub mod whatif;
