//! log: one tracing line per notice. Always on (the router logs every notice
//! whether or not a route names it); declaring it lets a route log only.


pub use crate::suite::alerting::log::Spec;
use crate::alert::notice::Notice;



pub async fn send(_spec: &Spec, n: &Notice) -> Result<(), String> {
    emit(n);
    Ok(())
}

/// The line itself: key, state, severity and the one-line message only.
pub fn emit(n: &Notice) {
    match n.kind.as_str() {
        "alert" => tracing::warn!(
            target: "healthmon::alert",
            site = %n.site,
            key = %n.key,
            state = n.state.as_str(),
            severity = %n.severity,
            run = %n.run_id,
            "alert {} {}: {}",
            n.state.as_str(),
            n.key,
            n.message
        ),
        _ => {
            tracing::info!(target: "healthmon::alert", site = %n.site, run = %n.run_id, "{}", n.subject())
        }
    }
}

