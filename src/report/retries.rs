//! Retry loops and hidden costs.
//!
//! A retry loop is a trace (one transaction) with at least `retry_min_attempts` requests, or
//! with the same prompt failing twice or more; requests without a trace whose identical
//! prompt (same key, same prompt hash, same day) failed twice or more are a loop too. Each
//! loop gives its whole cost, the cost of its failed attempts and their share.
//!
//! Hidden costs are money that no request-level view shows, totalled per owner: failed
//! attempts (from the gateway), vector-store storage (`OpenSearch`, S3 Vectors, Kendra, or a
//! usage type that names vectors), fine-tuning (Bedrock customization and training, `SageMaker`
//! training) and custom-model storage or import (Bedrock), from the bill's billed cost.

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;

use crate::model::costs;
use crate::money::Money;
use crate::report::anomalies::{Flag, kinds};
use crate::report::frames;
use crate::report::request_rows::Request;

/// Services whose cost is vector-store storage and search.
pub const VECTOR_SERVICES: [&str; 4] =
    ["AmazonOpenSearchService", "AmazonOpenSearchServerless", "AmazonS3Vectors", "AmazonKendra"];

/// One transaction that retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryLoop {
    /// `trace` or `prompt`.
    pub subject_type: &'static str,
    pub subject: String,
    pub day: Option<NaiveDate>,
    pub attempts: usize,
    pub failures: usize,
    pub cost: Money,
    pub failed_cost: Money,
    pub models: Vec<String>,
}

impl RetryLoop {
    /// Failed cost as a fraction of the whole.
    pub fn failed_share(&self) -> f64 {
        frames::ratio(self.failed_cost.to_f64_lossy(), self.cost.to_f64_lossy()).unwrap_or(0.0)
    }

    /// The report row.
    pub fn flag(&self) -> Flag {
        Flag {
            kind: kinds::RETRY_LOOP,
            subject_type: self.subject_type.to_string(),
            subject: self.subject.clone(),
            day: self.day,
            expected: Some(self.cost - self.failed_cost),
            actual: self.cost,
            impact: self.failed_cost,
            reason: format!(
                "{} attempts, {} failed: {} of {} ({:.1}%) spent on failed attempts; models {}",
                self.attempts,
                self.failures,
                self.failed_cost,
                self.cost,
                self.failed_share() * 100.0,
                self.models.join(", ")
            ),
        }
    }
}

/// Retry loops among requests whose day lies in `[from, to)`.
pub fn retry_loops(
    requests: &[Request],
    range: (Option<NaiveDate>, Option<NaiveDate>),
    min_attempts: u32,
) -> Vec<RetryLoop> {
    let in_range = |r: &&Request| {
        r.day.is_some_and(|d| range.0.is_none_or(|f| d >= f) && range.1.is_none_or(|t| d < t))
    };
    let mut groups: BTreeMap<(&'static str, String), Vec<&Request>> = BTreeMap::new();
    for request in requests.iter().filter(in_range) {
        let key = match (&request.trace_id, &request.prompt_hash) {
            (Some(trace), _) => ("trace", trace.clone()),
            (None, Some(hash)) if request.failed => (
                "prompt",
                format!(
                    "{hash} (key {}, {})",
                    request.api_key.as_deref().unwrap_or("-"),
                    request.day.map(|d| d.to_string()).unwrap_or_default()
                ),
            ),
            _ => continue,
        };
        groups.entry(key).or_default().push(request);
    }
    let mut loops = Vec::new();
    for ((subject_type, subject), mut members) in groups {
        members.sort_by_key(|r| (r.start, r.attempt));
        let attempts = members.len();
        let failures = members.iter().filter(|r| r.failed).count();
        let mut failing_repeats: BTreeMap<&str, usize> = BTreeMap::new();
        for request in members.iter().filter(|r| r.failed) {
            if let Some(hash) = request.prompt_hash.as_deref() {
                *failing_repeats.entry(hash).or_default() += 1;
            }
        }
        let repeated = failing_repeats.values().any(|n| *n >= 2);
        let many = u32::try_from(attempts).unwrap_or(u32::MAX) >= min_attempts;
        if !(repeated || (subject_type == "trace" && many)) {
            continue;
        }
        let mut models: Vec<String> = Vec::new();
        for model in members.iter().filter_map(|r| r.model.clone()) {
            if !models.contains(&model) {
                models.push(model);
            }
        }
        loops.push(RetryLoop {
            subject_type,
            subject,
            day: members.iter().filter_map(|r| r.day).min(),
            attempts,
            failures,
            cost: members.iter().filter_map(|r| r.cost).sum(),
            failed_cost: members.iter().filter(|r| r.failed).filter_map(|r| r.cost).sum(),
            models,
        });
    }
    loops
}

/// The hidden-cost category of a bill line, if any.
pub fn hidden_category(service: &str, usage_type: &str) -> Option<&'static str> {
    let usage = usage_type.to_ascii_lowercase();
    let bedrock = service.to_ascii_lowercase().contains("bedrock");
    if VECTOR_SERVICES.contains(&service) || usage.contains("vector") {
        return Some("vector_store");
    }
    let custom_model = ["custommodel", "custom-model", "modelstorage", "model-storage", "import"];
    if bedrock && custom_model.iter().any(|w| usage.contains(w)) && !usage.contains("training") {
        return Some("custom_model");
    }
    let tuning = ["customization", "training", "fine-tun", "finetun"];
    if (bedrock && tuning.iter().any(|w| usage.contains(w)))
        || (service == "AmazonSageMaker" && usage.contains("train:"))
    {
        return Some("fine_tuning");
    }
    None
}

/// Hidden costs per owner: failed attempts from `requests` (already in range) and bill lines
/// of `bill` (already in range), one row per owner and category, then the owner's total.
pub fn hidden_costs(bill: LazyFrame, requests: &[Request], keys: &[String]) -> Result<Vec<Flag>> {
    let mut totals: BTreeMap<Vec<String>, BTreeMap<String, Money>> = BTreeMap::new();
    for request in requests.iter().filter(|r| r.failed) {
        if let Some(cost) = request.cost.filter(|c| !c.is_zero()) {
            *totals
                .entry(request.owners.clone())
                .or_default()
                .entry("retries".into())
                .or_default() += cost;
        }
    }
    let mut group: Vec<Expr> = keys.iter().map(|k| col(k.as_str())).collect();
    group.extend([col(costs::SERVICE_NAME), col(costs::USAGE_TYPE)]);
    let lines = bill.group_by(group).agg([col(costs::BILLED_COST).sum()]).collect()?;
    let owners = frames::owners(&lines, keys)?;
    let services = frames::strings(&lines, costs::SERVICE_NAME)?;
    let usage_types = frames::strings(&lines, costs::USAGE_TYPE)?;
    let billed = frames::moneys(&lines, costs::BILLED_COST)?;
    for row in 0..lines.height() {
        let service = services[row].as_deref().unwrap_or("");
        let Some(category) = hidden_category(service, usage_types[row].as_deref().unwrap_or(""))
        else {
            continue;
        };
        let label = format!("{category} ({service})");
        *totals.entry(owners[row].clone()).or_default().entry(label).or_default() +=
            billed[row].unwrap_or_default();
    }
    let mut flags = Vec::new();
    for (owner, categories) in totals {
        let subject = frames::owner_label(keys, &owner);
        let row = |reason: String, amount: Money| Flag {
            kind: kinds::HIDDEN_COST,
            subject_type: "owner".into(),
            subject: subject.clone(),
            day: None,
            expected: None,
            actual: amount,
            impact: amount,
            reason,
        };
        let total: Money = categories.values().copied().sum();
        for (category, amount) in categories {
            flags.push(row(category, amount));
        }
        flags.push(row("total".into(), total));
    }
    Ok(flags)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::enrich::prices::parse_price;
    use crate::ingest::builder::money_column;
    use crate::model::requests as columns;

    /// Cost of tokens at prices per million, exactly.
    fn priced(input: i128, output: i128, input_price: &str, output_price: &str) -> Money {
        parse_price(input_price).unwrap().times(input)
            + parse_price(output_price).unwrap().times(output)
    }

    #[test]
    fn fallback_after_two_failures_is_one_costly_transaction() {
        // Attempt 1 failed with no tokens: $0. Attempt 2 failed after 1,000 input and 50
        // output at $3/M and $15/M: 0.003 + 0.00075 = $0.00375. Attempt 3 succeeded on the
        // fallback with 1,000 input and 400 output at $0.25/M and $1.25/M:
        // 0.00025 + 0.0005 = $0.00075. Whole: $0.0045; failed 0.00375 / 0.0045 = 83.3%.
        let costs = [
            Some(Money::ZERO),
            Some(priced(1000, 50, "3 per 1M", "15 per 1M")),
            Some(priced(1000, 400, "0.25 per 1M", "1.25 per 1M")),
        ];
        let start = 1_767_225_600_000i64; // 2026-01-01T00:00:00Z
        let mut frame = df!(
            columns::REQUEST_ID => ["r1", "r2", "r3"],
            columns::TRACE_ID => ["t1", "t1", "t1"],
            columns::START_TIME => [start, start + 1000, start + 2000],
            columns::MODEL => ["sonnet", "sonnet", "haiku"],
            columns::STATUS => ["failure", "failure", "success"],
            columns::ATTEMPT => [1i64, 2, 3],
            columns::INPUT_TOKENS => [0i64, 1000, 1000],
            columns::OUTPUT_TOKENS => [0i64, 50, 400],
            "team" => ["search", "search", "search"],
        )
        .unwrap();
        frame.with_column(money_column(columns::PRICED_COST, costs.into_iter())).unwrap();
        let keys = ["team".to_string()];
        let requests = crate::report::request_rows::read(&frame, &keys, chrono_tz::UTC).unwrap();
        let loops = retry_loops(&requests, (None, None), 3);
        assert_eq!(loops.len(), 1);
        let one = &loops[0];
        assert_eq!((one.attempts, one.failures), (3, 2));
        assert_eq!(one.cost, Money::parse("0.0045").unwrap());
        assert_eq!(one.failed_cost, Money::parse("0.00375").unwrap());
        assert!((one.failed_share() - 0.8333).abs() < 1e-4);
        let flag = one.flag();
        assert!(flag.reason.contains("0.00375 of 0.0045 (83.3%)"), "{}", flag.reason);
        assert_eq!(flag.expected, Some(Money::parse("0.00075").unwrap()));

        let bill = df!(
            "team" => [Some("search"), None],
            costs::SERVICE_NAME => ["AmazonOpenSearchService", "AmazonBedrock"],
            costs::USAGE_TYPE => ["USE1-SearchOCU", "USE1-CustomModelStorage"],
        )
        .unwrap()
        .lazy()
        .with_column(lit(30).cast(crate::model::money_dtype()).alias(costs::BILLED_COST));
        let hidden = hidden_costs(bill, &requests, &keys).unwrap();
        let summary: Vec<(String, String, String)> = hidden
            .iter()
            .map(|f| (f.subject.clone(), f.reason.clone(), f.actual.to_string()))
            .collect();
        let row = |s: &str, r: &str, a: &str| (s.to_string(), r.to_string(), a.to_string());
        assert_eq!(
            summary,
            [
                row("team=__unallocated__", "custom_model (AmazonBedrock)", "30.00"),
                row("team=__unallocated__", "total", "30.00"),
                row("team=search", "retries", "0.00375"),
                row("team=search", "vector_store (AmazonOpenSearchService)", "30.00"),
                row("team=search", "total", "30.00375"),
            ]
        );
    }

    #[test]
    fn two_attempts_that_succeed_are_no_loop() {
        let request = |attempt, failed| Request {
            trace_id: Some("t".into()),
            attempt: Some(attempt),
            failed,
            day: NaiveDate::from_ymd_opt(2026, 1, 1),
            ..Request::default()
        };
        assert_eq!(retry_loops(&[request(1, true), request(2, false)], (None, None), 3), vec![]);
    }

    #[test]
    fn categories_of_hidden_lines() {
        assert_eq!(hidden_category("AmazonS3Vectors", "USE1-Storage"), Some("vector_store"));
        assert_eq!(
            hidden_category("AmazonBedrock", "USE1-Customization-Training"),
            Some("fine_tuning")
        );
        assert_eq!(
            hidden_category("AmazonSageMaker", "USE1-Train:ml.p4d.24xlarge"),
            Some("fine_tuning")
        );
        assert_eq!(hidden_category("AmazonBedrock", "USE1-Claude3Sonnet-input-tokens"), None);
    }
}
