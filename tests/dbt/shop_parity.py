"""Real dbt gives the same tables as medallion on the second sample project.

examples/shop has no sources: its data is three seeds. medallion runs `build` (seeds,
models with a post-hook, tests) on it, then `compile` (its analysis), and dbt-core 1.10
with dbt-duckdb runs `build` and `compile` on the same folder, unchanged. Then:
- every seed and table model is compared row for row (as text; timestamps as
  ISO text), and each seed's column types must be the same (the types are inferred
  from the CSV or set by column_types; Delta stores every timestamp as UTC, so
  TIMESTAMP WITH TIME ZONE reads as TIMESTAMP);
- both manifests hold the same seeds, models, tests and analyses, with the same
  descriptions (docs blocks resolved) and column descriptions;
- both compiled the analysis.

Usage: python shop_parity.py MEDALLION_BINARY WORKDIR. Exits 1 with the differences.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "examples" / "shop"
SEEDS = ["customers", "products", "orders"]
TABLES = SEEDS + ["order_lines", "customer_revenue"]


def run(*args, env=None):
    """Runs a command quietly (its output shown if it fails)."""
    print("$", " ".join(str(a) for a in args), flush=True)
    done = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n")
        sys.exit(f"{args[0]} {args[1]} failed with exit code {done.returncode}")


def text(name, type_name):
    """A column as comparable text."""
    if "TIMESTAMP" in type_name:
        return f"strftime(t.{name}, '%Y-%m-%dT%H:%M:%S.%f')"
    return f"cast(t.{name} as varchar)"


def column_types(con, side, table):
    return [(name, type_name) for name, type_name, *_ in con.execute(f"describe {side}.{table}").fetchall()]


def compare_tables(con):
    failures = []
    for table in TABLES:
        ours, theirs = column_types(con, "ours", table), column_types(con, "gold", table)
        if [c for c, _ in ours] != [c for c, _ in theirs]:
            failures.append(f"{table}: columns differ: ours {ours}, dbt {theirs}")
            continue
        if table in SEEDS:
            plain = [(c, t.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMP")) for c, t in ours]
            if plain != theirs:
                failures.append(f"seed {table}: types differ: ours {plain}, dbt {theirs}")
        columns = ", ".join(text(c, t) for c, t in ours)
        ours_sql = f"select {columns} from ours.{table} t"
        dbt_sql = f"select {', '.join(text(c, t) for c, t in theirs)} from gold.{table} t"
        only_ours = con.execute(f"{ours_sql} except all {dbt_sql}").fetchall()
        only_dbt = con.execute(f"{dbt_sql} except all {ours_sql}").fetchall()
        ours_count = con.execute(f"select count(*) from ours.{table}").fetchone()[0]
        dbt_count = con.execute(f"select count(*) from gold.{table}").fetchone()[0]
        same = ours_count == dbt_count and not only_ours and not only_dbt
        print(f"shop  {table:<18} medallion {ours_count:>3}  dbt {dbt_count:>3}  {'same' if same else 'DIFFERENT'}")
        if not same:
            failures.append(f"{table}: only in medallion {only_ours[:3]}; only in dbt {only_dbt[:3]}")
    return failures


def documented(manifest):
    """(resource type, name) -> (description, column descriptions) of a manifest's nodes."""
    out = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed", "test", "analysis"):
            columns = {name: c.get("description", "") for name, c in node.get("columns", {}).items()}
            out[(node["resource_type"], node["name"])] = (node.get("description", ""), columns)
    return out


def compare_manifests(ours_path, dbt_path):
    ours = documented(json.loads(ours_path.read_text()))
    theirs = documented(json.loads(dbt_path.read_text()))
    failures = []
    if sorted(ours) != sorted(theirs):
        failures.append(f"manifest nodes differ: only ours {sorted(set(ours) - set(theirs))}, only dbt {sorted(set(theirs) - set(ours))}")
    for key in sorted(set(ours) & set(theirs)):
        if ours[key] != theirs[key]:
            failures.append(f"{key[0]} {key[1]}: docs differ: ours {ours[key]}, dbt {theirs[key]}")
    print(f"shop  manifest: {len(ours)} nodes in medallion, {len(theirs)} in dbt")
    return failures


def main():
    medallion, work = Path(sys.argv[1]), Path(sys.argv[2])
    if work.exists():
        shutil.rmtree(work)
    warehouse, exports = work / "warehouse", work / "export"
    database = work / "dbt.duckdb"
    dbt_env = dict(os.environ, MEDALLION_DBT_DATABASE=str(database), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    dbt = Path(sys.executable).parent / "dbt"
    common = ["--warehouse", warehouse, "--project", PROJECT]
    run(medallion, "build", *common)
    run(medallion, "compile", *common)
    for table in TABLES:
        run(medallion, "export", f"gold/{table}", "--out", exports / f"{table}.parquet", *common)
    dbt_args = ["--project-dir", PROJECT, "--profiles-dir", REPO / "tests" / "dbt",
                "--target-path", work / "dbt-target", "--log-path", work / "dbt-logs"]
    run(dbt, "build", *dbt_args, env=dbt_env)
    run(dbt, "compile", *dbt_args, env=dbt_env)
    con = duckdb.connect(str(database))
    con.execute("set TimeZone = 'UTC'")
    con.execute("create schema if not exists ours")
    for table in TABLES:
        con.execute(f"create or replace table ours.{table} as select * from read_parquet('{exports / (table + '.parquet')}')")
    failures = compare_tables(con)
    con.close()
    failures += compare_manifests(warehouse / "target" / "manifest.json", work / "dbt-target" / "manifest.json")
    for side, target in [("medallion", warehouse / "target"), ("dbt", work / "dbt-target")]:
        analysis = target / "compiled" / "shop" / "analyses" / "top_customers.sql"
        if not analysis.exists():
            failures.append(f"{side} did not compile the analysis into {analysis}")
    if failures:
        print("\n".join(["", "The shop project differs between medallion and dbt:"] + failures))
        sys.exit(1)
    print("\nmedallion and dbt build the same shop tables, with the same docs.")


if __name__ == "__main__":
    main()
