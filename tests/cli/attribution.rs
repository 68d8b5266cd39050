//! Issue 3 on the bundled demo month: chargeback ties to the invoice, reconcile and showback
//! run, and the journal carries the cost centers.

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::path::Path;

use aispend::money::Money;
use assert_cmd::Command;

fn demo(args: &[&str]) -> (String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::cargo_bin("aispend")
        .expect("binary")
        .current_dir(root)
        .env("NO_COLOR", "1")
        .args(["--config", "fixtures/demo/aispend.toml"])
        .args(args)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "{stderr}");
    (String::from_utf8(output.stdout).expect("utf8"), stderr)
}

fn column_sum(csv_text: &str, column: &str) -> Money {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let index = reader.headers().expect("header").iter().position(|h| h == column).expect("column");
    reader.records().map(|r| Money::parse(&r.expect("row")[index]).expect("money")).sum()
}

#[test]
fn demo_chargeback_ties_to_the_invoice_on_both_bases() {
    // fixtures/demo/README.md: billed 2,753.1447402144, effective 3,125.1447402144.
    let (billed, _) =
        demo(&["chargeback", "--month", "2025-01", "--basis", "billed", "--format", "csv"]);
    assert_eq!(column_sum(&billed, "total_cost"), Money::parse("2753.14").expect("money"));
    let (effective, stderr) = demo(&["chargeback", "--month", "2025-01", "--format", "csv"]);
    assert_eq!(column_sum(&effective, "total_cost"), Money::parse("3125.14").expect("money"));
    assert!(stderr.contains("acme.internal-llm-v1"), "the unpriced model is reported: {stderr}");
}

#[test]
fn demo_allocations_sum_to_the_invoice_exactly() {
    let (out, _) = demo(&[
        "query",
        "SELECT SUM(amount) AS amount FROM allocations",
        "--month",
        "2025-01",
        "--format",
        "csv",
    ]);
    assert_eq!(out.lines().nth(1), Some("3125.1447402144"));
}

#[test]
fn demo_journal_has_one_line_per_department() {
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("journal.csv");
    demo(&[
        "chargeback",
        "--month",
        "2025-01",
        "--format",
        "csv",
        "--journal",
        journal.to_str().expect("utf8"),
    ]);
    let text = std::fs::read_to_string(&journal).expect("journal");
    assert!(
        text.starts_with("period,debit_cost_center,credit_cost_center,amount,currency,memo\n"),
        "{text}"
    );
    assert_eq!(column_sum(&text, "amount"), Money::parse("3125.14").expect("money"));
}

#[test]
fn demo_reconcile_names_the_bypass_and_the_unpriced_model() {
    let (out, _) = demo(&["reconcile", "--month", "2025-01", "--format", "csv"]);
    assert!(out.contains("acme.internal-llm-v1"), "{out}");
    let invoice = column_sum(&out, "invoice_cost");
    // The Bedrock lines of the demo bill: 280.76790012.
    assert_eq!(invoice, Money::parse("280.76790012").expect("money"));
}
