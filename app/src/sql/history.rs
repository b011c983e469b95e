//! The queries run so far, kept in the page's own IndexedDB database
//! (`medallion-sql-history`) so they survive a reload, newest first.

use idb::{Database, DatabaseEvent, Factory, KeyRange, ObjectStoreParams, Query, TransactionMode};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;

use super::SqlState;
use crate::connection::Connection;

/// The database, apart from the warehouse's checkpoint store.
const DATABASE: &str = "medallion-sql-history";
/// Its one object store: JSON entries under auto-incremented keys.
const STORE: &str = "queries";
/// Entries kept; older ones are deleted.
const KEPT: u32 = 200;

/// One query run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The SQL text.
    pub sql: String,
    /// When it ran, in milliseconds since the epoch.
    pub at_ms: f64,
}

fn failed(operation: &str) -> impl Fn(idb::Error) -> String + '_ {
    move |err| format!("the query history cannot {operation}: {err}")
}

async fn open() -> Result<Database, String> {
    let factory = Factory::new().map_err(failed("open"))?;
    let mut request = factory.open(DATABASE, Some(1)).map_err(failed("open"))?;
    request.on_upgrade_needed(|event| {
        if let Ok(database) = event.database() {
            let mut params = ObjectStoreParams::new();
            params.auto_increment(true);
            let _ = database.create_object_store(STORE, params);
        }
    });
    request.await.map_err(failed("open"))
}

/// Every kept entry, newest first.
pub async fn load() -> Result<Vec<HistoryEntry>, String> {
    let database = open().await?;
    let transaction = database
        .transaction(&[STORE], TransactionMode::ReadOnly)
        .map_err(failed("be read"))?;
    let store = transaction.object_store(STORE).map_err(failed("be read"))?;
    let values = store
        .get_all(None, None)
        .map_err(failed("be read"))?
        .await
        .map_err(failed("be read"))?;
    let mut entries: Vec<HistoryEntry> = values
        .into_iter()
        .filter_map(|value| serde_json::from_str(&value.as_string()?).ok())
        .collect();
    entries.reverse();
    Ok(entries)
}

/// Adds an entry, and deletes the oldest beyond [`KEPT`].
pub async fn add(entry: &HistoryEntry) -> Result<(), String> {
    let json = serde_json::to_string(entry).map_err(|err| err.to_string())?;
    let database = open().await?;
    let transaction = database
        .transaction(&[STORE], TransactionMode::ReadWrite)
        .map_err(failed("be written"))?;
    let store = transaction
        .object_store(STORE)
        .map_err(failed("be written"))?;
    let key = store
        .add(&JsValue::from_str(&json), None)
        .map_err(failed("be written"))?
        .await
        .map_err(failed("be written"))?;
    // Keys count up from 1: everything at or below `key - KEPT` is older than the kept.
    if let Some(newest) = key.as_f64() {
        let oldest_kept = newest - f64::from(KEPT);
        if oldest_kept >= 1.0 {
            let range = KeyRange::upper_bound(&JsValue::from_f64(oldest_kept), Some(false))
                .map_err(failed("be pruned"))?;
            store
                .delete(Query::KeyRange(range))
                .map_err(failed("be pruned"))?;
        }
    }
    transaction.await.map(drop).map_err(failed("be written"))
}

fn local_time(ms: f64) -> String {
    js_sys::Date::new(&JsValue::from_f64(ms))
        .to_locale_string("en-GB", &JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

/// The queries run so far: a click puts one back in the editor, `Run` runs it again.
#[component]
pub fn History(state: SqlState, connection: Connection) -> impl IntoView {
    view! {
        <section class="panel side" aria-labelledby="sql-history-heading">
            <h2 id="sql-history-heading">"History"</h2>
            {move || state.history_error.get().map(|message| view! { <p class="error">{message}</p> })}
            {move || state.history.with(Vec::is_empty).then(|| view! { <p>"The queries you run are kept here."</p> })}
            <ol class="sql-history" data-testid="sql-history">
                {move || {
                    state
                        .history
                        .get()
                        .into_iter()
                        .map(|entry| {
                            let sql = entry.sql.clone();
                            let again = entry.sql.clone();
                            view! {
                                <li>
                                    <button
                                        class="link history-sql"
                                        title=format!("Put in the editor: {}", entry.sql)
                                        on:click=move |_| state.put(sql.clone())
                                    >
                                        {entry.sql.clone()}
                                    </button>
                                    <span class="history-time">{local_time(entry.at_ms)}</span>
                                    <button
                                        class="small"
                                        aria-label=format!("Run again: {}", entry.sql)
                                        disabled=move || state.running.get()
                                        on:click=move |_| {
                                            state.put(again.clone());
                                            state.run(connection);
                                        }
                                    >
                                        "Run"
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ol>
        </section>
    }
}
