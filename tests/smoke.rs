#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;
use common::TestApp;

#[tokio::test]
async fn server_starts_and_answers_health() {
    common::announce("server_starts_and_answers_health");
    let t = TestApp::start().await;
    t.get("/healthz", None).await.expect(200, None);
    let admin = t.account(canvass::domain::Role::Admin, None).await;
    let me = t.get("/api/v1/me", Some(&admin.token)).await;
    me.expect(200, None);
    assert_eq!(me.body["role"], "admin");
    t.stop().await;
}
