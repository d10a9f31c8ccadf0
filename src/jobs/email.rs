//! Email delivery: one Community Request notice to one resident, over SMTP with pooled
//! connections.
//!
//! The server comes from the `smtp_url` setting, in one of three forms:
//!
//! | form | transport | default port |
//! |---|---|---|
//! | `smtp://host[:port]` | plain SMTP, for a local relay or sink | 25 |
//! | `smtp://[user:pass@]host[:port]?tls=starttls` | STARTTLS, required | 587 |
//! | `smtps://[user:pass@]host[:port]` | implicit TLS (SMTPS) | 465 |
//!
//! Plain `smtp://` never tries STARTTLS on its own: opportunistic TLS silently falls back to
//! plain text when anything strips the STARTTLS offer, so the operator says which one they
//! want. Credentials go in the URL's userinfo, percent-encoded where they hold `@ : / ? # %`;
//! they are refused on plain `smtp://` unless the host is loopback, so a password never
//! crosses a network in the clear. TLS uses rustls with the webpki root certificates.
//!
//! The sender comes from `smtp_from` (`Canvass <no-reply@example.org>`); its domain also names
//! the messages' `Message-ID`s.
//!
//! Messages are plain text only: no HTML, no images, no per-recipient tracking links. The only
//! per-recipient link is the one-click unsubscribe (RFC 8058), which the relay should cover
//! with its DKIM signature, as that RFC requires.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lettre::Address;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::Semaphore;

use crate::config::{SettingError, redact_url};

/// Why an email was not sent. [`EmailError::is_permanent`] tells the outbox whether to retry.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// `smtp_url` or `smtp_from` cannot be used; the error names which.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The notice cannot become a valid message (for example a malformed recipient address):
    /// the same notice would fail the same way every time.
    #[error("cannot write the email: {0}")]
    Message(String),
    /// The SMTP server refused the message with a 5xx reply.
    #[error("the SMTP server refused the email: {0}")]
    Rejected(lettre::transport::smtp::Error),
    /// The message could not be handed over now: connection refused, dropped or not made in
    /// time, a TLS failure, a 4xx reply, or a refused login.
    #[error("the email could not be sent now: {0}")]
    Unavailable(lettre::transport::smtp::Error),
    /// No TCP connection to the SMTP server could be made.
    #[error("the SMTP server could not be reached: {0}")]
    Unreachable(std::io::Error),
    /// The SMTP server took longer than [`MailerOptions::timeout`] to take the message. It may
    /// still have taken it: a retry can then deliver a duplicate, as with any SMTP client.
    #[error("the SMTP server did not finish within {0:?}")]
    TimedOut(Duration),
    /// [`Mailer::shutdown`] was called; another process may still send the message.
    #[error("the mailer is shut down")]
    ShutDown,
}

impl EmailError {
    /// Whether retrying the same notice can never succeed (a 5xx reply, a bad address or
    /// setting). Everything else is transient: retry later with backoff.
    pub fn is_permanent(&self) -> bool {
        match self {
            EmailError::Setting(_) | EmailError::Message(_) | EmailError::Rejected(_) => true,
            EmailError::Unavailable(_)
            | EmailError::Unreachable(_)
            | EmailError::TimedOut(_)
            | EmailError::ShutDown => false,
        }
    }

    /// The SMTP reply code, when the server answered with an error.
    pub fn smtp_code(&self) -> Option<u16> {
        match self {
            EmailError::Rejected(e) | EmailError::Unavailable(e) => e.status().map(u16::from),
            _ => None,
        }
    }
}

/// Sorts a transport error into permanent and transient.
fn classify(e: lettre::transport::smtp::Error) -> EmailError {
    // Authentication replies (530 "authentication required" or "must issue STARTTLS first",
    // 534, 535 "credentials invalid", 538) are 5xx but say nothing about the message: the
    // operator fixes the setting and every queued email can still go, so they are transient.
    let auth_problem = matches!(e.status().map(u16::from), Some(530 | 534 | 535 | 538));
    if e.is_permanent() && !auth_problem {
        EmailError::Rejected(e)
    } else {
        EmailError::Unavailable(e)
    }
}

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// No TLS (`smtp://`).
    Plain,
    /// STARTTLS, and fail if the server does not offer it (`smtp://…?tls=starttls`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// `smtp_url`, parsed. Not `Debug`, so the password cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
struct SmtpServer {
    /// Host name or IP address, without the brackets of an IPv6 literal.
    host: String,
    port: u16,
    security: Security,
    /// User name and password, percent-decoded.
    credentials: Option<(String, String)>,
}

fn smtp_url_error(url: &str, problem: impl std::fmt::Display) -> SettingError {
    SettingError {
        key: "smtp_url".to_owned(),
        problem: format!("{:?} {problem}", redact_url(url)),
    }
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Parses `smtp_url` (see the module documentation for the forms).
fn parse_smtp_url(url: &str) -> Result<SmtpServer, SettingError> {
    let url = url.trim();
    let err = |problem: &str| smtp_url_error(url, problem);
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(err("must start with smtp:// or smtps://"));
    };
    let implicit_tls = match scheme.to_ascii_lowercase().as_str() {
        "smtp" => false,
        "smtps" => true,
        _ => return Err(err("must start with smtp:// or smtps://")),
    };
    if rest.contains('#') {
        return Err(err(
            "has a `#`; percent-encode it (%23) if it is part of the password",
        ));
    }
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    // The authority ends at the first `/`; the only path allowed is an empty one.
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if !path.is_empty() {
        return Err(err(
            "has a path; write smtp://host:port (percent-encode `/` in a password as %2F)",
        ));
    }
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };

    let (host, port) = if let Some(after_bracket) = hostport.strip_prefix('[') {
        let Some((v6, after)) = after_bracket.split_once(']') else {
            return Err(err("has an IPv6 address without its closing `]`"));
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(err("has a bracketed host that is not an IPv6 address"));
        }
        let port =
            match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| {
                    err("has something other than `:port` after the IPv6 address")
                })?),
            };
        (v6.to_owned(), port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (hostport.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(err("has no host"));
    }
    let host_ok = host.contains(':') // an IPv6 literal, checked above
        || host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !host_ok {
        return Err(err(
            "has a host with characters other than letters, digits, `-` and `.` (write an international name in its xn-- form)",
        ));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(err("has a port that is not a number from 1 to 65535")),
        },
    };

    let mut starttls = false;
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("tls", "starttls")) if !implicit_tls => starttls = true,
            Some(("tls", _)) if implicit_tls => {
                return Err(err(
                    "uses smtps://, which is always TLS; leave out `tls=`, or use smtp://…?tls=starttls",
                ));
            }
            Some(("tls", _)) => {
                return Err(err(
                    "has a `tls=` other than `tls=starttls` (use smtps:// for implicit TLS)",
                ));
            }
            _ => {
                return Err(err(
                    "has a query other than `?tls=starttls`, the only option",
                ));
            }
        }
    }
    let security = match (implicit_tls, starttls) {
        (true, _) => Security::Implicit,
        (false, true) => Security::StartTls,
        (false, false) => Security::Plain,
    };
    let port = port.unwrap_or(match security {
        Security::Plain => 25,
        Security::StartTls => 587,
        Security::Implicit => 465,
    });

    let credentials = match userinfo {
        None => None,
        Some(info) => {
            let Some((user, pass)) = info.split_once(':') else {
                return Err(err(
                    "has a user name without a password; write user:password@host",
                ));
            };
            let (Some(user), Some(pass)) = (percent_decode(user), percent_decode(pass)) else {
                return Err(err(
                    "has a user name or password with a bad %-escape or one that is not UTF-8",
                ));
            };
            if user.is_empty() {
                return Err(err("has an empty user name"));
            }
            Some((user, pass))
        }
    };
    if credentials.is_some() && security == Security::Plain && !is_loopback(&host) {
        return Err(err(
            "would send the password unencrypted; use smtps:// or add ?tls=starttls",
        ));
    }
    Ok(SmtpServer {
        host,
        port,
        security,
        credentials,
    })
}

impl SmtpServer {
    /// How the server is shown in logs: the URL form, with the password hidden.
    fn describe(&self) -> String {
        let scheme = if self.security == Security::Implicit {
            "smtps"
        } else {
            "smtp"
        };
        let user = self
            .credentials
            .as_ref()
            .map(|(u, _)| format!("{u}:***@"))
            .unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let query = if self.security == Security::StartTls {
            "?tls=starttls"
        } else {
            ""
        };
        format!("{scheme}://{user}{host}:{}{query}", self.port)
    }

    /// The TLS parameters for STARTTLS or implicit TLS; `None` for plain SMTP.
    fn tls_parameters(&self) -> Result<Option<TlsParameters>, SettingError> {
        if self.security == Security::Plain {
            return Ok(None);
        }
        TlsParameters::new(self.host.clone())
            .map(Some)
            .map_err(|e| SettingError {
                key: "smtp_url".to_owned(),
                problem: format!("cannot set up TLS for {}: {e}", self.host),
            })
    }
}

/// Parses `smtp_from`, e.g. `Canvass <no-reply@example.org>` or `no-reply@example.org`.
pub fn parse_from(smtp_from: &str) -> Result<Mailbox, SettingError> {
    smtp_from
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| SettingError {
            key: "smtp_from".to_owned(),
            problem: format!(
                "{smtp_from:?} is not an address like `Canvass <no-reply@example.org>` ({e})"
            ),
        })
}

/// Tuning for a [`Mailer`]; the defaults suit a relay on the same network.
#[derive(Debug, Clone, Copy)]
pub struct MailerOptions {
    /// Longest time one message may take once a connection is free for it: connecting, TLS,
    /// login and the whole SMTP dialogue. Past it the attempt fails as transient.
    pub timeout: Duration,
    /// Most messages in the SMTP dialogue at once, and most connections kept in the pool.
    /// Relays limit connections per client, so sends beyond this wait for a free connection
    /// instead of opening more.
    pub max_connections: u32,
    /// How long an unused pooled connection may be reused; one parked longer is closed at the
    /// next send instead.
    pub idle_timeout: Duration,
}

impl Default for MailerOptions {
    fn default() -> Self {
        MailerOptions {
            timeout: Duration::from_secs(30),
            max_connections: 10,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Sends notices through one SMTP server over a pool of connections. Share it (in an `Arc`)
/// between the workers; it is cheap to call concurrently.
///
/// The pool is ours rather than lettre's for one reason: lettre's transport opens its sockets
/// without `TCP_NODELAY` and writes a message's closing `.` on its own, so Nagle's algorithm
/// held it until the server's delayed ACK: 44 ms a message (BENCHMARKS.md). Connections made
/// here set `TCP_NODELAY` before lettre speaks SMTP over them (`connect_with_transport`);
/// implicit TLS (`smtps://`) still connects through lettre, which wraps the socket itself.
/// A parked connection is checked with NOOP before it is used again, and one parked longer
/// than `idle_timeout` is closed then; until a send comes, the server may close it first.
pub struct Mailer {
    from: Mailbox,
    message_id_domain: String,
    server: SmtpServer,
    tls: Option<TlsParameters>,
    hello: ClientId,
    timeout: Duration,
    idle_timeout: Duration,
    /// Connections that finished a message cleanly, newest last.
    idle: Mutex<Vec<IdleConnection>>,
    /// Caps open connections (relays limit connections per client).
    permits: Semaphore,
}

/// A pooled connection and when it was parked.
struct IdleConnection {
    connection: AsyncSmtpConnection,
    since: Instant,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server.describe())
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for the `smtp_url` and `smtp_from` settings, with default [`MailerOptions`].
    /// Nothing connects until the first send.
    pub fn from_settings(smtp_url: &str, smtp_from: &str) -> Result<Mailer, EmailError> {
        Self::with_options(smtp_url, smtp_from, MailerOptions::default())
    }

    /// [`Mailer::from_settings`] with explicit tuning.
    pub fn with_options(
        smtp_url: &str,
        smtp_from: &str,
        options: MailerOptions,
    ) -> Result<Mailer, EmailError> {
        let server = parse_smtp_url(smtp_url)?;
        let from = parse_from(smtp_from)?;
        let tls = server.tls_parameters()?;
        let message_id_domain = from.email.domain().to_owned();
        check_domain(&message_id_domain).map_err(|problem| SettingError {
            key: "smtp_from".to_owned(),
            problem: format!("{smtp_from:?}: {problem}"),
        })?;
        let permits = usize::try_from(options.max_connections.max(1)).unwrap_or(1);
        Ok(Mailer {
            from,
            message_id_domain,
            server,
            tls,
            hello: ClientId::default(),
            timeout: options.timeout,
            idle_timeout: options.idle_timeout,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(permits),
        })
    }

    /// The SMTP server for logs, with any password hidden (`smtps://user:***@host:465`).
    pub fn server(&self) -> String {
        self.server.describe()
    }

    /// The sender of every message.
    pub fn from_mailbox(&self) -> &Mailbox {
        &self.from
    }

    /// Writes the notice as an email and hands it to the SMTP server. `Ok` means the server
    /// accepted it (250 after DATA); [`EmailError::is_permanent`] says whether to retry.
    /// Cancelling the future is safe: the mailer then starts afresh, as after a timeout.
    pub async fn send(&self, notice: &RequestNotice) -> Result<(), EmailError> {
        let message = build_message(&self.from, notice, &self.message_id_domain)?;
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| EmailError::ShutDown)?;
        // The whole dialogue, connecting included, is bounded: lettre bounds only the TCP
        // connect and would await a stalled server's replies for ever. A dialogue cut short
        // drops its connection (closing it) instead of parking it in an unknown state.
        let sent = tokio::time::timeout(self.timeout, async {
            let mut connection = self.connection().await?;
            let reply = connection.send(&envelope, &bytes).await.map_err(classify)?;
            if !connection.has_broken() {
                self.park(connection);
            }
            Ok::<_, EmailError>(reply)
        })
        .await;
        drop(permit);
        match sent {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(EmailError::TimedOut(self.timeout)),
        }
    }

    /// A parked connection that still answers (lettre's pool checks the same way, with
    /// NOOP), or a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, EmailError> {
        while let Some(mut idle) = self.unpark() {
            if idle.since.elapsed() < self.idle_timeout && idle.connection.test_connected().await {
                return Ok(idle.connection);
            }
            // Stale: dropping it closes the socket.
        }
        self.connect().await
    }

    fn unpark(&self) -> Option<IdleConnection> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
    }

    fn park(&self, connection: AsyncSmtpConnection) {
        if self.permits.is_closed() {
            return;
        }
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(IdleConnection {
                connection,
                since: Instant::now(),
            });
    }

    /// Opens a connection: TCP with `TCP_NODELAY`, EHLO, STARTTLS when asked for, then the
    /// login when `smtp_url` has credentials.
    async fn connect(&self) -> Result<AsyncSmtpConnection, EmailError> {
        let server = (self.server.host.as_str(), self.server.port);
        let mut connection = match (&self.tls, self.server.security) {
            (Some(tls), Security::Implicit) => AsyncSmtpConnection::connect_tokio1(
                server,
                Some(self.timeout),
                &self.hello,
                Some(tls.clone()),
                None,
            )
            .await
            .map_err(classify)?,
            (tls, _) => {
                let tcp = tokio::net::TcpStream::connect(server)
                    .await
                    .map_err(EmailError::Unreachable)?;
                tcp.set_nodelay(true).map_err(EmailError::Unreachable)?;
                let mut connection =
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                        .await
                        .map_err(classify)?;
                if let Some(tls) = tls {
                    connection
                        .starttls(tls.clone(), &self.hello)
                        .await
                        .map_err(classify)?;
                }
                connection
            }
        };
        if let Some((user, pass)) = &self.server.credentials {
            connection
                .auth(
                    &[Mechanism::Plain, Mechanism::Login],
                    &Credentials::new(user.clone(), pass.clone()),
                )
                .await
                .map_err(classify)?;
        }
        Ok(connection)
    }

    /// Closes the pooled connections (with QUIT) and refuses later sends.
    pub async fn shutdown(&self) {
        self.permits.close();
        let parked = std::mem::take(
            &mut *self
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for mut idle in parked {
            let _ = tokio::time::timeout(self.timeout, idle.connection.quit()).await;
        }
    }
}

/// What one resident is told about one published request.
#[derive(Debug, Clone)]
pub struct RequestNotice {
    /// The resident's email address.
    pub to: String,
    /// The resident's display name, for the greeting and the `To` header.
    pub resident_name: Option<String>,
    /// The agency that asks.
    pub agency_name: String,
    /// The incident type's stored name, e.g. `package_theft`.
    pub incident_type: String,
    /// Start of the footage wanted.
    pub footage_start: DateTime<Utc>,
    /// End of the footage wanted.
    pub footage_end: DateTime<Utc>,
    /// The request's page.
    pub request_url: String,
    /// The one-click unsubscribe link (RFC 8058): a POST to it turns the resident's
    /// community-request emails off; a GET shows a page that can do the same.
    pub unsubscribe_url: String,
    /// A stable key for this notification (request and resident). When set, the Message-ID is
    /// made from it, so a message sent again after a crash is recognisably the same message.
    pub message_key: Option<String>,
}

/// How an incident type reads in a sentence's first position: `package_theft` becomes
/// "Package theft".
pub fn incident_label(incident_type: &str) -> String {
    if incident_type == "vehicle_break_in" {
        return "Vehicle break-in".to_owned();
    }
    let words = one_line(&incident_type.replace('_', " "));
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The footage timeframe in UTC, e.g. "Tuesday 3 March 2026, 21:00 to 23:00 UTC".
pub fn timeframe_label(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    const DAY: &str = "%A %-d %B %Y";
    if start.date_naive() == end.date_naive() {
        format!(
            "{}, {} to {} UTC",
            start.format(DAY),
            start.format("%H:%M"),
            end.format("%H:%M")
        )
    } else {
        format!(
            "{} {} to {} {} UTC",
            start.format(DAY),
            start.format("%H:%M"),
            end.format(DAY),
            end.format("%H:%M")
        )
    }
}

/// Control characters (line breaks included) become spaces, runs of spaces one space: a name
/// can then neither forge a header line nor reshape the body.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Breaks prose into lines of at most `width` characters where it can, so that a plain ASCII
/// body stays 7bit instead of being quoted-printable encoded.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

/// Checks a link before it goes into the body and a header: http(s), printable ASCII, no
/// spaces or angle brackets, short enough for one header line.
fn check_link(what: &str, url: &str) -> Result<(), EmailError> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 900
        && url
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '<' && c != '>');
    if ok {
        Ok(())
    } else {
        Err(EmailError::Message(format!(
            "the {what} is not an http(s) URL of printable ASCII without spaces or <>"
        )))
    }
}

/// Checks the domain part of Message-IDs.
fn check_domain(domain: &str) -> Result<(), String> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{domain:?} cannot name a Message-ID (letters, digits, `-` and `.` only)"
        ))
    }
}

/// Writes the notice as a plain-text UTF-8 email from `from`, with a one-click unsubscribe
/// (RFC 8058) and a `Message-ID` in `message_id_domain`.
pub fn build_message(
    from: &Mailbox,
    notice: &RequestNotice,
    message_id_domain: &str,
) -> Result<Message, EmailError> {
    let address: Address = notice.to.trim().parse().map_err(|_| {
        // The address itself stays out of the error: errors end up in logs.
        EmailError::Message("the recipient is not a valid email address".to_owned())
    })?;
    let resident_name = notice
        .resident_name
        .as_deref()
        .map(one_line)
        .filter(|n| !n.is_empty());
    let to = Mailbox::new(resident_name.clone(), address);
    check_link("request link", &notice.request_url)?;
    check_link("unsubscribe link", &notice.unsubscribe_url)?;
    check_domain(message_id_domain).map_err(EmailError::Message)?;
    if notice.footage_end < notice.footage_start {
        return Err(EmailError::Message(
            "the footage timeframe ends before it starts".to_owned(),
        ));
    }

    let agency = one_line(&notice.agency_name);
    let incident = incident_label(&notice.incident_type);
    let timeframe = timeframe_label(notice.footage_start, notice.footage_end);
    let greeting = match &resident_name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    };
    let paragraphs = [
        greeting,
        format!(
            "{agency} has posted a Community Request: they are asking residents of your \
             neighbourhood for camera footage that may help an investigation."
        ),
        format!("Incident: {incident}\nFootage wanted: {timeframe}"),
        "If a camera of yours may have recorded something during that time, you can read \
         the request and choose videos to share here:"
            .to_owned(),
        notice.request_url.clone(),
        format!(
            "Sharing is voluntary. {agency} receives only the videos you choose to share, \
             and is not told who received this email."
        ),
        "This email was sent automatically and replies are not monitored. To contact the \
         investigator, use the details on the request page."
            .to_owned(),
        "To stop receiving Community Request emails, unsubscribe here:".to_owned(),
        notice.unsubscribe_url.clone(),
    ];
    let body = paragraphs
        .iter()
        .map(|p| {
            // Links stay whole on their own line; prose lines are wrapped one by one.
            p.lines()
                .map(|l| wrap(l, 72))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
        + "\n";

    let local = match &notice.message_key {
        Some(key)
            if !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') =>
        {
            key.clone()
        }
        _ => uuid::Uuid::new_v4().as_simple().to_string(),
    };
    let message_id = format!("<{local}@{message_id_domain}>");
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(format!("Community Request from {agency}: {incident}"))
        .message_id(Some(message_id))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", notice.unsubscribe_url),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        ))
        // RFC 3834: out-of-office and other auto-responders should not answer.
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".to_owned(),
        ))
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| EmailError::Message(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn parse(url: &str) -> SmtpServer {
        parse_smtp_url(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn refused(url: &str) -> String {
        match parse_smtp_url(url) {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => {
                assert_eq!(e.key, "smtp_url");
                e.to_string()
            }
        }
    }

    #[test]
    fn plain_urls_and_default_ports() {
        let s = parse("smtp://localhost:2525");
        assert_eq!(
            (s.host.as_str(), s.port, s.security),
            ("localhost", 2525, Security::Plain)
        );
        assert!(s.credentials.is_none());
        assert_eq!(parse("smtp://mail.example.org").port, 25);
        assert_eq!(parse("smtp://mail.example.org/").port, 25);
        assert_eq!(parse("SMTP://127.0.0.1:25").host, "127.0.0.1");
        assert_eq!(parse("  smtp://relay:25  ").host, "relay");
    }

    #[test]
    fn tls_forms() {
        let s = parse("smtps://mail.example.org");
        assert_eq!((s.port, s.security), (465, Security::Implicit));
        let s = parse("smtp://mail.example.org?tls=starttls");
        assert_eq!((s.port, s.security), (587, Security::StartTls));
        let s = parse("smtp://mail.example.org:2587/?tls=starttls");
        assert_eq!((s.port, s.security), (2587, Security::StartTls));
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let s = parse("smtps://canvass%40example.org:p%40ss%3Aw%2Frd%25@mail.example.org:465");
        assert_eq!(
            s.credentials,
            Some(("canvass@example.org".to_owned(), "p@ss:w/rd%".to_owned()))
        );
        let s = parse("smtp://u:%C3%A9t%C3%A9@mail.example.org?tls=starttls");
        assert_eq!(s.credentials.unwrap().1, "été");
        // Plain text is fine to a relay on the same machine.
        let s = parse("smtp://u:p@127.0.0.1:25");
        assert_eq!(s.credentials, Some(("u".into(), "p".into())));
        parse("smtp://u:p@localhost");
        parse("smtp://u:p@[::1]:25");
    }

    #[test]
    fn ipv6_hosts() {
        let s = parse("smtp://[::1]:2525");
        assert_eq!((s.host.as_str(), s.port), ("::1", 2525));
        assert_eq!(s.describe(), "smtp://[::1]:2525");
        assert_eq!(parse("smtps://[2001:db8::1]").port, 465);
        refused("smtp://[::1");
        refused("smtp://[nope]:25");
        refused("smtp://[::1]x");
    }

    #[test]
    fn bad_urls_are_refused_naming_the_setting() {
        for url in [
            "",
            "mail.example.org",
            "http://mail.example.org",
            "smtp://",
            "smtp://:25",
            "smtp://host:0",
            "smtp://host:99999",
            "smtp://host:port",
            "smtp://host/path",
            "smtp://host?tls=yes",
            "smtp://host?foo=bar",
            "smtps://host?tls=starttls",
            "smtp://bad_host!",
            "smtp://user@host?tls=starttls",
            "smtp://:pass@host?tls=starttls",
            "smtps://u:%zz@host",
            "smtps://u:%ff@host",
            "smtp://host#x",
        ] {
            let msg = refused(url);
            assert!(msg.starts_with("invalid setting `smtp_url`"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }

    #[test]
    fn a_password_is_never_sent_or_shown_in_the_clear() {
        let msg = refused("smtp://u:hunter2@mail.example.org:25");
        assert!(msg.contains("unencrypted"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        let msg = refused("smtp://u:hunter2@mail.example.org/x");
        assert!(!msg.contains("hunter2"), "{msg}");
        let s = parse("smtps://u:hunter2@mail.example.org");
        assert_eq!(s.describe(), "smtps://u:***@mail.example.org:465");
        let m =
            Mailer::from_settings("smtps://u:hunter2@mail.example.org", "a@example.org").unwrap();
        assert!(!format!("{m:?}").contains("hunter2"));
        assert_eq!(
            Mailer::from_settings("smtp://relay.example.org?tls=starttls", "a@example.org")
                .unwrap()
                .server(),
            "smtp://relay.example.org:587?tls=starttls"
        );
    }

    #[test]
    fn from_addresses() {
        // The default in config.rs must work.
        let m = parse_from("Canvass <no-reply@127.0.0.1>").unwrap();
        assert_eq!(m.email.domain(), "127.0.0.1");
        let m = parse_from("Canvass <no-reply@example.org>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Canvass"));
        parse_from("no-reply@example.org").unwrap();
        for bad in ["", "Canvass", "Canvass <no-reply>", "a@b@c"] {
            let e = parse_from(bad).unwrap_err();
            assert_eq!(e.key, "smtp_from");
        }
    }

    fn notice() -> RequestNotice {
        RequestNotice {
            to: "resident@example.net".into(),
            resident_name: Some("Ada Lovelace".into()),
            agency_name: "Riverton Police Department".into(),
            incident_type: "package_theft".into(),
            footage_start: Utc.with_ymd_and_hms(2026, 3, 3, 21, 0, 0).unwrap(),
            footage_end: Utc.with_ymd_and_hms(2026, 3, 3, 23, 0, 0).unwrap(),
            request_url: "https://canvass.example.org/r/abc123".into(),
            unsubscribe_url: "https://canvass.example.org/unsubscribe/tok".into(),
            message_key: None,
        }
    }

    #[test]
    fn labels() {
        assert_eq!(incident_label("package_theft"), "Package theft");
        assert_eq!(incident_label("vehicle_break_in"), "Vehicle break-in");
        assert_eq!(
            incident_label("threat_to_personal_safety"),
            "Threat to personal safety"
        );
        assert_eq!(incident_label(""), "");
        let n = notice();
        assert_eq!(
            timeframe_label(n.footage_start, n.footage_end),
            "Tuesday 3 March 2026, 21:00 to 23:00 UTC"
        );
        assert_eq!(
            timeframe_label(
                Utc.with_ymd_and_hms(2026, 3, 3, 22, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 3, 4, 2, 30, 0).unwrap()
            ),
            "Tuesday 3 March 2026 22:00 to Wednesday 4 March 2026 02:30 UTC"
        );
    }

    #[test]
    fn wrapping_keeps_lines_short_and_words_whole() {
        let text = "word ".repeat(40);
        for line in wrap(&text, 72).lines() {
            assert!(line.len() <= 72);
        }
        assert_eq!(wrap(&text, 72).split_whitespace().count(), 40);
        let long = "x".repeat(100);
        assert_eq!(wrap(&format!("a {long} b"), 72), format!("a\n{long}\nb"));
    }

    #[test]
    fn the_message_has_subject_headers_and_body() {
        let from = parse_from("Canvass <no-reply@canvass.example.org>").unwrap();
        let msg = build_message(&from, &notice(), "canvass.example.org").unwrap();
        let raw = String::from_utf8(msg.formatted()).unwrap();
        assert!(
            raw.contains(
                "Subject: Community Request from Riverton Police Department: Package theft\r\n"
            ),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe: <https://canvass.example.org/unsubscribe/tok>\r\n")
        );
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(raw.contains("Auto-Submitted: auto-generated\r\n"));
        assert!(raw.contains("@canvass.example.org>\r\n"));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8\r\n"));
        assert!(raw.contains("Content-Transfer-Encoding: 7bit\r\n"), "{raw}");
        assert!(raw.contains("Hello Ada Lovelace,"));
        assert!(raw.contains("Tuesday 3 March 2026, 21:00 to 23:00 UTC"));
        assert!(raw.contains("\r\nhttps://canvass.example.org/r/abc123\r\n"));
        assert!(!raw.to_ascii_lowercase().contains("<img"));
        let (_, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(body.lines().all(|l| l.len() <= 76), "{body}");
    }

    #[test]
    fn names_cannot_inject_headers() {
        let from = parse_from("no-reply@example.org").unwrap();
        let mut n = notice();
        n.agency_name = "Riverton PD\r\nBcc: victim@example.com".into();
        n.resident_name = Some("Eve\r\nX-Evil: 1".into());
        let raw = String::from_utf8(build_message(&from, &n, "example.org").unwrap().formatted())
            .unwrap();
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(!raw.contains("\r\nX-Evil:"), "{raw}");
    }

    #[test]
    fn bad_notices_are_permanent_errors() {
        let from = parse_from("no-reply@example.org").unwrap();
        let cases: [fn(&mut RequestNotice); 5] = [
            |n| n.to = "not an address".into(),
            |n| n.request_url = "javascript:alert(1)".into(),
            |n| n.unsubscribe_url = "https://x.example/a b".into(),
            |n| n.unsubscribe_url = "https://x.example/<a>".into(),
            |n| std::mem::swap(&mut n.footage_start, &mut n.footage_end),
        ];
        for change in cases {
            let mut n = notice();
            change(&mut n);
            let e = build_message(&from, &n, "example.org").unwrap_err();
            assert!(e.is_permanent(), "{e}");
            assert!(!e.to_string().contains("not an address"), "{e}");
        }
        let e = build_message(&from, &notice(), "bad domain").unwrap_err();
        assert!(e.is_permanent());
    }
}
