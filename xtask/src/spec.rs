//! The spec format: the shape of a YAML file in `spec/`, as Rust types.
//!
//! These types are the single definition of the format. `serde` reads spec files
//! into them (with source locations, via [`Spanned`]), and `schemars` derives
//! from them the JSON Schema that editors use (`spec/spec-format.schema.json`).
//! `spec/README.md` documents every key; keep the two in step.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// The only version of the format so far.
pub const FORMAT_VERSION: u32 = 1;

/// One spec file: any mix of hosts, error codes, the response envelope, endpoints, enums and
/// objects.
///
/// All files in `spec/` share one namespace, so an endpoint in one file may
/// use a type defined in another.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Feishu open API spec file")]
pub struct SpecFile {
    /// Version of the spec format. Always `1`.
    #[schemars(range(min = 1, max = 1))]
    pub format: u32,
    /// Public address of the official documentation this file transcribes.
    #[schemars(regex(pattern = r"^https://"))]
    pub source: String,
    /// Base URLs of the open platform.
    #[serde(default)]
    pub hosts: Vec<Host>,
    /// Error codes any endpoint may answer (platform-wide).
    #[serde(default)]
    pub error_codes: Vec<ErrorCodeSpec>,
    /// The object every enveloped answer is (`code`, `msg`, `error`); an endpoint's `data`
    /// fills its `data` field. Declared once, in one file of `spec/`.
    #[schemars(with = "Option<String>")]
    pub envelope: Option<Spanned<String>>,
    /// HTTP endpoints.
    #[serde(default)]
    pub endpoints: Vec<EndpointSpec>,
    /// Integer enumerations.
    #[serde(default)]
    pub enums: Vec<EnumSpec>,
    /// JSON objects.
    #[serde(default)]
    pub objects: Vec<ObjectSpec>,
}

/// A text in Chinese (as Feishu writes it) and in English.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Chinese, as in Feishu's documentation.
    #[schemars(length(min = 1))]
    pub zh: String,
    /// English.
    #[schemars(length(min = 1))]
    pub en: String,
}

/// A base URL of the open platform.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Short name, snake_case; becomes the constant `HOST_<NAME>`.
    #[schemars(with = "String", regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub name: Spanned<String>,
    /// Base URL, without a trailing slash.
    #[schemars(regex(pattern = r"^https?://[^/]+$"))]
    pub url: String,
    /// What the host is for.
    pub description: Text,
}

/// The HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
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

/// The access token an endpoint takes in its `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessToken {
    /// No token (the token endpoints themselves).
    None,
    /// `tenant_access_token`.
    Tenant,
    /// `user_access_token`.
    User,
}

/// The kinds of app that may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    /// A custom (self-built) app of one tenant.
    Custom,
    /// An app from the app store.
    Store,
}

/// What kind of failure an error code reports; the client decides retries by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCategory {
    /// The request is wrong; sending it again will not help.
    Parameter,
    /// The server failed; a retry may succeed.
    System,
    /// Too many requests; wait, then retry.
    RateLimited,
    /// The access token is missing, invalid or expired.
    Auth,
    /// The app lacks a permission (scope).
    Permission,
}

/// One permission scope an endpoint requires.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// The scope, e.g. `hire:external_application`.
    #[schemars(length(min = 1))]
    pub name: String,
    /// What the scope allows, as Feishu's console names it.
    pub description: Text,
}

/// An endpoint's documented rate limit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed in each window.
    #[schemars(range(min = 1))]
    pub requests: u32,
    /// Length of the window in seconds.
    #[schemars(range(min = 1))]
    pub per_seconds: u32,
}

/// How an endpoint's idempotency is decided: whether a request that may have taken effect can
/// be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdempotencyKind {
    /// By the HTTP method: `GET`, `PUT` and `DELETE` are safe to repeat.
    Method,
    /// The endpoint only reads (a query sent as `POST`): always safe to repeat.
    ReadOnly,
    /// By a key in the body (`field`): safe to repeat when the request carries one.
    Key,
    /// Never safe to repeat once it may have taken effect.
    Never,
}

/// An endpoint's idempotency rule. Without one, `GET`, `PUT` and `DELETE` are idempotent by
/// method and `POST` and `PATCH` are never repeated once they may have taken effect.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Idempotency {
    /// How it is decided.
    #[schemars(with = "IdempotencyKind")]
    pub by: Spanned<IdempotencyKind>,
    /// With `by: key`: name of a string field of the request body that carries the key.
    #[schemars(with = "Option<String>")]
    pub field: Option<Spanned<String>>,
    /// With `by: key`: how long the server remembers a key, in hours.
    #[schemars(range(min = 1))]
    pub window_hours: Option<u32>,
    /// The rule as documented (or why the endpoint is safe to repeat).
    pub description: Option<Text>,
}

/// A path or query parameter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// The name: in `path`, the placeholder `:name`; in the query string, the key.
    #[schemars(with = "String", regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub name: Spanned<String>,
    /// `string`, `int32`, `int64`, `boolean`, or the name of an enum.
    #[serde(rename = "type")]
    #[schemars(with = "String", length(min = 1))]
    pub ty: Spanned<String>,
    /// Query parameters only: whether it must be sent. Path parameters are always required.
    #[schemars(with = "Option<bool>")]
    pub required: Option<Spanned<bool>>,
    /// What the parameter means.
    pub description: Text,
    /// An example value.
    pub example: Option<serde_json::Value>,
}

/// A paginated endpoint: `page_size` and `page_token` query parameters, and an answer whose
/// `data` has the page's items, `page_token` and `has_more`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pagination {
    /// The array field of the `data` object that holds a page's items.
    #[schemars(with = "String")]
    pub items: Spanned<String>,
}

/// One HTTP endpoint.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// snake_case name; becomes the constant `<NAME>` and the schema file names.
    #[schemars(with = "String", regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub name: Spanned<String>,
    /// One line on what the endpoint does.
    pub summary: Text,
    /// Longer description.
    pub description: Text,
    /// Public address of the endpoint's documentation.
    #[schemars(regex(pattern = r"^https://"))]
    pub docs: String,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path below the host, starting with `/`; `:name` segments are path parameters.
    #[schemars(with = "String", regex(pattern = r"^/"))]
    pub path: Spanned<String>,
    /// Parameters in the path, one per `:name` placeholder.
    #[serde(default)]
    pub path_params: Vec<ParamSpec>,
    /// Parameters in the query string.
    #[serde(default)]
    pub query_params: Vec<ParamSpec>,
    /// The token the endpoint takes.
    pub access_token: AccessToken,
    /// The kinds of app that may call it.
    #[schemars(length(min = 1))]
    pub app_types: Vec<AppType>,
    /// Permission scopes; any one of them suffices.
    #[serde(default)]
    pub scopes: Vec<Scope>,
    /// The documented rate limit, if any.
    pub rate_limit: Option<RateLimit>,
    /// The idempotency rule; see [`Idempotency`] for the default.
    pub idempotency: Option<Idempotency>,
    /// Name of the object sent as the JSON body; none for an endpoint without a body.
    #[schemars(with = "Option<String>")]
    pub body: Option<Spanned<String>>,
    /// Name of the object in the `data` field of the platform envelope. Without it (and
    /// without `response`) the answer carries no data.
    #[schemars(with = "Option<String>")]
    pub data: Option<Spanned<String>>,
    /// Name of the object answered as the whole JSON body, for the few endpoints whose answer
    /// is not the platform envelope (the token endpoints). Excludes `data`.
    #[schemars(with = "Option<String>")]
    pub response: Option<Spanned<String>>,
    /// Makes the endpoint paginated.
    pub pagination: Option<Pagination>,
    /// The endpoint's own error table.
    #[serde(default)]
    pub errors: Vec<ErrorCodeSpec>,
    /// Error codes declared elsewhere (in any file's `error_codes` or another endpoint's
    /// `errors`), by their snake_case name; they join the endpoint's error table.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub error_refs: Vec<Spanned<String>>,
}

/// One row of an error table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorCodeSpec {
    /// The `code` in the response body.
    #[schemars(with = "i64")]
    pub code: Spanned<i64>,
    /// snake_case name; becomes a variant of `ErrorCode`.
    #[schemars(with = "String", regex(pattern = r"^[a-z][a-z0-9_]*$"))]
    pub name: Spanned<String>,
    /// The HTTP status that comes with it.
    #[schemars(range(min = 100, max = 599))]
    pub http_status: u16,
    /// What kind of failure it is.
    pub category: ErrorCategory,
    /// What the code means.
    pub description: Text,
    /// What to do about it.
    pub advice: Text,
}

/// An integer enumeration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumSpec {
    /// UpperCamelCase type name.
    #[schemars(with = "String", regex(pattern = r"^[A-Z][A-Za-z0-9]*$"))]
    pub name: Spanned<String>,
    /// What the enumeration is.
    pub description: Text,
    /// The allowed values.
    #[schemars(length(min = 1))]
    pub values: Vec<EnumValue>,
}

/// One allowed value of an enumeration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    /// The integer on the wire.
    #[schemars(with = "i64")]
    pub value: Spanned<i64>,
    /// snake_case name; becomes the variant.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What the value means.
    pub description: Text,
}

/// A JSON object.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    /// UpperCamelCase type name.
    #[schemars(with = "String", regex(pattern = r"^[A-Z][A-Za-z0-9]*$"))]
    pub name: Spanned<String>,
    /// What the object is.
    pub description: Text,
    /// Its fields, in wire order.
    pub fields: Vec<FieldSpec>,
}

/// One field of an object.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The name on the wire.
    #[schemars(with = "String", length(min = 1))]
    pub name: Spanned<String>,
    /// `string`, `int32`, `int64`, `float64`, `boolean`, `json` (any value),
    /// `array` (with `items`), or the name of an enum or object.
    #[serde(rename = "type")]
    #[schemars(with = "String", length(min = 1))]
    pub ty: Spanned<String>,
    /// Element type of an `array`: a scalar, an enum or an object (no nested arrays).
    #[schemars(with = "Option<String>")]
    pub items: Option<Spanned<String>>,
    /// Whether the field must be present. Defaults to `false`.
    #[serde(default)]
    pub required: bool,
    /// Whether the value is a secret (never shown in `Debug`). Strings only.
    #[serde(default)]
    pub secret: bool,
    /// What the field means.
    pub description: Text,
    /// An example value.
    pub example: Option<serde_json::Value>,
}
