//! The Gold dashboard: a few charts and figures over the marts, each one SQL query
//! run through a [`SqlConsole`], so the playground and the CLI see the same numbers.

use serde::{Deserialize, Serialize};

use super::chart::{ChartKind, ChartSpec};
use super::SqlConsole;
use crate::explorer::{Column, MAX_WINDOW_ROWS};

/// One chart of the Gold dashboard: its title, the SQL behind it and how to draw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardPanel {
    /// A stable id (for the page and tests).
    pub id: &'static str,
    /// What the chart shows, with the definition of its measure.
    pub title: &'static str,
    /// The query over the Gold tables.
    pub sql: &'static str,
    /// How it is drawn.
    pub chart: ChartKind,
    /// The x column.
    pub x: &'static str,
    /// The y column.
    pub y: &'static str,
    /// The series column, if any.
    pub series: Option<&'static str>,
}

impl DashboardPanel {
    /// The chart the panel draws.
    pub fn spec(&self) -> ChartSpec {
        ChartSpec {
            kind: self.chart,
            x: self.x.to_owned(),
            y: self.y.to_owned(),
            series: self.series.map(str::to_owned),
        }
    }
}

/// The dashboard's charts.
pub const DASHBOARD: &[DashboardPanel] = &[
    DashboardPanel {
        id: "revenue_by_city_day",
        title: "Revenue per day by pickup city (sum of the trips' total_amount)",
        sql: "select f.pickup_date as day, coalesce(l.city, 'unknown') as city, \
              sum(f.total_amount) as revenue \
              from gold.fact_trips f \
              left join gold.dim_location l on l.location_sk = f.pickup_location_sk \
              group by f.pickup_date, coalesce(l.city, 'unknown') \
              order by day, city",
        chart: ChartKind::Line,
        x: "day",
        y: "revenue",
        series: Some("city"),
    },
    DashboardPanel {
        id: "revenue_by_payment_method",
        title: "Revenue by payment method (payments net of refunds, failed ones excluded)",
        sql: "select payment_method, sum(revenue) as revenue \
              from gold.agg_daily_revenue \
              group by payment_method \
              order by revenue desc",
        chart: ChartKind::Bar,
        x: "payment_method",
        y: "revenue",
        series: None,
    },
    DashboardPanel {
        id: "driver_utilisation",
        title: "Driver utilisation: busy hours per driver and day \
                (the completed trips' minutes from pickup to dropoff, ÷ 60)",
        sql: "select d.driver_id, f.pickup_date as day, \
              sum(cast(f.duration_min as double)) / 60.0 as busy_hours \
              from gold.fact_trips f \
              join gold.dim_driver d on d.driver_sk = f.driver_sk \
              where f.status = 'completed' \
              group by d.driver_id, f.pickup_date",
        chart: ChartKind::Histogram,
        x: "busy_hours",
        y: "busy_hours",
        series: None,
    },
    DashboardPanel {
        id: "trips_by_hour",
        title: "Trips per hour of day (UTC pickup time)",
        sql: "select cast(date_part('hour', pickup_at) as int) as hour, count(*) as trips \
              from gold.fact_trips \
              group by cast(date_part('hour', pickup_at) as int) \
              order by hour",
        chart: ChartKind::Bar,
        x: "hour",
        y: "trips",
        series: None,
    },
];

/// One figure of the dashboard: a single value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DashboardFigure {
    /// A stable id.
    pub id: &'static str,
    /// Its label, also its accessible name on the page.
    pub label: &'static str,
    /// A query giving one row of one column.
    pub sql: &'static str,
}

/// The dashboard's figures.
pub const FIGURES: &[DashboardFigure] = &[
    DashboardFigure {
        id: "total_revenue",
        label: "Total revenue",
        sql: "select sum(total_amount) as total_revenue from gold.fact_trips",
    },
    DashboardFigure {
        id: "trips",
        label: "Trips",
        sql: "select count(*) as trips from gold.fact_trips",
    },
];

/// A chart's result, or why its query failed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PanelData {
    /// The panel's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// How to draw it.
    pub chart: ChartSpec,
    /// The result's columns.
    pub columns: Vec<Column>,
    /// The result's rows as display strings (at most [`MAX_WINDOW_ROWS`]).
    pub rows: Vec<Vec<Option<String>>>,
    /// The query's error, when it failed.
    pub error: Option<String>,
}

/// A figure's value (its display string; none for null), or why its query failed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FigureData {
    /// The figure's id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Its value.
    pub value: Option<String>,
    /// The query's error, when it failed.
    pub error: Option<String>,
}

/// The whole dashboard as of the tables' latest versions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Dashboard {
    /// The figures, in [`FIGURES`] order.
    pub figures: Vec<FigureData>,
    /// The charts, in [`DASHBOARD`] order.
    pub panels: Vec<PanelData>,
}

/// Runs every panel and figure; one whose query fails carries its error instead.
pub async fn run(
    console: &SqlConsole,
    figures: &[DashboardFigure],
    panels: &[DashboardPanel],
) -> Dashboard {
    let mut dashboard = Dashboard::default();
    for figure in figures {
        let (value, error) = match query(console, figure.sql).await {
            Ok((_, rows)) => (
                rows.into_iter()
                    .next()
                    .and_then(|row| row.into_iter().next())
                    .flatten(),
                None,
            ),
            Err(error) => (None, Some(error)),
        };
        dashboard.figures.push(FigureData {
            id: figure.id.to_owned(),
            label: figure.label.to_owned(),
            value,
            error,
        });
    }
    for panel in panels {
        let (columns, rows, error) = match query(console, panel.sql).await {
            Ok((columns, rows)) => (columns, rows, None),
            Err(error) => (Vec::new(), Vec::new(), Some(error)),
        };
        dashboard.panels.push(PanelData {
            id: panel.id.to_owned(),
            title: panel.title.to_owned(),
            chart: panel.spec(),
            columns,
            rows,
            error,
        });
    }
    dashboard
}

/// A query's columns and first [`MAX_WINDOW_ROWS`] rows, or its error's message.
async fn query(
    console: &SqlConsole,
    sql: &str,
) -> Result<(Vec<Column>, Vec<Vec<Option<String>>>), String> {
    let output = console
        .run(sql, &mut || false)
        .await
        .map_err(|error| error.to_string())?;
    let columns = output.summary().columns.clone();
    Ok((columns, output.rows(0, MAX_WINDOW_ROWS).rows))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
