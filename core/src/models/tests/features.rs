//! The dbt features small public projects use beyond the fixture's: seeds (typed by
//! inference or `column_types`, in `ref`, `build` and tests), `{% docs %}` blocks,
//! pre- and post-hooks, analyses, `require-dbt-version`, and the second sample
//! project (examples/shop) end to end.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, TimeUnit};

use super::{rows, runtime, status_of, strings};
use crate::delta::DeltaTable;
use crate::models::*;
use crate::storage::{LocalFileSystem, MemoryStorage, Storage};

/// A project of `files` (path, text) with `dbt_project.yml` named `demo`.
fn project_of(files: &[(&str, &str)]) -> Result<Project, ModelError> {
    let mut all: Vec<(String, String)> = vec![(
        "dbt_project.yml".to_owned(),
        "name: demo\nconfig-version: 2\nprofile: demo\n".to_owned(),
    )];
    for (path, text) in files {
        all.retain(|(existing, _)| existing != path);
        all.push(((*path).to_owned(), (*text).to_owned()));
    }
    Project::parse(&all, &BTreeMap::new())
}

fn memory() -> Arc<dyn Storage> {
    Arc::new(MemoryStorage::new())
}

/// Each column of the Delta table `gold/<name>` and its Arrow type.
async fn types(storage: &Arc<dyn Storage>, name: &str) -> Vec<(String, DataType)> {
    let snapshot = DeltaTable::new(storage.clone(), format!("gold/{name}"))
        .snapshot()
        .await
        .expect("the table exists");
    snapshot
        .schema()
        .fields()
        .iter()
        .map(|field| (field.name().clone(), field.data_type().clone()))
        .collect()
}

/// The text of a store object.
async fn text(storage: &Arc<dyn Storage>, path: &str) -> String {
    String::from_utf8(storage.get(path).await.expect(path).to_vec()).expect("UTF-8")
}

const PEOPLE: &str = "\u{feff}id,name,joined,active,score,code,seen_at,nothing\n\
1,Ada,2026-01-02,true,1.5,007,2026-01-02 10:00:00,\n\
2,\"Bob, Jr\",,false,2,012,2026-01-03T11:30:00,\n\
3,Cy,2026-01-04,,,100,,\n";

const SEED_YAML: &str = "version: 2\nseeds:\n  - name: people\n    description: People.\n    config:\n      column_types:\n        code: varchar\n    columns:\n      - name: id\n        data_tests: [unique, not_null]\n";

#[test]
fn seeds_are_typed_built_before_their_children_and_tested() {
    runtime().block_on(async {
        let storage = memory();
        let project = project_of(&[
            ("seeds/people.csv", PEOPLE),
            ("seeds/people.yml", SEED_YAML),
            (
                "models/active_people.sql",
                "{{ config(materialized='table') }}\nselect id, name, code from {{ ref('people') }} where active",
            ),
        ])
        .expect("parses");
        let seed = &project.nodes["seed.demo.people"];
        assert_eq!(seed.resource_type, ResourceType::Seed);
        assert_eq!(
            project.nodes["model.demo.active_people"].depends_on,
            ["seed.demo.people"]
        );
        let runner = ModelRunner::new(storage.clone(), project);
        let run = runner
            .run(Command::Build, &RunOptions::default())
            .await
            .expect("build");
        assert!(run.success(), "{:?}", run.results);
        let names: Vec<&str> = run.results.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "people",
                "not_null_people_id",
                "unique_people_id",
                "active_people"
            ]
        );
        assert_eq!(run.result("people").unwrap().message, "INSERT 3");
        assert_eq!(run.result("people").unwrap().rows_affected, Some(3));
        // Inferred as dbt-duckdb infers them; `code` as column_types says. Delta
        // stores every timestamp as UTC microseconds.
        let micros = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(
            types(&storage, "people").await,
            [
                ("id".to_owned(), DataType::Int32),
                ("name".to_owned(), DataType::Utf8),
                ("joined".to_owned(), DataType::Date32),
                ("active".to_owned(), DataType::Boolean),
                ("score".to_owned(), DataType::Float64),
                ("code".to_owned(), DataType::Utf8),
                ("seen_at".to_owned(), micros),
                ("nothing".to_owned(), DataType::Int32),
            ]
        );
        assert_eq!(
            rows(
                &storage,
                "people",
                &["id", "name", "joined", "active", "score", "code", "seen_at"]
            )
            .await,
            strings(&[
                &[
                    "1",
                    "Ada",
                    "2026-01-02",
                    "true",
                    "1.5",
                    "007",
                    "2026-01-02T10:00:00Z"
                ],
                &[
                    "2",
                    "Bob, Jr",
                    "null",
                    "false",
                    "2.0",
                    "012",
                    "2026-01-03T11:30:00Z"
                ],
                &["3", "Cy", "2026-01-04", "null", "null", "100", "null"],
            ])
        );
        assert_eq!(
            rows(&storage, "active_people", &["id", "name", "code"]).await,
            strings(&[&["1", "Ada", "007"]])
        );
        // `dbt seed` loads seeds only; the manifest and catalog carry the seed.
        let run = runner
            .run(Command::Seed, &RunOptions::default())
            .await
            .expect("seed");
        assert_eq!(
            run.results.iter().map(|r| &r.name).collect::<Vec<_>>(),
            ["people"]
        );
        let manifest: serde_json::Value =
            serde_json::from_str(&text(&storage, "target/manifest.json").await).unwrap();
        let node = &manifest["nodes"]["seed.demo.people"];
        assert_eq!(node["resource_type"], "seed");
        assert_eq!(node["config"]["materialized"], "seed");
        assert_eq!(node["config"]["column_types"]["code"], "varchar");
        assert_eq!(node["relation_name"], "gold.people");
        assert_eq!(node["raw_code"], "");
        let catalog: serde_json::Value =
            serde_json::from_str(&text(&storage, "target/catalog.json").await).unwrap();
        assert_eq!(
            catalog["nodes"]["seed.demo.people"]["metadata"]["comment"],
            "People."
        );
        // Selected by name with its children, as `dbt build -s people+` does.
        let listed = runner
            .list(
                &RunOptions {
                    select: vec!["people+".to_owned()],
                    ..Default::default()
                },
                &[ResourceType::Seed, ResourceType::Model],
            )
            .expect("ls");
        assert_eq!(
            listed.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["people", "active_people"]
        );
    });
}

#[test]
fn project_seed_configs_and_bad_seeds_are_named() {
    runtime().block_on(async {
        let storage = memory();
        let project = project_of(&[
            (
                "dbt_project.yml",
                "name: demo\nseeds:\n  demo:\n    +quote_columns: true\n    codes:\n      +column_types:\n        code: varchar\n        n: bigint\n",
            ),
            ("seeds/codes.csv", "code,n\n001,1\n"),
            ("seeds/broken.csv", "a,b\n1,2,3\n"),
        ])
        .expect("parses");
        let runner = ModelRunner::new(storage.clone(), project);
        let run = runner
            .run(Command::Seed, &RunOptions::default())
            .await
            .expect("seed");
        assert_eq!(status_of(&run, "codes"), NodeStatus::Success);
        assert_eq!(
            types(&storage, "codes").await,
            [
                ("code".to_owned(), DataType::Utf8),
                ("n".to_owned(), DataType::Int64)
            ]
        );
        let broken = run.result("broken").unwrap();
        assert_eq!(broken.status, NodeStatus::Error);
        assert!(
            broken.message.starts_with("seeds/broken.csv:"),
            "{}",
            broken.message
        );
        let err = project_of(&[
            ("seeds/x.csv", "a\n1\n"),
            ("models/x.sql", "select 1 as a"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("seed x has the name of the model"), "{err}");
    });
}

#[test]
fn doc_blocks_fill_the_descriptions() {
    runtime().block_on(async {
        let storage = memory();
        let files = [
            (
                "models/docs.md",
                "# Docs\n{% docs totals %}\nTotals per **day**.\n{% enddocs %}\n{% docs day %}The day.{% enddocs %}\n",
            ),
            (
                "models/totals.sql",
                "{{ config(materialized='table') }}\nselect 1 as day",
            ),
            (
                "models/totals.yml",
                "version: 2\nmodels:\n  - name: totals\n    description: '{{ doc(\"totals\") }} See also the day.'\n    columns:\n      - name: day\n        description: \"{{ doc('day') }}\"\n",
            ),
        ];
        let project = project_of(&files).expect("parses");
        let node = project.model("totals").unwrap();
        assert_eq!(node.description, "Totals per **day**. See also the day.");
        assert_eq!(node.columns[0].description, "The day.");
        let runner = ModelRunner::new(storage.clone(), project);
        runner
            .run(Command::Build, &RunOptions::default())
            .await
            .expect("build");
        let manifest: serde_json::Value =
            serde_json::from_str(&text(&storage, "target/manifest.json").await).unwrap();
        assert_eq!(
            manifest["nodes"]["model.demo.totals"]["description"],
            "Totals per **day**. See also the day."
        );
        assert_eq!(
            manifest["docs"]["doc.demo.day"]["block_contents"],
            "The day."
        );
        let catalog: serde_json::Value =
            serde_json::from_str(&text(&storage, "target/catalog.json").await).unwrap();
        assert_eq!(
            catalog["nodes"]["model.demo.totals"]["metadata"]["comment"],
            "Totals per **day**. See also the day."
        );
        // An unknown block names the YAML file and the block.
        let mut broken = files;
        broken[2].1 =
            "version: 2\nmodels:\n  - name: totals\n    description: \"{{ doc('nope') }}\"\n";
        let err = project_of(&broken).unwrap_err().to_string();
        assert!(err.starts_with("models/totals.yml:"), "{err}");
        assert!(err.contains("no docs block is named nope"), "{err}");
    });
}

#[test]
fn hooks_run_around_the_model_and_a_failing_hook_fails_it() {
    runtime().block_on(async {
        let storage = memory();
        let project = project_of(&[
            (
                "dbt_project.yml",
                "name: demo\nmodels:\n  demo:\n    +pre-hook: \"create or replace view gold.hook_log as select 'project' as source\"\n",
            ),
            (
                "models/base.sql",
                "{{ config(materialized='table', post_hook=[\"create or replace view gold.base_count as select count(*) as n from {{ this }}\"]) }}\nselect 1 as id union all select 2",
            ),
            (
                "models/reads_hooks.sql",
                "{{ config(materialized='table') }}\n-- depends on: {{ ref('base') }}\nselect n, (select source from gold.hook_log) as source from gold.base_count",
            ),
            (
                "models/bad_hook.sql",
                "{{ config(materialized='table', pre_hook='select * from gold.no_such_table') }}\nselect 1 as id",
            ),
            ("models/after_bad.sql", "select * from {{ ref('bad_hook') }}"),
        ])
        .expect("parses");
        assert_eq!(
            project.model("base").unwrap().config.hooks(HookKind::Pre),
            ["create or replace view gold.hook_log as select 'project' as source"]
        );
        let runner = ModelRunner::new(storage.clone(), project);
        let run = runner
            .run(Command::Build, &RunOptions::default())
            .await
            .expect("build");
        assert_eq!(status_of(&run, "base"), NodeStatus::Success);
        assert_eq!(status_of(&run, "reads_hooks"), NodeStatus::Success);
        assert_eq!(
            rows(&storage, "reads_hooks", &["n", "source"]).await,
            strings(&[&["2", "project"]])
        );
        let bad = run.result("bad_hook").unwrap();
        assert_eq!(bad.status, NodeStatus::Error);
        assert!(
            bad.message.starts_with(
                "models/bad_hook.sql: pre-hook 2 (select * from gold.no_such_table) failed:"
            ),
            "{}",
            bad.message
        );
        assert!(bad.message.contains("no_such_table"), "{}", bad.message);
        assert_eq!(status_of(&run, "after_bad"), NodeStatus::Skipped);
        // A pre-hook that fails stops the model before it writes anything.
        assert!(!DeltaTable::new(storage.clone(), "gold/bad_hook")
            .exists()
            .await
            .unwrap());
    });
}

#[test]
fn analyses_are_compiled_and_never_run() {
    runtime().block_on(async {
        let storage = memory();
        let project = project_of(&[
            ("models/orders.sql", "select 1 as id"),
            (
                "analyses/report.sql",
                "select count(*) as n from {{ ref('orders') }}",
            ),
        ])
        .expect("parses");
        let analysis = &project.nodes["analysis.demo.report"];
        assert_eq!(analysis.depends_on, ["model.demo.orders"]);
        assert_eq!(analysis.fqn, ["demo", "analysis", "report"]);
        let runner = ModelRunner::new(storage.clone(), project);
        let built = runner
            .run(Command::Build, &RunOptions::default())
            .await
            .expect("build");
        assert!(built.result("report").is_none());
        let compiled = runner
            .run(Command::Compile, &RunOptions::default())
            .await
            .expect("compile");
        assert_eq!(status_of(&compiled, "report"), NodeStatus::Success);
        assert_eq!(
            text(&storage, "target/compiled/demo/analyses/report.sql").await,
            "select count(*) as n from gold.orders"
        );
        assert!(!DeltaTable::new(storage.clone(), "gold/report")
            .exists()
            .await
            .unwrap());
    });
}

#[test]
fn require_dbt_version_is_checked_and_clean_targets_accepted() {
    let with = |required: &str| {
        project_of(&[(
            "dbt_project.yml",
            &format!(
                "name: demo\nrequire-dbt-version: {required}\nclean-targets: [target, logs]\n"
            ),
        )])
    };
    for accepted in [
        "\">=1.5.0\"",
        "[\">=1.10.0\", \"<2.0.0\"]",
        "\">=1.0.0,<2.0.0\"",
        "\"~=1.10\"",
        "\"1.10.0\"",
    ] {
        let project = with(accepted).unwrap_or_else(|err| panic!("{accepted}: {err}"));
        assert_eq!(project.clean_targets, ["target", "logs"]);
    }
    for refused in ["\">=1.11.0\"", "[\">=1.0.0\", \"<1.9\"]", "\"2.0.0\""] {
        let err = with(refused).unwrap_err().to_string();
        assert!(
            err.starts_with("dbt_project.yml: require-dbt-version"),
            "{err}"
        );
        assert!(err.contains("dbt 1.10.0"), "{err}");
    }
    let err = with("\">=one\"").unwrap_err().to_string();
    assert!(err.contains("is not a version constraint"), "{err}");
}

/// The second sample project, read from examples/shop as the CLI reads a project.
#[test]
fn the_shop_project_builds_end_to_end() {
    runtime().block_on(async {
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/shop");
        let files = read_project_files(&LocalFileSystem::new(folder).expect("folder"), "")
            .await
            .expect("files");
        let project = Project::parse(&files, &BTreeMap::new()).expect("the shop parses");
        assert_eq!(
            project.model("order_lines").unwrap().description,
            "One row per product in an order that was not cancelled: the customer, the product,\nits price, and the line's revenue (quantity times price)."
        );
        let storage = memory();
        let runner = ModelRunner::new(storage.clone(), project);
        let run = runner
            .run(Command::Build, &RunOptions::default())
            .await
            .expect("build");
        crate::models::fixtures::assert_every_node_passed(&run);
        assert_eq!(run.results.len(), 18);
        assert_eq!(
            rows(
                &storage,
                "customer_revenue",
                &["customer_id", "name", "is_vip", "order_lines", "revenue"]
            )
            .await,
            strings(&[
                &["1", "Ada Lovelace", "true", "2", "63.90"],
                &["2", "Bob Stone", "false", "1", "12.00"],
                &["3", "Chloé Martin", "false", "2", "48.90"],
                &["4", "Dev Patel", "true", "1", "28.20"],
                &["5", "Eun-ji Park", "false", "0", "0.00"],
            ])
        );
        let compiled = runner
            .run(Command::Compile, &RunOptions::default())
            .await
            .expect("compile");
        assert!(compiled.success());
        assert!(
            text(&storage, "target/compiled/shop/analyses/top_customers.sql")
                .await
                .contains("from gold.customer_revenue")
        );
    });
}

#[test]
fn seeds_are_nodes_of_the_lineage_graph() {
    let project = project_of(&[
        ("seeds/people.csv", PEOPLE),
        ("seeds/people.yml", SEED_YAML),
        ("models/names.sql", "select name from {{ ref('people') }}"),
        (
            "analyses/count.sql",
            "select count(*) from {{ ref('names') }}",
        ),
    ])
    .expect("parses");
    let graph = crate::lineage::LineageGraph::new(&project, &[], &[]).expect("graph");
    let seed = graph
        .nodes
        .iter()
        .find(|node| node.id == "gold.people")
        .expect("the seed is a node");
    assert_eq!(seed.kind, crate::lineage::NodeKind::Seed);
    assert_eq!(seed.kind.label(), "seed");
    assert_eq!(seed.table.as_deref(), Some("gold/people"));
    assert_eq!(seed.file.as_deref(), Some("seeds/people.csv"));
    assert_eq!(seed.tests.len(), 2);
    let names = graph.nodes.iter().find(|n| n.id == "gold.names").unwrap();
    assert_eq!(names.parents, ["gold.people"]);
    // An analysis builds no relation, so it is not in the graph.
    assert!(!graph.nodes.iter().any(|node| node.name == "count"));
}

#[test]
fn the_shop_project_builds_from_files_in_a_store() {
    // The embedded copy the browser test builds is the folder's.
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/shop");
    for (path, text) in crate::models::fixtures::SHOP {
        let on_disk = std::fs::read_to_string(format!("{folder}/{path}")).expect(path);
        assert_eq!(on_disk, text, "{path}");
    }
    runtime().block_on(crate::models::fixtures::shop_path(memory()));
}
