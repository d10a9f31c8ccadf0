//! The transparency log's rows: the head (size), the entries, and every complete subtree hash.

use std::collections::HashMap;

use sqlx::Row;

use super::{Db, Result, StoreError, Tx};
use crate::domain::merkle::{Hash, NodeId};

fn from_hex(s: &str) -> Result<Hash> {
    let mut out = [0_u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| StoreError::Corrupt(format!("hash {s:?}")))?;
    Ok(out)
}

/// Reads the given nodes; absent ones are simply missing from the map.
async fn read_nodes<'e, E>(executor: E, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut known = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(known);
    }
    // One query for all of them: (level, idx) pairs as a list of OR-ed conditions. Proofs need
    // at most a few dozen nodes, so the statement stays small.
    let conditions: Vec<String> = ids
        .iter()
        .map(|n| format!("(level = {} AND idx = {})", n.level, n.index))
        .collect();
    let sql = format!(
        "SELECT level, idx, hash FROM transparency_nodes WHERE {}",
        conditions.join(" OR ")
    );
    // Only integers we produced ourselves are formatted into the statement.
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_all(executor)
        .await?;
    for row in rows {
        let level: i64 = row.try_get("level")?;
        let index: i64 = row.try_get("idx")?;
        let hash: String = row.try_get("hash")?;
        let id = NodeId {
            level: u32::try_from(level).map_err(|_| StoreError::Corrupt("node level".into()))?,
            index: u64::try_from(index).map_err(|_| StoreError::Corrupt("node index".into()))?,
        };
        known.insert(id, from_hex(&hash)?);
    }
    Ok(known)
}

impl Db {
    /// The log's size.
    pub async fn log_size(&self) -> Result<u64> {
        let size: i64 = sqlx::query_scalar("SELECT size FROM transparency_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        u64::try_from(size).map_err(|_| StoreError::Corrupt("log size".into()))
    }

    /// The stored hashes of the given complete subtrees.
    pub async fn log_nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>> {
        read_nodes(&self.pool, ids).await
    }

    /// A leaf's bytes exactly as hashed.
    pub async fn log_entry(&self, index: u64) -> Result<Option<String>> {
        // An index past i64::MAX names no stored entry: "none", not a corrupt store (a 500).
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        Ok(
            sqlx::query_scalar("SELECT entry FROM transparency_entries WHERE idx = $1")
                .bind(index)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Up to `limit` log entries older than index `before`, newest first: (index, entry).
    /// With a `search`, only the entries whose request id or share link id is `search`, or
    /// whose agency's name or incident type contains it (case-insensitive).
    pub async fn log_entries(
        &self,
        search: &str,
        before: u64,
        limit: u32,
    ) -> Result<Vec<(u64, String)>> {
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        let needle = search.trim().to_lowercase();
        // `%` and `_` typed in a search are letters, not wildcards.
        let like = |text: &str| {
            format!(
                "%{}%",
                text.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        };
        let pattern = like(&needle);
        // Incident types are codes (`package_theft`); people type "package theft".
        let incident_pattern = like(&needle.replace(' ', "_"));
        let rows = sqlx::query(
            "SELECT e.idx, e.entry FROM transparency_entries e \
             JOIN community_requests r ON r.id = e.request_id \
             JOIN agencies a ON a.id = r.agency_id \
             WHERE e.idx < $1 AND ($2 = '' OR r.id = $3 OR r.public_id = $3 \
               OR LOWER(a.name) LIKE $4 ESCAPE '\\' OR LOWER(r.incident_type) LIKE $5 ESCAPE '\\') \
             ORDER BY e.idx DESC LIMIT $6",
        )
        .bind(before)
        .bind(&needle)
        .bind(search.trim())
        .bind(&pattern)
        .bind(&incident_pattern)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let idx: i64 = row.try_get("idx")?;
                let idx = u64::try_from(idx)
                    .map_err(|_| StoreError::Corrupt("log entry index".into()))?;
                Ok((idx, row.try_get("entry")?))
            })
            .collect()
    }
}

impl Tx {
    /// Takes the next index. As the transaction's first write, it serializes appenders: the
    /// row lock on PostgreSQL, the write lock on SQLite.
    pub async fn reserve_log_index(&mut self) -> Result<u64> {
        let size: i64 = sqlx::query_scalar(
            "UPDATE transparency_head SET size = size + 1 WHERE id = 1 RETURNING size",
        )
        .fetch_one(&mut *self.0)
        .await?;
        u64::try_from(size - 1).map_err(|_| StoreError::Corrupt("log size".into()))
    }

    /// The stored hashes of the given complete subtrees, inside this transaction.
    pub async fn log_nodes(&mut self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>> {
        read_nodes(&mut *self.0, ids).await
    }

    /// Stores a leaf and the subtree hashes it completes.
    pub async fn append_log(
        &mut self,
        index: u64,
        request_id: &str,
        entry: &str,
        leaf: &Hash,
        nodes: &[(NodeId, Hash)],
    ) -> Result<()> {
        let idx = i64::try_from(index).map_err(|_| StoreError::Corrupt("index".into()))?;
        sqlx::query(
            "INSERT INTO transparency_entries (idx, request_id, entry, leaf_hash) VALUES ($1, $2, $3, $4)",
        )
        .bind(idx)
        .bind(request_id)
        .bind(entry)
        .bind(hex::encode(leaf))
        .execute(&mut *self.0)
        .await?;
        for (node, hash) in nodes {
            sqlx::query("INSERT INTO transparency_nodes (level, idx, hash) VALUES ($1, $2, $3)")
                .bind(i64::from(node.level))
                .bind(i64::try_from(node.index).map_err(|_| StoreError::Corrupt("node".into()))?)
                .bind(hex::encode(hash))
                .execute(&mut *self.0)
                .await?;
        }
        Ok(())
    }
}
