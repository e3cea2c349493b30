//! ds-snapshot-keeper: scheduled, quota-safe snapshots for AWS Directory Service.
//!
//! The crate is laid out hexagonally. The retention decision is a pure function
//! ([`policy`], which depends only on [`model`]); AWS sits behind two ports, each in its own
//! folder beside its adapters ([`directory`]: AWS and in-memory; [`notify`]: SNS); [`runner`]
//! carries out a run; [`report`] is the one record of it, and [`render`] turns that record
//! into logs, metrics, the SNS message and the text view. [`wiring`] builds the keeper for
//! both entry points (`main.rs` for Lambda, [`cli`] for `invoke`). [`simulate`] runs the real
//! keeper over the in-memory service for years of a schedule (`examples/simulate.rs`).

mod aws_error;
#[cfg(feature = "cli")]
pub mod cli;
pub mod directory;
pub mod error;
pub mod handler;
pub mod log;
pub mod model;
pub mod naming;
pub mod notify;
pub mod policy;
pub mod render;
pub mod report;
pub mod request;
pub mod runner;
pub mod settings;
pub mod simulate;
pub mod wiring;

pub use handler::{handle, InvocationError};
pub use report::RunReport;
pub use request::{Action, Request};
pub use runner::{points, restore, Keeper};
pub use settings::Settings;
