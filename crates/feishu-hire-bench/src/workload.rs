//! What is sent and how: the documented create request, the contenders (plain reqwest and
//! our client), and the loop that keeps N of them busy for a time or a number of calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use feishu_hire_client::{Client, CreateOutcome};
use feishu_hire_types::CreateExternalInterviewRequest;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

/// Feishu's documented create request and answer, as the tests use them (the testkit's copies).
pub const SEED_REQUEST: &str = include_str!("../../feishu-hire-testkit/data/seed_request.json");
/// See [`SEED_REQUEST`].
pub const SEED_RESPONSE: &str = include_str!("../../feishu-hire-testkit/data/seed_response.json");
/// The create endpoint's path.
pub const CREATE_PATH: &str = "/open-apis/hire/v1/external_interviews";
/// The fixed tenant token both contenders send (the stub does not check it).
pub const TOKEN: &str = "t-bench-fixed-tenant-token";

/// The seed request with its `external_id` replaceable: `prefix + id + suffix`, compact.
#[derive(Clone)]
pub struct BodyTemplate {
    prefix: Arc<str>,
    suffix: Arc<str>,
}

impl BodyTemplate {
    pub fn new() -> Self {
        let compact = crate::servers::compact(SEED_REQUEST);
        let text = String::from_utf8_lossy(&compact).into_owned();
        let marker = "\"external_id\":\"";
        let (prefix, suffix) = match text.find(marker) {
            Some(at) => {
                let start = at + marker.len();
                let end = text[start..].find('"').map_or(start, |len| start + len);
                (text[..start].to_owned(), text[end..].to_owned())
            }
            None => (text, String::new()),
        };
        Self {
            prefix: prefix.into(),
            suffix: suffix.into(),
        }
    }

    /// The body with `external_id` set to `id`.
    pub fn body(&self, id: &str) -> Bytes {
        let mut body = String::with_capacity(self.prefix.len() + id.len() + self.suffix.len());
        body.push_str(&self.prefix);
        body.push_str(id);
        body.push_str(&self.suffix);
        Bytes::from(body)
    }
}

/// Who sends the create calls.
#[derive(Clone)]
pub enum Contender {
    /// One `reqwest::Client` reused, a pre-serialized body, the answer parsed to a `Value`:
    /// the floor.
    Reqwest {
        http: reqwest::Client,
        url: Arc<str>,
        body: Bytes,
        auth: HeaderValue,
    },
    /// Our client: `no_rate_limit()`, default retries and timeouts, a fixed tenant token.
    Ours {
        client: Client,
        request: Arc<CreateExternalInterviewRequest>,
    },
}

impl Contender {
    /// Plain reqwest; with `timeout`, a client-wide timeout like our client's.
    pub fn reqwest(
        base_url: &str,
        timeout: Option<Duration>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let mut http = reqwest::Client::builder();
        if let Some(timeout) = timeout {
            http = http.timeout(timeout);
        }
        Ok(Self::Reqwest {
            http: http.build()?,
            url: format!("{base_url}{CREATE_PATH}").into(),
            body: crate::servers::compact(SEED_REQUEST),
            auth: HeaderValue::from_str(&format!("Bearer {TOKEN}"))?,
        })
    }

    pub fn ours(base_url: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let client = Client::builder()
            .base_url(base_url)
            .tenant_access_token(TOKEN)
            .no_rate_limit()
            .build()?;
        let request: CreateExternalInterviewRequest = serde_json::from_str(SEED_REQUEST)?;
        Ok(Self::Ours {
            client,
            request: Arc::new(request),
        })
    }

    /// One create call; an error if it did not succeed.
    pub async fn call(&self) -> Result<(), String> {
        match self {
            Contender::Reqwest {
                http,
                url,
                body,
                auth,
            } => {
                let response = http
                    .post(&**url)
                    .header(AUTHORIZATION, auth.clone())
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/json; charset=utf-8"),
                    )
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let bytes = response.bytes().await.map_err(|e| e.to_string())?;
                let json: serde_json::Value =
                    serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
                if !status.is_success() || json.get("code").and_then(|c| c.as_i64()) != Some(0) {
                    return Err(format!("HTTP {status}: {json}"));
                }
                Ok(())
            }
            Contender::Ours { client, request } => {
                match client.create_external_interview(request).await {
                    Ok(CreateOutcome::Created { .. }) => Ok(()),
                    Ok(other) => Err(format!("{other:?}")),
                    Err(error) => Err(error.to_string()),
                }
            }
        }
    }
}

/// When a load stops: after a time, or after a number of calls (whichever comes first).
pub struct Budget {
    until: Instant,
    remaining: AtomicI64,
}

impl Budget {
    pub fn time(duration: Duration) -> Arc<Self> {
        Arc::new(Self {
            until: Instant::now() + duration,
            remaining: AtomicI64::new(i64::MAX),
        })
    }

    pub fn calls(calls: u64) -> Arc<Self> {
        Arc::new(Self {
            until: Instant::now() + Duration::from_secs(3600),
            remaining: AtomicI64::new(i64::try_from(calls).unwrap_or(i64::MAX)),
        })
    }

    /// Whether one more call may start.
    fn take(&self) -> bool {
        self.remaining.fetch_sub(1, Ordering::Relaxed) > 0 && Instant::now() < self.until
    }
}

/// Runs `tasks` loops of `contender.call()` until `budget` is spent; returns the calls that
/// succeeded, or the first failure.
pub async fn drive(
    contender: &Contender,
    tasks: usize,
    budget: Arc<Budget>,
) -> Result<u64, String> {
    let done = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let contender = contender.clone();
        let budget = budget.clone();
        let done = done.clone();
        handles.push(tokio::spawn(async move {
            while budget.take() {
                contender.call().await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), String>(())
        }));
    }
    for handle in handles {
        handle.await.map_err(|e| e.to_string())??;
    }
    Ok(done.load(Ordering::Relaxed))
}

/// The load generator of the server comparison: `connections` loops of plain reqwest, each
/// create with a new `external_id` (so that the sandbox stores each one), until `budget` is
/// spent. Returns the answers with a 2xx status, or the first other one.
pub async fn generate(
    http: &reqwest::Client,
    base_url: &str,
    token: &str,
    connections: usize,
    budget: Arc<Budget>,
    run: u64,
) -> Result<u64, String> {
    let url: Arc<str> = format!("{base_url}{CREATE_PATH}").into();
    let auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?;
    let template = BodyTemplate::new();
    let next = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (http, url, auth, template, budget, next) = (
            http.clone(),
            url.clone(),
            auth.clone(),
            template.clone(),
            budget.clone(),
            next.clone(),
        );
        handles.push(tokio::spawn(async move {
            let mut ok = 0u64;
            while budget.take() {
                let id = format!("bench-{run}-{}", next.fetch_add(1, Ordering::Relaxed));
                let response = http
                    .post(&*url)
                    .header(AUTHORIZATION, auth.clone())
                    .header(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/json; charset=utf-8"),
                    )
                    .body(template.body(&id))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let body = response.bytes().await.map_err(|e| e.to_string())?;
                if !status.is_success() {
                    return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
                }
                ok += 1;
            }
            Ok::<u64, String>(ok)
        }));
    }
    let mut total = 0;
    for handle in handles {
        total += handle.await.map_err(|e| e.to_string())??;
    }
    Ok(total)
}

/// A tenant token from the server's token endpoint (the sandbox checks tokens).
pub async fn fetch_token(http: &reqwest::Client, base_url: &str) -> Result<String, String> {
    let answer: serde_json::Value = http
        .post(format!(
            "{base_url}/open-apis/auth/v3/tenant_access_token/internal"
        ))
        .json(&serde_json::json!({ "app_id": "cli_bench", "app_secret": "bench" }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    answer
        .get("tenant_access_token")
        .and_then(|token| token.as_str())
        .map(str::to_owned)
        .ok_or_else(|| format!("no token in {answer}"))
}
