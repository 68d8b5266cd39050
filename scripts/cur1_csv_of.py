#!/usr/bin/env python3
"""Write a CUR 2.0 Parquet month (from gen_cur2.py) as a CUR 1.0 CSV with the same lines.

The CSV keeps the columns showback reads, the Savings Plan and reservation columns that the
effective cost needs, and the `dept`, `team` and `app` tags, under their CUR 1.0 names.
Amounts are written as DuckDB prints the doubles: their shortest round-trip text.

    python3 scripts/cur1_csv_of.py --cur /tmp/cur2-5m.parquet --out /tmp/cur1-5m.csv
"""

import argparse
import sys

import duckdb

COLUMNS = [
    ("identity_line_item_id", "identity/LineItemId"),
    ("bill_invoice_id", "bill/InvoiceId"),
    ("strftime(bill_billing_period_start_date, '%Y-%m-%dT%H:%M:%SZ')", "bill/BillingPeriodStartDate"),
    ("line_item_usage_account_id", "lineItem/UsageAccountId"),
    ("line_item_line_item_type", "lineItem/LineItemType"),
    ("strftime(line_item_usage_start_date, '%Y-%m-%dT%H:%M:%SZ')", "lineItem/UsageStartDate"),
    ("strftime(line_item_usage_end_date, '%Y-%m-%dT%H:%M:%SZ')", "lineItem/UsageEndDate"),
    ("line_item_product_code", "lineItem/ProductCode"),
    ("line_item_usage_type", "lineItem/UsageType"),
    ("line_item_operation", "lineItem/Operation"),
    ("line_item_resource_id", "lineItem/ResourceId"),
    ("line_item_usage_amount", "lineItem/UsageAmount"),
    ("line_item_currency_code", "lineItem/CurrencyCode"),
    ("line_item_unblended_cost", "lineItem/UnblendedCost"),
    ("line_item_blended_cost", "lineItem/BlendedCost"),
    ("line_item_line_item_description", "lineItem/LineItemDescription"),
    ("product_region_code", "product/regionCode"),
    ("pricing_public_on_demand_cost", "pricing/publicOnDemandCost"),
    ("reservation_effective_cost", "reservation/EffectiveCost"),
    ("reservation_reservation_a_r_n", "reservation/ReservationARN"),
    ("reservation_unused_amortized_upfront_fee_for_billing_period",
     "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"),
    ("reservation_unused_recurring_fee", "reservation/UnusedRecurringFee"),
    ("reservation_amortized_upfront_fee_for_billing_period",
     "reservation/AmortizedUpfrontFeeForBillingPeriod"),
    ("savings_plan_savings_plan_effective_cost", "savingsPlan/SavingsPlanEffectiveCost"),
    ("savings_plan_total_commitment_to_date", "savingsPlan/TotalCommitmentToDate"),
    ("savings_plan_used_commitment", "savingsPlan/UsedCommitment"),
    ("savings_plan_savings_plan_a_r_n", "savingsPlan/SavingsPlanARN"),
    ("savings_plan_amortized_upfront_commitment_for_billing_period",
     "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod"),
    ("savings_plan_recurring_commitment_for_billing_period",
     "savingsPlan/RecurringCommitmentForBillingPeriod"),
    ("resource_tags['user_dept']", "resourceTags/user:dept"),
    ("resource_tags['user_team']", "resourceTags/user:team"),
    ("resource_tags['user_app']", "resourceTags/user:app"),
]


def main(argv):
    """Parse the command line and write the CSV."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cur", required=True, help="CUR 2.0 Parquet file")
    parser.add_argument("--out", required=True, help="CUR 1.0 CSV to write")
    args = parser.parse_args(argv)
    select = ", ".join(f'{expr} AS "{name}"' for expr, name in COLUMNS)
    source = args.cur.replace("'", "''")
    target = args.out.replace("'", "''")
    duckdb.sql(f"COPY (SELECT {select} FROM '{source}') TO '{target}' (HEADER, DELIMITER ',')")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
