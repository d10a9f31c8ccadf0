//! The transparency log's Merkle tree, as RFC 9162 (Certificate Transparency v2) §2.1 defines it.
//!
//! Storage keeps the hash of every *complete* subtree: the node at `level` l and `index` i
//! covers leaves `[i·2^l, (i+1)·2^l)`. Any tree head or proof for any past size can be built
//! from those nodes alone, because every subtree the RFC's recursion names either is such a
//! node or is the right edge of the tree, which splits into a few of them.
//!
//! Storage is read asynchronously, so each operation comes in two halves: `*_needs` says which
//! stored nodes to fetch, and the function of the same name computes the answer from a map of
//! them. Both halves walk the same ranges, so a map holding what `*_needs` listed is enough.

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf, an interior node or a tree head.
pub type Hash = [u8; 32];

/// Domain separation prefix for leaves (RFC 9162 §2.1.1), so a leaf can never pass as a node.
const LEAF_PREFIX: u8 = 0x00;
/// Domain separation prefix for interior nodes (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// The hash of one log entry: SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([LEAF_PREFIX])
        .chain_update(data)
        .finalize()
        .into()
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([NODE_PREFIX])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The tree head of the empty log: SHA-256 of no bytes (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The address of a complete subtree: `level` 0 is leaf `index`; level l, index i covers
/// leaves `[i·2^l, (i+1)·2^l)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves.
    pub level: u32,
    /// Position within the level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u32, index: u64) -> Self {
        Self { level, index }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "level {} index {}", self.level, self.index)
    }
}

/// Why a tree head or proof could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// The leaf is not in a tree of that size.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew {
        /// The older tree's size.
        old: u64,
        /// The newer tree's size.
        new: u64,
    },
    /// RFC 9162 defines consistency proofs only from a non-empty tree.
    #[error("tree size 0 is not allowed here")]
    ZeroSize,
    /// The map handed in lacks a node that `*_needs` would have listed.
    #[error("the stored node at {0} is missing")]
    MissingNode(NodeId),
}

/// 2^level, for levels that fit a tree size.
fn width(level: u32) -> u64 {
    1_u64.checked_shl(level).unwrap_or(0)
}

/// The largest power of two strictly below `n`; `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    1_u64 << (63 - (n - 1).leading_zeros())
}

/// The complete nodes whose hashes make up MTH(D[start:end]), left to right.
///
/// Every subtree the RFC's recursion reaches starts at a multiple of a power of two at least
/// as large as its length, so the binary decomposition of its length, largest part first,
/// lands each part on an aligned complete node.
fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut pos = start;
    let len = end - start;
    for level in (0..u64::BITS).rev() {
        if len & width(level) != 0 {
            nodes.push(NodeId::new(level, pos >> level));
            pos += width(level);
        }
    }
    nodes
}

fn lookup(known: &HashMap<NodeId, Hash>, id: NodeId) -> Result<Hash, MerkleError> {
    known.get(&id).copied().ok_or(MerkleError::MissingNode(id))
}

/// MTH(D[start:end]) from the complete nodes it splits into, combined right to left as the
/// RFC's recursion does (the left part of each split is the larger power of two).
fn range_hash(start: u64, end: u64, known: &HashMap<NodeId, Hash>) -> Result<Hash, MerkleError> {
    let mut parts = range_nodes(start, end).into_iter().rev();
    let Some(last) = parts.next() else {
        return Ok(empty_root());
    };
    let mut acc = lookup(known, last)?;
    for id in parts {
        acc = node_hash(&lookup(known, id)?, &acc);
    }
    Ok(acc)
}

fn ranges_needs(ranges: &[(u64, u64)]) -> Vec<NodeId> {
    ranges
        .iter()
        .flat_map(|&(start, end)| range_nodes(start, end))
        .collect()
}

fn ranges_hashes(
    ranges: &[(u64, u64)],
    known: &HashMap<NodeId, Hash>,
) -> Result<Vec<Hash>, MerkleError> {
    ranges
        .iter()
        .map(|&(start, end)| range_hash(start, end, known))
        .collect()
}

/// The stored nodes needed to append leaf number `n` (0-based): the left siblings of the
/// nodes that the new leaf completes, lowest first.
pub fn append_needs(n: u64) -> Vec<NodeId> {
    // Leaf n completes one node per trailing one bit of n; each needs its left half.
    (0..n.trailing_ones())
        .map(|level| NodeId::new(level, (n >> level) - 1))
        .collect()
}

/// Every node that becomes complete when leaf number `n` with hash `leaf` is appended: the
/// leaf itself first, then its newly completed ancestors, lowest first.
pub fn append(
    n: u64,
    leaf: Hash,
    known: &HashMap<NodeId, Hash>,
) -> Result<Vec<(NodeId, Hash)>, MerkleError> {
    let mut out = vec![(NodeId::new(0, n), leaf)];
    let mut acc = leaf;
    for sibling in append_needs(n) {
        acc = node_hash(&lookup(known, sibling)?, &acc);
        let level = sibling.level + 1;
        // n >> 64 is 0; checked_shr only refuses because Rust's shift would wrap.
        out.push((NodeId::new(level, n.checked_shr(level).unwrap_or(0)), acc));
    }
    Ok(out)
}

/// The stored nodes needed for the tree head at `size`: one per set bit of `size`.
pub fn root_needs(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

/// The tree head MTH(D[0:size]) (RFC 9162 §2.1.1); the empty tree's head for size 0.
pub fn root(size: u64, known: &HashMap<NodeId, Hash>) -> Result<Hash, MerkleError> {
    range_hash(0, size, known)
}

/// The subtrees whose hashes form PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), leaf end first.
fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // Walk down from the root, noting at each split the subtree on the other side; the RFC
    // lists them leaf first, so reverse at the end.
    let (mut lo, mut hi) = (0, size);
    let mut ranges = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// The stored nodes needed for the inclusion proof of leaf `index` in the tree of `size`.
pub fn inclusion_needs(index: u64, size: u64) -> Result<Vec<NodeId>, MerkleError> {
    Ok(ranges_needs(&inclusion_ranges(index, size)?))
}

/// The inclusion proof PATH(index, D[0:size]) of RFC 9162 §2.1.3.1.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    known: &HashMap<NodeId, Hash>,
) -> Result<Vec<Hash>, MerkleError> {
    ranges_hashes(&inclusion_ranges(index, size)?, known)
}

/// The subtrees whose hashes form PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1), in proof order.
fn consistency_ranges(old: u64, new: u64) -> Result<Vec<(u64, u64)>, MerkleError> {
    if old > new {
        return Err(MerkleError::OldLargerThanNew { old, new });
    }
    if old == 0 {
        return Err(MerkleError::ZeroSize);
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: `whole_old_tree` is b, true while D[0:old] is still
    // the left edge of the subtree and so known to the verifier as its old root.
    let (mut lo, mut hi) = (0, new);
    let mut whole_old_tree = true;
    let mut ranges = Vec::new();
    while old != hi {
        let k = split_point(hi - lo);
        if old <= lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            whole_old_tree = false;
        }
    }
    if !whole_old_tree {
        ranges.push((lo, hi));
    }
    ranges.reverse();
    Ok(ranges)
}

/// The stored nodes needed for the consistency proof from tree size `old` to `new`.
pub fn consistency_needs(old: u64, new: u64) -> Result<Vec<NodeId>, MerkleError> {
    Ok(ranges_needs(&consistency_ranges(old, new)?))
}

/// The consistency proof PROOF(old, D[0:new]) of RFC 9162 §2.1.4.1; empty when `old == new`.
pub fn consistency_proof(
    old: u64,
    new: u64,
    known: &HashMap<NodeId, Hash>,
) -> Result<Vec<Hash>, MerkleError> {
    ranges_hashes(&consistency_ranges(old, new)?, known)
}

/// Right-shifts both numbers until `first`'s lowest bit is set or it reaches zero.
fn shift_to_set_bit(first: &mut u64, second: &mut u64) {
    while *first & 1 == 0 && *first != 0 {
        *first >>= 1;
        *second >>= 1;
    }
}

/// Checks an inclusion proof with the algorithm of RFC 9162 §2.1.3.2, step by step.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    // 1. The leaf must lie inside the tree.
    if index >= size {
        return false;
    }
    // 2–3.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    // 4.
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    sn == 0 && r == *root
}

/// Checks a consistency proof with the algorithm of RFC 9162 §2.1.4.2, step by step.
///
/// The RFC's algorithm covers `0 < old < new`. Outside it: equal sizes are consistent only
/// with an empty proof and equal roots; the empty tree only with an empty proof and the empty
/// tree's head as `old_root`; a shrinking log never.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    if old == 0 {
        return proof.is_empty() && *old_root == empty_root();
    }
    // 1.
    if proof.is_empty() {
        return false;
    }
    // 2. A power-of-two old tree is itself a node of the new one, so the proof leaves it out.
    let path: Vec<&Hash> = if old.is_power_of_two() {
        std::iter::once(old_root).chain(proof).collect()
    } else {
        proof.iter().collect()
    };
    // 3–4.
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fr, mut sr) = (**first, **first);
    // 6.
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                shift_to_set_bit(&mut fn_, &mut sn);
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    fr == *old_root && sr == *new_root && sn == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Hash {
        let mut out = [0_u8; 32];
        hex::decode_to_slice(s, &mut out).unwrap();
        out
    }

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // ---- A naive implementation, written straight from the RFC 9162 text ----

    /// MTH(D[n]), §2.1.1, over leaf hashes.
    fn naive_mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = naive_k(n);
                node_hash(&naive_mth(&leaves[..k]), &naive_mth(&leaves[k..]))
            }
        }
    }

    /// The largest power of two smaller than n, by counting up.
    fn naive_k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// PATH(m, D[n]), §2.1.3.1.
    fn naive_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n == 1 {
            return Vec::new();
        }
        let k = naive_k(n);
        if m < k {
            let mut p = naive_path(m, &leaves[..k]);
            p.push(naive_mth(&leaves[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &leaves[k..]);
            p.push(naive_mth(&leaves[..k]));
            p
        }
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), §2.1.4.1.
    fn naive_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        naive_subproof(m, leaves, true)
    }

    fn naive_subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![naive_mth(leaves)]
            };
        }
        let k = naive_k(n);
        if m <= k {
            let mut p = naive_subproof(m, &leaves[..k], b);
            p.push(naive_mth(&leaves[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &leaves[k..], false);
            p.push(naive_mth(&leaves[..k]));
            p
        }
    }

    /// Appends every leaf through `append_needs`/`append`, as the store would.
    fn build(leaves: &[Hash]) -> HashMap<NodeId, Hash> {
        let mut known = HashMap::new();
        for (n, leaf) in leaves.iter().enumerate() {
            let n = n as u64;
            for id in append_needs(n) {
                assert!(known.contains_key(&id), "append {n} needs absent {id}");
            }
            for (id, h) in append(n, *leaf, &known).unwrap() {
                assert!(known.insert(id, h).is_none(), "{id} written twice");
            }
        }
        known
    }

    /// Only the nodes a `*_needs` call listed, to prove the two halves agree.
    fn only(known: &HashMap<NodeId, Hash>, ids: &[NodeId]) -> HashMap<NodeId, Hash> {
        ids.iter().map(|id| (*id, known[id])).collect()
    }

    fn data_leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(i.to_string().as_bytes()))
            .collect()
    }

    // ---- Reference vectors ----
    //
    // Leaves, node hashes and tree heads: transparency-dev/merkle testonly/constants.go
    // (LeafInputs, NodeHashes, RootHashes), the RFC 6962 vectors also used by Certificate
    // Transparency. Proofs: transparency-dev/merkle proof/verify_test.go (inclusionProofs,
    // where `leaf` is 1-based, and consistencyProofs).

    const LEAF_INPUTS: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// Tree heads for sizes 1..=8.
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// Every complete node of the 8-leaf tree, by level then index.
    const NODE_HASHES: [&[&str]; 4] = [
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        &[
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        &[
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ];

    /// (0-based leaf index, tree size, proof).
    const INCLUSION_PROOFS: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    /// (old size, new size, proof).
    const CONSISTENCY_PROOFS: [(u64, u64, &[&str]); 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];

    fn reference_tree() -> HashMap<NodeId, Hash> {
        let leaves: Vec<Hash> = LEAF_INPUTS.iter().map(|s| leaf_hash(&unhex(s))).collect();
        build(&leaves)
    }

    fn hashes(strs: &[&str]) -> Vec<Hash> {
        strs.iter().map(|s| hex(s)).collect()
    }

    #[test]
    fn empty_tree_head_is_sha256_of_nothing() {
        assert_eq!(
            empty_root(),
            hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(root(0, &HashMap::new()), Ok(empty_root()));
        assert!(root_needs(0).is_empty());
    }

    #[test]
    fn appends_store_exactly_the_reference_nodes() {
        let known = reference_tree();
        let mut want = HashMap::new();
        for (level, row) in NODE_HASHES.iter().enumerate() {
            for (index, h) in row.iter().enumerate() {
                want.insert(NodeId::new(level as u32, index as u64), hex(h));
            }
        }
        assert_eq!(known, want);
    }

    #[test]
    fn reference_tree_heads_for_every_size() {
        let known = reference_tree();
        for (i, want) in ROOTS.iter().enumerate() {
            let size = i as u64 + 1;
            assert_eq!(root(size, &known).unwrap(), hex(want), "size {size}");
            let needed = only(&known, &root_needs(size));
            assert_eq!(root(size, &needed).unwrap(), hex(want), "size {size}");
        }
    }

    #[test]
    fn reference_inclusion_proofs() {
        let known = reference_tree();
        for (index, size, want) in INCLUSION_PROOFS {
            let want = hashes(want);
            let needed = only(&known, &inclusion_needs(index, size).unwrap());
            let got = inclusion_proof(index, size, &needed).unwrap();
            assert_eq!(got, want, "{index}/{size}");
            let leaf = leaf_hash(&unhex(LEAF_INPUTS[index as usize]));
            let head = hex(ROOTS[size as usize - 1]);
            assert!(verify_inclusion(&leaf, index, size, &want, &head));
        }
        // A one-leaf tree's head is its leaf, with an empty path.
        assert_eq!(inclusion_proof(0, 1, &known).unwrap(), Vec::<Hash>::new());
    }

    #[test]
    fn reference_consistency_proofs() {
        let known = reference_tree();
        for (old, new, want) in CONSISTENCY_PROOFS {
            let want = hashes(want);
            let needed = only(&known, &consistency_needs(old, new).unwrap());
            let got = consistency_proof(old, new, &needed).unwrap();
            assert_eq!(got, want, "{old}->{new}");
            let old_root = hex(ROOTS[old as usize - 1]);
            let new_root = hex(ROOTS[new as usize - 1]);
            assert!(verify_consistency(old, new, &old_root, &new_root, &want));
            if old != new {
                assert!(!verify_consistency(old, new, &new_root, &old_root, &want));
            }
        }
    }

    /// Which stored nodes a proof reads, from transparency-dev/merkle proof/proof_test.go
    /// (TestInclusion, TestConsistency): compact.NewNodeID(level, index). The order within a
    /// rehashed right edge differs there, so compare as sets.
    #[test]
    fn needs_match_the_reference_node_lists() {
        /// (level, index) pairs.
        type Ids = &'static [(u32, u64)];
        fn set(ids: &[(u32, u64)]) -> Vec<NodeId> {
            let mut v: Vec<NodeId> = ids.iter().map(|&(l, i)| NodeId::new(l, i)).collect();
            v.sort();
            v
        }
        fn sorted(mut v: Vec<NodeId>) -> Vec<NodeId> {
            v.sort();
            v
        }
        let inclusion: [(u64, u64, Ids); 8] = [
            (0, 7, &[(0, 1), (1, 1), (0, 6), (1, 2)]),
            (4, 7, &[(0, 5), (0, 6), (2, 0)]),
            (6, 7, &[(1, 2), (2, 0)]),
            (3, 5, &[(0, 2), (1, 0), (0, 4)]),
            (10, 15, &[(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)]),
            (
                24,
                31,
                &[(0, 25), (1, 13), (0, 30), (1, 14), (3, 2), (4, 0)],
            ),
            (
                81,
                95,
                &[
                    (0, 80),
                    (1, 41),
                    (2, 21),
                    (0, 94),
                    (1, 46),
                    (2, 22),
                    (4, 4),
                    (6, 0),
                ],
            ),
            (0, 1, &[]),
        ];
        for (index, size, want) in inclusion {
            let got = sorted(inclusion_needs(index, size).unwrap());
            assert_eq!(got, set(want), "inclusion {index}/{size}");
        }
        let consistency: [(u64, u64, Ids); 9] = [
            (1, 6, &[(0, 1), (1, 1), (1, 2)]),
            (2, 8, &[(1, 1), (2, 1)]),
            (3, 7, &[(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)]),
            (4, 7, &[(0, 6), (1, 2)]),
            (5, 7, &[(0, 4), (0, 5), (0, 6), (2, 0)]),
            (7, 8, &[(0, 6), (0, 7), (1, 2), (2, 0)]),
            (10, 15, &[(1, 4), (1, 5), (0, 14), (1, 6), (3, 0)]),
            (24, 31, &[(3, 2), (0, 30), (1, 14), (2, 6), (4, 0)]),
            (
                81,
                95,
                &[
                    (0, 80),
                    (0, 81),
                    (1, 41),
                    (2, 21),
                    (0, 94),
                    (1, 46),
                    (2, 22),
                    (4, 4),
                    (6, 0),
                ],
            ),
        ];
        for (old, new, want) in consistency {
            let got = sorted(consistency_needs(old, new).unwrap());
            assert_eq!(got, set(want), "consistency {old}->{new}");
        }
        assert_eq!(consistency_needs(5, 5), Ok(Vec::new()));
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert_eq!(
            inclusion_needs(0, 0),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            inclusion_needs(8, 8),
            Err(MerkleError::IndexOutOfRange { index: 8, size: 8 })
        );
        assert_eq!(
            consistency_needs(9, 8),
            Err(MerkleError::OldLargerThanNew { old: 9, new: 8 })
        );
        assert_eq!(consistency_needs(0, 8), Err(MerkleError::ZeroSize));
        assert_eq!(
            consistency_proof(0, 8, &HashMap::new()),
            Err(MerkleError::ZeroSize)
        );
    }

    #[test]
    fn a_missing_node_is_named() {
        let mut known = reference_tree();
        known.remove(&NodeId::new(1, 2));
        let err = root(7, &known).unwrap_err();
        assert_eq!(err, MerkleError::MissingNode(NodeId::new(1, 2)));
        assert!(err.to_string().contains("level 1 index 2"), "{err}");
        assert_eq!(
            append(7, [0; 32], &known),
            Err(MerkleError::MissingNode(NodeId::new(1, 2)))
        );
    }

    /// Transparency-dev's "wrong tree height" probes (proof/verify_test.go), exhaustively for
    /// small trees: a proof binds the tree size, not just the hashes.
    #[test]
    fn proofs_do_not_verify_for_a_doubled_size() {
        let leaves = data_leaves(64);
        let known = build(&leaves);
        for size in 1..=64 {
            let head = root(size, &known).unwrap();
            for index in 0..size {
                let proof = inclusion_proof(index, size, &known).unwrap();
                let leaf = &leaves[index as usize];
                assert!(verify_inclusion(leaf, index, size, &proof, &head));
                assert!(
                    !verify_inclusion(leaf, index, size * 2, &proof, &head),
                    "{index}/{size}"
                );
            }
            for old in 1..size {
                let old_root = root(old, &known).unwrap();
                let proof = consistency_proof(old, size, &known).unwrap();
                assert!(verify_consistency(old, size, &old_root, &head, &proof));
                assert!(
                    !verify_consistency(old, size * 2, &old_root, &head, &proof),
                    "{old}->{size}"
                );
            }
        }
    }

    #[test]
    fn verification_edge_cases() {
        let h = leaf_hash(b"data");
        // One leaf: the head is the leaf hash and the path is empty.
        assert!(verify_inclusion(&h, 0, 1, &[], &h));
        assert!(!verify_inclusion(&h, 1, 1, &[], &h));
        assert!(!verify_inclusion(&h, 0, 0, &[], &h));
        // A path longer than the tree is tall is rejected, even if extended with the root.
        assert!(!verify_inclusion(&h, 0, 1, &[h], &h));

        let other = leaf_hash(b"other");
        assert!(verify_consistency(3, 3, &h, &h, &[]));
        assert!(!verify_consistency(3, 3, &h, &other, &[]));
        assert!(!verify_consistency(3, 3, &h, &h, &[h]));
        assert!(verify_consistency(0, 5, &empty_root(), &other, &[]));
        assert!(!verify_consistency(0, 5, &h, &other, &[]));
        assert!(!verify_consistency(0, 5, &empty_root(), &other, &[h]));
        assert!(!verify_consistency(2, 1, &h, &other, &[]));
        assert!(!verify_consistency(1, 2, &h, &other, &[]));
    }

    /// The store reads only a handful of nodes for any proof, however large the log.
    #[test]
    fn needs_stay_small_in_a_large_log() {
        let size = 100_000;
        let mut longest = 0;
        for index in (0..size).step_by(997).chain([0, 1, size - 2, size - 1]) {
            let n = inclusion_needs(index, size).unwrap().len();
            assert!(n < 64, "inclusion {index}/{size}: {n}");
            longest = longest.max(n);
        }
        for old in (1..=size).step_by(991).chain([1, 2, size - 1, size]) {
            let n = consistency_needs(old, size).unwrap().len();
            assert!(n < 64, "consistency {old}->{size}: {n}");
            longest = longest.max(n);
        }
        assert!(root_needs(size).len() < 64);
        assert!(append_needs(size).len() < 64);
        // log2(100 000) ≈ 17: the bound is O(log n), not merely under 64.
        assert!(longest <= 2 * 17, "{longest}");
    }

    #[test]
    fn large_log_proofs_verify() {
        let leaves = data_leaves(1_000);
        let known = build(&leaves);
        let size = 1_000;
        let head = root(size, &known).unwrap();
        assert_eq!(head, naive_mth(&leaves));
        for index in [0, 1, 511, 512, 999] {
            let proof = inclusion_proof(index, size, &known).unwrap();
            assert!(verify_inclusion(
                &leaves[index as usize],
                index,
                size,
                &proof,
                &head
            ));
        }
    }

    fn flip(h: &Hash, byte: usize) -> Hash {
        let mut out = *h;
        out[byte % 32] ^= 0x01;
        out
    }

    proptest! {
        #[test]
        fn node_map_matches_the_naive_rfc_definitions(
            size in 1_usize..300,
            index_seed in any::<usize>(),
            old_seed in any::<usize>(),
        ) {
            let leaves = data_leaves(size);
            let known = build(&leaves);
            let complete: u64 = (0..u64::BITS).map(|l| size as u64 >> l).sum();
            prop_assert_eq!(known.len() as u64, complete);

            for s in [size, 1 + index_seed % size, 1 + old_seed % size] {
                let needed = only(&known, &root_needs(s as u64));
                prop_assert_eq!(root(s as u64, &needed)?, naive_mth(&leaves[..s]));
            }

            let index = index_seed % size;
            let needed = only(&known, &inclusion_needs(index as u64, size as u64)?);
            prop_assert_eq!(
                inclusion_proof(index as u64, size as u64, &needed)?,
                naive_path(index, &leaves)
            );

            let old = 1 + old_seed % size;
            let needed = only(&known, &consistency_needs(old as u64, size as u64)?);
            prop_assert_eq!(
                consistency_proof(old as u64, size as u64, &needed)?,
                naive_proof(old, &leaves)
            );
        }

        #[test]
        fn inclusion_proofs_verify_and_tampering_fails(
            size in 1_u64..300,
            index_seed in any::<u64>(),
            which in any::<usize>(),
            byte in 0_usize..32,
        ) {
            let leaves = data_leaves(size as usize);
            let known = build(&leaves);
            let head = root(size, &known)?;
            let index = index_seed % size;
            let leaf = leaves[index as usize];
            let proof = inclusion_proof(index, size, &known)?;
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &head));

            prop_assert!(!verify_inclusion(&flip(&leaf, byte), index, size, &proof, &head));
            prop_assert!(!verify_inclusion(&leaf, index, size, &proof, &flip(&head, byte)));
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let i = which % bad.len();
                bad[i] = flip(&bad[i], byte);
                prop_assert!(!verify_inclusion(&leaf, index, size, &bad, &head));
                prop_assert!(!verify_inclusion(&leaf, index, size, &proof[1..], &head));
            }
            let mut longer = proof.clone();
            longer.push(head);
            prop_assert!(!verify_inclusion(&leaf, index, size, &longer, &head));
            if size > 1 {
                let other = (index + 1) % size;
                prop_assert!(!verify_inclusion(&leaf, other, size, &proof, &head));
            }
        }

        #[test]
        fn consistency_holds_across_appends_and_tampering_fails(
            new in 1_u64..300,
            old_seed in any::<u64>(),
            which in any::<usize>(),
            byte in 0_usize..32,
        ) {
            let leaves = data_leaves(new as usize);
            let old = 1 + old_seed % new;
            // The old head is read from the map after only `old` appends, as a checkpoint
            // published back then would have been.
            let old_root = root(old, &build(&leaves[..old as usize]))?;
            let known = build(&leaves);
            let new_root = root(new, &known)?;
            prop_assert_eq!(root(old, &known)?, old_root);
            let proof = consistency_proof(old, new, &known)?;
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof));

            if old < new {
                prop_assert!(!proof.is_empty());
                let mut bad = proof.clone();
                let i = which % bad.len();
                bad[i] = flip(&bad[i], byte);
                prop_assert!(!verify_consistency(old, new, &old_root, &new_root, &bad));
                prop_assert!(!verify_consistency(old, new, &flip(&old_root, byte), &new_root, &proof));
                prop_assert!(!verify_consistency(old, new, &old_root, &flip(&new_root, byte), &proof));
                prop_assert!(!verify_consistency(old, new, &old_root, &new_root, &proof[1..]));
                prop_assert!(!verify_consistency(old, new, &old_root, &new_root, &proof[..proof.len() - 1]));
            } else {
                prop_assert!(proof.is_empty());
            }
        }
    }
}
