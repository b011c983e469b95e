//! The project's `silver` source kept in step with Silver: every Silver table joins it
//! with its columns, and a staging model over one starts from a file of its own.
//!
//! The source's YAML file is edited as text, not re-serialised, so its comments, order
//! and other entries stay as the user wrote them: the new tables are inserted after the
//! last entry of the source's `tables:` list, in its indentation, and the project is
//! parsed again with the new text before it is written.

use arrow::datatypes::DataType;

use super::{Lakehouse, LakehouseError};
use crate::delta::DeltaTable;
use crate::models::{Project, SourceTable};
use crate::warehouse;

/// The dbt source Silver's tables belong to.
const SILVER_SOURCE: &str = "silver";

/// Why the `silver` source or a staging model could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    /// The file declaring the `silver` source is not in a shape the text edit knows.
    #[error("{file}: cannot add {tables} to the `silver` source: {detail}; add them by hand")]
    Shape {
        /// The YAML file, from the project root.
        file: String,
        /// The tables that were to be added, as `silver/<entity>`.
        tables: String,
        /// What the edit did not find or could not read.
        detail: String,
    },
    /// The entity's Silver table is not built.
    #[error("{table} does not exist yet: run Silver for it first")]
    NoTable {
        /// The table, as `silver/<entity>`.
        table: String,
    },
    /// Not a name an entity can have.
    #[error("{0:?} is not an entity name (lower-case letters, digits and _)")]
    InvalidEntity(String),
    /// The project declares no `silver` source to start a model from.
    #[error("the project declares no `silver` source, so source('silver', '{entity}') cannot work: declare one in a YAML file of the models")]
    NoSilverSource {
        /// The entity.
        entity: String,
    },
}

/// Whether `name` can be an entity: lower-case letters, digits and `_`, not first a
/// digit.
fn is_entity(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A column type as dbt's `data_type` names it (duckdb's names, lower case).
fn data_type(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar".to_owned(),
        DataType::Int8 => "tinyint".to_owned(),
        DataType::Int16 => "smallint".to_owned(),
        DataType::Int32 => "integer".to_owned(),
        DataType::Int64 => "bigint".to_owned(),
        DataType::UInt8 => "utinyint".to_owned(),
        DataType::UInt16 => "usmallint".to_owned(),
        DataType::UInt32 => "uinteger".to_owned(),
        DataType::UInt64 => "ubigint".to_owned(),
        DataType::Float32 => "float".to_owned(),
        DataType::Float64 => "double".to_owned(),
        DataType::Boolean => "boolean".to_owned(),
        DataType::Date32 | DataType::Date64 => "date".to_owned(),
        DataType::Timestamp(_, None) => "timestamp".to_owned(),
        DataType::Timestamp(_, Some(_)) => "timestamp with time zone".to_owned(),
        DataType::Decimal128(precision, scale) | DataType::Decimal256(precision, scale) => {
            format!("decimal({precision},{scale})")
        }
        other => other.to_string().to_lowercase(),
    }
}

/// `text` as a YAML scalar: plain when it is a simple name, else single-quoted.
fn yaml_scalar(text: &str) -> String {
    let plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

/// `name` as a SQL identifier: bare when lower case and simple, else double-quoted
/// (DataFusion folds bare identifiers to lower case).
fn sql_identifier(name: &str) -> String {
    if is_entity(name) {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// A line's indentation in spaces.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Whether a line holds no YAML: blank, or only a comment.
fn is_filler(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// A line's text without a trailing comment (a `#` after a space) and spaces.
fn without_comment(line: &str) -> &str {
    let line = line.trim_end_matches(['\r', '\n']);
    match line.find(" #") {
        Some(at) => line[..at].trim_end(),
        None => line.trim_end(),
    }
}

/// `key: value` of a mapping line (after any `- `), without quotes around the value.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let line = without_comment(line).trim_start();
    let line = line.strip_prefix("- ").unwrap_or(line).trim_start();
    let (key, value) = line.split_once(':')?;
    let value = value.trim();
    let value = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
        .unwrap_or(value);
    Some((key.trim(), value))
}

/// The YAML entries of `tables` (name, columns with their types) as items of a
/// `tables:` list indented by `at` spaces.
fn table_entries(tables: &[(String, Vec<(String, String)>)], at: usize) -> String {
    let pad = " ".repeat(at);
    let mut text = String::new();
    for (name, columns) in tables {
        text.push_str(&format!("{pad}- name: {}\n", yaml_scalar(name)));
        text.push_str(&format!(
            "{pad}  description: The Silver table silver/{name} (added by medallion when Silver built it).\n"
        ));
        text.push_str(&format!("{pad}  columns:\n"));
        for (column, data_type) in columns {
            text.push_str(&format!("{pad}    - name: {}\n", yaml_scalar(column)));
            text.push_str(&format!("{pad}      data_type: {data_type}\n"));
        }
    }
    text
}

/// `text` (a YAML properties file) with `tables` appended to the `tables:` list of the
/// source named `source`, or why the file's shape does not allow it.
fn insert_tables(
    text: &str,
    source: &str,
    tables: &[(String, Vec<(String, String)>)],
) -> Result<String, String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let sources = lines
        .iter()
        .position(|line| indent(line) == 0 && without_comment(line) == "sources:")
        .ok_or("no top-level `sources:` list")?;
    // The source's item: `- name: silver`, then its block until a line as far left.
    let (start, item) = lines
        .iter()
        .enumerate()
        .skip(sources + 1)
        .take_while(|(_, line)| is_filler(line) || indent(line) > 0 || line.starts_with('-'))
        .find(|(_, line)| {
            line.trim_start().starts_with("- ") && key_value(line) == Some(("name", source))
        })
        .ok_or_else(|| format!("no item `- name: {source}` under `sources:`"))?;
    let item_indent = indent(item);
    let end = (start + 1..lines.len())
        .find(|&at| !is_filler(lines[at]) && indent(lines[at]) <= item_indent)
        .unwrap_or(lines.len());
    let key_indent = item_indent + 2;
    let tables_line = (start + 1..end)
        .find(|&at| {
            indent(lines[at]) == key_indent
                && key_value(lines[at]).is_some_and(|(key, _)| key == "tables")
        })
        .ok_or_else(|| format!("the `{source}` source has no `tables:` list"))?;
    if key_value(lines[tables_line]).is_some_and(|(_, value)| !value.is_empty()) {
        return Err(format!(
            "the `{source}` source's `tables:` is not a block list (one `- name:` per line)"
        ));
    }
    let first = (tables_line + 1..end)
        .find(|&at| !is_filler(lines[at]))
        .filter(|&at| lines[at].trim_start().starts_with("- ") && indent(lines[at]) >= key_indent)
        .ok_or_else(|| format!("the `{source}` source's `tables:` list has no `- name:` item"))?;
    let list_indent = indent(lines[first]);
    let list_end = (first..end)
        .find(|&at| {
            let line = lines[at];
            !is_filler(line)
                && (indent(line) < list_indent
                    || (indent(line) == list_indent && !line.trim_start().starts_with('-')))
        })
        .unwrap_or(end);
    let last = (first..list_end)
        .rev()
        .find(|&at| !is_filler(lines[at]))
        .unwrap_or(first);
    let mut edited: String = lines[..=last].concat();
    if !edited.ends_with('\n') {
        edited.push('\n');
    }
    edited.push_str(&table_entries(tables, list_indent));
    edited.push_str(&lines[last + 1..].concat());
    Ok(edited)
}

impl Lakehouse {
    /// Adds every Silver table missing from the project's `silver` source to the file
    /// that declares it (`models/staging/_sources.yml`), with its columns and their
    /// `data_type`; keeps the file's comments and its other entries. Returns the tables
    /// added, as `silver/<entity>`. [`Lakehouse::run`] runs it after the Silver stage.
    /// A project that declares no `silver` source is left as it is.
    pub async fn join_silver_sources(&self) -> Result<Vec<String>, LakehouseError> {
        self.join_sources_of(&self.project().await?).await
    }

    /// [`Lakehouse::join_silver_sources`] for `project`, parsed from the workspace.
    pub(super) async fn join_sources_of(
        &self,
        project: &Project,
    ) -> Result<Vec<String>, LakehouseError> {
        let declared: Vec<&SourceTable> = project
            .sources
            .values()
            .filter(|table| table.source == SILVER_SOURCE)
            .collect();
        let Some(file) = declared.first().map(|table| table.file.clone()) else {
            return Ok(Vec::new());
        };
        let mut missing = Vec::new();
        for table in warehouse::list_tables(self.storage.as_ref()).await? {
            let Some(entity) = table.strip_prefix("silver/") else {
                continue;
            };
            let known = declared.iter().any(|source| {
                source.name == entity
                    || (source.schema == SILVER_SOURCE && source.identifier == entity)
            });
            if known || entity.ends_with("_quarantine") {
                continue;
            }
            missing.push((entity.to_owned(), self.columns(&table).await?));
        }
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let added: Vec<String> = missing
            .iter()
            .map(|(entity, _)| warehouse::silver_table(entity))
            .collect();
        let shape = |detail: String| SourcesError::Shape {
            file: file.clone(),
            tables: added.join(", "),
            detail,
        };
        let text = self.workspace.read(&file).await?;
        let edited = insert_tables(&text, SILVER_SOURCE, &missing).map_err(shape)?;
        // The edit must read back as the same project with the new tables.
        let mut files = self.project_files().await?;
        for (path, text) in &mut files {
            if *path == file {
                text.clone_from(&edited);
            }
        }
        let reparsed = Project::parse(&files, &self.vars)
            .map_err(|err| shape(format!("the edited file does not parse: {err}")))?;
        let joined = missing.iter().all(|(entity, _)| {
            reparsed
                .sources
                .values()
                .any(|table| table.source == SILVER_SOURCE && table.name == *entity)
        });
        if !joined || reparsed.sources.len() != project.sources.len() + missing.len() {
            return Err(
                shape("the edited file does not read back with the new tables".to_owned()).into(),
            );
        }
        self.workspace.write(&file, &edited).await?;
        Ok(added)
    }

    /// Creates `models/staging/stg_<entity>.sql` selecting every column of
    /// `source('silver', '<entity>')` (refuses if it exists); returns its project path.
    /// The table joins the `silver` source first if it is not in it yet.
    pub async fn start_model(&self, entity: &str) -> Result<String, LakehouseError> {
        if !is_entity(entity) {
            return Err(SourcesError::InvalidEntity(entity.to_owned()).into());
        }
        let table = warehouse::silver_table(entity);
        let columns = self.columns(&table).await?;
        self.join_silver_sources().await?;
        let project = self.project().await?;
        if !project
            .sources
            .values()
            .any(|source| source.source == SILVER_SOURCE && source.name == entity)
        {
            return Err(SourcesError::NoSilverSource {
                entity: entity.to_owned(),
            }
            .into());
        }
        let folder = project.model_paths.first().map_or("models", String::as_str);
        let path = format!("{folder}/staging/stg_{entity}.sql");
        let select = columns
            .iter()
            .map(|(name, _)| format!("    {}", sql_identifier(name)))
            .collect::<Vec<_>>()
            .join(",\n");
        let text = format!(
            "-- Staging model over the Silver table {table}: rename, cast and filter its \
             columns here.\n\nselect\n{select}\nfrom {{{{ source('silver', '{entity}') }}}}\n"
        );
        self.workspace.create(&path, &text).await?;
        Ok(path)
    }

    /// The columns of `table` (which must exist) with their `data_type`.
    async fn columns(&self, table: &str) -> Result<Vec<(String, String)>, LakehouseError> {
        let delta = DeltaTable::new(self.storage.clone(), table.to_owned());
        if !delta.exists().await? {
            return Err(SourcesError::NoTable {
                table: table.to_owned(),
            }
            .into());
        }
        let snapshot = delta.snapshot().await?;
        Ok(snapshot
            .schema()
            .fields()
            .iter()
            .map(|field| (field.name().clone(), data_type(field.data_type())))
            .collect())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn notes() -> Vec<(String, Vec<(String, String)>)> {
        vec![(
            "notes".to_owned(),
            vec![("note_id".to_owned(), "bigint".to_owned())],
        )]
    }

    const NOTES: &str = "- name: notes\n  description: The Silver table silver/notes (added by \
                         medallion when Silver built it).\n  columns:\n    - name: note_id\n      \
                         data_type: bigint\n";

    /// `NOTES` indented by `at` spaces.
    fn notes_at(at: usize) -> String {
        NOTES
            .lines()
            .map(|line| format!("{}{line}\n", " ".repeat(at)))
            .collect()
    }

    #[test]
    fn tables_are_inserted_after_the_sources_last_table_keeping_everything_else() {
        let text = "version: 2\n\n# Our sources.\nsources:\n  - name: silver # built by medallion\n    \
                    tables:\n      - name: trips\n        columns:\n          - name: trip_id\n\n      \
                    # more tables go here\n  - name: raw\n    tables:\n      - name: events\n";
        let edited = insert_tables(text, "silver", &notes()).expect("edit");
        let want = format!(
            "version: 2\n\n# Our sources.\nsources:\n  - name: silver # built by medallion\n    \
             tables:\n      - name: trips\n        columns:\n          - name: trip_id\n{}\n      \
             # more tables go here\n  - name: raw\n    tables:\n      - name: events\n",
            notes_at(6)
        );
        assert_eq!(edited, want);

        // Sequences not indented under their key, quotes, no final newline.
        let text = "sources:\n- name: 'silver'\n  tables:\n  - name: trips";
        let edited = insert_tables(text, "silver", &notes()).expect("edit");
        assert_eq!(
            edited,
            format!(
                "sources:\n- name: 'silver'\n  tables:\n  - name: trips\n{}",
                notes_at(2)
            )
        );
    }

    #[test]
    fn a_shape_the_edit_does_not_know_is_refused_saying_why() {
        for (text, why) in [
            ("version: 2\n", "no top-level `sources:` list"),
            (
                "sources:\n  - name: raw\n    tables:\n      - name: a\n",
                "no item `- name: silver` under `sources:`",
            ),
            (
                "sources:\n  - name: silver\n    schema: silver\n",
                "the `silver` source has no `tables:` list",
            ),
            (
                "sources:\n  - name: silver\n    tables: [{name: trips}]\n",
                "the `silver` source's `tables:` is not a block list (one `- name:` per line)",
            ),
        ] {
            assert_eq!(insert_tables(text, "silver", &notes()).unwrap_err(), why);
        }
    }

    #[test]
    fn names_are_quoted_where_yaml_or_sql_need_it() {
        assert_eq!(yaml_scalar("trip_id"), "trip_id");
        assert_eq!(yaml_scalar("Body Text"), "'Body Text'");
        assert_eq!(yaml_scalar("it's"), "'it''s'");
        assert_eq!(sql_identifier("trip_id"), "trip_id");
        assert_eq!(sql_identifier("VendorID"), "\"VendorID\"");
        assert_eq!(data_type(&DataType::Decimal128(10, 2)), "decimal(10,2)");
        assert_eq!(
            data_type(&DataType::Timestamp(
                arrow::datatypes::TimeUnit::Microsecond,
                Some("UTC".into())
            )),
            "timestamp with time zone"
        );
        assert!(!is_entity("Notes") && !is_entity("1x") && is_entity("yellow_trips"));
    }
}
