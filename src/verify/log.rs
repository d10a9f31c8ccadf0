//! `canvass verify-log --url URL`: checks a deployment's transparency log end to end.
//!
//! It fetches the verifier key and the latest checkpoint, checks the signature, downloads
//! every entry, recomputes the tree, checks the root and every inclusion proof the server
//! gives, and checks that the log only grew since the checkpoint seen last time (kept in a
//! state file, with the key, so a swapped key is caught too).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use base64::Engine;

use crate::domain::checkpoint::{Checkpoint, verify_note};
use crate::domain::merkle::{self, Hash};

/// What the last run saw: the key and the checkpoint.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct State {
    key: String,
    size: u64,
    root: String,
}

/// What a successful run found.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The checkpoint checked.
    pub checkpoint: Checkpoint,
    /// The size last seen, if there was a state file.
    pub previous_size: Option<u64>,
}

fn b64(h: &Hash) -> String {
    base64::engine::general_purpose::STANDARD.encode(h)
}

fn unb64(s: &str) -> anyhow::Result<Hash> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .with_context(|| format!("{s:?} is not base64"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow!("{s:?} is not a 32-byte hash"))
}

async fn get_text(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let resp = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .with_context(|| format!("GET {url}: reading the body"))?;
    if !status.is_success() {
        bail!("GET {url} answered {status}: {body}");
    }
    Ok(body)
}

async fn get_proof(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<Hash>> {
    let value: serde_json::Value = serde_json::from_str(&get_text(client, url).await?)
        .with_context(|| format!("{url} did not answer JSON"))?;
    value["hashes"]
        .as_array()
        .ok_or_else(|| anyhow!("{url}: no hashes"))?
        .iter()
        .map(|h| unb64(h.as_str().unwrap_or_default()))
        .collect()
}

/// Runs every check. `state` is read when present and written after success.
pub async fn verify(base_url: &str, state_path: &Path) -> anyhow::Result<Verified> {
    let base = base_url.trim_end_matches('/');
    let api = format!("{base}/api/v1/transparency");
    let client = crate::http_client();
    let key = get_text(&client, &format!("{api}/key"))
        .await?
        .trim()
        .to_owned();
    let previous: Option<State> = match std::fs::read_to_string(state_path) {
        Ok(text) => {
            Some(serde_json::from_str(&text).with_context(|| {
                format!("{} is not a verify-log state file", state_path.display())
            })?)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", state_path.display())),
    };
    if let Some(prev) = &previous
        && prev.key != key
    {
        bail!(
            "the log's verifier key changed since the last run (was {}, now {key}); a new key can sign a rewritten log",
            prev.key
        );
    }
    let note = get_text(&client, &format!("{api}/checkpoint")).await?;
    let checkpoint =
        verify_note(&note, &key).map_err(|e| anyhow!("the checkpoint does not verify: {e}"))?;
    let size = checkpoint.size;

    // Recompute the tree from the entries, exactly as the server should have.
    let mut nodes: HashMap<merkle::NodeId, Hash> = HashMap::new();
    let mut leaves = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    for index in 0..size {
        let entry = get_text(&client, &format!("{api}/entries/{index}")).await?;
        serde_json::from_str::<serde_json::Value>(&entry)
            .with_context(|| format!("entry {index} is not JSON"))?;
        let leaf = merkle::leaf_hash(entry.as_bytes());
        let known: HashMap<_, _> = merkle::append_needs(index)
            .into_iter()
            .filter_map(|id| nodes.get(&id).map(|h| (id, *h)))
            .collect();
        for (id, hash) in merkle::append(index, leaf, &known)? {
            nodes.insert(id, hash);
        }
        leaves.push(leaf);
    }
    let root = if size == 0 {
        merkle::empty_root()
    } else {
        merkle::root(size, &nodes)?
    };
    if root != checkpoint.root {
        bail!(
            "the entries do not hash to the signed root: computed {}, signed {}",
            b64(&root),
            b64(&checkpoint.root)
        );
    }
    for (index, leaf) in leaves.iter().enumerate() {
        let proof = get_proof(
            &client,
            &format!("{api}/proof/inclusion/{index}?size={size}"),
        )
        .await?;
        if !merkle::verify_inclusion(leaf, index as u64, size, &proof, &checkpoint.root) {
            bail!("the inclusion proof of entry {index} at size {size} does not verify");
        }
    }
    if let Some(prev) = &previous {
        let old_root = unb64(&prev.root)?;
        if prev.size > size {
            bail!(
                "the log shrank: it had {} entries at the last run, now {size}",
                prev.size
            );
        }
        // Every tree extends the empty one, and RFC 9162 defines no proof from size 0 (the
        // server rightly refuses `from=0`), so there is nothing to fetch after an empty log.
        if prev.size > 0 {
            let proof = get_proof(
                &client,
                &format!("{api}/proof/consistency?from={}&to={size}", prev.size),
            )
            .await?;
            if !merkle::verify_consistency(prev.size, size, &old_root, &checkpoint.root, &proof) {
                bail!(
                    "the log at size {size} is not an extension of the one seen at size {}: entries were changed or removed",
                    prev.size
                );
            }
        }
        if prev.size == size && old_root != checkpoint.root {
            bail!("the root at size {size} changed since the last run");
        }
    }
    let state = State {
        key,
        size,
        root: b64(&checkpoint.root),
    };
    let text = serde_json::to_string_pretty(&state)?;
    std::fs::write(state_path, text)
        .with_context(|| format!("cannot write {}", state_path.display()))?;
    Ok(Verified {
        checkpoint,
        previous_size: previous.map(|p| p.size),
    })
}
