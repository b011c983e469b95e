//! A statement's result: the kept batches, paged as display strings, exported as a
//! file or rendered as text for a terminal.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{QuerySummary, ResultRows, SqlError, MAX_KEPT_ROWS};
use crate::delta::encode_parquet;
use crate::explorer::{display_rows, MAX_WINDOW_ROWS};
use crate::warehouse::ExportFormat;

/// How the CLI prints a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextFormat {
    /// An aligned box table, like the duckdb CLI's, with the row count under it.
    Table,
    /// CSV with a header.
    Csv,
    /// A JSON array with an object per row.
    Json,
}

impl std::str::FromStr for TextFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "table" => Ok(TextFormat::Table),
            "csv" => Ok(TextFormat::Csv),
            "json" => Ok(TextFormat::Json),
            other => Err(format!("format {other:?}: use table, csv or json")),
        }
    }
}

/// The result of one statement: at most [`MAX_KEPT_ROWS`] rows and its summary.
#[derive(Debug, Clone)]
pub struct QueryOutput {
    summary: QuerySummary,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

/// The rows of a stream: the first [`MAX_KEPT_ROWS`] kept, the rest counted.
#[derive(Debug)]
pub(super) struct Collected {
    pub(super) batches: Vec<RecordBatch>,
    pub(super) total_rows: u64,
}

/// Reads `stream` to its end, asking `stop` after each batch.
pub(super) async fn collect(
    mut stream: SendableRecordBatchStream,
    stop: &mut dyn FnMut() -> bool,
) -> Result<Collected, SqlError> {
    let mut batches = Vec::new();
    let mut kept = 0usize;
    let mut total_rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(SqlError::from_datafusion)?;
        total_rows += batch.num_rows() as u64;
        let room = MAX_KEPT_ROWS - kept;
        if room > 0 && batch.num_rows() > 0 {
            let batch = batch.slice(0, batch.num_rows().min(room));
            kept += batch.num_rows();
            batches.push(batch);
        }
        if stop() {
            return Err(SqlError::Cancelled);
        }
    }
    Ok(Collected {
        batches,
        total_rows,
    })
}

impl QueryOutput {
    /// A result of `batches` (already capped) shaped by `schema`.
    pub(super) fn new(summary: QuerySummary, schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Self {
            summary,
            schema,
            batches,
        }
    }

    /// What ran, how many rows it gave and how long it took.
    pub fn summary(&self) -> &QuerySummary {
        &self.summary
    }

    /// The kept rows `offset..offset + limit` as display strings, like
    /// `explorer::RowWindow` (`None` is null); `limit` is capped at
    /// [`MAX_WINDOW_ROWS`].
    pub fn rows(&self, offset: u64, limit: usize) -> ResultRows {
        let mut skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let mut wanted = limit.min(MAX_WINDOW_ROWS);
        let mut rows = Vec::new();
        for batch in &self.batches {
            if wanted == 0 {
                break;
            }
            if skip >= batch.num_rows() {
                skip -= batch.num_rows();
                continue;
            }
            let take = wanted.min(batch.num_rows() - skip);
            // Every type the session produces has a display form; a batch that
            // cannot be formatted shows its values as missing rather than failing.
            let shown = display_rows(&batch.slice(skip, take))
                .unwrap_or_else(|_| vec![vec![None; batch.num_columns()]; take]);
            rows.extend(shown);
            wanted -= take;
            skip = 0;
        }
        ResultRows { offset, rows }
    }

    /// The kept rows as one batch.
    fn batch(&self) -> Result<RecordBatch, SqlError> {
        arrow::compute::concat_batches(&self.schema, &self.batches)
            .map_err(|err| SqlError::Output(err.to_string()))
    }

    /// The kept rows as CSV (with a header) or Parquet.
    pub fn export(&self, format: ExportFormat) -> Result<Bytes, SqlError> {
        match format {
            ExportFormat::Parquet => Ok(encode_parquet(&self.batch()?, "query result")?),
            ExportFormat::Csv => self.csv().map(Bytes::from),
        }
    }

    fn csv(&self) -> Result<Vec<u8>, SqlError> {
        let mut out = Vec::new();
        {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            writer
                .write(&self.batch()?)
                .map_err(|err| SqlError::Output(err.to_string()))?;
        }
        Ok(out)
    }

    /// The kept rows as text: an aligned table like the duckdb CLI's, CSV with a
    /// header, or a JSON array of objects.
    pub fn render(&self, format: TextFormat) -> Result<String, SqlError> {
        match format {
            TextFormat::Table => Ok(self.table_text()),
            TextFormat::Csv => {
                String::from_utf8(self.csv()?).map_err(|err| SqlError::Output(err.to_string()))
            }
            TextFormat::Json => {
                let mut writer = arrow::json::ArrayWriter::new(Vec::new());
                let batches: Vec<&RecordBatch> = self.batches.iter().collect();
                writer
                    .write_batches(&batches)
                    .map_err(|err| SqlError::Output(err.to_string()))?;
                writer
                    .finish()
                    .map_err(|err| SqlError::Output(err.to_string()))?;
                let mut text = String::from_utf8(writer.into_inner())
                    .map_err(|err| SqlError::Output(err.to_string()))?;
                if text.is_empty() {
                    text.push_str("[]");
                }
                Ok(text)
            }
        }
    }

    /// A box table: names, types, the rows (numbers to the right) and the count.
    fn table_text(&self) -> String {
        let fields = self.schema.fields();
        let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
        let types: Vec<String> = fields.iter().map(|f| type_name(f.data_type())).collect();
        let numeric: Vec<bool> = fields.iter().map(|f| f.data_type().is_numeric()).collect();
        let rows = self.rows(0, self.summary.kept_rows as usize).rows;
        let cells: Vec<Vec<String>> = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|v| v.unwrap_or_else(|| "NULL".to_owned()))
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = (0..names.len())
            .map(|i| {
                let values = cells.iter().map(|row| row[i].chars().count());
                values
                    .chain([names[i].chars().count(), types[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |left: &str, mid: &str, right: &str| {
            let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
            format!("{left}{}{right}\n", parts.join(mid))
        };
        let row_text = |values: &[String], align_right: &dyn Fn(usize) -> bool| {
            let parts: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, value)| pad(value, widths[i], align_right(i)))
                .collect();
            format!("│ {} │\n", parts.join(" │ "))
        };
        let mut out = line("┌", "┬", "┐");
        out.push_str(&row_text(&names, &|_| false));
        out.push_str(&row_text(&types, &|_| false));
        out.push_str(&line("├", "┼", "┤"));
        for row in &cells {
            out.push_str(&row_text(row, &|i| numeric[i]));
        }
        out.push_str(&line("└", "┴", "┘"));
        out.push_str(&count_text(self.summary.total_rows, self.summary.kept_rows));
        out
    }
}

/// `3 rows`, `1 row`, or `250000 rows (100000 shown)`.
fn count_text(total: u64, kept: u64) -> String {
    let noun = if total == 1 { "row" } else { "rows" };
    if kept < total {
        format!("{total} {noun} ({kept} shown)\n")
    } else {
        format!("{total} {noun}\n")
    }
}

fn pad(value: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(value.chars().count()));
    if right {
        format!("{fill}{value}")
    } else {
        format!("{value}{fill}")
    }
}

/// A column type as duckdb names it, lower case: `int64`, `varchar`, `timestamp`.
fn type_name(data_type: &arrow::datatypes::DataType) -> String {
    use arrow::datatypes::DataType;
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar".to_owned(),
        DataType::Timestamp(_, _) => "timestamp".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        other => other.to_string().to_lowercase(),
    }
}
