//! The warehouse layout shared by the CLI and the browser.
//!
//! One store holds the whole lakehouse: `landing/<entity>/…` for dropped files,
//! `project/…` for the project a user edits ([`crate::workspace`]), and a
//! Delta table at `<layer>/<name>/` for every table of the `bronze`, `silver` and
//! `gold` layers. A folder is a table when it has a `_delta_log/`.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;

use crate::delta::{encode_parquet, DeltaError, DeltaTable};
use crate::storage::{Storage, StorageResult};

/// The layers that hold tables, in pipeline order.
pub const LAYERS: [&str; 3] = ["bronze", "silver", "gold"];

/// The layer of the dbt project's tables.
const GOLD: &str = LAYERS[2];

/// Where dropped files wait for ingest.
pub const LANDING: &str = "landing/";

/// Where the store keeps the project a user edits (the bundled one, copied on first
/// use): `project/models/marts/dim_date.sql`, `project/silver/trips.yml`.
pub const PROJECT: &str = "project/";

/// The Bronze table of an entity's stream: `bronze/<entity>`.
pub fn bronze_table(entity: &str) -> String {
    format!("bronze/{entity}")
}

/// The Silver table of an entity: `silver/<entity>`.
pub fn silver_table(entity: &str) -> String {
    format!("silver/{entity}")
}

/// The quarantine table of an entity: `silver/<entity>_quarantine`.
pub fn quarantine_table(entity: &str) -> String {
    format!("silver/{entity}_quarantine")
}

/// The table of a Gold model or snapshot: `gold/<name>`.
pub fn gold_table(name: &str) -> String {
    format!("{GOLD}/{name}")
}

/// Where a data test's failing rows are stored with `store_failures`:
/// `gold/dbt_test__audit/<test>`, as dbt's audit schema.
pub fn test_audit_table(test: &str) -> String {
    format!("{GOLD}/dbt_test__audit/{test}")
}

/// The Delta `txn` application id under which `layer`'s pipeline records the batches
/// it has written for `entity` (`medallion-bronze-trips`, `medallion-silver-trips`):
/// existing tables and checkpoints carry these ids, so they must not change.
pub fn txn_app_id(layer: &str, entity: &str) -> String {
    format!("medallion-{layer}-{entity}")
}

/// Every table in the store, as `<layer>/<name>`, in layer order then by name.
pub async fn list_tables(storage: &dyn Storage) -> StorageResult<Vec<String>> {
    let mut tables = Vec::new();
    for layer in LAYERS {
        let mut names = BTreeSet::new();
        for object in storage.list(&format!("{layer}/")).await? {
            if let Some((table, _)) = object.path.split_once("/_delta_log/") {
                names.insert(table.to_owned());
            }
        }
        tables.extend(names);
    }
    Ok(tables)
}

/// A file format tables are exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Snappy Parquet, with the table's types.
    Parquet,
    /// CSV with a header; timestamps in RFC 3339.
    Csv,
}

impl ExportFormat {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
        }
    }
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "parquet" => Ok(ExportFormat::Parquet),
            "csv" => Ok(ExportFormat::Csv),
            other => Err(format!("format {other:?}: use parquet or csv")),
        }
    }
}

/// Every row of the Delta table at `table` (as of `version`, or the latest) as one
/// file's bytes.
pub async fn export(
    storage: Arc<dyn Storage>,
    table: &str,
    version: Option<i64>,
    format: ExportFormat,
) -> Result<Bytes, DeltaError> {
    let delta = DeltaTable::new(storage, table);
    let snapshot = match version {
        Some(version) => delta.snapshot_at(version).await?,
        None => delta.snapshot().await?,
    };
    let columns: Vec<String> = snapshot
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let rows = delta.read_columns(&snapshot, &columns).await?;
    let failed = |detail: String| DeltaError::Parquet {
        file: table.to_owned(),
        detail,
    };
    match format {
        ExportFormat::Parquet => encode_parquet(&rows, table),
        ExportFormat::Csv => {
            let mut out = Vec::new();
            {
                let mut writer = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut out);
                writer.write(&rows).map_err(|err| failed(err.to_string()))?;
            }
            Ok(Bytes::from(out))
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::storage::MemoryStorage;

    #[test]
    fn tables_are_folders_with_a_delta_log() {
        let store = MemoryStorage::new();
        futures::executor::block_on(async {
            for path in [
                "gold/fact_trips/_delta_log/00000000000000000000.json",
                "bronze/trips/_delta_log/00000000000000000000.json",
                "bronze/trips/_delta_log/00000000000000000001.json",
                "bronze/trips/part-00000.parquet",
                "silver/customers/part-00000.parquet",
                "landing/trips/trips.csv",
            ] {
                store.put(path, Bytes::new()).await.expect("put");
            }
            assert_eq!(
                list_tables(&store).await.expect("list"),
                ["bronze/trips", "gold/fact_trips"]
            );
        });
    }

    #[test]
    fn tables_export_as_parquet_and_csv() {
        use arrow::array::{Int64Array, StringArray};
        use arrow::datatypes::{DataType, Field, Schema};
        use arrow::record_batch::RecordBatch;
        let store: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        futures::executor::block_on(async {
            let batch = RecordBatch::try_new(
                Arc::new(Schema::new(vec![
                    Field::new("id", DataType::Int64, true),
                    Field::new("city", DataType::Utf8, true),
                ])),
                vec![
                    Arc::new(Int64Array::from(vec![1, 2])),
                    Arc::new(StringArray::from(vec![Some("Oslo"), None])),
                ],
            )
            .unwrap();
            let table = DeltaTable::new(store.clone(), "gold/cities");
            table
                .create(&batch.schema(), Default::default())
                .await
                .unwrap();
            table.append(&[batch], Default::default()).await.unwrap();
            let csv = export(store.clone(), "gold/cities", None, ExportFormat::Csv)
                .await
                .unwrap();
            assert_eq!(std::str::from_utf8(&csv).unwrap(), "id,city\n1,Oslo\n2,\n");
            let parquet = export(store.clone(), "gold/cities", Some(1), ExportFormat::Parquet)
                .await
                .unwrap();
            assert_eq!(&parquet[..4], b"PAR1");
            let missing = export(store, "gold/nope", None, ExportFormat::Csv).await;
            assert!(missing.is_err());
        });
    }
}
