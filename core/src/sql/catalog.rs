//! The console's schemas: one per layer, resolving `<name>` and `<name>@v<N>` to a
//! Delta snapshot when a statement names it, and holding the project's views.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DataFusionResult};
use datafusion::prelude::SessionContext;

use super::{SqlError, SqlTable, SqlTableKind};
use crate::delta::{DeltaTable, DeltaTableProvider};
use crate::explorer::columns;
use crate::send_bridge::boxed_send;
use crate::storage::Storage;
use crate::warehouse::{self, LAYERS};

/// The layer schemas of one console.
#[derive(Debug)]
pub(super) struct Catalog {
    storage: Arc<dyn Storage>,
    layers: Vec<Arc<LayerSchema>>,
}

impl Catalog {
    /// Registers a schema per layer in `session`, each knowing the store's tables.
    pub(super) async fn register(
        session: &SessionContext,
        storage: Arc<dyn Storage>,
    ) -> Result<Self, SqlError> {
        let catalog = session
            .catalog("datafusion")
            .ok_or_else(|| SqlError::Execution {
                message: "the session has no default catalog".to_owned(),
            })?;
        let tables = layer_tables(storage.as_ref()).await?;
        let mut layers = Vec::new();
        for layer in LAYERS {
            let schema = Arc::new(LayerSchema {
                storage: storage.clone(),
                layer,
                tables: tables.get(layer).cloned().unwrap_or_default(),
                views: RwLock::default(),
            });
            catalog
                .register_schema(layer, schema.clone())
                .map_err(SqlError::from_datafusion)?;
            layers.push(schema);
        }
        Ok(Self { storage, layers })
    }

    /// The store the tables live in.
    pub(super) fn storage(&self) -> Arc<dyn Storage> {
        self.storage.clone()
    }

    /// The store path of `<layer>.<name>` (`gold/dim_customer`), if it is a table.
    pub(super) async fn table_path(&self, name: &str) -> Result<String, SqlError> {
        let unknown = || SqlError::UnknownTable {
            table: name.to_owned(),
        };
        let (layer, table) = name.split_once('.').ok_or_else(unknown)?;
        let layer = layer.to_ascii_lowercase();
        if !LAYERS.contains(&layer.as_str()) || table.contains(['/', '.']) {
            return Err(unknown());
        }
        let path = format!("{layer}/{table}");
        match DeltaTable::new(self.storage.clone(), path.as_str())
            .exists()
            .await?
        {
            true => Ok(path),
            false => Err(unknown()),
        }
    }

    /// Every Delta table of the store now and every view, layer by layer, by name.
    pub(super) async fn tables(&self) -> Result<Vec<SqlTable>, SqlError> {
        let tables = layer_tables(self.storage.as_ref()).await?;
        let mut out = Vec::new();
        for schema in &self.layers {
            for name in tables.get(schema.layer).into_iter().flatten() {
                let table =
                    DeltaTable::new(self.storage.clone(), format!("{}/{name}", schema.layer));
                let snapshot = table.snapshot().await?;
                out.push(SqlTable {
                    schema: schema.layer.to_owned(),
                    name: name.clone(),
                    kind: SqlTableKind::Delta,
                    version: Some(snapshot.version()),
                    columns: columns(snapshot.schema()),
                });
            }
            let views = schema.views.read().map_err(|_| poisoned())?;
            for (name, view) in views.iter() {
                out.push(SqlTable {
                    schema: schema.layer.to_owned(),
                    name: name.clone(),
                    kind: SqlTableKind::View,
                    version: None,
                    columns: columns(&view.schema()),
                });
            }
        }
        out.sort_by(|a, b| {
            let layer = |t: &SqlTable| LAYERS.iter().position(|l| *l == t.schema);
            (layer(a), &a.name).cmp(&(layer(b), &b.name))
        });
        Ok(out)
    }
}

fn poisoned() -> SqlError {
    SqlError::Execution {
        message: "a view registry lock was poisoned".to_owned(),
    }
}

/// The store's tables directly under each layer (`gold/dbt_test__audit/…` left out).
async fn layer_tables(
    storage: &dyn Storage,
) -> Result<BTreeMap<&'static str, BTreeSet<String>>, SqlError> {
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for path in warehouse::list_tables(storage).await? {
        let Some((layer, name)) = path.split_once('/') else {
            continue;
        };
        let Some(layer) = LAYERS.iter().find(|l| **l == layer) else {
            continue;
        };
        if !name.contains('/') {
            out.entry(layer).or_default().insert(name.to_owned());
        }
    }
    Ok(out)
}

/// One layer: its Delta tables, resolved on use, and the views created in it.
#[derive(Debug)]
struct LayerSchema {
    storage: Arc<dyn Storage>,
    layer: &'static str,
    /// The tables the store held when the console opened.
    tables: BTreeSet<String>,
    views: RwLock<BTreeMap<String, Arc<dyn TableProvider>>>,
}

// SAFETY: see `send_bridge`: on wasm32 there is one thread, so the browser handles in
// the storage never cross threads. Natively every field is Send + Sync.
#[cfg(target_arch = "wasm32")]
unsafe impl Send for LayerSchema {}
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for LayerSchema {}

/// `name@v3` as (`name`, 3); a plain name as (`name`, None).
fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once('@') {
        Some((base, version)) => (base, Some(version)),
        None => (name, None),
    }
}

impl LayerSchema {
    /// The Delta table `name` (`dim_customer` or `dim_customer@v1`), if there is one.
    async fn delta(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, SqlError> {
        let (base, version) = split_version(name);
        let table = DeltaTable::new(self.storage.clone(), format!("{}/{base}", self.layer));
        let known = self.tables.contains(base) || table.exists().await?;
        let relation = format!("{}.{base}", self.layer);
        let version = match version {
            None if known => None,
            None => return Ok(None),
            Some(_) if !known => return Err(SqlError::UnknownTable { table: relation }),
            Some(text) => {
                let versions: Vec<i64> = table
                    .history()
                    .await?
                    .iter()
                    .rev()
                    .map(|e| e.version)
                    .collect();
                let version = text
                    .strip_prefix(['v', 'V'])
                    .and_then(|digits| digits.parse::<i64>().ok());
                match version {
                    Some(version) if versions.contains(&version) => Some(version),
                    _ => {
                        return Err(SqlError::UnknownVersion {
                            table: relation,
                            version: version.unwrap_or(-1),
                            versions,
                        })
                    }
                }
            }
        };
        let snapshot = match version {
            Some(version) => table.snapshot_at(version).await?,
            None => table.snapshot().await?,
        };
        Ok(Some(Arc::new(DeltaTableProvider::new(table, snapshot))))
    }
}

#[async_trait]
impl SchemaProvider for LayerSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self.tables.clone();
        if let Ok(views) = self.views.read() {
            names.extend(views.keys().cloned());
        }
        names.into_iter().collect()
    }

    async fn table(&self, name: &str) -> DataFusionResult<Option<Arc<dyn TableProvider>>> {
        if let Some(view) = self.views.read().ok().and_then(|v| v.get(name).cloned()) {
            return Ok(Some(view));
        }
        boxed_send(self.delta(name))
            .await
            .map_err(|err| DataFusionError::External(Box::new(err)))
    }

    async fn table_type(&self, name: &str) -> DataFusionResult<Option<TableType>> {
        if let Some(view) = self.views.read().ok().and_then(|v| v.get(name).cloned()) {
            return Ok(Some(view.table_type()));
        }
        let (base, _) = split_version(name);
        Ok(self.tables.contains(base).then_some(TableType::Base))
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> DataFusionResult<Option<Arc<dyn TableProvider>>> {
        let mut views = self
            .views
            .write()
            .map_err(|_| DataFusionError::Execution("poisoned view registry".to_owned()))?;
        Ok(views.insert(name, table))
    }

    fn deregister_table(&self, name: &str) -> DataFusionResult<Option<Arc<dyn TableProvider>>> {
        let mut views = self
            .views
            .write()
            .map_err(|_| DataFusionError::Execution("poisoned view registry".to_owned()))?;
        Ok(views.remove(name))
    }

    fn table_exist(&self, name: &str) -> bool {
        let (base, _) = split_version(name);
        self.tables.contains(base) || self.views.read().is_ok_and(|v| v.contains_key(name))
    }
}
