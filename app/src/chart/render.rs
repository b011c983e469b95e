//! Draws core's [`ChartData`] as an SVG document with plotters' SVG backend.
//!
//! plotters writes one element per line; each series' marks are drawn between two
//! invisible sentinel rectangles, so that afterwards every mark (bar, point, line,
//! area) gets `class="mark <kind>"` and `data-series="<index>"`, and the sentinels go.
//! The root gets `role="img"` and the chart's description as its accessible name.

use medallion_core::sql::chart::{number_label, ChartData, ChartKind, XScale};
use plotters::chart::SeriesAnno;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// The series' colours (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];
/// Starts a series' marks in plotters' output.
const BEGIN: RGBColor = RGBColor(1, 2, 0xfe);
/// Ends them.
const END: RGBColor = RGBColor(1, 2, 0xff);

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<TickedAxis, RangedCoordf64>>;

/// A linear x axis whose ticks are core's (plotters' own `WithKeyPoints` cannot take a
/// label formatter).
struct TickedAxis {
    low: f64,
    high: f64,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (from, to): (i32, i32)) -> i32 {
        let share = (value - self.low) / (self.high - self.low);
        from + (f64::from(to - from) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.low..self.high
    }
}

/// The chart as an SVG document of `width` × `height` pixels, described by `label`.
pub fn svg(data: &ChartData, label: &str, (width, height): (u32, u32)) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw(&root, data)
            .and_then(|()| root.present().map_err(text))
            .map_err(|err| format!("the chart cannot be drawn: {err}"))?;
    }
    Ok(tag_marks(&out, data.spec.kind, label))
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    data: &ChartData,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(text)?;
    let (x0, x1) = data.x_range;
    let ticks = data.x_ticks();
    let axis = TickedAxis {
        low: x0,
        high: x1,
        ticks: ticks.iter().map(|tick| tick.at).collect(),
    };
    let (y0, y1) = data.y_range;
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        // Room for the last x label, centred on the axis' end.
        .margin_right(40)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(axis, y0..y1)
        .map_err(text)?;
    // A tick's label; plotters may ask for other points too, which get none.
    let x_format = |x: &f64| {
        ticks
            .iter()
            .find(|tick| (tick.at - *x).abs() <= (x1 - x0) * 1e-9)
            .map(|tick| tick.label.clone())
            .unwrap_or_default()
    };
    let y_format = |y: &f64| number_label(*y);
    let y_desc = match data.spec.kind {
        ChartKind::Histogram => "rows".to_owned(),
        _ => data.spec.y.clone(),
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(data.spec.x.as_str())
        .y_desc(y_desc)
        .x_labels(ticks.len().max(1))
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .label_style(("sans-serif", 13));
    if matches!(data.scale, XScale::Category { .. }) {
        mesh.disable_x_mesh();
    }
    mesh.draw().map_err(text)?;
    let named = data.series.iter().any(|series| series.name.is_some());
    for (index, series) in data.series.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        sentinel(&mut chart, data, BEGIN)?;
        let drawn = marks(&mut chart, data, index, colour)?;
        if let Some(name) = &series.name {
            drawn.label(name.as_str()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
            });
        }
        sentinel(&mut chart, data, END)?;
    }
    if named {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(0xcc, 0xcc, 0xcc))
            .label_font(("sans-serif", 13))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(text)?;
    }
    Ok(())
}

/// An empty rectangle of a colour no chart uses, found again in the output.
fn sentinel(chart: &mut Chart<'_, '_>, data: &ChartData, colour: RGBColor) -> Result<(), String> {
    let corner = (data.x_range.0, data.y_range.0);
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [corner, corner],
            colour.filled(),
        )))
        .map_err(text)?;
    Ok(())
}

/// A drawing error's message.
fn text(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// Draws series `index`'s marks; the drawn series, to label in the legend.
fn marks<'c, 'a, 'b>(
    chart: &'c mut Chart<'a, 'b>,
    data: &ChartData,
    index: usize,
    colour: RGBColor,
) -> Result<&'c mut SeriesAnno<'a, SVGBackend<'b>>, String> {
    let points = data.series[index].points.iter().map(|p| (p.x, p.y));
    let count = data.series.len().max(1) as f64;
    let drawn = match data.spec.kind {
        ChartKind::Bar => {
            // Bars of one category side by side, in 80% of its slot.
            let width = 0.8 / count;
            let left = -0.4 + width * index as f64;
            chart
                .draw_series(points.map(move |(x, y)| {
                    Rectangle::new([(x + left, 0.0), (x + left + width, y)], colour.filled())
                }))
                .map_err(text)?
        }
        ChartKind::Histogram => {
            let half = data.bin_width.unwrap_or(1.0) / 2.0;
            chart
                .draw_series(points.map(move |(x, y)| {
                    Rectangle::new([(x - half, 0.0), (x + half, y)], colour.filled())
                }))
                .map_err(text)?
        }
        ChartKind::Line => chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(text)?,
        ChartKind::Area => chart
            .draw_series(
                AreaSeries::new(points, 0.0, colour.mix(0.25)).border_style(colour.stroke_width(2)),
            )
            .map_err(text)?,
        ChartKind::Scatter => chart
            .draw_series(points.map(move |point| Circle::new(point, 3, colour.filled())))
            .map_err(text)?,
    };
    Ok(drawn)
}

/// Marks every element between a begin and an end sentinel, drops the sentinels and
/// names the root.
fn tag_marks(svg: &str, kind: ChartKind, label: &str) -> String {
    let begin = format!("fill=\"{}\"", hex(BEGIN));
    let end = format!("fill=\"{}\"", hex(END));
    let kind = kind.name().to_ascii_lowercase();
    let mut out = String::with_capacity(svg.len() + 64);
    let mut series: Option<usize> = None;
    let mut next = 0;
    for line in svg.lines() {
        if line.contains(&begin) {
            series = Some(next);
            next += 1;
            continue;
        }
        if line.contains(&end) {
            series = None;
            continue;
        }
        match (series, line.strip_prefix('<')) {
            (_, Some(rest)) if rest.starts_with("svg ") => {
                out.push_str(&format!(
                    "<svg role=\"img\" aria-label=\"{}\" class=\"chart-svg\" {}",
                    escape(label),
                    &rest[4..]
                ));
            }
            (Some(index), Some(rest)) if is_mark(rest) => {
                let (tag, attributes) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(&format!(
                    "<{tag} class=\"mark {kind}\" data-series=\"{index}\" {attributes}"
                ));
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn is_mark(element: &str) -> bool {
    ["rect ", "circle ", "polyline ", "polygon ", "path "]
        .iter()
        .any(|tag| element.starts_with(tag))
}

fn hex(colour: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}
