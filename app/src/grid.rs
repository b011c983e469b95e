//! The virtualised grid the explorer and the SQL view share: only the visible rows are
//! in the page, and rows are asked for a window at a time as the user scrolls.

use leptos::html::Div;
use leptos::prelude::*;
use medallion_core::explorer::Column;

/// Height of a grid row, in CSS pixels (the stylesheet's `.grid-row`).
const ROW_PX: f64 = 28.0;
/// Rows the grid shows at once.
const VISIBLE_ROWS: u64 = 16;
/// Rows fetched around the visible ones.
pub const FETCH_ROWS: usize = 240;
/// The tallest scroll area the grid makes; taller results map scroll position to row.
const MAX_SCROLL_PX: f64 = 8_000_000.0;

/// One row's display values (`None` = null).
pub type Row = Vec<Option<String>>;

/// The rows a grid has at hand, and whether more are on their way.
#[derive(Clone, Copy)]
pub struct GridRows {
    /// The position of the first row at hand, and the rows.
    pub window: RwSignal<Option<(u64, Vec<Row>)>>,
    /// A rows request is on its way.
    pub fetching: RwSignal<bool>,
}

impl GridRows {
    /// No rows at hand.
    pub fn new() -> Self {
        Self {
            window: RwSignal::new(None),
            fetching: RwSignal::new(false),
        }
    }

    /// Takes rows that arrived.
    pub fn receive(self, offset: u64, rows: Vec<Row>) {
        self.fetching.set(false);
        self.window.set(Some((offset, rows)));
    }

    /// Forgets the rows (another table or result is shown).
    pub fn clear(self) {
        self.window.set(None);
    }
}

/// What a grid shows.
#[derive(Clone, Copy)]
pub struct GridSource {
    /// The grid's accessible name; when it changes the grid scrolls back to the top.
    pub label: Signal<String>,
    /// The columns.
    pub columns: Signal<Vec<Column>>,
    /// How many rows there are.
    pub total: Signal<u64>,
    /// The rows at hand.
    pub rows: GridRows,
}

/// The first visible row for a scroll position: mapped linearly onto the rows, which is
/// one row per `ROW_PX` while the rows fit under `MAX_SCROLL_PX`.
fn first_visible(total: u64, scroll_top: f64) -> u64 {
    let hidden_rows = total.saturating_sub(VISIBLE_ROWS);
    let max_scroll = spacer_height(total) - VISIBLE_ROWS as f64 * ROW_PX;
    if max_scroll <= 0.0 {
        0
    } else {
        ((scroll_top / max_scroll).clamp(0.0, 1.0) * hidden_rows as f64).round() as u64
    }
}

/// The grid's height: the header and the visible rows, fewer for a short result (with
/// room for a horizontal scroll bar).
fn grid_height(total: u64) -> f64 {
    let rows = total.clamp(1, VISIBLE_ROWS) as f64;
    if total > VISIBLE_ROWS {
        (rows + 1.0) * ROW_PX + 2.0
    } else {
        (rows + 1.0) * ROW_PX + 18.0
    }
}

fn spacer_height(total: u64) -> f64 {
    (total as f64 * ROW_PX).min(MAX_SCROLL_PX)
}

/// Rows of a table or result, only the visible ones in the page; `fetch(offset, limit)`
/// asks for rows that are not at hand.
#[component]
pub fn Grid(
    source: GridSource,
    fetch: impl Fn(u64, usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let GridSource {
        label,
        columns,
        total,
        rows,
    } = source;
    let scroller = NodeRef::<Div>::new();
    let scroll_top = RwSignal::new(0.0f64);
    let first_row = Memo::new(move |_| first_visible(total.get(), scroll_top.get()));
    // Back to the top when something else is shown.
    Effect::new(move |_| {
        label.track();
        scroll_top.set(0.0);
        if let Some(element) = scroller.get_untracked() {
            element.set_scroll_top(0);
        }
    });
    // Fetch rows when the visible ones are not all at hand.
    Effect::new(move |_| {
        let count = total.get();
        let first = first_row.get();
        let last = (first + VISIBLE_ROWS).min(count);
        let at_hand = rows.window.with(|window| {
            window.as_ref().is_some_and(|(offset, rows)| {
                *offset <= first && last <= offset + rows.len() as u64
            })
        });
        if at_hand || count == 0 || rows.fetching.get() {
            return;
        }
        rows.fetching.set(true);
        fetch(first.saturating_sub(FETCH_ROWS as u64 / 3), FETCH_ROWS);
    });
    let width = move || columns.with(Vec::len);
    let template = move || format!("grid-template-columns: 5rem repeat({}, 11rem)", width());
    view! {
        <div
            class="grid"
            role="grid"
            tabindex="0"
            data-testid="grid"
            aria-rowcount=move || (total.get() + 1).to_string()
            aria-colcount=move || (width() + 1).to_string()
            aria-label=move || label.get()
            style=move || format!("height: {}px", grid_height(total.get()))
            node_ref=scroller
            on:scroll=move |_| {
                if let Some(element) = scroller.get_untracked() {
                    scroll_top.set(element.scroll_top() as f64);
                }
            }
        >
            <div class="grid-row grid-head" role="row" aria-rowindex="1" style=template>
                <span role="columnheader">"#"</span>
                {move || {
                    columns
                        .get()
                        .into_iter()
                        .map(|column| {
                            view! {
                                <span role="columnheader" title=column.data_type>
                                    {column.name}
                                </span>
                            }
                        })
                        .collect_view()
                }}
            </div>
            <div class="grid-body" style=move || format!("height: {}px", spacer_height(total.get()))>
                <div class="grid-rows" style=move || format!("top: {}px", scroll_top.get())>
                    {move || {
                        let first = first_row.get();
                        let last = (first + VISIBLE_ROWS + 1).min(total.get());
                        let width = width();
                        rows.window
                            .with(|window| {
                                (first..last)
                                    .map(|row| {
                                        let values = window
                                            .as_ref()
                                            .and_then(|(offset, rows)| {
                                                let index = row.checked_sub(*offset)?;
                                                rows.get(index as usize).cloned()
                                            });
                                        view! { <GridRow row values width style=template() /> }
                                    })
                                    .collect_view()
                            })
                    }}
                </div>
            </div>
        </div>
    }
}

#[component]
fn GridRow(row: u64, values: Option<Row>, width: usize, style: String) -> impl IntoView {
    let loaded = values.is_some();
    let cells = values.unwrap_or_else(|| vec![None; width]);
    view! {
        <div
            class=if loaded { "grid-row" } else { "grid-row loading" }
            role="row"
            aria-rowindex=(row + 2).to_string()
            style=style
        >
            <span role="rowheader">{(row + 1).to_string()}</span>
            {cells
                .into_iter()
                .map(|value| match value {
                    Some(text) => {
                        let title = text.clone();
                        view! { <span role="gridcell" title=title>{text}</span> }.into_any()
                    }
                    None if loaded => view! { <span role="gridcell" class="null">"null"</span> }.into_any(),
                    None => view! { <span role="gridcell">"…"</span> }.into_any(),
                })
                .collect_view()}
        </div>
    }
}
