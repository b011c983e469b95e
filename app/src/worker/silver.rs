//! The worker's Silver pipeline view: an entity's steps with their switches, its last
//! run and quarantine, and a rerun of its Silver with a full refresh.

use super::{observe, Cancel, State};
use crate::protocol::{Reply, Request};

/// Answers the Silver view's requests.
pub(super) async fn handle(
    state: &State,
    request: Request,
    cancel: &Cancel,
) -> Result<Reply, String> {
    let lakehouse = &state.lakehouse;
    let view = match request {
        Request::SilverView { entity } => lakehouse.silver_view(&entity).await,
        Request::SetStepEnabled {
            entity,
            step,
            enabled,
        } => lakehouse.set_step_enabled(&entity, &step, enabled).await,
        Request::RestorePipeline { entity } => lakehouse.restore_pipeline(&entity).await,
        Request::RerunSilver { entity } => {
            cancel.reset();
            // The console's views read Silver, which the rerun rewrites.
            state.query.forget_console();
            let report = lakehouse
                .rerun_silver(&entity, &mut observe(cancel))
                .await
                .map_err(|err| err.to_string())?;
            return Ok(Reply::RunDone {
                summary: report.summary(),
            });
        }
        other => return Err(format!("not a Silver view request: {other:?}")),
    };
    Ok(Reply::SilverView {
        view: Box::new(view.map_err(|err| err.to_string())?),
    })
}
