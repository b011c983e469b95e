//! The model editor's core: a file compiled as it is typed (the compiled SQL and every
//! Jinja, YAML and SQL error at its line in the source), what autocomplete offers (refs,
//! sources, macros, columns), the SQL that previews a model, and what a build of one
//! file runs and reports. The [`crate::lakehouse::Lakehouse`] methods
//! (`compile_file`, `completions`, `preview_sql`, `build_file`) put them over a store.

mod completions;
mod diagnose;

use serde::{Deserialize, Serialize};

use crate::lineage::NodeRun;

pub(crate) use completions::{completions, refable};
pub(crate) use diagnose::{model_error, pipeline_error, sql_errors, yaml_syntax_error};

/// A file compiled as it is in the editor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompiledFile {
    /// The file, from the project root.
    pub path: String,
    /// The compiled SQL of a model, snapshot, test or analysis; none for other files,
    /// or when it does not compile.
    pub compiled: Option<String>,
    /// What is wrong, at its line in the source.
    pub diagnostics: Vec<Diagnostic>,
    /// How long the compile took, in ms.
    pub elapsed_ms: f64,
}

/// An error or a warning at a line of the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The line, from 1, in the source.
    pub line: usize,
    /// The column, from 1, where known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// How bad it is.
    pub severity: Severity,
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The file does not compile or parse.
    Error,
    /// It compiles, but something looks wrong.
    Warning,
}

impl Diagnostic {
    /// An error at `line` (from 1), `column` if known.
    pub(crate) fn error(line: usize, column: Option<usize>, message: impl Into<String>) -> Self {
        Self {
            line: line.max(1),
            column,
            message: message.into(),
            severity: Severity::Error,
        }
    }
}

/// What autocomplete offers in a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Completions {
    /// Names `ref()` takes: models, snapshots and seeds.
    pub models: Vec<String>,
    /// Tables `source()` takes.
    pub sources: Vec<SourceTable>,
    /// The project's macros and dbt's, with their arguments.
    pub macros: Vec<MacroSignature>,
    /// The columns of every relation the catalog knows.
    pub columns: Vec<RelationColumns>,
}

/// A source table: `source('<source>', '<table>')`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceTable {
    /// The source's name.
    pub source: String,
    /// The table's name.
    pub table: String,
}

/// A macro and how it is called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacroSignature {
    /// Its name (`generate_surrogate_key`, `dbt.datediff`).
    pub name: String,
    /// Its call with the argument names: `generate_surrogate_key(field_list)`.
    pub signature: String,
}

/// The columns of one relation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationColumns {
    /// A model's name, `<source>.<table>` for a source, else `<schema>.<table>`.
    pub relation: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
}

/// One step of a build, as the run-results panel and the lineage show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// The lineage node id (`gold.fact_trips`, `silver.trips`), or a test's unique id.
    pub node: String,
    /// The step's name: a model, test or snapshot, or a Silver table.
    pub name: String,
    /// `model`, `test`, `snapshot`, `seed` or `silver`.
    pub resource: String,
    /// How it went.
    pub run: NodeRun,
}

/// Why an editor action cannot be done on a file.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    /// The file is not a model, so it has no preview.
    #[error("{path}: not a model, so it cannot be previewed")]
    NotAModel {
        /// The file.
        path: String,
    },
    /// The file is not one a build starts from.
    #[error("{path}: only a model, snapshot, seed, test or Silver pipeline file can be built")]
    NotBuildable {
        /// The file.
        path: String,
    },
    /// The file does not compile: the first diagnostic.
    #[error("{path}:{line}: {message}")]
    DoesNotCompile {
        /// The file.
        path: String,
        /// The diagnostic's line.
        line: usize,
        /// The diagnostic.
        message: String,
    },
}

/// Whether `path` is a Silver pipeline file: `silver/<entity>.yml`.
pub fn is_pipeline(path: &str) -> bool {
    path.strip_prefix("silver/").is_some_and(|name| {
        !name.contains('/') && (name.ends_with(".yml") || name.ends_with(".yaml"))
    })
}

/// Whether `path` is a YAML file.
pub(crate) fn is_yaml(path: &str) -> bool {
    path.ends_with(".yml") || path.ends_with(".yaml")
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
