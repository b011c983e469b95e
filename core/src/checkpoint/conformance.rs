//! The behaviour every [`CheckpointStore`] implementation must show, as one suite.
//!
//! Each check receives two handles on one fresh, empty store; the second stands for
//! "reopening the store".

use std::future::Future;

use super::{CheckpointError, CheckpointStore, WriteBatch};

/// Runs every check, each on a fresh store from `open`.
pub(crate) async fn run_all<S, F, Fut>(mut open: F)
where
    S: CheckpointStore,
    F: FnMut() -> Fut,
    Fut: Future<Output = (S, S)>,
{
    let (a, b) = open().await;
    binary_round_trip(&a, &b).await;
    let (a, b) = open().await;
    nested_prefixes_scan_in_order(&a, &b).await;
    let (a, b) = open().await;
    batches_are_atomic(&a, &b).await;
    let (a, b) = open().await;
    concurrent_put_if_absent_has_one_winner(&a, &b).await;
    let (a, _) = open().await;
    delete_is_idempotent(&a).await;
}

async fn binary_round_trip(a: &impl CheckpointStore, b: &impl CheckpointStore) {
    let big: Vec<u8> = (0..10 * 1024 * 1024)
        .map(|i: usize| (i * 7 + (i >> 12)) as u8)
        .collect();
    let cases: [(&str, Vec<u8>); 3] = [
        ("empty", Vec::new()),
        ("stream/sources/all-bytes", (0..=255u8).collect()),
        ("stream/big", big),
    ];
    for (key, value) in &cases {
        a.put(key, value.clone()).await.expect("put");
    }
    for (key, value) in &cases {
        let read = b.get(key).await.expect("get").expect("present");
        assert!(read == *value, "{key}: the value differs");
    }
    assert_eq!(b.get("missing").await.expect("get"), None);
    a.put("empty", b"now set".to_vec())
        .await
        .expect("overwrite");
    assert_eq!(
        b.get("empty").await.expect("get"),
        Some(b"now set".to_vec())
    );
}

async fn nested_prefixes_scan_in_order(a: &impl CheckpointStore, b: &impl CheckpointStore) {
    let keys = [
        "bronze/trips/offsets/00000000000000000002",
        "bronze/trips/commits/00000000000000000000",
        "bronze/trips/offsets/00000000000000000000",
        "bronze/trips/offsets/00000000000000000010",
        "bronze/trips",
        "bronze/tripsx/offsets/00000000000000000000",
        "silver/trips/last_version",
        "bronze/trips/sources/landing/trips/batch_001/trips.csv",
    ];
    for (i, key) in keys.iter().enumerate() {
        a.put(key, vec![i as u8]).await.expect("put");
    }
    let scanned_keys = |pairs: Vec<(String, Vec<u8>)>| -> Vec<String> {
        pairs.into_iter().map(|(key, _)| key).collect()
    };
    assert_eq!(
        scanned_keys(b.scan("bronze/trips/offsets/").await.expect("scan")),
        [
            "bronze/trips/offsets/00000000000000000000",
            "bronze/trips/offsets/00000000000000000002",
            "bronze/trips/offsets/00000000000000000010",
        ]
    );
    assert_eq!(
        scanned_keys(b.scan("bronze/trips/").await.expect("scan")),
        [
            "bronze/trips/commits/00000000000000000000",
            "bronze/trips/offsets/00000000000000000000",
            "bronze/trips/offsets/00000000000000000002",
            "bronze/trips/offsets/00000000000000000010",
            "bronze/trips/sources/landing/trips/batch_001/trips.csv",
        ]
    );
    let everything = b.scan("").await.expect("scan");
    let mut sorted = keys.map(str::to_owned).to_vec();
    sorted.sort();
    assert_eq!(scanned_keys(everything.clone()), sorted);
    let silver = everything
        .iter()
        .find(|(key, _)| key == "silver/trips/last_version")
        .expect("silver key");
    assert_eq!(silver.1, vec![6]);
    assert!(b.scan("gold/").await.expect("scan").is_empty());
}

async fn batches_are_atomic(a: &impl CheckpointStore, b: &impl CheckpointStore) {
    a.put("s/offsets/1", b"planned".to_vec())
        .await
        .expect("put");
    let failing = WriteBatch::new()
        .put("s/commits/1", b"done".to_vec())
        .delete("s/offsets/1")
        .put_if_absent("s/offsets/1", b"again".to_vec())
        .put_if_absent("s/offsets/1", b"twice".to_vec());
    assert_eq!(
        a.write(failing).await,
        Err(CheckpointError::KeyExists {
            key: "s/offsets/1".into()
        })
    );
    assert_eq!(b.get("s/commits/1").await.expect("get"), None);
    assert_eq!(
        b.get("s/offsets/1").await.expect("get"),
        Some(b"planned".to_vec())
    );
    let batch = WriteBatch::new()
        .put_if_absent("s/commits/1", b"done".to_vec())
        .put("s/seen/a.csv", b"{}".to_vec())
        .delete("s/offsets/1")
        .put("s/offsets/2", b"next".to_vec());
    b.write(batch).await.expect("batch");
    let all: Vec<(String, Vec<u8>)> = a.scan("s/").await.expect("scan");
    assert_eq!(
        all,
        vec![
            ("s/commits/1".to_owned(), b"done".to_vec()),
            ("s/offsets/2".to_owned(), b"next".to_vec()),
            ("s/seen/a.csv".to_owned(), b"{}".to_vec()),
        ]
    );
    a.write(WriteBatch::new()).await.expect("an empty batch");
    assert!(matches!(
        a.write(
            WriteBatch::new()
                .put("ok", b"1".to_vec())
                .put("", b"2".to_vec())
        )
        .await,
        Err(CheckpointError::InvalidKey { .. })
    ));
    assert_eq!(
        b.get("ok").await.expect("get"),
        None,
        "an invalid batch writes nothing"
    );
}

async fn concurrent_put_if_absent_has_one_winner(
    a: &impl CheckpointStore,
    b: &impl CheckpointStore,
) {
    let key = "s/commits/00000000000000000007";
    let (first, second) = futures::join!(
        a.put_if_absent(key, b"one".to_vec()),
        b.put_if_absent(key, b"two".to_vec()),
    );
    let winner: &[u8] = match (&first, &second) {
        (Ok(()), Err(CheckpointError::KeyExists { .. })) => b"one",
        (Err(CheckpointError::KeyExists { .. }), Ok(())) => b"two",
        other => panic!("exactly one writer must win, got {other:?}"),
    };
    assert_eq!(a.get(key).await.expect("get").as_deref(), Some(winner));
    assert_eq!(b.get(key).await.expect("get").as_deref(), Some(winner));
}

async fn delete_is_idempotent(a: &impl CheckpointStore) {
    a.delete("never/written")
        .await
        .expect("deleting a missing key");
    a.put("k", b"v".to_vec()).await.expect("put");
    a.delete("k").await.expect("delete");
    assert_eq!(a.get("k").await.expect("get"), None);
    a.delete("k").await.expect("deleting twice");
    a.put_if_absent("k", b"again".to_vec())
        .await
        .expect("a deleted key is free again");
}

/// Threads racing `put_if_absent` on one key through separate handles: exactly one wins.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn threads_race_put_if_absent<S>(handles: Vec<S>)
where
    S: CheckpointStore + 'static,
{
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(handles.len()));
    let threads: Vec<_> = handles
        .into_iter()
        .enumerate()
        .map(|(writer, store)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let value = format!("writer {writer}").into_bytes();
                futures::executor::block_on(store.put_if_absent("race/commits/0", value))
                    .map(|()| writer)
            })
        })
        .collect();
    let results: Vec<_> = threads
        .into_iter()
        .map(|thread| thread.join().expect("writer thread"))
        .collect();
    let winners: Vec<usize> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
}

/// Runs the suite and the thread race natively, on stores opened by `open` in fresh
/// folders; two handles opened on one folder must see the same entries.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn run_in_folders<S, F>(open: F)
where
    S: CheckpointStore + 'static,
    F: Fn(&std::path::Path) -> S,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let mut round = 0;
    futures::executor::block_on(run_all(|| {
        round += 1;
        let root = dir.path().join(format!("store-{round}"));
        let pair = (open(&root), open(&root));
        async move { pair }
    }));
    let race = dir.path().join("race");
    threads_race_put_if_absent((0..8).map(|_| open(&race)).collect());
}
