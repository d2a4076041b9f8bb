//! The dependency direction of ARCHITECTURE.md, enforced: every `crate::`
//! path in `src/` (outside `#[cfg(test)]` code) must point to the module's
//! own layer or a lower one, and no files may import each other in a circle.
//! A textual scan on purpose: it needs no compiler plugin and reads exactly
//! what a reviewer reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Layers, lowest first. A top-level module may use modules of a lower rank
/// and itself; same rank, other module: forbidden (they are peers).
const LAYERS: &[(u8, &[&str])] = &[
    (
        0,
        &[
            "secret",
            "atomic",
            "exit",
            "token",
            "nagios_range",
            "logging",
            "logfile",
            "fmt",
        ],
    ),
    (1, &["suite", "filter", "logstats"]),
    (2, &["result"]),
    (3, &["case", "event"]),
    (4, &["probe"]),
    (5, &["hostcheck"]),
    (6, &["judge", "isolate"]),
    (7, &["report", "alert"]),
    (8, &["daily_report"]),
    (9, &["app"]),
    (10, &["status"]),
    (11, &["daemon"]),
    (12, &["cmd"]),
    (13, &["cli"]),
];

fn rank(top: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(_, mods)| mods.contains(&top))
        .map(|(r, _)| *r)
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `src/a/b.rs` → `["a","b"]`, `src/a/mod.rs` → `["a"]`.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs").to_string();
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem);
    }
    parts
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments, strings' contents and test modules.
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::new();
    for line in body.lines() {
        let l = line.trim_start();
        if l.starts_with("//") {
            continue;
        }
        // Drop string literals (an error message may mention `crate::x`).
        let mut in_str = false;
        let mut prev = ' ';
        let mut kept = String::new();
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                kept.push(c);
            }
            prev = c;
        }
        if let Some(i) = kept.find("//") {
            kept.truncate(i);
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every module path a file names: `crate::a::b::C` and the members of
/// `use crate::{a::X, b::{Y, Z}}` (only the first segment or two matter).
fn paths(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let s: String = bytes.iter().collect();
    for (start, prefix) in [("crate::", None), ("super::", Some(()))] {
        let mut from = 0;
        while let Some(i) = s[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && ident_char(s[..at].chars().last().unwrap()) {
                continue;
            }
            let base: Vec<String> = match prefix {
                None => vec![],
                // `super::` inside a/b.rs is `a`; inside a/mod.rs it is the parent of a.
                Some(()) => {
                    let mut b = me.to_vec();
                    b.pop();
                    b
                }
            };
            for tail in expand_tree(&s[from..]) {
                let mut p = base.clone();
                p.extend(tail);
                out.push(p);
            }
        }
    }
    out
}

/// `a::b::C;` → [[a,b,C]]; `{a::X, b::{Y}}` → [[a,X],[b,Y]].
fn expand_tree(rest: &str) -> Vec<Vec<String>> {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut depth = 1;
        let mut end = inner.len();
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let inner = &inner[..end];
        let mut items = Vec::new();
        let (mut depth, mut last) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[last..i]);
                    last = i + 1;
                }
                _ => {}
            }
        }
        items.push(&inner[last..]);
        return items
            .into_iter()
            .filter(|x| !x.trim().is_empty())
            .flat_map(expand_tree)
            .collect();
    }
    let mut segs = Vec::new();
    let mut cur = rest;
    loop {
        let n = cur.find(|c: char| !ident_char(c)).unwrap_or(cur.len());
        if n == 0 {
            break;
        }
        segs.push(cur[..n].to_string());
        cur = &cur[n..];
        if let Some(r) = cur.strip_prefix("::") {
            if r.starts_with('{') {
                return expand_tree(r)
                    .into_iter()
                    .map(|t| segs.iter().cloned().chain(t).collect())
                    .collect();
            }
            cur = r;
        } else {
            break;
        }
    }
    vec![segs]
}

struct Graph {
    /// module path → file (relative to src/)
    modules: BTreeMap<Vec<String>, PathBuf>,
    /// file → files it names
    edges: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
}

fn graph() -> Graph {
    let root = src();
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut modules = BTreeMap::new();
    for f in &all {
        let rel = f.strip_prefix(&root).unwrap().to_path_buf();
        // Test-only files (`#[cfg(test)] mod tests;`) may reach anywhere.
        if rel.file_name().is_some_and(|n| n == "tests.rs") || rel == Path::new("main.rs") {
            continue;
        }
        modules.insert(module_of(&rel), rel);
    }
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (me, rel) in &modules {
        let text = std::fs::read_to_string(root.join(rel)).unwrap();
        for p in paths(&code(&text), me) {
            // The longest prefix that is a module file.
            let target = (1..=p.len())
                .rev()
                .find_map(|n| modules.get(&p[..n]).cloned());
            if let Some(t) = target
                && &t != rel
            {
                edges.entry(rel.clone()).or_default().insert(t);
            }
        }
    }
    Graph { modules, edges }
}

#[test]
fn dependencies_point_down_the_layers() {
    let g = graph();
    let mut bad = Vec::new();
    for (from, tos) in &g.edges {
        let fm = module_of(from);
        let Some(ftop) = fm.first() else { continue };
        let Some(fr) = rank(ftop) else {
            bad.push(format!(
                "src/{}: module `{ftop}` has no layer in LAYERS",
                from.display()
            ));
            continue;
        };
        for to in tos {
            let tm = module_of(to);
            let Some(ttop) = tm.first() else { continue };
            let tr = rank(ttop).unwrap_or(u8::MAX);
            if ttop != ftop && tr >= fr {
                bad.push(format!(
                    "src/{} (layer {fr}) uses src/{} (layer {tr})",
                    from.display(),
                    to.display()
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "dependencies pointing up or sideways:\n{}",
        bad.join("\n")
    );
    // Guard against a scan that silently sees nothing.
    assert!(
        g.modules.len() > 50,
        "only {} modules found",
        g.modules.len()
    );
    assert!(g.edges.values().map(|s| s.len()).sum::<usize>() > 100);
}

/// Reporters are pure functions of finished results (hurl, nextest): the
/// per-run reporters, the daily report and the status page never judge,
/// expand, load or run anything. Suite *value* types (durations, limits) are
/// fine: they arrive inside the results.
#[test]
fn reporters_never_judge_or_read_config() {
    const REPORTERS: &[&str] = &["report/", "daily_report/", "status/"];
    const FORBIDDEN: &[&str] = &[
        "judge.rs",
        "isolate/",
        "case/",
        "app/",
        "probe/",
        "hostcheck/",
        "daemon/",
        "suite/load.rs",
        "suite/validate.rs",
        "suite/resolve.rs",
    ];
    let g = graph();
    let mut bad = Vec::new();
    for (from, tos) in &g.edges {
        let f = from.to_string_lossy();
        if !REPORTERS.iter().any(|r| f.starts_with(r)) {
            continue;
        }
        for to in tos {
            let t = to.to_string_lossy();
            if FORBIDDEN.iter().any(|x| t.starts_with(x)) {
                bad.push(format!("src/{f} uses src/{t}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "a reporter reaches past the results:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_import_circles_between_files() {
    let g = graph();
    // A parent module naming its own children (declaring, re-exporting,
    // dispatching) is not a circle; children using their parent is normal.
    let is_parent = |a: &Path, b: &Path| {
        let (ma, mb) = (module_of(a), module_of(b));
        a.file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs")
            && mb.len() > ma.len()
            && mb.starts_with(&ma)
    };
    let edges: BTreeMap<&PathBuf, Vec<&PathBuf>> = g
        .edges
        .iter()
        .map(|(a, bs)| (a, bs.iter().filter(|b| !is_parent(a, b)).collect()))
        .collect();
    // Tarjan's strongly connected components.
    struct T<'a> {
        edges: &'a BTreeMap<&'a PathBuf, Vec<&'a PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on: BTreeSet<&'a PathBuf>,
        next: usize,
        sccs: Vec<Vec<&'a PathBuf>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a PathBuf) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for &w in t.edges.get(v).map(|x| x.as_slice()).unwrap_or(&[]) {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut c = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                c.push(w);
                if w == v {
                    break;
                }
            }
            if c.len() > 1 {
                t.sccs.push(c);
            }
        }
    }
    let mut t = T {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        sccs: Vec::new(),
    };
    for v in g.modules.values() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    let circles: Vec<String> = t
        .sccs
        .iter()
        .map(|c| {
            c.iter()
                .map(|p| format!("src/{}", p.display()))
                .collect::<Vec<_>>()
                .join(" <-> ")
        })
        .collect();
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_scanner_sees_grouped_and_relative_imports() {
    let me = vec!["a".to_string(), "b".to_string()];
    let p = paths(
        &code(
            "use crate::{x::Y, z::{W, V}};\nlet q = crate::k::f();\nuse super::s::T;\n// crate::not\n",
        ),
        &me,
    );
    let firsts: BTreeSet<String> = p.iter().map(|v| v.join("::")).collect();
    for want in ["x::Y", "z::W", "z::V", "k::f", "a::s::T"] {
        assert!(firsts.contains(want), "{want} missing from {firsts:?}");
    }
    assert!(!firsts.iter().any(|f| f.contains("not")));
}
