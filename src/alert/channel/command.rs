//! command: run a program (pager gateway, SMS script) with the notice as JSON
//! on stdin and HEALTHMON_* variables; killed at the timeout; a non-zero exit
//! status is a delivery failure (so the fallback and the spool take over).

use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::alert::notice::Notice;
use crate::suite::duration::Dur;
use crate::suite::alerting::command::Spec;

const STDERR_CAP: usize = 400;


/// The variables the program gets besides stdin.
pub fn env_of(n: &Notice) -> Vec<(&'static str, String)> {
    vec![
        ("HEALTHMON_KIND", n.kind.clone()),
        ("HEALTHMON_SITE", n.site.clone()),
        ("HEALTHMON_SUITE", n.suite.clone()),
        ("HEALTHMON_KEY", n.key.clone()),
        ("HEALTHMON_STATE", n.state.as_str().to_string()),
        ("HEALTHMON_SEVERITY", n.severity.clone()),
        ("HEALTHMON_RUN_ID", n.run_id.clone()),
        ("HEALTHMON_SUBJECT", n.subject()),
        ("HEALTHMON_MESSAGE", n.message.clone()),
    ]
}

pub async fn send(spec: &Spec, n: &Notice) -> Result<(), String> {
    let timeout = crate::suite::alerting::command::timeout(spec);
    let body = serde_json::to_vec(n).map_err(|e| e.to_string())?;
    let prog = spec.program.display().to_string();
    let mut child = tokio::process::Command::new(&spec.program)
        .args(&spec.args)
        .envs(env_of(n))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{prog}: cannot start: {e}"))?;
    let mut stdin = child.stdin.take();
    let mut stderr = child.stderr.take();
    let run = async {
        if let Some(mut s) = stdin.take() {
            // A program that ignores stdin may close it early: not an error.
            let _ = s.write_all(&body).await;
            let _ = s.shutdown().await;
        }
        let mut err = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(64 * 1024).read_to_end(&mut err).await;
        }
        let st = child.wait().await;
        (st, err)
    };
    match tokio::time::timeout(timeout, run).await {
        Err(_) => Err(format!("{prog}: timed out after {}", Dur(timeout))),
        Ok((Err(e), _)) => Err(format!("{prog}: {e}")),
        Ok((Ok(st), _)) if st.success() => Ok(()),
        Ok((Ok(st), err)) => {
            let mut e = String::from_utf8_lossy(&err).trim().replace('\n', " | ");
            if e.len() > STDERR_CAP {
                let cut = (0..=STDERR_CAP)
                    .rev()
                    .find(|i| e.is_char_boundary(*i))
                    .unwrap_or(0);
                e.truncate(cut);
                e.push('…');
            }
            Err(format!(
                "{prog}: exit status {}{}",
                st.code().map_or("signal".into(), |c| c.to_string()),
                if e.is_empty() {
                    String::new()
                } else {
                    format!(": {e}")
                }
            ))
        }
    }
}
