//! The worker's SCD2 history: the relations that keep versions, a key search and one
//! key's versions, all from core's [`Lakehouse`](medallion_core::lakehouse::Lakehouse).

use super::State;
use crate::protocol::{Reply, Request};

/// Keys a search sends at most.
const SEARCH_LIMIT: usize = 50;

/// Answers the history's requests.
pub(super) async fn handle(state: &State, request: Request) -> Result<Reply, String> {
    let lakehouse = &state.lakehouse;
    match request {
        Request::Scd2Relations => Ok(Reply::Scd2Relations {
            relations: lakehouse
                .scd2_relations()
                .await
                .map_err(|err| err.to_string())?,
        }),
        Request::Scd2Search { relation, query } => Ok(Reply::Scd2Matches {
            matches: lakehouse
                .scd2_search(&relation, &query, SEARCH_LIMIT)
                .await
                .map_err(|err| err.to_string())?,
            relation,
            query,
        }),
        Request::Scd2History { relation, key } => Ok(Reply::Scd2History {
            history: Box::new(
                lakehouse
                    .scd2_history(&relation, &key)
                    .await
                    .map_err(|err| err.to_string())?,
            ),
        }),
        other => Err(format!("not a history request: {other:?}")),
    }
}
