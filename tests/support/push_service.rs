//! A real Web Push service for tests, on 127.0.0.1 over HTTP.
//!
//! It plays both ends a push passes through: the browser, which makes a key pair and an auth
//! secret when it subscribes ([`PushService::subscribe`]), and the push service, which checks the
//! VAPID `Authorization` header (RFC 8292: ES256 signature by the `k=` key, `aud` its own origin,
//! `exp` in the future and at most 24 hours away, `sub` a contact), decrypts the aes128gcm body
//! (RFC 8291) with the browser's private key, and records what it read. It can be told to answer
//! an endpoint with a fixed status (404, 410, 429, 500, …) instead.
//!
//! Requests it refuses are recorded in [`PushService::rejections`], so a test can tell "the
//! service refused our push" from "the push never came".

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use canvass::domain::push::PushSubscription;
use p256::ecdsa::signature::Verifier;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::Value;

/// One push the service accepted, decrypted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The endpoint it was sent to.
    pub endpoint: String,
    /// The decrypted payload.
    pub plaintext: Vec<u8>,
    /// The verified VAPID JWT claims.
    pub claims: Value,
    /// The VAPID JWT header.
    pub jwt_header: Value,
    /// The `k=` public key (base64url) that signed the JWT.
    pub vapid_key: String,
    /// The `TTL` header.
    pub ttl: String,
    /// The `Urgency` header, if any.
    pub urgency: Option<String>,
    /// The encrypted body's length.
    pub body_len: usize,
}

/// What the "browser" keeps for one subscription, and how the service should answer it.
struct Registration {
    /// The browser's private key (the subscription's `p256dh` is its public half).
    secret: p256::SecretKey,
    /// The browser's auth secret.
    auth: [u8; 16],
    /// The `applicationServerKey` given at subscribe time: pushes must be signed by it.
    application_server_key: Option<String>,
    /// A status to answer instead of accepting.
    forced: Option<StatusCode>,
}

struct Inner {
    origin: String,
    registrations: Mutex<HashMap<String, Registration>>,
    received: Mutex<Vec<Received>>,
    rejections: Mutex<Vec<String>>,
}

/// A running push service. Stops when dropped.
pub struct PushService {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PushService {
    /// Starts on an ephemeral port of 127.0.0.1.
    pub async fn start() -> PushService {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Inner {
            origin: format!("http://{addr}"),
            registrations: Mutex::new(HashMap::new()),
            received: Mutex::new(Vec::new()),
            rejections: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/push/{id}", post(receive))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        PushService { inner, task }
    }

    /// `http://127.0.0.1:PORT`: what the VAPID `aud` must be.
    pub fn origin(&self) -> String {
        self.inner.origin.clone()
    }

    /// What a browser's `pushManager.subscribe({applicationServerKey})` does: makes a P-256 key
    /// pair and a 16-byte auth secret, registers an endpoint, and hands back the subscription.
    /// With `application_server_key`, pushes signed by any other VAPID key are refused (403).
    pub fn subscribe(&self, application_server_key: Option<&str>) -> PushSubscription {
        let secret = loop {
            let mut bytes = [0_u8; 32];
            rand::fill(&mut bytes);
            if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
                break key;
            }
        };
        let mut auth = [0_u8; 16];
        rand::fill(&mut auth);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let endpoint = format!("{}/push/{id}", self.inner.origin);
        let p256dh = secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        self.inner.registrations.lock().unwrap().insert(
            id,
            Registration {
                secret,
                auth,
                application_server_key: application_server_key.map(str::to_owned),
                forced: None,
            },
        );
        PushSubscription {
            endpoint,
            p256dh,
            auth: auth.to_vec(),
        }
    }

    /// From now on, answer every push to `sub` with `status` (after checking its VAPID token).
    pub fn answer_with(&self, sub: &PushSubscription, status: u16) {
        let id = id_of(&sub.endpoint);
        let mut regs = self.inner.registrations.lock().unwrap();
        regs.get_mut(&id)
            .expect("a subscription of this service")
            .forced = Some(StatusCode::from_u16(status).unwrap());
    }

    /// Forgets `sub`, as when the browser unsubscribes: pushes to it then get 410.
    pub fn unsubscribe(&self, sub: &PushSubscription) {
        self.inner
            .registrations
            .lock()
            .unwrap()
            .remove(&id_of(&sub.endpoint));
    }

    /// Every push accepted so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// The pushes accepted for `sub`.
    pub fn received_for(&self, sub: &PushSubscription) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.endpoint == sub.endpoint)
            .collect()
    }

    /// Why each refused request was refused.
    pub fn rejections(&self) -> Vec<String> {
        self.inner.rejections.lock().unwrap().clone()
    }
}

fn id_of(endpoint: &str) -> String {
    endpoint.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Refuses a request with `status`, noting why.
fn refuse(inner: &Inner, status: StatusCode, why: String) -> Response {
    inner.rejections.lock().unwrap().push(why.clone());
    (status, why).into_response()
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // Real services check the sender before anything else.
    let Some(authorization) = header("authorization") else {
        return refuse(&inner, StatusCode::UNAUTHORIZED, "no Authorization".into());
    };
    let vapid = match verify_vapid(&authorization, &inner.origin) {
        Ok(v) => v,
        Err(why) => return refuse(&inner, StatusCode::UNAUTHORIZED, why),
    };
    let (secret, auth, forced) = {
        let regs = inner.registrations.lock().unwrap();
        let Some(reg) = regs.get(&id) else {
            return (StatusCode::GONE, "no such subscription").into_response();
        };
        if let Some(expected) = &reg.application_server_key
            && *expected != vapid.key
        {
            drop(regs);
            return refuse(
                &inner,
                StatusCode::FORBIDDEN,
                "VAPID key is not the subscription's applicationServerKey".into(),
            );
        }
        (reg.secret.clone(), reg.auth, reg.forced)
    };
    if let Some(status) = forced {
        return (status, "as the test asked").into_response();
    }
    if header("content-encoding").as_deref() != Some("aes128gcm") {
        return refuse(
            &inner,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {:?}", header("content-encoding")),
        );
    }
    let Some(ttl) = header("ttl").filter(|t| t.parse::<u32>().is_ok()) else {
        return refuse(&inner, StatusCode::BAD_REQUEST, "TTL missing or bad".into());
    };
    if body.len() > 4096 {
        return refuse(
            &inner,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body of {} bytes", body.len()),
        );
    }
    let auth = web_push_native::Auth::clone_from_slice(&auth);
    let plaintext = match web_push_native::decrypt(body.to_vec(), &secret, &auth) {
        Ok(p) => p,
        Err(e) => return refuse(&inner, StatusCode::BAD_REQUEST, format!("decrypt: {e}")),
    };
    inner.received.lock().unwrap().push(Received {
        endpoint: format!("{}/push/{id}", inner.origin),
        plaintext,
        claims: vapid.claims,
        jwt_header: vapid.header,
        vapid_key: vapid.key,
        ttl,
        urgency: header("urgency"),
        body_len: body.len(),
    });
    (
        StatusCode::CREATED,
        [(
            "location",
            format!("{}/message/{}", inner.origin, uuid::Uuid::new_v4()),
        )],
    )
        .into_response()
}

/// A VAPID header that checked out.
struct Vapid {
    header: Value,
    claims: Value,
    key: String,
}

/// Checks `vapid t=<jwt>, k=<key>` as RFC 8292 §3 and a push service would.
fn verify_vapid(authorization: &str, origin: &str) -> Result<Vapid, String> {
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or_else(|| format!("not a vapid scheme: {authorization}"))?;
    let mut token = None;
    let mut key = None;
    for param in rest.split(',') {
        match param.trim().split_once('=') {
            Some(("t", v)) => token = Some(v.trim()),
            Some(("k", v)) => key = Some(v.trim()),
            _ => return Err(format!("unexpected parameter {param:?}")),
        }
    }
    let (token, key) = token.zip(key).ok_or("t= or k= missing")?;
    let key_bytes = URL_SAFE_NO_PAD
        .decode(key)
        .map_err(|e| format!("k is not base64url: {e}"))?;
    let verifying_key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key_bytes)
        .map_err(|_| "k is not a P-256 key".to_string())?;
    let parts: Vec<&str> = token.split('.').collect();
    let [h, c, s] = parts[..] else {
        return Err("the JWT does not have three parts".into());
    };
    let json = |part: &str| -> Result<Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|e| format!("JWT part not base64url: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("JWT part not JSON: {e}"))
    };
    let header = json(h)?;
    if header["alg"] != "ES256" {
        return Err(format!("alg is {}, not ES256", header["alg"]));
    }
    let sig_bytes = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|e| format!("signature not base64url: {e}"))?;
    let signature = p256::ecdsa::Signature::from_slice(&sig_bytes)
        .map_err(|_| "the signature is not 64 bytes of r ‖ s".to_string())?;
    verifying_key
        .verify(format!("{h}.{c}").as_bytes(), &signature)
        .map_err(|_| "the JWT signature does not verify with k".to_string())?;
    let claims = json(c)?;
    if claims["aud"] != origin {
        return Err(format!("aud is {}, not {origin}", claims["aud"]));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = claims["exp"].as_i64().ok_or("exp missing")?;
    if exp <= now {
        return Err(format!("exp {exp} has passed (now {now})"));
    }
    if exp > now + Duration::from_secs(24 * 3600).as_secs() as i64 {
        return Err(format!("exp {exp} is more than 24 hours away"));
    }
    let sub = claims["sub"].as_str().ok_or("sub missing")?;
    if !(sub.starts_with("mailto:") || sub.starts_with("https:") || sub.starts_with("http:")) {
        return Err(format!("sub {sub:?} is not a contact"));
    }
    Ok(Vapid {
        header,
        claims,
        key: key.to_owned(),
    })
}
