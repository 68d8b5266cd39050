//! Bedrock lines of the bill: `model` and `token_type` from usage type and resource ARN.
//!
//! A Bedrock usage type names a *billing name* (`Claude3Sonnet`, `NovaPro`, newer ones the
//! API id itself, `openai.gpt-oss-120b`) and one of four token types (FORMATS.md §6.1):
//! `-input-tokens` and `-mantle-input-tokens-*` are `input`, the output forms `output`,
//! `-cache-read-input-token-count` `cache_read`, `-cache-write-input-token-count`
//! `cache_write`. Tier and cross-region suffixes (`-batch`, `-cross-region-global`) are not
//! part of the model. Marketplace forms (`USE1-MP:USE1_InputTokenCount-Units`, `_Global`,
//! `USE1_input_tokens_standard-Units`) carry no model: it comes from the resource ARN when
//! that is a foundation-model or inference-profile ARN. An application inference profile
//! ARN names no model.
//!
//! [`billing_name`] maps a gateway model id to the billing name, so that allocation can join
//! `requests.model` to `costs.model`: first the `[models]` table of aispend.toml (a key is a
//! model id or a prefix of one; the longest wins), then built-in defaults for the common
//! models, then, for a Bedrock-style id (`provider.model`), the id itself. The built-in
//! billing names follow the pattern of the usage types in FORMATS.md §6.1 and are not checked
//! against a real bill for every model: `[models]` overrides any of them.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use polars::prelude::*;
use regex::Regex;

use crate::config::Config;
use crate::enrich::prices::{strip_geo_prefix, strip_provider_prefixes};
use crate::model::{costs, requests};

/// The token types of Bedrock lines, in the `token_type` column.
pub mod token_types {
    pub const INPUT: &str = "input";
    pub const OUTPUT: &str = "output";
    pub const CACHE_READ: &str = "cache_read";
    pub const CACHE_WRITE: &str = "cache_write";
}

/// Which `requests` token column feeds each `token_type` of the bill. The canonical
/// request counts are disjoint (see `enrich::usage`), as the four Bedrock types are.
pub fn token_type_columns() -> [(&'static str, &'static str); 4] {
    [
        (token_types::INPUT, requests::INPUT_TOKENS),
        (token_types::OUTPUT, requests::OUTPUT_TOKENS),
        (token_types::CACHE_READ, requests::CACHE_READ_TOKENS),
        (token_types::CACHE_WRITE, requests::CACHE_WRITE_TOKENS),
    ]
}

/// What a Bedrock usage type says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageTypeParts {
    /// The region prefix (`USE1`).
    pub region: String,
    /// The billing name, when the usage type carries one.
    pub model: Option<String>,
    pub token_type: &'static str,
    /// Tier and cross-region suffix, without the leading dash (`batch`, `cross-region-global`).
    pub suffix: String,
}

static STANDARD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<region>[A-Z]{2,4}\d?)-(?P<model>.+?)-(?P<kind>mantle-input-tokens|mantle-output-tokens|input-tokens|output-tokens|cache-read-input-token-count|cache-write-input-token-count)(?P<suffix>(?:-[A-Za-z0-9._-]+)?)$",
    )
    .expect("the usage type pattern is valid")
});

static MARKETPLACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<region>[A-Z]{2,4}\d?)-MP:(?P<inner>[A-Z]{2,4}\d?)_(?P<kind>InputTokenCount|OutputTokenCount|CacheReadInputTokenCount|CacheWriteInputTokenCount)(?P<suffix>_Global)?-Units$",
    )
    .expect("the marketplace pattern is valid")
});

static MARKETPLACE_SNAKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<region>[A-Z]{2,4}\d?)_(?P<kind>input|output|cache_read_input|cache_write_input)_tokens(?P<suffix>_[a-z_]+)?-Units$",
    )
    .expect("the marketplace pattern is valid")
});

/// Parses a Bedrock token usage type; `None` for any other usage type.
pub fn parse_usage_type(usage_type: &str) -> Option<UsageTypeParts> {
    let usage_type = usage_type.trim();
    if let Some(found) = MARKETPLACE.captures(usage_type) {
        if found["region"] != found["inner"] {
            return None;
        }
        return Some(UsageTypeParts {
            region: found["region"].to_string(),
            model: None,
            token_type: kind_of(&found["kind"]),
            suffix: found.name("suffix").map_or("", |s| &s.as_str()[1..]).to_ascii_lowercase(),
        });
    }
    if let Some(found) = MARKETPLACE_SNAKE.captures(usage_type) {
        return Some(UsageTypeParts {
            region: found["region"].to_string(),
            model: None,
            token_type: kind_of(&found["kind"]),
            suffix: found.name("suffix").map_or("", |s| &s.as_str()[1..]).to_string(),
        });
    }
    let found = STANDARD.captures(usage_type)?;
    if found["model"].starts_with("MP:") {
        return None;
    }
    Some(UsageTypeParts {
        region: found["region"].to_string(),
        model: Some(found["model"].to_string()),
        token_type: kind_of(&found["kind"]),
        suffix: found["suffix"].trim_start_matches('-').to_string(),
    })
}

/// The token type of a usage-type kind in any of its spellings.
fn kind_of(kind: &str) -> &'static str {
    let lower = kind.to_ascii_lowercase();
    if lower.contains("cacheread") || lower.contains("cache-read") || lower.contains("cache_read") {
        token_types::CACHE_READ
    } else if lower.contains("cachewrite")
        || lower.contains("cache-write")
        || lower.contains("cache_write")
    {
        token_types::CACHE_WRITE
    } else if lower.contains("output") {
        token_types::OUTPUT
    } else {
        token_types::INPUT
    }
}

/// The model id a resource ARN names: foundation models and inference profiles do,
/// application inference profiles and provisioned models do not.
pub fn model_of_arn(arn: &str) -> Option<&str> {
    let arn = arn.trim();
    if !arn.starts_with("arn:") {
        return None;
    }
    for marker in [":foundation-model/", ":inference-profile/"] {
        if let Some(position) = arn.find(marker) {
            let id = &arn[position + marker.len()..];
            return Some(id).filter(|id| !id.is_empty());
        }
    }
    None
}

/// Built-in billing names: (model id prefix, billing name).
const DEFAULT_BILLING_NAMES: [(&str, &str); 40] = [
    ("anthropic.claude-3-haiku", "Claude3Haiku"),
    ("anthropic.claude-3-sonnet", "Claude3Sonnet"),
    ("anthropic.claude-3-opus", "Claude3Opus"),
    ("anthropic.claude-3-5-haiku", "Claude3.5Haiku"),
    ("anthropic.claude-3-5-sonnet", "Claude3.5Sonnet"),
    ("anthropic.claude-3-7-sonnet", "Claude3.7Sonnet"),
    ("anthropic.claude-sonnet-4", "Claude4Sonnet"),
    ("anthropic.claude-sonnet-4-5", "Claude4.5Sonnet"),
    ("anthropic.claude-sonnet-4-6", "Claude4.6Sonnet"),
    ("anthropic.claude-opus-4", "Claude4Opus"),
    ("anthropic.claude-opus-4-1", "Claude4.1Opus"),
    ("anthropic.claude-opus-4-5", "Claude4.5Opus"),
    ("anthropic.claude-haiku-4-5", "Claude4.5Haiku"),
    ("amazon.nova-pro", "NovaPro"),
    ("amazon.nova-lite", "NovaLite"),
    ("amazon.nova-micro", "NovaMicro"),
    ("amazon.nova-premier", "NovaPremier"),
    ("meta.llama3-8b", "Llama3-8B"),
    ("meta.llama3-70b", "Llama3-70B"),
    ("meta.llama3-1-8b", "Llama3.1-8B"),
    ("meta.llama3-1-70b", "Llama3.1-70B"),
    ("meta.llama3-1-405b", "Llama3.1-405B"),
    ("meta.llama3-2-1b", "Llama3.2-1B"),
    ("meta.llama3-2-3b", "Llama3.2-3B"),
    ("meta.llama3-2-11b", "Llama3.2-11B"),
    ("meta.llama3-2-90b", "Llama3.2-90B"),
    ("meta.llama3-3-70b", "Llama3.3-70B"),
    ("meta.llama4-maverick-17b", "Llama4-Maverick-17B"),
    ("meta.llama4-scout-17b", "Llama4-Scout-17B"),
    ("mistral.mistral-7b", "Mistral7B"),
    ("mistral.mixtral-8x7b", "Mixtral8x7B"),
    ("mistral.mistral-small", "MistralSmall"),
    ("mistral.mistral-large-2402", "MistralLarge"),
    ("mistral.mistral-large-2407", "MistralLarge2"),
    ("amazon.titan-embed-text-v1", "TitanEmbeddingsG1-Text"),
    ("amazon.titan-embed-text-v2", "TitanEmbeddingsV2-Text"),
    ("amazon.titan-embed-image-v1", "TitanMultimodalEmbeddingsG1"),
    ("amazon.titan-text-express", "TitanTextExpress"),
    ("amazon.titan-text-lite", "TitanTextLite"),
    ("amazon.titan-text-premier", "TitanTextPremier"),
];

/// The Bedrock billing name of a gateway model id, or `None` when it is not a Bedrock model
/// aispend knows (add it under `[models]`).
pub fn billing_name(gateway_model: &str, config: &Config) -> Option<String> {
    billing_name_in(gateway_model, &config.models)
}

/// [`billing_name`] with the `[models]` table passed in.
fn billing_name_in(gateway_model: &str, models: &BTreeMap<String, String>) -> Option<String> {
    let raw = gateway_model.trim();
    let raw = model_of_arn(raw).unwrap_or(raw);
    let id = strip_geo_prefix(strip_provider_prefixes(raw));
    let longest = |table: &mut dyn Iterator<Item = (&str, &str)>| {
        table
            .filter(|(prefix, _)| {
                [raw, id]
                    .iter()
                    .any(|name| name.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase()))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, name)| name.to_string())
    };
    longest(&mut models.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .or_else(|| longest(&mut DEFAULT_BILLING_NAMES.iter().copied()))
        .or_else(|| {
            let (provider, _) = id.split_once('.')?;
            let known = ["openai", "zai", "qwen", "deepseek", "moonshotai", "minimax", "google"];
            known.contains(&provider).then(|| id.split(':').next().unwrap_or(id).to_string())
        })
}

/// Fills `model` and `token_type` on Bedrock lines of a `costs` frame; values already set
/// are kept.
pub fn annotate(frame: LazyFrame, config: &Config) -> LazyFrame {
    let models = Arc::new(config.models.clone());
    let inputs = [col(costs::RESOURCE_ID), col(costs::MODEL), col(costs::TOKEN_TYPE)];
    let model = col(costs::USAGE_TYPE).map_many(
        move |columns| annotate_columns(columns, &models, true),
        &inputs,
        |_, fields| Ok(Field::new(fields[0].name().clone(), DataType::String)),
    );
    let token_type = col(costs::USAGE_TYPE).map_many(
        move |columns| annotate_columns(columns, &BTreeMap::new(), false),
        &inputs,
        |_, fields| Ok(Field::new(fields[0].name().clone(), DataType::String)),
    );
    frame.with_columns([model.alias(costs::MODEL), token_type.alias(costs::TOKEN_TYPE)])
}

/// The model (or token type) of every line: usage type, resource, current model and type.
fn annotate_columns(
    columns: &mut [Column],
    models: &BTreeMap<String, String>,
    want_model: bool,
) -> PolarsResult<Column> {
    let text: Vec<Column> =
        columns.iter().map(|c| c.cast(&DataType::String)).collect::<PolarsResult<_>>()?;
    let usage_types = text[0].str()?;
    let resources = text[1].str()?;
    let current = text[if want_model { 2 } else { 3 }].str()?;
    let values: StringChunked = usage_types
        .iter()
        .zip(resources.iter())
        .zip(current.iter())
        .map(|((usage_type, resource), current)| {
            if let Some(current) = current {
                return Some(current.to_string());
            }
            let parts = parse_usage_type(usage_type?)?;
            if !want_model {
                return Some(parts.token_type.to_string());
            }
            parts.model.or_else(|| billing_name_in(model_of_arn(resource?)?, models))
        })
        .collect();
    Ok(values.with_name(text[0].name().clone()).into_column())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parts(usage_type: &str) -> (Option<String>, &'static str, String) {
        let p = parse_usage_type(usage_type).unwrap();
        (p.model, p.token_type, p.suffix)
    }

    #[test]
    fn standard_usage_types_name_model_and_token_type() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            parts("USE1-Claude3Sonnet-input-tokens"),
            (some("Claude3Sonnet"), "input", String::new())
        );
        assert_eq!(parts("USE1-Claude3Sonnet-output-tokens").1, "output");
        assert_eq!(
            parts("USE1-NovaPro-cache-read-input-token-count"),
            (some("NovaPro"), "cache_read", String::new())
        );
        assert_eq!(
            parts("USW2-Claude4Sonnet-cache-write-input-token-count-cross-region-global"),
            (some("Claude4Sonnet"), "cache_write", "cross-region-global".into())
        );
        assert_eq!(
            parts("USE1-Llama4-Maverick-17B-input-tokens-batch"),
            (some("Llama4-Maverick-17B"), "input", "batch".into())
        );
        assert_eq!(
            parts("USE1-openai.gpt-oss-120b-mantle-input-tokens-standard"),
            (some("openai.gpt-oss-120b"), "input", "standard".into())
        );
        assert_eq!(parts("USE1-zai.glm-4.7-output-tokens-batch").0, some("zai.glm-4.7"));
        assert_eq!(parts("USE1-Nova2.0Lite-input-tokens-flex").0, some("Nova2.0Lite"));
        assert_eq!(parse_usage_type("USE1-TimedStorage-ByteHrs"), None);
        assert_eq!(parse_usage_type("USE1-ProvisionedThroughput-ModelUnits"), None);
    }

    #[test]
    fn marketplace_usage_types_name_token_type_only() {
        assert_eq!(parts("USE1-MP:USE1_InputTokenCount-Units"), (None, "input", String::new()));
        assert_eq!(
            parts("USE1-MP:USE1_OutputTokenCount_Global-Units"),
            (None, "output", "global".into())
        );
        assert_eq!(parts("USE1-MP:USE1_CacheReadInputTokenCount-Units").1, "cache_read");
        assert_eq!(
            parts("USE1_input_tokens_global_standard-Units"),
            (None, "input", "global_standard".into())
        );
        assert_eq!(parts("USE1_cache_write_input_tokens_standard-Units").1, "cache_write");
    }

    #[test]
    fn arns_name_models_but_application_profiles_do_not() {
        let foundation =
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0";
        assert_eq!(model_of_arn(foundation), Some("anthropic.claude-3-sonnet-20240229-v1:0"));
        let profile =
            "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-pro-v1:0";
        assert_eq!(model_of_arn(profile), Some("us.amazon.nova-pro-v1:0"));
        let app = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3";
        assert_eq!(model_of_arn(app), None);
    }

    #[test]
    fn gateway_ids_map_to_billing_names() {
        let config = Config::parse("[models]\n\"my-finetune\" = \"CustomModel\"\n").unwrap();
        let name = |id: &str| billing_name(id, &config);
        assert_eq!(
            name("bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0").as_deref(),
            Some("Claude3.5Sonnet")
        );
        assert_eq!(
            name("us.anthropic.claude-3-5-sonnet-20241022-v2:0").as_deref(),
            Some("Claude3.5Sonnet")
        );
        assert_eq!(
            name("anthropic.claude-3-sonnet-20240229-v1:0").as_deref(),
            Some("Claude3Sonnet")
        );
        assert_eq!(
            name("anthropic.claude-sonnet-4-5-20250929-v1:0").as_deref(),
            Some("Claude4.5Sonnet")
        );
        assert_eq!(
            name("anthropic.claude-sonnet-4-20250514-v1:0").as_deref(),
            Some("Claude4Sonnet")
        );
        assert_eq!(name("amazon.nova-lite-v1:0").as_deref(), Some("NovaLite"));
        assert_eq!(name("meta.llama3-1-70b-instruct-v1:0").as_deref(), Some("Llama3.1-70B"));
        assert_eq!(name("amazon.titan-embed-text-v2:0").as_deref(), Some("TitanEmbeddingsV2-Text"));
        assert_eq!(name("openai.gpt-oss-120b-1:0").as_deref(), Some("openai.gpt-oss-120b-1"));
        assert_eq!(name("my-finetune-v3").as_deref(), Some("CustomModel"));
        assert_eq!(name("gpt-4o"), None);
    }

    #[test]
    fn annotate_fills_bedrock_lines_only() {
        let frame = df!(
            costs::USAGE_TYPE => [Some("USE1-Claude3Haiku-input-tokens"), Some("USE1-MP:USE1_OutputTokenCount-Units"), Some("USE1-BoxUsage:t3.micro"), None],
            costs::RESOURCE_ID => [None, Some("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"), None, None],
            costs::MODEL => [None::<&str>, None, None, None],
            costs::TOKEN_TYPE => [None::<&str>, None, None, None],
        )
        .unwrap();
        let out = annotate(frame.lazy(), &Config::default()).collect().unwrap();
        let models: Vec<Option<&str>> =
            out.column(costs::MODEL).unwrap().str().unwrap().iter().collect();
        assert_eq!(models, [Some("Claude3Haiku"), Some("Claude3Haiku"), None, None]);
        let types: Vec<Option<&str>> =
            out.column(costs::TOKEN_TYPE).unwrap().str().unwrap().iter().collect();
        assert_eq!(types, [Some("input"), Some("output"), None, None]);
    }
}
