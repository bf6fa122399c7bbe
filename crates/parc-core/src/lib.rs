//! Parc domain types and rules. No I/O: everything here is a pure function or a plain value,
//! so it compiles fast and is unit-tested beside the code.
//!
//! Architecture invariant: parc-core never imports sqlx, axum or tokio.

pub mod assets;
pub mod audit;
pub mod campaigns;
pub mod checklists;
pub mod entities;
pub mod helpdesk;
pub mod ids;
pub mod loans;
pub mod locations;
pub mod monitoring;
pub mod permissions;
pub mod query;
pub mod stock;
pub mod validate;

pub use ids::*;
pub use validate::{FieldError, ValidationErrors};
