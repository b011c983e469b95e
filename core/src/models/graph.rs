//! The DAG of a project and dbt's node selection syntax.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::project::{Project, ResourceType};
use super::ModelError;

/// The nodes in an order where each comes after every node it depends on (sources are
/// roots and not listed); ties go by unique id. A cycle is an error naming its nodes.
pub(crate) fn topological_order(project: &Project) -> Result<Vec<String>, ModelError> {
    let mut remaining: BTreeMap<&str, usize> = BTreeMap::new();
    let mut children: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in project.nodes.values() {
        let parents = node
            .depends_on
            .iter()
            .filter(|parent| project.nodes.contains_key(*parent))
            .collect::<BTreeSet<_>>();
        remaining.insert(&node.unique_id, parents.len());
        for parent in parents {
            children.entry(parent).or_default().push(&node.unique_id);
        }
    }
    let mut ready: BTreeSet<&str> = remaining
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(id, _)| *id)
        .collect();
    let mut order = Vec::with_capacity(remaining.len());
    while let Some(next) = ready.pop_first() {
        order.push(next.to_owned());
        for child in children.get(next).into_iter().flatten() {
            // Every child is a node, so it has a count.
            if let Some(count) = remaining.get_mut(child) {
                *count -= 1;
                if *count == 0 {
                    ready.insert(child);
                }
            }
        }
    }
    if order.len() < remaining.len() {
        let done: BTreeSet<&str> = order.iter().map(String::as_str).collect();
        let cycle: Vec<&str> = remaining
            .keys()
            .filter(|id| !done.contains(*id))
            .copied()
            .collect();
        let path = project
            .nodes
            .get(cycle[0])
            .map(|node| node.original_file_path.clone())
            .unwrap_or_default();
        return Err(ModelError::Project {
            path,
            detail: format!(
                "the models depend on each other in a cycle: {}",
                cycle.join(", ")
            ),
        });
    }
    Ok(order)
}

/// One selector term: `[n+]method:value[+n]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    method: Method,
    value: String,
    /// Ancestors to add: none, all (`+x`) or up to a depth (`2+x`).
    parents: Option<Option<usize>>,
    /// Descendants to add: none, all (`x+`) or up to a depth (`x+1`).
    children: Option<Option<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Method {
    /// A node name (with `*` wildcards) or an fqn path.
    Name,
    /// `source:silver.trips` or `source:silver` (every table of a source).
    Source,
    /// `tag:x`.
    Tag,
    /// `path:models/marts`.
    Path,
    /// `resource_type:model`.
    ResourceType,
    /// `config.materialized:table`.
    Config(String),
}

fn parse_term(text: &str) -> Result<Term, ModelError> {
    let bad = |detail: String| ModelError::Selector {
        selector: text.to_owned(),
        detail,
    };
    let mut rest = text;
    let mut parents = None;
    if let Some(plus) = rest.find('+') {
        let depth = &rest[..plus];
        if depth.bytes().all(|b| b.is_ascii_digit()) {
            parents = Some(if depth.is_empty() {
                None
            } else {
                Some(depth.parse().map_err(|_| bad("bad depth".to_owned()))?)
            });
            rest = &rest[plus + 1..];
        }
    }
    let mut children = None;
    if let Some(plus) = rest.rfind('+') {
        let depth = &rest[plus + 1..];
        if depth.bytes().all(|b| b.is_ascii_digit()) {
            children = Some(if depth.is_empty() {
                None
            } else {
                Some(depth.parse().map_err(|_| bad("bad depth".to_owned()))?)
            });
            rest = &rest[..plus];
        }
    }
    let (method, value) = match rest.split_once(':') {
        None => (Method::Name, rest),
        Some(("tag", value)) => (Method::Tag, value),
        Some(("path", value)) => (Method::Path, value),
        Some(("source", value)) => (Method::Source, value),
        Some(("resource_type", value)) => (Method::ResourceType, value),
        Some((method, value)) if method.starts_with("config.") => {
            (Method::Config(method["config.".len()..].to_owned()), value)
        }
        Some((method, _)) => {
            return Err(bad(format!(
            "unknown method {method:?} (use a name, tag:, path:, source:, resource_type: or config.<key>:)"
        )))
        }
    };
    if value.is_empty() {
        return Err(bad("nothing to select".to_owned()));
    }
    Ok(Term {
        method,
        value: value.to_owned(),
        parents,
        children,
    })
}

/// `text` matches `pattern` with `*` wildcards.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (0..=text.len() - head.len()).any(|skip| {
                    text.is_char_boundary(head.len() + skip)
                        && glob(tail, &text[head.len() + skip..])
                })
        }
    }
}

/// The nodes one term names, before graph operators.
fn matching(project: &Project, term: &Term) -> BTreeSet<String> {
    if term.method == Method::Source {
        return project
            .sources
            .values()
            .filter(|source| {
                glob(&term.value, &source.source)
                    || glob(&term.value, &format!("{}.{}", source.source, source.name))
            })
            .map(|source| source.unique_id.clone())
            .collect();
    }
    project
        .nodes
        .values()
        .filter(|node| match &term.method {
            Method::Name => {
                glob(&term.value, &node.name)
                    || glob(&term.value, &node.fqn.join("."))
                    || (term.value == project.name)
            }
            Method::Tag => node.config.tags().iter().any(|tag| glob(&term.value, tag)),
            Method::Path => {
                let wanted = term.value.trim_end_matches('/');
                let relative = project
                    .model_paths
                    .iter()
                    .find_map(|root| node.original_file_path.strip_prefix(&format!("{root}/")));
                [Some(node.original_file_path.as_str()), relative]
                    .into_iter()
                    .flatten()
                    .any(|path| {
                        path == wanted
                            || path.starts_with(&format!("{wanted}/"))
                            || glob(wanted, path)
                    })
            }
            Method::ResourceType => node.resource_type.name() == term.value,
            Method::Source => false,
            Method::Config(key) => node.config.get(key).is_some_and(|value| {
                value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned)
                    == term.value
                    || value
                        .as_array()
                        .is_some_and(|items| items.iter().any(|i| i.as_str() == Some(&term.value)))
            }),
        })
        .map(|node| node.unique_id.clone())
        .collect()
}

/// The nodes reachable from `start` along `edges` (`start` included), up to `depth`
/// steps.
pub(crate) fn reach(
    start: &BTreeSet<String>,
    edges: &BTreeMap<String, BTreeSet<String>>,
    depth: Option<usize>,
) -> BTreeSet<String> {
    let mut seen = start.clone();
    let mut queue: VecDeque<(String, usize)> = start.iter().map(|id| (id.clone(), 0)).collect();
    while let Some((id, steps)) = queue.pop_front() {
        if depth.is_some_and(|depth| steps >= depth) {
            continue;
        }
        for next in edges.get(&id).into_iter().flatten() {
            if seen.insert(next.clone()) {
                queue.push_back((next.clone(), steps + 1));
            }
        }
    }
    seen
}

/// The parent and child maps of `(child, parent)` edges.
pub(crate) fn adjacency(
    edges: impl IntoIterator<Item = (String, String)>,
) -> [BTreeMap<String, BTreeSet<String>>; 2] {
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (child, parent) in edges {
        parents
            .entry(child.clone())
            .or_default()
            .insert(parent.clone());
        children.entry(parent).or_default().insert(child);
    }
    [parents, children]
}

/// Parents and children of every node, among nodes and sources.
fn edges(project: &Project) -> [BTreeMap<String, BTreeSet<String>>; 2] {
    adjacency(project.nodes.values().flat_map(|node| {
        node.depends_on
            .iter()
            .filter(|parent| {
                project.nodes.contains_key(*parent) || project.sources.contains_key(*parent)
            })
            .map(|parent| (node.unique_id.clone(), parent.clone()))
    }))
}

/// The nodes one selector names: space-separated terms are a union, comma-joined
/// terms an intersection.
fn select_one(project: &Project, selector: &str) -> Result<BTreeSet<String>, ModelError> {
    let [parents, children] = edges(project);
    select_over(project, selector, &parents, &children)
}

/// The ids one selector names, its methods matching the project's nodes (by unique
/// id) and its graph operators following `parents` and `children`, which may hold
/// more than the project's nodes (the lineage graph's sources and pipeline tables).
pub(crate) fn select_over(
    project: &Project,
    selector: &str,
    parents: &BTreeMap<String, BTreeSet<String>>,
    children: &BTreeMap<String, BTreeSet<String>>,
) -> Result<BTreeSet<String>, ModelError> {
    let mut union = BTreeSet::new();
    for word in selector.split_whitespace() {
        let mut intersection: Option<BTreeSet<String>> = None;
        for part in word.split(',') {
            let term = parse_term(part)?;
            let base = matching(project, &term);
            let mut selected = base.clone();
            if let Some(depth) = term.parents {
                selected.extend(reach(&base, parents, depth));
            }
            if let Some(depth) = term.children {
                selected.extend(reach(&base, children, depth));
            }
            intersection = Some(match intersection {
                None => selected,
                Some(before) => before.intersection(&selected).cloned().collect(),
            });
        }
        union.extend(intersection.unwrap_or_default());
    }
    Ok(union)
}

/// The nodes `--select` and `--exclude` pick, in run order. With no `--select`, every
/// node. Tests come along when any node they test is selected (dbt's eager indirect
/// selection); `tests` says whether tests are wanted at all.
pub(crate) fn select(
    project: &Project,
    select: &[String],
    exclude: &[String],
    resource_types: &[ResourceType],
) -> Result<Vec<String>, ModelError> {
    let mut chosen: BTreeSet<String> = if select.is_empty() {
        project.nodes.keys().cloned().collect()
    } else {
        let mut chosen = BTreeSet::new();
        for selector in select {
            chosen.extend(select_one(project, selector)?);
        }
        // Tests of what is selected.
        let tests: Vec<String> = project
            .nodes
            .values()
            .filter(|node| node.resource_type == ResourceType::Test)
            .filter(|node| node.depends_on.iter().any(|parent| chosen.contains(parent)))
            .map(|node| node.unique_id.clone())
            .collect();
        chosen.extend(tests);
        chosen
    };
    for selector in exclude {
        for id in select_one(project, selector)? {
            chosen.remove(&id);
        }
    }
    Ok(topological_order(project)?
        .into_iter()
        .filter(|id| chosen.contains(id))
        .filter(|id| resource_types.contains(&project.nodes[id].resource_type))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_parse_graph_operators_and_methods() {
        let term = parse_term("2+tag:nightly+").unwrap();
        assert_eq!(term.method, Method::Tag);
        assert_eq!(term.value, "nightly");
        assert_eq!(term.parents, Some(Some(2)));
        assert_eq!(term.children, Some(None));
        let term = parse_term("fact_trips+1").unwrap();
        assert_eq!((term.parents, term.children), (None, Some(Some(1))));
        assert!(parse_term("colour:red").is_err());
        assert!(parse_term("tag:").is_err());
    }

    #[test]
    fn globs_match_wildcards() {
        assert!(glob("stg_*", "stg_trips"));
        assert!(glob("*_trips", "stg_trips"));
        assert!(glob("s*t*s", "stg_trips"));
        assert!(!glob("stg_*", "dim_date"));
        assert!(glob("dim_date", "dim_date"));
    }
}
