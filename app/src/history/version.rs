//! One version of a key: its kind and validity, what changed from the version before,
//! where it came from (the snapshot's Delta commit, the Bronze batch and file) and the
//! facts that point at it.

use leptos::prelude::*;
use medallion_core::history::{FactLink, RowOrigin, Scd2Relation, Scd2Version, VersionKind};

use crate::route::Route;

/// How a version's kind reads.
pub(super) fn kind_name(kind: &VersionKind) -> &'static str {
    match kind {
        VersionKind::Created => "created",
        VersionKind::Changed => "changed",
        VersionKind::Deleted => "deleted",
        VersionKind::Restored => "restored",
    }
}

/// A relation's Delta table: `gold.customers_snapshot` is `gold/customers_snapshot`.
fn table_of(relation: &str) -> String {
    relation.replacen('.', "/", 1)
}

/// A key as a SQL literal: a number as it is, anything else quoted.
fn literal(key: &str) -> String {
    let digits = key.strip_prefix('-').unwrap_or(key);
    if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) {
        key.to_owned()
    } else {
        format!("'{}'", key.replace('\'', "''"))
    }
}

/// What a fact's rows are called: `trip_id` facts are trips.
fn fact_noun(fact: &FactLink, count: u64) -> String {
    let noun = fact
        .key_column
        .strip_suffix("_id")
        .unwrap_or(&fact.key_column)
        .replace('_', " ");
    if count == 1 {
        noun
    } else {
        format!("{noun}s")
    }
}

/// The query that shows one fact's row, for the SQL view.
fn fact_query(fact: &FactLink, key: &str) -> String {
    format!(
        "select * from {} where {} = {}",
        fact.relation,
        fact.key_column,
        literal(key)
    )
}

/// Where the version's row came from: the snapshot's commit, the Bronze batch and file.
fn origin_view(
    relation: &Scd2Relation,
    snapshot_version: Option<i64>,
    origin: Option<RowOrigin>,
) -> impl IntoView {
    let snapshot = snapshot_version.map(|version| {
        let href = Route::Explorer {
            table: Some(table_of(&relation.snapshot)),
            version: Some(version),
        }
        .to_hash();
        view! {
            <li>
                "Written by "
                <a href=href>{format!("Snapshot version {version}")}</a>
                {format!(" of {}", relation.snapshot)}
            </li>
        }
    });
    let bronze = origin.map(|origin| {
        let href = Route::Explorer {
            table: Some(origin.bronze_table.clone()),
            version: origin.bronze_version,
        }
        .to_hash();
        let at = origin
            .bronze_version
            .map(|version| format!(" (version {version} of {})", origin.bronze_table))
            .unwrap_or_else(|| format!(" of {}", origin.bronze_table));
        view! {
            <li>
                "Its Silver row came from "
                <a href=href>{format!("Bronze batch {}", origin.batch_id)}</a>
                {at}
                ", file "
                <code class="source-file">{origin.source_file}</code>
            </li>
        }
    });
    view! { <ul class="origin">{snapshot} {bronze}</ul> }
}

/// The facts on a version: per fact table the count and the keys, each a link to the
/// SQL view showing that fact's row.
fn facts_view(number: usize, facts: Vec<FactLink>) -> impl IntoView {
    (!facts.is_empty()).then(|| {
        let groups = facts
            .into_iter()
            .map(|fact| {
                let listed = fact.keys.len() as u64;
                let mut count = format!("{} {} in {}", fact.count, fact_noun(&fact, fact.count), fact.relation);
                if listed < fact.count {
                    count.push_str(&format!(" (the first {listed} listed)"));
                }
                let keys = fact
                    .keys
                    .iter()
                    .map(|key| {
                        let href = Route::Sql {
                            query: Some(fact_query(&fact, key)),
                        }
                        .to_hash();
                        view! { <li><a href=href>{key.clone()}</a></li> }
                    })
                    .collect_view();
                view! {
                    <li class="fact-group">
                        <p class="fact-count">{count}</p>
                        <ul class="fact-keys" aria-label=format!("{} on version {number}", fact.relation)>
                            {keys}
                        </ul>
                    </li>
                }
            })
            .collect_view();
        view! {
            <h5>"Facts pointing at it"</h5>
            <ul class="facts" aria-label=format!("Facts on version {number}")>{groups}</ul>
        }
    })
}

/// One version as an article of the Versions list; picking it highlights its bar.
#[component]
pub(super) fn VersionArticle(
    relation: Scd2Relation,
    version: Scd2Version,
    selected: Signal<Option<usize>>,
    select: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let number = version.number;
    let kind = kind_name(&version.kind);
    let heading = format!("version-{number}-heading");
    let labelled = heading.clone();
    let until = match &version.valid_to {
        Some(to) => to.clone(),
        None => "now (current, open-ended)".to_owned(),
    };
    let changes = (!version.changes.is_empty()).then(|| {
        view! {
            <table class="plain changes">
                <caption>{format!("Changes in version {number}")}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Column"</th>
                        <th scope="col">"Old"</th>
                        <th scope="col">"New"</th>
                    </tr>
                </thead>
                <tbody>
                    {version
                        .changes
                        .iter()
                        .map(|change| view! {
                            <tr>
                                <th scope="row">{change.column.clone()}</th>
                                <td class="old"><code>{change.old.clone()}</code></td>
                                <td class="new"><code>{change.new.clone()}</code></td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
    });
    let values = version
        .values
        .iter()
        .map(|value| view! { <dt>{value.column.clone()}</dt><dd>{value.value.clone()}</dd> })
        .collect_view();
    let surrogate = relation
        .surrogate_key
        .clone()
        .zip(version.surrogate.clone())
        .map(|(column, value)| view! { <p class="surrogate">{column}" "<code>{value}</code></p> });
    let class = move || {
        let picked = selected.get() == Some(number);
        format!("version {kind}{}", if picked { " selected" } else { "" })
    };
    view! {
        <li>
            <article
                class=class
                aria-labelledby=labelled
                on:click=move |_| select(number)
                on:focusin=move |_| select(number)
            >
                <header>
                    <h4 id=heading>{format!("Version {number}")}</h4>
                    <span class=format!("kind kind-{kind}")>{kind}</span>
                    {version.is_current.then(|| view! { <span class="kind kind-current">"current"</span> })}
                </header>
                <p class="valid">
                    {format!("Valid from {} to {until}", version.valid_from)}
                </p>
                {surrogate}
                {changes}
                <details open=number == 1>
                    <summary>{format!("Attributes of version {number}")}</summary>
                    <dl class="values">{values}</dl>
                </details>
                {origin_view(&relation, version.snapshot_version, version.origin)}
                {facts_view(number, version.facts)}
            </article>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_fact_links_to_the_query_of_its_row() {
        let fact = FactLink {
            relation: "gold.fact_trips".to_owned(),
            key_column: "trip_id".to_owned(),
            count: 2,
            keys: vec!["1983".to_owned(), "o'brien".to_owned()],
        };
        assert_eq!(
            fact_query(&fact, "1983"),
            "select * from gold.fact_trips where trip_id = 1983"
        );
        assert_eq!(
            fact_query(&fact, "o'brien"),
            "select * from gold.fact_trips where trip_id = 'o''brien'"
        );
        assert_eq!(fact_noun(&fact, 2), "trips");
        assert_eq!(fact_noun(&fact, 1), "trip");
        assert_eq!(
            table_of("gold.customers_snapshot"),
            "gold/customers_snapshot"
        );
        assert_eq!(literal("-3"), "-3");
        assert_eq!(literal(""), "''");
    }
}
