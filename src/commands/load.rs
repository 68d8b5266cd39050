//! Loading the inputs a command needs, the same way for every command.

use anyhow::Result;
use polars::prelude::*;

use crate::enrich::taxonomy::TagPlan;
use crate::ingest::gateway::Requests;
use crate::settings::Settings;

/// The canonical frames of one run. Each is `None` when no source of its kind is given.
pub struct Inputs {
    pub plan: TagPlan,
    /// The bill, Bedrock lines annotated with model and token type, not yet period-filtered.
    pub costs: Option<LazyFrame>,
    pub requests: Option<Requests>,
    pub metrics: Option<DataFrame>,
}

impl Inputs {
    /// Reads every source the settings name; `extra_keys` are owner columns beyond the
    /// taxonomy (`--by` tag keys).
    pub fn load(settings: &Settings, extra_keys: &[String]) -> Result<Inputs> {
        let plan = TagPlan::new(&settings.config, extra_keys);
        let cost_sources = settings.cost_sources();
        let costs = if cost_sources.is_empty() {
            None
        } else {
            let frame = crate::ingest::read_costs(&cost_sources, &plan)?;
            Some(crate::enrich::bedrock::annotate(frame, &settings.config))
        };
        let gateway = settings.gateway_sources();
        let requests = if gateway.is_empty() {
            None
        } else {
            Some(crate::ingest::gateway::read_requests(&gateway, settings, &plan)?)
        };
        let metric_sources = settings.metric_sources();
        let metrics = if metric_sources.is_empty() {
            None
        } else {
            Some(crate::ingest::metrics::read_metrics(&metric_sources, &plan)?)
        };
        Ok(Inputs { plan, costs, requests, metrics })
    }
}
