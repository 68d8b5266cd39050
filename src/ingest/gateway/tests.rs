//! Tests of the gateway readers and of assembling the `requests` frame, with values worked
//! out by hand.

#![allow(clippy::doc_markdown)] // product names (LiteLLM, OpenAI) are words

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use polars::prelude::*;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::ingest::builder::money_values;
use crate::money::Money;

/// Prices used by most tests: gpt-4o at $2.50/M input, $1.25/M cached, $10/M output, and
/// the alias `fast` that routes to it.
const PRICES: &str = "[[prices.override]]\nmodel = \"gpt-4o\"\ninput = \"2.50 per 1M\"\n\
                      cache_read = \"1.25 per 1M\"\noutput = \"10 per 1M\"\n\
                      [prices.aliases]\nfast = \"gpt-4o\"\n";

fn read(files: &[(&str, String)], toml: &str) -> Result<Requests> {
    let dir = tempfile::tempdir()?;
    let config = Config::parse(toml)?;
    let plan = TagPlan::new(&config, &[]);
    let mut sources = Vec::new();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text)?;
        sources.push(path.display().to_string());
    }
    read_with_config(&sources, &config, &plan)
}

fn jsonl(rows: &[Value]) -> String {
    rows.iter().map(|row| row.to_string() + "\n").collect()
}

/// A LiteLLM spend-log row; `extra` fields are merged in.
fn spend_log(
    id: &str,
    start: &str,
    model: &str,
    prompt: i64,
    completion: i64,
    extra: Value,
) -> Value {
    let mut row = json!({
        "request_id": id, "call_type": "acompletion", "api_key": "", "spend": 0.0,
        "prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion, "startTime": start, "model": model,
        "model_group": model, "custom_llm_provider": "openai", "user": "u1", "end_user": "",
        "request_tags": "[]", "metadata": {}, "cache_hit": "False", "status": "success",
    });
    if let (Value::Object(row), Value::Object(extra)) = (&mut row, extra) {
        row.extend(extra);
    }
    row
}

fn strings(frame: &DataFrame, name: &str) -> Vec<Option<String>> {
    let column = frame.column(name).unwrap().cast(&DataType::String).unwrap();
    column.str().unwrap().iter().map(|v| v.map(str::to_string)).collect()
}

fn ints(frame: &DataFrame, name: &str) -> Vec<Option<i64>> {
    frame.column(name).unwrap().i64().unwrap().iter().collect()
}

fn money(frame: &DataFrame, name: &str) -> Vec<Option<Money>> {
    money_values(frame.column(name).unwrap()).unwrap()
}

fn m(text: &str) -> Money {
    Money::parse(text).unwrap()
}

#[test]
fn cached_tokens_priced_once_in_a_litellm_log() {
    // 86 uncached x $2.50/M + 1,920 cached x $1.25/M + 300 x $10/M = $0.005615.
    let usage = json!({"usage_object": {"prompt_tokens_details": {"cached_tokens": 1920}}});
    let log =
        spend_log("r1", "2025-01-10T10:00:00Z", "gpt-4o", 2006, 300, json!({"metadata": usage}));
    let requests = read(&[("log.jsonl", jsonl(&[log]))], PRICES).unwrap();
    let frame = &requests.frame;
    assert_eq!(money(frame, requests::PRICED_COST), [Some(m("0.005615"))]);
    assert_eq!(ints(frame, requests::INPUT_TOKENS), [Some(86)]);
    assert_eq!(ints(frame, requests::CACHE_READ_TOKENS), [Some(1920)]);
}

#[test]
fn offsets_move_requests_to_their_utc_month() {
    // 08:30 +09:00 on 1 February is 23:30 UTC on 31 January; 20:00 -05:00 on 31 January is
    // 01:00 UTC on 1 February: January gets cost 1, February cost 2.
    let rows = [
        spend_log("a", "2025-02-01T08:30:00+09:00", "gpt-4o", 1, 1, json!({"spend": 1})),
        spend_log("b", "2025-01-31T20:00:00-05:00", "gpt-4o", 1, 1, json!({"spend": 2})),
    ];
    let requests = read(&[("log.jsonl", jsonl(&rows))], PRICES).unwrap();
    let frame = &requests.frame;
    let starts = frame.column(requests::START_TIME).unwrap().datetime().unwrap();
    let mut by_month: BTreeMap<String, Money> = BTreeMap::new();
    for (start, cost) in starts.physical().iter().zip(money(frame, requests::LOGGED_COST)) {
        let instant = DateTime::<Utc>::from_timestamp_millis(start.unwrap()).unwrap();
        *by_month.entry(crate::settings::month_of(instant)).or_default() += cost.unwrap();
    }
    assert_eq!(by_month["2025-01"], Money::from_units(1));
    assert_eq!(by_month["2025-02"], Money::from_units(2));
}

#[test]
fn exact_duplicate_counts_once() {
    let row = spend_log("r1", "2025-01-10T10:00:00Z", "gpt-4o", 10, 5, json!({}));
    let other = spend_log("r1", "2025-01-10T10:00:01Z", "gpt-4o", 20, 5, json!({}));
    let text = jsonl(&[row.clone(), row]);
    let requests =
        read(&[("a.jsonl", text.clone()), ("b.jsonl", jsonl(&[other]))], PRICES).unwrap();
    assert_eq!(requests.frame.height(), 2, "the duplicate once, the different row too");
    assert_eq!(requests.stats.duplicates, 1);
    assert_eq!(requests.stats.shared_ids, 1, "two different rows share `r1`");
}

#[test]
fn clear_keys_never_appear_in_the_frame() {
    let hashed = "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b";
    let rows = [
        spend_log("a", "2025-01-10T10:00:00Z", "gpt-4o", 1, 1, json!({"api_key": "sk-live-abc"})),
        spend_log("b", "2025-01-10T10:00:00Z", "gpt-4o", 1, 1, json!({"api_key": hashed})),
        spend_log(
            "c",
            "2025-01-10T10:00:00Z",
            "gpt-4o",
            1,
            1,
            json!({"metadata": {"user_api_key": "sk-live-abc"}}),
        ),
    ];
    let requests = read(&[("log.jsonl", jsonl(&rows))], PRICES).unwrap();
    let frame = requests.frame.clone();
    let bytes = crate::output::render(
        &frame,
        crate::cli::Format::Csv,
        &crate::output::TableSpec::default(),
    )
    .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains("sk-live-abc"), "{text}");
    let keys = strings(&frame, requests::API_KEY);
    assert_eq!(keys[1].as_deref(), Some(hashed), "a gateway hash is kept as it is");
    assert_eq!(keys[0], keys[2]);
    assert_eq!(keys[0].as_ref().map(String::len), Some(64));
}

#[test]
fn bodies_are_never_read() {
    let row = spend_log(
        "a",
        "2025-01-10T10:00:00Z",
        "gpt-4o",
        1,
        1,
        json!({"messages": [{"content": "SECRET PROMPT"}], "response": "SECRET ANSWER"}),
    );
    let requests = read(&[("log.jsonl", jsonl(&[row]))], PRICES).unwrap();
    let frame = requests.frame.clone();
    let bytes = crate::output::render(
        &frame,
        crate::cli::Format::Csv,
        &crate::output::TableSpec::default(),
    )
    .unwrap();
    assert!(!String::from_utf8(bytes).unwrap().contains("SECRET"));
}

#[test]
fn streamed_alias_with_zero_spend_is_priced_from_its_tokens() {
    // 30 input x $2.50/M + 9 output x $10/M = 0.000075 + 0.00009 = $0.000165.
    let row = spend_log("s", "2025-01-10T10:00:00Z", "", 30, 9, json!({"model_group": "fast"}));
    let requests = read(&[("log.jsonl", jsonl(&[row]))], PRICES).unwrap();
    let frame = &requests.frame;
    assert_eq!(money(frame, requests::LOGGED_COST), [Some(Money::ZERO)]);
    assert_eq!(money(frame, requests::PRICED_COST), [Some(m("0.000165"))]);
    assert_eq!(strings(frame, requests::MODEL), [Some("gpt-4o".into())]);
    assert_eq!(strings(frame, requests::MODEL_ALIAS), [Some("fast".into())]);
}

#[test]
fn unpriced_model_has_unknown_cost_and_is_named() {
    // 39 tokens priced, 61 not: 61% of the tokens are unpriced.
    let rows = [
        spend_log("a", "2025-01-10T10:00:00Z", "gpt-4o", 30, 9, json!({})),
        spend_log("b", "2025-01-10T10:00:00Z", "mystery-7b", 60, 1, json!({})),
    ];
    let requests = read(&[("log.jsonl", jsonl(&rows))], PRICES).unwrap();
    let costs = money(&requests.frame, requests::PRICED_COST);
    assert!(costs[0].is_some());
    assert_eq!(costs[1], None, "never $0, never a neighbour's price");
    let message = unpriced_message(&requests.stats);
    assert!(message.starts_with("1 request (61.0% of tokens)"), "{message}");
    assert!(message.contains("mystery-7b") && message.contains("[[prices.override]]"), "{message}");
}

#[test]
fn retrieval_calls_are_not_new_usage() {
    let rows = [
        spend_log("a", "2025-01-10T10:00:00Z", "gpt-4o", 30, 9, json!({"call_type": "aresponses"})),
        spend_log(
            "b",
            "2025-01-10T10:01:00Z",
            "gpt-4o",
            30,
            9,
            json!({"call_type": "aget_responses"}),
        ),
    ];
    let requests = read(&[("log.jsonl", jsonl(&rows))], PRICES).unwrap();
    assert_eq!(strings(&requests.frame, requests::REQUEST_ID), [Some("a".into())]);
    assert_eq!(requests.stats.retrievals, 1);
}

#[test]
fn failed_attempt_with_tokens_is_kept_as_attempt_one() {
    let trace = json!({"metadata": {"litellm_trace_id": "t1"}});
    let mut failed = spend_log("a", "2025-01-10T10:00:00Z", "gpt-4o", 100, 20, trace.clone());
    failed["status"] = json!("failure");
    let retried = spend_log("b", "2025-01-10T10:00:02Z", "gpt-4o", 100, 40, trace);
    let requests = read(&[("log.jsonl", jsonl(&[retried, failed]))], PRICES).unwrap();
    let frame = &requests.frame;
    assert_eq!(strings(frame, requests::TRACE_ID), [Some("t1".into()), Some("t1".into())]);
    assert_eq!(ints(frame, requests::ATTEMPT), [Some(1), Some(2)]);
    assert_eq!(strings(frame, requests::STATUS)[0].as_deref(), Some("failure"));
    // 100 x $2.50/M + 20 x $10/M = $0.00045: the failed attempt still costs.
    assert_eq!(money(frame, requests::PRICED_COST)[0], Some(m("0.00045")));
}

#[test]
fn tags_aliases_and_key_fallbacks_give_owners() {
    let toml = format!(
        "{PRICES}[taxonomy.aliases]\ndept = [\"business_unit\"]\n\
         [taxonomy.fallbacks.api_keys]\n\"sk-team-a\" = {{ dept = \"Platform\", app = \"batch\" }}\n"
    );
    let rows = [
        spend_log(
            "a",
            "2025-01-10T10:00:00Z",
            "gpt-4o",
            1,
            1,
            json!({
            "request_tags": "[\"Business-Unit:Sales\", \"app:chat\", \"env\"]",
            "metadata": {"user_api_key_team_alias": "Support"}}),
        ),
        spend_log(
            "b",
            "2025-01-10T10:00:01Z",
            "gpt-4o",
            1,
            1,
            json!({
            "api_key": "sk-team-a",
            "metadata": {"spend_logs_metadata": {"team": "search"}}}),
        ),
    ];
    let requests = read(&[("log.jsonl", jsonl(&rows))], &toml).unwrap();
    let frame = &requests.frame;
    assert_eq!(strings(frame, "dept"), [Some("sales".into()), Some("platform".into())]);
    assert_eq!(strings(frame, "team"), [Some("support".into()), Some("search".into())]);
    assert_eq!(strings(frame, "app"), [Some("chat".into()), Some("batch".into())]);
}

#[test]
fn litellm_csv_export_reads_like_jsonl() {
    let text = "request_id,call_type,api_key,spend,prompt_tokens,completion_tokens,startTime,\
                model,model_group,custom_llm_provider,request_tags,metadata,cache_hit,messages\n\
                r1,acompletion,,0.003,2006,300,2025-01-10 10:00:00.000,gpt-4o,gpt-4o,openai,\
                \"[\"\"dept:sales\"\"]\",\"{\"\"usage_object\"\": {\"\"prompt_tokens_details\"\": \
                {\"\"cached_tokens\"\": 1920}}}\",True,\"[{\"\"content\"\": \"\"hi\"\"}]\"\n";
    let requests = read(&[("spend.csv", text.to_string())], PRICES).unwrap();
    let frame = &requests.frame;
    assert_eq!(strings(frame, "dept"), [Some("sales".into())]);
    assert_eq!(ints(frame, requests::CACHE_READ_TOKENS), [Some(1920)]);
    assert_eq!(money(frame, requests::LOGGED_COST), [Some(m("0.003"))]);
    assert_eq!(money(frame, requests::PRICED_COST), [Some(Money::ZERO)], "a cache hit");
}

#[test]
fn malformed_rows_name_file_line_and_column() {
    let rows = [
        spend_log("a", "2025-01-10T10:00:00Z", "gpt-4o", 1, 1, json!({})),
        spend_log("b", "2025-01-10T10:00:00Z", "gpt-4o", 1, 1, json!({"prompt_tokens": "many"})),
    ];
    let error = read(&[("log.jsonl", jsonl(&rows))], PRICES).unwrap_err().to_string();
    assert!(error.contains("log.jsonl`: line 2, column `prompt_tokens`"), "{error}");
    assert!(error.contains("found `many`"), "{error}");

    let text = "request_id,startTime,spend\nr1,yesterday,1\n";
    let error = read(&[("spend.csv", text.into())], PRICES).unwrap_err().to_string();
    assert!(error.contains("spend.csv`: line 2, column `startTime`"), "{error}");
}

#[test]
fn portkey_cost_in_cents_becomes_dollars() {
    let row = json!({
        "id": "pk1", "trace_id": "tr", "created_at": "2025-01-10T10:00:00.000Z",
        "ai_org": "openai", "ai_model": "gpt-4o", "req_units": 1000, "res_units": 100,
        "cost": 0.35, "cost_currency": "USD", "is_success": 1, "response_time": 812,
        "cache_status": "MISS", "virtual_key": "openai-prod-123",
        "metadata": {"dept": "Sales", "_user": "ana"},
        "request": {"body": "SECRET"}, "response": {"body": "SECRET"},
    });
    let requests = read(&[("portkey.jsonl", jsonl(&[row]))], PRICES).unwrap();
    let frame = &requests.frame;
    // 0.35 cents is $0.0035; priced: 1,000 x $2.50/M + 100 x $10/M = $0.0035.
    assert_eq!(money(frame, requests::LOGGED_COST), [Some(m("0.0035"))]);
    assert_eq!(money(frame, requests::PRICED_COST), [Some(m("0.0035"))]);
    assert_eq!(strings(frame, "dept"), [Some("sales".into())]);
    assert_eq!(strings(frame, requests::USER), [Some("ana".into())]);
    assert_ne!(strings(frame, requests::API_KEY), [Some("openai-prod-123".into())]);
}

#[test]
fn openai_usage_and_costs_responses_read() {
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/samples/openai-openapi/");
    let Ok(usage) =
        std::fs::read_to_string(format!("{samples}usage_completions_example_response.json"))
    else {
        return;
    };
    let requests = read(&[("usage.json", usage)], PRICES).unwrap();
    let frame = &requests.frame;
    // input 1,000 of which 400 cached and 100 cache writes: 500 uncached.
    assert_eq!(ints(frame, requests::INPUT_TOKENS), [Some(500)]);
    assert_eq!(ints(frame, requests::CACHE_READ_TOKENS), [Some(400)]);
    assert_eq!(ints(frame, requests::CACHE_WRITE_TOKENS), [Some(100)]);
    assert_eq!(ints(frame, requests::OUTPUT_TOKENS), [Some(500)]);

    let costs = r#"{"object": "page", "data": [{"object": "bucket", "start_time": 1730419200,
        "end_time": 1730505600, "result": [
          {"object": "organization.costs.result", "amount": {"value": "1.50", "currency": "usd"},
           "line_item": "gpt-4o-2024-08-06, input", "project_id": "proj_1"},
          {"object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"}}]}],
        "has_more": false, "next_page": null}"#;
    let requests = read(&[("costs.json", costs.into())], PRICES).unwrap();
    let frame = &requests.frame;
    assert_eq!(money(frame, requests::LOGGED_COST), [Some(m("0.06")), Some(m("1.50"))]);
    assert_eq!(money(frame, requests::PRICED_COST), [None, None]);
    assert_eq!(requests.stats.unpriced_requests, 0, "cost buckets are not priced again");
}

#[test]
fn mapped_csv_through_the_configuration() {
    let toml = format!(
        "{PRICES}[gateway]\ncost_unit = \"cents\"\n\
         [gateway.mapping]\nstart_time = \"ts\"\nmodel = \"engine\"\ninput_tokens = \"in\"\n\
         output_tokens = \"out\"\nlogged_cost = \"cost\"\nrequest_id = \"id\"\napi_key = \"key\"\n"
    );
    let text = "id,ts,engine,in,out,cost,key,Team\nx1,2025-01-10T10:00:00Z,gpt-4o,1000,100,0.35,\
                sk-abc,Search\n";
    let requests = read(&[("custom.csv", text.into())], &toml).unwrap();
    let frame = &requests.frame;
    assert_eq!(money(frame, requests::LOGGED_COST), [Some(m("0.0035"))]);
    assert_eq!(money(frame, requests::PRICED_COST), [Some(m("0.0035"))]);
    assert_eq!(strings(frame, "team"), [Some("search".into())]);

    let unknown = "[gateway.mapping]\nstart_time = \"ts\"\ntokens = \"t\"\n";
    let error = read(&[("custom.csv", text.into())], unknown).unwrap_err().to_string();
    assert!(error.contains("unknown column `tokens`"), "{error}");
}

#[test]
fn unknown_log_is_rejected_with_a_hint() {
    let error = read(&[("x.csv", "a,b\n1,2\n".into())], PRICES).unwrap_err();
    let text = crate::error::render(&error);
    assert!(text.contains("not a gateway log") && text.contains("[gateway] mapping"), "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn ingesting_the_same_log_twice_changes_nothing(
        rows in prop::collection::vec((0u8..6, 0u32..120, 0i64..5000, 0i64..500, 0usize..3), 1..12)
    ) {
        let depts = ["sales", "support", "research"];
        let logs: Vec<Value> = rows
            .iter()
            .map(|(id, minute, prompt, completion, dept)| {
                let start = format!("2025-01-10T{:02}:{:02}:00Z", minute / 60, minute % 60);
                let tags = format!("[\"dept:{}\"]", depts[*dept]);
                spend_log(&format!("r{id}"), &start, "gpt-4o", *prompt, *completion,
                    json!({"request_tags": tags}))
            })
            .collect();
        let text = jsonl(&logs);
        // Each read uses its own folder, so the file names differ: compare the rest.
        let frame = |files: &[(&str, String)]| {
            read(files, PRICES).unwrap().frame.drop(requests::SOURCE_FILE).unwrap()
        };
        let once = frame(&[("a.jsonl", text.clone())]);
        let twice = frame(&[("a.jsonl", text.clone()), ("b.jsonl", text.clone())]);
        let doubled = frame(&[("a.jsonl", format!("{text}{text}"))]);
        prop_assert!(once.equals_missing(&twice));
        prop_assert!(once.equals_missing(&doubled));
    }
}

#[test]
fn a_logged_zero_for_a_model_without_a_price_is_unpriced() {
    // `mystery` has no price: LiteLLM logs spend 0 for 1,000 tokens, which is not a free
    // request but an unpriced one. A cache hit of it logged at 0 is free, and gpt-4o is
    // priced by the book (100 x $2.50/M = $0.00025) whatever the log says.
    let logs = [
        spend_log("r1", "2025-01-10T10:00:00Z", "mystery", 900, 100, json!({})),
        spend_log("r2", "2025-01-10T10:01:00Z", "mystery", 900, 100, json!({"cache_hit": "True"})),
        spend_log("r3", "2025-01-10T10:02:00Z", "gpt-4o", 100, 0, json!({})),
    ];
    let requests = read(&[("log.jsonl", jsonl(&logs))], PRICES).unwrap();
    let rows = crate::report::request_rows::read(&requests.frame, &[], chrono_tz::UTC).unwrap();
    let costs: Vec<Option<String>> = rows.iter().map(|r| r.cost.map(|c| c.to_string())).collect();
    assert_eq!(costs, [None, Some("0.00".into()), Some("0.00025".into())]);
}
