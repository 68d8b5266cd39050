//! Showback from allocations: the invoice cost of each owner once gateway shares and rules
//! have attributed the LLM and shared lines, with the owner's requests and tokens beside it.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use crate::allocate::{Allocation, CostUnit};
use crate::ingest::builder::money_column;
use crate::model::{UNALLOCATED, requests};
use crate::money::Money;

/// Per (period, owner projected on the asked keys, currency): billed, effective, line items.
type Sums = BTreeMap<(String, Vec<String>, String), (Money, Money, u64)>;

/// Gateway activity per (period, owner projection): requests, input and output tokens.
pub type Activity = BTreeMap<(String, Vec<String>), (u64, i64, i64)>;

/// Adds one basis's allocations to the sums; `positions` picks the asked keys.
pub fn add_allocations(
    sums: &mut Sums,
    allocations: &[Allocation],
    units: &[CostUnit],
    positions: &[usize],
    billed: bool,
) {
    // A unit's lines count once for each owner it reaches, however many of its allocations
    // land on that owner once projected on the asked keys.
    let mut counted: std::collections::HashSet<(usize, Vec<String>)> =
        std::collections::HashSet::new();
    for allocation in allocations {
        let unit = &units[allocation.unit];
        let owner: Vec<String> =
            positions.iter().map(|i| allocation.owner.value(*i).to_string()).collect();
        let first = billed && counted.insert((allocation.unit, owner.clone()));
        let entry =
            sums.entry((unit.billing_period.clone(), owner, unit.currency.clone())).or_default();
        if billed {
            entry.0 += allocation.amount;
            if first {
                entry.2 += unit.lines;
            }
        } else {
            entry.1 += allocation.amount;
        }
    }
}

/// Requests and tokens per (month of start, owner projection) of a `requests` frame.
pub fn activity(frame: &DataFrame, keys: &[String]) -> Result<Activity> {
    let owners: Vec<StringChunked> = keys
        .iter()
        .map(|k| Ok(frame.column(k)?.cast(&DataType::String)?.str()?.clone()))
        .collect::<Result<_>>()?;
    let starts = frame.column(requests::START_TIME)?.cast(&DataType::Int64)?;
    let starts = starts.i64()?;
    let input = frame.column(requests::INPUT_TOKENS)?.cast(&DataType::Int64)?;
    let output = frame.column(requests::OUTPUT_TOKENS)?.cast(&DataType::Int64)?;
    let (input, output) = (input.i64()?, output.i64()?);
    let mut result = Activity::new();
    for row in 0..frame.height() {
        let Some(start) = starts.get(row).and_then(chrono::DateTime::from_timestamp_millis) else {
            continue;
        };
        let owner: Vec<String> = owners
            .iter()
            .map(|o| o.get(row).filter(|v| !v.is_empty()).unwrap_or(UNALLOCATED).to_string())
            .collect();
        let entry = result.entry((start.format("%Y-%m").to_string(), owner)).or_default();
        entry.0 += 1;
        entry.1 += input.get(row).unwrap_or(0);
        entry.2 += output.get(row).unwrap_or(0);
    }
    Ok(result)
}

/// The showback frame from the sums and the gateway activity.
pub fn frame(sums: &Sums, activity: &Activity, keys: &[String]) -> Result<DataFrame> {
    let rows: Vec<(&(String, Vec<String>, String), &(Money, Money, u64))> = sums.iter().collect();
    // The shares of each period and currency add up to exactly 1 (largest remainder).
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (row, ((period, _, currency), _)) in rows.iter().enumerate() {
        groups.entry((period.clone(), currency.clone())).or_default().push(row);
    }
    let mut shares: Vec<Option<f64>> = vec![None; rows.len()];
    for members in groups.values() {
        let values: Vec<Money> = members.iter().map(|r| rows[*r].1.1).collect();
        for (row, value) in members.iter().zip(crate::money::shares_of(&values)) {
            shares[*row] = value;
        }
    }
    let mut columns = vec![Column::new(
        "billing_period".into(),
        rows.iter().map(|((p, _, _), _)| p.clone()).collect::<Vec<_>>(),
    )];
    for (index, key) in keys.iter().enumerate() {
        columns.push(Column::new(
            key.as_str().into(),
            rows.iter().map(|((_, o, _), _)| o[index].clone()).collect::<Vec<_>>(),
        ));
    }
    let gateway =
        |((period, owner, _), _): &(&(String, Vec<String>, String), &(Money, Money, u64))| {
            activity.get(&(period.clone(), owner.clone())).copied().unwrap_or_default()
        };
    columns.extend([
        money_column("billed_cost", rows.iter().map(|(_, (billed, _, _))| Some(*billed))),
        money_column("effective_cost", rows.iter().map(|(_, (_, effective, _))| Some(*effective))),
        Column::new("share".into(), shares),
        Column::new("line_items".into(), rows.iter().map(|(_, (_, _, n))| *n).collect::<Vec<_>>()),
        Column::new(
            "currency".into(),
            rows.iter().map(|((_, _, c), _)| c.clone()).collect::<Vec<_>>(),
        ),
        Column::new("requests".into(), rows.iter().map(|r| gateway(r).0).collect::<Vec<_>>()),
        Column::new("input_tokens".into(), rows.iter().map(|r| gateway(r).1).collect::<Vec<_>>()),
        Column::new("output_tokens".into(), rows.iter().map(|r| gateway(r).2).collect::<Vec<_>>()),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}
