//! Reconciliation: what the gateway estimated against what the invoice charged, per model
//! and day, with the variance and its likely cause.
//!
//! Pure: invoice units (billed basis) and the period's requests in, one row per (day,
//! model) out. A model is named as the bill names it; gateway requests whose model maps to
//! no bill name keep their gateway name, so traffic the bill does not show stands out.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use crate::allocate::CostUnit;
use crate::ingest::builder::{money_column, money_values};
use crate::model::requests;
use crate::money::Money;

/// Relative variance under which the two sides agree.
const TOLERANCE: f64 = 0.01;
/// Share of the invoice above which the gap is more than pricing differences explain.
const BYPASS: f64 = 0.15;

/// The gateway's side of one (day, model).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewaySide {
    pub estimate: Money,
    pub requests: u64,
    pub unpriced_requests: u64,
    pub cache_tokens: i64,
    pub retried_requests: u64,
    pub tokens: i64,
}

/// One row of the reconciliation.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub day: i32,
    pub model: String,
    pub invoice: Money,
    pub gateway: GatewaySide,
}

impl Row {
    /// Invoice minus gateway estimate.
    pub fn variance(&self) -> Money {
        self.invoice - self.gateway.estimate
    }

    /// Variance as a fraction of the invoice (of the estimate when the invoice is zero).
    pub fn variance_ratio(&self) -> Option<f64> {
        let base = if self.invoice.is_zero() { self.gateway.estimate } else { self.invoice };
        (!base.is_zero()).then(|| self.variance().to_f64_lossy() / base.to_f64_lossy())
    }

    /// The likely cause of the variance, most specific first.
    pub fn cause(&self) -> &'static str {
        let ratio = self.variance_ratio().unwrap_or(0.0);
        if self.gateway.requests == 0 && !self.invoice.is_zero() {
            "missing logs or traffic that bypassed the gateway"
        } else if self.invoice.is_zero() && self.gateway.requests > 0 {
            "no bill line: model not mapped in `[models]`, or the bill is not delivered yet"
        } else if ratio.abs() <= TOLERANCE {
            "matches"
        } else if self.gateway.unpriced_requests > 0 {
            "unpriced model: the gateway could not estimate some requests"
        } else if ratio > BYPASS {
            "missing logs or traffic that bypassed the gateway: the bill is far above the estimate"
        } else if self.gateway.cache_tokens > 0 {
            "cache-token pricing differs between the gateway and the bill"
        } else if self.gateway.retried_requests > 0 {
            "retries and failed attempts billed but not counted by the gateway"
        } else if ratio > 0.0 {
            "the bill is higher: missing logs, or list prices below the billed rate"
        } else {
            "the gateway estimate is higher: discounts or prices above the billed rate"
        }
    }
}

/// Builds the rows from invoice units and requests.
pub fn reconcile(
    units: &[CostUnit],
    requests_frame: Option<&DataFrame>,
    billing_name: &dyn Fn(&str) -> Option<String>,
    tz: chrono_tz::Tz,
) -> Result<Vec<Row>> {
    let mut rows: BTreeMap<(i32, String), Row> = BTreeMap::new();
    for unit in units {
        let (Some(model), Some(day)) = (&unit.model, unit.day) else { continue };
        let entry = rows.entry((day, model.clone())).or_insert_with(|| empty(day, model));
        entry.invoice += unit.amount;
    }
    if let Some(frame) = requests_frame {
        add_gateway(frame, &mut rows, billing_name, tz)?;
    }
    Ok(rows.into_values().collect())
}

fn empty(day: i32, model: &str) -> Row {
    Row { day, model: model.to_string(), invoice: Money::ZERO, gateway: GatewaySide::default() }
}

/// Adds each request to its (day, bill model) row.
fn add_gateway(
    frame: &DataFrame,
    rows: &mut BTreeMap<(i32, String), Row>,
    billing_name: &dyn Fn(&str) -> Option<String>,
    tz: chrono_tz::Tz,
) -> Result<()> {
    let text = |name: &str| -> Result<StringChunked> {
        Ok(frame.column(name)?.cast(&DataType::String)?.str()?.clone())
    };
    let count = |name: &str| -> Result<Int64Chunked> {
        Ok(frame.column(name)?.cast(&DataType::Int64)?.i64()?.clone())
    };
    let models = text(requests::MODEL)?;
    let statuses = text(requests::STATUS)?;
    let starts = frame.column(requests::START_TIME)?.cast(&DataType::Int64)?;
    let starts = starts.i64()?;
    let priced = money_values(frame.column(requests::PRICED_COST)?)?;
    let attempts = count(requests::ATTEMPT)?;
    let token_columns = [
        requests::INPUT_TOKENS,
        requests::OUTPUT_TOKENS,
        requests::CACHE_READ_TOKENS,
        requests::CACHE_WRITE_TOKENS,
    ];
    let tokens: Vec<Int64Chunked> =
        token_columns.iter().map(|c| count(c)).collect::<Result<_>>()?;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    for row in 0..frame.height() {
        let Some(start) = starts.get(row).and_then(chrono::DateTime::from_timestamp_millis) else {
            continue;
        };
        let day = i32::try_from((start.with_timezone(&tz).date_naive() - epoch).num_days())?;
        let model = models.get(row).unwrap_or("");
        let name = names
            .entry(model.to_string())
            .or_insert_with(|| billing_name(model).unwrap_or_else(|| model.to_string()))
            .clone();
        let entry = rows.entry((day, name.clone())).or_insert_with(|| empty(day, &name));
        let side = &mut entry.gateway;
        side.requests += 1;
        match priced[row] {
            Some(cost) => side.estimate += cost,
            None => side.unpriced_requests += 1,
        }
        let counts: Vec<i64> = tokens.iter().map(|t| t.get(row).unwrap_or(0)).collect();
        side.tokens += counts.iter().sum::<i64>();
        side.cache_tokens += counts[2] + counts[3];
        let failed = statuses.get(row).is_some_and(|s| !s.eq_ignore_ascii_case("success"));
        if attempts.get(row).unwrap_or(1) > 1 || failed {
            side.retried_requests += 1;
        }
    }
    Ok(())
}

/// The rows as a frame.
pub fn to_frame(rows: &[Row]) -> Result<DataFrame> {
    let days: Vec<i32> = rows.iter().map(|r| r.day).collect();
    Ok(DataFrame::new_infer_height(vec![
        Column::new("day".into(), days).cast(&DataType::Date)?,
        Column::new("model".into(), rows.iter().map(|r| r.model.clone()).collect::<Vec<_>>()),
        money_column("invoice_cost", rows.iter().map(|r| Some(r.invoice))),
        money_column("gateway_estimate", rows.iter().map(|r| Some(r.gateway.estimate))),
        money_column("variance", rows.iter().map(|r| Some(r.variance()))),
        Column::new(
            "variance_share".into(),
            rows.iter().map(Row::variance_ratio).collect::<Vec<_>>(),
        ),
        Column::new("requests".into(), rows.iter().map(|r| r.gateway.requests).collect::<Vec<_>>()),
        Column::new(
            "unpriced_requests".into(),
            rows.iter().map(|r| r.gateway.unpriced_requests).collect::<Vec<_>>(),
        ),
        Column::new(
            "retried_requests".into(),
            rows.iter().map(|r| r.gateway.retried_requests).collect::<Vec<_>>(),
        ),
        Column::new(
            "gateway_tokens".into(),
            rows.iter().map(|r| r.gateway.tokens).collect::<Vec<_>>(),
        ),
        Column::new(
            "likely_cause".into(),
            rows.iter().map(|r| r.cause().to_string()).collect::<Vec<_>>(),
        ),
    ])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(invoice: &str, estimate: &str, requests: u64) -> Row {
        Row {
            day: 0,
            model: "m".into(),
            invoice: Money::parse(invoice).unwrap(),
            gateway: GatewaySide {
                estimate: Money::parse(estimate).unwrap(),
                requests,
                ..GatewaySide::default()
            },
        }
    }

    #[test]
    fn causes_from_most_specific() {
        assert_eq!(row("10", "0", 0).cause(), "missing logs or traffic that bypassed the gateway");
        assert_eq!(row("10", "9.95", 3).cause(), "matches");
        let mut unpriced = row("10", "5", 3);
        unpriced.gateway.unpriced_requests = 1;
        assert!(unpriced.cause().starts_with("unpriced model"));
        let mut cached = row("10", "9", 3);
        cached.gateway.cache_tokens = 100;
        assert!(cached.cause().starts_with("cache-token pricing"));
        // Variance 10 - 8 = 2, a fifth of the invoice.
        assert_eq!(row("10", "8", 1).variance(), Money::from_units(2));
        assert_eq!(row("10", "8", 1).variance_ratio(), Some(0.2));
        // A fifth of the bill missing from the gateway is more than pricing explains.
        assert!(row("10", "8", 1).cause().starts_with("missing logs"));
    }
}
