//! Pure types and rules: no I/O, no async, no SQL. Everything here is unit-tested.

pub mod account;
pub mod area;
pub mod audit;
pub mod checkpoint;
pub mod client_address;
pub mod cursor;
pub mod custody;
pub mod delivery;
pub mod device;
pub mod email;
pub mod evidence;
pub mod export;
pub mod geo_index;
pub mod guidelines;
pub mod local_time;
pub mod lockout;
pub mod merkle;
pub mod mfa;
pub mod password;
pub mod push;
pub mod request;
pub mod session;
pub mod tus;
pub mod validation;
pub mod video;

pub use account::Role;
pub use validation::{FieldErrors, ValidationError};
