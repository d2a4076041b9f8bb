//! The suite language: model (serde types), loading with positions,
//! validation (every problem, with file:line:col). Expansion into cases is
//! `case::expand`.

pub mod agent;
pub mod alerting;
pub mod checks;
pub mod diag;
pub mod dmarc;
pub mod duration;
pub mod limit;
pub mod load;
pub mod model;
pub mod pin;
pub mod pos;
pub mod proto;
pub mod render;
pub mod resolve;
pub mod source;
pub mod spf;
pub mod suggest;
pub mod validate;

pub use diag::{Diagnostic, Secrets, Severity};
pub use load::{LoadedSuite, load, load_all};
pub use source::SourceMap;
