//! FOCUS Parquet into the canonical frame.
//!
//! The FOCUS columns map one to one onto the canonical ones; a null `EffectiveCost` reads as
//! the billed cost, and a line without an invoice is provisional only when the file has an
//! invoice column at all. Tags go to [`finish`].

use anyhow::Result;
use polars::prelude::*;

use super::super::focus_csv::names as focus;
use super::columns::{Columns, month_of};
use super::owners::{TagInputs, finish};
use crate::enrich::taxonomy::TagPlan;
use crate::model::costs;

/// FOCUS Parquet into the canonical frame.
pub(super) fn frame(frame: LazyFrame, c: &Columns, plan: &TagPlan) -> Result<LazyFrame> {
    let charge_start = c.instant(focus::CHARGE_PERIOD_START);
    let period_start = c.instant(focus::BILLING_PERIOD_START).fill_null(charge_start.clone());
    let category = c.text(focus::CHARGE_CATEGORY);
    let has_invoice = c.find(focus::INVOICE).is_some();
    let invoice = c.text(focus::INVOICE);
    let billed = c.money_or_zero(focus::BILLED_COST);
    let fixed = vec![
        charge_start.fill_null(period_start.clone()).alias(costs::CHARGE_PERIOD_START),
        month_of(period_start).alias(costs::BILLING_PERIOD),
        c.text(focus::PROVIDER).fill_null(lit("")).alias(costs::PROVIDER),
        c.text(focus::BILLING_ACCOUNT).alias(costs::BILLING_ACCOUNT_ID),
        c.text(focus::SUB_ACCOUNT).alias(costs::SUB_ACCOUNT_ID),
        invoice.clone().alias(costs::INVOICE_ID),
        c.text(focus::SERVICE).alias(costs::SERVICE_NAME),
        c.text(focus::REGION).alias(costs::REGION_ID),
        c.text(focus::USAGE_TYPE).alias(costs::USAGE_TYPE),
        category.clone().str().to_lowercase().fill_null(lit("usage")).alias(costs::CHARGE_CATEGORY),
        category.alias(costs::LINE_ITEM_TYPE),
        c.text(focus::RESOURCE).alias(costs::RESOURCE_ID),
        lit(NULL).cast(DataType::String).alias(costs::MODEL),
        lit(NULL).cast(DataType::String).alias(costs::TOKEN_TYPE),
        c.money(focus::CONSUMED_QUANTITY).alias(costs::CONSUMED_QUANTITY),
        c.text(focus::CONSUMED_UNIT).alias(costs::CONSUMED_UNIT),
        billed.clone().alias(costs::BILLED_COST),
        c.money(focus::EFFECTIVE_COST).fill_null(billed).alias(costs::EFFECTIVE_COST),
        c.money(focus::LIST_COST).alias(costs::LIST_COST),
        c.currency(focus::BILLING_CURRENCY).alias(costs::BILLING_CURRENCY),
        lit(c.path.clone()).alias(costs::SOURCE_FILE),
    ];
    let tags = TagInputs {
        tags: c.find(focus::TAGS),
        categories: None,
        account: c.text(focus::SUB_ACCOUNT),
        resource: c.text(focus::RESOURCE),
        prefixed: false,
        path: c.path.clone(),
    };
    let provisional = if has_invoice { invoice.is_null() } else { lit(false) };
    finish(frame, fixed, tags, provisional, plan)
}
