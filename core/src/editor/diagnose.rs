//! Errors as diagnostics at their line in the source: Jinja's (minijinja knows the
//! line; an unclosed block is marked where it opens), YAML's (serde's location), a
//! Silver pipeline's (its step), and SQL syntax errors found by parsing the compiled SQL
//! with DataFusion's dialect, mapped back to the source line.

use std::sync::LazyLock;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use regex::Regex;
use similar::{capture_diff_slices, Algorithm, DiffOp};

use super::Diagnostic;
use crate::models::ModelError;
use crate::silver::PipelineError;

/// serde's location in a YAML error's text: `at line 3 column 5`.
static YAML_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"at line (\d+) column (\d+)").expect("valid regex"));

/// sqlparser's location in an error's text: ` at Line: 3, Column: 5`.
static SQL_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r" at Line: (\d+), Column: (\d+)").expect("valid regex"));

/// A Jinja block tag: `{% if`, `{%- endfor`, and the rest of the tag.
static BLOCK_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{%[-+]?\s*(\w+)([^%]*)").expect("valid regex"));

/// Tags that open a block closed by `end<tag>`.
const BLOCKS: [&str; 13] = [
    "if",
    "for",
    "macro",
    "call",
    "filter",
    "block",
    "with",
    "autoescape",
    "raw",
    "snapshot",
    "materialization",
    "test",
    "docs",
];

fn number(text: &str) -> Option<usize> {
    text.parse().ok()
}

/// A YAML error's text as a diagnostic at its location (line 1 if it has none).
fn yaml_message(detail: &str) -> Diagnostic {
    match YAML_AT.captures(detail) {
        Some(at) => Diagnostic::error(
            number(&at[1]).unwrap_or(1),
            number(&at[2]),
            detail
                .replace(&at[0], "")
                .trim()
                .trim_end_matches(',')
                .trim(),
        ),
        None => Diagnostic::error(1, None, detail),
    }
}

/// The YAML syntax error of `text`, if it does not parse.
pub(crate) fn yaml_syntax_error(text: &str) -> Option<Diagnostic> {
    let err = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text).err()?;
    Some(match err.location() {
        Some(at) => Diagnostic::error(
            at.line(),
            Some(at.column()),
            yaml_message(&err.to_string()).message,
        ),
        None => yaml_message(&err.to_string()),
    })
}

/// The line (from 1) of the innermost block of `text` left open, if one is.
fn unclosed_block(text: &str) -> Option<(usize, String)> {
    let mut open: Vec<(String, usize)> = Vec::new();
    for tag in BLOCK_TAG.captures_iter(text) {
        let start = tag.get(0).map_or(0, |m| m.start());
        let line = text[..start].matches('\n').count() + 1;
        let name = &tag[1];
        if let Some(closed) = name.strip_prefix("end") {
            match open.last() {
                Some((top, _)) if top == closed => {
                    open.pop();
                }
                Some(_) => break,
                None => {}
            }
        } else if BLOCKS.contains(&name) || (name == "set" && !tag[2].contains('=')) {
            open.push((name.to_owned(), line));
        }
    }
    open.pop().map(|(name, line)| (line, name))
}

/// A model engine's error in `path` (whose text is `text`) as a diagnostic: at its line
/// when it is in this file, else at line 1 naming the file it is in.
pub(crate) fn model_error(path: &str, text: &str, err: &ModelError) -> Diagnostic {
    match err {
        ModelError::Jinja {
            path: file,
            line,
            detail,
        } if file == path => {
            let line = line.unwrap_or(1);
            let syntax = detail.starts_with("syntax error");
            match unclosed_block(text).filter(|(opened, _)| syntax && *opened <= line) {
                Some((opened, tag)) => Diagnostic::error(
                    opened,
                    None,
                    format!("{detail} (the `{{% {tag} %}}` here is never closed)"),
                ),
                None => Diagnostic::error(line, None, detail.clone()),
            }
        }
        ModelError::Yaml { path: file, detail } if file == path => yaml_message(detail),
        ModelError::Project { path: file, detail } if file == path => Diagnostic::error(
            missing_line(text, detail).unwrap_or(1),
            None,
            detail.clone(),
        ),
        other => Diagnostic::error(1, None, other.to_string()),
    }
}

/// For "depends on model.<project>.<name>, which is disabled or missing", the first
/// line of `text` naming `<name>` in quotes.
fn missing_line(text: &str, detail: &str) -> Option<usize> {
    let id = detail.strip_prefix("depends on ")?.split(',').next()?;
    let name = id.rsplit('.').next()?;
    let quoted = [format!("'{name}'"), format!("\"{name}\"")];
    text.lines()
        .position(|line| quoted.iter().any(|q| line.contains(q.as_str())))
        .map(|index| index + 1)
}

/// A Silver pipeline's error as a diagnostic: at serde's location, at its step's line,
/// or at line 1.
pub(crate) fn pipeline_error(text: &str, err: &PipelineError) -> Diagnostic {
    if YAML_AT.is_match(&err.detail) {
        return yaml_message(&err.detail);
    }
    let message = match &err.step {
        Some(step) => format!("step {step}: {}", err.detail),
        None => err.detail.clone(),
    };
    let position = err
        .step
        .as_deref()
        .and_then(|step| number(step.split(' ').next().unwrap_or_default()));
    let line = position
        .and_then(|position| step_line(text, position))
        .unwrap_or(1);
    Diagnostic::error(line, None, message)
}

/// The line (from 1) where the `position`-th step (from 1) of a pipeline file begins:
/// the items of the list under `steps:`.
fn step_line(text: &str, position: usize) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let steps = lines.iter().position(|line| line.trim_end() == "steps:")?;
    let indent = |line: &str| line.len() - line.trim_start().len();
    // The list's items, until the next top-level key.
    let items: Vec<(usize, usize)> = lines[steps + 1..]
        .iter()
        .enumerate()
        .take_while(|(_, line)| line.trim().is_empty() || line.starts_with([' ', '-', '#']))
        .filter(|(_, line)| line.trim_start().starts_with('-'))
        .map(|(offset, line)| (steps + 1 + offset, indent(line)))
        .collect();
    let outer = items.iter().map(|(_, depth)| *depth).min()?;
    items
        .into_iter()
        .filter(|(_, depth)| *depth == outer)
        .nth(position.checked_sub(1)?)
        .map(|(index, _)| index + 1)
}

/// For each line of `compiled` (from 0), the line of `source` (from 0) it came from:
/// lines equal in both (trimmed) anchor the map; a changed stretch maps to the source
/// stretch it replaced, line by line, its last line for the rest.
fn line_map(source: &str, compiled: &str) -> Vec<usize> {
    let old: Vec<&str> = source.lines().map(str::trim).collect();
    let new: Vec<&str> = compiled.lines().map(str::trim).collect();
    let mut map = vec![0; new.len()];
    for op in capture_diff_slices(Algorithm::Myers, &old, &new) {
        match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                for offset in 0..len {
                    map[new_index + offset] = old_index + offset;
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                for offset in 0..new_len {
                    map[new_index + offset] = old_index + offset.min(old_len.saturating_sub(1));
                }
            }
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => {
                for offset in 0..new_len {
                    map[new_index + offset] = old_index.saturating_sub(1);
                }
            }
            DiffOp::Delete { .. } => {}
        }
    }
    map
}

/// The SQL syntax errors of `compiled` (the SQL `source` compiled to), at their line in
/// `source`.
pub(crate) fn sql_errors(source: &str, compiled: &str) -> Vec<Diagnostic> {
    let Err(err) = Parser::parse_sql(&GenericDialect {}, compiled) else {
        return Vec::new();
    };
    let text = err.to_string();
    let text = text.strip_prefix("sql parser error: ").unwrap_or(&text);
    let Some(at) = SQL_AT.captures(text) else {
        return vec![Diagnostic::error(1, None, format!("SQL: {text}"))];
    };
    let compiled_line = number(&at[1]).unwrap_or(1);
    let column = number(&at[2]);
    let message = format!("SQL: {}", text.replace(&at[0], ""));
    let map = line_map(source, compiled);
    let line = map
        .get(compiled_line.saturating_sub(1))
        .or(map.last())
        .map_or(1, |line| line + 1);
    // The column is the compiled line's: it holds for the source when the lines match.
    let same = source.lines().nth(line - 1).map(str::trim)
        == compiled.lines().nth(compiled_line - 1).map(str::trim);
    vec![Diagnostic::error(line, column.filter(|_| same), message)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unclosed_block_is_found_where_it_opens() {
        let text = "select\n{% for x in y %}\n{% if a %}\n1\n{% endfor %}\n";
        assert_eq!(unclosed_block(text), Some((3, "if".to_owned())));
        assert_eq!(unclosed_block("{% set x = 1 %}{% if a %}{% endif %}"), None);
        assert_eq!(
            unclosed_block("a\n{% set x %}\n"),
            Some((2, "set".to_owned()))
        );
    }

    #[test]
    fn compiled_lines_map_to_the_source_lines_they_came_from() {
        let source = "select\n  {{ ref('a') }}.x,\n  y\nfrom t";
        let compiled = "select\n  gold.a.x,\n  y\nfrom t";
        assert_eq!(line_map(source, compiled), vec![0, 1, 2, 3]);
        let source = "select\n  {{ cols() }}\nfrom t";
        let compiled = "select\n  a,\n  b,\n  c\nfrom t";
        assert_eq!(line_map(source, compiled), vec![0, 1, 1, 1, 2]);
    }

    #[test]
    fn a_pipeline_step_is_found_by_its_position() {
        let text = "key: [id]\nsteps:\n  - transform: trim\n    columns: [a]\n  - transform: cast\n    columns:\n      - a\n";
        assert_eq!(step_line(text, 1), Some(3));
        assert_eq!(step_line(text, 2), Some(5));
        assert_eq!(step_line(text, 3), None);
    }
}
