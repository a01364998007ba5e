//! How the sandbox treats connections, seen from raw TCP: header names written as Feishu's
//! gateway writes them, header and body read timeouts, and a shutdown that lets requests in
//! flight finish but does not wait forever for a client that sent half a request.

use std::time::{Duration, Instant};

use crate::common::{minimal, start};
use feishu_hire_sandbox::{FaultConfig, SandboxConfig};
use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, TENANT_ACCESS_TOKEN_INTERNAL};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longer than any wait a passing test makes: a test that would hang fails instead.
const TEST_LIMIT: Duration = Duration::from_secs(10);

async fn connect(addr: std::net::SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection (a reset counts as closing).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let read = async {
        let mut received = Vec::new();
        let mut chunk = [0_u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
                Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(err) => panic!("reading the answer failed: {err}"),
            }
        }
        String::from_utf8_lossy(&received).into_owned()
    };
    tokio::time::timeout(TEST_LIMIT, read)
        .await
        .expect("the sandbox closed the connection")
}

#[tokio::test]
async fn header_names_go_out_in_title_case_like_feishus_gateway() {
    let harness = start(SandboxConfig::default()).await;
    // The token request exactly as `lark-oapi` 1.7.5 sends it: JSON without Content-Type.
    let body = r#"{"app_id":"cli_python","app_secret":"secret"}"#;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: sandbox\r\nUser-Agent: oapi-sdk-python/v1.7.5\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        TENANT_ACCESS_TOKEN_INTERNAL.path,
        body.len()
    );
    let mut stream = connect(harness.sandbox.local_addr(), request.as_bytes()).await;
    let answer = read_until_closed(&mut stream).await;

    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    // Byte for byte: the SDK looks the log id up as `X-Tt-Logid` in a case-sensitive dict.
    assert!(answer.contains("\r\nX-Tt-Logid: "), "{answer}");
    assert!(
        answer.contains("\r\nContent-Type: application/json"),
        "{answer}"
    );
    assert!(!answer.contains("x-tt-logid"), "{answer}");
    assert!(answer.contains(r#""code":0"#), "{answer}");
    assert!(answer.contains(r#""tenant_access_token":"t-"#), "{answer}");
}

#[tokio::test]
async fn half_sent_headers_are_dropped_after_the_header_read_timeout() {
    let timeout = Duration::from_millis(200);
    let harness = start(SandboxConfig::default().header_read_timeout(timeout)).await;
    let started = Instant::now();
    let mut stream = connect(
        harness.sandbox.local_addr(),
        format!(
            "POST {} HTTP/1.1\r\nHost: sandbox\r\n",
            CREATE_EXTERNAL_INTERVIEW.path
        )
        .as_bytes(),
    )
    .await;
    let answer = read_until_closed(&mut stream).await;
    let waited = started.elapsed();

    // No answer: there is no request to answer yet, only a connection to close.
    assert_eq!(answer, "");
    assert!(waited >= timeout, "closed after {waited:?}");
    assert!(waited < timeout * 10, "closed only after {waited:?}");

    // The sandbox still serves.
    let token = harness.token().await;
    assert_eq!(harness.create(&token, &minimal("ats-1")).await.code(), 0);
}

#[tokio::test]
async fn a_half_sent_body_is_refused_after_the_body_read_timeout() {
    let timeout = Duration::from_millis(200);
    let harness = start(SandboxConfig::default().body_read_timeout(timeout)).await;
    let started = Instant::now();
    let mut stream = connect(
        harness.sandbox.local_addr(),
        format!(
            "POST {} HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{\"app_id\":",
            TENANT_ACCESS_TOKEN_INTERNAL.path
        )
        .as_bytes(),
    )
    .await;
    let answer = read_until_closed(&mut stream).await;
    let waited = started.elapsed();

    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nX-Tt-Logid: "), "{answer}");
    assert!(answer.contains(r#""code":1002002"#), "{answer}");
    assert!(
        answer.contains("the request body did not arrive within 200ms"),
        "{answer}"
    );
    assert!(waited >= timeout, "answered after {waited:?}");
    assert!(waited < timeout * 10, "answered only after {waited:?}");
    assert_eq!(harness.sandbox.stats().token_failures, 1);
}

#[tokio::test]
async fn shutdown_drops_half_open_connections_after_the_grace_period() {
    let grace = Duration::from_millis(300);
    // Read timeouts far longer than the test: only the grace period can end these connections.
    let harness = start(
        SandboxConfig::default()
            .header_read_timeout(Duration::from_secs(3600))
            .body_read_timeout(Duration::from_secs(3600))
            .shutdown_grace(grace),
    )
    .await;
    let addr = harness.sandbox.local_addr();
    let mut half_headers = connect(addr, b"POST /open-apis/auth/v3/tenant").await;
    let mut half_body = connect(
        addr,
        format!(
            "POST {} HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 100\r\n\r\n{{",
            TENANT_ACCESS_TOKEN_INTERNAL.path
        )
        .as_bytes(),
    )
    .await;
    // Let the sandbox accept both and start reading.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    tokio::time::timeout(TEST_LIMIT, harness.sandbox.shutdown())
        .await
        .expect("shutdown finishes while half-open connections exist");
    let waited = started.elapsed();
    assert!(waited >= grace, "stopped after {waited:?}");
    assert!(waited < grace * 10, "stopped only after {waited:?}");

    assert_eq!(read_until_closed(&mut half_headers).await, "");
    assert_eq!(read_until_closed(&mut half_body).await, "");
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}

#[tokio::test]
async fn shutdown_lets_requests_in_flight_finish_and_idle_connections_go() {
    let delay = Duration::from_millis(300);
    let harness = start(
        SandboxConfig::default()
            .faults(FaultConfig::seeded(1).delay_rate(1.0).delay(delay))
            .shutdown_grace(Duration::from_secs(5)),
    )
    .await;
    let token = harness.token().await;
    // The token's connection stays in reqwest's pool, kept alive and idle.
    let in_flight = {
        let http = harness.http.clone();
        let url = harness.url(CREATE_EXTERNAL_INTERVIEW.path);
        let token = token.clone();
        tokio::spawn(async move {
            http.post(url)
                .bearer_auth(token)
                .json(&minimal("ats-1"))
                .send()
                .await
        })
    };
    // Wait until the create is in the sandbox (counted before its injected delay).
    tokio::time::timeout(TEST_LIMIT, async {
        while harness.sandbox.stats().create_attempts == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();

    let started = Instant::now();
    tokio::time::timeout(TEST_LIMIT, harness.sandbox.shutdown())
        .await
        .unwrap();
    let waited = started.elapsed();
    // It waited for the create, not for the idle connection or the grace period.
    assert!(waited < Duration::from_secs(2), "stopped after {waited:?}");

    let answer = in_flight.await.unwrap().unwrap();
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], 0);
}
