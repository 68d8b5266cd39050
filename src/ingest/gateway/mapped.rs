//! Any other CSV or JSONL log, through `[gateway] mapping` in aispend.toml.
//!
//! The mapping names, for canonical `requests` columns, the source column that holds them:
//! `mapping = { start_time = "ts", model = "model_name", input_tokens = "in", ... }`. It may
//! also map an owner key (`dept = "department"`) or `tags` (a JSON object or a JSON array of
//! `key:value`). Source columns that are not mapped but are named like an owner key or one of
//! its aliases are owner tags too. `cost_unit` says what the cost column counts (`usd`,
//! `cents` or `nano_usd`); `token_semantics` how it counts tokens (`openai`, the default, or
//! `anthropic`).

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde_json::Value;

use super::Owners;
use super::litellm::{push_list, push_map};
use super::record::{Record, value_text};
use super::row::{RequestRow, hash_api_key};
use crate::config::GatewayConfig;
use crate::enrich::taxonomy::{TagPlan, canonical_key};
use crate::enrich::usage::TokenSemantics;
use crate::error::hinted;
use crate::model::requests;
use crate::money::Money;

/// The mapping name for a column of tags.
pub const TAGS: &str = "tags";

/// A validated mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    columns: BTreeMap<String, String>,
    /// Dividing the cost column by this gives dollars.
    cost_divisor: i128,
    semantics: TokenSemantics,
}

impl Mapping {
    /// The mapping of the configuration, or `None` when there is none.
    pub fn new(config: &GatewayConfig, plan: &TagPlan) -> Result<Option<Mapping>> {
        if config.mapping.is_empty() {
            return Ok(None);
        }
        let owners = plan.names();
        for name in config.mapping.keys() {
            let known = requests::FIXED.contains(&name.as_str())
                && name != requests::PRICED_COST
                && name != requests::SOURCE_FILE;
            if !known && name != TAGS && !owners.contains(name) {
                return Err(hinted(
                    format!("`gateway.mapping` names the unknown column `{name}`"),
                    format!(
                        "map canonical `requests` columns, `{TAGS}` or an owner key ({})",
                        owners.join(", ")
                    ),
                ));
            }
        }
        if !config.mapping.contains_key(requests::START_TIME) {
            bail!("`gateway.mapping` must map `{}`", requests::START_TIME);
        }
        let cost_divisor = match config.cost_unit.as_deref().map(str::to_ascii_lowercase).as_deref()
        {
            None | Some("usd") => 1,
            Some("cents") => 100,
            Some("nano_usd") => 1_000_000_000,
            Some(other) => {
                bail!("`gateway.cost_unit` is `{other}`: use `usd`, `cents` or `nano_usd`")
            }
        };
        let semantics = match &config.token_semantics {
            None => TokenSemantics::OpenAi,
            Some(text) => TokenSemantics::parse(text)
                .map_err(|error| anyhow::anyhow!("`gateway.token_semantics`: {error}"))?,
        };
        Ok(Some(Mapping { columns: config.mapping.clone(), cost_divisor, semantics }))
    }

    /// True when a file has the mapped start-time column.
    pub fn matches(&self, columns: &[&str]) -> bool {
        self.columns
            .get(requests::START_TIME)
            .is_some_and(|source| columns.iter().any(|c| c.eq_ignore_ascii_case(source)))
    }

    fn source(&self, canonical: &str) -> Option<&str> {
        self.columns.get(canonical).map(String::as_str)
    }

    fn text(&self, record: &Record, canonical: &str) -> Option<String> {
        self.source(canonical).and_then(|source| record.text(source))
    }

    fn int(&self, record: &Record, canonical: &str) -> Result<Option<i64>> {
        self.source(canonical).map_or(Ok(None), |source| record.int(source))
    }

    /// One record as a request row.
    pub fn row(&self, record: &Record, owners: &Owners<'_>) -> Result<RequestRow> {
        let start_column = self.source(requests::START_TIME).unwrap_or(requests::START_TIME);
        let start = record
            .instant(start_column)?
            .ok_or_else(|| record.error(start_column, "the request's start time", ""))?;
        let mut row = RequestRow::new(record.file.clone(), start);
        row.request_id = self.text(record, requests::REQUEST_ID);
        row.trace_id = self.text(record, requests::TRACE_ID).or_else(|| row.request_id.clone());
        row.api_key = self.text(record, requests::API_KEY).and_then(|key| hash_api_key(&key));
        row.user = self.text(record, requests::USER);
        row.end_user = self.text(record, requests::END_USER);
        row.model = self.text(record, requests::MODEL);
        row.model_alias = self.text(record, requests::MODEL_ALIAS);
        row.provider = self.text(record, requests::PROVIDER);
        row.call_type = self.text(record, requests::CALL_TYPE);
        row.status = self.text(record, requests::STATUS);
        row.attempt = self.int(record, requests::ATTEMPT)?;
        row.prompt_hash = self.text(record, requests::PROMPT_HASH);
        row.max_tokens = self.int(record, requests::MAX_TOKENS)?;
        row.latency_ms = self.int(record, requests::LATENCY_MS)?;
        row.cache_hit = match self.text(record, requests::CACHE_HIT) {
            None => None,
            Some(text) => Some(parse_flag(&text).ok_or_else(|| {
                record.error(self.source(requests::CACHE_HIT).unwrap_or(""), "true or false", &text)
            })?),
        };
        row.semantics = self.semantics;
        row.raw.prompt = self.int(record, requests::INPUT_TOKENS)?.unwrap_or(0);
        row.raw.completion = self.int(record, requests::OUTPUT_TOKENS)?.unwrap_or(0);
        row.raw.cache_read = self.int(record, requests::CACHE_READ_TOKENS)?.unwrap_or(0);
        row.raw.cache_write = self.int(record, requests::CACHE_WRITE_TOKENS)?.unwrap_or(0);
        row.raw.reasoning = self.int(record, requests::REASONING_TOKENS)?.unwrap_or(0);
        row.logged_cost = match self.source(requests::LOGGED_COST) {
            None => None,
            Some(source) => {
                record.money(source)?.map(|cost: Money| cost.div_int(self.cost_divisor))
            }
        };
        let tags = self.tags(record, owners.plan())?;
        row.owners = owners.resolve(&tags, row.api_key.as_deref());
        Ok(row)
    }

    /// Owner tags: mapped owner columns, the mapped tags column, then owner-named columns.
    fn tags(&self, record: &Record, plan: &TagPlan) -> Result<Vec<(String, String, bool)>> {
        let mut tags = Vec::new();
        for name in plan.names() {
            if let Some(value) = self.text(record, &name) {
                tags.push((name, value, false));
            }
        }
        if let Some(source) = self.source(TAGS) {
            match record.json(source)? {
                Some(Value::Object(map)) => push_map(&mut tags, &map),
                Some(list) => push_list(&mut tags, &list).map_err(|found| {
                    record.error(source, "a JSON object or an array of `key:value`", &found)
                })?,
                None => {}
            }
        }
        let mapped: Vec<&String> = self.columns.values().collect();
        let wanted: Vec<&String> = plan.columns.iter().flat_map(|(_, keys)| keys).collect();
        for (column, value) in &record.fields {
            let key = canonical_key(column);
            if !mapped.contains(&column)
                && wanted.contains(&&key)
                && let Some(text) = value_text(value)
            {
                tags.push((key, text, false));
            }
        }
        Ok(tags)
    }
}

/// `true`/`false`, `1`/`0`, `yes`/`no`, `hit`/`miss`.
fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "hit" => Some(true),
        "false" | "0" | "no" | "miss" => Some(false),
        _ => None,
    }
}
