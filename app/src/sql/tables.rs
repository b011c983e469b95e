//! The Tables panel: every table and view the console knows, with its columns; a
//! click on a name inserts it in the editor at the cursor.

use std::collections::BTreeSet;

use leptos::prelude::*;
use medallion_core::sql::{SqlTable, SqlTableKind};

use super::editor::insert_at_cursor;
use super::SqlState;

fn kind_text(table: &SqlTable) -> String {
    match (table.kind, table.version) {
        (SqlTableKind::View, _) => "view".to_owned(),
        (SqlTableKind::Delta, Some(version)) => format!("v{version}"),
        (SqlTableKind::Delta, None) => "table".to_owned(),
    }
}

/// One table: its name to insert, its kind or version, and its columns when opened.
fn table_item(state: SqlState, table: SqlTable, open: RwSignal<BTreeSet<String>>) -> impl IntoView {
    let name = format!("{}.{}", table.schema, table.name);
    let is_open = {
        let name = name.clone();
        Memo::new(move |_| open.with(|open| open.contains(&name)))
    };
    let toggle = {
        let name = name.clone();
        move |_| {
            open.update(|open| {
                if !open.remove(&name) {
                    open.insert(name.clone());
                }
            })
        }
    };
    let insert_name = name.clone();
    let columns = table.columns.clone();
    view! {
        <li class="sql-table">
            <button
                class="disclosure"
                aria-expanded=move || is_open.get().to_string()
                aria-label=format!("Columns of {name}")
                on:click=toggle
            >
                {move || if is_open.get() { "▾" } else { "▸" }}
            </button>
            <button class="link" title="Insert at the cursor" on:click=move |_| insert_at_cursor(state, &insert_name)>
                {name.clone()}
            </button>
            <span class="sql-table-kind">{kind_text(&table)}</span>
            {move || is_open.get().then(|| {
                view! {
                    <ul class="sql-columns" aria-label=format!("Columns of {name}")>
                        {columns
                            .clone()
                            .into_iter()
                            .map(|column| {
                                let insert = column.name.clone();
                                view! {
                                    <li>
                                        <button
                                            class="link"
                                            title="Insert at the cursor"
                                            on:click=move |_| insert_at_cursor(state, &insert)
                                        >
                                            {column.name}
                                        </button>
                                        " "
                                        <code class="sql-column-type">{column.data_type}</code>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
            })}
        </li>
    }
}

/// Every table and view, filtered by name.
#[component]
pub fn Tables(state: SqlState) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let open = RwSignal::new(BTreeSet::new());
    let shown = move || {
        let filter = filter.get().to_lowercase();
        state.tables.with(|tables| {
            tables
                .iter()
                .filter(|table| format!("{}.{}", table.schema, table.name).contains(&filter))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="panel side" aria-labelledby="sql-tables-heading">
            <h2 id="sql-tables-heading">"Tables"</h2>
            <label>
                "Filter "
                <input
                    type="search"
                    aria-label="Filter tables"
                    prop:value=move || filter.get()
                    on:input=move |event| filter.set(event_target_value(&event))
                />
            </label>
            {move || state.tables.with(Vec::is_empty).then(|| view! {
                <p>"No tables yet: load a sample batch and run the pipeline."</p>
            })}
            <ul class="sql-tables" data-testid="sql-tables">
                {move || shown().into_iter().map(|table| table_item(state, table, open)).collect_view()}
            </ul>
        </section>
    }
}
