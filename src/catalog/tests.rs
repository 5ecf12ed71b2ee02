//! Unit tests of the merge rules.
