//! Column lineage on the fixture project and the bundled one.
