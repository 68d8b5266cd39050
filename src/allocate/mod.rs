//! Allocation: every invoice dollar to an owner, with the method that did it.
//!
//! For each invoice line (aggregated to the day), the first method that applies wins:
//! 1. `tags`: the line's own owner tags (its first taxonomy key is set);
//! 2. `gateway_share`: an LLM line (it has a `model` and `token_type`) is split across owners
//!    in proportion to the tokens of that model, token type and day that the gateway logs
//!    show for each owner (untagged requests' tokens go to `__unallocated__`);
//! 3. `rule`: the first shared-cost rule of the configuration that matches the line, split
//!    `proportional` to direct cost, `even`, by `fixed` weights, or by `tokens`/`requests`;
//! 4. `unallocated`: the owner `__unallocated__`, reported, never dropped.
//!
//! Splits use the largest-remainder method at full scale, so for every basis the allocated
//! amounts sum to the invoice total exactly (a property test holds it).

pub mod inputs;

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use crate::config::{ShareMethod, SharedCostRule};
use crate::ingest::builder::money_column;
use crate::model::{UNALLOCATED, allocations as alloc, costs};
use crate::money::{Money, largest_remainder};
pub use inputs::{CostUnit, GatewayUsage, Owner};

/// How an amount found its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Tags,
    GatewayShare,
    Rule,
    Unallocated,
}

impl Method {
    /// The name written in the `method` column.
    pub fn name(self) -> &'static str {
        match self {
            Method::Tags => "tags",
            Method::GatewayShare => "gateway_share",
            Method::Rule => "rule",
            Method::Unallocated => "unallocated",
        }
    }

    /// True for the methods that make direct cost.
    pub fn is_direct(self) -> bool {
        matches!(self, Method::Tags | Method::GatewayShare)
    }
}

/// One allocated amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub unit: usize,
    pub owner: Owner,
    pub amount: Money,
    pub method: Method,
    pub rule: Option<String>,
}

/// What the allocation could not do cleanly, for the run's warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllocationNotes {
    /// LLM lines (model, token type, currency) that no gateway request matched, with their
    /// amount.
    pub unmatched_models: BTreeMap<(String, String, String), Money>,
    /// Amount per currency that went to `__unallocated__` because nothing applied.
    pub unallocated: BTreeMap<String, Money>,
    /// True when the gateway showed any token usage to split LLM lines by.
    pub gateway_usage: bool,
}

/// Allocates every unit. `owner_width` is the number of taxonomy keys.
pub fn allocate(
    units: &[CostUnit],
    usage: &GatewayUsage,
    rules: &[SharedCostRule],
    owner_width: usize,
) -> (Vec<Allocation>, AllocationNotes) {
    let mut result = Vec::new();
    let mut notes = AllocationNotes {
        gateway_usage: !usage.tokens_by_owner.is_empty(),
        ..AllocationNotes::default()
    };
    let mut pending: Vec<(usize, &SharedCostRule)> = Vec::new();
    for (index, unit) in units.iter().enumerate() {
        if unit.owner.is_owned() {
            result.push(Allocation {
                unit: index,
                owner: unit.owner.clone(),
                amount: unit.amount,
                method: Method::Tags,
                rule: None,
            });
            continue;
        }
        if let Some(shares) = unit.llm_key().and_then(|key| usage.tokens_by_owner.get(&key)) {
            result.extend(split(index, unit.amount, shares, Method::GatewayShare, None));
            continue;
        }
        if let Some((model, token_type)) = unit.model_and_type() {
            let key = (model, token_type, unit.currency.clone());
            *notes.unmatched_models.entry(key).or_default() += unit.amount;
        }
        if let Some(rule) = rules.iter().find(|rule| inputs::rule_matches(rule, unit)) {
            pending.push((index, rule));
        } else {
            *notes.unallocated.entry(unit.currency.clone()).or_default() += unit.amount;
            result.push(unallocated(index, unit.amount, owner_width));
        }
    }
    let direct = direct_cost(&result, units);
    for (index, rule) in pending {
        let unit = &units[index];
        let weights = rule_weights(rule, unit, &direct, usage, owner_width);
        if weights.is_empty() {
            *notes.unallocated.entry(unit.currency.clone()).or_default() += unit.amount;
            result.push(unallocated(index, unit.amount, owner_width));
        } else {
            result.extend(split(
                index,
                unit.amount,
                &weights,
                Method::Rule,
                Some(rule.name.clone()),
            ));
        }
    }
    result.sort_by_key(|a| a.unit);
    (result, notes)
}

/// An amount for `__unallocated__`.
fn unallocated(unit: usize, amount: Money, width: usize) -> Allocation {
    Allocation {
        unit,
        owner: Owner::unallocated(width),
        amount,
        method: Method::Unallocated,
        rule: None,
    }
}

/// Splits an amount over weighted owners (sorted by owner) by the largest remainder.
fn split(
    unit: usize,
    amount: Money,
    weights: &BTreeMap<Owner, i128>,
    method: Method,
    rule: Option<String>,
) -> Vec<Allocation> {
    let owners: Vec<&Owner> = weights.keys().collect();
    let values: Vec<i128> = weights.values().copied().collect();
    largest_remainder(amount, &values, 1)
        .into_iter()
        .zip(owners)
        .map(|(amount, owner)| Allocation {
            unit,
            owner: owner.clone(),
            amount,
            method,
            rule: rule.clone(),
        })
        .collect()
}

/// Direct cost (tags and gateway share) per (billing period, currency) and owner.
fn direct_cost(
    result: &[Allocation],
    units: &[CostUnit],
) -> BTreeMap<(String, String), BTreeMap<Owner, Money>> {
    let mut direct: BTreeMap<(String, String), BTreeMap<Owner, Money>> = BTreeMap::new();
    for allocation in result.iter().filter(|a| a.method.is_direct()) {
        let unit = &units[allocation.unit];
        let scope = (unit.billing_period.clone(), unit.currency.clone());
        *direct.entry(scope).or_default().entry(allocation.owner.clone()).or_default() +=
            allocation.amount;
    }
    direct
}

/// The weights a rule gives each owner for one unit.
fn rule_weights(
    rule: &SharedCostRule,
    unit: &CostUnit,
    direct: &BTreeMap<(String, String), BTreeMap<Owner, Money>>,
    usage: &GatewayUsage,
    width: usize,
) -> BTreeMap<Owner, i128> {
    let scope = (unit.billing_period.clone(), unit.currency.clone());
    let owners_direct = direct.get(&scope).cloned().unwrap_or_default();
    let allowed = |owner: &Owner| {
        !owner.is_unallocated()
            && (rule.owners.is_empty()
                || rule.owners.iter().any(|o| owner.first() == Some(o.as_str())))
    };
    let weights: BTreeMap<Owner, i128> = match rule.method {
        ShareMethod::Proportional => owners_direct
            .iter()
            .filter(|(owner, amount)| allowed(owner) && !amount.is_negative() && !amount.is_zero())
            .map(|(owner, amount)| (owner.clone(), amount.raw()))
            .collect(),
        ShareMethod::Even => {
            let mut owners: BTreeMap<Owner, i128> =
                owners_direct.keys().filter(|o| allowed(o)).map(|o| (o.clone(), 1)).collect();
            for name in &rule.owners {
                owners.entry(Owner::first_only(name, width)).or_insert(1);
            }
            owners
        }
        ShareMethod::Fixed => rule
            .weights
            .iter()
            .map(|(name, weight)| {
                (
                    Owner::first_only(
                        &crate::enrich::taxonomy::canonical_value(name, true).unwrap_or_default(),
                        width,
                    ),
                    i128::from(*weight),
                )
            })
            .collect(),
        ShareMethod::Tokens => usage
            .period_tokens(&unit.billing_period)
            .into_iter()
            .filter(|(o, _)| allowed(o))
            .collect(),
        ShareMethod::Requests => usage
            .period_requests(&unit.billing_period)
            .into_iter()
            .filter(|(o, _)| allowed(o))
            .collect(),
    };
    weights.into_iter().filter(|(_, weight)| *weight > 0).collect()
}

/// The `allocations` frame: one row per allocated amount.
pub fn to_frame(
    allocations: &[Allocation],
    units: &[CostUnit],
    keys: &[String],
    basis: &str,
) -> Result<DataFrame> {
    let unit = |a: &Allocation| &units[a.unit];
    let text = |name: &str, get: &dyn Fn(&Allocation) -> Option<String>| {
        Column::new(name.into(), allocations.iter().map(get).collect::<Vec<_>>())
    };
    let days: Vec<Option<i32>> = allocations.iter().map(|a| unit(a).day).collect();
    let mut columns = vec![
        text(costs::BILLING_PERIOD, &|a| Some(unit(a).billing_period.clone())),
        Column::new("day".into(), days).cast(&DataType::Date)?,
        text(costs::SUB_ACCOUNT_ID, &|a| unit(a).account.clone()),
        text(costs::SERVICE_NAME, &|a| unit(a).service.clone()),
        text(costs::USAGE_TYPE, &|a| unit(a).usage_type.clone()),
        text(costs::CHARGE_CATEGORY, &|a| Some(unit(a).charge_category.clone())),
        text(costs::RESOURCE_ID, &|a| unit(a).resource.clone()),
        text(costs::MODEL, &|a| unit(a).model.clone()),
        text(costs::TOKEN_TYPE, &|a| unit(a).token_type.clone()),
    ];
    for (index, key) in keys.iter().enumerate() {
        columns.push(text(key, &|a| Some(a.owner.value(index).to_string())));
    }
    columns.push(money_column(alloc::AMOUNT, allocations.iter().map(|a| Some(a.amount))));
    columns.push(text("currency", &|a| Some(unit(a).currency.clone())));
    columns.push(text(alloc::BASIS, &|_| Some(basis.to_string())));
    columns.push(text(alloc::METHOD, &|a| Some(a.method.name().to_string())));
    columns.push(text(alloc::RULE, &|a| a.rule.clone()));
    Ok(DataFrame::new_infer_height(columns)?)
}

/// Total per owner of allocations, for checks.
pub fn totals_by_owner(allocations: &[Allocation]) -> BTreeMap<Owner, Money> {
    let mut totals: BTreeMap<Owner, Money> = BTreeMap::new();
    for allocation in allocations {
        *totals.entry(allocation.owner.clone()).or_default() += allocation.amount;
    }
    totals
}

/// `UNALLOCATED` re-exported for callers that build owners by hand.
pub const UNALLOCATED_OWNER: &str = UNALLOCATED;

#[cfg(test)]
mod tests;
