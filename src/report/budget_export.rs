//! Budget definitions that AWS and the LLM gateways enforce, built from `[[budgets]]`.
//!
//! Pure: the configuration in, definitions and warnings out. Each target takes the budgets it
//! can express and says, in a warning, which it left out and why:
//! - **AWS Budgets** (`CreateBudget` JSON and Terraform `aws_budgets_budget`) filter cost by
//!   one cost allocation tag, `user:<key>$<value>` with the canonical key and value. A scope
//!   with an API key or a user is invisible to AWS; a scope with several taxonomy keys is left
//!   out too, because AWS matches any of the `TagKeyValue` values, not all of them (use a cost
//!   category that combines them). Notifications: `ACTUAL` at each threshold and `FORECASTED`
//!   at 100%, percentages of `limit`, to the budget's subscribers (SNS topic ARNs, else e-mail
//!   addresses). AWS compares with `GREATER_THAN`; aispend's own status uses "reached when
//!   greater than or equal".
//! - API keys are written as the hash gateways store (SHA-256 of a clear key), never in
//!   clear.
//! - **`LiteLLM`**: a team, key, user or tag budget per scope with `max_budget` (the hard
//!   limit), `soft_budget` and `budget_duration` (`30d` or `1d`); `throttle` becomes the
//!   entry's `rpm_limit`, `route` a router fallback, `cache` the proxy's response cache.
//! - **Portkey**: usage-limit policies (`credit_limit` the hard limit, `alert_threshold` the
//!   soft limit, monthly reset) and rate-limit policies for `throttle`. Portkey resets only
//!   monthly or weekly, so daily budgets are left out.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::config::{BudgetConfig, Config, HardLimitAction};
use crate::money::Money;
use crate::report::ledger::{SCOPE_API_KEY, SCOPE_USER, Scope, hashed_api_key};

/// Subscriber kinds of AWS Budgets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubscriberKind {
    Email,
    Sns,
}

/// One subscriber of a notification.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subscriber {
    pub kind: SubscriberKind,
    pub address: String,
}

/// `ACTUAL` or `FORECASTED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NotificationKind {
    Actual,
    Forecasted,
}

impl NotificationKind {
    /// The AWS enum value.
    pub fn aws(self) -> &'static str {
        match self {
            NotificationKind::Actual => "ACTUAL",
            NotificationKind::Forecasted => "FORECASTED",
        }
    }
}

/// A notification at a percentage of the limit, compared with `GREATER_THAN`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Notification {
    pub kind: NotificationKind,
    pub percent: u32,
    pub subscribers: Vec<Subscriber>,
}

/// One AWS cost budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsBudget {
    pub name: String,
    /// `MONTHLY` or `DAILY`.
    pub time_unit: &'static str,
    pub limit: Money,
    /// `user:dept$sales`.
    pub tag_filter: String,
    pub notifications: Vec<Notification>,
}

/// The AWS budgets of the configuration, and warnings for the budgets left out.
pub fn aws_budgets(config: &Config) -> Result<(Vec<AwsBudget>, Vec<String>)> {
    let mut budgets = Vec::new();
    let mut warnings = Vec::new();
    for budget in &config.budgets {
        let scope = Scope::of_budget(budget, config)?;
        if scope.needs_gateway() {
            warnings.push(format!(
                "budget `{}` is scoped to an API key or user, which AWS cannot see; it is \
                 exported for the gateways only",
                budget.name
            ));
            continue;
        }
        let [(key, value)] = scope.pairs.as_slice() else {
            warnings.push(format!(
                "budget `{}` combines several tags, and AWS Budgets matches any of them; it \
                 is left out of the AWS export (scope it to one tag or a cost category)",
                budget.name
            ));
            continue;
        };
        check_name(&budget.name)?;
        if budgets.iter().any(|b: &AwsBudget| b.name == budget.name) {
            bail!("two budgets are named `{}`; AWS Budgets needs unique names", budget.name);
        }
        if budget.thresholds.len() + 1 > MAX_NOTIFICATIONS {
            bail!(
                "budget `{}` has {} thresholds; AWS Budgets takes {MAX_NOTIFICATIONS} \
                 notifications, one of them the forecast",
                budget.name,
                budget.thresholds.len()
            );
        }
        let subscribers = subscribers(budget)?;
        if subscribers.is_empty() {
            warnings.push(format!(
                "budget `{}` has no `subscribers`, so AWS will send no notification; add an \
                 e-mail address or an SNS topic ARN",
                budget.name
            ));
        }
        let mut notifications = Vec::new();
        if !subscribers.is_empty() {
            for percent in &budget.thresholds {
                notifications.push(Notification {
                    kind: NotificationKind::Actual,
                    percent: *percent,
                    subscribers: subscribers.clone(),
                });
            }
            notifications.push(Notification {
                kind: NotificationKind::Forecasted,
                percent: 100,
                subscribers: subscribers.clone(),
            });
        }
        budgets.push(AwsBudget {
            name: budget.name.clone(),
            time_unit: if budget.period == "daily" { "DAILY" } else { "MONTHLY" },
            limit: budget.limit,
            tag_filter: format!("user:{key}${value}"),
            notifications,
        });
    }
    Ok((budgets, warnings))
}

/// Notifications per AWS budget.
const MAX_NOTIFICATIONS: usize = 10;
/// E-mail subscribers per AWS notification.
const MAX_EMAILS: usize = 10;

/// AWS budget names: at most 100 characters, no `:` or `\`.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.chars().count() > 100 || name.contains([':', '\\']) {
        bail!(crate::error::Hinted {
            message: format!("the budget name `{name}` is not valid for AWS Budgets"),
            hint: "use at most 100 characters, without `:` or `\\`".into(),
        });
    }
    Ok(())
}

/// The subscribers of a budget: SNS topic ARNs and e-mail addresses, sorted.
fn subscribers(budget: &BudgetConfig) -> Result<Vec<Subscriber>> {
    let mut result = Vec::new();
    for address in &budget.subscribers {
        let address = address.trim();
        let kind = if address.starts_with("arn:aws:sns:") {
            SubscriberKind::Sns
        } else if address.contains('@') {
            SubscriberKind::Email
        } else {
            bail!(crate::error::Hinted {
                message: format!(
                    "budget `{}`: the subscriber `{address}` is neither an e-mail address nor \
                     an SNS topic ARN",
                    budget.name
                ),
                hint: "write `name@example.com` or `arn:aws:sns:REGION:ACCOUNT:TOPIC`".into(),
            });
        };
        result.push(Subscriber { kind, address: address.to_string() });
    }
    result.sort();
    if result.iter().filter(|s| s.kind == SubscriberKind::Sns).count() > 1 {
        bail!("budget `{}`: AWS Budgets takes at most one SNS topic", budget.name);
    }
    if result.iter().filter(|s| s.kind == SubscriberKind::Email).count() > MAX_EMAILS {
        bail!("budget `{}`: AWS Budgets takes at most {MAX_EMAILS} e-mail addresses", budget.name);
    }
    Ok(result)
}

/// An amount as AWS and Terraform want it: plain decimal, no trailing zeros (`2000`, `12.5`).
pub fn amount_text(amount: Money) -> String {
    let text = amount.to_string();
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// The `CreateBudget` request bodies.
pub fn aws_json(budgets: &[AwsBudget], account_id: &str) -> Value {
    let requests: Vec<Value> = budgets
        .iter()
        .map(|budget| {
            let notifications: Vec<Value> = budget
                .notifications
                .iter()
                .map(|n| {
                    let subscribers: Vec<Value> = n
                        .subscribers
                        .iter()
                        .map(|s| {
                            let kind = match s.kind {
                                SubscriberKind::Email => "EMAIL",
                                SubscriberKind::Sns => "SNS",
                            };
                            json!({"SubscriptionType": kind, "Address": s.address})
                        })
                        .collect();
                    json!({
                        "Notification": {
                            "NotificationType": n.kind.aws(),
                            "ComparisonOperator": "GREATER_THAN",
                            "Threshold": n.percent,
                            "ThresholdType": "PERCENTAGE",
                        },
                        "Subscribers": subscribers,
                    })
                })
                .collect();
            json!({
                "AccountId": account_id,
                "Budget": {
                    "BudgetName": budget.name,
                    "BudgetType": "COST",
                    "TimeUnit": budget.time_unit,
                    "BudgetLimit": {"Amount": amount_text(budget.limit), "Unit": "USD"},
                    "CostFilters": {"TagKeyValue": [budget.tag_filter]},
                },
                "NotificationsWithSubscribers": notifications,
            })
        })
        .collect();
    Value::Array(requests)
}

/// Terraform `aws_budgets_budget` resources.
pub fn terraform(budgets: &[AwsBudget]) -> Result<String> {
    let quote = |text: &str| {
        let escaped = text.replace('\\', "\\\\").replace('"', "\\\"").replace("${", "$${");
        format!("\"{escaped}\"")
    };
    let list = |items: Vec<&str>| {
        format!("[{}]", items.into_iter().map(quote).collect::<Vec<_>>().join(", "))
    };
    let mut text = String::new();
    for budget in budgets {
        let mut resource = crate::enrich::taxonomy::canonical_key(&budget.name);
        if !resource.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            resource.insert_str(0, "budget_");
        }
        writeln!(text, "resource \"aws_budgets_budget\" \"{resource}\" {{")?;
        writeln!(text, "  name         = {}", quote(&budget.name))?;
        writeln!(text, "  budget_type  = \"COST\"")?;
        writeln!(text, "  limit_amount = {}", quote(&amount_text(budget.limit)))?;
        writeln!(text, "  limit_unit   = \"USD\"")?;
        writeln!(text, "  time_unit    = {}", quote(budget.time_unit))?;
        writeln!(text, "\n  cost_filter {{\n    name   = \"TagKeyValue\"")?;
        writeln!(text, "    values = {}\n  }}", list(vec![&budget.tag_filter]))?;
        for notification in &budget.notifications {
            let of = |kind: SubscriberKind| {
                notification
                    .subscribers
                    .iter()
                    .filter(|s| s.kind == kind)
                    .map(|s| s.address.as_str())
                    .collect::<Vec<_>>()
            };
            writeln!(text, "\n  notification {{")?;
            writeln!(text, "    comparison_operator        = \"GREATER_THAN\"")?;
            writeln!(text, "    threshold                  = {}", notification.percent)?;
            writeln!(text, "    threshold_type             = \"PERCENTAGE\"")?;
            writeln!(text, "    notification_type          = {}", quote(notification.kind.aws()))?;
            let emails = list(of(SubscriberKind::Email));
            writeln!(text, "    subscriber_email_addresses = {emails}")?;
            writeln!(text, "    subscriber_sns_topic_arns  = {}", list(of(SubscriberKind::Sns)))?;
            writeln!(text, "  }}")?;
        }
        writeln!(text, "}}\n")?;
    }
    Ok(text)
}

/// A dollar amount as a JSON number for gateway APIs (they take floats), at cents.
fn dollars(amount: Money) -> Value {
    amount
        .cents_plain()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// `LiteLLM` budgets: `teams`, `keys`, `users`, `tags`, `router_settings` and
/// `litellm_settings`, each ready for the proxy's management API or its `config.yaml`.
pub fn litellm(config: &Config) -> Result<(Value, Vec<String>)> {
    let mut sections: [(&str, Vec<Value>); 4] =
        [("teams", vec![]), ("keys", vec![]), ("users", vec![]), ("tags", vec![])];
    let mut fallbacks = Vec::new();
    let mut cache_ttl: Option<u64> = None;
    let mut warnings = Vec::new();
    for budget in &config.budgets {
        let scope = Scope::of_budget(budget, config)?;
        let [(key, value)] = scope.pairs.as_slice() else {
            warnings.push(format!(
                "budget `{}` combines several keys, which a LiteLLM budget cannot; it is left \
                 out of the LiteLLM export",
                budget.name
            ));
            continue;
        };
        let (section, id_field, id) = match key.as_str() {
            "team" => (0, "team_alias", value.clone()),
            SCOPE_API_KEY => (1, "key", hashed_api_key(value)),
            SCOPE_USER => (2, "user_id", value.clone()),
            _ => (3, "name", format!("{key}:{value}")),
        };
        let mut entry = serde_json::Map::new();
        entry.insert(id_field.into(), Value::String(id));
        entry.insert("max_budget".into(), dollars(budget.hard()));
        entry.insert("soft_budget".into(), dollars(budget.soft()));
        let duration = if budget.period == "daily" { "1d" } else { "30d" };
        entry.insert("budget_duration".into(), Value::String(duration.into()));
        entry.insert("metadata".into(), json!({"aispend_budget": budget.name}));
        match &budget.action {
            Some(HardLimitAction::Throttle { rpm }) => {
                entry.insert("rpm_limit".into(), Value::from(*rpm));
            }
            Some(HardLimitAction::Route { from, to }) => {
                let fallback = json!({ from.as_str(): [to] });
                if !fallbacks.contains(&fallback) {
                    fallbacks.push(fallback);
                }
            }
            Some(HardLimitAction::Cache { ttl_seconds }) => {
                let ttl = ttl_seconds.unwrap_or(3600);
                cache_ttl = Some(cache_ttl.map_or(ttl, |t| t.min(ttl)));
            }
            None => {}
        }
        sections[section].1.push(Value::Object(entry));
    }
    let mut document = serde_json::Map::new();
    for (name, entries) in sections {
        document.insert(name.into(), Value::Array(entries));
    }
    document.insert("router_settings".into(), json!({ "fallbacks": fallbacks }));
    if let Some(ttl) = cache_ttl {
        document.insert(
            "litellm_settings".into(),
            json!({"cache": true, "cache_params": {"ttl": ttl}}),
        );
    }
    Ok((Value::Object(document), warnings))
}

/// Portkey usage-limit and rate-limit policies.
pub fn portkey(config: &Config) -> Result<(Value, Vec<String>)> {
    let mut usage = Vec::new();
    let mut rates = Vec::new();
    let mut warnings = Vec::new();
    for budget in &config.budgets {
        if budget.period == "daily" {
            warnings.push(format!(
                "budget `{}` is daily; Portkey resets limits monthly or weekly only, so it is \
                 left out of the Portkey export",
                budget.name
            ));
            continue;
        }
        let scope = Scope::of_budget(budget, config)?;
        let conditions: Vec<Value> = scope
            .pairs
            .iter()
            .map(|(key, value)| {
                let value =
                    if key == SCOPE_API_KEY { hashed_api_key(value) } else { value.clone() };
                json!({"key": conditions_key(key), "value": value})
            })
            .collect();
        let group_by: Vec<Value> =
            scope.pairs.iter().map(|(key, _)| json!({"key": conditions_key(key)})).collect();
        let alert = [budget.soft()]
            .into_iter()
            .chain(budget.thresholds.iter().map(|p| budget.limit.mul_ratio(i128::from(*p), 100)))
            .filter(|amount| *amount < budget.hard())
            .max();
        usage.push(json!({
            "name": budget.name,
            "conditions": conditions,
            "group_by": group_by,
            "type": "cost",
            "credit_limit": dollars(budget.hard()),
            "alert_threshold": alert.map_or(Value::Null, dollars),
            "periodic_reset": "monthly",
        }));
        if let Some(HardLimitAction::Throttle { rpm }) = &budget.action {
            rates.push(json!({
                "name": format!("{} rpm", budget.name),
                "conditions": conditions,
                "group_by": group_by,
                "type": "requests",
                "unit": "rpm",
                "value": rpm,
            }));
        }
        if matches!(
            budget.action,
            Some(HardLimitAction::Route { .. } | HardLimitAction::Cache { .. })
        ) {
            warnings.push(format!(
                "budget `{}`: Portkey policies carry limits only; set its `route` or `cache` \
                 action in a Portkey config",
                budget.name
            ));
        }
    }
    Ok((json!({"usage_limits": usage, "rate_limits": rates}), warnings))
}

/// The Portkey dimension of a scope key.
fn conditions_key(key: &str) -> String {
    match key {
        SCOPE_API_KEY => SCOPE_API_KEY.to_string(),
        SCOPE_USER => "metadata._user".to_string(),
        other => format!("metadata.{other}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text).unwrap()
    }

    const SALES: &str = "[[budgets]]\nname = \"dept-sales-monthly\"\n\
        scope = { dept = \"Sales\" }\nlimit = 2000\n\
        subscribers = [\"finops@example.com\", \"arn:aws:sns:us-east-1:123456789012:alerts\"]\n";

    #[test]
    fn sales_budget_exports_three_actual_one_forecast_and_the_tag_filter() {
        let (budgets, warnings) = aws_budgets(&config(SALES)).unwrap();
        assert!(warnings.is_empty());
        let json = aws_json(&budgets, "123456789012");
        let request = &json[0];
        assert_eq!(request["Budget"]["BudgetType"], "COST");
        assert_eq!(request["Budget"]["TimeUnit"], "MONTHLY");
        assert_eq!(request["Budget"]["BudgetLimit"]["Amount"], "2000");
        assert_eq!(request["Budget"]["CostFilters"]["TagKeyValue"][0], "user:dept$sales");
        let notifications = request["NotificationsWithSubscribers"].as_array().unwrap();
        let of = |kind: &str| -> Vec<u64> {
            notifications
                .iter()
                .filter(|n| n["Notification"]["NotificationType"] == kind)
                .map(|n| n["Notification"]["Threshold"].as_u64().unwrap())
                .collect()
        };
        assert_eq!(of("ACTUAL"), [70, 100, 120]);
        assert_eq!(of("FORECASTED"), [100]);
        let subscribers = notifications[0]["Subscribers"].as_array().unwrap();
        assert_eq!(subscribers[0]["SubscriptionType"], "EMAIL");
        assert_eq!(subscribers[1]["SubscriptionType"], "SNS");
    }

    #[test]
    fn key_and_multi_tag_scopes_stay_out_of_aws() {
        let text = "[[budgets]]\nname = \"k\"\nscope = { api_key = \"sk-1\" }\nlimit = 10\n\
                    [[budgets]]\nname = \"two\"\nscope = { dept = \"a\", team = \"b\" }\nlimit = 1\n";
        let (budgets, warnings) = aws_budgets(&config(text)).unwrap();
        assert!(budgets.is_empty());
        assert_eq!(warnings.len(), 2);
    }

    #[test]
    fn terraform_has_filter_and_escapes_nothing_needlessly() {
        let (budgets, _) = aws_budgets(&config(SALES)).unwrap();
        let text = terraform(&budgets).unwrap();
        assert!(text.contains("resource \"aws_budgets_budget\" \"dept_sales_monthly\""), "{text}");
        assert!(text.contains("values = [\"user:dept$sales\"]"), "{text}");
        assert_eq!(text.matches("notification {").count(), 4);
        assert!(text.contains("limit_amount = \"2000\""));
    }

    #[test]
    fn litellm_budgets_with_fallback_and_rpm() {
        let text = "[[budgets]]\nname = \"search\"\nscope = { team = \"search\" }\nlimit = 500\n\
            soft_limit = 400\naction = { kind = \"route\", from = \"gpt-4o\", to = \"gpt-4o-mini\" }\n\
            [[budgets]]\nname = \"bot\"\nscope = { api_key = \"sk-1\" }\nlimit = 10\n\
            period = \"daily\"\naction = { kind = \"throttle\", rpm = 60 }\n";
        let (document, warnings) = litellm(&config(text)).unwrap();
        assert!(warnings.is_empty());
        let team = &document["teams"][0];
        assert_eq!(team["team_alias"], "search");
        assert_eq!(team["max_budget"], 500.0);
        assert_eq!(team["soft_budget"], 400.0);
        assert_eq!(team["budget_duration"], "30d");
        assert_eq!(document["keys"][0]["rpm_limit"], 60);
        assert_eq!(document["keys"][0]["key"], crate::report::ledger::sha256_hex("sk-1"));
        assert_eq!(document["keys"][0]["budget_duration"], "1d");
        assert_eq!(document["router_settings"]["fallbacks"][0]["gpt-4o"][0], "gpt-4o-mini");
    }

    #[test]
    fn portkey_policy_alerts_at_the_soft_limit() {
        let text = "[[budgets]]\nname = \"pilot\"\nscope = { dept = \"sales\" }\nlimit = 2000\n\
                    soft_limit = 1500\n";
        let (document, _) = portkey(&config(text)).unwrap();
        let policy = &document["usage_limits"][0];
        assert_eq!(policy["credit_limit"], 2000.0);
        assert_eq!(policy["alert_threshold"], 1500.0);
        assert_eq!(policy["conditions"][0]["key"], "metadata.dept");
        assert_eq!(policy["periodic_reset"], "monthly");
    }
}
