//! Project paths: which are valid, which folders belong to the project, and what kind
//! of file a path holds.

use serde::Deserialize;

use super::{FileKind, WorkspaceError};

/// The file that says a project is a dbt project.
pub(super) const DBT_PROJECT: &str = "dbt_project.yml";

/// The folder of the Silver pipelines, which dbt does not read.
pub(super) const SILVER: &str = "silver";

/// Top folders that dbt writes or downloads into: never part of the project's files.
const GENERATED: [&str; 5] = ["target", "logs", "dbt_packages", "dbt_modules", "__MACOSX"];

/// Extensions of the files a project's folders hold.
const FOLDER_EXTENSIONS: [&str; 6] = ["sql", "yml", "yaml", "csv", "md", "txt"];

/// The folders of a project, as `dbt_project.yml` names them (dbt's defaults otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    model: Vec<String>,
    snapshot: Vec<String>,
    macros: Vec<String>,
    test: Vec<String>,
    seed: Vec<String>,
    analysis: Vec<String>,
    docs: Vec<String>,
}

/// The keys of `dbt_project.yml` that name folders.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Paths {
    model_paths: Option<Vec<String>>,
    snapshot_paths: Option<Vec<String>>,
    macro_paths: Option<Vec<String>>,
    test_paths: Option<Vec<String>>,
    seed_paths: Option<Vec<String>>,
    analysis_paths: Option<Vec<String>>,
    docs_paths: Option<Vec<String>>,
}

impl Layout {
    /// The folders `dbt_project.yml` names; a missing or broken file gives dbt's
    /// defaults (listing must work while a user is half-way through an edit).
    pub(super) fn lenient(config: Option<&str>) -> Self {
        config
            .and_then(|text| Self::parse(text).ok())
            .unwrap_or_else(|| Self::from_paths(None))
    }

    /// The folders of `dbt_project.yml`'s text, or why it cannot be read.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let paths: Paths = serde_yaml_ng::from_str(text).map_err(|err| err.to_string())?;
        Ok(Self::from_paths(Some(paths)))
    }

    fn from_paths(paths: Option<Paths>) -> Self {
        let paths = paths.unwrap_or(Paths {
            model_paths: None,
            snapshot_paths: None,
            macro_paths: None,
            test_paths: None,
            seed_paths: None,
            analysis_paths: None,
            docs_paths: None,
        });
        let folders = |given: Option<Vec<String>>, default: &str| -> Vec<String> {
            given
                .unwrap_or_else(|| vec![default.to_owned()])
                .iter()
                .map(|folder| folder.trim_start_matches("./").trim_matches('/').to_owned())
                .filter(|folder| !folder.is_empty() && folder != ".")
                .collect()
        };
        Self {
            model: folders(paths.model_paths, "models"),
            snapshot: folders(paths.snapshot_paths, "snapshots"),
            macros: folders(paths.macro_paths, "macros"),
            test: folders(paths.test_paths, "tests"),
            seed: folders(paths.seed_paths, "seeds"),
            analysis: folders(paths.analysis_paths, "analyses"),
            docs: paths
                .docs_paths
                .map_or_else(Vec::new, |docs| folders(Some(docs), "")),
        }
    }

    /// Every folder of the project, the Silver pipelines' included.
    fn folders(&self) -> impl Iterator<Item = &str> {
        [
            &self.model,
            &self.snapshot,
            &self.macros,
            &self.test,
            &self.seed,
            &self.analysis,
            &self.docs,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .chain([SILVER])
    }

    /// Whether `path` is at the project's root or in one of its folders.
    pub(super) fn holds(&self, path: &str) -> bool {
        !path.contains('/') || self.folders().any(|folder| under(path, folder))
    }

    /// Whether `path` is in one of the model folders.
    pub(super) fn is_model_path(&self, path: &str) -> bool {
        self.model.iter().any(|folder| under(path, folder))
    }

    /// What `path` (with `text`) is to dbt.
    pub(super) fn kind(&self, path: &str, text: &str) -> FileKind {
        let in_any = |folders: &[String]| folders.iter().any(|folder| under(path, folder));
        let extension = extension(path);
        let yaml = matches!(extension, "yml" | "yaml");
        match path {
            DBT_PROJECT | "packages.yml" | "dependencies.yml" | "selectors.yml" => {
                return FileKind::ProjectConfig
            }
            _ => {}
        }
        if yaml && under(path, SILVER) && path.matches('/').count() == 1 {
            return FileKind::SilverPipeline;
        }
        if extension == "md" {
            return FileKind::Docs;
        }
        if in_any(&self.snapshot) {
            if extension == "sql" || (yaml && defines_snapshots(text)) {
                return FileKind::Snapshot;
            }
            if yaml {
                return FileKind::Properties;
            }
        }
        if in_any(&self.seed) {
            if extension == "csv" {
                return FileKind::Seed;
            }
            if yaml {
                return FileKind::Properties;
            }
        }
        let folders: [(&[String], FileKind); 4] = [
            (&self.model, FileKind::Model),
            (&self.macros, FileKind::Macro),
            (&self.test, FileKind::Test),
            (&self.analysis, FileKind::Analysis),
        ];
        for (folders, kind) in folders {
            if in_any(folders) {
                if extension == "sql" {
                    return kind;
                }
                if yaml {
                    return FileKind::Properties;
                }
            }
        }
        FileKind::Other
    }
}

/// Whether `path` is inside `folder`.
fn under(path: &str, folder: &str) -> bool {
    path.strip_prefix(folder)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// A YAML file in a snapshot folder that declares snapshots (dbt 1.9's YAML
/// snapshots) rather than describing them.
fn defines_snapshots(text: &str) -> bool {
    text.lines().any(|line| line.starts_with("snapshots:"))
        && text
            .lines()
            .any(|line| line.trim_start().starts_with("relation:"))
}

/// The part of the file name after its last dot, or "".
pub(super) fn extension(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => extension,
        _ => "",
    }
}

/// Whether a project file of this name may hold this extension: any text file in the
/// root, the project's text formats in its folders.
pub(super) fn allowed_extension(path: &str) -> bool {
    let extension = extension(path);
    if path.contains('/') {
        FOLDER_EXTENSIONS.contains(&extension)
    } else {
        extension.is_empty() || FOLDER_EXTENSIONS.contains(&extension)
    }
}

/// Whether a path is one a project never holds as its own file: hidden files and
/// folders (`.git/`, `.medallion/`), and what dbt generates (`target/`, `logs/`,
/// `dbt_packages/`).
pub(super) fn ignored(path: &str) -> bool {
    let top = path.split('/').next().unwrap_or_default();
    GENERATED.contains(&top) || path.split('/').any(|segment| segment.starts_with('.'))
}

/// Checks the form of a project path: relative, `/`-separated, with no empty, `.` or
/// `..` segments, no backslash and no control character.
pub(super) fn check_form(path: &str) -> Result<(), WorkspaceError> {
    let invalid = |reason: &str| {
        Err(WorkspaceError::InvalidPath {
            path: path.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if path.is_empty() {
        return invalid("the path is empty");
    }
    let drive = path.as_bytes().get(1) == Some(&b':');
    if path.starts_with('/') || drive {
        return invalid("an absolute path: project paths are relative to the project's root");
    }
    if path.contains('\\') {
        return invalid("a backslash: project paths use '/'");
    }
    if path.chars().any(char::is_control) {
        return invalid("a control character");
    }
    for segment in path.split('/') {
        match segment {
            "" => return invalid("an empty folder name"),
            ".." => return invalid("'..' leads outside the project"),
            "." => return invalid("a '.' folder"),
            _ => {}
        }
    }
    if path.len() > 1024 {
        return invalid("longer than 1024 bytes");
    }
    Ok(())
}

/// Checks the form of a path to a file the project may hold: not hidden, not generated.
pub(super) fn check_file(path: &str) -> Result<(), WorkspaceError> {
    check_form(path)?;
    if ignored(path) {
        return Err(WorkspaceError::InvalidPath {
            path: path.to_owned(),
            reason: "hidden files and dbt's generated folders (target/, logs/, dbt_packages/) \
                     are not project files"
                .to_owned(),
        });
    }
    Ok(())
}

/// Checks that `path` can be a file of the project laid out as `layout`: its form, not
/// hidden or generated, at the root or in one of the project's folders, of a type the
/// project holds (Python models are refused by name).
pub(super) fn check_project_path(path: &str, layout: &Layout) -> Result<(), WorkspaceError> {
    check_file(path)?;
    let invalid = |reason: &str| WorkspaceError::InvalidPath {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if extension(path) == "py" {
        let feature = if layout.is_model_path(path) {
            "a Python model"
        } else {
            "a Python file"
        };
        return Err(WorkspaceError::Unsupported {
            path: path.to_owned(),
            feature: feature.to_owned(),
        });
    }
    if !layout.holds(path) {
        return Err(invalid(
            "outside the project's folders (those dbt_project.yml names, and silver/)",
        ));
    }
    if !allowed_extension(path) {
        let feature = match extension(path) {
            "" => "a file without an extension in the project's folders".to_owned(),
            other => format!("a .{other} file"),
        };
        return Err(WorkspaceError::Unsupported {
            path: path.to_owned(),
            feature,
        });
    }
    Ok(())
}
