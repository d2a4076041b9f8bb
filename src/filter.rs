//! `--only` / `--skip` case filters (shared by `list` and `run`).
//!
//! Globs over case ids: `*` matches any run of characters, `/` included
//! (`rndtrip/ims1/*` selects every path of ims1), `?` exactly one character;
//! everything else matches itself.

#[derive(Debug, Clone, Default)]
pub struct Filter {
    only: Vec<String>,
    skip: Vec<String>,
}

impl Filter {
    pub fn new(only: Vec<String>, skip: Vec<String>) -> Filter {
        Filter { only, skip }
    }

    /// Selected: matches some `only` glob (or there are none) and no `skip` glob.
    pub fn matches(&self, id: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|g| glob(g, id)))
            && !self.skip.iter().any(|g| glob(g, id))
    }
}

/// Glob match with `*` and `?`, iterative with one backtrack point (linear
/// in practice, no recursion blow-up on patterns like `*a*a*a*`).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("rndtrip/ims1/*", "rndtrip/ims1/mta1/mmp2/pop3"));
        assert!(!glob("rndtrip/ims1/*", "rndtrip/ims2/mta1/mmp2/pop3"));
        assert!(glob("*/pop3", "rndtrip/ims1/mta1/mmp2/pop3"));
        assert!(glob("host/mta?/queue", "host/mta1/queue"));
        assert!(!glob("host/mta?/queue", "host/mta10/queue"));
        assert!(glob("*", ""));
        assert!(!glob("?", ""));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }

    #[test]
    fn only_and_skip() {
        let f = Filter::new(vec!["rndtrip/*".into()], vec!["*/imap".into()]);
        assert!(f.matches("rndtrip/ims1/mta1/mmp1/pop3"));
        assert!(!f.matches("rndtrip/ims1/mta1/mmp1/imap"));
        assert!(!f.matches("host/mta1/queue"));
        assert!(Filter::default().matches("anything"));
    }

    proptest::proptest! {
        #[test]
        fn literal_patterns_match_only_themselves(a in "[a-z/]{0,12}", b in "[a-z/]{0,12}") {
            proptest::prop_assert_eq!(glob(&a, &b), a == b);
        }

        #[test]
        fn star_prefix_matches_any_suffix(a in "[a-z/]{0,8}", b in "[a-z/]{0,8}") {
            let ab = format!("{a}{b}");
            let pat = format!("{a}*");
            proptest::prop_assert!(glob(&pat, &ab));
        }
    }
}
