//! The worker's side of bringing your own data: a proposed Silver pipeline for an
//! entity without one, its preview as the user edits it, saving it (then Silver and
//! Gold run, so the new table is built and joins the `silver` source), and a staging
//! model started over it.

use medallion_core::lakehouse::{Lakehouse, Stage};

use super::{observe, send, Cancel, State};
use crate::protocol::{Reply, Request};

/// Answers the new-pipeline editor's and `Start a model`'s requests.
pub(super) async fn handle(
    state: &State,
    request: Request,
    cancel: &Cancel,
) -> Result<Reply, String> {
    let lakehouse = &state.lakehouse;
    match request {
        Request::ProposePipeline { entity } => Ok(Reply::PipelineProposal {
            proposal: Box::new(
                lakehouse
                    .propose_pipeline(&entity)
                    .await
                    .map_err(|err| err.to_string())?,
            ),
        }),
        Request::PreviewPipeline { draft } => Ok(Reply::PipelinePreview {
            preview: Box::new(Lakehouse::preview_pipeline(&draft)),
            entity: draft.entity,
        }),
        Request::SavePipeline { draft } => {
            let path = lakehouse
                .save_pipeline(&draft, false)
                .await
                .map_err(|err| err.to_string())?;
            cancel.reset();
            // The console's views read Silver and Gold, which the run rewrites.
            state.query.forget_console();
            // The file is saved whatever the run does: the page goes to its pipeline
            // either way, with the run's error if it failed.
            match lakehouse
                .run(&[Stage::Silver, Stage::Gold], &mut observe(cancel))
                .await
            {
                Ok(report) => send(&Reply::RunDone {
                    summary: report.summary(),
                }),
                Err(err) => send(&Reply::Error {
                    message: format!("{path} is saved, but its run failed: {err}"),
                }),
            }
            Ok(Reply::PipelineSaved {
                entity: draft.entity,
                path,
            })
        }
        Request::StartModel { entity } => Ok(Reply::ModelStarted {
            path: lakehouse
                .start_model(&entity)
                .await
                .map_err(|err| err.to_string())?,
        }),
        other => Err(format!("not a new-pipeline request: {other:?}")),
    }
}
