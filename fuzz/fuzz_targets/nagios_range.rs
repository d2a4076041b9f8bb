//! Nagios ranges (`--warning/--critical`, suite thresholds): parsing never
//! panics, and whatever parses prints back to a range that parses to the
//! same thing and alerts on the same values.
#![no_main]

use healthmon::nagios_range::Range;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(r) = text.parse::<Range>() else {
        return;
    };
    let printed = r.to_string();
    let back: Range = printed
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(back, r, "{text:?} → {printed:?}");
    for v in [r.start, r.end].into_iter().flatten() {
        for x in [v - 1.0, v, v + 1.0, 0.0, -0.0] {
            assert_eq!(back.alerts(x), r.alerts(x));
        }
    }
});
