//! The project a user edits: the dbt project and the Silver pipelines, as files in a
//! store.
//!
//! In the browser the project lives in OPFS under `project/`
//! ([`crate::warehouse::PROJECT`]), copied from the bundled project on first use: a
//! marker object (`project/.medallion/bundled`) written after the last file says the
//! copy finished, and a copy that was interrupted is done again from the start.
//! Natively the project is the `--project` folder itself ([`Workspace::folder`]),
//! never copied.
//!
//! Paths are relative to the project's root, with `/`. Every file is UTF-8 text.
//! [`Workspace::tree`] tells each file's kind and whether it differs from the bundled
//! project; [`Workspace::revert`] and [`Workspace::diff`] compare with it. A project
//! leaves as a zip that real dbt runs unchanged ([`Workspace::export_zip`]) and comes in
//! as one or as a picked folder's files ([`Workspace::import_zip`],
//! [`Workspace::import_files`]), all or nothing, with every path, size and feature
//! checked first.

mod archive;
mod import;
mod paths;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::storage::{Storage, StorageError};
use crate::warehouse;

use paths::{Layout, DBT_PROJECT};

/// Where the store says the bundled project was copied in full, under the prefix.
const BUNDLED_MARKER: &str = ".medallion/bundled";

/// A project's files in a store: the browser's copy of the bundled project, or a
/// project folder as it is.
#[derive(Clone, Debug)]
pub struct Workspace {
    storage: Arc<dyn Storage>,
    /// Where the project's files are in the store: `project/`, or "" for a folder.
    prefix: String,
    /// The bundled project (path, text) the store's copy started from; none for a
    /// folder.
    bundled: Option<Arc<BTreeMap<String, String>>>,
}

/// One file of the project, as the file tree shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectFile {
    /// Path from the project's root.
    pub path: String,
    /// What the file is to dbt.
    pub kind: FileKind,
    /// How it differs from the bundled project.
    pub status: FileStatus,
    /// Its size (a deleted bundled file: the bundled size).
    pub bytes: u64,
}

/// What a file is to dbt (or to Silver).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// `dbt_project.yml`, `packages.yml`, `dependencies.yml`, `selectors.yml`.
    ProjectConfig,
    /// A SQL model.
    Model,
    /// A snapshot: SQL, or YAML declaring snapshots.
    Snapshot,
    /// A file of macros.
    Macro,
    /// A singular data test.
    Test,
    /// A seed's CSV.
    Seed,
    /// An analysis: compiled, never run.
    Analysis,
    /// YAML properties: sources, docs, configs, generic tests.
    Properties,
    /// Markdown, where `{% docs %}` blocks live.
    Docs,
    /// A Silver pipeline, `silver/<entity>.yml`.
    SilverPipeline,
    /// Anything else (`README.md` at the root is docs; a `LICENSE` is this).
    Other,
}

/// How a file differs from the bundled project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// As bundled (and every file of a project folder, which has no bundled version).
    Unchanged,
    /// A bundled file with other text.
    Modified,
    /// Not in the bundled project.
    Added,
    /// A bundled file the user deleted.
    Deleted,
}

/// A file's lines against its bundled version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDiff {
    /// The file.
    pub path: String,
    /// Every line of both versions, in order.
    pub lines: Vec<DiffLine>,
    /// Lines only in the current version.
    pub added: usize,
    /// Lines only in the bundled version.
    pub removed: usize,
}

/// One line of a [`FileDiff`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffLine {
    /// In both versions, or only one.
    pub kind: DiffKind,
    /// Its 1-based number in the bundled version, if it is there.
    pub old_line: Option<usize>,
    /// Its 1-based number in the current version, if it is there.
    pub new_line: Option<usize>,
    /// The line, without its line break.
    pub text: String,
}

/// Where a diff line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// In both versions.
    Same,
    /// Only in the current version.
    Added,
    /// Only in the bundled version.
    Removed,
}

/// What an import brought in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Files now in the project.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Why a project operation failed. Every message names the file (or the archive).
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// A path a project cannot hold.
    #[error("{path}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No such file.
    #[error("{path}: no such file in the project")]
    NotFound {
        /// The file.
        path: String,
    },
    /// The file to create is already there.
    #[error("{path}: a file of this name is already in the project")]
    Exists {
        /// The file.
        path: String,
    },
    /// A file that is not UTF-8 text.
    #[error("{path}: not UTF-8 text (project files are UTF-8 text)")]
    NotText {
        /// The file.
        path: String,
    },
    /// An archive or a folder too large, or with too many files.
    #[error("{path}: {detail}: refused")]
    TooLarge {
        /// The file that went over the limit (or the archive).
        path: String,
        /// Which limit.
        detail: String,
    },
    /// A file that expands far more than text does: refused as a zip bomb.
    #[error(
        "{path}: expands {ratio}× ({size} bytes from {compressed}), more than a text file \
         does: refused as a zip bomb"
    )]
    ZipBomb {
        /// The file in the archive.
        path: String,
        /// Its size.
        size: u64,
        /// Its compressed size.
        compressed: u64,
        /// How many times it expands.
        ratio: u64,
    },
    /// A dbt feature the engine does not run (`feature`: "a Python model").
    #[error("{path}: {feature} is not supported by this engine")]
    Unsupported {
        /// The file that uses it.
        path: String,
        /// The feature.
        feature: String,
    },
    /// The files do not make a project the engine can read.
    #[error("{message}")]
    InvalidProject {
        /// What is wrong, naming the file.
        message: String,
    },
    /// The archive cannot be read as a zip.
    #[error("{name}: not a zip archive that can be read: {message}")]
    Zip {
        /// The archive, or the file in it.
        name: String,
        /// What the zip reader said.
        message: String,
    },
    /// Reverting or diffing a project folder, which has no bundled version.
    #[error("{path}: a project folder has no bundled version to compare with")]
    NoBundledVersion {
        /// The file.
        path: String,
    },
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Workspace {
    /// The browser's (and tests'): the files under `project/` of `storage`, copied from
    /// `bundled` (path, text) on first use.
    pub fn in_store(storage: Arc<dyn Storage>, bundled: Vec<(String, String)>) -> Self {
        Self {
            storage,
            prefix: warehouse::PROJECT.to_owned(),
            bundled: Some(Arc::new(bundled.into_iter().collect())),
        }
    }

    /// A project folder's files as they are: `storage` is rooted at the folder. It has
    /// no bundled version: every file is [`FileStatus::Unchanged`].
    pub fn folder(storage: Arc<dyn Storage>) -> Self {
        Self {
            storage,
            prefix: String::new(),
            bundled: None,
        }
    }

    /// The bundled project: [`crate::models::BUNDLED`] and the Silver pipelines as
    /// `silver/<entity>.yml`.
    pub fn bundled_files() -> Vec<(String, String)> {
        let dbt = crate::models::BUNDLED
            .iter()
            .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()));
        let silver = crate::silver::BUNDLED.iter().map(|(path, text)| {
            let path = path.strip_prefix("models/").unwrap_or(path);
            (path.to_owned(), (*text).to_owned())
        });
        let mut files: Vec<_> = dbt.chain(silver).collect();
        files.sort();
        files
    }

    /// Every file of the project (path, text), sorted by path.
    pub async fn files(&self) -> Result<Vec<(String, String)>, WorkspaceError> {
        Ok(self.read_all().await?.into_iter().collect())
    }

    /// Every file with its kind and status, and the bundled files the user deleted,
    /// sorted by path.
    pub async fn tree(&self) -> Result<Vec<ProjectFile>, WorkspaceError> {
        let files = self.read_all().await?;
        let layout = Layout::lenient(files.get(DBT_PROJECT).map(String::as_str));
        let mut tree: Vec<ProjectFile> = files
            .iter()
            .map(|(path, text)| {
                let status = match self.bundled.as_ref().map(|bundled| bundled.get(path)) {
                    None => FileStatus::Unchanged,
                    Some(None) => FileStatus::Added,
                    Some(Some(bundled)) if bundled == text => FileStatus::Unchanged,
                    Some(Some(_)) => FileStatus::Modified,
                };
                ProjectFile {
                    path: path.clone(),
                    kind: layout.kind(path, text),
                    status,
                    bytes: text.len() as u64,
                }
            })
            .collect();
        if let Some(bundled) = &self.bundled {
            for (path, text) in bundled.iter() {
                if !files.contains_key(path) {
                    tree.push(ProjectFile {
                        path: path.clone(),
                        kind: layout.kind(path, text),
                        status: FileStatus::Deleted,
                        bytes: text.len() as u64,
                    });
                }
            }
        }
        tree.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(tree)
    }

    /// The text of one file.
    pub async fn read(&self, path: &str) -> Result<String, WorkspaceError> {
        paths::check_file(path)?;
        self.ensure_copied().await?;
        self.read_text(path).await
    }

    /// Writes a file, creating it or replacing its text.
    pub async fn write(&self, path: &str, text: &str) -> Result<(), WorkspaceError> {
        self.check_new_path(path).await?;
        self.put(path, text).await
    }

    /// Creates a file; fails with [`WorkspaceError::Exists`] if it is there.
    pub async fn create(&self, path: &str, text: &str) -> Result<(), WorkspaceError> {
        self.check_new_path(path).await?;
        match self
            .storage
            .put_if_absent(&self.key(path), Bytes::copy_from_slice(text.as_bytes()))
            .await
        {
            Err(StorageError::AlreadyExists { .. }) => Err(WorkspaceError::Exists {
                path: path.to_owned(),
            }),
            other => Ok(other?),
        }
    }

    /// Deletes a file.
    pub async fn delete(&self, path: &str) -> Result<(), WorkspaceError> {
        paths::check_file(path)?;
        self.ensure_copied().await?;
        self.head(path).await?;
        Ok(self.storage.delete(&self.key(path)).await?)
    }

    /// Renames a file; fails with [`WorkspaceError::Exists`] if `to` is there.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), WorkspaceError> {
        paths::check_file(from)?;
        self.check_new_path(to).await?;
        let text = self.read_text(from).await?;
        if from == to {
            return Ok(());
        }
        match self
            .storage
            .put_if_absent(&self.key(to), Bytes::from(text.into_bytes()))
            .await
        {
            Err(StorageError::AlreadyExists { .. }) => {
                return Err(WorkspaceError::Exists {
                    path: to.to_owned(),
                })
            }
            other => other?,
        }
        Ok(self.storage.delete(&self.key(from)).await?)
    }

    /// Reverts a file to the bundled project: a bundled file gets its bundled text back
    /// (deleted or not), a file the user added is deleted.
    pub async fn revert(&self, path: &str) -> Result<(), WorkspaceError> {
        paths::check_file(path)?;
        let bundled = self.bundled(path)?;
        self.ensure_copied().await?;
        match bundled.get(path) {
            Some(text) => self.put(path, text).await,
            None => self.delete(path).await,
        }
    }

    /// Reverts the whole project to the bundled one: the copy is made again.
    pub async fn revert_all(&self) -> Result<(), WorkspaceError> {
        self.bundled(DBT_PROJECT)?;
        self.storage.delete(&self.key(BUNDLED_MARKER)).await?;
        self.ensure_copied().await
    }

    /// A file's lines against its bundled version (all added if it is not bundled, all
    /// removed if the user deleted it).
    pub async fn diff(&self, path: &str) -> Result<FileDiff, WorkspaceError> {
        paths::check_file(path)?;
        let bundled = self.bundled(path)?;
        self.ensure_copied().await?;
        let current = match self.read_text(path).await {
            Ok(text) => Some(text),
            Err(WorkspaceError::NotFound { .. }) => None,
            Err(err) => return Err(err),
        };
        let old = bundled.get(path);
        if old.is_none() && current.is_none() {
            return Err(WorkspaceError::NotFound {
                path: path.to_owned(),
            });
        }
        Ok(diff_lines(
            path,
            old.map_or("", String::as_str),
            current.as_deref().unwrap_or(""),
        ))
    }

    /// The project as a zip archive that real dbt runs unchanged once unzipped: every
    /// file at its path from the zip's root.
    pub async fn export_zip(&self) -> Result<Vec<u8>, WorkspaceError> {
        archive::write_zip(&self.files().await?)
    }

    /// Replaces the project with a zip archive's: all or nothing. Every path, size and
    /// feature is checked and the project parsed before the old project is touched.
    pub async fn import_zip(&self, bytes: &[u8]) -> Result<ImportReport, WorkspaceError> {
        let entries = archive::read_zip(bytes)?;
        self.replace(import::check(entries)?).await
    }

    /// Replaces the project with a picked folder's files (path from the folder, or from
    /// its parent, and bytes): all or nothing, checked as [`Workspace::import_zip`].
    pub async fn import_files(
        &self,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<ImportReport, WorkspaceError> {
        import::check_sizes(&files)?;
        self.replace(import::check(files)?).await
    }

    /// Puts checked files in place of the project's. In the store the copy marker goes
    /// first and comes back last, so an interrupted import leaves the bundled project
    /// (copied again on next use), never a mix.
    async fn replace(
        &self,
        files: BTreeMap<String, String>,
    ) -> Result<ImportReport, WorkspaceError> {
        let old = self.paths().await?;
        if self.bundled.is_some() {
            self.storage.delete(&self.key(BUNDLED_MARKER)).await?;
        }
        for path in old.iter().filter(|path| !files.contains_key(*path)) {
            self.storage.delete(&self.key(path)).await?;
        }
        for (path, text) in &files {
            self.put(path, text).await?;
        }
        if self.bundled.is_some() {
            self.storage
                .put(&self.key(BUNDLED_MARKER), Bytes::new())
                .await?;
        }
        Ok(ImportReport {
            files: files.len(),
            bytes: files.values().map(|text| text.len() as u64).sum(),
        })
    }

    /// The bundled project, or why there is none to compare `path` with.
    fn bundled(&self, path: &str) -> Result<&BTreeMap<String, String>, WorkspaceError> {
        self.bundled
            .as_deref()
            .ok_or_else(|| WorkspaceError::NoBundledVersion {
                path: path.to_owned(),
            })
    }

    /// The store's key of a project path.
    fn key(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// Copies the bundled project into the store unless a finished copy is there. An
    /// unfinished copy's files are deleted first, then every file is written, then the
    /// marker.
    async fn ensure_copied(&self) -> Result<(), WorkspaceError> {
        let Some(bundled) = &self.bundled else {
            return Ok(());
        };
        match self.storage.head(&self.key(BUNDLED_MARKER)).await {
            Ok(_) => return Ok(()),
            Err(StorageError::NotFound { .. }) => {}
            Err(err) => return Err(err.into()),
        }
        for object in self.storage.list(&self.prefix).await? {
            self.storage.delete(&object.path).await?;
        }
        for (path, text) in bundled.iter() {
            self.put(path, text).await?;
        }
        self.storage
            .put(&self.key(BUNDLED_MARKER), Bytes::new())
            .await?;
        Ok(())
    }

    /// The project's paths in the store, unsorted, without reading the files: not
    /// hidden, not generated, and for a folder only at the root or in the project's
    /// folders.
    pub async fn paths(&self) -> Result<Vec<String>, WorkspaceError> {
        self.ensure_copied().await?;
        let mut paths: Vec<String> = self
            .storage
            .list(&self.prefix)
            .await?
            .into_iter()
            .map(|object| object.path[self.prefix.len()..].to_owned())
            .filter(|path| !paths::ignored(path))
            .collect();
        if self.bundled.is_none() {
            let config = match self.read_text(DBT_PROJECT).await {
                Ok(text) => Some(text),
                Err(WorkspaceError::NotFound { .. }) => None,
                Err(err) => return Err(err),
            };
            let layout = Layout::lenient(config.as_deref());
            paths.retain(|path| layout.holds(path) && paths::allowed_extension(path));
        }
        Ok(paths)
    }

    /// Every file's text, by path.
    async fn read_all(&self) -> Result<BTreeMap<String, String>, WorkspaceError> {
        let mut files = BTreeMap::new();
        for path in self.paths().await? {
            let text = self.read_text(&path).await?;
            files.insert(path, text);
        }
        Ok(files)
    }

    /// One file's text from the store.
    async fn read_text(&self, path: &str) -> Result<String, WorkspaceError> {
        let bytes = match self.storage.get(&self.key(path)).await {
            Err(StorageError::NotFound { .. }) => {
                return Err(WorkspaceError::NotFound {
                    path: path.to_owned(),
                })
            }
            other => other?,
        };
        String::from_utf8(bytes.to_vec()).map_err(|_| WorkspaceError::NotText {
            path: path.to_owned(),
        })
    }

    /// Fails with [`WorkspaceError::NotFound`] unless the file is there.
    async fn head(&self, path: &str) -> Result<(), WorkspaceError> {
        match self.storage.head(&self.key(path)).await {
            Err(StorageError::NotFound { .. }) => Err(WorkspaceError::NotFound {
                path: path.to_owned(),
            }),
            other => Ok(other.map(|_| ())?),
        }
    }

    /// Writes one file's text.
    async fn put(&self, path: &str, text: &str) -> Result<(), WorkspaceError> {
        Ok(self
            .storage
            .put(&self.key(path), Bytes::copy_from_slice(text.as_bytes()))
            .await?)
    }

    /// Checks that `path` can be written in the project as it is laid out now.
    async fn check_new_path(&self, path: &str) -> Result<(), WorkspaceError> {
        paths::check_form(path)?;
        self.ensure_copied().await?;
        let config = match self.read_text(DBT_PROJECT).await {
            Ok(text) => Some(text),
            Err(WorkspaceError::NotFound { .. }) => None,
            Err(err) => return Err(err),
        };
        paths::check_project_path(path, &Layout::lenient(config.as_deref()))
    }
}

/// The lines of `old` and `new`, in order, each marked as in both or one.
fn diff_lines(path: &str, old: &str, new: &str) -> FileDiff {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        let kind = match change.tag() {
            similar::ChangeTag::Equal => DiffKind::Same,
            similar::ChangeTag::Insert => {
                added += 1;
                DiffKind::Added
            }
            similar::ChangeTag::Delete => {
                removed += 1;
                DiffKind::Removed
            }
        };
        let text = change.value();
        lines.push(DiffLine {
            kind,
            old_line: change.old_index().map(|index| index + 1),
            new_line: change.new_index().map(|index| index + 1),
            text: text
                .strip_suffix('\n')
                .map(|line| line.strip_suffix('\r').unwrap_or(line))
                .unwrap_or(text)
                .to_owned(),
        });
    }
    FileDiff {
        path: path.to_owned(),
        lines,
        added,
        removed,
    }
}
