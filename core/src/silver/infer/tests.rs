//! The inference's tests.
