//! The checks of a parsed configuration that serde cannot make.
//!
//! [`Config::parse`] runs them after deserializing: the taxonomy keys, aliases and
//! fallbacks, the price overrides and the closed sets of the gateway here, then the
//! shared-cost rules (`rules`) and the budgets (`budgets`). A check that fails returns a
//! [`Problem`]: the message, its hint and the way to the value, which becomes an error inside
//! the `line N` of that value. The mapping of `[gateway]` is checked only on demand
//! ([`Config::check_gateway_mapping`]), since only the mapped-log reader needs it.

use anyhow::Result;

use super::lines::{at, line_at, with_line};
use super::{Config, Step};
use crate::enrich::taxonomy::{canonical_key, canonical_value, same_key};
use crate::enrich::usage::TokenSemantics;
use crate::model::requests;

/// What the cost column of a mapped gateway log may count.
const COST_UNITS: [&str; 3] = ["usd", "cents", "nano_usd"];

/// A value the configuration cannot use: what is wrong, how to fix it, and where it is.
#[derive(Debug)]
pub(super) struct Problem {
    message: String,
    hint: String,
    at: Vec<Step>,
}

/// A [`Problem`] with the value at `at`.
pub(super) fn problem(
    at: impl Into<Vec<Step>>,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> Problem {
    Problem { message: message.into(), hint: hint.into(), at: at.into() }
}

impl Problem {
    /// The error users see: the message and its hint inside the `line N` of the value.
    pub(super) fn into_error(self, text: &str) -> anyhow::Error {
        with_line(crate::error::hinted(self.message, self.hint), line_at(text, &self.at))
    }
}

/// `` `a`, `b` or `c` ``, for messages.
pub(super) fn one_of<T: std::fmt::Display>(items: &[T]) -> String {
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

const PRICE_HINT: &str = "write a price with its unit: `2.0 per 1M`, `0.002 per 1K` or \
                          `0.000002 per token`";
const SEMANTICS_HINT: &str = "`openai` when prompt tokens include the cached ones, \
                              `anthropic` when input tokens exclude cache reads and writes";

impl Config {
    /// Checks what serde cannot: names, units, limits, and values that nothing can match.
    pub(super) fn validate(&self) -> Result<(), Problem> {
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
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::config::tests::rejected;

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
}
