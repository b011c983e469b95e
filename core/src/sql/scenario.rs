//! The console over a small table, shared by the native tests and the browser's
//! (OPFS) tests: time travel, history, a plan with pruning metrics, cancellation.

use std::sync::Arc;

use arrow::array::Int64Array;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use super::{PlanNode, SqlConsole, SqlError, StatementKind};
use crate::delta::DeltaTable;
use crate::models::{bundled_project, Project};
use crate::storage::Storage;

fn ids(range: std::ops::Range<i64>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(range))])
        .expect("a batch")
}

fn find<'a>(node: &'a PlanNode, operator: &str) -> Option<&'a PlanNode> {
    if node.operator == operator {
        return Some(node);
    }
    node.children.iter().find_map(|child| find(child, operator))
}

/// `silver.ids`: 100 000 ids (two row groups) at version 1, ten more at version 2.
pub(crate) async fn small_table(storage: Arc<dyn Storage>) {
    let console = {
        let table = DeltaTable::new(storage.clone(), "silver/ids");
        table
            .create(&ids(0..0).schema(), Default::default())
            .await
            .expect("create");
        for range in [0..100_000, 100_000..100_010] {
            table
                .append(&[ids(range)], Default::default())
                .await
                .expect("append");
        }
        let project = Project::parse(&bundled_project(), &Default::default()).expect("project");
        SqlConsole::open(storage, &project).await.expect("console")
    };
    let count = |sql: &'static str| {
        let console = &console;
        async move {
            let output = console.run(sql, &mut || false).await.expect(sql);
            output.rows(0, 1).rows[0][0].clone().expect("a count")
        }
    };
    assert_eq!(count("select count(*) from silver.ids@v1").await, "100000");
    assert_eq!(count("select count(*) from silver.ids").await, "100010");

    let history = console
        .run("DESCRIBE HISTORY silver.ids", &mut || false)
        .await
        .expect("history");
    assert_eq!(history.summary().total_rows, 3);

    let sql = "EXPLAIN ANALYZE select count(*) from silver.ids where id < 1000";
    let explained = console.run(sql, &mut || false).await.expect("explain");
    assert_eq!(explained.summary().kind, StatementKind::ExplainAnalyze);
    let plan = explained.summary().plan.as_ref().expect("a plan");
    // The browser's event-loop wrappers are not operators of the query.
    assert!(find(plan, "EventLoopYieldExec").is_none(), "{plan:?}");
    let scan = find(plan, "DeltaScanExec").expect("a Delta scan");
    let metric = |name: &str| {
        scan.metrics
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(metric("files_read").as_deref(), Some("1"));
    assert_eq!(metric("files_skipped").as_deref(), Some("1"));
    assert_eq!(metric("row_groups_read").as_deref(), Some("1"));
    assert_eq!(metric("row_groups_skipped").as_deref(), Some("1"));
    assert_eq!(metric("output_rows").as_deref(), Some("65536"));

    let cancelled = console.run("select * from silver.ids", &mut || true).await;
    assert!(matches!(cancelled, Err(SqlError::Cancelled)));
}
