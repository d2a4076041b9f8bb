//! `healthmon check`: `healthmon run --format nagios`, for Nagios/Icinga/NRPE.
//! Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one status line, long text,
//! perfdata.

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    healthmon check suites/local.yaml --rotate\n  \
    healthmon check suites/local.yaml --only 'rndtrip/ims1/*' --warning 5000 --critical 15000\n\
    Ranges (Nagios syntax, milliseconds of each case's total time): 10, 10:, ~:10, 10:20, @10:20.\n\
    --format is ignored: the output is always the plugin format.")]
#[group(skip)]
pub struct Args {
    #[command(flatten)]
    pub run: super::run::Args,
}

pub fn run(args: Args) -> i32 {
    let mut a = args.run;
    a.format = "nagios".into();
    super::run::run(a)
}
