//! Read suite files: YAML → positions + value (pos.rs) → typed spec, with
//! every problem reported, includes merged, relative paths anchored, and the
//! semantic checks of validate.rs. A suite that loads is valid.
//!
//! Error recovery: serde stops at the first error, so the loader deserializes,
//! records the error, prunes the offending node from the value and tries
//! again. Errors that are mere consequences of an earlier pruning (a missing
//! required key that was just pruned) are not reported twice. When pruning
//! had to drop more than an unknown or optional key, the semantic checks are
//! skipped: they would report the dropped node as missing.
//!
//! Include merge rule: `defaults`, `alerting` and `reports` merge key by key
//! (one level deep). The suite's own key wins; otherwise the first include
//! that sets it, in `include:` order, depth first (an included file's own
//! keys win over what it includes).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use serde_yaml::{Mapping, Value};

use super::diag::{Diagnostic, Secrets, Severity};
use super::model::{SharedSpec, SuiteSpec};
use super::pos::{self, PosIndex};
use super::source::{Removed, SourceMap, original_index};
use super::suggest::suggest;
use super::validate;

#[derive(Debug, Clone)]
pub struct LoadedSuite {
    pub path: PathBuf,
    pub spec: SuiteSpec,
    /// Positions of every key in the suite and its includes.
    pub pos: SourceMap,
}

impl LoadedSuite {
    /// 1-based (line, column) of a key path in the suite file (nearest ancestor
    /// when the path itself is not written, e.g. a default).
    pub fn locate(&self, key_path: &str) -> (usize, usize) {
        let (_, l, c) = self.pos.locate(key_path);
        (l, c)
    }
}

fn file_error(file: &Path, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.to_path_buf(),
        line: 1,
        col: 1,
        path: String::new(),
        message,
        hint: None,
    }
}

pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error)
}

/// Load, merge includes, validate. Err holds every error (and the warnings).
/// References only the monitoring host satisfies must be satisfied.
pub fn load(path: &Path) -> Result<(LoadedSuite, Vec<Diagnostic>), Vec<Diagnostic>> {
    load_with(path, Secrets::Required)
}

/// [`load`], with unset secret and file references as `secrets` says.
pub fn load_with(
    path: &Path,
    secrets: Secrets,
) -> Result<(LoadedSuite, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut src = SourceMap::default();
    let Some((mut spec, lossy)) = read_typed::<SuiteSpec>(path, &mut src, &mut diags) else {
        return Err(diags);
    };
    let dir = base_dir(path);
    anchor_suite_paths(&mut spec, &dir);
    let mut own = sections_of(&spec.defaults, &spec.alerting, &spec.reports, 0);
    let mut stack = vec![identity(path)];
    for (i, inc) in spec.include.clone().iter().enumerate() {
        let at = pos::join_index("include", i);
        if let Some(theirs) = include(&dir, inc, 0, &at, &mut stack, &mut src, &mut diags) {
            merge_sections(&mut own, theirs);
        }
    }
    spec.defaults = section_value(&own, "defaults", &mut src, &mut diags);
    spec.alerting = section_value(&own, "alerting", &mut src, &mut diags);
    spec.reports = section_value(&own, "reports", &mut src, &mut diags);
    if !lossy {
        diags.extend(validate::validate(&spec, &src));
    }
    absolutize_paths(&mut spec);
    settle_unset(&mut diags, secrets);
    sort(&mut diags, &src);
    if has_errors(&diags) {
        return Err(diags);
    }
    Ok((
        LoadedSuite {
            path: path.to_path_buf(),
            spec,
            pos: src,
        },
        diags,
    ))
}

/// [`Severity::Unset`] becomes an error or, for a dry run, a warning that
/// says what `run` will need.
fn settle_unset(diags: &mut [Diagnostic], secrets: Secrets) {
    for d in diags.iter_mut().filter(|d| d.severity == Severity::Unset) {
        match secrets {
            Secrets::Required => d.severity = Severity::Error,
            Secrets::Deferred => {
                d.severity = Severity::Warning;
                d.hint = Some(
                    "`run` needs it on the monitoring host; `validate --require-secrets` makes this an error".into(),
                );
            }
        }
    }
}

/// `load_all` for a command: warnings and errors go to stderr; errors give
/// the configuration exit code.
pub fn load_for_cli(paths: &[PathBuf]) -> Result<Vec<LoadedSuite>, i32> {
    load_for_cli_with(paths, Secrets::Required)
}

/// [`load_for_cli`] with unset references as `secrets` says.
pub fn load_for_cli_with(paths: &[PathBuf], secrets: Secrets) -> Result<Vec<LoadedSuite>, i32> {
    match load_all_with(paths, secrets) {
        Ok((suites, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            Ok(suites)
        }
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            Err(crate::exit::CONFIG)
        }
    }
}

/// Load several suites; all errors of all files, or the suites plus warnings.
pub fn load_all(paths: &[PathBuf]) -> Result<(Vec<LoadedSuite>, Vec<Diagnostic>), Vec<Diagnostic>> {
    load_all_with(paths, Secrets::Required)
}

/// [`load_all`] with unset references as `secrets` says.
pub fn load_all_with(
    paths: &[PathBuf],
    secrets: Secrets,
) -> Result<(Vec<LoadedSuite>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut ok = Vec::new();
    let mut warns = Vec::new();
    let mut errs = Vec::new();
    for p in paths {
        match load_with(p, secrets) {
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
        errs.extend(warns);
        Err(errs)
    }
}

/// Document order: by file (suite first), then line and column.
fn sort(diags: &mut [Diagnostic], src: &SourceMap) {
    let rank: HashMap<&Path, usize> = src
        .files
        .iter()
        .enumerate()
        .map(|(i, (p, _))| (p.as_path(), i))
        .collect();
    diags.sort_by_key(|d| {
        (
            rank.get(d.file.as_path()).copied().unwrap_or(usize::MAX),
            d.line,
            d.col,
        )
    });
}

fn base_dir(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// What identifies a file for cycle detection (canonical when it exists).
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Read, parse and deserialize one file; registers its positions in `src`.
/// None when nothing usable came out. The flag tells whether recovery had to
/// drop more than unknown or optional keys.
fn read_typed<T: DeserializeOwned>(
    path: &Path,
    src: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<(T, bool)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(file_error(path, format!("cannot read file: {e}")));
            return None;
        }
    };
    let parsed = match pos::parse(path, &text) {
        Ok(p) => p,
        Err(e) => {
            diags.extend(e);
            return None;
        }
    };
    diags.extend(parsed.problems);
    match parsed.value {
        Value::Mapping(_) => {}
        Value::Null => {
            diags.push(file_error(path, "the file is empty".into()));
            return None;
        }
        _ => {
            diags.push(file_error(
                path,
                "expected a mapping of keys at the top level (site:, hosts: ...)".into(),
            ));
            return None;
        }
    }
    let (typed, errs, lossy, removed) =
        deserialize_recovering::<T>(parsed.value, path, &parsed.index);
    diags.extend(errs);
    if src.files.is_empty() {
        src.removed = removed;
    }
    src.files.push((path.to_path_buf(), parsed.index));
    typed.map(|t| (t, lossy))
}

/// Deserialize, pruning each offending node and retrying, so every
/// independent error is reported with its key path and position. Returns
/// the value, the errors, whether a referent was dropped, and the items removed.
pub fn deserialize_recovering<T: DeserializeOwned>(
    mut v: Value,
    file: &Path,
    index: &PosIndex,
) -> (Option<T>, Vec<Diagnostic>, bool, Removed) {
    let mut diags = Vec::new();
    let mut lossy = false;
    let mut pruned: Vec<String> = Vec::new();
    // Keys an unknown key was taken for: `adress` → `hosts.mta1.address`.
    let mut meant: Vec<String> = Vec::new();
    // Original indices removed from each sequence (keyed by original path),
    // so later errors keep pointing at the item the user wrote.
    let mut removed: HashMap<String, Vec<usize>> = HashMap::new();
    for _ in 0..500 {
        let mut track = serde_path_to_error::Track::new();
        let res: Result<T, serde_yaml::Error> =
            serde_yaml::with::singleton_map_recursive::deserialize(
                serde_path_to_error::Deserializer::new(&v, &mut track),
            );
        let err = match res {
            Ok(t) => return (Some(t), diags, lossy, removed),
            Err(e) => e.to_string(),
        };
        let segs: Vec<Segment> = track.path().iter().cloned().collect();
        let (orig, cur) = original_path(&segs, &removed);
        // A required key that was just pruned is now "missing"; a singleton
        // map whose only key was pruned is now empty: nothing new to report.
        let consequence = match err.strip_prefix("missing field `") {
            Some(rest) => {
                let target = pos::join_key(&orig, rest.trim_end_matches('`'));
                pruned.iter().any(|p| is_within(p, &target)) || meant.contains(&target)
            }
            None => !orig.is_empty() && pruned.iter().any(|p| is_within(p, &orig)),
        };
        if !consequence {
            let (message, hint) = explain(&err, segs.last());
            if let (Some(h), Some(up)) = (&hint, pos::parent(&orig)) {
                if let Some(name) = h.strip_prefix("did you mean `") {
                    meant.push(pos::join_key(up, name.trim_end_matches("`?")));
                }
            }
            let (line, col) = index.locate(&orig);
            diags.push(Diagnostic {
                severity: Severity::Error,
                file: file.to_path_buf(),
                line,
                col,
                path: orig.clone(),
                message,
                hint,
            });
        }
        // Dropping a host, an account or an endpoint would make references
        // to it look wrong: the semantic checks are skipped then.
        if removes_referent(&cur) {
            lossy = true;
        }
        if cur.is_empty() || !prune(&mut v, &cur, &orig, &mut removed) {
            return (None, diags, true, removed);
        }
        pruned.push(orig);
    }
    (None, diags, true, removed)
}

/// One step of a path in the value as it is now.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Item(usize),
}

/// The user's path (with original sequence indices) and the current steps.
fn original_path(segs: &[Segment], removed: &HashMap<String, Vec<usize>>) -> (String, Vec<Step>) {
    let mut orig = String::new();
    let mut cur = Vec::new();
    for s in segs {
        match s {
            Segment::Map { key } => {
                orig = pos::join_key(&orig, key);
                cur.push(Step::Key(key.clone()));
            }
            Segment::Enum { variant } => {
                orig = pos::join_key(&orig, variant);
                cur.push(Step::Key(variant.clone()));
            }
            Segment::Seq { index } => {
                let i = original_index(removed, &orig, *index);
                orig = pos::join_index(&orig, i);
                cur.push(Step::Item(*index));
            }
            Segment::Unknown => break,
        }
    }
    (orig, cur)
}

/// `hosts.X`, `accounts.X`, `hosts.X.endpoints.Y` (or a whole section).
fn removes_referent(steps: &[Step]) -> bool {
    let key = |i: usize| match steps.get(i) {
        Some(Step::Key(k)) => Some(k.as_str()),
        _ => None,
    };
    match (key(0), steps.len()) {
        (Some("hosts" | "accounts"), 1 | 2) => true,
        (Some("hosts"), 4) => key(2) == Some("endpoints"),
        _ => false,
    }
}

/// True when `inner` is `outer` or lies below it.
fn is_within(inner: &str, outer: &str) -> bool {
    outer.is_empty()
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|r| r.starts_with('.') || r.starts_with('['))
}

fn prune(
    v: &mut Value,
    steps: &[Step],
    orig: &str,
    removed: &mut HashMap<String, Vec<usize>>,
) -> bool {
    let (last, up) = steps.split_last().expect("non-empty");
    let mut node = v;
    for s in up {
        node = match (s, node) {
            (Step::Key(k), Value::Mapping(m)) => match m.get_mut(k.as_str()) {
                Some(n) => n,
                None => return false,
            },
            (Step::Item(i), Value::Sequence(q)) => match q.get_mut(*i) {
                Some(n) => n,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, node) {
        (Step::Key(k), Value::Mapping(m)) => m.remove(k.as_str()).is_some(),
        (Step::Item(i), Value::Sequence(q)) if *i < q.len() => {
            q.remove(*i);
            if let Some(p) = pos::parent(orig) {
                let orig_i = orig
                    .rsplit_once('[')
                    .and_then(|(_, r)| r.trim_end_matches(']').parse().ok())
                    .unwrap_or(*i);
                let list = removed.entry(p.to_string()).or_default();
                list.push(orig_i);
                list.sort_unstable();
            }
            true
        }
        _ => false,
    }
}

/// serde's message → ours, with a "did you mean" hint for unknown names.
fn explain(err: &str, last: Option<&Segment>) -> (String, Option<String>) {
    let names = backticked(err);
    let last_key = match last {
        Some(Segment::Map { key }) => Some(key.as_str()),
        Some(Segment::Enum { variant }) => Some(variant.as_str()),
        _ => None,
    };
    if let Some(k) = last_key.filter(|k| holds_secret(k)) {
        return redact_secret_error(err, k);
    }
    if err.starts_with("unknown field") || err.starts_with("unknown variant") {
        let (bad, expected) = names.split_first().map_or(("", &[][..]), |(b, e)| (*b, e));
        let what = if err.starts_with("unknown field") || last_key == Some(bad) {
            "key"
        } else {
            "value"
        };
        let hint = match suggest(bad, expected.iter().copied()) {
            Some(s) => Some(format!("did you mean `{s}`?")),
            None if expected.is_empty() => None,
            None => Some(format!("expected one of: {}", expected.join(", "))),
        };
        return (format!("unknown {what} `{bad}`"), hint);
    }
    if let Some(f) = err.strip_prefix("missing field ") {
        return (format!("missing required key {f}"), None);
    }
    if err.starts_with("invalid type: integer") || err.starts_with("invalid type: floating point") {
        if err.ends_with("expected a string") {
            return (
                err.to_string(),
                Some("a duration needs a unit (`5s`, `500ms`); quote other values".into()),
            );
        }
    }
    if err.contains("expected map with a single key") {
        return (
            err.to_string(),
            Some("write each list item as `- kind: {...}`, one kind per item".into()),
        );
    }
    (err.to_string(), None)
}

/// Keys whose value is a secret when written inline (`password: 1234`, a
/// webhook `url` with a token in its path).
pub(crate) fn holds_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    !k.ends_with("_env")
        && !k.ends_with("_file")
        && ["password", "passwd", "secret", "token", "url"]
            .iter()
            .any(|w| k.contains(w))
}

/// A type error on a secret-bearing key, without the value serde quoted
/// (`invalid type: integer `12345678``): say what kind of value it was.
fn redact_secret_error(err: &str, key: &str) -> (String, Option<String>) {
    let kind = err
        .strip_prefix("invalid type: ")
        .and_then(|r| r.split([' ', ',']).next())
        .filter(|w| !w.is_empty());
    let message = match kind {
        Some("integer" | "floating") => "invalid type: a number, expected a string".to_string(),
        Some(k) => format!("invalid type: {k}, expected a string"),
        None => "invalid value".to_string(),
    };
    let hint = if key.to_ascii_lowercase().contains("url") {
        "value not shown: it may hold a token; quote it, or better give it by reference (url_env / url_file)"
    } else {
        "value not shown: it is a secret; quote it, or better give it by reference (password_env / password_file)"
    };
    (message, Some(hint.into()))
}

/// Names between backticks, in order.
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

// ---- includes ------------------------------------------------------------

/// Section name → key → (value, index of the file that set it).
type Sections = BTreeMap<&'static str, BTreeMap<String, (Value, usize)>>;

fn to_value<T: Serialize>(t: &T) -> Value {
    serde_yaml::with::singleton_map_recursive::serialize(t, serde_yaml::value::Serializer)
        .unwrap_or(Value::Null)
}

fn sections_of<D: Serialize, A: Serialize, R: Serialize>(
    defaults: &Option<D>,
    alerting: &Option<A>,
    reports: &Option<R>,
    file: usize,
) -> Sections {
    let mut out = Sections::new();
    for (name, v) in [
        ("defaults", defaults.as_ref().map(to_value)),
        ("alerting", alerting.as_ref().map(to_value)),
        ("reports", reports.as_ref().map(to_value)),
    ] {
        let keys = out.entry(name).or_default();
        if let Some(Value::Mapping(m)) = v {
            for (k, v) in m {
                if let (Value::String(k), false) = (k, v.is_null()) {
                    keys.insert(k, (v, file));
                }
            }
        }
    }
    out
}

/// Keys the first side lacks are taken from the second.
fn merge_sections(mine: &mut Sections, theirs: Sections) {
    for (name, keys) in theirs {
        let m = mine.entry(name).or_default();
        for (k, v) in keys {
            m.entry(k).or_insert(v);
        }
    }
}

/// Rebuild one merged section, recording where each key came from.
fn section_value<T: DeserializeOwned>(
    s: &Sections,
    name: &str,
    src: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    let keys = s.get(name).filter(|k| !k.is_empty())?;
    let mut m = Mapping::new();
    for (k, (v, file)) in keys {
        m.insert(Value::String(k.clone()), v.clone());
        src.origin.insert(pos::join_key(name, k), *file);
    }
    match serde_yaml::with::singleton_map_recursive::deserialize(Value::Mapping(m)) {
        Ok(t) => Some(t),
        Err(e) => {
            diags.push(src.diag(
                Severity::Error,
                name,
                format!("cannot merge includes: {e}"),
                None,
            ));
            None
        }
    }
}

/// Load one include (and, recursively, its includes); its sections merged.
fn include(
    dir: &Path,
    inc: &str,
    from: usize,
    at: &str,
    stack: &mut Vec<PathBuf>,
    src: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<Sections> {
    let path = dir.join(inc);
    let here = |src: &SourceMap| {
        let (f, line, col) = src
            .files
            .get(from)
            .map_or((Path::new(""), 1, 1), |(f, idx)| {
                let (l, c) = idx.locate(at);
                (f.as_path(), l, c)
            });
        (f.to_path_buf(), line, col)
    };
    if !path.is_file() {
        let (file, line, col) = here(src);
        diags.push(Diagnostic {
            severity: Severity::Error,
            file,
            line,
            col,
            path: at.to_string(),
            message: format!("included file `{}` does not exist", path.display()),
            hint: Some("include paths are relative to the including file".into()),
        });
        return None;
    }
    let id = identity(&path);
    if stack.contains(&id) {
        let (file, line, col) = here(src);
        let mut chain: Vec<String> = src
            .files
            .iter()
            .filter(|(p, _)| stack.contains(&identity(p)))
            .map(|(p, _)| p.display().to_string())
            .collect();
        chain.push(path.display().to_string());
        diags.push(Diagnostic {
            severity: Severity::Error,
            file,
            line,
            col,
            path: at.to_string(),
            message: format!("include cycle: {}", chain.join(" -> ")),
            hint: None,
        });
        return None;
    }
    let me = src.files.len();
    let (mut shared, _) = read_typed::<SharedSpec>(&path, src, diags)?;
    let inc_dir = base_dir(&path);
    anchor_shared_paths(&mut shared, &inc_dir);
    let mut own = sections_of(&shared.defaults, &shared.alerting, &shared.reports, me);
    stack.push(id);
    for (i, sub) in shared.include.iter().enumerate() {
        let sub_at = pos::join_index("include", i);
        if let Some(theirs) = include(&inc_dir, sub, me, &sub_at, stack, src, diags) {
            merge_sections(&mut own, theirs);
        }
    }
    stack.pop();
    Some(own)
}

// ---- relative paths --------------------------------------------------------

fn anchor(p: &mut PathBuf, dir: &Path) {
    if p.is_relative() && !p.as_os_str().is_empty() {
        *p = dir.join(&*p);
    }
}

fn anchor_tls(t: Option<&mut super::model::TlsSpec>, dir: &Path) {
    if let Some(f) = t.and_then(|t| t.ca_file.as_mut()) {
        anchor(f, dir);
    }
}

fn anchor_common(
    defaults: Option<&mut super::model::Defaults>,
    reports: Option<&mut super::model::ReportsSpec>,
    dir: &Path,
) {
    anchor_tls(defaults.and_then(|d| d.tls.as_mut()), dir);
    if let Some(r) = reports {
        for f in [r.dir.as_mut(), r.formats.as_mut()].into_iter().flatten() {
            anchor(f, dir);
        }
    }
}

fn anchor_shared_paths(s: &mut SharedSpec, dir: &Path) {
    anchor_common(s.defaults.as_mut(), s.reports.as_mut(), dir);
    // Alert routes name CA files, secret files and programs relative to the
    // file that declares them (usually etc/alarms.yaml).
    if let Some(a) = s.alerting.as_mut() {
        a.anchor_paths(dir);
    }
}

/// Files the monitor reads itself (CA bundles, password files, reports) are
/// relative to the suite; paths checked on monitored hosts are left alone.
fn anchor_suite_paths(s: &mut SuiteSpec, dir: &Path) {
    anchor_common(s.defaults.as_mut(), s.reports.as_mut(), dir);
    if let Some(a) = s.alerting.as_mut() {
        a.anchor_paths(dir);
    }
    for h in s.hosts.values_mut() {
        anchor_tls(h.tls.as_mut(), dir);
        for e in h.endpoints.values_mut() {
            anchor_tls(e.tls_options.as_mut(), dir);
        }
        for f in h.checks.iter_mut().flat_map(|c| c.local_files()) {
            anchor(f, dir);
        }
        for f in h.agent.iter_mut().flat_map(|a| a.local_files()) {
            anchor(f, dir);
        }
    }
    for a in s.accounts.values_mut() {
        if let Some(f) = a.password_file.as_mut() {
            anchor(f, dir);
        }
    }
    if let Some(k) = s.dkim.as_mut() {
        anchor(&mut k.key_file, dir);
    }
    for x in s.external.values_mut() {
        if let Some(f) = x.password_file.as_mut() {
            anchor(f, dir);
        }
        anchor_tls(x.tls.as_mut(), dir);
        for e in x.endpoints.values_mut() {
            anchor_tls(e.tls_options.as_mut(), dir);
        }
    }
}

/// After validation (whose messages show paths as the user can find them),
/// make every anchored path absolute.
fn absolutize_paths(s: &mut SuiteSpec) {
    let cwd = std::env::current_dir().unwrap_or_default();
    anchor_suite_paths(s, &cwd);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::source::renumber;

    #[test]
    fn original_indices_survive_pruning() {
        let mut removed = HashMap::new();
        removed.insert("a".to_string(), vec![0, 2]);
        let segs = vec![Segment::Map { key: "a".into() }, Segment::Seq { index: 1 }];
        // Survivors of [0,1,2,3] after removing 0 and 2 are [1,3]: index 1 is 3.
        assert_eq!(original_path(&segs, &removed).0, "a[3]");
        assert_eq!(renumber("a[1].b[0]", &removed), "a[3].b[0]");
        removed.insert("a[3].b".to_string(), vec![0]);
        assert_eq!(renumber("a[1].b[0].c", &removed), "a[3].b[1].c");
        assert_eq!(renumber("x[0]", &removed), "x[0]");
    }
}
