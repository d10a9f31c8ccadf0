//! Email delivery through a real SMTP server (the sink in `support/smtp_sink.rs`), over real
//! loopback TCP: what a resident receives, the connection pool, and how failures are sorted
//! into permanent and transient.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/smtp_sink.rs"]
mod smtp_sink;

use std::sync::Arc;
use std::time::{Duration, Instant};

use canvass::jobs::email::{EmailError, Mailer, MailerOptions, RequestNotice};
use chrono::{TimeZone, Utc};
use smtp_sink::{SinkConfig, SmtpSink};

const FROM: &str = "Canvass <no-reply@canvass.example.org>";

fn notice(to: &str) -> RequestNotice {
    RequestNotice {
        to: to.to_owned(),
        resident_name: Some("Ada Lovelace".to_owned()),
        agency_name: "Riverton Police Department".to_owned(),
        incident_type: "package_theft".to_owned(),
        footage_start: Utc.with_ymd_and_hms(2026, 3, 3, 21, 0, 0).unwrap(),
        footage_end: Utc.with_ymd_and_hms(2026, 3, 3, 23, 0, 0).unwrap(),
        request_url: "https://canvass.example.org/r/7Qx2Lm9a".to_owned(),
        unsubscribe_url:
            "https://canvass.example.org/unsubscribe/2f6c0e1b8d4a4f0c9b7e5d3a1c2b4e6f?one_click=1"
                .to_owned(),
        message_key: None,
    }
}

#[tokio::test]
async fn a_notice_arrives_with_everything_a_resident_needs() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::from_settings(&sink.url(), FROM).unwrap();
    let n = notice("ada@example.net");
    mailer.send(&n).await.unwrap();

    let got = sink.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.mail_from, "no-reply@canvass.example.org");
    assert_eq!(m.rcpt_to, ["ada@example.net"]);
    assert_eq!(
        m.header("Subject").unwrap(),
        "Community Request from Riverton Police Department: Package theft"
    );
    assert_eq!(
        m.header("From").unwrap(),
        "Canvass <no-reply@canvass.example.org>"
    );
    assert_eq!(
        m.header("To").unwrap(),
        "\"Ada Lovelace\" <ada@example.net>"
    );
    assert_eq!(
        m.header("List-Unsubscribe").unwrap(),
        format!("<{}>", n.unsubscribe_url)
    );
    assert_eq!(
        m.header("List-Unsubscribe-Post").unwrap(),
        "List-Unsubscribe=One-Click"
    );
    let id = m.header("Message-ID").unwrap();
    assert!(
        id.starts_with('<') && id.ends_with("@canvass.example.org>"),
        "{id}"
    );
    assert!(m.header("Date").is_some());
    assert_eq!(
        m.header("Content-Type").unwrap(),
        "text/plain; charset=utf-8"
    );

    let body = m.body_text();
    for wanted in [
        "Riverton Police Department has posted a Community Request",
        "Incident: Package theft",
        "Footage wanted: Tuesday 3 March 2026, 21:00 to 23:00 UTC",
        "\nhttps://canvass.example.org/r/7Qx2Lm9a\n",
        "Sharing is voluntary.",
        "replies are not monitored",
        "unsubscribe here:",
    ] {
        assert!(body.contains(wanted), "{wanted:?} missing from:\n{body}");
    }
    assert!(
        body.trim_end().ends_with(&n.unsubscribe_url),
        "the unsubscribe link is the last line:\n{body}"
    );

    // No tracking: no HTML, no images, and no link other than the two the notice gave.
    let raw = m.raw();
    assert!(!raw.to_ascii_lowercase().contains("text/html"));
    assert!(!raw.to_ascii_lowercase().contains("<img"));
    for (i, _) in body.match_indices("http") {
        let link = &body[i..];
        assert!(
            link.starts_with(&n.request_url) || link.starts_with(&n.unsubscribe_url),
            "unexpected link: {}",
            link.lines().next().unwrap_or("")
        );
    }
    mailer.shutdown().await;
}

#[tokio::test]
async fn names_outside_ascii_arrive_intact() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::from_settings(&sink.url(), FROM).unwrap();
    let mut n = notice("zoe@example.net");
    n.resident_name = Some("Zoë Ångström".to_owned());
    n.agency_name = "Service de police de la Ville de Montréal".to_owned();
    n.incident_type = "vehicle_break_in".to_owned();
    mailer.send(&n).await.unwrap();

    let m = &sink.messages()[0];
    // Headers outside ASCII are RFC 2047 encoded, never raw bytes.
    assert!(m.data.is_ascii());
    let body = m.body_text();
    assert!(body.contains("Hello Zoë Ångström,"), "{body}");
    assert!(body.contains("Service de police de la Ville de Montréal has posted"));
    assert!(body.contains("Incident: Vehicle break-in"));
}

/// Many notices at once over the pooled transport: every one arrives once, over at most
/// `max_connections` connections. Prints the rate the sink saw (a debug build in a test: an
/// indication only; the benchmark has the real figure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_notices_share_a_few_pooled_connections() {
    const N: usize = 200;
    let sink = SmtpSink::start().await;
    let options = MailerOptions {
        max_connections: 4,
        ..MailerOptions::default()
    };
    let mailer = Arc::new(Mailer::with_options(&sink.url(), FROM, options).unwrap());

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let mailer = Arc::clone(&mailer);
        tasks.spawn(async move { mailer.send(&notice(&format!("r{i}@example.net"))).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    let elapsed = started.elapsed();

    let got = sink.messages();
    assert_eq!(got.len(), N);
    let mut recipients: Vec<String> = got.iter().map(|m| m.rcpt_to.join(",")).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), N, "every recipient exactly once");
    assert!(
        sink.most_open() <= 4,
        "{} connections were open at once",
        sink.most_open()
    );
    assert!(
        sink.connections() <= 4,
        "{} connections for {N} messages: the pool is not reused",
        sink.connections()
    );
    println!(
        "email throughput: {N} messages in {:.3} s = {:.0} emails/s to the local sink, over {} connections (concurrent sends, max_connections 4, {} build)",
        elapsed.as_secs_f64(),
        N as f64 / elapsed.as_secs_f64(),
        sink.connections(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );

    // One after another, the same pooled connections carry on.
    const M: usize = 50;
    let started = Instant::now();
    for i in 0..M {
        mailer
            .send(&notice(&format!("s{i}@example.net")))
            .await
            .unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(sink.messages().len(), N + M);
    assert!(sink.connections() <= 4);
    println!(
        "email throughput: {M} messages in {:.3} s = {:.0} emails/s to the local sink (one at a time, one pooled connection)",
        elapsed.as_secs_f64(),
        M as f64 / elapsed.as_secs_f64(),
    );
    mailer.shutdown().await;
}

#[tokio::test]
async fn a_refused_recipient_is_a_permanent_failure() {
    let sink = SmtpSink::start_with(SinkConfig {
        reject_permanent: vec!["gone@example.net".to_owned()],
        ..SinkConfig::default()
    })
    .await;
    let mailer = Mailer::from_settings(&sink.url(), FROM).unwrap();
    let e = mailer.send(&notice("gone@example.net")).await.unwrap_err();
    assert!(matches!(e, EmailError::Rejected(_)), "{e:?}");
    assert!(e.is_permanent(), "{e}");
    assert_eq!(e.smtp_code(), Some(550));
    assert!(sink.messages().is_empty());

    // The mailer recovers: the next notice goes through.
    mailer.send(&notice("ada@example.net")).await.unwrap();
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn credentials_in_the_url_log_in_once_per_connection_and_a_wrong_password_is_transient() {
    let sink = SmtpSink::start_with(SinkConfig {
        login: Some(("canvass".to_owned(), "s3cret:pass".to_owned())),
        ..SinkConfig::default()
    })
    .await;
    // Plain SMTP may carry a password only to a loopback relay; `:` is percent-encoded.
    let url = sink
        .url()
        .replace("smtp://", "smtp://canvass:s3cret%3Apass@");
    let mailer = Mailer::from_settings(&url, FROM).unwrap();
    mailer.send(&notice("ada@example.net")).await.unwrap();
    mailer.send(&notice("bob@example.net")).await.unwrap();
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(
        (sink.connections(), sink.logins()),
        (1, 1),
        "one login, reused"
    );

    // A wrong password: a setting to fix, so every queued email can still go (transient).
    let wrong = sink.url().replace("smtp://", "smtp://canvass:wrong@");
    let e = Mailer::from_settings(&wrong, FROM)
        .unwrap()
        .send(&notice("ada@example.net"))
        .await
        .unwrap_err();
    assert!(matches!(e, EmailError::Unavailable(_)), "{e:?}");
    assert_eq!(e.smtp_code(), Some(535));
    assert!(!e.is_permanent());
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn a_busy_server_is_a_transient_failure() {
    let sink = SmtpSink::start_with(SinkConfig {
        reject_transient: vec!["later@example.net".to_owned()],
        ..SinkConfig::default()
    })
    .await;
    let mailer = Mailer::from_settings(&sink.url(), FROM).unwrap();
    mailer.send(&notice("ada@example.net")).await.unwrap();
    // The 421 closes the pooled connection under the mailer's feet.
    let e = mailer.send(&notice("later@example.net")).await.unwrap_err();
    assert!(matches!(e, EmailError::Unavailable(_)), "{e:?}");
    assert!(!e.is_permanent(), "{e}");
    assert_eq!(e.smtp_code(), Some(421));
    // A broken connection is not reused: the next send opens a fresh one and succeeds.
    mailer.send(&notice("bob@example.net")).await.unwrap();
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(sink.connections(), 2);
}

#[tokio::test]
async fn a_closed_port_is_a_transient_failure() {
    // Take a free port, then free it again: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mailer = Mailer::from_settings(&format!("smtp://127.0.0.1:{port}"), FROM).unwrap();
    let e = mailer.send(&notice("ada@example.net")).await.unwrap_err();
    assert!(matches!(e, EmailError::Unreachable(_)), "{e:?}");
    assert!(!e.is_permanent());
    assert_eq!(e.smtp_code(), None);
}

#[tokio::test]
async fn a_silent_server_times_out_as_a_transient_failure() {
    let sink = SmtpSink::start_with(SinkConfig {
        silent: true,
        ..SinkConfig::default()
    })
    .await;
    let options = MailerOptions {
        timeout: Duration::from_millis(500),
        ..MailerOptions::default()
    };
    let mailer = Mailer::with_options(&sink.url(), FROM, options).unwrap();
    let started = Instant::now();
    let e = mailer.send(&notice("ada@example.net")).await.unwrap_err();
    assert!(matches!(e, EmailError::TimedOut(_)), "{e:?}");
    assert!(!e.is_permanent(), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A server that stops answering in the middle of a dialogue: the send times out, and the
/// stalled connection is not handed to the next message (which would then read no reply, or
/// a stale one).
#[tokio::test]
async fn a_stall_mid_dialogue_times_out_and_the_next_message_goes_through() {
    let sink = SmtpSink::start_with(SinkConfig {
        stall_on: vec!["stuck@example.net".to_owned()],
        ..SinkConfig::default()
    })
    .await;
    let options = MailerOptions {
        timeout: Duration::from_millis(500),
        ..MailerOptions::default()
    };
    let mailer = Mailer::with_options(&sink.url(), FROM, options).unwrap();
    mailer.send(&notice("ada@example.net")).await.unwrap();
    let e = mailer.send(&notice("stuck@example.net")).await.unwrap_err();
    assert!(matches!(e, EmailError::TimedOut(_)), "{e:?}");
    assert!(!e.is_permanent());
    mailer.send(&notice("bob@example.net")).await.unwrap();
    let got = sink.messages();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].rcpt_to, ["bob@example.net"]);
}

/// The same when the caller gives up first (a worker stopping, say): the send is dropped
/// mid-dialogue, and the next message still goes through promptly.
#[tokio::test]
async fn a_send_cancelled_mid_dialogue_does_not_poison_the_pool() {
    let sink = SmtpSink::start_with(SinkConfig {
        stall_on: vec!["stuck@example.net".to_owned()],
        ..SinkConfig::default()
    })
    .await;
    let options = MailerOptions {
        timeout: Duration::from_secs(2),
        ..MailerOptions::default()
    };
    let mailer = Mailer::with_options(&sink.url(), FROM, options).unwrap();
    mailer.send(&notice("ada@example.net")).await.unwrap();
    let stuck = notice("stuck@example.net");
    let cancelled = tokio::time::timeout(Duration::from_millis(300), mailer.send(&stuck)).await;
    assert!(
        cancelled.is_err(),
        "the stalled send should still be waiting"
    );
    // Give lettre's task time to put the abandoned connection back in its pool.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    mailer.send(&notice("bob@example.net")).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(sink.messages().len(), 2);
}

#[tokio::test]
async fn tls_to_a_plain_text_server_fails_transiently() {
    let sink = SmtpSink::start().await;
    let url = sink.url().replace("smtp://", "smtps://");
    let mailer = Mailer::from_settings(&url, FROM).unwrap();
    let e = mailer.send(&notice("ada@example.net")).await.unwrap_err();
    assert!(!e.is_permanent(), "{e}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_malformed_recipient_is_permanent_and_nothing_connects() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::from_settings(&sink.url(), FROM).unwrap();
    let e = mailer.send(&notice("not an address")).await.unwrap_err();
    assert!(matches!(e, EmailError::Message(_)), "{e:?}");
    assert!(e.is_permanent());
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn after_shutdown_sends_are_refused_as_transient() {
    let sink = SmtpSink::start().await;
    let mailer = Mailer::from_settings(&sink.url(), FROM).unwrap();
    mailer.send(&notice("ada@example.net")).await.unwrap();
    mailer.shutdown().await;
    let e = mailer.send(&notice("bob@example.net")).await.unwrap_err();
    assert!(matches!(e, EmailError::ShutDown), "{e:?}");
    assert!(!e.is_permanent());
}

#[test]
fn bad_settings_are_refused_naming_them() {
    let key = |r: Result<Mailer, EmailError>| match r {
        Err(EmailError::Setting(e)) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("`{}`", e.key)), "{msg}");
            assert!(!msg.contains("hunter2"), "{msg}");
            e.key
        }
        other => panic!("expected a setting error, got {other:?}"),
    };
    assert_eq!(
        key(Mailer::from_settings("http://mail.example.org", FROM)),
        "smtp_url"
    );
    assert_eq!(key(Mailer::from_settings("smtp://", FROM)), "smtp_url");
    assert_eq!(
        key(Mailer::from_settings(
            "smtp://u:hunter2@mail.example.org",
            FROM
        )),
        "smtp_url"
    );
    assert_eq!(
        key(Mailer::from_settings("smtp://localhost:25", "Canvass")),
        "smtp_from"
    );
    assert_eq!(
        key(Mailer::from_settings(
            "smtp://localhost:25",
            "Canvass <no-reply@>"
        )),
        "smtp_from"
    );
    // Building a mailer needs no runtime and connects to nothing.
    Mailer::from_settings("smtps://u:hunter2@mail.example.org", FROM).unwrap();
}
