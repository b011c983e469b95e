//! The Medallion Playground UI: a thin Leptos layer over `medallion-core`.
//!
//! The app decides nothing about data: a Web Worker runs core over the browser's
//! stores, and the page sends it requests and shows its replies.

#![cfg(target_arch = "wasm32")]

mod chart;
mod connection;
mod dashboard;
mod explorer;
mod grid;
mod help;
mod history;
mod inspector;
mod lineage;
mod models;
mod playground;
pub mod protocol;
mod route;
mod silver;
mod sql;
mod status;
mod tour;
pub mod worker;

use leptos::prelude::*;

pub use status::{probe, EnvironmentStatus, StoreStatus};

/// The OPFS directory and IndexedDB database the playground keeps its warehouse in.
pub const WAREHOUSE_NAME: &str = "medallion";

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    help::Help::provide();
    tour::Tour::provide();
    view! {
        <header class="masthead">
            <div class="masthead-tour">
                <tour::TourButton />
            </div>
            <h1>"Medallion Playground"</h1>
            <p class="tagline">
                "A lakehouse in your browser tab: incremental Bronze ingest, modular Silver "
                "transforms and a dbt-compatible Gold star schema, stored as Delta Lake tables."
            </p>
            <tour::TourOffer />
        </header>
        <main>
            <playground::Playground />
        </main>
        <help::HelpPanel />
    }
}
