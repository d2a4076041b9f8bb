//! YAML text → `serde_yaml::Value` plus a key-path → (line, column) index.
//!
//! serde_yaml keeps no node positions, so the suite is read once with
//! yaml-rust2's event parser: every mapping key and sequence item gets its
//! dotted path (`hosts.mta1.endpoints.smtp.port`, `roundtrip.matrix[0].submit[1]`)
//! and 1-based position. The same pass enforces what must hold before serde
//! sees the document: nesting depth, an alias budget (alias bombs), duplicate
//! keys (all of them, with positions), `${ENV}` expansion in string values.

use std::collections::HashMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::diag::{Diagnostic, Severity};

/// Deepest nesting of mappings and sequences a suite may use.
pub const MAX_DEPTH: usize = 64;
/// Aliases a file may use.
pub const MAX_ALIASES: usize = 256;
/// Nodes that aliases may add by expansion (a billion-laughs file hits this at once).
pub const MAX_ALIAS_NODES: usize = 10_000;

/// Key path → 1-based (line, column) of the key (or of the sequence item).
#[derive(Debug, Clone, Default)]
pub struct PosIndex {
    map: HashMap<String, (usize, usize)>,
}

impl PosIndex {
    pub fn get(&self, path: &str) -> Option<(usize, usize)> {
        self.map.get(path).copied()
    }

    /// Position of `path`, or of its nearest recorded ancestor, or 1:1.
    pub fn locate(&self, path: &str) -> (usize, usize) {
        let mut p = path;
        loop {
            if let Some(pos) = self.get(p) {
                return pos;
            }
            match parent(p) {
                Some(up) => p = up,
                None => return (1, 1),
            }
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// `a.b[2]` → `a.b`, `a.b` → `a`, `a` → `` (root), `` → None.
pub fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']') {
        if let Some(i) = path.rfind('[') {
            return Some(&path[..i]);
        }
    }
    Some(path.rfind('.').map(|i| &path[..i]).unwrap_or(""))
}

/// `parent.key`, or `key` at the root.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub fn join_index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// A parsed file: the value, its positions, and non-fatal problems
/// (duplicate keys, unset variables) that serde will not see.
pub struct Parsed {
    pub value: Value,
    pub index: PosIndex,
    pub problems: Vec<Diagnostic>,
}

enum Frame {
    Seq {
        path: String,
        items: Vec<Value>,
        anchor: usize,
        size: usize,
    },
    Map {
        path: String,
        map: Mapping,
        anchor: usize,
        size: usize,
        /// The key read, waiting for its value; `None` in the flag means a
        /// duplicate whose value is read and dropped.
        key: Option<(Option<String>, String)>,
        /// A sequence item whose position is the first key of this mapping
        /// (block mappings report their start oddly).
        item_path: Option<String>,
    },
}

struct Builder<'a> {
    file: &'a Path,
    stack: Vec<Frame>,
    index: PosIndex,
    anchors: HashMap<usize, (Value, usize)>,
    aliases: usize,
    alias_nodes: usize,
    problems: Vec<Diagnostic>,
    root: Option<Value>,
}

fn pos(m: &Marker) -> (usize, usize) {
    (m.line(), m.col() + 1)
}

fn diag(file: &Path, (line, col): (usize, usize), path: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.to_path_buf(),
        line,
        col,
        path: path.to_string(),
        message,
        hint: None,
    }
}

/// Parse one YAML document. `Err` holds a fatal problem (syntax, depth,
/// alias budget) — nothing else from this file is worth reporting then.
pub fn parse(file: &Path, text: &str) -> Result<Parsed, Vec<Diagnostic>> {
    let mut b = Builder {
        file,
        stack: Vec::new(),
        index: PosIndex::default(),
        anchors: HashMap::new(),
        aliases: 0,
        alias_nodes: 0,
        problems: Vec::new(),
        root: None,
    };
    b.index.map.insert(String::new(), (1, 1));
    let mut parser = Parser::new_from_str(text);
    let mut documents = 0;
    loop {
        let (ev, mark) = match parser.next_token() {
            Ok(x) => x,
            Err(e) => {
                let (line, col) = pos(e.marker());
                return Err(vec![diag(
                    file,
                    (line.max(1), col),
                    "",
                    format!("YAML syntax error: {}", e.info()),
                )]);
            }
        };
        match ev {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(vec![diag(
                        file,
                        pos(&mark),
                        "",
                        "a suite file holds one YAML document; found a second `---`".into(),
                    )]);
                }
            }
            Event::Alias(id) => b.alias(id, &mark)?,
            Event::Scalar(s, style, anchor, tag) => b.scalar(s, style, anchor, tag, &mark)?,
            Event::SequenceStart(anchor, tag) => {
                b.check_tag(tag.as_ref(), &mark);
                let path = b.child_path(&mark)?;
                b.push(
                    Frame::Seq {
                        path,
                        items: Vec::new(),
                        anchor,
                        size: 1,
                    },
                    &mark,
                )?;
            }
            Event::MappingStart(anchor, tag) => {
                b.check_tag(tag.as_ref(), &mark);
                let in_seq = matches!(b.stack.last(), Some(Frame::Seq { .. }));
                let path = b.child_path(&mark)?;
                let item_path = in_seq.then(|| path.clone());
                b.push(
                    Frame::Map {
                        path,
                        map: Mapping::new(),
                        anchor,
                        size: 1,
                        key: None,
                        item_path,
                    },
                    &mark,
                )?;
            }
            Event::SequenceEnd => match b.stack.pop() {
                Some(Frame::Seq {
                    items,
                    anchor,
                    size,
                    ..
                }) => b.finish(Value::Sequence(items), anchor, size),
                _ => unreachable!("parser emits balanced events"),
            },
            Event::MappingEnd => match b.stack.pop() {
                Some(Frame::Map {
                    map, anchor, size, ..
                }) => b.finish(Value::Mapping(map), anchor, size),
                _ => unreachable!("parser emits balanced events"),
            },
        }
    }
    // `<<: *anchor` merge keys (YAML 1.1, common in configs): the mapping's
    // own keys win over merged ones.
    let mut value = b.root.unwrap_or(Value::Null);
    if let Err(e) = value.apply_merge() {
        b.problems.push(diag(
            file,
            (1, 1),
            "",
            format!("invalid `<<` merge key: {e}"),
        ));
    }
    Ok(Parsed {
        value,
        index: b.index,
        problems: b.problems,
    })
}

impl Builder<'_> {
    fn fatal(&self, mark: &Marker, path: &str, message: String) -> Vec<Diagnostic> {
        // A path 64 levels deep says nothing a reader can use past its start.
        let path = match path.char_indices().nth(60) {
            Some((i, _)) => format!("{}...", &path[..i]),
            None => path.to_string(),
        };
        vec![diag(self.file, pos(mark), &path, message)]
    }

    fn check_tag(&mut self, tag: Option<&Tag>, mark: &Marker) {
        if let Some(t) = tag {
            if !(t.handle == "tag:yaml.org,2002:" || t.handle == "!!") {
                let path = self.current_path();
                self.problems.push(diag(
                    self.file,
                    pos(mark),
                    &path,
                    format!(
                        "YAML tag `{}{}` is not part of the suite language",
                        t.handle, t.suffix
                    ),
                ));
            }
        }
    }

    /// Path of the node that starts now; records the position of sequence items.
    fn child_path(&mut self, mark: &Marker) -> Result<String, Vec<Diagnostic>> {
        match self.stack.last() {
            None => Ok(String::new()),
            Some(Frame::Seq { path, items, .. }) => {
                let p = join_index(path, items.len());
                self.index.map.insert(p.clone(), pos(mark));
                Ok(p)
            }
            Some(Frame::Map { path, key, .. }) => match key {
                Some((_, k)) => Ok(join_key(path, k)),
                None => Err(self.fatal(
                    mark,
                    path,
                    "mapping keys must be plain scalars, not mappings or sequences".into(),
                )),
            },
        }
    }

    fn current_path(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { path, items, .. }) => join_index(path, items.len()),
            Some(Frame::Map { path, key, .. }) => match key {
                Some((_, k)) => join_key(path, k),
                None => path.clone(),
            },
        }
    }

    fn push(&mut self, f: Frame, mark: &Marker) -> Result<(), Vec<Diagnostic>> {
        if self.stack.len() >= MAX_DEPTH {
            let path = self.current_path();
            return Err(self.fatal(
                mark,
                &path,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.stack.push(f);
        Ok(())
    }

    fn alias(&mut self, id: usize, mark: &Marker) -> Result<(), Vec<Diagnostic>> {
        let path = self.current_path();
        self.aliases += 1;
        if self.aliases > MAX_ALIASES {
            return Err(self.fatal(
                mark,
                &path,
                format!("more than {MAX_ALIASES} aliases (`*name`) in one file"),
            ));
        }
        let Some((v, size)) = self.anchors.get(&id).cloned() else {
            return Err(self.fatal(mark, &path, "alias to an unknown anchor".into()));
        };
        self.alias_nodes += size;
        if self.alias_nodes > MAX_ALIAS_NODES {
            return Err(self.fatal(
                mark,
                &path,
                format!("aliases expand to more than {MAX_ALIAS_NODES} nodes (an alias bomb?)"),
            ));
        }
        if let Some(Frame::Map { key: None, .. }) = self.stack.last() {
            return Err(self.fatal(mark, &path, "an alias cannot be a mapping key".into()));
        }
        self.child_path(mark)?;
        self.add(v, size);
        Ok(())
    }

    fn scalar(
        &mut self,
        s: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<Tag>,
        mark: &Marker,
    ) -> Result<(), Vec<Diagnostic>> {
        self.check_tag(tag.as_ref(), mark);
        // A scalar in key position of a mapping: record the key.
        if let Some(Frame::Map {
            path,
            map,
            key: key @ None,
            item_path,
            ..
        }) = self.stack.last_mut()
        {
            let p = join_key(path, &s);
            let at = pos(mark);
            if let Some(ip) = item_path.take() {
                self.index.map.insert(ip, at);
            }
            let dup = map.contains_key(Value::String(s.clone()));
            let msg = format!("duplicate key `{s}`");
            *key = Some(((!dup).then(|| s.clone()), s));
            if dup {
                let first = self.index.get(&p).map_or(0, |(l, _)| l);
                self.problems.push(Diagnostic {
                    hint: Some(format!("first defined at line {first}")),
                    ..diag(self.file, at, &p, msg)
                });
            } else {
                self.index.map.insert(p, at);
            }
            return Ok(());
        }
        let path = self.child_path(mark)?;
        let quoted = !matches!(style, TScalarStyle::Plain);
        let text = match expand_env(&s) {
            Ok(t) => t,
            Err(var) => {
                self.problems.push(Diagnostic {
                    hint: Some("export it, or write `$${` for a literal `${`".into()),
                    ..diag(
                        self.file,
                        pos(mark),
                        &path,
                        format!("environment variable `{var}` is not set"),
                    )
                });
                s.clone()
            }
        };
        let v = if quoted || tag.as_ref().is_some_and(|t| t.suffix == "str") {
            Value::String(text)
        } else {
            resolve_plain(&text)
        };
        if anchor > 0 {
            self.anchors.insert(anchor, (v.clone(), 1));
        }
        self.add(v, 1);
        Ok(())
    }

    fn finish(&mut self, v: Value, anchor: usize, size: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (v.clone(), size));
        }
        self.add(v, size);
    }

    /// Hand a finished node to its parent.
    fn add(&mut self, v: Value, size: usize) {
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq { items, size: s, .. }) => {
                items.push(v);
                *s += size;
            }
            Some(Frame::Map {
                map, key, size: s, ..
            }) => {
                if let Some((keep, _)) = key.take() {
                    if let Some(k) = keep {
                        map.insert(Value::String(k), v);
                    }
                }
                *s += size;
            }
        }
    }
}

/// Expand `${NAME}`; `$${` is a literal `${`. Err names the first unset variable.
pub fn expand_env(s: &str) -> Result<String, String> {
    if !s.contains("${") {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(lit) = after.strip_prefix("${") {
            out.push_str("${");
            rest = lit;
        } else if let Some(body) = after.strip_prefix('{') {
            match body.find('}') {
                Some(end) => {
                    let name = &body[..end];
                    match std::env::var(name) {
                        Ok(v) => out.push_str(&v),
                        Err(_) => return Err(name.to_string()),
                    }
                    rest = &body[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// YAML 1.2 core schema for plain scalars: null, booleans, numbers, else string.
pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Number(f64::INFINITY.into());
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Number(f64::NEG_INFINITY.into()),
        ".nan" | ".NaN" | ".NAN" => return Value::Number(f64::NAN.into()),
        _ => {}
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = s.parse::<u64>() {
            return Value::Number(n.into());
        }
        if let Ok(n) = s.parse::<i64>() {
            return Value::Number(n.into());
        }
    }
    if let Some(h) = s.strip_prefix("0x") {
        if let Ok(n) = u64::from_str_radix(h, 16) {
            return Value::Number(n.into());
        }
    }
    if let Some(o) = s.strip_prefix("0o") {
        if let Ok(n) = u64::from_str_radix(o, 8) {
            return Value::Number(n.into());
        }
    }
    let looks_float = digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_float {
        if let Ok(f) = s.parse::<f64>() {
            return Value::Number(f.into());
        }
    }
    Value::String(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Parsed, Vec<Diagnostic>> {
        parse(Path::new("t.yaml"), text)
    }

    #[test]
    fn records_key_and_item_positions() {
        let r = p("hosts:\n  mta1:\n    port: 25\nlist:\n  - a\n  - x: 1\n    y: 2\n").unwrap();
        assert_eq!(r.index.get("hosts"), Some((1, 1)));
        assert_eq!(r.index.get("hosts.mta1"), Some((2, 3)));
        assert_eq!(r.index.get("hosts.mta1.port"), Some((3, 5)));
        assert_eq!(r.index.get("list[0]"), Some((5, 5)));
        assert_eq!(r.index.get("list[1]"), Some((6, 5)));
        assert_eq!(r.index.get("list[1].y"), Some((7, 5)));
        assert_eq!(r.index.locate("hosts.mta1.port.deeper[3]"), (3, 5));
        assert_eq!(
            r.value["hosts"]["mta1"]["port"],
            Value::Number(25u64.into())
        );
    }

    #[test]
    fn reports_every_duplicate_key() {
        let r = p("a: 1\nb: 2\na: 3\nb: 4\n").unwrap();
        let msgs: Vec<String> = r.problems.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            msgs,
            [
                "t.yaml:3:1: a: duplicate key `a` (first defined at line 1)",
                "t.yaml:4:1: b: duplicate key `b` (first defined at line 2)"
            ]
        );
        assert_eq!(r.value["a"], Value::Number(1u64.into()));
    }

    #[test]
    fn rejects_depth_and_alias_bombs() {
        let deep = "a: ".to_string() + &"[".repeat(70) + &"]".repeat(70);
        let e = p(&deep).err().unwrap();
        assert!(e[0].message.contains("nesting deeper than 64"), "{e:?}");
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (i, n) in ["b", "c", "d", "e", "f", "g"].iter().enumerate() {
            let prev = ["a", "b", "c", "d", "e", "f"][i];
            bomb += &format!("{n}: &{n} [{}]\n", vec![format!("*{prev}"); 9].join(", "));
        }
        let e = p(&bomb).err().unwrap();
        assert!(e[0].message.contains("alias bomb"), "{e:?}");
    }

    #[test]
    fn expands_env_and_types_plain_scalars() {
        // SAFETY: test-local variable name, set before reading.
        unsafe { std::env::set_var("HM_POS_TEST_PORT", "2525") };
        let r = p("port: ${HM_POS_TEST_PORT}\nq: '${HM_POS_TEST_PORT}'\nlit: $${X}\n").unwrap();
        assert_eq!(r.value["port"], Value::Number(2525u64.into()));
        assert_eq!(r.value["q"], Value::String("2525".into()));
        assert_eq!(r.value["lit"], Value::String("${X}".into()));
        let r = p("a: ${HM_POS_TEST_SURELY_UNSET}\n").unwrap();
        assert_eq!(
            r.problems[0].message,
            "environment variable `HM_POS_TEST_SURELY_UNSET` is not set"
        );
    }

    #[test]
    fn syntax_error_has_position() {
        let e = p("a:\n  b: 1\n c: 2\n").err().unwrap();
        assert_eq!((e[0].line, e[0].col), (3, 3));
        assert!(e[0].message.starts_with("YAML syntax error"));
    }

    #[test]
    fn merge_keys_apply() {
        let r = p("a: &a {x: 1, y: 2}\nb:\n  <<: *a\n  y: 3\n").unwrap();
        assert_eq!(r.value["b"]["x"], Value::Number(1u64.into()));
        assert_eq!(r.value["b"]["y"], Value::Number(3u64.into()));
        assert!(r.problems.is_empty());
    }

    #[test]
    fn plain_scalars() {
        assert_eq!(
            resolve_plain("127.0.0.1"),
            Value::String("127.0.0.1".into())
        );
        assert_eq!(resolve_plain("1.5"), Value::Number(1.5f64.into()));
        assert_eq!(resolve_plain("-3"), Value::Number((-3i64).into()));
        assert_eq!(resolve_plain("5s"), Value::String("5s".into()));
        assert_eq!(resolve_plain("~"), Value::Null);
    }
}
