//! Property tests: expansion ids are unique, value-free and deterministic for
//! generated suites; a generated suite written as YAML loads back to the same
//! cases, and the position index finds every host it declares.

use std::collections::{BTreeMap, BTreeSet};

use healthmon::case::expand::expand;
use healthmon::suite::model::*;
use proptest::prelude::*;

fn host(roles: &[&str], i: usize) -> HostSpec {
    HostSpec {
        roles: roles.iter().map(|r| r.to_string()).collect(),
        address: format!("127.0.9.{i}"),
        ..Default::default()
    }
}

prop_compose! {
    fn suite()(
        n_mta in 1usize..4, n_mmp in 1usize..3, n_store in 1usize..3, n_acct in 1usize..5,
        stores_of in proptest::collection::vec(0usize..3, 5),
        fronts_all in any::<bool>(),
        submit_mask in 1u8..16, retrieve_mask in 1u8..8,
        protos in prop::sample::subsequence(vec![RetrProto::Pop3, RetrProto::Imap], 1..=2),
        rotation in proptest::collection::vec((0u32..60, 0usize..5, 0usize..4, 0usize..3, any::<bool>()), 0..6),
        checks in proptest::collection::vec((0usize..4, 0usize..3), 0..6),
    ) -> SuiteSpec {
        let mut hosts = BTreeMap::new();
        let mtas: Vec<String> = (0..n_mta).map(|i| format!("mta{i}")).collect();
        let mmps: Vec<String> = (0..n_mmp).map(|i| format!("mmp{i}")).collect();
        let stores: Vec<String> = (0..n_store).map(|i| format!("store{i}")).collect();
        for (i, m) in mtas.iter().enumerate() {
            let mut h = host(&["mta"], i);
            for (j, k) in checks.iter().filter(|(h, _)| *h == i) .enumerate() {
                let name = Some(format!("c{j}"));
                h.checks.push(match k.1 {
                    0 => healthmon::hostcheck::CheckSpec::Queue(healthmon::hostcheck::queue::QueueSpec { name, ..Default::default() }),
                    1 => healthmon::hostcheck::CheckSpec::System(healthmon::hostcheck::system::SystemSpec { name, ..Default::default() }),
                    _ => healthmon::hostcheck::CheckSpec::Files(healthmon::hostcheck::files::FilesSpec { name, ..Default::default() }),
                });
            }
            hosts.insert(m.clone(), h);
        }
        for (i, m) in mmps.iter().enumerate() {
            let mut h = host(&["mmp"], 10 + i);
            if !fronts_all { h.fronts = vec![stores[0].clone()]; }
            hosts.insert(m.clone(), h);
        }
        for (i, s) in stores.iter().enumerate() {
            hosts.insert(s.clone(), host(&["store"], 20 + i));
        }
        let accounts: BTreeMap<String, AccountSpec> = (0..n_acct)
            .map(|i| (format!("u{i}"), AccountSpec {
                address: format!("u{i}@example.test"),
                store: stores[stores_of[i] % n_store].clone(),
                password_env: Some("HM_PROP_PASS".into()),
                ..Default::default()
            }))
            .collect();
        let pick = |mask: u8, from: &[String]| -> Vec<String> {
            from.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, s)| s.clone()).collect()
        };
        let mut submit = pick(submit_mask, &mtas);
        if submit.is_empty() { submit.push(mtas[0].clone()); }
        let mut retrieve = pick(retrieve_mask, &mmps);
        if retrieve_mask & 4 != 0 { retrieve.push("store".into()); }
        if retrieve.is_empty() { retrieve.push("store".into()); }
        let rot = rotation.iter().map(|(m, a, s, r, imap)| RotationSlot {
            minute: *m,
            account: format!("u{}", a % n_acct),
            submit: mtas[s % n_mta].clone(),
            retrieve: if r % 2 == 0 { mmps[r % n_mmp].clone() } else { "store".into() },
            protocol: if *imap { RetrProto::Imap } else { RetrProto::Pop3 },
            via: None,
        }).collect();
        SuiteSpec {
            site: "prop".into(),
            hosts,
            accounts,
            roundtrip: Some(RoundtripSpec {
                matrix: vec![MatrixSpec { submit, retrieve, protocol: protos, ..Default::default() }],
                rotation: rot,
                ..Default::default()
            }),
            security: vec![SecuritySpec::OpenRelay(OpenRelaySpec { host: mtas[0].clone(), ..Default::default() })],
            ..Default::default()
        }
    }
}

fn ids(s: &SuiteSpec) -> Vec<String> {
    expand(s, 0).into_iter().map(|c| c.id).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ids_are_unique_value_free_and_deterministic(s in suite()) {
        let a = ids(&s);
        let b = ids(&s.clone());
        prop_assert_eq!(&a, &b);
        let set: BTreeSet<&String> = a.iter().collect();
        prop_assert_eq!(set.len(), a.len(), "duplicate ids in {:?}", a);
        for id in &a {
            prop_assert!(
                id.starts_with("rndtrip/") || id.starts_with("security/") || id.starts_with("host/"),
                "{}", id
            );
            prop_assert!(!id.contains(char::is_whitespace) && !id.contains("127.0."), "{}", id);
        }
        // No retrieve through an MMP that does not front the account's store.
        for c in expand(&s, 0) {
            if let healthmon::case::CaseKind::Roundtrip(r) = &c.kind {
                if s.has_role(&r.retrieve, "mmp") && c.slot.is_none() {
                    let store = &s.accounts[&r.account].store;
                    prop_assert!(s.fronted_stores(&r.retrieve).contains(store), "{}", c.id);
                }
            }
        }
    }

    #[test]
    fn yaml_round_trip_loads_to_the_same_cases(s in suite()) {
        // SAFETY: every case sets the same value; no test reads it concurrently with a different expectation.
        unsafe { std::env::set_var("HM_PROP_PASS", "x") };
        let mut s = s;
        // Keep the generated suite valid: drop rotation slots the validator rejects.
        let snapshot = s.clone();
        if let Some(rt) = s.roundtrip.as_mut() {
            let mut seen = BTreeSet::new();
            rt.rotation.retain(|r| {
                let store = &snapshot.accounts[&r.account].store;
                let fronted = !snapshot.has_role(&r.retrieve, "mmp")
                    || snapshot.fronted_stores(&r.retrieve).contains(store);
                fronted && seen.insert(r.minute)
            });
        }
        let yaml = serde_yaml::with::singleton_map_recursive::serialize(&s, serde_yaml::value::Serializer).unwrap();
        let text = serde_yaml::to_string(&yaml).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, &text).unwrap();
        let (loaded, _warnings) = match healthmon::suite::load(&path) {
            Ok(x) => x,
            Err(e) => {
                let msgs: Vec<String> = e.iter().map(|d| d.to_string()).collect();
                return Err(TestCaseError::fail(format!("{}\n{text}", msgs.join("\n"))));
            }
        };
        prop_assert_eq!(ids(&loaded.spec), ids(&s));
        for name in s.hosts.keys() {
            let want = text.lines().position(|l| l.starts_with(&format!("  {name}:"))).unwrap() + 1;
            prop_assert_eq!(loaded.locate(&format!("hosts.{name}")), (want, 3));
        }
    }
}

/// The plain reading of the expansion rules, kept here as the reference
/// `case::plan` must match: every combination in order, first id wins, an
/// explicit path replaces the case at its place, a rotation entry sets the
/// slot of a case that is there or adds its own.
/// (id, rotation slot, the explicit path that made it) of each round trip.
type Rt = (String, Option<u32>, Option<String>);

fn reference(s: &SuiteSpec) -> (Vec<Rt>, usize, usize) {
    let mut list: Vec<Rt> = Vec::new();
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    let (mut skipped, mut dups) = (0, 0);
    let rt = s.roundtrip.as_ref().unwrap();
    let id = |a: &str, sub: &str, via: Option<Proto>, r: &str, p: RetrProto| {
        let r = if r == "store" {
            s.accounts[a].store.clone()
        } else {
            r.to_string()
        };
        healthmon::case::expand::roundtrip_id(a, sub, via.unwrap_or(Proto::Smtp), &r, p)
    };
    for m in &rt.matrix {
        for a in healthmon::case::expand::matrix_accounts(s, m) {
            for sub in &m.submit {
                for r in &m.retrieve {
                    let store = &s.accounts[a].store;
                    let no_path = (s.has_role(r, "mmp") && !s.fronted_stores(r).contains(store))
                        || (r != "store" && s.has_role(r, "store") && r != store);
                    for p in &m.protocol {
                        if no_path {
                            skipped += 1;
                            continue;
                        }
                        let i = id(a, sub, m.via, r, *p);
                        if at.contains_key(&i) {
                            dups += 1;
                        } else {
                            at.insert(i.clone(), list.len());
                            list.push((i, None, None));
                        }
                    }
                }
            }
        }
    }
    for (n, p) in rt.paths.iter().enumerate() {
        let i = id(&p.account, &p.submit, p.via, &p.retrieve, p.protocol);
        match at.get(&i) {
            Some(&k) => list[k].2 = Some(format!("path{n}")),
            None => {
                at.insert(i.clone(), list.len());
                list.push((i, None, Some(format!("path{n}"))));
            }
        }
    }
    for r in &rt.rotation {
        let i = id(&r.account, &r.submit, r.via, &r.retrieve, r.protocol);
        match at.get(&i) {
            Some(&k) => {
                list[k].1.get_or_insert(r.minute);
            }
            None => {
                at.insert(i.clone(), list.len());
                list.push((i, Some(r.minute), None));
            }
        }
    }
    (list, skipped, dups)
}

prop_compose! {
    /// suite() with a second, overlapping matrix, values listed twice and
    /// explicit paths (each with its own timeout, to tell it apart).
    fn busy_suite()(s in suite(), twice in any::<bool>(), via in any::<bool>(), n_paths in 0usize..4) -> SuiteSpec {
        let mut s = s;
        let rt = s.roundtrip.as_mut().unwrap();
        let mut m2 = rt.matrix[0].clone();
        m2.retrieve.reverse();
        m2.retrieve.push("store".into());
        if via { m2.via = Some(Proto::Smtp); }
        if twice {
            let first = rt.matrix[0].submit[0].clone();
            rt.matrix[0].submit.push(first);
            rt.matrix[0].protocol = vec![RetrProto::Imap, RetrProto::Pop3, RetrProto::Imap];
        }
        rt.matrix.push(m2);
        let accounts: Vec<String> = s.accounts.keys().cloned().collect();
        let mtas: Vec<String> = s.hosts.iter().filter(|(_, h)| h.roles.contains(&"mta".to_string())).map(|(n, _)| n.clone()).collect();
        for i in 0..n_paths {
            rt.paths.push(PathSpec {
                account: accounts[i % accounts.len()].clone(),
                submit: mtas[i % mtas.len()].clone(),
                retrieve: "store".into(),
                protocol: if i % 2 == 0 { RetrProto::Pop3 } else { RetrProto::Imap },
                timeout: Some(healthmon::suite::duration::Dur(std::time::Duration::from_secs(100 + i as u64))),
                ..Default::default()
            });
        }
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// `plan` streams exactly the reference's cases (ids, order, slots,
    /// which explicit path replaced which case) and counts skipped and
    /// duplicate combinations without making them.
    #[test]
    fn plan_matches_the_reference_expansion(s in busy_suite()) {
        let (want, skipped, dups) = reference(&s);
        let got: Vec<Rt> = expand(&s, 0)
            .into_iter()
            .filter(|c| c.id.starts_with("rndtrip/"))
            .map(|c| {
                let path = (c.timeout.as_secs() >= 100).then(|| format!("path{}", c.timeout.as_secs() - 100));
                (c.id, c.slot, path)
            })
            .collect();
        // The reference names the last path with an id; ids of paths are unique here
        // except when two paths collide, where both name the later one.
        prop_assert_eq!(&got, &want);
        let n = healthmon::case::plan::Plan::new(&s, 0).count();
        prop_assert_eq!(n.roundtrip, want.len());
        prop_assert_eq!(n.matrix_skipped, skipped);
        prop_assert_eq!(n.duplicates, dups);
        prop_assert_eq!(n.total(), expand(&s, 0).len());
    }
}
