//! Where the popover goes: the step's element is found by its selector, highlighted
//! (class `tour-target`), scrolled into view once, and the popover placed beside it.
//! The page changes as the worker answers, so the place is looked up a few times a
//! second while the tour is shown.

use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::steps::Phase;
use super::Tour;

/// The popover's element id.
pub const POPOVER_ID: &str = "tour-popover";
/// The highlight's class.
const TARGET_CLASS: &str = "tour-target";
/// The gap between the element and the popover, in CSS pixels.
const GAP: f64 = 12.0;

#[wasm_bindgen]
extern "C" {
    /// A page element, for the few DOM calls the tour makes.
    #[wasm_bindgen(js_name = Element)]
    type Target;

    type ClassList;

    #[wasm_bindgen(method, getter, js_name = classList)]
    fn class_list(this: &Target) -> ClassList;

    #[wasm_bindgen(method)]
    fn add(this: &ClassList, name: &str);

    #[wasm_bindgen(method)]
    fn remove(this: &ClassList, name: &str);

    #[wasm_bindgen(method, js_name = getBoundingClientRect)]
    fn bounding_rect(this: &Target) -> JsValue;

    #[wasm_bindgen(method, js_name = scrollIntoView)]
    fn scroll_into_view_with(this: &Target, options: &JsValue);
}

/// An element's box in the viewport.
struct Rect {
    top: f64,
    left: f64,
    bottom: f64,
    right: f64,
}

impl Rect {
    fn of(element: &web_sys::Element) -> Self {
        let rect = element.unchecked_ref::<Target>().bounding_rect();
        let number = |name: &str| {
            js_sys::Reflect::get(&rect, &JsValue::from_str(name))
                .ok()
                .and_then(|value| value.as_f64())
                .unwrap_or(0.0)
        };
        Self {
            top: number("top"),
            left: number("left"),
            bottom: number("bottom"),
            right: number("right"),
        }
    }
}

/// The popover's top and left in the document for an element at `target`, a popover of
/// `width` × `height`, in a viewport of `viewport` (width, height): below the element,
/// else above, else beside it; `None` when none fits (the popover docks in a corner).
fn placement(
    target: &Rect,
    (width, height): (f64, f64),
    viewport: (f64, f64),
    scroll: (f64, f64),
) -> Option<(f64, f64)> {
    let (view_width, view_height) = viewport;
    let left = target.left.min(view_width - width - GAP).max(GAP);
    let top = if target.bottom + GAP + height <= view_height {
        Some((target.bottom + GAP, left))
    } else if target.top - GAP - height >= 0.0 {
        Some((target.top - GAP - height, left))
    } else if target.right + GAP + width <= view_width {
        let top = target.top.min(view_height - height - GAP).max(GAP);
        Some((top, target.right + GAP))
    } else if target.left - GAP - width >= 0.0 {
        let top = target.top.min(view_height - height - GAP).max(GAP);
        Some((top, target.left - GAP - width))
    } else {
        None
    };
    top.map(|(top, left)| (top + scroll.1, left + scroll.0))
}

/// Keeps the current phase's element highlighted and the popover beside it; the
/// popover's place, `None` while it is docked.
pub fn follow(tour: Tour, phase: Memo<Phase>) -> RwSignal<Option<(f64, f64)>> {
    let place = RwSignal::new(None);
    let highlighted = StoredValue::new_local(None::<web_sys::Element>);
    let scrolled_to = StoredValue::new(String::new());
    let tick = move || {
        let Some(document) = web_sys::window().and_then(|window| window.document()) else {
            return;
        };
        let target = if tour.active() {
            let selector = phase.with_untracked(|phase| phase.target.clone());
            document
                .query_selector(&selector)
                .ok()
                .flatten()
                .map(|element| (selector, element))
        } else {
            None
        };
        highlighted.update_value(|shown| {
            let same = match (shown.as_ref(), target.as_ref()) {
                (Some(old), Some((_, new))) => old == new,
                _ => false,
            };
            if !same {
                if let Some(old) = shown.take() {
                    old.unchecked_ref::<Target>()
                        .class_list()
                        .remove(TARGET_CLASS);
                }
            }
            if let Some((_, element)) = target.as_ref() {
                // Also after the view redrew the element's classes.
                element
                    .unchecked_ref::<Target>()
                    .class_list()
                    .add(TARGET_CLASS);
                *shown = Some(element.clone());
            }
        });
        let Some((selector, element)) = target else {
            place.set(None);
            return;
        };
        if scrolled_to.with_value(|last| *last != selector) {
            scrolled_to.set_value(selector);
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"block".into(), &"center".into());
            let _ = js_sys::Reflect::set(&options, &"behavior".into(), &"instant".into());
            element
                .unchecked_ref::<Target>()
                .scroll_into_view_with(&options);
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        let size = document
            .get_element_by_id(POPOVER_ID)
            .and_then(|popover| popover.dyn_into::<web_sys::HtmlElement>().ok())
            .map_or((380.0, 260.0), |popover| {
                (
                    f64::from(popover.offset_width()),
                    f64::from(popover.offset_height()),
                )
            });
        let number = |value: Result<JsValue, JsValue>| {
            value.ok().and_then(|value| value.as_f64()).unwrap_or(0.0)
        };
        let viewport = (number(window.inner_width()), number(window.inner_height()));
        let scroll = (
            window.scroll_x().unwrap_or(0.0),
            window.scroll_y().unwrap_or(0.0),
        );
        let next = placement(&Rect::of(&element), size, viewport, scroll);
        if place.get_untracked() != next {
            place.set(next);
        }
    };
    if let Ok(handle) = set_interval_with_handle(tick, Duration::from_millis(250)) {
        on_cleanup(move || handle.clear());
    }
    place
}
