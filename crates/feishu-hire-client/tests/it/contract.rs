//! The client's wire contract against wiremock: the exact request it sends (method, path,
//! headers, body), what it returns for Feishu's documented answer, that arbitrary valid requests
//! arrive unchanged, client-side pacing, and that secrets never show in output or logs.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;
use feishu_hire_client::{Client, CreateOutcome};
use feishu_hire_types::{
    AssessmentDimensionInput, AssessmentType, CreateExternalInterviewRequest,
    CreateExternalInterviewResponse, ExternalInterviewAssessmentInput, InterviewConclusion,
    ParticipateStatus,
};
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use wiremock::MockServer;
use wiremock::matchers::header;

/// The request example of Feishu's documentation, built as a user builds it.
fn seed_request() -> CreateExternalInterviewRequest {
    CreateExternalInterviewRequest::new("6960663240925956437")
        .external_id("7396034232747641133")
        .participate_status(ParticipateStatus::NotParticipated)
        .begin_time(1_618_500_278_638)
        .end_time(1_618_500_278_639)
        .interview_assessments([ExternalInterviewAssessmentInput::new()
            .username("张三")
            .conclusion(InterviewConclusion::Fail)
            .assessment_dimension_list([AssessmentDimensionInput::new()
                .score(99)
                .option("选项1")
                .options(["选项1".to_owned()])
                .content("不错的面试内容")
                .assessment_type(AssessmentType::Score)
                .title("面试测试")
                .description("这是一次测试")])
            .content("第一次面试")])
}

#[tokio::test]
async fn the_seed_request_arrives_exactly_as_documented() {
    let server = MockServer::start().await;
    let sleeper = Arc::new(RecordingSleeper::default());
    create_call()
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(seed_response_json())
                .insert_header("X-Tt-Logid", "202407021708445C0B6D1E9DA6D1F3E7A8"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, &sleeper).build().unwrap();

    let outcome = client
        .create_external_interview(&seed_request())
        .await
        .unwrap();

    let received = received_on(&server, CREATE_PATH).await;
    let [request] = received.as_slice() else {
        panic!("expected one request, got {}", received.len());
    };
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), CREATE_PATH);
    assert_eq!(request.url.query(), None);
    assert_eq!(
        header_of(request, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        header_of(request, "content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        header_of(request, "user-agent"),
        Some(concat!("feishu-hire-client/", env!("CARGO_PKG_VERSION")))
    );
    let request_id = header_of(request, "oapi-sdk-request-id").unwrap();
    assert_uuid_v4(request_id);
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, seed_request_json());

    let expected: CreateExternalInterviewResponse =
        serde_json::from_value(seed_response_json()).unwrap();
    let expected_interview = expected.data.unwrap().external_interview.unwrap();
    match outcome {
        CreateOutcome::Created { interview, meta } => {
            assert_eq!(interview, expected_interview);
            assert_eq!(meta.status, 200);
            assert_eq!(
                meta.log_id.as_deref(),
                Some("202407021708445C0B6D1E9DA6D1F3E7A8")
            );
            assert_eq!(meta.request_id, request_id);
            assert_eq!(meta.attempts, 1);
        }
        other => panic!("expected Created, got {other:?}"),
    }
}

fn assert_uuid_v4(text: &str) {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
    assert_eq!(lengths, [8, 4, 4, 4, 12], "{text}");
    assert!(
        text.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
        "{text}"
    );
    assert!(groups[2].starts_with('4'), "not version 4: {text}");
}

#[tokio::test]
async fn send_works_for_any_endpoint_of_the_specs() {
    let server = MockServer::start().await;
    let sleeper = Arc::new(RecordingSleeper::default());
    token_call()
        .and(header("content-type", "application/json; charset=utf-8"))
        .respond_with(token_answer("t-from-send", 7200))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, &sleeper).build().unwrap();

    let request = feishu_hire_types::TenantAccessTokenRequest::new(APP_ID, APP_SECRET);
    let answer = client.send(&request).await.unwrap();

    assert_eq!(
        answer.data.tenant_access_token.as_deref(),
        Some("t-from-send")
    );
    assert_eq!(answer.data.expire, Some(7200));
    let received = received_on(&server, TOKEN_PATH).await;
    // The token endpoint takes no token.
    assert_eq!(header_of(&received[0], "authorization"), None);
    assert_eq!(
        received[0].body_json::<serde_json::Value>().unwrap(),
        json!({"app_id": APP_ID, "app_secret": APP_SECRET})
    );
}

#[test]
fn arbitrary_valid_requests_arrive_as_sent() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(MockServer::start());
    runtime.block_on(create_call().respond_with(created("1")).mount(&server));
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = client(&server, &sleeper).build().unwrap();

    let mut runner = TestRunner::new(Config::with_cases(64));
    let result = runner.run(&feishu_hire_testkit::strategies::request(), |sent| {
        let received = runtime.block_on(async {
            client.create_external_interview(&sent).await.unwrap();
            received_on(&server, CREATE_PATH).await.pop().unwrap()
        });
        let expected_bytes = serde_json::to_vec(&sent).unwrap();
        proptest::prop_assert_eq!(&received.body, &expected_bytes);
        // Strict decoding: the body is a valid request, equal to the one sent.
        let decoded: CreateExternalInterviewRequest = received.body_json().unwrap();
        proptest::prop_assert_eq!(decoded, sent);
        Ok(())
    });
    result.unwrap();
}

#[tokio::test]
async fn clones_share_one_rate_limiter_at_the_documented_rate_by_default() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(created("1"))
        .expect(4)
        .mount(&server)
        .await;
    // The default: the spec's 10 requests per second, evenly spaced (one every 100 ms).
    let client = Client::builder()
        .base_url(server.uri())
        .tenant_access_token(TOKEN)
        .build()
        .unwrap();
    let clone = client.clone();

    let started = Instant::now();
    let first = tokio::spawn(async move {
        for _ in 0..2 {
            client
                .create_external_interview(&request(None))
                .await
                .unwrap();
        }
    });
    for _ in 0..2 {
        clone
            .create_external_interview(&request(None))
            .await
            .unwrap();
    }
    first.await.unwrap();

    // Four requests through one limiter: the last one no earlier than 3 intervals after the first.
    // (Only a lower bound, which the limiter guarantees; no upper bound, which a busy machine could break.)
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_custom_rate_paces_requests() {
    let server = MockServer::start().await;
    create_call()
        .respond_with(created("1"))
        .expect(3)
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .tenant_access_token(TOKEN)
        .rate_limit_per_second(5)
        .build()
        .unwrap();

    let started = Instant::now();
    for _ in 0..3 {
        client
            .create_external_interview(&request(None))
            .await
            .unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(390),
        "{:?}",
        started.elapsed()
    );
}

/// A `Write` into a shared buffer, to capture logs.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn secrets_never_show_in_debug_display_errors_or_logs() {
    use tracing_subscriber::util::SubscriberInitExt;

    const SECRET_TOKEN: &str = "t-s3cr3t-tenant-token";
    const FETCHED_TOKEN: &str = "t-s3cr3t-fetched-token";
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let _logging = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .set_default();

    let server = MockServer::start().await;
    let sleeper = Arc::new(RecordingSleeper::default());
    token_call()
        .respond_with(token_answer(FETCHED_TOKEN, 7200))
        .mount(&server)
        .await;
    // Every token is refused, so the client refreshes, logs, and fails with an error.
    create_call()
        .respond_with(refused(400, 99_991_663, "invalid access token"))
        .mount(&server)
        .await;
    create_call()
        .respond_with(refused(500, 1_002_001, "system error"))
        .with_priority(1)
        .up_to_n_times(1)
        .mount(&server)
        .await;

    let with_secret = client(&server, &sleeper)
        .app_credentials(APP_ID, APP_SECRET)
        .retry_policy(quick_retries(2));
    let with_token = client(&server, &sleeper).tenant_access_token(SECRET_TOKEN);
    let mut output = format!("{with_secret:?}\n{with_token:?}\n");
    let app_client = with_secret.build().unwrap();
    let token_client = with_token.build().unwrap();
    output += &format!("{app_client:?}\n{token_client:?}\n");
    for client in [&app_client, &token_client] {
        let error = client
            .create_external_interview(&request(Some("ext-1")))
            .await
            .unwrap_err();
        output += &format!("{error}\n{error:?}\n");
    }
    // The token endpoint failing is an error of its own; it must not echo the secret either.
    let failing_token = MockServer::start().await;
    token_call()
        .respond_with(refused(400, 10_003, "invalid app_secret"))
        .mount(&failing_token)
        .await;
    let error = client(&failing_token, &sleeper)
        .app_credentials(APP_ID, APP_SECRET)
        .build()
        .unwrap()
        .create_external_interview(&request(None))
        .await
        .unwrap_err();
    output += &format!("{error}\n{error:?}\n");

    let logs = logs.text();
    assert!(
        logs.contains("feishu_hire_call"),
        "no logs captured:\n{logs}"
    );
    assert!(logs.contains("retrying"), "{logs}");
    for secret in [APP_SECRET, SECRET_TOKEN, FETCHED_TOKEN, "s3cr3t"] {
        assert!(!output.contains(secret), "{secret} in output:\n{output}");
        assert!(!logs.contains(secret), "{secret} in logs:\n{logs}");
    }
    assert!(
        output.contains(APP_ID),
        "the app id is not a secret:\n{output}"
    );
}
