//! The suite language: model (serde types), loading with positions,
//! validation (every problem, with file:line:col), expansion into cases.

pub mod alerting;
pub mod diag;
pub mod duration;
pub mod expand;
pub mod load;
pub mod model;
pub mod pos;
pub mod resolve;
pub mod validate;

pub use diag::{Diagnostic, Severity};
pub use load::{LoadedSuite, load, load_all};
