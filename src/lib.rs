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
