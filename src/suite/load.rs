//! Read suite files. (Minimal loader; positions and full validation land in
//! pos.rs / validate.rs.)

use std::path::{Path, PathBuf};

use super::diag::{Diagnostic, Severity};
use super::model::SuiteSpec;

#[derive(Debug, Clone)]
pub struct LoadedSuite {
    pub path: PathBuf,
    pub spec: SuiteSpec,
}

pub fn load(path: &Path) -> Result<(LoadedSuite, Vec<Diagnostic>), Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic {
            severity: Severity::Error,
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            path: String::new(),
            message: format!("cannot read suite: {e}"),
            hint: None,
        }]
    })?;
    // serde_yaml 0.9 wants `!tag` for enums; the suite language uses `- queue: {...}`.
    let spec: SuiteSpec = serde_yaml::with::singleton_map_recursive::deserialize(
        serde_yaml::Deserializer::from_str(&text),
    )
    .map_err(|e| {
        let (line, col) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        vec![Diagnostic {
            severity: Severity::Error,
            file: path.to_path_buf(),
            line,
            col,
            path: String::new(),
            message: e.to_string(),
            hint: None,
        }]
    })?;
    Ok((
        LoadedSuite {
            path: path.to_path_buf(),
            spec,
        },
        vec![],
    ))
}

/// Load several suites; all errors of all files, or the suites plus warnings.
pub fn load_all(paths: &[PathBuf]) -> Result<(Vec<LoadedSuite>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut ok = Vec::new();
    let mut warns = Vec::new();
    let mut errs = Vec::new();
    for p in paths {
        match load(p) {
            Ok((s, w)) => {
                ok.push(s);
                warns.extend(w);
            }
            Err(e) => errs.extend(e),
        }
    }
    if errs.is_empty() {
        Ok((ok, warns))
    } else {
        Err(errs)
    }
}
