//! Data locality: what crossing regions and leaving AWS costs, per owner and region pair.
//!
//! Three kinds of line, from the bill of the period:
//! - `cross_region_transfer`: usage types `FROM-TO-AWS-Out-Bytes` (and `-In-Bytes`, the
//!   other way), or a line whose `from_region_id` and `to_region_id` columns differ;
//! - `cross_region_inference`: Bedrock usage types with a `cross-region` suffix (the target
//!   is what follows it, `global` or `geo`), or an inference profile id such as
//!   `us.anthropic...` in the resource or model (the target is the geography, `us`);
//! - `internet_egress`: `REGION-DataTransfer-Out-Bytes`, to `internet`.
//!
//! Region codes of usage types become region ids (`USE1` is `us-east-1`); an unknown code
//! stays as it is. Quantities are summed per unit (GB for transfer, tokens for inference).

use std::collections::BTreeMap;

use anyhow::Result;
use polars::prelude::*;
use regex::Regex;

use crate::ingest::builder::money_column;
use crate::model::costs;
use crate::money::Money;
use crate::report::frames;

use costs::{FROM_REGION_ID, TO_REGION_ID};

/// Usage-type region codes and their region ids.
const REGION_CODES: [(&str, &str); 28] = [
    ("USE1", "us-east-1"),
    ("USE2", "us-east-2"),
    ("USW1", "us-west-1"),
    ("USW2", "us-west-2"),
    ("CAN1", "ca-central-1"),
    ("CAN2", "ca-west-1"),
    ("EU", "eu-west-1"),
    ("EUW1", "eu-west-1"),
    ("EUW2", "eu-west-2"),
    ("EUW3", "eu-west-3"),
    ("EUC1", "eu-central-1"),
    ("EUC2", "eu-central-2"),
    ("EUN1", "eu-north-1"),
    ("EUS1", "eu-south-1"),
    ("EUS2", "eu-south-2"),
    ("APN1", "ap-northeast-1"),
    ("APN2", "ap-northeast-2"),
    ("APN3", "ap-northeast-3"),
    ("APS1", "ap-southeast-1"),
    ("APS2", "ap-southeast-2"),
    ("APS3", "ap-south-1"),
    ("APS4", "ap-southeast-3"),
    ("APS5", "ap-south-2"),
    ("APE1", "ap-east-1"),
    ("SAE1", "sa-east-1"),
    ("MES1", "me-south-1"),
    ("MEC1", "me-central-1"),
    ("AFS1", "af-south-1"),
];

/// Inference profile prefixes and their geography.
const PROFILE_PREFIXES: [&str; 6] = ["us.", "eu.", "apac.", "global.", "jp.", "au."];

/// The region id of a usage-type code.
pub fn region_of_code(code: &str) -> String {
    REGION_CODES.iter().find(|(c, _)| *c == code).map_or(code, |(_, r)| r).to_string()
}

/// Recognises the locality lines.
pub struct Classifier {
    transfer: Regex,
    egress: Regex,
}

/// A locality line: kind, from region, to region.
pub type Locality = (&'static str, String, String);

impl Classifier {
    /// Compiles the patterns.
    pub fn new() -> Result<Classifier> {
        Ok(Classifier {
            transfer: Regex::new(r"^([A-Z]{2,4}\d?)-([A-Z]{2,4}\d?)-AWS-(In|Out)-Bytes")?,
            egress: Regex::new(r"^(?:([A-Z]{2,4}\d?)-)?DataTransfer-Out-Bytes")?,
        })
    }

    /// The locality of a line, `None` when it crosses nothing.
    pub fn classify(
        &self,
        service: &str,
        usage_type: &str,
        region: &str,
        profiles: &[&str],
    ) -> Option<Locality> {
        if let Some(found) = self.transfer.captures(usage_type) {
            let (a, b) = (region_of_code(&found[1]), region_of_code(&found[2]));
            let (from, to) = if &found[3] == "Out" { (a, b) } else { (b, a) };
            return Some(("cross_region_transfer", from, to));
        }
        if let Some(found) = self.egress.captures(usage_type) {
            let from = found.get(1).map_or(region.to_string(), |c| region_of_code(c.as_str()));
            return Some(("internet_egress", from, "internet".into()));
        }
        if !service.to_ascii_lowercase().contains("bedrock") {
            return None;
        }
        let from = || {
            let code = usage_type.split('-').next().unwrap_or("");
            if region.is_empty() { region_of_code(code) } else { region.to_string() }
        };
        if let Some((_, suffix)) = usage_type.to_ascii_lowercase().split_once("cross-region") {
            let target = suffix.trim_matches('-');
            let target = if target.is_empty() { "cross-region" } else { target };
            return Some(("cross_region_inference", from(), target.to_string()));
        }
        let segments: Vec<String> = profiles
            .iter()
            .map(|p| p.rsplit('/').next().unwrap_or("").to_ascii_lowercase())
            .collect();
        let prefix =
            PROFILE_PREFIXES.iter().find(|p| segments.iter().any(|s| s.starts_with(*p)))?;
        Some(("cross_region_inference", from(), prefix.trim_end_matches('.').to_string()))
    }
}

/// A report row's key: kind, owner values, from, to, unit.
type RowKey = (&'static str, Vec<String>, String, String, String);

/// Sums of one report row.
#[derive(Debug, Clone, Default)]
struct Sums {
    quantity: Money,
    billed: Money,
    effective: Money,
    lines: u64,
}

/// The locality report of a bill (already limited to the period).
pub fn locality(bill: LazyFrame, keys: &[String]) -> Result<DataFrame> {
    let schema = bill.clone().collect_schema()?;
    let optional = [FROM_REGION_ID, TO_REGION_ID];
    let mut group: Vec<Expr> = [
        costs::SERVICE_NAME,
        costs::USAGE_TYPE,
        costs::REGION_ID,
        costs::RESOURCE_ID,
        costs::MODEL,
        costs::CONSUMED_UNIT,
    ]
    .iter()
    .chain(optional.iter().filter(|c| schema.contains(c)))
    .map(|c| col(*c))
    .collect();
    group.extend(keys.iter().map(|k| col(k.as_str())));
    let lines = bill
        .group_by(group)
        .agg([
            col(costs::CONSUMED_QUANTITY).sum(),
            col(costs::BILLED_COST).sum(),
            col(costs::EFFECTIVE_COST).sum(),
            len().cast(DataType::UInt64).alias("__lines"),
        ])
        .collect()?;
    let text = |name: &str| frames::strings(&lines, name);
    let (services, usage_types, regions) =
        (text(costs::SERVICE_NAME)?, text(costs::USAGE_TYPE)?, text(costs::REGION_ID)?);
    let (resources, models, units) =
        (text(costs::RESOURCE_ID)?, text(costs::MODEL)?, text(costs::CONSUMED_UNIT)?);
    let (froms, tos) = (text(FROM_REGION_ID)?, text(TO_REGION_ID)?);
    let quantity = frames::moneys(&lines, costs::CONSUMED_QUANTITY)?;
    let billed = frames::moneys(&lines, costs::BILLED_COST)?;
    let effective = frames::moneys(&lines, costs::EFFECTIVE_COST)?;
    let counts = frames::ints(&lines, "__lines")?;
    let owners = frames::owners(&lines, keys)?;
    let classifier = Classifier::new()?;
    let mut rows: BTreeMap<RowKey, Sums> = BTreeMap::new();
    for row in 0..lines.height() {
        let get = |v: &Vec<Option<String>>| v[row].clone().unwrap_or_default();
        let explicit = match (froms[row].clone(), tos[row].clone()) {
            (Some(from), Some(to)) if !from.is_empty() && !to.is_empty() && from != to => {
                Some(("cross_region_transfer", from, to))
            }
            _ => None,
        };
        let profiles = [get(&resources), get(&models)];
        let profiles = [profiles[0].as_str(), profiles[1].as_str()];
        let found = explicit.or_else(|| {
            classifier.classify(&get(&services), &get(&usage_types), &get(&regions), &profiles)
        });
        let Some((kind, from, to)) = found else { continue };
        let key = (kind, owners[row].clone(), from, to, get(&units));
        let sums = rows.entry(key).or_default();
        sums.quantity += quantity[row].unwrap_or_default();
        sums.billed += billed[row].unwrap_or_default();
        sums.effective += effective[row].unwrap_or_default();
        sums.lines += u64::try_from(counts[row].unwrap_or(0)).unwrap_or(0);
    }
    to_frame(&rows, keys)
}

/// The report frame.
fn to_frame(rows: &BTreeMap<RowKey, Sums>, keys: &[String]) -> Result<DataFrame> {
    let entries: Vec<_> = rows.iter().collect();
    let text = |name: &str, get: &dyn Fn(&RowKey) -> String| {
        Column::new(name.into(), entries.iter().map(|(k, _)| get(k)).collect::<Vec<_>>())
    };
    let mut columns = vec![text("kind", &|k| k.0.to_string())];
    for (index, key) in keys.iter().enumerate() {
        columns.push(text(key, &|k| k.1[index].clone()));
    }
    columns.extend([
        text("from_region", &|k| k.2.clone()),
        text("to_region", &|k| k.3.clone()),
        money_column("usage_quantity", entries.iter().map(|(_, s)| Some(s.quantity))),
        text("unit", &|k| k.4.clone()),
        money_column(costs::BILLED_COST, entries.iter().map(|(_, s)| Some(s.billed))),
        money_column(costs::EFFECTIVE_COST, entries.iter().map(|(_, s)| Some(s.effective))),
        Column::new("line_items".into(), entries.iter().map(|(_, s)| s.lines).collect::<Vec<_>>()),
    ]);
    Ok(DataFrame::new_infer_height(columns)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn usage_types_give_kind_and_regions() {
        let c = Classifier::new().unwrap();
        let transfer = c.classify("AWSDataTransfer", "USE1-USW2-AWS-Out-Bytes", "us-east-1", &[]);
        assert_eq!(
            transfer,
            Some(("cross_region_transfer", "us-east-1".into(), "us-west-2".into()))
        );
        let inbound = c.classify("AmazonEC2", "EUC1-EU-AWS-In-Bytes", "eu-central-1", &[]);
        assert_eq!(
            inbound,
            Some(("cross_region_transfer", "eu-west-1".into(), "eu-central-1".into()))
        );
        let egress = c.classify("AmazonEC2", "APN1-DataTransfer-Out-Bytes", "", &[]);
        assert_eq!(egress, Some(("internet_egress", "ap-northeast-1".into(), "internet".into())));
        let global = c.classify(
            "AmazonBedrockService",
            "USE1-Claude4Sonnet-input-tokens-cross-region-global",
            "us-east-1",
            &[],
        );
        assert_eq!(global, Some(("cross_region_inference", "us-east-1".into(), "global".into())));
        let arn = "arn:aws:bedrock:us-west-2:1:inference-profile/eu.anthropic.claude-3-haiku";
        let profile = c.classify("AmazonBedrock", "USW2-Claude3Haiku-input-tokens", "", &[arn]);
        assert_eq!(profile, Some(("cross_region_inference", "us-west-2".into(), "eu".into())));
        assert_eq!(c.classify("AmazonEC2", "USE1-BoxUsage:t3.micro", "us-east-1", &[]), None);
    }

    #[test]
    fn transfer_is_summed_per_owner_and_pair() {
        // Two lines of 100 GB at $0.02 = $2 each from us-east-1 to us-west-2 for app chat,
        // one of 50 GB egress to the internet at $0.09 = $4.50.
        let bill = df!(
            costs::SERVICE_NAME => ["AWSDataTransfer", "AWSDataTransfer", "AmazonEC2"],
            costs::USAGE_TYPE => ["USE1-USW2-AWS-Out-Bytes", "USE1-USW2-AWS-Out-Bytes", "USE1-DataTransfer-Out-Bytes"],
            costs::REGION_ID => ["us-east-1", "us-east-1", "us-east-1"],
            costs::RESOURCE_ID => [None::<&str>, None, None],
            costs::MODEL => [None::<&str>, None, None],
            costs::CONSUMED_UNIT => ["GB", "GB", "GB"],
            costs::CONSUMED_QUANTITY => ["100", "100", "50"],
            costs::BILLED_COST => ["2", "2", "4.5"],
            costs::EFFECTIVE_COST => ["2", "2", "4.5"],
            "app" => ["chat", "chat", "chat"],
        )
        .unwrap()
        .lazy()
        .with_columns([
            col(costs::CONSUMED_QUANTITY).cast(crate::model::money_dtype()),
            col(costs::BILLED_COST).cast(crate::model::money_dtype()),
            col(costs::EFFECTIVE_COST).cast(crate::model::money_dtype()),
        ]);
        let report = locality(bill, &["app".to_string()]).unwrap();
        let kinds = frames::strings(&report, "kind").unwrap();
        assert_eq!(kinds, [Some("cross_region_transfer".into()), Some("internet_egress".into())]);
        let billed = frames::moneys(&report, costs::BILLED_COST).unwrap();
        assert_eq!(billed, [Some(Money::from_units(4)), Some(Money::parse("4.5").unwrap())]);
        let quantity = frames::moneys(&report, "usage_quantity").unwrap();
        assert_eq!(quantity[0], Some(Money::from_units(200)));
    }
}
