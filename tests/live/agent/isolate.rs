//! Isolation on a multi-machine site: the central monitor is not the MTA,
//! so it asks mta1's agent where the probe sits; a held queue and deferred
//! deliveries are named `mta1/queue` exactly as on one machine.

use std::time::Duration;

use crate::support::agents;
use crate::support::isolate::{run, show};
use crate::support::site::{self, Fault};

use healthmon::result::Status;

#[test]
fn queue_faults_are_isolated_through_the_mta_agents_lookup() {
    let _site = site::site_exclusive();
    let d = tempfile::tempdir().unwrap();
    let port = agents::free_port_on_all();
    let suite = agents::agent_suite(d.path(), port);
    let a = agents::start(d.path(), &suite, "mta1", port);
    let reports = d.path().join("central");
    let only = [
        "rndtrip/ims4/mta1/store2/pop3",
        "rndtrip/ims4/mta2/store2/pop3",
    ];
    for (fault, queue) in [("hold", "hold"), ("defer", "deferred")] {
        let f = Fault::new(&["fault", fault, "mta1"], &["repair", fault, "mta1"]);
        let (s, _took) = run(&suite, &reports, &only);
        let v = s
            .verdicts
            .iter()
            .find(|v| v.key() == "mta1/queue")
            .unwrap_or_else(|| panic!("{fault}: no mta1/queue verdict:\n{}", show(&s)));
        let evidence = v.evidence.join("\n");
        assert!(evidence.contains(queue), "{fault}: {evidence}");
        // The look-up ran on mta1's agent (the central monitor has no agent role).
        let log = a.log();
        assert!(log.contains(&format!("on mta1: {queue}")), "{fault}: {log}");
        if fault == "hold" {
            held_message_is_found_by_message_id(&suite, &s);
        }
        let healthy = s.results.iter().find(|r| r.id == only[1]).unwrap();
        assert_eq!(healthy.status, Status::Pass, "{}", show(&s));
        drop(f);
        // Repaired: the probe is released and the path passes again.
        let ok = crate::support::modes::wait_for(Duration::from_secs(90), || {
            let (s, _) = run(&suite, &reports, &only[..1]);
            s.results
                .iter()
                .any(|r| r.id == only[0] && r.status == Status::Pass)
                .then_some(())
        });
        assert!(ok.is_some(), "{fault}: path did not pass after the repair");
    }
}

/// The agent's look-up by Message-ID finds the held probe (its queue id,
/// on hold), as a tool asking "where is this message" would.
fn held_message_is_found_by_message_id(suite: &std::path::Path, s: &healthmon::result::RunSummary) {
    let held = s.results.iter().find(|r| r.id.contains("/mta1/")).unwrap();
    let token = &held.observation.facts["token"];
    let qid = &held.observation.facts["queue_id"];
    let (suites, _) = healthmon::suite::load_all(&[suite.to_path_buf()]).unwrap();
    let spec = suites[0].spec.hosts["mta1"].agent.clone().unwrap();
    let path = format!(
        "{}?host=mta1&message_id=%3C{token}%40healthmon.invalid%3E",
        healthmon::probe::agent::QUEUE_PATH
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let got = rt
        .block_on(healthmon::probe::agent::get::<
            healthmon::probe::agent::QueueAnswer,
        >(&spec, &path, Duration::from_secs(20)))
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(&got.body.queue_id, qid);
    assert_eq!(
        got.body.at,
        healthmon::probe::agent::QueueWhere::Queued {
            queue: "hold".into(),
            reason: String::new()
        }
    );
}
