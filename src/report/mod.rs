//! Analyses: pure functions from frames to frames. No files, no network, no clock.

pub mod adjustments;
pub mod anomalies;
pub mod budget_export;
pub mod budget_run;
pub mod budgets;
pub mod chargeback;
pub mod frames;
pub mod ledger;
pub mod lifecycle;
pub mod locality;
pub mod owners;
pub mod reconcile;
pub mod request_rows;
pub mod retries;
pub mod showback;
pub mod unit_economics;
pub mod wallet;
pub mod whatif;
