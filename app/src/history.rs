//! The SCD2 history view: pick a snapshot or SCD2 dimension and a key (by id or by any
//! attribute's text), and see its versions on a time axis, what changed between them,
//! where each came from and the facts that point at it. Core's `KeyHistory` says
//! everything; this lays it out.

mod timeline;
mod version;

use leptos::prelude::*;
use medallion_core::history::{KeyHistory, KeyMatch, Scd2Relation};

use crate::connection::Connection;
use crate::help::WhatIsThis;
use crate::protocol::Request;
use crate::route::{self, Route};
use timeline::Timeline;
use version::VersionArticle;

/// A search's answer: the relation, the text searched and the keys found.
type Matches = (String, String, Vec<KeyMatch>);

/// What the history view shows, updated by the worker's replies.
#[derive(Clone, Copy)]
pub struct HistoryState {
    connection: Connection,
    /// The relations that keep versions of a key.
    relations: RwSignal<Vec<Scd2Relation>>,
    /// The search box's text.
    query: RwSignal<String>,
    /// The last search's answer.
    matches: RwSignal<Option<Matches>>,
    /// The key's versions.
    history: RwSignal<Option<KeyHistory>>,
    /// The version the user picked (its number); none: the newest.
    selected: RwSignal<Option<usize>>,
    /// Why the history could not be read.
    error: RwSignal<Option<String>>,
    /// A search is on its way: the next goes when it answers.
    searching: StoredValue<bool>,
}

impl HistoryState {
    /// Nothing shown yet.
    pub fn new(connection: Connection) -> Self {
        Self {
            connection,
            relations: RwSignal::new(Vec::new()),
            query: RwSignal::new(String::new()),
            matches: RwSignal::new(None),
            history: RwSignal::new(None),
            selected: RwSignal::new(None),
            error: RwSignal::new(None),
            searching: StoredValue::new(false),
        }
    }

    /// The history route of the key shown last (the view opens on it again).
    pub fn last_route(self) -> Route {
        let (relation, key) = self
            .history
            .with(|history| {
                history
                    .as_ref()
                    .map(|history| (history.relation.relation.clone(), history.key.clone()))
            })
            .unzip();
        Route::History { relation, key }
    }

    /// The relation and key a route names.
    fn chosen(route: &Route) -> (Option<String>, Option<String>) {
        match route {
            Route::History { relation, key } => (relation.clone(), key.clone()),
            _ => (None, None),
        }
    }

    /// Searches `relation` for the search box's text, unless a search is on its way
    /// (its answer sends the next).
    fn search(self, relation: String) {
        if self.searching.get_value() {
            return;
        }
        self.searching.set_value(true);
        self.connection.post(&Request::Scd2Search {
            relation,
            query: self.query.get_untracked(),
        });
    }

    /// Asks for what the route shows when the view opens or its selection changes.
    pub fn follow(self, route: RwSignal<Route>) {
        let opened = Memo::new(move |_| matches!(route.get(), Route::History { .. }));
        Effect::new(move |_| {
            if opened.get() {
                self.connection.post(&Request::Scd2Relations);
            }
        });
        let relation = Memo::new(move |_| Self::chosen(&route.get()).0);
        Effect::new(move |_| {
            if let Some(relation) = relation.get() {
                self.search(relation);
            }
        });
        let key = Memo::new(move |_| match Self::chosen(&route.get()) {
            (Some(relation), Some(key)) => Some((relation, key)),
            _ => None,
        });
        Effect::new(move |_| {
            if let Some((relation, key)) = key.get() {
                self.error.set(None);
                self.selected.set(None);
                self.connection
                    .post(&Request::Scd2History { relation, key });
            }
        });
    }

    /// The worker is (again) ready, or a run ended: everything shown is asked again
    /// (a run adds versions; what was asked before the worker was ready is lost).
    pub fn refresh(self, route: &Route) {
        self.searching.set_value(false);
        self.error.set(None);
        self.connection.post(&Request::Scd2Relations);
        let (relation, key) = Self::chosen(route);
        if let Some(relation) = relation {
            if let Some(key) = key {
                self.connection.post(&Request::Scd2History {
                    relation: relation.clone(),
                    key,
                });
            }
            self.search(relation);
        }
    }

    /// The relations arrived; a route naming none shows the first.
    pub fn show_relations(self, relations: Vec<Scd2Relation>, route: RwSignal<Route>) {
        let first = relations.first().map(|first| first.relation.clone());
        self.relations.set(relations);
        if let (Route::History { relation: None, .. }, Some(first)) = (route.get_untracked(), first)
        {
            let next = Route::History {
                relation: Some(first),
                key: None,
            };
            route::replace(&next);
            route.set(next);
        }
    }

    /// A search answered; if the box or the relation changed meanwhile, the next goes.
    pub fn show_matches(
        self,
        relation: String,
        query: String,
        matches: Vec<KeyMatch>,
        route: &Route,
    ) {
        self.searching.set_value(false);
        let wanted = Self::chosen(route).0;
        let stale = wanted.as_deref() != Some(relation.as_str())
            || self.query.with_untracked(|text| *text != query);
        self.matches.set(Some((relation, query, matches)));
        if stale {
            if let Some(wanted) = wanted {
                self.search(wanted);
            }
        }
    }

    /// A key's history arrived.
    pub fn show(self, history: KeyHistory) {
        self.error.set(None);
        self.history.set(Some(history));
    }

    /// A request of the view failed: shown in place of the history.
    pub fn fail(self, message: String) {
        self.searching.set_value(false);
        self.error.set(Some(message));
    }
}

/// The relation select, with the chosen relation's key and attributes.
#[component]
fn RelationPicker(state: HistoryState, route: RwSignal<Route>) -> impl IntoView {
    let chosen = Memo::new(move |_| HistoryState::chosen(&route.get()).0);
    let pick = move |relation: String| {
        route::navigate(&Route::History {
            relation: (!relation.is_empty()).then_some(relation),
            key: None,
        })
    };
    let about = move || {
        let chosen = chosen.get()?;
        state.relations.with(|relations| {
            relations
                .iter()
                .find(|relation| relation.relation == chosen)
                .map(|relation| {
                    let mut text = format!("Key {}", relation.key);
                    if relation.snapshot != relation.relation {
                        text.push_str(&format!(", from the snapshot {}", relation.snapshot));
                    }
                    if !relation.attributes.is_empty() {
                        text.push_str(&format!("; versions of {}", relation.attributes.join(", ")));
                    }
                    text
                })
        })
    };
    view! {
        <div class="history-relation">
            <label for="history-relation">"Relation"</label>
            <select id="history-relation" on:change=move |event| pick(event_target_value(&event))>
                {move || {
                    let chosen = chosen.get();
                    let none = chosen.is_none().then(|| {
                        view! { <option value="" selected=true>"Choose a relation"</option> }
                    });
                    let options = state
                        .relations
                        .get()
                        .into_iter()
                        .map(|relation| {
                            let selected = chosen.as_deref() == Some(relation.relation.as_str());
                            view! {
                                <option value=relation.relation.clone() selected=selected>
                                    {relation.relation.clone()}
                                </option>
                            }
                        })
                        .collect_view();
                    view! { {none} {options} }
                }}
            </select>
            <p class="muted">{about}</p>
        </div>
    }
}

/// The key search and its matches, each a link to the key's history.
#[component]
fn KeySearch(state: HistoryState, route: RwSignal<Route>) -> impl IntoView {
    let chosen = Memo::new(move |_| HistoryState::chosen(&route.get()));
    let input = move |text: String| {
        state.query.set(text);
        if let Some(relation) = chosen.get_untracked().0 {
            state.search(relation);
        }
    };
    let items = move || {
        let (relation, key) = chosen.get();
        let relation = relation?;
        let matches = state.matches.get().filter(|(of, _, _)| *of == relation)?;
        Some(if matches.2.is_empty() {
            view! { <li class="muted">{format!("No key of {relation} matches {:?}.", matches.1)}</li> }
                .into_any()
        } else {
            matches
                .2
                .into_iter()
                .map(|found| {
                    let href = Route::History {
                        relation: Some(relation.clone()),
                        key: Some(found.key.clone()),
                    }
                    .to_hash();
                    let current = (key.as_deref() == Some(found.key.as_str())).then_some("page");
                    let plural = if found.versions == 1 { "" } else { "s" };
                    view! {
                        <li>
                            <a href=href aria-current=current>
                                <strong>{found.key.clone()}</strong>
                                {(!found.label.is_empty()).then(|| format!(" · {}", found.label))}
                            </a>
                            <span class="match-detail">
                                {found.matched.map(|matched| format!("{}: {} · ", matched.column, matched.value))}
                                {format!("{} version{plural}", found.versions)}
                            </span>
                        </li>
                    }
                })
                .collect_view()
                .into_any()
        })
    };
    view! {
        <div class="history-search">
            <input
                type="search"
                aria-label="Search keys"
                placeholder="An id, a name, an email…"
                prop:value=move || state.query.get()
                on:input=move |event| input(event_target_value(&event))
            />
            <ul class="key-matches" aria-label="Matching keys">{items}</ul>
        </div>
    }
}

/// The chosen key's timeline and versions, or why there are none.
#[component]
fn KeyPanel(state: HistoryState, route: RwSignal<Route>) -> impl IntoView {
    let chosen = Memo::new(move |_| HistoryState::chosen(&route.get()));
    // Only the history of the key the route names (not the one shown before).
    let shown = Memo::new(move |_| {
        let (relation, key) = chosen.get();
        state.history.get().filter(|history| {
            Some(history.relation.relation.as_str()) == relation.as_deref()
                && Some(history.key.as_str()) == key.as_deref()
        })
    });
    let selected = Signal::derive(move || {
        state.selected.get().or_else(|| {
            shown.with(|history| {
                history
                    .as_ref()
                    .and_then(|history| history.versions.last().map(|version| version.number))
            })
        })
    });
    let select = move |number: usize| state.selected.set(Some(number));
    move || {
        if let Some(message) = state.error.get() {
            return view! { <p class="error">{message}</p> }.into_any();
        }
        match (chosen.get(), shown.get()) {
            ((_, None), _) => view! {
                <p class="muted">"Search for a key, or pick one of the matching keys, to see its versions."</p>
            }
            .into_any(),
            ((_, Some(key)), None) => {
                view! { <p class="loading">{format!("Reading the versions of {key}…")}</p> }.into_any()
            }
            (_, Some(history)) => {
                let count = history.versions.len();
                let title = format!(
                    "{} {}: {count} version{}",
                    history.relation.relation,
                    history.key,
                    if count == 1 { "" } else { "s" }
                );
                let relation = history.relation.clone();
                let versions = history
                    .versions
                    .iter()
                    .cloned()
                    .map(|version| {
                        let relation = relation.clone();
                        view! { <VersionArticle relation version selected select /> }
                    })
                    .collect_view();
                view! {
                    <h3>{title}</h3>
                    <Timeline history selected select />
                    <ol class="versions" aria-label="Versions">{versions}</ol>
                }
                .into_any()
            }
        }
    }
}

/// The whole history view.
#[component]
pub fn History(state: HistoryState, route: RwSignal<Route>) -> impl IntoView {
    view! {
        <section class="panel wide history-view" aria-labelledby="history-heading">
            <WhatIsThis panel="SCD2 history" section="the-scd2-history-view" />
            <h2 id="history-heading">"SCD2 history"</h2>
            <div class="history-layout">
                <div class="history-pick">
                    <RelationPicker state route />
                    <KeySearch state route />
                </div>
                <div class="history-key">
                    <KeyPanel state route />
                </div>
            </div>
        </section>
    }
}

impl HistoryState {
    /// The key's versions shown last (the guided tour reads them).
    pub fn shown(self) -> RwSignal<Option<KeyHistory>> {
        self.history
    }
}
