//! The cold-start clock for `make bench`: a native harness, so that no Python scheduling lands
//! in a figure of a few hundred microseconds.
//!
//! Reads a JSON list of subjects on stdin, `[{"name": ..., "argv": [...], "until": "get" |
//! "exit" | "response", "env": {...}, "events": [...]}]`, and runs them in `rounds` rounds,
//! every subject once per round in a fresh random order. The process gets the timer's own
//! environment (`bench/run.py` gives it Lambda's) plus the subject's `env`.
//!
//! * `get`: from spawning the process, with `AWS_LAMBDA_RUNTIME_API` pointing at a fresh local
//!   listener, to the end of its first request's headers; the process is then killed.
//! * `exit`: from spawning the process to its exit.
//! * `response`: the listener is a Runtime API serving the subject's two `events`; from
//!   spawning to the end of the first response's body. Also kept, under `"<name> first event"`:
//!   how much longer the first event took than the second (served to answered), which is what
//!   the first event sets up.
//!
//! Prints `{"name": [milliseconds, ...], ...}`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

/// One HTTP/1.1 request off `stream`: the request line and the body.
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        seen.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&seen[..end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = seen[end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((head.lines().next().unwrap_or_default().to_owned(), body))
}

/// What one connection of the Runtime API saw: (event index, served or answered, when).
enum Mark {
    Served(usize, Instant),
    Answered(usize, Instant, String),
}

/// Serve `events` on one connection, as Lambda's Runtime API does, marking each event's
/// hand-out and answer. Past the last event it stops answering (the process is killed).
fn serve(
    mut stream: TcpStream,
    events: &[String],
    next: &std::sync::atomic::AtomicUsize,
    marks: mpsc::Sender<Mark>,
) {
    let _ = stream.set_nodelay(true);
    while let Some((line, body)) = read_request(&mut stream) {
        if line.starts_with("GET /2018-06-01/runtime/invocation/next") {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let Some(event) = events.get(i) else { return };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 900_000;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: req-{i}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:keeper\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\r\n{event}",
                event.len()
            );
            let _ = marks.send(Mark::Served(i, Instant::now()));
            if stream.write_all(reply.as_bytes()).is_err() {
                return;
            }
        } else {
            // POST /2018-06-01/runtime/invocation/req-N/response (or /error)
            let now = Instant::now();
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let i = path
                .split('/')
                .find_map(|p| p.strip_prefix("req-"))
                .and_then(|n| n.parse().ok());
            if let Some(i) = i {
                let kind = if path.ends_with("/response") {
                    "response".to_owned()
                } else {
                    format!("{path}: {}", String::from_utf8_lossy(&body))
                };
                let _ = marks.send(Mark::Answered(i, now, kind));
            }
            if stream
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .is_err()
            {
                return;
            }
        }
    }
}

/// `response` mode: (exec to first response, first event minus second), in milliseconds.
fn run_events(mut command: Command, name: &str, events: Vec<String>) -> (f64, f64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    command.env(
        "AWS_LAMBDA_RUNTIME_API",
        listener.local_addr().unwrap().to_string(),
    );
    let (tx, rx) = mpsc::channel();
    let events = std::sync::Arc::new(events);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let (events, next) = (events.clone(), next.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (events, next, tx) = (events.clone(), next.clone(), tx.clone());
                std::thread::spawn(move || serve(stream, &events, &next, tx));
            }
        });
    }
    let start = Instant::now();
    let mut child = command.spawn().expect("spawn");
    let (mut served, mut answered) = ([None, None], [None, None]);
    while answered.iter().any(Option::is_none) {
        match rx.recv_timeout(std::time::Duration::from_secs(60)) {
            Ok(Mark::Served(i, at)) if i < 2 => served[i] = Some(at),
            Ok(Mark::Answered(i, at, kind)) if i < 2 => {
                if kind != "response" {
                    let _ = child.kill();
                    panic!("{name}: event {i} answered {kind}");
                }
                answered[i] = Some(at);
            }
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                panic!("{name}: no answer within 60 s");
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let [s0, s1] = served.map(|s| s.expect("served before answered"));
    let [a0, a1] = answered.map(Option::unwrap);
    (ms(a0 - start), ms(a0 - s0) - ms(a1 - s1))
}

/// `exit` mode: from spawn to exit, in milliseconds.
fn run_to_exit(mut command: Command) -> f64 {
    let start = Instant::now();
    let _ = command.status().expect("spawn");
    start.elapsed().as_secs_f64() * 1000.0
}

/// `get` mode: from spawn to the end of the first request's headers, in milliseconds.
fn run_to_get(mut command: Command, name: &str) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    command.env(
        "AWS_LAMBDA_RUNTIME_API",
        listener.local_addr().unwrap().to_string(),
    );
    let start = Instant::now();
    let mut child = command.spawn().expect("spawn");
    let (mut stream, _) = listener.accept().expect("accept");
    let request = read_request(&mut stream);
    let took = start.elapsed().as_secs_f64() * 1000.0;
    let _ = child.kill();
    let _ = child.wait();
    let line = request.map(|(line, _)| line).unwrap_or_default();
    assert!(
        line.starts_with("GET /2018-06-01/runtime/invocation/next"),
        "{name} sent {line:?}"
    );
    took
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .expect("usage: exec-timer ROUNDS SEED < subjects.json");
    let mut state: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20261125) | 1;
    let subjects: Vec<Value> =
        serde_json::from_reader(std::io::stdin()).expect("subjects: a JSON list");
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let mut extra: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let mut order: Vec<usize> = (0..subjects.len()).collect();
    for _ in 0..rounds {
        // Fisher-Yates with xorshift64: a fresh order every round, the same for a given seed.
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for &i in &order {
            let subject = &subjects[i];
            let name = subject["name"].as_str().expect("name");
            let argv: Vec<String> = subject["argv"]
                .as_array()
                .expect("argv")
                .iter()
                .map(|a| a.as_str().expect("argv: strings").to_owned())
                .collect();
            let mut command = Command::new(&argv[0]);
            command
                .args(&argv[1..])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(env) = subject["env"].as_object() {
                for (k, v) in env {
                    command.env(k, v.as_str().expect("env: strings"));
                }
            }
            match subject["until"].as_str() {
                Some("response") => {
                    let events: Vec<String> = subject["events"]
                        .as_array()
                        .expect("events")
                        .iter()
                        .map(Value::to_string)
                        .collect();
                    assert_eq!(events.len(), 2, "{name}: two events");
                    let (first, cost) = run_events(command, name, events);
                    samples[i].push(first);
                    extra[i].push(cost);
                }
                Some("get") => samples[i].push(run_to_get(command, name)),
                Some("exit") => samples[i].push(run_to_exit(command)),
                other => panic!("{name}: until {other:?}: expected get, exit or response"),
            }
        }
    }
    let mut out = Map::new();
    for ((subject, v), e) in subjects.iter().zip(samples).zip(extra) {
        let name = subject["name"].as_str().expect("name");
        if !e.is_empty() {
            out.insert(format!("{name} first event"), json!(e));
        }
        out.insert(name.to_owned(), json!(v));
    }
    println!("{}", Value::Object(out));
}
