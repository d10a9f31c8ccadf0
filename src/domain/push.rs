//! Web Push subscriptions (RFC 8030, RFC 8291): what a resident's browser hands us, checked
//! before it is stored, so that delivery never has to cope with a key it cannot use.
//!
//! A browser's `PushSubscription.toJSON()` looks like
//! `{"endpoint": "https://…", "expirationTime": null, "keys": {"p256dh": "…", "auth": "…"}}`,
//! with both keys in unpadded base64url. Padded base64url is accepted too, because some client
//! libraries add the padding back.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use super::validation::{Problems, ValidationError};

/// The error code of every refused subscription.
pub const INVALID_SUBSCRIPTION: &str = "invalid_subscription";

/// The longest endpoint URL accepted, in bytes. Real push services use a few hundred.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// Length of the browser's public key: an uncompressed SEC1 P-256 point (0x04 ‖ x ‖ y).
pub const P256DH_LEN: usize = 65;

/// Length of the browser's authentication secret (RFC 8291 §3.2).
pub const AUTH_LEN: usize = 16;

/// Longest base64 text looked at for a key, so a huge string is refused before decoding.
const MAX_KEY_TEXT: usize = 256;

/// base64url, with or without `=` padding.
const BASE64URL_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A checked browser push subscription: where to send, and the keys to encrypt for.
#[derive(Clone, PartialEq, Eq)]
pub struct PushSubscription {
    /// The push resource URL (https, or http to loopback in tests and the demo).
    pub endpoint: String,
    /// The browser's public key: a 65-byte uncompressed P-256 point, known to be on the curve.
    pub p256dh: Vec<u8>,
    /// The browser's 16-byte authentication secret.
    pub auth: Vec<u8>,
}

impl std::fmt::Debug for PushSubscription {
    // The endpoint is a capability (whoever knows it can push to the browser) and `auth` is a
    // secret, so neither should land in logs through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origin = url::Url::parse(&self.endpoint)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| "?".into());
        f.debug_struct("PushSubscription")
            .field("endpoint_origin", &origin)
            .field("p256dh_len", &self.p256dh.len())
            .field("auth", &"<redacted>")
            .finish()
    }
}

impl PushSubscription {
    /// The subscription in the browser's JSON form (unpadded base64url keys), which
    /// [`parse_subscription`] reads back.
    pub fn to_json(&self) -> Value {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        serde_json::json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": b64.encode(&self.p256dh),
                "auth": b64.encode(&self.auth),
            },
        })
    }
}

/// Checks a browser's PushSubscription JSON and returns the subscription.
///
/// Refuses, with code `invalid_subscription` and every problem listed by field (`endpoint`,
/// `keys.p256dh`, `keys.auth`): a missing or over-long endpoint, one that is not an https URL
/// (plain http is allowed only to 127.0.0.1, localhost or \[::1\], and only when
/// `allow_loopback_http`, which tests and the demo set), bad base64url, a public key that is not
/// a 65-byte uncompressed point on P-256, and an auth secret that is not 16 bytes.
///
/// Endpoints that name a loopback, private or link-local IP address are refused as well (unless
/// `allow_loopback_http`, and then only loopback ones): the server POSTs to whatever URL a
/// resident registers, and must not be made to reach its own network that way. Host names are
/// not resolved here; this is a pure check. A name that resolves to such an address is caught
/// when a push is sent, by [`public_push_addresses`].
pub fn parse_subscription(
    json: &Value,
    allow_loopback_http: bool,
) -> Result<PushSubscription, ValidationError> {
    let mut p = Problems::new();
    let Some(object) = json.as_object() else {
        p.add(
            "subscription",
            "must be a JSON object with endpoint and keys",
        );
        return Err(finish(p));
    };

    let endpoint = match object.get("endpoint") {
        None | Some(Value::Null) => {
            p.add("endpoint", "is missing");
            None
        }
        Some(Value::String(s)) => match check_endpoint(s, allow_loopback_http) {
            Ok(()) => Some(s.clone()),
            Err(problem) => {
                p.add("endpoint", problem);
                None
            }
        },
        Some(_) => {
            p.add("endpoint", "must be a string");
            None
        }
    };

    let keys = match object.get("keys") {
        Some(Value::Object(keys)) => Some(keys),
        None | Some(Value::Null) => {
            p.add("keys", "is missing; it must hold p256dh and auth");
            None
        }
        Some(_) => {
            p.add("keys", "must be an object with p256dh and auth");
            None
        }
    };
    let mut p256dh = None;
    let mut auth = None;
    if let Some(keys) = keys {
        p256dh = decode_key(&mut p, "keys.p256dh", keys.get("p256dh")).and_then(|bytes| {
            match check_p256dh(&bytes) {
                Ok(()) => Some(bytes),
                Err(problem) => {
                    p.add("keys.p256dh", problem);
                    None
                }
            }
        });
        auth = decode_key(&mut p, "keys.auth", keys.get("auth")).and_then(|bytes| {
            if bytes.len() == AUTH_LEN {
                Some(bytes)
            } else {
                p.add(
                    "keys.auth",
                    format!("must be {AUTH_LEN} bytes, not {}", bytes.len()),
                );
                None
            }
        });
    }

    match (endpoint, p256dh, auth) {
        (Some(endpoint), Some(p256dh), Some(auth)) => Ok(PushSubscription {
            endpoint,
            p256dh,
            auth,
        }),
        _ => Err(finish(p)),
    }
}

/// Turns the problems found into the error (there is always at least one when this is called).
fn finish(p: Problems) -> ValidationError {
    let details = p.into_details();
    let fields: Vec<&str> = details.keys().map(String::as_str).collect();
    ValidationError {
        code: INVALID_SUBSCRIPTION,
        message: format!(
            "The push subscription is not valid: check {}",
            fields.join(", ")
        ),
        details,
    }
}

/// Decodes one base64url key, recording why it cannot be when it cannot.
fn decode_key(p: &mut Problems, field: &str, value: Option<&Value>) -> Option<Vec<u8>> {
    let text = match value {
        None | Some(Value::Null) => {
            p.add(field, "is missing");
            return None;
        }
        Some(Value::String(s)) => s,
        Some(_) => {
            p.add(field, "must be a base64url string");
            return None;
        }
    };
    if text.len() > MAX_KEY_TEXT {
        p.add(field, "is far too long for a key");
        return None;
    }
    match BASE64URL_ANY_PADDING.decode(text) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            p.add(field, format!("is not valid base64url: {e}"));
            None
        }
    }
}

/// The browser's key must be an uncompressed point that lies on P-256; ECDH with anything else
/// fails at send time or, worse, leaks (invalid-curve attacks), so it is refused up front.
fn check_p256dh(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() != P256DH_LEN {
        return Err(format!(
            "must be {P256DH_LEN} bytes (an uncompressed P-256 point), not {}",
            bytes.len()
        ));
    }
    if bytes.first() != Some(&0x04) {
        return Err("must be an uncompressed P-256 point (first byte 0x04)".into());
    }
    p256::PublicKey::from_sec1_bytes(bytes)
        .map(|_| ())
        .map_err(|_| "is not a point on the P-256 curve".into())
}

/// The endpoint rules of [`parse_subscription`].
fn check_endpoint(endpoint: &str, allow_loopback_http: bool) -> Result<(), String> {
    if endpoint.is_empty() {
        return Err("is missing".into());
    }
    if endpoint.len() > MAX_ENDPOINT_LEN {
        return Err(format!(
            "is {} bytes long; at most {MAX_ENDPOINT_LEN} are accepted",
            endpoint.len()
        ));
    }
    let url = url::Url::parse(endpoint).map_err(|e| format!("is not a URL: {e}"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password".into());
    }
    let host = url.host().ok_or("must name a host")?;
    let loopback = match &host {
        url::Host::Domain(d) => is_localhost_name(d),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    let internal_ip = match host {
        url::Host::Domain(_) => false,
        url::Host::Ipv4(ip) => is_internal(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => is_internal(IpAddr::V6(ip)),
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && loopback => {}
        "http" if allow_loopback_http => {
            return Err(
                "must be an https URL (http is accepted only for 127.0.0.1, localhost or [::1])"
                    .into(),
            );
        }
        _ => return Err("must be an https URL".into()),
    }
    if loopback && !allow_loopback_http {
        return Err("must not point at this machine (localhost)".into());
    }
    if internal_ip && !(loopback && allow_loopback_http) {
        return Err("must not point at a private, loopback or link-local address".into());
    }
    Ok(())
}

/// `localhost` and its subdomains (RFC 6761 §6.3), which always resolve to this machine.
fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Addresses a public push service never has: loopback, private, link-local, shared (CGNAT),
/// unspecified, broadcast and documentation ranges, and their IPv4-mapped IPv6 forms.
fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

/// Of the addresses `host` resolved to, those a push may be sent to: the public ones. A name
/// that passes [`parse_subscription`] can still resolve to this machine or its network (a
/// hosts-file entry, or a name the subscriber controls), so this runs on every look-up, at
/// connection time, where a check at subscription time could be undone by the next answer.
/// `localhost` names are left alone: [`parse_subscription`] admits them only when loopback
/// pushes are allowed (tests and the demo).
pub fn public_push_addresses(
    host: &str,
    resolved: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, String> {
    if is_localhost_name(host) {
        return Ok(resolved);
    }
    let public: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|a| !is_internal(a.ip()))
        .collect();
    if public.is_empty() {
        return Err(format!(
            "{host} resolves to no public address (only loopback, private or link-local ones, \
             or none): pushes are not sent into the server's own network"
        ));
    }
    Ok(public)
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64) // shared address space 100.64.0.0/10
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_resolving_into_the_servers_network_get_no_push() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        for internal in [
            "127.0.0.1:443",
            "10.1.2.3:443",
            "192.168.0.10:443",
            "169.254.169.254:80",
            "100.64.0.1:443",
            "[::1]:443",
            "[fd00::1]:443",
            "[::ffff:10.0.0.1]:443",
        ] {
            let e =
                public_push_addresses("push.attacker.example", vec![addr(internal)]).unwrap_err();
            assert!(e.contains("push.attacker.example"), "{internal}: {e}");
        }
        assert!(public_push_addresses("nothing.example", vec![]).is_err());
        // A mixed answer keeps only the public addresses.
        let mixed = vec![addr("10.0.0.1:443"), addr("142.250.74.10:443")];
        assert_eq!(
            public_push_addresses("fcm.googleapis.com", mixed).unwrap(),
            vec![addr("142.250.74.10:443")]
        );
        // localhost names pass: parse_subscription admits them only when loopback is allowed.
        let local = vec![addr("127.0.0.1:8080")];
        assert_eq!(
            public_push_addresses("localhost", local.clone()).unwrap(),
            local
        );
    }

    /// A real uncompressed P-256 public key (the generator point G), base64url.
    fn good_p256dh() -> String {
        let g = p256::AffinePoint::GENERATOR;
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&g, false);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(point.as_bytes())
    }

    fn good_auth() -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7_u8; 16])
    }

    fn sub(endpoint: &str, p256dh: &str, auth: &str) -> Value {
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {"p256dh": p256dh, "auth": auth},
        })
    }

    fn refused(json: &Value, allow_loopback_http: bool) -> ValidationError {
        let err = parse_subscription(json, allow_loopback_http).unwrap_err();
        assert_eq!(err.code, INVALID_SUBSCRIPTION);
        err
    }

    const FCM: &str = "https://fcm.googleapis.com/fcm/send/abc:def";

    #[test]
    fn a_browser_subscription_is_accepted() {
        let s = parse_subscription(&sub(FCM, &good_p256dh(), &good_auth()), false).unwrap();
        assert_eq!(s.endpoint, FCM);
        assert_eq!(s.p256dh.len(), 65);
        assert_eq!(s.p256dh[0], 0x04);
        assert_eq!(s.auth, vec![7_u8; 16]);
    }

    #[test]
    fn padded_base64url_is_accepted_and_json_round_trips() {
        let padded_auth = base64::engine::general_purpose::URL_SAFE.encode([9_u8; 16]);
        assert!(padded_auth.ends_with("=="));
        let padded_key = format!("{}=", good_p256dh());
        let s = parse_subscription(&sub(FCM, &padded_key, &padded_auth), false).unwrap();
        assert_eq!(s.auth, vec![9_u8; 16]);
        let again = parse_subscription(&s.to_json(), false).unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn a_missing_endpoint_is_refused() {
        let err = refused(
            &json!({"keys": {"p256dh": good_p256dh(), "auth": good_auth()}}),
            false,
        );
        assert_eq!(err.details["endpoint"], vec!["is missing".to_string()]);
        let err = refused(&sub("", &good_p256dh(), &good_auth()), false);
        assert!(err.details.contains_key("endpoint"));
        let err = refused(
            &json!({"endpoint": 5, "keys": {"p256dh": good_p256dh(), "auth": good_auth()}}),
            false,
        );
        assert_eq!(
            err.details["endpoint"],
            vec!["must be a string".to_string()]
        );
    }

    #[test]
    fn an_over_long_endpoint_is_refused() {
        let long = format!("https://push.example.com/{}", "a".repeat(MAX_ENDPOINT_LEN));
        let err = refused(&sub(&long, &good_p256dh(), &good_auth()), false);
        assert!(err.details["endpoint"][0].contains("2048"), "{err:?}");
        let just_fits = format!(
            "https://push.example.com/{}",
            "a".repeat(MAX_ENDPOINT_LEN - 25)
        );
        assert_eq!(just_fits.len(), MAX_ENDPOINT_LEN);
        assert!(parse_subscription(&sub(&just_fits, &good_p256dh(), &good_auth()), false).is_ok());
    }

    #[test]
    fn non_https_endpoints_are_refused() {
        for endpoint in [
            "http://push.example.com/x",
            "ftp://push.example.com/x",
            "not a url",
            "/relative/path",
        ] {
            let err = refused(&sub(endpoint, &good_p256dh(), &good_auth()), false);
            assert!(err.details.contains_key("endpoint"), "{endpoint}");
        }
        // Loopback http is allowed only when asked for, and only loopback.
        let err = refused(
            &sub("http://push.example.com/x", &good_p256dh(), &good_auth()),
            true,
        );
        assert!(err.details["endpoint"][0].contains("127.0.0.1"));
        for endpoint in [
            "http://127.0.0.1:4000/push/1",
            "http://localhost:4000/push/1",
            "http://[::1]:4000/push/1",
        ] {
            assert!(
                parse_subscription(&sub(endpoint, &good_p256dh(), &good_auth()), true).is_ok(),
                "{endpoint}"
            );
            let err = refused(&sub(endpoint, &good_p256dh(), &good_auth()), false);
            assert!(err.details.contains_key("endpoint"), "{endpoint}");
        }
    }

    #[test]
    fn internal_addresses_and_credentials_are_refused() {
        for endpoint in [
            "https://10.0.0.5/push",
            "https://192.168.1.1/push",
            "https://169.254.169.254/latest",
            "https://[fd00::1]/push",
            "https://[::ffff:127.0.0.1]/push",
            "https://100.64.1.1/push",
            "https://user:pw@push.example.com/x",
        ] {
            let err = refused(&sub(endpoint, &good_p256dh(), &good_auth()), true);
            assert!(err.details.contains_key("endpoint"), "{endpoint}");
        }
        // Loopback in any spelling, when loopback is not allowed.
        for endpoint in ["https://0x7f.1/push", "https://LOCALHOST./push"] {
            let err = refused(&sub(endpoint, &good_p256dh(), &good_auth()), false);
            assert!(err.details.contains_key("endpoint"), "{endpoint}");
        }
        assert!(
            parse_subscription(
                &sub("https://203.0.114.9/push", &good_p256dh(), &good_auth()),
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn bad_base64_is_refused() {
        let err = refused(&sub(FCM, "not*base64!", "%%%"), false);
        assert!(err.details["keys.p256dh"][0].contains("base64url"));
        assert!(err.details["keys.auth"][0].contains("base64url"));
        // Standard base64's '+' and '/' are not base64url.
        let std_auth = "+/+/+/+/+/+/+/+/+/+/+w";
        let err = refused(&sub(FCM, &good_p256dh(), std_auth), false);
        assert!(err.details["keys.auth"][0].contains("base64url"));
        let err = refused(&sub(FCM, &"A".repeat(1000), &good_auth()), false);
        assert!(err.details.contains_key("keys.p256dh"));
    }

    #[test]
    fn a_p256dh_of_the_wrong_length_is_refused() {
        let short = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([4_u8; 33]);
        let err = refused(&sub(FCM, &short, &good_auth()), false);
        assert!(
            err.details["keys.p256dh"][0].contains("65 bytes"),
            "{err:?}"
        );
        assert!(err.details["keys.p256dh"][0].contains("not 33"));
    }

    #[test]
    fn a_p256dh_off_the_curve_is_refused() {
        let mut bytes = [0x11_u8; 65];
        bytes[0] = 0x04;
        let off = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let err = refused(&sub(FCM, &off, &good_auth()), false);
        assert_eq!(
            err.details["keys.p256dh"],
            vec!["is not a point on the P-256 curve".to_string()]
        );
        let mut compressed_tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(good_p256dh())
            .unwrap();
        compressed_tag[0] = 0x02;
        let bad = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compressed_tag);
        let err = refused(&sub(FCM, &bad, &good_auth()), false);
        assert!(err.details["keys.p256dh"][0].contains("0x04"));
    }

    #[test]
    fn an_auth_of_the_wrong_length_is_refused() {
        let long = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([1_u8; 32]);
        let err = refused(&sub(FCM, &good_p256dh(), &long), false);
        assert_eq!(
            err.details["keys.auth"],
            vec!["must be 16 bytes, not 32".to_string()]
        );
    }

    #[test]
    fn missing_keys_and_non_objects_are_refused_with_every_field() {
        let err = refused(&json!({"endpoint": FCM}), false);
        assert!(err.details.contains_key("keys"));
        let err = refused(&json!({"endpoint": FCM, "keys": {}}), false);
        assert_eq!(err.details["keys.p256dh"], vec!["is missing".to_string()]);
        assert_eq!(err.details["keys.auth"], vec!["is missing".to_string()]);
        assert!(err.message.contains("keys.auth, keys.p256dh"));
        let err = refused(&json!("https://push.example.com"), false);
        assert!(err.details.contains_key("subscription"));
        let err = refused(
            &sub("http://push.example.com/", "!!", &good_p256dh()),
            false,
        );
        assert_eq!(err.details.len(), 3, "{err:?}");
    }

    #[test]
    fn debug_output_hides_the_secrets() {
        let s = parse_subscription(&sub(FCM, &good_p256dh(), &good_auth()), false).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("abc:def"), "{shown}");
        assert!(shown.contains("https://fcm.googleapis.com"));
        assert!(shown.contains("redacted"));
    }
}
