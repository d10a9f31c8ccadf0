//! Web Push delivery (RFC 8030) with aes128gcm payload encryption (RFC 8291) and VAPID
//! (RFC 8292): one [`PushSender`] per process, one [`PushSender::send`] per outbox row.
//!
//! The encryption is `web-push-native`'s; the VAPID token is built here, because that crate's
//! helper leaves the port out of the `aud` origin and ties the token's lifetime to the message's
//! TTL. Push services want the token reused rather than re-signed for every message (Apple asks
//! for no more than one new token an hour), so each origin's token is kept for a while.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sha2::Digest;

use crate::domain::push::{AUTH_LEN, PushSubscription, public_push_addresses};

/// Where the VAPID private key lives, under the data directory.
pub const VAPID_KEY_FILE: &str = "keys/vapid-p256.key";

/// The largest plaintext that fits one push message. Push services accept at most 4096 bytes of
/// body (RFC 8030 §7.2); aes128gcm adds an 86-byte header (salt 16, record size 4, key-id length
/// 1, key 65), a 16-byte tag and a 1-byte padding delimiter.
pub const MAX_PAYLOAD: usize = 4096 - 86 - 16 - 1;

/// The longest TTL push services honour (28 days); longer ones are cut to this.
pub const MAX_TTL_SECS: u32 = 28 * 24 * 60 * 60;

/// How long a VAPID token is valid. RFC 8292 §2 allows at most 24 hours.
const VAPID_VALIDITY_SECS: i64 = 12 * 60 * 60;

/// A cached token is used while at least this much of its validity is left, so each origin gets a
/// fresh token about every six hours and no message carries one about to expire.
const VAPID_MIN_REMAINING_SECS: i64 = 6 * 60 * 60;

/// Distinct push-service origins whose tokens are kept. Real ones are a handful (FCM, Mozilla,
/// Apple, Microsoft); the bound only stops odd registered endpoints from growing the map.
const MAX_CACHED_AUDIENCES: usize = 256;

/// How much of a refusing push service's answer is kept for the error message.
const MAX_ERROR_BODY: usize = 512;

/// Why a push could not be prepared or was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The VAPID key could not be read, stored or used.
    #[error("the VAPID key cannot be used: {0}")]
    Key(String),
    /// The VAPID subject is not a contact a push service accepts.
    #[error("the VAPID subject {0:?} must be a mailto: address or an http(s) URL")]
    Subject(String),
    /// The stored subscription cannot be encrypted for or sent to.
    #[error("the push subscription cannot be used: {0}")]
    Subscription(String),
    /// The payload does not fit one push message.
    #[error("the payload is {0} bytes; at most {MAX_PAYLOAD} fit in one push message")]
    PayloadTooLarge(usize),
    /// Encrypting the payload or signing the VAPID token failed.
    #[error("the push message could not be prepared: {0}")]
    Prepare(String),
    /// The push service refused the message for good (a 4xx other than 404, 408, 410 and 429).
    #[error("the push service refused the message with status {status}: {body}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The start of the service's answer.
        body: String,
    },
    /// The push service is busy or failing (408, 429 or 5xx); try again later.
    #[error("the push service is unavailable (status {status}): {body}")]
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// The start of the service's answer.
        body: String,
    },
    /// The push service could not be reached, or did not answer in time.
    #[error("the push service could not be reached: {0}")]
    Network(#[source] reqwest::Error),
    /// The HTTP client could not be set up.
    #[error("the HTTP client could not be set up: {0}")]
    Client(#[source] reqwest::Error),
}

impl PushError {
    /// Whether sending the same message again cannot succeed. Transient failures (the service
    /// busy or down, the network) are worth a retry with backoff; permanent ones are not.
    pub fn is_permanent(&self) -> bool {
        !matches!(self, PushError::Unavailable { .. } | PushError::Network(_))
    }

    /// The push service's HTTP status, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            PushError::Rejected { status, .. } | PushError::Unavailable { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
}

/// The push client's resolver: the system's look-up, keeping only the addresses
/// [`public_push_addresses`] allows, so a subscription whose host name points into the
/// server's own network (a hosts-file name, or a DNS answer the subscriber controls) gets no
/// connection at all.
struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public = public_push_addresses(&host, resolved)?;
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// What became of a push the service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Accepted (2xx): the service will deliver it.
    Delivered,
    /// The subscription no longer exists (404 or 410): delete it.
    Gone,
}

/// A VAPID token and when it expires.
#[derive(Debug, Clone)]
struct CachedToken {
    jwt: String,
    expires_at: i64,
}

/// Sends encrypted, VAPID-signed pushes. Cheap to clone; clones share the HTTP connection pool.
#[derive(Clone)]
pub struct PushSender {
    key: SigningKey,
    public_key: String,
    subject: String,
    http: reqwest::Client,
    tokens: Arc<Mutex<HashMap<String, CachedToken>>>,
}

impl std::fmt::Debug for PushSender {
    // Never the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSender")
            .field("public_key", &self.public_key)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl PushSender {
    /// A sender whose VAPID private key is the P-256 scalar `vapid_secret`, identifying the
    /// operator as `subject` (`mailto:…` or the public URL; Apple's service refuses placeholder
    /// contacts such as `@localhost`).
    ///
    /// A 32-byte random secret is a valid scalar except with probability about 2⁻³²; when it is
    /// not (zero, or not below the curve order), it is hashed with SHA-256 until it is, so the
    /// same secret always gives the same key.
    pub fn new(vapid_secret: &[u8; 32], subject: String) -> Result<Self, PushError> {
        check_subject(&subject)?;
        let secret = scalar_from_secret(vapid_secret)?;
        let key = SigningKey::from(&secret);
        let point = secret.public_key().to_encoded_point(false);
        crate::install_tls_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("canvass/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            // A push service answers; it does not send us elsewhere. Following a redirect would
            // also carry the VAPID token to a host it was not made for.
            .redirect(reqwest::redirect::Policy::none())
            // Names are resolved here and only public addresses are connected to (a URL that
            // names an address, not a host, was checked when the subscription was stored).
            .dns_resolver(Arc::new(PublicAddressesOnly))
            .build()
            .map_err(PushError::Client)?;
        Ok(Self {
            key,
            public_key: URL_SAFE_NO_PAD.encode(point.as_bytes()),
            subject,
            http,
            tokens: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// A sender with the key kept in `data_dir`/[`VAPID_KEY_FILE`], created at first start.
    pub fn load_or_create(data_dir: &Path, subject: String) -> Result<Self, PushError> {
        let path = data_dir.join(VAPID_KEY_FILE);
        let secret = crate::store::keys::load_or_create_secret(&path)
            .map_err(|e| PushError::Key(format!("{}: {e}", path.display())))?;
        Self::new(&secret, subject)
    }

    /// The VAPID public key: the 65-byte uncompressed P-256 point in unpadded base64url, what a
    /// browser's `pushManager.subscribe({applicationServerKey})` takes.
    pub fn public_key_base64url(&self) -> String {
        self.public_key.clone()
    }

    /// Encrypts `payload` for `sub` and POSTs it to the subscription's push service, to be kept
    /// there for at most `ttl_secs` (cut to [`MAX_TTL_SECS`]) while the browser is offline.
    ///
    /// `Ok(Delivered)` on 2xx, `Ok(Gone)` on 404 or 410 (the caller deletes the subscription),
    /// otherwise an error whose [`PushError::is_permanent`] says whether to retry.
    pub async fn send(
        &self,
        sub: &PushSubscription,
        payload: &[u8],
        ttl_secs: u32,
    ) -> Result<PushOutcome, PushError> {
        let endpoint = url::Url::parse(&sub.endpoint)
            .map_err(|e| PushError::Subscription(format!("the endpoint is not a URL: {e}")))?;
        let body = encrypt(sub, payload)?;
        let authorization = format!(
            "vapid t={}, k={}",
            self.token_for(&endpoint, chrono::Utc::now().timestamp())?,
            self.public_key
        );
        let response = self
            .http
            .post(endpoint)
            .header("TTL", ttl_secs.min(MAX_TTL_SECS).to_string())
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Urgency", "normal")
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status().as_u16();
        let body = if response.status().is_success() {
            String::new()
        } else {
            read_start(response).await
        };
        outcome_for(status, body)
    }

    /// The VAPID token for `endpoint`'s push service: a cached one with enough validity left, or
    /// a freshly signed one.
    fn token_for(&self, endpoint: &url::Url, now: i64) -> Result<String, PushError> {
        let audience = endpoint.origin().ascii_serialization();
        if audience == "null" {
            return Err(PushError::Subscription(
                "the endpoint has no origin to address a VAPID token to".into(),
            ));
        }
        // A poisoned lock only means another send panicked mid-update of a plain map; the map
        // is still a valid cache.
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tokens.get(&audience)
            && t.expires_at - now >= VAPID_MIN_REMAINING_SECS
        {
            return Ok(t.jwt.clone());
        }
        let expires_at = now + VAPID_VALIDITY_SECS;
        let jwt = self.sign_jwt(&audience, expires_at)?;
        if tokens.len() >= MAX_CACHED_AUDIENCES {
            tokens.clear();
        }
        tokens.insert(
            audience,
            CachedToken {
                jwt: jwt.clone(),
                expires_at,
            },
        );
        Ok(jwt)
    }

    /// An ES256 JWT (RFC 7515 compact form, signature as r ‖ s) with the claims RFC 8292 §2 asks
    /// for: `aud` (the push service's origin), `exp` and `sub`.
    fn sign_jwt(&self, audience: &str, expires_at: i64) -> Result<String, PushError> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({"aud": audience, "exp": expires_at, "sub": self.subject});
        let signing_input = format!(
            "{header}.{}",
            URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes())
        );
        let signature: p256::ecdsa::Signature = self
            .key
            .try_sign(signing_input.as_bytes())
            .map_err(|e| PushError::Prepare(format!("signing the VAPID token failed: {e}")))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }
}

/// The aes128gcm body of one push (RFC 8291), a single record.
fn encrypt(sub: &PushSubscription, payload: &[u8]) -> Result<Vec<u8>, PushError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(PushError::PayloadTooLarge(payload.len()));
    }
    let ua_public = p256::PublicKey::from_sec1_bytes(&sub.p256dh)
        .map_err(|_| PushError::Subscription("keys.p256dh is not a P-256 public key".into()))?;
    // `Auth::clone_from_slice` panics on a wrong length; this does not.
    let auth =
        web_push_native::Auth::from_exact_iter(sub.auth.iter().copied()).ok_or_else(|| {
            PushError::Subscription(format!(
                "keys.auth must be {AUTH_LEN} bytes, not {}",
                sub.auth.len()
            ))
        })?;
    web_push_native::encrypt(payload.to_vec(), &ua_public, &auth)
        .map_err(|e| PushError::Prepare(format!("encrypting the payload failed: {e}")))
}

/// Sorts a push service's answer into an outcome or an error.
fn outcome_for(status: u16, body: String) -> Result<PushOutcome, PushError> {
    match status {
        200..=299 => Ok(PushOutcome::Delivered),
        404 | 410 => Ok(PushOutcome::Gone),
        408 | 429 | 500..=599 => Err(PushError::Unavailable { status, body }),
        _ => Err(PushError::Rejected { status, body }),
    }
}

/// A failed request: a malformed one can never succeed; anything else (connect, timeout,
/// reset) may. The URL is dropped from the message: an endpoint is a capability and errors
/// end up in logs.
fn request_error(e: reqwest::Error) -> PushError {
    if e.is_builder() {
        PushError::Subscription(e.without_url().to_string())
    } else {
        PushError::Network(e.without_url())
    }
}

/// The first [`MAX_ERROR_BODY`] bytes of a refusal, as text, without reading a huge answer.
async fn read_start(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(MAX_ERROR_BODY);
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

/// The private scalar for a stored secret: the secret itself when it is a valid scalar, else
/// its SHA-256, repeated until valid (each try fails with probability about 2⁻³²).
fn scalar_from_secret(secret: &[u8; 32]) -> Result<p256::SecretKey, PushError> {
    let mut candidate = *secret;
    for _ in 0..16 {
        if let Ok(key) = p256::SecretKey::from_slice(&candidate) {
            return Ok(key);
        }
        let next = sha2::Sha256::digest(candidate);
        candidate.copy_from_slice(&next);
    }
    Err(PushError::Key(
        "no valid P-256 scalar could be derived from the stored secret".into(),
    ))
}

/// RFC 8292 §2.1: the contact is a `mailto:` or an `https:` URI; `http:` is let through for the
/// demo's public URL on loopback.
fn check_subject(subject: &str) -> Result<(), PushError> {
    let ok = match url::Url::parse(subject) {
        Ok(u) if u.scheme() == "mailto" => u.path().contains('@'),
        Ok(u) if matches!(u.scheme(), "https" | "http") => u.host().is_some(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(PushError::Subject(subject.to_owned()))
    }
}

/// Most characters of each field in a notification; longer text is cut with "…".
const MAX_AGENCY_CHARS: usize = 100;
const MAX_INCIDENT_CHARS: usize = 100;
const MAX_TIMEFRAME_CHARS: usize = 150;
/// A link longer than this (in bytes) is left out rather than cut, because a cut link leads
/// nowhere.
const MAX_URL_BYTES: usize = 1000;

/// The JSON the service worker shows: `{"title": "Community Request from <agency>",
/// "body": "<incident> — <timeframe>", "url": "<link>"}`.
///
/// Always well under [`MAX_PAYLOAD`]: control characters become spaces (so nothing expands to a
/// six-byte `\u` escape), long fields are cut, and an over-long `url` is left out, in which case
/// the service worker opens the feed. At most 4 bytes per character of text and 2 per byte of
/// link (`"` and `\` are escaped) bound it below 3,500 bytes.
pub fn notification_payload(
    agency: &str,
    incident_type: &str,
    timeframe: &str,
    url: &str,
) -> Vec<u8> {
    let mut payload = serde_json::json!({
        "title": format!("Community Request from {}", clip(agency, MAX_AGENCY_CHARS)),
        "body": format!(
            "{} — {}",
            clip(incident_type, MAX_INCIDENT_CHARS),
            clip(timeframe, MAX_TIMEFRAME_CHARS)
        ),
    });
    if !url.is_empty() && url.len() <= MAX_URL_BYTES && !url.chars().any(char::is_control) {
        payload["url"] = serde_json::Value::String(url.to_owned());
    }
    payload.to_string().into_bytes()
}

/// `text` with control characters as spaces, cut to `max` characters with an ellipsis.
fn clip(text: &str, max: usize) -> String {
    let clean: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut cut: String = clean.chars().take(max.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;

    const SECRET: [u8; 32] = [0x42; 32];

    fn sender() -> PushSender {
        PushSender::new(&SECRET, "mailto:ops@canvass.example".into()).unwrap()
    }

    fn decode_part(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_public_key_is_an_uncompressed_point_from_the_secret() {
        let a = sender();
        let b = sender();
        assert_eq!(a.public_key_base64url(), b.public_key_base64url());
        let bytes = URL_SAFE_NO_PAD.decode(a.public_key_base64url()).unwrap();
        assert_eq!(bytes.len(), 65);
        assert_eq!(bytes[0], 0x04);
        assert!(p256::PublicKey::from_sec1_bytes(&bytes).is_ok());
        let other = PushSender::new(&[0x43; 32], "mailto:ops@canvass.example".into()).unwrap();
        assert_ne!(other.public_key_base64url(), a.public_key_base64url());
        assert!(!format!("{a:?}").contains("42424242"));
    }

    #[test]
    fn invalid_scalars_are_derived_deterministically() {
        for secret in [[0_u8; 32], [0xff_u8; 32]] {
            assert!(p256::SecretKey::from_slice(&secret).is_err());
            let a = PushSender::new(&secret, "https://canvass.example".into()).unwrap();
            let b = PushSender::new(&secret, "https://canvass.example".into()).unwrap();
            assert_eq!(a.public_key_base64url(), b.public_key_base64url());
        }
    }

    #[test]
    fn subjects_must_be_contacts() {
        for good in [
            "mailto:ops@canvass.example",
            "https://canvass.example",
            "http://127.0.0.1:8080",
        ] {
            assert!(PushSender::new(&SECRET, good.into()).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ops@canvass.example",
            "mailto:nobody",
            "ftp://x.example",
        ] {
            let err = PushSender::new(&SECRET, bad.into()).unwrap_err();
            assert!(matches!(err, PushError::Subject(_)), "{bad}");
        }
    }

    #[test]
    fn the_vapid_token_verifies_and_names_the_origin_with_its_port() {
        let s = sender();
        let endpoint = url::Url::parse("http://127.0.0.1:4321/push/abc?x=1").unwrap();
        let jwt = s.token_for(&endpoint, 1_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(decode_part(parts[0])["alg"], "ES256");
        let claims = decode_part(parts[1]);
        assert_eq!(claims["aud"], "http://127.0.0.1:4321");
        assert_eq!(claims["sub"], "mailto:ops@canvass.example");
        assert_eq!(claims["exp"], 1_000_000 + VAPID_VALIDITY_SECS);
        let key_bytes = URL_SAFE_NO_PAD.decode(s.public_key_base64url()).unwrap();
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key_bytes).unwrap();
        let sig_bytes = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let sig = p256::ecdsa::Signature::from_slice(&sig_bytes).unwrap();
        let input = format!("{}.{}", parts[0], parts[1]);
        key.verify(input.as_bytes(), &sig).unwrap();
        // The default port is left out of the origin.
        let fcm = url::Url::parse("https://fcm.googleapis.com:443/fcm/send/x").unwrap();
        let claims = decode_part(s.token_for(&fcm, 0).unwrap().split('.').nth(1).unwrap());
        assert_eq!(claims["aud"], "https://fcm.googleapis.com");
    }

    #[test]
    fn tokens_are_reused_per_origin_until_half_their_life_is_gone() {
        let s = sender();
        let a = url::Url::parse("https://push.a.example/1").unwrap();
        let a2 = url::Url::parse("https://push.a.example/2").unwrap();
        let b = url::Url::parse("https://push.b.example/1").unwrap();
        let first = s.token_for(&a, 0).unwrap();
        assert_eq!(s.token_for(&a2, 3600).unwrap(), first);
        assert_ne!(s.token_for(&b, 3600).unwrap(), first);
        assert_eq!(
            s.token_for(&a, VAPID_VALIDITY_SECS - VAPID_MIN_REMAINING_SECS)
                .unwrap(),
            first
        );
        assert_ne!(
            s.token_for(&a, VAPID_VALIDITY_SECS - VAPID_MIN_REMAINING_SECS + 1)
                .unwrap(),
            first
        );
    }

    #[test]
    fn statuses_are_sorted_into_outcomes() {
        assert_eq!(
            outcome_for(201, String::new()).unwrap(),
            PushOutcome::Delivered
        );
        assert_eq!(outcome_for(404, String::new()).unwrap(), PushOutcome::Gone);
        assert_eq!(outcome_for(410, String::new()).unwrap(), PushOutcome::Gone);
        for transient in [408, 429, 500, 502, 503] {
            let e = outcome_for(transient, String::new()).unwrap_err();
            assert!(!e.is_permanent(), "{transient}");
            assert_eq!(e.status(), Some(transient));
        }
        for permanent in [301, 400, 401, 403, 413] {
            let e = outcome_for(permanent, "no".into()).unwrap_err();
            assert!(e.is_permanent(), "{permanent}");
        }
    }

    fn subscription() -> PushSubscription {
        let g = p256::AffinePoint::GENERATOR.to_encoded_point(false);
        PushSubscription {
            endpoint: "https://push.example/x".into(),
            p256dh: g.as_bytes().to_vec(),
            auth: vec![1; 16],
        }
    }

    #[test]
    fn payloads_must_fit_one_message() {
        let sub = subscription();
        let body = encrypt(&sub, &vec![b'x'; MAX_PAYLOAD]).unwrap();
        assert_eq!(body.len(), 4096);
        let err = encrypt(&sub, &vec![b'x'; MAX_PAYLOAD + 1]).unwrap_err();
        assert!(matches!(err, PushError::PayloadTooLarge(_)) && err.is_permanent());
    }

    #[test]
    fn unusable_subscriptions_are_errors_not_panics() {
        let mut sub = subscription();
        sub.auth = vec![1; 15];
        assert!(matches!(
            encrypt(&sub, b"hi"),
            Err(PushError::Subscription(_))
        ));
        let mut sub = subscription();
        sub.p256dh[5] ^= 1;
        assert!(matches!(
            encrypt(&sub, b"hi"),
            Err(PushError::Subscription(_))
        ));
    }

    #[test]
    fn the_notification_names_agency_incident_timeframe_and_link() {
        let bytes = notification_payload(
            "Springfield PD",
            "Package theft",
            "12 May 21:00–23:00",
            "https://canvass.example/r/abc",
        );
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["title"], "Community Request from Springfield PD");
        assert_eq!(v["body"], "Package theft — 12 May 21:00–23:00");
        assert_eq!(v["url"], "https://canvass.example/r/abc");
    }

    #[test]
    fn long_or_strange_fields_still_fit() {
        let huge = "\u{1F6A8}\"\\".repeat(5000);
        let control = "\u{1}".repeat(5000);
        let bytes = notification_payload(&huge, &control, &huge, &"x".repeat(5000));
        assert!(bytes.len() < 2000, "{}", bytes.len());
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let title = v["title"].as_str().unwrap();
        assert!(title.ends_with('…'));
        assert!(title.chars().count() <= "Community Request from ".len() + MAX_AGENCY_CHARS);
        assert!(v.get("url").is_none());
        assert!(!v["body"].as_str().unwrap().contains('\u{1}'));
    }
}
