//! Writes: appends and overwrites, the schema they write with, and the data files
//! themselves (split by partition, named with Hive-style escaped partition folders
//! and percent-encoded in the log).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, UInt32Array};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use arrow::util::display::array_value_to_string;

use super::actions::{Action, Add, Metadata, Remove};
use super::commit::{CommitOutcome, CommitRequest, Isolation, TxnId};
use super::log::Snapshot;
use super::operation::{Operation, WriteMetrics};
use super::stats::FileStats;
use super::table::DeltaTable;
use super::{parquet_io, schema, DeltaResult};
use crate::storage::now_ms;

/// Rows per data file written: bounded, so a browser never builds a huge file.
const MAX_ROWS_PER_FILE: usize = 1 << 20;

/// The folder name of a null partition value.
const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// A data file's partition values, by column (`add.partitionValues`).
type PartitionValues = BTreeMap<String, Option<String>>;

/// How a write treats the table's schema.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Record this application batch in a `txn` action (exactly-once streaming).
    pub txn: Option<TxnId>,
    /// Add columns the data has and the table lacks, as nullable columns.
    pub merge_schema: bool,
    /// On overwrite, replace the table's schema with the data's (`overwriteSchema`).
    pub overwrite_schema: bool,
}

/// A data file's path as `add.path` holds it: percent-encoded, but for `/._-=` and
/// ASCII letters and digits.
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'.' | b'_' | b'-' | b'=') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The store path of a data file from its `add.path`: percent-decoded.
pub(super) fn percent_decode_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| path.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Hive-style escaping of a partition value inside a folder name.
fn escape_partition_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control()
            || matches!(
                c,
                '"' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^' | '#'
            )
        {
            for byte in c.to_string().bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The `remove` action of a data file, removed at `now`.
pub(super) fn remove_of(add: &Add, now: i64) -> Remove {
    Remove {
        path: add.path.clone(),
        deletion_timestamp: Some(now),
        data_change: true,
        extended_file_metadata: Some(true),
        partition_values: Some(add.partition_values.clone()),
        size: Some(add.size),
    }
}

impl DeltaTable {
    /// Appends rows (`WRITE`, mode Append).
    pub async fn append(
        &self,
        batches: &[RecordBatch],
        options: WriteOptions,
    ) -> DeltaResult<CommitOutcome> {
        self.write(batches, options, false).await
    }

    /// Replaces every row (`WRITE`, mode Overwrite).
    pub async fn overwrite(
        &self,
        batches: &[RecordBatch],
        options: WriteOptions,
    ) -> DeltaResult<CommitOutcome> {
        self.write(batches, options, true).await
    }

    async fn write(
        &self,
        batches: &[RecordBatch],
        options: WriteOptions,
        overwrite: bool,
    ) -> DeltaResult<CommitOutcome> {
        let snapshot = self.snapshot().await?;
        snapshot.check_writable()?;
        let (schema, metadata) = if overwrite && options.overwrite_schema {
            self.replace_schema(&snapshot, batches)?
        } else {
            self.evolve(&snapshot, batches, options.merge_schema)?
        };
        let mut actions: Vec<Action> = metadata.into_iter().collect();
        let (adds, rows) = self
            .write_data(&schema, &snapshot.metadata.partition_columns, batches)
            .await?;
        let mut metrics = WriteMetrics {
            rows_inserted: rows,
            files_added: adds.len() as u64,
            ..Default::default()
        };
        if overwrite {
            let now = now_ms();
            for add in &snapshot.files {
                actions.push(Action::Remove(remove_of(add, now)));
            }
            metrics.files_removed = snapshot.files.len() as u64;
            metrics.rows_deleted = snapshot.num_records().unwrap_or(0) as u64;
        }
        actions.extend(adds.into_iter().map(Action::Add));
        let (operation, isolation) = if overwrite {
            (Operation::Overwrite, Isolation::Serializable)
        } else if actions.iter().any(|a| matches!(a, Action::Metadata(_))) {
            (Operation::Append, Isolation::Serializable)
        } else {
            (Operation::Append, Isolation::BlindAppend)
        };
        let request = CommitRequest {
            operation,
            parameters: BTreeMap::new(),
            metrics,
            txn: options.txn,
            isolation,
        };
        self.commit(&snapshot, actions, request).await
    }

    /// The schema for writing `batches`: the table's, or with the batches' new columns
    /// appended (and the `metaData` action that records them) when `merge_schema`. A
    /// column the table cannot take is an error.
    pub(super) fn evolve(
        &self,
        snapshot: &Snapshot,
        batches: &[RecordBatch],
        merge_schema: bool,
    ) -> DeltaResult<(SchemaRef, Option<Action>)> {
        let mut fields: Vec<Field> = snapshot
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let known = fields.len();
        for batch in batches {
            for field in batch.schema().fields() {
                let stored = schema::storage_type(field.data_type())
                    .map_err(|detail| self.schema_error(detail))?;
                match fields
                    .iter()
                    .find(|existing| existing.name() == field.name())
                {
                    Some(existing) => {
                        if !arrow::compute::can_cast_types(&stored, existing.data_type()) {
                            return Err(self.schema_error(format!(
                                "column {} is {} in the data but {} in the table",
                                field.name(),
                                stored,
                                existing.data_type()
                            )));
                        }
                    }
                    None if merge_schema => fields.push(Field::new(field.name(), stored, true)),
                    None => {
                        return Err(self.schema_error(format!(
                            "column {} is not in the table (write with merge_schema to add it)",
                            field.name()
                        )))
                    }
                }
            }
        }
        if fields.len() == known {
            return Ok((snapshot.schema.clone(), None));
        }
        let evolved = Arc::new(Schema::new(fields));
        let metadata = self.metadata_with_schema(snapshot, &evolved)?;
        Ok((evolved, Some(Action::Metadata(metadata))))
    }

    /// The data's schema in place of the table's (`overwriteSchema`), and the `metaData`
    /// action recording it when it differs. Partition columns must stay.
    fn replace_schema(
        &self,
        snapshot: &Snapshot,
        batches: &[RecordBatch],
    ) -> DeltaResult<(SchemaRef, Option<Action>)> {
        let Some(first) = batches.first() else {
            return Ok((snapshot.schema.clone(), None));
        };
        let fields = first
            .schema()
            .fields()
            .iter()
            .map(|field| {
                schema::storage_type(field.data_type())
                    .map(|stored| Field::new(field.name(), stored, true))
                    .map_err(|detail| self.schema_error(detail))
            })
            .collect::<DeltaResult<Vec<_>>>()?;
        for column in &snapshot.metadata.partition_columns {
            if !fields.iter().any(|field| field.name() == column) {
                return Err(self.schema_error(format!(
                    "partition column {column} is not in the new schema"
                )));
            }
        }
        let replaced = Arc::new(Schema::new(fields));
        let same = replaced.fields().len() == snapshot.schema.fields().len()
            && replaced
                .fields()
                .iter()
                .zip(snapshot.schema.fields())
                .all(|(new, old)| new.name() == old.name() && new.data_type() == old.data_type());
        if same {
            return Ok((snapshot.schema.clone(), None));
        }
        let metadata = self.metadata_with_schema(snapshot, &replaced)?;
        Ok((replaced, Some(Action::Metadata(metadata))))
    }

    fn metadata_with_schema(&self, snapshot: &Snapshot, schema: &Schema) -> DeltaResult<Metadata> {
        let mut metadata = snapshot.metadata.clone();
        metadata.schema_string =
            schema::to_schema_string(schema).map_err(|detail| self.schema_error(detail))?;
        Ok(metadata)
    }

    /// Aligns `batches` to `schema` and writes them as data files, split by partition
    /// values and by [`MAX_ROWS_PER_FILE`]. Returns the `add` actions.
    pub(super) async fn write_data(
        &self,
        schema: &SchemaRef,
        partition_columns: &[String],
        batches: &[RecordBatch],
    ) -> DeltaResult<(Vec<Add>, u64)> {
        let aligned = batches
            .iter()
            .map(|batch| parquet_io::align(batch, schema, &self.root))
            .collect::<DeltaResult<Vec<_>>>()?;
        let all =
            concat_batches(schema, &aligned).map_err(|err| self.schema_error(err.to_string()))?;
        let rows = all.num_rows() as u64;
        if rows == 0 {
            return Ok((Vec::new(), 0));
        }
        let mut adds = Vec::new();
        for (partition_values, batch) in self.split_by_partition(&all, partition_columns)? {
            let data_schema = Arc::new(Schema::new(
                schema
                    .fields()
                    .iter()
                    .filter(|field| !partition_columns.contains(field.name()))
                    .map(|field| field.as_ref().clone())
                    .collect::<Vec<_>>(),
            ));
            let data = parquet_io::align(&batch, &data_schema, &self.root)?;
            let folder: String = partition_columns
                .iter()
                .map(|column| {
                    let value = partition_values.get(column).cloned().flatten();
                    let value = value
                        .map(|value| escape_partition_value(&value))
                        .unwrap_or_else(|| NULL_PARTITION.to_owned());
                    format!("{column}={value}/")
                })
                .collect();
            let mut offset = 0;
            while offset < data.num_rows() {
                let length = MAX_ROWS_PER_FILE.min(data.num_rows() - offset);
                let chunk = data.slice(offset, length);
                offset += length;
                let name = format!(
                    "{folder}part-{:05}-{}-c000.snappy.parquet",
                    adds.len(),
                    uuid::Uuid::new_v4()
                );
                let path = format!("{}/{name}", self.root);
                let file = parquet_io::encode(&chunk, &path)?;
                let size = file.len() as i64;
                self.storage.put_if_absent(&path, file).await?;
                let stats = FileStats::of(&chunk);
                adds.push(Add {
                    path: percent_encode_path(&name),
                    partition_values: partition_values.clone(),
                    size,
                    modification_time: now_ms(),
                    data_change: true,
                    stats: Some(stats.to_json()),
                    tags: None,
                });
            }
        }
        Ok((adds, rows))
    }

    fn split_by_partition(
        &self,
        batch: &RecordBatch,
        partition_columns: &[String],
    ) -> DeltaResult<Vec<(PartitionValues, RecordBatch)>> {
        if partition_columns.is_empty() {
            return Ok(vec![(BTreeMap::new(), batch.clone())]);
        }
        let columns = partition_columns
            .iter()
            .map(|name| {
                batch
                    .column_by_name(name)
                    .cloned()
                    .ok_or_else(|| self.schema_error(format!("partition column {name} is missing")))
            })
            .collect::<DeltaResult<Vec<ArrayRef>>>()?;
        let mut groups: BTreeMap<Vec<Option<String>>, Vec<u32>> = BTreeMap::new();
        for row in 0..batch.num_rows() {
            let key = columns
                .iter()
                .map(|column| {
                    (!column.is_null(row))
                        .then(|| array_value_to_string(column, row).unwrap_or_default())
                })
                .collect();
            groups.entry(key).or_default().push(row as u32);
        }
        groups
            .into_iter()
            .map(|(key, rows)| {
                let indices = UInt32Array::from(rows);
                let columns = batch
                    .columns()
                    .iter()
                    .map(|column| take(column, &indices, None))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|err| self.schema_error(err.to_string()))?;
                let part = RecordBatch::try_new(batch.schema(), columns)
                    .map_err(|err| self.schema_error(err.to_string()))?;
                let values = partition_columns.iter().cloned().zip(key).collect();
                Ok((values, part))
            })
            .collect()
    }
}
