//! Lifecycle: zombie models and idle capacity, and the last day each model was used.
//!
//! Bedrock and `SageMaker` lines of the bill become items: provisioned throughput (usage types
//! or resources that name provisioned throughput), `SageMaker` endpoints (`Host:` instance-hour
//! usage types), custom-model storage, and on-demand model spend (lines with a `model`, or
//! token usage types). An item is *used* on a day when a gateway request of that day names
//! it: the request's model (lower-cased, without a `provider/` or inference-profile prefix,
//! also mapped through `[models]`) equals the item's model, resource id or its last segment,
//! or one ends with the other.
//!
//! Capacity that the bill shows in the last `days` days and that no request used in them is
//! a `zombie`; model spend in them without a request is `unrequested`. Retiring either saves
//! its billed cost over the last 30 days, which is the monthly figure given. The run's day,
//! `as_of`, is passed in (the command defaults it to the last day of the bill).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use chrono::NaiveDate;
use polars::prelude::*;

use crate::ingest::builder::money_column;
use crate::model::costs;
use crate::money::Money;
use crate::report::frames::{self, date_column};
use crate::report::request_rows::Request;

/// Days whose billed cost makes the monthly saving.
pub const SAVING_DAYS: i64 = 30;

/// Columns of the lifecycle report.
pub mod columns {
    pub const KIND: &str = "kind";
    pub const STATUS: &str = "status";
    pub const NAME: &str = "name";
    pub const HOURS_BILLED: &str = "hours_billed";
    pub const WINDOW_COST: &str = "billed_cost_window";
    pub const MONTH_COST: &str = "billed_cost_30d";
    pub const LAST_USED: &str = "last_used";
    pub const SAVING: &str = "monthly_saving";
}

/// What a bill line is, for the lifecycle, or `None` when it is none of these.
pub fn item_kind(service: &str, usage_type: &str, resource: &str) -> Option<&'static str> {
    let usage = usage_type.to_ascii_lowercase();
    let service_lower = service.to_ascii_lowercase();
    if usage.contains("provisionedthroughput")
        || usage.contains("provisioned-throughput")
        || resource.contains(":provisioned-model/")
    {
        return Some("provisioned_throughput");
    }
    if service == "AmazonSageMaker" && usage.contains("host:") {
        return Some("sagemaker_endpoint");
    }
    if service_lower.contains("bedrock") {
        if crate::report::retries::hidden_category(service, usage_type) == Some("custom_model") {
            return Some("custom_model_storage");
        }
        if usage.contains("token") || usage.contains("-units") {
            return Some("model_spend");
        }
    }
    None
}

/// The model segment of a Bedrock token usage type (`USE1-Claude3Sonnet-input-tokens` is
/// `Claude3Sonnet`), else the whole usage type.
fn usage_model(usage_type: &str) -> String {
    let rest = usage_type.split_once('-').map_or(usage_type, |(_, rest)| rest);
    for marker in ["-mantle-", "-input-", "-output-", "-cache-"] {
        if let Some(position) = rest.find(marker) {
            return rest[..position].to_string();
        }
    }
    rest.to_string()
}

/// The names a gateway model answers to.
pub fn request_names(model: &str, model_map: &BTreeMap<String, String>) -> Vec<String> {
    let lower = model.trim().to_ascii_lowercase();
    let bare = lower.rsplit_once('/').map_or(lower.as_str(), |(_, b)| b).to_string();
    let mut names = vec![lower.clone(), bare.clone()];
    for prefix in ["us.", "eu.", "apac.", "global.", "jp.", "au."] {
        if let Some(rest) = bare.strip_prefix(prefix) {
            names.push(rest.to_string());
        }
    }
    for (gateway, billing) in model_map {
        let gateway = gateway.to_ascii_lowercase();
        if names.iter().any(|n| n.starts_with(&gateway)) {
            names.push(billing.to_ascii_lowercase());
        }
    }
    names
}

/// True when one of a request's names matches one of an item's names.
fn matches(request: &[String], item: &[String]) -> bool {
    request.iter().any(|r| {
        item.iter().any(|i| {
            !i.is_empty() && !r.is_empty() && (r == i || r.ends_with(i.as_str()) || i.ends_with(r))
        })
    })
}

/// One billed item.
#[derive(Debug, Clone, Default)]
struct Item {
    kind: &'static str,
    service: String,
    region: String,
    name: String,
    resource: String,
    usage_type: String,
    owners: Vec<String>,
    names: Vec<String>,
    hours: BTreeSet<i64>,
    window_cost: Money,
    month_cost: Money,
}

/// The lifecycle report as of `as_of` (inclusive), looking back `days` days.
pub fn lifecycle(
    bill: LazyFrame,
    requests: &[Request],
    keys: &[String],
    model_map: &BTreeMap<String, String>,
    as_of: NaiveDate,
    days: u32,
) -> Result<DataFrame> {
    let end = as_of + chrono::Duration::days(1);
    let window_start = end - chrono::Duration::days(days.into());
    let month_start = end - chrono::Duration::days(SAVING_DAYS);
    let first = window_start.min(month_start);
    let items = billed_items(bill, keys, (first, end), window_start)?;

    // The last day of each gateway model first, so names are matched once per model.
    let mut gateway_last: BTreeMap<String, NaiveDate> = BTreeMap::new();
    for request in requests {
        let (Some(model), Some(day)) = (request.model.as_deref(), request.day) else { continue };
        if day < end {
            let last = gateway_last.entry(model.to_string()).or_insert(day);
            *last = (*last).max(day);
        }
    }
    let mut last_used: BTreeMap<usize, NaiveDate> = BTreeMap::new();
    let mut matched_models: BTreeSet<String> = BTreeSet::new();
    for (model, day) in &gateway_last {
        let names = request_names(model, model_map);
        for (index, item) in items.iter().enumerate() {
            if matches(&names, &item.names) {
                matched_models.insert(model.clone());
                let last = last_used.entry(index).or_insert(*day);
                *last = (*last).max(*day);
            }
        }
    }

    let mut rows: Vec<Row> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let used = last_used.get(&index).copied();
        let recent = used.is_some_and(|d| d >= window_start);
        let billed_recently = !item.window_cost.is_zero() || !item.hours.is_empty();
        let status = match (billed_recently, recent, item.kind) {
            (false, _, _) => "retired",
            (true, true, _) => "in_use",
            (true, false, "model_spend") => "unrequested",
            (true, false, _) => "zombie",
        };
        let saving = matches!(status, "zombie" | "unrequested").then_some(item.month_cost);
        rows.push(Row { item: item.clone(), status, last_used: used, saving });
    }
    for (model, day) in gateway_last.iter().filter(|(m, _)| !matched_models.contains(*m)) {
        let status = if *day >= window_start { "in_use" } else { "unused" };
        let item = Item {
            kind: "gateway_model",
            name: model.clone(),
            owners: vec![String::new(); keys.len()],
            ..Item::default()
        };
        rows.push(Row { item, status, last_used: Some(*day), saving: None });
    }
    rows.sort_by(|a, b| {
        b.saving
            .unwrap_or_default()
            .cmp(&a.saving.unwrap_or_default())
            .then(a.item.kind.cmp(b.item.kind))
            .then(a.item.name.cmp(&b.item.name))
    });
    to_frame(&rows, keys)
}

/// A report row.
struct Row {
    item: Item,
    status: &'static str,
    last_used: Option<NaiveDate>,
    saving: Option<Money>,
}

/// The lifecycle items of the bill in `[from, to)`, with costs in the window and the month.
fn billed_items(
    bill: LazyFrame,
    keys: &[String],
    (from, to): (NaiveDate, NaiveDate),
    window_start: NaiveDate,
) -> Result<Vec<Item>> {
    let at = |day: NaiveDate| {
        lit(crate::settings::midnight(day).timestamp_millis()).cast(crate::model::instant_dtype())
    };
    let service = col(costs::SERVICE_NAME).fill_null(lit(""));
    let relevant = service
        .clone()
        .str()
        .contains_literal(lit("Bedrock"))
        .or(service.str().contains_literal(lit("SageMaker")));
    let mut group: Vec<Expr> = [
        costs::SERVICE_NAME,
        costs::REGION_ID,
        costs::USAGE_TYPE,
        costs::RESOURCE_ID,
        costs::MODEL,
        costs::CHARGE_PERIOD_START,
    ]
    .iter()
    .map(|c| col(*c))
    .collect();
    group.extend(keys.iter().map(|k| col(k.as_str())));
    let lines = bill
        .filter(relevant)
        .filter(col(costs::CHARGE_PERIOD_START).gt_eq(at(from)))
        .filter(col(costs::CHARGE_PERIOD_START).lt(at(to)))
        .group_by(group)
        .agg([col(costs::BILLED_COST).sum()])
        .collect()?;
    let text = |name: &str| frames::strings(&lines, name);
    let (services, regions, usage_types) =
        (text(costs::SERVICE_NAME)?, text(costs::REGION_ID)?, text(costs::USAGE_TYPE)?);
    let (resources, models) = (text(costs::RESOURCE_ID)?, text(costs::MODEL)?);
    let starts = frames::instants(&lines, costs::CHARGE_PERIOD_START)?;
    let billed = frames::moneys(&lines, costs::BILLED_COST)?;
    let owners = frames::owners(&lines, keys)?;
    let mut items: BTreeMap<(String, String, String, String, Vec<String>), Item> = BTreeMap::new();
    for row in 0..lines.height() {
        let service = services[row].clone().unwrap_or_default();
        let usage_type = usage_types[row].clone().unwrap_or_default();
        let resource = resources[row].clone().unwrap_or_default();
        let Some(kind) = item_kind(&service, &usage_type, &resource) else { continue };
        let model = models[row].clone().unwrap_or_else(|| {
            if kind == "model_spend" { usage_model(&usage_type) } else { String::new() }
        });
        let segment = resource.rsplit(['/', ':']).next().unwrap_or("").to_string();
        let name = [&model, &segment, &usage_type].into_iter().find(|n| !n.is_empty());
        let name = name.cloned().unwrap_or_default();
        let identity = if resource.is_empty() { usage_type.clone() } else { resource.clone() };
        let key = (kind.to_string(), service.clone(), identity, model.clone(), owners[row].clone());
        let item = items.entry(key).or_insert_with(|| Item {
            kind,
            service: service.clone(),
            region: regions[row].clone().unwrap_or_default(),
            name,
            resource: resource.clone(),
            usage_type: usage_type.clone(),
            owners: owners[row].clone(),
            names: [model, resource.clone(), segment]
                .into_iter()
                .filter(|n| n.len() >= 3)
                .map(|n| n.to_ascii_lowercase())
                .collect(),
            ..Item::default()
        });
        let cost = billed[row].unwrap_or_default();
        let Some(start) = starts[row] else { continue };
        if start.date_naive() >= window_start {
            item.window_cost += cost;
            item.hours.insert(start.timestamp() / 3600);
        }
        if start.date_naive() >= to - chrono::Duration::days(SAVING_DAYS) {
            item.month_cost += cost;
        }
    }
    Ok(items.into_values().collect())
}

/// The report frame.
fn to_frame(rows: &[Row], keys: &[String]) -> Result<DataFrame> {
    let text = |name: &str, get: &dyn Fn(&Row) -> String| {
        Column::new(name.into(), rows.iter().map(get).collect::<Vec<_>>())
    };
    let mut columns = vec![
        text(columns::KIND, &|r| r.item.kind.to_string()),
        text(columns::STATUS, &|r| r.status.to_string()),
        text(costs::SERVICE_NAME, &|r| r.item.service.clone()),
        text(costs::REGION_ID, &|r| r.item.region.clone()),
        text(columns::NAME, &|r| r.item.name.clone()),
        text(costs::RESOURCE_ID, &|r| r.item.resource.clone()),
        text(costs::USAGE_TYPE, &|r| r.item.usage_type.clone()),
    ];
    for (index, key) in keys.iter().enumerate() {
        columns.push(text(key, &|r| r.item.owners.get(index).cloned().unwrap_or_default()));
    }
    let hours: Vec<u64> = rows.iter().map(|r| r.item.hours.len() as u64).collect();
    columns.push(Column::new(columns::HOURS_BILLED.into(), hours));
    columns.push(money_column(columns::WINDOW_COST, rows.iter().map(|r| Some(r.item.window_cost))));
    columns.push(money_column(columns::MONTH_COST, rows.iter().map(|r| Some(r.item.month_cost))));
    let last: Vec<Option<NaiveDate>> = rows.iter().map(|r| r.last_used).collect();
    columns.push(date_column(columns::LAST_USED, &last)?);
    columns.push(money_column(columns::SAVING, rows.iter().map(|r| r.saving)));
    Ok(DataFrame::new_infer_height(columns)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{TimeZone as _, Utc};

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, n).unwrap()
    }

    /// Hourly lines of $20 for days 1-20 of March on one provisioned model, plus one day of
    /// Claude token spend on 20 March.
    fn bill() -> LazyFrame {
        let mut starts = Vec::new();
        let mut usage = Vec::new();
        let mut resource = Vec::new();
        for d in 1..=20 {
            for hour in 0..24 {
                starts
                    .push(Utc.with_ymd_and_hms(2026, 3, d, hour, 0, 0).unwrap().timestamp_millis());
                usage.push("USE1-ProvisionedThroughput-ModelUnits");
                resource.push("arn:aws:bedrock:us-east-1:1:provisioned-model/pt-support");
            }
        }
        starts.push(Utc.with_ymd_and_hms(2026, 3, 20, 0, 0, 0).unwrap().timestamp_millis());
        usage.push("USE1-Claude3Haiku-input-tokens");
        resource.push("");
        let count = starts.len();
        let mut frame = df!(
            costs::CHARGE_PERIOD_START => starts,
            costs::SERVICE_NAME => vec!["AmazonBedrock"; count],
            costs::REGION_ID => vec!["us-east-1"; count],
            costs::USAGE_TYPE => usage,
            costs::RESOURCE_ID => resource,
            costs::MODEL => vec![None::<&str>; count],
            "team" => vec!["support"; count],
        )
        .unwrap();
        let cost = |i: usize| {
            Some(if i + 1 == count { Money::from_units(7) } else { Money::from_units(20) })
        };
        frame.with_column(money_column(costs::BILLED_COST, (0..count).map(cost))).unwrap();
        frame
            .lazy()
            .with_column(col(costs::CHARGE_PERIOD_START).cast(crate::model::instant_dtype()))
    }

    fn request(d: u32, model: &str) -> Request {
        Request { model: Some(model.into()), day: Some(day(d)), ..Request::default() }
    }

    #[test]
    fn provisioned_throughput_without_requests_is_a_zombie() {
        let keys = ["team".to_string()];
        let requests = [request(19, "bedrock/claude3haiku")];
        let frame = lifecycle(bill(), &requests, &keys, &BTreeMap::new(), day(20), 14).unwrap();
        let status = frame.column(columns::STATUS).unwrap().str().unwrap().get(0).unwrap();
        let kind = frame.column(columns::KIND).unwrap().str().unwrap().get(0).unwrap();
        assert_eq!((kind, status), ("provisioned_throughput", "zombie"));
        let hours = frame.column(columns::HOURS_BILLED).unwrap().u64().unwrap().get(0);
        // Every hour of the last 14 days (7-20 March): 14 x 24 = 336 hours, $6,720.
        assert_eq!(hours, Some(336));
        let window = frames::moneys(&frame, columns::WINDOW_COST).unwrap();
        assert_eq!(window[0], Some(Money::from_units(6720)));
        // The last 30 days hold all 20 billed days: 20 x 24 x $20 = $9,600 a month.
        let saving = frames::moneys(&frame, columns::SAVING).unwrap();
        assert_eq!(saving[0], Some(Money::from_units(9600)));
        // The Claude Haiku spend was requested on the 19th: in use, no saving.
        let last = frames::dates(&frame, columns::LAST_USED).unwrap();
        assert_eq!(last, [None, Some(day(19))]);
        assert_eq!(saving[1], None);
    }

    #[test]
    fn model_spend_without_requests_is_unrequested() {
        let keys = ["team".to_string()];
        let frame =
            lifecycle(bill(), &[request(2, "gpt-4o")], &keys, &BTreeMap::new(), day(20), 14)
                .unwrap();
        let statuses: Vec<&str> =
            frame.column(columns::STATUS).unwrap().str().unwrap().iter().flatten().collect();
        // Zombie ($9,600), unrequested Claude Haiku ($7), and the gateway model last used on
        // the 2nd, outside the 14 days.
        assert_eq!(statuses, ["zombie", "unrequested", "unused"]);
        let last = frames::dates(&frame, columns::LAST_USED).unwrap();
        assert_eq!(last[2], Some(day(2)));
    }

    #[test]
    fn request_names_strip_prefixes_and_map() {
        let map =
            BTreeMap::from([("anthropic.claude-3-haiku".to_string(), "Claude3Haiku".to_string())]);
        let names = request_names("bedrock/us.anthropic.claude-3-haiku-20240307-v1:0", &map);
        assert!(names.contains(&"anthropic.claude-3-haiku-20240307-v1:0".to_string()));
        assert!(names.contains(&"claude3haiku".to_string()));
        assert_eq!(usage_model("USE1-Claude3Haiku-input-tokens"), "Claude3Haiku");
    }
}
