//! CUR 1.0 CSV and CUR 2.0 CSV into canonical `costs` rows.
//!
//! Headers are matched by name without regard to case (CUR 1.0 `savingsPlan/SavingsPlanARN`
//! and `SavingsPlanArn` are one column), so months whose columns differ read alike. The
//! effective cost is computed per row from the line item type exactly as FORMATS.md §1.6
//! gives it (see [`amortization`]); an unknown line item type counts at its unblended cost.
//! Split cost allocation child rows (`EKSPod-EC2`, `ECSTask-EC2`, in any case) are left out
//! so nothing counts twice.
//!
//! A line must say which month it bills: a line with neither a billing period start nor a
//! usage start is an error, as is a file without the columns for them. Currency codes are
//! trimmed and upper-cased; a blank one is USD, with a warning that counts such lines.

pub mod amortization;
pub mod records;

use std::collections::HashMap;
use std::io::Read;

use anyhow::Result;

use super::builder::CostRow;
use super::time::parse_instant;
use crate::enrich::taxonomy::{TagPlan, cur1_tag_header, cur2_tag_key, parse_json_tags};
use crate::error::{InputError, hinted};
use crate::money::Money;
pub use amortization::{
    Commitment, LineItemType, SPLIT_CHILD_OPERATIONS, amortization, is_split_child,
};

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

/// Effective (amortized) cost of one line of a file that has every amortization column,
/// FORMATS.md §1.6.
pub fn effective_cost(line: &AmortizationInputs<'_>) -> Money {
    use amortization::Amount;
    let kind = LineItemType::parse(line.line_item_type);
    let (rule, _) = amortization(kind, line.ri_arn, line.product_code, line.description);
    let amount = |which: Amount| -> Result<Money, std::convert::Infallible> {
        Ok(match which {
            Amount::SpEffective => line.sp_effective,
            Amount::SpCommitment => line.sp_commitment,
            Amount::SpUsed => line.sp_used,
            Amount::RiEffective => line.ri_effective,
            Amount::RiUnusedUpfront => line.ri_unused_upfront,
            Amount::RiUnusedRecurring => line.ri_unused_recurring,
        })
    };
    match rule.apply(line.unblended, amount) {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

/// The canonical charge category of a CUR line item type, in any case.
pub fn charge_category(line_item_type: &str) -> &'static str {
    LineItemType::parse(line_item_type).charge_category()
}

/// The (CUR 1.0, CUR 2.0) names of the column of each amortization amount.
fn amount_column(amount: amortization::Amount) -> (&'static str, &'static str) {
    use amortization::Amount;
    match amount {
        Amount::SpEffective => names::SP_EFFECTIVE,
        Amount::SpCommitment => names::SP_COMMITMENT,
        Amount::SpUsed => names::SP_USED,
        Amount::RiEffective => names::RI_EFFECTIVE,
        Amount::RiUnusedUpfront => names::RI_UNUSED_UPFRONT,
        Amount::RiUnusedRecurring => names::RI_UNUSED_RECURRING,
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
        let cur2 = names.iter().any(|name| name.trim().eq_ignore_ascii_case(names::UNBLENDED.1));
        Header { index, names, cur2 }
    }

    fn find(&self, pair: (&str, &str)) -> Option<usize> {
        self.index.get(&self.spelling(pair).to_ascii_lowercase()).copied()
    }

    /// The name of a column in this file's flavour of CUR.
    fn spelling<'b>(&self, pair: (&'b str, &'b str)) -> &'b str {
        if self.cur2 { pair.1 } else { pair.0 }
    }

    /// Fails unless the header has the columns every line needs: the unblended cost, the
    /// line item type, and a billing period start or a usage start.
    fn check_required(&self, file: &str) -> Result<()> {
        if self.find(names::UNBLENDED).is_none() {
            if let Some(error) = records::separator_error(file, &self.names) {
                return Err(error);
            }
            return Err(hinted(
                format!("`{file}` has no `{}` column", names::UNBLENDED.0),
                "pass CUR files with `--cur` and FOCUS files with `--focus`",
            ));
        }
        let mut missing = Vec::new();
        if self.find(names::LINE_ITEM_TYPE).is_none() {
            missing.push(format!("`{}`", self.spelling(names::LINE_ITEM_TYPE)));
        }
        if self.find(names::PERIOD_START).is_none() && self.find(names::USAGE_START).is_none() {
            missing.push(format!(
                "`{}` or `{}`",
                self.spelling(names::PERIOD_START),
                self.spelling(names::USAGE_START)
            ));
        }
        if missing.is_empty() {
            return Ok(());
        }
        Err(hinted(
            format!("`{file}` lacks required columns: {}", missing.join(", and ")),
            "export the bill with its default columns: aispend needs each line's type for its \
             effective cost and a date for its billing period",
        ))
    }

    /// The commitments whose amortization columns this file lacks, with those columns.
    fn missing_amortization(&self) -> [Vec<&'static str>; 2] {
        Commitment::ALL.map(|commitment| {
            commitment
                .columns()
                .iter()
                .filter(|pair| self.find(**pair).is_none())
                .map(|pair| self.spelling(*pair))
                .collect()
        })
    }
}

/// Reads one CUR CSV stream, handing `each` its canonical rows piece by piece; `file` names
/// it in messages.
pub fn read(
    input: impl Read,
    file: &str,
    plan: &TagPlan,
    each: &mut dyn FnMut(polars::prelude::DataFrame) -> Result<()>,
) -> Result<ReadStats> {
    let mut records = records::Records::open(input, file)?;
    let header = Header::new(records.headers().to_vec());
    let is_tag = |name: &str| cur1_tag_header(name).is_some();
    super::check_duplicate_columns(file, &header.names, &is_tag)?;
    header.check_required(file)?;
    let Some(unblended) = header.find(names::UNBLENDED) else {
        unreachable!("check_required fails without the unblended cost")
    };
    let has_currency = header.find(names::CURRENCY).is_some();
    if !has_currency {
        tracing::warn!("`{file}` has no currency column; its amounts are taken as USD");
    }
    let file_facts = FileFacts {
        unblended,
        tag_columns: tag_columns(&header),
        missing: header.missing_amortization(),
    };
    let mut stats = ReadStats::default();
    let mut pieces = super::PieceWriter::new(file, plan, each);
    let mut record = csv::StringRecord::new();
    while let Some(line) = records.next(&mut record)? {
        let row = Row { record: &record, header: &header, file, line };
        if is_split_child(row.text(names::OPERATION)) {
            stats.split_children += 1;
            continue;
        }
        pieces.push(row.to_cost(&file_facts, plan, &mut stats)?)?;
    }
    pieces.finish()?;
    if has_currency {
        warn_blank_currency(file, header.spelling(names::CURRENCY), stats.blank_currency);
    }
    warn_unamortized(file, &file_facts.missing, &stats.unamortized);
    Ok(stats)
}

/// What a reader left out or assumed, for the run's messages.
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    pub split_children: u64,
    /// Lines whose currency cell was blank, taken as the currency of the line before.
    pub blank_currency: u64,
    /// The currency of the last line that gave one.
    pub last_currency: Option<String>,
    /// Lines of each [`Commitment`] counted at their unblended cost because the file lacks
    /// one of its amortization columns.
    pub unamortized: [u64; 2],
}

/// The warning for lines without a currency code, once per file: in a CSV bill each takes
/// the currency of the line before it.
pub fn warn_blank_currency(file: &str, column: &str, lines: u64) {
    warn_blank(
        file,
        column,
        lines,
        "the currency of the line before it (USD when none came before)",
    );
}

/// The warning for lines without a currency code in a Parquet bill, taken as USD (a
/// streaming read has no dependable order to borrow the code of another line from).
pub fn warn_null_currency(file: &str, column: &str, lines: u64) {
    warn_blank(file, column, lines, "USD");
}

fn warn_blank(file: &str, column: &str, lines: u64, taken_as: &str) {
    let counted = match lines {
        0 => return,
        1 => "1 line item has".to_string(),
        _ => format!("{lines} line items have"),
    };
    crate::logging::warn_once(&format!(
        "`{file}`: {counted} no currency in `{column}`, taken in {taken_as}; check the export"
    ));
}

/// The warning for commitment lines counted at their unblended cost, once per file and
/// commitment.
pub fn warn_unamortized(file: &str, missing: &[Vec<&str>; 2], lines: &[u64; 2]) {
    for commitment in Commitment::ALL {
        let count = lines[commitment.index()];
        let columns = &missing[commitment.index()];
        if count == 0 || columns.is_empty() {
            continue;
        }
        let columns: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
        let name = commitment.lines_name();
        let lines = if count == 1 {
            format!("1 {name} line item counts")
        } else {
            format!("{count} {name} line items count")
        };
        tracing::warn!(
            "`{file}` lacks {}, which {name} lines need for their effective cost: {lines} at \
             the billed (unblended) cost; read the full export, with its Savings Plan and \
             reservation columns, for the amortized cost",
            columns.join(", "),
        );
    }
}

/// What every row of one file needs to know about its header.
struct FileFacts {
    unblended: usize,
    tag_columns: Vec<(usize, String, bool, bool)>,
    /// The amortization columns the file lacks, per [`Commitment`].
    missing: [Vec<&'static str>; 2],
}

/// Tag columns of the header: (position, canonical key, is cost category, is a JSON map).
fn tag_columns(header: &Header) -> Vec<(usize, String, bool, bool)> {
    let mut columns = Vec::new();
    for (position, name) in header.names.iter().enumerate() {
        let name = name.trim();
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
        self.header.find(pair).map_or(self.header.spelling(pair), |i| self.header.names[i].trim())
    }

    fn money(&self, pair: (&str, &str)) -> Result<Money> {
        Ok(self.optional_money(pair)?.unwrap_or_default())
    }

    fn optional_money(&self, pair: (&str, &str)) -> Result<Option<Money>> {
        let text = self.text(pair);
        if text.is_empty() {
            return Ok(None);
        }
        Money::parse(text).map(Some).map_err(|error| {
            InputError::at_line(
                self.file,
                self.line,
                self.column_name(pair),
                error.expected(),
                text,
            )
            .with_hint("check the export; amounts are plain decimals below 10^15, such as `12.5` or `3e-06`")
            .into()
        })
    }

    fn instant(&self, pair: (&str, &str)) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        let text = self.text(pair);
        if text.is_empty() {
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

    /// The start of the billing period, else of the usage; an error when the line has
    /// neither, since its month is then unknown.
    fn period_start(
        &self,
        start: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<chrono::DateTime<chrono::Utc>> {
        if let Some(period_start) = self.instant(names::PERIOD_START)?.or(start) {
            return Ok(period_start);
        }
        let column = if self.header.find(names::PERIOD_START).is_some() {
            names::PERIOD_START
        } else {
            names::USAGE_START
        };
        Err(InputError::at_line(
            self.file,
            self.line,
            self.column_name(column),
            "a billing period start, or else a usage start date",
            self.text(column),
        )
        .with_hint(format!(
            "every line item needs `{}` or `{}` to say which month it bills; check the export",
            self.header.spelling(names::PERIOD_START),
            self.header.spelling(names::USAGE_START)
        ))
        .into())
    }

    /// The effective cost by the line's rule, or its billed cost when the file lacks a
    /// column its commitment needs (counted in `stats`).
    fn effective(
        &self,
        kind: LineItemType,
        billed: Money,
        facts: &FileFacts,
        stats: &mut ReadStats,
    ) -> Result<Money> {
        let (rule, commitment) = amortization(
            kind,
            self.text(names::RI_ARN),
            self.text(names::PRODUCT_CODE),
            self.text(names::DESCRIPTION),
        );
        if let Some(commitment) = commitment
            && !facts.missing[commitment.index()].is_empty()
        {
            stats.unamortized[commitment.index()] += 1;
            return Ok(billed);
        }
        rule.apply(billed, |amount| self.money(amount_column(amount)))
    }

    fn to_cost(&self, facts: &FileFacts, plan: &TagPlan, stats: &mut ReadStats) -> Result<CostRow> {
        let line_item_type = self.text(names::LINE_ITEM_TYPE);
        let kind = LineItemType::parse(line_item_type);
        let unblended_text = self.record.get(facts.unblended).unwrap_or("").trim();
        let billed =
            if unblended_text.is_empty() { Money::ZERO } else { self.money(names::UNBLENDED)? };
        let effective_cost = self.effective(kind, billed, facts, stats)?;
        let start = self.instant(names::USAGE_START)?;
        let period_start = self.period_start(start)?;
        let account = self.text(names::ACCOUNT);
        let resource = self.text(names::RESOURCE);
        let tags = self.tags(&facts.tag_columns)?;
        let resolved = plan.resolve(&tags, account, resource);
        let quantity = if kind.counts_usage_quantity() {
            self.optional_money(names::USAGE_AMOUNT)?
        } else {
            None
        };
        let currency = self.text(names::CURRENCY);
        // A blank code takes the currency of the line before: a bill is in its payer's
        // currency, and an all-EUR file must not grow a USD line. USD when none came before.
        let billing_currency = if currency.is_empty() {
            stats.blank_currency += 1;
            stats.last_currency.clone().unwrap_or_else(|| "USD".to_string())
        } else {
            let code = currency.to_ascii_uppercase();
            if stats.last_currency.as_deref() != Some(code.as_str()) {
                stats.last_currency = Some(code.clone());
            }
            code
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
            charge_category: kind.charge_category().into(),
            line_item_type: Some(line_item_type.to_string()).filter(|t| !t.is_empty()),
            resource_id: Some(resource.to_string()).filter(|r| !r.is_empty()),
            consumed_quantity: quantity,
            consumed_unit: self.optional(names::PRICING_UNIT),
            effective_cost,
            billed_cost: billed,
            list_cost: self.optional_money(names::PUBLIC_COST)?,
            billing_currency,
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
                        self.header.names[*position].trim(),
                        &expected,
                        value,
                    )
                    .with_hint(
                        "tags are a JSON object of text values, such as `{\"user_dept\": \"sales\"}`",
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
