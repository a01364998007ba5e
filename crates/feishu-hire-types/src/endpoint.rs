//! Descriptions of endpoints, shared by all generated endpoint constants.
//!
//! A client needs to know, for a request type, where to send it and how it may
//! be retried; [`ApiRequest`] and [`Endpoint`] carry exactly that from the spec.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl HttpMethod {
    /// The method as it appears in a request line.
    pub const fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The access token an endpoint takes in its `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessTokenKind {
    /// None: the token endpoints themselves.
    None,
    /// A `tenant_access_token`.
    Tenant,
    /// A `user_access_token`.
    User,
}

/// A documented rate limit: `requests` per `per_seconds` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length in seconds.
    pub per_seconds: u32,
}

impl RateLimit {
    /// The window as a [`Duration`].
    pub const fn window(self) -> Duration {
        Duration::from_secs(self.per_seconds as u64)
    }
}

/// A documented idempotency rule: requests with the same value of `field`
/// create one resource within `window_hours`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Idempotency {
    /// Wire name of the request field that carries the key.
    pub field: &'static str,
    /// How long the server remembers a key, in hours.
    pub window_hours: u32,
}

impl Idempotency {
    /// The window as a [`Duration`].
    pub const fn window(self) -> Duration {
        Duration::from_secs(self.window_hours as u64 * 3600)
    }
}

/// Everything the spec says about one endpoint that a client or server needs at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// snake_case name from the spec.
    pub name: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path below the host, starting with `/`.
    pub path: &'static str,
    /// The token it takes.
    pub access_token: AccessTokenKind,
    /// Permission scopes, any one of which suffices.
    pub scopes: &'static [&'static str],
    /// The documented rate limit.
    pub rate_limit: Option<RateLimit>,
    /// The idempotency rule.
    pub idempotency: Option<Idempotency>,
    /// Codes of the endpoint's own error table (see `ErrorCode::from_code`).
    pub error_codes: &'static [i64],
    /// Public documentation.
    pub docs: &'static str,
}

/// What kind of failure an error code reports. Clients decide retries by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// The request is wrong; sending it again will not help.
    Parameter,
    /// The server failed; a retry may succeed (if the request is idempotent).
    System,
    /// Too many requests; wait, then retry.
    RateLimited,
    /// The access token is missing, invalid or expired.
    Auth,
    /// The app lacks a permission (scope).
    Permission,
    /// A code the specs do not list.
    Unknown,
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorCategory::Parameter => "parameter",
            ErrorCategory::System => "system",
            ErrorCategory::RateLimited => "rate limited",
            ErrorCategory::Auth => "auth",
            ErrorCategory::Permission => "permission",
            ErrorCategory::Unknown => "unknown",
        })
    }
}

/// A request body type, tied to its endpoint and response body type.
///
/// Generated for the `request` object of every endpoint in the specs.
pub trait ApiRequest: Serialize {
    /// The response body the endpoint answers with.
    type Response: DeserializeOwned;
    /// The endpoint this request is sent to.
    const ENDPOINT: &'static Endpoint;

    /// The value of the endpoint's idempotency field, if the endpoint has one and it is set to
    /// something other than blanks.
    ///
    /// A request with a key can be retried safely within the endpoint's idempotency window.
    fn idempotency_key(&self) -> Option<&str>;
}
