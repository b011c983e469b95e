//! Delta Lake tables on any [`Storage`](crate::storage::Storage): reader version 1,
//! writer version 2 of the protocol (PROTOCOL.md in delta-io/delta).
//!
//! A table at `<root>/` is Parquet data files plus `<root>/_delta_log/`, where commit
//! `N` is the file `%020d.json` of one action per line. A [`Snapshot`] is the log
//! replayed up to a version: the newest Parquet checkpoint at or below it, then the
//! JSON commits after it. Every write is one commit, made atomic by
//! `Storage::put_if_absent` on the next version's file: of two writers, one wins and
//! the other re-reads, retrying only when the two cannot conflict (append after
//! append).
//!
//! - [`actions`]: the log's actions.
//! - [`schema`]: Delta's JSON schema and Arrow's.
//! - [`FileStats`]: per-file min, max and null counts, used to skip files.
//! - [`DeltaTable`]: create, append, overwrite, delete, merge, history, time travel,
//!   checkpoints and vacuum; each write one commit, its [`Operation`] and
//!   [`WriteMetrics`] recorded in `commitInfo` and read back from [`HistoryEntry`].
//! - [`DeltaTableProvider`]: one version of a table in DataFusion SQL, skipping files
//!   by their statistics.

pub mod actions;
mod checkpoint;
mod commit;
mod delete;
mod log;
mod merge;
mod operation;
mod parquet_io;
mod provider;
mod scan;
#[cfg(test)]
pub(crate) mod scenario;
pub mod schema;
mod stats;
mod table;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
mod write;

pub use commit::{CommitOutcome, TxnId, VacuumOutcome, DEFAULT_RETENTION_MS};
pub use log::{HistoryEntry, Snapshot};
pub use merge::MergeOptions;
pub use operation::{MergeMetrics, Operation, WriteMetrics};
pub(crate) use parquet_io::encode as encode_parquet;
pub use provider::DeltaTableProvider;
pub use stats::{compare_values, FileStats};
pub use table::{DeltaTable, TableOptions};
pub use write::WriteOptions;

use crate::storage::StorageError;

/// Why a table operation failed. Every variant names the table or file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    /// The store failed (missing data file, quota, permission).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// There is no `_delta_log` at the root.
    #[error("{table}: not a Delta table (no _delta_log)")]
    NotATable {
        /// The table's path in the store.
        table: String,
    },
    /// `create` found a table already there.
    #[error("{table}: a Delta table already exists here")]
    AlreadyExists {
        /// The table's path in the store.
        table: String,
    },
    /// A commit file could not be parsed.
    #[error("{table}: commit {version} is corrupt at line {line}: {detail}")]
    CorruptCommit {
        /// The table's path in the store.
        table: String,
        /// The table version.
        version: i64,
        /// The line, from 1.
        line: usize,
        /// What went wrong.
        detail: String,
    },
    /// A checkpoint or `_last_checkpoint` could not be read.
    #[error("{table}: checkpoint {version} is corrupt: {detail}")]
    CorruptCheckpoint {
        /// The table's path in the store.
        table: String,
        /// The table version.
        version: i64,
        /// What went wrong.
        detail: String,
    },
    /// The log skips a version: the table cannot be reconstructed.
    #[error("{table}: the log is missing commit {version}")]
    MissingCommit {
        /// The table's path in the store.
        table: String,
        /// The table version.
        version: i64,
    },
    /// The log has no protocol or metadata action.
    #[error("{table}: the log has no {action} action up to version {version}")]
    IncompleteLog {
        /// The table's path in the store.
        table: String,
        /// The table version.
        version: i64,
        /// The action that is missing.
        action: &'static str,
    },
    /// The table needs a newer reader or writer than this one.
    #[error("{table}: needs reader version {min_reader_version} and writer version {min_writer_version} (features {features:?}); this implementation supports reader 1 and writer 2")]
    UnsupportedProtocol {
        /// The table's path in the store.
        table: String,
        /// The reader version the table needs.
        min_reader_version: i32,
        /// The writer version the table needs.
        min_writer_version: i32,
        /// The table features it needs that this reader lacks.
        features: Vec<String>,
    },
    /// Time travel to a version the log does not hold.
    #[error("{table}: version {version} does not exist (latest is {latest})")]
    VersionNotFound {
        /// The table's path in the store.
        table: String,
        /// The table version.
        version: i64,
        /// The latest version.
        latest: i64,
    },
    /// Time travel to before the first commit.
    #[error("{table}: no version exists at or before timestamp {timestamp_ms} ms")]
    TimestampTooEarly {
        /// The table's path in the store.
        table: String,
        /// The time asked for, in ms since the epoch.
        timestamp_ms: i64,
    },
    /// Another writer committed something this commit conflicts with.
    #[error("{table}: concurrent commit {version} conflicts with this {operation}: {detail}")]
    Conflict {
        /// The table's path in the store.
        table: String,
        /// The table version.
        version: i64,
        /// The operation that failed.
        operation: String,
        /// What went wrong.
        detail: String,
    },
    /// Data does not fit the table's schema.
    #[error("{table}: schema mismatch: {detail}")]
    Schema {
        /// The table's path in the store.
        table: String,
        /// What went wrong.
        detail: String,
    },
    /// A merge source holds the same key twice.
    #[error("{table}: the merge source has key {key} more than once")]
    DuplicateMergeKey {
        /// The table's path in the store.
        table: String,
        /// The key, as text.
        key: String,
    },
    /// A predicate could not be parsed or evaluated.
    #[error("{table}: invalid predicate {predicate:?}: {detail}")]
    Predicate {
        /// The table's path in the store.
        table: String,
        /// The predicate, as SQL.
        predicate: String,
        /// What went wrong.
        detail: String,
    },
    /// A streaming read met a commit that changes existing data.
    #[error("{table}: commit {version} ({operation}) changes existing rows; a stream reads only appends (run a full refresh)")]
    NotAppendOnly {
        /// The table's path in the store.
        table: String,
        /// The table version.
        version: i64,
        /// The operation that failed.
        operation: String,
    },
    /// A Parquet file could not be written or read.
    #[error("{file}: parquet: {detail}")]
    Parquet {
        /// The file, by its path.
        file: String,
        /// What went wrong.
        detail: String,
    },
}

/// Result of a table operation.
pub type DeltaResult<T, E = DeltaError> = Result<T, E>;
