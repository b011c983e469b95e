//! Under the editor: the open file's diff against the bundled version, the preview's
//! rows (the SQL view's result, in the shared grid) and the last build's run results.

use leptos::prelude::*;
use medallion_core::editor::StepResult;
use medallion_core::models::NodeStatus;
use medallion_core::workspace::{DiffKind, DiffLine};

use super::ModelsState;
use crate::sql::{QueryStatus, ResultGrid, SqlState};

/// A line number, or nothing.
fn number(line: Option<usize>) -> String {
    line.map(|line| line.to_string()).unwrap_or_default()
}

/// One line of a diff: old and new line numbers, a sign and the text.
fn diff_line(line: DiffLine) -> impl IntoView {
    let (class, sign) = match line.kind {
        DiffKind::Same => ("diff-line same", " "),
        DiffKind::Added => ("diff-line added", "+"),
        DiffKind::Removed => ("diff-line removed", "-"),
    };
    view! {
        <tr class=class>
            <td class="diff-number">{number(line.old_line)}</td>
            <td class="diff-number">{number(line.new_line)}</td>
            <td class="diff-text"><code>{format!("{sign} {}", line.text)}</code></td>
        </tr>
    }
}

/// The open file against the bundled version, once asked for.
#[component]
pub fn Diff(state: ModelsState) -> impl IntoView {
    move || {
        state.diff.get().map(|diff| {
            let summary = format!(
                "{}: {} added, {} removed against the bundled version.",
                diff.path, diff.added, diff.removed
            );
            view! {
                <section class="panel" aria-label="Diff">
                    <h2>"Diff"</h2>
                    <p>{summary}</p>
                    <table class="diff">
                        <thead>
                            <tr><th>"Old"</th><th>"New"</th><th>"Line"</th></tr>
                        </thead>
                        <tbody>{diff.lines.into_iter().map(diff_line).collect_view()}</tbody>
                    </table>
                </section>
            }
        })
    }
}

/// The preview's rows: the SQL view's last result, which a preview replaces.
#[component]
pub fn Preview(state: ModelsState, sql: SqlState) -> impl IntoView {
    let connection = state.connection;
    view! {
        <section class="panel" aria-label="Preview">
            <h2>"Preview"</h2>
            <QueryStatus state=sql />
            {move || sql.summary.with(Option::is_some).then(|| view! { <ResultGrid state=sql connection /> })}
        </section>
    }
}

/// `1.2 s` or `340 ms`.
fn duration(ms: i64) -> String {
    if ms >= 1000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{ms} ms")
    }
}

/// The status of a step as dbt says it.
fn status_text(status: NodeStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{status:?}").to_lowercase())
}

/// One step of a build: its row, and a failing test's rows under it.
fn step_row(step: StepResult) -> impl IntoView {
    let status = status_text(step.run.status);
    let class = format!("step status-{status}");
    let rows = step
        .run
        .rows
        .or(step.run.failures)
        .map(|rows| rows.to_string())
        .unwrap_or_default();
    let failing = (!step.run.failing_rows.is_empty()).then(|| {
        view! {
            <tr class="failing-rows">
                <td colspan="6">
                    <p>{format!("Failing rows of {}:", step.name)}</p>
                    <ul aria-label=format!("Failing rows of {}", step.name)>
                        {step.run.failing_rows.iter().map(|row| view! { <li><code>{row.clone()}</code></li> }).collect_view()}
                    </ul>
                </td>
            </tr>
        }
    });
    view! {
        <tr class=class>
            <td>{step.name.clone()}</td>
            <td>{step.resource.clone()}</td>
            <td>{status}</td>
            <td class="number">{rows}</td>
            <td class="number">{duration(step.run.duration_ms)}</td>
            <td>{step.run.message.clone()}</td>
        </tr>
        {failing}
    }
}

/// The last build: each step with its status, rows and time.
#[component]
pub fn RunResults(state: ModelsState) -> impl IntoView {
    view! {
        <section class="panel" aria-label="Run results">
            <h2>"Run results"</h2>
            {move || state.building.get().map(|step| view! { <p role="status">{step}</p> })}
            {move || match state.results.get() {
                None => state.building.with(Option::is_none).then(|| {
                    view! { <p class="muted">"Build a file to see its steps here."</p> }
                }).into_any(),
                Some((summary, steps)) => view! {
                    <p data-testid="build-summary">{summary.to_string()}</p>
                    <table class="run-results">
                        <thead>
                            <tr>
                                <th>"Step"</th><th>"Type"</th><th>"Status"</th>
                                <th>"Rows"</th><th>"Time"</th><th>"Message"</th>
                            </tr>
                        </thead>
                        <tbody>{steps.into_iter().map(step_row).collect_view()}</tbody>
                    </table>
                }
                .into_any(),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn durations_and_statuses_read_as_dbt_says_them() {
        assert_eq!(duration(340), "340 ms");
        assert_eq!(duration(1250), "1.2 s");
        assert_eq!(status_text(NodeStatus::Success), "success");
        assert_eq!(status_text(NodeStatus::Fail), "fail");
    }
}
