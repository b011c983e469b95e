//! What an import is checked for, in memory, before the old project is touched: every
//! path, every size, the features the engine does not run, and that the files parse as
//! a project.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;

use super::paths::{self, Layout, DBT_PROJECT, SILVER};
use super::WorkspaceError;
use crate::models::{ModelError, Project};
use crate::silver::Pipeline;

/// How large an import may be.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Files (zip entries).
    pub(super) files: usize,
    /// Bytes of one file.
    pub(super) file_bytes: u64,
    /// Bytes of every file together.
    pub(super) total_bytes: u64,
    /// How many times a zip entry may expand…
    pub(super) ratio: u64,
    /// …once it is larger than this.
    pub(super) ratio_floor: u64,
}

/// The limits of every import: a project of text files is far smaller.
pub(super) const LIMITS: Limits = Limits {
    files: 5_000,
    file_bytes: 16 << 20,
    total_bytes: 64 << 20,
    ratio: 100,
    ratio_floor: 1 << 20,
};

impl Limits {
    /// Refuses a file of `size` bytes, or one that takes the total past the limit when
    /// `before` bytes came before it.
    pub(super) fn check_file(
        &self,
        path: &str,
        size: u64,
        before: u64,
    ) -> Result<(), WorkspaceError> {
        if size > self.file_bytes {
            return Err(WorkspaceError::TooLarge {
                path: path.to_owned(),
                detail: format!(
                    "more than the {} bytes a project file may have",
                    self.file_bytes
                ),
            });
        }
        if before + size > self.total_bytes {
            return Err(WorkspaceError::TooLarge {
                path: path.to_owned(),
                detail: format!(
                    "takes the project past the {} bytes an import may have",
                    self.total_bytes
                ),
            });
        }
        Ok(())
    }

    /// Refuses a zip entry that expanded from `compressed` to `size` bytes like a zip
    /// bomb.
    pub(super) fn check_ratio(
        &self,
        path: &str,
        size: u64,
        compressed: u64,
    ) -> Result<(), WorkspaceError> {
        let ratio = size / compressed.max(1);
        if size > self.ratio_floor && ratio > self.ratio {
            return Err(WorkspaceError::ZipBomb {
                path: path.to_owned(),
                size,
                compressed,
                ratio,
            });
        }
        Ok(())
    }
}

/// Refuses a picked folder with too many files or bytes.
pub(super) fn check_sizes(files: &[(String, Vec<u8>)]) -> Result<(), WorkspaceError> {
    check_sizes_within(files, &LIMITS)
}

fn check_sizes_within(files: &[(String, Vec<u8>)], limits: &Limits) -> Result<(), WorkspaceError> {
    if files.len() > limits.files {
        return Err(WorkspaceError::TooLarge {
            path: "the folder".to_owned(),
            detail: format!(
                "{} files, more than the {} a project may have",
                files.len(),
                limits.files
            ),
        });
    }
    let mut total = 0;
    for (path, data) in files {
        limits.check_file(path, data.len() as u64, total)?;
        total += data.len() as u64;
    }
    Ok(())
}

/// The project in `entries` (path as given, bytes), or the first reason it cannot be
/// imported. Paths are checked first (`../evil.sql`, `/etc/passwd`); hidden files and
/// dbt's generated folders are left out; if every file sits in one top folder holding
/// `dbt_project.yml`, paths are read from it. Then each file: in the project's
/// folders, of a type the project holds, UTF-8; `packages.yml`/`dependencies.yml`
/// must list no packages; the Silver pipelines and the dbt project must parse, with
/// materializations the engine runs.
pub(super) fn check(
    entries: Vec<(String, Vec<u8>)>,
) -> Result<BTreeMap<String, String>, WorkspaceError> {
    for (path, _) in &entries {
        paths::check_form(path)?;
    }
    let kept: Vec<(String, Vec<u8>)> = entries
        .into_iter()
        .filter(|(path, _)| !paths::ignored(path))
        .collect();
    let top = single_top_folder(&kept);
    let mut files = BTreeMap::new();
    for (path, data) in kept {
        let path = match &top {
            Some(top) => path[top.len() + 1..].to_owned(),
            None => path,
        };
        if paths::ignored(&path) {
            continue;
        }
        if files.contains_key(&path) {
            return Err(WorkspaceError::InvalidPath {
                path,
                reason: "twice in the import".to_owned(),
            });
        }
        files.insert(path, data);
    }
    let config = files
        .get(DBT_PROJECT)
        .ok_or_else(|| WorkspaceError::InvalidProject {
            message: "dbt_project.yml: missing: a dbt project has it at its root (or in the one \
                  folder the archive holds)"
                .to_owned(),
        })?;
    let layout = Layout::parse(&String::from_utf8_lossy(config)).map_err(|detail| {
        WorkspaceError::InvalidProject {
            message: format!("dbt_project.yml: {detail}"),
        }
    })?;
    let mut texts = BTreeMap::new();
    for (path, data) in files {
        paths::check_project_path(&path, &layout)?;
        let text =
            String::from_utf8(data).map_err(|_| WorkspaceError::NotText { path: path.clone() })?;
        texts.insert(path, text);
    }
    check_dependencies(&texts)?;
    check_parses(&texts)?;
    Ok(texts)
}

/// The one folder every file sits in, if it holds `dbt_project.yml` and the root does
/// not.
fn single_top_folder(files: &[(String, Vec<u8>)]) -> Option<String> {
    let tops: BTreeSet<&str> = files
        .iter()
        .map(|(path, _)| path.split_once('/').map_or("", |(top, _)| top))
        .collect();
    let top = match tops.into_iter().collect::<Vec<_>>().as_slice() {
        [top] if !top.is_empty() => (*top).to_owned(),
        _ => return None,
    };
    let config = format!("{top}/{DBT_PROJECT}");
    files.iter().any(|(path, _)| *path == config).then_some(top)
}

/// Refuses `packages.yml` and `dependencies.yml` that list packages or projects: the
/// engine installs none (`dbt deps`).
fn check_dependencies(files: &BTreeMap<String, String>) -> Result<(), WorkspaceError> {
    for name in ["packages.yml", "dependencies.yml"] {
        let Some(text) = files.get(name) else {
            continue;
        };
        let value: Value =
            serde_yaml_ng::from_str(text).map_err(|err| WorkspaceError::InvalidProject {
                message: format!("{name}: {err}"),
            })?;
        for key in ["packages", "projects"] {
            let listed = match value.get(key) {
                Some(Value::Sequence(items)) => items.len(),
                Some(Value::Null) | None => 0,
                Some(_) => 1,
            };
            if listed > 0 {
                let what = if key == "packages" {
                    "dbt packages"
                } else {
                    "project dependencies"
                };
                return Err(WorkspaceError::Unsupported {
                    path: name.to_owned(),
                    feature: format!(
                        "{what} ({listed} listed under `{key}:`, installed by dbt deps)"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The Silver pipelines and the dbt project must parse; a materialization the engine
/// does not run is refused as unsupported.
fn check_parses(files: &BTreeMap<String, String>) -> Result<(), WorkspaceError> {
    let silver = format!("{SILVER}/");
    for (path, text) in files {
        let pipeline = path.strip_prefix(&silver).is_some_and(|name| {
            !name.contains('/') && matches!(paths::extension(name), "yml" | "yaml")
        });
        if pipeline {
            Pipeline::parse(path, text).map_err(|err| WorkspaceError::InvalidProject {
                message: err.to_string(),
            })?;
        }
    }
    let dbt: Vec<(String, String)> = files
        .iter()
        .filter(|(path, _)| !path.starts_with(&silver))
        .map(|(path, text)| (path.clone(), text.clone()))
        .collect();
    match Project::parse(&dbt, &BTreeMap::new()) {
        Ok(_) => Ok(()),
        Err(ModelError::Config { path, detail, .. }) if detail.starts_with("materialized ") => {
            let value = detail.split('"').nth(1).unwrap_or("?");
            Err(WorkspaceError::Unsupported {
                path,
                feature: format!(
                    "the materialization {value:?} (the engine runs view, table, ephemeral \
                     and incremental)"
                ),
            })
        }
        Err(err) => Err(WorkspaceError::InvalidProject {
            message: err.to_string(),
        }),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn a_folder_with_too_many_bytes_is_refused_by_the_file_that_passes_the_total() {
        let limits = Limits {
            files: 3,
            file_bytes: 10,
            total_bytes: 12,
            ratio: 100,
            ratio_floor: 1 << 20,
        };
        let files = vec![
            ("p/models/a.sql".to_owned(), vec![b'x'; 7]),
            ("p/models/b.sql".to_owned(), vec![b'x'; 7]),
        ];
        let err = check_sizes_within(&files, &limits).unwrap_err();
        assert!(
            matches!(&err, WorkspaceError::TooLarge { path, .. } if path == "p/models/b.sql"),
            "{err}"
        );
        let many = vec![("a".to_owned(), Vec::new()); 4];
        let err = check_sizes_within(&many, &limits).unwrap_err();
        assert!(err.to_string().starts_with("the folder: 4 files"), "{err}");
    }
}
