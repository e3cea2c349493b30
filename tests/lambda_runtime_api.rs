//! The shipped binary in Lambda mode, against a local Lambda Runtime API: the wiring in
//! `main.rs` (settings at init, clients on the first event, error types) as Lambda sees it.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use support::Emulator;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the runtime posted back.
#[derive(Debug, Clone)]
struct Posted {
    path: String,
    body: Value,
}

/// A minimal Runtime API: hands out the queued events, records what comes back.
struct RuntimeApi {
    addr: String,
    posted: Arc<Mutex<Vec<Posted>>>,
}

impl RuntimeApi {
    async fn start(events: Vec<Value>) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let queue = Arc::new(Mutex::new(events.into_iter().collect::<VecDeque<_>>()));
        let posted = Arc::new(Mutex::new(Vec::new()));
        let (q, p) = (queue.clone(), posted.clone());
        tokio::spawn(async move {
            let mut served = 0;
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (q, p) = (q.clone(), p.clone());
                served += 1;
                let n = served;
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    loop {
                        let mut request_line = String::new();
                        if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let mut length = 0usize;
                        loop {
                            let mut header = String::new();
                            reader.read_line(&mut header).await.unwrap();
                            if header == "\r\n" || header.is_empty() {
                                break;
                            }
                            if let Some(v) =
                                header.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; length];
                        reader.read_exact(&mut body).await.unwrap();
                        let path = request_line
                            .split_whitespace()
                            .nth(1)
                            .unwrap_or("")
                            .to_owned();
                        if request_line.starts_with("GET") {
                            let next = q.lock().unwrap().pop_front();
                            let Some(event) = next else {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                                return;
                            };
                            let payload = event.to_string();
                            let deadline = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_millis()
                                + 60_000;
                            let head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                                 Lambda-Runtime-Aws-Request-Id: req-{n}-{}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:keeper\r\n\r\n",
                                payload.len(),
                                p.lock().unwrap().len()
                            );
                            write.write_all(head.as_bytes()).await.unwrap();
                            write.write_all(payload.as_bytes()).await.unwrap();
                        } else {
                            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            p.lock().unwrap().push(Posted { path, body });
                            write
                                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                                .await
                                .unwrap();
                        }
                    }
                });
            }
        });
        RuntimeApi { addr, posted }
    }

    async fn wait_for(&self, count: usize) -> Vec<Posted> {
        for _ in 0..300 {
            if self.posted.lock().unwrap().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.posted.lock().unwrap().clone()
    }
}

/// Start the binary in Lambda mode; its stdout (the log lines) goes to the returned file.
fn lambda(
    api: &RuntimeApi,
    emu: &Emulator,
    env: &[(&str, &str)],
) -> (std::process::Child, std::path::PathBuf) {
    let out = std::env::temp_dir().join(format!(
        "keeper-lambda-{}-{}.log",
        std::process::id(),
        api.addr.replace([':', '.'], "-")
    ));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ds-snapshot-keeper"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "keeper")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", support::REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", &emu.endpoint)
        .env("POLL_INITIAL_SECONDS", "0.05")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd.spawn().unwrap(), out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_mode_answers_reports_and_typed_errors() {
    let emu = Emulator::start();
    let config = emu.sdk_config().await;
    let dir = emu.managed_ad(&config, "corp.example.com").await;
    let scheduled: Value =
        serde_json::from_str(include_str!("../events/scheduler-default.json")).unwrap();
    let api = RuntimeApi::start(vec![
        scheduled,
        json!({"action": "explode"}),
        json!({"action": "report"}),
    ])
    .await;
    let (mut child, log) = lambda(&api, &emu, &[("DIRECTORY_IDS", &dir)]);
    let posted = api.wait_for(3).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(posted.len(), 3, "{posted:?}");

    // Every line the function wrote is in the one schema Lambda's log filtering reads.
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| {
            ds_snapshot_keeper::log::check(l).unwrap_or_else(|e| panic!("{e}"));
            assert!(l.len() < 256 * 1024);
            serde_json::from_str(l).unwrap()
        })
        .collect();
    let with = |message: &'static str| lines.iter().filter(move |l| l["message"] == message);
    let reports: Vec<&Value> = with("run report").collect();
    assert_eq!(reports.len(), 2, "{text}");
    assert_eq!(
        reports[0]["cold_start"], true,
        "the first invocation is the cold one"
    );
    assert_eq!(reports[1]["cold_start"], false);
    assert_eq!(reports[0]["function_name"], "keeper");
    assert!(reports[0]["requestId"]
        .as_str()
        .is_some_and(|id| !id.is_empty()));
    assert!(with("metrics").count() >= 2, "EMF lines, INFO: {text}");
    let refused: Vec<&Value> = with("event refused; nothing was changed").collect();
    assert_eq!(refused.len(), 1);
    assert!(refused[0]["error"]
        .as_str()
        .unwrap()
        .contains("Expected an EventBridge"));
    assert_eq!(refused[0]["level"], "ERROR");

    assert!(posted[0].path.ends_with("/response"), "{:?}", posted[0]);
    assert_eq!(
        posted[0].body["directories"][0]["directory_id"],
        dir.as_str()
    );
    assert_eq!(
        posted[0].body["directories"][0]["created"]["status"],
        "Completed"
    );

    assert!(posted[1].path.ends_with("/error"), "{:?}", posted[1]);
    assert_eq!(posted[1].body["errorType"], "BadEvent");
    assert!(posted[1].body["errorMessage"]
        .as_str()
        .unwrap()
        .contains("unknown action"));

    assert!(posted[2].path.ends_with("/response"));
    assert_eq!(posted[2].body["action"], "report");
    assert_eq!(emu.snapshots(&config, &dir).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_settings_fail_the_init_before_any_event() {
    let emu = Emulator::start();
    let api = RuntimeApi::start(vec![json!({"action": "run"})]).await;
    let (mut child, log) = lambda(&api, &emu, &[("RETAIN_COUNT", "0")]);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success(), "the process exits at init");
    let posted = api.wait_for(1).await;
    assert!(
        posted.iter().all(|p| !p.path.contains("/invocation/")),
        "no event was handled: {posted:?}"
    );
    assert!(
        posted.iter().any(|p| p.path.ends_with("/init/error")
            && p.body["errorMessage"]
                .as_str()
                .unwrap_or("")
                .contains("RETAIN_COUNT")),
        "{posted:?}"
    );
    assert!(emu.calls().is_empty(), "no AWS call at all");
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    for l in text.lines() {
        ds_snapshot_keeper::log::check(l).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(text.contains("invalid settings"), "{text}");
}

#[test]
fn the_command_line_explains_itself_and_never_panics() {
    let run = |args: &[&str], lambda: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ds-snapshot-keeper"));
        cmd.args(args).env_remove("AWS_LAMBDA_RUNTIME_API");
        if lambda {
            cmd.env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9");
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for help in [&["--help"][..], &["-h"], &["help"], &["invoke", "--help"]] {
        let (code, stdout, _) = run(help, false);
        assert_eq!(code, 0, "{help:?}");
        assert!(
            stdout.contains("usage: ds-snapshot-keeper"),
            "{help:?}: {stdout}"
        );
    }
    let (code, _, stderr) = run(&[], false);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not running under AWS Lambda") && stderr.contains("usage:"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["snapshot"], false);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown command \"snapshot\""), "{stderr}");
    let (code, _, stderr) = run(&["invoke", "--bogus"], false);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("panicked"));
}
