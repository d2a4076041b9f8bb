//! `healthmon report --send ROUTE`: the HTML report goes out as an HTML mail
//! through an smtp relay outside the site and as JSON to a webhook, and the
//! file is still written under <reports>/daily/.

use crate::support::alert::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_is_sent_as_html_mail_and_json_webhook() {
    let rx = Receiver::start().await;
    let (port, mails) = smtp_sink().await;
    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("reports");
    std::fs::create_dir_all(reports.join("results")).unwrap();
    for (m, failing) in [(0, false), (5, true), (10, true), (15, false)] {
        let r = run(m, failing);
        std::fs::write(
            reports.join("results").join(format!("{}.json", r.run_id)),
            serde_json::to_vec(&r).unwrap(),
        )
        .unwrap();
    }
    let suite = d.path().join("s.yaml");
    std::fs::write(
        &suite,
        format!(
            r#"{HOSTS}
alerting:
  channels:
    hook: {{webhook: {{url: "{}/report"}}}}
    mail: {{smtp_relay: {{host: 127.0.0.1, port: {port}, tls: none, from: hm@monitor.example.net, to: [ops@example.net]}}}}
  routes:
    - {{name: daily, alerts: false, channels: [mail, hook]}}
"#,
            rx.url
        ),
    )
    .unwrap();
    let (s2, r2) = (suite.clone(), reports.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_healthmon"))
            .args([
                "report",
                "--date",
                "2025-01-10",
                "--format",
                "html",
                "--send",
                "daily",
                "--reports",
            ])
            .arg(&r2)
            .arg(&s2)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("sent: ") && !err.contains("not sent"), "{err}");
    let file = std::fs::read_to_string(reports.join("daily/2025-01-10.html")).unwrap();
    assert!(file.starts_with("<!DOCTYPE html>"));

    let reqs = rx.take();
    assert_eq!(reqs.len(), 1);
    let b = reqs[0].json();
    assert_eq!(b["kind"], "report");
    assert_eq!(b["body_type"], "text/html");
    assert_eq!(b["body"].as_str().unwrap(), file);
    assert_eq!(b["report"]["runs"], 4);
    assert_eq!(b["report"]["incidents"][0]["key"], "store1");
    assert_eq!(b["report"]["incidents"][0]["failed_runs"], 2);

    let m = mails.lock().unwrap();
    assert_eq!(m.len(), 1);
    assert!(
        m[0].data
            .contains("Subject: [healthmon local] daily report 2025-01-10"),
        "{}",
        m[0].data
    );
    assert!(
        m[0].data.contains("Content-Type: text/html"),
        "{}",
        m[0].data
    );
    // Decoded as a mail client would: the HTML body is the file.
    let msg = mail_parser::MessageParser::default()
        .parse(m[0].data.as_bytes())
        .unwrap();
    // (mail turns line ends into CRLF)
    let got = msg.body_html(0).unwrap().replace("\r\n", "\n");
    assert_eq!(got.trim_end(), file.trim_end());
}
