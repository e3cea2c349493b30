//! The notification port: where a run's message for operators goes, and its SNS adapter.
//!
//! The message is rendered from the run report (`render::notification`); adapters only
//! deliver it.

pub mod sns;

use std::future::Future;

use serde::Serialize;

use crate::error::ApiError;

/// One message for operators, rendered from the run report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub subject: String,
    pub body: String,
    /// Message attributes, for SNS subscription filter policies.
    pub attributes: Vec<Attribute>,
    /// Identifies the run (its request id), so a FIFO topic drops a retried run's duplicate.
    pub deduplication_id: String,
}

/// One SNS message attribute: `data_type` is `String` or `String.Array` (a JSON array).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribute {
    pub name: String,
    pub data_type: String,
    pub value: String,
}

/// Where notifications go.
pub trait Notifier: Send + Sync {
    fn publish(
        &self,
        notification: &Notification,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// A notifier for deployments without a topic: publishing does nothing.
pub struct NoNotifier;

impl Notifier for NoNotifier {
    async fn publish(&self, _: &Notification) -> Result<(), ApiError> {
        Ok(())
    }
}
