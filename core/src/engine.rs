//! The SQL engine: one Apache DataFusion session, configured for where it runs.
//!
//! In the browser there is one thread and no tokio runtime, so the session plans for
//! a single partition and every operator runs inside the calling future. Natively the
//! session uses one partition per core and expects a tokio runtime.

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{MemorySchemaProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::prelude::{SessionConfig, SessionContext};

/// A DataFusion session configured for the current platform.
pub fn new_session() -> SessionContext {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(target_partitions());
    SessionContext::new_with_config(config)
}

#[cfg(target_arch = "wasm32")]
fn target_partitions() -> usize {
    1
}

#[cfg(not(target_arch = "wasm32"))]
fn target_partitions() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
}

/// The schema `schema` of the default catalog, created if needed (so that views can be
/// created in it before any table is).
pub fn ensure_schema(
    session: &SessionContext,
    schema: &str,
) -> DataFusionResult<Arc<dyn SchemaProvider>> {
    let catalog = session
        .catalog("datafusion")
        .ok_or_else(|| DataFusionError::Internal("the default catalog is missing".to_owned()))?;
    Ok(match catalog.schema(schema) {
        Some(existing) => existing,
        None => {
            let created: Arc<dyn SchemaProvider> = Arc::new(MemorySchemaProvider::new());
            catalog.register_schema(schema, created.clone())?;
            created
        }
    })
}

/// Registers `table` as `<schema>.<name>` (for example `silver.trips`), creating the
/// schema in the default catalog if needed.
pub fn register_table(
    session: &SessionContext,
    schema: &str,
    name: &str,
    table: Arc<dyn TableProvider>,
) -> DataFusionResult<()> {
    let provider = ensure_schema(session, schema)?;
    provider.deregister_table(name)?;
    provider.register_table(name.to_owned(), table)?;
    Ok(())
}

/// Runs one SQL statement and collects its result.
pub async fn query(session: &SessionContext, sql: &str) -> DataFusionResult<Vec<RecordBatch>> {
    session.sql(sql).await?.collect().await
}

#[cfg(test)]
pub(crate) mod smoke {
    //! A query shaped like the Gold models: a GROUP BY and a window function over a
    //! MemTable. It runs natively and in headless Chromium.

    use std::sync::Arc;

    use datafusion::arrow::array::{Array, Float64Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::datasource::MemTable;

    use super::{new_session, query};

    pub(crate) async fn group_by_and_window_function() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("city", DataType::Utf8, false),
            Field::new("trip_id", DataType::Int64, false),
            Field::new("fare", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    "New York", "Boston", "New York", "Boston", "New York",
                ])),
                Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
                Arc::new(Float64Array::from(vec![10.0, 7.5, 22.0, 12.5, 8.0])),
            ],
        )
        .expect("batch");
        let session = new_session();
        let table = MemTable::try_new(schema, vec![vec![batch]]).expect("table");
        session
            .register_table("trips", Arc::new(table))
            .expect("register");

        let sql = "WITH per_city AS ( \
                     SELECT city, count(*) AS trips, sum(fare) AS revenue \
                     FROM trips GROUP BY city) \
                   SELECT city, trips, revenue, \
                          rank() OVER (ORDER BY revenue DESC) AS revenue_rank \
                   FROM per_city ORDER BY revenue_rank";
        let batches = query(&session, sql).await.expect("query");
        let batch = &batches[0];
        assert_eq!(batch.num_rows(), 2);
        let column = |name: &str| {
            batch
                .column(batch.schema().index_of(name).expect(name))
                .clone()
        };
        let cities = column("city");
        let cities = cities.as_any().downcast_ref::<StringArray>().expect("city");
        let trips = column("trips");
        let trips = trips.as_any().downcast_ref::<Int64Array>().expect("trips");
        let revenue = column("revenue");
        let revenue = revenue
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("revenue");
        let rank = column("revenue_rank");
        let rank = rank
            .as_any()
            .downcast_ref::<datafusion::arrow::array::UInt64Array>()
            .expect("rank");
        assert_eq!(
            (
                cities.value(0),
                trips.value(0),
                revenue.value(0),
                rank.value(0)
            ),
            ("New York", 3, 40.0, 1)
        );
        assert_eq!(
            (
                cities.value(1),
                trips.value(1),
                revenue.value(1),
                rank.value(1)
            ),
            ("Boston", 2, 20.0, 2)
        );
        assert!(!rank.is_null(1));
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[tokio::test]
    async fn group_by_and_window_function_natively() {
        group_by_and_window_function().await;
    }
}
