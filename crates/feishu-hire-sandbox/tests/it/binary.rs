//! The `feishu-hire-sandbox` binary: it prints its base URL first and serves on 127.0.0.1,
//! offers every flag the README lists, refuses bad flags with a message, and stops on Ctrl-C
//! even while a client holds a half-sent request.

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
        "--header-read-timeout-ms",
        "--body-read-timeout-ms",
        "--shutdown-grace-ms",
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

/// Starts the binary with `args`; returns it and the port it printed.
#[cfg(unix)]
fn start(args: &[&str]) -> (std::process::Child, u16) {
    let mut child = Command::new(BINARY)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let port = first_line
        .trim()
        .strip_prefix("http://127.0.0.1:")
        .and_then(|port| port.parse().ok());
    match port {
        Some(port) => (child, port),
        None => {
            let _ = child.kill();
            panic!("first line is not a 127.0.0.1 URL: {first_line:?}");
        }
    }
}

/// Sends SIGINT, as Ctrl-C in a terminal does.
#[cfg(unix)]
fn interrupt(child: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits up to `limit` for the child to exit; `None` (after killing it) if it did not.
#[cfg(unix)]
fn exit_within(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A client that sent half a request's headers and waits.
#[cfg(unix)]
fn half_open(port: u16) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"POST /open-apis/auth/v3/tenant_access_token/internal HTTP/1.1\r\nHost: s")
        .unwrap();
    stream
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_it_while_a_client_holds_a_half_sent_request() {
    use std::time::Duration;

    // Only the shutdown grace period can end the half-open connection.
    let (mut child, port) = start(&[
        "--header-read-timeout-ms",
        "3600000",
        "--shutdown-grace-ms",
        "300",
    ]);
    let mut stream = half_open(port);
    std::thread::sleep(Duration::from_millis(100));
    interrupt(&child);
    let status = exit_within(&mut child, Duration::from_secs(5));
    assert!(
        status.is_some_and(|status| status.success()),
        "it did not stop cleanly within 5 s: {status:?}"
    );
    // The client sees its connection closed.
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rest = Vec::new();
    let closed = stream.read_to_end(&mut rest);
    assert!(
        matches!(&closed, Ok(0))
            || closed
                .as_ref()
                .is_err_and(|err| err.kind() == std::io::ErrorKind::ConnectionReset),
        "{closed:?}"
    );
}

#[cfg(unix)]
#[test]
fn a_second_ctrl_c_stops_it_at_once() {
    use std::time::Duration;

    let (mut child, port) = start(&[
        "--header-read-timeout-ms",
        "3600000",
        "--shutdown-grace-ms",
        "3600000",
    ]);
    let _stream = half_open(port);
    std::thread::sleep(Duration::from_millis(100));
    interrupt(&child);
    // The first Ctrl-C closes the listener (wait for that, so the second is not merged with
    // the first) and waits for the half-open connection: the grace period is an hour …
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still listening 5 s after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        child.try_wait().unwrap().is_none(),
        "stopped on the first Ctrl-C"
    );
    // … the second does not.
    interrupt(&child);
    let status = exit_within(&mut child, Duration::from_secs(5));
    assert!(
        status.is_some_and(|status| status.success()),
        "it did not stop within 5 s of the second Ctrl-C: {status:?}"
    );
}
