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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::enrich::taxonomy::{canonical_key, canonical_value, same_key};
use crate::enrich::usage::TokenSemantics;
use crate::model::requests;
use crate::money::Money;
use crate::report::ledger::{SCOPE_API_KEY, SCOPE_USER};

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

/// What the cost column of a mapped gateway log may count.
const COST_UNITS: [&str; 3] = ["usd", "cents", "nano_usd"];

/// One step of the way to a value of the file: a table key or a position in an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Item(usize),
}

impl From<&str> for Step {
    fn from(key: &str) -> Step {
        Step::Key(key.to_string())
    }
}

impl From<&String> for Step {
    fn from(key: &String) -> Step {
        Step::Key(key.clone())
    }
}

impl From<usize> for Step {
    fn from(index: usize) -> Step {
        Step::Item(index)
    }
}

/// The way to a value of the file: `at!["budgets", 2, "scope", key]`.
macro_rules! at {
    ($($step:expr),* $(,)?) => {
        [$(Step::from($step)),*]
    };
}

/// A value the configuration cannot use: what is wrong, how to fix it, and where it is.
#[derive(Debug)]
struct Problem {
    message: String,
    hint: String,
    at: Vec<Step>,
}

/// A [`Problem`] with the value at `at`.
fn problem(
    at: impl Into<Vec<Step>>,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Problem {
    Problem { message: message.into(), hint: hint.into(), at: at.into() }
}

impl Problem {
    /// The error users see: the message and its hint inside the `line N` of the value.
    fn into_error(self, text: &str) -> anyhow::Error {
        with_line(crate::error::hinted(self.message, self.hint), line_at(text, &self.at))
    }
}

/// `error` inside a `line N` context, when the line is known.
fn with_line(error: anyhow::Error, line: Option<usize>) -> anyhow::Error {
    match line {
        Some(line) => error.context(format!("line {line}")),
        None => error,
    }
}

/// The 1-based line of the value at `at` in configuration text. A step that the text does not
/// hold (a value left at its default) gives the line of the deepest step that it does.
pub fn line_at(text: &str, at: &[Step]) -> Option<usize> {
    use toml::de::{DeTable, DeValue};

    /// The start of the key or array item of one step, and the value there.
    fn step_into<'t, 'i>(node: &'t DeValue<'i>, step: &Step) -> Option<(usize, &'t DeValue<'i>)> {
        match (node, step) {
            (DeValue::Table(table), Step::Key(key)) => table
                .iter()
                .find(|(name, _)| name.get_ref() == key)
                .map(|(name, value)| (name.span().start, value.get_ref())),
            (DeValue::Array(items), Step::Item(index)) => {
                items.get(*index).map(|item| (item.span().start, item.get_ref()))
            }
            _ => None,
        }
    }

    let root = DeValue::Table(DeTable::parse(text).ok()?.into_inner());
    let mut node = &root;
    let mut offset = None;
    for step in at {
        let Some((start, next)) = step_into(node, step) else { break };
        offset = Some(start);
        node = next;
    }
    offset.map(|offset| line_number(text, offset))
}

/// The 1-based line of a byte offset of `text`.
fn line_number(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// A TOML syntax or type error, inside the `line N` it is on, with a hint for its kind.
fn syntax_error(text: &str, error: &toml::de::Error) -> anyhow::Error {
    let message = error.message().trim_end();
    let hint = if message.starts_with("unknown field") {
        "remove the key or correct its spelling: the message lists the keys this table takes"
    } else if message.starts_with("unknown variant") {
        "use one of the values that the message lists"
    } else if message.starts_with("missing field") {
        "add the missing key to this table"
    } else if message.starts_with("invalid type") || message.starts_with("invalid value") {
        "write the value as the message expects: text in quotes, numbers bare, lists in `[...]`"
    } else {
        "correct the TOML at this line (https://toml.io describes the syntax)"
    };
    let line = error.span().map(|span| line_number(text, span.start));
    with_line(crate::error::hinted(message, hint), line)
}

/// `` `a`, `b` or `c` ``, for messages.
fn one_of<T: std::fmt::Display>(items: &[T]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// True when a name has something a tag key can be made of.
fn has_letter_or_digit(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

/// True when a `match.charge_category` pattern (without case, a trailing `*` for a prefix)
/// matches a charge category that line items can have.
fn matches_a_category(pattern: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_suffix('*') {
        Some(prefix) => CHARGE_CATEGORIES.iter().any(|category| category.starts_with(prefix)),
        None => CHARGE_CATEGORIES.contains(&pattern.as_str()),
    }
}

const PRICE_HINT: &str = "write a price with its unit: `2.0 per 1M`, `0.002 per 1K` or \
                          `0.000002 per token`";
const SEMANTICS_HINT: &str = "`openai` when prompt tokens include the cached ones, \
                              `anthropic` when input tokens exclude cache reads and writes";

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

    /// Checks what serde cannot: names, units, limits, and values that nothing can match.
    fn validate(&self) -> Result<(), Problem> {
        self.validate_keys()?;
        self.validate_aliases()?;
        self.validate_fallbacks()?;
        self.validate_prices()?;
        self.validate_gateway()?;
        self.validate_rules()?;
        self.validate_budgets()
    }

    /// The taxonomy keys: at least one, each a tag key, none twice.
    fn validate_keys(&self) -> Result<(), Problem> {
        let keys = &self.taxonomy.keys;
        if keys.is_empty() {
            return Err(problem(
                at!["taxonomy", "keys"],
                "`taxonomy.keys` is empty: expected at least one owner key",
                "list the owner keys, most significant first: \
                 `keys = [\"dept\", \"team\", \"app\"]`",
            ));
        }
        for (index, key) in keys.iter().enumerate() {
            if !has_letter_or_digit(key) {
                return Err(problem(
                    at!["taxonomy", "keys", index],
                    format!(
                        "`taxonomy.keys` holds `{key}`: expected a tag key with a letter or digit"
                    ),
                    "remove it, or write the tag key as the bill spells it, such as `cost_center`",
                ));
            }
            let canonical = canonical_key(key);
            if let Some(first) =
                keys[..index].iter().find(|other| same_key(&canonical_key(other), &canonical))
            {
                return Err(problem(
                    at!["taxonomy", "keys", index],
                    format!("`taxonomy.keys` names one key twice: `{first}` and `{key}`"),
                    "keys are compared without case, `_` and punctuation (`CostCenter` is \
                     `cost_center`): remove one of them",
                ));
            }
        }
        Ok(())
    }

    /// The aliases: under a taxonomy key, each a tag key that feeds that key alone.
    fn validate_aliases(&self) -> Result<(), Problem> {
        let keys = &self.taxonomy.keys;
        let mut seen: Vec<(&String, &String)> = Vec::new();
        for (key, aliases) in &self.taxonomy.aliases {
            if !keys.contains(key) {
                return Err(problem(
                    at!["taxonomy", "aliases", key],
                    format!(
                        "`taxonomy.aliases.{key}` names a key that is not in `taxonomy.keys`: \
                         expected {}",
                        one_of(keys)
                    ),
                    format!(
                        "add `{key}` to `taxonomy.keys`, or list the aliases under the key they \
                         stand for, spelled as `taxonomy.keys` spells it"
                    ),
                ));
            }
            for (index, alias) in aliases.iter().enumerate() {
                let place = at!["taxonomy", "aliases", key, index];
                if !has_letter_or_digit(alias) {
                    return Err(problem(
                        place,
                        format!(
                            "`taxonomy.aliases.{key}` holds `{alias}`: expected a tag key with a \
                             letter or digit"
                        ),
                        "remove it, or write the tag key as the bill spells it",
                    ));
                }
                let canonical = canonical_key(alias);
                let same = |other: &String| same_key(&canonical_key(other), &canonical);
                if let Some(other) = keys.iter().find(|other| *other != key && same(other)) {
                    return Err(problem(
                        place,
                        format!(
                            "`taxonomy.aliases.{key}` lists `{alias}`, which is the taxonomy key \
                             `{other}`: expected a tag that feeds `{key}` alone"
                        ),
                        format!(
                            "remove `{alias}` from the aliases of `{key}`: a `{other}` tag fills \
                             `{other}`, and as an alias it would fill `{key}` too"
                        ),
                    ));
                }
                if let Some((_, first)) =
                    seen.iter().find(|(other, owner)| *owner != key && same(other))
                {
                    return Err(problem(
                        place,
                        format!(
                            "the alias `{alias}` is listed for two keys, `{first}` and `{key}`: \
                             expected each alias under one key"
                        ),
                        format!(
                            "keep `{alias}` under `taxonomy.aliases.{first}` or \
                             `taxonomy.aliases.{key}`, not both: one tag cannot own a line twice"
                        ),
                    ));
                }
                seen.push((alias, key));
            }
        }
        Ok(())
    }

    /// The fallbacks: taxonomy keys with an owner value.
    fn validate_fallbacks(&self) -> Result<(), Problem> {
        let keys = &self.taxonomy.keys;
        let fallbacks = [
            ("accounts", &self.taxonomy.fallbacks.accounts),
            ("inference_profiles", &self.taxonomy.fallbacks.inference_profiles),
            ("api_keys", &self.taxonomy.fallbacks.api_keys),
        ];
        for (table, entries) in fallbacks {
            for (id, owners) in entries {
                for (key, value) in owners {
                    let place = at!["taxonomy", "fallbacks", table, id, key];
                    if !keys.iter().any(|known| canonical_key(known) == canonical_key(key)) {
                        return Err(problem(
                            place,
                            format!(
                                "`taxonomy.fallbacks.{table}` gives `{id}` the key `{key}`, which \
                                 is not in `taxonomy.keys`: expected {}",
                                one_of(keys)
                            ),
                            format!("use a key of `taxonomy.keys`, or add `{key}` to them"),
                        ));
                    }
                    if canonical_value(value, true).is_none() {
                        return Err(problem(
                            place,
                            format!(
                                "`taxonomy.fallbacks.{table}` gives `{id}` an empty `{key}`: \
                                 expected an owner, found `{value}`"
                            ),
                            "name an owner or remove the entry",
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The price overrides: prices with units, a window that is not empty, known semantics.
    fn validate_prices(&self) -> Result<(), Problem> {
        for (index, price) in self.prices.overrides.iter().enumerate() {
            let model = &price.model;
            for (field, value) in price.fields() {
                let place = at!["prices", "override", index, field];
                let message = match crate::enrich::prices::parse_price(value) {
                    Err(error) => format!("{error:#}"),
                    Ok(amount) if amount.is_negative() => {
                        format!("expected a price of zero or more, found `{value}`")
                    }
                    Ok(_) => continue,
                };
                return Err(problem(
                    place,
                    format!("`prices.override` for model `{model}`: field `{field}`: {message}"),
                    PRICE_HINT,
                ));
            }
            if let (Some(from), Some(to)) = (price.valid_from, price.valid_to)
                && to <= from
            {
                return Err(problem(
                    at!["prices", "override", index, "valid_to"],
                    format!(
                        "`prices.override` for model `{model}`: expected `valid_to` after \
                         `valid_from` (`{}`), found `{}`",
                        from.to_rfc3339(),
                        to.to_rfc3339()
                    ),
                    "a price holds from `valid_from` up to, not including, `valid_to`",
                ));
            }
            if let Some(semantics) = &price.token_semantics
                && TokenSemantics::parse(semantics).is_err()
            {
                return Err(problem(
                    at!["prices", "override", index, "token_semantics"],
                    format!(
                        "`prices.override` for model `{model}`: `token_semantics` is \
                         `{semantics}`: expected `openai` or `anthropic`"
                    ),
                    SEMANTICS_HINT,
                ));
            }
        }
        Ok(())
    }

    /// The gateway settings whose values are a closed set.
    fn validate_gateway(&self) -> Result<(), Problem> {
        let gateway = &self.gateway;
        if let Some(unit) = &gateway.cost_unit
            && !COST_UNITS.contains(&unit.to_ascii_lowercase().as_str())
        {
            return Err(problem(
                at!["gateway", "cost_unit"],
                format!("`gateway.cost_unit` is `{unit}`: expected {}", one_of(&COST_UNITS)),
                "name what the mapped `logged_cost` column counts: dollars (`usd`), cents, or \
                 billionths of a dollar (`nano_usd`)",
            ));
        }
        if let Some(semantics) = &gateway.token_semantics
            && TokenSemantics::parse(semantics).is_err()
        {
            return Err(problem(
                at!["gateway", "token_semantics"],
                format!(
                    "`gateway.token_semantics` is `{semantics}`: expected `openai` or `anthropic`"
                ),
                SEMANTICS_HINT,
            ));
        }
        Ok(())
    }

    /// The shared-cost rules: named once each, matching what line items can have.
    fn validate_rules(&self) -> Result<(), Problem> {
        for (index, rule) in self.rules.iter().enumerate() {
            let name = &rule.name;
            if name.trim().is_empty() {
                return Err(problem(
                    at!["rules", index, "name"],
                    format!(
                        "rule {} of `[[rules]]` has an empty `name`: expected a name",
                        index + 1
                    ),
                    "name each rule: the allocations record the rule that shared each amount",
                ));
            }
            if self.rules[..index].iter().any(|other| other.name == *name) {
                return Err(problem(
                    at!["rules", index, "name"],
                    format!(
                        "two rules are named `{name}`: expected each rule to have its own name"
                    ),
                    "rename one of them: the allocations record the rule that shared each amount \
                     by its name",
                ));
            }
            if let Some(category) = &rule.matcher.charge_category
                && !matches_a_category(category)
            {
                return Err(problem(
                    at!["rules", index, "match", "charge_category"],
                    format!(
                        "rule `{name}`: `match.charge_category` is `{category}`, which no line \
                         item has: expected {}",
                        one_of(&CHARGE_CATEGORIES)
                    ),
                    "charge categories are FOCUS's, compared without case; a trailing `*` \
                     matches a prefix (`cred*`)",
                ));
            }
            rule.validate_split(index, self.taxonomy.normalize_values)?;
        }
        Ok(())
    }

    /// The budgets: named once each, then each on its own.
    fn validate_budgets(&self) -> Result<(), Problem> {
        for (index, budget) in self.budgets.iter().enumerate() {
            budget.validate(index, self)?;
            if self.budgets[..index].iter().any(|other| other.name == budget.name) {
                return Err(problem(
                    at!["budgets", index, "name"],
                    format!(
                        "two budgets are named `{}`: expected each budget to have its own name",
                        budget.name
                    ),
                    "rename one of them: statuses, exports and AWS Budgets tell budgets apart by \
                     name",
                ));
            }
        }
        Ok(())
    }

    /// Checks `[gateway] mapping` as the mapped-log reader does, with the line of the file:
    /// canonical `requests` columns (not the computed ones), `tags` or an owner key, and
    /// `start_time` among them. Readers check it again when they read a mapped log; parsing
    /// does not, so that a mapping only the reader needs fails only where it is used.
    pub fn check_gateway_mapping(&self) -> Result<()> {
        let mapping = &self.gateway.mapping;
        if mapping.is_empty() {
            return Ok(());
        }
        let owners: Vec<String> = self.taxonomy.keys.iter().map(|key| canonical_key(key)).collect();
        let computed = [requests::PRICED_COST, requests::SOURCE_FILE];
        for name in mapping.keys() {
            let canonical =
                requests::FIXED.contains(&name.as_str()) && !computed.contains(&name.as_str());
            // `tags` is the mapped reader's name for a column of tags.
            if !canonical && name != "tags" && !owners.contains(name) {
                let error = crate::error::hinted(
                    format!(
                        "`gateway.mapping` names the unknown column `{name}`: expected a canonical \
                         `requests` column, `tags` or an owner key"
                    ),
                    format!(
                        "map canonical `requests` columns (such as `start_time`, `model` or \
                         `input_tokens`), `tags` or an owner key ({})",
                        owners.join(", ")
                    ),
                );
                return Err(self.at_line(error, &at!["gateway", "mapping", name]));
            }
        }
        if !mapping.contains_key(requests::START_TIME) {
            let error = crate::error::hinted(
                "`gateway.mapping` does not map `start_time`: expected the log's column of \
                 request times",
                "add `start_time = \"...\"` with the name of that column to `[gateway.mapping]`",
            );
            return Err(self.at_line(error, &at!["gateway", "mapping"]));
        }
        Ok(())
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

impl SharedCostRule {
    /// Checks that the method has what it splits by and that `owners` and `weights` name
    /// owners that can exist (owner values are trimmed, and lower-cased when `normalize`).
    fn validate_split(&self, index: usize, normalize: bool) -> Result<(), Problem> {
        let name = &self.name;
        let method = self.method.name();
        if self.method == ShareMethod::Fixed {
            self.validate_weights(index)?;
            if !self.owners.is_empty() {
                return Err(problem(
                    at!["rules", index, "owners"],
                    format!(
                        "rule `{name}` uses method `fixed`, which ignores `owners`: expected the \
                         owners as the keys of `weights`"
                    ),
                    "remove `owners`: `fixed` splits among the owners that `weights` names",
                ));
            }
        } else if !self.weights.is_empty() {
            return Err(problem(
                at!["rules", index, "weights"],
                format!(
                    "rule `{name}` uses method `{method}`, which ignores `weights`: expected \
                     `weights` only with method `fixed`"
                ),
                "set `method = \"fixed\"` to split by the weights, or remove `weights`",
            ));
        }
        for (position, owner) in self.owners.iter().enumerate() {
            let canonical = canonical_value(owner, normalize);
            if canonical.as_deref() == Some(owner.as_str()) {
                continue;
            }
            let expected =
                canonical.map_or("an owner value".to_string(), |value| format!("`{value}`"));
            return Err(problem(
                at!["rules", index, "owners", position],
                format!(
                    "rule `{name}`: `owners` holds `{owner}`, which no owner can be: expected \
                     {expected}"
                ),
                "owner values are trimmed, and lower-cased unless `taxonomy.normalize_values` \
                 is false: write the owner as the reports show it",
            ));
        }
        Ok(())
    }

    /// The weights of a `fixed` rule: some, for owners with a name, not all zero.
    fn validate_weights(&self, index: usize) -> Result<(), Problem> {
        let name = &self.name;
        let example = "give each owner a share of the cost: `weights = { sales = 2, support = 1 }`";
        if self.weights.is_empty() {
            return Err(problem(
                at!["rules", index, "method"],
                format!(
                    "rule `{name}` uses method `fixed` but has no `weights`: expected a weight \
                     per owner"
                ),
                example,
            ));
        }
        if let Some(owner) =
            self.weights.keys().find(|owner| canonical_value(owner, true).is_none())
        {
            return Err(problem(
                at!["rules", index, "weights", owner],
                format!(
                    "rule `{name}`: `weights` names the owner `{owner}`: expected an owner value"
                ),
                example,
            ));
        }
        if self.weights.values().all(|weight| *weight == 0) {
            return Err(problem(
                at!["rules", index, "weights"],
                format!(
                    "rule `{name}` uses method `fixed`, but every weight in `weights` is 0: \
                     expected at least one weight above zero"
                ),
                format!("{example}; with no share above zero the cost goes to `__unallocated__`"),
            ));
        }
        Ok(())
    }
}

impl BudgetConfig {
    /// Checks the name, scope, limits, thresholds, period, value target, action and
    /// subscribers of the budget at `index` of `[[budgets]]`.
    fn validate(&self, index: usize, config: &Config) -> Result<(), Problem> {
        if self.name.trim().is_empty() {
            return Err(problem(
                at!["budgets", index, "name"],
                format!(
                    "budget {} of `[[budgets]]` has an empty `name`: expected a name",
                    index + 1
                ),
                "name each budget: statuses, exports and AWS Budgets tell budgets apart by name",
            ));
        }
        self.validate_scope(index, config)?;
        self.validate_limits(index)?;
        self.validate_thresholds(index)?;
        self.validate_value_and_action(index)?;
        self.validate_subscribers(index)
    }

    /// The scope, as `budgets status` resolves it: taxonomy keys spelled as the taxonomy
    /// spells them (once canonical), `api_key` or `user`, each once and with a value.
    fn validate_scope(&self, index: usize, config: &Config) -> Result<(), Problem> {
        let name = &self.name;
        if self.scope.is_empty() {
            return Err(problem(
                at!["budgets", index, "scope"],
                format!(
                    "budget `{name}` has an empty `scope`: expected a taxonomy key, `api_key` or \
                     `user` with the value whose spend counts"
                ),
                "scope the budget, such as `scope = { dept = \"sales\" }`",
            ));
        }
        let taxonomy: Vec<String> = config.taxonomy.keys.iter().map(|k| canonical_key(k)).collect();
        let mut seen: Vec<(String, &String)> = Vec::new();
        for (raw, value) in &self.scope {
            let place = at!["budgets", index, "scope", raw];
            let key = canonical_key(raw);
            let by_gateway = key == SCOPE_API_KEY || key == SCOPE_USER;
            if !by_gateway && !taxonomy.contains(&key) {
                let expected: Vec<&str> = taxonomy
                    .iter()
                    .map(String::as_str)
                    .chain([SCOPE_API_KEY, SCOPE_USER])
                    .collect();
                let hint = match taxonomy.iter().find(|known| same_key(known, &key)) {
                    Some(known) => {
                        format!("write `{known}`: a scope key is spelled as its taxonomy key")
                    }
                    None => {
                        format!("add `{raw}` to `taxonomy.keys`, or change the budget's `scope`")
                    }
                };
                return Err(problem(
                    place,
                    format!(
                        "budget `{name}`: the scope key `{raw}` is not a taxonomy key, `api_key` \
                         or `user`: expected {}",
                        one_of(&expected)
                    ),
                    hint,
                ));
            }
            if let Some((_, first)) = seen.iter().find(|(other, _)| *other == key) {
                return Err(problem(
                    place,
                    format!(
                        "budget `{name}`: the scope names `{key}` twice, as `{first}` and \
                         `{raw}`: expected each key once"
                    ),
                    "keep one of them: spend has one value per key",
                ));
            }
            let empty = if by_gateway {
                value.trim().is_empty()
            } else {
                canonical_value(value, config.taxonomy.normalize_values).is_none()
            };
            if empty {
                return Err(problem(
                    place,
                    format!(
                        "budget `{name}`: the scope gives `{raw}` no value, found `{value}`: \
                         expected the owner, API key or user whose spend counts"
                    ),
                    "write the value, such as `scope = { dept = \"sales\" }` (blank and `NULL` \
                     mean untagged)",
                ));
            }
            seen.push((key, raw));
        }
        Ok(())
    }

    /// The limits: above zero, the soft limit at or below the hard one.
    fn validate_limits(&self, index: usize) -> Result<(), Problem> {
        let name = &self.name;
        let limits = [
            ("limit", Some(self.limit)),
            ("soft_limit", self.soft_limit),
            ("hard_limit", self.hard_limit),
        ];
        for (field, amount) in limits {
            if let Some(amount) = amount
                && (amount.is_negative() || amount.is_zero())
            {
                return Err(problem(
                    at!["budgets", index, field],
                    format!("budget `{name}`: expected `{field}` above zero, found `{amount}`"),
                    "limits are amounts of the bill's currency per `period`, such as \
                     `limit = 2000`",
                ));
            }
        }
        let (soft, hard) = (self.soft(), self.hard());
        if soft <= hard {
            return Ok(());
        }
        let (field, message) = match (self.soft_limit, self.hard_limit) {
            (Some(_), Some(_)) => (
                "soft_limit",
                format!(
                    "budget `{name}`: `soft_limit` is above `hard_limit`: expected at most \
                     `{hard}`, found `{soft}`"
                ),
            ),
            (Some(_), None) => (
                "soft_limit",
                format!(
                    "budget `{name}`: `soft_limit` is above the hard limit, which is `limit` \
                     when `hard_limit` is not set: expected at most `{hard}`, found `{soft}`"
                ),
            ),
            _ => (
                "hard_limit",
                format!(
                    "budget `{name}`: `hard_limit` is below the soft limit, which is `limit` \
                     when `soft_limit` is not set: expected at least `{soft}`, found `{hard}`"
                ),
            ),
        };
        Err(problem(
            at!["budgets", index, field],
            message,
            "the soft limit warns before the hard limit acts: keep `soft_limit` at or below \
             `hard_limit`",
        ))
    }

    /// The thresholds and the period.
    fn validate_thresholds(&self, index: usize) -> Result<(), Problem> {
        let name = &self.name;
        let place = at!["budgets", index, "thresholds"];
        let ladder = "thresholds are percentages of `limit`, such as `thresholds = [70, 100, 120]`";
        if self.thresholds.is_empty() || self.thresholds.contains(&0) {
            let found = format!("{:?}", self.thresholds);
            return Err(problem(
                place,
                format!(
                    "budget `{name}`: `thresholds` must be percentages above zero: found `{found}`"
                ),
                ladder,
            ));
        }
        if let Some((position, percent)) =
            self.thresholds.iter().enumerate().find(|(at, p)| self.thresholds[..*at].contains(p))
        {
            return Err(problem(
                at!["budgets", index, "thresholds", position],
                format!(
                    "budget `{name}`: `thresholds` lists `{percent}` twice: expected each \
                     percentage once"
                ),
                format!("remove the second `{percent}`: each threshold is one notification"),
            ));
        }
        if !matches!(self.period.as_str(), "monthly" | "daily") {
            return Err(problem(
                at!["budgets", index, "period"],
                format!(
                    "budget `{name}`: `period` must be `monthly` or `daily`, found `{}`",
                    self.period
                ),
                "`period = \"monthly\"` is the default; `\"daily\"` resets the budget each UTC day",
            ));
        }
        Ok(())
    }

    /// The value target and the action at the hard limit.
    fn validate_value_and_action(&self, index: usize) -> Result<(), Problem> {
        let name = &self.name;
        if let Some(value) = &self.value {
            if value.metric.trim().is_empty() {
                return Err(problem(
                    at!["budgets", index, "value", "metric"],
                    format!("budget `{name}`: `value.metric` is empty: expected a metric name"),
                    "name a metric of the business metrics, such as `revenue` or `hours_saved`",
                ));
            }
            if value.target.is_negative() || value.target.is_zero() {
                return Err(problem(
                    at!["budgets", index, "value", "target"],
                    format!(
                        "budget `{name}`: expected `value.target` above zero, found `{}`",
                        value.target
                    ),
                    "the target is how much of `value.metric` the budget should buy per \
                     `period`, such as `target = 200`",
                ));
            }
        }
        if let Some(HardLimitAction::Route { from, to }) = &self.action {
            let place = at!["budgets", index, "action"];
            if from.trim().is_empty() || to.trim().is_empty() {
                return Err(problem(
                    place,
                    format!(
                        "budget `{name}`: `action` routes `{from}` to `{to}`: expected two model \
                         ids"
                    ),
                    "name the gateway's model ids, such as `from = \"gpt-4o\"` and \
                     `to = \"gpt-4o-mini\"`",
                ));
            }
            if from.trim().eq_ignore_ascii_case(to.trim()) {
                return Err(problem(
                    place,
                    format!(
                        "budget `{name}`: `action` routes `{from}` to itself: expected `to` to \
                         name another model"
                    ),
                    "set `to` to the cheaper model that the traffic should go to",
                ));
            }
        }
        Ok(())
    }

    /// The subscribers: e-mail addresses or SNS topic ARNs, as the budget exports need.
    fn validate_subscribers(&self, index: usize) -> Result<(), Problem> {
        for (position, address) in self.subscribers.iter().enumerate() {
            let address = address.trim();
            if address.starts_with("arn:aws:sns:") || address.contains('@') {
                continue;
            }
            return Err(problem(
                at!["budgets", index, "subscribers", position],
                format!(
                    "budget `{}`: the subscriber `{address}` is neither an e-mail address nor an \
                     SNS topic ARN",
                    self.name
                ),
                "write `name@example.com` or `arn:aws:sns:REGION:ACCOUNT:TOPIC`",
            ));
        }
        Ok(())
    }

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
    fn unknown_key_names_key_and_line() {
        let error = Config::parse("[taxonomy]\nkeys = [\"dept\"]\nflavour = 1\n").unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("flavour"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn taxonomy_mistakes_name_the_key_and_the_line() {
        let twice = "[taxonomy]\nkeys = [\"dept\", \"Dept\"]\n";
        let text = format!("{:#}", Config::parse(twice).unwrap_err());
        assert!(text.contains("line 2") && text.contains("`Dept`"), "{text}");
        let unknown = "[taxonomy.fallbacks.accounts]\n\"111\" = { dept = \"x\", tema = \"y\" }\n";
        let text = format!("{:#}", Config::parse(unknown).unwrap_err());
        assert!(text.contains("line 2") && text.contains("`tema`"), "{text}");
        let empty = "[taxonomy.fallbacks.accounts]\n\"111\" = { dept = \" \" }\n";
        let text = format!("{:#}", Config::parse(empty).unwrap_err());
        assert!(text.contains("an empty `dept`"), "{text}");
    }

    #[test]
    fn price_without_unit_is_rejected_by_name() {
        let text = "[[prices.override]]\nmodel = \"m\"\ninput = \"2.0\"\n";
        let error = format!("{:#}", Config::parse(text).unwrap_err());
        assert!(error.contains("`m`") && error.contains("input"), "{error}");
    }

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
    fn rejected(text: &str) -> String {
        crate::error::render(&Config::parse(text).unwrap_err())
    }

    /// A budget of `dept = sales` with `extra` lines added.
    fn budget(extra: &str) -> String {
        format!(
            "[[budgets]]\nname = \"pilot\"\nscope = {{ dept = \"sales\" }}\nlimit = 10\n{extra}"
        )
    }

    /// A rule matching everything with `extra` lines added.
    fn rule(name: &str, extra: &str) -> String {
        format!("[[rules]]\nname = \"{name}\"\nmatch = {{}}\n{extra}")
    }

    #[test]
    fn the_demo_configuration_is_valid() {
        Config::parse(include_str!("../fixtures/demo/aispend.toml")).unwrap();
    }

    #[test]
    fn budget_scope_key_that_is_no_taxonomy_key_is_named_with_its_line() {
        let text = "[[budgets]]\nname = \"pilot\"\nlimit = 10\nscope = { deptz = \"sales\" }\n";
        assert_eq!(
            rejected(text),
            "error: line 4\n  caused by: budget `pilot`: the scope key `deptz` is not a taxonomy \
             key, `api_key` or `user`: expected `dept`, `team`, `app`, `api_key` or `user`\n\n\
             hint: add `deptz` to `taxonomy.keys`, or change the budget's `scope`"
        );
        // `budgets status` compares canonical keys exactly, so `d_e_p_t` is no `dept` there.
        let near = "[[budgets]]\nname = \"p\"\nlimit = 1\nscope = { d_e_p_t = \"sales\" }\n";
        let text = rejected(near);
        assert!(text.contains("hint: write `dept`: a scope key is spelled as its taxonomy key"));
        for scope in ["Dept = \"Sales\"", "api_key = \"sk-1\"", "user = \"ann\"", "team = \"x\""] {
            let text = format!("[[budgets]]\nname = \"p\"\nlimit = 1\nscope = {{ {scope} }}\n");
            let config = Config::parse(&text).unwrap();
            crate::report::ledger::Scope::of_budget(&config.budgets[0], &config).unwrap();
        }
    }

    #[test]
    fn budget_scope_names_each_key_once_with_a_value() {
        let twice = budget("").replace("dept = \"sales\"", "dept = \"sales\", Dept = \"ops\"");
        assert!(
            rejected(&twice).contains(
                "line 3\n  caused by: budget `pilot`: the scope names `dept` twice, as `Dept` and \
                 `dept`: expected each key once"
            ),
            "{}",
            rejected(&twice)
        );
        let blank = budget("").replace("\"sales\"", "\"NULL\"");
        assert!(rejected(&blank).contains(
            "budget `pilot`: the scope gives `dept` no value, found `NULL`: expected the owner, \
             API key or user whose spend counts"
        ));
    }

    #[test]
    fn duplicate_budget_names_are_rejected_at_the_second() {
        let text = format!("{}\n{}", budget(""), budget(""));
        assert_eq!(
            rejected(&text),
            "error: line 7\n  caused by: two budgets are named `pilot`: expected each budget to \
             have its own name\n\nhint: rename one of them: statuses, exports and AWS Budgets \
             tell budgets apart by name"
        );
    }

    #[test]
    fn soft_limit_above_hard_limit_is_rejected() {
        let hint = "hint: the soft limit warns before the hard limit acts: keep `soft_limit` at or \
                    below `hard_limit`";
        let both = rejected(&budget("soft_limit = 20\nhard_limit = 5\n"));
        assert_eq!(
            both,
            format!(
                "error: line 5\n  caused by: budget `pilot`: `soft_limit` is above `hard_limit`: \
                 expected at most `5.00`, found `20.00`\n\n{hint}"
            )
        );
        let soft_only = rejected(&budget("soft_limit = 20\n"));
        assert!(soft_only.contains(
            "line 5\n  caused by: budget `pilot`: `soft_limit` is above the hard limit, which is \
             `limit` when `hard_limit` is not set: expected at most `10.00`, found `20.00`"
        ));
        let hard_only = rejected(&budget("hard_limit = 5\n"));
        assert!(hard_only.contains(
            "budget `pilot`: `hard_limit` is below the soft limit, which is `limit` when \
             `soft_limit` is not set: expected at least `10.00`, found `5.00`"
        ));
        let zero = rejected(&budget("soft_limit = 0\n"));
        assert!(zero.contains(
            "line 5\n  caused by: budget `pilot`: expected `soft_limit` above zero, found `0.00`"
        ));
        Config::parse(&budget("soft_limit = 5\nhard_limit = 5\n")).unwrap();
    }

    #[test]
    fn budget_thresholds_value_action_and_subscribers_are_checked() {
        let twice = rejected(&budget("thresholds = [50, 100, 50]\n"));
        assert!(twice.contains(
            "line 5\n  caused by: budget `pilot`: `thresholds` lists `50` twice: expected each \
             percentage once"
        ));
        let target = rejected(&budget("value = { metric = \"revenue\", target = 0 }\n"));
        assert!(
            target.contains("budget `pilot`: expected `value.target` above zero, found `0.00`")
        );
        let route = rejected(&budget("action = { kind = \"route\", from = \"m\", to = \"M\" }\n"));
        assert!(route.contains(
            "budget `pilot`: `action` routes `m` to itself: expected `to` to name another model"
        ));
        let subscriber = rejected(&budget("subscribers = [\"a@b.c\", \"finops\"]\n"));
        assert!(subscriber.contains(
            "line 5\n  caused by: budget `pilot`: the subscriber `finops` is neither an e-mail \
             address nor an SNS topic ARN\n\nhint: write `name@example.com` or \
             `arn:aws:sns:REGION:ACCOUNT:TOPIC`"
        ));
    }

    #[test]
    fn a_charge_category_no_line_item_has_is_rejected() {
        let text = rule("tax", "method = \"even\"").replace("{}", "{ charge_category = \"taxx\" }");
        assert_eq!(
            rejected(&text),
            "error: line 3\n  caused by: rule `tax`: `match.charge_category` is `taxx`, which no \
             line item has: expected `usage`, `purchase`, `tax`, `credit`, `refund` or \
             `adjustment`\n\nhint: charge categories are FOCUS's, compared without case; a \
             trailing `*` matches a prefix (`cred*`)"
        );
        for good in ["TAX", "cred*", "*", "Adjustment"] {
            let text = rule("r", "method = \"even\"")
                .replace("{}", &format!("{{ charge_category = \"{good}\" }}"));
            Config::parse(&text).unwrap();
        }
        let text = rule("r", "method = \"even\"").replace("{}", "{ charge_category = \"x*\" }");
        assert!(
            rejected(&text).contains("`match.charge_category` is `x*`, which no line item has")
        );
    }

    #[test]
    fn duplicate_rule_names_are_rejected_at_the_second() {
        let text = format!(
            "{}method = \"even\"\n{}method = \"even\"\n",
            rule("support", ""),
            rule("support", "")
        );
        assert_eq!(
            rejected(&text),
            "error: line 6\n  caused by: two rules are named `support`: expected each rule to \
             have its own name\n\nhint: rename one of them: the allocations record the rule \
             that shared each amount by its name"
        );
    }

    #[test]
    fn fixed_weights_need_one_above_zero() {
        let zeros = rule("split", "method = \"fixed\"\nweights = { sales = 0, ops = 0 }\n");
        assert_eq!(
            rejected(&zeros),
            "error: line 5\n  caused by: rule `split` uses method `fixed`, but every weight in \
             `weights` is 0: expected at least one weight above zero\n\nhint: give each owner a \
             share of the cost: `weights = { sales = 2, support = 1 }`; with no share above zero \
             the cost goes to `__unallocated__`"
        );
        let negative = rule("split", "method = \"fixed\"\nweights = { sales = -1 }\n");
        assert!(rejected(&negative).starts_with(
            "error: line 5\n  caused by: invalid value: integer `-1`, expected u64\n\nhint: "
        ));
        let none = rejected(&rule("split", "method = \"fixed\"\n"));
        assert!(none.contains(
            "line 4\n  caused by: rule `split` uses method `fixed` but has no `weights`"
        ));
        let ignored = rejected(&rule("split", "method = \"even\"\nweights = { sales = 1 }\n"));
        assert!(ignored.contains(
            "rule `split` uses method `even`, which ignores `weights`: expected `weights` only \
             with method `fixed`"
        ));
        let owners =
            rule("split", "method = \"fixed\"\nweights = { sales = 1 }\nowners = [\"ops\"]\n");
        assert!(
            rejected(&owners).contains("rule `split` uses method `fixed`, which ignores `owners`")
        );
    }

    #[test]
    fn rule_owners_must_be_owner_values() {
        let text = rule("r", "method = \"even\"\nowners = [\"sales\", \"Research\"]\n");
        assert!(rejected(&text).contains(
            "line 5\n  caused by: rule `r`: `owners` holds `Research`, which no owner can be: \
             expected `research`"
        ));
        let kept = format!("[taxonomy]\nnormalize_values = false\n{text}");
        Config::parse(&kept).unwrap();
    }

    #[test]
    fn an_alias_feeds_one_taxonomy_key() {
        let two = "[taxonomy.aliases]\ndept = [\"owner\"]\nteam = [\"Own-er\"]\n";
        assert_eq!(
            rejected(two),
            "error: line 3\n  caused by: the alias `Own-er` is listed for two keys, `dept` and \
             `team`: expected each alias under one key\n\nhint: keep `Own-er` under \
             `taxonomy.aliases.dept` or `taxonomy.aliases.team`, not both: one tag cannot own a \
             line twice"
        );
        let key = "[taxonomy.aliases]\ndept = [\"cost_department\", \"Team\"]\n";
        assert_eq!(
            rejected(key),
            "error: line 2\n  caused by: `taxonomy.aliases.dept` lists `Team`, which is the \
             taxonomy key `team`: expected a tag that feeds `dept` alone\n\nhint: remove `Team` \
             from the aliases of `dept`: a `team` tag fills `team`, and as an alias it would fill \
             `dept` too"
        );
        Config::parse("[taxonomy.aliases]\ndept = [\"dept\", \"Department\"]\n").unwrap();
    }

    #[test]
    fn closed_sets_of_the_gateway_and_prices_are_checked() {
        let unit = rejected("[gateway]\ncost_unit = \"euro\"\n");
        assert!(unit.contains(
            "line 2\n  caused by: `gateway.cost_unit` is `euro`: expected `usd`, `cents` or \
             `nano_usd`"
        ));
        let semantics =
            rejected("[[prices.override]]\nmodel = \"m\"\ntoken_semantics = \"google\"\n");
        assert!(semantics.contains(
            "line 3\n  caused by: `prices.override` for model `m`: `token_semantics` is \
             `google`: expected `openai` or `anthropic`"
        ));
        let negative = rejected("[[prices.override]]\nmodel = \"m\"\ninput = \"-1 per 1M\"\n");
        assert!(
            negative.contains("field `input`: expected a price of zero or more, found `-1 per 1M`")
        );
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

    #[test]
    fn lines_are_found_in_arrays_of_tables_and_inline_tables() {
        let text = "[[budgets]]\nname = \"a\"\n\n[[budgets]]\nname = \"b\"\n[budgets.scope]\n\
                    dept = \"x\"\n";
        assert_eq!(line_at(text, &at!["budgets", 1]), Some(4));
        assert_eq!(line_at(text, &at!["budgets", 1, "scope", "dept"]), Some(7));
        // A value left at its default points at its table.
        assert_eq!(line_at(text, &at!["budgets", 0, "soft_limit"]), Some(1));
        assert_eq!(line_at(text, &at!["rules"]), None);
    }
}
