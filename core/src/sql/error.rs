//! Why a statement failed, and where in its text.

use std::sync::OnceLock;

use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser::parser::ParserError;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::delta::DeltaError;
use crate::storage::StorageError;

/// A position in the SQL text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlPosition {
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1.
    pub column: u32,
}

/// A failed statement as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlFailure {
    /// What went wrong.
    pub message: String,
    /// Where, when known.
    pub position: Option<SqlPosition>,
    /// Whether the user cancelled it (not an error of the SQL).
    pub cancelled: bool,
}

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The text is not SQL DataFusion reads.
    #[error("syntax error: {message}")]
    Parse {
        /// The parser's message.
        message: String,
        /// Where, when the parser says.
        position: Option<SqlPosition>,
    },
    /// The statement parses but cannot be planned (an unknown column, a type error).
    #[error("{message}")]
    Plan {
        /// DataFusion's message.
        message: String,
        /// Where, when DataFusion says.
        position: Option<SqlPosition>,
    },
    /// The statement failed while it ran.
    #[error("{message}")]
    Execution {
        /// DataFusion's message.
        message: String,
    },
    /// The user stopped it.
    #[error("the query was cancelled")]
    Cancelled,
    /// A table that is not in the warehouse.
    #[error("no table {table}: SHOW TABLES lists them")]
    UnknownTable {
        /// The name as written.
        table: String,
    },
    /// Time travel to a version a table does not have.
    #[error("{table} has no version {version}: its versions are {}", versions_text(.versions))]
    UnknownVersion {
        /// `<layer>.<name>`.
        table: String,
        /// The version asked for.
        version: i64,
        /// The versions it has, oldest first.
        versions: Vec<i64>,
    },
    /// A Delta table could not be read.
    #[error(transparent)]
    Delta(#[from] DeltaError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A result could not be formatted or exported.
    #[error("the result could not be written: {0}")]
    Output(String),
}

fn versions_text(versions: &[i64]) -> String {
    match (versions.first(), versions.last()) {
        (Some(first), Some(last)) if versions.len() > 2 => format!("{first}..{last}"),
        _ => versions
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

impl SqlError {
    /// Where in the SQL text the error is (1-based line and column), when DataFusion says.
    pub fn position(&self) -> Option<SqlPosition> {
        match self {
            SqlError::Parse { position, .. } | SqlError::Plan { position, .. } => *position,
            _ => None,
        }
    }

    /// What the page shows.
    pub fn failure(&self) -> SqlFailure {
        SqlFailure {
            message: self.to_string(),
            position: self.position(),
            cancelled: matches!(self, SqlError::Cancelled),
        }
    }

    /// A DataFusion error, typed: our own errors raised inside DataFusion (an unknown
    /// version, a Delta read) come back as they were; parser and planner errors keep
    /// their position.
    pub(crate) fn from_datafusion(err: DataFusionError) -> Self {
        let position = span_position(&err).or_else(|| message_position(&err.to_string()));
        let err = match ours(err) {
            Ok(ours) => return ours,
            Err(err) => err,
        };
        let message = err.find_root().message().trim().to_owned();
        match err.find_root() {
            DataFusionError::SQL(parse, _) => SqlError::Parse {
                message: match parse.as_ref() {
                    ParserError::ParserError(text) | ParserError::TokenizerError(text) => {
                        text.clone()
                    }
                    other => other.to_string(),
                },
                position,
            },
            DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::NotImplemented(_) => SqlError::Plan { message, position },
            _ => SqlError::Execution {
                message: err.strip_backtrace(),
            },
        }
    }
}

/// The error of ours inside a DataFusion error, if there is one.
fn ours(err: DataFusionError) -> Result<SqlError, DataFusionError> {
    match err {
        DataFusionError::External(inner) => match inner.downcast::<SqlError>() {
            Ok(sql) => Ok(*sql),
            Err(inner) => match inner.downcast::<DeltaError>() {
                Ok(delta) => Ok(SqlError::Delta(*delta)),
                Err(inner) => match inner.downcast::<DataFusionError>() {
                    Ok(nested) => ours(*nested),
                    Err(inner) => Err(DataFusionError::External(inner)),
                },
            },
        },
        DataFusionError::Context(context, inner) => {
            ours(*inner).map_err(|inner| DataFusionError::Context(context, Box::new(inner)))
        }
        DataFusionError::Diagnostic(diagnostic, inner) => {
            ours(*inner).map_err(|inner| DataFusionError::Diagnostic(diagnostic, Box::new(inner)))
        }
        DataFusionError::ArrowError(arrow, context) => match *arrow {
            arrow::error::ArrowError::ExternalError(inner) => {
                ours(DataFusionError::External(inner)).map_err(|err| match err {
                    DataFusionError::External(inner) => DataFusionError::ArrowError(
                        Box::new(arrow::error::ArrowError::ExternalError(inner)),
                        context,
                    ),
                    other => other,
                })
            }
            other => Err(DataFusionError::ArrowError(Box::new(other), context)),
        },
        other => Err(other),
    }
}

/// The start of the first span a diagnostic of `err` names.
fn span_position(err: &DataFusionError) -> Option<SqlPosition> {
    let diagnostic = err.diagnostic()?;
    let spans = std::iter::once(diagnostic.span)
        .chain(diagnostic.notes.iter().map(|note| note.span))
        .chain(diagnostic.helps.iter().map(|help| help.span));
    spans.flatten().find_map(|span| {
        Some(SqlPosition {
            line: u32::try_from(span.start.line)
                .ok()
                .filter(|line| *line > 0)?,
            column: u32::try_from(span.start.column).ok().filter(|c| *c > 0)?,
        })
    })
}

/// The position sqlparser writes into its messages: `… at Line: 2, Column: 7`.
pub(crate) fn message_position(message: &str) -> Option<SqlPosition> {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(r"(?i)at line: ?(\d+), column: ?(\d+)").expect("a valid pattern")
    });
    let captures = pattern.captures(message)?;
    Some(SqlPosition {
        line: captures[1].parse().ok()?,
        column: captures[2].parse().ok()?,
    })
}
