//! Areas on the map: agency jurisdictions (Polygon or MultiPolygon) and request areas (Polygon).
//!
//! Input is GeoJSON (RFC 7946: WGS84, longitude first). The checks run on the raw coordinates,
//! because converting to `geo` types closes open rings silently and would hide the mistake.

use geo::line_intersection::LineIntersection;
use geo::orient::{Direction, Orient};
use geo::sweep::Cross;
use geo::{Contains, Coord, Intersections, Intersects, Line, LineString, MultiPolygon, Polygon};
use geojson::{Geometry, GeometryValue, PolygonType, Position};

/// Which GeoJSON geometry types a field accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Only `Polygon` (a request's area).
    Polygon,
    /// `Polygon` or `MultiPolygon` (a jurisdiction).
    PolygonOrMulti,
}

/// Parses and validates a GeoJSON geometry into a `MultiPolygon`.
///
/// Refuses: malformed GeoJSON, other geometry types, rings that are not closed or have fewer
/// than four positions, coordinates out of range or not finite, and self-intersecting or
/// otherwise invalid polygons.
pub fn parse(value: &serde_json::Value, shape: Shape) -> Result<MultiPolygon<f64>, String> {
    let geometry: Geometry = serde_json::from_value(value.clone())
        .map_err(|e| format!("is not a GeoJSON geometry: {e}"))?;
    let polygons: Vec<&PolygonType> = match (&geometry.value, shape) {
        (GeometryValue::Polygon { coordinates }, _) => vec![coordinates],
        (GeometryValue::MultiPolygon { coordinates }, Shape::PolygonOrMulti) => {
            coordinates.iter().collect()
        }
        (other, Shape::Polygon) => {
            return Err(format!(
                "must be a GeoJSON Polygon, not {}",
                other.type_name()
            ));
        }
        (other, Shape::PolygonOrMulti) => {
            return Err(format!(
                "must be a GeoJSON Polygon or MultiPolygon, not {}",
                other.type_name()
            ));
        }
    };
    if polygons.is_empty() {
        return Err("has no polygons".into());
    }
    let mut out = Vec::with_capacity(polygons.len());
    for (p, rings) in polygons.iter().enumerate() {
        if rings.is_empty() {
            return Err(format!("polygon {p} has no rings"));
        }
        let mut converted = Vec::with_capacity(rings.len());
        for (r, ring) in rings.iter().enumerate() {
            converted.push(ring_to_line(ring).map_err(|e| format!("polygon {p}, ring {r}: {e}"))?);
        }
        let exterior = converted.remove(0);
        out.push(Polygon::new(exterior, converted));
    }
    let multi = MultiPolygon(out);
    check_simple(&multi).map_err(|problem| format!("is not a valid area: {problem}"))?;
    // RFC 7946 asks for counter-clockwise exterior rings but tells parsers not to refuse the
    // other winding, and map tools draw either. Geodesic area reads a clockwise ring as the
    // rest of the Earth, so every area is put in the standard winding here.
    Ok(multi.orient(Direction::Default))
}

/// One segment of a ring, with where it sits, for the sweep.
#[derive(Debug, Clone, Copy)]
struct Segment {
    line: Line<f64>,
    polygon: usize,
    ring: usize,
    position: usize,
    ring_len: usize,
}

impl Cross for Segment {
    type Scalar = f64;

    fn line(&self) -> Line<f64> {
        self.line
    }
}

impl Segment {
    fn same_ring(&self, other: &Segment) -> bool {
        self.polygon == other.polygon && self.ring == other.ring
    }

    fn adjacent(&self, other: &Segment) -> bool {
        let (a, b) = (
            self.position.min(other.position),
            self.position.max(other.position),
        );
        self.same_ring(other) && (b - a == 1 || (a == 0 && b + 1 == self.ring_len))
    }
}

/// The OGC simple-feature rules a polygon area must meet, in O(n log n) for ordinary shapes:
/// no ring crosses or touches itself, rings meet other rings at single points at most, holes
/// lie inside their exterior and outside each other, and polygons of a MultiPolygon do not
/// overlap. (`geo::Validation` checks every pair of segments, which takes milliseconds at a
/// thousand vertices and far longer at the vertex limit.)
pub fn check_simple(multi: &MultiPolygon<f64>) -> Result<(), String> {
    let mut segments = Vec::new();
    for (p, polygon) in multi.0.iter().enumerate() {
        for (r, ring) in std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .enumerate()
        {
            let lines: Vec<Line<f64>> = ring.lines().filter(|l| l.start != l.end).collect();
            if lines.len() < 3 {
                return Err(format!(
                    "polygon {p}, ring {r} has fewer than 3 distinct sides"
                ));
            }
            let ring_len = lines.len();
            segments.extend(
                lines
                    .into_iter()
                    .enumerate()
                    .map(|(position, line)| Segment {
                        line,
                        polygon: p,
                        ring: r,
                        position,
                        ring_len,
                    }),
            );
        }
    }
    for (a, b, hit) in Intersections::from_iter(segments) {
        let allowed = match hit {
            // Neighbours in a ring share exactly their common vertex.
            LineIntersection::SinglePoint { intersection, .. } if a.adjacent(&b) => {
                intersection == a.line.start || intersection == a.line.end
            }
            // Other rings may touch at a point, never cross.
            LineIntersection::SinglePoint { is_proper, .. } if !a.same_ring(&b) => !is_proper,
            _ => false,
        };
        if !allowed {
            let where_ = if a.same_ring(&b) {
                format!(
                    "polygon {}, ring {} crosses or touches itself",
                    a.polygon, a.ring
                )
            } else {
                format!(
                    "polygon {} ring {} and polygon {} ring {} cross or overlap",
                    a.polygon, a.ring, b.polygon, b.ring
                )
            };
            return Err(format!(
                "{where_} near ({:.6}, {:.6})",
                a.line.start.x, a.line.start.y
            ));
        }
    }
    // With no crossings, a ring is wholly inside or outside another; one vertex decides.
    for (p, polygon) in multi.0.iter().enumerate() {
        let shell = Polygon::new(polygon.exterior().clone(), vec![]);
        for (h, hole) in polygon.interiors().iter().enumerate() {
            if inside(hole, &shell) != Some(true) {
                return Err(format!(
                    "polygon {p}: hole {h} is not inside its exterior ring"
                ));
            }
            for (other, outer) in polygon.interiors().iter().enumerate() {
                if other != h && inside(hole, &Polygon::new(outer.clone(), vec![])) == Some(true) {
                    return Err(format!("polygon {p}: hole {h} lies inside hole {other}"));
                }
            }
        }
        for (q, other) in multi.0.iter().enumerate() {
            if q != p && inside(polygon.exterior(), other) == Some(true) {
                return Err(format!("polygons {p} and {q} overlap"));
            }
        }
    }
    Ok(())
}

/// Whether `ring` lies inside `area`, decided by its first vertex not on `area`'s boundary;
/// `None` when every vertex is on the boundary.
fn inside(ring: &LineString<f64>, area: &Polygon<f64>) -> Option<bool> {
    ring.points().find_map(|pt| {
        if area.contains(&pt) {
            Some(true)
        } else if area.intersects(&pt) {
            None
        } else {
            Some(false)
        }
    })
}

fn ring_to_line(ring: &[Position]) -> Result<LineString<f64>, String> {
    if ring.len() < 4 {
        return Err(format!(
            "has {} positions; a closed ring needs at least 4",
            ring.len()
        ));
    }
    let mut coords = Vec::with_capacity(ring.len());
    for (i, pos) in ring.iter().enumerate() {
        let c = pos.as_slice();
        let (Some(&lon), Some(&lat)) = (c.first(), c.get(1)) else {
            return Err(format!("position {i} needs longitude and latitude"));
        };
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(format!(
                "position {i} has longitude {lon}, outside -180..180"
            ));
        }
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(format!("position {i} has latitude {lat}, outside -90..90"));
        }
        coords.push(Coord { x: lon, y: lat });
    }
    if coords.first() != coords.last() {
        return Err("is not closed: the last position must repeat the first".into());
    }
    Ok(LineString(coords))
}

/// Checks a point given as latitude and longitude.
pub fn validate_point(lat: f64, lon: f64) -> Result<(), String> {
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(format!("latitude {lat} is outside -90..90"));
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(format!("longitude {lon} is outside -180..180"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square() -> serde_json::Value {
        json!({"type": "Polygon", "coordinates": [[[-122.41, 37.77], [-122.40, 37.77], [-122.40, 37.78], [-122.41, 37.78], [-122.41, 37.77]]]})
    }

    #[test]
    fn accepts_a_polygon_and_a_multipolygon() {
        assert_eq!(parse(&square(), Shape::Polygon).map(|m| m.0.len()), Ok(1));
        let multi = json!({"type": "MultiPolygon", "coordinates": [square()["coordinates"].clone(),
            [[[-122.30, 37.77], [-122.29, 37.77], [-122.29, 37.78], [-122.30, 37.77]]]]});
        assert_eq!(
            parse(&multi, Shape::PolygonOrMulti).map(|m| m.0.len()),
            Ok(2)
        );
    }

    #[test]
    fn refuses_multipolygon_where_polygon_is_needed() {
        let multi =
            json!({"type": "MultiPolygon", "coordinates": [square()["coordinates"].clone()]});
        assert!(
            parse(&multi, Shape::Polygon)
                .unwrap_err()
                .contains("Polygon")
        );
    }

    #[test]
    fn refuses_open_rings() {
        let open = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]]});
        assert!(
            parse(&open, Shape::Polygon)
                .unwrap_err()
                .contains("not closed")
        );
    }

    #[test]
    fn refuses_out_of_range_coordinates() {
        let bad = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [200.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]});
        assert!(
            parse(&bad, Shape::Polygon)
                .unwrap_err()
                .contains("longitude 200")
        );
        let swapped = json!({"type": "Polygon", "coordinates": [[[37.77, -122.41], [37.77, -122.40], [37.78, -122.40], [37.77, -122.41]]]});
        assert!(
            parse(&swapped, Shape::Polygon)
                .unwrap_err()
                .contains("latitude")
        );
    }

    #[test]
    fn refuses_self_intersecting_bowtie() {
        let bowtie = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]});
        assert!(
            parse(&bowtie, Shape::Polygon)
                .unwrap_err()
                .contains("not a valid area")
        );
    }

    #[test]
    fn refuses_malformed_geojson_and_other_types() {
        assert!(parse(&json!({"type": "Polygon"}), Shape::Polygon).is_err());
        assert!(parse(&json!("nope"), Shape::Polygon).is_err());
        let point = json!({"type": "Point", "coordinates": [0.0, 0.0]});
        assert!(
            parse(&point, Shape::PolygonOrMulti)
                .unwrap_err()
                .contains("not Point")
        );
        let short =
            json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]]});
        assert!(
            parse(&short, Shape::Polygon)
                .unwrap_err()
                .contains("at least 4")
        );
    }

    #[test]
    fn holes_and_multipolygons_follow_the_simple_feature_rules() {
        let outer = [
            [0.0, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [0.0, 10.0],
            [0.0, 0.0],
        ];
        let hole = [[2.0, 2.0], [4.0, 2.0], [4.0, 4.0], [2.0, 4.0], [2.0, 2.0]];
        let ok = json!({"type": "Polygon", "coordinates": [outer, hole]});
        assert!(parse(&ok, Shape::Polygon).is_ok());
        let hole_outside = [[20.0, 2.0], [24.0, 2.0], [24.0, 4.0], [20.0, 2.0]];
        let bad = json!({"type": "Polygon", "coordinates": [outer, hole_outside]});
        assert!(
            parse(&bad, Shape::Polygon)
                .unwrap_err()
                .contains("not inside")
        );
        let crossing = [[8.0, 2.0], [14.0, 2.0], [14.0, 4.0], [8.0, 2.0]];
        let bad = json!({"type": "Polygon", "coordinates": [outer, crossing]});
        assert!(parse(&bad, Shape::Polygon).is_err());
        let overlapping = json!({"type": "MultiPolygon", "coordinates": [[outer], [[[1.0, 1.0], [3.0, 1.0], [3.0, 3.0], [1.0, 1.0]]]]});
        assert!(
            parse(&overlapping, Shape::PolygonOrMulti)
                .unwrap_err()
                .contains("overlap")
        );
        let touching = json!({"type": "MultiPolygon", "coordinates": [[outer], [[[10.0, 10.0], [12.0, 10.0], [12.0, 12.0], [10.0, 10.0]]]]});
        assert!(parse(&touching, Shape::PolygonOrMulti).is_ok());
    }

    #[test]
    fn a_spike_and_a_repeated_vertex_touch_are_refused() {
        let spike = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [4.0, 6.0], [4.0, 4.0], [0.0, 4.0], [0.0, 0.0]]]});
        assert!(parse(&spike, Shape::Polygon).is_err());
        let figure_eight_touch = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [2.0, 2.0], [4.0, 0.0], [4.0, 4.0], [2.0, 2.0], [0.0, 4.0], [0.0, 0.0]]]});
        assert!(parse(&figure_eight_touch, Shape::Polygon).is_err());
    }

    proptest::proptest! {
        /// On small random rings, the sweep agrees with geo's exhaustive pairwise check.
        #[test]
        fn sweep_agrees_with_geo_validation(points in proptest::collection::vec((0_u8..6, 0_u8..6), 3..8)) {
            use geo::Validation;
            let mut ring: Vec<Coord<f64>> = points.iter().map(|&(x, y)| Coord { x: f64::from(x), y: f64::from(y) }).collect();
            ring.dedup();
            proptest::prop_assume!(ring.len() >= 3);
            ring.push(ring[0]);
            let polygon = Polygon::new(LineString(ring), vec![]);
            let multi = MultiPolygon(vec![polygon.clone()]);
            let zero_area = geo::Area::unsigned_area(&polygon) == 0.0;
            proptest::prop_assume!(!zero_area);
            proptest::prop_assert_eq!(check_simple(&multi).is_ok(), polygon.is_valid(), "{:?}", polygon);
        }
    }

    #[test]
    fn points_are_checked() {
        assert!(validate_point(37.7, -122.4).is_ok());
        assert!(validate_point(-122.4, 37.7).is_err());
        assert!(validate_point(f64::NAN, 0.0).is_err());
    }
}
