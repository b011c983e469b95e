//! Merges on an in-memory store: matching, sequencing, deletions, composite keys.

use super::*;

#[test]
fn merge_updates_matches_inserts_the_rest_and_rewrites_only_overlapping_files() {
    let (_, table) = new_table();
    for chunk in [[1, 2], [3, 4], [5, 6]] {
        let batch = trips(&[(Some(chunk[0]), "NYC", 1.0), (Some(chunk[1]), "NYC", 1.0)]);
        block_on(table.append(&[batch], WriteOptions::default())).expect("append");
    }
    let source = trips(&[(Some(6), "NYC", 99.0), (Some(7), "LA", 3.0)]);
    let options = MergeOptions {
        keys: vec!["trip_id".into()],
        ..Default::default()
    };
    let outcome = block_on(table.merge(&[source], options.clone())).expect("merge");
    assert_eq!(outcome.metrics.rows_updated, 1);
    assert_eq!(outcome.metrics.rows_inserted, 1);
    assert_eq!(
        outcome.metrics.files_removed, 1,
        "only the newest file can hold key 6"
    );
    let all = rows(&table, &latest(&table));
    assert_eq!(all.len(), 7);
    assert!(all.contains(&(Some(6), Some("NYC".into()), Some(99.0))));
    assert!(all.contains(&(Some(7), Some("LA".into()), Some(3.0))));

    // Replaying the same source changes nothing but rewrites the matched rows.
    let again = block_on(table.merge(
        &[trips(&[(Some(6), "NYC", 99.0), (Some(7), "LA", 3.0)])],
        options.clone(),
    ))
    .expect("replay");
    assert_eq!(
        (again.metrics.rows_updated, again.metrics.rows_inserted),
        (2, 0)
    );
    assert_eq!(rows(&table, &latest(&table)), all);
}

#[test]
fn merge_edge_cases() {
    let (_, table) = new_table();
    block_on(table.append(
        &[trips(&[(Some(1), "NYC", 1.0), (Some(2), "NYC", 2.0)])],
        WriteOptions::default(),
    ))
    .expect("append");
    let options = MergeOptions {
        keys: vec!["trip_id".into()],
        ..Default::default()
    };
    let version = latest(&table).version();

    let duplicate = trips(&[(Some(1), "A", 1.0), (Some(1), "B", 2.0)]);
    let err = block_on(table.merge(&[duplicate], options.clone())).unwrap_err();
    assert!(
        matches!(&err, DeltaError::DuplicateMergeKey { key, .. } if key == "1"),
        "{err}"
    );
    assert_eq!(
        latest(&table).version(),
        version,
        "a failed merge commits nothing"
    );

    let empty = block_on(table.merge(&[trips(&[])], options.clone())).expect("empty source");
    assert!(!empty.committed);

    let nulls = block_on(table.merge(
        &[trips(&[(None, "X", 1.0), (None, "Y", 2.0)])],
        options.clone(),
    ))
    .expect("null keys");
    assert_eq!(
        (nulls.metrics.rows_inserted, nulls.metrics.rows_updated),
        (2, 0),
        "null keys never match"
    );

    let all_matched = block_on(table.merge(
        &[trips(&[(Some(1), "NYC", 5.0), (Some(2), "NYC", 6.0)])],
        options.clone(),
    ))
    .expect("all matched");
    assert_eq!(
        (
            all_matched.metrics.rows_updated,
            all_matched.metrics.rows_inserted
        ),
        (2, 0)
    );
    let none_matched = block_on(table.merge(&[trips(&[(Some(100), "SF", 1.0)])], options.clone()))
        .expect("none matched");
    assert_eq!(
        (
            none_matched.metrics.rows_updated,
            none_matched.metrics.rows_inserted,
            none_matched.metrics.files_removed
        ),
        (0, 1, 0)
    );

    let sync = MergeOptions {
        delete_unmatched_target: true,
        ..options.clone()
    };
    let synced = block_on(table.merge(&[trips(&[(Some(1), "NYC", 5.0)])], sync)).expect("sync");
    assert_eq!(synced.metrics.rows_deleted, 4);
    assert_eq!(
        rows(&table, &latest(&table)),
        vec![(Some(1), Some("NYC".into()), Some(5.0))]
    );
}

#[test]
fn merge_on_a_composite_key_matches_on_every_column() {
    let (_, table) = new_table();
    block_on(table.append(
        &[trips(&[
            (Some(1), "NYC", 1.0),
            (Some(1), "LA", 2.0),
            (Some(2), "NYC", 3.0),
        ])],
        WriteOptions::default(),
    ))
    .expect("append");
    let options = MergeOptions {
        keys: vec!["trip_id".into(), "city".into()],
        ..Default::default()
    };
    let outcome = block_on(table.merge(
        &[trips(&[(Some(1), "LA", 20.0), (Some(2), "LA", 30.0)])],
        options.clone(),
    ))
    .expect("merge");
    assert_eq!(
        (outcome.metrics.rows_updated, outcome.metrics.rows_inserted),
        (1, 1)
    );
    assert_eq!(
        rows(&table, &latest(&table)),
        vec![
            (Some(1), Some("LA".into()), Some(20.0)),
            (Some(1), Some("NYC".into()), Some(1.0)),
            (Some(2), Some("LA".into()), Some(30.0)),
            (Some(2), Some("NYC".into()), Some(3.0)),
        ]
    );
    // A null in one key column never matches, and is not a duplicate of another null.
    let nulls = RecordBatch::try_new(
        trips_schema(),
        vec![
            Arc::new(Int64Array::from(vec![Some(1), Some(1)])),
            Arc::new(StringArray::from(vec![None::<&str>, None])),
            Arc::new(Float64Array::from(vec![5.0, 6.0])),
        ],
    )
    .expect("batch");
    let outcome = block_on(table.merge(&[nulls], options)).expect("merge nulls");
    assert_eq!(
        (outcome.metrics.rows_updated, outcome.metrics.rows_inserted),
        (0, 2)
    );
}

/// Trips with a delete flag, for merges that apply changes.
fn changes(rows: &[(i64, &str, f64, bool)]) -> RecordBatch {
    let base = trips(
        &rows
            .iter()
            .map(|(id, city, fare, _)| (Some(*id), *city, *fare))
            .collect::<Vec<_>>(),
    );
    let mut fields: Vec<Field> = base
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("deleted", DataType::Boolean, true));
    let mut columns = base.columns().to_vec();
    columns.push(Arc::new(arrow::array::BooleanArray::from(
        rows.iter().map(|r| r.3).collect::<Vec<_>>(),
    )));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch")
}

#[test]
fn merge_by_sequence_keeps_the_newest_version_and_applies_deletions() {
    let (_, table) = new_table();
    block_on(table.append(
        &[trips(&[
            (Some(1), "NYC", 5.0),
            (Some(2), "NYC", 5.0),
            (Some(3), "LA", 5.0),
        ])],
        WriteOptions::default(),
    ))
    .expect("append");
    // `fare` orders versions here: a lower fare is an older version.
    let options = MergeOptions {
        keys: vec!["trip_id".into()],
        sequence_by: Some("fare".into()),
        delete_marker: Some("deleted".into()),
        skip_unchanged: true,
        ..Default::default()
    };
    let outcome = block_on(table.merge(
        &[changes(&[
            (1, "SF", 4.0, false),  // older: loses
            (2, "SF", 6.0, false),  // newer: wins
            (3, "LA", 7.0, true),   // newer deletion: deletes
            (4, "NYC", 1.0, true),  // deletion of a key never seen: nothing
            (5, "NYC", 1.0, false), // new: inserted
        ])],
        options.clone(),
    ))
    .expect("merge");
    let metrics = &outcome.metrics;
    assert_eq!(
        (
            metrics.rows_inserted,
            metrics.rows_updated,
            metrics.rows_deleted
        ),
        (1, 1, 1)
    );
    let snapshot = latest(&table);
    assert!(
        snapshot.schema().index_of("deleted").is_err(),
        "the marker is not written"
    );
    assert_eq!(
        rows(&table, &snapshot),
        [
            (Some(1), Some("NYC".into()), Some(5.0)),
            (Some(2), Some("SF".into()), Some(6.0)),
            (Some(5), Some("NYC".into()), Some(1.0)),
        ]
    );
    let history = block_on(table.history()).expect("history");
    assert_eq!(
        history[0].operation_parameters.get("sequenceBy"),
        Some(&serde_json::Value::from("fare"))
    );

    // The same changes again: nothing to do, so no commit, not even with a txn.
    let replay = block_on(table.merge(
        &[changes(&[
            (2, "SF", 6.0, false),
            (3, "LA", 7.0, true),
            (5, "NYC", 1.0, false),
        ])],
        MergeOptions {
            txn: Some(TxnId::new("silver", 1)),
            ..options.clone()
        },
    ))
    .expect("replay");
    assert!(!replay.committed);
    assert_eq!(replay.version, snapshot.version());
    assert_eq!(latest(&table).txn_version("silver"), None);

    // An equal sequence value with other values: the later arrival wins.
    let tie = block_on(table.merge(&[changes(&[(2, "LA", 6.0, false)])], options)).expect("tie");
    assert_eq!(tie.metrics.rows_updated, 1);

    let err = block_on(table.merge(
        &[trips(&[(Some(1), "NYC", 1.0)])],
        MergeOptions {
            keys: vec!["trip_id".into()],
            delete_marker: Some("deleted".into()),
            ..Default::default()
        },
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "silver/trips: schema mismatch: delete marker deleted is not in the source"
    );
}
