//! The lineage graph of the bundled warehouse, its selection, its state and its
//! layout.

use std::collections::{BTreeMap, BTreeSet};

use super::layout::{layout, NODE_HEIGHT, NODE_WIDTH};
use super::*;
use crate::lakehouse::{RunProgress, Stage, TableCard};
use crate::models::{bundled_project, NodeStatus, Project, ResourceType};
use crate::silver::bundled_pipelines;

fn project() -> Project {
    Project::parse(&bundled_project(), &BTreeMap::new()).expect("the bundled project parses")
}

fn graph(project: &Project) -> LineageGraph {
    LineageGraph::new(project, &bundled_pipelines(), &[]).expect("graph")
}

fn ids(graph: &LineageGraph) -> BTreeSet<String> {
    graph.nodes.iter().map(|node| node.id.clone()).collect()
}

#[test]
fn the_graph_has_every_pipeline_table_source_model_and_snapshot_and_no_test() {
    let project = project();
    let graph = graph(&project);
    let entities = bundled_pipelines().len();
    let dbt = project
        .nodes
        .values()
        .filter(|node| node.resource_type != ResourceType::Test)
        .count();
    // Landing, Bronze, Silver and quarantine per entity; then sources, models, snapshots.
    assert_eq!(
        graph.nodes.len(),
        4 * entities + project.sources.len() + dbt
    );
    assert_eq!(ids(&graph).len(), graph.nodes.len(), "ids are unique");
    let node = |id: &str| {
        graph
            .node(id)
            .unwrap_or_else(|| panic!("{id} in the graph"))
    };
    assert_eq!(node("landing.trips").kind, NodeKind::Landing);
    assert_eq!(node("bronze.trips").parents, ["landing.trips"]);
    assert_eq!(node("silver.trips_quarantine").parents, ["bronze.trips"]);
    assert_eq!(node("source:silver.trips").parents, ["silver.trips"]);
    assert_eq!(
        node("source:silver.trips").table.as_deref(),
        Some("silver/trips")
    );
    // Silver trips looks its zones up in Silver locations.
    assert!(node("silver.trips")
        .parents
        .contains(&"silver.locations".to_owned()));
    let fact = node("gold.fact_trips");
    assert_eq!(fact.kind, NodeKind::Incremental);
    assert_eq!(fact.table.as_deref(), Some("gold/fact_trips"));
    assert!(fact.parents.contains(&"gold.stg_trips".to_owned()));
    assert!(fact.parents.contains(&"gold.dim_customer".to_owned()));
    assert_eq!(node("gold.int_revenue_payments").kind, NodeKind::Ephemeral);
    assert_eq!(node("gold.customers_snapshot").kind, NodeKind::Snapshot);
    assert!(fact
        .tests
        .iter()
        .any(|test| test.test == "unique" && test.column.as_deref() == Some("trip_id")));
    // Every parent comes before its child.
    for (position, node) in graph.nodes.iter().enumerate() {
        for parent in &node.parents {
            let before = graph.nodes[..position].iter().any(|n| &n.id == parent);
            assert!(before, "{parent} comes before {}", node.id);
        }
    }
    assert!(graph
        .children("silver.customers")
        .contains(&"source:silver.customers"));
}

#[test]
fn selection_follows_dbt_syntax_through_sources_to_landing() {
    let project = project();
    let graph = graph(&project);
    let upstream = graph.select(&project, "+fact_trips").expect("select");
    for id in [
        "gold.fact_trips",
        "gold.dim_customer",
        "gold.customers_snapshot",
        "source:silver.customers",
        "silver.customers",
        "bronze.trips",
        "landing.trips",
    ] {
        assert!(upstream.contains(id), "+fact_trips has {id}");
    }
    for id in [
        "gold.agg_daily_revenue",
        "gold.fact_payments",
        "silver.trips_quarantine",
    ] {
        assert!(!upstream.contains(id), "+fact_trips has no {id}");
    }
    let incremental = graph
        .select(&project, "config.materialized:incremental")
        .expect("select");
    assert!(incremental.contains("gold.fact_trips"));
    assert!(incremental
        .iter()
        .all(|id| graph.node(id).expect("node").kind == NodeKind::Incremental));
    let marts = graph.select(&project, "path:models/marts").expect("select");
    assert!(marts.contains("gold.dim_date") && !marts.contains("gold.stg_trips"));
    assert_eq!(
        graph.select(&project, " ").expect("all").len(),
        graph.nodes.len()
    );
    assert!(graph.select(&project, "bad:x").is_err());
    assert!(graph.select(&project, "tag:").is_err());
    let from_source = graph
        .select(&project, "source:silver.customers+")
        .expect("select");
    for id in [
        "source:silver.customers",
        "gold.stg_customers",
        "gold.dim_customer",
    ] {
        assert!(
            from_source.contains(id),
            "source:silver.customers+ has {id}"
        );
    }
    assert!(!from_source.contains("silver.customers") && !from_source.contains("gold.stg_trips"));
    let near = graph.around("gold.dim_customer", 1);
    assert!(near.contains("gold.customers_snapshot") && near.contains("gold.fact_trips"));
    assert!(!near.contains("gold.stg_customers"));
    assert!(graph
        .ancestors("gold.dim_customer")
        .contains("landing.customers"));
    assert!(graph
        .descendants("silver.customers")
        .contains("gold.fact_trips"));
}

#[test]
fn state_comes_from_the_board_and_the_last_runs_and_progress_updates_it() {
    let project = project();
    let card = TableCard {
        table: "gold/fact_trips".to_owned(),
        rows: Some(1999),
        version: 3,
        operation: "MERGE".to_owned(),
        committed_ms: 1,
        inserted: 7,
        updated: 2,
        deleted: 0,
        change: "merged: 7 inserted, 2 updated, 0 deleted".to_owned(),
        waiting_for: None,
        has_pipeline: true,
    };
    let run = |status| NodeRun {
        status,
        duration_ms: 12,
        completed_ms: 2,
        message: String::new(),
        rows: Some(9),
        failures: None,
        failing_rows: Vec::new(),
    };
    let test_id = "test.medallion.unique_fact_trips_trip_id";
    let runs = BTreeMap::from([
        ("gold.fact_trips".to_owned(), run(NodeStatus::Success)),
        (test_id.to_owned(), run(NodeStatus::Pass)),
    ]);
    let mut graph = graph(&project).with_state(&[card], &runs);
    let fact = graph.node("gold.fact_trips").expect("fact_trips");
    assert_eq!((fact.state.rows, fact.state.version), (Some(1999), Some(3)));
    assert_eq!((fact.state.inserted, fact.state.updated), (7, 2));
    assert_eq!(
        fact.state.change,
        "merged: 7 inserted, 2 updated, 0 deleted"
    );
    assert_eq!(
        fact.state.run.as_ref().map(|run| run.status),
        Some(NodeStatus::Success)
    );
    let badge = fact.tests.iter().find(|test| test.unique_id == test_id);
    assert_eq!(
        badge
            .and_then(|test| test.run.as_ref())
            .map(|run| run.status),
        Some(NodeStatus::Pass)
    );
    graph.apply(&RunProgress {
        stage: Stage::Gold,
        step: "fact_trips".to_owned(),
        node: "gold.fact_trips".to_owned(),
        rows: None,
        run: Some(run(NodeStatus::Error)),
        done: 1,
        total: 2,
    });
    let fact = graph.node("gold.fact_trips").expect("fact_trips");
    assert_eq!(
        fact.state.run.as_ref().map(|run| run.status),
        Some(NodeStatus::Error)
    );
}

/// Whether two placed boxes overlap.
fn overlap(a: &layout::PlacedNode, b: &layout::PlacedNode) -> bool {
    a.x < b.x + NODE_WIDTH
        && b.x < a.x + NODE_WIDTH
        && a.y < b.y + NODE_HEIGHT
        && b.y < a.y + NODE_HEIGHT
}

fn check_layout(graph: &LineageGraph, shown: &BTreeSet<String>) {
    let placed = layout(graph, shown);
    assert_eq!(placed.nodes.len(), shown.len());
    for (i, a) in placed.nodes.iter().enumerate() {
        for b in &placed.nodes[i + 1..] {
            assert!(!overlap(a, b), "{} and {} overlap: {a:?} {b:?}", a.id, b.id);
        }
    }
    let edges: usize = graph
        .nodes
        .iter()
        .filter(|node| shown.contains(&node.id))
        .map(|node| node.parents.iter().filter(|p| shown.contains(*p)).count())
        .sum();
    assert_eq!(placed.edges.len(), edges);
    for edge in &placed.edges {
        let (from, to) = (placed.node(&edge.from), placed.node(&edge.to));
        let (from, to) = (from.expect("from"), to.expect("to"));
        assert!(
            from.layer < to.layer,
            "{} -> {} goes forward",
            edge.from,
            edge.to
        );
        assert!(edge.svg_path().starts_with('M'));
    }
    assert!(placed.width >= NODE_WIDTH && placed.height >= NODE_HEIGHT);
    assert_eq!(
        layout(graph, shown),
        placed,
        "the same graph lays out the same"
    );
}

#[test]
fn the_layout_overlaps_nothing_points_edges_forward_and_is_deterministic() {
    let project = project();
    let graph = graph(&project);
    check_layout(&graph, &ids(&graph));
    // A selection with unconnected parts.
    let parts = graph
        .select(&project, "stg_trips dim_date silver.trips_quarantine")
        .expect("select");
    check_layout(&graph, &parts);
    check_layout(&graph, &graph.around("gold.fact_trips", 1));
    let placed = layout(&graph, &ids(&graph));
    let layer = |id: &str| placed.node(id).map(|node| node.layer);
    assert!(layer("landing.trips") < layer("bronze.trips"));
    assert!(layer("silver.trips") < layer("gold.fact_trips"));
}

#[test]
fn a_two_hundred_model_project_lays_out() {
    let project = Project::parse(&crate::models::synthetic_project(200), &BTreeMap::new())
        .expect("the generated project parses");
    let graph = LineageGraph::new(&project, &[], &[]).expect("graph");
    assert_eq!(graph.nodes.len(), 201);
    check_layout(&graph, &ids(&graph));
}

#[test]
fn a_lookup_of_a_table_no_pipeline_writes_selects_without_failing() {
    let project = project();
    let pipeline = crate::silver::Pipeline::parse(
        "models/silver/zones_users.yml",
        "key: id\nsteps:\n  - transform: enrich\n    lookup: silver/zones\n    key: zone_id\n    joins:\n      - on: zone_id\n        columns: {name: zone_name}\n",
    )
    .expect("the pipeline parses");
    let graph = LineageGraph::new(&project, &[pipeline], &[]).expect("graph");
    let node = graph.node("silver.zones_users").expect("its Silver node");
    assert!(node.parents.contains(&"silver.zones".to_owned()));
    let upstream = graph.select(&project, "+stg_trips").expect("select");
    assert!(upstream.contains("gold.stg_trips"));
    check_layout(&graph, &ids(&graph));
}
