//! The SQL view's Chart tab: the first [`MAX_WINDOW_ROWS`] rows of the current result,
//! fetched once per result through the grid's own `QueryRows` request, in a
//! [`ChartBuilder`].

use leptos::prelude::*;
use medallion_core::explorer::{Column, MAX_WINDOW_ROWS};
use medallion_core::sql::ResultRows;

use super::ChartBuilder;
use crate::connection::Connection;
use crate::protocol::Request;

/// The rows the Chart tab draws.
#[derive(Clone, Copy)]
pub struct ResultChart {
    /// The first rows of the result, once they arrived.
    rows: RwSignal<Option<Vec<Vec<Option<String>>>>>,
    /// Rows were asked for and have not arrived.
    pending: RwSignal<bool>,
}

impl ResultChart {
    /// No rows yet.
    pub fn new() -> Self {
        Self {
            rows: RwSignal::new(None),
            pending: RwSignal::new(false),
        }
    }

    /// Forgets the rows: another result is shown.
    pub fn clear(self) {
        self.rows.set(None);
        self.pending.set(false);
    }

    /// Takes `rows` if they are the ones the chart asked for (the first
    /// min(kept, [`MAX_WINDOW_ROWS`]) of a result of `kept` rows); else gives them back.
    pub fn offer(self, rows: ResultRows, kept: u64) -> Option<ResultRows> {
        let wanted = kept.min(MAX_WINDOW_ROWS as u64);
        if self.pending.get_untracked() && rows.offset == 0 && rows.rows.len() as u64 == wanted {
            self.pending.set(false);
            self.rows.set(Some(rows.rows));
            None
        } else {
            Some(rows)
        }
    }
}

/// The chart builder over the current result's first rows.
#[component]
pub fn ResultChartTab(
    chart: ResultChart,
    connection: Connection,
    /// The result's columns; empty when there is no result.
    #[prop(into)]
    columns: Signal<Vec<Column>>,
) -> impl IntoView {
    Effect::new(move |_| {
        let has_result = columns.with(|columns| !columns.is_empty());
        if has_result && chart.rows.with(Option::is_none) && !chart.pending.get_untracked() {
            chart.pending.set(true);
            connection.post(&Request::QueryRows {
                offset: 0,
                limit: MAX_WINDOW_ROWS,
            });
        }
    });
    let rows = Signal::derive(move || chart.rows.get().unwrap_or_default());
    move || {
        if columns.with(Vec::is_empty) {
            view! { <p>"Run a query to chart its result."</p> }.into_any()
        } else if chart.rows.with(Option::is_none) {
            view! { <p role="status">"Reading the result's rows…"</p> }.into_any()
        } else {
            view! { <ChartBuilder columns rows /> }.into_any()
        }
    }
}
