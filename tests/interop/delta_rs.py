"""Delta interop with delta-rs (the `deltalake` package) and pyarrow.

    python delta_rs.py check EXPECTED_JSON   read tables medallion wrote; compare
    python delta_rs.py write TABLE_DIR       write a table with delta-rs for medallion to read

`check` reads every version of every table listed in the expectations that
medallion's own reader produced, and compares rows, column names and history.
It exits 1 with one line per difference.
"""

import json
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake


def normalised_rows(table: pa.Table) -> list:
    """Rows as dicts, timestamps as integer microseconds, sorted by every column."""
    columns = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_timestamp(column.type):
            column = pc.cast(pc.cast(column, pa.timestamp("us", tz="UTC")), pa.int64())
        columns[name] = column
    rows = pa.table(columns).to_pylist()
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))


def check(expected_path: str) -> int:
    with open(expected_path) as handle:
        expected = json.load(handle)
    problems = []
    for name, table in expected["tables"].items():
        path = table["path"]
        latest = DeltaTable(path)
        if latest.version() != table["latest_version"]:
            problems.append(f"{name}: latest version {latest.version()} != {table['latest_version']}")
        operations = [entry.get("operation") for entry in latest.history()]
        if operations != table["history_operations"]:
            problems.append(f"{name}: history {operations} != {table['history_operations']}")
        for version, want in table["versions"].items():
            snapshot = DeltaTable(path, version=int(version))
            arrow_table = snapshot.to_pyarrow_table()
            if arrow_table.column_names != want["columns"]:
                problems.append(
                    f"{name}@{version}: columns {arrow_table.column_names} != {want['columns']}"
                )
                continue
            rows = normalised_rows(arrow_table)
            want_rows = sorted(want["rows"], key=lambda row: json.dumps(row, sort_keys=True))
            if rows != want_rows:
                problems.append(f"{name}@{version}: rows differ:\n  delta-rs {rows}\n  medallion {want_rows}")
        print(f"{name}: {len(table['versions'])} versions read by delta-rs, history of {len(operations)} commits")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def write(path: str) -> int:
    first = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "name": pa.array(["alpha", "beta", None], pa.string()),
            "amount": pa.array([1.5, 2.5, None], pa.float64()),
        }
    )
    write_deltalake(path, first, mode="overwrite")
    second = pa.table(
        {
            "id": pa.array([4], pa.int64()),
            "name": pa.array(["delta"], pa.string()),
            "amount": pa.array([4.0], pa.float64()),
        }
    )
    write_deltalake(path, second, mode="append")
    print(f"delta-rs wrote {path} at version {DeltaTable(path).version()}")
    return 0


if __name__ == "__main__":
    command, argument = sys.argv[1], sys.argv[2]
    code = {"check": check, "write": write}[command](argument)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalisation: deltalake's native threads can abort the process
    # at exit ("terminate called without an active exception") after the work is done.
    os._exit(code)
