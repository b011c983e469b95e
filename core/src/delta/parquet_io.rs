//! Data files: Arrow batches to snappy Parquet, and Parquet read back through
//! [`Storage`] by footer and row group, never as a whole object.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::TryStreamExt;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::properties::WriterProperties;

use super::DeltaError;
use crate::send_bridge::boxed_send;
use crate::storage::Storage;

/// Rows per Parquet row group: small enough to stream in a browser tab.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Encodes a batch as one snappy-compressed Parquet file.
pub fn encode(batch: &RecordBatch, file: &str) -> Result<Bytes, DeltaError> {
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

/// A Parquet file in a [`Storage`], read by byte range.
struct StorageFileReader {
    storage: Arc<dyn Storage>,
    path: String,
    size: u64,
}

// SAFETY: see `send_bridge`: wasm32 has one thread, so the `!Send` browser handles
// inside `storage` can never cross threads.
#[cfg(target_arch = "wasm32")]
unsafe impl Send for StorageFileReader {}

impl AsyncFileReader for StorageFileReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        boxed_send(async move {
            self.storage
                .get_range(&self.path, range)
                .await
                .map_err(|err| ParquetError::External(Box::new(err)))
        })
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

/// Reads a data file and aligns it to `schema`: only the file's columns that `schema`
/// names are decoded, columns the file lacks (added to the table after it was written)
/// are null, and every column is cast to the table's type. With `window`, only those
/// rows of the file are decoded (row groups outside it are not even fetched).
pub async fn read(
    storage: Arc<dyn Storage>,
    path: &str,
    size: u64,
    schema: &SchemaRef,
    window: Option<Range<usize>>,
) -> Result<Vec<RecordBatch>, DeltaError> {
    let parquet_error = |err: ParquetError| match err {
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
    };
    let reader = StorageFileReader {
        storage,
        path: path.to_owned(),
        size,
    };
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(parquet_error)?;
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
    let mut builder = builder.with_projection(projection).with_batch_size(8192);
    if let Some(window) = window {
        builder = builder
            .with_offset(window.start)
            .with_limit(window.end.saturating_sub(window.start));
    }
    let stream = builder.build().map_err(parquet_error)?;
    let batches: Vec<RecordBatch> = stream.try_collect().await.map_err(parquet_error)?;
    batches
        .iter()
        .map(|batch| align(batch, schema, path))
        .collect()
}

/// Shapes a batch to `schema`: by column name, casting types, nulls for missing columns.
pub fn align(
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
