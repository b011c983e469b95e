"""Real dbt gives the same Gold as medallion.

For each sample batch: medallion lands it, ingests it, builds Silver and runs `build`
on models/. The Silver tables are exported as Parquet and loaded into DuckDB as the
`silver` schema, and dbt-core 1.10 with dbt-duckdb runs `dbt build` on the same
project, unchanged, as `medallion project export` zips it (the zip the playground's
Export project downloads), unzipped. Then every Gold table (the dimensions, facts, marts and both
snapshots) is compared: the row counts, then all rows.

Where the two must differ, the rows are normalised, and only there:
- surrogate keys are md5 hashes of values cast to text, and DuckDB and DataFusion
  write timestamps as text differently ('2026-01-05 00:01:00+00' and
  '2026-01-05T00:01:00Z'), so every `*_sk` column is replaced by the natural key of
  the dimension row it names, looked up in the same engine's dimension;
- `dbt_scd_id` is such a hash too and is left out;
- times taken from the clock at run time (a deletion version's valid_from,
  dbt_updated_at, and the valid_to it puts on the version before) differ by the
  seconds between the two runs, so any time after the check started reads RUN_TIME.

Usage: python parity.py MEDALLION_BINARY WORKDIR [DATA_DIR] (the repository is found
from here; DATA_DIR holds batch_001/… folders, sample_data/ by default, for example a
larger sample from `medallion gen --batches`). Prints both builds' wall times. Exits 1
with the differences when a table differs.
"""

import datetime
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
ENTITIES = ["customers", "drivers", "vehicles", "locations", "payments", "trips"]
TABLES = [
    "customers_snapshot",
    "drivers_snapshot",
    "dim_customer",
    "dim_driver",
    "dim_vehicle",
    "dim_location",
    "dim_payment_method",
    "dim_date",
    "fact_trips",
    "fact_payments",
    "agg_daily_revenue",
    "agg_driver_utilisation",
]
# Surrogate key -> (dimension, the natural key SQL over that dimension's row d).
SURROGATES = {
    "customer_sk": ("dim_customer", "d.customer_id || '@' || {valid_from}"),
    "driver_sk": ("dim_driver", "d.driver_id || '@' || {valid_from}"),
    "vehicle_sk": ("dim_vehicle", "cast(d.vehicle_id as varchar)"),
    "location_sk": ("dim_location", "cast(d.location_id as varchar)"),
    "pickup_location_sk": ("dim_location", "cast(d.location_id as varchar)"),
    "dropoff_location_sk": ("dim_location", "cast(d.location_id as varchar)"),
    "payment_method_sk": ("dim_payment_method", "d.payment_method"),
}
DROPPED = {"dbt_scd_id"}


def run(*args, env=None):
    """Runs a command quietly (its output shown if it fails); returns its wall time."""
    print("$", " ".join(str(a) for a in args), flush=True)
    started = time.perf_counter()
    done = subprocess.run([str(a) for a in args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n")
        sys.exit(f"{args[0]} {args[1]} failed with exit code {done.returncode}")
    return seconds


def text(expression, type_name, started):
    """A column as comparable text."""
    if "TIMESTAMP" in type_name:
        return (
            f"case when {expression} is null then null "
            f"when {expression} >= TIMESTAMPTZ '{started}' then 'RUN_TIME' "
            f"else strftime({expression}, '%Y-%m-%dT%H:%M:%S.%f') end"
        )
    return f"cast({expression} as varchar)"


def normalised(con, side, table, started):
    """SQL for the rows of `side`.`table` as comparable text."""
    columns = con.execute(f"describe {side}.{table}").fetchall()
    parts = []
    for name, type_name, *_ in columns:
        if name in DROPPED:
            continue
        if name in SURROGATES:
            dimension, natural = SURROGATES[name]
            valid_from = text("d.valid_from", "TIMESTAMP WITH TIME ZONE", started)
            natural = natural.format(valid_from=f"coalesce({valid_from}, '')")
            key = name if table == dimension else name
            target = {
                "pickup_location_sk": "location_sk",
                "dropoff_location_sk": "location_sk",
            }.get(name, name)
            parts.append(
                f"(select {natural} from {side}.{dimension} d "
                f"where d.{target} = t.{key} limit 1) as {name}"
            )
        else:
            parts.append(f"{text('t.' + name, type_name, started)} as {name}")
    return f"select {', '.join(parts)} from {side}.{table} t", [c[0] for c in columns]


def compare(con, started, batch):
    failures = []
    for table in TABLES:
        ours_sql, ours_columns = normalised(con, "ours", table, started)
        dbt_sql, dbt_columns = normalised(con, "gold", table, started)
        if sorted(ours_columns) != sorted(dbt_columns):
            failures.append(f"{table}: columns differ: ours {ours_columns}, dbt {dbt_columns}")
            continue
        columns = ", ".join(c for c in ours_columns if c not in DROPPED)
        ours_count = con.execute(f"select count(*) from ours.{table}").fetchone()[0]
        dbt_count = con.execute(f"select count(*) from gold.{table}").fetchone()[0]
        only_ours = con.execute(
            f"select {columns} from ({ours_sql}) except all select {columns} from ({dbt_sql})"
        ).fetchall()
        only_dbt = con.execute(
            f"select {columns} from ({dbt_sql}) except all select {columns} from ({ours_sql})"
        ).fetchall()
        status = "same" if ours_count == dbt_count and not only_ours and not only_dbt else "DIFFERENT"
        print(f"batch {batch}  {table:<24} medallion {ours_count:>5}  dbt {dbt_count:>5}  {status}")
        if status != "same":
            failures.append(
                f"{table} after batch {batch}: {ours_count} rows in medallion, {dbt_count} in dbt; "
                f"only in medallion {only_ours[:3]}; only in dbt {only_dbt[:3]}"
            )
    return failures


def exported_project(medallion, work):
    """models/ as `medallion project export` zips it, unzipped; the folder holding dbt_project.yml."""
    archive = work / "project.zip"
    run(medallion, "--project", REPO / "models", "project", "export", archive)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(work / "exported")
    (config,) = (work / "exported").glob("**/dbt_project.yml")
    return config.parent


def main():
    medallion, work = Path(sys.argv[1]), Path(sys.argv[2])
    data = Path(sys.argv[3]) if len(sys.argv) > 3 else REPO / "sample_data"
    batches = sorted(folder for folder in data.iterdir() if folder.name.startswith("batch_"))
    if work.exists():
        shutil.rmtree(work)
    warehouse, exports = work / "warehouse", work / "export"
    database = work / "dbt.duckdb"
    dbt_env = dict(os.environ, MEDALLION_DBT_DATABASE=str(database), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    dbt = Path(sys.executable).parent / "dbt"
    started = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)).strftime(
        "%Y-%m-%d %H:%M:%S+00"
    )
    failures = []
    timings = []
    dbt_project = exported_project(medallion, work)
    for batch, folder in enumerate(batches, start=1):
        common = ["--warehouse", warehouse, "--project", REPO / "models"]
        run(medallion, "land", folder, *common)
        run(medallion, "ingest", *common)
        run(medallion, "silver", *common)
        ours_seconds = run(medallion, "build", *common)
        for entity in ENTITIES:
            run(medallion, "export", f"silver/{entity}", "--out", exports / "silver" / f"{entity}.parquet", *common)
        for table in TABLES:
            run(medallion, "export", f"gold/{table}", "--out", exports / "ours" / f"{table}.parquet", *common)
        con = duckdb.connect(str(database))
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema if not exists silver")
        for entity in ENTITIES:
            path = exports / "silver" / f"{entity}.parquet"
            con.execute(f"create or replace table silver.{entity} as select * from read_parquet('{path}')")
        con.close()
        dbt_seconds = run(dbt, "build", "--project-dir", dbt_project, "--profiles-dir",
                          REPO / "tests" / "dbt", "--target-path", work / "dbt-target", "--log-path",
                          work / "dbt-logs", env=dbt_env)
        timings.append((batch, ours_seconds, dbt_seconds))
        con = duckdb.connect(str(database))
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema if not exists ours")
        for table in TABLES:
            path = exports / "ours" / f"{table}.parquet"
            con.execute(f"create or replace table ours.{table} as select * from read_parquet('{path}')")
        failures += compare(con, started, batch)
        con.close()
    print("\nbuild wall time, same models and data (seconds):")
    for batch, ours, theirs in timings:
        print(f"  batch {batch}: medallion build {ours:.2f}, dbt build {theirs:.2f}, ratio {ours / theirs:.2f}")
    if failures:
        print("\n".join(["", "Gold differs between medallion and dbt:"] + failures))
        sys.exit(1)
    print("\nmedallion and dbt build the same Gold after every batch.")


if __name__ == "__main__":
    main()
