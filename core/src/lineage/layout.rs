//! The lineage graph laid out in layers, left to right: each node in a column after
//! every node it reads, the order within a column chosen to cross few edges.
//!
//! The layering and ordering are Sugiyama's method as the `rust-sugiyama` crate
//! implements it (longest-path ranking tightened to short edges, barycenter crossing
//! reduction with transposition, Brandes–Köpf placement, dummy vertices reserving room
//! for long edges). Its layers run top to bottom; here they become columns, since a
//! laptop's screen is wider than tall.

use std::collections::{BTreeMap, BTreeSet};

use rust_sugiyama::configure::Config;
use serde::{Deserialize, Serialize};

use super::LineageGraph;

/// A node's width in the layout.
pub const NODE_WIDTH: f64 = 220.0;
/// A node's height.
pub const NODE_HEIGHT: f64 = 76.0;
/// The room between two columns, where the edges run.
const COLUMN_GAP: f64 = 90.0;
/// The room between two nodes of a column.
const NODE_GAP: f64 = 22.0;
/// The room between two unconnected parts of the graph.
const COMPONENT_GAP: f64 = 48.0;

/// A node's place: its column (layer) and its box's top-left corner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacedNode {
    /// The node's id.
    pub id: String,
    /// Its layer: 0 for the nodes that read nothing shown.
    pub layer: usize,
    /// The left edge of its box.
    pub x: f64,
    /// The top edge of its box.
    pub y: f64,
}

/// An edge from a parent's right side to a child's left side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacedEdge {
    /// The parent's id.
    pub from: String,
    /// The child's id.
    pub to: String,
    /// Where it leaves the parent.
    pub start: (f64, f64),
    /// Where it reaches the child.
    pub end: (f64, f64),
}

impl PlacedEdge {
    /// The edge as an SVG path: a cubic curve, level at both ends.
    pub fn svg_path(&self) -> String {
        let ((x1, y1), (x2, y2)) = (self.start, self.end);
        let bend = ((x2 - x1) / 2.0).max(COLUMN_GAP / 2.0);
        format!(
            "M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}",
            x1 + bend,
            x2 - bend
        )
    }
}

/// The placed nodes and edges, and the size of the whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// Every node shown, in the graph's order.
    pub nodes: Vec<PlacedNode>,
    /// Every edge between two nodes shown.
    pub edges: Vec<PlacedEdge>,
    /// The width of the whole.
    pub width: f64,
    /// Its height.
    pub height: f64,
}

impl Layout {
    /// The place of the node with this id.
    pub fn node(&self, id: &str) -> Option<&PlacedNode> {
        self.nodes.iter().find(|node| node.id == id)
    }
}

/// Lays out the nodes of `graph` in `shown` and the edges between them. The same
/// graph and set give the same layout.
pub fn layout(graph: &LineageGraph, shown: &BTreeSet<String>) -> Layout {
    let ids: Vec<&str> = graph
        .nodes
        .iter()
        .map(|node| node.id.as_str())
        .filter(|id| shown.contains(*id))
        .collect();
    let index: BTreeMap<&str, u32> = ids.iter().zip(0u32..).map(|(id, i)| (*id, i)).collect();
    let edges: Vec<(u32, u32)> = graph
        .nodes
        .iter()
        .filter_map(|node| index.get(node.id.as_str()).map(|child| (node, *child)))
        .flat_map(|(node, child)| {
            node.parents
                .iter()
                .filter_map(|parent| index.get(parent.as_str()))
                .map(move |parent| (*parent, child))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // The crate's layers run down the page: a vertex's width is a node's height here.
    let vertices: Vec<(u32, (f64, f64))> = (0..ids.len() as u32)
        .map(|i| (i, (NODE_HEIGHT, NODE_WIDTH)))
        .collect();
    let config = Config {
        vertex_spacing: NODE_GAP,
        ..Config::default()
    };
    let mut components = rust_sugiyama::from_vertices_and_edges(&vertices, &edges, &config);
    // Unconnected parts stack top to bottom, in the graph's order.
    components.sort_by_key(|(placed, _, _)| placed.iter().map(|(i, _)| *i).min());
    let layer_step = NODE_WIDTH + NODE_GAP;
    let mut places: BTreeMap<usize, (usize, f64)> = BTreeMap::new();
    let mut top = 0.0;
    for (placed, _, _) in &components {
        let across = |coords: &(f64, f64)| coords.0;
        let least = placed
            .iter()
            .map(|(_, coords)| across(coords))
            .fold(f64::INFINITY, f64::min);
        let mut bottom = top;
        for (i, coords) in placed {
            let layer = (coords.1 / layer_step).round().max(0.0) as usize;
            let y = top + across(coords) - least;
            bottom = f64::max(bottom, y + NODE_HEIGHT);
            places.insert(*i, (layer, y));
        }
        top = bottom + COMPONENT_GAP;
    }
    let nodes: Vec<PlacedNode> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let (layer, y) = places.get(&i).copied().unwrap_or((0, 0.0));
            PlacedNode {
                id: (*id).to_owned(),
                layer,
                x: layer as f64 * (NODE_WIDTH + COLUMN_GAP),
                y,
            }
        })
        .collect();
    let edges = edges
        .iter()
        .map(|&(parent, child)| {
            let (from, to) = (&nodes[parent as usize], &nodes[child as usize]);
            PlacedEdge {
                from: from.id.clone(),
                to: to.id.clone(),
                start: (from.x + NODE_WIDTH, from.y + NODE_HEIGHT / 2.0),
                end: (to.x, to.y + NODE_HEIGHT / 2.0),
            }
        })
        .collect();
    let width = nodes
        .iter()
        .map(|node| node.x + NODE_WIDTH)
        .fold(0.0, f64::max);
    let height = nodes
        .iter()
        .map(|node| node.y + NODE_HEIGHT)
        .fold(0.0, f64::max);
    Layout {
        nodes,
        edges,
        width,
        height,
    }
}
