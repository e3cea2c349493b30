//! The notification port over Amazon SNS.

use aws_sdk_sns::types::MessageAttributeValue;

use super::api_error;
use crate::ports::{ApiError, ErrorKind, Notification, Notifier};

pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
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
        for a in &n.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type(&a.data_type)
                .string_value(&a.value)
                .build()
                .map_err(|e| {
                    ApiError::new(
                        "Publish",
                        ErrorKind::Client,
                        "InvalidAttribute",
                        e.to_string(),
                    )
                })?;
            request = request.message_attributes(&a.name, attribute);
        }
        request.send().await.map_err(|e| api_error("Publish", e))?;
        Ok(())
    }
}
