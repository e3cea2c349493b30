//! The cold-start floor: a minimal `lambda_runtime` hello world, built with the same release
//! profile and the same current-thread runtime as the keeper. `make bench` compares the two.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
