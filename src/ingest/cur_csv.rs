//! CUR 1.0 CSV and CUR 2.0 CSV into canonical `costs` rows.
//!
//! Headers are matched by name without regard to case (CUR 1.0 `savingsPlan/SavingsPlanARN`
//! and `SavingsPlanArn` are one column), so months whose columns differ read alike. The
//! effective cost is computed per row from the line item type exactly as FORMATS.md §1.6
//! gives it; an unknown line item type counts at its unblended cost. Split cost allocation
//! child rows (`EKSPod-EC2`, `ECSTask-EC2`) are left out so nothing counts twice.

use std::collections::HashMap;
use std::io::Read;

use anyhow::{Context as _, Result};

use super::builder::CostRow;
use super::time::parse_instant;
use crate::enrich::taxonomy::{TagPlan, cur1_tag_header, cur2_tag_key, parse_json_tags};
use crate::error::InputError;
use crate::money::Money;

/// The two CUR spellings of every column this reader uses: (CUR 1.0, CUR 2.0).
pub mod names {
    pub const USAGE_START: (&str, &str) = ("lineItem/UsageStartDate", "line_item_usage_start_date");
    pub const PERIOD_START: (&str, &str) =
        ("bill/BillingPeriodStartDate", "bill_billing_period_start_date");
    pub const PAYER: (&str, &str) = ("bill/PayerAccountId", "bill_payer_account_id");
    pub const ACCOUNT: (&str, &str) = ("lineItem/UsageAccountId", "line_item_usage_account_id");
    pub const INVOICE: (&str, &str) = ("bill/InvoiceId", "bill_invoice_id");
    pub const PRODUCT_CODE: (&str, &str) = ("lineItem/ProductCode", "line_item_product_code");
    pub const REGION: (&str, &str) = ("product/regionCode", "product_region_code");
    pub const REGION_OLD: (&str, &str) = ("product/region", "product_region");
    pub const USAGE_TYPE: (&str, &str) = ("lineItem/UsageType", "line_item_usage_type");
    pub const OPERATION: (&str, &str) = ("lineItem/Operation", "line_item_operation");
    pub const LINE_ITEM_TYPE: (&str, &str) = ("lineItem/LineItemType", "line_item_line_item_type");
    pub const RESOURCE: (&str, &str) = ("lineItem/ResourceId", "line_item_resource_id");
    pub const USAGE_AMOUNT: (&str, &str) = ("lineItem/UsageAmount", "line_item_usage_amount");
    pub const PRICING_UNIT: (&str, &str) = ("pricing/unit", "pricing_unit");
    pub const UNBLENDED: (&str, &str) = ("lineItem/UnblendedCost", "line_item_unblended_cost");
    pub const PUBLIC_COST: (&str, &str) =
        ("pricing/publicOnDemandCost", "pricing_public_on_demand_cost");
    pub const CURRENCY: (&str, &str) = ("lineItem/CurrencyCode", "line_item_currency_code");
    pub const DESCRIPTION: (&str, &str) =
        ("lineItem/LineItemDescription", "line_item_line_item_description");
    pub const SP_EFFECTIVE: (&str, &str) =
        ("savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost");
    pub const SP_COMMITMENT: (&str, &str) =
        ("savingsPlan/TotalCommitmentToDate", "savings_plan_total_commitment_to_date");
    pub const SP_USED: (&str, &str) =
        ("savingsPlan/UsedCommitment", "savings_plan_used_commitment");
    pub const RI_EFFECTIVE: (&str, &str) =
        ("reservation/EffectiveCost", "reservation_effective_cost");
    pub const RI_UNUSED_UPFRONT: (&str, &str) = (
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
    );
    pub const RI_UNUSED_RECURRING: (&str, &str) =
        ("reservation/UnusedRecurringFee", "reservation_unused_recurring_fee");
    pub const RI_ARN: (&str, &str) =
        ("reservation/ReservationARN", "reservation_reservation_a_r_n");
    pub const TAGS_MAP: &str = "resource_tags";
    pub const COST_CATEGORY_MAP: &str = "cost_category";
}

/// The line item types whose quantity is usage (CID "usage quantity").
pub const USAGE_QUANTITY_TYPES: [&str; 4] =
    ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "FlatRateSubscription"];

/// Operations of split cost allocation child rows, left out to avoid double counting.
pub const SPLIT_CHILD_OPERATIONS: [&str; 2] = ["EKSPod-EC2", "ECSTask-EC2"];

/// The amounts of one line that the effective cost depends on.
#[derive(Debug, Clone, Default)]
pub struct AmortizationInputs<'a> {
    pub line_item_type: &'a str,
    pub unblended: Money,
    pub sp_effective: Money,
    pub sp_commitment: Money,
    pub sp_used: Money,
    pub ri_effective: Money,
    pub ri_unused_upfront: Money,
    pub ri_unused_recurring: Money,
    pub ri_arn: &'a str,
    pub product_code: &'a str,
    pub description: &'a str,
}

/// Effective (amortized) cost of one line, FORMATS.md §1.6.
pub fn effective_cost(line: &AmortizationInputs<'_>) -> Money {
    match line.line_item_type {
        "SavingsPlanCoveredUsage" => line.sp_effective,
        "SavingsPlanRecurringFee" => line.sp_commitment - line.sp_used,
        "SavingsPlanNegation" | "SavingsPlanUpfrontFee" => Money::ZERO,
        "DiscountedUsage" => line.ri_effective,
        "RIFee" => line.ri_unused_upfront + line.ri_unused_recurring,
        "Fee" if !line.ri_arn.trim().is_empty() => Money::ZERO,
        "Refund"
            if line.product_code == "ComputeSavingsPlans"
                && line.description.starts_with("Refund for one-time fee for Savings Plan ID") =>
        {
            Money::ZERO
        }
        _ => line.unblended,
    }
}

/// The canonical charge category of a CUR line item type.
pub fn charge_category(line_item_type: &str) -> &'static str {
    match line_item_type {
        "Usage"
        | "DiscountedUsage"
        | "SavingsPlanCoveredUsage"
        | "SavingsPlanNegation"
        | "FlatRateSubscription" => "usage",
        "Fee" | "RIFee" | "SavingsPlanUpfrontFee" | "SavingsPlanRecurringFee" => "purchase",
        "Tax" => "tax",
        "Credit" => "credit",
        "Refund" => "refund",
        other if other.ends_with("Discount") => "credit",
        _ => "adjustment",
    }
}

/// Header positions of one file, looked up without regard to case.
struct Header {
    index: HashMap<String, usize>,
    names: Vec<String>,
    cur2: bool,
}

impl Header {
    fn new(names: Vec<String>) -> Header {
        let index = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.trim().to_ascii_lowercase(), i))
            .collect();
        let cur2 = names.iter().any(|name| name.eq_ignore_ascii_case(names::UNBLENDED.1));
        Header { index, names, cur2 }
    }

    fn find(&self, pair: (&str, &str)) -> Option<usize> {
        let name = if self.cur2 { pair.1 } else { pair.0 };
        self.index.get(&name.to_ascii_lowercase()).copied()
    }
}

/// Reads one CUR CSV stream into `builder`; `file` names it in messages.
pub fn read(
    input: impl Read,
    file: &str,
    plan: &TagPlan,
    each: &mut dyn FnMut(polars::prelude::DataFrame) -> Result<()>,
) -> Result<ReadStats> {
    let mut input = std::io::BufReader::new(input);
    let line_offset = super::crlf_line_offset(&mut input);
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let header = Header::new(
        reader
            .headers()
            .with_context(|| format!("cannot read the header of `{file}`"))?
            .iter()
            .map(str::to_string)
            .collect(),
    );
    let is_tag = |name: &str| cur1_tag_header(name).is_some();
    super::check_duplicate_columns(file, &header.names, &is_tag)?;
    let Some(unblended) = header.find(names::UNBLENDED) else {
        return Err(crate::error::hinted(
            format!("`{file}` has no `{}` column", names::UNBLENDED.0),
            "pass CUR files with `--cur` and FOCUS files with `--focus`",
        ));
    };
    if header.find(names::CURRENCY).is_none() {
        tracing::warn!("`{file}` has no currency column; its amounts are taken as USD");
    }
    let tag_columns = tag_columns(&header);
    let mut stats = ReadStats::default();
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
        let row = Row { record: &record, header: &header, file, line };
        if SPLIT_CHILD_OPERATIONS.contains(&row.text(names::OPERATION)) {
            stats.split_children += 1;
            continue;
        }
        pieces.push(row.to_cost(unblended, &tag_columns, plan)?)?;
    }
    pieces.finish()?;
    Ok(stats)
}

/// What a reader left out, for the run's messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadStats {
    pub split_children: u64,
}

/// Tag columns of the header: (position, canonical key, is cost category, is a JSON map).
fn tag_columns(header: &Header) -> Vec<(usize, String, bool, bool)> {
    let mut columns = Vec::new();
    for (position, name) in header.names.iter().enumerate() {
        if header.cur2 {
            if name.eq_ignore_ascii_case(names::TAGS_MAP) {
                columns.push((position, String::new(), false, true));
            } else if name.eq_ignore_ascii_case(names::COST_CATEGORY_MAP) {
                columns.push((position, String::new(), true, true));
            }
        } else if let Some(source) = cur1_tag_header(name) {
            columns.push((position, source.key, source.is_cost_category, false));
        }
    }
    columns
}

/// One record with its place in the file.
struct Row<'a> {
    record: &'a csv::StringRecord,
    header: &'a Header,
    file: &'a str,
    line: u64,
}

impl Row<'_> {
    fn text(&self, pair: (&str, &str)) -> &str {
        self.header.find(pair).and_then(|i| self.record.get(i)).map_or("", str::trim)
    }

    fn optional(&self, pair: (&str, &str)) -> Option<String> {
        Some(self.text(pair)).filter(|t| !t.is_empty()).map(str::to_string)
    }

    fn column_name<'b>(&'b self, pair: (&'b str, &'b str)) -> &'b str {
        self.header
            .find(pair)
            .map_or(if self.header.cur2 { pair.1 } else { pair.0 }, |i| &self.header.names[i])
    }

    fn money(&self, pair: (&str, &str)) -> Result<Money> {
        Ok(self.optional_money(pair)?.unwrap_or_default())
    }

    fn optional_money(&self, pair: (&str, &str)) -> Result<Option<Money>> {
        let text = self.text(pair);
        if text.is_empty() {
            return Ok(None);
        }
        Money::parse(text).map(Some).map_err(|_| {
            InputError::at_line(
                self.file,
                self.line,
                self.column_name(pair),
                "a decimal number",
                text,
            )
            .with_hint("check the export; amounts are plain decimals such as `12.5` or `3e-06`")
            .into()
        })
    }

    fn instant(
        &self,
        pair: (&str, &str),
        required: bool,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let text = self.text(pair);
        if text.is_empty() && !required {
            return Ok(None);
        }
        parse_instant(text).map(Some).ok_or_else(|| {
            InputError::at_line(
                self.file,
                self.line,
                self.column_name(pair),
                "a time stamp such as `2025-01-31T23:00:00Z`",
                text,
            )
            .into()
        })
    }

    fn to_cost(
        &self,
        unblended: usize,
        tag_columns: &[(usize, String, bool, bool)],
        plan: &TagPlan,
    ) -> Result<CostRow> {
        let line_item_type = self.text(names::LINE_ITEM_TYPE);
        let unblended_text = self.record.get(unblended).unwrap_or("").trim();
        let billed =
            if unblended_text.is_empty() { Money::ZERO } else { self.money(names::UNBLENDED)? };
        let inputs = AmortizationInputs {
            line_item_type,
            unblended: billed,
            sp_effective: self.money(names::SP_EFFECTIVE)?,
            sp_commitment: self.money(names::SP_COMMITMENT)?,
            sp_used: self.money(names::SP_USED)?,
            ri_effective: self.money(names::RI_EFFECTIVE)?,
            ri_unused_upfront: self.money(names::RI_UNUSED_UPFRONT)?,
            ri_unused_recurring: self.money(names::RI_UNUSED_RECURRING)?,
            ri_arn: self.text(names::RI_ARN),
            product_code: self.text(names::PRODUCT_CODE),
            description: self.text(names::DESCRIPTION),
        };
        let start = self.instant(names::USAGE_START, false)?;
        let period_start = self.instant(names::PERIOD_START, false)?.or(start);
        let Some(period_start) = period_start else {
            return Err(InputError::at_line(
                self.file,
                self.line,
                self.column_name(names::PERIOD_START),
                "a billing period start",
                "",
            )
            .into());
        };
        let account = self.text(names::ACCOUNT);
        let resource = self.text(names::RESOURCE);
        let tags = self.tags(tag_columns)?;
        let resolved = plan.resolve(&tags, account, resource);
        let quantity = if USAGE_QUANTITY_TYPES.contains(&line_item_type) {
            self.optional_money(names::USAGE_AMOUNT)?
        } else {
            None
        };
        let invoice_id = self.optional(names::INVOICE);
        Ok(CostRow {
            charge_period_start: start.or(Some(period_start)),
            billing_period: crate::settings::month_of(period_start),
            provider: "AWS".into(),
            billing_account_id: self.optional(names::PAYER),
            sub_account_id: Some(account.to_string()).filter(|a| !a.is_empty()),
            provisional: invoice_id.is_none(),
            invoice_id,
            service_name: self.optional(names::PRODUCT_CODE),
            region_id: self.optional(names::REGION).or_else(|| self.optional(names::REGION_OLD)),
            usage_type: self.optional(names::USAGE_TYPE),
            charge_category: charge_category(line_item_type).into(),
            line_item_type: Some(line_item_type.to_string()).filter(|t| !t.is_empty()),
            resource_id: Some(resource.to_string()).filter(|r| !r.is_empty()),
            consumed_quantity: quantity,
            consumed_unit: self.optional(names::PRICING_UNIT),
            effective_cost: effective_cost(&inputs),
            billed_cost: billed,
            list_cost: self.optional_money(names::PUBLIC_COST)?,
            billing_currency: self.optional(names::CURRENCY).unwrap_or_else(|| "USD".into()),
            tag_conflicts: resolved.conflicts,
            owner_fallbacks: resolved.fallbacks,
            owners: resolved.values,
        })
    }

    /// (canonical key, value, is cost category) of every tag on the line, in file order.
    fn tags(
        &self,
        tag_columns: &[(usize, String, bool, bool)],
    ) -> Result<Vec<(String, String, bool)>> {
        let mut tags = Vec::new();
        for (position, key, is_category, is_map) in tag_columns {
            let value = self.record.get(*position).unwrap_or("");
            if *is_map {
                let pairs = parse_json_tags(value).map_err(|expected| {
                    InputError::at_line(
                        self.file,
                        self.line,
                        &self.header.names[*position],
                        &expected,
                        value,
                    )
                })?;
                for (map_key, map_value) in pairs {
                    let key = if *is_category {
                        crate::enrich::taxonomy::canonical_key(&map_key)
                    } else {
                        cur2_tag_key(&map_key)
                    };
                    tags.push((key, map_value, *is_category));
                }
            } else if !value.trim().is_empty() {
                tags.push((key.clone(), value.to_string(), *is_category));
            }
        }
        Ok(tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(kind: &'a str, unblended: &str) -> AmortizationInputs<'a> {
        AmortizationInputs {
            line_item_type: kind,
            unblended: Money::parse(unblended).unwrap(),
            ..Default::default()
        }
    }

    #[test]
    fn unknown_line_item_type_counts_unblended() {
        assert_eq!(effective_cost(&line("BrandNewType", "4.2")), Money::parse("4.2").unwrap());
        assert_eq!(charge_category("BrandNewType"), "adjustment");
        assert_eq!(charge_category("EdpDiscount"), "credit");
    }

    #[test]
    fn ri_upfront_fee_with_arn_is_amortized_away() {
        let mut fee = line("Fee", "720");
        fee.ri_arn = "arn:aws:ec2:us-east-1:1:reserved-instances/x";
        assert_eq!(effective_cost(&fee), Money::ZERO);
        assert_eq!(effective_cost(&line("Fee", "50")), Money::from_units(50));
    }
}
