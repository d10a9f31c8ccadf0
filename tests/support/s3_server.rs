//! A real S3-compatible server for tests: `moto_server` (PyPI `moto[server]`, installed by
//! `.ci/run`), started on a free port for the test that needs it and stopped when dropped.
//! Include it with `#[path = "support/s3_server.rs"] mod s3_server;`.
//!
//! Without `moto_server` on the PATH the S3 tests report themselves SKIPPED, unless
//! `CANVASS_REQUIRE_S3=1` (CI), which makes that a failure.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server with one bucket.
pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket created for this test.
    pub bucket: String,
}

impl S3Server {
    /// Starts moto on a free port and creates a bucket, or `None` (after printing SKIPPED)
    /// when moto is not installed and S3 is not required.
    pub async fn start(test: &str) -> Option<S3Server> {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = match Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("CANVASS_REQUIRE_S3").as_deref() == Ok("1") {
                    panic!("CANVASS_REQUIRE_S3=1 but moto_server cannot start: {e}");
                }
                eprintln!(
                    "SKIPPED {test}: moto_server is not installed (pip install 'moto[server]')"
                );
                return None;
            }
        };
        let endpoint = format!("http://127.0.0.1:{port}");
        let server = S3Server {
            child,
            endpoint,
            bucket: format!("canvass-{}", uuid::Uuid::new_v4().simple()),
        };
        let client = canvass::http_client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // Moto accepts unsigned requests: a plain PUT creates the bucket.
            let url = format!("{}/{}", server.endpoint, server.bucket);
            if let Ok(r) = client.put(&url).send().await
                && r.status().is_success()
            {
                return Some(server);
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on {} within 30 s",
                server.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A `blob_url` for this server and bucket, under `prefix`.
    pub fn blob_url(&self, prefix: &str) -> String {
        format!(
            "s3://{}/{prefix}?endpoint={}&allow_http=true&region=us-east-1&access_key_id=test&secret_access_key=test",
            self.bucket, self.endpoint
        )
    }

    /// The keys of every object in the bucket (first 1,000).
    pub async fn keys(&self) -> Vec<String> {
        let body = canvass::http_client()
            .get(format!("{}/{}?list-type=2", self.endpoint, self.bucket))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
