//! The Lambda entry point: wire settings, AWS clients and the runtime; nothing else.
//! `ds-snapshot-keeper invoke ...` runs one invocation locally instead (see `cli.rs`).

use ds_snapshot_keeper::cli;
use ds_snapshot_keeper::handler::{deadline_from_epoch_millis, handle, InvocationError};
use ds_snapshot_keeper::settings::Settings;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

#[derive(Debug)]
struct LambdaError(InvocationError);

impl From<LambdaError> for Diagnostic {
    fn from(e: LambdaError) -> Diagnostic {
        Diagnostic {
            error_type: e.0.kind().to_owned(),
            error_message: e.0.to_string(),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("invoke") {
        std::process::exit(cli::invoke(&args[1..]).await);
    }
    cli::init_logging(false);
    // Bad settings stop the function at init, before any event is touched.
    let settings =
        Settings::from_env().inspect_err(|e| tracing::error!(error = %e, "invalid settings"))?;
    let config = cli::load_aws_config().await;
    let (keeper, notifier) = cli::aws_keeper(&config, settings)?;
    let sink = |line: &str| println!("{line}");
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (keeper, notifier, sink) = (&keeper, notifier.as_ref(), &sink);
        async move {
            let deadline = deadline_from_epoch_millis(event.context.deadline);
            handle(
                keeper,
                notifier,
                &event.payload,
                &event.context.request_id,
                deadline,
                sink,
            )
            .await
            .map_err(LambdaError)
        }
    }))
    .await
}
