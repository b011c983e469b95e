//! Charts of a query result: what to draw ([`ChartSpec`], with [`suggest`] picking one
//! from the column types) and the numbers to draw it with ([`ChartData`]), parsed from
//! the result's display strings so that a renderer only draws.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::explorer::Column;

/// The most bins a histogram has.
const MAX_BINS: usize = 20;
/// A day in milliseconds.
const DAY_MS: f64 = 86_400_000.0;
/// About how many ticks an axis of times or numbers has.
pub const MAX_TICKS: usize = 8;

/// How a chart draws its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChartKind {
    /// A bar per x category (grouped by series).
    Bar,
    /// A line through the points of each series, in x order.
    Line,
    /// A line with the area down to zero filled.
    Area,
    /// A point per row.
    Scatter,
    /// The count of rows per bin of the x column's values.
    Histogram,
}

impl ChartKind {
    /// Every kind, in the order a chart builder offers them.
    pub const ALL: [ChartKind; 5] = [
        ChartKind::Bar,
        ChartKind::Line,
        ChartKind::Area,
        ChartKind::Scatter,
        ChartKind::Histogram,
    ];

    /// The kind's name: `Bar`, `Line`, …
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Bar => "Bar",
            ChartKind::Line => "Line",
            ChartKind::Area => "Area",
            ChartKind::Scatter => "Scatter",
            ChartKind::Histogram => "Histogram",
        }
    }
}

/// What to draw: the kind and the columns it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartSpec {
    /// How the points are drawn.
    pub kind: ChartKind,
    /// The column along the x axis (the binned column of a histogram).
    pub x: String,
    /// The numeric column along the y axis (unused by a histogram, which counts rows).
    pub y: String,
    /// The column whose values split the rows into series, one colour each.
    pub series: Option<String>,
}

impl fmt::Display for ChartSpec {
    /// What the chart shows, for a screen reader: `Bar chart of revenue by city`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.name();
        match self.kind {
            ChartKind::Histogram => write!(f, "{kind} of {}", self.x)?,
            _ => write!(f, "{kind} chart of {} by {}", self.y, self.x)?,
        }
        match &self.series {
            Some(series) if self.kind != ChartKind::Histogram => write!(f, " and {series}"),
            _ => Ok(()),
        }
    }
}

/// What a column's values are, read from its Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Integers, floats and decimals.
    Number,
    /// Dates and timestamps.
    Time,
    /// Anything else: drawn as categories.
    Text,
}

impl ValueKind {
    /// The kind of a column of Arrow type `data_type` (as Arrow prints it).
    pub fn of(data_type: &str) -> ValueKind {
        const NUMBERS: [&str; 4] = ["Int", "UInt", "Float", "Decimal"];
        if NUMBERS.iter().any(|prefix| data_type.starts_with(prefix)) {
            ValueKind::Number
        } else if data_type.starts_with("Date") || data_type.starts_with("Timestamp") {
            ValueKind::Time
        } else {
            ValueKind::Text
        }
    }
}

/// A chart for a result with these columns: a time column gives a line (of the first
/// numeric column, split by the first text column), a text column and a numeric one
/// a bar, two numeric columns a scatter, a single numeric column a histogram.
pub fn suggest(columns: &[Column]) -> Option<ChartSpec> {
    let named = |kind: ValueKind| {
        columns
            .iter()
            .filter(move |column| ValueKind::of(&column.data_type) == kind)
            .map(|column| column.name.clone())
    };
    let numbers: Vec<String> = named(ValueKind::Number).collect();
    let time = named(ValueKind::Time).next();
    let text = named(ValueKind::Text).next();
    let spec = |kind, x: String, y: &String, series| ChartSpec {
        kind,
        x,
        y: y.clone(),
        series,
    };
    match (time, text, numbers.as_slice()) {
        (Some(time), series, [y, ..]) => Some(spec(ChartKind::Line, time, y, series)),
        (None, Some(text), [y, ..]) => Some(spec(ChartKind::Bar, text, y, None)),
        (None, None, [x, y, ..]) => Some(spec(ChartKind::Scatter, x.clone(), y, None)),
        (None, None, [x]) => Some(spec(ChartKind::Histogram, x.clone(), x, None)),
        _ => None,
    }
}

/// Why a result cannot be drawn as asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChartError {
    /// The spec names a column the result does not have.
    #[error("the result has no column {column:?}")]
    UnknownColumn {
        /// The missing column.
        column: String,
    },
    /// A value meant for a numeric axis is not a number.
    #[error("{column}: {value:?} is not a number")]
    NotNumeric {
        /// The column.
        column: String,
        /// The value as displayed.
        value: String,
    },
    /// A value of a date or timestamp column is not one.
    #[error("{column}: {value:?} is not a date or time")]
    NotTime {
        /// The column.
        column: String,
        /// The value as displayed.
        value: String,
    },
}

/// What the x axis measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum XScale {
    /// Categories; a point's x is its category's index.
    Category {
        /// The categories' labels, in axis order.
        labels: Vec<String>,
    },
    /// Plain numbers.
    Number,
    /// Instants, as milliseconds since 1970-01-01 UTC.
    Time,
}

/// One point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Along the x axis (see [`XScale`]).
    pub x: f64,
    /// Along the y axis.
    pub y: f64,
}

/// The points of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartSeries {
    /// The series column's value; none when the chart has one series.
    pub name: Option<String>,
    /// The points, in x order for lines and areas.
    pub points: Vec<Point>,
}

/// Everything a renderer needs to draw a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    /// The chart asked for.
    pub spec: ChartSpec,
    /// What x measures.
    pub scale: XScale,
    /// The series, in order of first appearance.
    pub series: Vec<ChartSeries>,
    /// The x range the axis covers.
    pub x_range: (f64, f64),
    /// The y range the axis covers (zero included for bars, areas and histograms).
    pub y_range: (f64, f64),
    /// A histogram's bin width (its points' x are bin centres).
    pub bin_width: Option<f64>,
    /// Rows not drawn because their x or y is null or not finite.
    pub skipped: usize,
}

/// A tick of the x axis: where it is and its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Along the x axis.
    pub at: f64,
    /// What it reads.
    pub label: String,
}

impl ChartData {
    /// The x axis's ticks: the categories (every n-th past [`MAX_TICKS`] × 3), UTC day
    /// or hour boundaries for times (days only when every value is a day), labelled as
    /// days or days and times, round numbers otherwise.
    pub fn x_ticks(&self) -> Vec<Tick> {
        let (low, high) = self.x_range;
        match &self.scale {
            XScale::Category { labels } => {
                let step = labels.len().div_ceil(MAX_TICKS * 3).max(1);
                labels
                    .iter()
                    .enumerate()
                    .step_by(step)
                    .map(|(index, label)| Tick {
                        at: index as f64,
                        label: label.clone(),
                    })
                    .collect()
            }
            XScale::Time => {
                const HOUR: f64 = 3_600_000.0;
                let steps = [1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 168.0, 336.0].map(|h| h * HOUR);
                // Days (dates, or times at midnight) are not split into hours.
                let days = self
                    .series
                    .iter()
                    .flat_map(|series| &series.points)
                    .all(|point| point.x.rem_euclid(DAY_MS) == 0.0);
                let fits = |step: &f64| {
                    (high - low) / step <= MAX_TICKS as f64 && (!days || *step >= DAY_MS)
                };
                let step = steps
                    .into_iter()
                    .find(fits)
                    .unwrap_or_else(|| ((high - low) / MAX_TICKS as f64 / DAY_MS).ceil() * DAY_MS);
                let format = if step >= DAY_MS {
                    "%Y-%m-%d"
                } else {
                    "%m-%d %H:%M"
                };
                multiples(low, high, step)
                    .map(|at| Tick {
                        at,
                        label: DateTime::from_timestamp_millis(at as i64)
                            .map(|instant| instant.format(format).to_string())
                            .unwrap_or_default(),
                    })
                    .collect()
            }
            XScale::Number => {
                let step = round_step((high - low) / MAX_TICKS as f64);
                multiples(low, high, step)
                    .map(|at| Tick {
                        at,
                        label: number_label(at),
                    })
                    .collect()
            }
        }
    }
}

/// A number as an axis labels it: at most two decimals, no trailing zeros.
pub fn number_label(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" => "0".to_owned(),
        text => text.to_owned(),
    }
}

/// The multiples of `step` from `low` to `high`.
fn multiples(low: f64, high: f64, step: f64) -> impl Iterator<Item = f64> {
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last.max(first - 1)).map(move |n| n as f64 * step)
}

/// The round step (1, 2 or 5 times a power of ten) at least `raw`.
fn round_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10_f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// One parsed row: x, y, series.
type Row = (XValue, f64, Option<String>);

#[derive(Debug, Clone, PartialEq)]
enum XValue {
    Number(f64),
    Text(String),
}

impl ChartData {
    /// Reads the rows of a result (display strings, `None` for null) as `spec` asks.
    pub fn from_rows(
        spec: &ChartSpec,
        columns: &[Column],
        rows: &[Vec<Option<String>>],
    ) -> Result<ChartData, ChartError> {
        let index = |name: &str| {
            columns
                .iter()
                .position(|column| column.name == name)
                .ok_or_else(|| ChartError::UnknownColumn {
                    column: name.to_owned(),
                })
        };
        let x = index(&spec.x)?;
        let x_kind = ValueKind::of(&columns[x].data_type);
        if spec.kind == ChartKind::Histogram {
            return histogram(spec, x, rows);
        }
        let y = index(&spec.y)?;
        let series = spec.series.as_deref().map(index).transpose()?;
        let mut parsed = Vec::with_capacity(rows.len());
        let mut skipped = 0;
        for row in rows {
            let cell = |at: usize| row.get(at).cloned().flatten();
            let (Some(x_text), Some(y_text)) = (cell(x), cell(y)) else {
                skipped += 1;
                continue;
            };
            let y_value = number(&spec.y, &y_text)?;
            let x_value = match (x_kind, spec.kind) {
                (ValueKind::Text, _) => XValue::Text(x_text),
                (_, ChartKind::Bar) => XValue::Text(x_text),
                (ValueKind::Number, _) => XValue::Number(number(&spec.x, &x_text)?),
                (ValueKind::Time, _) => XValue::Number(time_ms(&spec.x, &x_text)?),
            };
            if !y_value.is_finite() || matches!(x_value, XValue::Number(x) if !x.is_finite()) {
                skipped += 1;
                continue;
            }
            let name = series.map(|at| cell(at).unwrap_or_else(|| "null".to_owned()));
            parsed.push((x_value, y_value, name));
        }
        Ok(assemble(spec, x_kind, parsed, skipped))
    }
}

/// Groups parsed rows into series and works out the axes.
fn assemble(spec: &ChartSpec, x_kind: ValueKind, rows: Vec<Row>, skipped: usize) -> ChartData {
    let categorical = rows.iter().any(|(x, _, _)| matches!(x, XValue::Text(_)));
    let labels = if categorical {
        category_labels(&rows, x_kind)
    } else {
        Vec::new()
    };
    let mut series: Vec<ChartSeries> = Vec::new();
    for (x, y, name) in rows {
        let x = match x {
            XValue::Number(x) => x,
            XValue::Text(text) => labels.iter().position(|l| *l == text).unwrap_or(0) as f64,
        };
        let at = match series.iter().position(|s| s.name == name) {
            Some(at) => at,
            None => {
                series.push(ChartSeries {
                    name,
                    points: Vec::new(),
                });
                series.len() - 1
            }
        };
        series[at].points.push(Point { x, y });
    }
    if matches!(spec.kind, ChartKind::Line | ChartKind::Area) {
        for one in &mut series {
            one.points.sort_by(|a, b| a.x.total_cmp(&b.x));
        }
    }
    let points = || series.iter().flat_map(|s| s.points.iter());
    let scale = match (categorical, x_kind) {
        (true, _) => XScale::Category { labels },
        (false, ValueKind::Time) => XScale::Time,
        (false, _) => XScale::Number,
    };
    let x_range = match &scale {
        XScale::Category { labels } => (-0.5, labels.len().max(1) as f64 - 0.5),
        _ => widen(extent(points().map(|p| p.x))),
    };
    let from_zero = matches!(spec.kind, ChartKind::Bar | ChartKind::Area);
    let y_range = y_axis(extent(points().map(|p| p.y)), from_zero);
    ChartData {
        spec: spec.clone(),
        scale,
        series,
        x_range,
        y_range,
        bin_width: None,
        skipped,
    }
}

/// The categories of the rows: in order of first appearance for text, in value order
/// for numbers and times drawn as bars.
fn category_labels(rows: &[Row], x_kind: ValueKind) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for (x, _, _) in rows {
        if let XValue::Text(text) = x {
            if !labels.contains(text) {
                labels.push(text.clone());
            }
        }
    }
    if x_kind == ValueKind::Number {
        labels.sort_by(|a, b| {
            let value = |text: &str| text.trim().parse::<f64>().unwrap_or(f64::NAN);
            value(a).total_cmp(&value(b))
        });
    } else if x_kind == ValueKind::Time {
        labels.sort();
    }
    labels
}

/// Counts the x column's values in at most [`MAX_BINS`] equal bins.
fn histogram(
    spec: &ChartSpec,
    x: usize,
    rows: &[Vec<Option<String>>],
) -> Result<ChartData, ChartError> {
    let mut values = Vec::with_capacity(rows.len());
    let mut skipped = 0;
    for row in rows {
        match row.get(x).cloned().flatten() {
            Some(text) => match number(&spec.x, &text)? {
                value if value.is_finite() => values.push(value),
                _ => skipped += 1,
            },
            None => skipped += 1,
        }
    }
    let (low, high) = extent(values.iter().copied()).unwrap_or((0.0, 0.0));
    let bins = ((values.len() as f64).sqrt().ceil() as usize).clamp(1, MAX_BINS);
    let width = if high > low {
        (high - low) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0_u64; bins];
    for value in &values {
        let bin = (((value - low) / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let points = counts
        .iter()
        .enumerate()
        .map(|(bin, count)| Point {
            x: low + width * (bin as f64 + 0.5),
            y: *count as f64,
        })
        .collect::<Vec<_>>();
    let most = counts.iter().copied().max().unwrap_or(0) as f64;
    Ok(ChartData {
        spec: spec.clone(),
        scale: XScale::Number,
        series: vec![ChartSeries { name: None, points }],
        x_range: (low, low + width * bins as f64),
        y_range: y_axis(Some((0.0, most)), true),
        bin_width: Some(width),
        skipped,
    })
}

/// A display string as a number: integers, floats, decimals.
fn number(column: &str, text: &str) -> Result<f64, ChartError> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| ChartError::NotNumeric {
            column: column.to_owned(),
            value: text.to_owned(),
        })
}

/// A date or timestamp as Arrow displays it, as milliseconds since the epoch (UTC; a
/// time without an offset is taken as UTC).
fn time_ms(column: &str, text: &str) -> Result<f64, ChartError> {
    let text = text.trim();
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|day| day.and_hms_opt(0, 0, 0))
        });
    let instant = match naive {
        Some(naive) => Some(naive.and_utc().timestamp_millis()),
        None => DateTime::parse_from_rfc3339(text)
            .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z"))
            .ok()
            .map(|instant| instant.timestamp_millis()),
    };
    instant
        .map(|ms| ms as f64)
        .ok_or_else(|| ChartError::NotTime {
            column: column.to_owned(),
            value: text.to_owned(),
        })
}

/// The smallest and largest value, if any.
fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |range, value| match range {
        None => Some((value, value)),
        Some((low, high)) => Some((low.min(value), high.max(value))),
    })
}

/// A range with room around a single value.
fn widen(range: Option<(f64, f64)>) -> (f64, f64) {
    match range {
        None => (0.0, 1.0),
        Some((low, high)) if low == high => (low - 1.0, high + 1.0),
        Some(range) => range,
    }
}

/// The y axis over these values: from zero if asked, with a little headroom.
fn y_axis(range: Option<(f64, f64)>, from_zero: bool) -> (f64, f64) {
    let (mut low, mut high) = widen(range);
    if from_zero {
        low = low.min(0.0);
        high = high.max(0.0);
    }
    let pad = (high - low) * 0.05;
    let low = if from_zero && low == 0.0 {
        0.0
    } else {
        low - pad
    };
    let high = if from_zero && high == 0.0 {
        0.0
    } else {
        high + pad
    };
    (low, high)
}

#[cfg(test)]
mod tests;
