//! A [`super::PipelineDraft`] as a pipeline file.
