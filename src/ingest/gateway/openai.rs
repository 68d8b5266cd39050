//! OpenAI organisation usage (completions) and costs responses (FORMATS.md §7.5).
//!
//! A file holds one response page, an array of pages, or one page per line. Each bucket's
//! array is `results` (the spec) or `result` (some clients). A completions result becomes one
//! row per bucket and group (project, user, key, model, batch, tier): its tokens are in
//! OpenAI form (`input_tokens` include cached ones). A costs result becomes a row that
//! carries the provider's own figure in `logged_cost` (`value` a number or a string) and no
//! tokens; it is not priced again. `api_key_id` is OpenAI's public key id, not a secret, and
//! is kept as it is so budgets exported to OpenAI still match; anything that looks like a
//! clear key is hashed.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

// TODO(#3): a bucket's `num_model_requests` is not kept; the frame has one row per bucket
// and group, so request counts from OpenAI usage are bucket counts.

use std::sync::Arc;

use anyhow::Result;
use serde_json::Value;

use super::Owners;
use super::record::{epoch, value_display, value_int, value_money, value_text};
use super::row::{RequestRow, hash_api_key};
use crate::enrich::usage::TokenSemantics;
use crate::error::InputError;

/// Call types given to rows of this source.
pub const USAGE_BUCKET: &str = "usage_bucket";
pub const COST_BUCKET: &str = "cost_bucket";

/// True when a JSON document is an OpenAI usage or costs page (or an array of them).
pub fn matches(document: &Value) -> bool {
    match document {
        Value::Array(pages) => pages.first().is_some_and(matches),
        Value::Object(page) => {
            page.get("object").and_then(Value::as_str) == Some("page")
                || page.get("data").and_then(Value::as_array).is_some_and(|buckets| {
                    buckets.first().is_some_and(|b| b.get("start_time").is_some())
                })
        }
        _ => false,
    }
}

/// Every row of one document; `line` is its line in a JSONL file (1 otherwise).
pub fn rows(
    document: &Value,
    file: &Arc<str>,
    line: u64,
    owners: &Owners<'_>,
) -> Result<Vec<RequestRow>> {
    let pages: Vec<&Value> = match document {
        Value::Array(pages) => pages.iter().collect(),
        page => vec![page],
    };
    let mut rows = Vec::new();
    for (page_index, page) in pages.iter().enumerate() {
        let buckets = page.get("data").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
        for (bucket_index, bucket) in buckets.iter().enumerate() {
            let place = Place { file, line, page: page_index, bucket: bucket_index, result: 0 };
            let start =
                bucket.get("start_time").and_then(Value::as_i64).and_then(epoch).ok_or_else(
                    || place.error("start_time", "Unix seconds", bucket.get("start_time")),
                )?;
            let results = bucket.get("results").or_else(|| bucket.get("result"));
            let results = results.and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
            for (result_index, result) in results.iter().enumerate() {
                let place = Place { result: result_index, ..place };
                let mut row = RequestRow::new(file.clone(), start);
                if is_cost(result) {
                    cost_row(result, &place, &mut row)?;
                } else {
                    usage_row(result, &place, &mut row)?;
                }
                let key = |name: &str| result.get(name).and_then(value_text);
                row.request_id = Some(format!(
                    "openai:{}:{}:{}:{}",
                    row.call_type.as_deref().unwrap_or(""),
                    start.timestamp(),
                    [
                        key("project_id"),
                        key("user_id"),
                        key("api_key_id"),
                        key("model"),
                        key("line_item")
                    ]
                    .map(Option::unwrap_or_default)
                    .join(":"),
                    result_index
                ));
                row.trace_id.clone_from(&row.request_id);
                row.provider = Some("openai".into());
                row.api_key = key("api_key_id").and_then(|id| {
                    if id.starts_with("key_") { Some(id) } else { hash_api_key(&id) }
                });
                row.user = key("user_id");
                let mut tags = Vec::new();
                if let Some(project) = key("project_id") {
                    tags.push(("project_id".to_string(), project, false));
                }
                row.owners = owners.resolve(&tags, row.api_key.as_deref());
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

/// True for a costs result.
fn is_cost(result: &Value) -> bool {
    result.get("object").and_then(Value::as_str) == Some("organization.costs.result")
        || result.get("amount").is_some()
}

/// Tokens of a completions result.
fn usage_row(result: &Value, place: &Place<'_>, row: &mut RequestRow) -> Result<()> {
    let count = |name: &str| -> Result<i64> {
        result.get(name).map_or(Ok(0), |value| {
            value_int(value)
                .map(Option::unwrap_or_default)
                .map_err(|_| place.error(name, "a whole number", Some(value)))
        })
    };
    row.call_type = Some(USAGE_BUCKET.into());
    row.semantics = TokenSemantics::OpenAi;
    row.raw.prompt = count("input_tokens")?;
    row.raw.completion = count("output_tokens")?;
    row.raw.cache_read = count("input_cached_tokens")?;
    row.raw.cache_write = count("input_cache_write_tokens")?;
    row.model = result.get("model").and_then(value_text);
    Ok(())
}

/// The amount of a costs result; its model is the first part of the line item.
fn cost_row(result: &Value, place: &Place<'_>, row: &mut RequestRow) -> Result<()> {
    let amount = result.get("amount");
    let value = amount.and_then(|a| a.get("value"));
    let money = value
        .map(value_money)
        .transpose()
        .ok()
        .flatten()
        .flatten()
        .ok_or_else(|| place.error("amount.value", "a decimal number", value))?;
    if let Some(currency) = amount.and_then(|a| a.get("currency")).and_then(value_text)
        && !currency.eq_ignore_ascii_case("usd")
    {
        return Err(place.error(
            "amount.currency",
            "`usd`",
            amount.and_then(|a| a.get("currency")),
        ));
    }
    row.call_type = Some(COST_BUCKET.into());
    row.logged_cost = Some(money);
    row.priceable = false;
    row.model = result
        .get("line_item")
        .and_then(value_text)
        .map(|item| item.split(',').next().unwrap_or_default().trim().to_string());
    Ok(())
}

/// Where a value sits in the document, for messages.
#[derive(Debug, Clone, Copy)]
struct Place<'a> {
    file: &'a str,
    line: u64,
    page: usize,
    bucket: usize,
    result: usize,
}

impl Place<'_> {
    fn error(&self, field: &str, expected: &str, found: Option<&Value>) -> anyhow::Error {
        let mut error = InputError::at_line(
            self.file,
            self.line,
            field,
            expected,
            &found.map(value_display).unwrap_or_default(),
        );
        error.location = format!(
            "line {}, page {}, `data[{}].results[{}]`",
            self.line, self.page, self.bucket, self.result
        );
        error.into()
    }
}
