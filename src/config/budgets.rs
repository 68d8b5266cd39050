//! The checks of `[[budgets]]`.
//!
//! Each budget has a name of its own and a scope that `budgets status` can resolve: taxonomy
//! keys spelled as the taxonomy spells them, `api_key` or `user`, each once with a value.
//! Its limits are above zero with the soft one at or below the hard one, its thresholds are
//! distinct percentages, and its value target, action and subscribers are ones the budget
//! exports can use.

use super::lines::at;
use super::validate::{Problem, one_of, problem};
use super::{BudgetConfig, Config, HardLimitAction};
use crate::enrich::taxonomy::{canonical_key, canonical_value, same_key};
use crate::report::ledger::{SCOPE_API_KEY, SCOPE_USER};

impl Config {
    /// The budgets: named once each, then each on its own.
    pub(super) fn validate_budgets(&self) -> Result<(), Problem> {
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
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::config::tests::{budget, rejected};

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
}
