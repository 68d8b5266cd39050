//! Analyses: pure functions from frames to frames. No files, no network, no clock.

pub mod adjustments;
pub mod showback;
