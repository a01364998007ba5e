//! The client's errors against wiremock: every row of the endpoint's error table, every platform
//! code and an unknown one, bodies that are not JSON, timeouts and refused connections. Each
//! kind's one-line `Display` is snapshotted.

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use feishu_hire_client::{Delivery, Error};
use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, ErrorCategory, ErrorCode};
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

/// Sends one create request (without `external_id`, so nothing is retried) and returns its error.
async fn error_for(answer: ResponseTemplate) -> (Error, MockServer) {
    let server = MockServer::start().await;
    create_call().respond_with(answer).mount(&server).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let error = client(&server, &sleeper)
        .build()
        .unwrap()
        .create_external_interview(&request(None))
        .await
        .unwrap_err();
    assert!(sleeper.waits().is_empty(), "{:?}", sleeper.waits());
    (error, server)
}

/// A full error body, as Feishu documents it.
fn error_body(status: u16, code: i64, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "code": code,
        "msg": msg,
        "error": {
            "log_id": format!("log-{code}"),
            "troubleshooter": format!("https://open.feishu.cn/search?log_id=log-{code}"),
        }
    }))
}

struct Expected {
    status: u16,
    code: i64,
    category: ErrorCategory,
    may_have_been_created: bool,
}

#[tokio::test]
async fn every_documented_code_and_an_unknown_one_become_typed_errors() {
    use ErrorCategory::*;
    let table = [
        // The endpoint's own error table.
        (500, 1_002_001, System, true, "system error"),
        (400, 1_002_002, Parameter, false, "invalid params"),
        // Platform codes.
        (
            429,
            99_991_400,
            RateLimited,
            false,
            "request trigger frequency limit",
        ),
        (400, 99_991_661, Auth, false, "missing access token"),
        (400, 99_991_663, Auth, false, "invalid access token"),
        (400, 99_991_664, Auth, false, "invalid tenant access token"),
        (400, 99_991_671, Auth, false, "access token format error"),
        // Codes the specs do not list: a 4xx refusal, and a 200 that might have done something.
        (400, 1_234_567, Unknown, false, "something new"),
        (200, 7_654_321, Unknown, true, "something else new"),
    ];
    // The table covers every code the specs list.
    let listed: Vec<i64> = ErrorCode::KNOWN.iter().map(|code| code.code()).collect();
    for code in &listed {
        assert!(table.iter().any(|row| row.1 == *code), "{code} untested");
    }
    for code in CREATE_EXTERNAL_INTERVIEW.error_codes {
        assert!(listed.contains(code));
    }

    for (status, code, category, may_have_been_created, msg) in table {
        let expected = Expected {
            status,
            code,
            category,
            may_have_been_created,
        };
        let (error, _server) = error_for(error_body(status, code, msg)).await;
        check(&error, &expected);
        let api = error.as_api_error().unwrap();
        assert_eq!(api.msg(), msg);
        assert_eq!(api.error_code(), ErrorCode::from_code(code));
        assert_eq!(
            api.troubleshooter(),
            Some(format!("https://open.feishu.cn/search?log_id=log-{code}").as_str())
        );
        assert_eq!(error.log_id(), Some(format!("log-{code}").as_str()));
        insta::assert_snapshot!(format!("api_error_{code}"), error.to_string());
    }
}

fn check(error: &Error, expected: &Expected) {
    assert_eq!(error.delivery(), Delivery::Answered, "{error}");
    assert_eq!(error.status(), Some(expected.status), "{error}");
    assert_eq!(error.code(), Some(expected.code), "{error}");
    assert_eq!(error.category(), Some(expected.category), "{error}");
    assert_eq!(
        error.may_have_been_created(),
        expected.may_have_been_created,
        "{error}"
    );
    assert_eq!(error.attempts(), 1, "{error}");
    assert!(!error.to_string().contains('\n'), "{error}");
}

#[tokio::test]
async fn violations_and_details_are_kept() {
    let (error, _server) = error_for(ResponseTemplate::new(400).set_body_json(json!({
        "code": 1_002_002,
        "msg": "invalid params",
        "error": {
            "log_id": "20240702170844",
            "details": [{"key": "hint", "value": "see field_violations"}],
            "field_violations": [
                {"field": "participate_status", "value": "0", "description": "must be one of 1, 2, 3"},
                {"field": "begin_time", "description": "must be before end_time"}
            ],
            "permission_violations": [
                {"type": "action_scope_required", "subject": "hire:external_application", "description": "missing"}
            ]
        }
    })))
    .await;

    let api = error.as_api_error().unwrap();
    let fields: Vec<_> = api
        .field_violations()
        .iter()
        .map(|violation| violation.field.as_deref().unwrap())
        .collect();
    assert_eq!(fields, ["participate_status", "begin_time"]);
    assert_eq!(
        api.permission_violations()[0].subject.as_deref(),
        Some("hire:external_application")
    );
    assert_eq!(api.details().len(), 1);
    insta::assert_snapshot!("api_error_with_violations", error.to_string());
}

#[tokio::test]
async fn the_log_id_comes_from_the_body_or_else_the_header_in_any_case() {
    // Only the header, written in mixed case (the Python SDK misses it then).
    let (error, _server) = error_for(
        refused(400, 1_002_002, "invalid params").insert_header("X-Tt-Logid", "from-header"),
    )
    .await;
    assert_eq!(error.log_id(), Some("from-header"));

    // Lower case works too.
    let (error, _server) = error_for(
        refused(400, 1_002_002, "invalid params").insert_header("x-tt-logid", "lower-case"),
    )
    .await;
    assert_eq!(error.log_id(), Some("lower-case"));

    // Both: the body's `error.log_id` wins.
    let (error, _server) = error_for(
        error_body(400, 1_002_002, "invalid params").insert_header("X-TT-LOGID", "from-header"),
    )
    .await;
    assert_eq!(error.log_id(), Some("log-1002002"));
}

#[tokio::test]
async fn an_answer_with_a_code_but_an_odd_error_field_keeps_its_code() {
    let (error, _server) = error_for(ResponseTemplate::new(400).set_body_json(json!({
        "code": "1002002", "msg": "invalid params", "error": "not an object"
    })))
    .await;
    assert_eq!(error.code(), Some(1_002_002));
    assert_eq!(error.as_api_error().unwrap().msg(), "invalid params");
}

#[tokio::test]
async fn bodies_that_are_not_the_documented_json_are_errors_with_their_start() {
    let html = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";
    let cases = [
        (
            "html_502",
            ResponseTemplate::new(502)
                .set_body_raw(html, "text/html")
                .insert_header("X-Tt-Logid", "gateway-log"),
            502,
            Some(ErrorCategory::System),
            true,
        ),
        (
            "malformed_json",
            ResponseTemplate::new(200).set_body_raw("{code: 0, msg: 'ok'}", "application/json"),
            200,
            None,
            true,
        ),
        (
            "truncated_json",
            ResponseTemplate::new(200).set_body_raw(
                r#"{"code":0,"msg":"ok","data":{"external_interview":{"id":"69606632"#,
                "application/json",
            ),
            200,
            None,
            true,
        ),
        ("empty_200", ResponseTemplate::new(200), 200, None, true),
        (
            "empty_500",
            ResponseTemplate::new(500),
            500,
            Some(ErrorCategory::System),
            true,
        ),
        (
            "json_without_code",
            ResponseTemplate::new(404).set_body_json(json!({"error": "not found"})),
            404,
            None,
            false,
        ),
        (
            "success_without_interview",
            ResponseTemplate::new(200).set_body_json(json!({"code": 0, "msg": "ok", "data": {}})),
            200,
            None,
            true,
        ),
        (
            "code_0_with_http_503",
            ResponseTemplate::new(503).set_body_json(json!({"code": 0, "msg": "ok"})),
            503,
            Some(ErrorCategory::System),
            true,
        ),
        (
            "long_text_body",
            ResponseTemplate::new(500).set_body_raw("服务器错误 ".repeat(60), "text/plain"),
            500,
            Some(ErrorCategory::System),
            true,
        ),
    ];
    for (name, answer, status, category, may_have_been_created) in cases {
        let (error, server) = error_for(answer).await;
        assert!(
            matches!(error, Error::InvalidResponse(_)),
            "{name}: {error:?}"
        );
        assert_eq!(error.delivery(), Delivery::Answered, "{name}");
        assert_eq!(error.status(), Some(status), "{name}");
        assert_eq!(error.code(), None, "{name}");
        assert_eq!(error.category(), category, "{name}");
        assert_eq!(
            error.may_have_been_created(),
            may_have_been_created,
            "{name}"
        );
        assert!(!error.to_string().contains('\n'), "{name}: {error}");
        // Without an external_id nothing is retried.
        assert_eq!(received_on(&server, CREATE_PATH).await.len(), 1, "{name}");
        let Error::InvalidResponse(invalid) = &error else {
            unreachable!()
        };
        assert!(invalid.body_start().chars().count() <= 201, "{name}");
        insta::assert_snapshot!(format!("invalid_response_{name}"), error.to_string());
    }
}

#[tokio::test]
async fn a_slow_server_times_out_and_the_request_may_have_been_sent() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(created("1").set_delay(Duration::from_secs(2)))
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .timeout(Duration::from_millis(200))
        .retry_policy(quick_retries(3))
        .build()
        .unwrap();

    // Without an external_id a timeout is not retried: the interview may exist already.
    let error = client
        .create_external_interview(&request(None))
        .await
        .unwrap_err();

    assert_eq!(error.delivery(), Delivery::MaybeSent);
    assert!(error.may_have_been_created());
    assert!(error.is_transient());
    assert_eq!(error.attempts(), 1);
    let Error::MaybeSent(transport) = &error else {
        panic!("{error:?}")
    };
    assert!(transport.timed_out());
    assert!(sleeper.waits().is_empty());
    insta::assert_snapshot!(
        "maybe_sent_timeout",
        redact(&error.to_string(), &server.uri())
    );
}

#[tokio::test]
async fn a_refused_connection_is_not_sent_and_always_retried() {
    // A port that was free a moment ago: nothing listens there.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base_url = format!("http://{address}");
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = feishu_hire_client::Client::builder()
        .base_url(&base_url)
        .tenant_access_token(TOKEN)
        .no_rate_limit()
        .retry_policy(quick_retries(3))
        .sleeper(sleeper.clone())
        .build()
        .unwrap();

    // No external_id, still retried: nothing left this machine.
    let error = client
        .create_external_interview(&request(None))
        .await
        .unwrap_err();

    assert_eq!(error.delivery(), Delivery::NotSent);
    assert!(!error.may_have_been_created());
    assert_eq!(error.attempts(), 3);
    assert_eq!(sleeper.waits().len(), 2);
    assert_uuid_like(error.request_id().unwrap());
    // The OS's wording of "connection refused" varies; snapshot our part of the line.
    let display = redact(&error.to_string(), &base_url);
    let ours = display.split(": ").take(2).collect::<Vec<_>>().join(": ");
    insta::assert_snapshot!("not_sent_connection_refused", ours);
    assert!(display.ends_with("; gave up after 3 attempts"), "{display}");
}

fn assert_uuid_like(text: &str) {
    assert_eq!(text.len(), 36, "{text}");
}

#[tokio::test]
async fn a_failing_token_endpoint_is_its_own_error() {
    let server = MockServer::start().await;
    token_call()
        .respond_with(error_body(400, 10_003, "invalid app_secret"))
        .expect(1)
        .mount(&server)
        .await;
    create_call()
        .respond_with(created("1"))
        .expect(0)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper)
        .app_credentials(APP_ID, APP_SECRET)
        .build()
        .unwrap();

    let error = client
        .create_external_interview(&request(Some("ext-1")))
        .await
        .unwrap_err();

    assert!(error.is_token_error(), "{error:?}");
    assert_eq!(error.delivery(), Delivery::NotSent);
    assert!(!error.may_have_been_created());
    assert_eq!(error.code(), Some(10_003));
    assert_eq!(error.log_id(), Some("log-10003"));
    insta::assert_snapshot!("token_endpoint_refused", error.to_string());

    // A token answer without a token is an error too.
    let server = MockServer::start().await;
    token_call()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"code": 0, "msg": "ok"})))
        .mount(&server)
        .await;
    let error = client_with_app(&server)
        .create_external_interview(&request(None))
        .await
        .unwrap_err();
    assert!(error.is_token_error());
    insta::assert_snapshot!("token_endpoint_without_token", error.to_string());
}

fn client_with_app(server: &MockServer) -> feishu_hire_client::Client {
    client(server, &Arc::new(RecordingSleeper::default()))
        .app_credentials(APP_ID, APP_SECRET)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_request_that_cannot_be_built_is_not_sent() {
    let error = feishu_hire_client::Client::builder()
        .base_url("http://127.0.0.1:9")
        .tenant_access_token(TOKEN)
        .build()
        .unwrap()
        .send(&Unsendable)
        .await
        .unwrap_err();
    assert_eq!(error.delivery(), Delivery::NotSent);
    insta::assert_snapshot!("invalid_request", error.to_string());
}

/// A request whose serialisation fails.
struct Unsendable;

impl serde::Serialize for Unsendable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this request cannot be encoded"))
    }
}

impl feishu_hire_types::ApiRequest for Unsendable {
    type Body = Self;
    type Output = serde_json::Value;
    const ENDPOINT: &'static feishu_hire_types::Endpoint = &CREATE_EXTERNAL_INTERVIEW;

    fn body(&self) -> Option<&Self> {
        Some(self)
    }

    fn path(&self) -> std::borrow::Cow<'_, str> {
        CREATE_EXTERNAL_INTERVIEW.path.into()
    }
}

#[tokio::test]
async fn a_malformed_token_answer_does_not_show_the_token() {
    const SECRET_TOKEN: &str = "t-g1044ghJRUIJJ5ELPH6RWUDWBTTRCGXSIECZQ5VL";
    let answers = [
        // Code 0 and the token, but a field of the wrong type: the body does not decode.
        (
            "undecodable",
            ResponseTemplate::new(200).set_body_json(json!({
                "code": 0, "msg": "ok", "tenant_access_token": SECRET_TOKEN,
                "expire": {"seconds": 7200}
            })),
        ),
        // The token quoted where an integer belongs: the decoder's message quotes it.
        (
            "quoted_in_reason",
            ResponseTemplate::new(200).set_body_json(json!({
                "code": 0, "msg": "ok", "tenant_access_token": SECRET_TOKEN, "expire": SECRET_TOKEN
            })),
        ),
        // Code 0 with the token, on an error status.
        (
            "error_status",
            ResponseTemplate::new(503).set_body_json(json!({
                "code": 0, "msg": "ok", "tenant_access_token": SECRET_TOKEN, "expire": 7200
            })),
        ),
        // Cut off after the token.
        (
            "truncated",
            ResponseTemplate::new(200).set_body_raw(
                format!(r#"{{"code":0,"tenant_access_token":"{SECRET_TOKEN}","expire":72"#),
                "application/json",
            ),
        ),
    ];
    for (name, answer) in answers {
        let server = MockServer::start().await;
        token_call().respond_with(answer).mount(&server).await;
        let error = client_with_app(&server)
            .create_external_interview(&request(None))
            .await
            .unwrap_err();

        assert!(error.is_token_error(), "{name}: {error:?}");
        let display = error.to_string();
        let debug = format!("{error:?}");
        assert!(!display.contains("g1044gh"), "{name}: {display}");
        assert!(!debug.contains("g1044gh"), "{name}: {debug}");
        assert!(
            display.contains("body not shown, it may carry a token"),
            "{name}: {display}"
        );
        // The token fetch's own error, not one nested in another.
        let Error::InvalidResponse(invalid) = &error else {
            panic!("{name}: {error:?}")
        };
        assert_eq!(invalid.call().endpoint(), "tenant_access_token_internal");
        assert_eq!(invalid.body_start(), "", "{name}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_not_read_whole() {
    let server = MockServer::start().await;
    // Valid JSON, but far too big for any Feishu answer.
    let huge = format!(
        r#"{{"code":0,"msg":"ok","padding":"{}"}}"#,
        "x".repeat(feishu_hire_client::MAX_RESPONSE_BODY_BYTES * 2)
    );
    create_call()
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-tt-logid", "log-huge")
                .set_body_raw(huge, "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper).build().unwrap();

    let error = client
        .create_external_interview(&request(None))
        .await
        .unwrap_err();

    let Error::InvalidResponse(invalid) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(invalid.status(), 200);
    assert_eq!(invalid.log_id(), Some("log-huge"));
    assert!(
        invalid.reason().contains("larger than 1048576 bytes"),
        "{error}"
    );
    assert!(
        invalid
            .body_start()
            .starts_with(r#"{"code":0,"msg":"ok","padding":"xxx"#),
        "{error}"
    );
    assert_eq!(invalid.body_start().chars().count(), 201);
    assert_eq!(error.delivery(), Delivery::Answered);
    insta::assert_snapshot!("invalid_response_body_over_the_limit", error.to_string());
}

#[tokio::test]
async fn a_body_at_the_limit_is_read() {
    let server = MockServer::start().await;
    let prefix = r#"{"code":0,"msg":"ok","data":{"external_interview":{"id":"1"}},"padding":""#;
    let padding = feishu_hire_client::MAX_RESPONSE_BODY_BYTES - prefix.len() - 2;
    let body = format!(r#"{prefix}{}"}}"#, "x".repeat(padding));
    assert_eq!(body.len(), feishu_hire_client::MAX_RESPONSE_BODY_BYTES);
    create_call()
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let outcome = client(&server, &sleeper)
        .build()
        .unwrap()
        .create_external_interview(&request(None))
        .await
        .unwrap();
    assert!(outcome.is_created());
}
