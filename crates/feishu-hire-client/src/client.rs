//! The client: one logical call, with its token, pacing, attempts and the judgement of each answer.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use feishu_hire_types::{
    AccessTokenKind, ApiRequest, CreateExternalInterviewRequest, Endpoint, ErrorCode, ErrorDetail,
    ErrorEnvelope, ExternalInterview, HttpMethod, Idempotency, Paginated, ResponseShape,
    TENANT_ACCESS_TOKEN_INTERNAL, TenantAccessTokenRequest, TenantAccessTokenResponse,
};
use reqwest::header::{
    AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tracing::{Instrument, debug, info, warn};

use crate::already_exists::AlreadyExistsRule;
use crate::builder::ClientBuilder;
use crate::classify::classify;
use crate::error::{ApiError, CallInfo, Error, InvalidResponse, TransportError};
use crate::paginate::Paginator;
use crate::rate_limit::RateLimiters;
use crate::request_id::{RequestId, RequestIds};
use crate::retry::{RetryPolicy, Sleeper, SleeperName};
use crate::token::{AppCredentials, Auth, BearerToken, CachedToken};

// Header names as constants: a `&str` name is parsed and validated on every use.
/// The header that carries the caller's request id; the official Go SDK sends the same one.
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("oapi-sdk-request-id");
/// Feishu's log id of an answer. `HeaderMap` matches names case-insensitively.
const LOG_ID_HEADER: HeaderName = HeaderName::from_static("x-tt-logid");
/// Seconds to wait after a rate-limit answer.
const RATE_LIMIT_RESET_HEADER: HeaderName = HeaderName::from_static("x-ogw-ratelimit-reset");
/// The largest response body the client reads, in bytes. Feishu's answers are a few KiB; a
/// bigger body is not one of them (a proxy's page, a misrouted download), and reading it whole
/// would let a broken or hostile server exhaust memory. A bigger body ends the attempt with an
/// [`Error::InvalidResponse`] that keeps its status and start.
pub const MAX_RESPONSE_BODY_BYTES: usize = 1024 * 1024;
const JSON_UTF8: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");

/// Codes that mean "this token is no good": the client fetches a new one and repeats the call.
const INVALID_TOKEN_CODES: [ErrorCode; 3] = [
    ErrorCode::AccessTokenInvalid,
    ErrorCode::TenantAccessTokenInvalid,
    ErrorCode::AccessTokenMalformed,
];

/// A Feishu open-platform client. Cheap to clone; clones share the token cache and the rate
/// limiter. Build one with [`Client::builder`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    /// Whether the builder made `http`, with this client's timeout and `User-Agent` as its
    /// defaults: then requests need not set them again (a per-request timeout replaces the
    /// client-wide one in reqwest and costs an allocation per request).
    pub(crate) own_http: bool,
    /// `base_url` parsed, and the URLs made from it once, so that a call's URL is not parsed
    /// from text again.
    pub(crate) urls: EndpointUrls,
    pub(crate) base_url: String,
    pub(crate) request_ids: RequestIds,
    pub(crate) auth: Auth,
    pub(crate) timeout: Duration,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limiters: RateLimiters,
    pub(crate) already_exists: AlreadyExistsRule,
    pub(crate) sleeper: Arc<dyn Sleeper>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("base_url", &inner.base_url)
            .field("auth", &inner.auth)
            .field("timeout", &inner.timeout)
            .field("retry", &inner.retry)
            .field("rate_limit", &inner.rate_limiters.setting())
            .field("already_exists", &inner.already_exists)
            .field("sleeper", &SleeperName)
            .finish_non_exhaustive()
    }
}

/// A successful answer: what it carries and how the call went.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    /// What the answer carries: the envelope's `data` (an empty `data` decodes as `{}`), or
    /// for the token endpoints the whole body. [`ApiRequest::Output`] names its type.
    pub data: T,
    /// Status, log id, request id and attempts.
    pub meta: CallMeta,
}

/// How a call went, for logs and support requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallMeta {
    /// HTTP status of the final answer.
    pub status: u16,
    /// Feishu's log id of the final answer (`error.log_id`, else the `X-Tt-Logid` header).
    pub log_id: Option<String>,
    /// The request id sent in `Oapi-Sdk-Request-Id`, the same on every attempt.
    pub request_id: String,
    /// HTTP requests made, the final one included.
    pub attempts: u32,
    /// Whether an attempt before the final one may have been processed too (it timed out, lost
    /// its connection or met a server error). For a create that carries an `external_id` this
    /// means the record exists once if the server honours the key, but may exist twice if it
    /// does not: check the target before calling it done.
    pub earlier_attempt_may_have_been_processed: bool,
}

/// What [`Client::create_external_interview`] achieved.
///
/// `I` is what the interview Feishu echoes is decoded as: the whole [`ExternalInterview`], or,
/// with [`Client::create_external_interview_encoded_as`], a type of the caller's with only the
/// fields it needs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CreateOutcome<I = ExternalInterview> {
    /// Feishu answered code 0 with the interview. This includes a repeated `external_id` if
    /// Feishu answers a repeat with the stored record (see the crate docs).
    Created {
        /// The interview as Feishu stored it.
        interview: I,
        /// How the call went.
        meta: CallMeta,
    },
    /// Feishu refused the request with an answer the client's [`AlreadyExistsRule`] recognises
    /// as "this `external_id` already exists": the interview was created earlier.
    AlreadyExists {
        /// Feishu's code.
        code: i64,
        /// Feishu's message.
        msg: String,
        /// The stored interview, if the answer carried one in `data.external_interview`.
        interview: Option<I>,
        /// How the call went.
        meta: CallMeta,
    },
}

impl<I> CreateOutcome<I> {
    /// How the call went.
    pub fn meta(&self) -> &CallMeta {
        match self {
            CreateOutcome::Created { meta, .. } | CreateOutcome::AlreadyExists { meta, .. } => meta,
        }
    }

    /// The interview, if the answer carried it.
    pub fn interview(&self) -> Option<&I> {
        match self {
            CreateOutcome::Created { interview, .. } => Some(interview),
            CreateOutcome::AlreadyExists { interview, .. } => interview.as_ref(),
        }
    }

    /// Whether this call created the interview (as far as the answer tells).
    pub fn is_created(&self) -> bool {
        matches!(self, CreateOutcome::Created { .. })
    }
}

/// The `data` of a create's answer, its interview decoded as `I`: as
/// [`feishu_hire_types::CreateExternalInterviewData`] (lenient: unknown fields ignored) when
/// `I` is [`ExternalInterview`].
#[derive(Deserialize)]
struct CreatedData<I> {
    #[serde(default = "none")]
    external_interview: Option<I>,
}

/// An answer the call ends with (code 0, or one the already-exists rule matched), and its
/// output if it was read in one pass with the envelope (see [`OnePass`]).
struct Delivered<T> {
    /// The call, for the error of an answer whose output turns out invalid.
    call: CallInfo,
    meta: CallMeta,
    code: i64,
    msg: String,
    body: Bytes,
    /// Where `data` is in `body`, if the answer has it (read once, with the envelope).
    data: Option<Range<usize>>,
    /// `data` decoded, if it was read with the envelope.
    output: Option<T>,
}

/// What one call sends: everything but the token and the request id, built once.
pub(crate) struct Outgoing<'c> {
    endpoint: &'static Endpoint,
    method: reqwest::Method,
    /// Borrowed from the client's [`EndpointUrls`] when the URL is a fixed one.
    url: Cow<'c, reqwest::Url>,
    body: Option<Bytes>,
    /// Whether the request may be sent again after an attempt that may have taken effect.
    safe_to_repeat: bool,
}

impl<'c> Outgoing<'c> {
    /// A request to `endpoint`, which has no path or query parameters, with a body the caller
    /// encoded: sent as these very bytes. `keyed`: the body carries the endpoint's idempotency
    /// key.
    pub(crate) fn encoded(
        urls: &'c EndpointUrls,
        endpoint: &'static Endpoint,
        body: Bytes,
        keyed: bool,
    ) -> Self {
        Self {
            endpoint,
            method: method_of(endpoint.method),
            url: urls.url(endpoint.path, &[]),
            body: Some(body),
            safe_to_repeat: endpoint.idempotency.always_safe() || keyed,
        }
    }

    /// Encodes a request: its body once (every attempt sends these very bytes), its path
    /// (percent-encoded parameters) and query string.
    fn new<R: ApiRequest>(urls: &'c EndpointUrls, request: &R) -> Result<Self, Error> {
        let endpoint = R::ENDPOINT;
        let body = request
            .body()
            .map(|body| encode(body, endpoint))
            .transpose()?;
        let path = request.path();
        if let Some(problem) = endpoint.path_problem(&path) {
            return Err(Error::InvalidRequest {
                endpoint: endpoint.name,
                reason: problem,
            });
        }
        let url = urls.url(&path, &request.query());
        Ok(Self {
            endpoint,
            method: method_of(endpoint.method),
            url,
            body,
            safe_to_repeat: request.is_safe_to_repeat(),
        })
    }
}

/// The base URL, and the URL of every endpoint of the specs without path parameters, made once
/// when the client is built: a call to one of them (without a query) borrows its URL rather
/// than cloning the base and setting the path, which parses it (about 3,000 instructions and
/// three allocations per call, one of them alive until the call ends).
pub(crate) struct EndpointUrls {
    base: reqwest::Url,
    /// By path: the URL depends on nothing else.
    fixed: Vec<(&'static str, reqwest::Url)>,
}

impl EndpointUrls {
    pub(crate) fn new(base: reqwest::Url) -> Self {
        let fixed = feishu_hire_types::ENDPOINTS
            .iter()
            .filter(|endpoint| endpoint.path_params.is_empty())
            .map(|endpoint| (endpoint.path, endpoint_url(&base, endpoint.path, &[])))
            .collect();
        Self { base, fixed }
    }

    /// The URL with this (percent-encoded) `path` and `query`.
    fn url(&self, path: &str, query: &[(&'static str, String)]) -> Cow<'_, reqwest::Url> {
        if query.is_empty()
            && let Some((_, url)) = self.fixed.iter().find(|(fixed, _)| *fixed == path)
        {
            return Cow::Borrowed(url);
        }
        Cow::Owned(endpoint_url(&self.base, path, query))
    }
}

/// `base` with the base's path prefix and `path` as its path, and `query` encoded: the URL
/// that parsing `base_url + path + "?" + query` gives, without parsing scheme and host again
/// (`path` is percent-encoded already, so it holds no `?` or `#`).
fn endpoint_url(base: &reqwest::Url, path: &str, query: &[(&'static str, String)]) -> reqwest::Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    if prefix.is_empty() {
        url.set_path(path);
    } else {
        url.set_path(&format!("{prefix}{path}"));
    }
    if !query.is_empty() {
        url.set_query(Some(&feishu_hire_types::url::encode_query(query)));
    }
    url
}

fn method_of(method: HttpMethod) -> reqwest::Method {
    match method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
        // `HttpMethod` may grow; POST is what every other Feishu endpoint uses.
        _ => reqwest::Method::POST,
    }
}

impl Client {
    /// A builder, with Feishu's host, the default timeouts, retry policy and rate limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use feishu_hire_client::{Client, RetryPolicy};
    ///
    /// let client = Client::builder()
    ///     .lark() // Lark's host; Feishu's is the default
    ///     .app_credentials("cli_a1b2c3d4", "app-secret")
    ///     .timeout(Duration::from_secs(10))
    ///     .retry_policy(RetryPolicy::new().max_attempts(3))
    ///     .build()?;
    /// assert_eq!(client.base_url(), "https://open.larksuite.com");
    /// # Ok::<(), feishu_hire_client::BuildError>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The URLs of the endpoints, made once.
    pub(crate) fn endpoint_urls(&self) -> &EndpointUrls {
        &self.inner.urls
    }

    /// Sends any request of the specs to its endpoint and returns what a successful answer
    /// carries ([`ApiRequest::Output`]: the envelope's `data`, or the token endpoint's body).
    ///
    /// Method, path (with percent-encoded path parameters), query string, body, rate limit and
    /// idempotency all come from the request's generated [`Endpoint`]. Every non-zero `code`
    /// is an error here; only [`create_external_interview`](Self::create_external_interview)
    /// applies the [`AlreadyExistsRule`]. Failed attempts are retried only when safe: see the
    /// crate docs, "Retries".
    ///
    /// ```no_run
    /// use feishu_hire_client::Client;
    /// use feishu_hire_types::{
    ///     CreateExternalInterviewAssessmentRequest, InterviewConclusion, PatchExternalInterviewAssessmentBody,
    ///     PatchExternalInterviewAssessmentRequest,
    /// };
    ///
    /// # async fn run(client: Client) -> Result<(), feishu_hire_client::Error> {
    /// let created = client
    ///     .send(&CreateExternalInterviewAssessmentRequest::new("7395015160784716044").username("张三"))
    ///     .await?;
    /// let id = created.data.external_interview_assessment.and_then(|a| a.id).unwrap_or_default();
    /// // PATCH is not safe to repeat: after a timeout the error says it may have taken effect.
    /// let patch = PatchExternalInterviewAssessmentRequest::new(id)
    ///     .body(PatchExternalInterviewAssessmentBody::new().conclusion(InterviewConclusion::Pass));
    /// match client.send(&patch).await {
    ///     Ok(answer) => println!("log id {:?}", answer.meta.log_id),
    ///     Err(error) if error.may_have_taken_effect() => eprintln!("check before repeating: {error}"),
    ///     Err(error) => eprintln!("not changed: {error}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send<R: ApiRequest>(&self, request: &R) -> Result<Answer<R::Output>, Error> {
        let outgoing = Outgoing::new(&self.inner.urls, request)?;
        let decode = OnePass::new(R::ENDPOINT.response);
        let mut delivered = self.execute(&outgoing, None, decode).await?;
        let data = decode.output(&mut delivered)?;
        Ok(Answer {
            data,
            meta: delivered.meta,
        })
    }

    /// Pages through a paginated endpoint: the items of every page, in order, as a stream.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use feishu_hire_client::Client;
    /// use feishu_hire_types::BatchQueryExternalInterviewRequest;
    ///
    /// # async fn run(client: Client) -> Result<(), feishu_hire_client::Error> {
    /// let request = BatchQueryExternalInterviewRequest::new().external_application_id("6960663240925956437");
    /// let interviews: Vec<_> = client.paginate(request).page_size(50).items().try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn paginate<R: Paginated + Send + Sync + 'static>(&self, request: R) -> Paginator<R> {
        Paginator::new(self.clone(), request)
    }

    /// Creates an external interview: `POST /open-apis/hire/v1/external_interviews`.
    ///
    /// With an `external_id` the call is retried after server errors and timeouts; without
    /// one it is not, and such an error says it
    /// [may have created](Error::may_have_been_created) the interview. An answer the
    /// client's [`AlreadyExistsRule`] recognises becomes [`CreateOutcome::AlreadyExists`].
    pub async fn create_external_interview(
        &self,
        request: &CreateExternalInterviewRequest,
    ) -> Result<CreateOutcome, Error> {
        let outgoing = Outgoing::new(&self.inner.urls, request)?;
        self.create(&outgoing, request.idempotency_key().is_some())
            .await
    }

    /// A create call of [`create_external_interview`](Self::create_external_interview) or its
    /// pre-encoded form; `keyed`: the request has an `external_id`.
    pub(crate) async fn create<I: DeserializeOwned>(
        &self,
        outgoing: &Outgoing<'_>,
        keyed: bool,
    ) -> Result<CreateOutcome<I>, Error> {
        // Without an external_id nothing can "already exist", so the rule does not apply.
        let rule = Some(&self.inner.already_exists).filter(|rule| keyed && !rule.is_none());
        let decode = OnePass::new(ResponseShape::Envelope);
        let mut delivered = self.execute(outgoing, rule, decode).await?;
        if delivered.code != 0 {
            // The answer to a repeat is undocumented; take the record if it happens to carry one.
            let interview = delivered
                .data
                .clone()
                .and_then(|range| {
                    serde_json::from_slice::<CreatedData<I>>(&delivered.body[range]).ok()
                })
                .and_then(|data| data.external_interview);
            return Ok(CreateOutcome::AlreadyExists {
                code: delivered.code,
                msg: delivered.msg,
                interview,
                meta: delivered.meta,
            });
        }
        let data: CreatedData<I> = decode.output(&mut delivered)?;
        match data.external_interview {
            Some(interview) => Ok(CreateOutcome::Created {
                interview,
                meta: delivered.meta,
            }),
            None => Err(invalid_success(
                &delivered,
                "code 0 but no `data.external_interview`",
            )),
        }
    }

    /// One logical call: attempts until an answer ends it or the retry policy gives up.
    async fn execute<T: DeserializeOwned>(
        &self,
        outgoing: &Outgoing<'_>,
        already_exists: Option<&AlreadyExistsRule>,
        decode: OnePass<T>,
    ) -> Result<Delivered<T>, Error> {
        let request_id = self.inner.request_ids.next();
        let span = tracing::info_span!(
            "feishu_hire_call",
            endpoint = outgoing.endpoint.name,
            request_id = %request_id,
        );
        let attempts = self.attempts(outgoing, already_exists, request_id, decode);
        // Without a subscriber that wants the span there is nothing to enter on every poll.
        if span.is_none() {
            attempts.await
        } else {
            attempts.instrument(span).await
        }
    }

    async fn attempts<T: DeserializeOwned>(
        &self,
        outgoing: &Outgoing<'_>,
        already_exists: Option<&AlreadyExistsRule>,
        request_id: RequestId,
        decode: OnePass<T>,
    ) -> Result<Delivered<T>, Error> {
        let endpoint = outgoing.endpoint;
        let request_id_header = request_id
            .header_value()
            .ok_or_else(|| Error::InvalidRequest {
                endpoint: endpoint.name,
                reason: format!("invalid request id {request_id:?}"),
            })?;
        let policy = &self.inner.retry;
        let started = Instant::now();
        let mut backoff = policy.backoff();
        let mut attempt = 0;
        let mut token_refreshed = false;
        // Once an attempt may have been processed, the call's error must say so, whatever
        // becomes of the later attempts.
        let mut earlier_attempt_may_have_been_processed = false;
        loop {
            attempt += 1;
            let call = CallInfo {
                endpoint: endpoint.name,
                request_id,
                attempts: attempt,
                earlier_attempt_may_have_been_processed,
                fetching_token: false,
            };
            self.inner.rate_limiters.until_ready(endpoint).await;
            let token = match endpoint.access_token {
                AccessTokenKind::None => None,
                AccessTokenKind::Tenant => {
                    Some(self.tenant_token().await.map_err(|mut error| {
                        if earlier_attempt_may_have_been_processed {
                            error.mark_earlier_attempt_may_have_been_processed();
                        }
                        error
                    })?)
                }
                other => {
                    return Err(Error::InvalidRequest {
                        endpoint: endpoint.name,
                        reason: format!("{other:?} access tokens are not supported"),
                    });
                }
            };
            debug!(attempt, "sending");
            // Built directly rather than through `RequestBuilder`, which parses the URL and
            // merges the headers into a map of its own.
            let url = outgoing.url.as_ref().clone();
            let mut request = reqwest::Request::new(outgoing.method.clone(), url);
            *request.headers_mut() = self.headers(
                &request_id_header,
                token.as_deref(),
                outgoing.body.is_some(),
            );
            if !self.inner.own_http {
                *request.timeout_mut() = Some(self.inner.timeout);
            }
            if let Some(body) = &outgoing.body {
                *request.body_mut() = Some(body.clone().into());
            }
            let sent = send_attempt(&self.inner.http, request, call, already_exists, decode);
            let error = match sent.await {
                Ok(delivered) => {
                    debug!(
                        attempt,
                        status = delivered.meta.status,
                        code = delivered.code,
                        log_id = delivered.meta.log_id.as_deref(),
                        "answered"
                    );
                    return Ok(delivered);
                }
                Err(error) => error,
            };
            earlier_attempt_may_have_been_processed |= error.may_have_taken_effect();
            // Repeating a keyed create after an attempt that may have been processed relies on
            // the server honouring the key; the policy may forbid exactly that (and only that).
            if earlier_attempt_may_have_been_processed
                && !policy.retry_after_possible_effect
                && matches!(endpoint.idempotency, Idempotency::ByKey { .. })
            {
                warn!(attempt, log_id = error.log_id(), %error, "not retried: an attempt may have been processed and the policy forbids relying on the idempotency key");
                return Err(error);
            }
            let refused_token = error
                .error_code()
                .is_some_and(|code| INVALID_TOKEN_CODES.contains(&code));
            // Once per call: a token refused right after it was fetched will not get better.
            if refused_token
                && !token_refreshed
                && let Some(token) = &token
                && self.forget_token(token).await
            {
                token_refreshed = true;
                info!(
                    attempt,
                    code = error.code(),
                    log_id = error.log_id(),
                    "token refused; fetching a new one"
                );
                continue;
            }
            let Some(server_wait) = classify(&error).retry(outgoing.safe_to_repeat) else {
                if error.may_have_taken_effect() && !outgoing.safe_to_repeat {
                    warn!(attempt, log_id = error.log_id(), %error, "not retried: the request is not safe to repeat and may have taken effect");
                } else {
                    debug!(attempt, log_id = error.log_id(), %error, "not retried");
                }
                return Err(error);
            };
            if attempt >= policy.max_attempts {
                warn!(attempt, log_id = error.log_id(), %error, "giving up: no attempts left");
                return Err(error);
            }
            let wait = server_wait.or_else(|| backoff.next());
            let Some(wait) = wait.filter(|wait| started.elapsed() + *wait <= policy.total_deadline)
            else {
                warn!(attempt, log_id = error.log_id(), %error, "giving up: the wait would end after the deadline");
                return Err(error);
            };
            warn!(
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                log_id = error.log_id(),
                %error,
                "retrying"
            );
            self.inner.sleeper.sleep(wait).await;
        }
    }

    fn headers(
        &self,
        request_id: &HeaderValue,
        token: Option<&BearerToken>,
        has_body: bool,
    ) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(4);
        // The builder's own HTTP client sends this `User-Agent` by default.
        if !self.inner.own_http {
            headers.insert(USER_AGENT, self.inner.user_agent.clone());
        }
        if has_body {
            headers.insert(CONTENT_TYPE, JSON_UTF8);
        }
        headers.insert(REQUEST_ID_HEADER, request_id.clone());
        if let Some(token) = token {
            headers.insert(AUTHORIZATION, token.header().clone());
        }
        headers
    }

    /// The tenant token for the next attempt: the fixed one, a cached one, or a fresh one.
    ///
    /// Single flight: the cache's lock is held while fetching, so concurrent calls wait and
    /// then reuse the fetched token, or, if that fetch failed, get a copy of its failure rather
    /// than each fetching again one after the other (which made an unreachable target take one
    /// full fetch, retries and timeouts included, per waiting call).
    ///
    /// A fixed token is borrowed rather than cloned: its reference counts are shared by every
    /// call on every thread, and each clone and drop would write to them.
    async fn tenant_token(&self) -> Result<Cow<'_, BearerToken>, Error> {
        let app = match &self.inner.auth {
            Auth::Fixed(token) => return Ok(Cow::Borrowed(token)),
            Auth::App(app) => app,
        };
        let seen = app.fetches_finished();
        let mut cache = app.cache.lock().await;
        if let Some(fresh) = cache.token.as_ref().filter(|t| t.is_fresh(Instant::now())) {
            return Ok(Cow::Owned(fresh.token.clone()));
        }
        if let Some(failure) = cache.failure_since(seen) {
            debug!("a token fetch failed while this call waited for it; not fetching again");
            return Err(failure.into_token_error());
        }
        let fetched = self.fetch_tenant_token(app).await;
        let fetch = app.fetch_finished();
        match fetched {
            Ok(fetched) => {
                let token = fetched.token.clone();
                cache.fetched(fetch, Ok(fetched));
                Ok(Cow::Owned(token))
            }
            Err(mut error) => {
                error.clear_earlier_attempt_mark();
                cache.fetched(fetch, Err(&error));
                Err(error.into_token_error())
            }
        }
    }

    /// Drops `token` from the cache (unless a concurrent call has already replaced it).
    /// Returns whether a new token can be had at all.
    async fn forget_token(&self, token: &BearerToken) -> bool {
        let Auth::App(app) = &self.inner.auth else {
            return false;
        };
        let mut cache = app.cache.lock().await;
        if cache
            .token
            .as_ref()
            .is_some_and(|c| c.token.same_token(token))
        {
            cache.token = None;
        }
        true
    }

    fn fetch_tenant_token<'a>(
        &'a self,
        app: &'a AppCredentials,
    ) -> Pin<Box<dyn Future<Output = Result<CachedToken, Error>> + Send + 'a>> {
        // Boxed because a call fetches its token through `execute`, which is recursion.
        Box::pin(async move {
            debug!(app_id = %app.app_id, "fetching a tenant_access_token");
            let request = TenantAccessTokenRequest::new(&app.app_id, app.app_secret.expose());
            let outgoing = Outgoing::new(&self.inner.urls, &request)?;
            let fetched_at = Instant::now();
            let decode = OnePass::new(TENANT_ACCESS_TOKEN_INTERNAL.response);
            let mut delivered = self.execute(&outgoing, None, decode).await?;
            let response: TenantAccessTokenResponse = decode.output(&mut delivered)?;
            let token = response
                .tenant_access_token
                .as_deref()
                .ok_or_else(|| "code 0 but no `tenant_access_token`".to_owned())
                .and_then(BearerToken::new)
                .map_err(|reason| invalid_success(&delivered, reason))?;
            Ok(CachedToken::new(token, fetched_at, response.expire))
        })
    }
}

/// Room for a typical body (an interview with an assessment is a few hundred bytes), so that
/// serialising does not grow and copy the buffer step by step from serde_json's 128 bytes.
const BODY_CAPACITY: usize = 1024;

/// Serialises once: every attempt sends these very bytes.
fn encode<B: serde::Serialize>(body: &B, endpoint: &'static Endpoint) -> Result<Bytes, Error> {
    let mut bytes = Vec::with_capacity(BODY_CAPACITY);
    serde_json::to_writer(&mut bytes, body)
        .map(|()| Bytes::from(bytes))
        .map_err(|error| Error::InvalidRequest {
            endpoint: endpoint.name,
            reason: format!("it does not serialise to JSON: {error}"),
        })
}

/// Decodes what a delivered answer carries: its `data` (an absent or `null` one as `{}`), or
/// for a whole-body endpoint the body itself.
fn decode_output<T: DeserializeOwned>(
    delivered: &Delivered<T>,
    shape: ResponseShape,
) -> Result<T, Error> {
    let (bytes, what): (&[u8], &str) = match (shape, &delivered.data) {
        (ResponseShape::WholeBody, _) => (&delivered.body, "body"),
        (_, Some(range)) => (&delivered.body[range.clone()], "`data`"),
        (_, None) => (b"{}", "`data`"),
    };
    serde_json::from_slice(bytes).map_err(|error| {
        let type_name = std::any::type_name::<T>();
        let short_name = type_name.rsplit("::").next().unwrap_or(type_name);
        invalid_success(
            delivered,
            format!("the {what} is not a valid `{short_name}`: {error}"),
        )
    })
}

/// A success answer whose body is not what the endpoint documents.
fn invalid_success<T>(delivered: &Delivered<T>, reason: impl Into<String>) -> Error {
    Error::InvalidResponse(Box::new(invalid_response(
        delivered.call.clone(),
        delivered.meta.status,
        delivered.meta.log_id.clone(),
        reason.into(),
        &delivered.body,
    )))
}

/// An [`InvalidResponse`] that keeps the body's start, unless the endpoint's answers carry a
/// secret: then neither the body nor the secret (should the reason quote it) is kept.
fn invalid_response(
    call: CallInfo,
    status: u16,
    log_id: Option<String>,
    mut reason: String,
    body: &[u8],
) -> InvalidResponse {
    if call.endpoint != TENANT_ACCESS_TOKEN_INTERNAL.name {
        return InvalidResponse::new(call, status, log_id, reason, body);
    }
    let secret = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json.get("tenant_access_token")?.as_str().map(str::to_owned))
        .filter(|token| !token.is_empty());
    if let Some(secret) = secret {
        reason = reason.replace(&secret, "[redacted]");
    }
    InvalidResponse::new(call, status, log_id, reason, b"").withhold_body()
}

/// A response body, read up to [`MAX_RESPONSE_BODY_BYTES`].
enum Body {
    Complete(Bytes),
    /// The body was larger; these are its first `MAX_RESPONSE_BODY_BYTES` bytes.
    TooLarge(Bytes),
}

/// Reads the body chunk by chunk, so that a huge one is never held in memory.
async fn read_body(mut response: reqwest::Response) -> Result<Body, reqwest::Error> {
    // Most answers arrive in one chunk: that one is kept as it is, without a copy.
    let Some(first) = response.chunk().await? else {
        return Ok(Body::Complete(Bytes::new()));
    };
    if first.len() > MAX_RESPONSE_BODY_BYTES {
        return Ok(Body::TooLarge(first.slice(..MAX_RESPONSE_BODY_BYTES)));
    }
    let Some(second) = response.chunk().await? else {
        return Ok(Body::Complete(first));
    };
    let expected = response
        .content_length()
        .and_then(|length| usize::try_from(length).ok())
        .unwrap_or(0);
    let mut body = Vec::with_capacity(expected.min(MAX_RESPONSE_BODY_BYTES));
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        let room = MAX_RESPONSE_BODY_BYTES - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok(Body::TooLarge(Bytes::from(body)));
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await?;
    }
    Ok(Body::Complete(Bytes::from(body)))
}

/// Sends one attempt and judges the answer.
async fn send_attempt<T: DeserializeOwned>(
    http: &reqwest::Client,
    request: reqwest::Request,
    call: CallInfo,
    already_exists: Option<&AlreadyExistsRule>,
    decode: OnePass<T>,
) -> Result<Delivered<T>, Error> {
    let transport = |call: CallInfo, source: reqwest::Error| {
        // A connect error (refused, DNS, TLS handshake) means no byte of the request left.
        let never_left = source.is_connect();
        let error = Box::new(TransportError {
            call,
            source: Arc::new(source),
        });
        if never_left {
            Error::NotSent(error)
        } else {
            Error::MaybeSent(error)
        }
    };
    let response = match http.execute(request).await {
        Ok(response) => response,
        Err(source) => return Err(transport(call, source)),
    };
    let status = response.status().as_u16();
    let headers = response.headers();
    let header_log_id = header_text(headers, &LOG_ID_HEADER).map(str::to_owned);
    let rate_limit_reset = header_text(headers, &RATE_LIMIT_RESET_HEADER).and_then(parse_seconds);
    let body = match read_body(response).await {
        Ok(Body::Complete(body)) => body,
        Ok(Body::TooLarge(start)) => {
            let reason = format!("the body is larger than {MAX_RESPONSE_BODY_BYTES} bytes");
            let mut invalid = invalid_response(call, status, header_log_id, reason, &start);
            invalid.rate_limit_reset = rate_limit_reset;
            return Err(Error::InvalidResponse(Box::new(invalid)));
        }
        Err(source) => return Err(transport(call, source)),
    };
    judge(
        call,
        status,
        header_log_id,
        rate_limit_reset,
        body,
        already_exists,
        decode,
    )
}

/// Turns an answer into the call's result: a delivery, or an [`Error::Api`] /
/// [`Error::InvalidResponse`].
fn judge<T: DeserializeOwned>(
    call: CallInfo,
    status: u16,
    header_log_id: Option<String>,
    rate_limit_reset: Option<Duration>,
    body: Bytes,
    already_exists: Option<&AlreadyExistsRule>,
    decode: OnePass<T>,
) -> Result<Delivered<T>, Error> {
    let invalid = |call: CallInfo, log_id: Option<String>, reason: String, body: &[u8]| {
        let mut invalid = invalid_response(call, status, log_id, reason, body);
        invalid.rate_limit_reset = rate_limit_reset;
        Error::InvalidResponse(Box::new(invalid))
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid(call, header_log_id, "empty body".into(), &body));
    }
    let (envelope, output) = match decode.success(&body) {
        Some(read) => read,
        None => match read_envelope(&body) {
            Ok(envelope) => (envelope, None),
            Err(reason) => return Err(invalid(call, header_log_id, reason, &body)),
        },
    };
    let mut detail = envelope.error.unwrap_or_default();
    let log_id = detail.log_id.take().or(header_log_id);
    let msg = envelope.msg.unwrap_or_default();
    let success_status = (200..300).contains(&status);
    let data = envelope.data;
    let delivered = |call: CallInfo, log_id, msg, body| Delivered {
        data,
        output,
        meta: CallMeta {
            status,
            log_id,
            request_id: call.request_id.as_str().to_owned(),
            attempts: call.attempts,
            earlier_attempt_may_have_been_processed: call.earlier_attempt_may_have_been_processed,
        },
        call,
        code: envelope.code,
        msg,
        body,
    };
    if envelope.code == 0 {
        if success_status {
            return Ok(delivered(call, log_id, msg, body));
        }
        return Err(invalid(
            call,
            log_id,
            format!("HTTP {status} with code 0"),
            &body,
        ));
    }
    if already_exists.is_some_and(|rule| rule.matches(status, envelope.code, &msg)) {
        return Ok(delivered(call, log_id, msg, body));
    }
    Err(Error::Api(Box::new(ApiError {
        call,
        status,
        code: envelope.code,
        msg,
        log_id,
        detail,
        rate_limit_reset,
    })))
}

/// What every Feishu answer has: `code`, `msg`, `error` and `data`, with `data` as `D`. An
/// answer is parsed once: a success straight into the endpoint's output type ([`OnePass`]),
/// anything else with `data` left unparsed ([`RawValue`], [`read_envelope`]), which then
/// keeps where `data` lies in the body ([`Envelope`]).
///
/// Not [`ApiResponse`](feishu_hire_types::ApiResponse): its derive requires `D: Default`.
#[derive(Deserialize)]
struct WireEnvelope<D> {
    #[serde(deserialize_with = "feishu_hire_types::wire::lenient::i64")]
    code: i64,
    #[serde(default)]
    msg: Option<String>,
    #[serde(default)]
    error: Option<ErrorDetail>,
    #[serde(default = "none")]
    data: Option<D>,
}

/// `data`'s default, without the `D: Default` bound that `#[serde(default)]` would add.
fn none<D>() -> Option<D> {
    None
}

/// An envelope once read: `data` is where it lies in the body, if the answer has it.
type Envelope = WireEnvelope<Range<usize>>;

impl<D> WireEnvelope<D> {
    /// Takes `data` out, and puts in its place what `place` makes of it.
    fn split_data<E>(self, place: impl FnOnce(&D) -> Option<E>) -> (WireEnvelope<E>, Option<D>) {
        let envelope = WireEnvelope {
            code: self.code,
            msg: self.msg,
            error: self.error,
            data: self.data.as_ref().and_then(place),
        };
        (envelope, self.data)
    }
}

/// Reads the envelope of an answer; a reason if the body is not JSON or has no `code`.
///
/// `data` is left unparsed, so an answer is parsed once: here, and its `data` (only) again
/// into the endpoint's output type.
fn read_envelope(body: &[u8]) -> Result<Envelope, String> {
    if let Ok(raw) = serde_json::from_slice::<WireEnvelope<&RawValue>>(body) {
        let (envelope, _) = raw.split_data(|data| {
            Some(data.get())
                .filter(|data| *data != "null")
                .and_then(|data| range_within(body, data.as_bytes()))
        });
        return Ok(envelope);
    }
    // Not the documented shape: keep what can be read (the code of an answer whose `msg` or
    // `error` has an unexpected shape), or say why nothing can.
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
        if error.is_eof() {
            format!("truncated JSON: {error}")
        } else {
            format!("not JSON: {error}")
        }
    })?;
    let code_only = serde_json::json!({ "code": json.get("code") });
    let envelope = ErrorEnvelope::deserialize(&code_only)
        .map_err(|_| "JSON without an integer `code`".to_owned())?;
    Ok(Envelope {
        code: envelope.code,
        msg: json
            .get("msg")
            .and_then(|msg| msg.as_str())
            .map(str::to_owned),
        error: None,
        data: None,
    })
}

/// Reads a success answer's envelope and its `data`, typed, in one pass, so that an answer is
/// parsed once. Carries no value (only the type), so the futures that pass it along stay
/// `Send` whatever the output type.
struct OnePass<T> {
    shape: ResponseShape,
    output: PhantomData<fn() -> T>,
}

// Not derived: a derive would require `T: Clone`.
impl<T> Clone for OnePass<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for OnePass<T> {}

impl<T: DeserializeOwned> OnePass<T> {
    fn new(shape: ResponseShape) -> Self {
        Self {
            shape,
            output: PhantomData,
        }
    }

    /// Reads `body` as a success (`code` 0) whose `data` is the output: the envelope, and the
    /// `data` (`None` if absent or `null`). `None` for anything else (a refusal, an unexpected
    /// shape, a whole-body endpoint): [`read_envelope`] then reads the body as before, with
    /// the same result and error detail.
    fn success(self, body: &[u8]) -> Option<(Envelope, Option<T>)> {
        if !matches!(self.shape, ResponseShape::Envelope) {
            return None;
        }
        let envelope: WireEnvelope<T> = serde_json::from_slice(body).ok()?;
        if envelope.code != 0 {
            return None;
        }
        Some(envelope.split_data(|_| None))
    }

    /// The delivered answer's output: the `data` read with its envelope, else decoded from the
    /// body (an absent `data` as `{}`, a whole-body endpoint's body).
    fn output(self, delivered: &mut Delivered<T>) -> Result<T, Error> {
        match delivered.output.take() {
            Some(data) => Ok(data),
            None => decode_output(delivered, self.shape),
        }
    }
}

/// Where `part`, a slice borrowed from `whole`, lies in it.
fn range_within(whole: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= whole.len()).then_some(start..end)
}

fn header_text<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// `x-ogw-ratelimit-reset`: whole or fractional seconds.
fn parse_seconds(text: &str) -> Option<Duration> {
    text.parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_and_errors_cross_threads() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<Client>();
        shareable::<Error>();
        shareable::<CreateOutcome>();
    }

    #[test]
    fn endpoint_urls_are_what_parsing_the_whole_text_gives() {
        let query = [
            ("page_size", "10".to_owned()),
            ("page_token", "a b/=&?".to_owned()),
        ];
        for base_url in [
            "http://127.0.0.1:8080",
            "https://open.feishu.cn",
            "https://proxy.example.com/feishu",
            "https://proxy.example.com/a b/c%2Fd",
            "http://[::1]:9000/prefix",
        ] {
            let base = reqwest::Url::parse(base_url).unwrap();
            for path in [
                "/open-apis/hire/v1/external_interviews",
                "/open-apis/hire/v1/external_interviews/7395015160784716044",
                "/open-apis/hire/v1/external_interviews/a%2Fb%3Fc%23d%25e%20%E5%BC%A0",
                "/open-apis/x/./y/../z",
                "/open-apis/hire/v1/external_interviews/%2E",
                "/open-apis/hire/v1/external_interviews/%2E%2E",
                "/open-apis/hire/v1/external_interviews/%2e/x",
            ] {
                for query in [&[][..], &query[..]] {
                    let mut text = format!("{base_url}{path}");
                    if !query.is_empty() {
                        text.push('?');
                        text.push_str(&feishu_hire_types::url::encode_query(query));
                    }
                    let expected = reqwest::Url::parse(&text).unwrap();
                    assert_eq!(endpoint_url(&base, path, query), expected, "{text}");
                }
            }
        }
    }

    #[test]
    fn fixed_urls_are_the_ones_built_per_call() {
        for base_url in ["http://127.0.0.1:8080", "https://proxy.example.com/feishu/"] {
            let base = reqwest::Url::parse(base_url).unwrap();
            let urls = EndpointUrls::new(base.clone());
            assert!(!urls.fixed.is_empty());
            for endpoint in feishu_hire_types::ENDPOINTS {
                let url = urls.url(endpoint.path, &[]);
                assert_eq!(
                    matches!(url, Cow::Borrowed(_)),
                    endpoint.path_params.is_empty(),
                    "{}",
                    endpoint.name
                );
                assert_eq!(*url, endpoint_url(&base, endpoint.path, &[]));
                let query = [("page_size", "10".to_owned())];
                assert_eq!(
                    urls.url(endpoint.path, &query).into_owned(),
                    endpoint_url(&base, endpoint.path, &query)
                );
            }
        }
    }

    #[test]
    fn reset_header_is_seconds() {
        assert_eq!(parse_seconds("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_seconds("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("soon"), None);
    }
}
