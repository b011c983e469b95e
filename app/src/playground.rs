//! The playground: one navigation over its views (the pipeline's landing, run
//! controls, board and checkpoint inspector; the lineage; the table explorer; the SQL
//! console; the model editor; the Silver pipelines; a key's SCD2 history), a run strip
//! every view shows, all fed by the pipeline worker's replies.

use std::collections::BTreeSet;

use leptos::prelude::*;
use medallion_core::lakehouse::{RunSummary, Stage, TableCard};
use medallion_core::landing::FileFormat;
use medallion_core::sample::bundled_spec;
use medallion_core::silver::PipelineDraft;
use medallion_core::sql::dashboard::Dashboard as DashboardData;
use medallion_core::warehouse;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::connection::{Connection, WorkerEvent};
use crate::dashboard::Dashboard;
use crate::explorer::{Explorer, ExplorerState};
use crate::help::WhatIsThis;
use crate::history::{History, HistoryState};
use crate::inspector::{Inspector, InspectorState};
use crate::lineage::{Lineage, LineageState, Query};
use crate::models::{Models, ModelsState};
use crate::protocol::{Reply, Request};
use crate::route::{self, navigate, Route};
use crate::silver::{Silver, SilverState};
use crate::sql::{Sql, SqlState};
use crate::status::{entries_detail, tables_detail, EnvironmentStatus};
use crate::tour::{Page, TourPopover};

/// Sends a dropped or picked file to the worker to land, or says why it cannot go.
fn send_file(
    connection: Connection,
    file: web_sys::File,
    entity: Option<String>,
) -> Result<(), String> {
    let name = file.name();
    if FileFormat::from_file_name(&name).is_none() {
        return Err(format!(
            "{name}: not a CSV, NDJSON or Parquet file (.csv, .ndjson, .jsonl, .json, .parquet)"
        ));
    }
    connection.post_with_file(&Request::LandFile { name, entity }, &file);
    Ok(())
}

/// Sends every file of a list (a picker's or a drop's).
fn send_files(
    connection: Connection,
    files: Option<web_sys::FileList>,
    entity: Option<String>,
) -> Result<(), String> {
    let Some(files) = files else {
        return Ok(());
    };
    let mut problems = Vec::new();
    for index in 0..files.length() {
        if let Some(file) = files.get(index) {
            if let Err(problem) = send_file(connection, file, entity.clone()) {
                problems.push(problem);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The page's state, updated by the worker's replies.
#[derive(Clone, Copy)]
struct Ui {
    connection: Connection,
    cards: RwSignal<Vec<TableCard>>,
    status: RwSignal<String>,
    error: RwSignal<Option<String>>,
    percent: RwSignal<u8>,
    running: RwSignal<bool>,
    ready: RwSignal<bool>,
    summary: RwSignal<Option<RunSummary>>,
    waiting: RwSignal<Vec<(String, u64)>>,
    /// Watch mode: every landing triggers Run all.
    watch: RwSignal<bool>,
    /// Tables whose version moved in the last board update: highlighted.
    changed: RwSignal<BTreeSet<String>>,
    explorer: ExplorerState,
    inspector: InspectorState,
    lineage: LineageState,
    sql: SqlState,
    models: ModelsState,
    /// The view and selection, from the URL.
    route: RwSignal<Route>,
    /// What the worker found of OPFS, IndexedDB and the SQL engine.
    environment: RwSignal<Option<EnvironmentStatus>>,
    /// The Gold dashboard, asked for on Ready and after each run.
    dashboard: RwSignal<Option<DashboardData>>,
    history: HistoryState,
    silver: SilverState,
}

impl Ui {
    /// Lands the sample's batch `batch`.
    fn land_sample(self, batch: usize) {
        self.error.set(None);
        self.status.set(format!("Landing sample batch {batch}…"));
        self.connection.post(&Request::LoadSample { batch });
    }

    fn run(self, stages: Vec<Stage>) {
        self.error.set(None);
        self.running.set(true);
        self.percent.set(0);
        self.status.set("Running…".to_owned());
        self.connection.post(&Request::Run { stages });
    }

    /// Reruns one entity's Silver with a full refresh: its progress shows as a run's.
    fn rerun_silver(self, entity: String) {
        self.error.set(None);
        self.running.set(true);
        self.percent.set(0);
        self.status.set(format!(
            "Rerunning the Silver of {entity} with a full refresh…"
        ));
        self.connection.post(&Request::RerunSilver { entity });
    }

    /// Saves a reviewed draft as the entity's pipeline; Silver and Gold then run, their
    /// progress shown as a run's.
    fn save_pipeline(self, draft: PipelineDraft) {
        self.error.set(None);
        self.running.set(true);
        self.percent.set(0);
        self.status.set(format!(
            "Saving the pipeline of {}, then running Silver and Gold…",
            draft.entity
        ));
        self.connection.post(&Request::SavePipeline { draft });
    }

    /// A run ended (finished, failed or cancelled): everything that shows committed
    /// state is asked for again.
    fn after_run(self) {
        let connection = self.connection;
        connection.post(&Request::Board);
        connection.post(&Request::Dashboard);
        connection.post(&Request::Landing);
        self.inspector.refresh(connection);
        self.refresh_route();
    }

    /// Applies what the connection tells to the page.
    fn on_event(self, event: WorkerEvent) {
        match event {
            WorkerEvent::Reply(reply, file) => self.receive(reply, file),
            WorkerEvent::Restarted(reason) => {
                // A panic's own message may have arrived just before: keep it.
                let notice = format!(
                    "The pipeline worker stopped ({reason}) and has been restarted; every \
                     committed table and checkpoint is kept."
                );
                self.error.update(|error| {
                    *error = Some(match error.take() {
                        Some(earlier) => format!("{earlier}. {notice}"),
                        None => notice,
                    })
                });
                self.ready.set(false);
                self.running.set(false);
                self.explorer.rows.fetching.set(false);
                self.sql.lost(&reason);
                self.status
                    .set("Restarting the pipeline worker…".to_owned());
            }
        }
    }

    /// Applies one reply of the worker to the page.
    fn receive(self, reply: Reply, file: Option<Vec<u8>>) {
        let connection = self.connection;
        match reply {
            Reply::Ready => {
                self.ready.set(true);
                self.running.set(false);
                self.status.set("Ready.".to_owned());
                connection.post(&Request::Board);
                connection.post(&Request::Landing);
                connection.post(&Request::Environment);
                connection.post(&Request::Dashboard);
                self.inspector.refresh(connection);
                self.refresh_route();
            }
            Reply::Landing { files } => self.waiting.set(files),
            Reply::Progress { progress } => {
                self.lineage.apply(&progress);
                self.models.progress(&progress);
                self.percent.set(progress.percent());
                self.status.set(progress.to_string());
            }
            Reply::Landed { files } => {
                let plural = if files.len() == 1 { "" } else { "s" };
                self.status
                    .set(format!("Landed {} file{plural}.", files.len()));
                connection.post(&Request::Landing);
                if self.watch.get_untracked() && !self.running.get_untracked() {
                    self.run(Stage::ALL.to_vec());
                }
            }
            Reply::RunDone { summary } => {
                self.running.set(false);
                self.percent.set(100);
                self.status.set(if summary.cancelled {
                    "Run cancelled.".to_owned()
                } else {
                    "Run finished.".to_owned()
                });
                self.summary.set(Some(summary));
                self.after_run();
            }
            Reply::Board { cards: new } => {
                let before = self.cards.get_untracked();
                let moved = new
                    .iter()
                    .filter(|card| {
                        !before
                            .iter()
                            .any(|old| old.table == card.table && old.version == card.version)
                    })
                    .map(|card| card.table.clone())
                    .collect();
                // The first board of a page load highlights nothing.
                self.changed.set(if before.is_empty() {
                    BTreeSet::new()
                } else {
                    moved
                });
                if new.is_empty() {
                    connection.post(&Request::Dashboard);
                    self.explorer.clear();
                    self.inspector.refresh(connection);
                }
                self.cards.set(new);
            }
            Reply::Environment { status } => self.environment.set(Some(status)),
            Reply::Dashboard { dashboard } => self.dashboard.set(Some(*dashboard)),
            Reply::Lineage { view } => self.lineage.show(*view),
            Reply::NodeDetails { details } => self.lineage.details.set(Some(*details)),
            Reply::ColumnLineage { lineage } => self.lineage.column.set(Some(lineage)),
            Reply::Table { view } => self.explorer.show(view),
            Reply::Rows { window } => self.explorer.receive_rows(window),
            Reply::Commit {
                table,
                version,
                json,
            } => self.explorer.commit.set(Some((table, version, json))),
            Reply::Checkpoints {
                streams,
                stream,
                entries,
            } => {
                self.inspector.streams.set(streams);
                self.inspector.stream.set(stream);
                self.inspector.entries.set(entries);
            }
            Reply::Export { file_name } => match file {
                Some(bytes) => {
                    if let Err(problem) = save(&file_name, &bytes) {
                        self.error.set(Some(problem));
                    }
                }
                None => self
                    .error
                    .set(Some(format!("{file_name}: the file did not arrive"))),
            },
            Reply::Query { summary } => self.sql.show(*summary, connection),
            Reply::QueryRows { rows } => self.sql.receive_rows(rows),
            Reply::QueryFailed { failure } => self.sql.fail(failure),
            Reply::SqlTables { tables } => self.sql.tables.set(tables),
            Reply::ProjectTree { files } => {
                self.silver.tree(&files, self.route);
                self.models.tree(files);
            }
            Reply::File { path, text, .. } => self.models.opened(path, text),
            Reply::Diff { diff } => self.models.show_diff(diff),
            Reply::Compiled { compiled } => self.models.compiled(compiled),
            Reply::Completions { completions } => self.models.complete_from(completions),
            Reply::BuildDone { summary, results } => {
                self.status.set(if summary.cancelled {
                    "Build cancelled.".to_owned()
                } else {
                    "Build finished.".to_owned()
                });
                self.percent.set(100);
                self.models.built(summary, results);
                connection.post(&Request::Board);
                connection.post(&Request::Dashboard);
                self.inspector.refresh(connection);
            }
            Reply::Scd2Relations { relations } => {
                self.history.show_relations(relations, self.route)
            }
            Reply::Scd2Matches {
                relation,
                query,
                matches,
            } => self
                .history
                .show_matches(relation, query, matches, &self.route.get_untracked()),
            Reply::Scd2History { history } => self.history.show(*history),
            Reply::SilverView { view } => self.silver.show(*view),
            Reply::PipelineProposal { proposal } => self.silver.draft.proposed(*proposal),
            Reply::PipelinePreview { entity, preview } => {
                self.silver.draft.previewed(&entity, *preview)
            }
            Reply::PipelineSaved { entity, path } => {
                self.running.set(false);
                self.silver.draft.saved(&entity);
                self.status
                    .update(|status| *status = format!("Saved {path}. {status}"));
                navigate(&Route::Silver {
                    entity: Some(entity),
                });
            }
            Reply::ModelStarted { path } => navigate(&Route::Models { path: Some(path) }),
            Reply::Error { message } => {
                // A run's or a build's error: what it committed is shown below.
                let run_ended = self.running.get_untracked() || self.models.building();
                self.running.set(false);
                // Rows that cannot be read are not asked for again and again.
                if self.explorer.rows.fetching.get_untracked() {
                    self.explorer.rows.fetching.set(false);
                    self.explorer.clear();
                }
                match self.route.get_untracked() {
                    Route::Models { .. } => self.models.fail(message.clone()),
                    Route::History { .. } => self.history.fail(message.clone()),
                    Route::Silver { .. } | Route::NewPipeline { .. } => {
                        self.silver.fail(message.clone())
                    }
                    _ => {}
                }
                self.error.set(Some(message));
                if run_ended {
                    self.after_run();
                }
            }
        }
    }
}

impl Ui {
    /// Asks again for what the current view shows: after a run, or a worker restart.
    /// A table the explorer shows at its latest version follows the run.
    fn refresh_route(self) {
        match self.route.get_untracked() {
            Route::Pipeline => {}
            Route::Explorer { table, version } => {
                if let Some(table) = table {
                    self.connection.post(&Request::Explore { table, version });
                }
            }
            route @ Route::Lineage { .. } => self.ask_lineage(&route),
            Route::Sql { .. } => self.connection.post(&Request::SqlTables),
            Route::Models { path } => self.models.refresh(path),
            route @ Route::History { .. } => self.history.refresh(&route),
            route @ (Route::Silver { .. } | Route::NewPipeline { .. }) => {
                self.silver.refresh(&route)
            }
        }
    }

    /// Asks for the lineage a route shows: the graph, the node's details, the column's
    /// lineage.
    fn ask_lineage(self, route: &Route) {
        if let Some(query) = Query::of(route) {
            query.send(self.connection);
        }
        if let Route::Lineage {
            node: Some(id),
            column,
            ..
        } = route
        {
            self.connection
                .post(&Request::NodeDetails { id: id.clone() });
            if let Some(column) = column {
                self.connection.post(&Request::ColumnLineage {
                    node: id.clone(),
                    column: column.clone(),
                });
            }
        }
    }

    /// Follows the route: asks the worker for what the new view or selection shows.
    fn follow(self) {
        let explored = Memo::new(move |_| match self.route.get() {
            Route::Explorer {
                table: Some(table),
                version,
            } => Some((table, version)),
            _ => None,
        });
        Effect::new(move |_| {
            if let Some((table, version)) = explored.get() {
                self.explorer.commit.set(None);
                self.connection.post(&Request::Explore { table, version });
            }
        });
        let query = Memo::new(move |_| Query::of(&self.route.get()));
        Effect::new(move |_| {
            if let Some(query) = query.get() {
                query.send(self.connection);
            }
        });
        let node = Memo::new(move |_| match self.route.get() {
            Route::Lineage { node, .. } => node,
            _ => None,
        });
        Effect::new(move |_| {
            if let Some(id) = node.get() {
                self.lineage.column.set(None);
                self.connection.post(&Request::NodeDetails { id });
            }
        });
        let column = Memo::new(move |_| match self.route.get() {
            Route::Lineage {
                node: Some(node),
                column: Some(column),
                ..
            } => Some((node, column)),
            _ => None,
        });
        self.follow_sql();
        self.models.follow(self.route);
        self.history.follow(self.route);
        self.silver.follow(self.route);
        Effect::new(move |_| match column.get() {
            Some((node, column)) => self
                .connection
                .post(&Request::ColumnLineage { node, column }),
            None => self.lineage.column.set(None),
        });
    }
}

impl Ui {
    /// Follows the SQL route: a shared link's query goes into the editor, and the table
    /// list is asked for when the view opens.
    fn follow_sql(self) {
        let query = Memo::new(move |_| match self.route.get() {
            Route::Sql { query } => Some(query),
            _ => None,
        });
        Effect::new(move |_| match query.get() {
            Some(Some(sql)) => {
                self.sql.text.set(sql);
                self.connection.post(&Request::SqlTables);
            }
            Some(None) => self.connection.post(&Request::SqlTables),
            None => {}
        });
    }
}

/// Hands `bytes` to the browser as a download named `file_name`.
pub(crate) fn save(file_name: &str, bytes: &[u8]) -> Result<(), String> {
    let failed = |err: JsValue| format!("{file_name}: cannot be saved: {err:?}");
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(failed)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(failed)?;
    let window = web_sys::window().ok_or_else(|| format!("{file_name}: no window to save from"))?;
    let document = window
        .document()
        .ok_or_else(|| format!("{file_name}: no document to save from"))?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(failed)?
        .unchecked_into();
    link.set_href(&url);
    link.set_download(file_name);
    link.click();
    // The download starts after this task: the URL is released a while later.
    let release = Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    window
        .set_timeout_with_callback_and_timeout_and_arguments_0(release.unchecked_ref(), 60_000)
        .map(|_| ())
        .map_err(failed)
}

/// The views' navigation, the run strip and the view the URL names.
#[component]
pub fn Playground() -> impl IntoView {
    let connection = Connection::new();
    let ui = Ui {
        connection,
        cards: RwSignal::new(Vec::new()),
        status: RwSignal::new("Starting the pipeline worker…".to_owned()),
        error: RwSignal::new(None),
        percent: RwSignal::new(0),
        running: RwSignal::new(false),
        ready: RwSignal::new(false),
        summary: RwSignal::new(None),
        waiting: RwSignal::new(Vec::new()),
        watch: RwSignal::new(false),
        changed: RwSignal::new(BTreeSet::new()),
        explorer: ExplorerState::new(),
        inspector: InspectorState::new(),
        lineage: LineageState::new(),
        sql: SqlState::new(),
        models: ModelsState::new(connection),
        route: route::current(),
        environment: RwSignal::new(None),
        dashboard: RwSignal::new(None),
        history: HistoryState::new(connection),
        silver: SilverState::new(connection),
    };
    connection.start(move |event| ui.on_event(event));
    ui.follow();
    let view_name = Memo::new(move |_| ui.route.get().view_name());
    let page = Page {
        connection,
        cards: ui.cards,
        waiting: ui.waiting,
        summary: ui.summary,
        running: ui.running,
        ready: ui.ready,
        route: ui.route,
        explorer: ui.explorer,
        inspector: ui.inspector,
        lineage: ui.lineage,
        models: ui.models,
        history: ui.history,
        silver: ui.silver,
        run_all: Callback::new(move |()| ui.run(Stage::ALL.to_vec())),
        land: Callback::new(move |batch| ui.land_sample(batch)),
    };
    view! {
        <TourPopover page />
        <Views ui view_name />
        <Strip ui />
        {move || match view_name.get() {
            "Lineage" => view! { <Lineage state=ui.lineage route=ui.route /> }.into_any(),
            "Explorer" => view! { <Explorer state=ui.explorer connection /> }.into_any(),
            "SQL" => view! { <Sql state=ui.sql connection ready=ui.ready /> }.into_any(),
            "Models" => view! { <Models state=ui.models sql=ui.sql ready=ui.ready /> }.into_any(),
            "Silver" => view! {
                <Silver
                    state=ui.silver
                    route=ui.route
                    running=ui.running
                    ready=ui.ready
                    rerun=move |entity| ui.rerun_silver(entity)
                    save=move |draft| ui.save_pipeline(draft)
                />
            }
            .into_any(),
            "History" => view! { <History state=ui.history route=ui.route /> }.into_any(),
            _ => view! {
                <div class="pipeline-view">
                    <div class="column">
                        <Landing ui />
                        <Waiting ui />
                        <Run ui />
                        <Environment ui />
                    </div>
                    <div class="column">
                        <Board ui />
                        <Dashboard dashboard=ui.dashboard />
                        <Inspector state=ui.inspector connection />
                    </div>
                </div>
            }
            .into_any(),
        }}
    }
}

/// The one navigation: Pipeline, Lineage, Explorer, SQL, Models, Silver, History.
#[component]
fn Views(ui: Ui, view_name: Memo<&'static str>) -> impl IntoView {
    let lineage = move || match ui.route.get() {
        route @ Route::Lineage { .. } => route.to_hash(),
        _ => Route::lineage(None).to_hash(),
    };
    // The explorer opens on the table it showed last.
    let explorer = move || {
        let (table, version) = ui
            .explorer
            .view
            .with(|view| view.as_ref().map(|view| (view.table.clone(), view.version)))
            .unzip();
        Route::Explorer { table, version }.to_hash()
    };
    // The model editor opens on the file it showed last.
    let models = move || {
        Route::Models {
            path: ui.models.path.get(),
        }
        .to_hash()
    };
    let entry = move |name: &'static str, href: Box<dyn Fn() -> String + Send + Sync>| {
        view! {
            <li>
                <a
                    href=href
                    aria-current=move || (view_name.get() == name).then_some("page")
                >
                    {name}
                </a>
            </li>
        }
    };
    view! {
        <nav aria-label="Views" class="views">
            <ul>
                {entry("Pipeline", Box::new(|| Route::Pipeline.to_hash()))}
                {entry("Lineage", Box::new(lineage))}
                {entry("Explorer", Box::new(explorer))}
                {entry("SQL", Box::new(|| Route::Sql { query: None }.to_hash()))}
                {entry("Models", Box::new(models))}
                {entry("Silver", Box::new(move || ui.silver.last_route().to_hash()))}
                {entry("History", Box::new(move || ui.history.last_route().to_hash()))}
            </ul>
        </nav>
    }
}

/// The run's progress, status, summary and errors, on every view.
#[component]
fn Strip(ui: Ui) -> impl IntoView {
    view! {
        <div class="strip" aria-label="Run">
            <progress
                max="100"
                value=move || ui.percent.get().to_string()
                aria-label="Run progress"
            ></progress>
            <p role="status" data-testid="run-status">{move || ui.status.get()}</p>
            {move || {
                ui.summary
                    .get()
                    .map(|summary| view! { <p data-testid="run-summary">{summary.to_string()}</p> })
            }}
            {move || ui.error.get().map(|message| view! { <p role="alert" class="error">{message}</p> })}
        </div>
    }
}

/// Sample batches, dropped or picked files, generated trips, and watch mode.
#[component]
fn Landing(ui: Ui) -> impl IntoView {
    let connection = ui.connection;
    // The entity dropped files land as; empty: the one each file name gives.
    let entity = RwSignal::new(String::new());
    let chosen_entity = move || {
        let entity = entity.get_untracked().trim().to_ascii_lowercase();
        (!entity.is_empty()).then_some(entity)
    };
    let land_files = move |files: Option<web_sys::FileList>| {
        ui.error.set(None);
        if let Err(problem) = send_files(connection, files, chosen_entity()) {
            ui.error.set(Some(problem));
        }
    };
    let load = move |batch: usize| ui.land_sample(batch);
    let trips = RwSignal::new(String::from("10000"));
    let generate = move |_| match trips.get().trim().parse::<usize>() {
        Ok(count) if count > 0 => {
            ui.error.set(None);
            ui.status.set(format!("Generating {count} trips…"));
            connection.post(&Request::Generate { trips: count });
        }
        _ => ui
            .error
            .set(Some(format!("{:?} is not a number of trips", trips.get()))),
    };
    let ready = ui.ready;
    let batches = bundled_spec().batches.unwrap_or(1);
    view! {
        <section class="panel" aria-labelledby="landing-heading">
            <WhatIsThis panel="Landing" section="the-landing-panel" />
            <h2 id="landing-heading">"Landing"</h2>
            <div class="buttons">
                {(1..=batches)
                    .map(|batch| {
                        view! {
                            <button
                                data-tour=format!("load-{batch}")
                                on:click=move |_| load(batch)
                                disabled=move || !ready.get()
                            >
                                {format!("Load sample batch {batch}")}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <label class="dropzone"
                on:dragover=move |event: web_sys::DragEvent| event.prevent_default()
                on:drop=move |event: web_sys::DragEvent| {
                    event.prevent_default();
                    land_files(event.data_transfer().and_then(|transfer| transfer.files()));
                }
            >
                "Drop CSV, NDJSON or Parquet files here, or pick them: "
                <input
                    type="file"
                    multiple
                    accept=".csv,.ndjson,.jsonl,.json,.parquet"
                    aria-label="Files to land"
                    disabled=move || !ready.get()
                    on:change=move |event| {
                        let input: web_sys::HtmlInputElement = event_target(&event);
                        land_files(input.files());
                        input.set_value("");
                    }
                />
            </label>
            <div class="buttons">
                <label>
                    "Land as entity "
                    <input
                        type="text"
                        placeholder="from the file name"
                        prop:value=move || entity.get()
                        on:input=move |event| entity.set(event_target_value(&event))
                    />
                </label>
                <label>
                    <input
                        type="checkbox"
                        class="toggle"
                        prop:checked=move || ui.watch.get()
                        on:change=move |event| ui.watch.set(event_target_checked(&event))
                    />
                    "Watch: run all when files land"
                </label>
            </div>
            <div class="buttons">
                <label>
                    "Trips to generate "
                    <input
                        type="text"
                        inputmode="numeric"
                        prop:value=move || trips.get()
                        on:input=move |event| trips.set(event_target_value(&event))
                    />
                </label>
                <button on:click=generate disabled=move || !ready.get()>"Generate trips"</button>
            </div>
        </section>
    }
}

/// The files waiting in the landing zone for the next ingest.
#[component]
fn Waiting(ui: Ui) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="waiting-heading">
            <WhatIsThis panel="Waiting in landing" section="the-waiting-in-landing-panel" />
            <h2 id="waiting-heading">"Waiting in landing"</h2>
            <ul class="waiting" data-testid="waiting">
                {move || {
                    let files = ui.waiting.get();
                    if files.is_empty() {
                        view! { <li>"Nothing new: every landed file has been ingested."</li> }
                            .into_any()
                    } else {
                        files
                            .into_iter()
                            .map(|(path, size)| view! { <li>{format!("{path} ({size} bytes)")}</li> })
                            .collect_view()
                            .into_any()
                    }
                }}
            </ul>
        </section>
    }
}

/// Run all or one stage, cancel, reset.
#[component]
fn Run(ui: Ui) -> impl IntoView {
    let connection = ui.connection;
    let cancel = move |_| connection.post(&Request::Cancel);
    let reset = move |_| {
        let confirmed = web_sys::window()
            .and_then(|window| {
                window
                    .confirm_with_message("Delete every table, file and checkpoint?")
                    .ok()
            })
            .unwrap_or(false);
        if confirmed {
            ui.summary.set(None);
            connection.post(&Request::Reset);
        }
    };
    let ready = ui.ready;
    let running = ui.running;
    view! {
        <section class="panel" aria-labelledby="run-heading">
            <WhatIsThis panel="Run" section="the-run-panel" />
            <h2 id="run-heading">"Run"</h2>
            <div class="buttons">
                {[
                    ("Run all", Stage::ALL.to_vec()),
                    ("Ingest (Bronze)", vec![Stage::Bronze]),
                    ("Silver", vec![Stage::Silver]),
                    ("Gold (build)", vec![Stage::Gold]),
                ]
                    .into_iter()
                    .map(|(label, stages)| {
                        view! {
                            <button
                                data-tour=label
                                on:click=move |_| ui.run(stages.clone())
                                disabled=move || running.get() || !ready.get()
                            >
                                {label}
                            </button>
                        }
                    })
                    .collect_view()}
                <button on:click=cancel disabled=move || !running.get()>"Cancel"</button>
                <button on:click=reset disabled=move || running.get() || !ready.get()>
                    "Reset"
                </button>
            </div>
        </section>
    }
}

/// Every table, layer by layer, with what its last commit did; a click explores it.
#[component]
fn Board(ui: Ui) -> impl IntoView {
    let explore = move |table: String| {
        navigate(&Route::Explorer {
            table: Some(table),
            version: None,
        })
    };
    view! {
        <section class="panel wide" aria-labelledby="board-heading">
            <WhatIsThis panel="Medallion board" section="the-medallion-board" />
            <h2 id="board-heading">"Medallion board"</h2>
            <div class="board">
                {warehouse::LAYERS
                    .into_iter()
                    .map(|layer| {
                        let prefix = format!("{layer}/");
                        let cards = move || {
                            ui.cards.with(|cards| {
                                cards
                                    .iter()
                                    .filter(|card| card.table.starts_with(&prefix))
                                    .cloned()
                                    .collect::<Vec<_>>()
                            })
                        };
                        view! {
                            <div class="layer">
                                <h3>{layer}</h3>
                                <ul>
                                    <For
                                        each=cards
                                        key=|card| {
                                            (
                                                card.table.clone(),
                                                card.version,
                                                card.committed_ms,
                                                card.has_pipeline,
                                                card.waiting_for.clone(),
                                            )
                                        }
                                        children=move |card| {
                                            view! { <Card card changed=ui.changed explore /> }
                                        }
                                    />
                                </ul>
                            </div>
                        }
                    })
                    .collect_view()}
            </div>
        </section>
    }
}

/// What the worker found of OPFS, IndexedDB and the SQL engine.
#[component]
fn Environment(ui: Ui) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="environment-heading">
            <WhatIsThis panel="Environment" section="the-environment-panel" />
            <h2 id="environment-heading">"Environment"</h2>
            {move || match ui.environment.get() {
                None => view! { <p role="status">"Checking browser storage…"</p> }.into_any(),
                Some(mut status) => {
                    // Probed once; the counts follow the board and the inspector.
                    if status.storage.available {
                        status.storage.detail = tables_detail(ui.cards.with(Vec::len));
                    }
                    if status.checkpoints.available {
                        let entries = ui
                            .inspector
                            .streams
                            .with(|streams| streams.iter().map(|(_, keys)| keys).sum());
                        status.checkpoints.detail = entries_detail(entries);
                    }
                    view! { <StatusList status /> }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn StatusList(status: EnvironmentStatus) -> impl IntoView {
    let rows = [status.storage, status.checkpoints, status.engine];
    view! {
        <ul class="status-list" data-testid="status">
            {rows
                .into_iter()
                .map(|row| {
                    let class = if row.available { "status ok" } else { "status down" };
                    view! {
                        <li class=class>
                            <span class="status-name">{row.name}</span>
                            ": "
                            <span class="status-detail">{row.detail}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// One table on the board; highlighted while the last run's changes include it.
#[component]
fn Card(
    card: TableCard,
    changed: RwSignal<BTreeSet<String>>,
    explore: impl Fn(String) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let name = card
        .table
        .split_once('/')
        .map_or(card.table.clone(), |(_, name)| name.to_owned());
    let rows = card.rows.map_or("?".to_owned(), |rows| rows.to_string());
    let table = card.table.clone();
    // A Bronze table without a pipeline is offered one.
    let create = (!card.has_pipeline).then(|| name.clone());
    let highlighted = {
        let table = card.table.clone();
        Memo::new(move |_| changed.with(|changed| changed.contains(&table)))
    };
    view! {
        <li
            class=move || if highlighted.get() { "card changed" } else { "card" }
            data-testid=format!("card-{}", card.table)
            title=move || if highlighted.get() { "changed by the last run" } else { "" }
        >
            {match &card.waiting_for {
                // Not built yet: nothing to explore, no rows, no version.
                Some(lookup) => view! {
                    <span class="card-name">{name}</span>
                    <span class="card-change waiting">{format!("waiting for {lookup}")}</span>
                }
                .into_any(),
                None => view! {
                    <button
                        class="card-name"
                        aria-label=format!("Explore {}", card.table)
                        on:click=move |_| explore(table.clone())
                    >
                        {name}
                    </button>
                    <span class="card-rows">{format!("{rows} rows")}</span>
                    <span class="card-version">{format!("v{} {}", card.version, card.operation)}</span>
                    <span class="card-change">{card.change.clone()}</span>
                }
                .into_any(),
            }}
            {create.map(|entity| {
                let route = Route::NewPipeline { entity: entity.clone() };
                view! {
                    <button class="card-action" on:click=move |_| navigate(&route)>
                        {format!("Create Silver pipeline for {entity}")}
                    </button>
                }
            })}
        </li>
    }
}
