//! deferrals: `postqueue -j` streamed (bounded per line, whole queue never
//! held), deferred recipients grouped by domain; judged on the age of the
//! longest-deferring domain and, if limited, the worst domain's count.

use std::collections::BTreeMap;

use crate::fmt::num;
use crate::result::{Observation, Status};
use crate::suite::duration::Dur;
pub use crate::suite::checks::deferrals::DeferralsSpec;

/// Domains tracked at most (a queue to a million domains stays bounded).
const MAX_DOMAINS: usize = 10_000;

/// One remote domain's deferred mail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Domain {
    pub messages: u64,
    /// Arrival time (Unix seconds) of its oldest deferred message.
    pub oldest: i64,
    /// The first deferral reason seen for it (one reason per domain is
    /// what an operator reads: they are nearly always the same).
    pub reason: String,
}

/// Fold one `postqueue -j` line into `by`.
pub fn add_line(line: &str, by: &mut BTreeMap<String, Domain>) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
        return;
    };
    if v.get("queue_name").and_then(|q| q.as_str()) != Some("deferred") {
        return;
    }
    let arrival = v.get("arrival_time").and_then(|a| a.as_i64()).unwrap_or(0);
    let rcpts = v.get("recipients").and_then(|r| r.as_array());
    let mut seen = Vec::new();
    for r in rcpts.into_iter().flatten() {
        let Some(addr) = r.get("address").and_then(|a| a.as_str()) else {
            continue;
        };
        let Some(reason) = r.get("delay_reason").and_then(|d| d.as_str()) else {
            continue;
        };
        let domain = addr.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
        if domain.is_empty() || seen.contains(&domain) {
            continue;
        }
        if by.len() >= MAX_DOMAINS && !by.contains_key(&domain) {
            continue;
        }
        let e = by.entry(domain.clone()).or_insert_with(|| Domain {
            oldest: arrival,
            reason: crate::probe::wire::sanitize(reason.as_bytes(), 200),
            ..Domain::default()
        });
        e.messages += 1;
        e.oldest = e.oldest.min(arrival);
        seen.push(domain);
    }
}

/// Domains by messages, then by age, most first.
pub fn ranked(by: &BTreeMap<String, Domain>) -> Vec<(&String, &Domain)> {
    let mut v: Vec<_> = by.iter().collect();
    v.sort_by(|a, b| b.1.messages.cmp(&a.1.messages).then(a.1.oldest.cmp(&b.1.oldest)));
    v
}

pub async fn check(spec: &DeferralsSpec, ctx: &super::Ctx<'_>) -> super::CheckOutcome {
    let mut obs = Observation::default();
    let mut argv = vec!["postqueue".to_string()];
    if let Some(d) = &spec.config_dir {
        argv.push("-c".into());
        argv.push(d.display().to_string());
    }
    argv.push("-j".into());
    let mut by = BTreeMap::new();
    if let Err(e) = super::command_lines(ctx, "postqueue", &argv, |l| add_line(l, &mut by)).await {
        return super::CheckOutcome::error(obs, e);
    }
    let now = chrono::Utc::now().timestamp();
    judge(spec, &by, now, &mut obs)
}

/// Metrics `deferred_domains`, `worst_domain_messages`, `oldest_deferring`
/// (s); fact `deferred_by_domain` (top N: `domain: N msgs, for AGE: reason`).
pub fn judge(
    spec: &DeferralsSpec,
    by: &BTreeMap<String, Domain>,
    now: i64,
    obs: &mut Observation,
) -> super::CheckOutcome {
    let mut f = super::judge::Findings::default();
    let ranked = ranked(by);
    let age = |d: &Domain| (now - d.oldest).max(0) as u64;
    let shown = |s: u64| Dur(std::time::Duration::from_secs(s)).to_string();
    obs.metric("deferred_domains", by.len() as f64, "");
    let worst = ranked.first().map(|(_, d)| d.messages).unwrap_or(0);
    obs.metric("worst_domain_messages", worst as f64, "");
    let longest = by.iter().max_by_key(|(_, d)| age(d));
    obs.metric(
        "oldest_deferring",
        longest.map(|(_, d)| age(d)).unwrap_or(0) as f64,
        "s",
    );
    if !ranked.is_empty() {
        let top: Vec<String> = ranked
            .iter()
            .take(spec.top())
            .map(|(n, d)| format!("{n}: {} msgs, for {}: {}", num(d.messages as f64), shown(age(d)), d.reason))
            .collect();
        obs.fact("deferred_by_domain", top.join(" | "));
    }
    if let Some((name, d)) = longest {
        let (w, c) = spec.oldest();
        let a = age(d);
        let st = if a as f64 > c.0.as_secs_f64() {
            Status::Critical
        } else if a as f64 > w.0.as_secs_f64() {
            Status::Warning
        } else {
            Status::Pass
        };
        f.add(
            st,
            format!("mail to {name} has been deferring for {}: {}", shown(a), d.reason),
        );
    }
    if let (Some(lim), Some((name, _))) = (&spec.messages, ranked.first()) {
        f.num(&format!("deferred to {name}"), worst as f64, lim);
    }
    super::CheckOutcome::judged(std::mem::take(obs), &f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = r#"{"queue_name":"deferred","queue_id":"A1","arrival_time":1000,"recipients":[{"address":"a@Example.COM","delay_reason":"host mx said: 421 rate limited"},{"address":"b@example.com","delay_reason":"host mx said: 421 rate limited"}]}
{"queue_name":"deferred","queue_id":"A2","arrival_time":1500,"recipients":[{"address":"c@example.com","delay_reason":"host mx said: 421 rate limited"}]}
{"queue_name":"deferred","queue_id":"A3","arrival_time":3000,"recipients":[{"address":"x@remote.test","delay_reason":"connect to 127.2.1.1[127.2.1.1]:25: Connection refused"}]}
{"queue_name":"active","queue_id":"A4","arrival_time":10,"recipients":[{"address":"y@other.test"}]}
{"queue_name":"hold","queue_id":"A5","arrival_time":10,"recipients":[{"address":"z@held.test"}]}
not json
"#;

    fn fold() -> BTreeMap<String, Domain> {
        let mut by = BTreeMap::new();
        Q.lines().for_each(|l| add_line(l, &mut by));
        by
    }

    #[test]
    fn groups_deferred_recipients_by_domain() {
        let by = fold();
        assert_eq!(by.len(), 2, "{by:?}");
        // One message to two recipients of one domain counts once.
        let e = &by["example.com"];
        assert_eq!((e.messages, e.oldest), (2, 1000));
        assert_eq!(e.reason, "host mx said: 421 rate limited");
        let r: Vec<&str> = ranked(&by).iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(r, ["example.com", "remote.test"]);
    }

    #[test]
    fn the_longest_deferring_domain_is_named_with_its_reason() {
        let by = fold();
        let spec = DeferralsSpec::default();
        let mut obs = Observation::default();
        // 40 minutes after example.com's oldest message.
        let out = judge(&spec, &by, 1000 + 2400, &mut obs);
        assert_eq!(out.status, Status::Warning, "{}", out.message);
        assert_eq!(
            out.message,
            "mail to example.com has been deferring for 40m: host mx said: 421 rate limited"
        );
        let f = &out.observation.facts["deferred_by_domain"];
        assert!(f.starts_with("example.com: 2 msgs, for 40m: host mx"), "{f}");
        assert!(f.contains(" | remote.test: 1 msgs, for 400s: connect to"), "{f}");
        let mut obs = Observation::default();
        assert_eq!(judge(&spec, &by, 1000 + 7200, &mut obs).status, Status::Critical);
        let mut obs = Observation::default();
        assert_eq!(judge(&spec, &BTreeMap::new(), 0, &mut obs).status, Status::Pass);
    }
}
