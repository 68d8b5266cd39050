//! LiteLLM `SpendLogs` exported as CSV or JSONL (FORMATS.md §7.1) into request rows.
//!
//! Token counts are in OpenAI form (`prompt_tokens` include cached tokens); cache and
//! reasoning detail comes from `metadata.usage_object` (or `additional_usage_values`).
//! Owners come from `request_tags` (`["dept:sales", ...]`), `metadata.tags`,
//! `metadata.spend_logs_metadata` and, for `team` when no tag names it, the key's team
//! alias (`metadata.user_api_key_team_alias`, also offered as the tag `team_alias`). The
//! trace is `metadata.litellm_trace_id`, else the `session_id`, else the request id; the
//! attempt is one more than the logged retries and fallbacks.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

use serde_json::Value;

use super::Owners;
use super::record::{Record, path, value_int, value_text};
use super::row::{RequestRow, hash_api_key};
use crate::enrich::usage::TokenSemantics;
use anyhow::Result;

/// Column names of the LiteLLM export used here.
pub mod names {
    pub const REQUEST_ID: &str = "request_id";
    pub const CALL_TYPE: &str = "call_type";
    pub const API_KEY: &str = "api_key";
    pub const SPEND: &str = "spend";
    pub const PROMPT_TOKENS: &str = "prompt_tokens";
    pub const COMPLETION_TOKENS: &str = "completion_tokens";
    pub const START_TIME: &str = "startTime";
    pub const END_TIME: &str = "endTime";
    pub const DURATION_MS: &str = "request_duration_ms";
    pub const MODEL: &str = "model";
    pub const MODEL_GROUP: &str = "model_group";
    pub const PROVIDER: &str = "custom_llm_provider";
    pub const USER: &str = "user";
    pub const END_USER: &str = "end_user";
    pub const REQUEST_TAGS: &str = "request_tags";
    pub const METADATA: &str = "metadata";
    pub const CACHE_HIT: &str = "cache_hit";
    pub const CACHE_KEY: &str = "cache_key";
    pub const SESSION_ID: &str = "session_id";
    pub const STATUS: &str = "status";
}

/// True when the columns are those of a LiteLLM spend log.
pub fn matches(columns: &[&str]) -> bool {
    let has = |name: &str| columns.iter().any(|c| c.eq_ignore_ascii_case(name));
    has(names::REQUEST_ID) && has(names::START_TIME) && (has(names::SPEND) || has(names::CALL_TYPE))
}

/// One spend-log record as a request row.
pub fn row(record: &Record, owners: &Owners<'_>) -> Result<RequestRow> {
    let start = record
        .instant(names::START_TIME)?
        .ok_or_else(|| record.error(names::START_TIME, "the request's start time", ""))?;
    let mut row = RequestRow::new(record.file.clone(), start);
    let metadata = record.json(names::METADATA)?.unwrap_or(Value::Null);
    let meta_text = |key: &str| metadata.get(key).and_then(value_text);
    let meta_int = |key: &str| -> Result<Option<i64>> {
        metadata.get(key).map_or(Ok(None), |value| {
            value_int(value)
                .map_err(|found| record.error(&format!("metadata.{key}"), "a whole number", &found))
        })
    };

    row.request_id = record.text(names::REQUEST_ID);
    row.trace_id = meta_text("litellm_trace_id")
        .or_else(|| record.text(names::SESSION_ID))
        .or_else(|| meta_text("session_id"))
        .or_else(|| row.request_id.clone());
    row.call_type = record.text(names::CALL_TYPE);
    row.api_key = record
        .text(names::API_KEY)
        .or_else(|| meta_text("user_api_key"))
        .and_then(|key| hash_api_key(&key));
    row.user = record.text(names::USER).or_else(|| meta_text("user_api_key_user_id"));
    row.end_user = record.text(names::END_USER);
    row.model = record.text(names::MODEL);
    row.model_alias = record.text(names::MODEL_GROUP);
    row.provider = record.text(names::PROVIDER);
    row.status = record.text(names::STATUS).or_else(|| meta_text("status"));
    row.cache_hit = cache_hit(record)?;
    row.prompt_hash = record.text(names::CACHE_KEY);
    row.logged_cost = record.money(names::SPEND)?;
    row.latency_ms = match record.int(names::DURATION_MS)? {
        Some(ms) => Some(ms),
        None => record.instant(names::END_TIME)?.map(|end| (end - start).num_milliseconds()),
    };
    let retries = meta_int("attempted_retries")?;
    let fallbacks = meta_int("attempted_fallbacks")?;
    if retries.is_some() || fallbacks.is_some() {
        row.attempt = Some(1 + retries.unwrap_or(0) + fallbacks.unwrap_or(0));
    }

    row.semantics = TokenSemantics::OpenAi;
    let usage = metadata.get("usage_object").filter(|u| u.is_object());
    let extra = metadata.get("additional_usage_values").filter(|u| u.is_object());
    let detail = |paths: &[&[&str]]| -> Result<i64> {
        for source in [usage, extra].into_iter().flatten() {
            for keys in paths {
                if let Some(value) = path(source, keys) {
                    let found = value_int(value).map_err(|found| {
                        record.error(
                            &format!("metadata.{}", keys.join(".")),
                            "a whole number",
                            &found,
                        )
                    })?;
                    if let Some(count) = found {
                        return Ok(count);
                    }
                }
            }
        }
        Ok(0)
    };
    row.raw.prompt = match record.int(names::PROMPT_TOKENS)? {
        Some(count) => count,
        None => detail(&[&["prompt_tokens"]])?,
    };
    row.raw.completion = match record.int(names::COMPLETION_TOKENS)? {
        Some(count) => count,
        None => detail(&[&["completion_tokens"]])?,
    };
    row.raw.cache_read =
        detail(&[&["prompt_tokens_details", "cached_tokens"], &["cache_read_input_tokens"]])?;
    row.raw.cache_write = detail(&[
        &["cache_creation_input_tokens"],
        &["prompt_tokens_details", "cache_creation_tokens"],
    ])?;
    row.raw.reasoning = detail(&[&["completion_tokens_details", "reasoning_tokens"]])?;

    let tags = tags(record, &metadata)?;
    row.owners = owners.resolve(&tags, row.api_key.as_deref());
    Ok(row)
}

/// LiteLLM writes `cache_hit` as the strings `True` and `False`.
fn cache_hit(record: &Record) -> Result<Option<bool>> {
    let Some(value) = record.get(names::CACHE_HIT) else { return Ok(None) };
    match value {
        Value::Bool(flag) => Ok(Some(*flag)),
        Value::Null => Ok(None),
        other => match value_text(other).map(|t| t.to_ascii_lowercase()).as_deref() {
            None => Ok(None),
            Some("true" | "1" | "yes") => Ok(Some(true)),
            Some("false" | "0" | "no") => Ok(Some(false)),
            Some(found) => Err(record.error(names::CACHE_HIT, "`True` or `False`", found)),
        },
    }
}

/// (canonical key, value, false) of every tag of the record, in precedence order.
fn tags(record: &Record, metadata: &Value) -> Result<Vec<(String, String, bool)>> {
    let mut tags = Vec::new();
    if let Some(list) = record.json(names::REQUEST_TAGS)? {
        push_list(&mut tags, &list).map_err(|found| {
            record.error(names::REQUEST_TAGS, "a JSON array of `key:value`", &found)
        })?;
    }
    if let Some(list) = metadata.get("tags") {
        push_list(&mut tags, list).map_err(|found| {
            record.error("metadata.tags", "a JSON array of `key:value`", &found)
        })?;
    }
    if let Some(Value::Object(map)) = metadata.get("spend_logs_metadata") {
        push_map(&mut tags, map);
    }
    if let Some(alias) = metadata.get("user_api_key_team_alias").and_then(value_text) {
        if !tags.iter().any(|(key, _, _)| key == "team") {
            tags.push(("team".into(), alias.clone(), false));
        }
        tags.push(("team_alias".into(), alias, false));
    }
    if let Some(alias) = metadata.get("user_api_key_alias").and_then(value_text) {
        tags.push(("key_alias".into(), alias, false));
    }
    Ok(tags)
}

/// Tags from a list of `key:value` strings (entries without a colon carry no owner).
pub fn push_list(tags: &mut Vec<(String, String, bool)>, list: &Value) -> Result<(), String> {
    let Value::Array(items) = list else {
        return if list.is_null() { Ok(()) } else { Err(list.to_string()) };
    };
    for item in items {
        if let Some((key, value)) = item.as_str().and_then(|text| text.split_once(':')) {
            tags.push((crate::enrich::taxonomy::canonical_key(key), value.to_string(), false));
        }
    }
    Ok(())
}

/// Tags from a JSON object (`{"dept": "sales"}`).
pub fn push_map(tags: &mut Vec<(String, String, bool)>, map: &serde_json::Map<String, Value>) {
    for (key, value) in map {
        if let Some(text) = value_text(value) {
            tags.push((crate::enrich::taxonomy::canonical_key(key), text, false));
        }
    }
}
