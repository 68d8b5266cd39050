//! The price book: per-token prices by model, effective-dated, with explicit units.
//!
//! Prices come from LiteLLM's price file (`[prices] litellm`, USD per token as doubles, read
//! through [`Money::from_f64`]; the `sample_spec` pseudo-entry is skipped) and from
//! `[[prices.override]]` entries written with their unit (`2.0 per 1M`, `0.002 per 1K`,
//! `0.000002 per token`), normalised once to a price per token. An override is valid in its
//! half-open window `[valid_from, valid_to)` (open ends when a bound is missing) and there it
//! wins over the file; the prices it leaves out come from the file entry of the same model.
//! When several overrides are valid at once, the one that started last wins.
//!
//! A logged model name resolves to a price entry through `[prices.aliases]` (an alias or a
//! deployment name to the model it routes to), then with provider and region prefixes
//! stripped (`bedrock/us-east-1/`, `openai/`), then under `<provider>/<model>`, then without a
//! cross-region inference prefix (`us.`, `eu.`, `apac.`, `global.`). Nothing else: no date or
//! version guessing, so a model is never priced at a neighbour's price. A model that resolves
//! to nothing is unpriced and its cost is unknown.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::config::{Config, PriceOverride};
use crate::enrich::usage::{Rates, TokenSemantics};
use crate::error::hinted;
use crate::ingest::builder::money_column;
use crate::model::{self, prices};
use crate::money::Money;

/// Parses a price with its unit into a price per token.
pub fn parse_price(text: &str) -> Result<Money> {
    let lower = text.trim().to_ascii_lowercase();
    let Some((amount, unit)) = lower.split_once(" per ") else {
        bail!(
            "the price `{text}` has no unit: write `2.0 per 1M`, `0.002 per 1K` or \
             `0.000002 per token`"
        );
    };
    let amount = Money::parse(amount.trim().trim_start_matches('$'))?;
    let divisor = match unit.trim() {
        "token" | "1 token" => 1,
        "1k" | "1k tokens" | "1000" | "1000 tokens" | "thousand" => 1_000,
        "1m" | "1m tokens" | "1000000" | "1000000 tokens" | "million" => 1_000_000,
        other => {
            bail!("the price `{text}` has the unknown unit `{other}`: use `token`, `1K` or `1M`")
        }
    };
    Ok(amount.div_int(divisor))
}

/// Provider segments LiteLLM puts in front of a model id.
const PROVIDER_PREFIXES: [&str; 16] = [
    "bedrock",
    "bedrock_converse",
    "bedrock_mantle",
    "converse",
    "invoke",
    "openai",
    "azure",
    "azure_ai",
    "anthropic",
    "vertex_ai",
    "gemini",
    "mistral",
    "groq",
    "together_ai",
    "fireworks_ai",
    "text-completion-openai",
];

/// Cross-region inference profile prefixes of Bedrock model ids.
const GEO_PREFIXES: [&str; 8] = ["us.", "eu.", "apac.", "global.", "au.", "jp.", "ca.", "us-gov."];

/// The model id without LiteLLM provider, region and commitment segments:
/// `bedrock/us-east-1/anthropic.claude-v2:1` is `anthropic.claude-v2:1`.
pub fn strip_provider_prefixes(name: &str) -> &str {
    let mut rest = name.trim();
    while let Some((head, tail)) = rest.split_once('/') {
        let is_region = head.split('-').count() >= 3
            && head.chars().last().is_some_and(|c| c.is_ascii_digit())
            && head.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let is_commitment = head.ends_with("-commitment") || head == "*";
        if PROVIDER_PREFIXES.contains(&head) || is_region || is_commitment {
            rest = tail;
        } else {
            break;
        }
    }
    rest
}

/// The model id without a cross-region inference prefix (`us.anthropic...` is `anthropic...`).
pub fn strip_geo_prefix(name: &str) -> &str {
    GEO_PREFIXES.iter().find_map(|prefix| name.strip_prefix(prefix)).unwrap_or(name)
}

/// One override, parsed.
#[derive(Debug, Clone)]
struct Override {
    model: String,
    provider: Option<String>,
    valid_from: Option<DateTime<Utc>>,
    valid_to: Option<DateTime<Utc>>,
    rates: Rates,
    semantics: Option<TokenSemantics>,
}

impl Override {
    fn parse(raw: &PriceOverride) -> Result<Override> {
        let field =
            |value: &Option<String>, name: &str| -> Result<Option<Money>> {
                value.as_deref().map(parse_price).transpose().with_context(|| {
                    format!("`prices.override` for model `{}`: `{name}`", raw.model)
                })
            };
        let semantics = raw
            .token_semantics
            .as_deref()
            .map(TokenSemantics::parse)
            .transpose()
            .with_context(|| format!("`prices.override` for model `{}`", raw.model))?;
        Ok(Override {
            model: raw.model.trim().to_string(),
            provider: raw.provider.clone(),
            valid_from: raw.valid_from,
            valid_to: raw.valid_to,
            rates: Rates {
                input: field(&raw.input, "input")?,
                output: field(&raw.output, "output")?,
                cache_read: field(&raw.cache_read, "cache_read")?,
                cache_write: field(&raw.cache_write, "cache_write")?,
                reasoning: field(&raw.reasoning, "reasoning")?,
            },
            semantics,
        })
    }

    fn is_valid_at(&self, at: DateTime<Utc>) -> bool {
        self.valid_from.is_none_or(|from| from <= at) && self.valid_to.is_none_or(|to| at < to)
    }
}

/// One entry of LiteLLM's price file.
#[derive(Debug, Clone)]
struct FileEntry {
    provider: Option<String>,
    rates: Rates,
}

/// The price of one model at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    /// The price book entry the logged name resolved to.
    pub model: String,
    pub rates: Rates,
    /// Set by an override's `token_semantics`.
    pub semantics: Option<TokenSemantics>,
}

/// Every price, loaded once per run.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    file: HashMap<String, FileEntry>,
    overrides: Vec<Override>,
    aliases: BTreeMap<String, String>,
}

impl PriceBook {
    /// LiteLLM's price file (when `[prices] litellm` names one) plus the overrides.
    pub fn load(config: &Config) -> Result<PriceBook> {
        let text = match &config.prices.litellm {
            None => None,
            Some(path) => Some(std::fs::read_to_string(path).map_err(|error| {
                hinted(
                    format!("cannot read the price file `{path}`: {error}"),
                    "check `[prices] litellm` in aispend.toml",
                )
            })?),
        };
        let name = config.prices.litellm.as_deref().unwrap_or("");
        PriceBook::from_parts(text.as_deref(), name, config)
    }

    /// The book from the text of a LiteLLM price file (`file` names it in messages).
    pub fn from_parts(litellm: Option<&str>, file: &str, config: &Config) -> Result<PriceBook> {
        let file_entries = match litellm {
            None => HashMap::new(),
            Some(text) => parse_litellm(text).map_err(|error| {
                hinted(
                    format!("cannot read the price file `{file}`: {error}"),
                    "`[prices] litellm` takes LiteLLM's `model_prices_and_context_window.json`",
                )
            })?,
        };
        let overrides =
            config.prices.overrides.iter().map(Override::parse).collect::<Result<Vec<_>>>()?;
        let aliases = config
            .prices
            .aliases
            .iter()
            .map(|(alias, model)| (alias.trim().to_string(), model.trim().to_string()))
            .collect();
        Ok(PriceBook { file: file_entries, overrides, aliases })
    }

    /// The names a logged model may be priced under, most specific first.
    pub fn candidates(&self, name: &str, provider: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |candidate: &str| {
            if !candidate.is_empty() && !out.iter().any(|c| c == candidate) {
                out.push(candidate.to_string());
            }
        };
        let resolved = self.follow_aliases(name.trim());
        push(&resolved);
        let stripped = self.follow_aliases(strip_provider_prefixes(&resolved));
        push(&stripped);
        if let Some(provider) = provider.map(str::trim).filter(|p| !p.is_empty()) {
            push(&format!("{provider}/{stripped}"));
        }
        push(strip_geo_prefix(&stripped));
        out
    }

    /// The model a logged name routes to, without provider prefixes: the `model` column.
    pub fn canonical_model(&self, name: &str) -> String {
        let resolved = self.follow_aliases(name.trim());
        self.follow_aliases(strip_provider_prefixes(&resolved))
    }

    /// Applies `[prices.aliases]` until the name is no alias (at most 8 hops, against loops).
    fn follow_aliases(&self, name: &str) -> String {
        let mut current = name.to_string();
        for _ in 0..8 {
            match self.aliases.get(&current) {
                Some(target) if *target != current => current.clone_from(target),
                _ => break,
            }
        }
        current
    }

    /// The price of a logged model at an instant, or `None` when it has none.
    pub fn price(&self, name: &str, provider: Option<&str>, at: DateTime<Utc>) -> Option<Price> {
        for candidate in self.candidates(name, provider) {
            let file = self.file.get(&candidate).map(|entry| entry.rates);
            let over = self
                .overrides
                .iter()
                .enumerate()
                .filter(|(_, o)| o.model == candidate && o.is_valid_at(at))
                .max_by_key(|(index, o)| (o.valid_from, *index))
                .map(|(_, o)| o);
            let rates = match (over, file) {
                (None, None) => continue,
                (Some(over), base) => over.rates.over(base.unwrap_or_default()),
                (None, Some(base)) => base,
            };
            if rates.is_priced() {
                return Some(Price {
                    model: candidate,
                    rates,
                    semantics: over.and_then(|o| o.semantics),
                });
            }
        }
        None
    }

    /// Number of models in the book (file entries and overridden models).
    pub fn len(&self) -> usize {
        self.file.len()
            + self.overrides.iter().filter(|o| !self.file.contains_key(&o.model)).count()
    }

    /// True when the book holds no price.
    pub fn is_empty(&self) -> bool {
        self.file.is_empty() && self.overrides.is_empty()
    }

    /// The canonical `prices` frame: file entries, then overrides with their windows.
    pub fn frame(&self) -> Result<DataFrame> {
        // (model, provider, valid_from ms, valid_to ms, rates, source)
        type PriceRow<'a> = (String, Option<String>, Option<i64>, Option<i64>, Rates, &'a str);
        let mut rows: Vec<PriceRow<'_>> = Vec::new();
        let mut keys: Vec<&String> = self.file.keys().collect();
        keys.sort();
        for key in keys {
            let entry = &self.file[key];
            rows.push((key.clone(), entry.provider.clone(), None, None, entry.rates, "litellm"));
        }
        for over in &self.overrides {
            rows.push((
                over.model.clone(),
                over.provider.clone(),
                over.valid_from.map(|t| t.timestamp_millis()),
                over.valid_to.map(|t| t.timestamp_millis()),
                over.rates,
                "override",
            ));
        }
        let money = |name: &str, get: fn(&Rates) -> Option<Money>| {
            money_column(name, rows.iter().map(|row| get(&row.4)))
        };
        let columns = vec![
            Column::new(
                prices::MODEL.into(),
                rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                prices::PROVIDER.into(),
                rows.iter().map(|r| r.1.as_deref()).collect::<Vec<_>>(),
            ),
            Column::new(prices::VALID_FROM.into(), rows.iter().map(|r| r.2).collect::<Vec<_>>())
                .cast(&model::instant_dtype())?,
            Column::new(prices::VALID_TO.into(), rows.iter().map(|r| r.3).collect::<Vec<_>>())
                .cast(&model::instant_dtype())?,
            money(prices::INPUT, |r| r.input),
            money(prices::OUTPUT, |r| r.output),
            money(prices::CACHE_READ, |r| r.cache_read),
            money(prices::CACHE_WRITE, |r| r.cache_write),
            money(prices::REASONING, |r| r.reasoning),
            Column::new(prices::SOURCE.into(), rows.iter().map(|r| r.5).collect::<Vec<_>>()),
        ];
        Ok(DataFrame::new_infer_height(columns)?)
    }
}

/// Entries of LiteLLM's price file that carry an input or output price.
fn parse_litellm(text: &str) -> Result<HashMap<String, FileEntry>> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let serde_json::Value::Object(map) = value else {
        bail!("expected a JSON object keyed by model name");
    };
    let mut entries = HashMap::with_capacity(map.len());
    for (key, entry) in map {
        if key == "sample_spec" {
            continue;
        }
        let serde_json::Value::Object(fields) = entry else { continue };
        let rate = |name: &str| -> Result<Option<Money>> {
            match fields.get(name).and_then(serde_json::Value::as_f64) {
                None => Ok(None),
                Some(value) => Money::from_f64(value)
                    .map(Some)
                    .with_context(|| format!("model `{key}`, field `{name}`")),
            }
        };
        let rates = Rates {
            input: rate("input_cost_per_token")?,
            output: rate("output_cost_per_token")?,
            cache_read: rate("cache_read_input_token_cost")?,
            cache_write: rate("cache_creation_input_token_cost")?,
            reasoning: rate("output_cost_per_reasoning_token")?,
        };
        if rates.is_priced() {
            let provider = fields
                .get("litellm_provider")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string);
            entries.insert(key, FileEntry { provider, rates });
        }
    }
    Ok(entries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::enrich::usage::Usage;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn book(toml: &str, litellm: Option<&str>) -> PriceBook {
        PriceBook::from_parts(litellm, "prices.json", &Config::parse(toml).unwrap()).unwrap()
    }

    #[test]
    fn three_units_same_price() {
        let million = 1_000_000;
        for text in ["2.0 per 1M", "0.002 per 1K", "0.000002 per token"] {
            assert_eq!(parse_price(text).unwrap().times(million), Money::from_units(2), "{text}");
        }
        let error = parse_price("2.0").unwrap_err().to_string();
        assert!(error.contains("`2.0` has no unit"), "{error}");
    }

    #[test]
    fn price_change_at_midnight_is_half_open() {
        // $3/M until 2025-03-01T00:00:00Z, $1/M from then: 1M tokens a second before ($3)
        // and 1M tokens at the instant of the change ($1) cost $4.
        let book = book(
            "[[prices.override]]\nmodel = \"m\"\ninput = \"3 per 1M\"\n\
             valid_to = 2025-03-01T00:00:00Z\n\
             [[prices.override]]\nmodel = \"m\"\ninput = \"1 per 1M\"\n\
             valid_from = 2025-03-01T00:00:00Z\n",
            None,
        );
        let usage = Usage { input: 1_000_000, ..Usage::default() };
        let cost = |instant: &str| book.price("m", None, at(instant)).unwrap().rates.cost(&usage);
        let total = cost("2025-02-28T23:59:59Z").unwrap() + cost("2025-03-01T00:00:00Z").unwrap();
        assert_eq!(total, Money::from_units(4));
    }

    #[test]
    fn override_wins_over_the_file_in_its_window_only() {
        let file = r#"{"sample_spec": {"input_cost_per_token": "x"},
                       "gpt-x": {"input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06}}"#;
        let book = book(
            "[[prices.override]]\nmodel = \"gpt-x\"\ninput = \"1 per 1M\"\n\
             valid_from = 2025-01-01T00:00:00Z\nvalid_to = 2025-02-01T00:00:00Z\n",
            Some(file),
        );
        let inside = book.price("gpt-x", None, at("2025-01-15T00:00:00Z")).unwrap().rates;
        assert_eq!(inside.input, Some(Money::parse("0.000001").unwrap()));
        assert_eq!(inside.output, Some(Money::parse("0.000008").unwrap()), "output from the file");
        let after = book.price("gpt-x", None, at("2025-02-01T00:00:00Z")).unwrap().rates;
        assert_eq!(after.input, Some(Money::parse("0.000002").unwrap()));
    }

    #[test]
    fn aliases_and_prefixes_resolve_but_neighbours_do_not() {
        let file = r#"{"anthropic.claude-3-5-sonnet-20240620-v1:0":
                         {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05},
                       "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05}}"#;
        let book = book("[prices.aliases]\n\"chat-default\" = \"openai/gpt-4o\"\n", Some(file));
        let now = at("2025-01-01T00:00:00Z");
        assert_eq!(book.price("chat-default", None, now).unwrap().model, "gpt-4o");
        assert_eq!(book.price("openai/gpt-4o", None, now).unwrap().model, "gpt-4o");
        let bedrock = "bedrock/us.anthropic.claude-3-5-sonnet-20240620-v1:0";
        assert_eq!(
            book.price(bedrock, Some("bedrock"), now).unwrap().model,
            "anthropic.claude-3-5-sonnet-20240620-v1:0"
        );
        assert_eq!(book.price("gpt-4o-2024-08-06", None, now), None);
        assert_eq!(book.price("anthropic.claude-3-5-sonnet-20241022-v2:0", None, now), None);
        assert_eq!(book.canonical_model("chat-default"), "gpt-4o");
    }

    #[test]
    fn sample_price_file_loads() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/samples/litellm/model_prices_and_context_window.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else { return };
        let book = book("", Some(&text));
        let price = book.price("gpt-4o", None, at("2025-01-01T00:00:00Z")).unwrap();
        assert_eq!(price.rates.cache_read, Some(Money::parse("0.00000125").unwrap()));
        assert!(book.price("sample_spec", None, at("2025-01-01T00:00:00Z")).is_none());
        assert!(book.frame().unwrap().height() > 1000);
    }

    #[test]
    fn strips_provider_region_and_commitment_segments() {
        assert_eq!(
            strip_provider_prefixes("bedrock/us-east-1/anthropic.claude-v2:1"),
            "anthropic.claude-v2:1"
        );
        assert_eq!(
            strip_provider_prefixes("bedrock/*/1-month-commitment/cohere.command"),
            "cohere.command"
        );
        assert_eq!(strip_provider_prefixes("openai/gpt-4o"), "gpt-4o");
        assert_eq!(strip_provider_prefixes("meta-llama/Llama-3-70b"), "meta-llama/Llama-3-70b");
        assert_eq!(strip_geo_prefix("us.amazon.nova-pro-v1:0"), "amazon.nova-pro-v1:0");
    }
}
