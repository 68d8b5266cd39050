//! Builds a canonical `costs` frame row by row, for the readers that parse text.

use anyhow::Result;
use chrono::{DateTime, Utc};
use polars::prelude::*;

use crate::model::{self, costs};
use crate::money::Money;

/// One canonical invoice line.
#[derive(Debug, Clone, Default)]
pub struct CostRow {
    pub charge_period_start: Option<DateTime<Utc>>,
    pub billing_period: String,
    pub provider: String,
    pub billing_account_id: Option<String>,
    pub sub_account_id: Option<String>,
    pub invoice_id: Option<String>,
    pub service_name: Option<String>,
    pub region_id: Option<String>,
    pub usage_type: Option<String>,
    pub charge_category: String,
    pub line_item_type: Option<String>,
    pub resource_id: Option<String>,
    pub consumed_quantity: Option<Money>,
    pub consumed_unit: Option<String>,
    pub billed_cost: Money,
    pub effective_cost: Money,
    pub list_cost: Option<Money>,
    pub billing_currency: String,
    pub tag_conflicts: u32,
    pub owner_fallbacks: u32,
    pub provisional: bool,
    pub owners: Vec<Option<String>>,
}

/// Column-wise storage of rows until they become a frame.
#[derive(Debug, Default)]
pub struct CostBuilder {
    owner_names: Vec<String>,
    source_file: String,
    rows: Vec<CostRow>,
}

impl CostBuilder {
    /// A builder for rows of one file, with these owner (taxonomy) columns.
    pub fn new(owner_names: Vec<String>, source_file: &str) -> CostBuilder {
        CostBuilder { owner_names, source_file: source_file.to_string(), rows: Vec::new() }
    }

    /// Adds a row.
    pub fn push(&mut self, row: CostRow) {
        self.rows.push(row);
    }

    /// Number of rows so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The canonical frame.
    pub fn finish(self) -> Result<DataFrame> {
        let CostBuilder { owner_names, source_file, rows } = self;
        let rows = &rows;
        let text = |name: &str, get: &dyn Fn(&CostRow) -> Option<&str>| {
            Column::new(name.into(), rows.iter().map(get).collect::<Vec<_>>())
        };
        let money = |name: &str, get: &dyn Fn(&CostRow) -> Option<Money>| {
            money_column(name, rows.iter().map(get))
        };
        let instants: Vec<Option<i64>> =
            rows.iter().map(|r| r.charge_period_start.map(|t| t.timestamp_millis())).collect();
        let mut columns = vec![
            Column::new(costs::CHARGE_PERIOD_START.into(), instants)
                .cast(&model::instant_dtype())?,
            text(costs::BILLING_PERIOD, &|r| Some(r.billing_period.as_str())),
            text(costs::PROVIDER, &|r| Some(r.provider.as_str())),
            text(costs::BILLING_ACCOUNT_ID, &|r| r.billing_account_id.as_deref()),
            text(costs::SUB_ACCOUNT_ID, &|r| r.sub_account_id.as_deref()),
            text(costs::INVOICE_ID, &|r| r.invoice_id.as_deref()),
            text(costs::SERVICE_NAME, &|r| r.service_name.as_deref()),
            text(costs::REGION_ID, &|r| r.region_id.as_deref()),
            text(costs::USAGE_TYPE, &|r| r.usage_type.as_deref()),
            text(costs::CHARGE_CATEGORY, &|r| Some(r.charge_category.as_str())),
            text(costs::LINE_ITEM_TYPE, &|r| r.line_item_type.as_deref()),
            text(costs::RESOURCE_ID, &|r| r.resource_id.as_deref()),
            text(costs::MODEL, &|_| None),
            text(costs::TOKEN_TYPE, &|_| None),
            money(costs::CONSUMED_QUANTITY, &|r| r.consumed_quantity),
            text(costs::CONSUMED_UNIT, &|r| r.consumed_unit.as_deref()),
            money(costs::BILLED_COST, &|r| Some(r.billed_cost)),
            money(costs::EFFECTIVE_COST, &|r| Some(r.effective_cost)),
            money(costs::LIST_COST, &|r| r.list_cost),
            Column::new(
                costs::BILLING_CURRENCY.into(),
                rows.iter().map(|r| currency_code(&r.billing_currency)).collect::<Vec<_>>(),
            ),
            Column::new(costs::SOURCE_FILE.into(), vec![source_file.as_str(); rows.len()]),
            Column::new(
                costs::TAG_CONFLICTS.into(),
                rows.iter().map(|r| r.tag_conflicts).collect::<Vec<u32>>(),
            ),
            Column::new(
                costs::OWNER_FALLBACKS.into(),
                rows.iter().map(|r| r.owner_fallbacks).collect::<Vec<u32>>(),
            ),
            Column::new(
                costs::PROVISIONAL.into(),
                rows.iter().map(|r| r.provisional).collect::<Vec<bool>>(),
            ),
        ];
        for (index, name) in owner_names.iter().enumerate() {
            columns.push(text(name, &|r| r.owners.get(index).and_then(|o| o.as_deref())));
        }
        Ok(DataFrame::new_infer_height(columns)?)
    }
}

/// A currency code trimmed and upper-cased, so `usd` and ` USD` are one currency; a blank
/// one is USD (readers warn of those).
pub fn currency_code(raw: &str) -> std::borrow::Cow<'_, str> {
    let code = raw.trim();
    if code.is_empty() {
        std::borrow::Cow::Borrowed("USD")
    } else if code.bytes().any(|byte| byte.is_ascii_lowercase()) {
        std::borrow::Cow::Owned(code.to_ascii_uppercase())
    } else {
        std::borrow::Cow::Borrowed(code)
    }
}

/// A `Decimal(38, 18)` column from amounts.
pub fn money_column(name: &str, values: impl Iterator<Item = Option<Money>>) -> Column {
    let raw: Int128Chunked = values.map(|value| value.map(Money::raw)).collect();
    raw.with_name(name.into())
        .into_decimal_unchecked(crate::money::PRECISION, crate::money::SCALE as usize)
        .into_series()
        .into_column()
}

/// Reads the amounts of a `Decimal` column (any scale) as [`Money`].
pub fn money_values(column: &Column) -> Result<Vec<Option<Money>>> {
    let column = column.cast(&model::money_dtype())?;
    let decimals = column.decimal()?;
    Ok(decimals.physical().iter().map(|raw| raw.map(Money::from_raw)).collect())
}

/// Reads a `Decimal` column value at `index` as [`Money`] (null is `None`).
pub fn money_at(column: &Column, index: usize) -> Result<Option<Money>> {
    Ok(match column.get(index)? {
        AnyValue::Decimal(raw, _, scale) => Some(rescale(raw, scale)),
        AnyValue::Null => None,
        other => anyhow::bail!("expected a decimal, found {other}"),
    })
}

/// Brings a raw decimal of another scale to scale 18.
fn rescale(raw: i128, scale: usize) -> Money {
    let target = crate::money::SCALE as usize;
    if scale <= target {
        Money::from_raw(raw * 10i128.pow(u32::try_from(target - scale).unwrap_or(0)))
    } else {
        Money::from_raw(crate::money::div_round(
            raw,
            10i128.pow(u32::try_from(scale - target).unwrap_or(0)),
        ))
    }
}
