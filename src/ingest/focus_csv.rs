//! FOCUS 1.0, 1.1 and 1.2 CSV exports into canonical `costs` rows.
//!
//! Columns are matched by name without regard to case, extra columns (the sample's `Id`,
//! `x_*`) are ignored, the literal `NULL` is null, `Tags` is a JSON object with unprefixed
//! keys, and zone-less time stamps are UTC. FOCUS carries its own `EffectiveCost`.
//!
//! What FOCUS makes mandatory is held to: a null `BilledCost` or `EffectiveCost`, a
//! `ChargeCategory` outside Usage, Purchase, Tax, Credit and Adjustment (in any case) and a
//! line without a billing period are errors that name the line. A file without the
//! `EffectiveCost` column counts its effective cost as billed, and one without
//! `ChargeCategory` counts every line as usage, each with a warning.

use std::collections::HashMap;
use std::io::Read;

use anyhow::Result;

use super::builder::CostRow;
use super::cur_csv::records::{Records, separator_error};
use super::time::parse_instant;
use crate::enrich::taxonomy::{TagPlan, canonical_key, parse_json_tags};
use crate::error::InputError;
use crate::money::Money;

/// FOCUS column names this reader uses.
pub mod names {
    pub const BILLED_COST: &str = "BilledCost";
    pub const EFFECTIVE_COST: &str = "EffectiveCost";
    pub const LIST_COST: &str = "ListCost";
    pub const BILLING_CURRENCY: &str = "BillingCurrency";
    pub const BILLING_PERIOD_START: &str = "BillingPeriodStart";
    pub const CHARGE_PERIOD_START: &str = "ChargePeriodStart";
    pub const CHARGE_CATEGORY: &str = "ChargeCategory";
    pub const PROVIDER: &str = "ProviderName";
    pub const BILLING_ACCOUNT: &str = "BillingAccountId";
    pub const SUB_ACCOUNT: &str = "SubAccountId";
    pub const SERVICE: &str = "ServiceName";
    pub const REGION: &str = "RegionId";
    pub const RESOURCE: &str = "ResourceId";
    pub const CONSUMED_QUANTITY: &str = "ConsumedQuantity";
    pub const CONSUMED_UNIT: &str = "ConsumedUnit";
    pub const INVOICE: &str = "InvoiceId";
    pub const TAGS: &str = "Tags";
    pub const USAGE_TYPE: &str = "x_UsageType";
}

/// The FOCUS `ChargeCategory` values (FORMATS.md §3.2); FOCUS's set is closed.
pub const CHARGE_CATEGORIES: [&str; 5] = ["Usage", "Purchase", "Tax", "Credit", "Adjustment"];

/// The canonical charge category of a FOCUS `ChargeCategory` compared without regard to case,
/// or `None` when the value is outside the FOCUS set (or blank).
pub fn charge_category(value: &str) -> Option<&'static str> {
    let value = value.trim();
    let found = CHARGE_CATEGORIES.iter().find(|category| category.eq_ignore_ascii_case(value))?;
    Some(match *found {
        "Usage" => "usage",
        "Purchase" => "purchase",
        "Tax" => "tax",
        "Credit" => "credit",
        _ => "adjustment",
    })
}

/// The warning for a mandatory FOCUS column that the file lacks, with what aispend assumes
/// instead.
pub fn warn_missing_column(file: &str, column: &str, instead: &str) {
    tracing::warn!(
        "`{file}` has no `{column}` column, which FOCUS makes mandatory: {instead}; export the \
         bill with every FOCUS column"
    );
}

/// What aispend assumes when a file lacks `EffectiveCost`.
pub const NO_EFFECTIVE_COST: &str = "its effective cost is taken as its billed cost";
/// What aispend assumes when a file lacks `ChargeCategory`.
pub const NO_CHARGE_CATEGORY: &str = "every line counts as usage";

/// The hint for a mandatory amount that is null.
pub const MANDATORY_HINT: &str =
    "FOCUS exports carry an amount on every line, 0 when nothing is charged; check the export";

/// The hint for a charge category outside the FOCUS set.
pub const CATEGORY_HINT: &str =
    "FOCUS allows only these charge categories (in any case); fix the tool that wrote the file";

/// What a reader expects of `ChargeCategory`.
pub const CATEGORY_EXPECTED: &str = "one of `Usage`, `Purchase`, `Tax`, `Credit`, `Adjustment`";

/// Reads one FOCUS CSV stream, handing `each` its canonical rows piece by piece.
pub fn read(
    input: impl Read,
    file: &str,
    plan: &TagPlan,
    each: &mut dyn FnMut(polars::prelude::DataFrame) -> Result<()>,
) -> Result<()> {
    let mut records = Records::open(input, file)?;
    let headers = records.headers().to_vec();
    super::check_duplicate_columns(file, &headers, &|_| false)?;
    let index: HashMap<String, usize> =
        headers.iter().enumerate().map(|(i, h)| (h.trim().to_ascii_lowercase(), i)).collect();
    let has = |name: &str| index.contains_key(&name.to_ascii_lowercase());
    if !has(names::BILLED_COST) {
        if let Some(error) = separator_error(file, &headers) {
            return Err(error);
        }
        return Err(crate::error::hinted(
            format!("`{file}` has no `{}` column", names::BILLED_COST),
            "pass FOCUS files with `--focus` and CUR files with `--cur`",
        ));
    }
    if !has(names::BILLING_PERIOD_START) && !has(names::CHARGE_PERIOD_START) {
        return Err(crate::error::hinted(
            format!(
                "`{file}` lacks required columns: `{}` or `{}`",
                names::BILLING_PERIOD_START,
                names::CHARGE_PERIOD_START
            ),
            "export the bill with every FOCUS column: aispend needs a date for each line's \
             billing period",
        ));
    }
    if !has(names::BILLING_CURRENCY) {
        tracing::warn!(
            "`{file}` has no `{}` column; its amounts are taken as USD",
            names::BILLING_CURRENCY
        );
    }
    if !has(names::EFFECTIVE_COST) {
        warn_missing_column(file, names::EFFECTIVE_COST, NO_EFFECTIVE_COST);
    }
    if !has(names::CHARGE_CATEGORY) {
        warn_missing_column(file, names::CHARGE_CATEGORY, NO_CHARGE_CATEGORY);
    }
    let facts = FileFacts {
        has_invoice: has(names::INVOICE),
        has_effective: has(names::EFFECTIVE_COST),
        has_category: has(names::CHARGE_CATEGORY),
    };
    let has_currency = has(names::BILLING_CURRENCY);
    let mut blank_currency = 0;
    let mut last_currency: Option<String> = None;
    let mut pieces = super::PieceWriter::new(file, plan, each);
    let mut record = csv::StringRecord::new();
    while let Some(line) = records.next(&mut record)? {
        let row = Row { record: &record, index: &index, file, line };
        let mut cost = row.to_cost(plan, &facts)?;
        // A blank code takes the currency of the line before (USD when none came before).
        if has_currency && row.text(names::BILLING_CURRENCY).is_empty() {
            blank_currency += 1;
            cost.billing_currency = last_currency.clone().unwrap_or_else(|| "USD".to_string());
        } else if last_currency.as_deref() != Some(cost.billing_currency.as_str()) {
            last_currency = Some(cost.billing_currency.clone());
        }
        pieces.push(cost)?;
    }
    pieces.finish()?;
    super::cur_csv::warn_blank_currency(file, names::BILLING_CURRENCY, blank_currency);
    Ok(())
}

/// What every row of one file needs to know about its header.
struct FileFacts {
    has_invoice: bool,
    has_effective: bool,
    has_category: bool,
}

/// One record with its place in the file.
struct Row<'a> {
    record: &'a csv::StringRecord,
    index: &'a HashMap<String, usize>,
    file: &'a str,
    line: u64,
}

impl Row<'_> {
    /// The trimmed cell as written (`NULL` kept), "" when the file lacks the column.
    fn raw(&self, name: &str) -> &str {
        self.index
            .get(&name.to_ascii_lowercase())
            .and_then(|i| self.record.get(*i))
            .map_or("", str::trim)
    }

    /// The trimmed value, with `NULL` read as empty.
    fn text(&self, name: &str) -> &str {
        let value = self.raw(name);
        if value.eq_ignore_ascii_case("null") { "" } else { value }
    }

    fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|t| !t.is_empty()).map(str::to_string)
    }

    fn optional_money(&self, name: &str) -> Result<Option<Money>> {
        let text = self.text(name);
        if text.is_empty() {
            return Ok(None);
        }
        Money::parse(text).map(Some).map_err(|error| {
            InputError::at_line(self.file, self.line, name, error.expected(), text)
                .with_hint(
                    "FOCUS amounts are decimals or E-notation, without separators or symbols",
                )
                .into()
        })
    }

    /// An amount FOCUS makes mandatory and non-null: a blank or `NULL` cell is an error.
    fn required_money(&self, name: &str) -> Result<Money> {
        self.optional_money(name)?.ok_or_else(|| {
            InputError::at_line(
                self.file,
                self.line,
                name,
                &format!("an amount (`{name}` is mandatory and never null in FOCUS)"),
                self.raw(name),
            )
            .with_hint(MANDATORY_HINT)
            .into()
        })
    }

    fn instant(&self, name: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let text = self.text(name);
        if text.is_empty() {
            return Ok(None);
        }
        parse_instant(text).map(Some).ok_or_else(|| {
            InputError::at_line(
                self.file,
                self.line,
                name,
                "a time stamp such as `2024-09-18T22:00:00Z`",
                text,
            )
            .into()
        })
    }

    /// The start of the billing period, else of the charge period; an error when the line
    /// has neither.
    fn period_start(
        &self,
        charge_start: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<chrono::DateTime<chrono::Utc>> {
        if let Some(start) = self.instant(names::BILLING_PERIOD_START)?.or(charge_start) {
            return Ok(start);
        }
        Err(InputError::at_line(
            self.file,
            self.line,
            names::BILLING_PERIOD_START,
            "a billing period start, or else a charge period start",
            self.raw(names::BILLING_PERIOD_START),
        )
        .with_hint(
            "every FOCUS line needs `BillingPeriodStart` (mandatory) to say which month it \
             bills; check the export",
        )
        .into())
    }

    /// The canonical charge category; a value outside the FOCUS set is an error.
    fn charge_category(&self, facts: &FileFacts) -> Result<&'static str> {
        if !facts.has_category {
            return Ok("usage");
        }
        charge_category(self.text(names::CHARGE_CATEGORY)).ok_or_else(|| {
            InputError::at_line(
                self.file,
                self.line,
                names::CHARGE_CATEGORY,
                CATEGORY_EXPECTED,
                self.raw(names::CHARGE_CATEGORY),
            )
            .with_hint(CATEGORY_HINT)
            .into()
        })
    }

    fn to_cost(&self, plan: &TagPlan, facts: &FileFacts) -> Result<CostRow> {
        let billed = self.required_money(names::BILLED_COST)?;
        let effective =
            if facts.has_effective { self.required_money(names::EFFECTIVE_COST)? } else { billed };
        let charge_category = self.charge_category(facts)?;
        let charge_start = self.instant(names::CHARGE_PERIOD_START)?;
        let period_start = self.period_start(charge_start)?;
        let raw_tags = self.text(names::TAGS);
        let pairs = parse_json_tags(raw_tags).map_err(|expected| {
            InputError::at_line(self.file, self.line, names::TAGS, &expected, raw_tags).with_hint(
                "FOCUS tags are a JSON object of text, number or boolean values, such as \
                 `{\"dept\": \"sales\"}`",
            )
        })?;
        let tags: Vec<(String, String, bool)> =
            pairs.into_iter().map(|(key, value)| (canonical_key(&key), value, false)).collect();
        let account = self.text(names::SUB_ACCOUNT);
        let resource = self.text(names::RESOURCE);
        let resolved = plan.resolve(&tags, account, resource);
        let category = self.text(names::CHARGE_CATEGORY);
        let invoice_id = self.optional(names::INVOICE);
        Ok(CostRow {
            charge_period_start: charge_start.or(Some(period_start)),
            billing_period: crate::settings::month_of(period_start),
            provider: self.optional(names::PROVIDER).unwrap_or_default(),
            billing_account_id: self.optional(names::BILLING_ACCOUNT),
            sub_account_id: Some(account.to_string()).filter(|a| !a.is_empty()),
            provisional: facts.has_invoice && invoice_id.is_none(),
            invoice_id,
            service_name: self.optional(names::SERVICE),
            region_id: self.optional(names::REGION),
            usage_type: self.optional(names::USAGE_TYPE),
            charge_category: charge_category.into(),
            line_item_type: Some(category.to_string()).filter(|c| !c.is_empty()),
            resource_id: Some(resource.to_string()).filter(|r| !r.is_empty()),
            consumed_quantity: self.optional_money(names::CONSUMED_QUANTITY)?,
            consumed_unit: self.optional(names::CONSUMED_UNIT),
            billed_cost: billed,
            effective_cost: effective,
            list_cost: self.optional_money(names::LIST_COST)?,
            billing_currency: self.text(names::BILLING_CURRENCY).to_string(),
            tag_conflicts: resolved.conflicts,
            owner_fallbacks: resolved.fallbacks,
            owners: resolved.values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_categories_are_the_focus_set_in_any_case() {
        assert_eq!(charge_category(" usage "), Some("usage"));
        assert_eq!(charge_category("PURCHASE"), Some("purchase"));
        assert_eq!(charge_category("Adjustment"), Some("adjustment"));
        assert_eq!(charge_category("Weird"), None);
        assert_eq!(charge_category(""), None);
    }
}
