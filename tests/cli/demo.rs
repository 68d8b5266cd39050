//! The bundled demo month as a new user runs it: what a newcomer's first mistakes get, and
//! what the monthly job says about the invoice. Expected values come from the demo bill
//! (`SELECT COUNT(*), SUM(billed_cost) FROM costs`: 1,210 lines, 2,753.1447402144 billed).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::Command;

fn demo() -> Command {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::cargo_bin("aispend").unwrap();
    command.current_dir(root).env("NO_COLOR", "1").env_remove("RUST_LOG").args([
        "--config",
        "fixtures/demo/aispend.toml",
        "--month",
        "2025-01",
    ]);
    command
}

fn stdout_of(args: &[&str]) -> String {
    let output = demo().args(args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn stderr_of_failure(args: &[&str]) -> String {
    let output = demo().args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).to_string()
}

#[test]
fn an_alias_groups_like_its_key_and_every_line_counts_once() {
    // `department` is an alias of `dept` in the demo configuration: the same report.
    let by_dept = stdout_of(&["showback", "--by", "dept", "--format", "csv"]);
    let by_alias = stdout_of(&["showback", "--by", "department", "--format", "csv"]);
    assert_eq!(by_alias, by_dept);
    // A key nobody tags puts the whole bill in one bucket: 1,210 bill lines, not one per
    // allocation of each line.
    let typo = stdout_of(&["showback", "--by", "detp", "--format", "csv"]);
    let row = typo.lines().nth(1).unwrap();
    assert!(row.starts_with("2025-01,__unallocated__,2753.1447402144,"), "{typo}");
    assert_eq!(row.split(',').nth(5), Some("1210"), "{typo}");
}

#[test]
fn the_monthly_journal_ties_to_the_invoice_on_the_billed_basis() {
    let out = tempfile::tempdir().unwrap();
    let folder = out.path().join("m");
    demo()
        .args(["monthly", "--basis", "billed", "--out", folder.to_str().unwrap()])
        .assert()
        .success();
    // The journal's amounts are cents that add up to the billed total 2,753.14.
    let journal = std::fs::read_to_string(folder.join("journal.csv")).unwrap();
    let cents: i64 = journal
        .lines()
        .skip(1)
        .map(|line| {
            let amount = line.split(',').nth(3).unwrap();
            let (whole, fraction) = amount.split_once('.').unwrap();
            whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap()
        })
        .sum();
    assert_eq!(cents, 275_314, "{journal}");
    let summary = std::fs::read_to_string(folder.join("summary.md")).unwrap();
    assert!(summary.contains("on the **billed** basis"), "{summary}");
    assert!(
        summary.contains("The invoice (billed cost) of the month is 2,753.14 USD"),
        "{summary}"
    );
}

#[test]
fn mistakes_stop_before_the_month_is_read() {
    let stderr = stderr_of_failure(&["chargeback", "--journal", "journal.txt"]);
    assert!(stderr.contains("cannot tell the format of `journal.txt`"), "{stderr}");
    let stderr = stderr_of_failure(&[
        "whatif",
        "route",
        "--from",
        "anthropic.claude-3-sonnet-20240229-v1:0",
        "--to",
        "anthropic.claude-3-haiku",
    ]);
    assert!(stderr.contains("`--to anthropic.claude-3-haiku` has no price"), "{stderr}");
    let stderr = stderr_of_failure(&["showback", "--by", "currency"]);
    assert!(stderr.contains("names a column of the report itself"), "{stderr}");
}

#[test]
fn money_groups_exactly_and_a_wrong_window_query_is_refused() {
    // Grouping by a money column is answered exactly (it used to panic inside the SQL
    // engine): the demo bill's 1,210 lines, grouped by amount, count 1,210 again. A windowed
    // aggregate of an aggregate would give each group its own sum as the "total", so it
    // exits 2 with a hint; the WITH form the hint gives returns the invoice total
    // 2,753.1447402144 on every row.
    let grouped = stdout_of(&[
        "query",
        "WITH g AS (SELECT billed_cost, COUNT(*) AS n FROM costs GROUP BY billed_cost) \
         SELECT SUM(n) AS lines, SUM(billed_cost * n) AS billed FROM g",
        "--format",
        "csv",
    ]);
    assert_eq!(grouped.lines().nth(1), Some("1210,2753.1447402144"), "{grouped}");
    let stderr = stderr_of_failure(&[
        "query",
        "SELECT service_name, SUM(SUM(billed_cost)) OVER () AS t FROM costs GROUP BY service_name",
    ]);
    assert!(stderr.contains("an aggregate of an aggregate over a window"), "{stderr}");
    let rows = stdout_of(&[
        "query",
        "WITH t AS (SELECT service_name, SUM(billed_cost) AS b FROM costs GROUP BY 1) \
         SELECT service_name, SUM(b) OVER () AS total FROM t",
        "--format",
        "csv",
    ]);
    assert!(rows.lines().skip(1).all(|l| l.ends_with(",2753.1447402144")), "{rows}");
}
