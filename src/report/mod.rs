//! Analyses: pure functions from frames to frames. No files, no network, no clock.

pub mod adjustments;
pub mod anomalies;
pub mod chargeback;
pub mod frames;
pub mod lifecycle;
pub mod locality;
pub mod owners;
pub mod reconcile;
pub mod request_rows;
pub mod retries;
pub mod showback;
pub mod unit_economics;
pub mod wallet;
