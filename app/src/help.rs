//! Help in place: every panel's "What is this?" button opens the matching section of
//! docs/CONCEPTS.md in a non-modal aside. The Markdown is rendered to HTML at build time
//! (app/build.rs, pulldown-cmark), so the page carries only the HTML.

use leptos::html::Aside;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

include!(concat!(env!("OUT_DIR"), "/concepts.rs"));

/// The section of CONCEPTS.md an anchor names: its title and HTML.
fn section(anchor: &str) -> Option<(&'static str, &'static str)> {
    SECTIONS
        .iter()
        .find(|(name, _, _)| *name == anchor)
        .map(|(_, title, html)| (*title, *html))
}

/// Which help is open: the panel that asked, and the section's anchor.
#[derive(Clone, Copy)]
pub struct Help {
    open: RwSignal<Option<(String, String)>>,
}

impl Help {
    /// No help open; put in the context for the buttons and the aside.
    pub fn provide() -> Self {
        let help = Self {
            open: RwSignal::new(None),
        };
        provide_context(help);
        help
    }
}

/// The button that opens `section` (a CONCEPTS.md heading's anchor) as the help of
/// `panel`; named "What is this? <panel>".
#[component]
pub fn WhatIsThis(panel: &'static str, section: &'static str) -> impl IntoView {
    let help = expect_context::<Help>();
    let shown = move || {
        help.open
            .with(|open| open.as_ref().is_some_and(|(_, anchor)| anchor == section))
    };
    view! {
        <button
            class="what-is-this"
            aria-label=format!("What is this? {panel}")
            aria-expanded=move || shown().to_string()
            on:click=move |_| {
                if shown() {
                    help.open.set(None);
                } else {
                    help.open.set(Some((panel.to_owned(), section.to_owned())));
                }
            }
        >
            "What is this?"
        </button>
    }
}

/// The open help: the section rendered, beside the page; a link to another section of
/// CONCEPTS.md opens it here.
#[component]
pub fn HelpPanel() -> impl IntoView {
    let help = expect_context::<Help>();
    let aside = NodeRef::<Aside>::new();
    // Opened: the help takes the focus, so a screen reader reads it and Tab is in it.
    Effect::new(move |_| {
        if help.open.with(Option::is_some) {
            if let Some(aside) = aside.get() {
                let _ = aside.focus();
            }
        }
    });
    let follow = move |event: web_sys::MouseEvent| {
        let link = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.closest("a").ok().flatten());
        let Some(href) = link.and_then(|link| link.get_attribute("href")) else {
            return;
        };
        if let Some(anchor) = href
            .strip_prefix('#')
            .filter(|anchor| !anchor.starts_with('/'))
        {
            event.prevent_default();
            let panel = help.open.with_untracked(|open| {
                open.as_ref()
                    .map(|(panel, _)| panel.clone())
                    .unwrap_or_default()
            });
            help.open.set(Some((panel, anchor.to_owned())));
        }
    };
    view! {
        {move || {
            help.open.get().map(|(panel, anchor)| {
                let (title, html) = section(&anchor).unwrap_or((
                    "Not written yet",
                    "<p>This part of the concepts is not written yet.</p>",
                ));
                view! {
                    <aside
                        class="help"
                        aria-label="Help"
                        tabindex="-1"
                        node_ref=aside
                        on:keydown=move |event: web_sys::KeyboardEvent| {
                            if event.key() == "Escape" {
                                help.open.set(None);
                            }
                        }
                    >
                        <div class="help-head">
                            <span class="help-panel">{format!("{panel}: {title}")}</span>
                            <button on:click=move |_| help.open.set(None)>"Close help"</button>
                        </div>
                        <div class="help-body" on:click=follow inner_html=html></div>
                    </aside>
                }
            })
        }}
    }
}
