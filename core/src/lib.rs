//! # Medallion core
//!
//! The lakehouse that runs the same way in a browser tab and on a laptop. This crate
//! knows nothing of the browser: every byte it reads or writes goes through two small
//! traits, and each platform plugs in its own implementations.
//!
//! The modules, in the order data meets them:
//!
//! - [`storage`]: the object store every table and landing file lives in
//!   ([`storage::Storage`]): get, ranged get, put, put-if-absent (the atomic step of a
//!   Delta commit), list by prefix, delete. Implementations: [`storage::MemoryStorage`],
//!   [`storage::LocalFileSystem`] (native) and `browser::OpfsStorage` (wasm32).
//! - [`checkpoint`]: the small transactional key-value store that streaming checkpoints
//!   and incremental state live in ([`checkpoint::CheckpointStore`]). Implementations:
//!   [`checkpoint::MemoryCheckpointStore`], [`checkpoint::FileCheckpointStore`] (native)
//!   and `browser::IndexedDbCheckpointStore` (wasm32).
//! - [`delta`]: Delta Lake tables on a [`storage::Storage`]: the log, snapshots,
//!   append, overwrite, delete, merge, time travel, checkpoints and vacuum.
//! - [`engine`]: the Apache DataFusion session every SQL query runs in, configured the
//!   same way natively and in the browser (one partition, no threads).
//! - [`landing`]: where dropped files wait: `landing/<entity>/…`, the entity taken
//!   from the file name.
//! - [`bronze`]: incremental, exactly-once ingest of landing files into Delta tables
//!   `bronze/<entity>`, with a Spark-style checkpoint, schema evolution and rescued data.
//! - [`silver`]: typed, clean, deduplicated `silver/<entity>` tables, built
//!   incrementally from the Bronze log by pipelines of reusable transforms declared in
//!   `models/silver/<entity>.yml`, with rejected rows in `silver/<entity>_quarantine`.
//! - [`models`]: Gold, a dbt-compatible project runner: Jinja models with `ref` and
//!   `source`, the DAG and dbt's selection syntax, view, table, ephemeral and
//!   incremental materializations as Delta tables `gold/<model>`, data tests and dbt's
//!   artifacts.
//! - [`lineage`]: how every table connects, landing to marts, down to columns, with
//!   each node's last run, laid out as layers.
//! - [`explorer`]: what a user looks at: a table's schema, history and rows at any
//!   version, a commit's actions, a stream's checkpoint.
//! - [`lakehouse`]: the whole pipeline behind one API (run all with progress and
//!   cancellation, the board of every table), for the CLI and the playground.
//! - [`history`]: a key's SCD2 versions on a time axis, what changed, the snapshot
//!   commit and Bronze file behind each, and the facts pointing at each version.
//! - [`editor`]: the model editor's compile as you type, autocomplete, preview and
//!   build of one file.
//! - [`sql`]: the SQL console: every table of every layer at any version, the
//!   project's views, Delta history and plans with their metrics.
//! - [`sample`]: the Uber-like sample dataset, generated deterministically at any scale.
//! - [`workspace`]: the project a user edits, in a store: the bundled project copied
//!   on first use (or a project folder as it is), revert, diff, zip export and import.
//! - [`warehouse`]: the layout of one store: `landing/`, then a Delta table per
//!   `<layer>/<name>/` for the bronze, silver and gold layers.
//! - `browser` (wasm32 only): the Origin Private File System, IndexedDB and Web Locks.

#![warn(missing_docs, unreachable_pub)]

pub mod bronze;
pub mod checkpoint;
pub mod delta;
pub mod editor;
pub mod engine;
pub mod explorer;
pub mod history;
pub mod lakehouse;
pub mod landing;
pub mod lineage;
pub mod models;
pub mod sample;
pub mod silver;
pub mod sql;
pub mod storage;
pub mod warehouse;
pub mod workspace;

#[cfg(target_arch = "wasm32")]
pub mod browser;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod testing;

mod keys;
mod maybe_send;
mod send_bridge;
pub use maybe_send::MaybeSendSync;
