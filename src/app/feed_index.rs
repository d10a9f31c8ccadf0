//! The feed's index of published requests, held in memory: a feed read finds the requests over
//! a home (cover cells, then the exact point-in-polygon test) without asking the database.
//!
//! It can be kept exactly because of two rules the database enforces: a published request
//! never changes and is never removed, and the transparency log numbers publications in commit
//! order. So the index catches up by reading the requests past the last log index it holds:
//! at start, right after this server publishes one, and once a second for what other servers
//! on the same database publish. Agencies' names (the one thing shown with a request that may
//! change) are re-read at each catch-up.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use geo::Polygon;

use super::{AppError, Result};
use crate::domain::area::{self, Shape};
use crate::domain::geo_index;
use crate::store::Db;

/// Requests read from the database per query while catching up.
const CATCH_UP_BATCH: i64 = 1_000;

/// Published requests by cover cell, with their areas.
#[derive(Debug, Default)]
pub struct FeedIndex {
    state: RwLock<State>,
    /// One catch-up at a time, so none reads the same requests twice.
    catching_up: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct State {
    /// The highest log index loaded (-1: none).
    through: i64,
    /// Cover cell → positions in `entries`.
    by_cell: HashMap<i64, Vec<u32>>,
    entries: Vec<Entry>,
    agency_names: HashMap<String, Arc<str>>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            through: -1,
            by_cell: HashMap::new(),
            entries: Vec::new(),
            agency_names: HashMap::new(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    id: String,
    published_at: String,
    agency_id: String,
    area: Polygon<f64>,
}

/// A published request whose area holds a home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedHit {
    /// The request's id.
    pub id: String,
    /// When it was published, as stored (the feed's order and cursor position).
    pub published_at: String,
    /// Its agency's name as last read.
    pub agency_name: Option<Arc<str>>,
}

impl FeedIndex {
    fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed (entries are
        // pushed before the cells that point at them), so a poisoned lock is still usable.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads what was published since the last catch-up, and the agencies' names; answers how
    /// many requests were added.
    pub async fn catch_up(&self, db: &Db) -> Result<usize> {
        let _one = self.catching_up.lock().await;
        let names = db.agency_names().await?;
        let mut through = self.read().through;
        let mut added = 0;
        loop {
            let batch = db.published_covers(through, CATCH_UP_BATCH).await?;
            let Some(last) = batch.last() else { break };
            through = last.log_index;
            let mut parsed = Vec::with_capacity(batch.len());
            for cover in batch {
                let polygon = area::parse(&cover.area, Shape::Polygon)
                    .ok()
                    .and_then(|a| a.0.into_iter().next())
                    .ok_or_else(|| {
                        AppError::Internal(anyhow::anyhow!(
                            "published request {}: stored area is invalid",
                            cover.id
                        ))
                    })?;
                let entry = Entry {
                    id: cover.id,
                    published_at: cover.published_at,
                    agency_id: cover.agency_id,
                    area: polygon,
                };
                parsed.push((entry, cover.cells));
            }
            added += parsed.len();
            let mut state = self.write();
            for (entry, cells) in parsed {
                let slot = u32::try_from(state.entries.len())
                    .map_err(|_| AppError::Internal(anyhow::anyhow!("feed index is full")))?;
                state.entries.push(entry);
                for cell in cells {
                    state.by_cell.entry(cell).or_default().push(slot);
                }
            }
            state.through = through;
        }
        self.write().agency_names = names
            .into_iter()
            .map(|(id, name)| (id, Arc::from(name)))
            .collect();
        Ok(added)
    }

    /// The published requests whose area holds the home at (`lat`, `lon`), whose cells (the
    /// home's and its ancestors') are `cells`: newest first, after the cursor position
    /// `after` (published_at, id) when given, at most `limit`.
    pub fn over_home(
        &self,
        lat: f64,
        lon: f64,
        cells: &[i64],
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Vec<FeedHit> {
        let state = self.read();
        let mut slots: Vec<u32> = cells
            .iter()
            .filter_map(|c| state.by_cell.get(c))
            .flatten()
            .copied()
            .collect();
        slots.sort_unstable();
        slots.dedup();
        let mut hits: Vec<&Entry> = slots
            .iter()
            .filter_map(|&slot| state.entries.get(slot as usize))
            .filter(|e| after.is_none_or(|at| (e.published_at.as_str(), e.id.as_str()) < at))
            .filter(|e| geo_index::contains_home(&e.area, lat, lon))
            .collect();
        hits.sort_unstable_by(|a, b| {
            (b.published_at.as_str(), b.id.as_str()).cmp(&(a.published_at.as_str(), a.id.as_str()))
        });
        hits.truncate(limit);
        hits.into_iter()
            .map(|e| FeedHit {
                id: e.id.clone(),
                published_at: e.published_at.clone(),
                agency_name: state.agency_names.get(&e.agency_id).cloned(),
            })
            .collect()
    }

    /// How many published requests the index holds.
    pub fn len(&self) -> usize {
        self.read().entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
