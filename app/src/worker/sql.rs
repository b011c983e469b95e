//! The worker's SQL console: it runs the page's queries over the warehouse and keeps
//! the last result, for the grid's pages and the downloads.
//!
//! One console serves every query until a run or a reset: its tables are resolved
//! afresh by each statement, but its views are planned when it opens, and opening it
//! parses the project and compiles every view.

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::{self, Either};
use medallion_core::lakehouse::{Lakehouse, LakehouseError};
use medallion_core::sql::{QueryOutput, SqlConsole, SqlError, SqlFailure};
use medallion_core::warehouse::ExportFormat;

use super::{Answer, Cancel};
use crate::protocol::Reply;

/// The console the queries run in, and the last query's result, kept until the next.
#[derive(Default)]
pub(super) struct LastResult {
    console: RefCell<Option<Rc<SqlConsole>>>,
    output: RefCell<Option<QueryOutput>>,
}

/// A failure that has no position in the SQL text.
pub(super) fn failure(message: String) -> Reply {
    Reply::QueryFailed {
        failure: SqlFailure {
            message,
            position: None,
            cancelled: false,
        },
    }
}

const NO_RESULT: &str = "no query result is kept: run a query first";

impl LastResult {
    /// The console, opened if none is kept.
    async fn console(&self, lakehouse: &Lakehouse) -> Result<Rc<SqlConsole>, LakehouseError> {
        if let Some(console) = self.console.borrow().as_ref() {
            return Ok(console.clone());
        }
        let console = Rc::new(lakehouse.sql_console().await?);
        *self.console.borrow_mut() = Some(console.clone());
        Ok(console)
    }

    /// Forgets the console, after a run or a reset changed what its views read.
    pub(super) fn forget_console(&self) {
        *self.console.borrow_mut() = None;
    }

    /// Runs `sql`, asking `cancel` after each batch; the result is kept. A cancel that
    /// arrives while an operator computes (an aggregate that sends its one batch at the
    /// end) drops the query there.
    pub(super) async fn run(&self, lakehouse: &Lakehouse, sql: &str, cancel: &Cancel) -> Reply {
        cancel.reset();
        // The previous result's memory goes before the next one is built.
        *self.output.borrow_mut() = None;
        let console = match self.console(lakehouse).await {
            Ok(console) => console,
            Err(err) => return failure(err.to_string()),
        };
        let mut stop = || cancel.get();
        let query = std::pin::pin!(console.run(sql, &mut stop));
        let stopped = std::pin::pin!(cancel.requested());
        let outcome = match future::select(query, stopped).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(((), _)) => Err(SqlError::Cancelled),
        };
        match outcome {
            Ok(output) => {
                let summary = Box::new(output.summary().clone());
                *self.output.borrow_mut() = Some(output);
                Reply::Query { summary }
            }
            Err(err) => Reply::QueryFailed {
                failure: err.failure(),
            },
        }
    }

    /// Rows `offset..offset + limit` of the result.
    pub(super) fn rows(&self, offset: u64, limit: usize) -> Result<Reply, String> {
        let last = self.output.borrow();
        let output = last.as_ref().ok_or(NO_RESULT)?;
        Ok(Reply::QueryRows {
            rows: output.rows(offset, limit),
        })
    }

    /// The result as a file.
    pub(super) fn export(&self, format: ExportFormat) -> Result<Answer, String> {
        let last = self.output.borrow();
        let output = last.as_ref().ok_or(NO_RESULT)?;
        let bytes = output.export(format).map_err(|err| err.to_string())?;
        Ok(Answer {
            reply: Reply::Export {
                file_name: format!("query.{}", format.extension()),
            },
            file: Some(bytes),
        })
    }

    /// Every table and view of the console, with its columns.
    pub(super) async fn tables(&self, lakehouse: &Lakehouse) -> Result<Reply, String> {
        let console = self
            .console(lakehouse)
            .await
            .map_err(|err| err.to_string())?;
        let tables = console.tables().await.map_err(|err| err.to_string())?;
        Ok(Reply::SqlTables { tables })
    }
}
