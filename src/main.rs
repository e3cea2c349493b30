//! The Lambda entry point: wire settings, AWS clients and the runtime; nothing else.
//! `ds-snapshot-keeper invoke ...` runs one invocation locally instead (see `cli.rs`).

#![recursion_limit = "256"]

#[cfg(feature = "cli")]
use ds_snapshot_keeper::cli;
use ds_snapshot_keeper::directory::aws::AwsDirectoryService;
use ds_snapshot_keeper::handler::{deadline_from_epoch_millis, handle_any, InvocationError};
use ds_snapshot_keeper::notify::sns::SnsNotifier;
use ds_snapshot_keeper::runner::Keeper;
use ds_snapshot_keeper::settings::Settings;
use ds_snapshot_keeper::wiring;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use tokio::sync::OnceCell;

/// The error Lambda logs (with `{:?}`) and returns: one short line that says what failed
/// and where to look, never the run report itself.
enum LambdaError {
    Invocation(InvocationError),
    Setup(String),
}

impl std::fmt::Debug for LambdaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LambdaError::Invocation(e) => write!(f, "{e:?}"),
            LambdaError::Setup(m) => write!(f, "Setup: {m}"),
        }
    }
}

impl From<LambdaError> for Diagnostic {
    fn from(e: LambdaError) -> Diagnostic {
        match e {
            LambdaError::Invocation(e) => Diagnostic {
                error_type: e.kind().to_owned(),
                error_message: e.to_string(),
            },
            LambdaError::Setup(message) => Diagnostic {
                error_type: "Setup".to_owned(),
                error_message: message,
            },
        }
    }
}

type Wired = (Keeper<AwsDirectoryService>, Option<SnsNotifier>);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let in_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    #[cfg(feature = "cli")]
    if let Some(code) = cli::run(std::env::args_os().skip(1).collect(), in_lambda).await {
        std::process::exit(code);
    }
    // A build without the command line (the Lambda zip) only serves the Runtime API.
    #[cfg(not(feature = "cli"))]
    if !in_lambda || std::env::args_os().len() > 1 {
        eprintln!(
            "error: this build of ds-snapshot-keeper (the Lambda zip) only serves AWS Lambda; the \
             command line is in the CLI wheel (`pipx install ds-snapshot-keeper`)"
        );
        std::process::exit(2);
    }
    wiring::init_logging(ds_snapshot_keeper::log::level::Audience::Lambda, true);
    // Bad settings stop the function at init, before any event is touched.
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "invalid settings");
            wiring::report_init_error("InvalidSettings", &e.to_string()).await;
            return Err(e.into());
        }
    };
    if let Some(reach) = ds_snapshot_keeper::policy::Policy::from(&settings)
        .reach_statement(ds_snapshot_keeper::model::MANUAL_SNAPSHOT_LIMIT)
    {
        tracing::info!("{reach}");
    }
    // Before any thread exists (the runtime is current-thread): it sets SSL_CERT_FILE.
    if let Some(bundle) = wiring::pin_ca_bundle() {
        tracing::debug!(bundle = %bundle.display(), "trust store: the platform's CA bundle");
    }
    wiring::one_invocation_at_a_time();
    // The AWS clients (and the TLS trust store they load) are built on the first event, so
    // the runtime asks for work as early as a hello world does. No network call happens
    // before the first event either way.
    let wired: OnceCell<Wired> = OnceCell::new();
    let sink = |line: &str| println!("{line}");
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (wired, settings, sink) = (&wired, &settings, &sink);
        async move {
            let (keeper, notifier) = wired
                .get_or_try_init(|| async {
                    let config = wiring::lambda_config();
                    wiring::aws_keeper(&config, settings.clone())
                })
                .await
                .map_err(LambdaError::Setup)?;
            let deadline = deadline_from_epoch_millis(event.context.deadline);
            handle_any(
                keeper,
                notifier.as_ref(),
                &event.payload,
                &event.context.request_id,
                deadline,
                sink,
            )
            .await
            .map_err(LambdaError::Invocation)
        }
    }))
    .await
}
