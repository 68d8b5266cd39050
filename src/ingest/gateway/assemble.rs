//! From the rows of every log to the priced `requests` frame, purely (see `mod.rs` for the
//! steps). Rows come out sorted by start time, trace and request id, so the same logs always
//! give the same frame.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

use std::collections::{HashMap, HashSet};

use anyhow::Result;
use polars::prelude::DataFrame;

use super::Stats;
use super::row::{RequestRow, frame};
use crate::enrich::prices::PriceBook;
use crate::money::Money;

/// Call types (after an async `a` prefix) that fetch, list or delete earlier work.
const RETRIEVAL_PREFIXES: [&str; 5] = ["get_", "retrieve", "list_", "delete_", "cancel_"];

/// True for a call that only retrieves an earlier response: not new usage.
pub fn is_retrieval(call_type: &str) -> bool {
    let name = call_type.trim().to_ascii_lowercase();
    let starts = |text: &str| RETRIEVAL_PREFIXES.iter().any(|prefix| text.starts_with(prefix));
    starts(&name) || name.strip_prefix('a').is_some_and(starts)
}

/// Drops retrievals and exact duplicates, numbers attempts, prices, and builds the frame.
pub fn assemble(
    rows: Vec<RequestRow>,
    book: &PriceBook,
    owner_names: &[String],
) -> Result<(DataFrame, Stats)> {
    let mut stats = Stats { rows_read: rows.len(), ..Stats::default() };
    let before = rows.len();
    let rows: Vec<RequestRow> =
        rows.into_iter().filter(|r| !r.call_type.as_deref().is_some_and(is_retrieval)).collect();
    stats.retrievals = before - rows.len();

    let mut rows = deduplicate(rows);
    stats.duplicates = before - stats.retrievals - rows.len();
    stats.shared_ids = shared_ids(&rows);

    rows.sort_by(|a, b| {
        (a.start_time, &a.trace_id, &a.request_id).cmp(&(b.start_time, &b.trace_id, &b.request_id))
    });
    number_attempts(&mut rows);
    for row in &mut rows {
        price(row, book, &mut stats);
    }
    Ok((frame(&rows, owner_names)?, stats))
}

/// Keeps the first of every group of rows with the same identity.
fn deduplicate(rows: Vec<RequestRow>) -> Vec<RequestRow> {
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(rows.len());
        rows.iter().map(|row| seen.insert(row.identity())).collect()
    };
    rows.into_iter().zip(keep).filter_map(|(row, keep)| keep.then_some(row)).collect()
}

/// Number of request ids carried by more than one (different) row.
fn shared_ids(rows: &[RequestRow]) -> usize {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in rows.iter().filter_map(|r| r.request_id.as_deref()) {
        *counts.entry(id).or_default() += 1;
    }
    counts.values().filter(|&&count| count > 1).count()
}

/// Rows without a logged attempt number get their rank within the trace (rows are sorted
/// by start time).
fn number_attempts(rows: &mut [RequestRow]) {
    let mut seen: HashMap<Option<String>, i64> = HashMap::new();
    for row in rows.iter_mut() {
        let rank = seen.entry(row.trace_id.clone()).or_default();
        *rank += 1;
        if row.attempt.is_none() {
            row.attempt = Some(if row.trace_id.is_some() { *rank } else { 1 });
        }
    }
}

/// Canonical tokens and model name, and the priced cost (null when the model is unpriced).
fn price(row: &mut RequestRow, book: &PriceBook, stats: &mut Stats) {
    let provider = row.provider.clone();
    let names = [row.model.clone(), row.model_alias.clone()];
    let price = names
        .iter()
        .flatten()
        .find_map(|name| book.price(name, provider.as_deref(), row.start_time));
    let semantics = price.as_ref().and_then(|p| p.semantics).unwrap_or(row.semantics);
    let (usage, inconsistent) = semantics.normalize(row.raw);
    row.usage = usage;
    stats.inconsistent_counts += usize::from(inconsistent);
    if let Some(logged) = names.iter().flatten().next() {
        row.model = Some(book.canonical_model(logged));
    }
    if !row.priceable {
        return;
    }
    stats.total_tokens += usage.total();
    row.priced_cost = if row.cache_hit == Some(true) {
        Some(Money::ZERO)
    } else {
        price.and_then(|p| p.rates.cost(&usage))
    };
    if row.priced_cost.is_none() {
        stats.unpriced_requests += 1;
        stats.unpriced_tokens += usage.total();
        stats.unpriced_models.insert(row.model.clone().unwrap_or_else(|| "(no model)".into()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn retrievals_are_told_from_new_calls() {
        for call in ["aget_responses", "get_responses", "aretrieve_batch", "alist_input_items"] {
            assert!(is_retrieval(call), "{call}");
        }
        for call in ["acompletion", "completion", "aresponses", "aembedding", "atext_completion"] {
            assert!(!is_retrieval(call), "{call}");
        }
    }
}
