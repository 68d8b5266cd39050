//! `aispend locality`: cross-region data transfer, cross-region inference and internet
//! egress per owner and region pair.

use anyhow::Result;

use crate::commands::load::Inputs;
use crate::error::hinted;
use crate::model::costs;
use crate::output::{self, TableSpec};
use crate::report::{locality, showback};
use crate::settings::Settings;

/// Runs the command.
pub fn run(settings: &Settings) -> Result<()> {
    let inputs = Inputs::load(settings, &[])?;
    let Some(bill) = inputs.costs else {
        return Err(hinted(
            "`locality` needs the bill",
            "pass `--cur` or `--focus`, or list sources under `[sources]` in aispend.toml",
        ));
    };
    let keys = inputs.plan.names();
    let bill = showback::filter_period(bill, &settings.period);
    let report = locality::locality(bill, &keys)?;
    if report.height() == 0 {
        tracing::info!("no cross-region transfer, cross-region inference or internet egress");
    }
    let spec = TableSpec {
        totals: vec![costs::BILLED_COST.into(), costs::EFFECTIVE_COST.into()],
        percents: Vec::new(),
    };
    output::emit(&report, &settings.global, &spec)
}
