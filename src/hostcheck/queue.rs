//! queue: message counts per queue (Postfix, Sun/Oracle Messaging Server, Exim, any command).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::result::{ErrorKind, ProbeError, Status};
use crate::suite::duration::Dur;
pub use crate::suite::checks::queue::{POSTFIX_QUEUES, QueueMta, QueueSpec};

/// Deferral reasons listed in the `deferral_reasons` fact.
const TOP_REASONS: usize = 3;

/// What a queue probe measured before judging.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct QueueCounts {
    /// Queue (or channel) name → messages.
    pub counts: BTreeMap<String, u64>,
    /// Age of the oldest queued message, seconds.
    pub oldest_s: Option<f64>,
    /// `N× reason` lines, most frequent first.
    pub reasons: Vec<String>,
}

/// Count messages with the configured MTA's own tools, then judge counts
/// (per queue and `total`) and the oldest message's age.
pub async fn check(spec: &QueueSpec, ctx: &super::Ctx<'_>) -> super::CheckOutcome {
    use crate::result::Observation;
    let mut obs = Observation::default();
    let mta = spec.mta.unwrap_or(QueueMta::Postfix);
    let measured = match mta {
        QueueMta::Postfix => postfix(spec, ctx, &mut obs).await,
        QueueMta::Sun => {
            let argv = spec
                .command
                .clone()
                .unwrap_or_else(|| argv(&["imsimta", "qm", "counters", "show"]));
            super::run_command(ctx, "imsimta", &argv)
                .await
                .and_then(|out| {
                    parse_sun_counters(&out).map_err(|e| ctx.err("parse", ErrorKind::Protocol, e))
                })
        }
        QueueMta::Exim => {
            let argv = spec
                .command
                .clone()
                .unwrap_or_else(|| argv(&["exim", "-bpc"]));
            super::run_command(ctx, "exim", &argv)
                .await
                .and_then(|out| {
                    parse_command_output(&out).map_err(|e| ctx.err("parse", ErrorKind::Protocol, e))
                })
        }
        QueueMta::Command => match &spec.command {
            None => Err(ctx.err(
                "config",
                ErrorKind::Local,
                "mta: command needs `command: [prog, args...]`",
            )),
            Some(argv) => super::run_command(ctx, "command", argv)
                .await
                .and_then(|out| {
                    parse_command_output(&out).map_err(|e| ctx.err("parse", ErrorKind::Protocol, e))
                }),
        },
    };
    let q = match measured {
        Ok(q) => q,
        Err(e) => return super::CheckOutcome::error(obs, e),
    };
    judge(spec, mta, &q, ctx, obs)
}

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn judge(
    spec: &QueueSpec,
    mta: QueueMta,
    q: &QueueCounts,
    ctx: &super::Ctx<'_>,
    mut obs: crate::result::Observation,
) -> super::CheckOutcome {
    let mut f = super::judge::Findings::default();
    let total: u64 = q
        .counts
        .get("total")
        .copied()
        .unwrap_or_else(|| q.counts.values().sum());
    for (name, n) in &q.counts {
        obs.metric(name, *n as f64, "");
    }
    if !q.counts.contains_key("total") {
        obs.metric("total", total as f64, "");
    }
    for (name, lim) in &spec.thresholds {
        let v = match obs.metric_value(name) {
            Some(v) => v,
            // A Postfix queue name is a fixed set: a typo must not pass silently.
            None if mta == QueueMta::Postfix => {
                let e = ctx.err(
                    "config",
                    ErrorKind::Local,
                    format!(
                        "unknown queue `{name}` (one of: {}, total)",
                        POSTFIX_QUEUES.join(", ")
                    ),
                );
                return super::CheckOutcome::error(obs, e);
            }
            // Sun channels and command lines that are absent hold nothing.
            None => 0.0,
        };
        f.num(name, v, lim);
    }
    if let Some(age) = q.oldest_s {
        obs.metric("oldest_age", age, "s");
        let shown = Dur(std::time::Duration::from_secs(age as u64));
        if let Some(c) = spec.oldest_critical.filter(|c| age > c.0.as_secs_f64()) {
            f.add(
                Status::Critical,
                format!("oldest message {shown} > critical {c}"),
            );
        } else if let Some(w) = spec.oldest_warning.filter(|w| age > w.0.as_secs_f64()) {
            f.add(
                Status::Warning,
                format!("oldest message {shown} > warning {w}"),
            );
        }
    } else if total > 0 && (spec.oldest_warning.is_some() || spec.oldest_critical.is_some()) {
        let e = ctx.err(
            "oldest",
            ErrorKind::Local,
            "cannot tell the oldest message's age (postqueue -j unavailable)",
        );
        return super::CheckOutcome::error(obs, e);
    }
    if !q.reasons.is_empty() {
        obs.fact("deferral_reasons", q.reasons.join(" | "));
    }
    super::CheckOutcome::judged(obs, &f)
}

/// Postfix: count files per queue directory (cheap, no daemon needed), and
/// ask `postqueue -j` for ages and deferral reasons when anything is queued.
async fn postfix(
    spec: &QueueSpec,
    ctx: &super::Ctx<'_>,
    obs: &mut crate::result::Observation,
) -> Result<QueueCounts, ProbeError> {
    let (config, qdir) = match &spec.config_dir {
        Some(d) if d.join("main.cf").is_file() => (Some(d.clone()), None),
        Some(d) if d.join("deferred").is_dir() => (None, Some(d.clone())),
        Some(d) => {
            return Err(ctx.err(
                "config",
                ErrorKind::Local,
                format!(
                    "{} is neither a Postfix config directory (main.cf) nor a queue directory",
                    d.display()
                ),
            ));
        }
        None => (None, None),
    };
    let with_config = |tool: &str, rest: &[&str]| {
        let mut v = vec![tool.to_string()];
        if let Some(c) = &config {
            v.push("-c".into());
            v.push(c.display().to_string());
        }
        v.extend(rest.iter().map(|s| s.to_string()));
        v
    };
    let qdir = match qdir {
        Some(q) => q,
        None => {
            let out = super::run_command(
                ctx,
                "postconf",
                &with_config("postconf", &["-h", "queue_directory"]),
            )
            .await?;
            PathBuf::from(out.trim())
        }
    };
    obs.fact("queue_directory", qdir.display().to_string());
    // A queue of a million files takes a while to walk: off the async threads.
    let dir = qdir.clone();
    let walked = tokio::task::spawn_blocking(move || count_dirs(&dir))
        .await
        .unwrap_or_else(|e| Err(format!("queue walk failed: {e}")));
    let total: u64 = walked.as_ref().map(|c| c.values().sum()).unwrap_or(1);
    let mut q = QueueCounts::default();
    if let Ok(c) = &walked {
        q.counts = c.clone();
    }
    if total == 0 {
        return Ok(q);
    }
    let mut agg = PostqueueJson::new(chrono::Utc::now().timestamp() as f64);
    let argv = with_config("postqueue", &["-j"]);
    match super::command_lines(ctx, "postqueue", &argv, |l| agg.line(l)).await {
        Ok(()) => {
            let j = agg.finish();
            q.oldest_s = j.oldest_s;
            q.reasons = j.reasons;
            // postqueue read the queue after the walk: when it lists nothing,
            // what the walk saw (often our own probes in `active`) has left
            // meanwhile, and its counts are the later truth. Without this a
            // healthy MTA answers "cannot tell the oldest message's age".
            let listed: u64 = j.counts.values().sum();
            if walked.is_err() || listed == 0 {
                q.counts = j.counts;
            }
        }
        Err(e) if walked.is_ok() => obs.fact("postqueue", e.to_string()),
        Err(e) => {
            let why = walked.err().unwrap_or_default();
            return Err(ctx.err("postqueue", e.kind, format!("{why}; and {}", e.message)));
        }
    }
    Ok(q)
}

/// Files under each Postfix queue directory (hashed subdirectories included).
pub fn count_dirs(qdir: &std::path::Path) -> Result<BTreeMap<String, u64>, String> {
    // Postfix moves queue files while we read: an entry or hashed
    // subdirectory that vanished between listing and looking is not an
    // error, it just is not there any more.
    fn gone(e: &std::io::Error) -> bool {
        e.kind() == std::io::ErrorKind::NotFound
    }
    fn walk(p: &std::path::Path, n: &mut u64) -> std::io::Result<()> {
        for e in std::fs::read_dir(p)? {
            let e = e?;
            let t = match e.file_type() {
                Err(err) if gone(&err) => continue,
                t => t?,
            };
            if t.is_dir() {
                match walk(&e.path(), n) {
                    Err(err) if gone(&err) => {}
                    r => r?,
                }
            } else if t.is_file() {
                *n += 1;
            }
        }
        Ok(())
    }
    let mut m = BTreeMap::new();
    for name in POSTFIX_QUEUES {
        let mut n = 0;
        match walk(&qdir.join(name), &mut n) {
            Ok(()) => {}
            // maildrop or hold may not exist before first use.
            Err(e) if gone(&e) => {}
            Err(e) => return Err(format!("cannot read {}/{name}: {e}", qdir.display())),
        }
        m.insert(name.to_string(), n);
    }
    Ok(m)
}

/// Distinct deferral reasons remembered (the rest are counted as "other").
const MAX_REASONS: usize = 1000;

/// `postqueue -j` read line by line: one JSON object per message, folded
/// into counts, the oldest age and deferral reasons as it streams.
pub struct PostqueueJson {
    now: f64,
    q: QueueCounts,
    reasons: BTreeMap<String, usize>,
}

impl PostqueueJson {
    pub fn new(now: f64) -> Self {
        let mut q = QueueCounts::default();
        for n in POSTFIX_QUEUES {
            q.counts.insert(n.to_string(), 0);
        }
        PostqueueJson {
            now,
            q,
            reasons: BTreeMap::new(),
        }
    }
    pub fn line(&mut self, line: &str) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim()) else {
            return;
        };
        let queue = v["queue_name"].as_str().unwrap_or("unknown");
        if let Some(n) = self.q.counts.get_mut(queue) {
            *n += 1;
        } else {
            *self.q.counts.entry(super::bounded(queue, 40)).or_insert(0) += 1;
        }
        if let Some(t) = v["arrival_time"].as_f64() {
            let age = (self.now - t).max(0.0);
            self.q.oldest_s = Some(self.q.oldest_s.map_or(age, |o: f64| o.max(age)));
        }
        for r in v["recipients"].as_array().into_iter().flatten() {
            if let Some(reason) = r["delay_reason"].as_str() {
                let key = super::bounded(reason, 120);
                let full = self.reasons.len() >= MAX_REASONS && !self.reasons.contains_key(&key);
                let key = if full {
                    "(other reasons)".to_string()
                } else {
                    key
                };
                *self.reasons.entry(key).or_insert(0) += 1;
            }
        }
    }
    pub fn finish(mut self) -> QueueCounts {
        let mut top: Vec<(String, usize)> = std::mem::take(&mut self.reasons).into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        self.q.reasons = top
            .into_iter()
            .take(TOP_REASONS)
            .map(|(r, n)| format!("{n}× {r}"))
            .collect();
        self.q
    }
}

/// `postqueue -j` output at once (tests, small queues).
pub fn parse_postqueue_json(out: &str, now: f64) -> QueueCounts {
    let mut p = PostqueueJson::new(now);
    out.lines().for_each(|l| p.line(l));
    p.finish()
}

/// A bare number (`exim -bpc`: the total) or `name=count` pairs separated by
/// spaces or newlines (`maildrop=0 incoming=0 ...`).
pub fn parse_command_output(out: &str) -> Result<QueueCounts, String> {
    let mut q = QueueCounts::default();
    let t = out.trim();
    if let Ok(n) = t.parse::<u64>() {
        q.counts.insert("total".into(), n);
        return Ok(q);
    }
    for tok in t.split_whitespace() {
        let (k, v) = tok.split_once('=').ok_or_else(|| {
            format!(
                "expected a number or name=count, got `{}`",
                super::bounded(tok, 40)
            )
        })?;
        let n = v
            .parse::<u64>()
            .map_err(|_| format!("`{}`: count is not a number", super::bounded(tok, 40)))?;
        q.counts.insert(k.to_string(), n);
    }
    if q.counts.is_empty() {
        return Err("command printed nothing".into());
    }
    Ok(q)
}

/// Sun/Oracle Messaging Server `imsimta qm counters show`: one block per
/// channel (name alone on a line), then indented rows `Stored`, `Received`,
/// ... with Messages / Recipients / Blocks columns. `Stored` messages are the
/// ones waiting in that channel's queue; a `TOTAL` block, when present,
/// becomes `total`.
pub fn parse_sun_counters(out: &str) -> Result<QueueCounts, String> {
    let mut q = QueueCounts::default();
    let mut channel: Option<String> = None;
    let mut saw_header = false;
    for line in out.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("qm.maint>") || t.starts_with("qm.user>") {
            continue;
        }
        if t.starts_with("channel") && t.contains("Messages") {
            saw_header = true;
            continue;
        }
        if t.starts_with("---") {
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        if !indented {
            let name = t.split_whitespace().next().unwrap_or("").to_string();
            channel = Some(if name == "TOTAL" {
                "total".into()
            } else {
                name
            });
            continue;
        }
        let Some(ch) = &channel else { continue };
        let mut words = t.split_whitespace();
        if words.next() == Some("Stored") {
            let n = words
                .next()
                .and_then(|w| w.parse::<u64>().ok())
                .ok_or_else(|| format!("bad Stored line for channel {ch}: `{t}`"))?;
            q.counts.insert(ch.clone(), n);
        }
    }
    if !saw_header || q.counts.is_empty() {
        return Err("not `imsimta qm counters` output (no channel table with Stored rows)".into());
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_output_number_or_pairs() {
        assert_eq!(parse_command_output("17\n").unwrap().counts["total"], 17);
        let q = parse_command_output("maildrop=0 incoming=1 active=2 deferred=3 hold=4\n").unwrap();
        assert_eq!(q.counts["hold"], 4);
        assert_eq!(q.counts.len(), 5);
        assert!(parse_command_output("hello").is_err());
        assert!(parse_command_output("a=b").is_err());
        assert!(parse_command_output("").is_err());
    }

    #[test]
    fn postqueue_json_counts_age_and_reasons() {
        let out = r#"{"queue_name": "deferred", "queue_id": "A1", "arrival_time": 1000, "message_size": 10, "forced_expire": false, "sender": "a@x", "recipients": [{"address": "b@y", "delay_reason": "connect to y[1.2.3.4]:25: Connection refused"}]}
{"queue_name": "deferred", "queue_id": "A2", "arrival_time": 1500, "message_size": 10, "forced_expire": false, "sender": "a@x", "recipients": [{"address": "c@y", "delay_reason": "connect to y[1.2.3.4]:25: Connection refused"}, {"address": "d@z", "delay_reason": "host z said: 451 try later"}]}
{"queue_name": "hold", "queue_id": "A3", "arrival_time": 1900, "message_size": 10, "forced_expire": false, "sender": "a@x", "recipients": [{"address": "e@y"}]}
"#;
        let q = parse_postqueue_json(out, 2000.0);
        assert_eq!(q.counts["deferred"], 2);
        assert_eq!(q.counts["hold"], 1);
        assert_eq!(q.counts["active"], 0);
        assert_eq!(q.oldest_s, Some(1000.0));
        assert_eq!(
            q.reasons,
            vec![
                "2× connect to y[1.2.3.4]:25: Connection refused".to_string(),
                "1× host z said: 451 try later".to_string()
            ]
        );
    }

    #[test]
    fn sun_counters_sample_parses_stored_per_channel() {
        let text = include_str!("../../tests/fixtures/checks/sun-qm-counters.txt");
        let q = parse_sun_counters(text).unwrap();
        assert_eq!(q.counts["tcp_local"], 418);
        assert_eq!(q.counts["ims-ms"], 37);
        assert_eq!(q.counts["tcp_intranet"], 2);
        assert_eq!(q.counts["conversion"], 0);
        assert_eq!(q.counts.len(), 4);
        assert!(parse_sun_counters("imsimta: command not found").is_err());
        let with_total = "channel  Messages Recipients Blocks\nTOTAL\n  Stored   9  9  9\n";
        assert_eq!(parse_sun_counters(with_total).unwrap().counts["total"], 9);
    }
}
