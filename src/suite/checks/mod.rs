//! Host checks as a suite declares them (`hosts.X.checks: [- queue: {...}]`):
//! each kind's YAML keys, its validation rules, the limits it puts on its
//! metrics and what it tells isolation. How a kind observes the machine
//! lives in `hostcheck::<kind>`, which imports its spec from here.
//!
//! A new kind: one file here (its spec + `impl CheckKind`), one line in
//! `check_kinds!` below, and its observation in `check/` (one file + one line).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::duration::Dur;
use super::limit::NumLimit;
use super::pos::join_key;
use super::proto::Proto;
use super::suggest::did_you_mean;

/// What one kind of host check is, apart from how it observes.
pub trait CheckKind {
    /// Optional name distinguishing two checks of one kind on one host.
    fn name(&self) -> Option<&str>;
    /// Report every problem of this spec at its key path (`path` is the
    /// kind's own key, e.g. `hosts.mta1.checks[0].queue`).
    fn validate<R: Rules>(&self, host: &str, path: &str, r: &mut R);
    /// Metric name → the limits this spec judges it against (the kind's own
    /// defaults included; what only the suite knows, such as an endpoint's
    /// certificate-expiry default, is not).
    fn limits(&self) -> Vec<(String, NumLimit)>;
    /// Whether the status page shows `limits()` next to the figures. Only
    /// the `thresholds:` kinds did when this was written; a kind that says
    /// true changes the page.
    fn limits_on_status_page(&self) -> bool;
    /// Files the monitor itself reads, relative to the suite file (load
    /// anchors them).
    fn local_files(&mut self) -> Vec<&mut PathBuf> {
        vec![]
    }
    /// What this check tells isolation about its host.
    fn hints(&self) -> Hints {
        Hints::default()
    }
}

/// Facts a host check knows that isolation's follow-up checks can use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hints {
    /// How the host's directory is looked up (bind DN and password
    /// reference, base, filter): isolation asks it the same way.
    pub ldap: Option<ldap::LdapSpec>,
    /// Postfix config directory of the host (`postqueue -c DIR`).
    pub queue_config_dir: Option<PathBuf>,
}

/// What a kind's validation may ask about the suite and say about its spec.
/// `suite::validate` implements it and places each finding at its key path.
pub trait Rules {
    fn err(&mut self, path: &str, message: impl Into<String>, hint: Option<String>);
    fn warn(&mut self, path: &str, message: impl Into<String>, hint: Option<String>);
    fn has_role(&self, host: &str, role: &str) -> bool;
    /// Protocols the host has endpoints for (declared, else from its roles).
    fn host_protos(&self, host: &str) -> Vec<Proto>;
    fn has_endpoint(&self, host: &str, proto: Proto) -> bool;
    /// `name` must be a host with one of `roles`; false (reported) otherwise.
    fn host_with_role(&mut self, path: &str, name: &str, what: &str, roles: &[&str]) -> bool;
    /// `host` must have an endpoint for one of `candidates` (reported otherwise).
    fn needs_endpoint(&mut self, path: &str, host: &str, candidates: &[Proto]);
    /// `parent.password_env` names a set, non-empty variable.
    fn secret_env(&mut self, parent: &str, var: Option<&str>);
    /// `parent.password_file` exists, is readable, and only by its owner.
    fn secret_file(&mut self, parent: &str, f: Option<&Path>);

    /// A warning limit above its critical limit can never warn first.
    fn ordered<T: PartialOrd + Display>(
        &mut self,
        path: &str,
        (wk, w): (&str, Option<T>),
        (ck, c): (&str, Option<T>),
    ) {
        if let (Some(w), Some(c)) = (w, c)
            && w > c
        {
            self.err(
                &join_key(path, wk),
                format!("{wk} ({w}) is above {ck} ({c})"),
                Some("warning must be reached first".into()),
            );
        }
    }

    fn num_limit(&mut self, path: &str, l: &NumLimit) {
        self.ordered(path, ("warning", l.warning), ("critical", l.critical));
        if let (Some(w), Some(c)) = (l.warning_below, l.critical_below)
            && w < c
        {
            self.err(
                &join_key(path, "warning_below"),
                format!("warning_below ({w}) is below critical_below ({c})"),
                Some("warning must be reached first".into()),
            );
        }
    }

    /// Limits per name; with `known`, names outside it are errors.
    fn num_limits(
        &mut self,
        path: &str,
        t: &BTreeMap<String, NumLimit>,
        known: Option<&[&str]>,
        what: &str,
    ) {
        for (k, l) in t {
            let p = join_key(path, k);
            if let Some(known) = known
                && !known.contains(&k.as_str())
            {
                let hint = did_you_mean(k, known.iter().copied());
                self.err(&p, format!("unknown {what} `{k}`"), hint);
                continue;
            }
            self.num_limit(&p, l);
        }
    }
}

/// The regex crate's error is a multi-line drawing; keep its last line.
pub(crate) fn regex_error(e: &regex::Error) -> String {
    let s = e.to_string();
    let last = s.lines().last().unwrap_or("").trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

/// A `latency` metric (ms) limited by `warning:` / `critical:` durations.
fn latency(warning: Option<Dur>, critical: Option<Dur>) -> Option<(String, NumLimit)> {
    let lim = NumLimit {
        warning: warning.map(|d| d.ms()),
        critical: critical.map(|d| d.ms()),
        ..NumLimit::default()
    };
    (warning.is_some() || critical.is_some()).then(|| ("latency".to_string(), lim))
}

/// Every `(metric, limits)` of a `thresholds:` map.
fn thresholds(m: &BTreeMap<String, NumLimit>) -> Vec<(String, NumLimit)> {
    m.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

/// The registry: one line per kind, `module => Variant(Spec)`. The module
/// name is the YAML key (serde's snake_case of the variant).
macro_rules! check_kinds {
    ($($m:ident => $V:ident($S:ident)),* $(,)?) => {
        $(pub mod $m;)*

        /// One host check, externally tagged: `- queue: {...}`.
        #[derive(Debug, Clone, Deserialize, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum CheckSpec {
            $($V($m::$S),)*
        }

        impl CheckSpec {
            /// Every kind's YAML key.
            pub const KINDS: &[&str] = &[$(stringify!($m),)*];
            pub fn kind(&self) -> &'static str {
                match self { $(Self::$V(_) => stringify!($m),)* }
            }
            pub fn name(&self) -> Option<&str> {
                match self { $(Self::$V(s) => s.name(),)* }
            }
            pub fn validate<R: Rules>(&self, host: &str, path: &str, r: &mut R) {
                match self { $(Self::$V(s) => s.validate(host, path, r),)* }
            }
            pub fn limits(&self) -> Vec<(String, NumLimit)> {
                match self { $(Self::$V(s) => s.limits(),)* }
            }
            pub fn limits_on_status_page(&self) -> bool {
                match self { $(Self::$V(s) => s.limits_on_status_page(),)* }
            }
            pub fn local_files(&mut self) -> Vec<&mut PathBuf> {
                match self { $(Self::$V(s) => s.local_files(),)* }
            }
            pub fn hints(&self) -> Hints {
                match self { $(Self::$V(s) => s.hints(),)* }
            }
        }

        #[cfg(test)]
        fn every_kind() -> Vec<CheckSpec> {
            vec![$(CheckSpec::$V(Default::default()),)*]
        }
    };
}

check_kinds! {
    queue => Queue(QueueSpec),
    system => System(SystemSpec),
    connections => Connections(ConnectionsSpec),
    processes => Processes(ProcessesSpec),
    files => Files(FilesSpec),
    ldap => Ldap(LdapSpec),
    port => Port(PortSpec),
    deferrals => Deferrals(DeferralsSpec),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_is_the_yaml_key() {
        for c in every_kind() {
            let v = serde_yaml::with::singleton_map::serialize(&c, serde_yaml::value::Serializer)
                .unwrap();
            let key = v.as_mapping().and_then(|m| m.keys().next()).cloned();
            assert_eq!(key.as_ref().and_then(|k| k.as_str()), Some(c.kind()));
        }
        assert_eq!(CheckSpec::KINDS.len(), every_kind().len());
    }

    #[test]
    fn every_kind_reports_the_limits_it_judges() {
        let y = r#"
- files: {disks: [{mount: /var}], paths: [{path: /d, count: {warning: 5}, max_size: 10}]}
- processes: {expect: [{process: master, max: 1, max_rss_mb: 100}]}
- port: {endpoint: smtp, warning: 500ms, cert_expiry_critical_days: 3}
- ldap: {base: 'dc=x', critical: 2s, replicas: [ldap2]}
"#;
        let checks: Vec<CheckSpec> = serde_yaml::with::singleton_map_recursive::deserialize(
            serde_yaml::Deserializer::from_str(y),
        )
        .unwrap();
        let names: Vec<Vec<String>> = checks
            .iter()
            .map(|c| c.limits().into_iter().map(|(n, _)| n).collect())
            .collect();
        let want: [&[&str]; 4] = [
            &[
                "free_percent:/var",
                "inodes_free_percent:/var",
                "size_b:/d",
                "count:/d",
            ],
            &["master_count", "master_rss_mb"],
            &["latency", "cert_days"],
            &["latency", "replication_lag:ldap2"],
        ];
        assert_eq!(names, want.map(|w| w.to_vec()).to_vec());
        let count = &checks[1].limits()[0].1;
        assert_eq!(
            (count.critical_below, count.critical),
            (Some(1.0), Some(1.0))
        );
        assert_eq!(checks[3].limits()[0].1.critical, Some(2000.0));
        // The status page shows only the thresholds kinds' limits (as before).
        assert!(checks.iter().all(|c| !c.limits_on_status_page()));
    }

    #[test]
    fn files_to_anchor_and_hints_for_isolation() {
        let y = "- ldap: {base: 'dc=x', password_file: pw}\n- queue: {config_dir: /etc/postfix}\n- system: {}\n";
        let mut checks: Vec<CheckSpec> = serde_yaml::with::singleton_map_recursive::deserialize(
            serde_yaml::Deserializer::from_str(y),
        )
        .unwrap();
        let files: Vec<String> = checks
            .iter_mut()
            .flat_map(|c| c.local_files())
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(files, ["pw"]);
        let hints: Vec<Hints> = checks.iter().map(|c| c.hints()).collect();
        assert_eq!(
            hints[0].ldap.as_ref().map(|l| l.base.as_str()),
            Some("dc=x")
        );
        let dir = hints[1].queue_config_dir.as_deref();
        assert_eq!(dir, Some(Path::new("/etc/postfix")));
        assert_eq!(hints[2], Hints::default());
    }
}
