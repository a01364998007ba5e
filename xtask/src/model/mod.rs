//! The checked model of all spec files: names resolved, rules enforced, ready to generate from.
//!
//! [`build`] turns loaded files into a [`Model`] or into every diagnostic it
//! finds: duplicate names, undefined types, invalid identifiers, cycles, an
//! object used by both a request and a response, and the like.
//!
//! It runs named passes over one `Context`, in order, each reading what the earlier ones
//! recorded: the type namespace, enums, objects and cycles (`types.rs`), error codes
//! (`error_codes.rs`), hosts, the envelope and endpoints (`modules.rs`, each endpoint checked
//! in `endpoint.rs`), checks across endpoints, then directions. Every pass reports what it
//! finds and goes on, so one run shows every problem.

mod endpoint;
mod error_codes;
mod modules;
mod types;

use std::collections::{BTreeMap, HashMap};

use heck::ToUpperCamelCase;

use crate::diagnostics::{Diagnostic, Position, Span};
use crate::load::LoadedFile;
use crate::spec::{AccessToken, AppType, ErrorCategory, HttpMethod, Text};

/// Everything the generators need, checked.
#[derive(Debug)]
pub struct Model {
    /// One module per spec file, in path order.
    pub modules: Vec<Module>,
    /// Hosts from all files.
    pub hosts: Vec<HostDef>,
    /// Every error code from all files, by code.
    pub error_codes: Vec<ErrorCodeDef>,
    /// Every named type, by name.
    pub types: BTreeMap<String, TypeDef>,
    /// The envelope object every enveloped answer is, if a spec declares one.
    pub envelope: Option<String>,
}

/// The generated Rust module of one spec file.
#[derive(Debug)]
pub struct Module {
    /// Rust module name, from the file's path below `spec/`.
    pub name: String,
    /// The spec file, as shown in messages.
    pub spec_path: String,
    /// The documentation the file transcribes.
    pub source_url: String,
    /// Endpoints of the file.
    pub endpoints: Vec<EndpointDef>,
    /// Names of the enums and objects of the file, in file order (enums first).
    pub type_names: Vec<String>,
}

/// A host constant.
#[derive(Debug)]
pub struct HostDef {
    /// `HOST_<NAME>`.
    pub const_name: String,
    /// The base URL.
    pub url: String,
    /// What it is.
    pub description: Text,
}

/// An error code, merged over all files that list it.
#[derive(Debug, Clone)]
pub struct ErrorCodeDef {
    /// Wire code.
    pub code: i64,
    /// UpperCamelCase variant of `ErrorCode`.
    pub variant: String,
    /// HTTP status that comes with it.
    pub http_status: u16,
    /// Its category.
    pub category: ErrorCategory,
    /// Meaning.
    pub description: Text,
    /// Advice.
    pub advice: Text,
}

/// An endpoint.
#[derive(Debug)]
pub struct EndpointDef {
    /// snake_case name.
    pub name: String,
    /// SHOUTY_SNAKE constant name.
    pub const_name: String,
    /// Summary.
    pub summary: Text,
    /// Description.
    pub description: Text,
    /// Documentation address.
    pub docs: String,
    /// Method.
    pub method: HttpMethod,
    /// Path, with `:name` placeholders.
    pub path: String,
    /// Path parameters, in the order of their placeholders.
    pub path_params: Vec<ParamDef>,
    /// Query parameters, in spec order.
    pub query_params: Vec<ParamDef>,
    /// Token.
    pub access_token: AccessToken,
    /// App types.
    pub app_types: Vec<AppType>,
    /// Scopes with their descriptions.
    pub scopes: Vec<(String, Text)>,
    /// `(requests, per_seconds)`.
    pub rate_limit: Option<(u32, u32)>,
    /// Idempotency rule.
    pub idempotency: IdempotencyDef,
    /// The Rust type that implements `ApiRequest`: the body object itself when the endpoint
    /// has no parameters, else a generated request type holding parameters and body.
    pub request_type: String,
    /// Whether `request_type` is generated for the endpoint (it has parameters or no body).
    pub generates_request_type: bool,
    /// Body object name.
    pub body: Option<String>,
    /// What the answer carries.
    pub response: ResponseDef,
    /// Pagination, if the endpoint pages.
    pub pagination: Option<PaginationDef>,
    /// Codes of the endpoint's error table, in table order.
    pub errors: Vec<i64>,
}

impl EndpointDef {
    /// The alias of the whole enveloped answer: `<Name>Response`.
    pub fn response_alias(&self) -> String {
        format!("{}Response", self.name.to_upper_camel_case())
    }

    /// The Rust type of the decoded answer: the `data` object, the whole-body object, or the
    /// runtime's `NoData`.
    pub fn output_type(&self) -> Option<&str> {
        match &self.response {
            ResponseDef::Whole(name) | ResponseDef::Data(Some(name)) => Some(name),
            ResponseDef::Data(None) => None,
        }
    }
}

/// What an endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseDef {
    /// The platform envelope, with this object (or nothing) in `data`.
    Data(Option<String>),
    /// This object is the whole body (the token endpoints).
    Whole(String),
}

/// A path or query parameter.
#[derive(Debug, Clone)]
pub struct ParamDef {
    /// Name on the wire.
    pub name: String,
    /// Rust field name (without `r#`).
    pub rust_name: String,
    /// Type: a scalar (string, int32, int64, boolean) or an enum.
    pub ty: TypeRef,
    /// Required (always for path parameters).
    pub required: bool,
    /// Description.
    pub description: Text,
    /// Example.
    pub example: Option<serde_json::Value>,
}

/// Pagination of an endpoint.
#[derive(Debug, Clone)]
pub struct PaginationDef {
    /// Field of the data object with the items.
    pub items_field: String,
    /// Rust name of that field.
    pub items_rust_field: String,
    /// Type of one item.
    pub item_type: TypeRef,
}

/// An idempotency rule.
#[derive(Debug, Clone)]
pub enum IdempotencyDef {
    /// Safe to repeat by the method (GET, PUT, DELETE).
    Method,
    /// Reads only: safe to repeat.
    ReadOnly,
    /// Safe when the body carries a key.
    Key(KeyRule),
    /// Never repeated once it may have taken effect.
    Never,
}

/// A key-based idempotency rule.
#[derive(Debug, Clone)]
pub struct KeyRule {
    /// Wire name of the key field.
    pub field: String,
    /// Rust name of the key field.
    pub rust_field: String,
    /// Whether the key field is required (so not an `Option`).
    pub required: bool,
    /// Window in hours.
    pub window_hours: u32,
    /// The rule.
    pub description: Option<Text>,
}

/// A named type.
#[derive(Debug, Clone)]
pub enum TypeDef {
    /// An integer enumeration.
    Enum(EnumDef),
    /// An object.
    Object(ObjectDef),
}

/// An integer enumeration.
#[derive(Debug, Clone)]
pub struct EnumDef {
    /// Type name.
    pub name: String,
    /// Description.
    pub description: Text,
    /// Values in spec order.
    pub values: Vec<EnumValueDef>,
}

/// One enumeration value.
#[derive(Debug, Clone)]
pub struct EnumValueDef {
    /// Wire integer.
    pub value: i64,
    /// snake_case name (used by `Display` and `FromStr`).
    pub name: String,
    /// UpperCamelCase variant.
    pub variant: String,
    /// Meaning.
    pub description: Text,
}

/// Whether an object is sent (strict) or received (lenient).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Reachable from an endpoint's request: strict encoding and decoding.
    Request,
    /// Reachable from a response, or from nothing: lenient decoding.
    Response,
}

/// An object.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    /// Type name.
    pub name: String,
    /// Description.
    pub description: Text,
    /// Strict or lenient.
    pub direction: Direction,
    /// Fields in wire order.
    pub fields: Vec<FieldDef>,
}

/// A field.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Name on the wire.
    pub wire_name: String,
    /// snake_case Rust name (without `r#`).
    pub rust_name: String,
    /// Type.
    pub ty: TypeRef,
    /// Required.
    pub required: bool,
    /// Secret.
    pub secret: bool,
    /// Description.
    pub description: Text,
    /// Example.
    pub example: Option<serde_json::Value>,
}

/// The type of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// A scalar.
    Scalar(Scalar),
    /// A named enum.
    Enum(String),
    /// A named object.
    Object(String),
    /// An array of a non-array type.
    Array(Box<TypeRef>),
}

/// Scalar types of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// UTF-8 string.
    String,
    /// 32-bit integer (`integer` in Feishu's docs).
    Int32,
    /// 64-bit integer (`int64`), e.g. millisecond timestamps.
    Int64,
    /// Double.
    Float64,
    /// Boolean.
    Boolean,
    /// Any JSON value.
    Json,
}

impl Scalar {
    /// The keyword in spec files.
    pub fn parse(keyword: &str) -> Option<Scalar> {
        Some(match keyword {
            "string" => Scalar::String,
            "int32" => Scalar::Int32,
            "int64" => Scalar::Int64,
            "float64" => Scalar::Float64,
            "boolean" => Scalar::Boolean,
            "json" => Scalar::Json,
            _ => return None,
        })
    }
}

const SCALAR_KEYWORDS: &str = "string, int32, int64, float64, boolean, json, array";

/// Names generated code uses unqualified, from the Rust prelude; no spec type may shadow them.
const PRELUDE_NAMES: &[&str] = &[
    "Option",
    "Some",
    "None",
    "Result",
    "Ok",
    "Err",
    "String",
    "Vec",
    "Box",
    "Into",
    "From",
    "IntoIterator",
    "Default",
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
];

/// Words that cannot be Rust identifiers even as raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Rust keywords that generated code writes as raw identifiers (`r#type`).
pub const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !NOT_RAW.contains(&name)
}

/// Where a name was defined, for "first defined here" notes.
#[derive(Debug, Clone)]
struct Site {
    file: usize,
    position: Position,
}

/// The files being checked and what is wrong with them so far. Kept apart from the rest of
/// [`Context`] so that a pass can report while it reads the maps earlier passes built.
struct Reporter<'a> {
    files: &'a [LoadedFile],
    diagnostics: Vec<Diagnostic>,
}

impl Reporter<'_> {
    /// Reports a problem at `position` of file `file`, with what to do about it.
    fn error(
        &mut self,
        file: usize,
        position: Position,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> &mut Diagnostic {
        let diagnostic = self.files[file]
            .diagnostic(position, message)
            .with_help(help);
        let index = self.diagnostics.len();
        self.diagnostics.push(diagnostic);
        &mut self.diagnostics[index]
    }

    /// An error about a repeated definition: the repeat underlined with `again`, the first one
    /// labelled with `first_label`.
    #[allow(clippy::too_many_arguments)] // Each argument is a different part of the message.
    fn repeated(
        &mut self,
        file: usize,
        position: Position,
        message: impl Into<String>,
        again: &str,
        first: &Site,
        first_label: &str,
        help: impl Into<String>,
    ) -> &mut Diagnostic {
        let first_file = &self.files[first.file];
        let diagnostic = self.files[file]
            .diagnostic(position, message)
            .with_label(again)
            .with_related(
                Span::new(&first_file.path, &first_file.source, first.position),
                first_label,
            )
            .with_help(help);
        let index = self.diagnostics.len();
        self.diagnostics.push(diagnostic);
        &mut self.diagnostics[index]
    }

    /// Checks that `name`, converted by `convert`, is a usable identifier.
    fn check_identifier(
        &mut self,
        file: usize,
        position: Position,
        what: &str,
        name: &str,
        converted: &str,
    ) -> bool {
        if is_identifier(converted) {
            return true;
        }
        self.error(
            file,
            position,
            format!(
                "{what} `{name}` becomes `{converted}` in Rust, which is not a valid identifier"
            ),
            "start the name with a letter and use only letters, digits and `_`",
        );
        false
    }
}

fn pos(location: serde_saphyr::Location) -> Position {
    Position::from_saphyr(location)
}

/// Checks all files together and builds the model.
pub fn build(files: &[LoadedFile]) -> Result<Model, Vec<Diagnostic>> {
    let mut context = Context::new(files);
    context.name_types();
    context.build_enums();
    context.build_objects();
    context.check_cycles();
    context.collect_error_codes();
    for (fi, file) in files.iter().enumerate() {
        context.collect_hosts(fi, file);
        context.resolve_envelope(fi, file);
        context.build_module(fi, file);
    }
    context.check_envelope_declared();
    context.check_request_types();
    context.check_placeholder_names_agree();
    context.check_generated_names();
    context.assign_directions();
    context.finish()
}

/// What the passes of [`build`] share: the reporter, and what each pass records for the
/// later ones.
struct Context<'a> {
    r: Reporter<'a>,
    /// Where each spec type (enum or object) is defined: one namespace across all files.
    type_sites: HashMap<String, Site>,
    /// Each spec type's kind: `true` for an enum.
    kinds: HashMap<String, bool>,
    /// The enums and objects, by name.
    types: BTreeMap<String, TypeDef>,
    /// Every error code, with where it was first defined.
    codes: BTreeMap<i64, (ErrorCodeDef, Site)>,
    /// The code of each `ErrorCode` variant name, so two codes cannot share one.
    code_names: HashMap<String, i64>,
    hosts: Vec<HostDef>,
    host_sites: HashMap<String, Site>,
    /// The envelope object, and where it is declared.
    envelope: Option<(String, Site)>,
    endpoint_sites: HashMap<String, Site>,
    modules: Vec<Module>,
    /// Objects sent in requests and received in responses, from which directions spread.
    request_roots: Vec<String>,
    response_roots: Vec<String>,
    /// Types generated for endpoints: their names share the namespace of the spec's types.
    generated_names: Vec<(String, Site)>,
}

impl<'a> Context<'a> {
    fn new(files: &'a [LoadedFile]) -> Self {
        Context {
            r: Reporter {
                files,
                diagnostics: Vec::new(),
            },
            type_sites: HashMap::new(),
            kinds: HashMap::new(),
            types: BTreeMap::new(),
            codes: BTreeMap::new(),
            code_names: HashMap::new(),
            hosts: Vec::new(),
            host_sites: HashMap::new(),
            envelope: None,
            endpoint_sites: HashMap::new(),
            modules: Vec::new(),
            request_roots: Vec::new(),
            response_roots: Vec::new(),
            generated_names: Vec::new(),
        }
    }

    /// The model, or every diagnostic in file and position order.
    fn finish(self) -> Result<Model, Vec<Diagnostic>> {
        if !self.r.diagnostics.is_empty() {
            let mut diagnostics = self.r.diagnostics;
            diagnostics.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
            return Err(diagnostics);
        }
        let mut error_codes: Vec<ErrorCodeDef> =
            self.codes.into_values().map(|(def, _)| def).collect();
        error_codes.sort_by_key(|def| def.code);
        Ok(Model {
            modules: self.modules,
            hosts: self.hosts,
            error_codes,
            types: self.types,
            envelope: self.envelope.map(|(name, _)| name),
        })
    }
}

/// The most similar name, if similar enough to be a typo.
fn closest<'c>(word: &str, candidates: &'c [String]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), c.as_str()))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn object_named<'t>(types: &'t BTreeMap<String, TypeDef>, name: &str) -> Option<&'t ObjectDef> {
    match types.get(name) {
        Some(TypeDef::Object(object)) => Some(object),
        _ => None,
    }
}

fn method_name(method: HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Delete => "DELETE",
    }
}
