//! Areas on the map: agency jurisdictions (Polygon or MultiPolygon) and request areas (Polygon).
//!
//! Input is GeoJSON (RFC 7946: WGS84, longitude first). The checks run on the raw coordinates,
//! because converting to `geo` types closes open rings silently and would hide the mistake.

use geo::{Coord, LineString, MultiPolygon, Polygon, Validation};
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
    if let Err(problem) = multi.check_validation() {
        return Err(format!("is not a valid area: {problem}"));
    }
    Ok(multi)
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
    fn points_are_checked() {
        assert!(validate_point(37.7, -122.4).is_ok());
        assert!(validate_point(-122.4, 37.7).is_err());
        assert!(validate_point(f64::NAN, 0.0).is_err());
    }
}
