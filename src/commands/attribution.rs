//! The attribution pipeline shared by `chargeback`, `reconcile`, `showback` and `monthly`:
//! the month's invoice lines to units, the gateway's usage, and the allocation.

use anyhow::Result;
use polars::prelude::*;

use crate::allocate::{self, Allocation, AllocationNotes, CostUnit, GatewayUsage};
use crate::cli::Basis;
use crate::commands::load::Inputs;
use crate::model::{UNALLOCATED, costs, requests};
use crate::report::showback::filter_period;
use crate::settings::{Period, Settings};

/// Everything the attribution of one period produced.
pub struct Attributed {
    pub keys: Vec<String>,
    pub units: Vec<CostUnit>,
    pub usage: GatewayUsage,
    pub allocations: Vec<Allocation>,
    pub notes: AllocationNotes,
    /// Billing periods whose invoice id is still blank.
    pub provisional: Vec<String>,
    /// The period's requests, when gateway logs were given.
    pub requests: Option<DataFrame>,
}

/// The name of the `costs` column of a basis.
pub fn basis_column(basis: Basis) -> &'static str {
    match basis {
        Basis::Billed => costs::BILLED_COST,
        Basis::Effective => costs::EFFECTIVE_COST,
    }
}

/// The name of a basis in outputs.
pub fn basis_name(basis: Basis) -> &'static str {
    match basis {
        Basis::Billed => "billed",
        Basis::Effective => "effective",
    }
}

/// Keeps the requests that started within the period (UTC).
pub fn requests_in_period(frame: &DataFrame, period: &Period) -> Result<DataFrame> {
    let Some((start, end)) = period.bounds() else { return Ok(frame.clone()) };
    let at = |instant: chrono::DateTime<chrono::Utc>| {
        lit(instant.timestamp_millis()).cast(crate::model::instant_dtype())
    };
    let start_time = col(requests::START_TIME);
    Ok(frame
        .clone()
        .lazy()
        .filter(start_time.clone().gt_eq(at(start)).and(start_time.lt(at(end))))
        .collect()?)
}

/// Runs the attribution of the settings' period on one basis.
pub fn attribute(settings: &Settings, inputs: &Inputs, basis: Basis) -> Result<Attributed> {
    let keys = inputs.plan.names();
    let Some(costs_frame) = inputs.costs.clone() else {
        return Err(crate::error::hinted(
            "no bill to allocate",
            "pass `--cur`, `--focus` or `--ce`, or list sources under `[sources]` in aispend.toml",
        ));
    };
    let frame = filter_period(costs_frame, &settings.period);
    let provisional = provisional_periods(frame.clone())?;
    let units = allocate::inputs::units_from_costs(frame, &keys, basis_column(basis), settings.tz)?;
    if units.is_empty() {
        warn_empty_period(settings, crate::report::showback::periods(inputs.costs.clone())?);
    }
    let requests = match &inputs.requests {
        Some(found) => Some(requests_in_period(&found.frame, &settings.period)?),
        None => None,
    };
    let config = &settings.config;
    let usage = match &requests {
        Some(frame) => allocate::inputs::usage_from_requests(
            frame,
            &keys,
            &|model| crate::enrich::bedrock::billing_name(model, config),
            settings.tz,
        )?,
        None => GatewayUsage::default(),
    };
    let (allocations, notes) = allocate::allocate(&units, &usage, &config.rules, keys.len());
    Ok(Attributed { keys, units, usage, allocations, notes, provisional, requests })
}

/// Says that the period has no line item, and which periods the bill covers.
pub fn warn_empty_period(settings: &Settings, periods: Vec<String>) {
    let covered = if periods.is_empty() { "nothing".to_string() } else { periods.join(", ") };
    let period = match settings.period {
        crate::settings::Period::All => "any period".to_string(),
        _ => settings.period.label(),
    };
    crate::logging::warn_once(&format!(
        "the bill has no line item in {period}; it covers {covered}"
    ));
}

/// Billing periods with a line whose invoice id is blank.
fn provisional_periods(frame: LazyFrame) -> Result<Vec<String>> {
    let found = frame
        .filter(col(costs::PROVISIONAL))
        .select([col(costs::BILLING_PERIOD)])
        .unique(None, UniqueKeepStrategy::First)
        .collect()?;
    let periods = found.column(costs::BILLING_PERIOD)?.str()?.clone();
    let mut periods: Vec<String> = periods.iter().flatten().map(str::to_string).collect();
    periods.sort();
    Ok(periods)
}

/// Warnings with their remedies for what allocation could not attribute.
pub fn warn_notes(notes: &AllocationNotes) {
    if !notes.unmatched_models.is_empty() {
        let mut by_currency = std::collections::BTreeMap::new();
        for ((_, _, currency), amount) in &notes.unmatched_models {
            *by_currency.entry(currency.clone()).or_default() += *amount;
        }
        let total = amounts(&by_currency);
        let mut models: Vec<&str> =
            notes.unmatched_models.keys().map(|(m, _, _)| m.as_str()).collect();
        models.dedup();
        let models = models.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ");
        if notes.gateway_usage {
            crate::logging::warn_once(&format!(
                "bill lines of {models} ({total}) matched no gateway request of their model, token \
                 type and day and fell to the shared-cost rules; map the gateway's model ids to \
                 these names in `[models]`"
            ));
        } else {
            crate::logging::warn_once(&format!(
                "no gateway request in the period to split the LLM lines of {models} ({total}) by; \
                 they fell to the shared-cost rules; pass the gateway logs with `--gateway`"
            ));
        }
    }
    if notes.unallocated.values().any(|amount| !amount.is_zero()) {
        crate::logging::warn_once(&format!(
            "{} could not be attributed by tags, gateway share or rules and went \
             to `{UNALLOCATED}`; tag the resources, add a fallback in `[taxonomy.fallbacks]`, or a \
             rule in `[[rules]]`",
            amounts(&notes.unallocated)
        ));
    }
}

/// `12.50 USD, 3.00 EUR`: amounts of several currencies, never added together.
pub fn amounts(by_currency: &std::collections::BTreeMap<String, crate::money::Money>) -> String {
    let parts: Vec<String> = by_currency
        .iter()
        .filter(|(_, amount)| !amount.is_zero())
        .map(|(currency, amount)| format!("{} {currency}", amount.cents_string()))
        .collect();
    if parts.is_empty() { "0.00".to_string() } else { parts.join(", ") }
}
