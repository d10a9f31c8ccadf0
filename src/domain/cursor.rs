//! Opaque, tamper-proof tokens the server hands out and later takes back: feed cursors and
//! unsubscribe links. The content is signed (HMAC-SHA-256, per purpose), so a token we did not
//! issue is refused with a clear error instead of being acted on.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A position in a list ordered by (time, id), newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The stored time of the last item shown.
    pub at: String,
    /// The id of the last item shown.
    pub id: String,
}

fn mac(key: &[u8; 32], purpose: &str, payload: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    // The purpose is part of what is signed, so a cursor cannot pass as an unsubscribe token.
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(payload);
    Some(mac)
}

/// Signs `text` for `purpose` into a URL-safe token.
pub fn seal(key: &[u8; 32], purpose: &str, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    if let Some(m) = mac(key, purpose, &bytes) {
        bytes.extend_from_slice(&m.finalize().into_bytes()[..16]);
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The text of a token sealed for `purpose` with `key`; `None` for anything else.
pub fn open(key: &[u8; 32], purpose: &str, token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    if bytes.len() < 17 {
        return None;
    }
    let (payload, given) = bytes.split_at(bytes.len() - 16);
    mac(key, purpose, payload)?
        .verify_truncated_left(given)
        .ok()?;
    String::from_utf8(payload.to_vec()).ok()
}

/// The cursor for the position after `pos`.
pub fn encode(key: &[u8; 32], pos: &Position) -> String {
    seal(key, "feed-cursor", &format!("{}|{}", pos.at, pos.id))
}

/// The position a cursor names, or an error when it is not one we issued.
pub fn decode(key: &[u8; 32], cursor: &str) -> Result<Position, String> {
    let refused =
        || "is not a cursor this server issued; use next_cursor from the previous page".to_owned();
    let text = open(key, "feed-cursor", cursor).ok_or_else(refused)?;
    let (at, id) = text.split_once('|').ok_or_else(refused)?;
    Ok(Position {
        at: at.to_owned(),
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    #[test]
    fn a_cursor_round_trips() {
        let p = Position {
            at: "2026-11-25T12:00:00.000000Z".into(),
            id: "abc".into(),
        };
        assert_eq!(decode(&KEY, &encode(&KEY, &p)), Ok(p));
    }

    #[test]
    fn cursors_we_did_not_issue_are_refused() {
        let p = Position {
            at: "2026-11-25T12:00:00.000000Z".into(),
            id: "abc".into(),
        };
        let c = encode(&KEY, &p);
        assert!(decode(&[8; 32], &c).is_err(), "another key");
        let mut forged = c.clone().into_bytes();
        forged[3] ^= 1;
        assert!(decode(&KEY, &String::from_utf8_lossy(&forged)).is_err());
        for bad in ["", "x", "!!!!", &URL_SAFE_NO_PAD.encode("2026|abc")] {
            assert!(decode(&KEY, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_token_only_opens_for_its_purpose() {
        let t = seal(&KEY, "unsubscribe", "user-1");
        assert_eq!(open(&KEY, "unsubscribe", &t).as_deref(), Some("user-1"));
        assert_eq!(open(&KEY, "feed-cursor", &t), None);
    }
}
