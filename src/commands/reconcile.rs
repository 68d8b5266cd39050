//! `aispend reconcile --month M`: gateway estimate against the invoice, by model and day.

use anyhow::Result;

use crate::cli::Basis;
use crate::commands::attribution;
use crate::commands::load::Inputs;
use crate::output::{self, TableSpec};
use crate::report::reconcile;
use crate::settings::Settings;

/// Runs the command on the billed basis (what the invoice charged).
pub fn run(settings: &Settings) -> Result<()> {
    let frame = build(settings)?;
    let spec = TableSpec {
        totals: vec![
            "invoice_cost".into(),
            "gateway_estimate".into(),
            "variance".into(),
            "requests".into(),
        ],
        percents: vec!["variance_share".into()],
    };
    output::emit(&frame, &settings.global, &spec)
}

/// The reconciliation frame of the settings' period (also used by `monthly`).
pub fn build(settings: &Settings) -> Result<polars::prelude::DataFrame> {
    let inputs = Inputs::load(settings, &[])?;
    if inputs.requests.is_none() {
        tracing::warn!(
            "no gateway logs given: every invoice line shows as traffic that bypassed the gateway; pass `--gateway`"
        );
    }
    let attributed = attribution::attribute(settings, &inputs, Basis::Billed)?;
    let config = &settings.config;
    let rows = reconcile::reconcile(
        &attributed.units,
        attributed.requests.as_ref(),
        &|model| crate::enrich::bedrock::billing_name(model, config),
        settings.tz,
    )?;
    reconcile::to_frame(&rows)
}
