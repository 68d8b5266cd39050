//! Chargeback: one statement per department and the journal finance imports.
//!
//! Pure: allocations in, statements and journal lines out. Each department's total is
//! rounded to cents by the largest-remainder method, so the departments sum exactly to the
//! rounded total of the basis; direct cost is rounded the same way, so that its column ties
//! to the exact direct total, and shared cost is the rest, so every statement adds up too.
//! Two currencies are never added.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use crate::allocate::{Allocation, CostUnit};
use crate::config::Config;
use crate::ingest::builder::money_column;
use crate::money::{Money, round_to_cents_preserving_total, round_to_cents_with_target};

/// The cost center credited when the configuration names none.
pub const DEFAULT_CREDIT_COST_CENTER: &str = "aispend-clearing";

/// One department's statement for one month and currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub billing_period: String,
    pub dept: String,
    pub direct_cost: Money,
    pub shared_cost: Money,
    pub total_cost: Money,
    pub currency: String,
    pub budget: Option<Money>,
    pub budget_used: Option<f64>,
    pub provisional: bool,
}

/// Statements from allocations; `provisional` marks months whose invoice id is blank.
pub fn statements(
    allocations: &[Allocation],
    units: &[CostUnit],
    config: &Config,
    provisional: &[String],
) -> Vec<Statement> {
    let mut sums: BTreeMap<(String, String), BTreeMap<String, (Money, Money)>> = BTreeMap::new();
    for allocation in allocations {
        let unit = &units[allocation.unit];
        let scope = (unit.billing_period.clone(), unit.currency.clone());
        let dept = allocation.owner.value(0).to_string();
        let entry = sums.entry(scope).or_default().entry(dept).or_default();
        if allocation.method.is_direct() {
            entry.0 += allocation.amount;
        } else {
            entry.1 += allocation.amount;
        }
    }
    let mut result = Vec::new();
    for ((period, currency), depts) in sums {
        let totals: Vec<Money> = depts.values().map(|(direct, shared)| *direct + *shared).collect();
        let rounded = round_to_cents_preserving_total(&totals);
        let parts: Vec<(Money, Money)> = depts.values().copied().collect();
        let directs = direct_cents(&parts, &rounded);
        for (((dept, _), total), direct) in depts.into_iter().zip(rounded).zip(directs) {
            let budget = monthly_budget(config, &dept);
            result.push(Statement {
                billing_period: period.clone(),
                budget_used: budget.filter(|b| !b.is_zero()).map(|b| crate::money::ratio(total, b)),
                budget,
                dept,
                direct_cost: direct,
                shared_cost: total - direct,
                total_cost: total,
                currency: currency.clone(),
                provisional: provisional.contains(&period),
            });
        }
    }
    result
}

/// The direct cost of each department in cents, given each department's rounded total:
/// a department with only direct (or only shared) cost keeps all (or none) of its total;
/// the others share the rest of the rounded direct total by the largest remainder, so that
/// the direct column ties to the exact direct total whenever the cents allow.
fn direct_cents(parts: &[(Money, Money)], totals: &[Money]) -> Vec<Money> {
    let exact: Money = parts.iter().map(|(direct, _)| *direct).sum();
    let mut result: Vec<Option<Money>> = parts
        .iter()
        .zip(totals)
        .map(|((direct, shared), total)| {
            if shared.is_zero() {
                Some(*total)
            } else if direct.is_zero() {
                Some(Money::ZERO)
            } else {
                None
            }
        })
        .collect();
    let free: Vec<usize> = (0..parts.len()).filter(|i| result[*i].is_none()).collect();
    let fixed: Money = result.iter().flatten().copied().sum();
    let values: Vec<Money> = free.iter().map(|i| parts[*i].0).collect();
    let floors: i128 = values.iter().map(|v| v.raw().div_euclid(crate::money::ONE / 100)).sum();
    let free_count = i128::try_from(free.len()).unwrap_or(0);
    let target = (exact.round_cents() - fixed.round_cents()).clamp(floors, floors + free_count);
    for (index, cents) in free.into_iter().zip(round_to_cents_with_target(&values, target)) {
        result[index] = Some(cents);
    }
    result.into_iter().map(Option::unwrap_or_default).collect()
}

/// The limit of a monthly budget whose scope is exactly this department.
fn monthly_budget(config: &Config, dept: &str) -> Option<Money> {
    let first_key = config.taxonomy.keys.first()?;
    config
        .budgets
        .iter()
        .find(|b| {
            b.period == "monthly"
                && b.scope.len() == 1
                && b.scope.get(first_key).is_some_and(|v| v.trim().eq_ignore_ascii_case(dept))
        })
        .map(|b| b.limit)
}

/// The statements as a frame: `billing_period, dept, direct_cost, shared_cost, total_cost,
/// currency, budget, budget_used, provisional`.
pub fn statements_frame(statements: &[Statement], dept_column: &str) -> Result<DataFrame> {
    let text = |name: &str, get: &dyn Fn(&Statement) -> String| {
        Column::new(name.into(), statements.iter().map(get).collect::<Vec<_>>())
    };
    let money = |name: &str, get: &dyn Fn(&Statement) -> Option<Money>| {
        money_column(name, statements.iter().map(get))
    };
    Ok(DataFrame::new_infer_height(vec![
        text("billing_period", &|s| s.billing_period.clone()),
        text(dept_column, &|s| s.dept.clone()),
        money("direct_cost", &|s| Some(s.direct_cost)),
        money("shared_cost", &|s| Some(s.shared_cost)),
        money("total_cost", &|s| Some(s.total_cost)),
        text("currency", &|s| s.currency.clone()),
        money("budget", &|s| s.budget),
        Column::new(
            "budget_used".into(),
            statements.iter().map(|s| s.budget_used).collect::<Vec<_>>(),
        ),
        Column::new(
            "provisional".into(),
            statements.iter().map(|s| s.provisional).collect::<Vec<_>>(),
        ),
    ])?)
}

/// The journal: `period,debit_cost_center,credit_cost_center,amount,currency,memo`, one line
/// per department and month, amounts in cents. Departments without a cost center are
/// debited as `dept:<name>` and reported by the caller.
pub fn journal_frame(statements: &[Statement], config: &Config, basis: &str) -> Result<DataFrame> {
    let credit = config
        .chargeback
        .credit_cost_center
        .clone()
        .unwrap_or_else(|| DEFAULT_CREDIT_COST_CENTER.into());
    let debit = |s: &Statement| cost_center(config, &s.dept);
    let memo = |s: &Statement| {
        let state = if s.provisional { ", provisional: invoice not issued" } else { "" };
        format!("aispend chargeback {} {} ({basis} cost){state}", s.billing_period, s.dept)
    };
    Ok(DataFrame::new_infer_height(vec![
        Column::new(
            "period".into(),
            statements.iter().map(|s| s.billing_period.clone()).collect::<Vec<_>>(),
        ),
        Column::new("debit_cost_center".into(), statements.iter().map(debit).collect::<Vec<_>>()),
        Column::new("credit_cost_center".into(), vec![credit; statements.len()]),
        // Decimal cents, so that Parquet readers get a number and CSV shows `857.25`.
        money_column("amount", statements.iter().map(|s| Some(s.total_cost))),
        Column::new(
            "currency".into(),
            statements.iter().map(|s| s.currency.clone()).collect::<Vec<_>>(),
        ),
        Column::new("memo".into(), statements.iter().map(memo).collect::<Vec<_>>()),
    ])?)
}

/// The cost center of a department, or `dept:<name>` when the configuration has none.
pub fn cost_center(config: &Config, dept: &str) -> String {
    config
        .chargeback
        .cost_centers
        .iter()
        .find(|(name, _)| name.trim().eq_ignore_ascii_case(dept))
        .map_or_else(|| format!("dept:{dept}"), |(_, center)| center.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocate::{Method, Owner};

    fn unit(amount: &str) -> CostUnit {
        CostUnit {
            billing_period: "2025-01".into(),
            day: None,
            account: None,
            service: None,
            usage_type: None,
            charge_category: "usage".into(),
            resource: None,
            model: None,
            token_type: None,
            currency: "USD".into(),
            owner: Owner::unallocated(1),
            amount: Money::parse(amount).unwrap(),
            lines: 1,
        }
    }

    #[test]
    fn departments_sum_to_the_rounded_total() {
        // One shared line of $100.00 split three ways at full scale gives 33.333...; the
        // cents must be 33.34 + 33.33 + 33.33 = 100.00.
        let units = vec![unit("100")];
        let third = Money::parse("100").unwrap().mul_ratio(1, 3);
        let allocations: Vec<Allocation> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, dept)| Allocation {
                unit: 0,
                owner: Owner(vec![(*dept).to_string()]),
                amount: if i == 0 { Money::parse("100").unwrap() - third - third } else { third },
                method: Method::Rule,
                rule: Some("even".into()),
            })
            .collect();
        let statements = statements(&allocations, &units, &Config::default(), &[]);
        let cents: Vec<String> = statements.iter().map(|s| s.total_cost.cents_plain()).collect();
        assert_eq!(cents, ["33.34", "33.33", "33.33"]);
        assert!(
            statements.iter().all(|s| s.direct_cost.is_zero() && s.shared_cost == s.total_cost)
        );
    }

    proptest::proptest! {
        #[test]
        fn chargeback_sums_to_the_rounded_invoice(amounts in proptest::collection::vec((0usize..5, -10_000_000i64..1_000_000_000, proptest::bool::ANY), 1..60)) {
            // Amounts with 9 decimals, over five departments, direct or shared.
            let units = vec![unit("0")];
            let allocations: Vec<Allocation> = amounts
                .iter()
                .map(|(dept, raw, direct)| Allocation {
                    unit: 0,
                    owner: Owner(vec![format!("d{dept}")]),
                    amount: Money::from_raw(i128::from(*raw) * 1_000_000_000),
                    method: if *direct { Method::Tags } else { Method::Rule },
                    rule: None,
                })
                .collect();
            let invoice: Money = allocations.iter().map(|a| a.amount).sum();
            let statements = statements(&allocations, &units, &Config::default(), &[]);
            let total: Money = statements.iter().map(|s| s.total_cost).sum();
            proptest::prop_assert_eq!(total, invoice.rounded_to_cents());
            for statement in &statements {
                proptest::prop_assert_eq!(statement.direct_cost + statement.shared_cost, statement.total_cost);
                proptest::prop_assert_eq!(statement.total_cost, statement.total_cost.rounded_to_cents());
            }
        }
    }

    #[test]
    fn direct_cost_rounds_as_a_column() {
        // Direct 419.0245 and 100.0049 with shared 0.0006 and 0.0000: totals 419.0251 →
        // 419.03 and 100.0049 → 100.00 (519.03). `b` has only direct cost, so its direct is
        // its total, 100.00; the direct total 519.0294 → 519.03 leaves `a` 419.03, shared
        // 0.00. The direct column (519.03) ties to the exact direct total.
        let units = vec![unit("0")];
        let direct = |dept: &str, amount: &str, method: Method| Allocation {
            unit: 0,
            owner: Owner(vec![dept.to_string()]),
            amount: Money::parse(amount).unwrap(),
            method,
            rule: None,
        };
        let allocations = vec![
            direct("a", "419.0245", Method::Tags),
            direct("a", "0.0006", Method::Rule),
            direct("b", "100.0049", Method::Tags),
        ];
        let statements = statements(&allocations, &units, &Config::default(), &[]);
        let shown: Vec<(String, String, String)> = statements
            .iter()
            .map(|s| {
                (
                    s.direct_cost.cents_plain(),
                    s.shared_cost.cents_plain(),
                    s.total_cost.cents_plain(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                ("419.03".into(), "0.00".into(), "419.03".into()),
                ("100.00".into(), "0.00".into(), "100.00".into())
            ]
        );
    }

    #[test]
    fn journal_uses_cost_centers() {
        let config = Config::parse("[chargeback]\ncredit_cost_center = \"IT-9000\"\n[chargeback.cost_centers]\nsales = \"CC-100\"\n").unwrap();
        assert_eq!(cost_center(&config, "sales"), "CC-100");
        assert_eq!(cost_center(&config, "ops"), "dept:ops");
    }
}
