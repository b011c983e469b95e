//! `derive`: new columns from SQL expressions.

use arrow::compute::cast;
use arrow::record_batch::RecordBatch;
use std::sync::Arc;

use datafusion::common::DFSchema;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::prelude::SessionContext;
use serde::Deserialize;

use crate::silver::transform::ColumnEffect;
use crate::silver::transform::{
    set_column, StepContext, StepOutput, Transform, TransformError, TypeName,
};

/// One derived column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DerivedColumn {
    /// The column's name; an existing column so named is replaced.
    pub name: String,
    /// A SQL expression over the row's columns (DataFusion's dialect).
    pub expr: String,
    /// The type to cast the result to.
    #[serde(default, rename = "type")]
    pub data_type: Option<TypeName>,
}

/// Adds columns computed by SQL expressions, in order, so a later one may use an
/// earlier one:
///
/// ```yaml
/// - transform: derive
///   columns:
///     - name: total_amount
///       expr: fare_amount + tip_amount
///       type: decimal(12,2)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derive {
    /// The columns to add.
    pub columns: Vec<DerivedColumn>,
}

impl DerivedColumn {
    /// The columns its expression reads, in order of appearance, each once (none if
    /// the expression does not parse: [`apply`](Transform::apply) reports that).
    pub fn inputs(&self) -> Vec<String> {
        use datafusion::sql::sqlparser::ast::{visit_expressions, Expr, Ident};
        use datafusion::sql::sqlparser::dialect::GenericDialect;
        use datafusion::sql::sqlparser::parser::Parser;
        use std::ops::ControlFlow;

        let Ok(expr) = Parser::new(&GenericDialect {})
            .try_with_sql(&self.expr)
            .and_then(|mut parser| parser.parse_expr())
        else {
            return Vec::new();
        };
        // Unquoted names are case-insensitive, as DataFusion reads them.
        let name = |ident: &Ident| match ident.quote_style {
            Some(_) => ident.value.clone(),
            None => ident.value.to_lowercase(),
        };
        let mut inputs: Vec<String> = Vec::new();
        let _ = visit_expressions(&expr, |expr| {
            let column = match expr {
                Expr::Identifier(ident) => Some(name(ident)),
                Expr::CompoundIdentifier(parts) => parts.last().map(name),
                _ => None,
            };
            if let Some(column) = column.filter(|column| !inputs.contains(column)) {
                inputs.push(column);
            }
            ControlFlow::<()>::Continue(())
        });
        inputs
    }

    fn evaluate(
        &self,
        session: &SessionContext,
        batch: &RecordBatch,
    ) -> Result<RecordBatch, TransformError> {
        let failed = |detail: String| TransformError::Expression {
            expr: self.expr.clone(),
            detail,
        };
        let schema = DFSchema::try_from(batch.schema().as_ref().clone())
            .map_err(|err| failed(err.to_string()))?;
        let expr = session
            .parse_sql_expr(&self.expr, &schema)
            .map_err(|err| failed(err.to_string()))?;
        // What the planner does before execution: coerce types, then rewrite calls such
        // as coalesce into the forms the physical layer runs.
        let simplifier = ExprSimplifier::new(
            SimplifyContext::builder()
                .with_schema(Arc::new(schema.clone()))
                .build(),
        );
        let expr = simplifier
            .coerce(expr, &schema)
            .and_then(|expr| simplifier.simplify(expr))
            .map_err(|err| failed(err.to_string()))?;
        let physical = session
            .create_physical_expr(expr, &schema)
            .map_err(|err| failed(err.to_string()))?;
        let mut values = physical
            .evaluate(batch)
            .and_then(|value| value.into_array(batch.num_rows()))
            .map_err(|err| failed(err.to_string()))?;
        if let Some(TypeName(data_type)) = &self.data_type {
            values = cast(&values, data_type).map_err(|err| failed(err.to_string()))?;
        }
        set_column(batch, &self.name, values)
    }
}

impl Transform for Derive {
    fn kind(&self) -> &'static str {
        "derive"
    }

    fn column_effects(&self) -> Vec<ColumnEffect> {
        self.columns
            .iter()
            .map(|column| ColumnEffect::Derives {
                column: column.name.clone(),
                inputs: column.inputs(),
            })
            .collect()
    }

    fn apply(&self, input: RecordBatch, _: &StepContext) -> Result<StepOutput, TransformError> {
        let session = SessionContext::new();
        let mut batch = input;
        for column in &self.columns {
            batch = column.evaluate(&session, &batch)?;
        }
        Ok(StepOutput::pass(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::silver::transforms::{strings, test_batch};
    use arrow::datatypes::DataType;

    fn derived(name: &str, expr: &str, data_type: Option<DataType>) -> DerivedColumn {
        DerivedColumn {
            name: name.to_owned(),
            expr: expr.to_owned(),
            data_type: data_type.map(TypeName),
        }
    }

    #[test]
    fn expressions_see_earlier_columns_and_nulls_propagate() {
        let input = test_batch(&[
            ("fare", &[Some("10.50"), None]),
            ("tip", &[Some("2"), Some("1")]),
        ]);
        let step = Derive {
            columns: vec![
                derived(
                    "total",
                    "CAST(fare AS DECIMAL(12,2)) + CAST(tip AS DECIMAL(12,2))",
                    Some(DataType::Decimal128(12, 2)),
                ),
                derived("big", "total > 10", None),
            ],
        };
        let out = step.apply(input, &StepContext::new()).unwrap();
        assert_eq!(strings(&out.rows, "total"), [Some("12.50".into()), None]);
        assert_eq!(strings(&out.rows, "big"), [Some("true".into()), None]);
    }

    #[test]
    fn inputs_are_the_columns_the_expression_reads() {
        let total = derived(
            "total",
            "fare + coalesce(t.Tip, 0) * \"Surge\" + fare",
            None,
        );
        assert_eq!(total.inputs(), ["fare", "tip", "Surge"]);
        assert!(derived("x", "1 +", None).inputs().is_empty());
    }

    #[test]
    fn a_bad_expression_names_itself() {
        let input = test_batch(&[("a", &[Some("1")])]);
        let step = Derive {
            columns: vec![derived("b", "nope + 1", None)],
        };
        let err = step.apply(input, &StepContext::new()).unwrap_err();
        assert!(
            err.to_string().starts_with("expression \"nope + 1\": "),
            "{err}"
        );
    }
}
