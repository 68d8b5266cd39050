//! `aispend.toml`: loading and validation.
//!
//! The file is parsed strictly: an unknown key or a bad value is an error that names the key
//! and its line. Relative paths are resolved against the folder of the file, so a
//! configuration works from any working directory. Callers get a [`Config`] whose values
//! are already checked: prices carry units, budgets and rules have names of their own, budget
//! scopes name taxonomy keys (as `budgets status` resolves them), `api_key` or `user`, the
//! soft limit is at or below the hard one, rules match charge categories that exist and
//! `fixed` rules give some owner a weight, and each alias feeds one taxonomy key. Every
//! error says what was expected and what was found, sits inside a `line N` context found
//! from the spans of the TOML document, and carries a hint.
//!
//! This file holds the types and loading; `lines` finds the line of a value, `validate`
//! holds the checks of the taxonomy, prices and gateway, and `rules` and `budgets` the checks
//! of those sections.

mod budgets;
mod lines;
mod rules;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::enrich::taxonomy::canonical_key;
use crate::money::Money;

pub use lines::{Step, line_at};
use lines::{syntax_error, with_line};

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub taxonomy: Taxonomy,
    pub sources: Sources,
    pub prices: PriceBookConfig,
    /// Gateway model id (or a prefix of it) to the Bedrock billing name in usage types.
    pub models: BTreeMap<String, String>,
    #[serde(rename = "rules")]
    pub rules: Vec<SharedCostRule>,
    pub chargeback: ChargebackConfig,
    pub budgets: Vec<BudgetConfig>,
    pub critical: Critical,
    pub anomalies: AnomalyConfig,
    pub gateway: GatewayConfig,
    /// Where the configuration was read from, for messages.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// The tag taxonomy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Taxonomy {
    /// The owner keys, most significant first.
    pub keys: Vec<String>,
    /// Other tag keys that mean the same as a taxonomy key, in precedence order.
    pub aliases: BTreeMap<String, Vec<String>>,
    /// Lower-case and trim tag values (on by default).
    pub normalize_values: bool,
    /// Owners for lines that carry no tag of their own.
    pub fallbacks: Fallbacks,
}

impl Default for Taxonomy {
    fn default() -> Self {
        Taxonomy {
            keys: vec!["dept".into(), "team".into(), "app".into()],
            aliases: BTreeMap::new(),
            normalize_values: true,
            fallbacks: Fallbacks::default(),
        }
    }
}

/// Owners assigned by account, inference profile or API key when a line has no tag.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fallbacks {
    pub accounts: BTreeMap<String, BTreeMap<String, String>>,
    pub inference_profiles: BTreeMap<String, BTreeMap<String, String>>,
    pub api_keys: BTreeMap<String, BTreeMap<String, String>>,
}

/// Sources read when no source flag is given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sources {
    pub cur: Vec<String>,
    pub focus: Vec<String>,
    pub gateway: Vec<String>,
    pub metrics: Vec<String>,
    pub ce: Vec<String>,
}

/// The price book: `LiteLLM`'s price file plus overrides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriceBookConfig {
    /// Path to `LiteLLM`'s `model_prices_and_context_window.json`.
    pub litellm: Option<String>,
    /// Alias or deployment name to the model it routes to.
    pub aliases: BTreeMap<String, String>,
    #[serde(rename = "override")]
    pub overrides: Vec<PriceOverride>,
}

/// One effective-dated price; each price is text with its unit, `2.0 per 1M`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceOverride {
    pub model: String,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub input: Option<String>,
    #[serde(default)]
    pub output: Option<String>,
    #[serde(default)]
    pub cache_read: Option<String>,
    #[serde(default)]
    pub cache_write: Option<String>,
    #[serde(default)]
    pub reasoning: Option<String>,
    /// First instant of validity (a TOML date-time, a date for midnight UTC, or text).
    #[serde(default, deserialize_with = "optional_instant")]
    pub valid_from: Option<DateTime<Utc>>,
    /// First instant no longer valid (half-open window).
    #[serde(default, deserialize_with = "optional_instant")]
    pub valid_to: Option<DateTime<Utc>>,
    /// `openai` (prompt tokens include cached ones, reasoning inside output) or
    /// `anthropic` (input excludes cache reads and writes, reasoning beside output).
    #[serde(default)]
    pub token_semantics: Option<String>,
}

/// Reads an instant written as a TOML date-time, a TOML date (midnight UTC) or text; a
/// value without an offset is UTC.
fn optional_instant<'de, D>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Toml(toml::value::Datetime),
        Text(String),
    }
    let text = match Written::deserialize(deserializer)? {
        Written::Toml(datetime) => datetime.to_string(),
        Written::Text(text) => text,
    };
    crate::ingest::time::parse_instant(&text).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "expected a date-time such as `2025-03-01T00:00:00Z`, found `{text}`"
        ))
    })
}

/// A rule that shares a cost among owners.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedCostRule {
    pub name: String,
    #[serde(rename = "match")]
    pub matcher: RuleMatch,
    pub method: ShareMethod,
    /// For `fixed`: owner value to weight.
    #[serde(default)]
    pub weights: BTreeMap<String, u64>,
    /// Restrict the owners that share (default: every owner with direct cost).
    #[serde(default)]
    pub owners: Vec<String>,
}

/// What a shared-cost rule matches; every given field must match.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleMatch {
    pub service: Option<String>,
    pub account: Option<String>,
    pub usage_type: Option<String>,
    pub resource: Option<String>,
    pub charge_category: Option<String>,
}

/// How a shared cost is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareMethod {
    Proportional,
    Even,
    Fixed,
    Tokens,
    Requests,
}

/// Cost centers for the chargeback journal.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChargebackConfig {
    /// The cost center that pays the provider and is credited.
    pub credit_cost_center: Option<String>,
    /// Department to its cost center.
    pub cost_centers: BTreeMap<String, String>,
}

/// A budget and what happens at its limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    pub name: String,
    /// Taxonomy keys, `api_key` or `user` to the value they must have.
    pub scope: BTreeMap<String, String>,
    pub limit: Money,
    #[serde(default)]
    pub soft_limit: Option<Money>,
    #[serde(default)]
    pub hard_limit: Option<Money>,
    /// Percent of the limit.
    #[serde(default = "default_thresholds")]
    pub thresholds: Vec<u32>,
    /// `monthly` (default) or `daily`.
    #[serde(default = "default_period")]
    pub period: String,
    #[serde(default)]
    pub value: Option<ValueTarget>,
    #[serde(default)]
    pub action: Option<HardLimitAction>,
    /// E-mail addresses or SNS topic ARNs told at each threshold.
    #[serde(default)]
    pub subscribers: Vec<String>,
}

fn default_thresholds() -> Vec<u32> {
    vec![70, 100, 120]
}

fn default_period() -> String {
    "monthly".into()
}

/// The value a budget should buy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueTarget {
    pub metric: String,
    pub target: Money,
}

/// The action at the hard limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "lowercase")]
pub enum HardLimitAction {
    Throttle {
        rpm: u32,
    },
    Route {
        from: String,
        to: String,
    },
    Cache {
        #[serde(default)]
        ttl_seconds: Option<u64>,
    },
}

/// Apps that are never routed to a cheaper model.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Critical {
    pub apps: Vec<String>,
}

/// Anomaly detection settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    pub min_history_days: u32,
    pub window_days: u32,
    /// Robust z-score (in scaled median absolute deviations) above which a day is flagged.
    pub threshold: f64,
    /// Smallest impact worth a flag.
    pub min_impact: Money,
    /// Smallest rise over the median, as a fraction of it, worth a flag (guards flat and
    /// near-flat histories where the deviation is zero or tiny).
    pub min_relative: f64,
    /// Weeks looked back for same-weekday history.
    pub weekday_weeks: u32,
    /// Same-weekday days needed before the baseline uses them instead of every day.
    pub weekday_min_points: u32,
    /// Denial of wallet: a day's cost at this multiple of its own median is a velocity signal.
    pub velocity_factor: f64,
    /// Denial of wallet: input tokens at or above this make a request long-context.
    pub long_context_tokens: i64,
    /// Retry loops: a trace with at least this many attempts is flagged.
    pub retry_min_attempts: u32,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            min_history_days: 14,
            window_days: 28,
            threshold: 3.5,
            min_impact: Money::from_units(1),
            min_relative: 0.2,
            weekday_weeks: 8,
            weekday_min_points: 4,
            velocity_factor: 5.0,
            long_context_tokens: 100_000,
            retry_min_attempts: 3,
        }
    }
}

/// How to read gateway logs that are neither `LiteLLM` nor Portkey.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Canonical `requests` column to the source column that holds it.
    pub mapping: BTreeMap<String, String>,
    /// Unit of the mapped cost column: `usd` (default), `cents` or `nano_usd`.
    pub cost_unit: Option<String>,
    /// How the mapped token columns count: `openai` (default) or `anthropic`.
    pub token_semantics: Option<String>,
}

/// The charge categories of the `costs` frame, as the CUR, FOCUS and Cost Explorer readers
/// write them: FOCUS `ChargeCategory` values lower-cased, and CUR's `refund`.
pub const CHARGE_CATEGORIES: [&str; 6] =
    ["usage", "purchase", "tax", "credit", "refund", "adjustment"];

impl Config {
    /// Loads `path`, or the default `./aispend.toml` when present, or the built-in defaults.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let path = match path {
            Some(path) => path.to_path_buf(),
            None if Path::new("aispend.toml").exists() => PathBuf::from("aispend.toml"),
            None => return Ok(Config::default()),
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the configuration `{}`", path.display()))?;
        let mut config = Config::parse(&text)
            .with_context(|| format!("invalid configuration `{}`", path.display()))?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        config.path = Some(path);
        Ok(config)
    }

    /// Parses and validates configuration text. Every error names the value, what was
    /// expected and what was found, sits inside the `line N` of the value, and has a hint.
    pub fn parse(text: &str) -> Result<Config> {
        let config: Config = toml::from_str(text).map_err(|error| syntax_error(text, &error))?;
        config.validate().map_err(|problem| problem.into_error(text))?;
        Ok(config)
    }

    /// Puts an error about the value at `at` inside the `line N` of the configuration file
    /// that holds it, as parsing does (for checks that need more than the file).
    pub fn at_line(&self, error: anyhow::Error, at: &[Step]) -> anyhow::Error {
        let text = self.path.as_ref().and_then(|path| std::fs::read_to_string(path).ok());
        with_line(error, text.and_then(|text| line_at(&text, at)))
    }

    /// Makes every relative source path relative to the configuration's folder.
    fn resolve_paths(&mut self, base: &Path) {
        let resolve = |paths: &mut Vec<String>| {
            for path in paths.iter_mut() {
                *path = resolve_path(base, path);
            }
        };
        resolve(&mut self.sources.cur);
        resolve(&mut self.sources.focus);
        resolve(&mut self.sources.gateway);
        resolve(&mut self.sources.metrics);
        resolve(&mut self.sources.ce);
        if let Some(path) = &self.prices.litellm {
            self.prices.litellm = Some(resolve_path(base, path));
        }
    }

    /// The aliases of a taxonomy key, canonicalised, the key itself first.
    pub fn key_sources(&self, key: &str) -> Vec<String> {
        let mut sources = vec![canonical_key(key)];
        for alias in self.taxonomy.aliases.get(key).into_iter().flatten() {
            let alias = canonical_key(alias);
            if !sources.contains(&alias) {
                sources.push(alias);
            }
        }
        sources
    }
}

impl PriceOverride {
    /// The prices that are set, with their field names.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        [
            ("input", &self.input),
            ("output", &self.output),
            ("cache_read", &self.cache_read),
            ("cache_write", &self.cache_write),
            ("reasoning", &self.reasoning),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
        .collect()
    }
}

impl ShareMethod {
    /// The method as the configuration spells it.
    pub fn name(self) -> &'static str {
        match self {
            ShareMethod::Proportional => "proportional",
            ShareMethod::Even => "even",
            ShareMethod::Fixed => "fixed",
            ShareMethod::Tokens => "tokens",
            ShareMethod::Requests => "requests",
        }
    }
}

impl BudgetConfig {
    /// The soft limit, defaulting to the limit.
    pub fn soft(&self) -> Money {
        self.soft_limit.unwrap_or(self.limit)
    }

    /// The hard limit, defaulting to the limit.
    pub fn hard(&self) -> Money {
        self.hard_limit.unwrap_or(self.limit)
    }
}

/// Joins a relative path to `base`; absolute paths and `s3://` URLs stay as they are.
pub fn resolve_path(base: &Path, path: &str) -> String {
    if path.starts_with("s3://") || Path::new(path).is_absolute() {
        path.to_string()
    } else {
        base.join(path).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_three_keys() {
        let config = Config::parse("").unwrap();
        assert_eq!(config.taxonomy.keys, ["dept", "team", "app"]);
        assert_eq!(config.anomalies.min_history_days, 14);
    }

    #[test]
    fn aliases_are_canonical_and_ordered() {
        let text = "[taxonomy.aliases]\ndept = [\"business_unit\", \"Cost department\"]\n";
        let config = Config::parse(text).unwrap();
        assert_eq!(config.key_sources("dept"), ["dept", "business_unit", "cost_department"]);
    }

    #[test]
    fn budget_limits_accept_strings_and_numbers() {
        let text = "[[budgets]]\nname = \"pilot\"\nscope = { dept = \"sales\" }\nlimit = 2000\n\
                    soft_limit = \"1500\"\n";
        let config = Config::parse(text).unwrap();
        assert_eq!(config.budgets[0].soft(), Money::from_units(1500));
        assert_eq!(config.budgets[0].hard(), Money::from_units(2000));
        assert_eq!(config.budgets[0].thresholds, [70, 100, 120]);
    }

    /// The error of a configuration as users read it: message, causes and hint.
    pub(super) fn rejected(text: &str) -> String {
        crate::error::render(&Config::parse(text).unwrap_err())
    }

    /// A budget of `dept = sales` with `extra` lines added.
    pub(super) fn budget(extra: &str) -> String {
        format!(
            "[[budgets]]\nname = \"pilot\"\nscope = {{ dept = \"sales\" }}\nlimit = 10\n{extra}"
        )
    }

    /// A rule matching everything with `extra` lines added.
    pub(super) fn rule(name: &str, extra: &str) -> String {
        format!("[[rules]]\nname = \"{name}\"\nmatch = {{}}\n{extra}")
    }

    #[test]
    fn the_demo_configuration_is_valid() {
        Config::parse(include_str!("../../fixtures/demo/aispend.toml")).unwrap();
    }

    #[test]
    fn every_configuration_error_has_a_line_and_a_hint() {
        let texts = [
            "[taxonomy]\nkeys = []\n".to_string(),
            "[taxonomy]\nkeys = [\"dept\", \"-\"]\n".to_string(),
            "[taxonomy]\nkeys = [\"dept\", \"Dept\"]\n".to_string(),
            "[taxonomy.aliases]\nowner = [\"x\"]\n".to_string(),
            "[taxonomy.fallbacks.accounts]\n\"1\" = { tema = \"y\" }\n".to_string(),
            "[[prices.override]]\nmodel = \"m\"\ninput = \"2.0\"\n".to_string(),
            "[[prices.override]]\nmodel = \"m\"\nvalid_from = 2025-02-01\nvalid_to = 2025-01-01\n"
                .to_string(),
            budget("period = \"weekly\"\n"),
            budget("thresholds = [0]\n"),
            budget("limit = 0\n").replacen("limit = 10\n", "", 1),
            "[[budgets]]\nname = \" \"\nscope = { dept = \"x\" }\nlimit = 1\n".to_string(),
            "[[budgets]]\nname = \"b\"\nscope = {}\nlimit = 1\n".to_string(),
            "[[budgets]]\nname = \"b\"\nscope = { dept = \"x\" }\n".to_string(),
            "[budgets]\nname = 1\n".to_string(),
            "[[rules]]\nname = \"\"\nmatch = {}\nmethod = \"even\"\n".to_string(),
            rule("r", "method = \"random\"\n"),
            "[taxonomy\n".to_string(),
        ];
        for text in texts {
            let error = rejected(&text);
            assert!(error.starts_with("error: line "), "{text}\n{error}");
            assert!(error.contains("\n\nhint: "), "{text}\n{error}");
        }
    }
}
