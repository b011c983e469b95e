use super::*;

fn column(name: &str, data_type: &str) -> Column {
    Column {
        name: name.to_owned(),
        data_type: data_type.to_owned(),
        nullable: true,
    }
}

fn rows(cells: &[&[Option<&str>]]) -> Vec<Vec<Option<String>>> {
    cells
        .iter()
        .map(|row| row.iter().map(|cell| cell.map(str::to_owned)).collect())
        .collect()
}

fn spec(kind: ChartKind, x: &str, y: &str, series: Option<&str>) -> ChartSpec {
    ChartSpec {
        kind,
        x: x.to_owned(),
        y: y.to_owned(),
        series: series.map(str::to_owned),
    }
}

#[test]
fn suggest_reads_the_column_types() {
    let day = column("day", "Date32");
    let at = column("pickup_at", "Timestamp(µs, \"UTC\")");
    let city = column("city", "Utf8");
    let revenue = column("revenue", "Decimal128(38, 2)");
    let trips = column("trips", "Int64");
    let hours = column("hours", "Float64");
    assert_eq!(
        suggest(&[day.clone(), city.clone(), revenue.clone()]),
        Some(spec(ChartKind::Line, "day", "revenue", Some("city")))
    );
    assert_eq!(
        suggest(&[at, trips.clone()]),
        Some(spec(ChartKind::Line, "pickup_at", "trips", None))
    );
    assert_eq!(
        suggest(&[city.clone(), revenue.clone()]),
        Some(spec(ChartKind::Bar, "city", "revenue", None))
    );
    assert_eq!(
        suggest(&[trips.clone(), hours.clone()]),
        Some(spec(ChartKind::Scatter, "trips", "hours", None))
    );
    assert_eq!(
        suggest(std::slice::from_ref(&hours)),
        Some(spec(ChartKind::Histogram, "hours", "hours", None))
    );
    assert_eq!(suggest(&[city]), None);
    assert_eq!(suggest(&[]), None);
}

#[test]
fn a_spec_describes_itself_for_screen_readers() {
    assert_eq!(
        spec(ChartKind::Bar, "city", "revenue", None).to_string(),
        "Bar chart of revenue by city"
    );
    assert_eq!(
        spec(ChartKind::Line, "day", "revenue", Some("city")).to_string(),
        "Line chart of revenue by day and city"
    );
    assert_eq!(
        spec(ChartKind::Histogram, "hours", "hours", None).to_string(),
        "Histogram of hours"
    );
}

#[test]
fn bars_are_categories_in_result_order() {
    let columns = [column("k", "Utf8"), column("v", "Int64")];
    let data = ChartData::from_rows(
        &spec(ChartKind::Bar, "k", "v", None),
        &columns,
        &rows(&[
            &[Some("b"), Some("2")],
            &[Some("a"), Some("1")],
            &[None, Some("9")],
            &[Some("d"), Some("-4")],
            &[Some("c"), None],
        ]),
    )
    .expect("chart");
    assert_eq!(
        data.scale,
        XScale::Category {
            labels: vec!["b".into(), "a".into(), "d".into()]
        }
    );
    assert_eq!(data.series.len(), 1);
    let points: Vec<(f64, f64)> = data.series[0].points.iter().map(|p| (p.x, p.y)).collect();
    assert_eq!(points, [(0.0, 2.0), (1.0, 1.0), (2.0, -4.0)]);
    assert_eq!(data.skipped, 2);
    assert_eq!(data.x_range, (-0.5, 2.5));
    // From below the lowest bar to above the highest, zero included.
    assert!(data.y_range.0 < -4.0 && data.y_range.1 > 2.0);
}

#[test]
fn numeric_bars_sort_their_categories_by_value() {
    let columns = [column("hour", "Int32"), column("trips", "Int64")];
    let data = ChartData::from_rows(
        &spec(ChartKind::Bar, "hour", "trips", None),
        &columns,
        &rows(&[
            &[Some("10"), Some("3")],
            &[Some("9"), Some("5")],
            &[Some("0"), Some("1")],
        ]),
    )
    .expect("chart");
    assert_eq!(
        data.scale,
        XScale::Category {
            labels: vec!["0".into(), "9".into(), "10".into()]
        }
    );
    assert_eq!(data.y_range.0, 0.0);
}

#[test]
fn lines_over_time_are_grouped_by_series_and_sorted() {
    let columns = [
        column("day", "Date32"),
        column("city", "Utf8"),
        column("revenue", "Decimal128(38, 2)"),
    ];
    let data = ChartData::from_rows(
        &spec(ChartKind::Line, "day", "revenue", Some("city")),
        &columns,
        &rows(&[
            &[Some("2024-01-02"), Some("Paris"), Some("20.50")],
            &[Some("2024-01-01"), Some("Paris"), Some("10.25")],
            &[Some("2024-01-01"), Some("Lyon"), Some("7")],
            &[Some("2024-01-01"), None, Some("1")],
        ]),
    )
    .expect("chart");
    assert_eq!(data.scale, XScale::Time);
    let names: Vec<Option<&str>> = data.series.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(names, [Some("Paris"), Some("Lyon"), Some("null")]);
    let day = 86_400_000.0;
    let jan_1 = 1_704_067_200_000.0;
    let paris: Vec<(f64, f64)> = data.series[0].points.iter().map(|p| (p.x, p.y)).collect();
    assert_eq!(paris, [(jan_1, 10.25), (jan_1 + day, 20.5)]);
    assert_eq!(data.x_range, (jan_1, jan_1 + day));
}

#[test]
fn timestamps_parse_in_arrows_display_forms() {
    let ms = |text: &str| time_ms("t", text).expect(text);
    let noon = 1_704_110_400_000.0;
    assert_eq!(ms("2024-01-01T12:00:00"), noon);
    assert_eq!(ms("2024-01-01T12:00:00.250"), noon + 250.0);
    assert_eq!(ms("2024-01-01T12:00:00Z"), noon);
    assert_eq!(ms("2024-01-01T13:00:00+01:00"), noon);
    assert_eq!(ms("2024-01-01 12:00:00"), noon);
    assert_eq!(
        time_ms("t", "yesterday"),
        Err(ChartError::NotTime {
            column: "t".into(),
            value: "yesterday".into()
        })
    );
}

#[test]
fn scatter_reads_both_axes_as_numbers() {
    let columns = [column("a", "Float64"), column("b", "Int64")];
    let data = ChartData::from_rows(
        &spec(ChartKind::Scatter, "a", "b", None),
        &columns,
        &rows(&[&[Some("1.5"), Some("3")], &[Some("NaN"), Some("1")]]),
    )
    .expect("chart");
    assert_eq!(data.scale, XScale::Number);
    assert_eq!(data.series[0].points, [Point { x: 1.5, y: 3.0 }]);
    assert_eq!(data.skipped, 1);
    // A single x value still gets an axis around it.
    assert_eq!(data.x_range, (0.5, 2.5));
}

#[test]
fn wrong_columns_and_values_are_typed_errors() {
    let columns = [column("k", "Utf8"), column("v", "Utf8")];
    let cells = rows(&[&[Some("a"), Some("lots")]]);
    assert_eq!(
        ChartData::from_rows(&spec(ChartKind::Bar, "k", "nope", None), &columns, &cells),
        Err(ChartError::UnknownColumn {
            column: "nope".into()
        })
    );
    assert_eq!(
        ChartData::from_rows(&spec(ChartKind::Bar, "k", "v", None), &columns, &cells),
        Err(ChartError::NotNumeric {
            column: "v".into(),
            value: "lots".into()
        })
    );
}

#[test]
fn a_histogram_counts_every_value_in_equal_bins() {
    let columns = [column("hours", "Float64")];
    let values: Vec<Vec<Option<String>>> = (0..100)
        .map(|i| vec![Some(format!("{}", f64::from(i) / 10.0))])
        .chain([vec![None]])
        .collect();
    let data = ChartData::from_rows(
        &spec(ChartKind::Histogram, "hours", "hours", None),
        &columns,
        &values,
    )
    .expect("histogram");
    let points = &data.series[0].points;
    assert_eq!(points.len(), 10);
    assert_eq!(points.iter().map(|p| p.y).sum::<f64>(), 100.0);
    let width = data.bin_width.expect("bin width");
    assert!((width - 0.99).abs() < 1e-9);
    assert_eq!(data.x_range.0, 0.0);
    assert!((data.x_range.1 - 9.9).abs() < 1e-9);
    assert_eq!(data.skipped, 1);
    // The largest value falls in the last bin.
    assert!(points[9].y >= 1.0);
}

#[test]
fn x_ticks_fall_on_categories_days_hours_and_round_numbers() {
    let ticks = |data: &ChartData| -> Vec<(f64, String)> {
        data.x_ticks()
            .into_iter()
            .map(|t| (t.at, t.label))
            .collect()
    };
    let columns = [column("day", "Date32"), column("v", "Int64")];
    let cells = rows(&[
        &[Some("2024-01-01"), Some("1")],
        &[Some("2024-01-04"), Some("2")],
    ]);
    let line = ChartData::from_rows(&spec(ChartKind::Line, "day", "v", None), &columns, &cells)
        .expect("chart");
    let jan_1 = 1_704_067_200_000.0;
    let day = 86_400_000.0;
    assert_eq!(
        ticks(&line),
        [
            (jan_1, "2024-01-01".to_owned()),
            (jan_1 + day, "2024-01-02".to_owned()),
            (jan_1 + 2.0 * day, "2024-01-03".to_owned()),
            (jan_1 + 3.0 * day, "2024-01-04".to_owned()),
        ]
    );
    let bar = ChartData::from_rows(&spec(ChartKind::Bar, "day", "v", None), &columns, &cells)
        .expect("chart");
    assert_eq!(
        ticks(&bar),
        [
            (0.0, "2024-01-01".to_owned()),
            (1.0, "2024-01-04".to_owned())
        ]
    );
    let hours = [column("at", "Timestamp(µs, None)"), column("v", "Int64")];
    let cells = rows(&[
        &[Some("2024-01-01T08:10:00"), Some("1")],
        &[Some("2024-01-01T10:30:00"), Some("2.5")],
    ]);
    let at = ChartData::from_rows(&spec(ChartKind::Line, "at", "v", None), &hours, &cells)
        .expect("chart");
    let labels: Vec<String> = at.x_ticks().into_iter().map(|t| t.label).collect();
    assert_eq!(labels, ["01-01 09:00", "01-01 10:00"]);
    let scatter = ChartData::from_rows(&spec(ChartKind::Scatter, "v", "v", None), &hours, &cells)
        .expect("chart");
    let labels: Vec<String> = scatter.x_ticks().into_iter().map(|t| t.label).collect();
    assert_eq!(labels, ["1", "1.2", "1.4", "1.6", "1.8", "2", "2.2", "2.4"]);
    assert_eq!(number_label(12000.0), "12000");
    assert_eq!(number_label(-0.001), "0");
    assert_eq!(number_label(0.25), "0.25");
}
