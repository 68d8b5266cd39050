//! Unattended runs: `fetch` from Cost Explorer, `monthly` into S3, against a real AWS
//! emulator (moto) when `AISPEND_MOTO_ENDPOINT` names one.
//!
//! Without the emulator those tests say that they did not run and pass, unless
//! `AISPEND_REQUIRE_EMULATOR=1` (set by `.ci/run`), where a missing emulator fails them.
//! Tests run in parallel processes against one emulator: each uses its own bucket, and the
//! Cost Explorer test, which resets moto's queue of preloaded answers, holds the emulator
//! alone (see [`emulator_lock`]).

#![allow(clippy::unwrap_used, clippy::print_stderr, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sha2::Digest as _;

/// The emulator's endpoint, or `None` (after saying so) when tests may skip it.
#[allow(clippy::print_stderr)]
fn emulator(test: &str) -> Option<String> {
    let endpoint = std::env::var("AISPEND_MOTO_ENDPOINT").ok().filter(|e| !e.is_empty());
    if endpoint.is_none() {
        assert!(
            std::env::var("AISPEND_REQUIRE_EMULATOR").as_deref() != Ok("1"),
            "{test}: AISPEND_REQUIRE_EMULATOR=1 but AISPEND_MOTO_ENDPOINT is not set"
        );
        eprintln!("{test}: did not run: no AWS emulator (set AISPEND_MOTO_ENDPOINT, see .ci/run)");
    }
    endpoint
}

/// The binary with dummy credentials and its own empty configuration.
fn aispend(folder: &Path) -> Command {
    let config = folder.join("aispend.toml");
    if !config.exists() {
        std::fs::write(&config, "").unwrap();
    }
    aispend_with(folder, &config)
}

/// The binary with dummy credentials and a configuration.
fn aispend_with(folder: &Path, config: &Path) -> Command {
    let mut command = Command::cargo_bin("aispend").unwrap();
    command
        .current_dir(folder)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("RUST_LOG")
        .arg("--config")
        .arg(config);
    command
}

/// One HTTP/1.1 request to the emulator; returns the status and body. S3 calls carry an
/// unverified `SigV4` header so moto routes them to S3.
fn http(endpoint: &str, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).unwrap();
    let auth = if path.starts_with("/moto-api/") {
        String::new()
    } else {
        "Authorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/s3/aws4_request, \
         SignedHeaders=host, Signature=00\r\nx-amz-date: 20250101T000000Z\r\n"
            .to_string()
    };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\
         Content-Type: application/json\r\n{auth}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let headers = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status: u16 = headers.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response[split + 4..].to_vec();
    let body = if headers.contains("transfer-encoding: chunked") { dechunk(&body) } else { body };
    (status, body)
}

/// Decodes a chunked HTTP body.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = String::from_utf8_lossy(&body[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
        body = &body[line_end + 4 + size..];
    }
}

/// A bucket name no other test (or earlier run) uses.
fn fresh_bucket(test: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("aispend-{test}-{}-{}", std::process::id(), nanos.as_nanos() % 1_000_000_000)
}

/// The objects under a prefix, by key relative to it.
fn objects(endpoint: &str, bucket: &str, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let (status, listing) =
        http(endpoint, "GET", &format!("/{bucket}?list-type=2&prefix={prefix}"), b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&listing));
    let listing = String::from_utf8(listing).unwrap();
    listing
        .split("<Key>")
        .skip(1)
        .map(|rest| rest.split("</Key>").next().unwrap().to_string())
        .map(|key| {
            let (status, bytes) = http(endpoint, "GET", &format!("/{bucket}/{key}"), b"");
            assert_eq!(status, 200, "GET {key}");
            (key.trim_start_matches(prefix).to_string(), bytes)
        })
        .collect()
}

/// The emulator lock: tests that reset the emulator hold it alone, every other emulator
/// test holds it shared, so a reset never wipes a bucket another test is using. Any test
/// file that talks to the same emulator should take it the same way.
fn emulator_lock(endpoint: &str, exclusive: bool) -> File {
    let digest = hex::encode(sha2::Sha256::digest(endpoint.trim_end_matches('/').as_bytes()));
    let path = std::env::temp_dir().join(format!("aispend-moto-{}.lock", &digest[..12]));
    let file = File::options().create(true).truncate(false).write(true).open(path).unwrap();
    if exclusive {
        file.lock().unwrap();
    } else {
        file.lock_shared().unwrap();
    }
    file
}

/// One day of June 2025 with a `dept$sales` group and an untagged `dept$` group.
fn june_day(day: u32, sales: &str) -> serde_json::Value {
    let end = if day == 30 { "2025-07-01".to_string() } else { format!("2025-06-{:02}", day + 1) };
    let metrics = |unblended: &str, amortized: &str| {
        serde_json::json!({
            "UnblendedCost": {"Amount": unblended, "Unit": "USD"},
            "AmortizedCost": {"Amount": amortized, "Unit": "USD"},
        })
    };
    serde_json::json!({
        "TimePeriod": {"Start": format!("2025-06-{day:02}"), "End": end},
        "Total": {},
        "Groups": [
            {"Keys": ["dept$sales"], "Metrics": metrics(sales, sales)},
            {"Keys": ["dept$"], "Metrics": metrics("1.5", "1.25")},
        ],
        "Estimated": day >= 29,
    })
}

#[test]
fn fetch_reads_all_three_pages_from_the_emulator() {
    let Some(endpoint) = emulator("fetch_reads_all_three_pages_from_the_emulator") else { return };
    // moto answers a request body it has seen before from its cache and keeps one queue of
    // preloaded answers, so this test resets it first, alone.
    let _emulator = emulator_lock(&endpoint, true);
    assert_eq!(http(&endpoint, "POST", "/moto-api/reset", b"").0, 200);
    // Days 1-10, 11-20 and 21-30 on three pages chained by NextPageToken; the sales amount
    // differs per page so that a missing or doubled page changes the total.
    let pages: Vec<serde_json::Value> = [
        (1, "21.4009595589"),
        (11, "0.0000000123"),
        (21, "-0.0000004"),
    ]
    .iter()
    .enumerate()
    .map(|(index, (first, sales))| {
        let mut page = serde_json::json!({
            "GroupDefinitions": [{"Type": "TAG", "Key": "dept"}],
            "ResultsByTime": (*first..first + 10).map(|d| june_day(d, sales)).collect::<Vec<_>>(),
            "DimensionValueAttributes": [],
        });
        if index < 2 {
            page["NextPageToken"] = serde_json::json!(format!("page-{}", index + 2));
        }
        page
    })
    .collect();
    let body = serde_json::to_vec(&serde_json::json!({ "results": pages })).unwrap();
    let (status, _) = http(&endpoint, "POST", "/moto-api/static/ce/cost-and-usage-results", &body);
    assert_eq!(status, 201);

    let temp = tempfile::tempdir().unwrap();
    aispend(temp.path())
        .args(["fetch", "--month", "2025-06", "--group-by", "tag:dept", "--today", "2025-08-01"])
        .args(["--endpoint-url", &endpoint, "--out", "ce.parquet"])
        .assert()
        .success()
        .stderr(predicates::str::contains("2 of 30 time periods are estimated"));

    let sql = "SELECT dept, sum(billed_cost) AS billed, sum(effective_cost) AS effective, \
               count(*) AS rows, sum(CAST(provisional AS INT)) AS provisional \
               FROM costs GROUP BY dept ORDER BY dept";
    let output = aispend(temp.path())
        .args(["--ce", "ce.parquet", "--format", "csv", "query", sql])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    // sales: 10 x (21.4009595589 + 0.0000000123 - 0.0000004) = 10 x 21.4009591712
    // = 214.009591712 (billed and effective alike); untagged: 30 x 1.5 = 45 billed and
    // 30 x 1.25 = 37.5 effective; days 29 and 30 are estimated, one row each per group.
    assert_eq!(
        String::from_utf8(output).unwrap(),
        "dept,billed,effective,rows,provisional\n\
         sales,214.009591712,214.009591712,30,2\n\
         ,45.00,37.50,30,2\n"
    );

    let showback = aispend(temp.path())
        .args(["--ce", "ce.parquet", "--month", "2025-06", "--format", "csv", "showback"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let showback = String::from_utf8(showback).unwrap();
    assert!(showback.contains("2025-06,__unallocated__,45.00,37.50,"), "{showback}");
}

#[test]
fn fetch_on_the_first_of_the_month_makes_no_call() {
    let temp = tempfile::tempdir().unwrap();
    // Port 9 (discard) answers nothing: a call would fail the command.
    aispend(temp.path())
        .args(["fetch", "--today", "2025-03-01", "--endpoint-url", "http://127.0.0.1:9"])
        .assert()
        .success()
        .stderr(predicates::str::contains("no Cost Explorer call was made"));
    assert!(!temp.path().join("reports").exists());
}

/// A closed January 2025 bill: ads 100.00, sales 50.005 and 0.0000001 untagged.
fn write_bill(folder: &Path) -> PathBuf {
    let csv = "bill/InvoiceId,bill/BillingPeriodStartDate,lineItem/UsageStartDate,\
        lineItem/LineItemType,lineItem/ProductCode,lineItem/UnblendedCost,lineItem/CurrencyCode,\
        resourceTags/user:dept,resourceTags/user:team\n\
        INV1,2025-01-01T00:00:00Z,2025-01-03T00:00:00Z,Usage,AmazonBedrock,100.00,USD,ads,search\n\
        INV1,2025-01-01T00:00:00Z,2025-01-04T00:00:00Z,Usage,AmazonEC2,50.005,USD,sales,\n\
        INV1,2025-01-01T00:00:00Z,2025-01-05T00:00:00Z,Usage,AmazonS3,0.0000001,USD,,\n";
    let path = folder.join("cur.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn monthly_into_s3_equals_the_local_run_byte_for_byte() {
    let Some(endpoint) = emulator("monthly_into_s3_equals_the_local_run_byte_for_byte") else {
        return;
    };
    let _emulator = emulator_lock(&endpoint, false);
    let bucket = fresh_bucket("monthly");
    assert_eq!(http(&endpoint, "PUT", &format!("/{bucket}"), b"").0, 200);
    let temp = tempfile::tempdir().unwrap();
    let bill = write_bill(temp.path());
    // The S3 run reads its bill from S3 too.
    let (status, _) =
        http(&endpoint, "PUT", &format!("/{bucket}/bills/cur.csv"), &std::fs::read(&bill).unwrap());
    assert_eq!(status, 200);

    let prefix = "reports/2025-01/";
    let s3_out = format!("s3://{bucket}/{prefix}");
    let s3_run = || {
        aispend(temp.path())
            .args(["monthly", "--month", "2025-01", "--endpoint-url", &endpoint])
            .args(["--cur", &format!("s3://{bucket}/bills/"), "--out", &s3_out])
            .assert()
            .success();
    };
    s3_run();
    aispend(temp.path())
        .args(["monthly", "--month", "2025-01", "--cur", "cur.csv", "--out", "local"])
        .assert()
        .success();

    let uploaded = objects(&endpoint, &bucket, prefix);
    let names: Vec<&str> = uploaded.keys().map(String::as_str).collect();
    let expected = [
        "anomalies.csv",
        "anomalies.parquet",
        "chargeback.csv",
        "chargeback.parquet",
        "journal.csv",
        "journal.parquet",
        "manifest.json",
        "showback.csv",
        "showback.parquet",
        "summary.md",
    ];
    assert_eq!(names, expected);
    for (name, bytes) in &uploaded {
        let local = std::fs::read(temp.path().join("local").join(name)).unwrap();
        assert!(local == *bytes, "`{name}` differs between S3 and the local run");
    }
    let manifest: serde_json::Value = serde_json::from_slice(&uploaded["manifest.json"]).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), uploaded.len() - 1, "the manifest lists every other object");
    for file in files {
        let bytes = &uploaded[file["name"].as_str().unwrap()];
        assert_eq!(file["sha256"].as_str().unwrap(), hex::encode(sha2::Sha256::digest(bytes)));
        assert_eq!(file["size"].as_u64().unwrap(), bytes.len() as u64);
    }
    // Showback: 100.00 + 50.005 + 0.0000001 = 150.0050001 effective cost; the journal in
    // cents: 100.00 + 50.01 (50.005 rounds half away from zero) + 0.00 = 150.01.
    let total = |name: &str| {
        let entry = files.iter().find(|f| f["name"] == name).unwrap();
        entry["money_total"].as_str().unwrap().to_string()
    };
    assert_eq!(total("showback.csv"), "150.0050001");
    assert_eq!(total("journal.csv"), "150.01");

    s3_run();
    assert_eq!(objects(&endpoint, &bucket, prefix), uploaded, "a second run changes nothing");
}

#[test]
fn monthly_into_a_missing_bucket_fails_with_exit_2() {
    let Some(endpoint) = emulator("monthly_into_a_missing_bucket_fails_with_exit_2") else {
        return;
    };
    let _emulator = emulator_lock(&endpoint, false);
    let bucket = fresh_bucket("missing");
    let temp = tempfile::tempdir().unwrap();
    write_bill(temp.path());
    aispend(temp.path())
        .args(["monthly", "--month", "2025-01", "--cur", "cur.csv", "--endpoint-url", &endpoint])
        .args(["--out", &format!("s3://{bucket}/r/")])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("NoSuchBucket"));
}

#[test]
fn a_second_monthly_run_on_one_output_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    write_bill(temp.path());
    let out = temp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let lock_path = out.join(".aispend-monthly.lock");
    let held = File::options().create(true).truncate(false).write(true).open(lock_path).unwrap();
    held.try_lock().unwrap();
    aispend(temp.path())
        .args(["monthly", "--month", "2025-01", "--cur", "cur.csv", "--out", "out"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("another `aispend monthly` is writing `out`"));
    assert!(!out.join("manifest.json").exists());
    drop(held);
    aispend(temp.path())
        .args(["monthly", "--month", "2025-01", "--cur", "cur.csv", "--out", "out"])
        .assert()
        .success();
}

#[test]
fn json_logs_are_one_object_per_line() {
    let temp = tempfile::tempdir().unwrap();
    write_bill(temp.path());
    let output = aispend(temp.path())
        .args(["-v", "--log-format", "json", "monthly", "--month", "2025-01", "--cur", "cur.csv"])
        .args(["--out", "out", "--fail-on", "sof"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(!text.trim().is_empty());
    for line in text.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value.is_object() && value["level"].is_string(), "{line}");
    }
    assert!(text.contains("is not a policy result"), "{text}");
}

/// The files of a local bundle by name, the lock file aside.
fn bundle_files(folder: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|path| {
            (path.file_name().unwrap().to_string_lossy().into(), std::fs::read(&path).unwrap())
        })
        .collect()
}

#[test]
fn the_demo_month_read_from_s3_gives_the_same_bundle() {
    let Some(endpoint) = emulator("the_demo_month_read_from_s3_gives_the_same_bundle") else {
        return;
    };
    let _emulator = emulator_lock(&endpoint, false);
    let bucket = fresh_bucket("demo");
    assert_eq!(http(&endpoint, "PUT", &format!("/{bucket}"), b"").0, 200);
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    // The CUR 2.0 export (a manifest and its Parquet file) and the gateway's logs.
    for file in [
        "cur/metadata/BILLING_PERIOD=2025-01/demo-Manifest.json",
        "cur/data/BILLING_PERIOD=2025-01/demo-00001.snappy.parquet",
        "gateway/litellm_spend_logs.csv.gz",
    ] {
        let bytes = std::fs::read(demo.join(file)).unwrap();
        assert_eq!(http(&endpoint, "PUT", &format!("/{bucket}/demo/{file}"), &bytes).0, 200);
    }
    let temp = tempfile::tempdir().unwrap();
    let config = demo.join("aispend.toml");
    let run = |extra: &[&str], out: &str| {
        aispend_with(temp.path(), &config)
            .args(["monthly", "--month", "2025-01", "--endpoint-url", &endpoint, "--out", out])
            .args(extra)
            .assert()
            .success();
    };
    run(&[], "local");
    let cur = format!("s3://{bucket}/demo/cur/");
    let gateway = format!("s3://{bucket}/demo/gateway");
    run(&["--cur", &cur, "--gateway", &gateway], "from-s3");
    let local = bundle_files(&temp.path().join("local"));
    assert!(local.contains_key("reconcile.csv"), "gateway logs were read");
    assert_eq!(bundle_files(&temp.path().join("from-s3")), local);
}
