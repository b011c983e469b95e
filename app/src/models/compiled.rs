//! The compiled SQL beside the editor, and the problems the compiler found (also marked
//! in the editor at their lines).

use leptos::prelude::*;
use medallion_core::editor::{Diagnostic, Severity};
use medallion_core::lineage::highlight_sql;

use super::ModelsState;

/// `Line 3, column 7: error: message`.
pub fn problem_text(diagnostic: &Diagnostic) -> String {
    let place = match diagnostic.column {
        Some(column) => format!("Line {}, column {column}", diagnostic.line),
        None => format!("Line {}", diagnostic.line),
    };
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    format!("{place}: {severity}: {}", diagnostic.message)
}

/// The compiled SQL of the open file's current text, highlighted.
#[component]
pub fn Compiled(state: ModelsState) -> impl IntoView {
    let body = move || {
        let Some(compiled) = state.compiled.get() else {
            let waiting = state.path.with(Option::is_some);
            return view! {
                <p class="muted">{if waiting { "Compiling…" } else { "No file open." }}</p>
            }
            .into_any();
        };
        let timing = format!("Compiled in {:.0} ms", compiled.elapsed_ms);
        match compiled.compiled {
            Some(sql) => view! {
                <p class="muted" data-testid="compile-time">{timing}</p>
                <pre class="sql compiled-sql"><code>
                    {highlight_sql(&sql)
                        .into_iter()
                        .map(|token| view! { <span class=token.kind.css_class()>{token.text}</span> })
                        .collect_view()}
                </code></pre>
            }
            .into_any(),
            None if compiled.diagnostics.is_empty() => {
                view! { <p class="muted" data-testid="compile-time">{format!("Checked: no problems. {timing}")}</p> }
                    .into_any()
            }
            None => view! { <p class="muted">"Not compiled: see the problems."</p> }.into_any(),
        }
    };
    view! {
        <section class="panel models-compiled" aria-label="Compiled SQL">
            <h2>"Compiled SQL"</h2>
            {body}
        </section>
    }
}

/// The compiler's diagnostics for the open file's current text.
#[component]
pub fn Problems(state: ModelsState) -> impl IntoView {
    let problems = move || {
        state
            .compiled
            .with(|compiled| compiled.as_ref().map(|c| c.diagnostics.clone()))
            .unwrap_or_default()
    };
    view! {
        <ul aria-label="Problems" class="problems">
            {move || {
                let problems = problems();
                if problems.is_empty() {
                    view! { <li class="muted">"No problems."</li> }.into_any()
                } else {
                    problems
                        .iter()
                        .map(|diagnostic| {
                            let class = match diagnostic.severity {
                                Severity::Error => "problem error",
                                Severity::Warning => "problem warning",
                            };
                            view! { <li class=class>{problem_text(diagnostic)}</li> }
                        })
                        .collect_view()
                        .into_any()
                }
            }}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_problem_reads_with_its_place() {
        let diagnostic = Diagnostic {
            line: 3,
            column: Some(7),
            message: "unexpected end of template".to_owned(),
            severity: Severity::Error,
        };
        assert_eq!(
            problem_text(&diagnostic),
            "Line 3, column 7: error: unexpected end of template"
        );
        let warning = Diagnostic {
            column: None,
            severity: Severity::Warning,
            ..diagnostic
        };
        assert_eq!(
            problem_text(&warning),
            "Line 3: warning: unexpected end of template"
        );
    }
}
