//! The project's `silver` source kept in step with Silver: every Silver table joins it
//! with its columns, and a staging model over one starts from a file of its own.

use super::{Lakehouse, LakehouseError};

impl Lakehouse {
    /// Adds every Silver table missing from the project's `silver` source to the file
    /// that declares it (`models/staging/_sources.yml`), with its columns and their
    /// `data_type`; keeps the file's comments and its other entries. Returns the tables
    /// added. [`Lakehouse::run`] runs it after the Silver stage.
    pub async fn join_silver_sources(&self) -> Result<Vec<String>, LakehouseError> {
        unimplemented!()
    }

    /// Creates `models/staging/stg_<entity>.sql` selecting every column of
    /// `source('silver', '<entity>')` (refuses if it exists); returns its project path.
    pub async fn start_model(&self, entity: &str) -> Result<String, LakehouseError> {
        let _ = entity;
        unimplemented!()
    }
}
