//! The checks of `[[rules]]`, the shared-cost rules.
//!
//! Each rule has a name of its own, matches a charge category that line items can have, and
//! gives its method what it splits by: `fixed` rules weights for owners that can exist, with
//! one above zero, and no other method weights at all.

use super::lines::at;
use super::validate::{Problem, one_of, problem};
use super::{CHARGE_CATEGORIES, Config, ShareMethod, SharedCostRule};
use crate::enrich::taxonomy::canonical_value;

/// True when a `match.charge_category` pattern (without case, a trailing `*` for a prefix)
/// matches a charge category that line items can have.
fn matches_a_category(pattern: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    match pattern.strip_suffix('*') {
        Some(prefix) => CHARGE_CATEGORIES.iter().any(|category| category.starts_with(prefix)),
        None => CHARGE_CATEGORIES.contains(&pattern.as_str()),
    }
}

impl Config {
    /// The shared-cost rules: named once each, matching what line items can have.
    pub(super) fn validate_rules(&self) -> Result<(), Problem> {
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

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::config::tests::{rejected, rule};

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
}
