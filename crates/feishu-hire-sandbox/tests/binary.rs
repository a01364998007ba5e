//! The `feishu-hire-sandbox` binary: it prints its base URL first and serves on 127.0.0.1,
//! offers every flag the README lists, and refuses bad flags with a message.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_feishu-hire-sandbox");

#[test]
fn prints_its_base_url_first_and_serves_there() {
    let mut child = Command::new(BINARY)
        .args(["--port", "0", "--idempotency", "off", "--no-rate-limit"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let base_url = first_line.trim().to_owned();

    let served = base_url.strip_prefix("http://127.0.0.1:").map(|port| {
        // A bare HTTP/1.1 request, so this test needs no HTTP client of its own.
        let mut stream = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
        stream
            .write_all(b"GET /sandbox/stats HTTP/1.1\r\nHost: sandbox\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    });
    // Stop the child before asserting, so a failure leaves no server behind.
    child.kill().unwrap();
    child.wait().unwrap();

    let answer =
        served.unwrap_or_else(|| panic!("first line is not a 127.0.0.1 URL: {first_line:?}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("x-tt-logid:"),
        "{answer}"
    );
    assert!(answer.contains("\"create_attempts\":0"), "{answer}");
}

#[test]
fn help_lists_every_flag() {
    let help = Command::new(BINARY).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--port",
        "--host",
        "--app-id",
        "--app-secret",
        "--idempotency",
        "--reject-code",
        "--rate-limit",
        "--no-rate-limit",
        "--fault-seed",
        "--fault-5xx",
        "--fault-429",
        "--fault-delay",
        "--fault-delay-ms",
        "--fault-cut",
        "--max-body-bytes",
        "--token-ttl-secs",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}

#[test]
fn bad_flags_are_refused_with_a_message() {
    let refused = Command::new(BINARY)
        .args(["--fault-5xx", "0.8", "--fault-cut", "0.8"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(stderr.contains("the fault rates add up to"), "{stderr}");

    let refused = Command::new(BINARY)
        .args(["--fault-5xx", "2"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(stderr.contains("not a share between 0 and 1"), "{stderr}");
}
