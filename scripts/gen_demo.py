#!/usr/bin/env python3
"""Generate aispend's demo month (January 2025) into `fixtures/demo/`, deterministically.

    ~/.cache/aispend-venv/bin/python scripts/gen_demo.py --out fixtures/demo

Writes:
- `cur/` a CUR 2.0 Data Exports folder: one Snappy Parquet file under
  `data/BILLING_PERIOD=2025-01/` and the manifest that lists it under `metadata/`;
- `gateway/litellm_spend_logs.csv.gz` a LiteLLM `SpendLogs` export (gzip, no bodies);
- `metrics.csv` business figures per day and app.

The gateway log is drawn first; the Bedrock lines of the bill are then derived from its
billable tokens per model, token type and UTC day (a little more than the gateway saw, plus
one day of traffic that bypassed the gateway), so the two sources reconcile the way a real
month does. Everything comes from `random.Random` streams seeded by name and from integer
or `Decimal` arithmetic: no wall clock, no NumPy stream, no set iteration. Two runs give
byte-identical files (with the same pyarrow, which stamps its version into the Parquet
footer).

A JSON summary with hand-checkable totals goes to stdout; money is exact decimal text,
each bill amount read back as `Decimal(repr(float))` like aispend reads a Parquet double.
"""

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import math
import random
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_cur2  # noqa: E402  (the CUR 2.0 column catalogue and its Arrow types)

SEED = 20250131
MONTH = "2025-01"
YEAR, MON = 2025, 1
DAYS = 31
START = dt.datetime(YEAR, MON, 1, tzinfo=dt.timezone.utc)
END = dt.datetime(YEAR, MON + 1, 1, tzinfo=dt.timezone.utc)
EXPORT = "demo"
BUCKET_PREFIX = "s3://demo-bucket/cur/demo"
PARTITION = f"BILLING_PERIOD={MONTH}"
DATA_NAME = f"{EXPORT}-00001.snappy.parquet"
INVOICE_ID = "2073514689"
THOUSAND = Decimal(1000)
CENT = Decimal("0.01")
UNALLOCATED = "__unallocated__"

# ---------------------------------------------------------------------------------------
# Who is who.

PAYER = ("999900001111", "acme-payer")
ACCOUNTS = {
    "payer": PAYER,
    "sales": ("210000000001", "acme-sales-prod"),
    "support": ("220000000002", "acme-support-prod"),
    "research": ("230000000003", "acme-research"),
    "platform": ("240000000004", "acme-ai-platform"),
}
GATEWAY_ROLE = f"arn:aws:iam::{ACCOUNTS['platform'][0]}:role/litellm-gateway"
BYPASS_ROLE = f"arn:aws:iam::{ACCOUNTS['platform'][0]}:role/nightly-batch-etl"
REGIONS = {"us-east-1": ("USE1", "US East (N. Virginia)"),
           "us-west-2": ("USW2", "US West (Oregon)")}

# Bedrock models: gateway id, model group, billing name, region, list $ per 1K tokens.
INPUT, OUTPUT, CACHE_READ, CACHE_WRITE = "input", "output", "cache_read", "cache_write"
TOKEN_TYPES = (INPUT, OUTPUT, CACHE_READ, CACHE_WRITE)
USAGE_SUFFIX = {INPUT: "input-tokens", OUTPUT: "output-tokens",
                CACHE_READ: "cache-read-input-token-count",
                CACHE_WRITE: "cache-write-input-token-count"}
MODELS = {
    "sonnet": {"id": "bedrock/anthropic.claude-3-sonnet-20240229-v1:0",
               "group": "claude-3-sonnet", "billing": "Claude3Sonnet", "region": "us-east-1",
               "per_1k": {INPUT: "0.003", OUTPUT: "0.015", CACHE_READ: "0.0003",
                          CACHE_WRITE: "0.00375"}},
    "haiku": {"id": "bedrock/anthropic.claude-3-haiku-20240307-v1:0",
              "group": "claude-3-haiku", "billing": "Claude3Haiku", "region": "us-west-2",
              "per_1k": {INPUT: "0.00025", OUTPUT: "0.00125", CACHE_READ: "0.00003",
                         CACHE_WRITE: "0.0003"}},
    "nova": {"id": "bedrock/amazon.nova-pro-v1:0", "group": "nova-pro", "billing": "NovaPro",
             "region": "us-east-1", "per_1k": {INPUT: "0.0008", OUTPUT: "0.0032"}},
    # Served behind the gateway, priced nowhere: its cost is unknown and no bill line names it.
    "internal": {"id": "bedrock/acme.internal-llm-v1", "group": "acme-internal",
                 "billing": None, "region": "us-east-1", "per_1k": {}},
}

USERS = {  # team: user names (e-mail local parts)
    "emea": ["lena.fischer", "marco.rossi", "sofia.lindqvist"],
    "americas": ["james.carter", "ana.morales", "priya.nair", "tom.becker"],
    "helpdesk": ["kim.nguyen", "omar.haddad", "grace.obi", "luis.ortega", "mei.chen"],
    "ml-platform": ["arjun.mehta", "sara.klein", "noah.park"],
    "insights": ["elena.petrova", "david.cohen", "yuki.tanaka"],
    "platform": ["svc-batch", "ops.admin"],
}
DOMAIN = "acme.example"

# One stream of requests per (key, app). `tags`: where the owner travels (`tags` in
# request_tags, `alias` in request_tags with alias keys and odd case, `metadata` in
# spend_logs_metadata, `none` untagged). `mix`: model shares. Token sizes are medians of
# log-normal draws; `prefix` is the cached prompt prefix (read, or written with `write_p`).
APPS = [
    {"key": "quote-bot-prod", "app": "quote-bot", "dept": "sales", "team": "emea",
     "tags": "tags", "per_day": 15, "weekend": 0.2, "mix": {"sonnet": 1.0},
     "input": 85000, "prefix": 30000, "write_p": 0.12, "output": 3200, "end_user": "acct",
     "per_txn": 1.5, "value": ("revenue", 180, 1400)},
    {"key": "email-drafter-prod", "app": "email-drafter", "dept": "sales", "team": "americas",
     "tags": "alias", "per_day": 14, "weekend": 0.15, "mix": {"haiku": 0.7, "sonnet": 0.3},
     "input": 3500, "prefix": 4000, "write_p": 0.2, "output": 550, "end_user": None,
     "per_txn": 1.0, "value": ("revenue", 15, 90)},
    {"key": "crm-summarizer-prod", "app": "crm-summarizer", "dept": "sales",
     "team": "americas", "tags": "metadata", "per_day": 10, "weekend": 0.1,
     "mix": {"nova": 1.0}, "input": 52000, "prefix": 0, "write_p": 0, "output": 1600,
     "end_user": None, "per_txn": 1.0, "value": ("hours_saved", 10, 25)},
    {"key": "ticket-triage-prod", "app": "ticket-triage", "dept": "support", "team": "helpdesk",
     "tags": "tags", "per_day": 20, "weekend": 0.35, "mix": {"haiku": 1.0},
     "input": 2600, "prefix": 6000, "write_p": 0.08, "output": 220, "end_user": None,
     "per_txn": 1.0, "value": ("hours_saved", 3, 6), "gateway_cache": 0.04},
    {"key": "support-chat-prod", "app": "support-chat", "dept": "support", "team": "helpdesk",
     "tags": "tags", "per_day": 17, "weekend": 0.5, "mix": {"sonnet": 1.0},
     "input": 16000, "prefix": 14000, "write_p": 0.1, "output": 650, "end_user": "cust",
     "per_txn": 3.0, "value": ("hours_saved", 4, 9)},
    {"key": "doc-search-prod", "app": "doc-search", "dept": "research", "team": "ml-platform",
     "tags": "tags", "per_day": 12, "weekend": 0.2, "mix": {"nova": 0.6, "haiku": 0.4},
     "input": 16000, "prefix": 0, "write_p": 0, "output": 650, "end_user": None,
     "per_txn": 1.0, "value": ("hours_saved", 5, 15)},
    {"key": "notebook-assistant", "app": "notebook-assistant", "dept": "research",
     "team": "ml-platform", "tags": "metadata", "per_day": 8, "weekend": 0.25,
     "mix": {"internal": 0.65, "sonnet": 0.35}, "input": 9000, "prefix": 0, "write_p": 0,
     "output": 1300, "end_user": None, "per_txn": 4.0, "value": ("hours_saved", 8, 20)},
    {"key": "report-writer-prod", "app": "report-writer", "dept": "research", "team": "insights",
     "tags": "tags", "per_day": 5, "weekend": 0.0, "mix": {"sonnet": 1.0},
     "input": 140000, "prefix": 0, "write_p": 0, "output": 4200, "end_user": None,
     "per_txn": 2.0, "value": ("hours_saved", 45, 120), "responses": True},
    {"key": "research-sandbox", "app": "report-writer", "dept": "research", "team": "insights",
     "tags": "tags", "per_day": 3, "weekend": 0.0, "mix": {"sonnet": 0.5, "nova": 0.5},
     "input": 24000, "prefix": 0, "write_p": 0, "output": 1500, "end_user": None,
     "per_txn": 2.0, "value": None},
    {"key": "research-sandbox", "app": "doc-search", "dept": "research", "team": "ml-platform",
     "tags": "tags", "per_day": 3, "weekend": 0.0, "mix": {"nova": 1.0},
     "input": 20000, "prefix": 0, "write_p": 0, "output": 900, "end_user": None,
     "per_txn": 1.0, "value": None},
    {"key": "legacy-batch", "app": None, "dept": None, "team": "platform",
     "tags": "none", "per_day": 5, "weekend": 1.0, "mix": {"haiku": 1.0},
     "input": 14000, "prefix": 0, "write_p": 0, "output": 900, "end_user": None,
     "per_txn": 1.0, "value": None, "night": True},
]
HOLIDAYS = {1: 0.3, 20: 0.7}  # day of month: volume factor (New Year, MLK day)
SPIKE_DAY = 23        # a runaway end user on support-chat (denial of wallet)
SPIKE_REQUESTS = 120
BYPASS_DAY = 28       # a batch job called Bedrock directly, not through the gateway
BYPASS_TOKENS = {INPUT: 2_600_000, OUTPUT: 210_000}
RETRIES_WITH_TOKENS = 8
RETRIES_WITHOUT_TOKENS = 4
DUPLICATES = 9
RESPONSE_RETRIEVALS = 5
CONTEXT_TOKENS = 190_000  # prompts stay inside Claude 3's 200K window


def key_hash(alias):
    """LiteLLM stores a virtual key as the SHA-256 hex of the key: `sk-demo-<alias>` here."""
    return hashlib.sha256(f"sk-demo-{alias}".encode()).hexdigest()


def stream(name):
    """An independent random stream, seeded by the run seed and a name."""
    return random.Random(f"{SEED}:{name}")


def lognormal(rnd, median, sigma):
    """A positive whole number around `median`."""
    return max(1, int(median * math.exp(rnd.gauss(0.0, sigma))))


def uuid_text(rnd):
    """A UUID-shaped identifier (version 4 layout) from a stream."""
    text = f"{rnd.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-a{text[17:20]}-{text[20:]}"


def iso_ms(instant):
    """`2025-01-03T14:22:05.123Z`."""
    return instant.strftime("%Y-%m-%dT%H:%M:%S.") + f"{instant.microsecond // 1000:03d}Z"


def money_text(value):
    """Plain decimal text, no exponent, no trailing zeros beyond one digit."""
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def price_per_token(model, kind):
    """List price per token, or None when the model has no price for that kind."""
    text = MODELS[model]["per_1k"].get(kind)
    return None if text is None else Decimal(text) / THOUSAND


# ---------------------------------------------------------------------------------------
# Gateway: LiteLLM SpendLogs.


def day_volume(rnd, spec, day):
    """Requests of one app stream on one day."""
    weekday = dt.date(YEAR, MON, day).weekday()
    factor = spec["weekend"] if weekday >= 5 else 1.0
    factor *= HOLIDAYS.get(day, 1.0)
    factor *= 0.85 + 0.3 * day / DAYS  # adoption grows through the month
    mean = spec["per_day"] * factor
    count = max(0, int(round(mean * math.exp(rnd.gauss(0.0, 0.2)))))
    return max(count, 1) if spec["per_day"] and factor > 0 else count


def draw_time(rnd, spec, day):
    """A start instant on `day`: office hours, or night for batch jobs."""
    if spec.get("night"):
        hour = rnd.choice([0, 1, 2, 3, 4, 5, 22, 23])
    else:
        hour = min(23, max(0, int(rnd.gauss(14.5, 3.0))))
    second = rnd.randrange(3600)
    millis = rnd.randrange(1000)
    return START + dt.timedelta(days=day - 1, hours=hour, seconds=second, milliseconds=millis)


def draw_usage(rnd, spec, model):
    """Token counts of one request: uncached input, cache read, cache write, output."""
    usage = {INPUT: lognormal(rnd, spec["input"], 0.45), CACHE_READ: 0, CACHE_WRITE: 0,
             OUTPUT: lognormal(rnd, spec["output"], 0.4)}
    prefix = 0
    if spec["prefix"] and model in ("sonnet", "haiku"):
        prefix = int(spec["prefix"] * (0.9 + 0.2 * rnd.random()))
        if rnd.random() < spec["write_p"]:
            usage[CACHE_WRITE] = prefix
        else:
            usage[CACHE_READ] = prefix
    usage[INPUT] = min(usage[INPUT], CONTEXT_TOKENS - prefix - usage[OUTPUT])
    return usage


def priced(model, usage):
    """The list price of a request's tokens, or None for a model with no price."""
    if not MODELS[model]["per_1k"]:
        return None
    total = Decimal(0)
    for kind, tokens in usage.items():
        if tokens:
            total += tokens * price_per_token(model, kind)
    return total


def owner_of(spec):
    """(dept, team, app) of a stream, normalised; None parts for untagged streams."""
    return (spec["dept"], spec["team"] if spec["dept"] else None, spec["app"])


def tags_and_metadata(spec):
    """`request_tags` (list) and the `spend_logs_metadata` dict of a stream."""
    dept, team, app = spec["dept"], spec["team"], spec["app"]
    style = spec["tags"]
    if style == "tags":
        return [f"dept:{dept}", f"team:{team}", f"app:{app}", "env:prod"], {}
    if style == "alias":
        return [f"department:{dept.title()}", f"team:{team}", f"app:{app}"], {}
    if style == "metadata":
        return ["env:prod"], {"dept": dept, "team": team, "app": app}
    return [], {"job": "nightly-summaries"}


def new_request(rnd, spec, model, start, usage, users, end_users):
    """One logical request before ids, status and attempts."""
    user = rnd.choice(users)
    end_user = rnd.choice(end_users) if end_users else ""
    return {"spec": spec, "model": model, "start": start, "usage": usage, "user": user,
            "end_user": end_user}


def end_users_of(spec, rnd):
    """Customer ids for customer-facing apps."""
    if spec["end_user"] == "acct":
        return [f"acct-{n:04d}" for n in sorted(rnd.sample(range(1000, 2000), 60))]
    if spec["end_user"] == "cust":
        return [f"cust-{n:05d}" for n in sorted(rnd.sample(range(10000, 99999), 400))]
    return []


def draw_requests():
    """Every logical request of the month, per stream and day."""
    requests = []
    for index, spec in enumerate(APPS):
        rnd = stream(f"gateway:{index}:{spec['key']}:{spec['app']}")
        users = [f"{name}@{DOMAIN}" for name in USERS[spec["team"]]]
        end_users = end_users_of(spec, rnd)
        models = list(spec["mix"])
        weights = [spec["mix"][m] for m in models]
        for day in range(1, DAYS + 1):
            for _ in range(day_volume(rnd, spec, day)):
                model = rnd.choices(models, weights)[0]
                start = draw_time(rnd, spec, day)
                requests.append(new_request(rnd, spec, model, start,
                                            draw_usage(rnd, spec, model), users, end_users))
        if spec["app"] == "support-chat":
            requests.extend(spike_requests(rnd, spec, users))
    return requests


def spike_requests(rnd, spec, users):
    """A burst from one end user within two hours: the denial-of-wallet pattern."""
    burst = []
    first = START + dt.timedelta(days=SPIKE_DAY - 1, hours=19)
    for number in range(SPIKE_REQUESTS):
        start = first + dt.timedelta(seconds=number * 50 + rnd.randrange(20),
                                     milliseconds=rnd.randrange(1000))
        usage = draw_usage(rnd, spec, "sonnet")
        usage[INPUT] = min(2 * usage[INPUT], CONTEXT_TOKENS // 2)  # the chat keeps growing
        burst.append({"spec": spec, "model": "sonnet", "start": start, "usage": usage,
                      "user": users[0], "end_user": "cust-66666", "abuse": True})
    return burst


def log_row(rnd, request, status="success", attempt=1, trace=None, usage=None,
            call_type=None, request_id=None, offset_ms=0):
    """One SpendLogs row for an attempt of a request."""
    spec, model = request["spec"], request["model"]
    usage = request["usage"] if usage is None else usage
    start = request["start"] + dt.timedelta(milliseconds=offset_ms)
    latency = 400 + usage[OUTPUT] * 12 + rnd.randrange(600)
    if status == "failure" and usage[OUTPUT] == 0:
        latency = 150 + rnd.randrange(300)
    prompt = usage[INPUT] + usage[CACHE_READ] + usage[CACHE_WRITE]
    cost = priced(model, usage)
    responses = spec.get("responses", False)
    call_type = call_type or ("aresponses" if responses else "acompletion")
    trace = trace or uuid_text(rnd)
    if request_id is None:
        request_id = (f"resp_{trace.replace('-', '')}" if responses and attempt == 1
                      else f"chatcmpl-{trace}" if attempt == 1 and status == "success"
                      else f"chatcmpl-{uuid_text(rnd)}")
    tags, logged_meta = tags_and_metadata(spec)
    usage_object = {"completion_tokens": usage[OUTPUT], "prompt_tokens": prompt,
                    "total_tokens": prompt + usage[OUTPUT],
                    "prompt_tokens_details": {"cached_tokens": usage[CACHE_READ]},
                    "cache_creation_input_tokens": usage[CACHE_WRITE],
                    "cache_read_input_tokens": usage[CACHE_READ]}
    metadata = {"user_api_key_alias": spec["key"], "spend_logs_metadata": logged_meta,
                "usage_object": usage_object, "litellm_trace_id": trace,
                "attempted_retries": attempt - 1}
    if status == "failure":
        metadata["error_information"] = {
            "error_class": "Timeout" if usage[OUTPUT] else "RateLimitError",
            "error_code": "408" if usage[OUTPUT] else "429"}
    hit = bool(spec.get("gateway_cache")) and status == "success" and rnd.random() < \
        spec["gateway_cache"] and call_type == "acompletion"
    return {
        "request_id": request_id,
        "call_type": call_type,
        "api_key": key_hash(spec["key"]),
        "spend": Decimal(0) if cost is None or hit else cost,
        "total_tokens": prompt + usage[OUTPUT],
        "prompt_tokens": prompt,
        "completion_tokens": usage[OUTPUT],
        "startTime": start,
        "endTime": start + dt.timedelta(milliseconds=latency),
        "model": MODELS[model]["id"],
        "model_group": MODELS[model]["group"],
        "custom_llm_provider": "bedrock",
        "user": request["user"],
        "team_id": spec["team"] if spec["dept"] else "",
        "end_user": request["end_user"],
        "request_tags": tags,
        "metadata": metadata,
        "cache_hit": "True" if hit else "False",
        "cache_key": cache_key(rnd, spec),
        "status": status,
        # Not columns: what the bill and the summary need.
        "_model": model, "_usage": usage, "_billable": not hit and call_type != "aget_responses",
        "_owner": owner_of(spec), "_abuse": request.get("abuse", False),
    }


def cache_key(rnd, spec):
    """LiteLLM's response-cache key: a hash of the prompt (triage prompts repeat), or
    `Cache OFF` for keys without the gateway cache."""
    if not spec.get("gateway_cache"):
        return "Cache OFF"
    return hashlib.sha256(f"{spec['app']}:template-{rnd.randrange(300)}".encode()).hexdigest()


def build_log():
    """SpendLogs rows: requests, retries, retrievals and duplicates, sorted by start time."""
    rnd = stream("log")
    requests = sorted(draw_requests(), key=lambda r: (r["start"], r["user"], r["end_user"]))
    pick = stream("incidents")
    eligible = [i for i, r in enumerate(requests)
                if r["spec"]["tags"] != "none" and r["model"] != "internal"
                and not r["spec"].get("responses")]
    chosen = pick.sample(eligible, RETRIES_WITH_TOKENS + RETRIES_WITHOUT_TOKENS)
    with_tokens = set(chosen[:RETRIES_WITH_TOKENS])
    retried = set(chosen)
    rows, stats = [], {"retries": 0, "failed_attempts_with_tokens": 0}
    originals = []
    for index, request in enumerate(requests):
        trace = uuid_text(rnd)
        if index in retried:
            partial = dict(request["usage"])
            if index in with_tokens:
                partial[OUTPUT] = max(1, partial[OUTPUT] // 3)  # stream cut off mid-answer
                stats["failed_attempts_with_tokens"] += 1
            else:
                partial = {kind: 0 for kind in partial}  # throttled before any token
            rows.append(log_row(rnd, request, "failure", 1, trace, usage=partial))
            rows.append(log_row(rnd, request, "success", 2, trace, offset_ms=2500))
            stats["retries"] += 1
        else:
            row = log_row(rnd, request, trace=trace)
            rows.append(row)
            if row["call_type"] == "aresponses":
                originals.append((request, row))
    for request, original in pick.sample(originals, RESPONSE_RETRIEVALS):
        later = dict(request, start=request["start"] + dt.timedelta(minutes=pick.randrange(2, 90)))
        rows.append(log_row(rnd, later, call_type="aget_responses",
                            request_id=f"chatcmpl-{uuid_text(rnd)}",
                            trace=original["metadata"]["litellm_trace_id"]))
    stats["response_retrievals"] = RESPONSE_RETRIEVALS
    for row in pick.sample(list(rows), DUPLICATES):
        rows.append(dict(row, _billable=False, _duplicate=True))
    stats["duplicates"] = DUPLICATES
    rows.sort(key=lambda r: (r["startTime"], r["request_id"], r.get("_duplicate", False)))
    return rows, stats


LOG_COLUMNS = ["request_id", "call_type", "api_key", "spend", "total_tokens", "prompt_tokens",
               "completion_tokens", "startTime", "endTime", "model", "model_group",
               "custom_llm_provider", "user", "team_id", "end_user", "request_tags", "metadata",
               "cache_hit", "cache_key", "status"]


def log_cell(name, value):
    """A SpendLogs value as a CSV cell."""
    if name == "spend":
        return money_text(value)
    if name in ("startTime", "endTime"):
        return iso_ms(value)
    if name in ("request_tags", "metadata"):
        return json.dumps(value, separators=(",", ":"), sort_keys=False)
    return str(value)


def write_log(rows, path):
    """The SpendLogs export as gzip CSV with a fixed header (no gzip time or name)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(LOG_COLUMNS)
    for row in rows:
        writer.writerow([log_cell(name, row[name]) for name in LOG_COLUMNS])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
            out.write(text.getvalue().encode())


def gateway_tokens(rows):
    """Billable tokens per (model, token type, day): unique rows, failures with tokens
    included, gateway cache hits and response retrievals left out."""
    totals = {}
    for row in rows:
        if not row["_billable"] or MODELS[row["_model"]]["billing"] is None:
            continue
        day = row["startTime"].day
        for kind, tokens in row["_usage"].items():
            if tokens:
                key = (row["_model"], kind, day)
                totals[key] = totals.get(key, 0) + tokens
    return totals


# ---------------------------------------------------------------------------------------
# Bill: CUR 2.0 line items.


def interval(first, last):
    """`identity_time_interval` text."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return f"{first.strftime(fmt)}/{last.strftime(fmt)}"


def day_bounds(day):
    """Start and end of a UTC day of the month."""
    first = START + dt.timedelta(days=day - 1)
    return first, first + dt.timedelta(days=1)


def line(rnd, kind, account, code, usage_type, amount, rate, cost, first, last, **extra):
    """One line item as column values; `cost` and `amount` are Decimal."""
    region = extra.pop("region", "us-east-1")
    item = {
        "identity_line_item_id": "".join(rnd.choices("abcdefghijklmnopqrstuvwxyz234567", k=32)),
        "identity_time_interval": interval(first, last),
        "line_item_line_item_type": kind,
        "line_item_usage_account_id": ACCOUNTS[account][0],
        "line_item_usage_account_name": ACCOUNTS[account][1],
        "line_item_product_code": code,
        "line_item_usage_type": usage_type,
        "line_item_usage_amount": amount,
        "line_item_unblended_cost": cost,
        "line_item_blended_cost": cost,
        "line_item_net_unblended_cost": cost,
        "line_item_unblended_rate": "" if rate is None else f"{rate:.10f}",
        "line_item_blended_rate": "" if rate is None else f"{rate:.10f}",
        "line_item_net_unblended_rate": "" if rate is None else f"{rate:.10f}",
        "line_item_usage_start_date": first,
        "line_item_usage_end_date": last,
        "line_item_currency_code": "USD",
        "line_item_legal_entity": "Amazon Web Services, Inc.",
        "product_servicecode": code,
        "product_usagetype": usage_type,
        "product_region_code": region if kind in ("Usage", "SavingsPlanCoveredUsage",
                                                  "SavingsPlanNegation") else "",
        "product_location": REGIONS[region][1] if region in REGIONS else "",
        "product_location_type": "AWS Region" if region in REGIONS else "",
        "resource_tags": [],
        "product": [("product_name", extra.pop("product_name", code))],
        "_dept": UNALLOCATED,
    }
    if kind in ("Usage", "SavingsPlanCoveredUsage"):
        item["pricing_public_on_demand_cost"] = cost
        item["pricing_public_on_demand_rate"] = item["line_item_unblended_rate"]
        item["pricing_term"] = "OnDemand"
        item["pricing_currency"] = "USD"
        item["product"].append(("region", region))
    tags = extra.pop("tags", None)
    if tags:
        item["resource_tags"] = list(tags)
        dept = dict(tags).get("user_dept", dict(tags).get("user_department", ""))
        item["_dept"] = dept.strip().lower() or UNALLOCATED
    for name, value in extra.items():
        item[name] = value
    item["line_item_operation"] = item.get("line_item_operation", "")
    item["product_operation"] = item["line_item_operation"]
    item["product_pricing_unit"] = item.get("pricing_unit", "")
    return item


def bedrock_lines(rnd, tokens):
    """Daily untagged Bedrock token lines, a little above the gateway's billable tokens."""
    items, uplift = [], stream("uplift")
    account = "platform"
    for model in ("sonnet", "haiku", "nova"):
        spec = MODELS[model]
        prefix = REGIONS[spec["region"]][0]
        for day in range(1, DAYS + 1):
            first, last = day_bounds(day)
            share = Decimal(200 + uplift.randrange(201)) / Decimal(10000)  # 2.00% to 4.00%
            for kind in TOKEN_TYPES:
                seen = tokens.get((model, kind, day), 0)
                billed = seen + int((Decimal(seen) * share).to_integral_value())
                if billed:
                    items.append(bedrock_line(rnd, account, model, kind, billed, first, last,
                                              GATEWAY_ROLE))
                if day == BYPASS_DAY and model == "sonnet" and kind in BYPASS_TOKENS:
                    items.append(bedrock_line(rnd, account, model, kind, BYPASS_TOKENS[kind],
                                              first, last, BYPASS_ROLE))
    return items


def bedrock_line(rnd, account, model, kind, tokens, first, last, principal):
    """One Bedrock token line: usage in thousands of tokens at the list price per 1K."""
    spec = MODELS[model]
    rate = Decimal(spec["per_1k"][kind])
    amount = Decimal(tokens) / THOUSAND
    usage_type = f"{REGIONS[spec['region']][0]}-{spec['billing']}-{USAGE_SUFFIX[kind]}"
    item = line(rnd, "Usage", account, "AmazonBedrock", usage_type, amount, rate, amount * rate,
                first, last, region=spec["region"], product_name="Amazon Bedrock",
                line_item_operation="InvokeModelInference", pricing_unit="1K tokens",
                product_product_family="Amazon Bedrock", line_item_iam_principal=principal,
                line_item_line_item_description=(f"${rate} per 1K {USAGE_SUFFIX[kind]} for "
                                                 f"{spec['billing']} in {spec['region']}"))
    item["_model"] = spec["billing"]
    return item


# EC2 instances: resource, account, type, $/hour, tags (None: untagged).
INSTANCES = [
    ("i-0a11c0ffee0000001", "sales", "m5.xlarge", "0.192",
     [("user_dept", " Sales"), ("user_team", "emea"), ("user_app", "quote-bot")]),
    ("i-0a11c0ffee0000002", "sales", "t3.large", "0.0832",
     [("user_dept", "sales"), ("user_team", "americas"), ("user_app", "crm-summarizer")]),
    ("i-0a11c0ffee0000003", "sales", "c6i.xlarge", "0.17",
     [("user_dept", "sales"), ("user_team", "Americas"), ("user_app", "email-drafter")]),
    ("i-0a11c0ffee0000004", "sales", "r6g.xlarge", "0.2016",
     [("user_dept", "sales"), ("user_team", "emea")]),
    ("i-0b22c0ffee0000005", "support", "t3.large", "0.0832",
     [("user_dept", "SUPPORT"), ("user_team", "helpdesk"), ("user_app", "support-chat")]),
    ("i-0b22c0ffee0000006", "support", "t3.large", "0.0832",
     [("user_department", "Support"), ("user_team", "helpdesk"), ("user_app", "support-chat")]),
    ("i-0b22c0ffee0000007", "support", "t3.medium", "0.0416",
     [("user_dept", "support"), ("user_team", "helpdesk"), ("user_app", "ticket-triage")]),
    ("i-0c33c0ffee0000008", "research", "r6g.large", "0.1008",
     [("user_dept", "research "), ("user_team", "insights"), ("user_app", "report-writer")]),
    ("i-0c33c0ffee0000009", "research", "c6i.large", "0.085",
     [("user_dept", "research"), ("user_team", "ml-platform"), ("user_app", "doc-search")]),
    ("i-0c33c0ffee000000a", "research", "g4dn.xlarge", "0.526", None),  # account fallback
    ("i-0d44c0ffee000000b", "platform", "c6i.large", "0.085", None),  # the LLM gateway
    ("i-0e55c0ffee000000c", "payer", "t3.micro", "0.0104", None),  # bastion
]
GATEWAY_INSTANCE = "i-0d44c0ffee000000b"
# S3 buckets: name, account, GB stored, PUT requests per day, tags.
BUCKETS = [
    ("acme-sales-quotes", "sales", 820, 14000,
     [("user_dept", " Sales"), ("user_team", "emea"), ("user_app", "quote-bot")]),
    ("acme-support-attachments", "support", 1500, 22000,
     [("user_dept", "SUPPORT"), ("user_team", "helpdesk"), ("user_app", "ticket-triage")]),
    ("acme-research-datasets", "research", 2000, 5000, None),  # account fallback
    ("acme-platform-logs", "payer", 900, 60000, None),  # nobody's
]
OPENSEARCH = f"arn:aws:aoss:us-east-1:{ACCOUNTS['platform'][0]}:collection/kb7vq2m4x9ad"
OPENSEARCH_TAGS = [("user_dept", "research"), ("user_team", "ml-platform")]
ENDPOINT = f"arn:aws:sagemaker:us-east-1:{ACCOUNTS['platform'][0]}:endpoint/acme-internal-llm"
ENDPOINT_TAGS = [("user_dept", "research"), ("user_team", "ml-platform"),
                 ("user_app", "notebook-assistant")]
SAVINGS_PLAN = (f"arn:aws:savingsplans::{PAYER[0]}:savingsplan/"
                "5f1c2b9e-8d4a-4c1e-9b7a-2e6f0a3d8c41")
SP_COMMITMENT = Decimal("1.00")      # $ per hour, half paid upfront at purchase
SP_RECURRING = Decimal("0.50")       # $ per hour billed this month
ENDPOINT_RATE = Decimal("1.408")     # ml.g5.xlarge hosting, on demand
ENDPOINT_SP_RATE = Decimal("0.9856")  # the same hour under the Savings Plan


def ec2_lines(rnd):
    """Daily instance hours, one EBS volume, and data transfer."""
    items = []
    for resource, account, kind, rate, tags in INSTANCES:
        rate = Decimal(rate)
        for day in range(1, DAYS + 1):
            first, last = day_bounds(day)
            items.append(line(rnd, "Usage", account, "AmazonEC2", f"BoxUsage:{kind}",
                              Decimal(24), rate, 24 * rate, first, last, tags=tags,
                              line_item_resource_id=resource, line_item_operation="RunInstances",
                              pricing_unit="Hrs", product_instance_type=kind,
                              product_product_family="Compute Instance",
                              line_item_availability_zone="us-east-1a",
                              product_name="Amazon Elastic Compute Cloud",
                              line_item_line_item_description=(
                                  f"${rate} per On Demand Linux {kind} Instance Hour")))
    volume_rate = Decimal("0.08")
    for day in range(1, DAYS + 1):
        first, last = day_bounds(day)
        amount = (Decimal(500) / DAYS).quantize(Decimal("0.0000001"))
        items.append(line(rnd, "Usage", "sales", "AmazonEC2", "EBS:VolumeUsage.gp3", amount,
                          volume_rate, amount * volume_rate, first, last,
                          tags=INSTANCES[3][4], line_item_resource_id="vol-0a11c0ffee00000d4",
                          line_item_operation="CreateVolume-Gp3", pricing_unit="GB-Mo",
                          product_product_family="Storage",
                          product_name="Amazon Elastic Compute Cloud"))
        gigabytes = Decimal(38 + (day * 7) % 11)
        items.append(line(rnd, "Usage", "platform", "AWSDataTransfer", "USE1-USW2-AWS-Out-Bytes",
                          gigabytes, Decimal("0.02"), gigabytes * Decimal("0.02"), first, last,
                          line_item_resource_id=GATEWAY_INSTANCE,
                          line_item_operation="RunInstances",
                          pricing_unit="GB", product_product_family="Data Transfer",
                          product_from_region_code="us-east-1", product_to_region_code="us-west-2",
                          product_name="AWS Data Transfer"))
        internet = Decimal(12 + (day * 5) % 9)
        items.append(line(rnd, "Usage", "payer", "AWSDataTransfer", "DataTransfer-Out-Bytes",
                          internet, Decimal("0.09"), internet * Decimal("0.09"), first, last,
                          line_item_resource_id=INSTANCES[-1][0], pricing_unit="GB",
                          line_item_operation="RunInstances",
                          product_product_family="Data Transfer",
                          product_name="AWS Data Transfer"))
    return items


def s3_lines(rnd):
    """Daily storage and request lines per bucket."""
    items = []
    storage_rate, put_rate = Decimal("0.023"), Decimal("0.000005")
    for bucket, account, gigabytes, puts, tags in BUCKETS:
        for day in range(1, DAYS + 1):
            first, last = day_bounds(day)
            stored = (Decimal(gigabytes) * (1 + Decimal(day) / 200) / DAYS).quantize(
                Decimal("0.0000001"))
            items.append(line(rnd, "Usage", account, "AmazonS3", "TimedStorage-ByteHrs", stored,
                              storage_rate, stored * storage_rate, first, last, tags=tags,
                              line_item_resource_id=bucket, line_item_operation="StandardStorage",
                              pricing_unit="GB-Mo", product_product_family="Storage",
                              product_name="Amazon Simple Storage Service"))
            count = Decimal(puts + (day * 137) % 900)
            items.append(line(rnd, "Usage", account, "AmazonS3", "Requests-Tier1", count,
                              put_rate, count * put_rate, first, last, tags=tags,
                              line_item_resource_id=bucket, line_item_operation="PutObject",
                              pricing_unit="Requests", product_product_family="API Request",
                              product_name="Amazon Simple Storage Service"))
    return items


def opensearch_lines(rnd):
    """The OpenSearch Serverless vector store: indexing and search OCUs, storage."""
    items = []
    ocu_rate, storage_rate = Decimal("0.24"), Decimal("0.024")
    for day in range(1, DAYS + 1):
        first, last = day_bounds(day)
        for usage_type in ("USE1-IndexingOCU", "USE1-SearchOCU"):
            hours = Decimal(12) if usage_type.endswith("IndexingOCU") else Decimal(24)
            items.append(line(rnd, "Usage", "platform", "AmazonOpenSearchService", usage_type,
                              hours, ocu_rate, hours * ocu_rate, first, last, tags=OPENSEARCH_TAGS,
                              line_item_resource_id=OPENSEARCH, pricing_unit="OCU-hours",
                              line_item_operation="CreateCollection",
                              product_product_family="Amazon OpenSearch Serverless",
                              product_name="Amazon OpenSearch Service"))
        stored = (Decimal(180) / DAYS).quantize(Decimal("0.0000001"))
        items.append(line(rnd, "Usage", "platform", "AmazonOpenSearchService",
                          "USE1-TimedStorage-ByteHrs", stored, storage_rate, stored * storage_rate,
                          first, last, tags=OPENSEARCH_TAGS, line_item_resource_id=OPENSEARCH,
                          pricing_unit="GB-Mo", line_item_operation="CreateCollection",
                          product_product_family="Amazon OpenSearch Serverless",
                          product_name="Amazon OpenSearch Service"))
    return items


def sagemaker_lines(rnd):
    """The endpoint, covered by a partial-upfront SageMaker Savings Plan, and the plan's fee."""
    items = []
    sp_fields = {"savings_plan_savings_plan_a_r_n": SAVINGS_PLAN,
                 "savings_plan_start_time": "2024-07-01T00:00:00.000Z",
                 "savings_plan_end_time": "2025-07-01T00:00:00.000Z",
                 "savings_plan_offering_type": "SageMakerSavingsPlans",
                 "savings_plan_payment_option": "Partial Upfront",
                 "savings_plan_purchase_term": "1yr"}
    hours = Decimal(24)
    for day in range(1, DAYS + 1):
        first, last = day_bounds(day)
        on_demand = hours * ENDPOINT_RATE
        covered = line(rnd, "SavingsPlanCoveredUsage", "platform", "AmazonSageMaker",
                       "USE1-Host:ml.g5.xlarge", hours, ENDPOINT_RATE, on_demand, first, last,
                       tags=ENDPOINT_TAGS, line_item_resource_id=ENDPOINT,
                       line_item_operation="RunInstance", pricing_unit="Hrs",
                       product_instance_type="ml.g5.xlarge", product_product_family="ML Instance",
                       product_name="Amazon SageMaker",
                       line_item_line_item_description=(
                           f"{ENDPOINT_SP_RATE} per ml.g5.xlarge hosting hour (Savings Plan)"),
                       savings_plan_savings_plan_effective_cost=hours * ENDPOINT_SP_RATE,
                       savings_plan_net_savings_plan_effective_cost=hours * ENDPOINT_SP_RATE,
                       savings_plan_savings_plan_rate=ENDPOINT_SP_RATE, **sp_fields)
        negation = line(rnd, "SavingsPlanNegation", "platform", "AmazonSageMaker",
                        "USE1-Host:ml.g5.xlarge", hours, None, -on_demand, first, last,
                        tags=ENDPOINT_TAGS, line_item_resource_id=ENDPOINT,
                        line_item_operation="RunInstance", pricing_unit="Hrs",
                        product_instance_type="ml.g5.xlarge", product_product_family="ML Instance",
                        product_name="Amazon SageMaker",
                        line_item_line_item_description=(
                            f"SavingsPlanNegation used by AccountId : {ACCOUNTS['platform'][0]} "
                            f"and UsageSku : 7QH3CWJR4KVB2M5N"), **sp_fields)
        committed = hours * SP_COMMITMENT
        recurring = hours * SP_RECURRING
        fee = line(rnd, "SavingsPlanRecurringFee", "payer", "SageMakerSavingsPlans",
                   "SageMakerSP:1yrPartialUpfront", hours, SP_RECURRING, recurring, first, last,
                   region="", line_item_resource_id=SAVINGS_PLAN, pricing_unit="Hrs",
                   product_product_family="Savings Plans", product_name="SageMakerSavingsPlans",
                   line_item_line_item_description=(
                       "1 year Partial Upfront SageMaker Savings Plan recurring fee"),
                   savings_plan_total_commitment_to_date=committed,
                   savings_plan_used_commitment=hours * ENDPOINT_SP_RATE,
                   savings_plan_recurring_commitment_for_billing_period=recurring,
                   savings_plan_net_recurring_commitment_for_billing_period=recurring,
                   savings_plan_amortized_upfront_commitment_for_billing_period=(
                       committed - recurring),
                   savings_plan_net_amortized_upfront_commitment_for_billing_period=(
                       committed - recurring), **sp_fields)
        items.extend([covered, negation, fee])
    return items


def monthly_lines(rnd, items):
    """Support plan, tax per service and the credit, each for the whole month."""
    billed = {}
    for item in items:
        code = item["line_item_product_code"]
        billed[code] = billed.get(code, Decimal(0)) + item["line_item_unblended_cost"]
    extra = []
    usage_total = sum(billed.values(), Decimal(0))
    support = max(Decimal(100), (usage_total * Decimal("0.10")).quantize(CENT))
    extra.append(line(rnd, "Fee", "payer", "AWSSupportBusiness", "Dollar", Decimal(1), None,
                      support, START, END, region="", product_name="AWS Support (Business)",
                      line_item_line_item_description="AWS Support (Business)"))
    tax_rate = Decimal("0.06")
    for code in ("AmazonBedrock", "AmazonEC2", "AmazonOpenSearchService", "AmazonS3",
                 "AWSSupportBusiness"):
        base = support if code == "AWSSupportBusiness" else billed[code]
        extra.append(line(rnd, "Tax", "payer", code, "", Decimal(0), None,
                          (base * tax_rate).quantize(CENT), START, END, region="",
                          line_item_tax_type="USSalesTax",
                          line_item_line_item_description=f"Tax for product code {code}"))
    extra.append(line(rnd, "Credit", "payer", "AmazonBedrock", "", Decimal(0), None,
                      Decimal("-40.00"), START, END, region="",
                      line_item_line_item_description="AWS Credits: generative AI promotion"))
    return extra


def bill_items(tokens):
    """Every line item of the month, in a stable order."""
    rnd = stream("bill")
    items = (bedrock_lines(rnd, tokens) + ec2_lines(rnd) + s3_lines(rnd) + opensearch_lines(rnd)
             + sagemaker_lines(rnd))
    items += monthly_lines(rnd, items)
    for item in items:
        item.update({
            "bill_bill_type": "Anniversary", "bill_billing_entity": "AWS",
            "bill_invoice_id": INVOICE_ID, "bill_invoicing_entity": "Amazon Web Services, Inc.",
            "bill_payer_account_id": PAYER[0], "bill_payer_account_name": PAYER[1],
            "bill_billing_period_start_date": START, "bill_billing_period_end_date": END,
        })
    return items


# ---------------------------------------------------------------------------------------
# Writing.


def effective(item):
    """The amortized cost of a line, as CID's CASE computes it (the four types used here)."""
    kind = item["line_item_line_item_type"]
    if kind == "SavingsPlanCoveredUsage":
        return item["savings_plan_savings_plan_effective_cost"]
    if kind == "SavingsPlanRecurringFee":
        return item["savings_plan_total_commitment_to_date"] - item["savings_plan_used_commitment"]
    if kind == "SavingsPlanNegation":
        return Decimal(0)
    return item["line_item_unblended_cost"]


def as_double(value, name):
    """A Decimal as the double the CUR holds; it must read back exactly."""
    number = float(value)
    if Decimal(repr(number)) != value:
        raise SystemExit(f"`{name}` = {value} does not survive a double")
    return number


def arrow_column(field, items):
    """One column of the Parquet file from the items; absent text is empty, else null."""
    values = []
    for item in items:
        value = item.get(field.name)
        if isinstance(value, Decimal):
            value = as_double(value, field.name)
        values.append(value)
    if field.type == pa.string():
        return pa.array(["" if v is None else v for v in values], pa.string())
    if pa.types.is_map(field.type):
        return pa.array([[] if v is None else v for v in values], field.type)
    return pa.array(values, field.type)


def write_cur(items, out, columns_path):
    """The Parquet data file and its manifest."""
    schema = gen_cur2.read_schema(columns_path)
    table = pa.Table.from_arrays([arrow_column(f, items) for f in schema], schema=schema)
    data = out / "cur" / "data" / PARTITION / DATA_NAME
    data.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, data, compression="snappy", row_group_size=len(items))
    manifest = {
        "executionId": "6b7f0c2e-3d9a-4f1b-8e2c-5a4d9c7e1f03",
        "exportArn": (f"arn:aws:bcm-data-exports:us-east-1:{PAYER[0]}:export/"
                      f"{EXPORT}-0f5e3a1c-7b2d-4c8e-9a6f-1d3b5e7c9a24"),
        "exportName": EXPORT,
        "billingPeriod": {"start": "2025-01-01T00:00:00.000Z", "end": "2025-02-01T00:00:00.000Z"},
        "deliveryTime": "2025-02-04T06:12:31.000Z",
        "columns": [{"name": f.name, "type": glue_type(f.type)} for f in schema],
        "dataFiles": [f"{BUCKET_PREFIX}/data/{PARTITION}/{DATA_NAME}"],
    }
    path = out / "cur" / "metadata" / PARTITION / f"{EXPORT}-Manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def glue_type(arrow_type):
    """The Glue/Athena type name of an Arrow type, as manifests list them."""
    if pa.types.is_map(arrow_type):
        return f"map<string,{glue_type(arrow_type.item_type)}>"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_floating(arrow_type):
        return "double"
    return "string"


def metrics_rows(rows):
    """Business figures per day and app, from the app's successful requests."""
    rnd = stream("metrics")
    per_app = {}
    for row in rows:
        owner = row["_owner"]
        if (row.get("_duplicate") or row["call_type"] == "aget_responses" or row["_abuse"]
                or row["status"] != "success" or owner[2] is None):
            continue
        key = (row["startTime"].day, owner)
        entry = per_app.setdefault(key, {"requests": 0, "users": set(), "ends": set()})
        entry["requests"] += 1
        entry["users"].add(row["user"])
        if row["end_user"]:
            entry["ends"].add(row["end_user"])
    out = []
    for spec in APPS:
        if spec["value"] is None or spec["dept"] is None:
            continue
        owner = owner_of(spec)
        metric, low, high = spec["value"]
        for day in range(1, DAYS + 1):
            entry = per_app.get((day, owner), {"requests": 0, "users": set(), "ends": set()})
            transactions = math.ceil(entry["requests"] / spec["per_txn"])
            users = len(entry["ends"]) if spec["end_user"] == "cust" else len(entry["users"])
            value = Decimal(0)
            for _ in range(transactions):
                value += Decimal(rnd.randrange(low * 100, high * 100 + 1)) / 100
            if metric == "hours_saved":
                value = (value / 60).quantize(Decimal("0.1"))  # minutes drawn, hours reported
            date = f"{YEAR}-{MON:02d}-{day:02d}"
            out.append((date, *owner, "transactions", str(transactions)))
            out.append((date, *owner, metric, money_text(value) if metric == "revenue"
                        else format(value, "f")))
            out.append((date, *owner, "active_users", str(users)))
    return out


def write_metrics(rows, path):
    """`metrics.csv`."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["date", "dept", "team", "app", "metric", "value"])
        writer.writerows(rows)


# ---------------------------------------------------------------------------------------
# Summary.


def read_back(value):
    """A bill amount as aispend reads the double: its shortest round-trip text."""
    return Decimal(repr(float(value)))


FALLBACK_ACCOUNTS = {ACCOUNTS["research"][0]: "research"}  # as `fixtures/demo/aispend.toml`


def summary(items, rows, stats, metrics):
    """Hand-checkable totals."""
    unblended = sum((read_back(i["line_item_unblended_cost"]) for i in items), Decimal(0))
    effective_total = sum((read_back(effective(i)) for i in items), Decimal(0))
    by_dept, by_dept_effective, bedrock, by_type, showback = {}, {}, {}, {}, {}
    for item in items:
        dept = item["_dept"]
        if dept == UNALLOCATED:
            owner = FALLBACK_ACCOUNTS.get(item["line_item_usage_account_id"], UNALLOCATED)
        else:
            owner = dept
        showback[owner] = showback.get(owner, Decimal(0)) + read_back(
            item["line_item_unblended_cost"])
        by_dept[dept] = by_dept.get(dept, Decimal(0)) + read_back(item["line_item_unblended_cost"])
        by_dept_effective[dept] = by_dept_effective.get(dept, Decimal(0)) + read_back(
            effective(item))
        if item.get("_model"):
            name = item["_model"]
            bedrock[name] = bedrock.get(name, Decimal(0)) + read_back(
                item["line_item_unblended_cost"])
        kind = item["line_item_line_item_type"]
        by_type[kind] = by_type.get(kind, Decimal(0)) + read_back(item["line_item_unblended_cost"])
    estimate, unpriced_tokens, gateway_tokens_total = {}, 0, {}
    logged = sum((r["spend"] for r in rows if not r.get("_duplicate")), Decimal(0))
    hit_tokens = sum(sum(r["_usage"].values()) for r in rows
                     if r["cache_hit"] == "True" and not r.get("_duplicate"))
    for row in rows:
        if not row["_billable"]:
            continue
        model = row["_model"]
        billing = MODELS[model]["billing"] or MODELS[model]["id"]
        cost = priced(model, row["_usage"])
        if cost is None:
            unpriced_tokens += sum(row["_usage"].values())
        else:
            estimate[billing] = estimate.get(billing, Decimal(0)) + cost
        for kind, count in row["_usage"].items():
            key = f"{billing}/{kind}"
            if count:
                gateway_tokens_total[key] = gateway_tokens_total.get(key, 0) + count
    fmt = lambda table: {k: format(v, "f") for k, v in sorted(table.items())}  # noqa: E731
    return {
        "month": MONTH, "seed": SEED, "invoice_id": INVOICE_ID,
        "cur_rows": len(items),
        "unblended_cost_total": format(unblended, "f"),
        "effective_cost_total": format(effective_total, "f"),
        "unblended_by_tagged_dept": fmt(by_dept),
        "effective_by_tagged_dept": fmt(by_dept_effective),
        "unblended_by_dept_with_account_fallback": fmt(showback),
        "unblended_by_line_item_type": fmt(by_type),
        "bedrock_unblended_by_model": fmt(bedrock),
        "bedrock_unblended_total": format(sum(bedrock.values(), Decimal(0)), "f"),
        "bedrock_lines": sum(1 for item in items if item.get("_model")),
        "bedrock_bypass_day": f"{MONTH}-{BYPASS_DAY:02d}",
        "gateway_rows": len(rows),
        "gateway_unique_rows": len(rows) - stats["duplicates"],
        "gateway_duplicate_rows": stats["duplicates"],
        "gateway_retries": stats["retries"],
        "gateway_failed_attempts_with_tokens": stats["failed_attempts_with_tokens"],
        "gateway_response_retrievals": stats["response_retrievals"],
        "gateway_cache_hits": sum(1 for r in rows if r["cache_hit"] == "True"
                                  and not r.get("_duplicate")),
        "gateway_billable_tokens": dict(sorted(gateway_tokens_total.items())),
        "gateway_list_price_estimate_by_model": fmt(estimate),
        "gateway_unpriced_tokens": unpriced_tokens,
        "gateway_cache_hit_tokens": hit_tokens,
        "gateway_logged_spend_unique_rows": money_text(logged),
        "metrics_rows": len(metrics),
        "metrics_totals": metric_totals(metrics),
    }


def metric_totals(metrics):
    """Each metric summed over the month and every app."""
    totals = {}
    for _, _, _, _, metric, value in metrics:
        totals[metric] = totals.get(metric, Decimal(0)) + Decimal(value)
    return {name: format(value, "f") for name, value in sorted(totals.items())}


def parse_args(argv):
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (fixtures/demo)")
    parser.add_argument("--columns", type=Path, default=gen_cur2.DEFAULT_COLUMNS,
                        help="cur2_columns.tsv (default: ../shared/reference from the repo)")
    return parser.parse_args(argv)


def main(argv=None):
    """Generate the demo month and print its totals."""
    args = parse_args(argv)
    rows, stats = build_log()
    tokens = gateway_tokens(rows)
    items = bill_items(tokens)
    metrics = metrics_rows(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    write_cur(items, args.out, args.columns)
    write_log(rows, args.out / "gateway" / "litellm_spend_logs.csv.gz")
    write_metrics(metrics, args.out / "metrics.csv")
    print(json.dumps(summary(items, rows, stats, metrics), indent=2))


if __name__ == "__main__":
    main()
