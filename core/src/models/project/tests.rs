//! Each parse phase on a small inline project.

use std::collections::BTreeMap;

use super::nodes::Parser;
use super::properties::{Properties, Settings};
use super::{GenericTest, Node, ResourceType, TestKind};
use crate::models::{Materialization, ModelError};

/// `files` as a project's (path, text) list.
fn project(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(path, text)| (path.to_string(), text.to_string()))
        .collect()
}

/// A shop: a source, a staging view, a mart with YAML docs and tests, a YAML snapshot
/// and a legacy snapshot block, and a singular test.
fn shop() -> Vec<(String, String)> {
    project(&[
        (
            "dbt_project.yml",
            "name: shop\nvars:\n  cutoff: 5\nmodels:\n  shop:\n    +materialized: view\n    marts:\n      +materialized: table\n      +tags: [mart]\n",
        ),
        (
            "models/sources.yml",
            "version: 2\nsources:\n  - name: raw\n    schema: silver\n    tables:\n      - name: orders\n        identifier: orders_v2\n        description: Orders as landed\n        columns:\n          - name: id\n            data_tests: [not_null]\n",
        ),
        (
            "models/staging/stg_orders.sql",
            "select * from {{ source('raw', 'orders') }}",
        ),
        (
            "models/marts/customers.sql",
            "{{ config(tags=['daily']) }}select customer_id from {{ ref('stg_orders') }}",
        ),
        (
            "models/marts/schema.yml",
            "version: 2\nmodels:\n  - name: customers\n    description: One row per customer\n    config:\n      unique_key: customer_id\n    columns:\n      - name: customer_id\n        description: The key\n        data_tests:\n          - unique\n          - not_null\n          - relationships:\n              to: ref('stg_orders')\n              field: customer_id\n",
        ),
        (
            "snapshots/snapshots.yml",
            "snapshots:\n  - name: orders_history\n    relation: ref('stg_orders')\n    config:\n      unique_key: id\n      strategy: check\n      check_cols: all\n    columns:\n      - name: id\n        data_tests: [unique]\n",
        ),
        (
            "snapshots/legacy.sql",
            "\n{% snapshot customers_history %}\n{{ config(unique_key='customer_id', strategy='check', check_cols='all') }}\nselect * from {{ ref('customers') }}\n{% endsnapshot %}\n",
        ),
        (
            "tests/no_negative_orders.sql",
            "{{ config(severity='warn') }}select * from {{ ref('customers') }} where customer_id < 0",
        ),
    ])
}

/// The nodes of `nodes` by name.
fn by_name(nodes: Vec<Node>) -> BTreeMap<String, Node> {
    nodes
        .into_iter()
        .map(|node| (node.name.clone(), node))
        .collect()
}

#[test]
fn properties_read_the_project_file_sources_models_and_snapshots() {
    let files = shop();
    let settings = Settings::read(&files, &BTreeMap::new()).unwrap();
    assert_eq!(settings.name, "shop");
    assert_eq!(settings.model_paths, ["models"]);
    assert_eq!(settings.test_paths, ["tests"]);
    assert_eq!(settings.vars["cutoff"], 5);
    let folders: Vec<&str> = settings.folders.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(folders, ["", "marts"], "most general first");

    let properties = Properties::read(&files, &settings).unwrap();
    let orders = &properties.sources["source.shop.raw.orders"];
    assert_eq!(orders.relation(), "silver.orders_v2");
    assert_eq!(orders.description, "Orders as landed");
    assert_eq!(orders.file, "models/sources.yml");
    let (file, customers) = &properties.models["customers"];
    assert_eq!(file, "models/marts/schema.yml");
    assert_eq!(customers.columns.len(), 1);
    let yaml_snapshot = &properties.snapshots["orders_history"];
    assert_eq!(
        yaml_snapshot.raw_code,
        "select * from {{ ref('stg_orders') }}"
    );
    let legacy = &properties.snapshots["customers_history"];
    assert_eq!(legacy.file, "snapshots/legacy.sql");
    assert!(legacy.spec.is_none());
    assert!(
        legacy.raw_code.starts_with("\n\n"),
        "the block keeps its lines: {:?}",
        legacy.raw_code
    );
}

#[test]
fn properties_reject_a_model_described_twice_and_a_snapshot_without_relation() {
    let read = |extra: (&str, &str)| {
        let mut files = shop();
        files.push((extra.0.to_owned(), extra.1.to_owned()));
        let settings = Settings::read(&files, &BTreeMap::new()).unwrap();
        Properties::read(&files, &settings).unwrap_err().to_string()
    };
    assert_eq!(
        read(("models/more.yml", "models:\n  - name: customers\n")),
        "models/more.yml: model customers is also described in models/marts/schema.yml"
    );
    assert_eq!(
        read(("snapshots/bare.yml", "snapshots:\n  - name: bare\n")),
        "snapshots/bare.yml: snapshot bare needs a relation: ref('model') or source('s', 't')"
    );
}

#[test]
fn model_nodes_take_folder_then_yaml_then_inline_configs() {
    let files = shop();
    let parser = Parser::new(&files, &BTreeMap::new()).unwrap();
    let models = by_name(parser.model_nodes().unwrap());
    let staging = &models["stg_orders"];
    assert_eq!(staging.unique_id, "model.shop.stg_orders");
    assert_eq!(staging.resource_type, ResourceType::Model);
    assert_eq!(staging.materialized, Some(Materialization::View));
    assert_eq!(staging.fqn, ["shop", "staging", "stg_orders"]);
    assert_eq!(staging.depends_on, ["source.shop.raw.orders"]);
    let customers = &models["customers"];
    assert_eq!(customers.materialized, Some(Materialization::Table));
    assert_eq!(customers.config.tags(), ["mart", "daily"]);
    assert_eq!(customers.config.unique_key(), ["customer_id"]);
    assert_eq!(customers.description, "One row per customer");
    assert_eq!(customers.columns[0].description, "The key");
    assert_eq!(customers.depends_on, ["model.shop.stg_orders"]);
    assert_eq!(customers.original_file_path, "models/marts/customers.sql");
}

#[test]
fn model_nodes_name_the_file_of_a_bad_config_and_a_model_without_sql() {
    let mut files = shop();
    files.push((
        "models/cube.sql".to_owned(),
        "{{ config(materialized='cube') }}select 1".to_owned(),
    ));
    let parser = Parser::new(&files, &BTreeMap::new()).unwrap();
    let err = parser.model_nodes().unwrap_err();
    assert!(
        matches!(&err, ModelError::Config { node, path, .. } if node == "cube" && path == "models/cube.sql"),
        "{err:?}"
    );

    let mut files = shop();
    files.push((
        "models/ghost.yml".to_owned(),
        "models:\n  - name: ghost\n".to_owned(),
    ));
    let parser = Parser::new(&files, &BTreeMap::new()).unwrap();
    assert_eq!(
        parser.model_nodes().unwrap_err().to_string(),
        "models/ghost.yml: model ghost has no SQL file"
    );
}

#[test]
fn snapshot_nodes_come_from_yaml_and_legacy_blocks() {
    let files = shop();
    let parser = Parser::new(&files, &BTreeMap::new()).unwrap();
    let snapshots = by_name(parser.snapshot_nodes().unwrap());
    let orders = &snapshots["orders_history"];
    assert_eq!(orders.unique_id, "snapshot.shop.orders_history");
    assert_eq!(orders.resource_type, ResourceType::Snapshot);
    assert_eq!(orders.materialized, None);
    assert_eq!(orders.fqn, ["shop", "orders_history"]);
    assert_eq!(orders.depends_on, ["model.shop.stg_orders"]);
    assert_eq!(orders.original_file_path, "snapshots/snapshots.yml");
    let legacy = &snapshots["customers_history"];
    assert_eq!(legacy.config.unique_key(), ["customer_id"]);
    assert_eq!(legacy.depends_on, ["model.shop.customers"]);
    assert_eq!(legacy.original_file_path, "snapshots/legacy.sql");

    let files: Vec<(String, String)> = shop()
        .into_iter()
        .map(|(path, text)| {
            (
                path.clone(),
                text.replace("strategy: check", "strategy: cube"),
            )
        })
        .collect();
    let parser = Parser::new(&files, &BTreeMap::new()).unwrap();
    assert_eq!(
        parser.snapshot_nodes().unwrap_err().to_string(),
        "snapshots/snapshots.yml: snapshot orders_history: strategy \"cube\" is not timestamp or check"
    );
}

#[test]
fn generic_tests_are_named_as_dbt_names_them_and_depend_on_what_they_read() {
    let files = shop();
    let parser = Parser::new(&files, &BTreeMap::new()).unwrap();
    let mut nodes: BTreeMap<String, Node> = parser
        .model_nodes()
        .unwrap()
        .into_iter()
        .chain(parser.snapshot_nodes().unwrap())
        .map(|node| (node.unique_id.clone(), node))
        .collect();
    let before = nodes.len();
    parser.add_generic_tests(&mut nodes).unwrap();
    let tests: BTreeMap<&str, &Node> = nodes
        .values()
        .filter(|node| node.resource_type == ResourceType::Test)
        .map(|node| (node.name.as_str(), node))
        .collect();
    assert_eq!(nodes.len() - before, tests.len());
    let names: Vec<&str> = tests.keys().copied().collect();
    assert_eq!(
        names,
        [
            "not_null_customers_customer_id",
            "relationships_customers_customer_id__customer_id__ref_stg_orders_",
            "source_not_null_raw_orders_id",
            "unique_customers_customer_id",
            "unique_orders_history_id",
        ]
    );
    let relationships = tests["relationships_customers_customer_id__customer_id__ref_stg_orders_"];
    assert_eq!(
        relationships.depends_on,
        ["model.shop.customers", "model.shop.stg_orders"]
    );
    assert_eq!(relationships.original_file_path, "models/marts/schema.yml");
    assert_eq!(relationships.raw_code, "");
    let on_source = tests["source_not_null_raw_orders_id"];
    assert_eq!(
        on_source.test,
        Some(TestKind::Generic {
            test: GenericTest::NotNull,
            attached_to: "source.shop.raw.orders".to_owned(),
            column: Some("id".to_owned()),
        })
    );
    assert_eq!(
        on_source.unique_id,
        "test.shop.source_not_null_raw_orders_id"
    );

    // A second identical test gets a suffix; a disabled model's tests are dropped.
    let mut again = nodes.clone();
    parser.add_generic_tests(&mut again).unwrap();
    assert!(again.contains_key("test.shop.unique_customers_customer_id_2"));
    let mut without_customers = nodes.clone();
    without_customers.retain(|id, node| {
        id != "model.shop.customers" && node.resource_type != ResourceType::Test
    });
    parser.add_generic_tests(&mut without_customers).unwrap();
    assert!(without_customers
        .values()
        .all(|node| !node.name.contains("customers_customer_id")));
}

#[test]
fn singular_tests_are_the_sql_files_of_the_test_folders() {
    let files = shop();
    let parser = Parser::new(&files, &BTreeMap::new()).unwrap();
    let tests = parser.singular_tests().unwrap();
    assert_eq!(tests.len(), 1);
    let test = &tests[0];
    assert_eq!(test.unique_id, "test.shop.no_negative_orders");
    assert_eq!(test.resource_type, ResourceType::Test);
    assert_eq!(test.test, Some(TestKind::Singular));
    assert_eq!(test.depends_on, ["model.shop.customers"]);
    assert!(test.config.warn_only());
    assert_eq!(test.original_file_path, "tests/no_negative_orders.sql");
}
