//! Hash routing: every view and selection has a URL (`#/lineage/gold.fact_trips`,
//! `#/explorer/gold/dim_customer@1`, `#/sql?q=select%201`, `#/models/models/marts/x.sql`)
//! that works on any static host, with back and forward.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

/// How the lineage view shows its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineageMode {
    /// The layered graph.
    #[default]
    Graph,
    /// A filterable list of every node.
    List,
}

/// One view of the app, with its selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Landing, run controls, the board and the checkpoint inspector.
    Pipeline,
    /// The lineage graph or list.
    Lineage {
        /// The selected node.
        node: Option<String>,
        /// The selected node's column whose lineage is shown.
        column: Option<String>,
        /// A dbt selector filtering the graph.
        select: String,
        /// Every node, not only those around the selected one.
        all: bool,
        /// Graph or list.
        mode: LineageMode,
    },
    /// The table explorer, on a table at a version (the latest if none).
    Explorer {
        /// The table, `<layer>/<name>`.
        table: Option<String>,
        /// The version.
        version: Option<i64>,
    },
    /// The SQL console, with a query to put in the editor (a shared link).
    Sql {
        /// The query.
        query: Option<String>,
    },
    /// The model editor, on a project file (its path in the project, `models/marts/x.sql`).
    Models {
        /// The open file.
        path: Option<String>,
    },
    /// The SCD2 history of one key of a snapshot or SCD2 dimension.
    History {
        /// The relation, a lineage id (`gold.dim_customer`).
        relation: Option<String>,
        /// The key (`36`).
        key: Option<String>,
    },
    /// One entity's Silver pipeline: its steps, their switches and its quarantine.
    Silver {
        /// The entity (`customers`).
        entity: Option<String>,
    },
    /// The proposed Silver pipeline of an entity that has none, to review and save.
    NewPipeline {
        /// The entity (`yellow_trips`).
        entity: String,
    },
}

impl Route {
    /// The lineage view on `node`, with nothing else chosen.
    pub fn lineage(node: Option<String>) -> Self {
        Route::Lineage {
            node,
            column: None,
            select: String::new(),
            all: false,
            mode: LineageMode::Graph,
        }
    }

    /// Reads a location hash (`#/lineage/gold.fact_trips?select=%2Bfact_trips`); an
    /// unknown one is the pipeline view.
    pub fn parse(hash: &str) -> Self {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| *key == name)
                .map(|(_, value)| decode(value))
        };
        let (view, raw) = path.split_once('/').unwrap_or((path, ""));
        let rest = decode(raw);
        match view {
            "lineage" => Route::Lineage {
                node: (!rest.is_empty()).then_some(rest),
                column: param("column").filter(|column| !column.is_empty()),
                select: param("select").unwrap_or_default(),
                all: param("all").is_some_and(|all| all == "1"),
                mode: if param("view").as_deref() == Some("list") {
                    LineageMode::List
                } else {
                    LineageMode::Graph
                },
            },
            "explorer" => {
                let (table, version) = match rest.rsplit_once('@') {
                    Some((table, version)) => (table.to_owned(), version.parse().ok()),
                    None => (rest, None),
                };
                Route::Explorer {
                    table: (!table.is_empty()).then_some(table),
                    version,
                }
            }
            "sql" => Route::Sql {
                query: param("q").filter(|query| !query.is_empty()),
            },
            "models" => Route::Models {
                path: (!rest.is_empty()).then_some(rest),
            },
            "history" => {
                let (relation, key) = raw.split_once('/').unwrap_or((raw, ""));
                let (relation, key) = (decode(relation), decode(key));
                Route::History {
                    relation: (!relation.is_empty()).then_some(relation),
                    key: (!key.is_empty()).then_some(key),
                }
            }
            "silver" => match raw.strip_suffix("/new") {
                Some(entity) if !entity.is_empty() => Route::NewPipeline {
                    entity: decode(entity),
                },
                _ => Route::Silver {
                    entity: (!rest.is_empty()).then_some(rest),
                },
            },
            _ => Route::Pipeline,
        }
    }

    /// The route as a location hash.
    pub fn to_hash(&self) -> String {
        match self {
            Route::Pipeline => "#/pipeline".to_owned(),
            Route::Lineage {
                node,
                column,
                select,
                all,
                mode,
            } => {
                let mut hash = format!("#/lineage/{}", encode(node.as_deref().unwrap_or("")));
                let mut query = Vec::new();
                if let Some(column) = column {
                    query.push(format!("column={}", encode(column)));
                }
                if !select.is_empty() {
                    query.push(format!("select={}", encode(select)));
                }
                if *all {
                    query.push("all=1".to_owned());
                }
                if *mode == LineageMode::List {
                    query.push("view=list".to_owned());
                }
                if !query.is_empty() {
                    hash.push('?');
                    hash.push_str(&query.join("&"));
                }
                hash
            }
            Route::Explorer { table, version } => {
                let mut hash = format!("#/explorer/{}", table.as_deref().unwrap_or(""));
                if let Some(version) = version {
                    hash.push_str(&format!("@{version}"));
                }
                hash
            }
            Route::Sql { query: None } => "#/sql".to_owned(),
            Route::Sql { query: Some(query) } => format!("#/sql?q={}", encode(query)),
            Route::Models { path } => {
                let path = path.as_deref().unwrap_or("");
                let segments: Vec<String> = path.split('/').map(encode).collect();
                format!("#/models/{}", segments.join("/"))
            }
            Route::History { relation, key } => {
                let mut hash = "#/history".to_owned();
                // A key needs its relation before it.
                if let Some(relation) = relation {
                    hash.push_str(&format!("/{}", encode(relation)));
                    if let Some(key) = key {
                        hash.push_str(&format!("/{}", encode(key)));
                    }
                }
                hash
            }
            Route::Silver { entity: None } => "#/silver".to_owned(),
            Route::Silver {
                entity: Some(entity),
            } => format!("#/silver/{}", encode(entity)),
            Route::NewPipeline { entity } => format!("#/silver/{}/new", encode(entity)),
        }
    }

    /// The name of the navigation entry it belongs to.
    pub fn view_name(&self) -> &'static str {
        match self {
            Route::Pipeline => "Pipeline",
            Route::Lineage { .. } => "Lineage",
            Route::Explorer { .. } => "Explorer",
            Route::Sql { .. } => "SQL",
            Route::Models { .. } => "Models",
            Route::History { .. } => "History",
            Route::Silver { .. } | Route::NewPipeline { .. } => "Silver",
        }
    }
}

fn encode(text: &str) -> String {
    js_sys::encode_uri_component(text)
        .as_string()
        .unwrap_or_default()
}

fn decode(text: &str) -> String {
    js_sys::decode_uri_component(text)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_else(|| text.to_owned())
}

fn location_hash() -> String {
    web_sys::window()
        .and_then(|window| window.location().hash().ok())
        .unwrap_or_default()
}

/// The current route, following the location's hash (links, back, forward).
pub fn current() -> RwSignal<Route> {
    let route = RwSignal::new(Route::parse(&location_hash()));
    let on_change = Closure::<dyn FnMut()>::new(move || {
        let next = Route::parse(&location_hash());
        if route.get_untracked() != next {
            route.set(next);
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window
            .add_event_listener_with_callback("hashchange", on_change.as_ref().unchecked_ref());
    }
    on_change.forget();
    route
}

/// Shows `route` in the address bar in place of the current entry, without a
/// `hashchange` (the page already shows it).
pub fn replace(route: &Route) {
    if let Some(window) = web_sys::window() {
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&route.to_hash()));
        }
    }
}

/// Goes to `route`, as a new history entry.
pub fn navigate(route: &Route) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_hash(&route.to_hash());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn every_route_reads_back_from_its_hash() {
        let routes = [
            Route::Pipeline,
            Route::lineage(None),
            Route::lineage(Some("gold.fact_trips".to_owned())),
            Route::Lineage {
                node: Some("source:silver.trips".to_owned()),
                column: Some("trip_id".to_owned()),
                select: "+fact_trips tag:marts,config.materialized:incremental".to_owned(),
                all: true,
                mode: LineageMode::List,
            },
            Route::Explorer {
                table: None,
                version: None,
            },
            Route::Explorer {
                table: Some("gold/dim_customer".to_owned()),
                version: Some(1),
            },
            Route::Sql { query: None },
            Route::Sql {
                query: Some(
                    "select city, count(*)\nfrom gold.dim_customer@v1 -- 100% & more?\ngroup by 1"
                        .to_owned(),
                ),
            },
            Route::Models { path: None },
            Route::Models {
                path: Some("models/marts/fact_trips.sql".to_owned()),
            },
            Route::Models {
                path: Some("seeds/odd name #1 & 100%.csv".to_owned()),
            },
            Route::History {
                relation: None,
                key: None,
            },
            Route::History {
                relation: Some("gold.dim_customer".to_owned()),
                key: None,
            },
            Route::History {
                relation: Some("gold.customers_snapshot".to_owned()),
                key: Some("a/b #1 & 100%".to_owned()),
            },
            Route::Silver { entity: None },
            Route::Silver {
                entity: Some("customers".to_owned()),
            },
            Route::NewPipeline {
                entity: "yellow_trips".to_owned(),
            },
        ];
        for route in routes {
            assert_eq!(Route::parse(&route.to_hash()), route, "{}", route.to_hash());
        }
        assert_eq!(
            Route::parse("#/lineage/gold.fact_trips?select=%2Bfact_trips&all=1"),
            Route::Lineage {
                node: Some("gold.fact_trips".to_owned()),
                column: None,
                select: "+fact_trips".to_owned(),
                all: true,
                mode: LineageMode::Graph,
            }
        );
        assert_eq!(
            Route::parse("#/explorer/gold/dim_customer@1"),
            Route::Explorer {
                table: Some("gold/dim_customer".to_owned()),
                version: Some(1),
            }
        );
        assert_eq!(
            Route::parse("#/sql?q=select%201"),
            Route::Sql {
                query: Some("select 1".to_owned())
            }
        );
        assert_eq!(
            Route::parse("#/models/models/marts/fact_trips.sql"),
            Route::Models {
                path: Some("models/marts/fact_trips.sql".to_owned())
            }
        );
        assert_eq!(
            Route::Models {
                path: Some("models/marts/fact_trips.sql".to_owned())
            }
            .to_hash(),
            "#/models/models/marts/fact_trips.sql"
        );
        assert_eq!(Route::parse("#/models"), Route::Models { path: None });
        for (hash, relation, key) in [
            ("#/history", None, None),
            (
                "#/history/gold.dim_customer",
                Some("gold.dim_customer"),
                None,
            ),
            (
                "#/history/gold.dim_customer/36",
                Some("gold.dim_customer"),
                Some("36"),
            ),
        ] {
            let route = Route::History {
                relation: relation.map(str::to_owned),
                key: key.map(str::to_owned),
            };
            assert_eq!(Route::parse(hash), route, "{hash}");
            assert_eq!(route.to_hash(), hash);
        }
        assert_eq!(Route::parse("#/silver"), Route::Silver { entity: None });
        assert_eq!(
            Route::parse("#/silver/customers"),
            Route::Silver {
                entity: Some("customers".to_owned())
            }
        );
        assert_eq!(
            Route::Silver {
                entity: Some("customers".to_owned())
            }
            .to_hash(),
            "#/silver/customers"
        );
        assert_eq!(
            Route::parse("#/silver/yellow_trips/new"),
            Route::NewPipeline {
                entity: "yellow_trips".to_owned()
            }
        );
        assert_eq!(
            Route::NewPipeline {
                entity: "yellow_trips".to_owned()
            }
            .to_hash(),
            "#/silver/yellow_trips/new"
        );
        assert_eq!(Route::parse(""), Route::Pipeline);
        assert_eq!(Route::parse("#/nowhere"), Route::Pipeline);
    }
}
