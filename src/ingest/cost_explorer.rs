//! Cost Explorer `GetCostAndUsage` pages into the canonical `costs` frame.
//!
//! One row per time bucket and group. `UnblendedCost` is the billed cost, `AmortizedCost`
//! the effective cost, `UsageQuantity` the consumed quantity with its unit; the net metrics
//! land in their own columns beside the canonical ones. Amounts are parsed exactly, and the
//! currency is the unit of the cost metrics (two units on one row are an error). Group keys
//! follow the API: a tag or cost category key is `key$value`, split on the first `$`, and
//! `key$` means untagged (a null owner, `__unallocated__` in reports); a dimension key is the
//! bare value. Owners go through the taxonomy like every other source, so aliases and
//! account fallbacks apply. A (period, group) that a later page repeats is counted once and
//! reported in the [`Summary`]. Pure: pages in, frame out.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use chrono::{NaiveDate, TimeZone as _, Utc};
use polars::prelude::*;

use super::builder::{CostBuilder, CostRow, money_column};
use crate::aws::ce::{Amount, CostPage, CostRequest, GroupBy, PeriodResult};
use crate::enrich::taxonomy::{TagPlan, canonical_key};
use crate::error::InputError;
use crate::model::costs;
use crate::money::Money;

/// Metric names of the API.
pub mod names {
    pub const UNBLENDED_COST: &str = "UnblendedCost";
    pub const AMORTIZED_COST: &str = "AmortizedCost";
    pub const NET_UNBLENDED_COST: &str = "NetUnblendedCost";
    pub const NET_AMORTIZED_COST: &str = "NetAmortizedCost";
    pub const USAGE_QUANTITY: &str = "UsageQuantity";
    /// Every metric `fetch` accepts.
    pub const ALL: [&str; 5] =
        [UNBLENDED_COST, AMORTIZED_COST, NET_UNBLENDED_COST, NET_AMORTIZED_COST, USAGE_QUANTITY];
}

/// The `source_file` of rows that came from the API.
pub const SOURCE: &str = "cost-explorer:GetCostAndUsage";

/// What the conversion saw, for the messages of `fetch`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub pages: usize,
    pub rows: usize,
    /// Distinct time buckets.
    pub periods: usize,
    /// Time buckets marked `Estimated`.
    pub estimated_periods: usize,
    /// (period, group) pairs a later page repeated; the first is kept.
    pub duplicates: usize,
    /// The first repeat: period start, group keys, first page, repeating page (1-based).
    pub first_duplicate: Option<(String, String, usize, usize)>,
    /// Billed and effective totals per currency.
    pub totals: BTreeMap<String, (Money, Money)>,
}

/// Converts every page of one request into a canonical frame with the owner columns of
/// `plan`.
pub fn to_costs(
    pages: &[CostPage],
    request: &CostRequest,
    plan: &TagPlan,
) -> Result<(DataFrame, Summary)> {
    let mut summary = Summary { pages: pages.len(), ..Summary::default() };
    let mut builder = CostBuilder::new(plan.names(), SOURCE);
    let mut extras = Extras::new(request);
    let mut seen: HashMap<(String, String, Vec<String>), usize> = HashMap::new();
    let mut periods = std::collections::BTreeSet::new();
    for (page_index, page) in pages.iter().enumerate() {
        let page_number = page_index + 1;
        for result in &page.results {
            if periods.insert((result.start.clone(), result.end.clone())) && result.estimated {
                summary.estimated_periods += 1;
            }
            for (keys, metrics) in lines_of(result, request) {
                let identity = (result.start.clone(), result.end.clone(), keys.clone());
                if let Some(first_page) = seen.get(&identity) {
                    summary.duplicates += 1;
                    summary.first_duplicate.get_or_insert_with(|| {
                        (result.start.clone(), keys.join(","), *first_page, page_number)
                    });
                    continue;
                }
                seen.insert(identity, page_number);
                let place = Place { page: page_number, period: &result.start, keys: &keys };
                let row = row_of(result, &keys, metrics, request, plan, &place)?;
                let totals = summary.totals.entry(row.billing_currency.clone()).or_default();
                totals.0 += row.billed_cost;
                totals.1 += row.effective_cost;
                extras.push(&keys, metrics, &place)?;
                builder.push(row);
            }
        }
    }
    summary.periods = periods.len();
    summary.rows = builder.len();
    let mut frame = builder.finish()?;
    for column in extras.columns() {
        frame.with_column(column)?;
    }
    Ok((frame, summary))
}

/// Where a value came from, for error messages.
struct Place<'a> {
    page: usize,
    period: &'a str,
    keys: &'a [String],
}

impl Place<'_> {
    /// An error about one metric of this line.
    fn error(&self, column: &str, expected: &str, found: &str) -> InputError {
        let group = if self.keys.is_empty() {
            String::new()
        } else {
            format!(", group `{}`", self.keys.join(","))
        };
        InputError {
            file: "Cost Explorer response".into(),
            location: format!("page {}, period `{}`{group}", self.page, self.period),
            column: column.into(),
            expected: expected.into(),
            found: found.into(),
            hint: Some("rerun `aispend fetch`; report the response if it repeats".into()),
        }
    }
}

/// The (group keys, metrics) lines of one time bucket: its groups, or its total when the
/// request has no grouping.
fn lines_of<'a>(
    result: &'a PeriodResult,
    request: &CostRequest,
) -> Vec<(Vec<String>, &'a BTreeMap<String, Amount>)> {
    if request.group_by.is_empty() {
        if result.total.is_empty() {
            return Vec::new();
        }
        return vec![(Vec::new(), &result.total)];
    }
    result.groups.iter().map(|group| (group.keys.clone(), &group.metrics)).collect()
}

/// An exact amount and its unit.
fn amount_of(
    metrics: &BTreeMap<String, Amount>,
    name: &str,
    place: &Place<'_>,
) -> Result<Option<(Money, Option<String>)>> {
    let Some(amount) = metrics.get(name) else { return Ok(None) };
    let text = amount.amount.as_deref().unwrap_or("").trim();
    let value = Money::parse(text).map_err(|_| place.error(name, "a decimal amount", text))?;
    let unit = amount.unit.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(str::to_string);
    Ok(Some((value, unit)))
}

/// A required cost metric and its currency.
fn cost_of(
    metrics: &BTreeMap<String, Amount>,
    name: &str,
    place: &Place<'_>,
) -> Result<(Money, String)> {
    match amount_of(metrics, name, place)? {
        Some((value, Some(unit))) => Ok((value, unit)),
        Some((_, None)) => Err(place.error(name, "an amount with its unit", "no unit").into()),
        None => Err(place.error(name, "the metric", "nothing").into()),
    }
}

/// One canonical row.
fn row_of(
    result: &PeriodResult,
    keys: &[String],
    metrics: &BTreeMap<String, Amount>,
    request: &CostRequest,
    plan: &TagPlan,
    place: &Place<'_>,
) -> Result<CostRow> {
    let start = NaiveDate::parse_from_str(result.start.get(..10).unwrap_or(""), "%Y-%m-%d")
        .map_err(|_| place.error("TimePeriod.Start", "a day `YYYY-MM-DD`", &result.start))?;
    let (billed, currency) = cost_of(metrics, names::UNBLENDED_COST, place)?;
    let (effective, effective_currency) = cost_of(metrics, names::AMORTIZED_COST, place)?;
    if !effective_currency.trim().eq_ignore_ascii_case(currency.trim()) {
        let found = format!("{effective_currency} beside {currency}");
        return Err(place.error(names::AMORTIZED_COST, "one currency per row", &found).into());
    }
    let usage = amount_of(metrics, names::USAGE_QUANTITY, place)?;
    let dimensions = Dimensions::of(keys, request);
    let mut tags = Vec::new();
    for (group, key) in request.group_by.iter().zip(keys) {
        let (name, is_category) = match group {
            GroupBy::Tag(name) => (name, false),
            GroupBy::CostCategory(name) => (name, true),
            GroupBy::Dimension(_) => continue,
        };
        tags.push((canonical_key(name), group_value(key).to_string(), is_category));
    }
    let account = dimensions.get("LINKED_ACCOUNT").unwrap_or_default();
    let owners = plan.resolve(&tags, &account, "");
    let record_type = dimensions.get("RECORD_TYPE");
    let midnight = Utc.from_utc_datetime(&start.and_hms_opt(0, 0, 0).unwrap_or_default());
    Ok(CostRow {
        charge_period_start: Some(midnight),
        billing_period: start.format("%Y-%m").to_string(),
        provider: "AWS".into(),
        sub_account_id: dimensions.get("LINKED_ACCOUNT"),
        service_name: dimensions.get("SERVICE"),
        region_id: dimensions.get("REGION"),
        usage_type: dimensions.get("USAGE_TYPE"),
        charge_category: record_type.as_deref().map_or("usage", charge_category).into(),
        line_item_type: record_type,
        consumed_quantity: usage.as_ref().map(|(value, _)| *value),
        consumed_unit: usage.and_then(|(_, unit)| unit),
        billed_cost: billed,
        effective_cost: effective,
        billing_currency: currency,
        provisional: result.estimated,
        owners: owners.values,
        tag_conflicts: owners.conflicts,
        owner_fallbacks: owners.fallbacks,
        ..CostRow::default()
    })
}

/// The value of a `key$value` group key (the whole key when it has no `$`).
pub fn group_value(key: &str) -> &str {
    key.split_once('$').map_or(key, |(_, value)| value)
}

/// The charge category of a Cost Explorer `RECORD_TYPE` (`Savings Plan Covered Usage`).
fn charge_category(record_type: &str) -> &'static str {
    let compact: String = record_type.split_whitespace().collect();
    match super::cur_csv::charge_category(&compact) {
        "adjustment" => {
            let lower = compact.to_ascii_lowercase();
            if lower.contains("fee") {
                "purchase"
            } else if lower.contains("credit") || lower.contains("discount") {
                "credit"
            } else {
                "adjustment"
            }
        }
        known => known,
    }
}

/// The dimension values of one group, by dimension name.
struct Dimensions(BTreeMap<String, String>);

impl Dimensions {
    fn of(keys: &[String], request: &CostRequest) -> Dimensions {
        let mut values = BTreeMap::new();
        for (group, key) in request.group_by.iter().zip(keys) {
            if let GroupBy::Dimension(name) = group {
                values.insert(name.to_ascii_uppercase(), key.clone());
            }
        }
        Dimensions(values)
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }
}

/// Dimensions without a canonical column, and the net metrics, as extra columns.
struct Extras {
    /// (column name, position of the group key) for dimensions such as `OPERATION`.
    dimension_columns: Vec<(String, usize)>,
    dimension_values: Vec<Vec<Option<String>>>,
    /// (column name, metric) for the net metrics that were asked for.
    net_columns: Vec<(&'static str, &'static str)>,
    net_values: Vec<Vec<Option<Money>>>,
}

/// Dimensions that have a canonical column.
const CANONICAL_DIMENSIONS: [&str; 5] =
    ["LINKED_ACCOUNT", "SERVICE", "REGION", "USAGE_TYPE", "RECORD_TYPE"];

impl Extras {
    fn new(request: &CostRequest) -> Extras {
        let dimension_columns: Vec<(String, usize)> = request
            .group_by
            .iter()
            .enumerate()
            .filter_map(|(index, group)| match group {
                GroupBy::Dimension(name)
                    if !CANONICAL_DIMENSIONS.contains(&name.to_ascii_uppercase().as_str()) =>
                {
                    Some((canonical_key(name), index))
                }
                _ => None,
            })
            .collect();
        let net_columns: Vec<(&'static str, &'static str)> = [
            (costs::NET_BILLED_COST, names::NET_UNBLENDED_COST),
            (costs::NET_EFFECTIVE_COST, names::NET_AMORTIZED_COST),
        ]
        .into_iter()
        .filter(|(_, metric)| request.metrics.iter().any(|m| m == metric))
        .collect();
        Extras {
            dimension_values: vec![Vec::new(); dimension_columns.len()],
            net_values: vec![Vec::new(); net_columns.len()],
            dimension_columns,
            net_columns,
        }
    }

    fn push(
        &mut self,
        keys: &[String],
        metrics: &BTreeMap<String, Amount>,
        place: &Place<'_>,
    ) -> Result<()> {
        for ((_, index), values) in self.dimension_columns.iter().zip(&mut self.dimension_values) {
            values.push(keys.get(*index).filter(|k| !k.is_empty()).cloned());
        }
        for ((_, metric), values) in self.net_columns.iter().zip(&mut self.net_values) {
            values.push(amount_of(metrics, metric, place)?.map(|(value, _)| value));
        }
        Ok(())
    }

    fn columns(self) -> Vec<Column> {
        let mut columns: Vec<Column> = self
            .dimension_columns
            .iter()
            .zip(self.dimension_values)
            .map(|((name, _), values)| Column::new(name.as_str().into(), values))
            .collect();
        for ((name, _), values) in self.net_columns.iter().zip(self.net_values) {
            columns.push(money_column(name, values.into_iter()));
        }
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ce::{Granularity, GroupResult};
    use crate::config::Config;
    use crate::ingest::builder::money_values;

    fn amount(value: &str) -> Amount {
        Amount { amount: Some(value.into()), unit: Some("USD".into()) }
    }

    fn group(key: &str, billed: &str, effective: &str) -> GroupResult {
        let metrics = BTreeMap::from([
            (names::UNBLENDED_COST.to_string(), amount(billed)),
            (names::AMORTIZED_COST.to_string(), amount(effective)),
        ]);
        GroupResult { keys: vec![key.into()], metrics }
    }

    fn day(day: u32, groups: Vec<GroupResult>) -> PeriodResult {
        let start = NaiveDate::from_ymd_opt(2025, 6, day).unwrap();
        PeriodResult {
            start: start.to_string(),
            end: start.succ_opt().unwrap().to_string(),
            estimated: day > 28,
            total: BTreeMap::new(),
            groups,
        }
    }

    fn request(group_by: Vec<GroupBy>) -> CostRequest {
        CostRequest {
            start: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            end: NaiveDate::from_ymd_opt(2025, 7, 1).unwrap(),
            granularity: Granularity::Daily,
            metrics: vec![names::UNBLENDED_COST.into(), names::AMORTIZED_COST.into()],
            group_by,
        }
    }

    /// Days 1-10, 11-20 and 21-30 of June on three pages, each day with a `dept$sales` and
    /// an untagged `dept$` group.
    fn three_pages() -> Vec<CostPage> {
        [1..=10, 11..=20, 21..=30]
            .into_iter()
            .map(|days| CostPage {
                results: days
                    .map(|d| {
                        day(
                            d,
                            vec![
                                group("dept$sales", "21.4009595589", "0.0000000123"),
                                group("dept$", "-0.0000004", "1"),
                            ],
                        )
                    })
                    .collect(),
                next_page_token: None,
            })
            .collect()
    }

    fn plan() -> TagPlan {
        TagPlan::new(&Config::default(), &[])
    }

    fn sums(frame: &DataFrame, column: &str) -> Money {
        money_values(frame.column(column).unwrap()).unwrap().into_iter().flatten().sum()
    }

    #[test]
    fn three_pages_sum_exactly_and_untagged_is_null() {
        let (frame, summary) =
            to_costs(&three_pages(), &request(vec![GroupBy::Tag("dept".into())]), &plan()).unwrap();
        assert_eq!((summary.pages, summary.rows, summary.periods), (3, 60, 30));
        // 30 days x 21.4009595589 = 642.028786767; 30 x -0.0000004 = -0.000012;
        // billed total 642.028786767 - 0.000012 = 642.028774767.
        assert_eq!(sums(&frame, costs::BILLED_COST), Money::parse("642.028774767").unwrap());
        // 30 x 0.0000000123 = 0.000000369; plus 30 x 1 = 30.000000369.
        assert_eq!(sums(&frame, costs::EFFECTIVE_COST), Money::parse("30.000000369").unwrap());
        let dept = frame.column("dept").unwrap().str().unwrap().clone();
        assert_eq!(dept.null_count(), 30, "every `dept$` group is untagged");
        assert_eq!(dept.iter().flatten().filter(|v| *v == "sales").count(), 30);
        // Days 29 and 30 are estimated: 2 periods, 4 rows.
        assert_eq!(summary.estimated_periods, 2);
        let provisional = frame.column(costs::PROVISIONAL).unwrap().bool().unwrap().clone();
        assert_eq!(provisional.sum(), Some(4));
        let usd = summary.totals["USD"];
        assert_eq!(usd.0, Money::parse("642.028774767").unwrap());
    }

    #[test]
    fn a_group_repeated_on_a_later_page_counts_once() {
        let mut pages = three_pages();
        // Page 3 repeats day 10's `dept$sales` group from page 1 with another amount.
        pages[2].results.push(day(10, vec![group("dept$sales", "999", "999")]));
        let (frame, summary) =
            to_costs(&pages, &request(vec![GroupBy::Tag("dept".into())]), &plan()).unwrap();
        assert_eq!(summary.duplicates, 1);
        assert_eq!(summary.first_duplicate, Some(("2025-06-10".into(), "dept$sales".into(), 1, 3)));
        assert_eq!(frame.height(), 60);
        assert_eq!(sums(&frame, costs::BILLED_COST), Money::parse("642.028774767").unwrap());
    }

    #[test]
    fn dimensions_fill_canonical_columns_and_totals_need_no_grouping() {
        let request = request(vec![
            GroupBy::Dimension("SERVICE".into()),
            GroupBy::Dimension("OPERATION".into()),
        ]);
        let mut groups = vec![group("Amazon Bedrock", "2.5", "2.5")];
        groups[0].keys.push("InvokeModel".into());
        let (frame, _) = to_costs(
            &[CostPage { results: vec![day(3, groups)], next_page_token: None }],
            &request,
            &plan(),
        )
        .unwrap();
        let service =
            frame.column(costs::SERVICE_NAME).unwrap().str().unwrap().get(0).map(str::to_string);
        assert_eq!(service.as_deref(), Some("Amazon Bedrock"));
        let operation =
            frame.column("operation").unwrap().str().unwrap().get(0).map(str::to_string);
        assert_eq!(operation.as_deref(), Some("InvokeModel"));

        let mut total = day(4, Vec::new());
        total.total = group("", "7", "6").metrics;
        let page = CostPage { results: vec![total], next_page_token: None };
        let (frame, _) = to_costs(&[page], &super::tests::request(Vec::new()), &plan()).unwrap();
        assert_eq!(sums(&frame, costs::BILLED_COST), Money::from_units(7));
        assert_eq!(
            frame.column(costs::BILLING_PERIOD).unwrap().str().unwrap().get(0),
            Some("2025-06")
        );
    }

    #[test]
    fn bad_amounts_and_missing_units_name_their_place() {
        let page = CostPage {
            results: vec![day(2, vec![group("dept$ads", "1.2.3", "1")])],
            next_page_token: None,
        };
        let error =
            to_costs(&[page], &request(vec![GroupBy::Tag("dept".into())]), &plan()).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("page 1, period `2025-06-02`, group `dept$ads`"), "{text}");
        assert!(text.contains("found `1.2.3`"), "{text}");

        let mut no_unit = group("dept$ads", "1", "1");
        no_unit.metrics.get_mut(names::UNBLENDED_COST).unwrap().unit = None;
        let page = CostPage { results: vec![day(2, vec![no_unit])], next_page_token: None };
        let error =
            to_costs(&[page], &request(vec![GroupBy::Tag("dept".into())]), &plan()).unwrap_err();
        assert!(error.to_string().contains("expected an amount with its unit"), "{error}");
    }

    #[test]
    fn usage_keeps_its_unit_and_net_metrics_get_their_columns() {
        let mut request = request(vec![GroupBy::Tag("dept".into())]);
        request.metrics.extend([names::USAGE_QUANTITY.into(), names::NET_UNBLENDED_COST.into()]);
        let mut line = group("dept$ads", "3.00", "2.75");
        let tokens = Amount { amount: Some("1234567.5".into()), unit: Some("N/A".into()) };
        line.metrics.insert(names::USAGE_QUANTITY.into(), tokens);
        line.metrics.insert(names::NET_UNBLENDED_COST.into(), amount("2.9999999999"));
        let page = CostPage { results: vec![day(7, vec![line])], next_page_token: None };
        let (frame, _) = to_costs(&[page], &request, &plan()).unwrap();
        assert_eq!(sums(&frame, costs::CONSUMED_QUANTITY), Money::parse("1234567.5").unwrap());
        let unit =
            frame.column(costs::CONSUMED_UNIT).unwrap().str().unwrap().get(0).map(str::to_string);
        assert_eq!(unit.as_deref(), Some("N/A"));
        assert_eq!(sums(&frame, costs::NET_BILLED_COST), Money::parse("2.9999999999").unwrap());
        assert!(frame.column(costs::NET_EFFECTIVE_COST).is_err(), "not asked for");
    }

    #[test]
    fn two_currencies_on_one_row_are_refused() {
        let mut line = group("dept$ads", "1", "1");
        line.metrics.get_mut(names::AMORTIZED_COST).unwrap().unit = Some("EUR".into());
        let page = CostPage { results: vec![day(2, vec![line])], next_page_token: None };
        let error = to_costs(&[page], &request(vec![GroupBy::Tag("dept".into())]), &plan());
        assert!(error.unwrap_err().to_string().contains("found `EUR beside USD`"));
    }

    #[test]
    fn record_types_become_charge_categories() {
        assert_eq!(charge_category("Usage"), "usage");
        assert_eq!(charge_category("Savings Plan Covered Usage"), "usage");
        assert_eq!(charge_category("Recurring reservation fee"), "purchase");
        assert_eq!(charge_category("Credit"), "credit");
        assert_eq!(charge_category("Enterprise Discount Program Discount"), "credit");
        assert_eq!(group_value("dept$"), "");
        assert_eq!(group_value("team$a$b"), "a$b");
    }
}
