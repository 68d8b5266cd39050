//! FOCUS 1.0, 1.1 and 1.2 CSV exports into canonical `costs` rows.
//!
//! Columns are matched by name without regard to case, extra columns (the sample's `Id`,
//! `x_*`) are ignored, the literal `NULL` is null, `Tags` is a JSON object with unprefixed
//! keys, and zone-less time stamps are UTC. FOCUS carries its own `EffectiveCost`.

use std::collections::HashMap;
use std::io::Read;

use anyhow::{Context as _, Result};

use super::builder::CostRow;
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

/// The canonical charge category of a FOCUS `ChargeCategory`, compared without case.
pub fn charge_category(value: &str) -> String {
    match value.trim().to_ascii_lowercase().as_str() {
        "" => "usage".into(),
        other => other.to_string(),
    }
}

/// Reads one FOCUS CSV stream into `builder`.
pub fn read(
    input: impl Read,
    file: &str,
    plan: &TagPlan,
    each: &mut dyn FnMut(polars::prelude::DataFrame) -> Result<()>,
) -> Result<()> {
    let mut input = std::io::BufReader::new(input);
    let line_offset = super::crlf_line_offset(&mut input);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of `{file}`"))?
        .iter()
        .map(str::to_string)
        .collect();
    super::check_duplicate_columns(file, &headers, &|_| false)?;
    let index: HashMap<String, usize> =
        headers.iter().enumerate().map(|(i, h)| (h.trim().to_ascii_lowercase(), i)).collect();
    if !index.contains_key(&names::BILLED_COST.to_ascii_lowercase()) {
        return Err(crate::error::hinted(
            format!("`{file}` has no `{}` column", names::BILLED_COST),
            "pass FOCUS files with `--focus` and CUR files with `--cur`",
        ));
    }
    if !index.contains_key(&names::BILLING_CURRENCY.to_ascii_lowercase()) {
        tracing::warn!(
            "`{file}` has no `{}` column; its amounts are taken as USD",
            names::BILLING_CURRENCY
        );
    }
    let has_invoice_column = index.contains_key(&names::INVOICE.to_ascii_lowercase());
    let mut pieces = super::PieceWriter::new(file, plan, each);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line) + line_offset;
                return Err(anyhow::Error::new(error)
                    .context(format!("cannot read `{file}` at line {line}")));
            }
        }
        let line = record.position().map_or(0, csv::Position::line) + line_offset;
        let row = Row { record: &record, index: &index, file, line };
        pieces.push(row.to_cost(plan, has_invoice_column)?)?;
    }
    pieces.finish()
}

/// One record with its place in the file.
struct Row<'a> {
    record: &'a csv::StringRecord,
    index: &'a HashMap<String, usize>,
    file: &'a str,
    line: u64,
}

impl Row<'_> {
    /// The trimmed value, with `NULL` read as empty.
    fn text(&self, name: &str) -> &str {
        let value = self
            .index
            .get(&name.to_ascii_lowercase())
            .and_then(|i| self.record.get(*i))
            .map_or("", str::trim);
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
        Money::parse(text).map(Some).map_err(|_| {
            InputError::at_line(self.file, self.line, name, "a decimal number", text)
                .with_hint(
                    "FOCUS amounts are decimals or E-notation, without separators or symbols",
                )
                .into()
        })
    }

    fn required_money(&self, name: &str) -> Result<Money> {
        self.optional_money(name)?.ok_or_else(|| {
            InputError::at_line(
                self.file,
                self.line,
                name,
                "an amount (the column is mandatory in FOCUS)",
                "",
            )
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

    fn to_cost(&self, plan: &TagPlan, has_invoice_column: bool) -> Result<CostRow> {
        let billed = self.required_money(names::BILLED_COST)?;
        let effective = self.optional_money(names::EFFECTIVE_COST)?.unwrap_or(billed);
        let charge_start = self.instant(names::CHARGE_PERIOD_START)?;
        let period_start =
            self.instant(names::BILLING_PERIOD_START)?.or(charge_start).ok_or_else(|| {
                InputError::at_line(
                    self.file,
                    self.line,
                    names::BILLING_PERIOD_START,
                    "a billing period start",
                    "",
                )
            })?;
        let raw_tags = self.text(names::TAGS);
        let pairs = parse_json_tags(raw_tags).map_err(|expected| {
            InputError::at_line(self.file, self.line, names::TAGS, &expected, raw_tags)
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
            provisional: has_invoice_column && invoice_id.is_none(),
            invoice_id,
            service_name: self.optional(names::SERVICE),
            region_id: self.optional(names::REGION),
            usage_type: self.optional(names::USAGE_TYPE),
            charge_category: charge_category(category),
            line_item_type: Some(category.to_string()).filter(|c| !c.is_empty()),
            resource_id: Some(resource.to_string()).filter(|r| !r.is_empty()),
            consumed_quantity: self.optional_money(names::CONSUMED_QUANTITY)?,
            consumed_unit: self.optional(names::CONSUMED_UNIT),
            billed_cost: billed,
            effective_cost: effective,
            list_cost: self.optional_money(names::LIST_COST)?,
            billing_currency: self
                .optional(names::BILLING_CURRENCY)
                .unwrap_or_else(|| "USD".into()),
            tag_conflicts: resolved.conflicts,
            owner_fallbacks: resolved.fallbacks,
            owners: resolved.values,
        })
    }
}
