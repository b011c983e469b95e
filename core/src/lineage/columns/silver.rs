//! A Silver column's Bronze columns, read from its pipeline's steps
//! ([`Transform::column_effects`](crate::silver::Transform::column_effects)).

use crate::bronze;
use crate::lineage::{landing_id, table_id};
use crate::silver::{ColumnEffect, Pipeline};
use crate::warehouse;

use super::{ColumnFlow, ColumnRef};

/// The columns `column` of `pipeline`'s Silver table comes from: the same Bronze
/// column (transformed if a step rewrites it), the columns a step derives it from, or
/// a lookup table's column and the keys it is matched on.
pub(super) fn silver_upstream(pipeline: &Pipeline, column: &str) -> Vec<(ColumnFlow, ColumnRef)> {
    let effects: Vec<ColumnEffect> = pipeline
        .steps
        .iter()
        .filter(|step| step.enabled)
        .flat_map(|step| step.transform.column_effects())
        .collect();
    let bronze = table_id(&warehouse::bronze_table(&pipeline.entity));
    let mut edges = Vec::new();
    trace(&effects, column, ColumnFlow::Direct, &bronze, &mut edges);
    edges
}

/// Where `column`, as it is after `effects`, comes from, reached with `flow`.
fn trace(
    effects: &[ColumnEffect],
    column: &str,
    flow: ColumnFlow,
    bronze: &str,
    edges: &mut Vec<(ColumnFlow, ColumnRef)>,
) {
    let push = |edges: &mut Vec<(ColumnFlow, ColumnRef)>, flow, node: &str, column: &str| {
        let edge = (flow, ColumnRef::new(node, column));
        if !edges.contains(&edge) {
            edges.push(edge);
        }
    };
    let mut column = column.to_owned();
    let mut flow = flow;
    for (position, effect) in effects.iter().enumerate().rev() {
        let before = &effects[..position];
        match effect {
            ColumnEffect::Rewrites(rewritten) if *rewritten == column => {
                flow = flow.then(ColumnFlow::Transformed);
            }
            ColumnEffect::Renames { from, to } if *to == column => column = from.clone(),
            ColumnEffect::Derives {
                column: derived,
                inputs,
            } if *derived == column => {
                for input in inputs {
                    trace(
                        before,
                        input,
                        flow.then(ColumnFlow::Transformed),
                        bronze,
                        edges,
                    );
                }
                return;
            }
            ColumnEffect::LooksUp {
                column: added,
                table,
                lookup_column,
                on,
                key,
            } if *added == column => {
                let lookup = table_id(table);
                push(edges, flow, &lookup, lookup_column);
                let keys = flow.then(ColumnFlow::Join);
                push(edges, keys, &lookup, key);
                trace(before, on, keys, bronze, edges);
                return;
            }
            _ => {}
        }
    }
    push(edges, flow, bronze, &column);
}

/// The landing column a Bronze column comes from: the same one, unless it is one of
/// Bronze's own metadata columns (`_source_file`, `_rescued_data`, …).
pub(super) fn bronze_upstream(entity: &str, column: &str) -> Option<ColumnRef> {
    (!bronze::METADATA_COLUMNS.contains(&column))
        .then(|| ColumnRef::new(landing_id(entity), column))
}
