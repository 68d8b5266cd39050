//! AWS Budgets: create or update cost budgets idempotently.
//!
//! [`BudgetsApi`] is the narrow surface aispend needs (describe a budget and its
//! notifications, create, update, add and remove notifications); [`SdkBudgets`] implements
//! it with `aws-sdk-budgets` and [`FakeBudgets`] in memory for tests. [`plan`] compares the
//! wanted budgets with what the account holds (describe first) and lists the changes:
//! create when missing, update when the limit, time unit or tag filter differ, add and remove
//! notifications by (type, operator, threshold, threshold type). [`apply`] carries them out.
//! Applying twice changes nothing the second time.
// TODO(#5): compare the subscribers of a notification that exists on both sides; AWS needs
// DescribeSubscribersForNotification for that, which moto does not serve.

use std::cell::RefCell;
use std::collections::BTreeMap;

use anyhow::{Context as _, Result};

use crate::money::Money;
use crate::report::budget_export::{
    AwsBudget, Notification, NotificationKind, SubscriberKind, amount_text,
};

/// A notification as the account holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteNotification {
    /// `ACTUAL` or `FORECASTED`.
    pub kind: String,
    /// `GREATER_THAN`, `LESS_THAN` or `EQUAL_TO`.
    pub operator: String,
    pub threshold: f64,
    /// `PERCENTAGE` or `ABSOLUTE_VALUE` (AWS's default is a percentage).
    pub threshold_type: String,
}

impl RemoteNotification {
    /// The remote form of a wanted notification.
    pub fn of(notification: &Notification) -> RemoteNotification {
        RemoteNotification {
            kind: notification.kind.aws().into(),
            operator: "GREATER_THAN".into(),
            threshold: f64::from(notification.percent),
            threshold_type: "PERCENTAGE".into(),
        }
    }

    /// `ACTUAL > 70%`, for plans.
    pub fn label(&self) -> String {
        let unit = if self.threshold_type == "PERCENTAGE" { "%" } else { " USD" };
        let operator = match self.operator.as_str() {
            "GREATER_THAN" => ">",
            "LESS_THAN" => "<",
            _ => "=",
        };
        format!("{} {operator} {}{unit}", self.kind, self.threshold)
    }
}

/// The fields of an existing budget that aispend manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteBudget {
    pub time_unit: String,
    pub limit: Option<Money>,
    pub tag_filters: Vec<String>,
}

/// The calls aispend makes to AWS Budgets.
pub trait BudgetsApi {
    /// The budget, or `None` when the account has none of that name.
    fn describe(&self, account: &str, name: &str) -> Result<Option<RemoteBudget>>;
    /// The notifications of an existing budget.
    fn notifications(&self, account: &str, name: &str) -> Result<Vec<RemoteNotification>>;
    /// Creates a budget with its notifications.
    fn create(&self, account: &str, budget: &AwsBudget) -> Result<()>;
    /// Replaces the limit, time unit and filter of an existing budget.
    fn update(&self, account: &str, budget: &AwsBudget) -> Result<()>;
    /// Adds a notification with its subscribers.
    fn add_notification(&self, account: &str, name: &str, wanted: &Notification) -> Result<()>;
    /// Removes a notification.
    fn remove_notification(
        &self,
        account: &str,
        name: &str,
        old: &RemoteNotification,
    ) -> Result<()>;
}

/// One change to an account's budgets.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Create(AwsBudget),
    Update { budget: AwsBudget, detail: String },
    AddNotification { budget: String, notification: Notification },
    RemoveNotification { budget: String, notification: RemoteNotification },
    Unchanged { budget: String },
}

impl Change {
    /// Budget name, change kind and a description, for the plan table.
    pub fn describe(&self) -> (String, &'static str, String) {
        match self {
            Change::Create(b) => (
                b.name.clone(),
                "create",
                format!(
                    "{} {} USD, {}, {} notifications",
                    b.time_unit,
                    amount_text(b.limit),
                    b.tag_filter,
                    b.notifications.len()
                ),
            ),
            Change::Update { budget, detail } => (budget.name.clone(), "update", detail.clone()),
            Change::AddNotification { budget, notification } => {
                (budget.clone(), "add notification", RemoteNotification::of(notification).label())
            }
            Change::RemoveNotification { budget, notification } => {
                (budget.clone(), "remove notification", notification.label())
            }
            Change::Unchanged { budget } => (budget.clone(), "unchanged", String::new()),
        }
    }
}

/// The changes that make the account hold `wanted`.
pub fn plan(api: &dyn BudgetsApi, account: &str, wanted: &[AwsBudget]) -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    for budget in wanted {
        let Some(remote) = api.describe(account, &budget.name)? else {
            changes.push(Change::Create(budget.clone()));
            continue;
        };
        let before = changes.len();
        let differences = differences(budget, &remote);
        if !differences.is_empty() {
            changes.push(Change::Update { budget: budget.clone(), detail: differences.join("; ") });
        }
        let existing = api.notifications(account, &budget.name)?;
        for notification in &budget.notifications {
            if !existing.contains(&RemoteNotification::of(notification)) {
                changes.push(Change::AddNotification {
                    budget: budget.name.clone(),
                    notification: notification.clone(),
                });
            }
        }
        let wanted: Vec<RemoteNotification> =
            budget.notifications.iter().map(RemoteNotification::of).collect();
        for old in existing.into_iter().filter(|n| !wanted.contains(n)) {
            changes.push(Change::RemoveNotification {
                budget: budget.name.clone(),
                notification: old,
            });
        }
        if changes.len() == before {
            changes.push(Change::Unchanged { budget: budget.name.clone() });
        }
    }
    Ok(changes)
}

/// What differs between a wanted budget and the account's.
fn differences(budget: &AwsBudget, remote: &RemoteBudget) -> Vec<String> {
    let mut found = Vec::new();
    if remote.limit != Some(budget.limit) {
        let before = remote.limit.map_or("none".to_string(), amount_text);
        found.push(format!("limit {before} -> {} USD", amount_text(budget.limit)));
    }
    if remote.time_unit != budget.time_unit {
        found.push(format!("time unit {} -> {}", remote.time_unit, budget.time_unit));
    }
    if remote.tag_filters != [budget.tag_filter.clone()] {
        found.push(format!(
            "tag filter [{}] -> [{}]",
            remote.tag_filters.join(", "),
            budget.tag_filter
        ));
    }
    found
}

/// Carries out a plan.
pub fn apply(api: &dyn BudgetsApi, account: &str, changes: &[Change]) -> Result<()> {
    for change in changes {
        match change {
            Change::Create(budget) => api.create(account, budget),
            Change::Update { budget, .. } => api.update(account, budget),
            Change::AddNotification { budget, notification } => {
                api.add_notification(account, budget, notification)
            }
            Change::RemoveNotification { budget, notification } => {
                api.remove_notification(account, budget, notification)
            }
            Change::Unchanged { .. } => Ok(()),
        }
        .with_context(|| {
            let (name, kind, _) = change.describe();
            format!("`{kind}` failed for the budget `{name}`")
        })?;
    }
    Ok(())
}

/// An in-memory account for tests: budgets by name with their notifications.
#[derive(Debug, Default)]
pub struct FakeBudgets {
    pub budgets: RefCell<BTreeMap<String, (RemoteBudget, Vec<RemoteNotification>)>>,
    /// Every mutating call, in order.
    pub calls: RefCell<Vec<String>>,
}

impl FakeBudgets {
    fn remote(budget: &AwsBudget) -> RemoteBudget {
        RemoteBudget {
            time_unit: budget.time_unit.into(),
            limit: Some(budget.limit),
            tag_filters: vec![budget.tag_filter.clone()],
        }
    }
}

impl BudgetsApi for FakeBudgets {
    fn describe(&self, _account: &str, name: &str) -> Result<Option<RemoteBudget>> {
        Ok(self.budgets.borrow().get(name).map(|(b, _)| b.clone()))
    }

    fn notifications(&self, _account: &str, name: &str) -> Result<Vec<RemoteNotification>> {
        Ok(self.budgets.borrow().get(name).map(|(_, n)| n.clone()).unwrap_or_default())
    }

    fn create(&self, _account: &str, budget: &AwsBudget) -> Result<()> {
        self.calls.borrow_mut().push(format!("create {}", budget.name));
        let notifications = budget.notifications.iter().map(RemoteNotification::of).collect();
        self.budgets
            .borrow_mut()
            .insert(budget.name.clone(), (Self::remote(budget), notifications));
        Ok(())
    }

    fn update(&self, _account: &str, budget: &AwsBudget) -> Result<()> {
        self.calls.borrow_mut().push(format!("update {}", budget.name));
        if let Some(entry) = self.budgets.borrow_mut().get_mut(&budget.name) {
            entry.0 = Self::remote(budget);
        }
        Ok(())
    }

    fn add_notification(&self, _account: &str, name: &str, wanted: &Notification) -> Result<()> {
        self.calls.borrow_mut().push(format!("add {name} {}", wanted.percent));
        if let Some(entry) = self.budgets.borrow_mut().get_mut(name) {
            entry.1.push(RemoteNotification::of(wanted));
        }
        Ok(())
    }

    fn remove_notification(
        &self,
        _account: &str,
        name: &str,
        old: &RemoteNotification,
    ) -> Result<()> {
        self.calls.borrow_mut().push(format!("remove {name} {}", old.threshold));
        if let Some(entry) = self.budgets.borrow_mut().get_mut(name) {
            entry.1.retain(|n| n != old);
        }
        Ok(())
    }
}

/// AWS Budgets through `aws-sdk-budgets`, on a private single-thread runtime.
pub struct SdkBudgets {
    client: aws_sdk_budgets::Client,
    runtime: tokio::runtime::Runtime,
}

impl SdkBudgets {
    /// A client from the usual AWS configuration (environment, profile), with an optional
    /// endpoint for emulators. The region defaults to `us-east-1`, where Budgets lives.
    pub fn connect(endpoint_url: Option<&str>) -> Result<SdkBudgets> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let region = aws_config::meta::region::RegionProviderChain::default_provider()
            .or_else(aws_config::Region::new("us-east-1"));
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).region(region);
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let shared = runtime.block_on(loader.load());
        Ok(SdkBudgets { client: aws_sdk_budgets::Client::new(&shared), runtime })
    }
}

mod sdk {
    //! Conversions between aispend's budget definitions and the SDK's types.

    use anyhow::Result;
    use aws_sdk_budgets::types::{
        Budget, BudgetType, ComparisonOperator, Notification as SdkNotification, NotificationType,
        NotificationWithSubscribers, Spend, Subscriber, SubscriptionType, ThresholdType, TimeUnit,
    };

    use super::{AwsBudget, Notification, NotificationKind, RemoteNotification, SubscriberKind};
    use crate::report::budget_export::amount_text;

    /// The SDK budget. `CostFilters` is deprecated in favour of `FilterExpression`, but it is
    /// the form the exported JSON and Terraform use, and the one emulators understand.
    #[allow(deprecated)]
    pub fn budget(budget: &AwsBudget) -> Result<Budget> {
        let time_unit =
            if budget.time_unit == "DAILY" { TimeUnit::Daily } else { TimeUnit::Monthly };
        Ok(Budget::builder()
            .budget_name(&budget.name)
            .budget_type(BudgetType::Cost)
            .time_unit(time_unit)
            .budget_limit(Spend::builder().amount(amount_text(budget.limit)).unit("USD").build()?)
            .cost_filters("TagKeyValue", vec![budget.tag_filter.clone()])
            .build()?)
    }

    /// The SDK notification of a wanted one.
    pub fn notification(wanted: &Notification) -> Result<SdkNotification> {
        let kind = match wanted.kind {
            NotificationKind::Actual => NotificationType::Actual,
            NotificationKind::Forecasted => NotificationType::Forecasted,
        };
        Ok(SdkNotification::builder()
            .notification_type(kind)
            .comparison_operator(ComparisonOperator::GreaterThan)
            .threshold(f64::from(wanted.percent))
            .threshold_type(ThresholdType::Percentage)
            .build()?)
    }

    /// The SDK notification of one read from the account.
    pub fn remote_notification(old: &RemoteNotification) -> Result<SdkNotification> {
        Ok(SdkNotification::builder()
            .notification_type(NotificationType::from(old.kind.as_str()))
            .comparison_operator(ComparisonOperator::from(old.operator.as_str()))
            .threshold(old.threshold)
            .threshold_type(ThresholdType::from(old.threshold_type.as_str()))
            .build()?)
    }

    /// The SDK subscribers of a notification.
    pub fn subscribers(wanted: &Notification) -> Result<Vec<Subscriber>> {
        wanted
            .subscribers
            .iter()
            .map(|s| {
                let kind = match s.kind {
                    SubscriberKind::Email => SubscriptionType::Email,
                    SubscriberKind::Sns => SubscriptionType::Sns,
                };
                Ok(Subscriber::builder().subscription_type(kind).address(&s.address).build()?)
            })
            .collect()
    }

    /// A notification with its subscribers, for `CreateBudget`.
    pub fn with_subscribers(wanted: &Notification) -> Result<NotificationWithSubscribers> {
        Ok(NotificationWithSubscribers::builder()
            .notification(notification(wanted)?)
            .set_subscribers(Some(subscribers(wanted)?))
            .build()?)
    }
}

impl BudgetsApi for SdkBudgets {
    // Reads `CostFilters` because that is what `create` writes (see `sdk::budget`).
    #[allow(deprecated)]
    fn describe(&self, account: &str, name: &str) -> Result<Option<RemoteBudget>> {
        let call = self.client.describe_budget().account_id(account).budget_name(name).send();
        match self.runtime.block_on(call) {
            Ok(output) => Ok(output.budget().map(|b| RemoteBudget {
                time_unit: b.time_unit().as_str().to_string(),
                limit: b.budget_limit().and_then(|l| Money::parse(l.amount()).ok()),
                tag_filters: b
                    .cost_filters()
                    .and_then(|f| f.get("TagKeyValue"))
                    .cloned()
                    .unwrap_or_default(),
            })),
            Err(error) => {
                let error = error.into_service_error();
                if error.is_not_found_exception() {
                    Ok(None)
                } else {
                    Err(anyhow::Error::new(error).context(format!("cannot describe `{name}`")))
                }
            }
        }
    }

    fn notifications(&self, account: &str, name: &str) -> Result<Vec<RemoteNotification>> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let call = self
                .client
                .describe_notifications_for_budget()
                .account_id(account)
                .budget_name(name)
                .set_next_token(token.clone())
                .send();
            let output = self.runtime.block_on(call).map_err(|e| {
                anyhow::Error::new(e.into_service_error())
                    .context(format!("cannot list the notifications of `{name}`"))
            })?;
            for n in output.notifications() {
                found.push(RemoteNotification {
                    kind: n.notification_type().as_str().to_string(),
                    operator: n.comparison_operator().as_str().to_string(),
                    threshold: n.threshold(),
                    threshold_type: n
                        .threshold_type()
                        .map_or("PERCENTAGE", |t| t.as_str())
                        .to_string(),
                });
            }
            token = output.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }

    fn create(&self, account: &str, budget: &AwsBudget) -> Result<()> {
        let notifications =
            budget.notifications.iter().map(sdk::with_subscribers).collect::<Result<Vec<_>>>()?;
        let call = self
            .client
            .create_budget()
            .account_id(account)
            .budget(sdk::budget(budget)?)
            .set_notifications_with_subscribers(Some(notifications))
            .send();
        self.runtime.block_on(call).map_err(|e| anyhow::Error::new(e.into_service_error()))?;
        Ok(())
    }

    fn update(&self, account: &str, budget: &AwsBudget) -> Result<()> {
        let call =
            self.client.update_budget().account_id(account).new_budget(sdk::budget(budget)?).send();
        self.runtime.block_on(call).map_err(|e| anyhow::Error::new(e.into_service_error()))?;
        Ok(())
    }

    fn add_notification(&self, account: &str, name: &str, wanted: &Notification) -> Result<()> {
        let call = self
            .client
            .create_notification()
            .account_id(account)
            .budget_name(name)
            .notification(sdk::notification(wanted)?)
            .set_subscribers(Some(sdk::subscribers(wanted)?))
            .send();
        self.runtime.block_on(call).map_err(|e| anyhow::Error::new(e.into_service_error()))?;
        Ok(())
    }

    fn remove_notification(
        &self,
        account: &str,
        name: &str,
        old: &RemoteNotification,
    ) -> Result<()> {
        let call = self
            .client
            .delete_notification()
            .account_id(account)
            .budget_name(name)
            .notification(sdk::remote_notification(old)?)
            .send();
        self.runtime.block_on(call).map_err(|e| anyhow::Error::new(e.into_service_error()))?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::report::budget_export::aws_budgets;

    fn wanted(thresholds: &str, limit: u32) -> Vec<AwsBudget> {
        let text = format!(
            "[[budgets]]\nname = \"dept-sales\"\nscope = {{ dept = \"sales\" }}\nlimit = {limit}\n\
             thresholds = {thresholds}\nsubscribers = [\"finops@example.com\"]\n"
        );
        aws_budgets(&Config::parse(&text).unwrap()).unwrap().0
    }

    #[test]
    fn second_apply_changes_nothing() {
        let api = FakeBudgets::default();
        let budgets = wanted("[70, 100, 120]", 2000);
        let first = plan(&api, "1", &budgets).unwrap();
        assert!(matches!(first[0], Change::Create(_)));
        apply(&api, "1", &first).unwrap();
        let second = plan(&api, "1", &budgets).unwrap();
        assert_eq!(second, [Change::Unchanged { budget: "dept-sales".into() }]);
        apply(&api, "1", &second).unwrap();
        assert_eq!(api.calls.borrow().as_slice(), ["create dept-sales"]);
    }

    #[test]
    fn changed_limit_and_ladder_update_in_place() {
        let api = FakeBudgets::default();
        apply(&api, "1", &plan(&api, "1", &wanted("[70, 100, 120]", 2000)).unwrap()).unwrap();
        let changes = plan(&api, "1", &wanted("[80, 100, 120]", 2500)).unwrap();
        let kinds: Vec<&str> = changes.iter().map(|c| c.describe().1).collect();
        assert_eq!(kinds, ["update", "add notification", "remove notification"]);
        assert_eq!(changes[0].describe().2, "limit 2000 -> 2500 USD");
        apply(&api, "1", &changes).unwrap();
        let again = plan(&api, "1", &wanted("[80, 100, 120]", 2500)).unwrap();
        assert!(matches!(again[0], Change::Unchanged { .. }));
    }
}
