//! Alerts: state machine (when to notify) apart from channels (how to deliver).

pub mod config;
