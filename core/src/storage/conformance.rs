//! The behaviour every [`Storage`] implementation must show, as one suite.
//!
//! Each check receives two handles on one fresh, empty store: the second stands for
//! "reopening the store", so whatever the first wrote must be visible through it.

use std::future::Future;

use bytes::Bytes;

use super::{Storage, StorageError};

/// Runs every check, each on a fresh store from `open`.
pub(crate) async fn run_all<S, F, Fut>(mut open: F)
where
    S: Storage,
    F: FnMut() -> Fut,
    Fut: Future<Output = (S, S)>,
{
    let (a, b) = open().await;
    binary_round_trip(&a, &b).await;
    let (a, b) = open().await;
    overwrite_replaces(&a, &b).await;
    let (a, b) = open().await;
    nested_prefixes(&a, &b).await;
    let (a, _) = open().await;
    list_is_sorted(&a).await;
    let (a, b) = open().await;
    concurrent_put_if_absent_has_one_winner(&a, &b).await;
    let (a, _) = open().await;
    delete_is_idempotent(&a).await;
    let (a, _) = open().await;
    invalid_paths_are_rejected(&a).await;
}

fn pattern(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect::<Vec<_>>()
        .into()
}

async fn binary_round_trip(a: &impl Storage, b: &impl Storage) {
    let every_byte: Bytes = (0..=255u8).collect::<Vec<_>>().into();
    let big = pattern(10 * 1024 * 1024);
    let cases = [
        ("empty", Bytes::new()),
        ("bytes/all-values.bin", every_byte),
        ("bytes/ten-mebibytes.bin", big),
    ];
    for (path, data) in &cases {
        a.put(path, data.clone()).await.expect("put");
    }
    for (path, data) in &cases {
        let read = b.get(path).await.expect("get through a new handle");
        assert_eq!(read.len(), data.len(), "{path}: length");
        assert!(read == *data, "{path}: the bytes differ");
        assert_eq!(b.size(path).await.expect("size"), data.len() as u64);
        let meta = b.head(path).await.expect("head");
        assert_eq!(meta.path, *path);
        assert!(meta.last_modified_ms > 0, "{path}: modification time");
    }
    let big = &cases[2].1;
    let middle = b
        .get_range("bytes/ten-mebibytes.bin", 4_000_000..4_000_100)
        .await
        .expect("ranged read");
    assert_eq!(middle, big.slice(4_000_000..4_000_100));
    let tail = b
        .get_range(
            "bytes/ten-mebibytes.bin",
            big.len() as u64 - 8..big.len() as u64,
        )
        .await
        .expect("footer read");
    assert_eq!(tail, big.slice(big.len() - 8..));
    assert!(b
        .get_range("bytes/all-values.bin", 10..10)
        .await
        .expect("empty range")
        .is_empty());
    assert!(matches!(
        b.get_range("bytes/all-values.bin", 200..300).await,
        Err(StorageError::InvalidRange { size: 256, .. })
    ));
    assert!(matches!(
        b.get("bytes/missing.bin").await,
        Err(StorageError::NotFound { path }) if path == "bytes/missing.bin"
    ));
    assert!(matches!(
        b.head("bytes").await,
        Err(StorageError::NotFound { .. })
    ));
}

async fn overwrite_replaces(a: &impl Storage, b: &impl Storage) {
    a.put(
        "table/_last_checkpoint",
        Bytes::from_static(b"first version, long"),
    )
    .await
    .expect("put");
    b.put("table/_last_checkpoint", Bytes::from_static(b"second"))
        .await
        .expect("overwrite");
    assert_eq!(
        a.get("table/_last_checkpoint").await.expect("get"),
        Bytes::from_static(b"second")
    );
    assert_eq!(a.list("table/").await.expect("list").len(), 1);
}

async fn nested_prefixes(a: &impl Storage, b: &impl Storage) {
    for path in [
        "a/b/c",
        "a/b/d/e",
        "a/bc",
        "a/x",
        "b",
        "landing/trips/batch_001/trips.csv",
    ] {
        a.put(path, Bytes::from(path.to_owned()))
            .await
            .expect("put");
    }
    let paths = |metas: Vec<super::ObjectMeta>| -> Vec<String> {
        metas.into_iter().map(|meta| meta.path).collect()
    };
    assert_eq!(
        paths(b.list("a/b/").await.expect("list")),
        ["a/b/c", "a/b/d/e"]
    );
    assert_eq!(
        paths(b.list("a/b").await.expect("list")),
        ["a/b/c", "a/b/d/e", "a/bc"]
    );
    assert_eq!(paths(b.list("a/b/d/").await.expect("list")), ["a/b/d/e"]);
    assert_eq!(
        paths(b.list("landing/").await.expect("list")),
        ["landing/trips/batch_001/trips.csv"]
    );
    assert_eq!(
        paths(b.list("").await.expect("list")),
        [
            "a/b/c",
            "a/b/d/e",
            "a/bc",
            "a/x",
            "b",
            "landing/trips/batch_001/trips.csv"
        ]
    );
    assert!(b.list("nothing/here/").await.expect("list").is_empty());
    let listed = b.list("a/x").await.expect("list");
    assert_eq!(listed[0].size, 3);
}

async fn list_is_sorted(a: &impl Storage) {
    let versions = [7u64, 0, 12, 3, 10, 1, 11, 2];
    for version in versions {
        let path = format!("t/_delta_log/{version:020}.json");
        a.put(&path, Bytes::from(format!("{version}")))
            .await
            .expect("put");
    }
    let listed: Vec<String> = a
        .list("t/_delta_log/")
        .await
        .expect("list")
        .into_iter()
        .map(|meta| meta.path)
        .collect();
    let mut expected: Vec<String> = versions
        .iter()
        .map(|version| format!("t/_delta_log/{version:020}.json"))
        .collect();
    expected.sort();
    assert_eq!(listed, expected);
}

async fn concurrent_put_if_absent_has_one_winner(a: &impl Storage, b: &impl Storage) {
    let path = "t/_delta_log/00000000000000000001.json";
    let (first, second) = futures::join!(
        a.put_if_absent(path, Bytes::from_static(b"writer one")),
        b.put_if_absent(path, Bytes::from_static(b"writer two")),
    );
    let winner = match (&first, &second) {
        (Ok(()), Err(StorageError::AlreadyExists { .. })) => "writer one",
        (Err(StorageError::AlreadyExists { .. }), Ok(())) => "writer two",
        other => panic!("exactly one writer must win, got {other:?}"),
    };
    assert_eq!(a.get(path).await.expect("get"), Bytes::from(winner));
    assert!(matches!(
        a.put_if_absent(path, Bytes::from_static(b"late")).await,
        Err(StorageError::AlreadyExists { path: p }) if p == path
    ));
    assert_eq!(b.get(path).await.expect("get"), Bytes::from(winner));
    b.put_if_absent("t/_delta_log/00000000000000000002.json", Bytes::new())
        .await
        .expect("a free path is written");
}

async fn delete_is_idempotent(a: &impl Storage) {
    a.delete("never/written")
        .await
        .expect("deleting a missing object");
    a.put("x/y", Bytes::from_static(b"1")).await.expect("put");
    a.delete("x/y").await.expect("delete");
    assert!(matches!(
        a.get("x/y").await,
        Err(StorageError::NotFound { .. })
    ));
    assert!(a.list("x/").await.expect("list").is_empty());
    a.delete("x/y").await.expect("deleting twice");
    a.put_if_absent("x/y", Bytes::from_static(b"2"))
        .await
        .expect("a deleted path is free again");
}

async fn invalid_paths_are_rejected(a: &impl Storage) {
    for path in ["", "/abs", "a//b", "a/../b", "a/.tmp-x"] {
        assert!(
            matches!(
                a.put(path, Bytes::new()).await,
                Err(StorageError::InvalidPath { .. })
            ),
            "{path:?}"
        );
        assert!(matches!(
            a.get(path).await,
            Err(StorageError::InvalidPath { .. })
        ));
    }
}

/// Threads racing `put_if_absent` on one path through separate handles: exactly one wins.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn threads_race_put_if_absent<S>(handles: Vec<S>)
where
    S: Storage + 'static,
{
    let path = "race/_delta_log/00000000000000000000.json";
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(handles.len()));
    let threads: Vec<_> = handles
        .into_iter()
        .enumerate()
        .map(|(writer, store)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let data = Bytes::from(format!("writer {writer}"));
                futures::executor::block_on(store.put_if_absent(path, data)).map(|()| writer)
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
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(_) | Err(StorageError::AlreadyExists { .. }))));
}

/// Runs the suite and the thread race natively, on stores opened by `open` in fresh
/// folders; two handles opened on one folder must see the same objects.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn run_in_folders<S, F>(open: F)
where
    S: Storage + 'static,
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
