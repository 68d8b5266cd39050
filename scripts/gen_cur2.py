#!/usr/bin/env python3
"""Generate a synthetic, deterministic CUR 2.0 (AWS Data Exports) month as Parquet.

The file carries every column listed in `cur2_columns.tsv`, typed as AWS writes them:
money and quantities as double, rates as string, the four billing and usage dates as
timestamp[ms, UTC], and `resource_tags`, `cost_category`, `product`, `tags` and `discount`
as real Parquet MAP columns. Rows are written one row group at a time, so millions of
rows fit in bounded memory.

The same `--rows`, `--month`, `--seed` and `--row-group-size` give the same data (for
the same NumPy version: its generators promise stable streams only within a version).
A one-line JSON summary goes to stdout: the row count and the exact billed (unblended)
cost, in total and per normalised `user_dept` tag, each row read as `Decimal(repr(x))`.

    python3 scripts/gen_cur2.py --rows 1000 --month 2025-01 --seed 7 --out /tmp/cur.parquet

Line items hang off a catalog of resources (instances, buckets, inference profiles...)
built first with `random.Random(seed)`; each row group then draws rows from it with a
NumPy generator seeded from the same source, so tags stay consistent per resource.
"""

import argparse
import datetime as dt
import decimal
import json
import os
import random
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COLUMNS = REPO_ROOT / ".." / "shared" / "reference" / "cur2_columns.tsv"
DEFAULT_ROW_GROUP_ROWS = 500_000
TICKS_PER_DOLLAR = 10**10
HOUR_MS = 3_600_000
UNALLOCATED = "__unallocated__"

TIMESTAMP = pa.timestamp("ms", tz="UTC")
STRING_MAP = pa.map_(pa.string(), pa.string())
DECLARED_TYPES = {
    "string": pa.string(),
    "double": pa.float64(),
    "timestamp": TIMESTAMP,
    "map<string,string>": STRING_MAP,
    "map<string,double>": pa.map_(pa.string(), pa.float64()),
}
# The CID Glue table leaves these blank; AWS's Athena DDL for CUR declares them double.
# Every other blank one is a string there.
UNDECLARED_DOUBLES = {
    "line_item_blended_cost", "line_item_normalization_factor",
    "line_item_normalized_usage_amount", "reservation_amortized_upfront_cost_for_usage",
    "reservation_recurring_fee_for_usage", "reservation_unused_normalized_unit_quantity",
    "reservation_unused_quantity", "reservation_upfront_value",
    "savings_plan_recurring_commitment_for_billing_period", "savings_plan_savings_plan_rate",
}

# Listed columns this script leaves empty on purpose (besides split cost allocation).
LEFT_EMPTY = {
    "product_comment", "product_fee_code", "product_fee_description", "product_instancesku",
    "reservation_availability_zone", "reservation_modification_status",
    "reservation_subscription_id", "reservation_unused_normalized_unit_quantity",
    "reservation_unused_quantity", "savings_plan_instance_type_family", "savings_plan_region",
}

USAGE, DISCOUNTED, SP_COVERED, SP_NEGATION, TAX, CREDIT, RI_FEE, SP_FEE = range(8)
TYPE_NAMES = np.array([
    "Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation",
    "Tax", "Credit", "RIFee", "SavingsPlanRecurringFee",
], dtype=object)
# Shares of the rows outside SavingsPlanCoveredUsage/SavingsPlanNegation pairs.
# RIFee lines are monthly, so they are rare; every row group still gets one of each type.
SINGLE_TYPE_SHARES = {USAGE: 0.85, DISCOUNTED: 0.04, TAX: 0.01, CREDIT: 0.01,
                      RI_FEE: 0.00005, SP_FEE: 0.002}
EVERY_TYPE = [SP_COVERED, SP_NEGATION, DISCOUNTED, TAX, CREDIT, RI_FEE, SP_FEE, USAGE]
# Share of all rows that are SavingsPlanCoveredUsage; each is followed by its negation.
SP_COVERED_SHARE = 0.04
# The catalog pool each line item type draws its entry from.
TYPE_POOLS = {USAGE: "usage", DISCOUNTED: "ri_usage", SP_COVERED: "sp_usage",
              TAX: "tax", CREDIT: "credit", RI_FEE: "ri_fee", SP_FEE: "sp_fee"}
RI_DISCOUNT_PERCENT = 38
SP_DISCOUNT_PERCENT = 28
EDP_DISCOUNT_PERCENT = 3

# ---------------------------------------------------------------------------------------
# Catalog: who runs what, where, at which rate.

PAYER_ACCOUNT_ID = "999988887777"
PAYER_ACCOUNT_NAME = "acme-management"
ACCOUNTS = [  # id, name, environment
    ("210987654321", "acme-prod-web", "production"),
    ("321098765432", "acme-ml-platform", "production"),
    ("432109876543", "acme-data", "production"),
    ("543210987654", "acme-sales-tools", "production"),
    ("654321098765", "acme-shared-services", "shared"),
    ("765432109876", "acme-research", "development"),
    ("876543210987", "acme-dev", "development"),
    ("987654321098", "acme-security", "shared"),
]
REGIONS = {  # code: usage type prefix, location, price factor, selection weight
    "us-east-1": ("USE1", "US East (N. Virginia)", 1.0, 0.60),
    "us-west-2": ("USW2", "US West (Oregon)", 1.0, 0.25),
    "eu-central-1": ("EUC1", "EU (Frankfurt)", 1.16, 0.15),
}
DEPARTMENTS = {  # dept: teams, business unit
    "Sales": (["deal-desk", "sales-ops", "field-sales"], "Go-To-Market"),
    "Marketing": (["growth", "brand", "web"], "Go-To-Market"),
    "Engineering": (["platform", "payments", "search", "mobile"], "Product & Technology"),
    "Research": (["ml-research", "applied-ai"], "Product & Technology"),
    "Finance": (["fp-and-a", "billing"], "Operations"),
    "Support": (["support-tools", "customer-care"], "Operations"),
}
APPS = ["checkout", "crm-sync", "recommender", "chat-assistant", "search-api", "ledger",
        "etl", "website", "ticket-triage", "forecasting"]
SERVICE_SHARES = {"AmazonEC2": 0.44, "AmazonS3": 0.12, "AmazonBedrock": 0.17,
                  "AmazonSageMaker": 0.09, "AmazonOpenSearchService": 0.07,
                  "AWSDataTransfer": 0.11}
SERVICE_NAMES = {
    "AmazonEC2": "Amazon Elastic Compute Cloud", "AmazonS3": "Amazon Simple Storage Service",
    "AmazonBedrock": "Amazon Bedrock", "AmazonSageMaker": "Amazon SageMaker",
    "AmazonOpenSearchService": "Amazon OpenSearch Service",
    "AWSDataTransfer": "AWS Data Transfer",
}
EC2_TYPES = [  # instance type, on-demand $/h, normalization factor, family
    ("t3.medium", 0.0416, 2.0, "General purpose"),
    ("m5.large", 0.096, 4.0, "General purpose"),
    ("m5.xlarge", 0.192, 8.0, "General purpose"),
    ("c6i.2xlarge", 0.34, 16.0, "Compute optimized"),
    ("r6g.xlarge", 0.2016, 8.0, "Memory optimized"),
    ("g5.2xlarge", 1.212, 16.0, "GPU instance"),
]
BEDROCK_MODELS = {  # billing name: $ per 1K tokens by token kind
    "Claude3Sonnet": {"input-tokens": 0.003, "output-tokens": 0.015},
    "Claude3Haiku": {"input-tokens": 0.00025, "output-tokens": 0.00125,
                     "cache-read-input-token-count": 0.00003,
                     "cache-write-input-token-count": 0.0003},
    "NovaPro": {"input-tokens": 0.0008, "output-tokens": 0.0032,
                "cache-read-input-token-count": 0.0002},
    "NovaLite": {"input-tokens": 0.00006, "output-tokens": 0.00024},
}
BEDROCK_REGIONS = ["us-east-1", "us-west-2"]
BEDROCK_SCALE = {"input-tokens": 400.0, "output-tokens": 60.0,
                 "cache-read-input-token-count": 800.0, "cache-write-input-token-count": 90.0}
ALPHANUMERIC = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def pick(rnd, choices, weights=None):
    """Pick one item, optionally weighted."""
    return rnd.choices(choices, weights=weights)[0]


def dept_variant(rnd, dept):
    """Spell a department the way people type tags: mostly right, sometimes not."""
    variants = [dept, f" {dept.lower()}", dept.upper(), f"{dept.lower()} ", dept.lower()]
    return pick(rnd, variants, [70, 8, 8, 7, 7])


def normalise_dept(value):
    """Normalise a `user_dept` value as showback does: trim spaces and lower-case."""
    text = (value or "").strip(" ").lower()
    return text or UNALLOCATED


def resource_tags(rnd):
    """Draw the `resource_tags` of one resource: `None` for a null map."""
    roll = rnd.random()
    if roll < 0.12:
        return None if rnd.random() < 0.1 else []
    dept = pick(rnd, list(DEPARTMENTS))
    teams, business_unit = DEPARTMENTS[dept]
    tags = [("user_team", pick(rnd, teams))]
    if roll < 0.14:
        return tags
    tags.insert(0, ("user_dept", "" if roll < 0.15 else dept_variant(rnd, dept)))
    if rnd.random() < 0.8:
        tags.append(("user_app", pick(rnd, APPS)))
    if rnd.random() < 0.7:
        tags.append(("user_business_unit", business_unit))
    return tags


def new_owner(rnd, region=None):
    """Draw who owns a resource: account, region and tags."""
    account = pick(rnd, ACCOUNTS)
    if region is None:
        region = pick(rnd, list(REGIONS), [spec[3] for spec in REGIONS.values()])
    tags = resource_tags(rnd)
    return {"account": account, "region": region, "tags": tags,
            "dept": normalise_dept(dict(tags or []).get("user_dept"))}


def usage_type(region, name, bare_in_us_east_1=False):
    """Prefix a usage type with its region code, as AWS does (EC2 in us-east-1 has none)."""
    if bare_in_us_east_1 and region == "us-east-1":
        return name
    return f"{REGIONS[region][0]}-{name}"


def regional_rate(region, rate):
    """Return the region's list rate for a us-east-1 rate."""
    return round(rate * REGIONS[region][2], 6)


def sku(rnd):
    """Draw a 16-character product SKU."""
    return "".join(rnd.choices(ALPHANUMERIC, k=16))


def entry(rnd, owner, service, **fields):
    """Build one catalog entry for a usage line, filling line item and product fields."""
    account_id, account_name, environment = owner["account"]
    region = owner["region"]
    code = sku(rnd)
    rate = fields.pop("rate")
    item = {
        "pools": {"usage"}, "service": service, "weight": rnd.lognormvariate(0.0, 0.7),
        "rate": rate, "rate_text": f"{rate:.10f}", "amount_fixed": False,
        "dept": owner["dept"], "resource_tags": owner["tags"],
        "account_id": account_id, "account_name": account_name,
        "cost_category": [("environment", environment)] if rnd.random() < 0.9 else [],
        "tags": [("accountTag/Environment", environment)],
        "product_code": service, "product_servicecode": service, "product_sku": code,
        "product_region_code": region, "product_location": REGIONS[region][1],
        "product_location_type": "AWS Region",
        "rate_code": f"{code}.JRTCKXETXF.6YS6EN2CT7", "rate_id": str(rnd.getrandbits(33)),
    }
    item.update(fields)
    item["product_usagetype"] = item["usage_type"]
    item["product_operation"] = item["operation"]
    item["product_pricing_unit"] = item["pricing_unit"]
    item["product"] = product_map(item)
    item["negation_description"] = (f"SavingsPlanNegation used by AccountId : {account_id} "
                                    f"and UsageSku : {code}")
    return item


def product_map(item):
    """Build the `product` map: attributes not promoted to flat `product_*` columns."""
    pairs = [("product_name", SERVICE_NAMES[item["product_servicecode"]]),
             ("region", item["product_region_code"]),
             ("servicename", SERVICE_NAMES[item["product_servicecode"]])]
    if item.get("product_instance_type"):
        pairs.append(("instance_type_family", item["product_instance_type"].split(".")[0]))
        pairs.append(("operating_system", "Linux"))
    return pairs


def ec2_entries(rnd, count=600):
    """Instances with their EBS volumes and data transfer."""
    entries = []
    for _ in range(count):
        owner = new_owner(rnd)
        region = owner["region"]
        kind, rate, factor, family = pick(rnd, EC2_TYPES, [20, 30, 20, 12, 12, 6])
        instance_id = f"i-{rnd.getrandbits(68):017x}"
        rate = regional_rate(region, rate)
        entries.append(entry(
            rnd, owner, "AmazonEC2", rate=rate, amount_scale=1.0, amount_fixed=True,
            usage_type=usage_type(region, f"BoxUsage:{kind}", True),
            operation="RunInstances", pricing_unit="Hrs",
            product_product_family="Compute Instance", resource_id=instance_id,
            availability_zone=f"{region}{pick(rnd, 'abc')}", normalization_factor=factor,
            product_instance_type=kind, product_instance_family=family,
            description=f"${rate} per On Demand Linux {kind} Instance Hour",
            ri_description=f"USD 0.0 hourly fee per Linux/UNIX (Amazon VPC), {kind} instance",
            sp_description=f"{rate} per On Demand Linux {kind} Instance Hour (Savings Plan)",
        ))
        if rnd.random() < 0.6:
            entries.append(ebs_entry(rnd, owner))
        if rnd.random() < 0.35:
            entries.append(transfer_entry(rnd, owner, instance_id))
    return entries


def ebs_entry(rnd, owner):
    """A gp3 volume attached to an instance; billed in GB-month per hour."""
    region = owner["region"]
    rate = regional_rate(region, 0.08)
    return entry(
        rnd, owner, "AmazonEC2", rate=rate, amount_scale=rnd.choice([50, 100, 500]) / 744,
        usage_type=usage_type(region, "EBS:VolumeUsage.gp3", True),
        operation="CreateVolume-Gp3", pricing_unit="GB-Mo", product_product_family="Storage",
        resource_id=f"vol-{rnd.getrandbits(68):017x}",
        description=f"${rate} per GB-month of General Purpose (gp3) provisioned storage",
    )


def transfer_entry(rnd, owner, instance_id):
    """Internet or cross-region egress charged to an instance."""
    region = owner["region"]
    other = pick(rnd, [code for code in REGIONS if code != region])
    to_internet = rnd.random() < 0.6
    name = "DataTransfer-Out-Bytes" if to_internet else f"{REGIONS[other][0]}-AWS-Out-Bytes"
    fields = {"product_to_location": "External" if to_internet else REGIONS[other][1],
              "product_to_location_type": "Other" if to_internet else "AWS Region",
              "product_to_region_code": "" if to_internet else other}
    return entry(
        rnd, owner, "AWSDataTransfer", rate=0.09 if to_internet else 0.02, amount_scale=0.8,
        usage_type=usage_type(region, name, to_internet), operation="RunInstances",
        pricing_unit="GB", product_product_family="Data Transfer", resource_id=instance_id,
        product_from_location=REGIONS[region][1], product_from_location_type="AWS Region",
        product_from_region_code=region,
        description="$0.09 per GB - first 10 TB / month data transfer out beyond the global "
                    "free tier" if to_internet else "$0.02 per GB - inter-region transfer",
        **fields,
    )


def s3_entries(rnd, count=80):
    """Buckets with storage and request charges."""
    entries = []
    for number in range(count):
        owner = new_owner(rnd)
        region = owner["region"]
        bucket = f"acme-{pick(rnd, APPS)}-{number:03d}-{region}"
        entries.append(entry(
            rnd, owner, "AmazonS3", rate=regional_rate(region, 0.023),
            amount_scale=rnd.lognormvariate(7.0, 1.2) / 744,
            usage_type=usage_type(region, "TimedStorage-ByteHrs"), operation="StandardStorage",
            pricing_unit="GB-Mo", product_product_family="Storage", resource_id=bucket,
            description="$0.023 per GB - first 50 TB / month of storage used",
        ))
        entries.append(entry(
            rnd, owner, "AmazonS3", rate=0.000005, amount_scale=rnd.lognormvariate(8.0, 1.0),
            usage_type=usage_type(region, "Requests-Tier1"), operation="PutObject",
            pricing_unit="Requests", product_product_family="API Request", resource_id=bucket,
            description="$0.005 per 1,000 PUT, COPY, POST, or LIST requests",
        ))
    return entries


def bedrock_entries(rnd, profiles_per_model=6, direct_callers=2):
    """Token lines per model, region and caller; some callers use inference profiles."""
    entries = []
    for model, prices in BEDROCK_MODELS.items():
        for region in BEDROCK_REGIONS:
            callers = [True] * profiles_per_model + [False] * direct_callers
            for via_profile in callers:
                entries.extend(bedrock_caller(rnd, model, prices, region, via_profile))
    return entries


def bedrock_caller(rnd, model, prices, region, via_profile):
    """One caller's lines for one model, one per token kind."""
    owner = new_owner(rnd, region)
    account_id = owner["account"][0]
    team = dict(owner["tags"] or []).get("user_team")
    team = team or pick(rnd, DEPARTMENTS[pick(rnd, list(DEPARTMENTS))][0])
    resource_id = ""
    if via_profile:
        profile = "".join(rnd.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=12))
        resource_id = (f"arn:aws:bedrock:{region}:{account_id}:"
                       f"application-inference-profile/{profile}")
    else:
        owner.update(tags=[], dept=UNALLOCATED)
    scale = rnd.lognormvariate(0.0, 1.0)
    entries = []
    for kind, price in prices.items():
        item = entry(
            rnd, owner, "AmazonBedrock", rate=price, amount_scale=BEDROCK_SCALE[kind] * scale,
            usage_type=usage_type(region, f"{model}-{kind}"), operation="InvokeModelInference",
            pricing_unit="1K tokens", product_product_family="Amazon Bedrock",
            resource_id=resource_id, iam_principal=f"arn:aws:iam::{account_id}:role/{team}-llm",
            description=f"${price} per 1K {kind.replace('-', ' ')} for {model} in {region}",
        )
        item["tags"] = item["tags"] + [("iamPrincipal/team", team)]
        entries.append(item)
    return entries


def sagemaker_entries(rnd, count=40):
    """Inference endpoints and notebooks."""
    entries = []
    for number in range(count):
        owner = new_owner(rnd)
        region, account_id = owner["region"], owner["account"][0]
        kind, rate = pick(rnd, [("ml.g5.2xlarge", 1.515), ("ml.m5.xlarge", 0.23),
                                ("ml.t3.medium", 0.05)])
        host = "Notebk" if kind == "ml.t3.medium" else "Host"
        name = "notebook-instance" if host == "Notebk" else "endpoint"
        rate = regional_rate(region, rate)
        entries.append(entry(
            rnd, owner, "AmazonSageMaker", rate=rate, amount_scale=1.0, amount_fixed=True,
            usage_type=usage_type(region, f"{host}:{kind}"), operation="RunInstance",
            pricing_unit="Hrs", product_product_family="ML Instance",
            resource_id=f"arn:aws:sagemaker:{region}:{account_id}:{name}/{name}-{number:03d}",
            product_instance_type=kind, description=f"${rate} per {kind} hour in {region}",
            sp_description=f"{rate} per {kind} hour (Savings Plan)",
        ))
    return entries


def opensearch_entries(rnd, count=20):
    """Domains with instance hours and gp3 storage."""
    entries = []
    for number in range(count):
        owner = new_owner(rnd)
        region, account_id = owner["region"], owner["account"][0]
        domain = f"arn:aws:es:{region}:{account_id}:domain/search-{number:02d}"
        rate = regional_rate(region, 0.167)
        entries.append(entry(
            rnd, owner, "AmazonOpenSearchService", rate=rate, amount_scale=1.0,
            amount_fixed=True, usage_type=usage_type(region, "ESInstance:r6g.large"),
            operation="ESDomain", pricing_unit="Hrs", normalization_factor=4.0,
            product_product_family="Amazon OpenSearch Service Instance", resource_id=domain,
            product_instance_type="r6g.large.search", description=f"${rate} per r6g.large hour",
            ri_description="USD 0.0 hourly fee per r6g.large.search reserved instance",
        ))
        entries.append(entry(
            rnd, owner, "AmazonOpenSearchService", rate=regional_rate(region, 0.122),
            amount_scale=rnd.choice([100, 500, 2000]) / 744,
            usage_type=usage_type(region, "ES:GP3-Storage"), operation="ESDomain",
            pricing_unit="GB-Mo", product_product_family="Amazon OpenSearch Service Volume",
            resource_id=domain, description="$0.122 per GB-month of gp3 storage",
        ))
    return entries


def term_texts(rnd, period_start):
    """Start and end of a one-year commitment that covers the month."""
    start = period_start - dt.timedelta(days=rnd.randrange(30, 300))
    end = start + dt.timedelta(days=365)
    fmt = "%Y-%m-%dT%H:%M:%S.000Z"
    return start.strftime(fmt), end.strftime(fmt)


def add_reservations(rnd, entries, period_start, count=5):
    """Let a few instance types be covered by RIs; return their monthly RIFee entries."""
    eligible = [e for e in entries if e["operation"] in ("RunInstances", "ESDomain")
                and e.get("ri_description")]
    targets = {(e["product_region_code"], e["usage_type"]) for e in eligible}
    fees = []
    for region, name in sorted(targets)[:: max(1, len(targets) // count)][:count]:
        covered = [e for e in eligible
                   if (e["product_region_code"], e["usage_type"]) == (region, name)]
        service = "ec2" if covered[0]["product_code"] == "AmazonEC2" else "es"
        start, end = term_texts(rnd, period_start)
        fields = {"reservation_reservation_a_r_n": f"arn:aws:{service}:{region}:"
                  f"{PAYER_ACCOUNT_ID}:reserved-instances/{uuid_text(rnd)}",
                  "reservation_start_time": start, "reservation_end_time": end}
        for item in covered:
            item["pools"].add("ri_usage")
            item.update(fields)
        fees.append(ri_fee_entry(rnd, covered[0], fields))
    return fees


def ri_fee_entry(rnd, covered, fields):
    """The monthly RIFee line of one reservation."""
    reservations = rnd.randrange(1, 6)
    rate = round(covered["rate"] * (100 - RI_DISCOUNT_PERCENT) / 100, 6)
    name = covered["usage_type"].replace("BoxUsage", "HeavyUsage")
    item = dict(covered, pools={"ri_fee"}, resource_id="", amount_scale=float(reservations),
                amount_fixed=True, rate=rate, rate_text=f"{rate:.10f}", resource_tags=[],
                dept=UNALLOCATED, description=f"USD {rate} hourly fee per reserved instance",
                reservation_number_of_reservations=str(reservations),
                reservation_units_per_reservation="744",
                reservation_total_reserved_units=str(744 * reservations),
                reservation_normalized_units_per_reservation="2976",
                reservation_total_reserved_normalized_units=str(2976 * reservations),
                usage_type=name, product_usagetype=name, availability_zone="")
    item.update(fields)
    return item


def add_savings_plans(rnd, entries, period_start):
    """Cover compute and SageMaker hours with Savings Plans; return their fee entries."""
    plans = [("AmazonEC2", "ComputeSavingsPlans", "ComputeSP:1yrNoUpfront", 1.5),
             ("AmazonSageMaker", "SageMakerSavingsPlans", "SageMakerSP:1yrNoUpfront", 0.4)]
    fees = []
    for service, offering, name, commitment in plans:
        start, end = term_texts(rnd, period_start)
        arn = f"arn:aws:savingsplans::{PAYER_ACCOUNT_ID}:savingsplan/{uuid_text(rnd)}"
        fields = {"savings_plan_savings_plan_a_r_n": arn, "savings_plan_start_time": start,
                  "savings_plan_end_time": end, "savings_plan_offering_type": offering,
                  "savings_plan_payment_option": "No Upfront",
                  "savings_plan_purchase_term": "1yr"}
        for item in entries:
            if (item["product_code"] == service and item.get("sp_description")
                    and "usage" in item["pools"]):
                item["pools"].add("sp_usage")
                item["sp_rate"] = round(item["rate"] * (100 - SP_DISCOUNT_PERCENT) / 100, 6)
                item.update(fields)
        owner = {"account": ACCOUNTS[4], "region": "us-east-1", "tags": [], "dept": UNALLOCATED}
        fee = entry(rnd, owner, "AmazonEC2", rate=commitment, amount_scale=1.0,
                    amount_fixed=True, usage_type=name, operation="", pricing_unit="Hrs",
                    resource_id=arn, description="Savings Plans recurring fee",
                    product_product_family="Savings Plans", **fields)
        fees.append(dict(fee, pools={"sp_fee"}, product_code=offering,
                         product_servicecode=offering, product=[("product_name", offering)]))
    return fees


def uuid_text(rnd):
    """Draw a UUID-shaped identifier."""
    text = f"{rnd.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def charge_entries(rnd, pool_name, description):
    """Tax or Credit entries, one per account and service."""
    entries = []
    for account in ACCOUNTS:
        for service in SERVICE_SHARES:
            owner = {"account": account, "region": "us-east-1", "tags": [], "dept": UNALLOCATED}
            item = entry(rnd, owner, service, rate=0.0, amount_scale=0.0, usage_type="",
                         operation="", pricing_unit="", resource_id="",
                         description=description.format(service))
            entries.append(dict(item, pools={pool_name}, product_region_code="",
                                product_location="", product_location_type="",
                                product=[], rate_text="", cost_category=[]))
    return entries


class Pool:
    """The catalog as Arrow columns, with the draw weights of each line item pool."""

    NUMBERS = ("rate", "amount_scale", "amount_fixed")
    MAPS = ("resource_tags", "cost_category", "product", "tags")
    FLOATS = ("normalization_factor", "sp_rate")

    def __init__(self, entries):
        """Turn catalog entries into columns."""
        names = sorted({key for item in entries for key in item} - {"pools", "service", "dept",
                                                                     "weight", *self.NUMBERS})
        self.table = pa.table({name: self.column(entries, name) for name in names})
        self.numbers = {name: np.array([item[name] for item in entries]) for name in self.NUMBERS}
        self.dept_names = sorted({item["dept"] for item in entries})
        self.numbers["dept_code"] = np.array([self.dept_names.index(item["dept"])
                                              for item in entries], dtype=np.int32)
        self.pools = {name: self.weights(entries, name) for name in set(TYPE_POOLS.values())}

    def column(self, entries, name):
        """One catalog column with its Arrow type; missing text is empty, not null."""
        values = [item.get(name) for item in entries]
        if name in self.MAPS:
            return pa.array(values, STRING_MAP)
        if name in self.FLOATS:
            return pa.array(values, pa.float64())
        return pa.array([value or "" for value in values], pa.string())

    @staticmethod
    def weights(entries, pool_name):
        """Indices and draw probabilities of a pool; usage is spread by service share."""
        members = [i for i, item in enumerate(entries) if pool_name in item["pools"]]
        weights = np.array([entries[i]["weight"] for i in members])
        if pool_name == "usage":
            services = [entries[i]["service"] for i in members]
            for service, share in SERVICE_SHARES.items():
                chosen = np.array([s == service for s in services])
                weights[chosen] *= share / weights[chosen].sum()
        return np.array(members), weights / weights.sum()

    def take(self, rows):
        """Return the catalog columns for the given entry per row."""
        picked = self.table.take(pa.array(rows))
        return {name: picked.column(name).combine_chunks() for name in picked.column_names}


def build_pool(rnd, period_start):
    """Build the whole catalog."""
    entries = (ec2_entries(rnd) + s3_entries(rnd) + bedrock_entries(rnd)
               + sagemaker_entries(rnd) + opensearch_entries(rnd))
    entries += add_reservations(rnd, entries, period_start)
    entries += add_savings_plans(rnd, entries, period_start)
    entries += charge_entries(rnd, "tax", "Tax for product code {}")
    entries += charge_entries(rnd, "credit", "AWS Credit applied to {}")
    return Pool(entries)


# ---------------------------------------------------------------------------------------
# Rows: draw line items from the catalog, one row group at a time.


def parse_args(argv):
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True, help="number of line items")
    parser.add_argument("--month", required=True, help="billing period, YYYY-MM")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", type=Path, required=True, help="Parquet file to write")
    parser.add_argument("--columns", type=Path, default=DEFAULT_COLUMNS,
                        help="cur2_columns.tsv (default: ../shared/reference from the repo)")
    parser.add_argument("--row-group-size", type=int, default=DEFAULT_ROW_GROUP_ROWS,
                        help="rows per Parquet row group (default 500000)")
    args = parser.parse_args(argv)
    if args.rows < 0 or args.row_group_size < 1:
        parser.error("`--rows` must be >= 0 and `--row-group-size` >= 1")
    try:
        month_bounds(args.month)
    except ValueError:
        parser.error(f"`--month` must look like 2025-01, found `{args.month}`")
    return args


def read_schema(path):
    """Read the column list and turn it into an Arrow schema, in file order."""
    fields = []
    with open(path, encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            name, _, declared = line.rstrip("\n").partition("\t")
            if name:
                fields.append(pa.field(name, column_type(name, declared.strip())))
    return pa.schema(fields)


def column_type(name, declared):
    """Return the Arrow type of one column, filling blank declarations by name."""
    if declared:
        return DECLARED_TYPES[declared.replace(" ", "")]
    return pa.float64() if name in UNDECLARED_DOUBLES else pa.string()


def month_bounds(month):
    """Return the first instant of the month and of the next month, in UTC."""
    start = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=dt.timezone.utc)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def make_period(month, rnd):
    """Describe the billing period: bounds, hours, interval texts and invoice id."""
    start, end = month_bounds(month)
    hours = int((end - start).total_seconds() // 3600)
    return {
        "start_ms": int(start.timestamp() * 1000),
        "end_ms": int(end.timestamp() * 1000),
        "hours": hours,
        "intervals": interval_texts(start, hours),
        "invoice_id": str(rnd.randrange(10**9, 10**10)),
    }


def interval_texts(start, hours):
    """Return `identity_time_interval` per hour of the month, then the whole month."""
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    texts = []
    for hour in range(hours):
        first = start + dt.timedelta(hours=hour)
        texts.append(f"{first.strftime(fmt)}/{(first + dt.timedelta(hours=1)).strftime(fmt)}")
    last = start + dt.timedelta(hours=hours)
    texts.append(f"{start.strftime(fmt)}/{last.strftime(fmt)}")
    return pa.array(texts)


def draw_types(rng, rows):
    """Draw line item types; covered Savings Plan usage is always followed by its negation."""
    codes = np.array(list(SINGLE_TYPE_SHARES), dtype=np.int8)
    shares = np.array(list(SINGLE_TYPE_SHARES.values()))
    types = rng.choice(codes, size=rows, p=shares / shares.sum())

    starts = np.arange(0, rows - 1, 2)
    pairs = starts[rng.random(starts.size) < 2 * SP_COVERED_SHARE]
    types[pairs] = SP_COVERED
    types[pairs + 1] = SP_NEGATION
    if rows >= len(EVERY_TYPE):
        types[: len(EVERY_TYPE)] = EVERY_TYPE
    return types


def copy_to_negations(types, values):
    """Give each SavingsPlanNegation the value of the covered line before it."""
    negations = np.flatnonzero(types == SP_NEGATION)
    values[negations] = values[negations - 1]
    return values


def draw_entries(rng, pool, types):
    """Pick a catalog entry per row from the pool its line item type allows."""
    entries = np.zeros(types.size, dtype=np.int64)
    for code, pool_name in TYPE_POOLS.items():
        rows = np.flatnonzero(types == code)
        if rows.size:
            members, weights = pool.pools[pool_name]
            entries[rows] = rng.choice(members, size=rows.size, p=weights)
    return copy_to_negations(types, entries)


def draw_hours(rng, types, hours):
    """Pick the usage hour per row; monthly lines get the sentinel `hours`."""
    picked = rng.integers(0, hours, size=types.size)
    picked[np.isin(types, (TAX, CREDIT, RI_FEE))] = hours
    return copy_to_negations(types, picked)


def draw_amounts(rng, pool, entries, types, hours):
    """Draw usage amounts: one hour for hourly resources, skewed quantities otherwise."""
    scale = pool.numbers["amount_scale"][entries]
    jitter = np.exp(np.clip(rng.normal(0.0, 0.9, size=entries.size), -4.0, 4.0))
    fixed = pool.numbers["amount_fixed"][entries].astype(bool)
    amounts = np.where(fixed, scale, np.round(scale * jitter, 6))
    amounts[types == RI_FEE] = scale[types == RI_FEE] * hours
    return copy_to_negations(types, amounts)


def dollars_to_ticks(values):
    """Turn dollar amounts into integer 1e-10 dollar ticks, the CUR's finest grain."""
    return np.rint(values * TICKS_PER_DOLLAR).astype(np.int64)


def compute_costs(rng, pool, frame):
    """Work out the ticks of every money column from types, entries and amounts."""
    types, amounts = frame["types"], frame["amounts"]
    rate = pool.numbers["rate"][frame["entries"]]
    on_demand = dollars_to_ticks(amounts * rate)
    rows = types.size

    billed = np.where(np.isin(types, (USAGE, SP_COVERED, RI_FEE, SP_FEE)), on_demand, 0)
    billed = np.where(types == SP_NEGATION, -on_demand, billed)
    billed = np.where(types == TAX, rng.integers(10**8, 2 * 10**10, size=rows), billed)
    billed = np.where(types == CREDIT, -rng.integers(5 * 10**8, 5 * 10**10, size=rows), billed)

    used_share = rng.uniform(0.80, 1.0, size=rows)
    return {
        "on_demand": on_demand,
        "billed": billed,
        "edp": np.where(types == USAGE, -((billed * EDP_DISCOUNT_PERCENT) // 100), 0),
        "ri_effective": on_demand * (100 - RI_DISCOUNT_PERCENT) // 100,
        "sp_effective": on_demand * (100 - SP_DISCOUNT_PERCENT) // 100,
        "ri_unused": (billed * (1.0 - used_share)).astype(np.int64),
        "sp_used": (billed * used_share).astype(np.int64),
    }


def money(ticks, present=None):
    """Return a double column from ticks; rows outside `present` are null."""
    values = ticks.astype(np.float64) / TICKS_PER_DOLLAR
    return pa.array(values, pa.float64(), mask=None if present is None else ~present)


def text_where(present, values, default=""):
    """Return `values` where `present`, else `default`."""
    return pc.if_else(pa.array(present), values, default)


def number_where(present, values):
    """Return `values` where `present`, else null."""
    return pc.if_else(pa.array(present), values, pa.scalar(None, pa.float64()))


def discount_maps(types, edp_ticks):
    """Build the `discount` map: one `edp_discount` entry on usage lines, else empty."""
    has_edp = types == USAGE
    offsets = np.concatenate([[0], np.cumsum(has_edp)]).astype(np.int32)
    values = edp_ticks[has_edp].astype(np.float64) / TICKS_PER_DOLLAR
    keys = pa.array(["edp_discount"] * int(has_edp.sum()), pa.string())
    return pa.MapArray.from_arrays(pa.array(offsets), keys, pa.array(values, pa.float64()))


def line_item_ids(rng, rows, width=32):
    """Return random base32 line item ids, opaque like the CUR's own."""
    alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
    text = alphabet[rng.integers(0, 32, size=rows * width, dtype=np.uint8)]
    offsets = np.arange(0, rows * width + 1, width, dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(text.tobytes())]
    return pa.Array.from_buffers(pa.string(), rows, buffers)


def usage_dates(frame, period):
    """Return usage start and end timestamps, hourly or for the whole month."""
    monthly = frame["hours"] == period["hours"]
    starts = np.where(monthly, period["start_ms"],
                      period["start_ms"] + frame["hours"] * HOUR_MS)
    ends = np.where(monthly, period["end_ms"], starts + HOUR_MS)
    return pa.array(starts, TIMESTAMP), pa.array(ends, TIMESTAMP)


def bill_columns(rows, period):
    """Columns that are the same on every line of the invoice."""
    constant = {
        "bill_bill_type": "Anniversary",
        "bill_billing_entity": "AWS",
        "bill_invoice_id": period["invoice_id"],
        "bill_invoicing_entity": "Amazon Web Services, Inc.",
        "bill_payer_account_id": PAYER_ACCOUNT_ID,
        "bill_payer_account_name": PAYER_ACCOUNT_NAME,
        "line_item_currency_code": "USD",
        "line_item_legal_entity": "Amazon Web Services, Inc.",
        "pricing_currency": "USD",
    }
    columns = {name: pa.repeat(value, rows) for name, value in constant.items()}
    for name, key in (("bill_billing_period_start_date", "start_ms"),
                      ("bill_billing_period_end_date", "end_ms")):
        columns[name] = pa.array(np.full(rows, period[key], dtype=np.int64), TIMESTAMP)
    return columns


def line_item_columns(rng, frame, taken, costs, period):
    """The `identity_*` and `line_item_*` columns."""
    types, amounts = frame["types"], frame["amounts"]
    usage_like = np.isin(types, (USAGE, DISCOUNTED, SP_COVERED, SP_NEGATION))
    factor = number_where(usage_like, taken["normalization_factor"])
    billed = money(costs["billed"])
    start, end = usage_dates(frame, period)
    return {
        "identity_line_item_id": line_item_ids(rng, types.size),
        "identity_time_interval": period["intervals"].take(pa.array(frame["hours"])),
        "line_item_availability_zone": taken["availability_zone"],
        "line_item_blended_cost": billed,
        "line_item_blended_rate": text_where(types == USAGE, taken["rate_text"]),
        "line_item_line_item_description": descriptions(types, taken),
        "line_item_line_item_type": pa.array(TYPE_NAMES[types], pa.string()),
        "line_item_net_unblended_cost": money(costs["billed"] + costs["edp"]),
        "line_item_net_unblended_rate": text_where(types == USAGE, taken["rate_text"]),
        "line_item_normalization_factor": factor,
        "line_item_normalized_usage_amount": pc.multiply(factor, pa.array(amounts)),
        "line_item_operation": taken["operation"],
        "line_item_product_code": taken["product_code"],
        "line_item_resource_id": taken["resource_id"],
        "line_item_tax_type": text_where(types == TAX, "USSalesTax"),
        "line_item_unblended_cost": billed,
        "line_item_unblended_rate": text_where(types == USAGE, taken["rate_text"]),
        "line_item_usage_account_id": taken["account_id"],
        "line_item_usage_account_name": taken["account_name"],
        "line_item_usage_amount": pa.array(amounts, pa.float64()),
        "line_item_usage_start_date": start,
        "line_item_usage_end_date": end,
        "line_item_usage_type": taken["usage_type"],
        "line_item_iam_principal": taken["iam_principal"],
    }


def descriptions(types, taken):
    """Pick the description text that matches each line item type."""
    text = taken["description"]
    for code, column in ((DISCOUNTED, "ri_description"), (SP_COVERED, "sp_description"),
                         (SP_NEGATION, "negation_description")):
        text = pc.if_else(pa.array(types == code), taken[column], text)
    return text


def pricing_columns(types, taken, costs):
    """The `pricing_*` columns."""
    reserved = np.isin(types, (DISCOUNTED, RI_FEE))
    on_demand = np.isin(types, (USAGE, SP_COVERED, SP_NEGATION))
    public = np.where(np.isin(types, (USAGE, DISCOUNTED, SP_COVERED)), costs["on_demand"], 0)
    return {
        "pricing_lease_contract_length": text_where(reserved, "1yr"),
        "pricing_offering_class": text_where(reserved, "standard"),
        "pricing_public_on_demand_cost": money(public),
        "pricing_public_on_demand_rate": text_where(on_demand | reserved, taken["rate_text"]),
        "pricing_purchase_option": text_where(reserved, "No Upfront"),
        "pricing_rate_code": text_where(on_demand, taken["rate_code"]),
        "pricing_rate_id": text_where(on_demand, taken["rate_id"]),
        "pricing_term": pc.if_else(pa.array(reserved), "Reserved",
                                   text_where(on_demand, "OnDemand")),
        "pricing_unit": taken["pricing_unit"],
    }


def product_columns(schema, taken):
    """The flat `product_*` columns, copied from the catalog entry."""
    return {field.name: taken[field.name] for field in schema
            if field.name.startswith("product_") and field.name in taken}


def reservation_columns(types, taken, costs):
    """The `reservation_*` columns, filled on DiscountedUsage and RIFee lines."""
    used, fee = types == DISCOUNTED, types == RI_FEE
    zero = np.zeros(types.size, dtype=np.int64)
    columns = {
        "reservation_amortized_upfront_cost_for_usage": money(zero, used),
        "reservation_amortized_upfront_fee_for_billing_period": money(zero, fee),
        "reservation_effective_cost": money(costs["ri_effective"], used),
        "reservation_recurring_fee_for_usage": money(costs["ri_effective"], used),
        "reservation_unused_amortized_upfront_fee_for_billing_period": money(zero, fee),
        "reservation_unused_recurring_fee": money(costs["ri_unused"], fee),
        "reservation_upfront_value": money(zero, fee),
    }
    for name in list(columns):
        columns[name.replace("reservation_", "reservation_net_", 1)] = columns[name]
    for name in ("reservation_reservation_a_r_n", "reservation_start_time",
                 "reservation_end_time"):
        columns[name] = text_where(used | fee, taken[name])
    for name in ("reservation_number_of_reservations", "reservation_units_per_reservation",
                 "reservation_total_reserved_units",
                 "reservation_normalized_units_per_reservation",
                 "reservation_total_reserved_normalized_units"):
        columns[name] = text_where(fee, taken[name])
    return columns


def savings_plan_columns(types, taken, costs):
    """The `savings_plan_*` columns, filled on covered usage, negation and fee lines."""
    covered, fee = types == SP_COVERED, types == SP_FEE
    zero = np.zeros(types.size, dtype=np.int64)
    columns = {
        "savings_plan_savings_plan_effective_cost": money(costs["sp_effective"], covered),
        "savings_plan_net_savings_plan_effective_cost": money(costs["sp_effective"], covered),
        "savings_plan_savings_plan_rate": number_where(covered, taken["sp_rate"]),
        "savings_plan_total_commitment_to_date": money(costs["billed"], fee),
        "savings_plan_used_commitment": money(costs["sp_used"], fee),
        "savings_plan_recurring_commitment_for_billing_period": money(costs["billed"], fee),
        "savings_plan_net_recurring_commitment_for_billing_period": money(costs["billed"], fee),
        "savings_plan_amortized_upfront_commitment_for_billing_period": money(zero, fee),
        "savings_plan_net_amortized_upfront_commitment_for_billing_period": money(zero, fee),
    }
    linked = covered | fee | (types == SP_NEGATION)
    for name in ("savings_plan_savings_plan_a_r_n", "savings_plan_start_time",
                 "savings_plan_end_time", "savings_plan_offering_type",
                 "savings_plan_payment_option", "savings_plan_purchase_term"):
        columns[name] = text_where(linked, taken[name])
    return columns


def map_columns(types, taken, costs):
    """The MAP columns and the flat discount totals."""
    has_edp = types == USAGE
    return {
        "resource_tags": taken["resource_tags"],
        "cost_category": taken["cost_category"],
        "product": taken["product"],
        "tags": taken["tags"],
        "discount": discount_maps(types, costs["edp"]),
        "discount_total_discount": money(costs["edp"], has_edp),
        "discount_bundled_discount": money(np.zeros(types.size, dtype=np.int64), has_edp),
    }


def build_batch(rng, pool, schema, rows, period):
    """Generate one row group; return its columns by name, cost ticks and dept codes."""
    types = draw_types(rng, rows)
    entries = draw_entries(rng, pool, types)
    frame = {"types": types, "entries": entries,
             "hours": draw_hours(rng, types, period["hours"]),
             "amounts": draw_amounts(rng, pool, entries, types, period["hours"])}
    costs = compute_costs(rng, pool, frame)
    taken = pool.take(entries)

    columns = bill_columns(rows, period)
    columns.update(line_item_columns(rng, frame, taken, costs, period))
    columns.update(pricing_columns(types, taken, costs))
    columns.update(product_columns(schema, taken))
    columns.update(reservation_columns(types, taken, costs))
    columns.update(savings_plan_columns(types, taken, costs))
    columns.update(map_columns(types, taken, costs))
    # No split cost allocation data: its ids are empty and its numbers null.
    columns["split_line_item_parent_resource_id"] = pa.repeat("", rows)

    return columns, costs["billed"], pool.numbers["dept_code"][entries]


def assemble(schema, columns, rows):
    """Order columns as the schema says; text nobody generated is empty, the rest null."""
    arrays = []
    for field in schema:
        array = columns.get(field.name)
        if array is None and field.type == pa.string():
            array = pa.repeat("", rows)
        arrays.append(pa.nulls(rows, field.type) if array is None else array.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def warn_unknown(schema, columns):
    """Warn about listed columns this script has never heard of; they come out empty."""
    unknown = [field.name for field in schema if field.name not in columns
               and field.name not in LEFT_EMPTY and not field.name.startswith("split_line_item_")]
    if unknown:
        print(f"warning: no generator for column(s) {', '.join(unknown)}; left empty",
              file=sys.stderr)


def exact_sums(ticks, dept_codes, dept_names, totals):
    """Add each cost, read back as `Decimal(repr(x))`, to the total of its dept."""
    for code in np.unique(dept_codes):
        costs = (ticks[dept_codes == code].astype(np.float64) / TICKS_PER_DOLLAR).tolist()
        name = dept_names[code]
        subtotal = sum(map(decimal.Decimal, map(repr, costs)), decimal.Decimal(0))
        totals[name] = totals.get(name, decimal.Decimal(0)) + subtotal


def write_file(args, schema):
    """Write every row group to a temporary file, rename it into place, return totals."""
    rnd = random.Random(args.seed)
    pool = build_pool(rnd, month_bounds(args.month)[0])
    period = make_period(args.month, rnd)
    master_seed = rnd.getrandbits(64)

    totals = {}
    partial = args.out.with_name(args.out.name + ".partial")
    with pq.ParquetWriter(partial, schema, compression="snappy") as writer:
        for index, first in enumerate(range(0, args.rows, args.row_group_size)):
            rows = min(args.row_group_size, args.rows - first)
            rng = np.random.default_rng([master_seed, index])
            write_group(writer, rng, pool, period, rows, totals, warn=index == 0)
    os.replace(partial, args.out)
    return totals


def write_group(writer, rng, pool, period, rows, totals, warn):
    """Generate, write and total one row group, so its memory is freed on return."""
    columns, ticks, depts = build_batch(rng, pool, writer.schema, rows, period)
    if warn:
        warn_unknown(writer.schema, columns)
    writer.write_table(assemble(writer.schema, columns, rows), row_group_size=rows)
    exact_sums(ticks, depts, pool.dept_names, totals)


def summary(args, totals):
    """Render the one-line JSON summary; money as exact decimal strings."""
    total = sum(totals.values(), decimal.Decimal(0))
    by_dept = {name: format(value, "f") for name, value in sorted(totals.items())}
    return json.dumps({"rows": args.rows, "month": args.month, "seed": args.seed,
                       "unblended_cost_total": format(total, "f"),
                       "unblended_cost_by_dept": by_dept})


def main(argv=None):
    """Generate the file and print its summary."""
    args = parse_args(argv)
    schema = read_schema(args.columns)
    with decimal.localcontext() as context:
        context.prec = 60
        totals = write_file(args, schema)
        print(summary(args, totals))


if __name__ == "__main__":
    main()
