use super::*;
use crate::lakehouse::Lakehouse;
use crate::sql::chart::ChartData;

/// The one value of a query's one row.
async fn scalar(lakehouse: &Lakehouse, sql: &str) -> String {
    let console = lakehouse.sql_console().await.expect("console");
    let output = console.run(sql, &mut || false).await.expect(sql);
    output.rows(0, 1).rows[0][0].clone().expect("a value")
}

fn figure<'a>(dashboard: &'a Dashboard, id: &str) -> &'a FigureData {
    dashboard
        .figures
        .iter()
        .find(|figure| figure.id == id)
        .unwrap_or_else(|| panic!("figure {id}"))
}

fn panel(dashboard: &Dashboard, id: &str) -> ChartData {
    let panel = dashboard
        .panels
        .iter()
        .find(|panel| panel.id == id)
        .unwrap_or_else(|| panic!("panel {id}"));
    assert_eq!(panel.error, None, "{id}");
    ChartData::from_rows(&panel.chart, &panel.columns, &panel.rows).expect(id)
}

fn total(data: &ChartData) -> f64 {
    data.series
        .iter()
        .flat_map(|series| &series.points)
        .map(|point| point.y)
        .sum()
}

#[test]
fn every_panel_reads_the_gold_marts_and_follows_the_batches() {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let (storage, lakehouse) = crate::testing::memory_lakehouse();
            let mut totals = Vec::new();
            for batch in 1..=2 {
                crate::testing::land_and_run_batch(&storage, &lakehouse, batch).await;
                let dashboard = lakehouse.dashboard().await.expect("dashboard");
                let revenue = figure(&dashboard, "total_revenue");
                let expected =
                    scalar(&lakehouse, "select sum(total_amount) from gold.fact_trips").await;
                assert_eq!(revenue.value.as_deref(), Some(expected.as_str()));
                let trips = scalar(&lakehouse, "select count(*) from gold.fact_trips").await;
                assert_eq!(figure(&dashboard, "trips").value, Some(trips.clone()));
                let trips: f64 = trips.parse().expect("count");

                // The lines per day and city add up to the total revenue.
                let by_city = panel(&dashboard, "revenue_by_city_day");
                let revenue: f64 = expected.parse().expect("revenue");
                assert!((total(&by_city) - revenue).abs() < 0.01);
                assert!(by_city.series.len() > 1, "one line per city");
                // Every trip has its hour of day.
                assert_eq!(total(&panel(&dashboard, "trips_by_hour")), trips);
                // One bar per payment method.
                let methods = scalar(
                    &lakehouse,
                    "select count(distinct payment_method) from gold.agg_daily_revenue",
                )
                .await;
                let by_method = panel(&dashboard, "revenue_by_payment_method");
                assert_eq!(by_method.series[0].points.len().to_string(), methods);
                // The histogram counts every driver and day with a completed trip.
                let driver_days = scalar(
                    &lakehouse,
                    "select count(*) from (select d.driver_id, f.pickup_date from gold.fact_trips f \
                     join gold.dim_driver d on d.driver_sk = f.driver_sk \
                     where f.status = 'completed' group by d.driver_id, f.pickup_date) t",
                )
                .await;
                let utilisation = panel(&dashboard, "driver_utilisation");
                assert_eq!(total(&utilisation).to_string(), driver_days);
                totals.push(revenue);
            }
            assert!(totals[1] > totals[0], "batch 2 adds revenue: {totals:?}");
        });
}

#[test]
fn a_failing_panel_carries_its_error_and_the_others_still_run() {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let (storage, lakehouse) = crate::testing::memory_lakehouse();
            crate::testing::land_and_run_batch(&storage, &lakehouse, 1).await;
            let broken = DashboardPanel {
                id: "broken",
                title: "A table that is not there",
                sql: "select x, y from gold.no_such_table",
                chart: ChartKind::Bar,
                x: "x",
                y: "y",
                series: None,
            };
            let console = lakehouse.sql_console().await.expect("console");
            let dashboard = run(&console, &FIGURES[..1], &[broken, DASHBOARD[1]]).await;
            assert!(dashboard.panels[0].error.is_some());
            assert!(dashboard.panels[0].rows.is_empty());
            assert_eq!(dashboard.panels[1].error, None);
            assert!(!dashboard.panels[1].rows.is_empty());
            assert!(dashboard.figures[0].value.is_some());
        });
}

#[test]
fn before_gold_is_built_the_dashboard_is_empty() {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let (_, lakehouse) = crate::testing::memory_lakehouse();
            let dashboard = lakehouse.dashboard().await.expect("dashboard");
            assert_eq!(dashboard, Dashboard::default());
        });
}
