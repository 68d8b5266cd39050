#!/usr/bin/env python3
"""Compare `aispend showback` with DuckDB on one CUR 2.0 Parquet file.

Both compute the billed (unblended) cost per normalised `user_dept` tag: trimmed,
lower-cased, with untagged and empty values in `__unallocated__`. Each runs in its own
child process so its wall time and peak resident memory (from `wait4`) are its own.
The report is a small table on stdout plus whether the per-dept totals agree to the cent.

    python3 scripts/bench_showback.py --cur /tmp/cur2-5m.parquet
    python3 scripts/bench_showback.py --cur /tmp/cur2-5m.parquet --duckdb-only

Exit code: 0 when the totals agree (or only DuckDB ran), 1 when they differ, 2 on error.
"""

import argparse
import csv
import decimal
import io
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_BIN = "/work/aispend-target/release/aispend"
DEFAULT_AISPEND_ARGS = "showback --cur {cur} --by dept --format csv"
UNALLOCATED = "__unallocated__"
CENT = decimal.Decimal("0.01")
SUMMARY_ROWS = {"", "total", "__total__"}


def parse_args(argv):
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cur", type=Path, help="CUR 2.0 Parquet file")
    parser.add_argument("--bin", default=DEFAULT_BIN, help=f"aispend binary ({DEFAULT_BIN})")
    parser.add_argument("--aispend-args", default=DEFAULT_AISPEND_ARGS,
                        help=f"arguments after the binary; `{{cur}}` is the file "
                             f"(default: `{DEFAULT_AISPEND_ARGS}`)")
    parser.add_argument("--key-column", help="dept column in aispend's CSV (default: first)")
    parser.add_argument("--cost-column", help="cost column in aispend's CSV "
                        "(default: `billed_cost`, else the first with `cost` in its name)")
    parser.add_argument("--runs", type=int, default=1, help="runs per tool; best time wins")
    parser.add_argument("--duckdb-only", action="store_true", help="skip aispend")
    parser.add_argument("--show-totals", action="store_true", help="print per-dept totals")
    parser.add_argument("--duckdb-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.duckdb_worker is None and args.cur is None:
        parser.error("`--cur` is required")
    if args.runs < 1:
        parser.error("`--runs` must be at least 1")
    return args


def dept_expression(column="resource_tags", key="user_dept"):
    """SQL for the normalised dept; `map_extract(...)[1]` reads a MAP value in every
    DuckDB version (`m['k']` and `element_at` returned a list before 1.1)."""
    value = f"map_extract({column}, '{key}')[1]"
    return f"coalesce(nullif(lower(trim({value})), ''), '{UNALLOCATED}')"


def duckdb_worker(path):
    """Run the showback query in DuckDB and write `dept,billed_cost` CSV to stdout."""
    import duckdb

    literal = str(path).replace("'", "''")
    query = (f"SELECT {dept_expression()} AS dept, "
             f"SUM(CAST(line_item_unblended_cost AS DECIMAL(38,10))) AS billed_cost "
             f"FROM read_parquet('{literal}') GROUP BY 1 ORDER BY 1")
    rows = duckdb.connect().execute(query).fetchall()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["dept", "billed_cost"])
    for dept, cost in rows:
        writer.writerow([dept, format(cost if cost is not None else 0, "f")])


def measure(argv):
    """Run a command; return wall seconds, peak RSS in MiB, exit code, stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        actions = [(os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                   (os.POSIX_SPAWN_DUP2, err.fileno(), 2)]
        started = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        # Linux reports ru_maxrss in KiB.
        return seconds, usage.ru_maxrss / 1024, code, out.read().decode(), err.read().decode()


def best_of(argv, runs):
    """Run a command `runs` times; keep the fastest time and the largest RSS."""
    results = [measure(argv) for _ in range(runs)]
    failed = [result for result in results if result[2] != 0]
    chosen = failed[0] if failed else min(results, key=lambda result: result[0])
    peak = max(result[1] for result in results)
    return chosen[0], peak, chosen[2], chosen[3], chosen[4]


def parse_money(text):
    """Read a money cell such as `1234.5`, `$1,234.50` or `-0.01`."""
    cleaned = text.strip().replace(",", "").replace("$", "")
    return decimal.Decimal(cleaned)


def column_index(header, name):
    """Return the position of a named CSV column."""
    if name not in header:
        raise ValueError(f"no column `{name}` in aispend's header {header}")
    return header.index(name)


def guess_cost_column(header):
    """Prefer `billed_cost`, else the first column with `cost` in its name."""
    lowered = [name.strip().lower() for name in header]
    if "billed_cost" in lowered:
        return lowered.index("billed_cost")
    for index, name in enumerate(lowered):
        if "cost" in name:
            return index
    raise ValueError(f"no cost column in aispend's header {header}\n\n"
                     f"hint: name it with `--cost-column`")


def read_totals(text, key_column=None, cost_column=None):
    """Turn showback CSV into {dept: total}; summary rows such as `total` are skipped."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValueError("the showback output is empty")
    header = rows[0]
    key = column_index(header, key_column) if key_column else 0
    cost = column_index(header, cost_column) if cost_column else guess_cost_column(header)
    totals = {}
    for row in rows[1:]:
        if not row or row[key].strip().lower() in SUMMARY_ROWS:
            continue
        totals[row[key]] = totals.get(row[key], decimal.Decimal(0)) + parse_money(row[cost])
    return totals


def compare(expected, actual):
    """Return the depts whose totals differ once rounded to the cent, with both values."""
    differences = []
    for dept in sorted(set(expected) | set(actual)):
        want, got = expected.get(dept), actual.get(dept)
        if want is None or got is None or to_cent(want) != to_cent(got):
            differences.append((dept, want, got))
    return differences


def to_cent(value):
    """Round half away from zero to the cent."""
    return value.quantize(CENT, rounding=decimal.ROUND_HALF_UP)


def report(rows, file=sys.stdout):
    """Print the timing table."""
    print(f"{'tool':<10} {'wall_s':>9} {'peak_rss_mib':>13}  exit", file=file)
    for tool, seconds, peak, code in rows:
        print(f"{tool:<10} {seconds:>9.2f} {peak:>13.1f}  {code}", file=file)


def print_totals(label, totals):
    """Print per-dept totals under a label."""
    print(f"{label}:")
    for dept in sorted(totals):
        print(f"  {dept:<24} {totals[dept]}")


def run_duckdb(args):
    """Time the DuckDB half and parse its totals."""
    argv = [sys.executable, os.path.abspath(__file__), "--duckdb-worker", str(args.cur)]
    seconds, peak, code, out, err = best_of(argv, args.runs)
    if code != 0:
        raise RuntimeError(f"duckdb query failed (exit {code}):\n{err.strip()}")
    return ("duckdb", seconds, peak, code), read_totals(out)


def run_aispend(args):
    """Time the aispend half and parse its totals."""
    argv = [args.bin] + shlex.split(args.aispend_args.format(cur=args.cur))
    try:
        seconds, peak, code, out, err = best_of(argv, args.runs)
    except OSError as error:
        raise RuntimeError(f"cannot run `{args.bin}`: {error.strerror}\n\n"
                           f"hint: build it with `cargo build --release` or pass `--bin`")
    if code != 0:
        raise RuntimeError(f"`{shlex.join(argv)}` failed (exit {code}):\n{err.strip()}")
    totals = read_totals(out, args.key_column, args.cost_column)
    return ("aispend", seconds, peak, code), totals


def main(argv=None):
    """Run both tools, print the table and the agreement verdict."""
    args = parse_args(argv)
    if args.duckdb_worker is not None:
        duckdb_worker(args.duckdb_worker)
        return 0
    try:
        duck_row, duck_totals = run_duckdb(args)
        rows, verdict = [duck_row], None
        if not args.duckdb_only:
            aispend_row, aispend_totals = run_aispend(args)
            rows.append(aispend_row)
            verdict = compare(duck_totals, aispend_totals)
    except (RuntimeError, ValueError, decimal.InvalidOperation) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    report(rows)
    if args.show_totals:
        print_totals("duckdb", duck_totals)
        if verdict is not None:
            print_totals("aispend", aispend_totals)
    return conclude(verdict, len(duck_totals))


def conclude(verdict, dept_count):
    """Print whether the totals agree and turn that into an exit code."""
    if verdict is None:
        print(f"per-dept totals: duckdb only ({dept_count} depts)")
        return 0
    if not verdict:
        print(f"per-dept totals agree to the cent: yes ({dept_count} depts)")
        return 0
    print(f"per-dept totals agree to the cent: no ({len(verdict)} differ)")
    for dept, want, got in verdict:
        print(f"  {dept}: duckdb {want}, aispend {got}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
