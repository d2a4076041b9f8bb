//! files: disk and inode space, file existence/age/size, log freshness, dir counts (check_files).

use std::path::Path;

use crate::suite::checks::files::DEFAULT_FREE;
pub use crate::suite::checks::files::{DiskSpec, FilesSpec, PathCheck};
use crate::suite::duration::Dur;

/// Space and inodes of a filesystem (statvfs), percent free as df shows it:
/// available / (used + available), so blocks reserved for root count
/// neither way and `free + df's Use%` is 100. None for inodes when the
/// filesystem does not count them (f_files == 0).
pub fn disk_free(mount: &Path) -> std::io::Result<(f64, Option<f64>)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(mount.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in path"))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path, st a valid out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let pct = |total: u64, free: u64, avail: u64| {
        let base = total.saturating_sub(free) + avail;
        (total > 0 && base > 0).then(|| avail as f64 * 100.0 / base as f64)
    };
    let space = pct(st.f_blocks as u64, st.f_bfree as u64, st.f_bavail as u64).unwrap_or(0.0);
    let inodes = pct(st.f_files as u64, st.f_ffree as u64, st.f_favail as u64);
    Ok((space, inodes))
}

/// Disk space, inodes and path expectations, judged one by one; a path that
/// cannot be examined (permission denied) makes the check an error.
pub async fn check(spec: &FilesSpec, ctx: &super::Ctx<'_>) -> super::CheckOutcome {
    use crate::result::{ErrorKind, Observation, Status};
    let mut obs = Observation::default();
    let mut f = super::judge::Findings::default();
    for d in &spec.disks {
        let m = d.mount.display().to_string();
        let (space, inodes) = match disk_free(&d.mount) {
            Ok(v) => v,
            Err(e) => {
                let e = ctx.err("statvfs", ErrorKind::Local, format!("{m}: {e}"));
                return super::CheckOutcome::error(obs, e);
            }
        };
        let name = format!("free_percent:{m}");
        obs.metric(&name, space, "%");
        f.num(
            &name,
            space,
            d.free_percent.as_ref().unwrap_or(&DEFAULT_FREE),
        );
        if let Some(i) = inodes {
            let name = format!("inodes_free_percent:{m}");
            obs.metric(&name, i, "%");
            f.num(
                &name,
                i,
                d.inodes_free_percent.as_ref().unwrap_or(&DEFAULT_FREE),
            );
        }
    }
    for p in &spec.paths {
        let shown = p.path.display().to_string();
        let meta = match std::fs::metadata(&p.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if p.exists != Some(false) {
                    f.add(Status::Critical, format!("{shown} is missing"));
                }
                continue;
            }
            Err(e) => {
                let e = ctx.err("stat", ErrorKind::Local, format!("{shown}: {e}"));
                return super::CheckOutcome::error(obs, e);
            }
        };
        if p.exists == Some(false) {
            f.add(Status::Critical, format!("{shown} exists, expected absent"));
            continue;
        }
        if let Some(max) = p.max_age {
            let age = meta
                .modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .unwrap_or_default();
            obs.metric(&format!("age_s:{shown}"), age.as_secs_f64(), "s");
            if age > max.0 {
                let secs = Dur(std::time::Duration::from_secs(age.as_secs()));
                f.add(
                    Status::Critical,
                    format!("{shown} not modified for {secs} (max {max})"),
                );
            }
        }
        if let Some(max) = p.max_size {
            obs.metric(&format!("size_b:{shown}"), meta.len() as f64, "B");
            if meta.len() > max {
                f.add(
                    Status::Warning,
                    format!("{shown} is {} bytes > max {max}", meta.len()),
                );
            }
        }
        if let Some(lim) = &p.count {
            let n = match std::fs::read_dir(&p.path) {
                Ok(rd) => rd.count() as f64,
                Err(e) => {
                    let e = ctx.err("readdir", ErrorKind::Local, format!("{shown}: {e}"));
                    return super::CheckOutcome::error(obs, e);
                }
            };
            let name = format!("count:{shown}");
            obs.metric(&name, n, "");
            f.num(&name, n, lim);
        }
    }
    super::CheckOutcome::judged(obs, &f)
}
