//! The inputs of allocation: invoice lines aggregated to units, owners, and the gateway's
//! tokens per model, token type, day and owner.

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;

use crate::config::SharedCostRule;
use crate::ingest::builder::money_values;
use crate::model::{UNALLOCATED, costs, requests};
use crate::money::Money;

/// An owner: one value per taxonomy key, `__unallocated__` where a key has none.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner(pub Vec<String>);

impl Owner {
    /// The owner of nothing-applied cost.
    pub fn unallocated(width: usize) -> Owner {
        Owner(vec![UNALLOCATED.to_string(); width.max(1)])
    }

    /// An owner known only by its first key (a department).
    pub fn first_only(value: &str, width: usize) -> Owner {
        let mut owner = Owner::unallocated(width);
        owner.0[0] = value.to_string();
        owner
    }

    /// From optional values; missing ones become `__unallocated__`.
    pub fn from_values(values: &[Option<&str>]) -> Owner {
        Owner(
            values
                .iter()
                .map(|v| v.filter(|v| !v.is_empty()).unwrap_or(UNALLOCATED).to_string())
                .collect(),
        )
    }

    /// True when the first key (the department) is known.
    pub fn is_owned(&self) -> bool {
        self.first().is_some_and(|first| first != UNALLOCATED)
    }

    /// True when no key is known.
    pub fn is_unallocated(&self) -> bool {
        !self.is_owned()
    }

    /// The first key's value.
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    /// The value of key `index`.
    pub fn value(&self, index: usize) -> &str {
        self.0.get(index).map_or(UNALLOCATED, String::as_str)
    }
}

/// Invoice lines of one kind on one day, with their owner and amount on one basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostUnit {
    pub billing_period: String,
    /// Days since 1970-01-01 of the charge start.
    pub day: Option<i32>,
    pub account: Option<String>,
    pub service: Option<String>,
    pub usage_type: Option<String>,
    pub charge_category: String,
    pub resource: Option<String>,
    pub model: Option<String>,
    pub token_type: Option<String>,
    pub currency: String,
    pub owner: Owner,
    pub amount: Money,
    /// The bill lines summed into this unit.
    pub lines: u64,
}

impl CostUnit {
    /// (model, token type, day) of an LLM line.
    pub fn llm_key(&self) -> Option<(String, String, i32)> {
        Some((self.model.clone()?, self.token_type.clone()?, self.day?))
    }

    /// (model, token type) of an LLM line.
    pub fn model_and_type(&self) -> Option<(String, String)> {
        Some((self.model.clone()?, self.token_type.clone()?))
    }
}

/// Columns of a `costs` frame that define a unit (besides the owner keys).
const UNIT_COLUMNS: [&str; 10] = [
    costs::BILLING_PERIOD,
    "__day",
    costs::SUB_ACCOUNT_ID,
    costs::SERVICE_NAME,
    costs::USAGE_TYPE,
    costs::CHARGE_CATEGORY,
    costs::RESOURCE_ID,
    costs::MODEL,
    costs::TOKEN_TYPE,
    costs::BILLING_CURRENCY,
];

/// Aggregates a (period-filtered) `costs` frame into units on one basis column.
pub fn units_from_costs(
    frame: LazyFrame,
    keys: &[String],
    basis_column: &str,
    tz: chrono_tz::Tz,
) -> Result<Vec<CostUnit>> {
    let day = col(costs::CHARGE_PERIOD_START)
        .dt()
        .convert_time_zone(TimeZone::from_chrono(&tz))
        .dt()
        .date()
        .alias("__day");
    let mut group: Vec<Expr> =
        UNIT_COLUMNS.iter().filter(|c| **c != "__day").map(|c| col(*c)).collect();
    group.insert(1, day);
    group.extend(keys.iter().map(|k| col(k.as_str())));
    let mut sort_by: Vec<String> = UNIT_COLUMNS.iter().map(|c| (*c).to_string()).collect();
    sort_by.extend(keys.iter().cloned());
    let frame = frame
        .group_by(group)
        .agg([col(basis_column).sum().alias("__amount"), len().alias("__lines")])
        .collect()?
        .sort(sort_by, SortMultipleOptions::default().with_nulls_last(true))?;
    let text = |name: &str| -> Result<StringChunked> {
        Ok(frame.column(name)?.cast(&DataType::String)?.str()?.clone())
    };
    let columns: Vec<StringChunked> =
        UNIT_COLUMNS.iter().filter(|c| **c != "__day").map(|c| text(c)).collect::<Result<_>>()?;
    let owners: Vec<StringChunked> = keys.iter().map(|k| text(k)).collect::<Result<_>>()?;
    let days = frame.column("__day")?.cast(&DataType::Int32)?;
    let days = days.i32()?;
    let amounts = money_values(frame.column("__amount")?)?;
    let lines = frame.column("__lines")?.cast(&DataType::UInt64)?;
    let lines = lines.u64()?;
    let get = |c: usize, row: usize| columns[c].get(row).map(str::to_string);
    Ok((0..frame.height())
        .map(|row| CostUnit {
            billing_period: get(0, row).unwrap_or_default(),
            day: days.get(row),
            account: get(1, row),
            service: get(2, row),
            usage_type: get(3, row),
            charge_category: get(4, row).unwrap_or_default(),
            resource: get(5, row),
            model: get(6, row),
            token_type: get(7, row),
            currency: get(8, row).unwrap_or_else(|| "USD".into()),
            owner: Owner::from_values(&owners.iter().map(|o| o.get(row)).collect::<Vec<_>>()),
            amount: amounts[row].unwrap_or_default(),
            lines: lines.get(row).unwrap_or(0),
        })
        .collect())
}

/// The gateway's usage, shaped for allocation.
#[derive(Debug, Clone, Default)]
pub struct GatewayUsage {
    /// (billing model name, token type, day) to tokens per owner.
    pub tokens_by_owner: BTreeMap<(String, String, i32), BTreeMap<Owner, i128>>,
    /// (billing period, owner) to tokens and requests.
    pub by_period: BTreeMap<(String, Owner), (i128, i128)>,
}

impl GatewayUsage {
    /// Tokens per owner in a billing period.
    pub fn period_tokens(&self, period: &str) -> BTreeMap<Owner, i128> {
        self.by_period
            .iter()
            .filter(|((p, _), _)| p == period)
            .map(|((_, o), (t, _))| (o.clone(), *t))
            .collect()
    }

    /// Requests per owner in a billing period.
    pub fn period_requests(&self, period: &str) -> BTreeMap<Owner, i128> {
        self.by_period
            .iter()
            .filter(|((p, _), _)| p == period)
            .map(|((_, o), (_, r))| (o.clone(), *r))
            .collect()
    }

    /// Adds one request's tokens.
    pub fn add(
        &mut self,
        model: Option<&str>,
        day: i32,
        period: &str,
        owner: &Owner,
        tokens: [(&str, i64); 4],
    ) {
        let mut total = 0i128;
        for (token_type, count) in tokens {
            if count <= 0 {
                continue;
            }
            total += i128::from(count);
            if let Some(model) = model {
                let key = (model.to_string(), token_type.to_string(), day);
                *self.tokens_by_owner.entry(key).or_default().entry(owner.clone()).or_default() +=
                    i128::from(count);
            }
        }
        let entry = self.by_period.entry((period.to_string(), owner.clone())).or_default();
        entry.0 += total;
        entry.1 += 1;
    }
}

/// The gateway usage of a `requests` frame. `billing_name` maps a gateway model to the
/// model name of the bill's lines.
pub fn usage_from_requests(
    frame: &DataFrame,
    keys: &[String],
    billing_name: &dyn Fn(&str) -> Option<String>,
    tz: chrono_tz::Tz,
) -> Result<GatewayUsage> {
    let mut usage = GatewayUsage::default();
    let text = |name: &str| -> Result<StringChunked> {
        Ok(frame.column(name)?.cast(&DataType::String)?.str()?.clone())
    };
    let count = |name: &str| -> Result<Int64Chunked> {
        Ok(frame.column(name)?.cast(&DataType::Int64)?.i64()?.clone())
    };
    let models = text(requests::MODEL)?;
    let owners: Vec<StringChunked> = keys.iter().map(|k| text(k)).collect::<Result<_>>()?;
    let starts = frame.column(requests::START_TIME)?.cast(&DataType::Int64)?;
    let starts = starts.i64()?;
    let (input, output) = (count(requests::INPUT_TOKENS)?, count(requests::OUTPUT_TOKENS)?);
    let (read, write) = (count(requests::CACHE_READ_TOKENS)?, count(requests::CACHE_WRITE_TOKENS)?);
    let cache_hits = frame.column(requests::CACHE_HIT)?.cast(&DataType::Boolean)?;
    let cache_hits = cache_hits.bool()?;
    let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
    for row in 0..frame.height() {
        // A gateway cache hit made no provider call, so it owns none of the bill.
        if cache_hits.get(row).unwrap_or(false) {
            continue;
        }
        let Some(start) = starts.get(row).and_then(chrono::DateTime::from_timestamp_millis) else {
            continue;
        };
        let local = start.with_timezone(&tz);
        let day = i32::try_from(
            (local.date_naive() - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch"))
                .num_days(),
        )?;
        let period = local.format("%Y-%m").to_string();
        let model = models.get(row).unwrap_or("");
        let name = names.entry(model.to_string()).or_insert_with(|| billing_name(model)).clone();
        let owner = Owner::from_values(&owners.iter().map(|o| o.get(row)).collect::<Vec<_>>());
        let tokens = [
            ("input", input.get(row).unwrap_or(0)),
            ("output", output.get(row).unwrap_or(0)),
            ("cache_read", read.get(row).unwrap_or(0)),
            ("cache_write", write.get(row).unwrap_or(0)),
        ];
        usage.add(name.as_deref(), day, &period, &owner, tokens);
    }
    Ok(usage)
}

/// True when every field the rule gives matches the unit (without regard to case; a
/// trailing `*` matches a prefix).
pub fn rule_matches(rule: &SharedCostRule, unit: &CostUnit) -> bool {
    let matcher = &rule.matcher;
    let fits = |pattern: &Option<String>, value: Option<&str>| match pattern {
        None => true,
        Some(pattern) => {
            let value = value.unwrap_or("").to_ascii_lowercase();
            let pattern = pattern.to_ascii_lowercase();
            match pattern.strip_suffix('*') {
                Some(prefix) => value.starts_with(prefix),
                None => value == pattern,
            }
        }
    };
    fits(&matcher.service, unit.service.as_deref())
        && fits(&matcher.account, unit.account.as_deref())
        && fits(&matcher.usage_type, unit.usage_type.as_deref())
        && fits(&matcher.resource, unit.resource.as_deref())
        && fits(&matcher.charge_category, Some(unit.charge_category.as_str()))
}
