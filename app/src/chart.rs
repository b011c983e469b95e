//! Charts of a result: [`ChartBuilder`] (kind, x, y and series, initialised from core's
//! suggestion, and a download) and the plain [`Chart`] the dashboard draws. Core
//! reads the values ([`ChartData`]); `render` only draws them.

mod render;
mod result;

use leptos::prelude::*;
use medallion_core::explorer::Column;
use medallion_core::sql::chart::{suggest, ChartData, ChartKind, ChartSpec};

use crate::playground::save;
pub use result::{ResultChart, ResultChartTab};

/// A builder's chart size, in CSS pixels.
const BUILDER_SIZE: (u32, u32) = (720, 360);
/// A dashboard chart's size.
const PANEL_SIZE: (u32, u32) = (560, 280);

/// The SVG document of a chart of these rows, or why it cannot be drawn.
fn draw(
    spec: &ChartSpec,
    columns: &[Column],
    rows: &[Vec<Option<String>>],
    size: (u32, u32),
) -> Result<String, String> {
    let data = ChartData::from_rows(spec, columns, rows).map_err(|err| err.to_string())?;
    render::svg(&data, &spec.to_string(), size)
}

/// A chart for a result: core's suggestion, or the first columns as bars.
fn initial_spec(columns: &[Column]) -> Option<ChartSpec> {
    suggest(columns).or_else(|| {
        let x = columns.first()?;
        Some(ChartSpec {
            kind: ChartKind::Bar,
            x: x.name.clone(),
            y: columns.get(1).unwrap_or(x).name.clone(),
            series: None,
        })
    })
}

/// Draws a result as a bar, line, area, scatter chart or histogram, and saves it.
#[component]
pub fn ChartBuilder(
    /// The result's columns.
    #[prop(into)]
    columns: Signal<Vec<Column>>,
    /// Its rows, as display strings.
    #[prop(into)]
    rows: Signal<Vec<Vec<Option<String>>>>,
) -> impl IntoView {
    let spec = RwSignal::new(None::<ChartSpec>);
    // A new result starts from the suggestion for its columns.
    Effect::new(move |_| spec.set(columns.with(|columns| initial_spec(columns))));
    let svg = Memo::new(move |_| {
        let spec = spec.get()?;
        Some(columns.with(|columns| rows.with(|rows| draw(&spec, columns, rows, BUILDER_SIZE))))
    });
    let edit = move |change: &dyn Fn(&mut ChartSpec)| {
        spec.update(|spec| {
            if let Some(spec) = spec {
                change(spec);
            }
        })
    };
    let download = move |_| {
        if let Some(Ok(svg)) = svg.get_untracked() {
            let _ = save("chart.svg", svg.as_bytes());
        }
    };
    let kind_button = move |kind: ChartKind| {
        let pressed = move || spec.with(|s| s.as_ref().is_some_and(|s| s.kind == kind));
        view! {
            <button
                aria-pressed=move || pressed().to_string()
                class=move || if pressed() { "tab selected" } else { "tab" }
                on:click=move |_| edit(&|spec| spec.kind = kind)
            >
                {kind.name()}
            </button>
        }
    };
    view! {
        <div class="chart-builder">
            <div class="buttons" role="group" aria-label="Chart kind">
                {ChartKind::ALL.into_iter().map(kind_button).collect_view()}
            </div>
            <div class="buttons">
                <ColumnSelect label="X" columns spec pick=|spec| Some(spec.x.clone())
                    set=|spec, name| spec.x = name.unwrap_or_default() optional=false />
                <ColumnSelect label="Y" columns spec pick=|spec| Some(spec.y.clone())
                    set=|spec, name| spec.y = name.unwrap_or_default() optional=false />
                <ColumnSelect label="Series" columns spec pick=|spec| spec.series.clone()
                    set=|spec, name| spec.series = name optional=true />
                <button on:click=download disabled=move || !matches!(svg.get(), Some(Ok(_)))>
                    "Download SVG"
                </button>
            </div>
            {move || match svg.get() {
                None => view! { <p>"Nothing to chart: the result has no columns."</p> }.into_any(),
                Some(Ok(svg)) => view! { <div class="chart" inner_html=svg></div> }.into_any(),
                Some(Err(problem)) => view! { <p class="error">{problem}</p> }.into_any(),
            }}
        </div>
    }
}

/// A select of the result's columns, bound to one field of the spec.
#[component]
fn ColumnSelect(
    label: &'static str,
    columns: Signal<Vec<Column>>,
    spec: RwSignal<Option<ChartSpec>>,
    pick: fn(&ChartSpec) -> Option<String>,
    set: fn(&mut ChartSpec, Option<String>),
    optional: bool,
) -> impl IntoView {
    let current = move || {
        spec.with(|spec| spec.as_ref().and_then(pick))
            .unwrap_or_default()
    };
    let change = move |event| {
        let name = event_target_value(&event);
        spec.update(|spec| {
            if let Some(spec) = spec {
                set(spec, (!name.is_empty()).then_some(name));
            }
        });
    };
    view! {
        <label>
            {label} " "
            <select aria-label=label on:change=change prop:value=current>
                {optional.then(|| view! { <option value="">"(none)"</option> })}
                {move || {
                    columns
                        .get()
                        .into_iter()
                        .map(|column| {
                            let selected = current() == column.name;
                            view! {
                                <option value=column.name.clone() selected=selected>
                                    {column.name.clone()}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
        </label>
    }
}

/// One chart of a result, as `spec` says.
#[component]
pub fn Chart(
    spec: ChartSpec,
    columns: Vec<Column>,
    rows: Vec<Vec<Option<String>>>,
) -> impl IntoView {
    match draw(&spec, &columns, &rows, PANEL_SIZE) {
        Ok(svg) => view! { <div class="chart" inner_html=svg></div> }.into_any(),
        Err(problem) => view! { <p class="error">{problem}</p> }.into_any(),
    }
}
