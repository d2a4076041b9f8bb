//! Host checks (the seed's check_queues, check_sys, check_mconn, check_procs,
//! check_files, check_ldap): declared per host in the suite.
//!
//! goss's split: each kind's file says *what to assert* (its spec and judge);
//! how to observe the machine lives in `snapshot` and is taken once per run
//! and shared by every check. Adding a kind = one new file + one variant below.

use serde::{Deserialize, Serialize};

pub mod connections;
pub mod files;
pub mod ldap;
pub mod port;
pub mod processes;
pub mod queue;
pub mod system;

/// One host check, externally tagged: `- queue: {...}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckSpec {
    Queue(queue::QueueSpec),
    System(system::SystemSpec),
    Connections(connections::ConnectionsSpec),
    Processes(processes::ProcessesSpec),
    Files(files::FilesSpec),
    Ldap(ldap::LdapSpec),
    Port(port::PortSpec),
}

impl CheckSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            CheckSpec::Queue(_) => "queue",
            CheckSpec::System(_) => "system",
            CheckSpec::Connections(_) => "connections",
            CheckSpec::Processes(_) => "processes",
            CheckSpec::Files(_) => "files",
            CheckSpec::Ldap(_) => "ldap",
            CheckSpec::Port(_) => "port",
        }
    }
    /// Optional name distinguishing two checks of one kind on one host.
    pub fn name(&self) -> Option<&str> {
        match self {
            CheckSpec::Queue(s) => s.name.as_deref(),
            CheckSpec::System(s) => s.name.as_deref(),
            CheckSpec::Connections(s) => s.name.as_deref(),
            CheckSpec::Processes(s) => s.name.as_deref(),
            CheckSpec::Files(s) => s.name.as_deref(),
            CheckSpec::Ldap(s) => s.name.as_deref(),
            CheckSpec::Port(s) => s.name.as_deref(),
        }
    }
}
