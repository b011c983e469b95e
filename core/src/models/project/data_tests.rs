//! The test phases: generic tests from the YAML properties (on models, snapshots and
//! sources) and singular tests from the test folders.

use std::collections::BTreeMap;

use serde_yaml_ng::Value as Yaml;

use super::nodes::Parser;
use super::properties::{to_json, under, yaml_error};
use super::{GenericTest, Node, ResourceType, TestKind};
use crate::models::config::NodeConfig;
use crate::models::ModelError;

/// A generic test as written, before it is a node.
struct TestSpec {
    test: GenericTest,
    attached_to: String,
    attached_name: String,
    column: Option<String>,
    config: BTreeMap<String, serde_json::Value>,
    file: String,
}

/// Reads `unique`, `{not_null: {config: …}}`, `{accepted_values: {values: […]}}`,
/// `{relationships: {to: ref('x'), field: id}}` (arguments also under `arguments:`).
fn parse_test(
    spec: &Yaml,
    file: &str,
) -> Result<(GenericTest, BTreeMap<String, serde_json::Value>), ModelError> {
    let one_entry = match spec {
        Yaml::Mapping(map) if map.len() == 1 => map.iter().next(),
        _ => None,
    };
    let (name, body) = match (spec, one_entry) {
        (Yaml::String(name), _) => (name.clone(), Yaml::Null),
        (_, Some((key, value))) => {
            let name = key
                .as_str()
                .ok_or_else(|| yaml_error(file, "a test's name must be text"))?;
            (name.to_owned(), value.clone())
        }
        (other, None) => {
            return Err(yaml_error(
                file,
                format!("a data test is a name or a one-key mapping, not {other:?}"),
            ))
        }
    };
    let mut config: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut arguments = serde_yaml_ng::Mapping::new();
    if let Yaml::Mapping(map) = &body {
        for (key, value) in map {
            match key.as_str().unwrap_or_default() {
                "config" => {
                    if let Yaml::Mapping(settings) = value {
                        for (key, value) in settings {
                            if let Some(key) = key.as_str() {
                                config.insert(key.to_owned(), to_json(value));
                            }
                        }
                    }
                }
                "arguments" => {
                    if let Yaml::Mapping(args) = value {
                        arguments.extend(args.clone());
                    }
                }
                "severity" | "where" | "store_failures" | "tags" | "enabled" => {
                    config.insert(key.as_str().unwrap_or_default().to_owned(), to_json(value));
                }
                _ => {
                    arguments.insert(key.clone(), value.clone());
                }
            }
        }
    }
    let argument = |key: &str| arguments.get(key);
    let test = match name.as_str() {
        "unique" => GenericTest::Unique,
        "not_null" => GenericTest::NotNull,
        "accepted_values" => {
            let values = argument("values")
                .and_then(Yaml::as_sequence)
                .ok_or_else(|| yaml_error(file, "accepted_values needs `values: [...]`"))?
                .iter()
                .map(|value| match value {
                    Yaml::String(text) => text.clone(),
                    other => serde_yaml_ng::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                })
                .collect();
            let quote = argument("quote").and_then(Yaml::as_bool).unwrap_or(true);
            GenericTest::AcceptedValues { values, quote }
        }
        "relationships" => {
            let to = argument("to")
                .and_then(Yaml::as_str)
                .ok_or_else(|| yaml_error(file, "relationships needs `to: ref('model')`"))?;
            let field = argument("field")
                .and_then(Yaml::as_str)
                .ok_or_else(|| yaml_error(file, "relationships needs `field: column`"))?;
            GenericTest::Relationships {
                to: to.to_owned(),
                field: field.to_owned(),
            }
        }
        other => {
            return Err(yaml_error(
                file,
                format!(
                    "unknown generic test {other:?} (use unique, not_null, accepted_values or relationships)"
                ),
            ))
        }
    };
    Ok((test, config))
}

/// A test's name as dbt builds it: the test, the model, the column, the arguments, with
/// each run of characters other than letters, digits and `_` turned into one `_`.
fn test_name(spec: &TestSpec) -> String {
    let source = if spec.attached_to.starts_with("source.") {
        "source_"
    } else {
        ""
    };
    let mut name = format!("{source}{}_{}", spec.test.name(), spec.attached_name);
    if let Some(column) = &spec.column {
        name.push('_');
        name.push_str(column);
    }
    match &spec.test {
        GenericTest::AcceptedValues { values, .. } => {
            name.push_str("__");
            name.push_str(&values.join("__"));
        }
        GenericTest::Relationships { to, field } => {
            name.push_str(&format!("__{field}__{to}"));
        }
        _ => {}
    }
    let mut cleaned = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            cleaned.push(c);
            in_run = false;
        } else if !in_run {
            cleaned.push('_');
            in_run = true;
        }
    }
    cleaned
}

impl Parser<'_> {
    /// Every generic test the properties declare: on snapshots, then models and seeds,
    /// then sources.
    fn generic_test_specs(&self) -> Result<Vec<TestSpec>, ModelError> {
        let project = &self.settings.name;
        let mut specs: Vec<TestSpec> = Vec::new();
        let mut add = |tests: &[Yaml],
                       attached_to: &str,
                       attached_name: &str,
                       column: Option<&str>,
                       file: &str|
         -> Result<(), ModelError> {
            for test in tests {
                let (test, config) = parse_test(test, file)?;
                specs.push(TestSpec {
                    test,
                    attached_to: attached_to.to_owned(),
                    attached_name: attached_name.to_owned(),
                    column: column.map(str::to_owned),
                    config,
                    file: file.to_owned(),
                });
            }
            Ok(())
        };
        for (name, snapshot) in &self.properties.snapshots {
            let Some(spec) = &snapshot.spec else {
                continue;
            };
            let attached_to = format!("snapshot.{project}.{name}");
            add(&spec.data_tests, &attached_to, name, None, &snapshot.file)?;
            for column in &spec.columns {
                let column_name = Some(column.name.as_str());
                add(
                    &column.data_tests,
                    &attached_to,
                    name,
                    column_name,
                    &snapshot.file,
                )?;
            }
        }
        let described = self
            .properties
            .models
            .iter()
            .map(|entry| ("model", entry))
            .chain(self.properties.seeds.iter().map(|entry| ("seed", entry)));
        for (kind, (name, (file, spec))) in described {
            let attached_to = format!("{kind}.{project}.{name}");
            add(&spec.data_tests, &attached_to, name, None, file)?;
            for column in &spec.columns {
                add(
                    &column.data_tests,
                    &attached_to,
                    name,
                    Some(column.name.as_str()),
                    file,
                )?;
            }
        }
        for (unique_id, table, file) in &self.properties.source_tests {
            let source = &self.properties.sources[unique_id];
            let attached_name = format!("{}_{}", source.source, source.name);
            add(&table.data_tests, unique_id, &attached_name, None, file)?;
            for column in &table.columns {
                add(
                    &column.data_tests,
                    unique_id,
                    &attached_name,
                    Some(column.name.as_str()),
                    file,
                )?;
            }
        }
        Ok(specs)
    }

    /// The generic test phase: a node per declared test whose model is enabled, named
    /// as dbt names it (with `_2`, `_3`, … against the names `nodes` holds).
    pub(super) fn add_generic_tests(
        &self,
        nodes: &mut BTreeMap<String, Node>,
    ) -> Result<(), ModelError> {
        let project = &self.settings.name;
        for spec in self.generic_test_specs()? {
            let attached = nodes.contains_key(&spec.attached_to)
                || self.properties.sources.contains_key(&spec.attached_to);
            if !attached {
                continue; // its model is disabled
            }
            let mut name = test_name(&spec);
            let mut suffix = 2;
            while nodes.contains_key(&format!("test.{project}.{name}")) {
                name = format!("{}_{suffix}", test_name(&spec));
                suffix += 1;
            }
            let mut depends_on = vec![spec.attached_to.clone()];
            if let GenericTest::Relationships { to, .. } = &spec.test {
                let rendered = self.render(&spec.file, &format!("{{{{ {to} }}}}"), &name, "")?;
                depends_on.extend(self.parents(&rendered));
            }
            let mut config = NodeConfig::default();
            config.apply(&spec.config);
            let mut node = Node::new(
                ResourceType::Test,
                project,
                &name,
                &spec.file,
                String::new(),
                config,
                depends_on,
            );
            node.test = Some(TestKind::Generic {
                test: spec.test,
                attached_to: spec.attached_to,
                column: spec.column,
            });
            nodes.insert(node.unique_id.clone(), node);
        }
        Ok(())
    }

    /// The singular test phase: a node per SQL file under the test folders.
    pub(super) fn singular_tests(&self) -> Result<Vec<Node>, ModelError> {
        let mut nodes = Vec::new();
        for (path, text) in self.files {
            if !path.ends_with(".sql") || under(path, &self.settings.test_paths).is_none() {
                continue;
            }
            let name = path
                .rsplit('/')
                .next()
                .and_then(|file| file.strip_suffix(".sql"))
                .unwrap_or_default();
            let rendered = self.render(path, text, name, "")?;
            let mut config = NodeConfig::default();
            config.apply(&rendered.config);
            let mut node = Node::new(
                ResourceType::Test,
                &self.settings.name,
                name,
                path,
                text.clone(),
                config,
                self.parents(&rendered),
            );
            node.test = Some(TestKind::Singular);
            nodes.push(node);
        }
        Ok(nodes)
    }
}
