//! SQL over the warehouse: charts of results.

pub mod chart;
