//! Outbound and echo paths (the third route) → cases: `roundtrip.outbound`
//! (a site account submits to an external mailbox, read there) and
//! `roundtrip.echo` (a reflector sends the probe back into the site).
//! Their ids and labels are made by `build::roundtrip_case`.

use super::TestCase;
use super::build::{PathIn, roundtrip_case};
use crate::case::Route;
use crate::suite::model::{RoundtripSpec, SuiteSpec, protocols};

/// Every outbound and echo case of `rt`, in declaration order.
pub fn cases(s: &SuiteSpec, idx: usize, rt: &RoundtripSpec) -> Vec<TestCase> {
    let mut out = Vec::new();
    for o in &rt.outbound {
        for sub in &o.submit {
            for x in &o.to {
                for proto in protocols(&o.protocol) {
                    let p = PathIn {
                        route: Route::Outbound {
                            from: o.from.clone(),
                        },
                        account: x,
                        submit: sub,
                        via: o.via,
                        retrieve: x,
                        protocol: proto,
                        thresholds: o.thresholds.as_ref(),
                        timeout: o.timeout,
                        slot: None,
                    };
                    out.push(roundtrip_case(s, idx, p));
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
                    let p = PathIn {
                        route: Route::Echo {
                            from: e.from.clone(),
                            reflector: e.reflector.clone(),
                        },
                        account: &r.returns_to,
                        submit: sub,
                        via: e.via,
                        retrieve: ret,
                        protocol: proto,
                        thresholds: e.thresholds.as_ref(),
                        timeout: e.timeout,
                        slot: None,
                    };
                    out.push(roundtrip_case(s, idx, p));
                }
            }
        }
    }
    out
}
