//! Evidence and its chain of custody.

use serde_json::Value;

use super::{Session, TestApp};

/// The chain of custody of evidence item `evidence_id`, as `who` reads it (200 expected).
pub async fn chain_of_custody(t: &TestApp, who: &Session, evidence_id: &str) -> Value {
    let r = t
        .get(
            &format!("/api/v1/evidence/{evidence_id}/custody"),
            Some(&who.token),
        )
        .await;
    r.expect(200, None);
    r.body
}

/// The kinds of a chain of custody's events, in order.
pub fn kinds(custody: &Value) -> Vec<String> {
    custody["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}
