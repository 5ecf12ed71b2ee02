//! The `sidecar` daemon binary.
fn main() {}
