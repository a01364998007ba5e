//! The HTTP side: routes built from the generated endpoint list, the log-id middleware, the
//! pipeline every Feishu endpoint goes through, and the Feishu-shaped answers.
//!
//! A request to an endpoint with a behaviour (see [`crate::behaviour`]) goes through these
//! steps, each of which may answer early:
//! count the attempt → token → rate limit (the endpoint's own) → injected fault → body
//! (content type, size, JSON, schema) and path and query parameters → the behaviour → answer
//! (or cut the connection). The token endpoint has its own, shorter path.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::path::ErrorKind as PathErrorKind;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get};
use axum::{Extension, Json, Router};
use feishu_hire_types::wire::parse_literally;
use feishu_hire_types::{
    ENDPOINTS, Endpoint, ErrorCode, ErrorDetail, ErrorEnvelope, FieldViolation, HttpMethod,
    TenantAccessTokenRequest, TenantAccessTokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::behaviour::{Behaviour, Call, IMPLEMENTED, Refusal};
use crate::config::SPEC_RATE_LIMIT_PER_SECOND;
use crate::faults::Fault;
use crate::params;
use crate::rate_limit::Limited;
use crate::state::{Shared, TokenProblem};
use crate::stats::StoredInterview;
use crate::{
    METHOD_NOT_ALLOWED_CODE, NOT_FOUND_CODE, NOT_IMPLEMENTED_CODE, RECORDS_PATH, STATS_PATH,
};

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
pub(crate) struct LogId(pub(crate) Arc<str>);

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    router_with(shared, IMPLEMENTED)
}

/// The router with the behaviours of `implemented` (by endpoint name); every other endpoint
/// of the specs answers "not implemented in the sandbox".
pub(crate) fn router_with(
    shared: Arc<Shared>,
    implemented: &'static [(&'static str, Behaviour)],
) -> Router {
    let mut router = Router::new();
    for (path, methods) in endpoint_routes(implemented) {
        // A known path with another method: 405 in Feishu's envelope (axum adds `Allow`).
        router = router.route(&path, methods.fallback(method_not_allowed));
    }
    router
        .route(RECORDS_PATH, get(list_records).fallback(method_not_allowed))
        .route(STATS_PATH, get(stats).fallback(method_not_allowed))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(shared.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(shared.clone(), with_log_id))
        .with_state(shared)
}

/// One method router per path of the specs, with a handler per endpoint on it.
fn endpoint_routes(
    implemented: &'static [(&'static str, Behaviour)],
) -> BTreeMap<String, MethodRouter<Arc<Shared>>> {
    let mut routes: BTreeMap<String, MethodRouter<Arc<Shared>>> = BTreeMap::new();
    let mut registered = BTreeSet::new();
    for &endpoint in ENDPOINTS {
        let path = axum_path(endpoint.path);
        let Some(filter) = method_filter(endpoint.method) else {
            tracing::warn!(endpoint = endpoint.name, method = %endpoint.method, "no route: unsupported method");
            continue;
        };
        // axum panics on a method registered twice for one path; the specs should never
        // have that, but a sandbox must not die of it.
        if !registered.insert((path.clone(), endpoint.method.as_str())) {
            tracing::warn!(
                endpoint = endpoint.name,
                "no route: another endpoint has the same method and path"
            );
            continue;
        }
        let behaviour = behaviour_of(implemented, endpoint.name);
        let handler = move |State(shared): State<Arc<Shared>>,
                            Extension(log_id): Extension<LogId>,
                            path: Result<Path<Vec<(String, String)>>, PathRejection>,
                            query: Result<Query<Vec<(String, String)>>, QueryRejection>,
                            headers: HeaderMap,
                            body: Result<Bytes, BytesRejection>| async move {
            let request = Incoming {
                path,
                query,
                headers,
                body,
            };
            serve_endpoint(&shared, endpoint, behaviour, &log_id, request).await
        };
        let methods = routes.remove(&path).unwrap_or_default();
        routes.insert(path, methods.on(filter, handler));
    }
    routes
}

/// The behaviour of the endpoint called `name` in `implemented`, if it has one.
pub(crate) fn behaviour_of(
    implemented: &[(&'static str, Behaviour)],
    name: &str,
) -> Option<Behaviour> {
    implemented
        .iter()
        .find(|(implemented_name, _)| *implemented_name == name)
        .map(|(_, behaviour)| *behaviour)
}

/// A spec path in axum's syntax: `:name` segments become `{name}`, and literal braces are
/// doubled so axum reads them as text.
pub(crate) fn axum_path(spec_path: &str) -> String {
    spec_path
        .split('/')
        .map(|segment| match segment.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => segment.replace('{', "{{").replace('}', "}}"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn method_filter(method: HttpMethod) -> Option<MethodFilter> {
    let method = Method::from_bytes(method.as_str().as_bytes()).ok()?;
    MethodFilter::try_from(method).ok()
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

/// What a request to a spec endpoint brought, as extracted.
struct Incoming {
    path: Result<Path<Vec<(String, String)>>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
}

async fn serve_endpoint(
    shared: &Shared,
    endpoint: &'static Endpoint,
    behaviour: Option<Behaviour>,
    log_id: &LogId,
    request: Incoming,
) -> Response {
    match behaviour {
        None => {
            shared.count_request(endpoint, None);
            not_implemented(log_id, endpoint)
        }
        Some(Behaviour::IssueToken) => {
            shared.count_request(endpoint, None);
            let answer = issue_token(shared, log_id, &request.headers, request.body);
            if answer.status().is_success() {
                shared.count_success(endpoint);
            }
            answer
        }
        Some(Behaviour::Api(behaviour)) => {
            serve_api(shared, endpoint, behaviour, log_id, request).await
        }
    }
}

/// The pipeline of an endpoint that takes a tenant token.
async fn serve_api(
    shared: &Shared,
    endpoint: &'static Endpoint,
    behaviour: fn(&Shared, &Call<'_>) -> Result<Response, Refusal>,
    log_id: &LogId,
    request: Incoming,
) -> Response {
    let Incoming {
        path,
        query,
        headers,
        body,
    } = request;
    // An endpoint without a body ignores whatever was sent, as Feishu does.
    let body = endpoint
        .has_body
        .then(|| json_body(&headers, body, shared.config.max_body_bytes));
    let external_id = match &body {
        Some(Ok(body)) => body.get("external_id").and_then(Value::as_str),
        _ => None,
    };
    shared.count_request(endpoint, external_id);

    let app_id = match shared.authenticate(bearer_token(&headers)) {
        Ok(app_id) => app_id,
        Err(problem) => {
            shared.count(|stats| stats.auth_failures += 1);
            return token_refused(log_id, problem);
        }
    };
    if let Some(limiter) = shared.rate_limiter(endpoint)
        && let Err(limited) = limiter.check(&app_id)
    {
        shared.count(|stats| stats.rate_limited += 1);
        return rate_limited(log_id, limited);
    }

    let fault = shared.faults.draw();
    match fault {
        Some(Fault::ServerError) => {
            shared.count(|stats| stats.faults.server_errors += 1);
            return with_fault_header(server_error(log_id), Fault::ServerError);
        }
        Some(Fault::RateLimit) => {
            shared.count(|stats| stats.faults.rate_limits += 1);
            let limited = Limited {
                limit: documented_limit(shared, endpoint),
                reset_secs: 1,
            };
            return with_fault_header(rate_limited(log_id, limited), Fault::RateLimit);
        }
        Some(Fault::Delay(delay)) => {
            shared.count(|stats| stats.faults.delays += 1);
            tokio::time::sleep(delay).await;
        }
        Some(Fault::CutAfterStore) | None => {}
    }

    let body = match body {
        None => Value::Null,
        Some(Ok(body)) => body,
        Some(Err(problem)) => {
            shared.count(|stats| stats.invalid_requests += 1);
            return problem.answer(log_id);
        }
    };
    let params = read_params(endpoint, path, query);
    let body_check = match shared.body_validator(endpoint) {
        Some(validator) if endpoint.has_body => validator.check(&body),
        _ => Ok(()),
    };
    let params = match (params, body_check) {
        (Ok(params), Ok(())) => params,
        (params, body_check) => {
            // Parameters first, then the body's fields, all in one answer.
            let mut violations = params.err().unwrap_or_default();
            violations.extend(body_check.err().unwrap_or_default());
            shared.count(|stats| stats.invalid_requests += 1);
            return invalid_fields(log_id, violations);
        }
    };

    let call = Call {
        app_id: &app_id,
        log_id: &log_id.0,
        params: &params,
        body: &body,
    };
    let answer = match behaviour(shared, &call) {
        Ok(answer) => {
            shared.count_success(endpoint);
            if fault == Some(Fault::CutAfterStore) {
                shared.count(|stats| stats.faults.cuts_after_store += 1);
                return cut_connection();
            }
            answer
        }
        Err(refusal) => {
            if matches!(refusal, Refusal::Invalid(_)) {
                shared.count(|stats| stats.invalid_requests += 1);
            }
            refusal.answer(log_id)
        }
    };
    match fault {
        Some(delay @ Fault::Delay(_)) => with_fault_header(answer, delay),
        _ => answer,
    }
}

/// The path and query parameters as the spec types them, or every violation.
fn read_params(
    endpoint: &Endpoint,
    path: Result<Path<Vec<(String, String)>>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<params::Params, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let path = match path {
        Ok(Path(pairs)) => pairs,
        // A route without parameters has none to extract.
        Err(_) if endpoint.path_params.is_empty() => Vec::new(),
        Err(PathRejection::FailedToDeserializePathParams(err)) => {
            let field = match err.kind() {
                PathErrorKind::InvalidUtf8InPathParam { key } => Some(key.clone()),
                _ => endpoint
                    .path_params
                    .first()
                    .map(|param| param.name.to_owned()),
            };
            let mut violation = FieldViolation::new()
                .description(format!("the path is not valid: {}", err.body_text()));
            if let Some(field) = field {
                violation = violation.field(field);
            }
            violations.push(violation);
            Vec::new()
        }
        Err(other) => {
            violations.push(
                FieldViolation::new()
                    .description(format!("the path is not valid: {}", other.body_text())),
            );
            Vec::new()
        }
    };
    let query = match query {
        Ok(Query(pairs)) => pairs,
        Err(rejection) => {
            violations.push(FieldViolation::new().description(format!(
                "the query string is not valid: {}",
                rejection.body_text()
            )));
            Vec::new()
        }
    };
    match params::read(endpoint, &path, &query) {
        Ok(params) if violations.is_empty() => Ok(params),
        Ok(_) => Err(violations),
        Err(more) => {
            // A parameter already refused for its path segment is not also "required".
            let named: Vec<Option<String>> = violations
                .iter()
                .map(|violation| violation.field.clone())
                .collect();
            violations.extend(
                more.into_iter()
                    .filter(|violation| !named.contains(&violation.field)),
            );
            Err(violations)
        }
    }
}

/// The limit the `x-ogw-ratelimit-limit` header shows on an injected 429: the one in force,
/// else the spec's (with limits off the headers still show the documented one).
fn documented_limit(shared: &Shared, endpoint: &Endpoint) -> u32 {
    shared
        .rate_limiter(endpoint)
        .map(|limiter| limiter.requests())
        .or(endpoint.rate_limit.map(|limit| limit.requests))
        .or(SPEC_RATE_LIMIT_PER_SECOND)
        .unwrap_or(1)
}

// ---- the token endpoint ----

fn issue_token(
    shared: &Shared,
    log_id: &LogId,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match token_request(shared, headers, body) {
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
                TokenRefusal::Body(problem) => problem.answer(log_id),
                TokenRefusal::Fields(violations) => invalid_fields(log_id, violations),
                TokenRefusal::WrongCredentials => wrong_credentials(log_id),
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
    let request: TenantAccessTokenRequest = shared
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

// ---- answers of the sandbox's own ----

/// An endpoint with a spec but no behaviour in the sandbox: HTTP 501 in Feishu's envelope,
/// saying which endpoint, so a test that reaches it knows at once why it failed.
pub(crate) fn not_implemented(log_id: &LogId, endpoint: &Endpoint) -> Response {
    let msg = format!(
        "{} ({} {}) is not implemented in the sandbox: the specs describe it, but the sandbox has no behaviour for it",
        endpoint.name, endpoint.method, endpoint.path
    );
    feishu_error(
        StatusCode::NOT_IMPLEMENTED,
        log_id,
        NOT_IMPLEMENTED_CODE,
        &msg,
        ErrorDetail::new(),
    )
}

/// A path no endpoint has.
async fn not_found(log_id: Option<Extension<LogId>>, uri: Uri) -> Response {
    let log_id = log_id.map_or_else(|| LogId(Arc::from("")), |Extension(log_id)| log_id);
    let msg = format!("404 page not found: no endpoint at {}", uri.path());
    feishu_error(
        StatusCode::NOT_FOUND,
        &log_id,
        NOT_FOUND_CODE,
        &msg,
        ErrorDetail::new(),
    )
}

/// A known path with a method none of its endpoints has.
async fn method_not_allowed(
    log_id: Option<Extension<LogId>>,
    method: Method,
    uri: Uri,
) -> Response {
    let log_id = log_id.map_or_else(|| LogId(Arc::from("")), |Extension(log_id)| log_id);
    let msg = format!(
        "405 method not allowed: {} has no {method} endpoint (the Allow header lists its methods)",
        uri.path()
    );
    feishu_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &log_id,
        METHOD_NOT_ALLOWED_CODE,
        &msg,
        ErrorDetail::new(),
    )
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
///
/// An empty body (nothing, or only whitespace) is read as `{}`: `lark-oapi` sends a request
/// whose body the user left unset with none at all (a batch query by
/// `external_application_id` alone is such a POST), and Feishu answers it. The schema then
/// names any required field that is missing, as for any other body.
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
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    // Keys as written: `serde_json`'s `Value` reads a few `$` keys specially, Feishu does not.
    parse_literally(&bytes)
        .map(|json| json.value)
        .map_err(BodyProblem::NotJson)
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

pub(crate) fn invalid_parameter_status() -> StatusCode {
    status_of(ErrorCode::InvalidParameter)
}

/// `{"code", "msg", "error": {"log_id", …}}` with the given status.
pub(crate) fn feishu_error(
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

pub(crate) fn invalid_fields(log_id: &LogId, violations: Vec<FieldViolation>) -> Response {
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
    use feishu_hire_types::UPDATE_EXTERNAL_INTERVIEW;

    use super::*;

    #[test]
    fn spec_paths_become_axum_paths() {
        assert_eq!(
            axum_path("/open-apis/hire/v1/external_interviews/:external_interview_id"),
            "/open-apis/hire/v1/external_interviews/{external_interview_id}"
        );
        assert_eq!(axum_path("/a/:x/b/:y"), "/a/{x}/b/{y}");
        assert_eq!(axum_path("/a/{literal}"), "/a/{{literal}}");
        for endpoint in ENDPOINTS {
            assert!(
                method_filter(endpoint.method).is_some(),
                "{}",
                endpoint.name
            );
        }
    }

    #[tokio::test]
    async fn the_not_implemented_answer_names_the_endpoint_in_feishus_envelope() {
        let log_id = LogId(Arc::from("20240101000000ABCDEF"));
        let answer = not_implemented(&log_id, &UPDATE_EXTERNAL_INTERVIEW);
        assert_eq!(answer.status(), StatusCode::NOT_IMPLEMENTED);
        let body = axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: ErrorEnvelope = serde_json::from_slice(&body).unwrap();
        assert_eq!(body.code, NOT_IMPLEMENTED_CODE);
        assert_ne!(body.code, 0);
        let msg = body.msg.unwrap();
        assert!(msg.contains("update_external_interview"), "{msg}");
        assert!(
            msg.contains("PUT /open-apis/hire/v1/external_interviews/:external_interview_id"),
            "{msg}"
        );
        assert!(msg.contains("not implemented in the sandbox"), "{msg}");
        assert_eq!(
            body.error.unwrap().log_id.as_deref(),
            Some("20240101000000ABCDEF")
        );
    }

    /// A router with only the token behaviour: every other endpoint of the specs is routed,
    /// and answers "not implemented" whatever its method and parameters.
    #[tokio::test]
    async fn endpoints_without_a_behaviour_are_routed_to_the_not_implemented_answer() {
        const ONLY_TOKENS: &[(&str, Behaviour)] = &[(
            feishu_hire_types::TENANT_ACCESS_TOKEN_INTERNAL.name,
            Behaviour::IssueToken,
        )];
        let shared = Arc::new(Shared::new(crate::SandboxConfig::default()).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server =
            tokio::spawn(axum::serve(listener, router_with(shared, ONLY_TOKENS)).into_future());
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        for endpoint in ENDPOINTS {
            let path = endpoint
                .path
                .split('/')
                .map(|segment| {
                    if segment.starts_with(':') {
                        "a%2Fb"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let method = reqwest::Method::from_bytes(endpoint.method.as_str().as_bytes()).unwrap();
            let answer = http
                .request(method, format!("{base}{path}"))
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            let log_id = answer.headers()["x-tt-logid"].to_str().unwrap().to_owned();
            let body: serde_json::Value = answer.json().await.unwrap();
            if endpoint.name == feishu_hire_types::TENANT_ACCESS_TOKEN_INTERNAL.name {
                assert_eq!(status, 400, "the token endpoint still works: {body}");
                continue;
            }
            assert_eq!(
                (status, body["code"].as_i64()),
                (501, Some(NOT_IMPLEMENTED_CODE)),
                "{}",
                endpoint.name
            );
            assert!(
                body["msg"].as_str().unwrap().contains(endpoint.name),
                "{body}"
            );
            assert_eq!(body["error"]["log_id"], log_id.as_str());
        }
        server.abort();
    }

    #[test]
    fn an_endpoint_missing_from_the_table_has_no_behaviour() {
        assert!(behaviour_of(IMPLEMENTED, "update_external_interview").is_some());
        assert!(behaviour_of(IMPLEMENTED, "no_such_endpoint").is_none());
        assert!(behaviour_of(&[], "update_external_interview").is_none());
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
