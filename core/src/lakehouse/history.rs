//! The SCD2 history [`Lakehouse`] methods: the relations that keep versions, key search,
//! and one key's versions with their changes, snapshot commits, origins and facts.

use super::{Lakehouse, LakehouseError};
use crate::history::{self, KeyHistory, KeyMatch, Scd2Relation};
use crate::silver::Silver;

impl Lakehouse {
    /// The relations that keep versions of a key and whose table is built: the models
    /// built from a snapshot that carry `valid_from`/`valid_to` (`gold.dim_customer`),
    /// then the project's snapshots.
    pub async fn scd2_relations(&self) -> Result<Vec<Scd2Relation>, LakehouseError> {
        let project = self.project().await?;
        let tables = history::scd2_tables(&self.storage, &project).await?;
        Ok(tables.into_iter().map(|table| table.relation).collect())
    }

    /// Up to `limit` keys of `relation` matching `query`: an empty query gives the
    /// first keys; digits give the keys equal to or starting with them first; any text
    /// (digits too, after those) the keys with an attribute of any version containing
    /// it (case-insensitive).
    pub async fn scd2_search(
        &self,
        relation: &str,
        query: &str,
        limit: usize,
    ) -> Result<Vec<KeyMatch>, LakehouseError> {
        let project = self.project().await?;
        let table = history::scd2_table(&self.storage, &project, relation).await?;
        let rows = history::read_versions(&self.storage, &table, None).await?;
        let keys = history::by_key(rows);
        Ok(history::search(
            &table.relation.attributes,
            &keys,
            query,
            limit,
        ))
    }

    /// Every version of `key` in `relation`, in the order they happened, each with the
    /// attributes that changed, the snapshot commit that wrote it, the Bronze row its
    /// Silver row came from (traced through the entity's pipeline as it is now) and the
    /// facts pointing at it.
    pub async fn scd2_history(
        &self,
        relation: &str,
        key: &str,
    ) -> Result<KeyHistory, LakehouseError> {
        let project = self.project().await?;
        let table = history::scd2_table(&self.storage, &project, relation).await?;
        let silver = Silver::new(
            self.storage.clone(),
            self.checkpoint.clone(),
            self.pipelines().await?,
        )?;
        Ok(history::key_history(&self.storage, table, &silver, key).await?)
    }
}
