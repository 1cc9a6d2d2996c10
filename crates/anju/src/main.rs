//! The anju binary (being written).
fn main() {}
