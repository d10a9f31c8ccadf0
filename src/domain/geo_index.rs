//! H3 cell numbers for homes and request areas, so targeting is an indexed integer look-up.
//!
//! Two questions are asked of the database, and both must work the same on SQLite and
//! PostgreSQL without PostGIS:
//!
//! - "which homes lie in this area?": store each home's [`home_cell`]; for every cell of the
//!   area's [`area_cover`], take the homes with `home_cell BETWEEN lo AND hi`, where `(lo, hi)`
//!   is that cell's [`descendant_range`];
//! - "which published areas hold this home?": store each area's cover cells; look up
//!   `cell IN (…)` with the home's [`home_ancestors`].
//!
//! Either way the index only proposes candidates. It never misses one (the cover includes
//! every cell that touches the area, plus a safety margin), and it proposes some homes that are
//! outside the area (cells stick out past its edges), so [`contains_home`] decides on each.
//!
//! Geometry is planar in longitude/latitude degrees, the way `geo` reads it and the way
//! [`super::area`] validates it: an edge between longitudes 179 and -179 goes the long way
//! round, not across the antimeridian. The tiler is told the same, so the index and the exact
//! test never disagree about which side of an edge a home is on.
//!
//! Cell numbers are H3 indexes. Their top bit is reserved and always 0, so every value returned
//! here is at most `i64::MAX`: `i64::try_from(cell)` never fails and the numbers can be stored
//! in a signed 64-bit column (SQLite `INTEGER`, PostgreSQL `BIGINT`) with their order intact,
//! so `BETWEEN` on the signed column means the same as on the unsigned values.

use std::collections::HashSet;

use geo::{BoundingRect, Distance, Euclidean, Intersects, Line, MultiPolygon, Point, Polygon};
use h3o::geom::{ContainmentMode, TilerBuilder};
use h3o::{CellIndex, LatLng, Resolution};

/// The resolution homes are indexed at: H3 resolution 9, hexagons of about 0.105 km²
/// (edges about 174 m).
///
/// Request areas are 0.025–0.5 square miles (0.065–1.3 km²), within an order of magnitude of
/// one such cell. So a cover is a handful to a few dozen cells (a few `BETWEEN` ranges per
/// query, a few rows per area), and the homes it proposes cover about 2× the area for a
/// 0.5 sq mi circle and about 5× for the smallest areas; the exact test on those is cheap.
/// Resolution 10 would propose fewer outside homes (about 1.3× and 2×) for five times as many
/// cells (two to three times as many after compaction); resolution 8 cells (0.74 km²) are
/// larger than most areas, so it would propose 3–25× the homes.
pub const HOME_RESOLUTION: Resolution = Resolution::Nine;

/// How far outside a polygon's edge (in degrees) a point still counts as on it.
///
/// A point computed to lie on an edge (its midpoint, say) is usually rounded a few units in the
/// last place to one side or the other of the exact line; about a third of them land outside.
/// 1e-9° (about 0.1 mm) is far above that rounding (about 1e-14°) and far below the precision
/// of any address or map click, so only points that are on the line count.
pub const BOUNDARY_TOLERANCE_DEG: f64 = 1e-9;

/// Cells this close (degrees) to the area are added to its cover even if they do not touch it.
///
/// The tiler tests cells as polygons through their vertices, and a home is put in a cell by
/// H3's own projection; the two agree except for rounding (about 1e-14°) almost everywhere. But
/// h3o splits a cell that straddles the antimeridian in two, and there a point on the edge of
/// the cell it belongs to can fall up to about 1e-7° (a centimetre) outside that cell's pieces,
/// so a home on an area's vertex or edge there could be missed. A home just within
/// [`BOUNDARY_TOLERANCE_DEG`] outside an area whose edge runs along a cell edge could be too.
/// 1e-5° (about a metre) is a hundred times the worst seen, and adds a cell only when an
/// area's edge runs within a metre of a cell without entering it (rare, and harmless: the exact
/// test removes what it brings).
const COVER_MARGIN_DEG: f64 = 1e-5;

/// The most cells the tiler may be asked for, estimated (generously) from the area's bounding
/// box. A 0.5 square mile area needs a few dozen; this refuses misuse, such as a
/// polygon read as going the long way round the world, before it costs minutes and gigabytes.
const MAX_COVER_ESTIMATE: usize = 250_000;

/// Why a point, an area or a cell could not be indexed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoIndexError {
    /// The latitude or longitude is not finite or out of range.
    #[error("latitude {lat}, longitude {lon} is not a point on Earth")]
    InvalidCoordinates {
        /// The latitude given, degrees.
        lat: f64,
        /// The longitude given, degrees.
        lon: f64,
    },
    /// The polygon has a ring too short, or a coordinate that is not a point on Earth.
    #[error("the area is not a usable polygon: {0}")]
    InvalidArea(String),
    /// h3o refused the polygon.
    #[error("the area could not be tiled: {0}")]
    Tiling(#[from] h3o::error::InvalidGeometry),
    /// The area is far larger than any request area.
    #[error("the area is too large to index: about {estimate} cells, the limit is {limit}")]
    AreaTooLarge {
        /// The cells its bounding box would hold, about.
        estimate: usize,
        /// The most cells allowed.
        limit: usize,
    },
    /// h3o could not compact the cover (cannot happen: the cells are unique and of one
    /// resolution; kept as an error rather than a panic).
    #[error("the cover could not be compacted: {0}")]
    Compaction(#[from] h3o::error::CompactionError),
    /// The number is not a valid H3 cell index.
    #[error("{0:#x} is not an H3 cell")]
    InvalidCell(u64),
    /// The cell is finer than [`HOME_RESOLUTION`], so it has no descendants at it.
    #[error("cell {0:#x} is finer than the home resolution")]
    CellTooFine(u64),
}

/// The H3 cell (as u64, at most `i64::MAX`) of a home at [`HOME_RESOLUTION`].
pub fn home_cell(lat: f64, lon: f64) -> Result<u64, GeoIndexError> {
    Ok(home_cell_index(lat, lon)?.into())
}

/// The cells (compacted: coarser cells where all their children are covered) whose union
/// covers every point of the polygon, boundary included, at [`HOME_RESOLUTION`] or coarser.
///
/// Sorted ascending, no duplicates. "Covered" is meant in the index's own terms: a home whose
/// [`home_cell`] descends from none of these cells is not in the area (nor within
/// [`BOUNDARY_TOLERANCE_DEG`] of it). A compacted cell stands for exactly its descendants at
/// [`HOME_RESOLUTION`] (see [`descendant_range`]), not for its own, slightly different, outline.
///
/// Refuses rings shorter than four positions, coordinates that are not on Earth, and areas
/// whose bounding box would hold more than 250,000 cells (about 26,000 km²).
pub fn area_cover(area: &Polygon<f64>) -> Result<Vec<u64>, GeoIndexError> {
    let mut cells = cover_cells(area)?;
    CellIndex::compact(&mut cells)?;
    let mut out: Vec<u64> = cells.into_iter().map(u64::from).collect();
    // `compact` sorts by h3o's own order (which ignores the resolution bits); callers get
    // plain numeric order.
    out.sort_unstable();
    Ok(out)
}

/// For a covering cell, the inclusive range `[lo, hi]` of [`HOME_RESOLUTION`] cell numbers that
/// descend from it, so "homes in cell C" is `home_cell BETWEEN lo AND hi`.
///
/// This works because an H3 index is, from the top bit down: mode and resolution, base cell,
/// then one 3-bit digit per resolution (unused ones set to 7). Cells of one resolution that
/// share an ancestor share every bit above the ancestor's last digit, and every number between
/// the smallest descendant (digits all 0) and the largest (digits as high as they go) shares
/// them too, so no outsider falls in between. The tests check this rather than trust it.
pub fn descendant_range(cell: u64) -> Result<(u64, u64), GeoIndexError> {
    let index = CellIndex::try_from(cell).map_err(|_| GeoIndexError::InvalidCell(cell))?;
    if index.resolution() > HOME_RESOLUTION {
        return Err(GeoIndexError::CellTooFine(cell));
    }
    let count = index.children_count(HOME_RESOLUTION);
    let lo = index.child_at(0, HOME_RESOLUTION);
    let hi = count
        .checked_sub(1)
        .and_then(|last| index.child_at(last, HOME_RESOLUTION));
    match (lo, hi) {
        (Some(lo), Some(hi)) => Ok((lo.into(), hi.into())),
        // A valid cell at or above the home resolution always has children there.
        _ => Err(GeoIndexError::InvalidCell(cell)),
    }
}

/// The inclusive ranges of [`HOME_RESOLUTION`] cell numbers that descend from the cells of
/// `cover` (see [`descendant_range`]), ascending, with neighbours joined where no cell of that
/// resolution lies between them: so "homes in the cover" takes fewer range scans (in the
/// residents bench, 10.9 cells a cover joined into 7.1 ranges), and holds exactly the same homes.
pub fn home_ranges(cover: &[u64]) -> Result<Vec<(u64, u64)>, GeoIndexError> {
    let mut ranges = cover
        .iter()
        .map(|&c| descendant_range(c))
        .collect::<Result<Vec<_>, _>>()?;
    ranges.sort_unstable();
    let mut joined: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        if let Some(last) = joined.last_mut() {
            // The cell right after the previous range's last one, in cell-number order
            // (skipping numbers that are no cell).
            let after = CellIndex::try_from(last.1)
                .ok()
                .and_then(CellIndex::succ)
                .map(u64::from);
            if after == Some(lo) {
                last.1 = hi;
                continue;
            }
        }
        joined.push((lo, hi));
    }
    Ok(joined)
}

/// The home's cell and all its ancestors, coarsest first (resolutions 0 to
/// [`HOME_RESOLUTION`], so `HOME_RESOLUTION + 1` numbers), so "areas covering this home" is
/// `cell IN (…)` against the stored covers.
pub fn home_ancestors(lat: f64, lon: f64) -> Result<Vec<u64>, GeoIndexError> {
    let cell = home_cell_index(lat, lon)?;
    Resolution::range(Resolution::Zero, HOME_RESOLUTION)
        .map(|res| {
            cell.parent(res)
                .map(u64::from)
                // A cell always has a parent at every coarser resolution.
                .ok_or(GeoIndexError::InvalidCell(cell.into()))
        })
        .collect()
}

/// The exact test: the point is inside the polygon (outside its holes) or on its boundary,
/// within [`BOUNDARY_TOLERANCE_DEG`].
///
/// Coordinates that are not a point on Earth are never inside.
pub fn contains_home(area: &Polygon<f64>, lat: f64, lon: f64) -> bool {
    if !valid_point(lat, lon) {
        return false;
    }
    let home = Point::new(lon, lat);
    // `Intersects`, unlike `Contains`, counts the boundary as inside.
    if area.intersects(&home) {
        return true;
    }
    let Some(bbox) = area.bounding_rect() else {
        return false;
    };
    let near_box = lon >= bbox.min().x - BOUNDARY_TOLERANCE_DEG
        && lon <= bbox.max().x + BOUNDARY_TOLERANCE_DEG
        && lat >= bbox.min().y - BOUNDARY_TOLERANCE_DEG
        && lat <= bbox.max().y + BOUNDARY_TOLERANCE_DEG;
    near_box
        && std::iter::once(area.exterior())
            .chain(area.interiors())
            .any(|ring| Euclidean.distance(&home, ring) <= BOUNDARY_TOLERANCE_DEG)
}

fn valid_point(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
}

fn home_cell_index(lat: f64, lon: f64) -> Result<CellIndex, GeoIndexError> {
    if !valid_point(lat, lon) {
        return Err(GeoIndexError::InvalidCoordinates { lat, lon });
    }
    let point =
        LatLng::new(lat, lon).map_err(|_| GeoIndexError::InvalidCoordinates { lat, lon })?;
    Ok(point.to_cell(HOME_RESOLUTION))
}

/// The cover at [`HOME_RESOLUTION`], before compaction: unique, in no particular order.
fn cover_cells(area: &Polygon<f64>) -> Result<Vec<CellIndex>, GeoIndexError> {
    for (r, ring) in std::iter::once(area.exterior())
        .chain(area.interiors())
        .enumerate()
    {
        if ring.0.len() < 4 {
            return Err(GeoIndexError::InvalidArea(format!(
                "ring {r} has {} positions; a closed ring needs at least 4",
                ring.0.len()
            )));
        }
        if let Some(c) = ring.0.iter().find(|c| !valid_point(c.y, c.x)) {
            return Err(GeoIndexError::InvalidArea(format!(
                "ring {r} has longitude {}, latitude {}, not a point on Earth",
                c.x, c.y
            )));
        }
    }

    let estimate = planar_cell_estimate(area);
    if estimate > MAX_COVER_ESTIMATE {
        return Err(GeoIndexError::AreaTooLarge {
            estimate,
            limit: MAX_COVER_ESTIMATE,
        });
    }
    let mut cells = match tiled(area, estimate)? {
        Some(cells) => cells,
        // The tiler ran past any plausible count: sample the area instead.
        None => sampled(area)?,
    };

    // The margin (see COVER_MARGIN_DEG): neighbours the tiler left out because they miss the
    // area by a hair. One ring is enough, the discrepancy being far smaller than a cell.
    let mut examined = HashSet::new();
    let mut extra = Vec::new();
    for cell in &cells {
        for neighbour in cell.grid_disk_safe(1) {
            if !cells.contains(&neighbour)
                && examined.insert(neighbour)
                && within_margin(area, neighbour)
            {
                extra.push(neighbour);
            }
        }
    }
    cells.extend(extra);
    Ok(cells.into_iter().collect())
}

/// Cells a tiling may yield before it is taken for a runaway, given the planar estimate: the
/// cells touching an area are at most its bounding box's and a ring of cells around it.
fn tiling_limit(estimate: usize) -> usize {
    estimate.saturating_mul(4).saturating_add(1_000)
}

/// The cells whose outline touches the area, as h3o's tiler finds them (no margin); `None`
/// when the tiler yields more than [`tiling_limit`] cells. That happens on some areas within
/// a few hundred metres of the antimeridian: with the transmeridian heuristic off, h3o's
/// inward propagation can escape the area and flood the globe (in debug builds an internal
/// assertion of h3o's stops it first).
fn tiled(
    area: &Polygon<f64>,
    estimate: usize,
) -> Result<Option<HashSet<CellIndex>>, GeoIndexError> {
    // `Covers` takes every cell that touches the area; the default (centre inside) would miss
    // homes near the edges. The transmeridian heuristic is off so the tiler reads edges the
    // planar way `contains_home` does (see the module documentation).
    let mut tiler = TilerBuilder::new(HOME_RESOLUTION)
        .containment_mode(ContainmentMode::Covers)
        .disable_transmeridian_heuristic()
        .build();
    tiler.add(area.clone())?;
    let limit = tiling_limit(estimate);
    let mut yielded = 0_usize;
    let cells: HashSet<CellIndex> = tiler
        .into_coverage()
        .take(limit + 1)
        .inspect(|_| yielded += 1)
        .collect();
    Ok((yielded <= limit).then_some(cells))
}

/// Every cell that touches the area, found without the tiler: the cells of points sampled
/// across the area and along its rings, closer together than a cell is wide, and their
/// neighbours. A home inside the area is within one sample spacing of an inside sample or of
/// a ring, so its cell is a sample's cell or a neighbour of one. Only for areas the tiler
/// cannot do (see [`tiled`]); the exact test afterwards removes what lies outside.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "sample counts of an area already checked against MAX_COVER_ESTIMATE"
)]
fn sampled(area: &Polygon<f64>) -> Result<HashSet<CellIndex>, GeoIndexError> {
    // A resolution 9 cell is about 350 m across; samples every 50 m.
    const STEP_M: f64 = 50.0;
    const M_PER_DEG: f64 = 111_320.0;
    let Some(bbox) = area.bounding_rect() else {
        return Ok(HashSet::new());
    };
    let (min, max) = (bbox.min(), bbox.max());
    let widest = if min.y <= 0.0 && max.y >= 0.0 {
        0.0
    } else {
        min.y.abs().min(max.y.abs())
    };
    let dy = STEP_M / M_PER_DEG;
    let dx = dy / widest.to_radians().cos().max(0.01);
    let rows = ((max.y - min.y) / dy).ceil() as usize + 1;
    let cols = ((max.x - min.x) / dx).ceil() as usize + 1;
    let mut seeds = HashSet::new();
    let mut add = |x: f64, y: f64| -> Result<(), GeoIndexError> {
        seeds.insert(home_cell_index(
            y.clamp(-90.0, 90.0),
            x.clamp(-180.0, 180.0),
        )?);
        Ok(())
    };
    for r in 0..rows {
        for c in 0..cols {
            let (x, y) = (min.x + c as f64 * dx, min.y + r as f64 * dy);
            if area.intersects(&Point::new(x, y)) {
                add(x, y)?;
            }
        }
    }
    for ring in std::iter::once(area.exterior()).chain(area.interiors()) {
        for line in ring.lines() {
            let (ex, ey) = (line.end.x - line.start.x, line.end.y - line.start.y);
            let steps = ((ex / dx).abs().max((ey / dy).abs()).ceil() as usize).max(1);
            for i in 0..=steps {
                let f = i as f64 / steps as f64;
                add(line.start.x + ex * f, line.start.y + ey * f)?;
            }
        }
    }
    Ok(seeds.iter().flat_map(|c| c.grid_disk_safe(1)).collect())
}

/// About how many [`HOME_RESOLUTION`] cells the area's bounding box (read the planar way) holds.
///
/// h3o's own estimate measures the box's diagonal along the globe, so it calls a box that runs
/// from longitude -179.99 to 179.99 tiny; this one does not.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a non-negative estimate; saturating is fine for a limit"
)]
fn planar_cell_estimate(area: &Polygon<f64>) -> usize {
    const M_PER_DEG: f64 = 111_320.0;
    let Some(bbox) = area.bounding_rect() else {
        return 0;
    };
    let (min, max) = (bbox.min(), bbox.max());
    // The widest parallel in the box: the one nearest the equator.
    let widest = if min.y <= 0.0 && max.y >= 0.0 {
        0.0
    } else {
        min.y.abs().min(max.y.abs())
    };
    let width = (max.x - min.x) * M_PER_DEG * widest.to_radians().cos();
    let height = (max.y - min.y) * M_PER_DEG;
    // Float to integer `as` saturates, which is what a limit wants.
    (width * height / HOME_RESOLUTION.area_m2()).ceil() as usize
}

/// Whether the cell's outline comes within [`COVER_MARGIN_DEG`] of the area's boundary.
fn within_margin(area: &Polygon<f64>, cell: CellIndex) -> bool {
    // Degrees, split in two if the cell straddles the antimeridian (planar, like the area).
    let outline = MultiPolygon::from(cell);
    let Some(bbox) = outline.bounding_rect() else {
        return false;
    };
    let (min, max) = (bbox.min(), bbox.max());
    let near = |line: &Line<f64>| {
        line.start.x.min(line.end.x) <= max.x + COVER_MARGIN_DEG
            && line.start.x.max(line.end.x) >= min.x - COVER_MARGIN_DEG
            && line.start.y.min(line.end.y) <= max.y + COVER_MARGIN_DEG
            && line.start.y.max(line.end.y) >= min.y - COVER_MARGIN_DEG
    };
    std::iter::once(area.exterior())
        .chain(area.interiors())
        .flat_map(|ring| ring.lines())
        .filter(|line| near(line))
        .any(|line| {
            outline
                .iter()
                .any(|part| Euclidean.distance(&line, part) <= COVER_MARGIN_DEG)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Coord, GeodesicArea, LineString};
    use proptest::prelude::*;
    use std::time::Instant;

    const SQ_M_PER_SQ_MI: f64 = 2_589_988.110_336;
    const M_PER_DEG_LAT: f64 = 111_320.0;

    /// A polygon around (lat0, lon0) from points given in metres east and north, scaled so its
    /// area is about `sq_mi` square miles.
    fn polygon_from_metres(lat0: f64, lon0: f64, sq_mi: f64, pts: &[(f64, f64)]) -> Polygon<f64> {
        let n = pts.len();
        let shoelace: f64 = (0..n)
            .map(|i| {
                let (x1, y1) = pts[i];
                let (x2, y2) = pts[(i + 1) % n];
                x1 * y2 - x2 * y1
            })
            .sum::<f64>()
            / 2.0;
        let scale = (sq_mi * SQ_M_PER_SQ_MI / shoelace.abs()).sqrt();
        let m_per_deg_lon = M_PER_DEG_LAT * lat0.to_radians().cos();
        let mut coords: Vec<Coord<f64>> = pts
            .iter()
            .map(|&(x, y)| Coord {
                x: lon0 + x * scale / m_per_deg_lon,
                y: lat0 + y * scale / M_PER_DEG_LAT,
            })
            .collect();
        coords.push(coords[0]);
        Polygon::new(LineString(coords), vec![])
    }

    /// A star-shaped polygon: vertices at increasing angles, each at `radii[i]` from the centre
    /// (all equal radii give a convex polygon inscribed in a circle).
    fn star(lat0: f64, lon0: f64, sq_mi: f64, radii: &[f64]) -> Polygon<f64> {
        let n = radii.len();
        let pts: Vec<(f64, f64)> = radii
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                (r * a.cos(), r * a.sin())
            })
            .collect();
        polygon_from_metres(lat0, lon0, sq_mi, &pts)
    }

    fn circle(lat0: f64, lon0: f64, sq_mi: f64, n: usize) -> Polygon<f64> {
        star(lat0, lon0, sq_mi, &vec![1.0; n])
    }

    /// A star-shaped polygon with `n` jagged vertices (deterministic, no randomness needed).
    fn jagged(lat0: f64, lon0: f64, sq_mi: f64, n: usize) -> Polygon<f64> {
        let radii: Vec<f64> = (0..n)
            .map(|i| 0.6 + 0.4 * ((i * 7919 % 13) as f64 / 12.0))
            .collect();
        star(lat0, lon0, sq_mi, &radii)
    }

    /// The two index look-ups, which must agree: the home's cell is in some cover cell's
    /// range, and some ancestor of it is a cover cell.
    fn candidate(cover: &[u64], ranges: &[(u64, u64)], lat: f64, lon: f64) -> bool {
        let cell = home_cell(lat, lon).unwrap();
        let by_range = ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&cell));
        let by_ancestor = home_ancestors(lat, lon)
            .unwrap()
            .iter()
            .any(|a| cover.binary_search(a).is_ok());
        assert_eq!(by_range, by_ancestor, "look-ups disagree at {lat}, {lon}");
        by_range
    }

    fn ranges(cover: &[u64]) -> Vec<(u64, u64)> {
        home_ranges(cover).unwrap()
    }

    /// Walking every cell of the joined ranges meets exactly the cover's descendants.
    fn check_ranges(area: &Polygon<f64>) -> Result<(), TestCaseError> {
        let cover = area_cover(area).unwrap();
        let joined = ranges(&cover);
        prop_assert!(joined.len() <= cover.len());
        prop_assert!(joined.windows(2).all(|w| w[0].1 < w[1].0), "{joined:?}");
        let mut walked = 0;
        for &(lo, hi) in &joined {
            let mut next = Some(CellIndex::try_from(lo).unwrap());
            while let Some(n) = next.filter(|n| u64::from(*n) <= hi) {
                let held = (0..=u8::from(HOME_RESOLUTION)).any(|r| {
                    let r = Resolution::try_from(r).unwrap();
                    n.parent(r)
                        .is_some_and(|p| cover.binary_search(&u64::from(p)).is_ok())
                });
                prop_assert!(held, "{n} is in a range but descends from no cover cell");
                walked += 1;
                next = n.succ();
            }
        }
        let descendants: u64 = cover
            .iter()
            .map(|&c| {
                CellIndex::try_from(c)
                    .unwrap()
                    .children_count(HOME_RESOLUTION)
            })
            .sum();
        prop_assert_eq!(walked, descendants);
        Ok(())
    }

    fn cell(lat: f64, lon: f64, res: Resolution) -> CellIndex {
        LatLng::new(lat, lon).unwrap().to_cell(res)
    }

    /// Lower Manhattan-ish, axis-aligned square with one slanted edge.
    fn sample_area() -> Polygon<f64> {
        Polygon::new(
            LineString::from(vec![
                (-74.010, 40.710),
                (-74.000, 40.710),
                (-74.000, 40.716),
                (-74.0037, 40.7193),
                (-74.010, 40.716),
                (-74.010, 40.710),
            ]),
            vec![],
        )
    }

    #[test]
    fn homes_on_vertices_and_edges_are_inside_and_just_outside_is_not() {
        let area = sample_area();
        let cover = area_cover(&area).unwrap();
        let ranges = ranges(&cover);
        let ring = &area.exterior().0;
        for w in ring.windows(2) {
            let (a, b) = (w[0], w[1]);
            let mid = ((a.y + b.y) / 2.0, (a.x + b.x) / 2.0);
            let third = (a.y + (b.y - a.y) / 3.0, a.x + (b.x - a.x) / 3.0);
            for (lat, lon) in [(a.y, a.x), mid, third] {
                assert!(
                    contains_home(&area, lat, lon),
                    "{lat}, {lon} on the boundary"
                );
                assert!(candidate(&cover, &ranges, lat, lon), "{lat}, {lon} missed");
            }
        }
        // About a metre outside: south of the bottom edge, west of the left edge, beyond a corner.
        for (lat, lon) in [
            (40.70999, -74.005),
            (40.713, -74.01001),
            (40.70999, -73.99999),
        ] {
            assert!(!contains_home(&area, lat, lon), "{lat}, {lon} is outside");
        }
        // Past the tolerance by a hair (1e-8° is about a millimetre).
        assert!(!contains_home(&area, 40.71 - 1e-8, -74.005));
        assert!(contains_home(&area, 40.71 - 1e-10, -74.005));
        assert!(contains_home(&area, 40.713, -74.005));
    }

    #[test]
    fn holes_are_outside_but_their_edges_are_inside() {
        let hole = LineString::from(vec![
            (-74.006, 40.712),
            (-74.004, 40.712),
            (-74.004, 40.714),
            (-74.006, 40.714),
            (-74.006, 40.712),
        ]);
        let area = Polygon::new(sample_area().exterior().clone(), vec![hole]);
        assert!(!contains_home(&area, 40.713, -74.005));
        assert!(contains_home(&area, 40.712, -74.005));
        assert!(contains_home(&area, 40.711, -74.005));
        // The cover is not required to skip the hole; it still finds the edge.
        let cover = area_cover(&area).unwrap();
        assert!(candidate(&cover, &ranges(&cover), 40.712, -74.005));
    }

    #[test]
    fn invalid_input_is_refused() {
        for (lat, lon) in [
            (91.0, 0.0),
            (0.0, 180.5),
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
        ] {
            assert_eq!(
                home_cell(lat, lon)
                    .map_err(|e| matches!(e, GeoIndexError::InvalidCoordinates { .. })),
                Err(true)
            );
            assert!(home_ancestors(lat, lon).is_err());
            assert!(!contains_home(&sample_area(), lat, lon));
        }
        let nan = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (f64::NAN, 0.0), (0.0, 0.01), (0.0, 0.0)]),
            vec![],
        );
        assert!(matches!(
            area_cover(&nan),
            Err(GeoIndexError::InvalidArea(_))
        ));
        let short = Polygon::new(LineString::from(vec![(0.0, 0.0), (0.01, 0.0)]), vec![]);
        assert!(matches!(
            area_cover(&short),
            Err(GeoIndexError::InvalidArea(_))
        ));
        assert_eq!(descendant_range(0), Err(GeoIndexError::InvalidCell(0)));
        assert_eq!(
            descendant_range(u64::MAX),
            Err(GeoIndexError::InvalidCell(u64::MAX))
        );
        let fine = u64::from(cell(40.0, -74.0, Resolution::Ten));
        assert_eq!(
            descendant_range(fine),
            Err(GeoIndexError::CellTooFine(fine))
        );
    }

    #[test]
    fn an_edge_across_the_antimeridian_goes_the_long_way_and_is_refused() {
        // Planar reading: a strip 0.01° high round almost the whole equator.
        let strip = Polygon::new(
            LineString::from(vec![
                (179.99, 0.0),
                (-179.99, 0.0),
                (-179.99, 0.01),
                (179.99, 0.01),
                (179.99, 0.0),
            ]),
            vec![],
        );
        assert!(contains_home(&strip, 0.005, 0.0));
        assert!(!contains_home(&strip, 0.005, 179.995));
        assert!(matches!(
            area_cover(&strip),
            Err(GeoIndexError::AreaTooLarge { .. })
        ));
    }

    #[test]
    fn areas_next_to_the_antimeridian_work() {
        // Right up against longitude 180 on its west side, and against -180 on its east side.
        for lon0 in [179.9935, -179.9935] {
            let area = circle(-17.0, lon0, 0.5, 48);
            let cover = area_cover(&area).unwrap();
            let ranges = ranges(&cover);
            for c in &area.exterior().0 {
                assert!(candidate(&cover, &ranges, c.y, c.x));
            }
        }
    }

    #[test]
    fn home_ancestors_are_the_chain_of_parents() {
        let (lat, lon) = (40.7128, -74.0060);
        let ancestors = home_ancestors(lat, lon).unwrap();
        assert_eq!(ancestors.len(), usize::from(u8::from(HOME_RESOLUTION)) + 1);
        assert_eq!(ancestors.last(), Some(&home_cell(lat, lon).unwrap()));
        for (res, &a) in ancestors.iter().enumerate() {
            let index = CellIndex::try_from(a).unwrap();
            assert_eq!(usize::from(u8::from(index.resolution())), res);
            assert_eq!(
                index,
                CellIndex::try_from(ancestors[ancestors.len() - 1])
                    .unwrap()
                    .parent(index.resolution())
                    .unwrap()
            );
        }
    }

    #[test]
    fn descendant_ranges_are_contiguous() {
        let home = cell(40.7128, -74.0060, HOME_RESOLUTION);
        // A pentagon (base cell 4) and its neighbourhood, besides ordinary hexagons.
        let pentagon = CellIndex::base_cells().find(|c| c.is_pentagon()).unwrap();
        let mut coarse: Vec<CellIndex> = (4..=9)
            .map(|r| home.parent(Resolution::try_from(r).unwrap()).unwrap())
            .collect();
        coarse.push(pentagon.center_child(Resolution::Five).unwrap());
        coarse.push(pentagon.child_at(3, Resolution::Six).unwrap());
        for c in coarse {
            let (lo, hi) = descendant_range(c.into()).unwrap();
            let children: Vec<u64> = c.children(HOME_RESOLUTION).map(u64::from).collect();
            assert_eq!(children.len() as u64, c.children_count(HOME_RESOLUTION));
            assert_eq!(children.iter().min(), Some(&lo), "{c}");
            assert_eq!(children.iter().max(), Some(&hi), "{c}");
            // Walking the valid cells from lo to hi meets exactly the children.
            let mut walked = Vec::new();
            let mut next = Some(CellIndex::try_from(lo).unwrap());
            while let Some(n) = next.filter(|n| u64::from(*n) <= hi) {
                assert_eq!(n.parent(c.resolution()), Some(c), "{n} in {c}'s range");
                walked.push(u64::from(n));
                next = n.succ();
            }
            assert_eq!(walked, children);
            // The cells just outside, numerically, are not descendants.
            let lo_cell = CellIndex::try_from(lo).unwrap();
            let hi_cell = CellIndex::try_from(hi).unwrap();
            for outside in [lo_cell.pred(), hi_cell.succ()].into_iter().flatten() {
                assert_ne!(outside.parent(c.resolution()), Some(c), "{outside}");
            }
            for raw in [lo - 1, hi + 1] {
                if let Ok(outside) = CellIndex::try_from(raw) {
                    assert_ne!(outside.parent(c.resolution()), Some(c), "{outside}");
                }
            }
        }
    }

    #[test]
    fn cell_numbers_fit_in_i64() {
        // The largest valid index of every resolution, and everything a cover hands out.
        for r in 0..=15u8 {
            let last = u64::from(CellIndex::last(Resolution::try_from(r).unwrap()));
            assert!(i64::try_from(last).is_ok());
            assert_eq!(last >> 63, 0);
        }
        let cover = area_cover(&jagged(64.0, -21.9, 0.5, 300)).unwrap();
        for (lo, hi) in ranges(&cover) {
            assert!(i64::try_from(hi).is_ok() && lo <= hi);
            // Signed and unsigned order agree on these values.
            assert!(i64::try_from(lo).unwrap() <= i64::try_from(hi).unwrap());
        }
        assert!(
            home_ancestors(-89.9, 179.9)
                .unwrap()
                .iter()
                .all(|&a| a <= i64::MAX as u64)
        );
    }

    #[test]
    fn covers_stay_small_and_compaction_works() {
        for (name, area) in [
            ("0.025 sq mi circle", circle(37.77, -122.42, 0.025, 64)),
            ("0.5 sq mi circle", circle(37.77, -122.42, 0.5, 64)),
            ("0.5 sq mi jagged 1000", jagged(37.77, -122.42, 0.5, 1000)),
            ("0.5 sq mi circle at 60°N", circle(60.17, 24.94, 0.5, 64)),
            ("5 sq mi circle", circle(37.77, -122.42, 5.0, 64)),
        ] {
            let full = cover_cells(&area).unwrap();
            let cover = area_cover(&area).unwrap();
            println!(
                "{name}: {} cells at resolution 9, {} after compaction",
                full.len(),
                cover.len()
            );
            assert!(cover.len() <= full.len());
            // Compaction loses nothing: expanding it gives back the same cells.
            let mut expanded: Vec<CellIndex> = CellIndex::uncompact(
                cover.iter().map(|&c| CellIndex::try_from(c).unwrap()),
                HOME_RESOLUTION,
            )
            .collect();
            let mut full = full;
            expanded.sort_unstable();
            full.sort_unstable();
            assert_eq!(expanded, full);
            if name.starts_with("0.5") {
                assert!(cover.len() <= 60, "{name}: {} cells", cover.len());
            }
        }
        // Large enough that whole resolution-8 parents (and coarser) must be inside.
        let big = circle(37.77, -122.42, 5.0, 64);
        assert!(area_cover(&big).unwrap().len() < cover_cells(&big).unwrap().len() / 2);
    }

    #[test]
    fn cover_of_a_thousand_vertex_area_is_quick() {
        for n in [1_000, 10_000] {
            let area = jagged(51.5, -0.12, 0.5, n);
            let started = Instant::now();
            let cover = area_cover(&area).unwrap();
            let took = started.elapsed();
            println!(
                "{n} vertices, 0.5 sq mi: {} cover cells in {took:?}",
                cover.len()
            );
            // Generous: unoptimised builds are several times slower than release.
            assert!(took.as_secs_f64() < 5.0, "{took:?}");
        }
    }

    /// A random star-shaped (or, with equal radii, convex) polygon of 0.025–0.5 sq mi between
    /// 70°S and 70°N, anywhere in longitude short of crossing the antimeridian.
    fn arb_area() -> impl Strategy<Value = Polygon<f64>> {
        (
            -70.0..70.0f64,
            -179.9..179.9f64,
            0.025..0.5f64,
            prop_oneof![
                (3..24usize).prop_map(|n| vec![1.0; n]),
                prop::collection::vec(0.2..1.0f64, 3..40),
            ],
            0.0..1.0f64,
        )
            .prop_map(|(lat, lon, sq_mi, radii, turn)| {
                let n = radii.len();
                // Jitter the angles (keeping them in order) so edges are not too regular.
                let pts: Vec<(f64, f64)> = radii
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let a = (i as f64 + 0.5 * turn) / n as f64 * std::f64::consts::TAU;
                        (r * a.cos(), r * a.sin())
                    })
                    .collect();
                polygon_from_metres(lat, lon, sq_mi, &pts)
            })
    }

    /// Homes around `area` (`homes` as fractions of its bounding box, which they overshoot by
    /// 30% each way), on its vertices and edge midpoints, and next to its edges (`along`: where
    /// on the edge, and how far off it as an exponent); every one must be found by the index if
    /// the exact test says it is inside.
    fn check_index(
        area: &Polygon<f64>,
        homes: &[(f64, f64)],
        along: &[(f64, f64)],
    ) -> Result<(), TestCaseError> {
        let size = area.geodesic_area_unsigned() / SQ_M_PER_SQ_MI;
        prop_assert!((0.02..0.55).contains(&size), "{size} sq mi");
        let cover = area_cover(area).unwrap();
        let ranges = ranges(&cover);
        let bbox = area.bounding_rect().unwrap();
        let (w, h) = (bbox.width(), bbox.height());
        let ring = &area.exterior().0;

        let mut points: Vec<(f64, f64, bool)> = homes
            .iter()
            .map(|&(u, v)| (bbox.min().y + v * h, bbox.min().x + u * w, false))
            .collect();
        // Vertices and midpoints of edges: on the boundary.
        for e in ring.windows(2) {
            points.push((e[0].y, e[0].x, true));
            points.push(((e[0].y + e[1].y) / 2.0, (e[0].x + e[1].x) / 2.0, true));
        }
        // Along edges, nudged either way by 1e-5° (a metre) down to 3e-10° (inside the
        // tolerance).
        for (i, &(t, off)) in along.iter().enumerate() {
            let e = &ring[i % (ring.len() - 1)..];
            let (a, b) = (e[0], e[1]);
            let nudge = off.signum() * 10f64.powf(-off.abs() - 5.0);
            points.push((a.y + t * (b.y - a.y) + nudge, a.x + t * (b.x - a.x), false));
            points.push((a.y + t * (b.y - a.y), a.x + t * (b.x - a.x) + nudge, false));
        }

        let mut inside = 0;
        for (lat, lon, on_boundary) in points {
            // Homes past the antimeridian are not on Earth; those areas touch it.
            let lon = lon.clamp(-180.0, 180.0);
            let exact = contains_home(area, lat, lon);
            if on_boundary {
                prop_assert!(exact, "{lat}, {lon} is on the boundary");
            }
            let indexed = candidate(&cover, &ranges, lat, lon);
            // No false negatives; the exact test then removes the false positives.
            prop_assert!(!exact || indexed, "{lat}, {lon} missed by the index");
            prop_assert_eq!(indexed && exact, exact);
            inside += usize::from(exact);
        }
        prop_assert!(inside > 0);
        Ok(())
    }

    /// Moves the area east or west until its far edge is `gap` degrees short of the
    /// antimeridian (0: touching it).
    fn against_antimeridian(area: &Polygon<f64>, east: bool, gap: f64) -> Polygon<f64> {
        let bbox = area.bounding_rect().unwrap();
        let dx = if east {
            180.0 - gap - bbox.max().x
        } else {
            -180.0 + gap - bbox.min().x
        };
        let ring: Vec<Coord<f64>> = area
            .exterior()
            .0
            .iter()
            .map(|c| Coord {
                x: (c.x + dx).clamp(-180.0, 180.0),
                y: c.y,
            })
            .collect();
        Polygon::new(LineString(ring), vec![])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn joined_ranges_hold_exactly_the_covers_homes(area in arb_area()) {
            check_ranges(&area)?;
        }

        #[test]
        fn the_index_never_misses_a_home(
            area in arb_area(),
            homes in prop::collection::vec((-0.3..1.3f64, -0.3..1.3f64), 300),
            along in prop::collection::vec((0.0..1.0f64, -4.5..4.5f64), 60),
        ) {
            check_index(&area, &homes, &along)?;
        }

        #[test]
        fn the_index_never_misses_a_home_by_the_antimeridian(
            area in arb_area(),
            east in proptest::bool::ANY,
            gap in prop_oneof![Just(0.0), 0.0..0.01f64],
            homes in prop::collection::vec((-0.3..1.3f64, -0.3..1.3f64), 300),
            along in prop::collection::vec((0.0..1.0f64, -4.5..4.5f64), 60),
        ) {
            check_index(&against_antimeridian(&area, east, gap), &homes, &along)?;
        }
    }

    #[test]
    fn a_circle_against_the_antimeridian_is_covered_without_missing_a_home() {
        // The case a property test found: a small oval 0.004° east of the antimeridian, on
        // which h3o's tiler (transmeridian heuristic off) floods outward without end.
        #[allow(clippy::unreadable_literal, clippy::excessive_precision)]
        let ring: Vec<Coord<f64>> = [
            (0.005737867669886458, 39.571450732939404),
            (0.005301098500466327, 39.57314331302419),
            (0.004057285138927769, 39.574578213134345),
            (0.0021957868943688298, 39.57553698273549),
            (0.0, 39.57587365784714),
            (-0.002195786894368829, 39.57553698273549),
            (-0.0040572851389277685, 39.574578213134345),
            (-0.005301098500466327, 39.57314331302419),
            (-0.005737867669886458, 39.571450732939404),
            (-0.005301098500466327, 39.56975815285462),
            (-0.00405728513892777, 39.56832325274446),
            (-0.002195786894368833, 39.567364483143315),
            (0.0, 39.56702780803167),
            (0.0021957868943688306, 39.567364483143315),
            (0.004057285138927768, 39.56832325274446),
            (0.005301098500466325, 39.56975815285462),
            (0.005737867669886458, 39.571450732939404),
        ]
        .iter()
        .map(|&(x, y)| Coord { x, y })
        .collect();
        let area = Polygon::new(LineString(ring), vec![]);
        let moved = against_antimeridian(&area, false, 0.004_017_203_861_737_912);
        // The tiler runs away on it, so the cover comes from sampling.
        assert!(
            tiled(&moved, planar_cell_estimate(&moved))
                .unwrap()
                .is_none()
        );
        check_index(&moved, &[(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)], &[(0.5, 0.0)])
            .expect("no home missed");
    }

    #[test]
    fn the_margin_finds_homes_the_tiler_alone_would_miss() {
        // A cell that straddles the antimeridian. This point, on its edge (so it belongs to
        // it), is about 9e-8° outside the two pieces h3o splits its outline into.
        let (lat, lon) = (1.702_969_716_565_174_3, 179.998_380_046_534_63);
        let home = home_cell_index(lat, lon).unwrap();
        assert_eq!(home, "897eb321373ffff".parse::<CellIndex>().unwrap());
        // A thin triangle with a vertex on that point, pointing away from the cell's centre.
        let centre = LatLng::from(home);
        let (dx, dy) = (lon - centre.lng(), lat - centre.lat());
        let norm = (dx * dx + dy * dy).sqrt();
        let (ux, uy) = (dx / norm * 0.002, dy / norm * 0.002);
        let area = Polygon::new(
            LineString::from(vec![
                (lon, lat),
                (lon + ux - uy * 0.3, lat + uy + ux * 0.3),
                (lon + ux + uy * 0.3, lat + uy - ux * 0.3),
                (lon, lat),
            ]),
            vec![],
        );
        assert!(area.exterior().0.iter().all(|c| c.x <= 180.0));
        assert!(contains_home(&area, lat, lon));
        let cover = area_cover(&area).unwrap();
        assert!(candidate(&cover, &ranges(&cover), lat, lon));
        // Why the margin exists (h3o 0.11.1); not asserted, so an h3o fix does not fail this.
        println!(
            "tiler alone finds the home's cell: {}",
            tiled(&area, planar_cell_estimate(&area))
                .unwrap()
                .unwrap()
                .contains(&home)
        );
    }
}
