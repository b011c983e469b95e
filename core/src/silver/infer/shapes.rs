//! Generators of public datasets' shapes, for tests.
