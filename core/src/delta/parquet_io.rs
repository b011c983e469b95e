//! Data files: Arrow batches to snappy Parquet, and Parquet read back through
//! [`Storage`] by footer and row group, never as a whole object.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::Array;
use arrow::array::{new_null_array, ArrayRef};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::TryStreamExt;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;

use serde_json::Value;

use super::stats::min_max;
use super::{DeltaError, FileStats};
use crate::send_bridge::boxed_send;
use crate::storage::Storage;

/// Rows per Parquet row group: small enough to stream in a browser tab.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Encodes a batch as one snappy-compressed Parquet file.
pub(crate) fn encode(batch: &RecordBatch, file: &str) -> Result<Bytes, DeltaError> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("medallion {}", env!("CARGO_PKG_VERSION")))
        .build();
    let parquet_error = |err: ParquetError| DeltaError::Parquet {
        file: file.to_owned(),
        detail: err.to_string(),
    };
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), Some(properties))
        .map_err(parquet_error)?;
    writer.write(batch).map_err(parquet_error)?;
    writer.close().map_err(parquet_error)?;
    Ok(Bytes::from(buffer))
}

/// Files up to this size are read whole, once: one store round trip instead of one
/// for the footer and one per column chunk.
const READ_WHOLE_BYTES: u64 = 4 * 1024 * 1024;

/// Byte ranges closer than this are fetched as one read.
const COALESCE_GAP_BYTES: u64 = 256 * 1024;

/// A Parquet file in a [`Storage`], read by byte range (a small file whole, once).
struct StorageFileReader {
    storage: Arc<dyn Storage>,
    path: String,
    size: u64,
    /// Files up to this size are read whole ([`READ_WHOLE_BYTES`]).
    read_whole_bytes: u64,
    /// The whole file, once read.
    whole: Option<Bytes>,
}

// SAFETY: see `send_bridge`: wasm32 has one thread, so the `!Send` browser handles
// inside `storage` can never cross threads.
#[cfg(target_arch = "wasm32")]
unsafe impl Send for StorageFileReader {}

impl StorageFileReader {
    fn new(storage: Arc<dyn Storage>, path: &str, size: u64) -> Self {
        Self {
            storage,
            path: path.to_owned(),
            size,
            read_whole_bytes: READ_WHOLE_BYTES,
            whole: None,
        }
    }

    /// Each range's bytes: sliced from the whole file if it is small, else read with
    /// ranges that lie close together merged into one read.
    async fn read_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> parquet::errors::Result<Vec<Bytes>> {
        let external = |err: crate::storage::StorageError| ParquetError::External(Box::new(err));
        let slice =
            |bytes: &Bytes, offset: u64, range: &Range<u64>| -> parquet::errors::Result<Bytes> {
                let start = usize::try_from(range.start - offset).unwrap_or(usize::MAX);
                let end = usize::try_from(range.end - offset).unwrap_or(usize::MAX);
                if start > end || end > bytes.len() {
                    return Err(ParquetError::EOF(format!(
                        "range {range:?} is outside the {} bytes read",
                        bytes.len()
                    )));
                }
                Ok(bytes.slice(start..end))
            };
        if self.size <= self.read_whole_bytes {
            let whole = match &self.whole {
                Some(whole) => whole.clone(),
                None => {
                    let whole = self.storage.get(&self.path).await.map_err(external)?;
                    self.whole = Some(whole.clone());
                    whole
                }
            };
            return ranges.iter().map(|range| slice(&whole, 0, range)).collect();
        }
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order.sort_by_key(|&index| ranges[index].start);
        let mut out = vec![Bytes::new(); ranges.len()];
        let mut group: Vec<usize> = Vec::new();
        let mut group_range = 0..0;
        for index in order.into_iter().chain(std::iter::once(usize::MAX)) {
            let next = ranges.get(index);
            let joins = next.is_some_and(|range| {
                !group.is_empty() && range.start <= group_range.end + COALESCE_GAP_BYTES
            });
            if joins {
                let range = &ranges[index];
                group_range.end = group_range.end.max(range.end);
                group.push(index);
                continue;
            }
            if !group.is_empty() {
                let bytes = self
                    .storage
                    .get_range(&self.path, group_range.clone())
                    .await
                    .map_err(external)?;
                for &member in &group {
                    out[member] = slice(&bytes, group_range.start, &ranges[member])?;
                }
            }
            match next {
                Some(range) => {
                    group = vec![index];
                    group_range = range.clone();
                }
                None => break,
            }
        }
        Ok(out)
    }
}

impl AsyncFileReader for StorageFileReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        boxed_send(async move {
            let mut bytes = self.read_ranges(vec![range]).await?;
            Ok(bytes.pop().unwrap_or_default())
        })
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        boxed_send(self.read_ranges(ranges))
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        let size = self.size;
        Box::pin(async move {
            let metadata = ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(64 * 1024))
                .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Skip)
                .load_and_finish(&mut *self, size)
                .await?;
            Ok(Arc::new(metadata))
        })
    }
}

/// A parquet error as the Delta error of reading `path`; a storage error stays one.
fn parquet_error(path: &str, err: ParquetError) -> DeltaError {
    match err {
        ParquetError::External(inner) => match inner.downcast::<crate::storage::StorageError>() {
            Ok(storage_error) => DeltaError::Storage(*storage_error),
            Err(other) => DeltaError::Parquet {
                file: path.to_owned(),
                detail: other.to_string(),
            },
        },
        other => DeltaError::Parquet {
            file: path.to_owned(),
            detail: other.to_string(),
        },
    }
}

type Builder = ParquetRecordBatchStreamBuilder<StorageFileReader>;

/// A reader of the file at `path`, its footer read.
async fn open(storage: Arc<dyn Storage>, path: &str, size: u64) -> Result<Builder, DeltaError> {
    let reader = StorageFileReader::new(storage, path, size);
    ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|err| parquet_error(path, err))
}

/// Decodes the file's columns that `schema` names, aligned to `schema`.
async fn decode(
    builder: Builder,
    schema: &SchemaRef,
    path: &str,
) -> Result<Vec<RecordBatch>, DeltaError> {
    let stream = builder.build().map_err(|err| parquet_error(path, err))?;
    let batches: Vec<RecordBatch> = stream
        .try_collect()
        .await
        .map_err(|err| parquet_error(path, err))?;
    batches
        .iter()
        .map(|batch| align(batch, schema, path))
        .collect()
}

/// Only the file's columns that `schema` names are decoded.
fn project(builder: Builder, schema: &SchemaRef) -> Builder {
    let wanted: Vec<usize> = builder
        .parquet_schema()
        .root_schema()
        .get_fields()
        .iter()
        .enumerate()
        .filter(|(_, field)| schema.field_with_name(field.name()).is_ok())
        .map(|(index, _)| index)
        .collect();
    let projection = ProjectionMask::roots(builder.parquet_schema(), wanted);
    builder.with_projection(projection).with_batch_size(8192)
}

/// Reads a data file and aligns it to `schema`: only the file's columns that `schema`
/// names are decoded, columns the file lacks (added to the table after it was written)
/// are null, and every column is cast to the table's type. With `window`, only those
/// rows of the file are decoded (row groups outside it are not even fetched).
pub(crate) async fn read(
    storage: Arc<dyn Storage>,
    path: &str,
    size: u64,
    schema: &SchemaRef,
    window: Option<Range<usize>>,
) -> Result<Vec<RecordBatch>, DeltaError> {
    let mut builder = project(open(storage, path, size).await?, schema);
    if let Some(window) = window {
        builder = builder
            .with_offset(window.start)
            .with_limit(window.end.saturating_sub(window.start));
    }
    decode(builder, schema, path).await
}

/// A file read with its row groups pruned: the rows of the groups kept and how many
/// groups were read and skipped.
#[derive(Debug)]
pub(crate) struct PrunedRead {
    pub(crate) batches: Vec<RecordBatch>,
    pub(crate) row_groups_read: usize,
    pub(crate) row_groups_skipped: usize,
}

/// Like [`read`], but only the row groups whose statistics of `columns` (in the form
/// of a file's [`FileStats`]) `keep` accepts are fetched and decoded.
pub(crate) async fn read_pruned(
    storage: Arc<dyn Storage>,
    path: &str,
    size: u64,
    schema: &SchemaRef,
    columns: &[String],
    keep: &(dyn Fn(&FileStats) -> bool + Send + Sync),
) -> Result<PrunedRead, DeltaError> {
    let builder = open(storage, path, size).await?;
    let stats = row_group_stats(&builder, columns);
    let kept: Vec<usize> = (0..stats.len()).filter(|&i| keep(&stats[i])).collect();
    let row_groups_read = kept.len();
    let batches = if kept.is_empty() {
        Vec::new()
    } else {
        decode(project(builder, schema).with_row_groups(kept), schema, path).await?
    };
    Ok(PrunedRead {
        batches,
        row_groups_read,
        row_groups_skipped: stats.len() - row_groups_read,
    })
}

/// Each row group's row count and, for `columns`, its null count, minimum and (when
/// exact) maximum, from the footer.
fn row_group_stats(builder: &Builder, columns: &[String]) -> Vec<FileStats> {
    let groups = builder.metadata().row_groups();
    let mut stats: Vec<FileStats> = groups
        .iter()
        .map(|group| FileStats {
            num_records: group.num_rows(),
            ..FileStats::default()
        })
        .collect();
    for column in columns {
        let Ok(converter) =
            StatisticsConverter::try_new(column, builder.schema(), builder.parquet_schema())
        else {
            continue;
        };
        let (Ok(mins), Ok(maxes), Ok(exact), Ok(nulls)) = (
            converter.row_group_mins(groups),
            converter.row_group_maxes(groups),
            converter.row_group_is_max_value_exact(groups),
            converter.row_group_null_counts(groups),
        ) else {
            continue;
        };
        for (index, group) in stats.iter_mut().enumerate() {
            if nulls.is_valid(index) {
                group
                    .null_count
                    .insert(column.clone(), Value::from(nulls.value(index)));
            }
            if let Some((min, _)) = min_max(&mins.slice(index, 1)) {
                group.min_values.insert(column.clone(), min);
            }
            let exact = exact.is_valid(index) && exact.value(index);
            if let (true, Some((_, Some(max)))) = (exact, min_max(&maxes.slice(index, 1))) {
                group.max_values.insert(column.clone(), max);
            }
        }
    }
    stats
}

/// Shapes a batch to `schema`: by column name, casting types, nulls for missing columns.
pub(crate) fn align(
    batch: &RecordBatch,
    schema: &SchemaRef,
    file: &str,
) -> Result<RecordBatch, DeltaError> {
    let columns = schema
        .fields()
        .iter()
        .map(|field| -> Result<ArrayRef, DeltaError> {
            match batch.schema().index_of(field.name()) {
                Ok(index) => {
                    let column = batch.column(index);
                    if column.data_type() == field.data_type() {
                        Ok(column.clone())
                    } else {
                        // Unsafe cast: a value that does not fit is an error, never a null.
                        let options = CastOptions {
                            safe: false,
                            ..Default::default()
                        };
                        cast_with_options(column, field.data_type(), &options).map_err(|err| {
                            DeltaError::Schema {
                                table: file.to_owned(),
                                detail: format!("column {}: {err}", field.name()),
                            }
                        })
                    }
                }
                Err(_) => Ok(new_null_array(field.data_type(), batch.num_rows())),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options =
        arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(|err| {
        DeltaError::Schema {
            table: file.to_owned(),
            detail: err.to_string(),
        }
    })
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn ranges_read(read_whole_bytes: u64, data: &Bytes, ranges: &[Range<u64>]) -> Vec<Bytes> {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        futures::executor::block_on(async {
            storage.put("t/f.parquet", data.clone()).await.unwrap();
            let mut reader = StorageFileReader::new(storage, "t/f.parquet", data.len() as u64);
            reader.read_whole_bytes = read_whole_bytes;
            reader.read_ranges(ranges.to_vec()).await.unwrap()
        })
    }

    #[test]
    fn ranges_come_back_whole_or_coalesced_in_the_order_asked() {
        let data = Bytes::from(
            (0..2_000_000u32)
                .map(|i| (i % 251) as u8)
                .collect::<Vec<_>>(),
        );
        // Out of order, overlapping, adjacent, far apart, empty.
        let ranges = [
            1_900_000..1_900_010,
            0..4,
            2..6,
            6..100,
            700_000..700_300,
            1_000..1_000,
            1_999_990..2_000_000,
        ];
        let expected: Vec<Bytes> = ranges
            .iter()
            .map(|range| data.slice(range.start as usize..range.end as usize))
            .collect();
        assert_eq!(ranges_read(u64::MAX, &data, &ranges), expected);
        assert_eq!(ranges_read(0, &data, &ranges), expected);
    }

    #[test]
    fn a_range_beyond_the_file_is_an_error_not_a_panic() {
        let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        futures::executor::block_on(async {
            storage
                .put("t/f.parquet", Bytes::from_static(b"PAR1"))
                .await
                .unwrap();
            // The log says the file is bigger than it is.
            let mut reader = StorageFileReader::new(storage, "t/f.parquet", 10);
            assert!(reader
                .read_ranges(vec![Range { start: 2, end: 10 }])
                .await
                .is_err());
        });
    }
}
