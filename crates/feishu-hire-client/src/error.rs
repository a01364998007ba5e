//! What went wrong with a call, and what happened to the request on the way.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use feishu_hire_types::{
    ErrorCategory, ErrorCode, ErrorDetail, FieldViolation, PermissionViolation,
};

use crate::classify::{Effect, Repeat, classify};
use crate::request_id::RequestId;

/// How many characters of an unexpected body an error keeps.
const BODY_START_CHARS: usize = 200;

/// What happened to a request that failed. This decides whether it is safe to send it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// The request never reached Feishu (no connection, or it could not be built, or no token
    /// could be had for it). Nothing was created; sending it again is safe.
    NotSent,
    /// The request may have reached Feishu, but no answer came back (timeout, connection
    /// lost). It may have been processed.
    MaybeSent,
    /// Feishu (or a gateway in front of it) answered; the answer says what happened.
    Answered,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Delivery::NotSent => "not sent",
            Delivery::MaybeSent => "maybe sent",
            Delivery::Answered => "answered",
        })
    }
}

/// Which call an error belongs to: the endpoint, the request id, the attempts made. Every
/// error of an answered or attempted call carries one ([`Error::call`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub(crate) endpoint: &'static str,
    pub(crate) request_id: RequestId,
    pub(crate) attempts: u32,
    /// Whether an attempt before the one this error is about may have reached Feishu and been
    /// processed (it timed out, or a server error answered it). The call's last error alone
    /// would otherwise hide that, and a caller would think sending again is safe.
    pub(crate) earlier_attempt_may_have_been_processed: bool,
    /// Whether this call fetched a tenant token for another call, which then was not sent.
    pub(crate) fetching_token: bool,
}

impl CallInfo {
    /// The endpoint's name from the spec (`tenant_access_token_internal` for a token fetch).
    pub fn endpoint(&self) -> &'static str {
        self.endpoint
    }

    /// The request id sent in `Oapi-Sdk-Request-Id`, the same on every attempt.
    pub fn request_id(&self) -> &str {
        self.request_id.as_str()
    }

    /// HTTP requests made, the last one included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// See [`Error::earlier_attempt_may_have_been_processed`].
    pub fn earlier_attempt_may_have_been_processed(&self) -> bool {
        self.earlier_attempt_may_have_been_processed
    }

    /// Whether this is the token fetch of another call (see [`Error::is_token_error`]).
    pub fn is_token_fetch(&self) -> bool {
        self.fetching_token
    }

    /// `"; gave up after 3 attempts"`, or nothing for a single attempt; plus a warning when an
    /// earlier attempt may have been processed.
    fn attempts_note(&self) -> String {
        let mut note = String::new();
        if self.attempts > 1 {
            note = format!("; gave up after {} attempts", self.attempts);
        }
        if self.earlier_attempt_may_have_been_processed {
            note.push_str("; an earlier attempt may have been processed");
        }
        note
    }
}

/// The error of every client call.
///
/// Each variant answers "what happened to my request" ([`Error::delivery`]) and "could it have
/// taken effect" ([`Error::may_have_taken_effect`]). `Display` is one line without
/// secrets, fit for a log.
///
/// When no tenant token could be had, the error is the token fetch's own (its endpoint is
/// `tenant_access_token_internal`, [`Error::is_token_error`] is `true`) and the call it was for
/// was not sent: [`Error::delivery`] says so.
///
/// Cheap to clone: a failure shared by several calls (a token fetch) is handed to each.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built (for example, it does not serialise), so it was not sent.
    InvalidRequest {
        /// The endpoint's name from the spec.
        endpoint: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No connection could be made; the request never left this machine.
    NotSent(Box<TransportError>),
    /// The request may have reached Feishu, but no answer came back: a timeout, or a
    /// connection lost while sending or receiving.
    MaybeSent(Box<TransportError>),
    /// Feishu answered with a non-zero `code`.
    Api(Box<ApiError>),
    /// Something answered, but not with the JSON the endpoint documents: a gateway's HTML
    /// page, an empty or truncated body, or a success without the expected data.
    InvalidResponse(Box<InvalidResponse>),
}

impl Error {
    /// What happened to the request. For a [token error](Error::is_token_error) it is
    /// [`Delivery::NotSent`]: the call was not sent, since it had no token.
    ///
    /// A call that made several attempts reports [`Delivery::MaybeSent`] rather than
    /// `NotSent` if an earlier attempt may have been processed
    /// ([`Error::earlier_attempt_may_have_been_processed`]).
    pub fn delivery(&self) -> Delivery {
        let last_attempt = match self {
            _ if self.is_token_error() => Delivery::NotSent,
            Error::InvalidRequest { .. } | Error::NotSent(_) => Delivery::NotSent,
            Error::MaybeSent(_) => Delivery::MaybeSent,
            Error::Api(_) | Error::InvalidResponse(_) => Delivery::Answered,
        };
        if last_attempt == Delivery::NotSent && self.earlier_attempt_may_have_been_processed() {
            Delivery::MaybeSent
        } else {
            last_attempt
        }
    }

    /// Whether an attempt before the last one may have reached Feishu and been processed (it
    /// timed out, or a server error answered it), whatever became of the last one. Such a call
    /// [may have created](Error::may_have_been_created) its record.
    pub fn earlier_attempt_may_have_been_processed(&self) -> bool {
        self.call()
            .is_some_and(|call| call.earlier_attempt_may_have_been_processed)
    }

    /// Records that an earlier attempt of the call this error ends may have been processed.
    /// For a token error the mark goes on the token fetch's call info, the only call info such
    /// an error has.
    pub(crate) fn mark_earlier_attempt_may_have_been_processed(&mut self) {
        if let Some(call) = self.call_mut() {
            call.earlier_attempt_may_have_been_processed = true;
        }
    }

    /// Whether the request may have taken effect (created, changed or deleted something) even
    /// though the call failed: after a timeout or lost connection, a server error (5xx, code
    /// 1002001) or an answer that is neither success nor a refusal. `false` when the request
    /// was not sent or was refused (parameter, auth, permission, rate limit, any 4xx).
    ///
    /// A caller that sees `true` for a request that is not safe to repeat (see
    /// [`ApiRequest::is_safe_to_repeat`](feishu_hire_types::ApiRequest::is_safe_to_repeat))
    /// cannot simply send it again: it might act twice. Also `true`, whatever the last
    /// attempt's fate, when an
    /// [earlier attempt may have been processed](Error::earlier_attempt_may_have_been_processed).
    ///
    /// The judgement comes from the client's one classifier, which also decides its retries.
    pub fn may_have_taken_effect(&self) -> bool {
        self.earlier_attempt_may_have_been_processed() || classify(self).effect == Effect::Possible
    }

    /// [`Error::may_have_taken_effect`] in the words of a create call: whether the call may
    /// have created its record (so a retry without an idempotency key could duplicate it).
    pub fn may_have_been_created(&self) -> bool {
        self.may_have_taken_effect()
    }

    /// Whether the failure is about the moment, not the request: trying again later may
    /// succeed (no connection, timeout, server error, rate limit). Whether trying again is
    /// *safe* is [`Error::may_have_taken_effect`]'s question.
    pub fn is_transient(&self) -> bool {
        classify(self).repeat != Repeat::Never
    }

    /// Feishu's `code`, if it answered with one (for a token error, the token endpoint's).
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Api(api) => Some(api.code),
            _ => None,
        }
    }

    /// The code as the generated [`ErrorCode`], if Feishu answered with one.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.code().map(ErrorCode::from_code)
    }

    /// What kind of failure Feishu reported: the category of its code, or for an answer
    /// without a code, `RateLimited` for HTTP 429 and `System` for HTTP 5xx.
    pub fn category(&self) -> Option<ErrorCategory> {
        match self {
            Error::Api(api) => Some(api.category()),
            Error::InvalidResponse(invalid) => match invalid.status {
                429 => Some(ErrorCategory::RateLimited),
                status if status >= 500 => Some(ErrorCategory::System),
                _ => None,
            },
            _ => None,
        }
    }

    /// The HTTP status of the answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::InvalidResponse(invalid) => Some(invalid.status),
            _ => None,
        }
    }

    /// Feishu's log id of the answer (from `error.log_id`, else the `X-Tt-Logid` header);
    /// quote it when asking Feishu for support.
    pub fn log_id(&self) -> Option<&str> {
        match self {
            Error::Api(api) => api.log_id(),
            Error::InvalidResponse(invalid) => invalid.log_id(),
            _ => None,
        }
    }

    /// The request id the client sent in `Oapi-Sdk-Request-Id` (the same on every attempt).
    /// For a token error, the token request's.
    pub fn request_id(&self) -> Option<&str> {
        self.call().map(CallInfo::request_id)
    }

    /// How many HTTP requests the call made before it gave up (0 if none). For a token error,
    /// the requests to the token endpoint.
    pub fn attempts(&self) -> u32 {
        self.call().map_or(0, CallInfo::attempts)
    }

    /// Whether getting a tenant token failed, rather than the call itself: the error is the
    /// token fetch's, and the call it was for was not sent.
    pub fn is_token_error(&self) -> bool {
        self.call().is_some_and(CallInfo::is_token_fetch)
    }

    /// Forgets that an earlier attempt may have been processed: for a token fetch's own
    /// attempts, since fetching a token creates nothing; the calling request's own earlier
    /// attempts are marked again by its caller.
    pub(crate) fn clear_earlier_attempt_mark(&mut self) {
        if let Some(call) = self.call_mut() {
            call.earlier_attempt_may_have_been_processed = false;
        }
    }

    /// Marks this error, of a token fetch, as the reason another call was not sent.
    pub(crate) fn into_token_error(mut self) -> Self {
        if let Some(call) = self.call_mut() {
            call.fetching_token = true;
        }
        self
    }

    /// The Feishu answer, for an [`Error::Api`].
    pub fn as_api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The call the error belongs to: endpoint, request id, attempts. `None` for a request that
    /// could not be built.
    pub fn call(&self) -> Option<&CallInfo> {
        match self {
            Error::InvalidRequest { .. } => None,
            Error::NotSent(transport) | Error::MaybeSent(transport) => Some(&transport.call),
            Error::Api(api) => Some(&api.call),
            Error::InvalidResponse(invalid) => Some(&invalid.call),
        }
    }

    fn call_mut(&mut self) -> Option<&mut CallInfo> {
        match self {
            Error::InvalidRequest { .. } => None,
            Error::NotSent(transport) | Error::MaybeSent(transport) => Some(&mut transport.call),
            Error::Api(api) => Some(&mut api.call),
            Error::InvalidResponse(invalid) => Some(&mut invalid.call),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_token_error() {
            f.write_str("could not get a tenant_access_token: ")?;
        }
        match self {
            Error::InvalidRequest { endpoint, reason } => {
                write!(
                    f,
                    "{endpoint}: request not sent, it could not be built: {reason}"
                )
            }
            Error::NotSent(transport) => write!(
                f,
                "{}: request not sent, could not connect to {}: {}{}",
                transport.call.endpoint,
                transport.url(),
                root_cause(transport.source.as_ref()),
                transport.call.attempts_note()
            ),
            Error::MaybeSent(transport) if transport.timed_out() => write!(
                f,
                "{}: no answer from {} within the timeout; the request may have been processed{}",
                transport.call.endpoint,
                transport.url(),
                transport.call.attempts_note()
            ),
            Error::MaybeSent(transport) => write!(
                f,
                "{}: connection to {} failed before an answer; the request may have been processed: {}{}",
                transport.call.endpoint,
                transport.url(),
                root_cause(transport.source.as_ref()),
                transport.call.attempts_note()
            ),
            Error::Api(api) => api.fmt(f),
            Error::InvalidResponse(invalid) => invalid.fmt(f),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::NotSent(transport) | Error::MaybeSent(transport) => {
                Some(transport.source.as_ref())
            }
            _ => None,
        }
    }
}

/// The innermost cause, which is the one that says what happened ("Connection refused").
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A request that got no answer. The underlying `reqwest::Error` is the error's `source()`.
///
/// Cheap to clone (the source is shared), so one failure can be handed to every call that
/// waited on it, such as a token fetch.
#[derive(Debug, Clone)]
pub struct TransportError {
    pub(crate) call: CallInfo,
    pub(crate) source: Arc<reqwest::Error>,
}

impl TransportError {
    /// The call: endpoint, request id, attempts.
    pub fn call(&self) -> &CallInfo {
        &self.call
    }

    /// Whether the request timed out.
    pub fn timed_out(&self) -> bool {
        self.source.is_timeout()
    }

    /// The URL the request went to.
    pub fn url(&self) -> &str {
        self.source.url().map_or("the server", |url| url.as_str())
    }
}

/// Feishu's answer with a non-zero `code`: its status, code, message and error details.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub(crate) call: CallInfo,
    pub(crate) status: u16,
    pub(crate) code: i64,
    pub(crate) msg: String,
    pub(crate) log_id: Option<String>,
    pub(crate) detail: ErrorDetail,
    pub(crate) rate_limit_reset: Option<Duration>,
}

impl ApiError {
    /// The call: endpoint, request id, attempts.
    pub fn call(&self) -> &CallInfo {
        &self.call
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Feishu's `code`.
    pub fn code(&self) -> i64 {
        self.code
    }

    /// The code as the generated [`ErrorCode`] ([`ErrorCode::Unknown`] for a code the specs do not list).
    pub fn error_code(&self) -> ErrorCode {
        ErrorCode::from_code(self.code)
    }

    /// The code's category ([`ErrorCategory::Unknown`] for a code the specs do not list).
    pub fn category(&self) -> ErrorCategory {
        self.error_code().category()
    }

    /// Feishu's `msg`.
    pub fn msg(&self) -> &str {
        &self.msg
    }

    /// The log id, from `error.log_id` or else the `X-Tt-Logid` header.
    pub fn log_id(&self) -> Option<&str> {
        self.log_id.as_deref()
    }

    /// `error.troubleshooter`: a link to Feishu's advice for this error.
    pub fn troubleshooter(&self) -> Option<&str> {
        self.detail.troubleshooter.as_deref()
    }

    /// `error.field_violations`: the fields Feishu refused.
    pub fn field_violations(&self) -> &[FieldViolation] {
        &self.detail.field_violations
    }

    /// `error.permission_violations`: the permissions the app lacks.
    pub fn permission_violations(&self) -> &[PermissionViolation] {
        &self.detail.permission_violations
    }

    /// `error.details`, free-form.
    pub fn details(&self) -> &[serde_json::Value] {
        &self.detail.details
    }

    /// The wait the `x-ogw-ratelimit-reset` header asked for, if it was sent.
    pub fn rate_limit_reset(&self) -> Option<Duration> {
        self.rate_limit_reset
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.error_code();
        write!(
            f,
            "{}: HTTP {}, code {} ",
            self.call.endpoint, self.status, self.code
        )?;
        match code.description() {
            Some(description) => write!(f, "({}: {description})", code.category())?,
            None => f.write_str("(not in the specs)")?,
        }
        write!(
            f,
            ": {}",
            if self.msg.is_empty() {
                "no msg"
            } else {
                &self.msg
            }
        )?;
        for violation in self.field_violations() {
            write!(f, "; field `{}`", violation.field.as_deref().unwrap_or("?"))?;
            if let Some(value) = &violation.value {
                write!(f, " = {value:?}")?;
            }
            if let Some(description) = &violation.description {
                write!(f, ": {description}")?;
            }
        }
        for violation in self.permission_violations() {
            write!(
                f,
                "; missing permission `{}`",
                violation.subject.as_deref().unwrap_or("?")
            )?;
        }
        if let Some(log_id) = &self.log_id {
            write!(f, "; log id {log_id}")?;
        }
        f.write_str(&self.call.attempts_note())
    }
}

/// An answer that is not the JSON the endpoint documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidResponse {
    pub(crate) call: CallInfo,
    pub(crate) status: u16,
    pub(crate) log_id: Option<String>,
    pub(crate) reason: String,
    pub(crate) body_start: String,
    /// The body was not kept because it may carry a secret (a token endpoint's answer).
    pub(crate) body_withheld: bool,
    pub(crate) rate_limit_reset: Option<Duration>,
}

impl InvalidResponse {
    pub(crate) fn new(
        call: CallInfo,
        status: u16,
        log_id: Option<String>,
        reason: impl Into<String>,
        body: &[u8],
    ) -> Self {
        Self {
            call,
            status,
            log_id,
            reason: reason.into(),
            body_start: body_start(body),
            body_withheld: false,
            rate_limit_reset: None,
        }
    }

    /// Forgets the body: the answer may carry a token, which must not reach logs.
    pub(crate) fn withhold_body(mut self) -> Self {
        self.body_start = String::new();
        self.body_withheld = true;
        self
    }

    /// The call: endpoint, request id, attempts.
    pub fn call(&self) -> &CallInfo {
        &self.call
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `X-Tt-Logid` header, if any.
    pub fn log_id(&self) -> Option<&str> {
        self.log_id.as_deref()
    }

    /// What is wrong with the body ("empty body", the JSON parser's message, …).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The first 200 characters of the body (invalid UTF-8 replaced), `…` if there was more.
    /// Empty for the token endpoint, whose answers may carry a token.
    pub fn body_start(&self) -> &str {
        &self.body_start
    }

    /// The wait the `x-ogw-ratelimit-reset` header asked for, if it was sent.
    pub fn rate_limit_reset(&self) -> Option<Duration> {
        self.rate_limit_reset
    }
}

impl fmt::Display for InvalidResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: unexpected HTTP {} answer: {}",
            self.call.endpoint, self.status, self.reason
        )?;
        if let Some(log_id) = &self.log_id {
            write!(f, "; log id {log_id}")?;
        }
        if self.body_withheld {
            f.write_str("; body not shown, it may carry a token")?;
        } else if !self.body_start.is_empty() {
            // Debug quotes and escapes it, which keeps the message on one line.
            write!(f, "; body starts {:?}", self.body_start)?;
        }
        f.write_str(&self.call.attempts_note())
    }
}

fn body_start(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut start: String = text.chars().take(BODY_START_CHARS).collect();
    if start.len() < text.len() {
        start.push('…');
    }
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> CallInfo {
        CallInfo {
            endpoint: "create_external_interview",
            request_id: RequestId::from_text("r"),
            attempts: 1,
            earlier_attempt_may_have_been_processed: false,
            fetching_token: false,
        }
    }

    #[test]
    fn body_start_keeps_200_chars() {
        let long = "字".repeat(300);
        let start = body_start(long.as_bytes());
        assert_eq!(start.chars().count(), 201);
        assert!(start.ends_with('…'));
        assert_eq!(body_start(b"short"), "short");
        assert_eq!(body_start(b"\xff"), "\u{fffd}");
    }

    #[test]
    fn refusals_did_not_create_and_server_errors_may_have() {
        let api = |status, code| {
            Error::Api(Box::new(ApiError {
                call: call(),
                status,
                code,
                msg: String::new(),
                log_id: None,
                detail: ErrorDetail::new(),
                rate_limit_reset: None,
            }))
        };
        assert!(!api(400, 1_002_002).may_have_been_created());
        assert!(api(500, 1_002_001).may_have_been_created());
        assert!(api(200, 1_002_001).may_have_been_created());
        assert!(!api(429, 99_991_400).may_have_been_created());
        assert!(!api(400, 42).may_have_been_created());
        assert!(api(200, 42).may_have_been_created());
        assert!(api(503, 42).may_have_been_created());
        let invalid = |status| {
            Error::InvalidResponse(Box::new(InvalidResponse::new(
                call(),
                status,
                None,
                "x",
                b"",
            )))
        };
        assert!(invalid(502).may_have_been_created());
        assert!(invalid(200).may_have_been_created());
        assert!(!invalid(404).may_have_been_created());
        assert_eq!(invalid(404).delivery(), Delivery::Answered);
    }
}
