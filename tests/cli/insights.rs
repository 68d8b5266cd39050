//! Integration tests of the insight commands (`anomalies`, `lifecycle`, `locality`,
//! `unit-economics`): each writes its own CUR 1.0 file and configuration into a temporary
//! folder and runs the binary.

#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const HEADER: &str = "identity/LineItemId,bill/InvoiceId,bill/BillingPeriodStartDate,\
lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/ProductCode,\
lineItem/UsageType,lineItem/ResourceId,lineItem/UsageAmount,lineItem/UnblendedCost,\
lineItem/CurrencyCode,product/regionCode,pricing/unit,resourceTags/user:team,resourceTags/user:app";

/// One CUR line: (start `YYYY-MM-DDTHH`, line type, product, usage type, resource, amount,
/// cost, team, app).
type Line<'a> = (String, &'a str, &'a str, &'a str, &'a str, &'a str, String, &'a str, &'a str);

/// Writes a CUR 1.0 file and an (almost empty) configuration; returns their paths.
fn setup(folder: &Path, lines: &[Line<'_>], config: &str) -> (PathBuf, PathBuf) {
    let mut text = format!("{HEADER}\n");
    for (index, (start, kind, product, usage, resource, amount, cost, team, app)) in
        lines.iter().enumerate()
    {
        let month = &start[..7];
        writeln!(
            text,
            "id{index},INV-1,{month}-01T00:00:00Z,111122223333,{kind},{start}:00:00Z,{product},\
             {usage},{resource},{amount},{cost},USD,us-east-1,GB,{team},{app}"
        )
        .unwrap();
    }
    let cur = folder.join("cur.csv");
    std::fs::write(&cur, text).unwrap();
    let config_path = folder.join("aispend.toml");
    std::fs::write(&config_path, config).unwrap();
    (cur, config_path)
}

/// The day `n` days after 2026-01-01 at hour `hour`, as `YYYY-MM-DDTHH`.
fn at(n: i64, hour: u32) -> String {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(n);
    format!("{day}T{hour:02}")
}

fn aispend(config: &Path, cur: &Path) -> Command {
    let mut command = Command::cargo_bin("aispend").unwrap();
    command.arg("--config").arg(config).arg("--cur").arg(cur).arg("--format").arg("csv");
    command
}

/// Days 1-30 at 95, 100, 105, day 31 missing, day 32 at 102, day 33 at 400.
fn cycling_lines<'a>() -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    for n in 0..33 {
        let cost = match n {
            30 => continue,
            31 => 102,
            32 => 400,
            _ => [95, 100, 105][usize::try_from(n % 3).unwrap()],
        };
        lines.push((
            at(n, 0),
            "Usage",
            "AmazonBedrock",
            "USE1-Claude3Sonnet-input-tokens",
            "",
            "1",
            cost.to_string(),
            "search",
            "chat",
        ));
    }
    lines
}

#[test]
fn spend_spike_is_flagged_and_fails_on_request() {
    let folder = tempfile::tempdir().unwrap();
    let (cur, config) = setup(folder.path(), &cycling_lines(), "");
    // 2026-02-01 is day 32 ($102): nothing.
    aispend(&config, &cur)
        .args(["anomalies", "--from", "2026-02-01", "--to", "2026-02-01", "--fail-on", "anomaly"])
        .assert()
        .code(0)
        .stdout("kind,subject_type,subject,day,expected,actual,impact,reason\n");
    // 2026-02-02 is day 33 ($400): expected $100, impact $300, for the owner and the service.
    aispend(&config, &cur)
        .args(["anomalies", "--from", "2026-02-02", "--to", "2026-02-02", "--fail-on", "anomaly"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "spend,owner,\"dept=__unallocated__,team=search,app=chat\",2026-02-02,100.00,400.00,\
             300.00,",
        ))
        .stdout(predicate::str::contains("spend,service,AmazonBedrock,2026-02-02,100.00,400.00"))
        .stderr(predicate::str::contains("2 anomalies flagged"));
}

#[test]
fn ri_fee_on_the_first_is_not_an_anomaly() {
    let folder = tempfile::tempdir().unwrap();
    let mut lines: Vec<Line<'_>> = (0..32)
        .map(|n| {
            (at(n, 0), "Usage", "AmazonEC2", "USE1-BoxUsage", "", "24", "10".into(), "web", "shop")
        })
        .collect();
    lines.push((
        at(31, 0),
        "RIFee",
        "AmazonEC2",
        "USE1-HeavyUsage",
        "",
        "1",
        "300".into(),
        "web",
        "shop",
    ));
    let (cur, config) = setup(folder.path(), &lines, "[anomalies]\nmin_history_days = 14\n");
    aispend(&config, &cur)
        .args(["anomalies", "--from", "2026-02-01", "--to", "2026-02-01", "--fail-on", "anomaly"])
        .assert()
        .code(0)
        .stdout("kind,subject_type,subject,day,expected,actual,impact,reason\n");
}

#[test]
fn unknown_fail_on_is_an_error_with_a_hint() {
    let folder = tempfile::tempdir().unwrap();
    let (cur, config) = setup(folder.path(), &cycling_lines(), "");
    aispend(&config, &cur)
        .args(["anomalies", "--fail-on", "hard"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("hint: use `--fail-on anomaly`"));
}

#[test]
fn idle_provisioned_throughput_is_a_zombie() {
    // $20 every hour of 1-20 March on one provisioned model; no gateway logs.
    let folder = tempfile::tempdir().unwrap();
    let arn = "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/pt-support";
    let mut lines = Vec::new();
    for n in 59..79 {
        for hour in 0..24 {
            let usage = "USE1-ProvisionedThroughput-ModelUnits";
            lines.push((
                at(n, hour),
                "Usage",
                "AmazonBedrock",
                usage,
                arn,
                "1",
                "20".into(),
                "support",
                "bot",
            ));
        }
    }
    let (cur, config) = setup(folder.path(), &lines, "");
    // The last 14 days (7-20 March) hold 336 billed hours, $6,720; the last 30 days all 480
    // hours, $9,600: the monthly saving.
    aispend(&config, &cur)
        .args(["lifecycle", "--days", "14"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "provisioned_throughput,zombie,AmazonBedrock,us-east-1,pt-support,",
        ))
        .stdout(predicate::str::contains(",support,bot,336,6720.00,9600.00,,9600.00\n"));
    // As of 10 March only 1-10 March lie in the 30 days: 240 hours, $4,800.
    aispend(&config, &cur)
        .args(["lifecycle", "--as-of", "2026-03-10"])
        .assert()
        .success()
        .stdout(predicate::str::contains(",support,bot,240,4800.00,4800.00,,4800.00\n"));
}

#[test]
fn cross_region_transfer_and_egress_per_owner() {
    // 100 GB from us-east-1 to us-west-2 at $2 for app chat; 50 GB to the internet at $4.50.
    let folder = tempfile::tempdir().unwrap();
    let lines = vec![
        (
            at(5, 0),
            "Usage",
            "AWSDataTransfer",
            "USE1-USW2-AWS-Out-Bytes",
            "",
            "100",
            "2".into(),
            "search",
            "chat",
        ),
        (
            at(5, 0),
            "Usage",
            "AmazonEC2",
            "USE1-DataTransfer-Out-Bytes",
            "",
            "50",
            "4.5".into(),
            "search",
            "chat",
        ),
        (
            at(5, 0),
            "Usage",
            "AmazonEC2",
            "USE1-BoxUsage:t3.micro",
            "",
            "24",
            "1".into(),
            "search",
            "chat",
        ),
    ];
    let (cur, config) = setup(folder.path(), &lines, "");
    aispend(&config, &cur).args(["locality", "--month", "2026-01"]).assert().success().stdout(
        "kind,dept,team,app,from_region,to_region,usage_quantity,unit,billed_cost,\
             effective_cost,line_items\n\
             cross_region_transfer,__unallocated__,search,chat,us-east-1,us-west-2,100.00,GB,\
             2.00,2.00,1\n\
             internet_egress,__unallocated__,search,chat,us-east-1,internet,50.00,GB,4.50,4.50,1\n",
    );
}

#[test]
fn unit_economics_needs_a_month() {
    let folder = tempfile::tempdir().unwrap();
    let (cur, config) = setup(folder.path(), &cycling_lines(), "");
    aispend(&config, &cur)
        .args(["unit-economics"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("hint: pass `--month YYYY-MM`"));
}
