//! Canvass: verified agencies ask one neighbourhood for camera footage of one incident;
//! residents share clips voluntarily, and the clips arrive as evidence with a chain of custody.
//!
//! Layers, each depending only on those below: [`web`] and [`jobs`] over [`app`] over
//! [`domain`], with [`store`] for persistence. [`server`] wires them together; `main` parses
//! the command line.

#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod domain;
pub mod jobs;
pub mod server;
pub mod store;
pub mod verify;
pub mod web;

/// Makes ring the process's TLS crypto provider (for HTTPS to push services, S3 and
/// `verify-log`). Every HTTP client is built after this; calling it again does nothing.
pub fn install_tls_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client with rustls on ring.
pub fn http_client() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::new()
}
