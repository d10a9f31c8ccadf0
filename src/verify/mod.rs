//! Client-side checks that anyone can run against a Canvass deployment, without trusting it.

pub mod export;
pub mod log;
