//! One gateway request as the readers produce it, and the `requests` frame built from rows.
//!
//! Readers fill the raw token counts and the semantics of their source; `mod.rs` turns them
//! into canonical counts and prices them before [`frame`] builds the columns of
//! `model::requests` (in `requests::FIXED` order) and one column per owner key.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

use std::hash::Hash;
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};
use polars::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::enrich::usage::{RawUsage, TokenSemantics, Usage};
use crate::ingest::builder::money_column;
use crate::model::{self, requests};
use crate::money::Money;

/// One request of a gateway log.
#[derive(Debug, Clone)]
pub struct RequestRow {
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub start_time: DateTime<Utc>,
    /// Already hashed (see [`hash_api_key`]).
    pub api_key: Option<String>,
    pub user: Option<String>,
    pub end_user: Option<String>,
    /// The model as logged (deployment or provider model); canonical once priced.
    pub model: Option<String>,
    /// The name the client asked for (LiteLLM `model_group`).
    pub model_alias: Option<String>,
    pub provider: Option<String>,
    pub call_type: Option<String>,
    pub status: Option<String>,
    /// The attempt number the log gives, if any; computed per trace otherwise.
    pub attempt: Option<i64>,
    pub cache_hit: Option<bool>,
    pub prompt_hash: Option<String>,
    pub raw: RawUsage,
    /// How the source counts tokens; a price override may say otherwise.
    pub semantics: TokenSemantics,
    /// Canonical counts, filled when the row is priced.
    pub usage: Usage,
    pub max_tokens: Option<i64>,
    pub logged_cost: Option<Money>,
    pub priced_cost: Option<Money>,
    pub latency_ms: Option<i64>,
    pub owners: Vec<Option<String>>,
    /// False for rows that only carry a provider's cost figure (OpenAI cost buckets).
    pub priceable: bool,
    pub source_file: Arc<str>,
}

impl RequestRow {
    /// An empty row of a file at an instant.
    pub fn new(source_file: Arc<str>, start_time: DateTime<Utc>) -> RequestRow {
        RequestRow {
            request_id: None,
            trace_id: None,
            start_time,
            api_key: None,
            user: None,
            end_user: None,
            model: None,
            model_alias: None,
            provider: None,
            call_type: None,
            status: None,
            attempt: None,
            cache_hit: None,
            prompt_hash: None,
            raw: RawUsage::default(),
            semantics: TokenSemantics::OpenAi,
            usage: Usage::default(),
            max_tokens: None,
            logged_cost: None,
            priced_cost: None,
            latency_ms: None,
            owners: Vec::new(),
            priceable: true,
            source_file,
        }
    }

    /// Everything the log said about the request except the file it came from: two rows
    /// with the same identity are one request logged twice.
    pub fn identity(&self) -> impl Hash + Eq + '_ {
        (
            (
                &self.request_id,
                &self.trace_id,
                self.start_time,
                &self.api_key,
                &self.user,
                &self.end_user,
                &self.model,
                &self.model_alias,
                &self.provider,
                &self.call_type,
                &self.status,
            ),
            (
                self.attempt,
                self.cache_hit,
                &self.prompt_hash,
                self.raw,
                self.semantics,
                self.max_tokens,
                self.logged_cost,
                self.latency_ms,
                &self.owners,
                self.priceable,
            ),
        )
    }
}

/// True when the text already is a gateway's hash of a key (64 hex digits, as LiteLLM
/// stores its virtual keys).
pub fn looks_hashed(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A key fit for output: a gateway hash as it is, anything else as its SHA-256 (hex).
pub fn hash_api_key(key: &str) -> Option<String> {
    let key = key.trim();
    if key.is_empty() {
        None
    } else if looks_hashed(key) {
        Some(key.to_string())
    } else {
        Some(hex::encode(Sha256::digest(key.as_bytes())))
    }
}

/// The canonical `requests` frame of rows, with one column per owner name.
pub fn frame(rows: &[RequestRow], owner_names: &[String]) -> Result<DataFrame> {
    let text = |name: &str, get: &dyn Fn(&RequestRow) -> Option<&str>| {
        Column::new(name.into(), rows.iter().map(get).collect::<Vec<_>>())
    };
    let int = |name: &str, get: &dyn Fn(&RequestRow) -> Option<i64>| {
        Column::new(name.into(), rows.iter().map(get).collect::<Vec<_>>())
    };
    let instants: Vec<i64> = rows.iter().map(|r| r.start_time.timestamp_millis()).collect();
    let mut columns = vec![
        text(requests::REQUEST_ID, &|r| r.request_id.as_deref()),
        text(requests::TRACE_ID, &|r| r.trace_id.as_deref()),
        Column::new(requests::START_TIME.into(), instants).cast(&model::instant_dtype())?,
        text(requests::API_KEY, &|r| r.api_key.as_deref()),
        text(requests::USER, &|r| r.user.as_deref()),
        text(requests::END_USER, &|r| r.end_user.as_deref()),
        text(requests::MODEL, &|r| r.model.as_deref()),
        text(requests::MODEL_ALIAS, &|r| r.model_alias.as_deref()),
        text(requests::PROVIDER, &|r| r.provider.as_deref()),
        text(requests::CALL_TYPE, &|r| r.call_type.as_deref()),
        text(requests::STATUS, &|r| r.status.as_deref()),
        int(requests::ATTEMPT, &|r| r.attempt),
        Column::new(
            requests::CACHE_HIT.into(),
            rows.iter().map(|r| r.cache_hit).collect::<Vec<_>>(),
        ),
        text(requests::PROMPT_HASH, &|r| r.prompt_hash.as_deref()),
        int(requests::INPUT_TOKENS, &|r| Some(r.usage.input)),
        int(requests::OUTPUT_TOKENS, &|r| Some(r.usage.output)),
        int(requests::CACHE_READ_TOKENS, &|r| Some(r.usage.cache_read)),
        int(requests::CACHE_WRITE_TOKENS, &|r| Some(r.usage.cache_write)),
        int(requests::REASONING_TOKENS, &|r| Some(r.usage.reasoning)),
        int(requests::MAX_TOKENS, &|r| r.max_tokens),
        money_column(requests::LOGGED_COST, rows.iter().map(|r| r.logged_cost)),
        money_column(requests::PRICED_COST, rows.iter().map(|r| r.priced_cost)),
        int(requests::LATENCY_MS, &|r| r.latency_ms),
        text(requests::SOURCE_FILE, &|r| Some(&*r.source_file)),
    ];
    for (index, name) in owner_names.iter().enumerate() {
        columns.push(text(name, &|r| r.owners.get(index).and_then(|o| o.as_deref())));
    }
    let mut frame = DataFrame::new_infer_height(columns)?;
    for name in requests::INTEGERS {
        frame.try_apply(name, |series| series.cast(&DataType::Int64))?;
    }
    frame.try_apply(requests::CACHE_HIT, |series| series.cast(&DataType::Boolean))?;
    Ok(frame)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn clear_keys_are_hashed_and_gateway_hashes_kept() {
        let hashed = "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b";
        assert_eq!(hash_api_key(hashed).as_deref(), Some(hashed));
        let clear = hash_api_key("sk-1234").unwrap();
        assert_eq!(clear.len(), 64);
        assert_ne!(clear, "sk-1234");
        // sha256("sk-1234"), as LiteLLM's `hash_token` computes it.
        assert_eq!(clear, hashed);
        assert_eq!(hash_api_key("  "), None);
    }

    #[test]
    fn empty_frame_has_the_canonical_schema() {
        let frame = frame(&[], &["dept".into()]).unwrap();
        let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
        let mut want: Vec<&str> = requests::FIXED.to_vec();
        want.push("dept");
        assert_eq!(names, want);
        assert_eq!(frame.column(requests::PRICED_COST).unwrap().dtype(), &model::money_dtype());
        assert_eq!(frame.column(requests::START_TIME).unwrap().dtype(), &model::instant_dtype());
        assert_eq!(frame.column(requests::ATTEMPT).unwrap().dtype(), &DataType::Int64);
    }
}
