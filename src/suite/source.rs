//! Where a key path was written: the files of one suite and the positions
//! of their keys, so a diagnostic about `hosts.mta1.address` can say
//! file:line:column (load records them, validate places its findings).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::diag::{Diagnostic, Severity};
use super::pos::{self, PosIndex};

/// Files of one suite (the suite first, then includes) and which file each
/// merged section key came from.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<(PathBuf, PosIndex)>,
    /// `defaults.timeout` → index in `files` of the file that set it.
    pub origin: BTreeMap<String, usize>,
    /// List items of the suite file dropped by error recovery.
    pub removed: Removed,
}

impl SourceMap {
    /// The file and position of a key path.
    pub fn locate(&self, key_path: &str) -> (&Path, usize, usize) {
        let file = self
            .origin
            .iter()
            .find(|(k, _)| {
                key_path == k.as_str()
                    || key_path
                        .strip_prefix(k.as_str())
                        .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
            })
            .map_or(0, |(_, &i)| i);
        match self.files.get(file) {
            Some((p, idx)) => {
                let (l, c) = idx.locate(key_path);
                (p, l, c)
            }
            None => (Path::new(""), 1, 1),
        }
    }

    /// A diagnostic placed at `key_path`.
    pub fn diag(
        &self,
        severity: Severity,
        key_path: &str,
        message: String,
        hint: Option<String>,
    ) -> Diagnostic {
        let key_path = &renumber(key_path, &self.removed);
        let (file, line, col) = self.locate(key_path);
        Diagnostic {
            severity,
            file: file.to_path_buf(),
            line,
            col,
            path: key_path.to_string(),
            message,
            hint,
        }
    }
}

/// Sequence items dropped by error recovery: original container path →
/// original indices (sorted), to map paths of the pruned value back.
pub type Removed = HashMap<String, Vec<usize>>;

/// The `index`-th surviving item of the sequence at (original) `container`.
pub(super) fn original_index(removed: &Removed, container: &str, index: usize) -> usize {
    let mut i = index;
    for g in removed.get(container).map(Vec::as_slice).unwrap_or(&[]) {
        if *g <= i {
            i += 1;
        }
    }
    i
}

/// A path into the pruned value → the path the user wrote.
pub fn renumber(path: &str, removed: &Removed) -> String {
    if removed.is_empty() {
        return path.to_string();
    }
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']').map(|c| (after[..c].parse::<usize>(), c)) {
            Some((Ok(i), close)) => {
                let i = original_index(removed, &out, i);
                out = pos::join_index(&out, i);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
