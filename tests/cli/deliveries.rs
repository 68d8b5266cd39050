//! Which files of a report folder make up the bill, and what the totals of several
//! currencies look like. Every expected value is worked out by hand beside it.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

const HEADER: &str = "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UnblendedCost,\
                      lineItem/CurrencyCode,resourceTags/user:dept\n";

fn aispend(dir: &Path) -> Command {
    let mut command = Command::cargo_bin("aispend").unwrap();
    command.current_dir(dir).env("NO_COLOR", "1").env_remove("RUST_LOG");
    command
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A CUR 1.0 CSV of (day, amount, currency, dept) lines.
fn cur1(lines: &[(&str, &str, &str, &str)]) -> String {
    let mut text = HEADER.to_string();
    for (day, amount, currency, dept) in lines {
        text.push_str(&format!("Usage,{day}T00:00:00Z,{amount},{currency},{dept}\n"));
    }
    text
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// `showback --format csv` rows (header left out) and stderr; fails on a failed run.
fn showback(dir: &Path, args: &[&str]) -> (Vec<String>, String) {
    let output = aispend(dir).args(["showback", "--format", "csv"]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    (stdout.lines().skip(1).map(str::to_string).collect(), stderr)
}

/// The exit code and stderr of a run expected to fail.
fn failure(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = aispend(dir).args(args).output().unwrap();
    assert!(!output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    (output.status.code(), String::from_utf8_lossy(&output.stderr).to_string())
}

#[test]
fn a_manifest_names_only_files_of_its_own_month() {
    // Every month's chunks are called `r-1`, `r-2`. January's manifest lists only `r-1`
    // (10.00); its `r-2` (20.00) is a stale leftover. February lists `r-1` (5.00) and
    // `r-2` (7.00). January is 10.00 and February 12.00: January's stale `r-2` is never
    // read, neither for itself nor in place of February's.
    let dir = tempfile::tempdir().unwrap();
    let jan = "r/20250101-20250201";
    let feb = "r/20250201-20250301";
    write(
        dir.path(),
        &format!("{jan}/r-1.csv.gz"),
        &gzip(&cur1(&[("2025-01-03", "10", "USD", "ops")])),
    );
    write(
        dir.path(),
        &format!("{jan}/r-2.csv.gz"),
        &gzip(&cur1(&[("2025-01-04", "20", "USD", "ops")])),
    );
    write(
        dir.path(),
        &format!("{feb}/r-1.csv.gz"),
        &gzip(&cur1(&[("2025-02-03", "5", "USD", "ops")])),
    );
    let manifest = |period: &str, keys: &[&str]| {
        let keys: Vec<String> = keys.iter().map(|k| format!("\"p/r/{period}/{k}\"")).collect();
        format!("{{\"assemblyId\":\"a\",\"reportKeys\":[{}]}}", keys.join(","))
    };
    write(
        dir.path(),
        &format!("{jan}/r-Manifest.json"),
        manifest("20250101-20250201", &["r-1.csv.gz"]).as_bytes(),
    );
    let feb_manifest = manifest("20250201-20250301", &["r-1.csv.gz", "r-2.csv.gz"]);
    write(dir.path(), &format!("{feb}/r-Manifest.json"), feb_manifest.as_bytes());

    // February's `r-2` is not there yet: the month is incomplete, which is an error.
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "r"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "20250201-20250301/r-2.csv.gz`, which is not among the files of its billing period"
        ),
        "{stderr}"
    );

    write(
        dir.path(),
        &format!("{feb}/r-2.csv.gz"),
        &gzip(&cur1(&[("2025-02-04", "7", "USD", "ops")])),
    );
    let (rows, _) = showback(dir.path(), &["--cur", "r"]);
    assert_eq!(rows, ["2025-01,ops,10.00,10.00,1,1,USD", "2025-02,ops,12.00,12.00,1,2,USD"]);
}

#[test]
fn two_assemblies_without_the_period_manifest_are_refused() {
    // A create-new folder copied without `r/20250101-20250201/r-Manifest.json`: assembly
    // `aaaa` (100 + 200) and `bbbb` (110 + 220) are two deliveries of January. Adding them
    // (630) would count the month twice, and nothing says which is current.
    let dir = tempfile::tempdir().unwrap();
    let period = "r/20250101-20250201";
    let old = cur1(&[("2025-01-03", "100", "USD", "sales"), ("2025-01-04", "200", "USD", "sales")]);
    let new = cur1(&[("2025-01-03", "110", "USD", "sales"), ("2025-01-04", "220", "USD", "sales")]);
    write(dir.path(), &format!("{period}/aaaa/r-1.csv.gz"), &gzip(&old));
    write(dir.path(), &format!("{period}/bbbb/r-1.csv.gz"), &gzip(&new));
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "r"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("holds 2 deliveries of one billing period (`aaaa`, `bbbb`)"),
        "{stderr}"
    );

    // The folder of one assembly is that delivery: 110 + 220 = 330.
    let (rows, _) = showback(dir.path(), &["--cur", &format!("{period}/bbbb")]);
    assert_eq!(rows, ["2025-01,sales,330.00,330.00,1,2,USD"]);
}

#[test]
fn a_cur2_data_partition_is_read_through_its_manifest() {
    // The manifest lists `exp-00001.csv.gz` (4.00); `exp-00002.csv.gz` (999.00) is a
    // leftover of an earlier refresh. Passing the data partition itself still reads 4.00.
    let dir = tempfile::tempdir().unwrap();
    let header = "line_item_line_item_type,line_item_usage_start_date,line_item_unblended_cost,\
                  line_item_currency_code,resource_tags\n";
    let file = |amount: &str| {
        gzip(&format!(
            "{header}Usage,2025-01-05T00:00:00Z,{amount},USD,\"{{\"\"user_dept\"\":\"\"ops\"\"}}\"\n"
        ))
    };
    let data = "exp/data/BILLING_PERIOD=2025-01";
    write(dir.path(), &format!("{data}/exp-00001.csv.gz"), &file("4"));
    write(dir.path(), &format!("{data}/exp-00002.csv.gz"), &file("999"));
    let manifest = r#"{"dataFiles":["s3://b/p/exp/data/BILLING_PERIOD=2025-01/exp-00001.csv.gz"]}"#;
    write(dir.path(), "exp/metadata/BILLING_PERIOD=2025-01/exp-Manifest.json", manifest.as_bytes());
    for source in ["exp", data] {
        let (rows, _) = showback(dir.path(), &["--cur", source]);
        assert_eq!(rows, ["2025-01,ops,4.00,4.00,1,1,USD"], "--cur {source}");
    }
}

#[test]
fn a_csv_and_its_gzip_copy_are_one_delivery() {
    // `a.csv` (3 + 4 = 7.00) and `a.csv.gz`, its gzip copy: 7.00 once, with a warning.
    let dir = tempfile::tempdir().unwrap();
    let text = cur1(&[("2025-01-03", "3", "USD", "ops"), ("2025-01-04", "4", "USD", "ops")]);
    write(dir.path(), "bill/a.csv", text.as_bytes());
    write(dir.path(), "bill/a.csv.gz", &gzip(&text));
    assert_read_once(dir.path(), "bill", "2025-01,ops,7.00,7.00,1,2,USD");
}

/// Showback of `source` is the one `row`, with the warning that a copy was read once.
fn assert_read_once(dir: &Path, source: &str, row: &str) {
    let (rows, stderr) = showback(dir, &["--cur", source]);
    assert_eq!(rows, [row], "--cur {source}");
    assert!(stderr.contains("has the same content as"), "{stderr}");
}

#[test]
fn two_snapshots_of_one_month_are_refused() {
    // Day 1's export (20 line items) and day 2's (the same 20 and one more): adding both
    // would count the first 20 twice.
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![("2025-01-02", "1", "USD", "ops"); 20];
    let day1 = cur1(&lines);
    lines.push(("2025-01-03", "5", "USD", "ops"));
    let day2 = cur1(&lines);
    write(dir.path(), "bill/day1.csv", day1.as_bytes());
    write(dir.path(), "bill/day2.csv.gz", &gzip(&day2));
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "bill"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("day2.csv.gz` begins with the same 17 lines as"), "{stderr}");
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[test]
fn a_broken_zip_semicolons_and_gzipped_parquet_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.zip", b"PK\x03\x04rest of an archive");
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "a.zip"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("cannot read the ZIP archive `a.zip`"), "{stderr}");

    let semicolons = "lineItem/LineItemType;lineItem/UsageStartDate;lineItem/UnblendedCost\n\
                      Usage;2025-01-03T00:00:00Z;1\n";
    write(dir.path(), "semi.csv", semicolons.as_bytes());
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "semi.csv"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("separates its columns with `;`"), "{stderr}");

    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(b"PAR1 and the rest of a Parquet file").unwrap();
    write(dir.path(), "x.parquet.gz", &encoder.finish().unwrap());
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "x.parquet.gz"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("is a compressed Parquet file"), "{stderr}");
}

#[test]
fn an_amount_past_the_range_is_an_input_error() {
    // 10^20 does not fit a money column; it must be named, not panic or vanish.
    let dir = tempfile::tempdir().unwrap();
    let text = cur1(&[
        ("2025-01-03", "1", "USD", "ops"),
        ("2025-01-04", "100000000000000000000", "USD", "ops"),
    ]);
    write(dir.path(), "big.csv", text.as_bytes());
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "big.csv"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("big.csv"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("expected an amount below 10^15 in size"), "{stderr}");
}

#[test]
fn two_currencies_are_totalled_apart() {
    // USD: sales 10.00 and ops 2.005 + 0.005 = 2.01; EUR: sales 20.00, ops 5.00.
    let dir = tempfile::tempdir().unwrap();
    let text = cur1(&[
        ("2025-01-03", "10", "USD", "sales"),
        ("2025-01-03", "2.005", "USD", "ops"),
        ("2025-01-04", "0.005", "USD", "ops"),
        ("2025-01-03", "20", "EUR", "sales"),
        ("2025-01-03", "5", "EUR", "ops"),
    ]);
    write(dir.path(), "two.csv", text.as_bytes());
    let output = aispend(dir.path())
        .args(["chargeback", "--cur", "two.csv", "--month", "2025-01", "--format", "table"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("25.00 EUR, 12.01 USD in all"), "{stderr}");
    let table = String::from_utf8(output.stdout).unwrap();
    let totals: Vec<&str> = table.lines().filter(|l| l.contains("total ")).collect();
    assert_eq!(totals.len(), 2, "{table}");
    assert!(totals[0].contains("total EUR") && totals[0].contains("25.00"), "{table}");
    assert!(totals[1].contains("total USD") && totals[1].contains("12.01"), "{table}");
    assert!(!table.contains("37.01"), "{table}");
}

#[test]
fn the_table_adds_up_to_the_cents_it_shows() {
    // Three owners of 1/3 each (0.333333…): shown 0.33, 0.33 and 0.34 (the largest remainder) under 1.00,
    // not 0.33 three times over 1.00. Two months: each month's shares make 100%, and the
    // total line leaves the share blank rather than show 200%.
    let dir = tempfile::tempdir().unwrap();
    let third = "0.333333333333333333";
    let text = cur1(&[
        ("2025-01-03", third, "USD", "a"),
        ("2025-01-03", third, "USD", "b"),
        ("2025-01-03", "0.333333333333333334", "USD", "c"),
        ("2025-02-03", "1", "USD", "a"),
    ]);
    write(dir.path(), "thirds.csv", text.as_bytes());
    let output = aispend(dir.path())
        .args(["showback", "--cur", "thirds.csv", "--format", "table"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    let billed: Vec<String> = table
        .lines()
        .filter(|l| l.contains("2025-01"))
        .map(|l| l.split_whitespace().nth(3).unwrap().to_string())
        .collect();
    assert_eq!(billed, ["0.33", "0.33", "0.34"], "{table}");
    let total = table.lines().find(|l| l.contains("total")).unwrap();
    assert!(total.contains("2.00") && !total.contains('%'), "{table}");
}

#[test]
fn line_items_count_bill_lines_when_rules_allocate() {
    // Two usage lines of `ops` on one day (3 + 4) and a tax line of 1.40 shared in
    // proportion: ops is 7.00 + 1.40 = 8.40 over 3 bill lines (its two and the tax line).
    let dir = tempfile::tempdir().unwrap();
    let mut text = cur1(&[("2025-01-03", "3", "USD", "ops"), ("2025-01-03", "4", "USD", "ops")]);
    text.push_str("Tax,2025-01-01T00:00:00Z,1.40,USD,\n");
    write(dir.path(), "bill.csv", text.as_bytes());
    let config = "[[rules]]\nname = \"tax\"\nmatch = { charge_category = \"tax\" }\n\
                  method = \"proportional\"\n";
    write(dir.path(), "aispend.toml", config.as_bytes());
    let (rows, _) = showback(dir.path(), &["--cur", "bill.csv", "--month", "2025-01"]);
    assert_eq!(rows, ["2025-01,ops,8.40,8.40,1,3,USD,0,0,0"]);
}

/// A ZIP archive of one file, as CUR 1.0 writes with ZIP compression.
fn zip_of(name: &str, text: &str) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer.start_file(name, options).unwrap();
    writer.write_all(text.as_bytes()).unwrap();
    writer.finish().unwrap().into_inner()
}

#[test]
fn a_zip_compressed_month_is_read_like_gzip() {
    // January as `r-1.csv.zip` (2.50 + 4.00) beside February as plain CSV (1.25); the
    // manifest lists the ZIP file. 6.50 and 1.25, and a ZIP of two files is refused.
    let dir = tempfile::tempdir().unwrap();
    let jan = cur1(&[("2025-01-03", "2.50", "USD", "ops"), ("2025-01-04", "4", "USD", "ops")]);
    write(dir.path(), "r/20250101-20250201/r-1.csv.zip", &zip_of("r-1.csv", &jan));
    let manifest = r#"{"assemblyId":"a","reportKeys":["p/r/20250101-20250201/r-1.csv.zip"]}"#;
    write(dir.path(), "r/20250101-20250201/r-Manifest.json", manifest.as_bytes());
    let feb = cur1(&[("2025-02-03", "1.25", "USD", "ops")]);
    write(dir.path(), "r/20250201-20250301/r-1.csv", feb.as_bytes());
    let (rows, _) = showback(dir.path(), &["--cur", "r"]);
    assert_eq!(rows, ["2025-01,ops,6.50,6.50,1,2,USD", "2025-02,ops,1.25,1.25,1,1,USD"]);

    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for name in ["a.csv", "b.csv"] {
        writer.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        writer.write_all(jan.as_bytes()).unwrap();
    }
    write(dir.path(), "two.zip", &writer.finish().unwrap().into_inner());
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "two.zip"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("holds 2 files; a bill archive holds one"), "{stderr}");
}

/// A create-new CUR 1.0 period: assembly `old` (9.00) and `new` (4.00 + 6.00), and the
/// period manifest that points at `new`; each assembly keeps its own copy of the manifest.
fn create_new_period(dir: &Path, period: &str) {
    let old = cur1(&[("2025-01-03", "9", "USD", "ops")]);
    write(dir, &format!("{period}/old/r-1.csv.gz"), &gzip(&old));
    write(
        dir,
        &format!("{period}/new/r-1.csv.gz"),
        &gzip(&cur1(&[("2025-01-03", "4", "USD", "ops")])),
    );
    write(
        dir,
        &format!("{period}/new/r-2.csv.gz"),
        &gzip(&cur1(&[("2025-01-04", "6", "USD", "ops")])),
    );
    let manifest = |assembly: &str, files: &[&str]| {
        let keys: Vec<String> =
            files.iter().map(|f| format!("\"p/r/20250101-20250201/{assembly}/{f}\"")).collect();
        format!("{{\"assemblyId\":\"{assembly}\",\"reportKeys\":[{}]}}", keys.join(","))
    };
    write(
        dir,
        &format!("{period}/old/r-Manifest.json"),
        manifest("old", &["r-1.csv.gz"]).as_bytes(),
    );
    let current = manifest("new", &["r-1.csv.gz", "r-2.csv.gz"]);
    write(dir, &format!("{period}/new/r-Manifest.json"), current.as_bytes());
    write(dir, &format!("{period}/r-Manifest.json"), current.as_bytes());
}

#[test]
fn a_period_folder_keeps_its_manifest_under_any_name_or_path() {
    // The current delivery is 4 + 6 = 10.00, whether the period folder is named as AWS
    // names it, renamed `jan`, passed as `.` from inside, or kept under a `metadata` folder.
    let dir = tempfile::tempdir().unwrap();
    create_new_period(dir.path(), "r/20250101-20250201");
    create_new_period(dir.path(), "renamed/jan");
    create_new_period(dir.path(), "metadata/r/20250101-20250201");
    let expected = ["2025-01,ops,10.00,10.00,1,2,USD"];
    for source in ["r", "renamed", "renamed/jan", "metadata/r"] {
        let (rows, _) = showback(dir.path(), &["--cur", source]);
        assert_eq!(rows, expected, "--cur {source}");
    }
    let inside = dir.path().join("r/20250101-20250201");
    let (rows, _) = showback(&inside, &["--cur", "."]);
    assert_eq!(rows, expected, "--cur . inside the period folder");
    // A glob may match the period folders themselves.
    let (rows, _) = showback(dir.path(), &["--cur", "r/2025*"]);
    assert_eq!(rows, expected, "--cur r/2025*");
}

#[test]
fn a_cur2_partition_follows_its_newest_execution() {
    // Executions `e1` (7.00, delivered 2025-02-03) and `e2` (8.00, delivered 2025-02-05),
    // each with its manifest: February is 8.00. Without manifests the two are refused.
    let dir = tempfile::tempdir().unwrap();
    let header = "line_item_line_item_type,line_item_usage_start_date,line_item_unblended_cost\n";
    let data = "exp/data/BILLING_PERIOD=2025-02";
    let meta = "exp/metadata/BILLING_PERIOD=2025-02";
    for (execution, amount, day) in [("e1", "7", "03"), ("e2", "8", "05")] {
        let file = format!("{data}/{execution}/exp-00001.csv.gz");
        write(dir.path(), &file, &gzip(&format!("{header}Usage,2025-02-02T00:00:00Z,{amount}\n")));
        let manifest = format!(
            "{{\"deliveryTime\":\"2025-02-{day}T06:00:00.000Z\",\"dataFiles\":[\"s3://b/{file}\"]}}"
        );
        write(dir.path(), &format!("{meta}/{execution}/exp-Manifest.json"), manifest.as_bytes());
    }
    let (rows, _) = showback(dir.path(), &["--cur", "exp"]);
    assert_eq!(rows, ["2025-02,__unallocated__,8.00,8.00,1,1,USD"]);

    std::fs::remove_dir_all(dir.path().join("exp/metadata")).unwrap();
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "exp"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("holds 2 deliveries of one billing period (`e1`, `e2`)"), "{stderr}");
}

#[test]
fn the_chunks_of_one_manifest_are_all_read() {
    // A manifest lists two chunks with the same content (16 lines of 0.125 each) and two
    // that begin with the same 16 lines: every chunk is a part of the delivery. 2.00 × 2 +
    // (2.00 + 1) + (2.00 + 2) = 11.00 over 66 lines.
    let dir = tempfile::tempdir().unwrap();
    let same = cur1(&[("2025-01-03", "0.125", "USD", "ops"); 16]);
    let mut lines = vec![("2025-01-03", "0.125", "USD", "ops"); 16];
    lines.push(("2025-01-04", "1", "USD", "ops"));
    let third = cur1(&lines);
    lines.pop();
    lines.push(("2025-01-05", "2", "USD", "ops"));
    let fourth = cur1(&lines);
    let period = "r/20250101-20250201";
    for (name, text) in [("r-1", &same), ("r-2", &same), ("r-3", &third), ("r-4", &fourth)] {
        write(dir.path(), &format!("{period}/{name}.csv.gz"), &gzip(text));
    }
    let keys: Vec<String> =
        (1..=4).map(|n| format!("\"p/r/20250101-20250201/r-{n}.csv.gz\"")).collect();
    let manifest = format!("{{\"assemblyId\":\"a\",\"reportKeys\":[{}]}}", keys.join(","));
    write(dir.path(), &format!("{period}/r-Manifest.json"), manifest.as_bytes());
    let (rows, stderr) = showback(dir.path(), &["--cur", "r"]);
    assert_eq!(rows, ["2025-01,ops,11.00,11.00,1,66,USD"]);
    assert!(!stderr.contains("same content"), "{stderr}");
}

#[test]
fn short_snapshots_and_crlf_copies_are_caught() {
    // Day 5's export holds the first 5 line items of day 8's (8 line items): refused. A
    // CRLF copy of a bill is the same delivery: 3 + 4 = 7.00 once.
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<(&str, &str, &str, &str)> =
        (1..=8).map(|_| ("2025-01-02", "1", "USD", "ops")).collect();
    write(dir.path(), "snap/day5.csv", cur1(&lines[..5]).as_bytes());
    write(dir.path(), "snap/day8.csv", cur1(&lines).as_bytes());
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "snap"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("begins with the same 6 lines as"), "{stderr}");

    let text = cur1(&[("2025-01-03", "3", "USD", "ops"), ("2025-01-04", "4", "USD", "ops")]);
    write(dir.path(), "crlf/a.csv", text.as_bytes());
    write(dir.path(), "crlf/b.csv", text.replace('\n', "\r\n").as_bytes());
    assert_read_once(dir.path(), "crlf", "2025-01,ops,7.00,7.00,1,2,USD");
}

#[test]
fn a_sum_past_the_digits_of_a_money_column_is_an_error() {
    // 110,000 lines of 999,999,999,999,999.99 (each under the input bound) sum to about
    // 1.1 × 10^20, past the 38 digits of Decimal(38, 18): an error, not a panic.
    let dir = tempfile::tempdir().unwrap();
    let mut text = HEADER.to_string();
    for _ in 0..110_000 {
        text.push_str("Usage,2025-01-03T00:00:00Z,999999999999999.99,USD,ops\n");
    }
    write(dir.path(), "big.csv", text.as_bytes());
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "big.csv"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("outgrew the 38 digits of a money column"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn parquet_decimal_amounts_keep_the_input_bound() {
    // A Decimal(38, 2) cost of 999,999,999,999,999.99 is read exactly; 10^15 is an input
    // error that names the file and the column, never a silent null.
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let write_decimal = |name: &str, cents: i128| {
        let mut frame = df!(
            "line_item_line_item_type" => ["Usage"],
            "line_item_usage_start_date" => ["2025-01-05T00:00:00Z"],
            "bill_billing_period_start_date" => ["2025-01-01T00:00:00Z"],
            "line_item_currency_code" => ["USD"],
        )
        .unwrap();
        let cost = Int128Chunked::from_vec("line_item_unblended_cost".into(), vec![cents])
            .into_decimal_unchecked(38, 2)
            .into_series();
        frame.with_column(cost.into_column()).unwrap();
        let path = dir.path().join(name);
        ParquetWriter::new(std::fs::File::create(&path).unwrap()).finish(&mut frame).unwrap();
    };
    write_decimal("max.parquet", 99_999_999_999_999_999);
    write_decimal("over.parquet", 100_000_000_000_000_000);
    let (rows, _) = showback(dir.path(), &["--cur", "max.parquet"]);
    assert_eq!(rows, ["2025-01,__unallocated__,999999999999999.99,999999999999999.99,1,1,USD"]);
    let (code, stderr) = failure(dir.path(), &["showback", "--cur", "over.parquet"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(
            "`over.parquet`: column `line_item_unblended_cost`: expected an amount below 10^15 \
             in size, found `1000000000000000.00`"
        ),
        "{stderr}"
    );
}

#[test]
fn a_blank_currency_takes_the_currency_of_the_line_before() {
    // An all-EUR bill with one blank code: 10 + 5 = 15.00 EUR, not 10.00 EUR and 5.00 USD.
    // In FOCUS the same.
    let dir = tempfile::tempdir().unwrap();
    let text = cur1(&[("2025-01-03", "10", "eur", "ops"), ("2025-01-04", "5", "", "ops")]);
    write(dir.path(), "eur.csv", text.as_bytes());
    let (rows, stderr) = showback(dir.path(), &["--cur", "eur.csv"]);
    assert_eq!(rows, ["2025-01,ops,15.00,15.00,1,2,EUR"]);
    assert!(stderr.contains("1 line item has no currency"), "{stderr}");

    let focus = "BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ChargePeriodStart,\
                 BillingPeriodStart,Tags\n\
                 10,10,EUR,Usage,2025-01-03T00:00:00Z,2025-01-01T00:00:00Z,\"{\"\"dept\"\":\"\"ops\"\"}\"\n\
                 5,5,,Usage,2025-01-04T00:00:00Z,2025-01-01T00:00:00Z,\"{\"\"dept\"\":\"\"ops\"\"}\"\n";
    write(dir.path(), "focus.csv", focus.as_bytes());
    let (rows, _) = showback(dir.path(), &["--focus", "focus.csv"]);
    assert_eq!(rows, ["2025-01,ops,15.00,15.00,1,2,EUR"]);
}

#[test]
fn the_table_shares_add_up_to_a_hundred_percent() {
    // Three equal owners: their shares show as 33.3% twice and 33.4% once (the largest
    // remainder), and 100.0% on the total line, not 99.9%.
    let dir = tempfile::tempdir().unwrap();
    let text = cur1(&[
        ("2025-01-03", "1", "USD", "a"),
        ("2025-01-03", "1", "USD", "b"),
        ("2025-01-03", "1", "USD", "c"),
    ]);
    write(dir.path(), "thirds.csv", text.as_bytes());
    let output = aispend(dir.path())
        .args(["showback", "--cur", "thirds.csv", "--format", "table"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    let shares: Vec<&str> = table
        .lines()
        .filter(|l| l.contains("2025-01") || l.contains("total"))
        .filter_map(|l| l.split_whitespace().find(|w| w.ends_with('%')))
        .collect();
    let sum: f64 =
        shares[..3].iter().map(|s| s.trim_end_matches('%').parse::<f64>().unwrap()).sum();
    assert!((sum - 100.0).abs() < 1e-9, "{table}");
    assert_eq!(shares[3], "100.0%", "{table}");
}
