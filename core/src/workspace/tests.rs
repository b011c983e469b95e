//! The workspace's operations on an in-memory store, and imports refused by name.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::*;
use crate::storage::MemoryStorage;
use crate::testing::FailingStorage;

const FACT_TRIPS: &str = "models/marts/fact_trips.sql";
const DIM_DATE: &str = "models/marts/dim_date.sql";

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(future)
}

fn store() -> Arc<dyn Storage> {
    Arc::new(MemoryStorage::new())
}

fn bundled_workspace() -> (Arc<dyn Storage>, Workspace) {
    let storage = store();
    let workspace = Workspace::in_store(storage.clone(), Workspace::bundled_files());
    (storage, workspace)
}

fn status(tree: &[ProjectFile], path: &str) -> Option<FileStatus> {
    tree.iter()
        .find(|file| file.path == path)
        .map(|file| file.status)
}

/// A zip of `entries`, each compressed with `method`.
fn zip_of(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        writer
            .start_file(
                *name,
                SimpleFileOptions::default().compression_method(method),
            )
            .expect("start");
        writer.write_all(data).expect("write");
    }
    writer.finish().expect("finish").into_inner()
}

/// The bundled project as zip entries, with `extra` added (or replacing a file).
fn bundled_zip(extra: &[(&str, &str)]) -> Vec<u8> {
    let mut files: BTreeMap<String, String> = Workspace::bundled_files().into_iter().collect();
    for (path, text) in extra {
        files.insert((*path).to_owned(), (*text).to_owned());
    }
    let entries: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_bytes()))
        .collect();
    zip_of(&entries, CompressionMethod::Deflated)
}

#[test]
fn the_bundled_project_is_copied_on_first_use_and_an_interrupted_copy_is_redone() {
    block_on(async {
        let storage = store();
        // A copy that stopped half-way: some files, no marker, and a stray file.
        storage
            .put("project/dbt_project.yml", Bytes::from_static(b"half"))
            .await
            .expect("put");
        storage
            .put("project/models/stray.sql", Bytes::from_static(b"select 1"))
            .await
            .expect("put");
        let failing: Arc<dyn Storage> = Arc::new(FailingStorage::new(storage.clone(), 6, 0));
        let err = Workspace::in_store(failing, Workspace::bundled_files())
            .files()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
        assert!(storage.head("project/.medallion/bundled").await.is_err());

        let workspace = Workspace::in_store(storage.clone(), Workspace::bundled_files());
        assert_eq!(
            workspace.files().await.expect("files"),
            Workspace::bundled_files()
        );
        assert!(storage.head("project/.medallion/bundled").await.is_ok());
        let tree = workspace.tree().await.expect("tree");
        assert!(tree.iter().all(|file| file.status == FileStatus::Unchanged));
        let kind = |path: &str| tree.iter().find(|f| f.path == path).map(|f| f.kind);
        assert_eq!(kind("dbt_project.yml"), Some(FileKind::ProjectConfig));
        assert_eq!(kind(FACT_TRIPS), Some(FileKind::Model));
        assert_eq!(kind("models/marts/_marts.yml"), Some(FileKind::Properties));
        assert_eq!(
            kind("snapshots/customers_snapshot.yml"),
            Some(FileKind::Snapshot)
        );
        assert_eq!(
            kind("snapshots/drivers_snapshot.sql"),
            Some(FileKind::Snapshot)
        );
        assert_eq!(
            kind("macros/generate_surrogate_key.sql"),
            Some(FileKind::Macro)
        );
        assert_eq!(
            kind("tests/assert_one_current_version_per_customer.sql"),
            Some(FileKind::Test)
        );
        assert_eq!(kind("silver/trips.yml"), Some(FileKind::SilverPipeline));

        // A user's edit survives a new handle: the copy is not made again.
        workspace
            .write(FACT_TRIPS, "select 1 as x\n")
            .await
            .expect("write");
        let again = Workspace::in_store(storage, Workspace::bundled_files());
        assert_eq!(
            again.read(FACT_TRIPS).await.expect("read"),
            "select 1 as x\n"
        );
    });
}

#[test]
fn edits_have_a_status_a_diff_against_the_bundled_file_and_revert() {
    block_on(async {
        let (_, workspace) = bundled_workspace();
        let bundled = workspace.read(FACT_TRIPS).await.expect("read");
        let edited = bundled.replacen(
            "\nselect\n",
            "\nselect\n    fare_amount * 2 as double_fare,\n",
            1,
        );
        assert_ne!(edited, bundled);
        workspace.write(FACT_TRIPS, &edited).await.expect("save");
        let added = "models/marts/my_model.sql";
        workspace
            .create(added, "select * from {{ ref('fact_trips') }}\n")
            .await
            .expect("create");
        let err = workspace.create(added, "again").await.unwrap_err();
        assert!(
            matches!(&err, WorkspaceError::Exists { path } if path == added),
            "{err}"
        );
        workspace.delete(DIM_DATE).await.expect("delete");
        let err = workspace.delete(DIM_DATE).await.unwrap_err();
        assert!(matches!(err, WorkspaceError::NotFound { .. }), "{err}");
        assert!(matches!(
            workspace.read(DIM_DATE).await,
            Err(WorkspaceError::NotFound { .. })
        ));

        let tree = workspace.tree().await.expect("tree");
        assert_eq!(status(&tree, FACT_TRIPS), Some(FileStatus::Modified));
        assert_eq!(status(&tree, added), Some(FileStatus::Added));
        assert_eq!(status(&tree, DIM_DATE), Some(FileStatus::Deleted));
        assert_eq!(
            status(&tree, "models/marts/dim_driver.sql"),
            Some(FileStatus::Unchanged)
        );
        let deleted = tree.iter().find(|f| f.path == DIM_DATE).expect("listed");
        let bundled_dim_date = Workspace::bundled_files()
            .into_iter()
            .find(|(path, _)| path == DIM_DATE)
            .expect("bundled")
            .1;
        assert_eq!(deleted.bytes, bundled_dim_date.len() as u64);
        assert!(!workspace
            .files()
            .await
            .expect("files")
            .iter()
            .any(|(path, _)| path == DIM_DATE));

        // The edit is one added line, numbered in the new version only.
        let diff = workspace.diff(FACT_TRIPS).await.expect("diff");
        assert_eq!((diff.added, diff.removed), (1, 0), "{diff:?}");
        let select = bundled
            .lines()
            .position(|line| line == "select")
            .expect("a select line")
            + 1;
        let new_lines: Vec<&DiffLine> = diff
            .lines
            .iter()
            .filter(|line| line.kind == DiffKind::Added)
            .collect();
        assert_eq!(
            new_lines,
            [&DiffLine {
                kind: DiffKind::Added,
                old_line: None,
                new_line: Some(select + 1),
                text: "    fare_amount * 2 as double_fare,".to_owned(),
            }]
        );
        let after = diff
            .lines
            .iter()
            .find(|line| line.old_line == Some(select + 1))
            .expect("the line after");
        assert_eq!(
            (after.kind, after.new_line),
            (DiffKind::Same, Some(select + 2))
        );
        let same = diff
            .lines
            .iter()
            .filter(|line| line.kind == DiffKind::Same)
            .count();
        assert_eq!(same + diff.removed, bundled.lines().count());
        assert_eq!(same + diff.added, edited.lines().count());
        // An added file is all added, a deleted one all removed.
        let diff = workspace.diff(added).await.expect("diff");
        assert_eq!((diff.added, diff.removed), (1, 0));
        let diff = workspace.diff(DIM_DATE).await.expect("diff");
        assert_eq!(
            (diff.added, diff.removed),
            (0, bundled_dim_date.lines().count())
        );
        assert_eq!(diff.lines[0].old_line, Some(1));

        workspace.revert(FACT_TRIPS).await.expect("revert");
        workspace.revert(DIM_DATE).await.expect("revert deleted");
        workspace.revert(added).await.expect("revert added");
        assert_eq!(
            workspace.files().await.expect("files"),
            Workspace::bundled_files()
        );
        let err = workspace.revert("models/nope.sql").await.unwrap_err();
        assert!(matches!(err, WorkspaceError::NotFound { .. }), "{err}");

        workspace.write(FACT_TRIPS, &edited).await.expect("save");
        workspace.delete(DIM_DATE).await.expect("delete");
        workspace.create(added, "select 1").await.expect("create");
        workspace.revert_all().await.expect("revert all");
        assert_eq!(
            workspace.files().await.expect("files"),
            Workspace::bundled_files()
        );
    });
}

#[test]
fn rename_moves_a_file_and_refuses_a_name_in_use() {
    block_on(async {
        let (_, workspace) = bundled_workspace();
        let renamed = "models/marts/fact_rides.sql";
        let text = workspace.read(FACT_TRIPS).await.expect("read");
        workspace.rename(FACT_TRIPS, renamed).await.expect("rename");
        assert_eq!(workspace.read(renamed).await.expect("read"), text);
        let tree = workspace.tree().await.expect("tree");
        assert_eq!(status(&tree, FACT_TRIPS), Some(FileStatus::Deleted));
        assert_eq!(status(&tree, renamed), Some(FileStatus::Added));
        let err = workspace.rename(renamed, DIM_DATE).await.unwrap_err();
        assert!(
            matches!(&err, WorkspaceError::Exists { path } if path == DIM_DATE),
            "{err}"
        );
        let err = workspace
            .rename(FACT_TRIPS, "models/x.sql")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, WorkspaceError::NotFound { path } if path == FACT_TRIPS),
            "{err}"
        );
        let err = workspace.rename(renamed, "../x.sql").await.unwrap_err();
        assert!(matches!(err, WorkspaceError::InvalidPath { .. }), "{err}");
        assert_eq!(workspace.read(renamed).await.expect("still there"), text);
    });
}

#[test]
fn paths_outside_the_project_are_refused_by_name() {
    block_on(async {
        let (storage, workspace) = bundled_workspace();
        for path in [
            "../evil.sql",
            "/etc/passwd",
            "C:/evil.sql",
            "models\\evil.sql",
            "models//evil.sql",
            "models/./evil.sql",
            "",
            "target/compiled/x.sql",
            ".medallion/bundled",
            "models/.hidden.sql",
            "elsewhere/evil.sql",
        ] {
            let err = workspace.write(path, "select 1").await.unwrap_err();
            assert!(
                matches!(&err, WorkspaceError::InvalidPath { path: named, .. } if named == path),
                "{path}: {err}"
            );
            assert!(err.to_string().starts_with(&format!("{path}: ")), "{err}");
        }
        for read in [
            ".medallion/bundled",
            "../dbt_project.yml",
            "target/run_results.json",
        ] {
            let err = workspace.read(read).await.unwrap_err();
            assert!(
                matches!(&err, WorkspaceError::InvalidPath { path, .. } if path == read),
                "{read}: {err}"
            );
        }
        let err = workspace
            .create("models/model.py", "def model(dbt, s): pass")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "models/model.py: a Python model is not supported by this engine"
        );
        let err = workspace.write("models/logo.png", "x").await.unwrap_err();
        assert!(matches!(err, WorkspaceError::Unsupported { .. }), "{err}");
        // Files at the root, and in the folders dbt_project.yml names, are fine.
        workspace.write("README.md", "# hi").await.expect("root");
        workspace
            .write("seeds/countries.csv", "code\nfr\n")
            .await
            .expect("seed");
        let listed = storage.list("project/").await.expect("list");
        assert!(!listed.iter().any(|object| object.path.contains("evil")));
    });
}

#[test]
fn an_export_imports_back_to_the_same_files_in_a_store_or_a_folder() {
    block_on(async {
        let (_, workspace) = bundled_workspace();
        workspace
            .write(FACT_TRIPS, "select 1 as one\n")
            .await
            .expect("save");
        workspace
            .create(
                "models/marts/my_model.sql",
                "select * from {{ ref('fact_trips') }}\n",
            )
            .await
            .expect("create");
        workspace
            .delete("tests/assert_one_current_version_per_customer.sql")
            .await
            .expect("delete");
        let files = workspace.files().await.expect("files");
        let zip = workspace.export_zip().await.expect("export");

        let (_, other) = bundled_workspace();
        let report = other.import_zip(&zip).await.expect("import");
        assert_eq!(other.files().await.expect("files"), files);
        let bytes: u64 = files.iter().map(|(_, text)| text.len() as u64).sum();
        assert_eq!(
            report,
            ImportReport {
                files: files.len(),
                bytes
            }
        );
        let tree = other.tree().await.expect("tree");
        assert_eq!(status(&tree, FACT_TRIPS), Some(FileStatus::Modified));

        // A folder: its generated and hidden files are none of the project's.
        let folder_store = store();
        folder_store
            .put("target/manifest.json", Bytes::from_static(b"{}"))
            .await
            .expect("put");
        folder_store
            .put(".git/HEAD", Bytes::from_static(b"ref"))
            .await
            .expect("put");
        let folder = Workspace::folder(folder_store.clone());
        folder.import_zip(&zip).await.expect("import");
        assert_eq!(folder.files().await.expect("files"), files);
        assert!(folder_store.head("target/manifest.json").await.is_ok());
        let tree = folder.tree().await.expect("tree");
        assert!(tree.iter().all(|file| file.status == FileStatus::Unchanged));
        let err = folder.revert(FACT_TRIPS).await.unwrap_err();
        assert!(
            matches!(err, WorkspaceError::NoBundledVersion { .. }),
            "{err}"
        );
        assert_eq!(folder.export_zip().await.expect("export"), zip);
    });
}

#[test]
fn a_zip_in_one_top_folder_and_a_picked_folder_are_read_from_that_folder() {
    block_on(async {
        let files = Workspace::bundled_files();
        let mut entries: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(path, text)| (format!("shop/{path}"), text.clone().into_bytes()))
            .collect();
        entries.push(("shop/.gitignore".to_owned(), b"target/".to_vec()));
        entries.push(("shop/target/run_results.json".to_owned(), b"{}".to_vec()));
        entries.push(("__MACOSX/shop/._dbt_project.yml".to_owned(), vec![0, 159]));
        let named: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(path, data)| (path.as_str(), data.as_slice()))
            .collect();
        let zip = zip_of(&named, CompressionMethod::Deflated);
        let (_, workspace) = bundled_workspace();
        workspace.write(FACT_TRIPS, "select 2").await.expect("save");
        workspace.import_zip(&zip).await.expect("import");
        assert_eq!(workspace.files().await.expect("files"), files);

        let (_, picked) = bundled_workspace();
        picked.import_files(entries).await.expect("import folder");
        assert_eq!(picked.files().await.expect("files"), files);
    });
}

/// Imports `zip` into an edited workspace, expects it refused, and checks that nothing
/// changed.
async fn refused(zip: &[u8]) -> WorkspaceError {
    let (storage, workspace) = bundled_workspace();
    workspace.write(FACT_TRIPS, "select 3").await.expect("save");
    let before = storage.list("").await.expect("list");
    let tree = workspace.tree().await.expect("tree");
    let err = workspace.import_zip(zip).await.unwrap_err();
    assert_eq!(storage.list("").await.expect("list"), before);
    assert_eq!(workspace.tree().await.expect("tree"), tree);
    err
}

#[test]
fn zip_bombs_and_paths_outside_the_project_are_refused_by_name_and_change_nothing() {
    block_on(async {
        let evil = zip_of(
            &[
                ("dbt_project.yml", b"name: x\n"),
                ("../evil.sql", b"select 1"),
            ],
            CompressionMethod::Deflated,
        );
        let err = refused(&evil).await;
        assert_eq!(
            err.to_string(),
            "../evil.sql: '..' leads outside the project"
        );
        let absolute = zip_of(
            &[("dbt_project.yml", b"name: x\n"), ("/etc/passwd", b"root")],
            CompressionMethod::Deflated,
        );
        let err = refused(&absolute).await;
        assert!(
            err.to_string().starts_with("/etc/passwd: an absolute path"),
            "{err}"
        );
        let outside = bundled_zip(&[("scripts/run.sql", "select 1")]);
        let err = refused(&outside).await;
        assert!(
            err.to_string().starts_with("scripts/run.sql: outside"),
            "{err}"
        );

        // 8 MiB of one byte deflates to a few KiB.
        let spaces = vec![b' '; 8 << 20];
        let bomb = zip_of(
            &[
                ("dbt_project.yml", b"name: x\n"),
                ("models/bomb.sql", &spaces),
            ],
            CompressionMethod::Deflated,
        );
        let err = refused(&bomb).await;
        assert!(
            matches!(&err, WorkspaceError::ZipBomb { path, ratio, .. } if path == "models/bomb.sql" && *ratio > 100),
            "{err}"
        );
        assert!(err.to_string().contains("zip bomb"), "{err}");

        // Five stored files of 15 MiB: each within the limit, the total not.
        let big = vec![b'x'; 15 << 20];
        let names: Vec<String> = (1..=5).map(|n| format!("seeds/big_{n}.csv")).collect();
        let entries: Vec<(&str, &[u8])> = names
            .iter()
            .map(|name| (name.as_str(), big.as_slice()))
            .collect();
        let large = zip_of(&entries, CompressionMethod::Stored);
        let err = refused(&large).await;
        assert!(
            matches!(&err, WorkspaceError::TooLarge { path, .. } if path == "seeds/big_5.csv"),
            "{err}"
        );
        let one_too_big = zip_of(
            &[("seeds/huge.csv", &vec![b'x'; 17 << 20])],
            CompressionMethod::Stored,
        );
        let err = refused(&one_too_big).await;
        assert!(
            err.to_string().starts_with("seeds/huge.csv: more than"),
            "{err}"
        );
    });
}

#[test]
fn unsupported_features_are_refused_naming_the_file_and_the_feature() {
    block_on(async {
        let python = bundled_zip(&[("models/marts/forecast.py", "def model(dbt, session): ...")]);
        assert_eq!(
            refused(&python).await.to_string(),
            "models/marts/forecast.py: a Python model is not supported by this engine"
        );
        let packages = bundled_zip(&[(
            "packages.yml",
            "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n",
        )]);
        let err = refused(&packages).await.to_string();
        assert!(
            err.starts_with("packages.yml: dbt packages (1 listed under `packages:`"),
            "{err}"
        );
        let dependencies = bundled_zip(&[("dependencies.yml", "projects:\n  - name: upstream\n")]);
        let err = refused(&dependencies).await.to_string();
        assert!(
            err.starts_with("dependencies.yml: project dependencies"),
            "{err}"
        );
        let materialized = bundled_zip(&[(
            "models/marts/mv.sql",
            "{{ config(materialized='materialized_view') }}\nselect 1 as x\n",
        )]);
        let err = refused(&materialized).await.to_string();
        assert_eq!(
            err,
            "models/marts/mv.sql: the materialization \"materialized_view\" (the engine runs \
             view, table, ephemeral and incremental) is not supported by this engine"
        );
        let binary = zip_of(
            &[
                ("dbt_project.yml", b"name: x\nprofile: x\n"),
                ("models/latin1.sql", b"select '\xe9t\xe9'"),
            ],
            CompressionMethod::Deflated,
        );
        assert_eq!(
            refused(&binary).await.to_string(),
            "models/latin1.sql: not UTF-8 text (project files are UTF-8 text)"
        );
        let broken = bundled_zip(&[("models/marts/broken.sql", "select {{ ref('nope') }}")]);
        let err = refused(&broken).await;
        assert!(
            matches!(err, WorkspaceError::InvalidProject { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("models/marts/broken.sql"), "{err}");
        let pipeline = bundled_zip(&[("silver/trips.yml", "steps: [1]")]);
        let err = refused(&pipeline).await;
        assert!(err.to_string().starts_with("silver/trips.yml: "), "{err}");
        let no_project = zip_of(
            &[("models/a.sql", b"select 1")],
            CompressionMethod::Deflated,
        );
        assert!(refused(&no_project)
            .await
            .to_string()
            .starts_with("dbt_project.yml: missing"));
    });
}

#[test]
fn the_lakehouse_reads_its_pipelines_from_the_workspace_and_reset_keeps_the_project() {
    block_on(async {
        let (storage, lakehouse) = crate::testing::memory_lakehouse();
        let entities = |pipelines: Vec<crate::silver::Pipeline>| -> Vec<String> {
            pipelines.into_iter().map(|p| p.entity).collect()
        };
        let all = entities(lakehouse.pipelines().await.expect("pipelines"));
        assert_eq!(all.len(), crate::silver::BUNDLED.len());
        let workspace = lakehouse.workspace();
        workspace
            .delete("silver/vehicles.yml")
            .await
            .expect("delete");
        let fewer = entities(lakehouse.pipelines().await.expect("pipelines"));
        assert_eq!(fewer.len(), all.len() - 1);
        assert!(!fewer.contains(&"vehicles".to_owned()));
        workspace
            .write("silver/trips.yml", "steps: [1]")
            .await
            .expect("save");
        let err = lakehouse.pipelines().await.unwrap_err();
        assert!(err.to_string().starts_with("silver/trips.yml: "), "{err}");
        workspace.revert("silver/trips.yml").await.expect("revert");
        // The dbt project is the workspace's files without silver/.
        let files = lakehouse.project_files().await.expect("project files");
        assert!(files.iter().all(|(path, _)| !path.starts_with("silver/")));
        assert_eq!(files.len(), crate::models::BUNDLED.len());

        workspace
            .write(FACT_TRIPS, "select 1 as x")
            .await
            .expect("save");
        crate::sample::land_batch(storage.as_ref(), 1)
            .await
            .expect("land");
        lakehouse.reset().await.expect("reset");
        let left: Vec<String> = storage
            .list("")
            .await
            .expect("list")
            .into_iter()
            .map(|object| object.path)
            .collect();
        assert!(
            left.iter().all(|path| path.starts_with("project/")),
            "{left:?}"
        );
        assert_eq!(
            workspace.read(FACT_TRIPS).await.expect("kept"),
            "select 1 as x"
        );
        assert_eq!(
            status(
                &workspace.tree().await.expect("tree"),
                "silver/vehicles.yml"
            ),
            Some(FileStatus::Deleted)
        );
    });
}
