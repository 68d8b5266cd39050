//! Analyses: pure functions from frames to frames. No files, no network, no clock.

pub mod adjustments;
pub mod chargeback;
pub mod owners;
pub mod reconcile;
pub mod showback;
