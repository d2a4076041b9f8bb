//! The case selection `run` and `list` share, so `list` previews exactly
//! what `run` would run with the same flags.

use crate::app::{RunOptions, parse_shard};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Selection {
    /// Only cases whose id matches one of these globs (repeatable).
    #[arg(long)]
    pub only: Vec<String>,
    /// Skip cases whose id matches one of these globs (repeatable).
    #[arg(long)]
    pub skip: Vec<String>,
    /// Only the rotation path of the current slot of the hour (cron use).
    #[arg(long, conflicts_with = "slot")]
    pub rotate: bool,
    /// Only the rotation path of the slot in force at minute N (0-59).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..60))]
    pub slot: Option<u32>,
    /// Only the host checks of NAME (default: this machine's hostname).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub host: Option<String>,
    /// The K-th of N deterministic partitions of the cases (e.g. 2/3).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
}

impl Selection {
    /// The selection part of a run's options (isolation on).
    pub fn options(&self) -> RunOptions {
        let rotate_minute = match (self.rotate, self.slot) {
            (_, Some(n)) => Some(n),
            (true, None) => Some(chrono::Timelike::minute(&chrono::Local::now())),
            (false, None) => None,
        };
        RunOptions {
            only: self.only.clone(),
            skip: self.skip.clone(),
            rotate_minute,
            host: self.host.clone(),
            isolate: true,
            shard: self.shard,
        }
    }
}
