//! validate --resolve endpoint probes (in progress).
