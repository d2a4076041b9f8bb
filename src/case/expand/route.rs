//! Outbound and echo paths (the third route) → cases. Ids say the route and
//! carry names only: `outbound/<from>/<submit>/<external>/<proto>` and
//! `echo/<from>/<submit>/<reflector>/<retrieve>/<proto>`; the submit part
//! carries `.<via>` when it is not `submission` (how customers send).

use std::collections::BTreeMap;

use super::{Cases, PathIn, roundtrip_case, submit_part};
use crate::case::Route;
use crate::suite::model::protocols;
use crate::suite::model::{Proto, RetrProto, RoundtripSpec, SuiteSpec};

/// Inbound probes come in like mail from the Internet (smtp); outbound and
/// echo probes leave as a customer's mail does (submission with AUTH).
pub(super) fn default_via(r: &Route) -> Proto {
    match r {
        Route::Inbound => Proto::Smtp,
        _ => Proto::Submission,
    }
}

pub(super) fn id(
    r: &Route,
    account: &str,
    submit: &str,
    via: Proto,
    retrieve: &str,
    proto: RetrProto,
) -> String {
    let sub = submit_part(submit, via, Proto::Submission);
    let p = proto.as_str();
    match r {
        Route::Inbound => unreachable!("inbound ids are roundtrip_id's"),
        Route::Outbound { from } => format!("outbound/{from}/{sub}/{account}/{p}"),
        Route::Echo { from, reflector } => {
            format!("echo/{from}/{sub}/{reflector}/{retrieve}/{p}")
        }
    }
}

/// Labels beyond the round trip's own: the route and who submits (inbound
/// cases keep exactly the labels they always had).
pub(super) fn labels(r: &Route, l: &mut BTreeMap<String, String>) {
    match r {
        Route::Inbound => {}
        Route::Outbound { from } => {
            l.insert("route".into(), r.name().into());
            l.insert("from".into(), from.clone());
        }
        Route::Echo { from, reflector } => {
            l.insert("route".into(), r.name().into());
            l.insert("from".into(), from.clone());
            l.insert("reflector".into(), reflector.clone());
        }
    }
}

pub(super) fn expand(s: &SuiteSpec, idx: usize, rt: &RoundtripSpec, out: &mut Cases) {
    for o in &rt.outbound {
        for sub in &o.submit {
            for x in &o.to {
                for proto in protocols(&o.protocol) {
                    let route = Route::Outbound {
                        from: o.from.clone(),
                    };
                    let p = PathIn {
                        route,
                        account: x,
                        submit: sub,
                        via: o.via,
                        retrieve: x,
                        protocol: proto,
                        thresholds: o.thresholds.as_ref(),
                        timeout: o.timeout,
                        slot: None,
                    };
                    out.push(roundtrip_case(s, idx, p), true);
                }
            }
        }
    }
    for e in &rt.echo {
        let Some(r) = s.reflectors.get(&e.reflector) else {
            continue;
        };
        for sub in &e.submit {
            for ret in &e.retrieve {
                for proto in protocols(&e.protocol) {
                    let route = Route::Echo {
                        from: e.from.clone(),
                        reflector: e.reflector.clone(),
                    };
                    let p = PathIn {
                        route,
                        account: &r.returns_to,
                        submit: sub,
                        via: e.via,
                        retrieve: ret,
                        protocol: proto,
                        thresholds: e.thresholds.as_ref(),
                        timeout: e.timeout,
                        slot: None,
                    };
                    out.push(roundtrip_case(s, idx, p), true);
                }
            }
        }
    }
}
