//! Integration tests of `aispend budgets` and `aispend whatif`: each test writes its own
//! bill and configuration into a temporary folder and runs the binary.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

/// A CUR 1.0 CSV with one `AmazonBedrock` line per (day, dept, cost).
fn write_cur(folder: &Path, lines: &[(u32, &str, &str)]) -> String {
    let mut text = String::from(
        "bill/BillingPeriodStartDate,lineItem/UsageStartDate,lineItem/LineItemType,\
         lineItem/ProductCode,lineItem/UnblendedCost,lineItem/CurrencyCode,resourceTags/user:dept\n",
    );
    for (day, dept, cost) in lines {
        writeln!(
            text,
            "2026-11-01T00:00:00Z,2026-11-{day:02}T00:00:00Z,Usage,AmazonBedrock,{cost},USD,{dept}"
        )
        .unwrap();
    }
    let path = folder.join("cur.csv");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A configuration file in `folder`.
fn write_config(folder: &Path, text: &str) -> String {
    let path = folder.join("aispend.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const PILOT: &str = "[[budgets]]\nname = \"pilot\"\nscope = { dept = \"sales\" }\nlimit = 2000\n\
    soft_limit = 1500\nhard_limit = 2000\nsubscribers = [\"finops@example.com\"]\n";

fn aispend() -> Command {
    let mut command = Command::cargo_bin("aispend").unwrap();
    command.env_remove("AWS_ENDPOINT_URL").env("NO_COLOR", "1");
    command
}

/// $70 a day for days 1 to 20 of November 2026 for `sales`, and noise for `ops`.
fn pilot_bill(folder: &Path) -> String {
    let mut lines: Vec<(u32, &str, &str)> = (1..=20).map(|day| (day, "sales", "70")).collect();
    lines.push((3, "ops", "999"));
    write_cur(folder, &lines)
}

#[test]
fn pilot_status_on_day_twenty_has_seventy_percent_and_a_forecast_over() {
    let folder = tempfile::tempdir().unwrap();
    let cur = pilot_bill(folder.path());
    let config = write_config(folder.path(), PILOT);
    let output = aispend()
        .args(["--config", &config, "--cur", &cur, "--month", "2026-11", "--format", "json"])
        .args(["budgets", "status", "--as-of", "2026-11-20", "--fail-on", "soft"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rows: Value = serde_json::from_slice(&output.stdout).unwrap();
    let pilot = &rows[0];
    // $70 × 20 days = $1,400 = 70% of $2,000, reached on day 20; 1,400 / 20 × 30 = 2,100.
    assert_eq!(pilot["spend"], "1400.00");
    assert_eq!(pilot["source"], "invoice");
    assert_eq!(pilot["thresholds_reached"], "70%: 2026-11-20; 100%: -; 120%: -");
    assert_eq!(pilot["state"], "ok");
    assert_eq!(pilot["forecast_run_rate"], "2100.00");
    assert_eq!(pilot["forecast_notification"], true);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("forecast to reach 2,100.00"), "{stderr}");
}

#[test]
fn fail_on_hard_exits_one_past_the_hard_limit() {
    let folder = tempfile::tempdir().unwrap();
    let cur = pilot_bill(folder.path());
    let config = write_config(
        folder.path(),
        "[[budgets]]\nname = \"tight\"\nscope = { dept = \"sales\" }\nlimit = 1000\n",
    );
    let output = aispend()
        .args(["--config", &config, "--cur", &cur, "--month", "2026-11", "--format", "csv"])
        .args(["budgets", "status", "--fail-on", "hard"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`tight` (hard)"), "{stderr}");
    // $1,000 is reached on day 15 (15 × 70 = 1,050; 14 × 70 = 980).
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("2026-11-15"), "{stdout}");
}

#[test]
fn aws_export_of_sales_has_the_ladder_and_the_tag_filter() {
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(
        folder.path(),
        "[[budgets]]\nname = \"dept-sales\"\nscope = { dept = \"sales\" }\nlimit = 2000\n\
         subscribers = [\"finops@example.com\"]\n",
    );
    let output = aispend()
        .args(["--config", &config, "budgets", "export", "--target", "aws"])
        .args(["--account-id", "123456789012"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let requests: Value = serde_json::from_slice(&output.stdout).unwrap();
    let request = &requests[0];
    assert_eq!(request["AccountId"], "123456789012");
    assert_eq!(request["Budget"]["BudgetLimit"]["Amount"], "2000");
    assert_eq!(request["Budget"]["CostFilters"]["TagKeyValue"][0], "user:dept$sales");
    let ladder: Vec<(String, u64)> = request["NotificationsWithSubscribers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let n = &n["Notification"];
            (n["NotificationType"].as_str().unwrap().to_string(), n["Threshold"].as_u64().unwrap())
        })
        .collect();
    let expected = [("ACTUAL", 70), ("ACTUAL", 100), ("ACTUAL", 120), ("FORECASTED", 100)];
    assert_eq!(ladder, expected.map(|(k, t)| (k.to_string(), t)));
}

#[test]
fn every_export_target_writes_its_definitions() {
    let folder = tempfile::tempdir().unwrap();
    let config = write_config(
        folder.path(),
        &format!(
            "{PILOT}[[budgets]]\nname = \"bot\"\nscope = {{ api_key = \"sk-1\" }}\nlimit = 10\n\
             period = \"daily\"\naction = {{ kind = \"throttle\", rpm = 60 }}\n"
        ),
    );
    for (target, needle) in [
        ("terraform", "resource \"aws_budgets_budget\" \"pilot\""),
        ("litellm", "\"budget_duration\": \"1d\""),
        ("portkey", "\"credit_limit\": 2000.0"),
    ] {
        let output = aispend()
            .args(["--config", &config, "budgets", "export", "--target", target])
            .output()
            .unwrap();
        assert!(output.status.success(), "{target}: {}", String::from_utf8_lossy(&output.stderr));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains(needle), "{target}: {stdout}");
    }
    let output = aispend()
        .args(["--config", &config, "budgets", "export", "--target", "gcp"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// The moto endpoint, or `None` (and a note) when the emulator is not running.
fn moto() -> Option<String> {
    if let Ok(endpoint) = std::env::var("AISPEND_MOTO_ENDPOINT") {
        return Some(endpoint);
    }
    assert!(
        std::env::var("AISPEND_REQUIRE_EMULATOR").as_deref() != Ok("1"),
        "AISPEND_REQUIRE_EMULATOR=1 but AISPEND_MOTO_ENDPOINT is not set"
    );
    // The test harness shows this note; it is how a skipped emulator test says so.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("AISPEND_MOTO_ENDPOINT is not set: the moto test of `budgets apply` did not run");
    }
    None
}

#[test]
fn apply_against_moto_is_idempotent() {
    let Some(endpoint) = moto() else { return };
    let folder = tempfile::tempdir().unwrap();
    // A budget name of its own: the server may be shared with other tests and earlier runs,
    // and resetting it would disturb them.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let name = format!("aispend-apply-{}-{}", std::process::id(), nanos.as_nanos());
    let config = write_config(
        folder.path(),
        &format!(
            "[[budgets]]\nname = \"{name}\"\nscope = {{ dept = \"sales\" }}\nlimit = 2000\n\
             subscribers = [\"finops@example.com\"]\n"
        ),
    );
    let run = |extra: &[&str]| {
        let output = aispend()
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["--config", &config, "--format", "csv", "budgets", "apply"])
            .args(["--account-id", "210987654321", "--endpoint-url", &endpoint])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let planned = run(&["--dry-run"]);
    assert!(planned.contains(&format!("{name},create,")), "{planned}");
    assert!(planned.contains(",planned"), "{planned}");
    let first = run(&[]);
    assert!(first.contains(",create,") && first.contains(",done"), "{first}");
    let second = run(&[]);
    assert_eq!(second, format!("budget,change,detail,status\n{name},unchanged,,unchanged\n"));
}

#[test]
fn daily_rows_run_up_to_the_as_of_day() {
    let folder = tempfile::tempdir().unwrap();
    let cur = pilot_bill(folder.path());
    let config = write_config(folder.path(), PILOT);
    let output = aispend()
        .args(["--config", &config, "--cur", &cur, "--month", "2026-11", "--format", "csv"])
        .args(["budgets", "status", "--as-of", "2026-11-03", "--daily"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // $70 a day: running totals 70, 140, 210 (3.5%, 7%, 10.5% of $2,000).
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "budget,scope,period,day,spend,cumulative_spend,spend_share\n\
         pilot,dept=sales,2026-11,2026-11-01,70.00,70.00,0.035\n\
         pilot,dept=sales,2026-11,2026-11-02,70.00,140.00,0.07\n\
         pilot,dept=sales,2026-11,2026-11-03,70.00,210.00,0.105\n"
    );
}

/// A `LiteLLM` spend log: key `sk-1`, model `big`, ten requests a day at 10:00:00..09 on
/// days 1 to 5 of November 2026, each 100,000 prompt and 10,000 completion tokens, owned by
/// `dept:sales` and `app:chat`.
fn write_gateway_log(folder: &Path) -> String {
    let mut text = String::new();
    let mut id = 0;
    for day in 1..=5 {
        for second in 0..10 {
            id += 1;
            writeln!(
                text,
                "{{\"request_id\":\"r{id}\",\"call_type\":\"acompletion\",\"api_key\":\"sk-1\",\
                 \"spend\":0,\"prompt_tokens\":100000,\"completion_tokens\":10000,\
                 \"startTime\":\"2026-11-{day:02}T10:00:{second:02}Z\",\"model\":\"big\",\
                 \"request_tags\":[\"dept:sales\",\"app:chat\"]}}"
            )
            .unwrap();
        }
    }
    let path = folder.join("spend.jsonl");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const PRICES: &str = "[[prices.override]]\nmodel = \"big\"\ninput = \"3 per 1M\"\n\
    output = \"15 per 1M\"\n[[prices.override]]\nmodel = \"small\"\ninput = \"0.15 per 1M\"\n\
    output = \"0.6 per 1M\"\n";

#[test]
fn gateway_budgets_and_whatifs_from_a_litellm_log() {
    let folder = tempfile::tempdir().unwrap();
    let log = write_gateway_log(folder.path());
    let config = write_config(
        folder.path(),
        &format!(
            "{PRICES}[[budgets]]\nname = \"bot\"\nscope = {{ api_key = \"sk-1\" }}\nlimit = 10\n\
             period = \"daily\"\naction = {{ kind = \"throttle\", rpm = 5 }}\n\
             [[budgets]]\nname = \"sales\"\nscope = {{ dept = \"sales\" }}\nlimit = 10\n\
             action = {{ kind = \"route\", from = \"big\", to = \"small\" }}\n"
        ),
    );
    let run = |args: &[&str]| {
        let output = aispend()
            .args(["--config", &config, "--gateway", &log, "--month", "2026-11"])
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };

    // Each request: 100,000 × $3/M + 10,000 × $15/M = $0.45; $4.50 a day.
    let status = run(&["budgets", "status", "--as-of", "2026-11-05"]);
    assert_eq!(status[0]["period"], "2026-11-05");
    assert_eq!(status[0]["as_of"], "2026-11-05T23:59:59Z", "through the end of the day asked");
    assert_eq!(status[0]["spend"], "4.50", "the daily key budget counts only today");
    assert!(!status[0]["scope"].as_str().unwrap().contains("sk-1"), "keys never in clear");
    // The month: $22.50 of $10, 100% on day 3 (the 23rd request takes it to $10.35).
    assert_eq!(status[1]["spend"], "22.50");
    assert_eq!(status[1]["state"], "hard");
    assert_eq!(status[1]["hard_reached_on"], "2026-11-03");
    assert_eq!(status[1]["forecast_run_rate"], "135.00");

    // On small: 100,000 × $0.15/M + 10,000 × $0.6/M = $0.021 a request, $1.05 for 50;
    // high: 13,000 output tokens, $0.0228, $1.14.
    let route = run(&["whatif", "route", "--from", "big", "--to", "small"]);
    assert_eq!(route[0]["current_cost"], "22.50");
    assert_eq!(route[0]["routed_cost_low"], "1.05");
    assert_eq!(route[0]["routed_cost_high"], "1.14");

    // Past $10 (after the 23rd request, on day 3) the remaining 27 go to small:
    // 23 × 0.45 + 27 × 0.021 = 10.35 + 0.567 = 10.917.
    let replay = run(&["whatif", "route-at-hard-limit"]);
    assert_eq!(replay[0]["switch_day"], "2026-11-03");
    assert_eq!(replay[0]["routed_requests"], 27);
    assert_eq!(replay[0]["replayed_cost_low"], "10.917");

    // Ten requests in one minute a day at 5 rpm: five delayed a day, 25 × $0.45 = $11.25.
    let throttle = run(&["whatif", "throttle", "--rpm", "5"]);
    assert_eq!(throttle[0]["delayed_requests"], 25);
    assert_eq!(throttle[0]["delayed_spend"], "11.25");
}
