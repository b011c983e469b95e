// DuckDB-WASM in the benchmark page, bundled by esbuild (scripts/bench-sql.mjs): the
// peer the SQL console is timed against, in the same browser, on the same rows.
import * as duckdb from '@duckdb/duckdb-wasm';

let connection;

/** Starts DuckDB-WASM (its exception-handling build) in a worker of its own. */
async function open() {
  const worker = new Worker('/duckdb/duckdb-browser-eh.worker.js');
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  await db.instantiate('/duckdb/duckdb-eh.wasm');
  connection = await db.connect();
  return db;
}

/**
 * Loads `bytes` (a CSV file with a header) into the table `name` in DuckDB's memory.
 * CSV, not Parquet: DuckDB-WASM 1.32 fetches its Parquet reader from
 * extensions.duckdb.org at run time, which an offline static site cannot reach.
 */
async function load(name, bytes) {
  const db = await open();
  await db.registerFileBuffer(`${name}.csv`, new Uint8Array(bytes));
  await connection.query(`CREATE TABLE ${name} AS SELECT * FROM read_csv('${name}.csv')`);
}

/** Runs `sql` `runs` times; each run's milliseconds, from the call to the result. */
async function time(sql, runs) {
  const times = [];
  let rows = 0;
  for (let run = 0; run < runs; run += 1) {
    const start = performance.now();
    const result = await connection.query(sql);
    times.push(performance.now() - start);
    rows = result.numRows;
  }
  return { times, rows };
}

window.duckdbBench = { load, time };
