//! Gateway requests as plain rows, budget scopes, and the pricing interface the what-ifs use.
//!
//! Budgets and what-ifs replay requests one by one in time order (a cumulative limit, a
//! per-minute counter, a cache with a TTL), which reads better over rows than over frame
//! expressions. [`request_rows`] turns a `requests` frame into [`RequestRow`]s once; missing
//! optional columns become `None`, never a made-up value. A request's cost is its priced
//! cost, falling back to its logged cost; a request with neither has no cost (`None`) and
//! every report counts it apart, never as $0.
//!
//! [`RequestPricer`] is the one thing the what-ifs need from the price book: the price of a
//! request's tokens for a model at an instant. The price book implements it (tokens are the
//! canonical, disjoint counts of the `requests` frame); [`OverridePrices`], for tests, from the
//! `[[prices.override]]` table of the configuration, with the price book's rule that cache
//! reads and writes without a price of their own cost the input price.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::config::{BudgetConfig, Config};
use crate::enrich::taxonomy::{canonical_key, canonical_value};
use crate::ingest::builder::money_values;
use crate::model::requests;
use crate::money::Money;

/// Scope key that names a gateway API key (clear or hashed).
pub const SCOPE_API_KEY: &str = requests::API_KEY;
/// Scope key that names a gateway user.
pub const SCOPE_USER: &str = requests::USER;

/// One gateway request, the fields budgets and what-ifs use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestRow {
    pub at: DateTime<Utc>,
    pub api_key: Option<String>,
    pub user: Option<String>,
    pub model: String,
    pub prompt_hash: Option<String>,
    pub cache_hit: bool,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    /// Priced cost, else logged cost, else `None` (unpriced).
    pub cost: Option<Money>,
    /// Owner key (canonical) to value.
    pub owners: BTreeMap<String, String>,
}

impl RequestRow {
    /// The UTC day of the request.
    pub fn day(&self) -> NaiveDate {
        self.at.date_naive()
    }

    /// The value of a scope key on this request.
    fn scope_value(&self, key: &str) -> Option<&str> {
        match key {
            SCOPE_API_KEY => self.api_key.as_deref(),
            SCOPE_USER => self.user.as_deref(),
            other => self.owners.get(other).map(String::as_str),
        }
    }
}

/// The price of a request's tokens for a model at an instant; `None` when unpriced.
pub trait RequestPricer {
    /// Prices the tokens; `None` when the model (or one of its token types that the
    /// request uses) has no price at `at`.
    fn price(
        &self,
        model: &str,
        at: DateTime<Utc>,
        input: i64,
        output: i64,
        cache_read: i64,
        cache_write: i64,
    ) -> Option<Money>;
}

impl RequestPricer for crate::enrich::prices::PriceBook {
    fn price(
        &self,
        model: &str,
        at: DateTime<Utc>,
        input: i64,
        output: i64,
        cache_read: i64,
        cache_write: i64,
    ) -> Option<Money> {
        let price = crate::enrich::prices::PriceBook::price(self, model, None, at)?;
        let usage =
            crate::enrich::usage::Usage { input, output, cache_read, cache_write, reasoning: 0 };
        price.rates.cost(&usage)
    }
}

/// Per-token rates of one model over `[valid_from, valid_to)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rates {
    pub model: String,
    pub input: Option<Money>,
    pub output: Option<Money>,
    pub cache_read: Option<Money>,
    pub cache_write: Option<Money>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
}

/// A pricer over explicit rates: the configuration's `[[prices.override]]` table.
#[derive(Debug, Clone, Default)]
pub struct OverridePrices {
    pub rates: Vec<Rates>,
    /// Alias to the model it routes to.
    pub aliases: BTreeMap<String, String>,
}

impl OverridePrices {
    /// The rates of `[[prices.override]]` (already validated by the configuration).
    pub fn from_config(config: &Config) -> Result<OverridePrices> {
        let parse = |text: &Option<String>| -> Result<Option<Money>> {
            text.as_deref().map(crate::enrich::prices::parse_price).transpose()
        };
        let mut rates = Vec::new();
        for entry in &config.prices.overrides {
            rates.push(Rates {
                model: entry.model.clone(),
                input: parse(&entry.input)?,
                output: parse(&entry.output)?,
                cache_read: parse(&entry.cache_read)?,
                cache_write: parse(&entry.cache_write)?,
                valid_from: entry.valid_from,
                valid_to: entry.valid_to,
            });
        }
        Ok(OverridePrices { rates, aliases: config.prices.aliases.clone() })
    }
}

impl RequestPricer for OverridePrices {
    fn price(
        &self,
        model: &str,
        at: DateTime<Utc>,
        input: i64,
        output: i64,
        cache_read: i64,
        cache_write: i64,
    ) -> Option<Money> {
        let model = self.aliases.get(model).map_or(model, String::as_str);
        let rates = self.rates.iter().find(|r| {
            r.model == model
                && r.valid_from.is_none_or(|from| from <= at)
                && r.valid_to.is_none_or(|to| at < to)
        })?;
        let part = |rate: Option<Money>, tokens: i64| -> Option<Money> {
            if tokens == 0 { Some(Money::ZERO) } else { rate.map(|r| r.times(i128::from(tokens))) }
        };
        // As in the price book: cache reads and writes fall back to the input price.
        Some(
            part(rates.input, input)?
                + part(rates.output, output)?
                + part(rates.cache_read.or(rates.input), cache_read)?
                + part(rates.cache_write.or(rates.input), cache_write)?,
        )
    }
}

/// A budget scope resolved against the taxonomy: canonical key to canonical value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub pairs: Vec<(String, String)>,
}

impl Scope {
    /// Resolves and checks a budget's scope: each key is a taxonomy key, `api_key` or `user`.
    pub fn of_budget(budget: &BudgetConfig, config: &Config) -> Result<Scope> {
        let taxonomy: Vec<String> = config.taxonomy.keys.iter().map(|k| canonical_key(k)).collect();
        let normalize = config.taxonomy.normalize_values;
        let mut pairs = Vec::new();
        for (key, value) in &budget.scope {
            let key = canonical_key(key);
            let value = if key == SCOPE_API_KEY || key == SCOPE_USER {
                value.trim().to_string()
            } else if taxonomy.contains(&key) {
                canonical_value(value, normalize).unwrap_or_default()
            } else {
                bail!(crate::error::Hinted {
                    message: format!(
                        "budget `{}`: the scope key `{key}` is not a taxonomy key, `api_key` \
                         or `user`",
                        budget.name
                    ),
                    hint: "add the key to `[taxonomy] keys` or change the budget's `scope`".into(),
                });
            };
            pairs.push((key, value));
        }
        Ok(Scope { pairs })
    }

    /// A scope from `key=value` pairs (the `--scope` flag), without checks.
    pub fn from_pairs(pairs: &[(String, String)]) -> Scope {
        Scope { pairs: pairs.to_vec() }
    }

    /// True when the scope names an API key or a user (only the gateway knows those).
    pub fn needs_gateway(&self) -> bool {
        self.pairs.iter().any(|(k, _)| k == SCOPE_API_KEY || k == SCOPE_USER)
    }

    /// The taxonomy pairs only.
    pub fn taxonomy_pairs(&self) -> impl Iterator<Item = &(String, String)> {
        self.pairs.iter().filter(|(k, _)| k != SCOPE_API_KEY && k != SCOPE_USER)
    }

    /// `dept=sales,team=search`, for tables. An API key shows as its hash, never in clear.
    pub fn label(&self) -> String {
        let shown = |key: &str, value: &str| {
            if key == SCOPE_API_KEY { hashed_api_key(value) } else { value.to_string() }
        };
        self.pairs.iter().map(|(k, v)| format!("{k}={}", shown(k, v))).collect::<Vec<_>>().join(",")
    }

    /// True when a request belongs to the scope. An API key matches in clear or as the
    /// SHA-256 the gateway logs; owner values compare without case.
    pub fn matches(&self, row: &RequestRow) -> bool {
        self.pairs.iter().all(|(key, wanted)| {
            let Some(value) = row.scope_value(key) else { return false };
            if key == SCOPE_API_KEY {
                value == wanted || value.eq_ignore_ascii_case(&sha256_hex(wanted))
            } else if key == SCOPE_USER {
                value == wanted
            } else {
                value.trim().eq_ignore_ascii_case(wanted)
            }
        })
    }

    /// True when owner values (a row of the allocation or metrics frame) belong to the scope.
    pub fn matches_owners(&self, owners: &BTreeMap<String, String>) -> bool {
        self.taxonomy_pairs().all(|(key, wanted)| {
            owners.get(key).is_some_and(|value| value.trim().eq_ignore_ascii_case(wanted))
        })
    }
}

/// An API key as gateways log it: a 64-digit hex hash stays as it is, a clear key becomes its
/// SHA-256.
pub fn hashed_api_key(key: &str) -> String {
    let key = key.trim();
    if key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit()) {
        key.to_ascii_lowercase()
    } else {
        sha256_hex(key)
    }
}

/// Hex SHA-256 of a clear API key, as gateways log it.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The rows of a `requests` frame, in time order. `owner_keys` are the owner columns to keep
/// (absent ones are skipped).
pub fn request_rows(frame: &DataFrame, owner_keys: &[String]) -> Result<Vec<RequestRow>> {
    let height = frame.height();
    let instants = frame
        .column(requests::START_TIME)?
        .cast(&crate::model::instant_dtype())?
        .cast(&DataType::Int64)?;
    let instants = instants.i64()?;
    let text = |name: &str| -> Result<Option<StringChunked>> {
        match frame.column(name) {
            Ok(column) => Ok(Some(column.cast(&DataType::String)?.str()?.clone())),
            Err(_) => Ok(None),
        }
    };
    let tokens = |name: &str| -> Result<Option<Int64Chunked>> {
        match frame.column(name) {
            Ok(column) => Ok(Some(column.cast(&DataType::Int64)?.i64()?.clone())),
            Err(_) => Ok(None),
        }
    };
    let money = |name: &str| -> Result<Vec<Option<Money>>> {
        match frame.column(name) {
            Ok(column) => money_values(column),
            Err(_) => Ok(vec![None; height]),
        }
    };
    let models = text(requests::MODEL)?;
    let keys = text(requests::API_KEY)?;
    let users = text(requests::USER)?;
    let hashes = text(requests::PROMPT_HASH)?;
    let hits = match frame.column(requests::CACHE_HIT) {
        Ok(column) => Some(cache_hits(column)?),
        Err(_) => None,
    };
    let counts = [
        tokens(requests::INPUT_TOKENS)?,
        tokens(requests::OUTPUT_TOKENS)?,
        tokens(requests::CACHE_READ_TOKENS)?,
        tokens(requests::CACHE_WRITE_TOKENS)?,
    ];
    let priced = money(requests::PRICED_COST)?;
    let logged = money(requests::LOGGED_COST)?;
    let mut owner_columns = Vec::new();
    for key in owner_keys {
        if let Some(values) = text(key)? {
            owner_columns.push((key.clone(), values));
        }
    }

    let get = |column: &Option<StringChunked>, row: usize| {
        column.as_ref().and_then(|c| c.get(row)).map(str::to_string)
    };
    let count = |index: usize, row: usize| counts[index].as_ref().and_then(|c| c.get(row));
    let mut rows = Vec::with_capacity(height);
    for row in 0..height {
        let Some(millis) = instants.get(row) else {
            bail!("request {row} of the gateway logs has no `{}`", requests::START_TIME);
        };
        let at = DateTime::from_timestamp_millis(millis).unwrap_or_default();
        let owners = owner_columns
            .iter()
            .filter_map(|(key, values)| values.get(row).map(|v| (key.clone(), v.to_string())))
            .collect();
        rows.push(RequestRow {
            at,
            api_key: get(&keys, row),
            user: get(&users, row),
            model: get(&models, row).unwrap_or_default(),
            prompt_hash: get(&hashes, row),
            cache_hit: hits.as_ref().and_then(|h| h.get(row)).unwrap_or(false),
            input_tokens: count(0, row).unwrap_or(0),
            output_tokens: count(1, row).unwrap_or(0),
            cache_read_tokens: count(2, row).unwrap_or(0),
            cache_write_tokens: count(3, row).unwrap_or(0),
            cost: priced[row].or(logged[row]),
            owners,
        });
    }
    rows.sort_by_key(|r| r.at);
    Ok(rows)
}

/// The `cache_hit` column as booleans; gateways that log text (`"True"`) are read too.
fn cache_hits(column: &Column) -> Result<BooleanChunked> {
    if column.dtype() == &DataType::String {
        let text = column.str()?;
        return Ok(text.iter().map(|v| v.map(|v| v.trim().eq_ignore_ascii_case("true"))).collect());
    }
    Ok(column.cast(&DataType::Boolean)?.bool()?.clone())
}

/// Keeps the rows in `[start, end)`.
pub fn within(rows: &[RequestRow], start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<RequestRow> {
    rows.iter().filter(|r| start <= r.at && r.at < end).cloned().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn override_prices_add_token_types() {
        // 1,000 input at $3/M = 0.003; 500 output at $15/M = 0.0075; sum 0.0105.
        let config = Config::parse(
            "[[prices.override]]\nmodel = \"big\"\ninput = \"3 per 1M\"\noutput = \"15 per 1M\"\n",
        )
        .unwrap();
        let prices = OverridePrices::from_config(&config).unwrap();
        let now = at("2026-11-01T00:00:00Z");
        assert_eq!(
            prices.price("big", now, 1000, 500, 0, 0),
            Some(Money::parse("0.0105").unwrap())
        );
        // Cache reads without a cache-read price are priced as input: 10 × $3/M.
        assert_eq!(prices.price("big", now, 0, 0, 10, 0), Some(Money::parse("0.00003").unwrap()));
        // A model without a price is unpriced, never $0.
        assert_eq!(prices.price("other", now, 1, 1, 0, 0), None);
        let output_only =
            Config::parse("[[prices.override]]\nmodel = \"o\"\noutput = \"1 per 1M\"\n").unwrap();
        let output_only = OverridePrices::from_config(&output_only).unwrap();
        assert_eq!(output_only.price("o", now, 5, 0, 0, 0), None, "input tokens without a price");
    }

    #[test]
    fn hashed_api_key_matches_clear_scope() {
        let scope = Scope::from_pairs(&[("api_key".into(), "sk-123".into())]);
        let row = RequestRow { api_key: Some(sha256_hex("sk-123")), ..RequestRow::default() };
        assert!(scope.matches(&row));
        let other = RequestRow { api_key: Some("sk-999".into()), ..RequestRow::default() };
        assert!(!scope.matches(&other));
        assert_eq!(scope.label(), format!("api_key={}", sha256_hex("sk-123")));
        assert!(!scope.label().contains("sk-123"));
    }

    #[test]
    fn rows_fall_back_to_logged_cost() {
        let frame = df!(
            requests::START_TIME => [1_000i64, 0],
            requests::MODEL => ["m", "m"],
            requests::INPUT_TOKENS => [10i64, 20],
            "dept" => ["sales", "ops"],
            requests::CACHE_HIT => ["True", "False"],
        )
        .unwrap();
        let mut frame = frame;
        let priced = crate::ingest::builder::money_column(
            requests::PRICED_COST,
            [None, Some(Money::from_units(2))].into_iter(),
        );
        let logged = crate::ingest::builder::money_column(
            requests::LOGGED_COST,
            [Some(Money::from_units(1)), None].into_iter(),
        );
        frame.with_column(priced).unwrap();
        frame.with_column(logged).unwrap();
        let rows = request_rows(&frame, &["dept".into()]).unwrap();
        // Sorted by time: the row at 0 ms first, priced at $2; the other falls back to $1.
        assert_eq!(rows[0].cost, Some(Money::from_units(2)));
        assert_eq!(rows[0].owners["dept"], "ops");
        assert_eq!(rows[1].cost, Some(Money::from_units(1)));
        assert_eq!(rows[1].input_tokens, 10);
        assert!(rows[1].cache_hit && !rows[0].cache_hit);
    }
}
