//! Pure types and rules: no I/O, no async, no SQL. Everything here is unit-tested.

pub mod account;
pub mod area;
pub mod audit;
pub mod email;
pub mod lockout;
pub mod mfa;
pub mod password;
pub mod session;
pub mod validation;

pub use account::Role;
pub use validation::{FieldErrors, ValidationError};
