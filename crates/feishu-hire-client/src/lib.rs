//! A thin, safe client for Feishu (Lark) Hire's open API, built on the generated types of
//! [`feishu_hire_types`]: tenant tokens, typed errors, client-side rate limiting and retries
//! that never risk a duplicate.
//!
//! ```no_run
//! use feishu_hire_client::{Client, CreateOutcome};
//! use feishu_hire_types::{CreateExternalInterviewRequest, ParticipateStatus};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .app_credentials("cli_a1b2c3d4", "app-secret") // or .tenant_access_token("t-…")
//!     .build()?;
//!
//! let request = CreateExternalInterviewRequest::new("6960663240925956437")
//!     .external_id("ats-interview-42") // makes retries safe
//!     .participate_status(ParticipateStatus::Participated)
//!     .begin_time(1_618_500_278_638);
//!
//! match client.create_external_interview(&request).await {
//!     Ok(CreateOutcome::Created { interview, meta }) => {
//!         println!("created {:?}, log id {:?}", interview.id, meta.log_id);
//!     }
//!     Ok(outcome) => println!("created earlier: {outcome:?}"),
//!     Err(error) if error.may_have_been_created() => {
//!         eprintln!("may have been created; retry later with the same external_id: {error}");
//!     }
//!     Err(error) => eprintln!("not created: {error}"),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`Client::send`] sends any request type of the specs and returns what a successful answer
//! carries (the envelope's `data`); method, path (with percent-encoded path parameters), query
//! string, rate limit and idempotency come from its generated
//! [`Endpoint`](feishu_hire_types::Endpoint). [`Client::paginate`] turns a paginated endpoint
//! into a stream of items. How requests and responses are encoded (strict requests, lenient
//! responses) is described in [`feishu_hire_types::wire`].
//!
//! ```no_run
//! use feishu_hire_client::Client;
//! use feishu_hire_types::{UpdateExternalInterviewBody, UpdateExternalInterviewRequest};
//!
//! # async fn run(client: Client) -> Result<(), feishu_hire_client::Error> {
//! let update = UpdateExternalInterviewRequest::new(
//!     "7395015160784716044", // path parameter: percent-encoded into the URL
//!     UpdateExternalInterviewBody::new("6960663240925956437").begin_time(1_618_500_278_638),
//! );
//! let answer = client.send(&update).await?; // PUT: safe to repeat, retried after a 5xx
//! println!("{:?}", answer.data.external_interview);
//! # Ok(())
//! # }
//! ```
//!
//! # Requests
//!
//! Every request carries `Authorization: Bearer <tenant_access_token>`,
//! `Content-Type: application/json; charset=utf-8`, `User-Agent: feishu-hire-client/<version>`
//! and `Oapi-Sdk-Request-Id: <uuid>`, one id per call and the same on every attempt (it is also
//! in [`CallMeta::request_id`], in errors and in `tracing` spans). The ids are version-4 UUIDs:
//! a random one per client with a per-call counter folded into its low bits, so they are
//! unique without a system call per call. The body is serialised once, so every attempt sends
//! the same bytes. Each attempt times out after 30 s by default.
//!
//! # Tokens
//!
//! With [`app_credentials`](ClientBuilder::app_credentials) the client fetches a tenant token
//! from `tenant_access_token/internal` and uses it until 5 minutes before it expires (half its
//! life, if it lives 10 minutes or less). Calls that need a token at the same moment share one
//! fetch. When Feishu answers 99991663, 99991664 or 99991671 (token invalid), the client drops
//! the token, fetches a new one and repeats the call once. If the token endpoint fails, the
//! call fails with the token fetch's error ([`Error::is_token_error`]), and was not sent.
//!
//! # Errors
//!
//! [`Error::delivery`] says what happened to the request: [`Delivery::NotSent`] (safe to send
//! again), [`Delivery::MaybeSent`] (timeout or lost connection: it may have been processed) or
//! [`Delivery::Answered`]. An answered error carries the HTTP status, `code`, `msg`, log id
//! (from `error.log_id` or the `X-Tt-Logid` header), troubleshooter link, field and permission
//! violations, and the code's [`ErrorCategory`](feishu_hire_types::ErrorCategory) from the
//! generated [`ErrorCode`](feishu_hire_types::ErrorCode). A body that is not the documented
//! JSON (a gateway's HTML page, an empty or truncated body) is an [`Error::InvalidResponse`]
//! with the status and the start of the body. [`Error::may_have_been_created`] tells whether a
//! failed create call might still have created the interview.
//!
//! # Retries
//!
//! One classifier judges every failed attempt: whether the request may have taken effect, and
//! whether it may be sent again. Whether a request is *safe to repeat* comes from its
//! endpoint's idempotency in the spec ([`ApiRequest::is_safe_to_repeat`](feishu_hire_types::ApiRequest::is_safe_to_repeat)):
//! `GET`, `PUT` and `DELETE` by their method, read-only queries sent as `POST` (batch query,
//! the token endpoint), and creates that carry their idempotency key (`external_id`).
//!
//! | What happened                                       | Retried                         | Wait before the retry          |
//! |-----------------------------------------------------|---------------------------------|--------------------------------|
//! | no connection (refused, DNS, TLS handshake)         | always: nothing was sent        | backoff                        |
//! | HTTP 429, or code 99991400                          | always: Feishu refused it       | `x-ogw-ratelimit-reset` seconds, else backoff |
//! | token refused (99991663, 99991664, 99991671)        | once, with a new token (app credentials only) | none             |
//! | timeout, connection lost after sending              | only if safe to repeat          | backoff                        |
//! | HTTP 5xx, or code 1002001 (system error)            | only if safe to repeat          | backoff                        |
//! | anything else (parameter, permission, unknown code) | never                           |                                |
//!
//! A request that is not safe to repeat (a create without `external_id`, a `PATCH`) gets a
//! server error or timeout back at once, marked
//! [may have taken effect](Error::may_have_taken_effect), because sending it again could act
//! twice. The [`RetryPolicy`] bounds the attempts and the total time; a wait that would end
//! after its deadline is not started. Waits go through a [`Sleeper`], which tests replace to
//! record them.
//!
//! A create retried after an attempt that may have been processed relies on Feishu honouring
//! its `external_id`. A successful call says so in
//! [`CallMeta::earlier_attempt_may_have_been_processed`], and
//! [`RetryPolicy::no_retry_after_possible_effect`] turns exactly those retries off (for a
//! target that may not honour the key), keeping every other one.
//!
//! # Rate limiting
//!
//! The client paces requests to each endpoint at its documented rate (10 requests per second
//! for creating interviews), evenly spaced, with one limiter per endpoint shared by all clones
//! of a client. Change it with [`rate_limit_per_second`](ClientBuilder::rate_limit_per_second)
//! (for several processes sharing one app) or turn it off with
//! [`no_rate_limit`](ClientBuilder::no_rate_limit).
//!
//! # Repeated `external_id`
//!
//! Feishu documents that the same `external_id` creates at most one interview within 24 hours,
//! but not what it answers to the second request. We do not guess; the client handles both
//! plausible answers:
//!
//! - **Feishu returns the stored record** (code 0 with `data.external_interview`): the client
//!   reports [`CreateOutcome::Created`]. It cannot tell this from a first creation, since the
//!   answers look the same, and it does not need to: either way exactly one interview exists
//!   for the `external_id`, and the caller holds it.
//! - **Feishu refuses with some error code**: by default that is an [`Error::Api`] like any
//!   other refusal, because the code is undocumented. Once you know the answer, configure an
//!   [`AlreadyExistsRule`] (by code, or by a predicate on status, code and message) and the
//!   client reports [`CreateOutcome::AlreadyExists`] instead. The rule applies only to requests
//!   with an `external_id`, and before retry decisions: a matching answer ends the call.
//!
//! The assumption behind this: Feishu keeps its documented promise, so a repeat never creates
//! a second interview, whatever it answers.
//!
//! # Logs
//!
//! The client emits `tracing` events in a `feishu_hire_call` span carrying the endpoint and
//! request id; events carry the attempt, status, code and log id. Secrets (app secret, tokens)
//! appear in no log, `Debug` output or error.
//!
//! # What a call costs
//!
//! A call is meant to cost about what the bare HTTP request costs with reqwest (one client
//! reused, the body serialised beforehand, the answer parsed into a `serde_json::Value`):
//! `cargo run --release -p feishu-hire-bench -- --only client` measures both side by side
//! (see the workspace README, "Performance"). Per call the client does, on top of reqwest:
//!
//! - **serialises the body once**, into bytes that every attempt reuses (the one cost plain
//!   reqwest with a pre-serialised body does not pay: about 1 µs for a documented create).
//!   A caller that already holds the body's bytes, checked against the endpoint's schema, can
//!   skip even that with [`create_external_interview_encoded`](Client::create_external_interview_encoded),
//!   which sends them as they are; an [`EncodedCreate`] reads only their `external_id`;
//! - **builds the URL from the base URL parsed once** when the client is built, so scheme
//!   and host are not parsed again (parsing the whole URL text, as
//!   `reqwest::Client::post(&str)` does, is the largest single cost of a plain reqwest
//!   call): the URL of an endpoint without path parameters (a create, the token endpoint) is
//!   made then, once, and other calls set only their path and query;
//! - **parses a success answer once**: `code`, `msg`, `error` and the typed `data` in one
//!   pass, with nothing kept as a `Value`. Only an answer that is not a plain success (a
//!   refusal, a shape the endpoint does not document) is read again, field by field, to
//!   classify it and keep its detail;
//! - **keeps an answer that arrives in one chunk as it is** (no copy; answers arriving in
//!   several chunks are gathered, up to [`MAX_RESPONSE_BODY_BYTES`]);
//! - **builds the request directly** (no `RequestBuilder`), with header names as constants,
//!   the `Authorization` value made once per token and cached with it, and neither a
//!   per-request timeout nor a `User-Agent` header when the client's own reqwest client
//!   already has them (with [`http_client`](ClientBuilder::http_client) they are set per
//!   request, as documented);
//! - **takes its request id from a counter** (see "Requests"), not from the OS, and keeps it
//!   inline: attempts and errors copy it without allocating, and its header value is made
//!   once per call;
//! - **skips the `tracing` span** when no subscriber wants it; with a subscriber that
//!   records `feishu_hire_call` spans, each call pays for one span with two fields;
//! - takes its token from the cache (a fixed token is borrowed: no lock, no copy) and, with
//!   [`no_rate_limit`](ClientBuilder::no_rate_limit), passes no rate limiter.
//!
//! Little of what a call allocates lives across the wait for the answer (the body, the URL
//! and headers reqwest needs, the request id's header value): a task often resumes on
//! another worker thread, and memory freed on another thread than the one that allocated it
//! is slow with some allocators (glibc's among them).
//!
//! What stays is the attempt timer (reqwest's timeout: one timer per attempt) and the typed
//! decoding itself: a create's answer echoes the whole interview, and decoding it as an
//! [`ExternalInterview`](feishu_hire_types::ExternalInterview) costs about a microsecond
//! (less than plain reqwest's `Value`); a caller that needs only some of it (the importer
//! keeps the id) can name a smaller type with
//! [`create_external_interview_encoded_as`](Client::create_external_interview_encoded_as).
//! Retries, token refreshes and error detail cost nothing until they happen.

mod already_exists;
mod builder;
mod classify;
mod client;
mod encoded;
mod error;
mod paginate;
mod rate_limit;
mod request_id;
mod retry;
mod secret;
mod token;

pub use already_exists::AlreadyExistsRule;
pub use builder::{BuildError, ClientBuilder};
pub use client::{Answer, CallMeta, Client, CreateOutcome, MAX_RESPONSE_BODY_BYTES};
pub use encoded::EncodedCreate;
pub use error::{ApiError, CallInfo, Delivery, Error, InvalidResponse, TransportError};
pub use paginate::Paginator;
pub use retry::{RetryPolicy, SleepFuture, Sleeper, TokioSleeper};

/// The generated types this client sends and receives.
pub use feishu_hire_types as types;

/// The workspace README's Rust examples, compiled and run as this crate's doctests so they
/// cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
