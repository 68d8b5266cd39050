//! Issue 2: reading the bill in every format, the taxonomy and showback, run through the
//! binary. Every expected value is worked out by hand in the comment beside it.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::path::{Path, PathBuf};

use aispend::money::Money;
use assert_cmd::Command;
use polars::prelude::*;

const CUR1_HEADER: [&str; 17] = [
    "identity/LineItemId",
    "bill/InvoiceId",
    "bill/BillingPeriodStartDate",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UsageStartDate",
    "lineItem/ProductCode",
    "lineItem/UsageType",
    "lineItem/UsageAmount",
    "lineItem/UnblendedCost",
    "lineItem/LineItemDescription",
    "product/regionCode",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
    "reservation/EffectiveCost",
    "reservation/ReservationARN",
];

/// A CUR 1.0 line: (type, usage amount, unblended, sp effective, sp commitment, sp used,
/// ri effective, ri arn, product code, region).
type Line<'a> =
    (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str);

fn cur1_csv(lines: &[Line<'_>], extra_header: &[&str], extra: &[Vec<&str>]) -> String {
    let mut text = CUR1_HEADER.join(",");
    for name in extra_header {
        text.push(',');
        text.push_str(name);
    }
    text.push('\n');
    for (index, line) in lines.iter().enumerate() {
        let (kind, amount, unblended, sp_eff, sp_commit, sp_used, ri_eff, ri_arn, product, region) =
            *line;
        let fields = [
            &format!("id{index}"),
            "INV-1",
            "2025-01-01T00:00:00Z",
            "111122223333",
            kind,
            "2025-01-05T00:00:00Z",
            product,
            "USE1-BoxUsage",
            amount,
            unblended,
            "",
            region,
            sp_eff,
            sp_commit,
            sp_used,
            ri_eff,
            ri_arn,
        ];
        text.push_str(&fields.map(std::string::ToString::to_string).join(","));
        for value in extra.get(index).into_iter().flatten() {
            text.push(',');
            text.push_str(value);
        }
        text.push('\n');
    }
    text
}

fn aispend(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("aispend").expect("binary");
    command.current_dir(dir).env("NO_COLOR", "1").env_remove("RUST_LOG");
    command
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path
}

/// Runs a query and returns the CSV rows (without header) as strings.
fn query(dir: &Path, source_flag: &str, source: &Path, sql: &str) -> Vec<Vec<String>> {
    let output = aispend(dir)
        .args(["query", sql, source_flag, source.to_str().expect("utf8"), "--format", "csv"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("utf8");
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// The Savings Plan lines of the issue: covered usage 10 h billed 1.00 (SP effective 0.60),
/// its negation, the recurring fee 0.60 with commitment 0.60 all used, plain usage 2 h 0.20.
fn savings_plan_lines() -> Vec<Line<'static>> {
    vec![
        ("SavingsPlanCoveredUsage", "10", "1.00", "0.60", "", "", "", "", "AmazonEC2", "us-east-1"),
        ("SavingsPlanNegation", "10", "-1.00", "", "", "", "", "", "AmazonEC2", "us-east-1"),
        (
            "SavingsPlanRecurringFee",
            "1",
            "0.60",
            "",
            "0.60",
            "0.60",
            "",
            "",
            "ComputeSavingsPlans",
            "",
        ),
        ("Usage", "2", "0.20", "", "", "", "", "", "AmazonEC2", "us-east-1"),
    ]
}

const RI_ARN: &str = "arn:aws:ec2:us-east-1:111122223333:reserved-instances/abc";

/// The reservation lines of the issue but the `RIFee`: usage 100, reserved usage billed 0
/// (effective 30), the RI upfront fee 720 with its ARN, a Marketplace fee 50, an EDP
/// discount −25.
fn reservation_lines() -> Vec<Line<'static>> {
    vec![
        ("Usage", "1", "100", "", "", "", "", "", "AmazonEC2", "us-east-1"),
        ("DiscountedUsage", "1", "0", "", "", "", "30", RI_ARN, "AmazonEC2", "us-east-1"),
        ("Fee", "1", "720", "", "", "", "", RI_ARN, "AmazonEC2", ""),
        ("Fee", "1", "50", "", "", "", "", "", "AWSMarketplace", ""),
        ("EdpDiscount", "0", "-25", "", "", "", "", "", "AmazonEC2", ""),
    ]
}

#[test]
fn savings_plan_covered_usage_counts_once() {
    // Covered 10 h billed 1.00 (SP effective 0.60), negation -1.00, recurring fee 0.60 with
    // commitment 0.60 all used (effective 0), plain usage 2 h billed 0.20.
    // Billed 1.00 - 1.00 + 0.60 + 0.20 = 0.80; effective 0.60 + 0 + 0 + 0.20 = 0.80; hours 12.
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = savings_plan_lines();
    let file = write(dir.path(), "cur.csv", &cur1_csv(&lines, &[], &[]));
    let rows = query(
        dir.path(),
        "--cur",
        &file,
        "SELECT SUM(billed_cost), SUM(effective_cost), SUM(consumed_quantity) FROM costs",
    );
    assert_eq!(rows, [["0.80", "0.80", "12.00"]]);
}

#[test]
fn reservations_and_fees_amortize() {
    // Usage 100; reserved usage billed 0 (effective 30); RI upfront Fee 720 with an ARN
    // (effective 0); Marketplace Fee 50 (effective 50); EDP discount -25; RIFee billed 0 with
    // unused upfront 5. Billed 100 + 720 + 50 - 25 = 845; effective 100 + 30 + 50 - 25 + 5 = 160.
    let dir = tempfile::tempdir().expect("tempdir");
    let arn = RI_ARN;
    let lines = reservation_lines();
    let mut text = cur1_csv(
        &lines,
        &[
            "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
            "reservation/UnusedRecurringFee",
        ],
        &[],
    );
    text = text.replace('\n', ",,\n").replacen(",,\n", "\n", 1);
    text.push_str("id9,INV-1,2025-01-01T00:00:00Z,111122223333,RIFee,2025-01-01T00:00:00Z,AmazonEC2,USE1-HeavyUsage,1,0,,,,,,,");
    text.push_str(&format!("{arn},5,0\n"));
    let file = write(dir.path(), "cur.csv", &text);
    let rows = query(
        dir.path(),
        "--cur",
        &file,
        "SELECT SUM(billed_cost), SUM(effective_cost), COUNT(*) FROM costs",
    );
    assert_eq!(rows, [["845.00", "160.00", "6"]]);
}

#[test]
fn tax_credit_refund_and_empty_fields_are_kept() {
    // Usage 100, data transfer 5 (empty region), tax 8, credit -20 (empty product), refund -3:
    // total 90, before tax 82, five rows.
    let dir = tempfile::tempdir().expect("tempdir");
    let lines: Vec<Line<'_>> = vec![
        ("Usage", "1", "100", "", "", "", "", "", "AmazonEC2", "us-east-1"),
        ("Usage", "50", "5", "", "", "", "", "", "AWSDataTransfer", ""),
        ("Tax", "", "8", "", "", "", "", "", "AmazonEC2", ""),
        ("Credit", "", "-20", "", "", "", "", "", "", ""),
        ("Refund", "", "-3", "", "", "", "", "", "AmazonEC2", ""),
    ];
    let file = write(dir.path(), "cur.csv", &cur1_csv(&lines, &[], &[]));
    let rows = query(dir.path(), "--cur", &file, "SELECT SUM(billed_cost), COUNT(*) FROM costs");
    assert_eq!(rows, [["90.00", "5"]]);
    let rows = query(
        dir.path(),
        "--cur",
        &file,
        "SELECT SUM(billed_cost) FROM costs WHERE charge_category <> 'tax'",
    );
    assert_eq!(rows, [["82.00"]]);
}

#[test]
fn a_redelivered_month_counts_once() {
    // Old assembly: 90 over 2 rows; current assembly: 100 over 3 rows; the manifest points
    // at the current one. January is 100, and naming the folder twice is still 100.
    let dir = tempfile::tempdir().expect("tempdir");
    let period = "report/cur/20250101-20250201";
    let usage = |amount: &'static str| -> Line<'static> {
        ("Usage", "1", amount, "", "", "", "", "", "AmazonEC2", "us-east-1")
    };
    let old = [usage("45"), usage("45")];
    let new = [usage("50"), usage("30"), usage("20")];
    write(dir.path(), &format!("{period}/asm-old/cur-1.csv"), &cur1_csv(&old, &[], &[]));
    write(dir.path(), &format!("{period}/asm-new/cur-1.csv"), &cur1_csv(&new, &[], &[]));
    let old_manifest = r#"{"assemblyId":"asm-old","reportKeys":["prefix/cur/20250101-20250201/asm-old/cur-1.csv"]}"#;
    write(dir.path(), &format!("{period}/asm-old/cur-Manifest.json"), old_manifest);
    let manifest = r#"{"assemblyId":"asm-new","reportKeys":["prefix/cur/20250101-20250201/asm-new/cur-1.csv"]}"#;
    write(dir.path(), &format!("{period}/cur-Manifest.json"), manifest);
    let folder = dir.path().join("report");
    let rows = query(dir.path(), "--cur", &folder, "SELECT SUM(billed_cost), COUNT(*) FROM costs");
    assert_eq!(rows, [["100.00", "3"]]);
    let twice = format!("{},{}", folder.display(), folder.display());
    let rows = query(dir.path(), "--cur", Path::new(&twice), "SELECT SUM(billed_cost) FROM costs");
    assert_eq!(rows, [["100.00"]]);
}

#[test]
fn tag_spellings_are_one_owner_and_conflicts_are_counted_once() {
    // `user:Dept` and `user:dept` are one key; `Finance`, `finance` and `Finance ` one owner.
    // Lines 1, 2, 4 and 8 all belong to finance (the conflicting line keeps `Dept`'s value,
    // the first column): finance 15; one conflict is reported.
    let dir = tempfile::tempdir().expect("tempdir");
    let usage = |amount: &'static str| -> Line<'static> {
        ("Usage", "1", amount, "", "", "", "", "", "AmazonEC2", "us-east-1")
    };
    let lines = [usage("1"), usage("2"), usage("4"), usage("8")];
    let tags = vec![
        vec!["Finance", ""],
        vec!["", "finance"],
        vec!["Finance ", ""],
        vec!["Finance", "Marketing"],
    ];
    let text = cur1_csv(&lines, &["resourceTags/user:Dept", "resourceTags/user:dept"], &tags);
    let file = write(dir.path(), "cur.csv", &text);
    let output = aispend(dir.path())
        .args([
            "showback",
            "--by",
            "dept",
            "--format",
            "csv",
            "--cur",
            file.to_str().expect("utf8"),
        ])
        .output()
        .expect("run");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().nth(1), Some("2025-01,finance,15.00,15.00,1,4,USD"), "{stdout}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 line item carries conflicting owner tags"), "{stderr}");
}

#[test]
fn months_split_at_utc_midnight() {
    // 2025-01-31T23:00:00Z (5) is January, 2025-02-01T00:00:00Z (7) is February.
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,resourceTags/user:dept\n";
    let text =
        format!("{header}Usage,2025-01-31T23:00:00Z,5,ops\nUsage,2025-02-01T00:00:00Z,7,ops\n");
    let file = write(dir.path(), "cur.csv", &text);
    for (month, want) in [("2025-01", "5.00"), ("2025-02", "7.00")] {
        let output = aispend(dir.path())
            .args([
                "showback",
                "--month",
                month,
                "--format",
                "csv",
                "--cur",
                file.to_str().expect("utf8"),
            ])
            .output()
            .expect("run");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            stdout.lines().nth(1),
            Some(format!("{month},ops,{want},{want},1,1,USD").as_str())
        );
    }
}

/// Writes a CUR 2.0-shaped Parquet file with doubles, as AWS does (tags as a list of
/// key/value structs, which is how Polars reads the MAP type).
fn cur2_parquet(path: &Path, costs: &[f64], depts: &[&str]) {
    let rows = costs.len();
    let per_row: Vec<Series> = depts
        .iter()
        .map(|dept| {
            let key = Series::new("key".into(), ["user_dept"]);
            let value = Series::new("value".into(), [*dept]);
            StructChunked::from_series("entry".into(), 1, [&key, &value].into_iter())
                .expect("struct")
                .into_series()
        })
        .collect();
    let tags = Series::new("resource_tags".into(), per_row);
    let mut frame = df!(
        "line_item_line_item_type" => vec!["Usage"; rows],
        "line_item_usage_start_date" => vec!["2025-01-05T00:00:00Z"; rows],
        "bill_billing_period_start_date" => vec!["2025-01-01T00:00:00Z"; rows],
        "bill_invoice_id" => vec!["INV-1"; rows],
        "line_item_unblended_cost" => costs.to_vec(),
        "line_item_currency_code" => vec!["USD"; rows],
    )
    .expect("frame");
    frame.with_column(tags.with_name("resource_tags".into()).into_column()).expect("tags");
    let file = std::fs::File::create(path).expect("create");
    ParquetWriter::new(file).finish(&mut frame).expect("parquet");
}

#[test]
fn ten_tenths_from_doubles_sum_to_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cur2.parquet");
    cur2_parquet(&file, &[0.1; 10], &["ops"; 10]);
    let rows = query(dir.path(), "--cur", &file, "SELECT SUM(billed_cost) FROM costs");
    assert_eq!(rows, [["1.00"]]);
}

#[test]
fn a_million_ten_millionths_sum_to_a_tenth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cur2.parquet");
    cur2_parquet(&file, &vec![0.000_000_1; 1_000_000], &vec!["ops"; 1_000_000]);
    let rows = query(dir.path(), "--cur", &file, "SELECT SUM(billed_cost) FROM costs");
    assert_eq!(rows, [["0.10"]]);
}

#[test]
fn the_same_lines_in_three_formats_give_the_same_showback() {
    // Ten lines of 1.10, 2.20, ... 11.00 for sales (odd) and support (even); effective = billed.
    let dir = tempfile::tempdir().expect("tempdir");
    let amounts: Vec<String> =
        (1..=10).map(|i| format!("{}.{}", i * 11 / 10, i * 11 % 10)).collect();
    let depts: Vec<&str> =
        (1..=10).map(|i| if i % 2 == 1 { "Sales" } else { "support " }).collect();
    let mut cur1 = String::from(
        "lineItem/LineItemType,lineItem/UsageStartDate,bill/BillingPeriodStartDate,lineItem/UnblendedCost,resourceTags/user:dept\n",
    );
    let mut focus = String::from(
        "BilledCost,EffectiveCost,BillingCurrency,BillingPeriodStart,ChargePeriodStart,ChargeCategory,Tags\n",
    );
    for (amount, dept) in amounts.iter().zip(&depts) {
        cur1.push_str(&format!(
            "Usage,2025-01-05T00:00:00Z,2025-01-01T00:00:00Z,{amount},{dept}\n"
        ));
        let tags = format!("\"{{\"\"dept\"\": \"\"{dept}\"\"}}\"");
        focus.push_str(&format!(
            "{amount},{amount},USD,2025-01-01 00:00:00,2025-01-05 00:00:00,Usage,{tags}\n"
        ));
    }
    let cur1_file = write(dir.path(), "cur1.csv", &cur1);
    let focus_file = write(dir.path(), "focus.csv", &focus);
    let cur2_file = dir.path().join("cur2.parquet");
    let doubles: Vec<f64> = amounts.iter().map(|a| a.parse().expect("number")).collect();
    cur2_parquet(&cur2_file, &doubles, &depts);
    let showback = |flag: &str, file: &Path| {
        let output = aispend(dir.path())
            .args(["showback", "--format", "csv", flag, file.to_str().expect("utf8")])
            .output()
            .expect("run");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf8")
    };
    let from_cur1 = showback("--cur", &cur1_file);
    // sales: 1.1 + 3.3 + 5.5 + 7.7 + 9.9 = 27.5; support: 2.2 + 4.4 + 6.6 + 8.8 + 11 = 33.
    assert!(from_cur1.contains("2025-01,sales,27.50,27.50,"), "{from_cur1}");
    assert!(from_cur1.contains("2025-01,support,33.00,33.00,"), "{from_cur1}");
    assert_eq!(from_cur1, showback("--cur", &cur2_file));
    assert_eq!(from_cur1, showback("--focus", &focus_file));
}

#[test]
fn real_focus_sample_ties_to_its_billed_cost() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/samples/focus-sample-data/focus_sample.csv");
    let mut reader = csv::Reader::from_path(&sample).expect("sample");
    let column = reader
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "BilledCost")
        .expect("BilledCost");
    let mut expected = Money::ZERO;
    for record in reader.records() {
        expected += Money::parse(&record.expect("record")[column]).expect("amount");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let output = aispend(dir.path())
        .args([
            "showback",
            "--by",
            "business_unit",
            "--format",
            "csv",
            "--focus",
            sample.to_str().expect("utf8"),
        ])
        .output()
        .expect("run");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).expect("utf8");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let billed = reader
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "billed_cost")
        .expect("billed_cost");
    let total: Money =
        reader.records().map(|r| Money::parse(&r.expect("row")[billed]).expect("money")).sum();
    assert_eq!(total, expected);
}

#[test]
fn malformed_amount_names_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\nUsage,2025-01-05T00:00:00Z,1\nUsage,2025-01-05T00:00:00Z,abc\n";
    let file = write(dir.path(), "bad.csv", text);
    let output = aispend(dir.path())
        .args(["showback", "--cur", file.to_str().expect("utf8")])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.csv`: line 3, column `lineItem/UnblendedCost`: expected a decimal number, found `abc`"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn gzip_of_several_members_is_read_to_its_end() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n";
    let mut bytes = Vec::new();
    for part in [
        format!("{header}Usage,2025-01-05T00:00:00Z,1.5\n"),
        "Usage,2025-01-06T00:00:00Z,2.5\n".to_string(),
    ] {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(part.as_bytes()).expect("gzip");
        bytes.extend(encoder.finish().expect("gzip"));
    }
    let file = dir.path().join("cur-no-extension");
    std::fs::write(&file, bytes).expect("write");
    let rows = query(dir.path(), "--cur", &file, "SELECT SUM(billed_cost), COUNT(*) FROM costs");
    assert_eq!(rows, [["4.00", "2"]]);
}

/// The Python interpreter with pyarrow (`.ci/run` sets it), or `None` with a note.
fn python() -> Option<String> {
    if let Ok(python) = std::env::var("AISPEND_PYTHON") {
        Some(python)
    } else {
        assert!(
            std::env::var("AISPEND_REQUIRE_EMULATOR").is_err(),
            "AISPEND_PYTHON is unset but .ci/run requires the Python tools"
        );
        eprintln!("did not run: set AISPEND_PYTHON to a Python with pyarrow (.ci/run does)");
        None
    }
}

#[test]
fn real_parquet_map_tags_tie_to_the_generators_exact_sums() {
    // The generator writes resource_tags as the Parquet MAP type, as AWS does, and prints
    // the exact per-dept sums of the unblended cost (Python Decimal of each double's repr).
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cur2.parquet");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen_cur2.py");
    let columns =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/cur2_columns.tsv");
    let generated = std::process::Command::new(python)
        .args([
            script.to_str().expect("utf8"),
            "--rows",
            "20000",
            "--month",
            "2025-01",
            "--seed",
            "11",
        ])
        .args(["--columns", columns.to_str().expect("utf8"), "--out", file.to_str().expect("utf8")])
        .output()
        .expect("generator");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let summary: serde_json::Value =
        serde_json::from_slice(&generated.stdout).expect("summary json");
    let output = aispend(dir.path())
        .args([
            "showback",
            "--by",
            "dept",
            "--format",
            "csv",
            "--cur",
            file.to_str().expect("utf8"),
        ])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("utf8");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut seen = 0;
    for record in reader.records() {
        let record = record.expect("row");
        let want = summary["unblended_cost_by_dept"][&record[1]].as_str().expect("dept in summary");
        assert_eq!(
            Money::parse(&record[2]).expect("money"),
            Money::parse(want).expect("money"),
            "{}",
            &record[1]
        );
        seen += 1;
    }
    assert_eq!(seen, summary["unblended_cost_by_dept"].as_object().expect("object").len());
}

/// Writes CUR 2.0 Parquet lines (doubles for amounts, as AWS writes them) with the columns
/// of the amortization; `unused` holds each line's unused RI upfront and recurring fee.
fn cur2_amortization_parquet(path: &Path, lines: &[Line<'_>], unused: &[(&str, &str)]) {
    let fields: Vec<[&str; 10]> =
        lines.iter().map(|l| [l.0, l.1, l.2, l.3, l.4, l.5, l.6, l.7, l.8, l.9]).collect();
    let amount = |index: usize| -> Vec<Option<f64>> {
        fields.iter().map(|line| line[index].parse::<f64>().ok()).collect()
    };
    let text = |index: usize| -> Vec<Option<String>> {
        fields.iter().map(|line| Some(line[index].to_string()).filter(|v| !v.is_empty())).collect()
    };
    let rows = lines.len();
    let upfront: Vec<Option<f64>> = unused.iter().map(|u| u.0.parse::<f64>().ok()).collect();
    let recurring: Vec<Option<f64>> = unused.iter().map(|u| u.1.parse::<f64>().ok()).collect();
    let mut frame = df!(
        "line_item_line_item_type" => text(0),
        "line_item_usage_amount" => amount(1),
        "line_item_unblended_cost" => amount(2),
        "savings_plan_savings_plan_effective_cost" => amount(3),
        "savings_plan_total_commitment_to_date" => amount(4),
        "savings_plan_used_commitment" => amount(5),
        "reservation_effective_cost" => amount(6),
        "reservation_reservation_a_r_n" => text(7),
        "line_item_product_code" => text(8),
        "product_region_code" => text(9),
        "reservation_unused_amortized_upfront_fee_for_billing_period" => upfront,
        "reservation_unused_recurring_fee" => recurring,
        "line_item_usage_start_date" => vec!["2025-01-05T00:00:00Z"; rows],
        "bill_billing_period_start_date" => vec!["2025-01-01T00:00:00Z"; rows],
        "line_item_currency_code" => vec!["USD"; rows],
    )
    .expect("frame");
    let file = std::fs::File::create(path).expect("create");
    ParquetWriter::new(file).finish(&mut frame).expect("parquet");
}

#[test]
fn savings_plans_and_reservations_amortize_in_cur2_parquet_too() {
    // The lines of the two amortization tests above, written as CUR 2.0 Parquet.
    // Savings Plan: billed 0.80, effective 0.80, 12 hours (see the CUR 1.0 test).
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = savings_plan_lines();
    let file = dir.path().join("sp.parquet");
    cur2_amortization_parquet(&file, &lines, &[("", ""); 4]);
    let sql = "SELECT SUM(billed_cost), SUM(effective_cost), SUM(consumed_quantity) FROM costs";
    assert_eq!(query(dir.path(), "--cur", &file, sql), [["0.80", "0.80", "12.00"]]);

    // Reservations: billed 100 + 720 + 50 - 25 + 0 = 845; effective 100 + 30 + 0 + 50 - 25
    // + (5 + 0) = 160; six lines.
    let mut lines = reservation_lines();
    lines.push(("RIFee", "1", "0", "", "", "", "", RI_ARN, "AmazonEC2", ""));
    let unused = [("", ""), ("", ""), ("", ""), ("", ""), ("", ""), ("5", "0")];
    let file = dir.path().join("ri.parquet");
    cur2_amortization_parquet(&file, &lines, &unused);
    let sql = "SELECT SUM(billed_cost), SUM(effective_cost), COUNT(*) FROM costs";
    assert_eq!(query(dir.path(), "--cur", &file, sql), [["845.00", "160.00", "6"]]);
}

#[test]
fn parquet_amounts_as_text_are_exact_and_a_bad_one_is_named() {
    // Amounts written as text: " 1.10" + "2.2" + "" (no amount) + "NULL" (no amount)
    // + "0.000000000000000001" = 3.300000000000000001, shown as 3.30 over 5 lines.
    let dir = tempfile::tempdir().expect("tempdir");
    let write_text_amounts = |name: &str, amounts: &[&str]| {
        let rows = amounts.len();
        let mut frame = df!(
            "line_item_line_item_type" => vec!["Usage"; rows],
            "line_item_unblended_cost" => amounts.to_vec(),
            "bill_billing_period_start_date" => vec!["2025-01-01T00:00:00Z"; rows],
            "line_item_currency_code" => vec!["USD"; rows],
        )
        .expect("frame");
        let path = dir.path().join(name);
        ParquetWriter::new(std::fs::File::create(&path).expect("create"))
            .finish(&mut frame)
            .expect("parquet");
        path
    };
    let good =
        write_text_amounts("good.parquet", &[" 1.10", "2.2", "", "NULL", "0.000000000000000001"]);
    let sql = "SELECT CAST(SUM(billed_cost) AS VARCHAR), COUNT(*) FROM costs";
    let rows = query(dir.path(), "--cur", &good, sql);
    assert_eq!(rows[0][1], "5");
    assert!(rows[0][0].starts_with("3.300000000000000001"), "{rows:?}");

    let bad = write_text_amounts("bad.parquet", &["1.10", "12,50"]);
    let output = aispend(dir.path())
        .args(["showback", "--cur", bad.to_str().expect("utf8")])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "bad.parquet`: row 2 (row 2 of row group 1), column `line_item_unblended_cost`: \
             expected a decimal number, found `12,50`"
        ),
        "{stderr}"
    );
}

fn showback_csv(dir: &Path, args: &[&str]) -> (String, String) {
    let output =
        aispend(dir).args(["showback", "--format", "csv"]).args(args).output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "{stderr}");
    (String::from_utf8(output.stdout).expect("utf8"), stderr)
}

#[test]
fn identical_line_items_in_one_delivery_are_both_charged() {
    // Two line items equal in every column are two charges on the invoice: 5 + 5 = 10.
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,resourceTags/user:dept\n";
    let row = "Usage,2025-01-05T00:00:00Z,5,ops\n";
    let file = write(dir.path(), "cur.csv", &format!("{header}{row}{row}"));
    let (stdout, _) = showback_csv(dir.path(), &["--cur", file.to_str().expect("utf8")]);
    assert_eq!(stdout.lines().nth(1), Some("2025-01,ops,10.00,10.00,1,2,USD"), "{stdout}");
}

#[test]
fn one_delivery_under_two_names_counts_once() {
    // The same month saved as `a.csv` and `copy-of-a.csv`, and `a.csv` named by two paths:
    // 5 + 7 = 12 once, not 24 or 36, with a warning that names the copy.
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,resourceTags/user:dept\n";
    let text =
        format!("{header}Usage,2025-01-05T00:00:00Z,5,ops\nUsage,2025-01-06T00:00:00Z,7,ops\n");
    write(dir.path(), "a.csv", &text);
    write(dir.path(), "copy-of-a.csv", &text);
    let (stdout, stderr) =
        showback_csv(dir.path(), &["--cur", "a.csv", "--cur", "./a.csv", "--cur", "copy-of-a.csv"]);
    assert_eq!(stdout.lines().nth(1), Some("2025-01,ops,12.00,12.00,1,2,USD"), "{stdout}");
    assert!(stderr.contains("`copy-of-a.csv` has the same content as `"), "{stderr}");
}

#[test]
fn camel_case_tag_keys_of_cur1_and_cur2_are_one_key() {
    // CUR 1.0 keeps `CostCenter`; CUR 2.0 writes it `user_cost_center`. Both are the
    // `cost_center` owner `cc-1`: 3 + 4 = 7.
    let dir = tempfile::tempdir().expect("tempdir");
    let cur1 = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,resourceTags/user:CostCenter\n\
                Usage,2025-01-05T00:00:00Z,3,CC-1\n";
    let cur2 = "line_item_line_item_type,line_item_usage_start_date,line_item_unblended_cost,resource_tags\n\
                Usage,2025-01-06T00:00:00Z,4,\"{\"\"user_cost_center\"\":\"\"cc-1\"\"}\"\n";
    write(dir.path(), "cur1.csv", cur1);
    write(dir.path(), "cur2.csv", cur2);
    let (stdout, _) = showback_csv(
        dir.path(),
        &["--by", "cost_center", "--cur", "cur1.csv", "--cur", "cur2.csv"],
    );
    assert_eq!(stdout.lines().nth(1), Some("2025-01,cc-1,7.00,7.00,1,2,USD"), "{stdout}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}

#[test]
fn a_csv_bill_of_many_pieces_sums_exactly() {
    // 300,001 lines, more than one piece of CSV rows: 150,001 lines of 0.01 for `a`
    // (1,500.01) and 150,000 for `b` (1,500.00).
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from(
        "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,resourceTags/user:dept\n",
    );
    for line in 0..300_001 {
        let dept = if line % 2 == 0 { "a" } else { "b" };
        text.push_str(&format!("Usage,2025-01-05T00:00:00Z,0.01,{dept}\n"));
    }
    write(dir.path(), "cur.csv", &text);
    let (stdout, _) = showback_csv(dir.path(), &["--cur", "cur.csv"]);
    // The share (column 5) is a ratio, not money: it is left out of the comparison.
    let rows: Vec<String> = stdout
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            [&fields[..4], &fields[5..]].concat().join(",")
        })
        .collect();
    assert_eq!(
        rows,
        ["2025-01,a,1500.01,1500.01,150001,USD", "2025-01,b,1500.00,1500.00,150000,USD"],
        "{stdout}"
    );
}

/// Runs `config check` on `config` in a fresh folder: exit code, stdout and stderr.
fn config_check(config: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "aispend.toml", config);
    let output = aispend(dir.path())
        .args(["--config", "aispend.toml", "config", "check"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    (output.status.code(), stdout, String::from_utf8_lossy(&output.stderr).to_string())
}

#[test]
fn config_check_rejects_what_later_commands_would() {
    // Each configuration, the line it is wrong at, and what the error says.
    let budget = "[[budgets]]\nname = \"pilot\"\nscope = { dept = \"sales\" }\nlimit = 10\n";
    let cases = [
        (
            "[[budgets]]\nname = \"pilot\"\nscope = { deptz = \"sales\" }\nlimit = 10\n".to_string(),
            3,
            "budget `pilot`: the scope key `deptz` is not a taxonomy key, `api_key` or `user`: \
             expected `dept`, `team`, `app`, `api_key` or `user`",
            "hint: add `deptz` to `taxonomy.keys`, or change the budget's `scope`",
        ),
        (
            format!("{budget}\n{budget}"),
            7,
            "two budgets are named `pilot`: expected each budget to have its own name",
            "hint: rename one of them",
        ),
        (
            format!("{budget}soft_limit = 20\nhard_limit = 5\n"),
            5,
            "budget `pilot`: `soft_limit` is above `hard_limit`: expected at most `5.00`, found \
             `20.00`",
            "hint: the soft limit warns before the hard limit acts",
        ),
        (
            "[[rules]]\nname = \"tax\"\nmatch = { charge_category = \"taxx\" }\nmethod = \"even\"\n"
                .to_string(),
            3,
            "rule `tax`: `match.charge_category` is `taxx`, which no line item has: expected \
             `usage`, `purchase`, `tax`, `credit`, `refund` or `adjustment`",
            "hint: charge categories are FOCUS's",
        ),
        (
            "[[rules]]\nname = \"a\"\nmatch = {}\nmethod = \"even\"\n\n\
             [[rules]]\nname = \"a\"\nmatch = {}\nmethod = \"tokens\"\n"
                .to_string(),
            7,
            "two rules are named `a`: expected each rule to have its own name",
            "hint: rename one of them",
        ),
        (
            "[[rules]]\nname = \"split\"\nmatch = {}\nmethod = \"fixed\"\n\
             weights = { sales = 0, ops = 0 }\n"
                .to_string(),
            5,
            "rule `split` uses method `fixed`, but every weight in `weights` is 0: expected at \
             least one weight above zero",
            "hint: give each owner a share of the cost",
        ),
        (
            "[[rules]]\nname = \"split\"\nmatch = {}\nmethod = \"fixed\"\n\
             weights = { sales = -2 }\n"
                .to_string(),
            5,
            "invalid value: integer `-2`, expected u64",
            "hint: write the value as the message expects",
        ),
        (
            "[taxonomy.aliases]\ndept = [\"owner\"]\nteam = [\"owner\"]\n".to_string(),
            3,
            "the alias `owner` is listed for two keys, `dept` and `team`: expected each alias \
             under one key",
            "hint: keep `owner` under `taxonomy.aliases.dept` or `taxonomy.aliases.team`",
        ),
        (
            "[taxonomy.aliases]\ndept = [\"team\"]\n".to_string(),
            2,
            "`taxonomy.aliases.dept` lists `team`, which is the taxonomy key `team`: expected a \
             tag that feeds `dept` alone",
            "hint: remove `team` from the aliases of `dept`",
        ),
        (
            "[gateway.mapping]\nstart_time = \"ts\"\ntokens = \"t\"\n".to_string(),
            3,
            "`gateway.mapping` names the unknown column `tokens`: expected a canonical \
             `requests` column, `tags` or an owner key",
            "hint: map canonical `requests` columns",
        ),
        (
            "[prices]\nlitellm = \"missing.json\"\n".to_string(),
            2,
            "cannot read the price file `",
            "hint: check `[prices] litellm` in aispend.toml",
        ),
    ];
    for (config, line, message, hint) in cases {
        let (code, _, stderr) = config_check(&config);
        assert_eq!(code, Some(2), "{config}\n{stderr}");
        assert!(stderr.starts_with("error: invalid configuration `aispend.toml`"), "{stderr}");
        assert!(stderr.contains(&format!("caused by: line {line}\n")), "{config}\n{stderr}");
        assert!(stderr.contains(message), "{config}\n{stderr}");
        assert!(stderr.contains(&format!("\n\n{hint}")), "{config}\n{stderr}");
    }
}

#[test]
fn config_check_passes_the_demo_and_warns_of_what_only_aws_refuses() {
    let output = Command::cargo_bin("aispend")
        .expect("binary")
        .args(["--config", "fixtures/demo/aispend.toml", "config", "check"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("configuration: `fixtures/demo/aispend.toml` is valid"), "{stdout}");

    // A `:` is fine for the gateways but not for AWS Budgets: exit 0 with a warning.
    let config = "[[budgets]]\nname = \"sales:q1\"\nscope = { dept = \"sales\" }\nlimit = 10\n";
    let (code, stdout, stderr) = config_check(config);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("is valid"), "{stdout}");
    assert!(
        stderr.contains(
            "`budgets export --target aws` and `budgets apply` would fail: the budget name \
             `sales:q1` is not valid for AWS Budgets"
        ),
        "{stderr}"
    );
}

/// Runs `aispend` with `args` in `dir`: exit code, stdout and stderr.
fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = aispend(dir).args(args).output().expect("run");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    (output.status.code(), stdout, String::from_utf8_lossy(&output.stderr).to_string())
}

/// The CSV rows of a query, as one string per row.
fn query_rows(dir: &Path, sql: &str, sources: &[&str]) -> Vec<String> {
    let mut args = vec!["query", sql, "--format", "csv"];
    args.extend_from_slice(sources);
    let (code, stdout, stderr) = run_in(dir, &args);
    assert_eq!(code, Some(0), "{stderr}");
    stdout.lines().skip(1).map(str::to_string).collect()
}

/// Writes a frame as Parquet.
fn write_parquet(path: &Path, frame: &mut DataFrame) {
    let file = std::fs::File::create(path).expect("create");
    ParquetWriter::new(file).finish(frame).expect("parquet");
}

const BY_CATEGORY: &str = "SELECT charge_category, SUM(billed_cost), SUM(effective_cost), COUNT(*) \
                           FROM costs GROUP BY 1 ORDER BY 1";

#[test]
fn line_item_types_match_without_regard_to_case() {
    // Covered usage 10.00 (SP effective 6.00), its negation -10.00 (effective 0), ` usage `
    // 2.00, a `ekspod-ec2` child row of 5.00 (left out), `TAX` 1.00 and a recurring fee of
    // 6.00 with its commitment all used (effective 0). Usage: billed 10 - 10 + 2 = 2.00,
    // effective 6 + 0 + 2 = 8.00 over 3 lines; purchase 6.00 and 0.00; tax 1.00 and 1.00.
    let dir = tempfile::tempdir().expect("tempdir");
    let lines: Vec<Line<'_>> = vec![
        ("savingsplancoveredusage", "10", "10.00", "6.00", "", "", "", "", "AmazonEC2", ""),
        ("SAVINGSPLANNEGATION", "10", "-10.00", "", "", "", "", "", "AmazonEC2", ""),
        (" usage ", "2", "2.00", "", "", "", "", "", "AmazonEC2", ""),
        ("usage", "1", "5.00", "", "", "", "", "", "AmazonEC2", ""),
        ("TAX", "", "1.00", "", "", "", "", "", "AmazonEC2", ""),
        ("savingsplanrecurringfee", "1", "6.00", "", "6.00", "6.00", "", "", "", ""),
    ];
    let operations: Vec<Vec<&str>> =
        ["RunInstances", "RunInstances", "RunInstances", "ekspod-ec2", "", ""]
            .iter()
            .map(|operation| vec![*operation])
            .collect();
    let text = cur1_csv(&lines, &["lineItem/Operation"], &operations);
    write(dir.path(), "cur.csv", &text);
    let want = ["purchase,6.00,0.00,1", "tax,1.00,1.00,1", "usage,2.00,8.00,3"];
    assert_eq!(query_rows(dir.path(), BY_CATEGORY, &["--cur", "cur.csv"]), want);

    // The same lines as CUR 2.0 Parquet.
    let file = dir.path().join("cur2.parquet");
    cur2_amortization_parquet(&file, &lines, &vec![("", ""); lines.len()]);
    let mut frame =
        ParquetReader::new(std::fs::File::open(&file).expect("open")).finish().expect("read");
    let operations = ["RunInstances", "RunInstances", "RunInstances", "ekspod-ec2", "", ""];
    frame.with_column(Column::new("line_item_operation".into(), operations)).expect("column");
    write_parquet(&file, &mut frame);
    assert_eq!(query_rows(dir.path(), BY_CATEGORY, &["--cur", "cur2.parquet"]), want);
}

#[test]
fn tag_prefixes_match_without_regard_to_case() {
    // `RESOURCETAGS/USER:DEPT` in CUR 1.0 and `USER_DEPT` in a CUR 2.0 map are both `dept`:
    // sales 4.00 + 3.00 = 7.00 on one row, nothing unallocated.
    let dir = tempfile::tempdir().expect("tempdir");
    let cur1 = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,\
                RESOURCETAGS/USER:DEPT\nUsage,2025-01-05T00:00:00Z,4.00,Sales\n";
    write(dir.path(), "cur1.csv", cur1);
    let key = Series::new("key".into(), ["USER_DEPT"]);
    let value = Series::new("value".into(), ["sales"]);
    let entry = StructChunked::from_series("entry".into(), 1, [&key, &value].into_iter())
        .expect("struct")
        .into_series();
    let mut frame = df!(
        "line_item_line_item_type" => ["Usage"],
        "bill_billing_period_start_date" => ["2025-01-01T00:00:00Z"],
        "line_item_unblended_cost" => [3.0],
        "line_item_currency_code" => ["USD"],
    )
    .expect("frame");
    frame.with_column(Series::new("resource_tags".into(), [entry]).into_column()).expect("tags");
    write_parquet(&dir.path().join("cur2.parquet"), &mut frame);
    let (stdout, _) =
        showback_csv(dir.path(), &["--by", "dept", "--cur", "cur1.csv", "--cur", "cur2.parquet"]);
    assert_eq!(stdout.lines().skip(1).collect::<Vec<_>>(), ["2025-01,sales,7.00,7.00,1,2,USD"]);
}

#[test]
fn currency_codes_are_trimmed_and_upper_cased_and_a_blank_one_is_counted() {
    // `usd` 1.00, `USD` 2.00, ` usd ` 3.00 and a blank 4.00 are one currency: 10.00 USD on one
    // row, with a warning for the one blank line. The same in CUR 2.0 Parquet: `usd` 1.50 and
    // a null 2.50 are 4.00 USD, with a warning for the null.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,\
                lineItem/CurrencyCode,resourceTags/user:dept\n\
                Usage,2025-01-05T00:00:00Z,1.00,usd,ops\nUsage,2025-01-05T00:00:00Z,2.00,USD,ops\n\
                Usage,2025-01-05T00:00:00Z,3.00, usd ,ops\nUsage,2025-01-05T00:00:00Z,4.00,,ops\n";
    write(dir.path(), "cur.csv", text);
    let (stdout, stderr) = showback_csv(dir.path(), &["--cur", "cur.csv"]);
    assert_eq!(stdout.lines().skip(1).collect::<Vec<_>>(), ["2025-01,ops,10.00,10.00,1,4,USD"]);
    assert!(
        stderr.contains(
            "`cur.csv`: 1 line item has no currency in `lineItem/CurrencyCode`, taken in the \
             currency of the line before it"
        ),
        "{stderr}"
    );

    let mut frame = df!(
        "line_item_line_item_type" => ["Usage", "Usage"],
        "bill_billing_period_start_date" => ["2025-01-01T00:00:00Z"; 2],
        "line_item_unblended_cost" => [1.5, 2.5],
        "line_item_currency_code" => [Some("usd"), None],
    )
    .expect("frame");
    write_parquet(&dir.path().join("cur2.parquet"), &mut frame);
    let sql = "SELECT billing_currency, SUM(billed_cost) FROM costs GROUP BY 1";
    let (code, stdout, stderr) =
        run_in(dir.path(), &["query", sql, "--format", "csv", "--cur", "cur2.parquet"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().nth(1), Some("USD,4.00"), "{stdout}");
    assert!(
        stderr.contains("1 line item has no currency in `line_item_currency_code`"),
        "{stderr}"
    );
}

#[test]
fn commitment_lines_without_their_amortization_columns_count_at_billed_cost() {
    // A CUR 1.0 with only the base columns: covered usage 8.00, reserved usage 3.00, an RI fee
    // 4.00 and usage 1.00. The file cannot amortize its Savings Plan and reservation lines,
    // so they count at their billed cost: effective 8 + 3 + 4 + 1 = 16.00 (not 1.00), with
    // one warning per commitment naming the columns and the lines.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n\
                SavingsPlanCoveredUsage,2025-01-05T00:00:00Z,8.00\n\
                DiscountedUsage,2025-01-05T00:00:00Z,3.00\n\
                RIFee,2025-01-01T00:00:00Z,4.00\nUsage,2025-01-05T00:00:00Z,1.00\n";
    write(dir.path(), "cur.csv", text);
    let sql = "SELECT SUM(billed_cost), SUM(effective_cost) FROM costs";
    let (code, stdout, stderr) =
        run_in(dir.path(), &["query", sql, "--format", "csv", "--cur", "cur.csv"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().nth(1), Some("16.00,16.00"), "{stdout}");
    assert!(
        stderr.contains(
            "`cur.csv` lacks `savingsPlan/SavingsPlanEffectiveCost`, \
             `savingsPlan/TotalCommitmentToDate`, `savingsPlan/UsedCommitment`, which Savings \
             Plan lines need for their effective cost: 1 Savings Plan line item counts at the \
             billed (unblended) cost"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "`reservation/ReservationARN`, which reservation lines need for their \
                         effective cost: 2 reservation line items count at the billed"
        ),
        "{stderr}"
    );
}

#[test]
fn a_line_without_a_billing_period_is_an_input_error() {
    // Row 2 has neither a billing period start nor a usage start: with or without `--month`,
    // the run stops there instead of showing an empty period or losing the line.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut frame = df!(
        "line_item_line_item_type" => ["Usage", "Usage", "Usage"],
        "bill_billing_period_start_date" => [Some("2025-01-01T00:00:00Z"), None, None],
        "line_item_usage_start_date" => [None, None, Some("2025-01-03T00:00:00Z")],
        "line_item_unblended_cost" => [1.0, 2.0, 3.0],
        "line_item_currency_code" => ["USD"; 3],
    )
    .expect("frame");
    write_parquet(&dir.path().join("cur2.parquet"), &mut frame);
    for month in [&[][..], &["--month", "2025-01"][..]] {
        let mut args = vec!["showback", "--cur", "cur2.parquet"];
        args.extend_from_slice(month);
        let (code, _, stderr) = run_in(dir.path(), &args);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains(
                "cannot read `cur2.parquet`: row 2 (row 2 of row group 1), column \
                 `bill_billing_period_start_date`: expected a billing period start, or else a \
                 usage start date, found `null`"
            ),
            "{stderr}"
        );
        assert!(stderr.contains("hint: every line item needs"), "{stderr}");
    }

    let text = "lineItem/LineItemType,bill/BillingPeriodStartDate,lineItem/UsageStartDate,\
                lineItem/UnblendedCost\nUsage,2025-01-01T00:00:00Z,,1\nUsage,,,2\n";
    write(dir.path(), "cur.csv", text);
    let (code, _, stderr) = run_in(dir.path(), &["showback", "--cur", "cur.csv"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`cur.csv`: line 3, column `bill/BillingPeriodStartDate`"), "{stderr}");
    assert!(stderr.contains("hint: every line item needs"), "{stderr}");
}

#[test]
fn tag_values_that_are_objects_repeated_or_of_the_wrong_type_are_not_owners() {
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "line_item_line_item_type,line_item_usage_start_date,line_item_unblended_cost,\
                  resource_tags\n";
    // An object value is an error that names the line and the tag.
    let object =
        format!("{header}Usage,2025-01-05T00:00:00Z,1,\"{{\"\"user_dept\"\":{{\"\"a\"\":1}}}}\"\n");
    write(dir.path(), "object.csv", &object);
    let (code, _, stderr) = run_in(dir.path(), &["showback", "--cur", "object.csv"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "`object.csv`: line 2, column `resource_tags`: expected a JSON object \
                             of tags with text, number or boolean values (the tag `user_dept` \
                             holds an object)"
        ),
        "{stderr}"
    );

    // A key given twice: the first value wins and the line counts one conflict. A value that
    // reads `__unallocated__` is untagged: 2.00 and 3.00 make one `__unallocated__` row.
    let lines = format!(
        "{header}Usage,2025-01-05T00:00:00Z,1,\"{{\"\"user_dept\"\":\"\"x\"\",\"\"user_dept\"\":\"\"y\"\"}}\"\n\
         Usage,2025-01-05T00:00:00Z,2,\"{{\"\"user_dept\"\":\"\"__unallocated__\"\"}}\"\n\
         Usage,2025-01-05T00:00:00Z,3,\n"
    );
    write(dir.path(), "tags.csv", &lines);
    let sql = "SELECT dept, tag_conflicts, billed_cost FROM costs ORDER BY billed_cost";
    assert_eq!(
        query_rows(dir.path(), sql, &["--cur", "tags.csv"]),
        ["x,1,1.00", ",0,2.00", ",0,3.00"]
    );
    let (stdout, _) = showback_csv(dir.path(), &["--cur", "tags.csv"]);
    let rows: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(rows[0].starts_with("2025-01,__unallocated__,5.00,5.00,"), "{stdout}");

    // A `resource_tags` column of integers is an error, not silently no tags.
    let mut frame = df!(
        "line_item_line_item_type" => ["Usage"],
        "bill_billing_period_start_date" => ["2025-01-01T00:00:00Z"],
        "line_item_unblended_cost" => [1.0],
        "resource_tags" => [7i64],
    )
    .expect("frame");
    write_parquet(&dir.path().join("ints.parquet"), &mut frame);
    let (code, _, stderr) = run_in(dir.path(), &["showback", "--cur", "ints.parquet"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "`ints.parquet`: column `resource_tags`: expected a \
                             MAP<string,string> or a JSON string, found the type `i64`"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: tags are a map of text keys to text values"), "{stderr}");
}

#[test]
fn focus_mandatory_columns_and_charge_categories_are_held_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "BilledCost,EffectiveCost,BillingCurrency,BillingPeriodStart,ChargeCategory\n";
    let line = |billed: &str, effective: &str, category: &str| {
        format!("{billed},{effective},USD,2025-01-01T00:00:00Z,{category}\n")
    };
    let cases = [
        (
            line("NULL", "1", "Usage"),
            "column `BilledCost`: expected an amount (`BilledCost` is \
                                      mandatory and never null in FOCUS), found `NULL`",
        ),
        (
            line("1", "NULL", "Usage"),
            "column `EffectiveCost`: expected an amount \
                                      (`EffectiveCost` is mandatory and never null in FOCUS), \
                                      found `NULL`",
        ),
        (
            line("1", "1", "Weird"),
            "column `ChargeCategory`: expected one of `Usage`, `Purchase`, \
                                   `Tax`, `Credit`, `Adjustment`, found `Weird`",
        ),
    ];
    for (bad, message) in cases {
        let text = format!("{header}{}{bad}", line("2", "2", "usage"));
        write(dir.path(), "focus.csv", &text);
        let (code, _, stderr) = run_in(dir.path(), &["showback", "--focus", "focus.csv"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("cannot read `focus.csv`: line 3, {message}")),
            "{stderr}"
        );
        assert!(stderr.contains("\n\nhint: "), "{stderr}");
    }

    // Without `EffectiveCost` the effective cost is the billed cost, with a warning:
    // 2.50 + 0.50 = 3.00 on both bases; `TAX` is a tax line.
    let text = "BilledCost,BillingCurrency,BillingPeriodStart,ChargeCategory\n\
                2.50,USD,2025-01-01T00:00:00Z,Usage\n0.50,USD,2025-01-01T00:00:00Z,TAX\n";
    write(dir.path(), "focus.csv", text);
    let sql = "SELECT charge_category, SUM(billed_cost), SUM(effective_cost) FROM costs \
               GROUP BY 1 ORDER BY 1";
    let (code, stdout, stderr) =
        run_in(dir.path(), &["query", sql, "--format", "csv", "--focus", "focus.csv"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().skip(1).collect::<Vec<_>>(), ["tax,0.50,0.50", "usage,2.50,2.50"]);
    assert!(
        stderr.contains(
            "`focus.csv` has no `EffectiveCost` column, which FOCUS makes \
                             mandatory: its effective cost is taken as its billed cost"
        ),
        "{stderr}"
    );
}

#[test]
fn float32_amounts_convert_through_their_shortest_text() {
    // 0.1f32 + 0.2f32 is 0.3 exactly, not 0.30000000447034836 from widening to f64 first.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut frame = df!(
        "line_item_line_item_type" => ["Usage", "Usage"],
        "bill_billing_period_start_date" => ["2025-01-01T00:00:00Z"; 2],
        "line_item_unblended_cost" => [0.1f32, 0.2f32],
        "line_item_currency_code" => ["USD"; 2],
    )
    .expect("frame");
    write_parquet(&dir.path().join("cur2.parquet"), &mut frame);
    let sql = "SELECT CAST(SUM(billed_cost) AS VARCHAR) FROM costs";
    let rows = query_rows(dir.path(), sql, &["--cur", "cur2.parquet"]);
    assert_eq!(rows, ["0.300000000000000000"]);
}

#[test]
fn malformed_csv_and_parquet_bills_say_where_and_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let header = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost\n";
    let mut big = String::from(header);
    for day in 0..30_000 {
        big.push_str(&format!(
            "Usage,2025-01-{:02}T00:00:00Z,{}.{:02}\n",
            day % 28 + 1,
            day,
            day % 97
        ));
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut encoder, big.as_bytes()).expect("gzip");
    let gzip = encoder.finish().expect("gzip");
    std::fs::write(dir.path().join("cut.csv.gz"), &gzip[..gzip.len() / 2]).expect("write");
    let mut not_utf8 = header.as_bytes().to_vec();
    not_utf8.extend_from_slice(b"Usage,2025-01-05T00:00:00Z,1\nUsage\xff,2025-01-05T00:00:00Z,2\n");
    std::fs::write(dir.path().join("latin1.csv"), not_utf8).expect("write");
    write(dir.path(), "ragged.csv", &format!("{header}Usage,2025-01-05T00:00:00Z,1,x,y,z\n"));
    write(dir.path(), "cost-only.csv", "lineItem/UnblendedCost\n1\n");
    let mut frame = df!(
        "line_item_line_item_type" => ["Usage"],
        "bill_billing_period_start_date" => ["2025-01-01T00:00:00Z"],
        "line_item_unblended_cost" => [true],
    )
    .expect("frame");
    write_parquet(&dir.path().join("bool.parquet"), &mut frame);
    let cases = [
        (
            "cut.csv.gz",
            "cannot read `cut.csv.gz`: the file ends early or is damaged after line ",
            "hint: the download was probably cut off; download the file again",
        ),
        (
            "latin1.csv",
            "cannot read `latin1.csv`: line 3, column `lineItem/LineItemType`: \
                        expected UTF-8 text, found `Usage\u{fffd}`",
            "hint: bills are UTF-8 text; re-save the file as UTF-8",
        ),
        (
            "ragged.csv",
            "cannot read `ragged.csv`: line 2: expected 3 fields as in the header, \
                        found 6",
            "hint: a value that holds a `,` must be in double quotes",
        ),
        (
            "cost-only.csv",
            "`cost-only.csv` lacks required columns: `lineItem/LineItemType`, and \
                           `bill/BillingPeriodStartDate` or `lineItem/UsageStartDate`",
            "hint: export the bill with its default columns",
        ),
        (
            "bool.parquet",
            "cannot read `bool.parquet`: column `line_item_unblended_cost`: expected \
                          a double, a decimal or text, found the type `boolean`",
            "hint: amounts must be numbers (double or decimal) or decimal text",
        ),
    ];
    for (file, message, hint) in cases {
        let (code, _, stderr) = run_in(dir.path(), &["showback", "--cur", file]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains(message), "{stderr}");
        assert!(stderr.contains(hint), "{stderr}");
    }
}

#[test]
fn focus_parquet_holds_to_the_mandatory_columns_too() {
    // Row 5 is the first of the third row group of two rows each: its null `BilledCost` is
    // named there. Without nulls, `usd` and ` USD` are one currency: usage 1.25 + 2.75 + 1.00
    // + 1.00 = 6.00 USD and tax 0.50 + 0.25 = 0.75 USD.
    let dir = tempfile::tempdir().expect("tempdir");
    let write_focus = |name: &str, billed: [Option<f64>; 6], currency: [&str; 6]| {
        let mut frame = df!(
            "BilledCost" => billed,
            "EffectiveCost" => [1.0; 6],
            "BillingCurrency" => currency,
            "BillingPeriodStart" => ["2025-01-01T00:00:00Z"; 6],
            "ChargeCategory" => ["Usage", "usage", "TAX", "Usage", "USAGE", " Tax "],
        )
        .expect("frame");
        let file = std::fs::File::create(dir.path().join(name)).expect("create");
        ParquetWriter::new(file).with_row_group_size(Some(2)).finish(&mut frame).expect("parquet");
    };
    let billed = [Some(1.25), Some(2.75), Some(0.5), Some(1.0), None, Some(0.25)];
    write_focus("null.parquet", billed, ["USD"; 6]);
    let (code, _, stderr) = run_in(dir.path(), &["showback", "--focus", "null.parquet"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "cannot read `null.parquet`: row 5 (row 1 of row group 3), column `BilledCost`: \
             expected an amount (`BilledCost` is mandatory and never null in FOCUS), found `null`"
        ),
        "{stderr}"
    );
    let billed = [Some(1.25), Some(2.75), Some(0.5), Some(1.0), Some(1.0), Some(0.25)];
    write_focus("good.parquet", billed, ["usd", " USD", "USD", "usd", "USD", "USD"]);
    let sql = "SELECT billing_currency, charge_category, SUM(billed_cost) FROM costs \
               GROUP BY 1, 2 ORDER BY 2";
    let rows = query_rows(dir.path(), sql, &["--focus", "good.parquet"]);
    assert_eq!(rows, ["USD,tax,0.75", "USD,usage,6.00"]);
}
