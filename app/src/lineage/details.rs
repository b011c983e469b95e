//! The selected node's panel, and the tree of a column's upstream columns.

use leptos::prelude::*;
use medallion_core::lineage::{
    LineageNode, NodeDetails, NodeKind, SqlToken, TestBadge, UpstreamColumn,
};

use super::{rows_text, run_text, select_node, status_name, LineageState};
use crate::route::{navigate, Route};

/// Highlighted SQL.
fn sql_view(tokens: Vec<SqlToken>) -> impl IntoView {
    tokens
        .into_iter()
        .map(|token| view! { <span class=token.kind.css_class()>{token.text}</span> })
        .collect_view()
}

/// A test's last status: `pass`, `fail`, … or `not run`.
fn test_status(test: &TestBadge) -> &'static str {
    test.run
        .as_ref()
        .map_or("not run", |run| status_name(run.status))
}

/// Buttons that select each of `ids`.
fn node_links(ids: Vec<String>) -> impl IntoView {
    ids.into_iter()
        .map(|id| {
            let target = id.clone();
            view! {
                <li>
                    <button class="link" on:click=move |_| select_node(&target)>{id}</button>
                </li>
            }
        })
        .collect_view()
}

/// (label, value) rows.
fn pairs_table(rows: &[(String, String)], testid: &'static str) -> impl IntoView {
    view! {
        <table class="plain" data-testid=testid>
            <tbody>
                {rows
                    .iter()
                    .map(|(key, value)| view! {
                        <tr><th scope="row">{key.clone()}</th><td><code>{value.clone()}</code></td></tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The selected node's details: its run, description, config, SQL, columns and tests,
/// checkpoint and steps, parents and children.
#[component]
pub(super) fn Details(state: LineageState, id: String, route: RwSignal<Route>) -> impl IntoView {
    let node = state.node(id.clone());
    let children = {
        let id = id.clone();
        Memo::new(move |_| {
            state.view.with(|view| {
                view.as_ref().map_or(Vec::new(), |view| {
                    view.graph
                        .children(&id)
                        .into_iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
            })
        })
    };
    let details = {
        let id = id.clone();
        Memo::new(move |_| state.details.get().filter(|details| details.id == id))
    };
    view! {
        <aside class="details" aria-labelledby="details-heading" data-testid="node-details">
            <h3 id="details-heading">{id.clone()}</h3>
            {move || node.get().map(|node| view! { <NodeSummary node /> })}
            {move || details.with(Option::is_none).then(|| view! {
                <p class="loading">"Reading its SQL, columns and checkpoint…"</p>
            })}
            {move || details.get().map(|details| {
                let tests = node.get().map(|node| node.tests).unwrap_or_default();
                view! {
                    {(!details.description.is_empty()).then(|| view! { <p class="description">{details.description.clone()}</p> })}
                    {details.file.clone().map(|file| view! { <p><code>{file}</code></p> })}
                    {(!details.config.is_empty()).then(|| view! {
                        <h4>"Config"</h4>
                        {pairs_table(&details.config, "node-config")}
                    })}
                    <SqlPair details=details.clone() />
                    <Columns state route details=details.clone() tests=tests.clone() />
                    <NodeTests tests />
                    {(!details.checkpoint.is_empty()).then(|| view! {
                        <h4>"Checkpoint"</h4>
                        {pairs_table(&details.checkpoint, "node-checkpoint")}
                    })}
                    <PipelineSteps details />
                }
            })}
            <h4>"Parents"</h4>
            <ul class="relatives" data-testid="node-parents">
                {move || node_links(node.get().map(|node| node.parents).unwrap_or_default())}
            </ul>
            <h4>"Children"</h4>
            <ul class="relatives" data-testid="node-children">{move || node_links(children.get())}</ul>
        </aside>
    }
}

/// A node's kind, rows and last run, its run's message, and a link to its table.
#[component]
fn NodeSummary(node: LineageNode) -> impl IntoView {
    let explore = node
        .table
        .clone()
        .zip(node.state.version)
        .map(|(table, version)| {
            let href = Route::Explorer {
                table: Some(table.clone()),
                version: Some(version),
            }
            .to_hash();
            view! { <a href=href>{format!("Explore {table} at version {version}")}</a> }
        });
    let rows = rows_text(&node);
    view! {
        <p class="node-summary">
            {format!("{} · {}", node.kind.layer(), node.kind.label())}
            {(!rows.is_empty()).then(|| format!(" · {rows}"))}
            {format!(" · last run: {}", run_text(node.state.run.as_ref()))}
        </p>
        {node.state.run.as_ref().filter(|run| !run.message.is_empty()).map(|run| {
            view! { <p class=format!("run-message status-{}", status_name(run.status))>{run.message.clone()}</p> }
        })}
        {explore}
    }
}

/// A model's Jinja and its compiled SQL, side by side.
#[component]
fn SqlPair(details: NodeDetails) -> impl IntoView {
    details.raw_sql.map(|raw| {
        let compiled = match (details.compiled_sql, details.compile_error) {
            (Some(compiled), _) => view! {
                <pre class="sql" data-testid="compiled-sql"><code>{sql_view(compiled)}</code></pre>
            }
            .into_any(),
            (None, error) => view! {
                <p class="error">{error.unwrap_or_else(|| "not compiled".to_owned())}</p>
            }
            .into_any(),
        };
        view! {
            <div class="sql-pair">
                <figure>
                    <figcaption>"SQL (Jinja)"</figcaption>
                    <pre class="sql" data-testid="raw-sql"><code>{sql_view(raw)}</code></pre>
                </figure>
                <figure>
                    <figcaption>"Compiled SQL"</figcaption>
                    {compiled}
                </figure>
            </div>
        }
    })
}

/// The columns with their types, descriptions and tests; a column's name traces its
/// lineage.
#[component]
fn Columns(
    state: LineageState,
    route: RwSignal<Route>,
    details: NodeDetails,
    tests: Vec<TestBadge>,
) -> impl IntoView {
    let trace = move |column: String| {
        let mut next = route.get_untracked();
        if let Route::Lineage { column: chosen, .. } = &mut next {
            *chosen = Some(column);
        }
        navigate(&next);
    };
    let rows = details
        .columns
        .iter()
        .map(|column| {
            let name = column.name.clone();
            let column_tests = tests
                .iter()
                .filter(|test| test.column.as_deref() == Some(column.name.as_str()))
                .map(|test| {
                    let status = test_status(test);
                    let run = test.run.as_ref();
                    let failing = run
                        .map(|run| run.failing_rows.join("\n"))
                        .unwrap_or_default();
                    let failures = run
                        .and_then(|run| run.failures)
                        .filter(|failures| *failures > 0)
                        .map(|failures| format!(" ({failures} failing)"));
                    view! {
                        <li class=format!("test status-{status}") title=failing>
                            {format!("{} {status}", test.test)}
                            {failures}
                        </li>
                    }
                })
                .collect_view();
            view! {
                <tr>
                    <th scope="row">
                        <button
                            class="link"
                            aria-label=format!("Lineage of {}", column.name)
                            on:click=move |_| trace(name.clone())
                        >
                            {column.name.clone()}
                        </button>
                    </th>
                    <td><code>{column.data_type.clone().unwrap_or_default()}</code></td>
                    <td>{column.description.clone()}</td>
                    <td><ul class="tests">{column_tests}</ul></td>
                </tr>
            }
        })
        .collect_view();
    (!details.columns.is_empty()).then(|| {
        view! {
            <h4>"Columns"</h4>
            <ColumnTree state />
            <table class="plain" data-testid="node-columns">
                <thead>
                    <tr>
                        <th scope="col">"Column"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Description"</th>
                        <th scope="col">"Tests"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    })
}

/// The tests on no column, and every test's failing rows.
#[component]
fn NodeTests(tests: Vec<TestBadge>) -> impl IntoView {
    let whole = tests
        .iter()
        .filter(|test| test.column.is_none())
        .map(|test| {
            let status = test_status(test);
            view! { <p class=format!("test status-{status}")>{format!("{} {status}", test.name)}</p> }
        })
        .collect_view();
    let failing = tests
        .iter()
        .filter_map(|test| {
            let run = test.run.as_ref()?;
            (!run.failing_rows.is_empty()).then(|| {
                view! {
                    <details class="failing">
                        <summary>
                            {format!("{}: {} failing rows", test.name, run.failures.unwrap_or(0))}
                        </summary>
                        <pre>{run.failing_rows.join("\n")}</pre>
                    </details>
                }
            })
        })
        .collect_view();
    view! { {whole} {failing} }
}

/// A Silver node's pipeline steps, a landing node's files.
#[component]
fn PipelineSteps(details: NodeDetails) -> impl IntoView {
    // A Silver table's (or its quarantine's) pipeline has its own view.
    let entity = match details.kind {
        NodeKind::Silver => details.id.strip_prefix("silver."),
        NodeKind::Quarantine => details
            .id
            .strip_prefix("silver.")
            .and_then(|name| name.strip_suffix("_quarantine")),
        _ => None,
    };
    let open = entity.map(|entity| {
        let href = Route::Silver {
            entity: Some(entity.to_owned()),
        }
        .to_hash();
        view! { <p><a href=href>"Open pipeline"</a></p> }
    });
    let steps = (!details.pipeline.is_empty()).then(|| {
        view! {
            <h4>"Silver pipeline"</h4>
            {open}
            <ol class="steps" data-testid="node-pipeline">
                {details
                    .pipeline
                    .iter()
                    .map(|step| view! {
                        <li class=if step.enabled { "step" } else { "step disabled" }>
                            <strong>{step.name.clone()}</strong>
                            {format!(" ({})", step.transform)}
                            {step.description.clone().map(|text| format!(": {text}"))}
                            {(!step.enabled).then_some(" (off)")}
                        </li>
                    })
                    .collect_view()}
            </ol>
        }
    });
    let files = (!details.files.is_empty()).then(|| {
        view! {
            <h4>"Files"</h4>
            <ul>
                {details
                    .files
                    .iter()
                    .map(|(path, size)| view! { <li>{format!("{path} ({size} bytes)")}</li> })
                    .collect_view()}
            </ul>
        }
    });
    view! { {steps} {files} }
}

/// The upstream columns of the chosen column, as a tree.
#[component]
fn ColumnTree(state: LineageState) -> impl IntoView {
    fn branch(upstream: UpstreamColumn) -> AnyView {
        let via = if upstream.via.is_empty() {
            String::new()
        } else {
            format!(" via {}", upstream.via.join(", "))
        };
        let lineage = upstream.lineage;
        view! {
            <li>
                <span class=format!("flow flow-{}", upstream.flow)>{upstream.flow.to_string()}</span>
                " "
                <code>{format!("{}.{}", lineage.column.node, lineage.column.column)}</code>
                {via}
                {(!lineage.upstream.is_empty()).then(|| view! {
                    <ul>{lineage.upstream.into_iter().map(branch).collect_view()}</ul>
                })}
            </li>
        }
        .into_any()
    }
    move || {
        state.column.get().map(|lineage| {
            view! {
                <div class="column-lineage" data-testid="column-lineage">
                    <h4>{format!("Lineage of {}.{}", lineage.column.node, lineage.column.column)}</h4>
                    <ul class="tree">{lineage.upstream.into_iter().map(branch).collect_view()}</ul>
                </div>
            }
        })
    }
}
