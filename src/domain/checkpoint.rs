//! Signed checkpoints of the transparency log: a C2SP tlog-checkpoint body in a C2SP signed
//! note, signed with Ed25519, so that anyone can check a tree head with standard tools
//! (for example Go's `golang.org/x/mod/sumdb/note`).
//!
//! A note is its text, a blank line, then signature lines `— NAME BASE64(key_hash ‖ sig)`.
//! `key_hash` is the first four bytes of SHA-256(name ‖ `\n` ‖ 0x01 ‖ public key); the 0x01
//! names the Ed25519 algorithm. The verifier key is `NAME+HEX(key_hash)+BASE64(0x01 ‖ key)`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// The signed-note algorithm byte for Ed25519.
const ALG_ED25519: u8 = 0x01;
/// What starts every signature line: U+2014 EM DASH, then a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Go's reference implementation refuses notes with more signatures than this; so do we, so
/// a hostile note cannot make us decode without bound.
const MAX_SIGNATURES: usize = 100;

/// A tree head of the log: which log, how many entries, and the Merkle root over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name; also the signer's key name.
    pub origin: String,
    /// The number of entries the root covers.
    pub size: u64,
    /// RFC 9162 MTH over the first `size` entries.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text that gets signed: origin, size in decimal and base64 root, one per line,
    /// each ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }
}

/// Why a note, a verifier key or a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The origin cannot serve as a signed-note key name.
    #[error("invalid origin: {0}")]
    InvalidOrigin(&'static str),
    /// The verifier key text is not `NAME+HEX8+BASE64`.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// The verifier key's hash does not belong to its name and key.
    #[error("the verifier key's hash {stated:08x} does not match its name and key")]
    VerifierKeyHashMismatch {
        /// The hash written in the key text.
        stated: u32,
    },
    /// The note holds a control character other than newline, which signed notes forbid.
    #[error("the note contains a control character")]
    ControlCharacter,
    /// No empty line separates the text from the signatures.
    #[error("the note has no blank line before its signatures")]
    MissingBlankLine,
    /// Nothing follows the blank line.
    #[error("the note has no signature lines")]
    NoSignatures,
    /// More signature lines than any verifier will read.
    #[error("the note has more than {MAX_SIGNATURES} signature lines")]
    TooManySignatures,
    /// A signature line does not follow `— NAME BASE64`.
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSignatureLine {
        /// 1-based, counted from the first signature line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No signature line is by the verifier key.
    #[error("the note has no signature by {key}")]
    NoMatchingSignature {
        /// `NAME+HEX8` of the verifier key.
        key: String,
    },
    /// A signature line by the verifier key does not verify over the text.
    #[error("the signature by {key} does not verify")]
    InvalidSignature {
        /// `NAME+HEX8` of the verifier key.
        key: String,
    },
    /// The checkpoint body lacks one of its three lines.
    #[error("the checkpoint has no {0} line")]
    MissingBodyLine(&'static str),
    /// The checkpoint names another log than the key does.
    #[error("the checkpoint origin {origin:?} is not the key's name {key_name:?}")]
    OriginMismatch {
        /// The body's first line.
        origin: String,
        /// The verifier key's name.
        key_name: String,
    },
    /// The size line is not a canonical decimal `u64`.
    #[error("the checkpoint size {0:?} is not a decimal number without leading zeros")]
    InvalidSize(String),
    /// The root line is not base64 of 32 bytes.
    #[error("the checkpoint root is not base64 of 32 bytes: {0}")]
    InvalidRoot(&'static str),
    /// An extension line after the root is empty.
    #[error("the checkpoint has an empty extension line")]
    EmptyExtensionLine,
}

/// Checks that `origin` can name a signed-note key: not empty, no white space and no `+`,
/// which would split the verifier key text (C2SP signed-note).
pub fn check_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty() {
        return Err(CheckpointError::InvalidOrigin("it is empty"));
    }
    if origin.chars().any(char::is_whitespace) {
        return Err(CheckpointError::InvalidOrigin("it contains white space"));
    }
    if origin.contains('+') {
        return Err(CheckpointError::InvalidOrigin("it contains '+'"));
    }
    if origin.chars().any(char::is_control) {
        return Err(CheckpointError::InvalidOrigin(
            "it contains a control character",
        ));
    }
    Ok(())
}

/// The signed-note key hash: the first four bytes of SHA-256(name ‖ `\n` ‖ 0x01 ‖ key).
fn key_hash(name: &str, public_key: &[u8; 32]) -> u32 {
    let digest: [u8; 32] = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([ALG_ED25519])
        .chain_update(public_key)
        .finalize()
        .into();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The log's signing key and the origin it signs for.
#[derive(Clone)]
pub struct LogSigner {
    origin: String,
    key: SigningKey,
}

impl fmt::Debug for LogSigner {
    // Never print the secret key, not even into a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogSigner")
            .field("verifier_key", &self.verifier_key())
            .finish_non_exhaustive()
    }
}

impl LogSigner {
    /// A new random key for `origin`. Check the origin with [`check_origin`] first: notes
    /// signed under an invalid one cannot be verified.
    pub fn generate(origin: impl Into<String>) -> Self {
        let mut secret = [0_u8; 32];
        rand::fill(&mut secret);
        Self::from_bytes(origin, &secret)
    }

    /// The key for `origin` from its 32-byte Ed25519 secret (as [`LogSigner::to_bytes`] gave).
    pub fn from_bytes(origin: impl Into<String>, secret: &[u8; 32]) -> Self {
        Self {
            origin: origin.into(),
            key: SigningKey::from_bytes(secret),
        }
    }

    /// The 32-byte Ed25519 secret, to store and later pass to [`LogSigner::from_bytes`].
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The origin this key signs for.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn key_hash(&self) -> u32 {
        key_hash(&self.origin, self.key.verifying_key().as_bytes())
    }

    /// The verifier key in signed-note form: `ORIGIN+HEX8(key_hash)+BASE64(0x01 ‖ key)`.
    pub fn verifier_key(&self) -> String {
        let mut key = Vec::with_capacity(33);
        key.push(ALG_ED25519);
        key.extend_from_slice(self.key.verifying_key().as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.origin,
            self.key_hash(),
            STANDARD.encode(key)
        )
    }

    /// The checkpoint as a signed note: its body, a blank line, and one signature line by this
    /// key. The line names this signer's origin, so `cp.origin` should be the same.
    pub fn sign(&self, cp: &Checkpoint) -> String {
        self.sign_text(&cp.body())
    }

    /// Any note text (ending in a newline) signed by this key.
    fn sign_text(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.key_hash().to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.origin,
            STANDARD.encode(blob)
        )
    }
}

/// A parsed verifier key.
struct NoteVerifier {
    name: String,
    hash: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// `NAME+HEX8`, how errors name the key.
    fn label(&self) -> String {
        format!("{}+{:08x}", self.name, self.hash)
    }
}

fn parse_verifier_key(text: &str) -> Result<NoteVerifier, CheckpointError> {
    use CheckpointError::MalformedVerifierKey as Bad;
    // The name cannot hold '+', and the hash is hex; only the base64 key may contain '+'.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(hash_hex), Some(key64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Bad("expected NAME+HASH+KEY"));
    };
    check_origin(name).map_err(|_| Bad("the name is empty or holds white space"))?;
    if hash_hex.len() != 8 || !hash_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Bad("the key hash is not 8 hex digits"));
    }
    let hash = u32::from_str_radix(hash_hex, 16).map_err(|_| Bad("the key hash is not hex"))?;
    let key = STANDARD
        .decode(key64)
        .map_err(|_| Bad("the key is not base64"))?;
    let Some((&alg, public)) = key.split_first() else {
        return Err(Bad("the key is empty"));
    };
    if alg != ALG_ED25519 {
        return Err(Bad("the key is not an Ed25519 key (type 0x01)"));
    }
    let public: [u8; 32] = public
        .try_into()
        .map_err(|_| Bad("the Ed25519 key is not 32 bytes"))?;
    if key_hash(name, &public) != hash {
        return Err(CheckpointError::VerifierKeyHashMismatch { stated: hash });
    }
    let key =
        VerifyingKey::from_bytes(&public).map_err(|_| Bad("the key is not an Ed25519 point"))?;
    if key.is_weak() {
        return Err(Bad("the key is a small-order point"));
    }
    Ok(NoteVerifier {
        name: name.to_owned(),
        hash,
        key,
    })
}

/// Checks the note's signature by `verifier` and returns its text (ending in a newline).
/// Signature lines by other keys are ignored, as C2SP signed-note requires.
fn open_note<'a>(note: &'a str, verifier: &NoteVerifier) -> Result<&'a str, CheckpointError> {
    use CheckpointError::MalformedSignatureLine as BadLine;
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(CheckpointError::ControlCharacter);
    }
    // Signature lines are never empty, so the last blank line is the separator.
    let split = note
        .rfind("\n\n")
        .ok_or(CheckpointError::MissingBlankLine)?;
    let text = &note[..=split];
    let sigs = &note[split + 2..];
    if sigs.is_empty() {
        return Err(CheckpointError::NoSignatures);
    }
    let Some(sigs) = sigs.strip_suffix('\n') else {
        return Err(BadLine {
            line: sigs.split('\n').count(),
            reason: "it does not end in a newline",
        });
    };
    let mut verified = false;
    for (i, line) in sigs.split('\n').enumerate() {
        let line_no = i + 1;
        if line_no > MAX_SIGNATURES {
            return Err(CheckpointError::TooManySignatures);
        }
        let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
            return Err(BadLine {
                line: line_no,
                reason: "it does not start with an em dash and a space",
            });
        };
        let Some((name, b64)) = rest.split_once(' ') else {
            return Err(BadLine {
                line: line_no,
                reason: "no space between the name and the signature",
            });
        };
        if check_origin(name).is_err() {
            return Err(BadLine {
                line: line_no,
                reason: "the key name is empty or holds white space or '+'",
            });
        }
        let blob = STANDARD.decode(b64).map_err(|_| BadLine {
            line: line_no,
            reason: "the signature is not base64",
        })?;
        let Some((hash, signature)) = blob.split_first_chunk::<4>() else {
            return Err(BadLine {
                line: line_no,
                reason: "the signature is shorter than its key hash",
            });
        };
        if signature.is_empty() {
            return Err(BadLine {
                line: line_no,
                reason: "the signature is empty",
            });
        }
        if name != verifier.name || u32::from_be_bytes(*hash) != verifier.hash {
            continue;
        }
        let invalid = || CheckpointError::InvalidSignature {
            key: verifier.label(),
        };
        let signature = Signature::from_slice(signature).map_err(|_| invalid())?;
        verifier
            .key
            .verify_strict(text.as_bytes(), &signature)
            .map_err(|_| invalid())?;
        verified = true;
    }
    if verified {
        Ok(text)
    } else {
        Err(CheckpointError::NoMatchingSignature {
            key: verifier.label(),
        })
    }
}

/// Parses a C2SP tlog-checkpoint body signed under `key_name`.
fn parse_body(text: &str, key_name: &str) -> Result<Checkpoint, CheckpointError> {
    let mut lines = text.strip_suffix('\n').unwrap_or(text).split('\n');
    let origin = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or(CheckpointError::MissingBodyLine("origin"))?;
    let size_line = lines
        .next()
        .ok_or(CheckpointError::MissingBodyLine("size"))?;
    let root_line = lines
        .next()
        .ok_or(CheckpointError::MissingBodyLine("root hash"))?;
    // Extension lines may follow; we use none of them, but each must be a line.
    if lines.any(str::is_empty) {
        return Err(CheckpointError::EmptyExtensionLine);
    }
    if origin != key_name {
        return Err(CheckpointError::OriginMismatch {
            origin: origin.to_owned(),
            key_name: key_name.to_owned(),
        });
    }
    let canonical = !size_line.is_empty()
        && size_line.bytes().all(|b| b.is_ascii_digit())
        && (size_line == "0" || !size_line.starts_with('0'));
    let size = canonical
        .then(|| size_line.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| CheckpointError::InvalidSize(size_line.to_owned()))?;
    let root = STANDARD
        .decode(root_line)
        .map_err(|_| CheckpointError::InvalidRoot("not base64"))?;
    let root: Hash = root
        .try_into()
        .map_err(|_| CheckpointError::InvalidRoot("not 32 bytes"))?;
    Ok(Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
    })
}

/// Verifies a signed checkpoint note against a verifier key (`ORIGIN+HEX8+BASE64`) and
/// returns the checkpoint. The note must carry a valid signature by that key; other
/// signatures are ignored; the body's origin must be the key's name; extension lines after
/// the root are allowed and ignored.
pub fn verify_note(note: &str, verifier_key: &str) -> Result<Checkpoint, CheckpointError> {
    let verifier = parse_verifier_key(verifier_key)?;
    let text = open_note(note, &verifier)?;
    parse_body(text, &verifier.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ORIGIN: &str = "canvass.example/log";

    fn signer() -> LogSigner {
        LogSigner::from_bytes(ORIGIN, &[7; 32])
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.to_owned(),
            size: 42,
            root: crate::domain::merkle::leaf_hash(b"root"),
        }
    }

    // From golang.org/x/mod/sumdb/note note_test.go (TestNewVerifier, TestSign, TestOpen):
    // Go's reference signed-note implementation and its example key and note.
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                              then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter_signer() -> LogSigner {
        // PRIVATE+KEY+NAME+HASH+BASE64(0x01 ‖ 32-byte seed); the base64 may hold '+'.
        let b64 = PETER_SKEY.splitn(5, '+').nth(4).unwrap();
        let key = STANDARD.decode(b64).unwrap();
        assert_eq!(key[0], ALG_ED25519);
        let seed: [u8; 32] = key[1..].try_into().unwrap();
        LogSigner::from_bytes("PeterNeumann", &seed)
    }

    #[test]
    fn body_is_three_lines() {
        let cp = Checkpoint {
            origin: "o".into(),
            size: 0,
            root: [0; 32],
        };
        assert_eq!(
            cp.body(),
            "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        );
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let s = signer();
        let cp = checkpoint();
        let note = s.sign(&cp);
        assert!(note.starts_with(&cp.body()));
        assert!(note.contains(&format!("\n\n\u{2014} {ORIGIN} ")));
        assert!(note.ends_with('\n'));
        assert_eq!(verify_note(&note, &s.verifier_key()), Ok(cp));
    }

    #[test]
    fn generated_keys_round_trip_through_bytes() {
        let a = LogSigner::generate(ORIGIN);
        let b = LogSigner::from_bytes(ORIGIN, &a.to_bytes());
        assert_eq!(a.verifier_key(), b.verifier_key());
        assert_ne!(a.verifier_key(), LogSigner::generate(ORIGIN).verifier_key());
        let note = b.sign(&checkpoint());
        assert_eq!(verify_note(&note, &a.verifier_key()), Ok(checkpoint()));
        assert!(!format!("{a:?}").contains(&STANDARD.encode(a.to_bytes())));
    }

    #[test]
    fn verifier_key_has_the_signed_note_form() {
        let s = signer();
        let vkey = s.verifier_key();
        let rest = vkey.strip_prefix(&format!("{ORIGIN}+")).unwrap();
        let (hash, key64) = rest.split_once('+').unwrap();
        assert_eq!(hash.len(), 8);
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        // 33 bytes of base64 with padding: 44 characters.
        assert_eq!(key64.len(), 44);
        assert_eq!(vkey.len(), ORIGIN.len() + 1 + 8 + 1 + 44);
        let key = STANDARD.decode(key64).unwrap();
        assert_eq!(key[0], 0x01);
        assert_eq!(&key[1..], s.key.verifying_key().as_bytes());
        let digest = Sha256::digest([ORIGIN.as_bytes(), b"\n\x01", &key[1..]].concat());
        assert_eq!(hash, hex::encode(&digest[..4]));
    }

    #[test]
    fn a_note_built_by_hand_from_the_spec_verifies() {
        let secret = SigningKey::from_bytes(&[9; 32]);
        let public = secret.verifying_key().to_bytes();
        let root = [0xab_u8; 32];
        let body = format!("{ORIGIN}\n1234\n{}\n", STANDARD.encode(root));
        let digest = Sha256::digest([ORIGIN.as_bytes(), b"\n", &[0x01], &public].concat());
        let signature = secret.sign(body.as_bytes()).to_bytes();
        let blob = [&digest[..4], &signature[..]].concat();
        let note = format!("{body}\n\u{2014} {ORIGIN} {}\n", STANDARD.encode(blob));
        let vkey = format!(
            "{ORIGIN}+{}+{}",
            hex::encode(&digest[..4]),
            STANDARD.encode([&[0x01], &public[..]].concat())
        );
        assert_eq!(LogSigner::from_bytes(ORIGIN, &[9; 32]).verifier_key(), vkey);
        assert_eq!(
            verify_note(&note, &vkey),
            Ok(Checkpoint {
                origin: ORIGIN.into(),
                size: 1234,
                root
            })
        );
    }

    #[test]
    fn go_reference_key_and_signature_are_reproduced() {
        let peter = peter_signer();
        assert_eq!(peter.verifier_key(), PETER_VKEY);
        // Ed25519 is deterministic, so our note is byte for byte Go's.
        let want = format!("{PETER_TEXT}\n{PETER_SIG}");
        assert_eq!(peter.sign_text(PETER_TEXT), want);

        let verifier = parse_verifier_key(PETER_VKEY).unwrap();
        assert_eq!(open_note(&want, &verifier), Ok(PETER_TEXT));
        // Another key's signature is ignored, in either order.
        let both = format!("{PETER_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        assert_eq!(open_note(&both, &verifier), Ok(PETER_TEXT));
        let both = format!("{PETER_TEXT}\n{ENOCH_SIG}{PETER_SIG}");
        assert_eq!(open_note(&both, &verifier), Ok(PETER_TEXT));
        let enoch = parse_verifier_key(ENOCH_VKEY).unwrap();
        assert_eq!(open_note(&both, &enoch), Ok(PETER_TEXT));
        assert!(matches!(
            open_note(&want, &enoch),
            Err(CheckpointError::NoMatchingSignature { .. })
        ));
        // The text is two lines, not a checkpoint: the public entry point refuses it, cleanly.
        assert_eq!(
            verify_note(&want, PETER_VKEY),
            Err(CheckpointError::MissingBodyLine("root hash"))
        );
        let tampered = want.replace("cryptography", "cryptographY");
        assert!(matches!(
            open_note(&tampered, &verifier),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn go_reference_malformed_notes_are_refused() {
        let verifier = parse_verifier_key(PETER_VKEY).unwrap();
        let bad_sig = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        let bad = [
            PETER_TEXT.to_owned(),
            format!("{PETER_TEXT}\n"),
            format!("{PETER_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\x01{PETER_TEXT}\n{PETER_SIG}"),
            format!(
                "{PETER_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
            ),
            format!("{PETER_TEXT}\n{PETER_SIG}Unexpected line.\n"),
            format!("{PETER_TEXT}\n{}", PETER_SIG.repeat(101)),
            format!("{PETER_TEXT}\n{bad_sig}"),
        ];
        for note in bad {
            assert!(open_note(&note, &verifier).is_err(), "{note:?}");
        }
        assert!(matches!(
            open_note(&format!("{PETER_TEXT}\n{bad_sig}"), &verifier),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn go_reference_bad_verifier_keys_are_refused() {
        assert!(parse_verifier_key(PETER_VKEY).is_ok());
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len()) {
                    let k = String::from_utf8_lossy(&b[i..j]);
                    assert!(parse_verifier_key(&k).is_err(), "{k}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let k = String::from_utf8_lossy(&m);
            assert!(parse_verifier_key(&k).is_err(), "{k}");
        }
        // Wrong key length and unknown algorithm, each with a matching key hash.
        for k in [
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(parse_verifier_key(k).is_err(), "{k}");
        }
    }

    fn replace_line(note: &str, line: usize, with: &str) -> String {
        let mut lines: Vec<&str> = note.split('\n').collect();
        lines[line] = with;
        lines.join("\n")
    }

    #[test]
    fn tampering_is_refused() {
        let s = signer();
        let vkey = s.verifier_key();
        let note = s.sign(&checkpoint());
        let invalid = |n: &str| {
            matches!(
                verify_note(n, &vkey),
                Err(CheckpointError::InvalidSignature { .. })
            )
        };

        assert!(invalid(&replace_line(&note, 1, "43")));
        let other_root = STANDARD.encode([1_u8; 32]);
        assert!(invalid(&replace_line(&note, 2, &other_root)));
        assert!(invalid(&replace_line(&note, 0, "other.example/log")));

        // One byte of the signature flipped (the key hash stays, so the line is ours).
        let sig_line = note.lines().nth(4).unwrap();
        let (head, b64) = sig_line.rsplit_once(' ').unwrap();
        let mut blob = STANDARD.decode(b64).unwrap();
        blob[10] ^= 1;
        let flipped = replace_line(&note, 4, &format!("{head} {}", STANDARD.encode(&blob)));
        assert!(invalid(&flipped));

        // A signature by another key is not one by ours, even under the same origin.
        let other = LogSigner::from_bytes(ORIGIN, &[8; 32]);
        let forged = other.sign(&checkpoint());
        assert!(matches!(
            verify_note(&forged, &vkey),
            Err(CheckpointError::NoMatchingSignature { .. })
        ));
        // Nor when it claims our key hash.
        let (_, b64) = forged.lines().nth(4).unwrap().rsplit_once(' ').unwrap();
        let mut blob = STANDARD.decode(b64).unwrap();
        blob[..4].copy_from_slice(&s.key_hash().to_be_bytes());
        let forged = replace_line(&forged, 4, &format!("{head} {}", STANDARD.encode(&blob)));
        assert!(invalid(&forged));

        // A key for a different origin does not vouch for this log.
        let elsewhere = LogSigner::from_bytes("other.example/log", &[7; 32]);
        assert!(matches!(
            verify_note(&note, &elsewhere.verifier_key()),
            Err(CheckpointError::NoMatchingSignature { .. })
        ));
        // A checkpoint whose body names another log than its signer is refused.
        let mislabelled = s.sign(&Checkpoint {
            origin: "other.example/log".into(),
            ..checkpoint()
        });
        assert!(matches!(
            verify_note(&mislabelled, &vkey),
            Err(CheckpointError::OriginMismatch { .. })
        ));
    }

    #[test]
    fn extension_lines_are_ignored_but_must_be_lines() {
        let s = signer();
        let body = checkpoint().body();
        let note = s.sign_text(&format!("{body}ext one\next two\n"));
        assert_eq!(verify_note(&note, &s.verifier_key()), Ok(checkpoint()));
        let note = s.sign_text(&format!("{body}\next\n"));
        assert_eq!(
            verify_note(&note, &s.verifier_key()),
            Err(CheckpointError::EmptyExtensionLine)
        );
    }

    #[test]
    fn body_fields_are_checked() {
        let s = signer();
        let vkey = s.verifier_key();
        let root = STANDARD.encode([3_u8; 32]);
        let check = |body: String| verify_note(&s.sign_text(&body), &vkey);
        assert_eq!(
            check(format!("{ORIGIN}\n0\n{root}\n")).map(|c| c.size),
            Ok(0)
        );
        assert_eq!(
            check(format!("{ORIGIN}\n18446744073709551615\n{root}\n")).map(|c| c.size),
            Ok(u64::MAX)
        );
        for size in [
            "007",
            "00",
            "",
            "+5",
            "-1",
            " 5",
            "5 ",
            "1e3",
            "18446744073709551616",
        ] {
            assert_eq!(
                check(format!("{ORIGIN}\n{size}\n{root}\n")),
                Err(CheckpointError::InvalidSize(size.into())),
                "{size:?}"
            );
        }
        let short = STANDARD.encode([3_u8; 31]);
        assert_eq!(
            check(format!("{ORIGIN}\n1\n{short}\n")),
            Err(CheckpointError::InvalidRoot("not 32 bytes"))
        );
        let unpadded = root.trim_end_matches('=');
        assert_eq!(
            check(format!("{ORIGIN}\n1\n{unpadded}\n")),
            Err(CheckpointError::InvalidRoot("not base64"))
        );
        assert_eq!(
            check(format!("{ORIGIN}\n1\n")),
            Err(CheckpointError::MissingBodyLine("root hash"))
        );
        assert_eq!(
            check(format!("{ORIGIN}\n")),
            Err(CheckpointError::MissingBodyLine("size"))
        );
    }

    #[test]
    fn malformed_notes_are_errors() {
        let s = signer();
        let vkey = s.verifier_key();
        let note = s.sign(&checkpoint());
        let body = checkpoint().body();
        let sig_line = note.lines().nth(4).unwrap();

        let cases = [
            (String::new(), CheckpointError::MissingBlankLine),
            (body.clone(), CheckpointError::MissingBlankLine),
            (
                format!("{body}{sig_line}\n"),
                CheckpointError::MissingBlankLine,
            ),
            (format!("{body}\n"), CheckpointError::NoSignatures),
            (
                note.replacen('\n', "\r", 1),
                CheckpointError::ControlCharacter,
            ),
        ];
        for (n, want) in cases {
            assert_eq!(verify_note(&n, &vkey), Err(want), "{n:?}");
        }
        let bad_lines = [
            format!("{body}\n{sig_line}"),
            format!("{body}\n- {ORIGIN} AAAAAAAA\n"),
            format!("{body}\n\u{2014} {ORIGIN}\n"),
            format!("{body}\n\u{2014} {ORIGIN} not*base64\n"),
            format!("{body}\n\u{2014} {ORIGIN} AAAA\n"),
            format!("{body}\n\u{2014} {ORIGIN} AAAAAA==\n"),
            format!("{body}\n\u{2014}  AAAAAAAA\n"),
            // A malformed line spoils the note even after a good signature.
            format!("{body}\n{sig_line}\n\u{2014} x AAAA\n"),
        ];
        for n in bad_lines {
            assert!(
                matches!(
                    verify_note(&n, &vkey),
                    Err(CheckpointError::MalformedSignatureLine { .. })
                ),
                "{n:?}: {:?}",
                verify_note(&n, &vkey)
            );
        }
        // Another key's well-formed line is ignored.
        let n = format!("{note}\u{2014} x AAAAAAAA\n");
        assert_eq!(verify_note(&n, &vkey), Ok(checkpoint()));
        // A short blob that carries our key hash is our signature, and wrong.
        let mut blob = s.key_hash().to_be_bytes().to_vec();
        blob.extend_from_slice(&[0; 10]);
        let n = format!("{body}\n\u{2014} {ORIGIN} {}\n", STANDARD.encode(blob));
        assert!(matches!(
            verify_note(&n, &vkey),
            Err(CheckpointError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn origins_are_checked() {
        assert_eq!(check_origin(ORIGIN), Ok(()));
        for bad in ["", "a b", "a+b", "a\tb", "a\u{7f}b"] {
            assert!(check_origin(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(note in any::<String>(), vkey in any::<String>()) {
            let s = signer();
            let _ = verify_note(&note, &vkey);
            let _ = verify_note(&note, &s.verifier_key());
            let appended = format!("{}\n\n{}", checkpoint().body(), note);
            prop_assert!(verify_note(&appended, &s.verifier_key()).is_err());
        }

        #[test]
        fn any_single_character_change_is_refused(at in any::<prop::sample::Index>(), c in any::<char>()) {
            let s = signer();
            let note = s.sign(&checkpoint());
            let chars: Vec<char> = note.chars().collect();
            let i = at.index(chars.len());
            prop_assume!(chars[i] != c);
            let mut changed = chars.clone();
            changed[i] = c;
            let changed: String = changed.into_iter().collect();
            prop_assert!(verify_note(&changed, &s.verifier_key()).is_err(), "{:?}", changed);
        }

        #[test]
        fn every_checkpoint_round_trips(size in any::<u64>(), root in any::<[u8; 32]>(), seed in any::<[u8; 32]>()) {
            let s = LogSigner::from_bytes(ORIGIN, &seed);
            let cp = Checkpoint { origin: ORIGIN.into(), size, root };
            prop_assert_eq!(verify_note(&s.sign(&cp), &s.verifier_key()), Ok(cp));
        }
    }
}
