//! The floor with the keeper's code linked in: the hello world of `hello_floor.rs`, except that
//! an event carrying `"keeper"` runs a keeper `report` through the same wiring as `main.rs`
//! (no benchmark event does). It loads what the keeper loads and, before its first GET, runs
//! what the floor runs: against the floor it shows what the linked code costs at start, and
//! against the keeper what the keeper's own start-up (settings, logging) costs.

#![recursion_limit = "256"]

use ds_snapshot_keeper::handler::{deadline_from_epoch_millis, handle};
use ds_snapshot_keeper::settings::Settings;
use ds_snapshot_keeper::wiring;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        if event.payload.get("keeper").is_none() {
            return Ok::<Value, Error>(event.payload);
        }
        let settings = Settings::from_env().map_err(|e| e.to_string())?;
        let config = wiring::load_aws_config().await;
        let (keeper, notifier) = wiring::aws_keeper(&config, settings)?;
        let deadline = deadline_from_epoch_millis(event.context.deadline);
        let report = handle(
            &keeper,
            notifier.as_ref(),
            &serde_json::json!({"action": "report"}),
            &event.context.request_id,
            deadline,
            &|line: &str| println!("{line}"),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(serde_json::to_value(report)?)
    }))
    .await
}
