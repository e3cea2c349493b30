//! The harness baseline for `make bench`: a native process that only connects to the
//! Runtime API and sends `GET /2018-06-01/runtime/invocation/next`. Its exec-to-GET time is
//! what the harness itself costs (fork, exec, the loader, the local server reading the
//! request); the keeper's and the floor's figures are reported with it subtracted.

use std::io::{Read, Write};

fn main() {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        std::process::exit(2);
    };
    let Ok(mut stream) = std::net::TcpStream::connect(&api) else {
        std::process::exit(1);
    };
    let _ = stream.set_nodelay(true);
    let request =
        format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {api}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes());
    let mut buf = [0u8; 1];
    let _ = stream.read(&mut buf);
}
