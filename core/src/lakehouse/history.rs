//! The SCD2 history [`Lakehouse`] methods: the relations that keep versions, key search,
//! and one key's versions with their changes, snapshot commits, origins and facts.

use super::{Lakehouse, LakehouseError};
use crate::history::{KeyHistory, KeyMatch, Scd2Relation};

impl Lakehouse {
    /// The relations that keep versions of a key: the project's snapshots, and the
    /// models built from one that carry `valid_from`/`valid_to`.
    pub async fn scd2_relations(&self) -> Result<Vec<Scd2Relation>, LakehouseError> {
        todo!()
    }

    /// Up to `limit` keys of `relation` matching `query`: an empty query gives the
    /// first keys; digits give the keys equal to or starting with them first; any other
    /// text, the keys with an attribute containing it (case-insensitive).
    pub async fn scd2_search(
        &self,
        relation: &str,
        query: &str,
        limit: usize,
    ) -> Result<Vec<KeyMatch>, LakehouseError> {
        let _ = (relation, query, limit);
        todo!()
    }

    /// Every version of `key` in `relation`, oldest first.
    pub async fn scd2_history(
        &self,
        relation: &str,
        key: &str,
    ) -> Result<KeyHistory, LakehouseError> {
        let _ = (relation, key);
        todo!()
    }
}
