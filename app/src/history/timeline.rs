//! A key's versions on a time axis: one lane per version, a bar from valid_from to
//! valid_to (the current version open-ended, fading into an arrow), markers where the
//! key was deleted and restored, and the picked version highlighted. Only layout: the
//! times and kinds are core's.

use leptos::prelude::*;
use medallion_core::history::{KeyHistory, Scd2Version, VersionKind};

use super::version::kind_name;

/// The drawing's width, in SVG units (it scales to the panel).
const WIDTH: f64 = 960.0;
/// Room for the lane labels.
const LEFT: f64 = 40.0;
/// Room for the open version's arrow.
const RIGHT: f64 = 36.0;
const TOP: f64 = 14.0;
const LANE: f64 = 30.0;
const BAR: f64 = 18.0;
/// Room for the axis and its labels.
const AXIS: f64 = 36.0;
/// Ticks the axis has at most.
const MAX_TICKS: i64 = 8;
/// The open bar's fading end, in SVG units.
const FADE: f64 = 48.0;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The tick intervals the axis chooses from, shortest first.
const STEPS: [i64; 20] = [
    SECOND,
    5 * SECOND,
    15 * SECOND,
    30 * SECOND,
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    91 * DAY,
    182 * DAY,
    365 * DAY,
];

/// The axis from `start` to `end` (ms), mapped onto the plot's width.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    start: i64,
    end: i64,
}

impl Axis {
    /// An axis over `start..end`; one of no length gets a second.
    fn new(start: i64, end: i64) -> Self {
        Self {
            start,
            end: end.max(start + SECOND),
        }
    }

    /// The x of a time, clamped to the plot.
    fn x(self, ms: i64) -> f64 {
        let share = (ms - self.start) as f64 / (self.end - self.start) as f64;
        LEFT + share.clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }

    /// The interval between ticks: the shortest giving at most [`MAX_TICKS`].
    fn step(self) -> i64 {
        let span = self.end - self.start;
        STEPS
            .into_iter()
            .find(|step| span / step <= MAX_TICKS)
            .unwrap_or_else(|| (span / MAX_TICKS / (365 * DAY) + 1) * 365 * DAY)
    }

    /// The ticks: multiples of the step inside the axis.
    fn ticks(self) -> Vec<i64> {
        let step = self.step();
        let first = self.start.div_euclid(step) * step;
        let first = if first < self.start {
            first + step
        } else {
            first
        };
        (0..)
            .map(|index| first + index * step)
            .take_while(|tick| *tick <= self.end)
            .collect()
    }
}

/// A tick's label (UTC): the date for day steps, else the time (with the date for
/// minute steps).
fn tick_label(ms: i64, step: i64) -> String {
    let iso = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64))
        .to_iso_string()
        .as_string()
        .unwrap_or_default();
    let part = if step >= DAY {
        iso.get(0..10)
    } else if step >= MINUTE {
        iso.get(5..16)
    } else {
        iso.get(11..19)
    };
    part.unwrap_or(&iso).replace('T', " ")
}

/// What the drawing shows, in words (its description).
fn description(history: &KeyHistory) -> String {
    history
        .versions
        .iter()
        .map(|version| {
            let until = version.valid_to.as_deref().unwrap_or("now");
            format!(
                "Version {}, {}: {} to {until}.",
                version.number,
                kind_name(&version.kind),
                version.valid_from
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One version's lane: its label, bar, open end and marker.
fn lane(
    axis: Axis,
    lane: usize,
    version: &Scd2Version,
    selected: Signal<Option<usize>>,
    select: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let number = version.number;
    let kind = kind_name(&version.kind);
    let top = TOP + lane as f64 * LANE;
    let middle = top + BAR / 2.0;
    let x0 = axis.x(version.valid_from_ms);
    let x1 = axis
        .x(version.valid_to_ms.unwrap_or(axis.end))
        .max(x0 + 2.0);
    let open = version.valid_to_ms.is_none();
    // The open bar fades out over its last part, then an arrow says it goes on.
    let solid_end = if open && x1 - x0 > 2.0 * FADE {
        x1 - FADE
    } else {
        x1
    };
    // The fading parts are not bars: one bar per version.
    let class_of = move |part: &'static str| {
        let mut class = format!("{part} {kind}");
        if open {
            class.push_str(" current");
        }
        if selected.get() == Some(number) {
            class.push_str(" selected");
        }
        class
    };
    let class = move || class_of("bar");
    let fade = (solid_end < x1).then(|| {
        (0..4)
            .map(|part| {
                let width = (x1 - solid_end) / 4.0;
                let opacity = 0.8 - 0.2 * part as f64;
                view! {
                    <rect
                        class=move || class_of("bar-fade")
                        x=format!("{:.1}", solid_end + part as f64 * width)
                        y=format!("{top:.1}")
                        width=format!("{width:.1}")
                        height=BAR.to_string()
                        opacity=format!("{opacity:.2}")
                        on:click=move |_| select(number)
                    ></rect>
                }
            })
            .collect_view()
    });
    let arrow = open.then(|| {
        let d = format!(
            "M {x1:.1} {:.1} L {:.1} {middle:.1} L {x1:.1} {:.1} Z",
            top - 3.0,
            x1 + 14.0,
            top + BAR + 3.0
        );
        view! { <path class="open-arrow" d=d><title>"current: no end yet"</title></path> }
    });
    let marker = match version.kind {
        VersionKind::Deleted => {
            let d = format!(
                "M {:.1} {:.1} L {:.1} {:.1} M {:.1} {:.1} L {:.1} {:.1}",
                x0 - 6.0,
                middle - 6.0,
                x0 + 6.0,
                middle + 6.0,
                x0 + 6.0,
                middle - 6.0,
                x0 - 6.0,
                middle + 6.0
            );
            Some(view! {
                <path class="marker deleted" d=d>
                    <title>{format!("deleted at {}", version.valid_from)}</title>
                </path>
            })
        }
        VersionKind::Restored => {
            let d = format!(
                "M {x0:.1} {:.1} L {:.1} {:.1} L {:.1} {:.1} Z",
                middle - 8.0,
                x0 + 7.0,
                middle + 6.0,
                x0 - 7.0,
                middle + 6.0
            );
            Some(view! {
                <path class="marker restored" d=d>
                    <title>{format!("restored at {}", version.valid_from)}</title>
                </path>
            })
        }
        VersionKind::Created | VersionKind::Changed => None,
    };
    let title = format!(
        "Version {number} ({kind}): {} to {}",
        version.valid_from,
        version.valid_to.as_deref().unwrap_or("now")
    );
    view! {
        <g class="lane">
            <text class="lane-label" x="8" y=format!("{:.1}", middle + 4.0)>{format!("v{number}")}</text>
            <rect
                class=class
                x=format!("{x0:.1}")
                y=format!("{top:.1}")
                width=format!("{:.1}", solid_end - x0)
                height=BAR.to_string()
                on:click=move |_| select(number)
            >
                <title>{title}</title>
            </rect>
            {fade}
            {arrow}
            {marker}
        </g>
    }
}

/// The timeline of one key: an image named after the relation and the key.
#[component]
pub(super) fn Timeline(
    history: KeyHistory,
    selected: Signal<Option<usize>>,
    select: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let axis = Axis::new(history.axis_start_ms, history.axis_end_ms);
    let lanes = history.versions.len();
    let bottom = TOP + lanes as f64 * LANE;
    let height = bottom + AXIS;
    let step = axis.step();
    let ticks = axis
        .ticks()
        .into_iter()
        .map(|tick| {
            let x = format!("{:.1}", axis.x(tick));
            view! {
                <g class="tick">
                    <line x1=x.clone() x2=x.clone() y1=format!("{TOP:.1}") y2=format!("{:.1}", bottom + 4.0)></line>
                    <text x=x y=format!("{:.1}", bottom + 20.0)>{tick_label(tick, step)}</text>
                </g>
            }
        })
        .collect_view();
    let bars = history
        .versions
        .iter()
        .enumerate()
        .map(|(index, version)| lane(axis, index, version, selected, select))
        .collect_view();
    view! {
        <svg
            class="timeline"
            role="img"
            aria-label=format!("Timeline of {} {}", history.relation.relation, history.key)
            viewBox=format!("0 0 {WIDTH} {height:.0}")
        >
            <desc>{description(&history)}</desc>
            <g class="axis">
                {ticks}
                <line
                    class="axis-line"
                    x1=format!("{LEFT:.1}")
                    x2=format!("{:.1}", WIDTH - RIGHT)
                    y1=format!("{bottom:.1}")
                    y2=format!("{bottom:.1}")
                ></line>
            </g>
            {bars}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn the_axis_maps_times_and_picks_round_ticks() {
        let start = 1_741_000_000_000;
        let axis = Axis::new(start, start + 10 * DAY);
        assert_eq!(axis.x(start), LEFT);
        assert_eq!(axis.x(start + 10 * DAY), WIDTH - RIGHT);
        assert_eq!(axis.x(start - DAY), LEFT, "clamped");
        assert_eq!(axis.step(), 2 * DAY);
        let ticks = axis.ticks();
        assert!(ticks.len() <= MAX_TICKS as usize + 1);
        assert!(ticks.iter().all(|tick| tick % (2 * DAY) == 0));
        assert!(ticks[0] >= start && ticks[0] < start + 2 * DAY);
        assert_eq!(Axis::new(start, start).end, start + SECOND);
        assert_eq!(tick_label(0, DAY), "1970-01-01");
        assert_eq!(tick_label(90 * MINUTE, HOUR), "01-01 01:30");
        assert_eq!(tick_label(5 * SECOND, SECOND), "00:00:05");
    }
}
