//! [`CheckpointStore`] in IndexedDB: one database, one object store of
//! `key → Uint8Array`.
//!
//! A [`WriteBatch`] is one readwrite transaction. The transaction first reads every key
//! the batch's `put_if_absent` operations need, checks the preconditions, then issues
//! the writes; IndexedDB commits them all or none, and serialises readwrite
//! transactions on the same store across tabs, so the check and the writes cannot be
//! interleaved with another writer's.

use std::collections::BTreeMap;

use std::future::IntoFuture;

use async_trait::async_trait;
use idb::{Database, DatabaseEvent, Factory, KeyRange, ObjectStoreParams, Query, TransactionMode};
use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};

use super::{describe, dom_exception_name};
use crate::checkpoint::{
    validate_key, CheckpointError, CheckpointResult, CheckpointStore, WriteBatch, WriteOp,
};

const STORE: &str = "checkpoint";

/// A checkpoint store in the IndexedDB database `name`.
#[derive(Debug)]
pub struct IndexedDbCheckpointStore {
    name: String,
    database: Database,
}

fn idb_error(location: &str, operation: &'static str, err: idb::Error) -> CheckpointError {
    let exception = match &err {
        idb::Error::DomException(exception) => Some(JsValue::from(exception.clone())),
        _ => None,
    };
    let name = exception.as_ref().and_then(dom_exception_name);
    let detail = exception
        .as_ref()
        .map(describe)
        .unwrap_or_else(|| err.to_string());
    let location = format!("IndexedDB {location}");
    match name.as_deref() {
        Some("QuotaExceededError") => CheckpointError::QuotaExceeded { location, detail },
        _ => CheckpointError::Io {
            location,
            operation,
            detail,
        },
    }
}

impl IndexedDbCheckpointStore {
    /// Opens (creating if needed) the database `name`.
    pub async fn open(name: &str) -> CheckpointResult<Self> {
        let factory = Factory::new().map_err(|err| idb_error(name, "open", err))?;
        let mut request = factory
            .open(name, Some(1))
            .map_err(|err| idb_error(name, "open", err))?;
        request.on_upgrade_needed(|event| {
            // Runs only when the database is new: version 1 has one store.
            if let Ok(database) = event.database() {
                if !database.store_names().iter().any(|store| store == STORE) {
                    let _ = database.create_object_store(STORE, ObjectStoreParams::new());
                }
            }
        });
        let database = request.await.map_err(|err| idb_error(name, "open", err))?;
        if !database.store_names().iter().any(|store| store == STORE) {
            return Err(CheckpointError::Corrupt {
                location: format!("IndexedDB {name}"),
                detail: format!("the database has no '{STORE}' object store"),
            });
        }
        Ok(Self {
            name: name.to_owned(),
            database,
        })
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn error(&self, operation: &'static str, err: idb::Error) -> CheckpointError {
        idb_error(&self.name, operation, err)
    }

    fn corrupt(&self, detail: String) -> CheckpointError {
        CheckpointError::Corrupt {
            location: format!("IndexedDB {}", self.name),
            detail,
        }
    }

    fn value_bytes(&self, value: JsValue) -> CheckpointResult<Vec<u8>> {
        value
            .dyn_into::<Uint8Array>()
            .map(|array| array.to_vec())
            .map_err(|value| self.corrupt(format!("a value is not bytes: {value:?}")))
    }
}

#[async_trait(?Send)]
impl CheckpointStore for IndexedDbCheckpointStore {
    fn backend(&self) -> &'static str {
        "IndexedDB"
    }

    async fn get(&self, key: &str) -> CheckpointResult<Option<Vec<u8>>> {
        validate_key(key)?;
        let transaction = self
            .database
            .transaction(&[STORE], TransactionMode::ReadOnly)
            .map_err(|err| self.error("read", err))?;
        let store = transaction
            .object_store(STORE)
            .map_err(|err| self.error("read", err))?;
        let value = store
            .get(JsValue::from_str(key))
            .map_err(|err| self.error("read", err))?
            .await
            .map_err(|err| self.error("read", err))?;
        value.map(|value| self.value_bytes(value)).transpose()
    }

    async fn scan(&self, prefix: &str) -> CheckpointResult<Vec<(String, Vec<u8>)>> {
        let transaction = self
            .database
            .transaction(&[STORE], TransactionMode::ReadOnly)
            .map_err(|err| self.error("scan", err))?;
        let store = transaction
            .object_store(STORE)
            .map_err(|err| self.error("scan", err))?;
        // Keys never contain U+FFFF (validate_key), so this range is exactly the prefix.
        let range = KeyRange::bound(
            &JsValue::from_str(prefix),
            &JsValue::from_str(&format!("{prefix}\u{FFFF}")),
            Some(false),
            Some(false),
        )
        .map_err(|err| self.error("scan", err))?;
        let keys_request = store
            .get_all_keys(Some(Query::KeyRange(range.clone())), None)
            .map_err(|err| self.error("scan", err))?;
        let values_request = store
            .get_all(Some(Query::KeyRange(range)), None)
            .map_err(|err| self.error("scan", err))?;
        // Both futures must exist (and hook their callbacks) before either is awaited.
        let (keys, values) =
            futures::join!(keys_request.into_future(), values_request.into_future());
        let keys = keys.map_err(|err| self.error("scan", err))?;
        let values = values.map_err(|err| self.error("scan", err))?;
        if keys.len() != values.len() {
            return Err(self.corrupt("keys and values differ in number".to_owned()));
        }
        let mut pairs = Vec::with_capacity(keys.len());
        for (key, value) in keys.into_iter().zip(values) {
            let key = key
                .as_string()
                .ok_or_else(|| self.corrupt(format!("a key is not a string: {key:?}")))?;
            pairs.push((key, self.value_bytes(value)?));
        }
        // IndexedDB orders by UTF-16 code units; the trait promises byte order.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(pairs)
    }

    async fn write(&self, batch: WriteBatch) -> CheckpointResult<()> {
        batch.validate()?;
        if batch.is_empty() {
            return Ok(());
        }
        let transaction = self
            .database
            .transaction(&[STORE], TransactionMode::ReadWrite)
            .map_err(|err| self.error("write", err))?;
        let store = transaction
            .object_store(STORE)
            .map_err(|err| self.error("write", err))?;

        // Read what the preconditions need, inside the same transaction.
        let mut present = BTreeMap::new();
        for op in batch.ops() {
            if let WriteOp::PutIfAbsent { key, .. } = op {
                if present.contains_key(key.as_str()) {
                    continue;
                }
                let count = store
                    .count(Some(Query::Key(JsValue::from_str(key))))
                    .map_err(|err| self.error("write", err))?
                    .await
                    .map_err(|err| self.error("write", err))?;
                present.insert(key.as_str(), count > 0);
            }
        }
        if let Err(conflict) =
            batch.check_preconditions(|key| present.get(key).copied().unwrap_or(false))
        {
            let _ = transaction.abort();
            return Err(conflict);
        }

        for op in batch.ops() {
            let issued = match op {
                WriteOp::Put { key, value } | WriteOp::PutIfAbsent { key, value } => store
                    .put(
                        &Uint8Array::from(value.as_slice()).into(),
                        Some(&JsValue::from_str(key)),
                    )
                    .map(drop),
                WriteOp::Delete { key } => store.delete(JsValue::from_str(key)).map(drop),
            };
            issued.map_err(|err| self.error("write", err))?;
        }
        let outcome = transaction.await.map_err(|err| self.error("commit", err))?;
        if outcome.is_committed() {
            Ok(())
        } else {
            Err(CheckpointError::Io {
                location: format!("IndexedDB {}", self.name),
                operation: "commit",
                detail: "the transaction was aborted; nothing was written".to_owned(),
            })
        }
    }
}
