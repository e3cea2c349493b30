//! ds-snapshot-keeper: scheduled, quota-safe snapshots for AWS Directory Service.
//!
//! The crate is laid out hexagonally. The retention decision is a pure function
//! ([`policy`]); AWS sits behind two ports ([`ports`]) with adapters in [`aws`] and an
//! in-memory one in [`memory`]; [`runner`] carries out a run; [`report`] is the one record
//! of it, and [`render`] turns that record into logs, metrics and the SNS message.

pub mod aws;
pub mod cli;
pub mod handler;
pub mod log;
pub mod memory;
pub mod model;
pub mod naming;
pub mod policy;
pub mod ports;
pub mod render;
pub mod report;
pub mod request;
pub mod runner;
pub mod settings;

pub use handler::{handle, InvocationError};
pub use report::RunReport;
pub use request::{Action, Request};
pub use runner::Keeper;
pub use settings::Settings;
