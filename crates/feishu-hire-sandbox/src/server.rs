//! The HTTP side: routes, the log-id middleware, the handlers and the Feishu-shaped answers.
//!
//! A create goes through these steps, each of which may answer early:
//! count the attempt → token → rate limit → injected fault → body (content type, size, JSON,
//! schema) → idempotency and store → answer (or cut the connection).

use std::io;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use feishu_hire_types::{
    CREATE_EXTERNAL_INTERVIEW, CreateExternalInterviewData, CreateExternalInterviewResponse,
    ErrorCode, ErrorDetail, ErrorEnvelope, ExternalInterview, FieldViolation,
    TENANT_ACCESS_TOKEN_INTERNAL, TenantAccessTokenRequest, TenantAccessTokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::SPEC_RATE_LIMIT_PER_SECOND;
use crate::faults::Fault;
use crate::rate_limit::Limited;
use crate::state::{CreateOutcome, Shared, TokenProblem};
use crate::stats::StoredInterview;
use crate::{RECORDS_PATH, STATS_PATH};

/// Header with the log id of every answer, as Feishu sends it (`serve` writes header names in
/// title case, so it goes out as `X-Tt-Logid`).
const LOG_ID_HEADER: HeaderName = HeaderName::from_static("x-tt-logid");
/// Requests allowed per second, on a 429.
const RATE_LIMIT_LIMIT_HEADER: HeaderName = HeaderName::from_static("x-ogw-ratelimit-limit");
/// Seconds to wait, on a 429.
const RATE_LIMIT_RESET_HEADER: HeaderName = HeaderName::from_static("x-ogw-ratelimit-reset");
/// The sandbox's own header: which fault was injected into this answer.
const FAULT_HEADER: HeaderName = HeaderName::from_static(crate::FAULT_HEADER);

/// The log id of the request being handled.
#[derive(Debug, Clone)]
struct LogId(Arc<str>);

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    // Both Feishu endpoints are POSTs; a unit test holds the specs to that.
    Router::new()
        .route(TENANT_ACCESS_TOKEN_INTERNAL.path, post(issue_token))
        .route(
            CREATE_EXTERNAL_INTERVIEW.path,
            post(create_external_interview),
        )
        .route(RECORDS_PATH, get(list_records))
        .route(STATS_PATH, get(stats))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(shared.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(shared.clone(), with_log_id))
        .with_state(shared)
}

/// Gives every request a log id and every answer the `X-Tt-Logid` header.
async fn with_log_id(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let log_id = LogId(shared.new_log_id().into());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(log_id.clone());
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&log_id.0) {
        response.headers_mut().insert(LOG_ID_HEADER, value);
    }
    if response.extensions().get::<ConnectionCut>().is_some() {
        tracing::info!(%method, %path, log_id = %log_id.0, "cut the connection after storing");
    } else {
        let status = response.status().as_u16();
        tracing::info!(%method, %path, status, log_id = %log_id.0, "answered");
    }
    response
}

// ---- the token endpoint ----

async fn issue_token(
    State(shared): State<Arc<Shared>>,
    Extension(log_id): Extension<LogId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match token_request(&shared, &headers, body) {
        Ok(request) => {
            let (token, expire) = shared.issue_token(&request.app_id);
            let answer = TenantAccessTokenResponse::new(0)
                .msg("ok")
                .tenant_access_token(token)
                .expire(expire);
            Json(answer).into_response()
        }
        Err(refusal) => {
            shared.count(|stats| stats.token_failures += 1);
            match refusal {
                TokenRefusal::Body(problem) => problem.answer(&log_id),
                TokenRefusal::Fields(violations) => invalid_fields(&log_id, violations),
                TokenRefusal::WrongCredentials => wrong_credentials(&log_id),
            }
        }
    }
}

/// Why a token request is refused.
enum TokenRefusal {
    Body(BodyProblem),
    Fields(Vec<FieldViolation>),
    WrongCredentials,
}

/// The token request, if it is valid and its credentials are accepted.
fn token_request(
    shared: &Shared,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TenantAccessTokenRequest, TokenRefusal> {
    let body =
        json_body(headers, body, shared.config.max_body_bytes).map_err(TokenRefusal::Body)?;
    let request = shared
        .token_validator
        .validate(&body)
        .map_err(TokenRefusal::Fields)?;
    let empty: Vec<FieldViolation> = [
        ("app_id", &request.app_id),
        ("app_secret", &request.app_secret),
    ]
    .into_iter()
    .filter(|(_, value)| value.is_empty())
    .map(|(field, _)| {
        FieldViolation::new()
            .field(field)
            .description(format!("{field} must not be empty"))
    })
    .collect();
    if !empty.is_empty() {
        return Err(TokenRefusal::Fields(empty));
    }
    if !shared.credentials_match(&request) {
        return Err(TokenRefusal::WrongCredentials);
    }
    Ok(request)
}

/// Wrong `app_id` / `app_secret`. Feishu's code for this is not in our specs; the sandbox
/// answers 1002002 ("invalid parameter") naming both fields, without saying which is wrong.
fn wrong_credentials(log_id: &LogId) -> Response {
    let description = "app_id and app_secret do not match the app the sandbox was configured with";
    feishu_error(
        StatusCode::BAD_REQUEST,
        log_id,
        ErrorCode::InvalidParameter.code(),
        "invalid app_id or app_secret",
        ErrorDetail::new().field_violations(
            ["app_id", "app_secret"]
                .map(|field| FieldViolation::new().field(field).description(description)),
        ),
    )
}

// ---- the create endpoint ----

async fn create_external_interview(
    State(shared): State<Arc<Shared>>,
    Extension(log_id): Extension<LogId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = json_body(&headers, body, shared.config.max_body_bytes);
    let external_id = body
        .as_ref()
        .ok()
        .and_then(|body| body.get("external_id"))
        .and_then(Value::as_str);
    shared.count_attempt(external_id);

    let app_id = match shared.authenticate(bearer_token(&headers)) {
        Ok(app_id) => app_id,
        Err(problem) => {
            shared.count(|stats| stats.auth_failures += 1);
            return token_refused(&log_id, problem);
        }
    };
    if let Some(limiter) = &shared.rate_limiter
        && let Err(limited) = limiter.check(&app_id)
    {
        shared.count(|stats| stats.rate_limited += 1);
        return rate_limited(&log_id, limited);
    }

    let fault = shared.faults.draw();
    match fault {
        Some(Fault::ServerError) => {
            shared.count(|stats| stats.faults.server_errors += 1);
            return with_fault_header(server_error(&log_id), Fault::ServerError);
        }
        Some(Fault::RateLimit) => {
            shared.count(|stats| stats.faults.rate_limits += 1);
            // With the real limit off, the headers still show the documented one.
            let limit = shared
                .config
                .rate_limit_per_second
                .or(SPEC_RATE_LIMIT_PER_SECOND);
            let limited = Limited {
                limit: limit.unwrap_or(1),
                reset_secs: 1,
            };
            return with_fault_header(rate_limited(&log_id, limited), Fault::RateLimit);
        }
        Some(Fault::Delay(delay)) => {
            shared.count(|stats| stats.faults.delays += 1);
            tokio::time::sleep(delay).await;
        }
        Some(Fault::CutAfterStore) | None => {}
    }

    let request = match body {
        Err(problem) => {
            shared.count(|stats| stats.invalid_requests += 1);
            return problem.answer(&log_id);
        }
        Ok(body) => match shared.create_validator.validate(&body) {
            Ok(request) => request,
            Err(violations) => {
                shared.count(|stats| stats.invalid_requests += 1);
                return invalid_fields(&log_id, violations);
            }
        },
    };

    let answer = match shared.create(request, &app_id, &log_id.0) {
        CreateOutcome::Created(interview) | CreateOutcome::ReturnedStored(interview) => {
            if fault == Some(Fault::CutAfterStore) {
                shared.count(|stats| stats.faults.cuts_after_store += 1);
                return cut_connection();
            }
            created(interview)
        }
        CreateOutcome::Rejected { code, external_id } => {
            already_exists(&log_id, code, &external_id)
        }
    };
    match fault {
        Some(delay @ Fault::Delay(_)) => with_fault_header(answer, delay),
        _ => answer,
    }
}

/// `code: 0` with the interview in the shape of the documented example, which does not echo
/// `external_id` (the stored record keeps it).
fn created(mut interview: ExternalInterview) -> Response {
    interview.external_id = None;
    Json(
        CreateExternalInterviewResponse::new(0)
            .msg("ok")
            .data(CreateExternalInterviewData::new().external_interview(interview)),
    )
    .into_response()
}

fn already_exists(log_id: &LogId, code: i64, external_id: &str) -> Response {
    let window_hours = CREATE_EXTERNAL_INTERVIEW
        .idempotency
        .map_or(0, |rule| rule.window_hours);
    let description = format!(
        "external_id {external_id} already exists: it was used within the last {window_hours} h"
    );
    feishu_error(
        StatusCode::BAD_REQUEST,
        log_id,
        code,
        &description,
        ErrorDetail::new().field_violations([FieldViolation::new()
            .field("external_id")
            .value(external_id)
            .description(&description)]),
    )
}

/// An answer that never arrives: a body whose first frame is an error makes hyper abort the
/// connection before the buffered status line is written, so the client sees the connection
/// close without a response.
fn cut_connection() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::other(
            "the sandbox cut this connection on purpose",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    response.extensions_mut().insert(ConnectionCut);
    response
}

/// Marks a response that will never reach the client, for the log.
#[derive(Debug, Clone, Copy)]
struct ConnectionCut;

fn with_fault_header(mut response: Response, fault: Fault) -> Response {
    response
        .headers_mut()
        .insert(FAULT_HEADER, HeaderValue::from_static(fault.header_value()));
    response
}

// ---- inspection ----

/// Filters of `GET /sandbox/external_interviews`.
#[derive(Debug, Deserialize)]
struct RecordFilter {
    external_id: Option<String>,
}

#[derive(Debug, Serialize)]
struct RecordList {
    count: usize,
    external_interviews: Vec<StoredInterview>,
}

async fn list_records(
    State(shared): State<Arc<Shared>>,
    Query(filter): Query<RecordFilter>,
) -> Response {
    let mut records = shared.records();
    if let Some(external_id) = &filter.external_id {
        records.retain(|record| record.interview.external_id.as_ref() == Some(external_id));
    }
    Json(RecordList {
        count: records.len(),
        external_interviews: records,
    })
    .into_response()
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.stats()).into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404 page not found").into_response()
}

// ---- request bodies ----

/// Why a body could not be read as JSON.
#[derive(Debug)]
enum BodyProblem {
    ContentType(String),
    TooLarge { limit: usize },
    Unreadable(String),
    NotJson(serde_json::Error),
}

impl BodyProblem {
    fn answer(&self, log_id: &LogId) -> Response {
        let msg = match self {
            BodyProblem::ContentType(found) => {
                format!("invalid parameter: Content-Type must be application/json, not {found}")
            }
            BodyProblem::TooLarge { limit } => {
                format!("invalid parameter: the request body is larger than {limit} bytes")
            }
            BodyProblem::Unreadable(reason) => {
                format!("invalid parameter: the request body could not be read: {reason}")
            }
            BodyProblem::NotJson(err) => {
                format!("invalid parameter: the request body is not valid JSON: {err}")
            }
        };
        feishu_error(
            invalid_parameter_status(),
            log_id,
            ErrorCode::InvalidParameter.code(),
            &msg,
            ErrorDetail::new(),
        )
    }
}

/// The body as JSON, if it is not labelled as something else, fits the limit and parses.
///
/// A body without `Content-Type` is read as JSON: Feishu does so (its Python SDK, `lark-oapi`,
/// sends the token request without one, and Feishu answers it).
fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Value, BodyProblem> {
    if let Some(value) = headers.get(CONTENT_TYPE) {
        let content_type = String::from_utf8_lossy(value.as_bytes());
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(BodyProblem::ContentType(content_type.into_owned()));
        }
    }
    let bytes = body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            BodyProblem::TooLarge { limit }
        }
        other => BodyProblem::Unreadable(other.body_text()),
    })?;
    serde_json::from_slice(&bytes).map_err(BodyProblem::NotJson)
}

/// The token of `Authorization: Bearer <token>`; `None` if the header, the scheme or the
/// token is missing.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

// ---- Feishu-shaped errors ----

fn status_of(code: ErrorCode) -> StatusCode {
    code.http_status()
        .and_then(|status| StatusCode::from_u16(status).ok())
        .unwrap_or(StatusCode::BAD_REQUEST)
}

fn invalid_parameter_status() -> StatusCode {
    status_of(ErrorCode::InvalidParameter)
}

/// `{"code", "msg", "error": {"log_id", …}}` with the given status.
fn feishu_error(
    status: StatusCode,
    log_id: &LogId,
    code: i64,
    msg: &str,
    detail: ErrorDetail,
) -> Response {
    let body = ErrorEnvelope::new(code)
        .msg(msg)
        .error(detail.log_id(log_id.0.as_ref()));
    (status, Json(body)).into_response()
}

fn invalid_fields(log_id: &LogId, violations: Vec<FieldViolation>) -> Response {
    let first = violations
        .first()
        .and_then(|violation| violation.description.clone())
        .unwrap_or_default();
    let msg = match violations.len() {
        1 => format!("invalid parameter: {first}"),
        count => format!("invalid parameter: {first} (and {} more)", count - 1),
    };
    feishu_error(
        invalid_parameter_status(),
        log_id,
        ErrorCode::InvalidParameter.code(),
        &msg,
        ErrorDetail::new().field_violations(violations),
    )
}

fn token_refused(log_id: &LogId, problem: TokenProblem) -> Response {
    let (code, msg) = match problem {
        TokenProblem::Missing => (
            ErrorCode::AccessTokenMissing,
            "The request carries no access token: send \"Authorization: Bearer <tenant_access_token>\"",
        ),
        TokenProblem::Invalid => (
            ErrorCode::AccessTokenInvalid,
            "The access token is invalid or has expired: fetch a new tenant_access_token",
        ),
    };
    feishu_error(
        status_of(code),
        log_id,
        code.code(),
        msg,
        ErrorDetail::new(),
    )
}

fn rate_limited(log_id: &LogId, limited: Limited) -> Response {
    let mut response = feishu_error(
        status_of(ErrorCode::RateLimited),
        log_id,
        ErrorCode::RateLimited.code(),
        "request trigger frequency limit",
        ErrorDetail::new(),
    );
    let headers = response.headers_mut();
    headers.insert(RATE_LIMIT_LIMIT_HEADER, HeaderValue::from(limited.limit));
    headers.insert(
        RATE_LIMIT_RESET_HEADER,
        HeaderValue::from(limited.reset_secs),
    );
    response
}

fn server_error(log_id: &LogId) -> Response {
    feishu_error(
        status_of(ErrorCode::SystemError),
        log_id,
        ErrorCode::SystemError.code(),
        "system error (injected by the sandbox)",
        ErrorDetail::new(),
    )
}

#[cfg(test)]
mod tests {
    use feishu_hire_types::HttpMethod;

    use super::*;

    #[test]
    fn the_routes_use_the_methods_of_the_specs() {
        assert_eq!(TENANT_ACCESS_TOKEN_INTERNAL.method, HttpMethod::Post);
        assert_eq!(CREATE_EXTERNAL_INTERVIEW.method, HttpMethod::Post);
    }

    #[test]
    fn bearer_tokens_are_read_leniently_but_must_be_there() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            bearer_token(&headers).map(str::to_owned)
        };
        assert_eq!(with("Bearer t-abc").as_deref(), Some("t-abc"));
        assert_eq!(with("bearer   t-abc ").as_deref(), Some("t-abc"));
        assert_eq!(with("Bearer "), None);
        assert_eq!(with("t-abc"), None);
        assert_eq!(with("Basic t-abc"), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
