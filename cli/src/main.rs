//! `medallion`: the playground's pipeline on the local filesystem.
//!
//! The command shapes follow dbt's CLI. Global options go before or after the
//! subcommand. Exit codes: 0 on success, 1 when the work failed, 2 on bad usage.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bytes::Bytes;
use clap::{Parser, Subcommand};
use std::sync::Arc;

use arrow::util::pretty::pretty_format_batches;
use medallion_core::bronze::{
    BadRecords, BatchReport, Bronze, BronzeOptions, Cleanup, SchemaEvolution, Trigger,
};
use medallion_core::checkpoint::FileCheckpointStore;
use medallion_core::delta::DeltaTable;
use medallion_core::history::{KeyHistory, VersionKind};
use medallion_core::lakehouse::{
    apply_step_switches, Flow, InferError, Lakehouse, LakehouseError, Stage,
};
use medallion_core::landing::{land_file, FileFormat, LandOutcome};
use medallion_core::lineage::{column_lineage, ColumnRef};
use medallion_core::models::{
    read_project_files, Command as ModelCommand, Materialization, ModelRunner, NodeResult,
    NodeStatus, Project, ResourceType, RunOptions, RunResults, GOLD_SCHEMA,
};
use medallion_core::sample::{self, SampleFormat, SampleSpec};
use medallion_core::silver::{self, Silver, SilverOptions, SilverReport};
use medallion_core::sql::TextFormat;
use medallion_core::storage::LocalFileSystem;
use medallion_core::warehouse::{self, ExportFormat};
use medallion_core::workspace::Workspace;

#[derive(Debug, Parser)]
#[command(
    name = "medallion",
    version,
    about = "A medallion lakehouse on Delta Lake tables"
)]
struct Cli {
    /// The store root, holding landing/, bronze/, silver/ and gold/.
    #[arg(long, global = true, default_value = "./warehouse")]
    warehouse: PathBuf,

    /// The project folder: the dbt project, and the Silver pipelines in silver/.
    #[arg(long, global = true, default_value = "./models")]
    project: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the Uber-like sample dataset, deterministically, at any scale.
    Gen {
        /// How many trips.
        #[arg(long)]
        trips: usize,
        /// The seed: the same seed writes the same bytes.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The output folder.
        #[arg(long)]
        out: PathBuf,
        /// Split into this many folders batch_001 … batch_00K.
        #[arg(long)]
        batches: Option<usize>,
        /// csv, ndjson, parquet or mixed.
        #[arg(long, default_value = "mixed")]
        format: SampleFormat,
    },
    /// Copy files into the landing zone (the entity comes from each file name).
    Land {
        /// Files or folders; folders are walked recursively.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Land every file as this entity instead.
        #[arg(long)]
        entity: Option<String>,
    },
    /// Ingest new landing files into Bronze (`bronze/<entity>`), exactly once.
    Ingest {
        /// Only this entity's stream (default: every entity with a landing folder).
        #[arg(long)]
        entity: Option<String>,
        #[command(flatten)]
        options: IngestArgs,
    },
    /// Build Silver (`silver/<entity>`) from the Bronze versions not yet processed,
    /// with the pipelines in <project>/silver/.
    Silver {
        #[command(subcommand)]
        action: Option<SilverCommand>,
        /// Only this entity (default: every pipeline, lookups first).
        #[arg(long)]
        entity: Option<String>,
        /// Rebuild from all of Bronze.
        #[arg(long)]
        full_refresh: bool,
    },
    /// List the warehouse's tables.
    Tables,
    /// Print a table's rows, e.g. `gold/fact_trips`, `bronze/trips`.
    Show {
        /// The table, as `<layer>/<name>`.
        table: Option<String>,
        /// Instead of a table, compile this model and show what its SQL returns.
        #[arg(long, short = 's', conflicts_with = "table")]
        select: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Time travel: the table as of this version.
        #[arg(long)]
        version: Option<i64>,
        /// Variables for the model's Jinja, as YAML or JSON.
        #[arg(long)]
        vars: Option<String>,
    },
    /// Build the selected models and run their tests, in DAG order (`dbt build`).
    Build(ModelArgs),
    /// Build the selected models (`dbt run`).
    Run(ModelArgs),
    /// Run the selected data tests (`dbt test`).
    Test(ModelArgs),
    /// Compile the selected nodes' SQL, analyses included, into
    /// <warehouse>/target/compiled/ (`dbt compile`).
    Compile(ModelArgs),
    /// Run the selected snapshots (`dbt snapshot`).
    Snapshot(ModelArgs),
    /// Load the selected seeds, the CSV files of seeds/, as tables (`dbt seed`).
    Seed(ModelArgs),
    /// List the selected nodes (`dbt ls`).
    Ls {
        #[command(flatten)]
        args: ModelArgs,
        /// Only nodes of this type: model, snapshot, seed, test or analysis.
        #[arg(long)]
        resource_type: Option<String>,
    },
    /// Ingest, Silver and build: the playground's "Run all".
    Pipeline,
    /// Write a table's rows to a Parquet or CSV file.
    Export {
        /// The table, as `<layer>/<name>`.
        table: String,
        /// parquet or csv.
        #[arg(long, default_value = "parquet")]
        format: ExportFormat,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// Time travel: the table as of this version.
        #[arg(long)]
        version: Option<i64>,
    },
    /// Run one SQL statement over every table as <layer>.<name> (time travel:
    /// gold.dim_customer@v1) and the project's views, as the playground's SQL console
    /// does; also DESCRIBE HISTORY <table>, SHOW TABLES and EXPLAIN [ANALYZE].
    Sql {
        /// The statement.
        sql: String,
        /// table (aligned, like the duckdb CLI), csv or json.
        #[arg(long, default_value = "table")]
        format: TextFormat,
    },
    /// Print a table's Delta history, newest commit first.
    History {
        /// The table, as `<layer>/<name>`.
        table: String,
    },
    /// Print where a column comes from, as a tree: every upstream column through the
    /// models, Silver and Bronze to landing, each edge direct, transformed, filter or
    /// join. The Silver tables the models read must be built.
    Lineage {
        /// The column: `gold.fact_trips.total_amount`, `fact_trips.total_amount`,
        /// `source:silver.trips.trip_id`, `silver.trips.total_amount`.
        column: String,
        /// Variables for the models' Jinja, as YAML or JSON.
        #[arg(long)]
        vars: Option<String>,
    },
    /// Print every version of a key of an SCD2 relation (a snapshot, or a dimension
    /// built from one): its validity, kind, changes, the snapshot commit that wrote it,
    /// the Bronze batch and file its row came from, and the facts pointing at it.
    Versions {
        /// The relation: `gold.dim_customer`, `gold.customers_snapshot`.
        relation: String,
        /// The key's value: `36`.
        key: String,
    },
    /// Export the project folder as a zip, or import one into a folder.
    Project {
        #[command(subcommand)]
        action: ProjectCommand,
    },
}

/// `medallion silver …`: the pipelines themselves.
#[derive(Debug, Subcommand)]
enum SilverCommand {
    /// Infer a pipeline for a Bronze entity from a sample of its rows (types, null
    /// markers, trims, key, sequence_by), write it to <project>/silver/<entity>.yml and
    /// print it with what decided each column.
    Init {
        /// The entity: its Bronze table is bronze/<entity>.
        entity: String,
        /// Replace the entity's pipeline file if it has one.
        #[arg(long)]
        replace: bool,
    },
}

/// `medallion project …`: the playground's Export project and Import project.
#[derive(Debug, Subcommand)]
enum ProjectCommand {
    /// Zip the --project folder's files (the dbt project and silver/), as real dbt runs
    /// them once unzipped.
    Export {
        /// The zip to write.
        out: PathBuf,
    },
    /// Replace a folder's project with a zip's, after checking every path, size and
    /// feature (all or nothing).
    Import {
        /// The zip to read.
        zip: PathBuf,
        /// The folder to import into (created if missing; default: --project).
        #[arg(long)]
        into: Option<PathBuf>,
    },
}

/// How Bronze ingests: the fields of [`BronzeOptions`].
#[derive(Debug, Clone, clap::Args)]
struct IngestArgs {
    /// available-now (every pending file, in batches) or once (one batch).
    #[arg(long, default_value = "available-now")]
    trigger: Trigger,
    /// At most this many files per batch.
    #[arg(long, default_value_t = 1000)]
    max_files_per_trigger: usize,
    /// At most about this many bytes per batch.
    #[arg(long)]
    max_bytes_per_trigger: Option<u64>,
    /// add_new_columns, rescue, fail_on_new_columns or none.
    #[arg(long, default_value = "add_new_columns")]
    schema_evolution: SchemaEvolution,
    /// permissive (keep malformed records in _corrupt_record) or failfast.
    #[arg(long, default_value = "permissive")]
    bad_records: BadRecords,
    /// keep, delete or archive (to archive/<landing path>) processed files.
    #[arg(long, default_value = "keep")]
    cleanup: Cleanup,
}

impl From<IngestArgs> for BronzeOptions {
    fn from(args: IngestArgs) -> Self {
        BronzeOptions {
            trigger: args.trigger,
            max_files_per_trigger: args.max_files_per_trigger,
            max_bytes_per_trigger: args.max_bytes_per_trigger,
            schema_evolution: args.schema_evolution,
            bad_records: args.bad_records,
            cleanup: args.cleanup,
        }
    }
}

/// The options dbt's node commands share.
#[derive(Debug, Clone, clap::Args)]
struct ModelArgs {
    /// Nodes to select: names, +name, name+, n+name, tag:x, path:x, a,b (intersection).
    #[arg(long, short = 's', num_args = 1..)]
    select: Vec<String>,
    /// Nodes to leave out, in the same syntax.
    #[arg(long, num_args = 1..)]
    exclude: Vec<String>,
    /// Rebuild incremental models from scratch.
    #[arg(long)]
    full_refresh: bool,
    /// Variables for the models' Jinja, as YAML or JSON: '{key: value}'.
    #[arg(long)]
    vars: Option<String>,
}

/// A failure, printed as one line naming the file and the problem.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(err: E) -> Self {
        Failure(err.to_string())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let usage_error = err.use_stderr();
            let _ = err.print();
            return if usage_error {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    // Opened only by the commands that use it: `gen` touches no warehouse.
    let warehouse = || LocalFileSystem::new(&cli.warehouse);
    match cli.command {
        Command::Land { paths, entity } => land(&warehouse()?, &paths, entity.as_deref()).await,
        Command::Gen {
            trips,
            seed,
            out,
            batches,
            format,
        } => {
            let spec = SampleSpec {
                trips,
                seed,
                batches,
                format,
            };
            write_sample(&spec, &out)
        }
        Command::Ingest { entity, options } => {
            let options = BronzeOptions::from(options);
            let checkpoint = FileCheckpointStore::open(cli.warehouse.join(CHECKPOINT_DIR))?;
            let bronze = Bronze::new(Arc::new(warehouse()?), Arc::new(checkpoint));
            let reports = match entity {
                Some(entity) => bronze.ingest(&entity, &options).await?,
                None => bronze.ingest_all(&options).await?,
            };
            if reports.is_empty() {
                println!("nothing new to ingest");
            }
            reports.iter().for_each(print_batch);
            Ok(())
        }
        Command::Silver {
            action: Some(SilverCommand::Init { entity, replace }),
            ..
        } => {
            let checkpoint = FileCheckpointStore::open(cli.warehouse.join(CHECKPOINT_DIR))?;
            let lakehouse = Lakehouse::new(
                Arc::new(warehouse()?),
                Arc::new(checkpoint),
                project_folder(&cli.project)?,
            );
            silver_init(&lakehouse, Arc::new(warehouse()?), &entity, replace).await
        }
        Command::Silver {
            action: None,
            entity,
            full_refresh,
        } => {
            let mut pipelines = silver_pipelines(&cli.project).await?;
            let checkpoint = FileCheckpointStore::open(cli.warehouse.join(CHECKPOINT_DIR))?;
            // The steps the playground (or a Lakehouse) switched off stay off here.
            apply_step_switches(&checkpoint, &mut pipelines).await?;
            let checkpoint = Arc::new(checkpoint);
            let runner = Silver::new(Arc::new(warehouse()?), checkpoint.clone(), pipelines)?;
            let options = SilverOptions { full_refresh };
            let reports = match entity {
                Some(entity) => vec![runner.run(&entity, &options).await?],
                None => runner.run_all(&options).await?,
            };
            reports.iter().for_each(print_silver);
            // A new Silver table is a dbt source at once, as after the playground's runs;
            // a folder without a dbt project (or one that does not parse: the build says
            // why) has no source to join.
            let lakehouse = Lakehouse::new(
                Arc::new(warehouse()?),
                checkpoint,
                project_folder(&cli.project)?,
            );
            if lakehouse.project().await.is_ok() {
                for table in lakehouse.join_silver_sources().await? {
                    println!("{table} joined the silver source");
                }
            }
            Ok(())
        }
        Command::Tables => {
            for table in warehouse::list_tables(&warehouse()?).await? {
                println!("{table}");
            }
            Ok(())
        }
        Command::Show {
            table,
            select,
            limit,
            version,
            vars,
        } => match (table, select) {
            (Some(table), None) => show(warehouse()?, &table, limit, version).await,
            (None, Some(model)) => {
                let runner = model_runner(&cli.project, warehouse()?, vars.as_deref()).await?;
                let batches = runner.show(&model, limit).await?;
                println!("{}", pretty_format_batches(&batches)?);
                Ok(())
            }
            _ => Err(Failure(
                "show needs a table (show gold/fact_trips) or --select <model>".to_owned(),
            )),
        },
        Command::Build(args) => {
            run_models(&cli.project, warehouse()?, ModelCommand::Build, &args).await
        }
        Command::Run(args) => {
            run_models(&cli.project, warehouse()?, ModelCommand::Run, &args).await
        }
        Command::Test(args) => {
            run_models(&cli.project, warehouse()?, ModelCommand::Test, &args).await
        }
        Command::Snapshot(args) => {
            run_models(&cli.project, warehouse()?, ModelCommand::Snapshot, &args).await
        }
        Command::Compile(args) => {
            run_models(&cli.project, warehouse()?, ModelCommand::Compile, &args).await
        }
        Command::Seed(args) => {
            run_models(&cli.project, warehouse()?, ModelCommand::Seed, &args).await
        }
        Command::Ls {
            args,
            resource_type,
        } => {
            let runner = model_runner(&cli.project, warehouse()?, args.vars.as_deref()).await?;
            let types = match resource_type.as_deref() {
                None => vec![
                    ResourceType::Model,
                    ResourceType::Snapshot,
                    ResourceType::Seed,
                    ResourceType::Test,
                    ResourceType::Analysis,
                ],
                Some("model") => vec![ResourceType::Model],
                Some("snapshot") => vec![ResourceType::Snapshot],
                Some("seed") => vec![ResourceType::Seed],
                Some("test") => vec![ResourceType::Test],
                Some("analysis") => vec![ResourceType::Analysis],
                Some(other) => {
                    return Err(Failure(format!(
                        "--resource-type {other}: use model, snapshot, seed, test or analysis"
                    )))
                }
            };
            for node in runner.list(&run_options(&args), &types)? {
                println!("{}", node.fqn.join("."));
            }
            Ok(())
        }
        Command::Export {
            table,
            format,
            out,
            version,
        } => {
            let data = warehouse::export(Arc::new(warehouse()?), &table, version, format).await?;
            if let Some(folder) = out.parent().filter(|f| !f.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder)
                    .map_err(|err| Failure(format!("{}: {err}", folder.display())))?;
            }
            std::fs::write(&out, &data)
                .map_err(|err| Failure(format!("{}: {err}", out.display())))?;
            println!("{table}: {} bytes to {}", data.len(), out.display());
            Ok(())
        }
        Command::Pipeline => {
            let checkpoint = FileCheckpointStore::open(cli.warehouse.join(CHECKPOINT_DIR))?;
            // Refuses a project folder without pipelines, naming it.
            silver_pipelines(&cli.project).await?;
            let lakehouse = Lakehouse::new(
                Arc::new(warehouse()?),
                Arc::new(checkpoint),
                project_folder(&cli.project)?,
            );
            let stages = Stage::ALL;
            let report = lakehouse
                .run(&stages, &mut |progress| {
                    if progress.stage != Stage::Gold {
                        eprintln!(
                            "[{:?} {:>3}%] {} ({} rows in)",
                            progress.stage,
                            progress.percent(),
                            progress.step,
                            progress.rows.unwrap_or(0)
                        );
                    }
                    Flow::Continue
                })
                .await
                .map_err(|err| match err {
                    // Files are named by their path under the project folder.
                    LakehouseError::Models(err) => {
                        Failure(format!("{}/{err}", cli.project.display()))
                    }
                    other if other.to_string().starts_with("silver/") => {
                        Failure(format!("{}/{other}", cli.project.display()))
                    }
                    other => Failure(other.to_string()),
                })?;
            report.bronze.iter().for_each(print_batch);
            report.silver.iter().for_each(print_silver);
            match &report.gold {
                Some(gold) => print_run(gold, ModelCommand::Build),
                None => Ok(()),
            }
        }
        Command::History { table } => history(warehouse()?, &table).await,
        Command::Sql { sql, format } => {
            let checkpoint = FileCheckpointStore::open(cli.warehouse.join(CHECKPOINT_DIR))?;
            let lakehouse = Lakehouse::new(
                Arc::new(warehouse()?),
                Arc::new(checkpoint),
                project_folder(&cli.project)?,
            );
            run_sql(&lakehouse, &sql, format).await
        }
        Command::Lineage { column, vars } => {
            let asked = ColumnRef::parse(&column).ok_or_else(|| {
                Failure(format!(
                    "{column:?}: name a column as <node>.<column>, e.g. gold.fact_trips.total_amount"
                ))
            })?;
            let runner = model_runner(&cli.project, warehouse()?, vars.as_deref()).await?;
            let pipelines = silver_pipelines(&cli.project).await?;
            let lineage = column_lineage(&runner, &pipelines, &asked.node, &asked.column).await?;
            println!("{lineage}");
            Ok(())
        }
        Command::Versions { relation, key } => {
            let checkpoint = FileCheckpointStore::open(cli.warehouse.join(CHECKPOINT_DIR))?;
            let lakehouse = Lakehouse::new(
                Arc::new(warehouse()?),
                Arc::new(checkpoint),
                project_folder(&cli.project)?,
            );
            print_versions(&lakehouse.scd2_history(&relation, &key).await?);
            Ok(())
        }
        Command::Project { action } => project_command(&cli.project, action).await,
    }
}

/// The fact keys `medallion versions` prints per version; the rest are counted.
const VERSION_FACT_KEYS: usize = 10;

/// `medallion versions`: one block per version, oldest first.
fn print_versions(history: &KeyHistory) {
    let relation = &history.relation;
    println!(
        "{}  {} {}  {} versions  (snapshot {}{})",
        relation.relation,
        relation.key,
        history.key,
        history.versions.len(),
        relation.snapshot,
        relation
            .entity
            .as_ref()
            .map_or(String::new(), |entity| format!(", silver/{entity}"))
    );
    for version in &history.versions {
        let kind = match version.kind {
            VersionKind::Created => "created",
            VersionKind::Changed => "changed",
            VersionKind::Deleted => "deleted",
            VersionKind::Restored => "restored",
        };
        let surrogate = match (&relation.surrogate_key, &version.surrogate) {
            (Some(column), Some(value)) => format!("  {column} {value}"),
            _ => String::new(),
        };
        println!(
            "version {}  {kind}  {} .. {}{surrogate}",
            version.number,
            version.valid_from,
            version.valid_to.as_deref().unwrap_or("current")
        );
        if version.number == 1 {
            let values: Vec<String> = version
                .values
                .iter()
                .map(|value| format!("{}={}", value.column, value.value))
                .collect();
            println!("  {}", values.join("  "));
        }
        for change in &version.changes {
            println!("  {}: {} → {}", change.column, change.old, change.new);
        }
        if let Some(snapshot_version) = version.snapshot_version {
            println!(
                "  written by {} version {snapshot_version}",
                relation.snapshot
            );
        }
        if let Some(origin) = &version.origin {
            let bronze_version = origin
                .bronze_version
                .map_or(String::new(), |v| format!(" (version {v})"));
            println!(
                "  from {} batch {}{bronze_version}  {}",
                origin.bronze_table, origin.batch_id, origin.source_file
            );
        }
        for facts in &version.facts {
            let mut keys = facts
                .keys
                .iter()
                .take(VERSION_FACT_KEYS)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if facts.count as usize > VERSION_FACT_KEYS {
                keys.push_str(", …");
            }
            match facts.count {
                0 => println!("  {}: 0 rows", facts.relation),
                count => println!(
                    "  {}: {count} rows  {} {keys}",
                    facts.relation, facts.key_column
                ),
            }
        }
    }
}

/// `medallion project export|import`.
async fn project_command(project: &Path, action: ProjectCommand) -> Result<(), Failure> {
    let at =
        |path: &Path, err: &dyn std::fmt::Display| Failure(format!("{}: {err}", path.display()));
    match action {
        ProjectCommand::Export { out } => {
            let zip = project_folder(project)?.export_zip().await?;
            if let Some(folder) = out.parent().filter(|f| !f.as_os_str().is_empty()) {
                std::fs::create_dir_all(folder).map_err(|err| at(folder, &err))?;
            }
            std::fs::write(&out, &zip).map_err(|err| at(&out, &err))?;
            println!(
                "{}: {} bytes to {}",
                project.display(),
                zip.len(),
                out.display()
            );
            Ok(())
        }
        ProjectCommand::Import { zip, into } => {
            let into = into.as_deref().unwrap_or(project);
            let bytes = std::fs::read(&zip).map_err(|err| at(&zip, &err))?;
            std::fs::create_dir_all(into).map_err(|err| at(into, &err))?;
            let report = project_folder(into)?
                .import_zip(&bytes)
                .await
                .map_err(|err| at(&zip, &err))?;
            println!(
                "{}: {} files ({} bytes) into {}",
                zip.display(),
                report.files,
                report.bytes,
                into.display()
            );
            Ok(())
        }
    }
}

/// `silver init`: proposes `entity`'s pipeline, writes it into the project folder and
/// prints it, then what decided each column.
async fn silver_init(
    lakehouse: &Lakehouse,
    store: Arc<LocalFileSystem>,
    entity: &str,
    replace: bool,
) -> Result<(), Failure> {
    let proposal = if replace {
        // The entity may have a pipeline: read its sample as a proposal would.
        let table = DeltaTable::new(store, warehouse::bronze_table(entity));
        if !table.exists().await? {
            return Err(LakehouseError::from(InferError::NoBronzeTable {
                table: table.root().to_owned(),
            })
            .into());
        }
        let (sample, rows_total) = silver::infer::read_sample(&table).await?;
        silver::propose(entity, &sample, rows_total)
    } else {
        lakehouse.propose_pipeline(entity).await?
    };
    let path = lakehouse.save_pipeline(&proposal.draft, replace).await?;
    print!("{}", proposal.draft.to_yaml());
    println!();
    println!(
        "wrote {path}: read {} of {} rows of {}",
        proposal.rows_read, proposal.rows_total, proposal.table
    );
    let width = proposal
        .columns
        .iter()
        .map(|column| column.name.len())
        .max()
        .unwrap_or(0);
    for column in &proposal.columns {
        println!(
            "  {:width$}  {}: {}",
            column.name,
            column.proposed.label(),
            column.reason
        );
        if column.misfit_count > 0 {
            let quoted: Vec<String> = column.misfits.iter().map(|v| format!("{v:?}")).collect();
            println!(
                "  {:width$}  {} values do not fit and will quarantine: {}",
                "",
                column.misfit_count,
                quoted.join(", ")
            );
        }
    }
    println!("key: {}", proposal.key_reason);
    if let Some(reason) = &proposal.sequence_reason {
        println!("sequence_by: {reason}");
    }
    for note in &proposal.notes {
        println!("note: {note}");
    }
    Ok(())
}

/// The project folder as a workspace: its files as they are.
fn project_folder(project: &Path) -> Result<Workspace, Failure> {
    Ok(Workspace::folder(Arc::new(LocalFileSystem::new(project)?)))
}

/// The Silver pipelines of the project folder, named by their paths in messages.
async fn silver_pipelines(project: &Path) -> Result<Vec<silver::Pipeline>, Failure> {
    let in_project = |file: &str| project.join(file).display().to_string();
    let store = LocalFileSystem::new(project)?;
    let mut pipelines = silver::load_pipelines(&store, "silver/")
        .await
        .map_err(|err| silver::PipelineError {
            file: in_project(&err.file),
            ..err
        })?;
    for pipeline in &mut pipelines {
        pipeline.file = in_project(&pipeline.file);
    }
    if pipelines.is_empty() {
        return Err(Failure(format!(
            "{}: no Silver pipelines (silver/<entity>.yml)",
            project.display()
        )));
    }
    Ok(pipelines)
}

/// `--vars` as a map (YAML, so JSON too).
fn parse_vars(vars: Option<&str>) -> Result<BTreeMap<String, serde_json::Value>, Failure> {
    match vars {
        None => Ok(BTreeMap::new()),
        Some(text) => {
            serde_yaml_ng::from_str(text).map_err(|err| Failure(format!("--vars {text:?}: {err}")))
        }
    }
}

/// The dbt project in `project`, ready to run on `store`.
async fn model_runner(
    project: &Path,
    store: LocalFileSystem,
    vars: Option<&str>,
) -> Result<ModelRunner, Failure> {
    let files = read_project_files(&LocalFileSystem::new(project)?, "").await?;
    // Files are named by their path under the project folder.
    let parsed = Project::parse(&files, &parse_vars(vars)?)
        .map_err(|err| Failure(format!("{}/{err}", project.display())))?;
    Ok(ModelRunner::new(Arc::new(store), parsed))
}

fn run_options(args: &ModelArgs) -> RunOptions {
    RunOptions {
        select: args.select.clone(),
        exclude: args.exclude.clone(),
        full_refresh: args.full_refresh,
    }
}

/// A dbt-style line: `text ........ [status]`.
fn dotted(text: &str, status: &str) -> String {
    let dots = 72usize
        .saturating_sub(text.chars().count() + status.chars().count())
        .max(3);
    format!("{text} {} [{status}]", ".".repeat(dots))
}

/// One node's line, as dbt prints it.
fn node_line(position: &str, result: &NodeResult, command: ModelCommand) -> String {
    let what = match result.resource_type {
        ResourceType::Test => format!("test {}", result.name),
        ResourceType::Snapshot => format!("snapshot {GOLD_SCHEMA}.{}", result.name),
        ResourceType::Seed => format!("seed file {GOLD_SCHEMA}.{}", result.name),
        ResourceType::Analysis => format!("analysis {}", result.name),
        ResourceType::Model => format!(
            "sql {} model {GOLD_SCHEMA}.{}",
            result.materialized.map_or("view", Materialization::name),
            result.name
        ),
    };
    let seconds = result.seconds();
    let failures = result.failures.unwrap_or(0);
    match result.status {
        NodeStatus::Success if command == ModelCommand::Compile => {
            dotted(&format!("{position} OK compiled {what}"), "COMPILED")
        }
        NodeStatus::Success => dotted(
            &format!("{position} OK created {what}"),
            &format!("{} in {seconds:.2}s", result.message),
        ),
        NodeStatus::Pass => dotted(
            &format!("{position} PASS {}", result.name),
            &format!("PASS in {seconds:.2}s"),
        ),
        NodeStatus::Warn => dotted(
            &format!("{position} WARN {failures} {}", result.name),
            &format!("WARN {failures} in {seconds:.2}s"),
        ),
        NodeStatus::Fail => dotted(
            &format!("{position} FAIL {failures} {}", result.name),
            &format!("FAIL {failures} in {seconds:.2}s"),
        ),
        NodeStatus::Error => dotted(
            &format!("{position} ERROR creating {what}"),
            &format!("ERROR in {seconds:.2}s"),
        ),
        NodeStatus::Skipped => dotted(&format!("{position} SKIP {what}"), "SKIP"),
    }
}

/// Runs a node command and prints it as dbt's console does; fails if a node failed.
async fn run_models(
    project: &Path,
    store: LocalFileSystem,
    command: ModelCommand,
    args: &ModelArgs,
) -> Result<(), Failure> {
    let runner = model_runner(project, store, args.vars.as_deref()).await?;
    let parsed = runner.project();
    let count = |kind: ResourceType| {
        parsed
            .nodes
            .values()
            .filter(|n| n.resource_type == kind)
            .count()
    };
    // Seeds and analyses are named when the project has some.
    let extra: String = [
        (ResourceType::Seed, "seeds"),
        (ResourceType::Analysis, "analyses"),
    ]
    .into_iter()
    .map(|(kind, label)| (count(kind), label))
    .filter(|(count, _)| *count > 0)
    .map(|(count, label)| format!(", {count} {label}"))
    .collect();
    println!(
        "Found {} models, {} snapshots, {} data tests{extra}, {} sources\n",
        parsed.models().count(),
        count(ResourceType::Snapshot),
        count(ResourceType::Test),
        parsed.sources.len()
    );
    let run = runner.run(command, &run_options(args)).await?;
    print_run(&run, command)
}

/// Prints a node command's results as dbt's console does; fails if a node failed.
fn print_run(run: &RunResults, command: ModelCommand) -> Result<(), Failure> {
    let total = run.results.len();
    for (index, result) in run.results.iter().enumerate() {
        println!(
            "{}",
            node_line(&format!("{} of {total}", index + 1), result, command)
        );
    }
    // Like `dbt compile --select model`: one model's SQL is printed.
    let models: Vec<&NodeResult> = run
        .results
        .iter()
        .filter(|r| r.resource_type == ResourceType::Model)
        .collect();
    if let ([model], ModelCommand::Compile) = (models.as_slice(), command) {
        println!(
            "\nCompiled node '{}' is:\n{}",
            model.name, model.compiled_code
        );
    }
    println!(
        "\nFinished running {total} nodes in {:.2}s.",
        run.elapsed_ms as f64 / 1000.0
    );
    if run.success() {
        println!("\nCompleted successfully");
    } else {
        println!("\nCompleted with errors:");
    }
    for result in run.results.iter().filter(|r| {
        matches!(
            r.status,
            NodeStatus::Error | NodeStatus::Fail | NodeStatus::Warn
        )
    }) {
        let kind = if result.status == NodeStatus::Warn {
            "Warning"
        } else {
            "Failure"
        };
        println!(
            "\n{kind} in {} ({}):\n  {}",
            result.name, result.unique_id, result.message
        );
        for row in &result.failing_rows {
            println!("    {row}");
        }
    }
    println!(
        "\nDone. PASS={} WARN={} ERROR={} SKIP={} TOTAL={total}",
        run.count(NodeStatus::Success) + run.count(NodeStatus::Pass),
        run.count(NodeStatus::Warn),
        run.count(NodeStatus::Error) + run.count(NodeStatus::Fail),
        run.count(NodeStatus::Skipped),
    );
    if run.success() {
        Ok(())
    } else {
        Err(Failure(format!(
            "{} failed: see the lines above and target/run_results.json",
            command.name()
        )))
    }
}

/// The native checkpoint store, inside the warehouse folder.
const CHECKPOINT_DIR: &str = "_checkpoint";

fn print_batch(report: &BatchReport) {
    match report.batch_id {
        Some(batch) => println!(
            "bronze/{}  batch {batch}{}  version {}  {} rows  {} ms",
            report.entity,
            if report.recovered { " (recovered)" } else { "" },
            report.version.map_or("-".to_owned(), |v| v.to_string()),
            report.rows(),
            report.duration_ms
        ),
        None => println!("bronze/{}  no new data", report.entity),
    }
    for file in &report.files {
        if let Some(first) = &file.duplicate_of {
            println!("  {}  skipped: the same bytes as {first}", file.path);
            continue;
        }
        let mut line = format!("  {}  {} rows", file.path, file.rows);
        if file.malformed > 0 {
            line.push_str(&format!(", {} malformed", file.malformed));
        }
        if file.rescued > 0 {
            line.push_str(&format!(", {} rescued", file.rescued));
        }
        if !file.new_columns.is_empty() {
            line.push_str(&format!(", new columns: {}", file.new_columns.join(", ")));
        }
        match file.separator {
            Some('\t') => line.push_str(", tab-separated"),
            Some(separator) if separator != ',' => {
                line.push_str(&format!(", separated by '{separator}'"));
            }
            _ => {}
        }
        println!("{line}");
    }
}

fn print_silver(report: &SilverReport) {
    let table = warehouse::silver_table(&report.entity);
    if let Some(note) = &report.note {
        println!("{table}  {note}");
        return;
    }
    let versions = match report.bronze_versions {
        Some((first, last)) if first == last => format!("bronze v{last}"),
        Some((first, last)) => format!("bronze v{first}..v{last}"),
        None => "bronze -".to_owned(),
    };
    let changes = if report.full_refresh {
        format!(
            "(full refresh)  {} rows in  {} written, {} replaced",
            report.rows_in, report.inserted, report.deleted
        )
    } else {
        format!(
            " {} rows in  {} upserted ({} new, {} updated)  {} deleted  {} unchanged",
            report.rows_in,
            report.upserted(),
            report.inserted,
            report.updated,
            report.deleted,
            report.unchanged()
        )
    };
    println!(
        "{table}  {versions} {changes}  {} quarantined  {} duplicates  version {}  {} ms",
        report.quarantined,
        report.duplicates,
        report.version.map_or("-".to_owned(), |v| v.to_string()),
        report.duration_ms
    );
    for warning in &report.warnings {
        println!("  warning: {warning}");
    }
}

fn write_sample(spec: &SampleSpec, out: &Path) -> Result<(), Failure> {
    let sample = sample::generate(spec)?;
    for file in &sample.files {
        let path = out.join(&file.path);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|err| Failure(format!("{}: {err}", folder.display())))?;
        }
        std::fs::write(&path, &file.data)
            .map_err(|err| Failure(format!("{}: {err}", path.display())))?;
        println!("{:>10} bytes  {}", file.data.len(), path.display());
    }
    for case in &sample.edge_cases {
        println!(
            "batch {}  {}: {} ({})",
            case.batch,
            case.file,
            case.kind.title(),
            case.detail
        );
    }
    Ok(())
}

async fn show(
    store: LocalFileSystem,
    name: &str,
    limit: usize,
    version: Option<i64>,
) -> Result<(), Failure> {
    let table = DeltaTable::new(Arc::new(store), name);
    let snapshot = match version {
        Some(version) => table.snapshot_at(version).await?,
        None => table.snapshot().await?,
    };
    let shown = table.read_rows(&snapshot, 0, limit).await?;
    let rows = shown.num_rows();
    println!("{}", pretty_format_batches(&[shown])?);
    let total = snapshot
        .num_records()
        .map(|total| total.to_string())
        .unwrap_or_else(|| "?".to_owned());
    println!(
        "{name} at version {}: {rows} of {total} rows shown",
        snapshot.version()
    );
    Ok(())
}

/// Runs `sql` in the warehouse's console and prints its result; an error names its
/// line and column when DataFusion gives them.
async fn run_sql(lakehouse: &Lakehouse, sql: &str, format: TextFormat) -> Result<(), Failure> {
    let console = lakehouse.sql_console().await?;
    let output = console
        .run(sql, &mut || false)
        .await
        .map_err(|err| match err.position() {
            Some(at) => Failure(format!("line {}, column {}: {err}", at.line, at.column)),
            None => Failure(err.to_string()),
        })?;
    let text = output.render(format)?;
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(())
}

async fn history(store: LocalFileSystem, name: &str) -> Result<(), Failure> {
    let table = DeltaTable::new(Arc::new(store), name);
    for entry in table.history().await? {
        let time = chrono::DateTime::from_timestamp_millis(entry.timestamp_ms)
            .map(|time| time.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string())
            .unwrap_or_default();
        let metrics = entry
            .operation_metrics
            .iter()
            .map(|(key, value)| {
                format!(
                    "{key}={}",
                    value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_owned)
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        println!(
            "{:>5}  {time}  {:<14} {metrics}",
            entry.version, entry.operation
        );
    }
    Ok(())
}

/// Every file below `path`, with the path it gets inside `landing/<entity>/`.
fn files_to_land(path: &Path) -> Result<Vec<(PathBuf, String)>, Failure> {
    let metadata =
        std::fs::metadata(path).map_err(|err| Failure(format!("{}: {err}", path.display())))?;
    // Paths land relative to the folder above the one given (for a folder) or above the
    // file's own folder (for a file), so batch_001/trips.csv and batch_002/trips.csv
    // land as two files.
    let above = |path: &Path| path.parent().unwrap_or(Path::new("")).to_path_buf();
    let base = if metadata.is_dir() {
        above(path)
    } else {
        above(&above(path))
    };
    let mut found = Vec::new();
    if metadata.is_dir() {
        let mut pending = vec![path.to_path_buf()];
        while let Some(folder) = pending.pop() {
            let entries = std::fs::read_dir(&folder)
                .map_err(|err| Failure(format!("{}: {err}", folder.display())))?;
            for entry in entries {
                let entry = entry.map_err(|err| Failure(format!("{}: {err}", folder.display())))?;
                let entry_path = entry.path();
                if entry_path.is_dir() {
                    pending.push(entry_path);
                } else {
                    found.push(entry_path);
                }
            }
        }
        found.sort();
    } else {
        found.push(path.to_path_buf());
    }
    Ok(found
        .into_iter()
        .map(|file| {
            let relative: Vec<String> = file
                .strip_prefix(&base)
                .unwrap_or(&file)
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            (file, relative.join("/"))
        })
        .collect())
}

async fn land(
    store: &LocalFileSystem,
    paths: &[PathBuf],
    entity: Option<&str>,
) -> Result<(), Failure> {
    for path in paths {
        let absolute = std::path::absolute(path)
            .map_err(|err| Failure(format!("{}: {err}", path.display())))?;
        let walking_a_folder = absolute.is_dir();
        for (file, relative) in files_to_land(&absolute)? {
            let name = file
                .file_name()
                .map(|name| name.to_string_lossy().into_owned());
            let readable = name
                .as_deref()
                .and_then(FileFormat::from_file_name)
                .is_some();
            if walking_a_folder && !readable {
                // A folder may hold notes and images beside the data; only data lands.
                println!(
                    "{:>9}  {} (not .csv, .ndjson or .parquet)",
                    "skipped",
                    file.display()
                );
                continue;
            }
            let data = std::fs::read(&file)
                .map_err(|err| Failure(format!("{}: {err}", file.display())))?;
            let outcome = land_file(store, &relative, entity, Bytes::from(data)).await?;
            let verb = match &outcome {
                LandOutcome::Landed { .. } => "landed",
                LandOutcome::Unchanged { .. } => "unchanged",
                LandOutcome::Replaced { .. } => "replaced",
            };
            println!("{verb:>9}  {}", outcome.path());
        }
    }
    Ok(())
}
