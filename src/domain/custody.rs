//! The chain of custody of one evidence item: an append-only list of events, each holding the
//! SHA-256 of the one before, so that removing, reordering or editing any event breaks the
//! chain at that event.
//!
//! An event's hash is SHA-256 over the canonical JSON (RFC 8785) of all its fields but `hash`.
//! The first event links to a genesis hash derived from the evidence id, so a chain cannot be
//! moved to another item. Anyone holding the events (an export, the resident's view) can
//! recompute the whole chain; nothing here needs a key.
//!
//! What a chain alone cannot show is that events were cut off its end: that needs a copy
//! taken earlier (the resident's, an export) to compare with.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Domain separation for the genesis hash, versioned so a later format cannot collide.
const GENESIS_PREFIX: &[u8] = b"canvass-custody-v1\n";

/// What happened to an evidence item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustodyKind {
    /// The clip arrived and was hashed; always the first event.
    Received,
    /// The stored bytes were hashed again and compared with the hash taken on receipt.
    HashVerified,
    /// Someone at the agency looked at the item's details or played it.
    Viewed,
    /// Someone at the agency downloaded the bytes.
    Downloaded,
    /// The item went into an evidence export.
    Exported,
    /// The periodic integrity sweep hashed the stored bytes again.
    IntegrityChecked,
}

impl CustodyKind {
    /// Every kind, in the order of the enum.
    pub const ALL: [Self; 6] = [
        Self::Received,
        Self::HashVerified,
        Self::Viewed,
        Self::Downloaded,
        Self::Exported,
        Self::IntegrityChecked,
    ];

    /// The name as stored and serialized (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::HashVerified => "hash_verified",
            Self::Viewed => "viewed",
            Self::Downloaded => "downloaded",
            Self::Exported => "exported",
            Self::IntegrityChecked => "integrity_checked",
        }
    }

    /// The kind named `s`, as [`CustodyKind::as_str`] writes it.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Whether residents see events of this kind about the clips they shared. Only `received`:
/// the agency's handling of evidence (who viewed or exported it) is part of its investigation.
pub fn resident_visible(kind: CustodyKind) -> bool {
    kind == CustodyKind::Received
}

/// One event in an evidence item's chain of custody.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustodyEvent {
    /// The evidence item this event is about.
    pub evidence_id: String,
    /// Position in the item's chain: 0, 1, 2, …
    pub seq: u64,
    /// What happened.
    pub kind: CustodyKind,
    /// The account that acted, or `None` for the system.
    pub actor_id: Option<String>,
    /// Who, in words: "resident Jane D.", "investigator a@pd.example", "system (integrity sweep)".
    pub actor: String,
    /// When, UTC, RFC 3339 with microseconds and `Z`, exactly as stored.
    pub at: String,
    /// The address the action came from, when there was one.
    pub source_ip: Option<String>,
    /// Why.
    pub reason: String,
    /// Specifics, e.g. `{"sha256": "…", "size": 123}` or `{"outcome": "match", "sha256": "…"}`.
    pub detail: serde_json::Value,
    /// Hex SHA-256 of the previous event; for seq 0, [`genesis_hash`] of the evidence id.
    pub prev_hash: String,
    /// Hex SHA-256 of this event, as [`event_hash`] computes it.
    pub hash: String,
}

/// What the app supplies for a new event; [`next_event`] fills in the chain fields.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCustodyEvent {
    /// What happened.
    pub kind: CustodyKind,
    /// The account that acted, or `None` for the system.
    pub actor_id: Option<String>,
    /// Who, in words.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The address the action came from, when there was one.
    pub source_ip: Option<String>,
    /// Why.
    pub reason: String,
    /// Specifics.
    pub detail: serde_json::Value,
}

/// What is wrong with a chain, naming the event (seq) where it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A chain has at least its `received` event.
    #[error("the chain of custody has no events")]
    Empty,
    /// The chain does not start where custody starts.
    #[error("the chain of custody does not start with a received event")]
    FirstNotReceived,
    /// An event is missing, duplicated or out of order.
    #[error("event {expected} of the chain of custody is missing: found seq {found} in its place")]
    Gap {
        /// The seq that should come next.
        expected: u64,
        /// The seq found there.
        found: u64,
    },
    /// The event's `prev_hash` is not the hash of the event before it.
    #[error("custody event {seq} does not link to the event before it")]
    BrokenLink {
        /// The event whose link is broken.
        seq: u64,
    },
    /// The event's content does not hash to its `hash`: it was edited.
    #[error("custody event {seq} was altered: its content does not match its hash")]
    HashMismatch {
        /// The altered event.
        seq: u64,
    },
    /// The event belongs to another evidence item's chain.
    #[error("custody event {seq} is about another evidence item")]
    WrongEvidence {
        /// The misplaced event.
        seq: u64,
    },
}

/// Hex SHA-256 of `b"canvass-custody-v1\n" ‖ evidence_id`: the chain's anchor.
pub fn genesis_hash(evidence_id: &str) -> String {
    hex::encode(
        Sha256::new()
            .chain_update(GENESIS_PREFIX)
            .chain_update(evidence_id.as_bytes())
            .finalize(),
    )
}

/// The fields an event's hash covers: all but `hash` itself, with the same names.
#[derive(Serialize)]
struct Hashed<'a> {
    evidence_id: &'a str,
    seq: u64,
    kind: CustodyKind,
    actor_id: Option<&'a str>,
    actor: &'a str,
    at: &'a str,
    source_ip: Option<&'a str>,
    reason: &'a str,
    detail: &'a serde_json::Value,
    prev_hash: &'a str,
}

/// Hex SHA-256 of the canonical JSON (RFC 8785) of every field of `e` except `hash`.
pub fn event_hash(e: &CustodyEvent) -> String {
    let fields = Hashed {
        evidence_id: &e.evidence_id,
        seq: e.seq,
        kind: e.kind,
        actor_id: e.actor_id.as_deref(),
        actor: &e.actor,
        at: &e.at,
        source_ip: e.source_ip.as_deref(),
        reason: &e.reason,
        detail: &e.detail,
        prev_hash: &e.prev_hash,
    };
    // serde_jcs fails only on non-string map keys and non-finite numbers, and neither can
    // occur here (serde_json::Value holds neither), so the fallback is never taken.
    let canonical = serde_jcs::to_vec(&fields).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))
}

/// The event that follows `prev` (`None`: the first), with seq, prev_hash and hash filled in.
pub fn next_event(
    evidence_id: &str,
    prev: Option<&CustodyEvent>,
    new: NewCustodyEvent,
) -> CustodyEvent {
    let (seq, prev_hash) = match prev {
        Some(p) => (p.seq + 1, p.hash.clone()),
        None => (0, genesis_hash(evidence_id)),
    };
    let mut event = CustodyEvent {
        evidence_id: evidence_id.to_owned(),
        seq,
        kind: new.kind,
        actor_id: new.actor_id,
        actor: new.actor,
        at: new.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        source_ip: new.source_ip,
        reason: new.reason,
        detail: new.detail,
        prev_hash,
        hash: String::new(),
    };
    event.hash = event_hash(&event);
    event
}

/// Checks a whole chain: seq runs 0..n with no gaps, every prev_hash links, every hash
/// recomputes, every event names this evidence item, and the first event is `received`.
/// The error names the first event, in chain order, where something is wrong.
pub fn verify_chain(evidence_id: &str, events: &[CustodyEvent]) -> Result<(), ChainError> {
    if events.is_empty() {
        return Err(ChainError::Empty);
    }
    let mut prev_hash = genesis_hash(evidence_id);
    for (expected, e) in (0_u64..).zip(events) {
        if e.evidence_id != evidence_id {
            return Err(ChainError::WrongEvidence { seq: e.seq });
        }
        if e.seq != expected {
            return Err(ChainError::Gap {
                expected,
                found: e.seq,
            });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainError::BrokenLink { seq: e.seq });
        }
        if event_hash(e) != e.hash {
            return Err(ChainError::HashMismatch { seq: e.seq });
        }
        // Checked after the hash, so that an edited kind is reported as an edit.
        if expected == 0 && e.kind != CustodyKind::Received {
            return Err(ChainError::FirstNotReceived);
        }
        prev_hash.clone_from(&e.hash);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde_json::json;

    const ID: &str = "ev-1";

    fn new(kind: CustodyKind, n: u32) -> NewCustodyEvent {
        NewCustodyEvent {
            kind,
            actor_id: n.is_multiple_of(2).then(|| format!("user-{n}")),
            actor: format!("investigator {n}@pd.example"),
            at: Utc
                .timestamp_opt(1_700_000_000 + i64::from(n), n * 1000)
                .unwrap(),
            source_ip: (!n.is_multiple_of(3)).then(|| "192.0.2.7".to_owned()),
            reason: format!("reason {n}"),
            detail: json!({"sha256": "ab".repeat(32), "size": n}),
        }
    }

    fn chain(kinds: &[CustodyKind]) -> Vec<CustodyEvent> {
        let mut out: Vec<CustodyEvent> = Vec::new();
        for (n, kind) in (0_u32..).zip(kinds) {
            let e = next_event(ID, out.last(), new(*kind, n));
            out.push(e);
        }
        out
    }

    fn sample() -> Vec<CustodyEvent> {
        chain(&[
            CustodyKind::Received,
            CustodyKind::HashVerified,
            CustodyKind::Viewed,
            CustodyKind::Downloaded,
            CustodyKind::Exported,
        ])
    }

    #[test]
    fn kinds_round_trip_through_their_names_and_serde() {
        for k in CustodyKind::ALL {
            assert_eq!(CustodyKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.as_str().to_owned())
            );
        }
        assert_eq!(CustodyKind::parse("deleted"), None);
    }

    #[test]
    fn only_received_is_resident_visible() {
        for k in CustodyKind::ALL {
            assert_eq!(resident_visible(k), k == CustodyKind::Received);
        }
    }

    #[test]
    fn genesis_hash_is_sha256_of_prefix_and_id() {
        let expected = hex::encode(Sha256::digest(b"canvass-custody-v1\nev-1"));
        assert_eq!(genesis_hash(ID), expected);
        assert_eq!(genesis_hash(ID).len(), 64);
        assert_ne!(genesis_hash("ev-2"), genesis_hash(ID));
    }

    #[test]
    fn next_event_fills_the_chain_fields() {
        let events = sample();
        assert_eq!(events[0].seq, 0);
        assert_eq!(events[0].prev_hash, genesis_hash(ID));
        for pair in events.windows(2) {
            assert_eq!(pair[1].seq, pair[0].seq + 1);
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
        for e in &events {
            assert_eq!(e.hash, event_hash(e));
            assert_eq!(e.evidence_id, ID);
        }
        assert_eq!(events[1].at, "2023-11-14T22:13:21.000001Z");
    }

    #[test]
    fn event_hash_is_of_the_canonical_json_without_hash() {
        let e = &sample()[0];
        let mut v = serde_json::to_value(e).unwrap();
        v.as_object_mut().unwrap().remove("hash");
        let expected = hex::encode(Sha256::digest(serde_jcs::to_vec(&v).unwrap()));
        assert_eq!(e.hash, expected);
    }

    #[test]
    fn event_serializes_with_every_field_and_round_trips() {
        let e = sample()[1].clone();
        let v = serde_json::to_value(&e).unwrap();
        for field in [
            "evidence_id",
            "seq",
            "kind",
            "actor_id",
            "actor",
            "at",
            "source_ip",
            "reason",
            "detail",
            "prev_hash",
            "hash",
        ] {
            assert!(v.get(field).is_some(), "{field} missing");
        }
        assert_eq!(v["kind"], "hash_verified");
        let back: CustodyEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn a_built_chain_verifies() {
        assert_eq!(verify_chain(ID, &sample()), Ok(()));
        assert_eq!(verify_chain(ID, &chain(&[CustodyKind::Received])), Ok(()));
    }

    #[test]
    fn empty_chain_is_refused() {
        assert_eq!(verify_chain(ID, &[]), Err(ChainError::Empty));
    }

    #[test]
    fn chain_not_starting_with_received_is_refused() {
        let events = chain(&[CustodyKind::Viewed, CustodyKind::Received]);
        assert_eq!(verify_chain(ID, &events), Err(ChainError::FirstNotReceived));
    }

    #[test]
    fn chain_of_another_item_is_refused() {
        assert_eq!(
            verify_chain("ev-2", &sample()),
            Err(ChainError::WrongEvidence { seq: 0 })
        );
    }

    #[test]
    fn chain_moved_to_another_item_breaks_at_genesis() {
        // Rewriting every evidence_id and rehashing still cannot reuse the genesis link.
        let mut events = sample();
        for e in &mut events {
            e.evidence_id = "ev-2".to_owned();
            e.hash = event_hash(e);
        }
        assert_eq!(
            verify_chain("ev-2", &events),
            Err(ChainError::BrokenLink { seq: 0 })
        );
    }

    #[test]
    fn removed_event_is_a_gap() {
        let mut events = sample();
        events.remove(2);
        assert_eq!(
            verify_chain(ID, &events),
            Err(ChainError::Gap {
                expected: 2,
                found: 3
            })
        );
        let mut events = sample();
        events.remove(0);
        assert_eq!(
            verify_chain(ID, &events),
            Err(ChainError::Gap {
                expected: 0,
                found: 1
            })
        );
    }

    #[test]
    fn renumbered_chain_after_removal_breaks_the_link() {
        // Removing an event and renumbering the rest, rehashing each, still breaks the link.
        let mut events = sample();
        events.remove(2);
        for e in &mut events[2..] {
            e.seq -= 1;
            e.hash = event_hash(e);
        }
        assert_eq!(
            verify_chain(ID, &events),
            Err(ChainError::BrokenLink { seq: 2 })
        );
    }

    #[test]
    fn edited_fields_are_detected_at_their_event() {
        type Edit = fn(&mut CustodyEvent);
        let edits: [(&str, Edit); 8] = [
            ("detail", |e| e.detail["size"] = json!(999)),
            ("at", |e| e.at = "2020-01-01T00:00:00.000000Z".into()),
            ("reason", |e| e.reason.push('!')),
            ("actor", |e| e.actor = "someone else".into()),
            ("actor_id", |e| e.actor_id = Some("user-x".into())),
            ("source_ip", |e| e.source_ip = None),
            ("kind", |e| e.kind = CustodyKind::IntegrityChecked),
            ("hash", |e| e.hash = "00".repeat(32)),
        ];
        for (name, edit) in edits {
            for seq in 0..5 {
                let mut events = sample();
                edit(&mut events[seq]);
                if events == sample() {
                    continue; // the edit happened to be a no-op on this event
                }
                assert_eq!(
                    verify_chain(ID, &events),
                    Err(ChainError::HashMismatch { seq: seq as u64 }),
                    "{name} at {seq}"
                );
            }
        }
    }

    #[test]
    fn edited_prev_hash_is_a_broken_link() {
        let mut events = sample();
        events[3].prev_hash = genesis_hash(ID);
        assert_eq!(
            verify_chain(ID, &events),
            Err(ChainError::BrokenLink { seq: 3 })
        );
    }

    fn kind() -> impl Strategy<Value = CustodyKind> {
        prop::sample::select(CustodyKind::ALL.to_vec())
    }

    fn new_event() -> impl Strategy<Value = NewCustodyEvent> {
        (
            kind(),
            proptest::option::of("[a-z0-9-]{1,12}"),
            ".{0,20}",
            0_i64..4_000_000_000,
            0_u32..1_000_000_000,
            proptest::option::of("[0-9.:a-f]{3,39}"),
            ".{0,30}",
            proptest::collection::btree_map("[a-z_]{1,8}", any::<i64>(), 0..4),
        )
            .prop_map(
                |(kind, actor_id, actor, secs, nanos, source_ip, reason, detail)| NewCustodyEvent {
                    kind,
                    actor_id,
                    actor,
                    at: Utc.timestamp_opt(secs, nanos).unwrap(),
                    source_ip,
                    reason,
                    detail: json!(detail),
                },
            )
    }

    fn any_chain() -> impl Strategy<Value = (String, Vec<CustodyEvent>)> {
        (
            "[a-zA-Z0-9-]{1,36}",
            proptest::collection::vec(new_event(), 1..10),
        )
            .prop_map(|(id, news)| {
                let mut out: Vec<CustodyEvent> = Vec::new();
                for (i, mut n) in news.into_iter().enumerate() {
                    if i == 0 {
                        n.kind = CustodyKind::Received;
                    }
                    let e = next_event(&id, out.last(), n);
                    out.push(e);
                }
                (id, out)
            })
    }

    proptest! {
        #[test]
        fn built_chains_verify((id, events) in any_chain()) {
            prop_assert_eq!(verify_chain(&id, &events), Ok(()));
        }

        #[test]
        fn removing_any_but_the_last_event_is_a_gap(
            (id, events) in any_chain().prop_filter("two or more", |(_, e)| e.len() >= 2),
            pick in any::<prop::sample::Index>(),
        ) {
            let i = pick.index(events.len() - 1);
            let mut cut = events;
            cut.remove(i);
            prop_assert_eq!(
                verify_chain(&id, &cut),
                Err(ChainError::Gap { expected: i as u64, found: i as u64 + 1 })
            );
        }

        #[test]
        fn reordering_is_a_gap_at_the_first_moved_event(
            (id, events) in any_chain().prop_filter("two or more", |(_, e)| e.len() >= 2),
            a in any::<prop::sample::Index>(),
            b in any::<prop::sample::Index>(),
        ) {
            let (a, b) = (a.index(events.len()), b.index(events.len()));
            prop_assume!(a != b);
            let mut swapped = events;
            swapped.swap(a, b);
            let first = a.min(b) as u64;
            prop_assert_eq!(
                verify_chain(&id, &swapped),
                Err(ChainError::Gap { expected: first, found: a.max(b) as u64 })
            );
        }

        #[test]
        fn editing_any_field_of_any_event_names_that_event(
            (id, events) in any_chain(),
            pick in any::<prop::sample::Index>(),
            field in 0_usize..11,
            text in "[a-z]{1,8}",
            number in any::<u64>(),
        ) {
            let i = pick.index(events.len());
            let mut edited = events.clone();
            let e = &mut edited[i];
            match field {
                0 => e.evidence_id.push_str(&text),
                1 => e.seq = e.seq.wrapping_add(number.max(1)),
                2 => e.kind = if e.kind == CustodyKind::Viewed {
                    CustodyKind::Downloaded
                } else {
                    CustodyKind::Viewed
                },
                3 => e.actor_id = match &e.actor_id {
                    Some(a) => Some(format!("{a}{text}")),
                    None => Some(text.clone()),
                },
                4 => e.actor.push_str(&text),
                5 => e.at.push_str(&text),
                6 => e.source_ip = match &e.source_ip {
                    Some(_) => None,
                    None => Some(text.clone()),
                },
                7 => e.reason.push_str(&text),
                8 => e.detail = json!({"edited": number, "was": e.detail.clone()}),
                9 => e.prev_hash = event_hash(&events[i]),
                _ => e.hash = genesis_hash(&text),
            }
            let seq = i as u64;
            let expected = match field {
                0 => ChainError::WrongEvidence { seq },
                1 => ChainError::Gap { expected: seq, found: edited[i].seq },
                9 => ChainError::BrokenLink { seq },
                _ => ChainError::HashMismatch { seq },
            };
            prop_assert_eq!(verify_chain(&id, &edited), Err(expected));
        }
    }
}
