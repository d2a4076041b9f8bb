//! logstats inputs and robustness: gzip, several files, stdin, ISO/RFC 5424
//! stamps, the year turn, Sun Messaging Server records, malformed and
//! overlong lines, bounded queue state, per-host rows, output formats, and
//! `--follow` across a log rotation.

use crate::support::site;

use crate::support::loggen;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use healthmon::logstats::{self, Input, Options};
use serde_json::Value;

fn json_of(args: &[&str], stdin: Option<&[u8]>) -> Value {
    let mut c = Command::new(site::bin());
    c.arg("logstats").args(["--format", "json"]).args(args);
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    if let Some(data) = stdin {
        let mut sin = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || sin.write_all(&data));
    }
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "logstats {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn gen_log(dir: &Path, name: &str, kb: u64, hosts: &[&str]) -> (PathBuf, loggen::Truth) {
    let p = dir.join(name);
    let mut g = loggen::Gen::new(kb, hosts, 500);
    // Start shortly before midnight so every log crosses the turn of the year.
    g.start_at(23, 58);
    let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    g.write(&mut w, kb << 10).unwrap();
    g.drain(&mut w).unwrap();
    drop(w);
    (p, g.truth)
}

const TOTAL_KEYS: [&str; 9] = [
    "received",
    "delivered",
    "deferred",
    "deferrals",
    "bounced",
    "rejected",
    "bytes_received",
    "bytes_delivered",
    "forwarded",
];

fn same_totals(a: &Value, b: &Value, what: &str) {
    for k in TOTAL_KEYS {
        assert_eq!(a["total"][k], b["total"][k], "{what}: {k}");
    }
}

#[test]
fn gzip_split_files_and_stdin_give_the_same_totals() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, truth) = gen_log(dir.path(), "maillog", 3000, &["mx1"]);
    let data = std::fs::read(&whole).unwrap();
    // Split at a line boundary in the middle; the first part rotated and gzipped.
    let mid = data[..data.len() / 2]
        .iter()
        .rposition(|&c| c == b'\n')
        .unwrap()
        + 1;
    let old = dir.path().join("maillog.1.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&old).unwrap(),
        flate2::Compression::fast(),
    );
    gz.write_all(&data[..mid]).unwrap();
    gz.finish().unwrap();
    let new = dir.path().join("maillog.0");
    std::fs::write(&new, &data[mid..]).unwrap();

    let a = json_of(&[whole.to_str().unwrap()], None);
    let b = json_of(&[old.to_str().unwrap(), new.to_str().unwrap()], None);
    let c = json_of(&["-"], Some(&data));
    let d = json_of(&[], Some(&data));
    same_totals(&a, &b, "gz + plain");
    same_totals(&a, &c, "stdin '-'");
    same_totals(&a, &d, "stdin by default");
    assert_eq!(a["total"]["received"], truth.received);
    assert_eq!(b["lines"]["total"], truth.lines);
    // A queue id that spans the two files is still one message.
    assert_eq!(b["queue"]["open_at_end"], 0);
}

/// Rewrite RFC 3164 stamps of the generated log (Dec 31 .. Jan) as ISO 8601 / RFC 5424.
fn restamp(data: &str, iso5424: bool) -> String {
    let mut out = String::with_capacity(data.len() + data.len() / 4);
    for l in data.lines() {
        let (stamp, rest) = l.split_at(15);
        let (mon, day, time) = (&stamp[..3], stamp[4..6].trim(), &stamp[7..]);
        let (y, m) = if mon == "Dec" { (2030, 12) } else { (2031, 1) };
        let iso = format!(
            "{y}-{m:02}-{:02}T{time}.123456+01:00",
            day.parse::<u32>().unwrap()
        );
        if iso5424 {
            // "<22>1 ts host app procid - - msg"
            let rest = rest.trim_start();
            let (host, tail) = rest.split_once(' ').unwrap();
            let (tag, msg) = tail.split_once(": ").unwrap_or((tail, ""));
            let (app, pid) = tag
                .split_once('[')
                .map(|(a, p)| (a, p.trim_end_matches(']')))
                .unwrap_or((tag, "-"));
            out += &format!("<22>1 {iso} {host} {app} {pid} - - {msg}\n");
        } else {
            out += &format!("{iso}{rest}\n");
        }
    }
    out
}

#[test]
fn iso_and_rfc5424_stamps_and_the_year_turn() {
    let dir = tempfile::tempdir().unwrap();
    let (log, truth) = gen_log(dir.path(), "maillog", 1500, &["mx1"]);
    let data = std::fs::read_to_string(&log).unwrap();
    assert!(
        data.starts_with("Dec 31") && data.contains("\nJan  1 "),
        "generator crosses the year"
    );
    let classic = json_of(&["--year", "2030", log.to_str().unwrap()], None);
    assert_eq!(classic["first"], "2030-12-31 23:58:00");
    assert!(
        classic["last"].as_str().unwrap().starts_with("2031-01-01"),
        "{}",
        classic["last"]
    );
    for (name, iso5424) in [("iso", false), ("5424", true)] {
        let p = dir.path().join(name);
        std::fs::write(&p, restamp(&data, iso5424)).unwrap();
        let v = json_of(&[p.to_str().unwrap()], None);
        same_totals(&classic, &v, name);
        assert_eq!(v["first"], classic["first"], "{name}");
        assert_eq!(v["last"], classic["last"], "{name}");
        assert_eq!(v["lines"]["malformed"], 0, "{name}");
    }
    assert_eq!(classic["total"]["received"], truth.received);
    // Hourly intervals across midnight of Dec 31 → Jan 1 add up to the total.
    let hourly = json_of(
        &["--year", "2030", "--interval", "1h", log.to_str().unwrap()],
        None,
    );
    let ivs = hourly["intervals"].as_array().unwrap();
    assert!(
        ivs.iter().any(|r| r["start"] == "2031-01-01 00:00:00"),
        "{:?}",
        ivs.iter().map(|r| &r["start"]).collect::<Vec<_>>()
    );
    for k in ["received", "delivered", "rejected", "bytes_received"] {
        let sum: u64 = ivs.iter().map(|r| r[k].as_u64().unwrap()).sum();
        assert_eq!(sum, hourly["total"][k].as_u64().unwrap(), "{k}");
    }
}

#[test]
fn year_is_inferred_from_the_file_mtime() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m");
    std::fs::write(&p, "Dec 31 23:59:59 h postfix/smtpd[1]: A1: client=x[1.2.3.4]\nJan  1 00:00:01 h postfix/smtpd[1]: A2: client=x[1.2.3.4]\n").unwrap();
    // mtime: 2031-01-02 → the December line is 2030's.
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_925_078_400);
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(t)
        .unwrap();
    let s = logstats::analyze(&[Input::Path(p)], &Options::default());
    assert_eq!(
        s.first.map(logstats::timestamp::format_secs).as_deref(),
        Some("2030-12-31 23:59:59")
    );
    assert_eq!(s.last.map(|x| x - s.first.unwrap()), Some(2));
}

#[test]
fn sun_messaging_server_sample() {
    let p = site::root().join("tests/fixtures/logstats/sun-mail.log_current");
    let v = json_of(&[p.to_str().unwrap()], None);
    let t = &v["total"];
    // 5 messages enqueued (8 E records: one per recipient), 7 dequeued, one
    // message deferred twice, one rejected at dequeue with a notice, two enqueue rejections.
    assert_eq!(
        (t["received"].as_u64(), t["delivered"].as_u64()),
        (Some(5), Some(7))
    );
    assert_eq!(
        (t["deferred"].as_u64(), t["deferrals"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(
        (t["bounced"].as_u64(), t["rejected"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(t["rejected_by_class"]["relay"], 1);
    assert_eq!(t["rejected_by_class"]["unknown_user"], 1);
    // Sizes are in 1 KiB blocks: 2+5+14+2+120 received, 2+5+14+14+2+120+5 delivered.
    assert_eq!(t["bytes_received"], 143 * 1024);
    assert_eq!(t["bytes_delivered"], 162 * 1024);
    assert_eq!(t["size"]["max"], 120 * 1024);
    assert_eq!(v["lines"]["malformed"], 1, "the truncated record");
    assert_eq!(v["top_recipient_domains"][0]["key"], "siroe.example");
    assert_eq!(v["top_recipient_domains"][0]["count"], 4);
    assert_eq!(v["top_recipient_domains"][1]["key"], "varrius.example");
    // BLOCK_SIZE other than 1 KiB.
    let v = json_of(&["--sun-block-size", "512", p.to_str().unwrap()], None);
    assert_eq!(v["total"]["bytes_received"], 143 * 512);
}

#[test]
fn malformed_binary_and_overlong_lines_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad");
    let mut f = std::fs::File::create(&p).unwrap();
    let good = b"Nov 28 10:00:00 h postfix/smtpd[1]: A1: client=x[1.2.3.4]\n";
    f.write_all(good).unwrap();
    f.write_all(b"\x00\x01\xff\xfe\x80 garbage\n").unwrap();
    f.write_all(b"Nov 28 10:0\n").unwrap();
    f.write_all(b"Nov 28 10:00:01 h postfix/qmgr[2]: A1: from=<a@b.c>, size=\n")
        .unwrap();
    f.write_all(b"Nov 28 10:00:01 h postfix/smtp[3]: A1: to=<x@y.z>, relay=mx[1.2\n")
        .unwrap();
    // A 3 MiB line (longer than the reader's 1 MiB chunk) in the middle.
    f.write_all(b"Nov 28 10:00:02 h postfix/smtpd[1]: ")
        .unwrap();
    f.write_all(&vec![b'x'; 3 << 20]).unwrap();
    f.write_all(b"\n").unwrap();
    f.write_all(&good[..]).unwrap();
    // A last line without newline (truncated file).
    f.write_all(b"Nov 28 10:00:03 h postfix/smtpd[1]: A3: client=x[1.2.3.4]")
        .unwrap();
    drop(f);
    let v = json_of(&[p.to_str().unwrap()], None);
    assert_eq!(v["total"]["received"], 3);
    assert_eq!(v["lines"]["malformed"], 4);
    assert_eq!(v["lines"]["overlong"], 1);
    assert_eq!(v["lines"]["total"], 8);
}

#[test]
fn queue_state_stays_bounded_for_ids_that_never_finish() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("leak");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    for i in 0..50_000 {
        writeln!(
            w,
            "Nov 28 10:{:02}:{:02} h postfix/smtpd[1]: L{i:08}: client=x[1.2.3.4]",
            i / 60 % 60,
            i % 60
        )
        .unwrap();
        writeln!(w, "Nov 28 10:{:02}:{:02} h postfix/qmgr[2]: L{i:08}: from=<a@b.c>, size=1000, nrcpt=1 (queue active)", i / 60 % 60, i % 60).unwrap();
    }
    drop(w);
    let s = logstats::analyze(
        &[Input::Path(p)],
        &Options {
            queue_cap: 1000,
            ..Options::default()
        },
    );
    assert_eq!(s.total.received, 50_000);
    assert_eq!(
        s.total.bytes_received, 50_000_000,
        "entries are evicted only when the table is full, oldest first"
    );
    assert!(
        s.queue.open_at_end <= 1000 && s.queue.in_flight_peak <= 1000,
        "{:?}",
        s.queue
    );
    assert!(s.queue.evicted >= 49_000, "{:?}", s.queue);
}

#[test]
fn per_host_rows_and_csv_and_text() {
    let dir = tempfile::tempdir().unwrap();
    let (log, truth) = gen_log(dir.path(), "two-hosts", 2000, &["mx1", "mx2"]);
    let v = json_of(&[log.to_str().unwrap()], None);
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(
        hosts
            .iter()
            .map(|h| h["host"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["mx1", "mx2"]
    );
    for k in TOTAL_KEYS {
        let sum: u64 = hosts.iter().map(|h| h[k].as_u64().unwrap()).sum();
        assert_eq!(sum, v["total"][k].as_u64().unwrap(), "{k}");
    }
    assert_eq!(v["total"]["received"], truth.received);

    let o = Command::new(site::bin())
        .args(["logstats", "--format", "csv", "--interval", "15m"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(o.status.success());
    let csv = String::from_utf8(o.stdout).unwrap();
    let mut lines = csv.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r.len() == head.len()));
    let col = head.iter().position(|h| *h == "received").unwrap();
    let total: u64 = rows.iter().find(|r| r[0] == "total").unwrap()[col]
        .parse()
        .unwrap();
    let ivs: u64 = rows
        .iter()
        .filter(|r| r[0] == "interval")
        .map(|r| r[col].parse::<u64>().unwrap())
        .sum();
    assert_eq!((total, ivs), (truth.received, truth.received));
    assert_eq!(rows.iter().filter(|r| r[0] == "host").count(), 2);

    let o = Command::new(site::bin())
        .args(["logstats"])
        .arg(&log)
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("| Total "), "{text}");
    assert!(text.contains(&format!(" {} |", truth.received)), "{text}");
    assert!(
        text.contains("Per host") && text.contains("Top recipient domains"),
        "{text}"
    );
}

#[test]
fn bad_arguments_are_clear_errors() {
    let o = Command::new(site::bin())
        .args(["logstats", "/nonexistent/maillog"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/maillog"));
    let o = Command::new(site::bin())
        .args(["logstats", "--interval", "7x", "-"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("interval"));
}

/// `--follow` keeps reading across a rename-and-recreate rotation and prints
/// each interval once a later one has begun.
#[test]
fn follow_survives_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let line = |m: u32, id: &str| {
        format!("Nov 28 10:{m:02}:00 h postfix/smtpd[1]: {id}: client=x[1.2.3.4]\n")
    };
    std::fs::write(&log, line(0, "A1") + &line(1, "A2")).unwrap();
    let mut child = Command::new(site::bin())
        .args([
            "logstats",
            "--follow",
            "--interval",
            "5m",
            "--format",
            "json",
        ])
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _child = Kill(child);
    std::thread::sleep(std::time::Duration::from_millis(600));
    // Rotate: rename the old file, append a late line to it, then start a new one.
    let rotated = dir.path().join("mail.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&rotated)
        .unwrap()
        .write_all(line(2, "A3").as_bytes())
        .unwrap();
    std::fs::write(&log, line(6, "B1")).unwrap();
    let first: Value = serde_json::from_str(
        &rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("first interval"),
    )
    .unwrap();
    assert_eq!(
        first["start"],
        format!(
            "{}-11-28 10:00:00",
            first["start"].as_str().unwrap()[..4].to_owned()
        )
    );
    assert_eq!(
        first["received"], 3,
        "both lines before and the late line after the rename: {first}"
    );
    // More lines in the new file close the second interval.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all((line(7, "B2") + &line(11, "C1")).as_bytes())
        .unwrap();
    let second: Value = serde_json::from_str(
        &rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("second interval"),
    )
    .unwrap();
    assert_eq!(second["received"], 2, "{second}");
    assert!(second["start"].as_str().unwrap().ends_with("10:05:00"));
}

/// A corrupt .gz is reported (exit 2) but loses nothing: what could be
/// decoded and the following files are still counted.
#[test]
fn corrupt_gzip_is_reported_and_the_rest_still_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, truth) = gen_log(dir.path(), "maillog", 800, &["mx1"]);
    let data = std::fs::read(&plain).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&data).unwrap();
    let mut bytes = gz.finish().unwrap();
    bytes.truncate(bytes.len() / 2);
    let bad = dir.path().join("maillog.1.gz");
    std::fs::write(&bad, &bytes).unwrap();
    let o = Command::new(site::bin())
        .args(["logstats", "--format", "json"])
        .arg(&bad)
        .arg(&plain)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("maillog.1.gz"));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["input_errors"].as_array().unwrap().len(),
        1,
        "{}",
        v["input_errors"]
    );
    let rcvd = v["total"]["received"].as_u64().unwrap();
    assert!(
        rcvd > truth.received && rcvd < 2 * truth.received,
        "part of the gz plus all of the plain file: {rcvd} vs {}",
        truth.received
    );
}

/// Progress appears on a terminal (a pseudo-terminal made by `script`), with
/// the total of the input files and a rate, and is wiped before the report;
/// with stderr a pipe, or with `--no-progress`, not a byte of it is written.
#[test]
fn progress_only_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = gen_log(dir.path(), "mail.log", 4096, &["mx1"]);
    let bin = site::bin();
    let under_tty = |extra: &str| {
        let cmd = format!(
            "{} logstats --format json {extra} {} > {}/out.json",
            bin.display(),
            log.display(),
            dir.path().display()
        );
        let o = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .expect("script (util-linux) runs a command on a pseudo-terminal");
        assert!(o.status.success(), "{cmd}: {o:?}");
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let tty = under_tty("");
    assert!(
        tty.contains("\rlogstats: ") && tty.contains(" lines/s") && tty.contains(" MiB ("),
        "{tty:?}"
    );
    assert!(
        tty.ends_with("\r\x1b[K"),
        "progress wiped at the end: {tty:?}"
    );
    // The report itself is whole.
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out.json")).unwrap()).unwrap();
    assert!(
        report["lines"]["total"].as_u64().unwrap() > 10_000,
        "{report}"
    );
    let quiet = under_tty("--no-progress");
    assert!(!quiet.contains("lines/s"), "{quiet:?}");
    let piped = Command::new(&bin)
        .args(["logstats", "--format", "json"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert!(
        piped.stderr.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&piped.stderr)
    );
}
