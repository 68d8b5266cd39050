//! What talks to AWS: each service behind a trait, with the SDK implementation and a test
//! double.

pub mod budgets;
pub mod s3;
