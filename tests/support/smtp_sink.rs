//! A small real SMTP server for tests (RFC 5321: greeting, EHLO/HELO, MAIL, RCPT, DATA with
//! dot-stuffing, RSET, NOOP, QUIT) on an ephemeral loopback port. It records each message's
//! envelope and raw data, and can refuse chosen recipients with 550 (permanent) or 421
//! (transient, closing the connection as RFC 5321 §3.8 says), or never greet at all. With a
//! `login` it offers and requires `AUTH PLAIN` (RFC 4954), answering 535 to a wrong password.
//!
//! Include it with `#[path = "support/smtp_sink.rs"] mod smtp_sink;`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the sink behaves.
#[derive(Debug, Clone, Default)]
pub struct SinkConfig {
    /// Recipients refused with `550 5.1.1` (permanent).
    pub reject_permanent: Vec<String>,
    /// Recipients refused with `421 4.3.2`, after which the sink closes the connection.
    pub reject_transient: Vec<String>,
    /// Recipients whose RCPT TO is never answered: the connection stalls mid-dialogue.
    pub stall_on: Vec<String>,
    /// Accept connections but never say anything (to test client timeouts).
    pub silent: bool,
    /// When set, offer `AUTH PLAIN` and require this user name and password before MAIL.
    pub login: Option<(String, String)>,
}

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The reverse-path of MAIL FROM, without the angle brackets.
    pub mail_from: String,
    /// The forward-paths of the accepted RCPT TO commands.
    pub rcpt_to: Vec<String>,
    /// The data between DATA and the final `.`, dot-unstuffed, with CRLF line ends.
    pub data: Vec<u8>,
}

impl Received {
    /// The raw data as text.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The header block and the body.
    fn split(&self) -> (String, String) {
        let raw = self.raw();
        match raw.split_once("\r\n\r\n") {
            Some((h, b)) => (h.to_owned(), b.to_owned()),
            None => (raw, String::new()),
        }
    }

    /// Every value of the named header, unfolded (RFC 5322 §2.2.3).
    pub fn headers(&self, name: &str) -> Vec<String> {
        let (head, _) = self.split();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded
            .split("\r\n")
            .filter_map(|line| {
                let (n, v) = line.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .collect()
    }

    /// The one value of the named header.
    pub fn header(&self, name: &str) -> Option<String> {
        let mut all = self.headers(name);
        assert!(all.len() <= 1, "{name} appears {} times", all.len());
        all.pop()
    }

    /// The body of a single-part message, with its Content-Transfer-Encoding undone, as a
    /// reader's mail program would show it.
    pub fn body_text(&self) -> String {
        let (_, body) = self.split();
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_else(|| "7bit".to_owned())
            .to_ascii_lowercase();
        let bytes = match encoding.as_str() {
            "quoted-printable" => decode_quoted_printable(&body),
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(body.split_whitespace().collect::<String>())
                .expect("valid base64 body"),
            _ => body.into_bytes(),
        };
        String::from_utf8(bytes)
            .expect("a UTF-8 body")
            .replace("\r\n", "\n")
    }
}

/// Undoes quoted-printable (RFC 2045 §6.7): `=XX` escapes and `=` soft line breaks.
fn decode_quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("QP escape");
            out.push(u8::from_str_radix(hex, 16).expect("QP hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    connections: AtomicUsize,
    open: AtomicUsize,
    most_open: AtomicUsize,
    logins: AtomicUsize,
}

/// A running sink; it stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl SmtpSink {
    /// A sink that accepts everything.
    pub async fn start() -> SmtpSink {
        Self::start_with(SinkConfig::default()).await
    }

    /// A sink with the given behaviour.
    pub async fn start_with(config: SinkConfig) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let config = Arc::new(config);
        let s = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                s.connections.fetch_add(1, Ordering::SeqCst);
                let open = s.open.fetch_add(1, Ordering::SeqCst) + 1;
                s.most_open.fetch_max(open, Ordering::SeqCst);
                let (s, config) = (Arc::clone(&s), Arc::clone(&config));
                tokio::spawn(async move {
                    let _ = session(stream, &config, &s).await;
                    s.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        SmtpSink {
            addr,
            shared,
            accept,
        }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The messages received so far, in order of completion.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// How many connections were accepted in all.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Successful `AUTH` commands so far.
    pub fn logins(&self) -> usize {
        self.shared.logins.load(Ordering::SeqCst)
    }

    /// The most connections that were open at the same time.
    pub fn most_open(&self) -> usize {
        self.shared.most_open.load(Ordering::SeqCst)
    }
}

/// Keeps the connection open, reading and saying nothing, until the client goes away.
async fn hold(mut read: BufReader<tokio::net::tcp::OwnedReadHalf>) -> std::io::Result<()> {
    let mut line = Vec::new();
    while read.read_until(b'\n', &mut line).await? > 0 {
        line.clear();
    }
    Ok(())
}

/// The address inside `FROM:<…>` or `TO:<…>`, ignoring any ESMTP parameters after it.
fn path_of(arg: &str, keyword: &str) -> Option<String> {
    let rest = arg.get(..keyword.len())?;
    if !rest.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    Some(inner[..end].to_owned())
}

async fn session(stream: TcpStream, config: &SinkConfig, shared: &Shared) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = Vec::new();
    if config.silent {
        return hold(read).await;
    }
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut greeted = false;
    let mut authenticated = false;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        // Owned, so that DATA can reuse `line` below.
        let text = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_owned();
        let (verb, arg) = text.split_once(' ').unwrap_or((&text, ""));
        let reply: &[u8] = match verb.to_ascii_uppercase().as_str() {
            "EHLO" if config.login.is_some() => {
                greeted = true;
                (mail_from, rcpt_to) = (None, Vec::new());
                b"250-sink.test\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SIZE 10485760\r\n"
            }
            "EHLO" => {
                greeted = true;
                (mail_from, rcpt_to) = (None, Vec::new());
                b"250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n"
            }
            "AUTH" => match &config.login {
                None => b"502 5.5.1 no AUTH here\r\n",
                Some((user, pass)) => {
                    // `AUTH PLAIN <base64 of "\0user\0pass">`, the initial response inline.
                    let given = arg
                        .strip_prefix("PLAIN ")
                        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
                    let expected = format!("\0{user}\0{pass}").into_bytes();
                    if given.as_deref() == Some(expected.as_slice()) {
                        authenticated = true;
                        shared.logins.fetch_add(1, Ordering::SeqCst);
                        b"235 2.7.0 authenticated\r\n"
                    } else {
                        b"535 5.7.8 bad credentials\r\n"
                    }
                }
            },
            "MAIL" if config.login.is_some() && !authenticated => {
                b"530 5.7.0 authentication required\r\n"
            }
            "HELO" => {
                greeted = true;
                (mail_from, rcpt_to) = (None, Vec::new());
                b"250 sink.test\r\n"
            }
            "MAIL" if !greeted => b"503 5.5.1 EHLO first\r\n",
            "MAIL" if mail_from.is_some() => b"503 5.5.1 nested MAIL\r\n",
            "MAIL" => match path_of(arg, "FROM:") {
                Some(p) => {
                    mail_from = Some(p);
                    b"250 2.1.0 ok\r\n"
                }
                None => b"501 5.5.4 syntax: MAIL FROM:<address>\r\n",
            },
            "RCPT" if mail_from.is_none() => b"503 5.5.1 MAIL first\r\n",
            "RCPT" => match path_of(arg, "TO:") {
                Some(p) if config.reject_permanent.contains(&p) => b"550 5.1.1 no such mailbox\r\n",
                Some(p) if config.stall_on.contains(&p) => return hold(read).await,
                Some(p) if config.reject_transient.contains(&p) => {
                    write
                        .write_all(b"421 4.3.2 sink.test busy, closing; try again later\r\n")
                        .await?;
                    return Ok(());
                }
                Some(p) => {
                    rcpt_to.push(p);
                    b"250 2.1.5 ok\r\n"
                }
                None => b"501 5.5.4 syntax: RCPT TO:<address>\r\n",
            },
            "DATA" if rcpt_to.is_empty() => b"554 5.5.1 no valid recipients\r\n",
            "DATA" => {
                write
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if read.read_until(b'\n', &mut line).await? == 0 {
                        // The client went away mid-message: nothing is delivered.
                        return Ok(());
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    // RFC 5321 §4.5.2: drop the first of a line's leading dots.
                    let start = usize::from(line.first() == Some(&b'.'));
                    data.extend_from_slice(&line[start..]);
                }
                let from = mail_from.take().unwrap_or_default();
                shared.messages.lock().unwrap().push(Received {
                    mail_from: from,
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                });
                b"250 2.0.0 queued\r\n"
            }
            "RSET" => {
                (mail_from, rcpt_to) = (None, Vec::new());
                b"250 2.0.0 ok\r\n"
            }
            "NOOP" => b"250 2.0.0 ok\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            "VRFY" => b"252 2.1.5 cannot verify\r\n",
            _ => b"502 5.5.2 command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}
