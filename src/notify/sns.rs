//! The notification port over Amazon SNS.
//!
//! Two kinds of topic need more than a plain Publish, and both are supported:
//! * a topic in another Region than the function: the client is built for the topic's Region
//!   (read from its ARN) in `cli::aws_keeper`, since SNS accepts a Publish only in the
//!   topic's own Region;
//! * a FIFO topic (`.fifo`): SNS refuses a Publish without `MessageGroupId`, and without
//!   `MessageDeduplicationId` unless the topic has content-based deduplication. The keeper
//!   sends one group and the run's request id as the deduplication id, so a retried
//!   invocation's second message within SNS's five-minute window is dropped, not delivered.

use aws_sdk_sns::types::MessageAttributeValue;

use super::{Notification, Notifier};
use crate::aws_error::api_error;
use crate::error::{ApiError, ErrorKind};
use crate::model::Operation;

/// The message group of every FIFO message the keeper sends.
pub const FIFO_GROUP: &str = "ds-snapshot-keeper";

pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

/// The Region named in a topic ARN (`arn:partition:sns:REGION:account:name`).
pub fn topic_region(topic_arn: &str) -> Option<&str> {
    topic_arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// Whether the topic is a FIFO topic.
pub fn is_fifo(topic_arn: &str) -> bool {
    topic_arn.ends_with(".fifo")
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Notifier for SnsNotifier {
    async fn publish(&self, n: &Notification) -> Result<(), ApiError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&n.subject)
            .message(&n.body);
        if is_fifo(&self.topic_arn) {
            request = request
                .message_group_id(FIFO_GROUP)
                .message_deduplication_id(&n.deduplication_id);
        }
        for a in &n.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type(&a.data_type)
                .string_value(&a.value)
                .build()
                .map_err(|e| {
                    ApiError::new(
                        Operation::Publish,
                        ErrorKind::Client,
                        "InvalidAttribute",
                        e.to_string(),
                    )
                })?;
            request = request.message_attributes(&a.name, attribute);
        }
        request
            .send()
            .await
            .map_err(|e| api_error(Operation::Publish, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_and_fifo_come_from_the_arn() {
        let arn = "arn:aws:sns:eu-central-1:123456789012:alerts.fifo";
        assert_eq!(topic_region(arn), Some("eu-central-1"));
        assert!(is_fifo(arn));
        assert!(!is_fifo("arn:aws:sns:eu-west-1:123456789012:alerts"));
    }
}
