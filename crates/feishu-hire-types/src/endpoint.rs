//! Descriptions of endpoints, shared by all generated endpoint constants.
//!
//! A client needs to know, for a request type, where to send it and how it may
//! be retried; [`ApiRequest`] and [`Endpoint`] carry exactly that from the spec.

use std::borrow::Cow;
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

/// Whether a request that may have taken effect can be sent again: the endpoint's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Idempotency {
    /// Safe to repeat by its method: `GET`, `PUT` and `DELETE` have the same effect when sent
    /// twice.
    ByMethod,
    /// The endpoint only reads (a query sent as `POST`): always safe to repeat.
    ReadOnly,
    /// Safe to repeat when the body carries a key in `field`: the server creates one resource
    /// per key within `window_hours`.
    ByKey {
        /// Wire name of the body field that carries the key.
        field: &'static str,
        /// How long the server remembers a key, in hours.
        window_hours: u32,
    },
    /// Never repeated once it may have taken effect: a second one could act twice.
    Never,
}

impl Idempotency {
    /// Whether every request to the endpoint is safe to repeat, key or not.
    pub const fn always_safe(self) -> bool {
        matches!(self, Idempotency::ByMethod | Idempotency::ReadOnly)
    }

    /// How long the server remembers a key, for a key-based rule.
    pub const fn key_window(self) -> Option<Duration> {
        match self {
            Idempotency::ByKey { window_hours, .. } => {
                Some(Duration::from_secs(window_hours as u64 * 3600))
            }
            _ => None,
        }
    }
}

/// The type of a path or query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParamKind {
    /// Text.
    String,
    /// A 32-bit integer.
    Int32,
    /// A 64-bit integer.
    Int64,
    /// `true` or `false`.
    Boolean,
    /// An integer enumeration with these listed values.
    Enum(&'static [i64]),
}

/// A path or query parameter of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Param {
    /// The name: the `:name` placeholder of the path, or the query key.
    pub name: &'static str,
    /// Its type.
    pub kind: ParamKind,
    /// Whether it must be sent (path parameters always).
    pub required: bool,
    /// The smallest value the API takes (integer parameters).
    pub minimum: Option<i64>,
    /// The largest value the API takes (integer parameters).
    pub maximum: Option<i64>,
}

/// What a successful answer of an endpoint is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseShape {
    /// The platform envelope (`code`, `msg`, `data`, `error`); the output is its `data`.
    Envelope,
    /// A body of its own with `code` and `msg` beside the output's fields (the token endpoints).
    WholeBody,
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
    /// Path below the host, starting with `/`; `:name` segments are path parameters.
    pub path: &'static str,
    /// Path parameters, in the order they appear in the path.
    pub path_params: &'static [Param],
    /// Query parameters.
    pub query_params: &'static [Param],
    /// Whether the request has a JSON body.
    pub has_body: bool,
    /// What a successful answer is.
    pub response: ResponseShape,
    /// Whether the endpoint pages its answers (see [`Paginated`]).
    pub paginated: bool,
    /// The token it takes.
    pub access_token: AccessTokenKind,
    /// Permission scopes, any one of which suffices.
    pub scopes: &'static [&'static str],
    /// The documented rate limit.
    pub rate_limit: Option<RateLimit>,
    /// The idempotency rule.
    pub idempotency: Idempotency,
    /// Codes of the endpoint's own error table (see `ErrorCode::from_code`).
    pub error_codes: &'static [i64],
    /// Public documentation.
    pub docs: &'static str,
}

impl Endpoint {
    /// Why a filled-in path (as [`ApiRequest::path`] returns it) would not reach this endpoint,
    /// if it would not: a path parameter that is empty, `.` or `..` (percent-encoded or not)
    /// is removed or resolved by URL parsers (WHATWG treats `%2E` as `.`), so the request would
    /// go to another path. Clients refuse to send such a request.
    ///
    /// ```
    /// use feishu_hire_types::{ApiRequest, DeleteExternalInterviewRequest, DELETE_EXTERNAL_INTERVIEW};
    ///
    /// let fine = DeleteExternalInterviewRequest::new("a/b");
    /// assert_eq!(DELETE_EXTERNAL_INTERVIEW.path_problem(&fine.path()), None);
    /// let dots = DeleteExternalInterviewRequest::new("..");
    /// assert!(DELETE_EXTERNAL_INTERVIEW.path_problem(&dots.path()).is_some());
    /// ```
    pub fn path_problem(&self, path: &str) -> Option<String> {
        // Clients check every request's path: no allocation unless there is a problem, and for
        // an endpoint without path parameters (its path is the template) no walk either.
        if path == self.path {
            return None;
        }
        if self.path.split('/').count() != path.split('/').count() {
            return Some(format!(
                "`{path}` does not have the segments of `{}`",
                self.path
            ));
        }
        for (want, got) in self.path.split('/').zip(path.split('/')) {
            match want.strip_prefix(':') {
                Some(name) if got.is_empty() || is_dot_segment(got) => {
                    return Some(format!(
                        "path parameter `{name}` is {}: a URL cannot carry it as a path segment",
                        if got.is_empty() {
                            "empty".to_owned()
                        } else {
                            format!("`{}`", got.to_ascii_uppercase().replace("%2E", "."))
                        }
                    ));
                }
                Some(_) => {}
                None if want != got => {
                    return Some(format!("`{path}` does not match `{}`", self.path));
                }
                None => {}
            }
        }
        None
    }

    /// Whether a request path (already percent-encoded, without query) is one of this
    /// endpoint's: its literal segments match and every placeholder has a non-empty segment.
    pub fn matches_path(&self, path: &str) -> bool {
        let mut expected = self.path.split('/');
        let mut actual = path.split('/');
        loop {
            match (expected.next(), actual.next()) {
                (None, None) => return true,
                (Some(want), Some(got)) if want.starts_with(':') => {
                    if got.is_empty() {
                        return false;
                    }
                }
                (Some(want), Some(got)) if want == got => {}
                _ => return false,
            }
        }
    }
}

/// Whether a path segment reads as `.` or `..` once its `%2E`s are decoded (URL parsers
/// resolve both spellings): one or two of `.` and `%2E` (any case), nothing else.
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return false,
        };
        dots += 1;
    }
    matches!(dots, 1 | 2)
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

/// A request of an endpoint: its parameters and body, tied to the endpoint and to what a
/// successful answer carries.
///
/// Generated for every endpoint of the specs. For an endpoint without path or query parameters
/// the body object itself is the request; otherwise a request type holds the parameters as
/// typed fields and the body in `body`.
pub trait ApiRequest {
    /// The JSON body ([`NoBody`] for an endpoint without one).
    type Body: Serialize;
    /// What a successful answer carries: the envelope's `data` (or [`NoData`](crate::NoData)),
    /// or for the token endpoints the whole body.
    type Output: DeserializeOwned;
    /// The endpoint this request is sent to.
    const ENDPOINT: &'static Endpoint;

    /// The body to send, if the endpoint has one.
    fn body(&self) -> Option<&Self::Body>;

    /// The path with the path parameters filled in, each percent-encoded as one segment (so an
    /// id with `/`, `?`, `%` or non-ASCII characters cannot change the path).
    fn path(&self) -> Cow<'_, str>;

    /// The query parameters that are set, as `(name, value)` pairs, not yet encoded (see
    /// [`crate::url::encode_query`]).
    fn query(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// The value of the endpoint's idempotency key, if the endpoint has one and it is set to
    /// something other than blanks.
    fn idempotency_key(&self) -> Option<&str> {
        None
    }

    /// Whether this request may be sent again after an attempt that may have taken effect:
    /// always for an endpoint idempotent by method or read-only, and with a key for a
    /// key-based one.
    fn is_safe_to_repeat(&self) -> bool {
        Self::ENDPOINT.idempotency.always_safe() || self.idempotency_key().is_some()
    }
}

/// A paginated endpoint's request: it can ask for the next page, and its output holds one
/// page of items. Clients turn it into a stream of items.
pub trait Paginated: ApiRequest + Clone {
    /// One item of a page.
    type Item;

    /// Sets (or clears) the `page_token` of the next request.
    fn set_page_token(&mut self, token: Option<String>);

    /// Sets (or clears) the `page_size`.
    fn set_page_size(&mut self, size: Option<i32>);

    /// Splits an answer into its page.
    fn into_page(output: Self::Output) -> Page<Self::Item>;
}

/// One page of a paginated answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The token of the next page, if the server gave one.
    pub page_token: Option<String>,
    /// Whether there are more pages.
    pub has_more: bool,
}

impl<T> Page<T> {
    /// The token to ask for the next page with, if there is one: `has_more` and a non-empty
    /// token.
    pub fn next_token(&self) -> Option<&str> {
        self.page_token
            .as_deref()
            .filter(|token| self.has_more && !token.is_empty())
    }
}

/// The body of a request without one. It has no values, so [`ApiRequest::body`] of such an
/// endpoint is always `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoBody {}

impl Serialize for NoBody {
    fn serialize<S: serde::Serializer>(&self, _serializer: S) -> Result<S::Ok, S::Error> {
        match *self {}
    }
}

/// No JSON is a body of an endpoint that takes none.
impl<'de> serde::Deserialize<'de> for NoBody {
    fn deserialize<D: serde::Deserializer<'de>>(_deserializer: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("this endpoint takes no body"))
    }
}

/// The schema that accepts nothing: no JSON is a body of an endpoint that takes none.
#[cfg(feature = "schemars")]
impl schemars::JsonSchema for NoBody {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NoBody".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::Schema::from(false)
    }
}

/// The output of an endpoint whose answer carries no `data` (or an empty one). Received, so
/// lenient: whatever `data` holds is ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct NoData {}

/// Any object, inline, as the emitted response schemas write an empty `data`.
#[cfg(feature = "schemars")]
impl schemars::JsonSchema for NoData {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NoData".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "object", "description": "No data." })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: what is left after decoding `%2E` is `.` or `..`.
    fn decodes_to_dots(segment: &str) -> bool {
        let dots = segment.to_ascii_uppercase().replace("%2E", ".");
        dots == "." || dots == ".."
    }

    #[test]
    fn dot_segments_are_those_that_decode_to_dots() {
        let alphabet = ['.', '%', '2', 'e', 'E', 'a'];
        let mut segments = vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = segments
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            for segment in &longer {
                assert_eq!(
                    is_dot_segment(segment),
                    decodes_to_dots(segment),
                    "{segment:?}"
                );
            }
            segments = longer;
        }
    }
}
