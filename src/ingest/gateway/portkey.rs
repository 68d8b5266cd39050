//! Portkey log exports (JSONL, FORMATS.md §7.3) into request rows.
//!
//! `cost` is in US cents and becomes dollars; `req_units` and `res_units` are the prompt and
//! completion tokens in OpenAI form. Owners come from `metadata` (an object, JSON text, or
//! flattened `metadata.<key>` columns; `_user` is the user). The virtual key is hashed like
//! any key that is not already a hash. `request` and `response` (the bodies) are never read.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

use anyhow::Result;
use serde_json::Value;

use super::Owners;
use super::litellm::push_map;
use super::record::{Record, value_text};
use super::row::{RequestRow, hash_api_key};
use crate::enrich::usage::TokenSemantics;

/// Column names of the Portkey export used here.
pub mod names {
    pub const ID: &str = "id";
    pub const TRACE_ID: &str = "trace_id";
    pub const CREATED_AT: &str = "created_at";
    pub const PROVIDER: &str = "ai_org";
    pub const MODEL: &str = "ai_model";
    pub const PROMPT_UNITS: &str = "req_units";
    pub const COMPLETION_UNITS: &str = "res_units";
    pub const COST_CENTS: &str = "cost";
    pub const COST_CURRENCY: &str = "cost_currency";
    pub const IS_SUCCESS: &str = "is_success";
    pub const STATUS_CODE: &str = "response_status_code";
    pub const RESPONSE_TIME: &str = "response_time";
    pub const CACHE_STATUS: &str = "cache_status";
    pub const RETRIES: &str = "retry_success_count";
    pub const VIRTUAL_KEY: &str = "virtual_key";
    pub const METADATA: &str = "metadata";
    /// The conventional metadata key for the user.
    pub const USER_KEY: &str = "_user";
}

/// True when the columns are those of a Portkey export.
pub fn matches(columns: &[&str]) -> bool {
    let has = |name: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(name));
    has(names::MODEL) && (has(names::PROMPT_UNITS) || has(names::COST_CENTS))
}

/// One exported log as a request row.
pub fn row(record: &Record, owners: &Owners<'_>) -> Result<RequestRow> {
    let start = record
        .instant(names::CREATED_AT)?
        .ok_or_else(|| record.error(names::CREATED_AT, "the request's time", ""))?;
    let mut row = RequestRow::new(record.file.clone(), start);
    row.request_id = record.text(names::ID);
    row.trace_id = record.text(names::TRACE_ID).or_else(|| row.request_id.clone());
    row.provider = record.text(names::PROVIDER);
    row.model = record.text(names::MODEL);
    row.semantics = TokenSemantics::OpenAi;
    row.raw.prompt = record.int(names::PROMPT_UNITS)?.unwrap_or(0);
    row.raw.completion = record.int(names::COMPLETION_UNITS)?.unwrap_or(0);
    if let Some(currency) = record.text(names::COST_CURRENCY)
        && !currency.eq_ignore_ascii_case("usd")
    {
        return Err(record.error(names::COST_CURRENCY, "`USD`", &currency));
    }
    row.logged_cost = record.money(names::COST_CENTS)?.map(|cents| cents.div_int(100));
    row.status = match record.int(names::IS_SUCCESS)? {
        Some(0) => Some("failure".into()),
        Some(_) => Some("success".into()),
        None => record.text(names::STATUS_CODE),
    };
    row.latency_ms = record.int(names::RESPONSE_TIME)?;
    row.cache_hit =
        record.text(names::CACHE_STATUS).map(|s| s.to_ascii_uppercase().ends_with("HIT"));
    row.attempt = record.int(names::RETRIES)?.map(|retries| retries + 1);
    row.api_key = record.text(names::VIRTUAL_KEY).and_then(|key| hash_api_key(&key));

    let mut tags = Vec::new();
    if let Some(Value::Object(map)) = record.json(names::METADATA)? {
        row.user = map.get(names::USER_KEY).and_then(value_text);
        push_map(&mut tags, &map);
    }
    for (column, value) in &record.fields {
        if let Some(key) = column.strip_prefix("metadata.")
            && let Some(text) = value_text(value)
        {
            if key == names::USER_KEY {
                row.user.get_or_insert(text.clone());
            }
            tags.push((crate::enrich::taxonomy::canonical_key(key), text, false));
        }
    }
    row.owners = owners.resolve(&tags, row.api_key.as_deref());
    Ok(row)
}
