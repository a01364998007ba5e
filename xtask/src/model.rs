//! The checked model of all spec files: names resolved, rules enforced, ready to generate from.
//!
//! [`build`] turns loaded files into a [`Model`] or into every diagnostic it
//! finds: duplicate names, undefined types, invalid identifiers, cycles, an
//! object used by both a request and a response, and the like.

use std::collections::{BTreeMap, HashMap, HashSet};

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

use crate::diagnostics::{Diagnostic, Position, Span};
use crate::load::LoadedFile;
use crate::spec::{
    AccessToken, AppType, EndpointSpec, ErrorCategory, ErrorCodeSpec, FieldSpec, HttpMethod,
    IdempotencyKind, ParamSpec, Text,
};

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

struct Builder<'a> {
    files: &'a [LoadedFile],
    diagnostics: Vec<Diagnostic>,
}

impl Builder<'_> {
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
    let mut b = Builder {
        files,
        diagnostics: Vec::new(),
    };

    // 1. Named types: one namespace across all files.
    let mut type_sites: HashMap<String, Site> = HashMap::new();
    let mut kinds: HashMap<String, bool> = HashMap::new(); // name -> is_enum
    for (fi, file) in files.iter().enumerate() {
        let names = file
            .spec
            .enums
            .iter()
            .map(|e| (&e.name, true))
            .chain(file.spec.objects.iter().map(|o| (&o.name, false)));
        for (name, is_enum) in names {
            let position = pos(name.referenced);
            if let Some(first) = type_sites.get(&name.value).cloned() {
                b.repeated(
                    fi,
                    position,
                    format!("type `{}` is defined twice", name.value),
                    "defined again here",
                    &first,
                    "first defined here",
                    "types share one namespace across all spec files; rename one of them",
                );
                continue;
            }
            if name.value.to_upper_camel_case() != name.value {
                b.error(
                    fi,
                    position,
                    format!("type name `{}` is not UpperCamelCase", name.value),
                    format!("write it as `{}`", name.value.to_upper_camel_case()),
                );
            }
            if Scalar::parse(&name.value).is_some()
                || name.value == "array"
                || PRELUDE_NAMES.contains(&name.value.as_str())
            {
                b.error(
                    fi,
                    position,
                    format!(
                        "type name `{}` is a built-in type or Rust prelude name",
                        name.value
                    ),
                    "choose another name",
                );
            }
            type_sites.insert(name.value.clone(), Site { file: fi, position });
            kinds.insert(name.value.clone(), is_enum);
        }
    }

    // 2. Enums.
    let mut types: BTreeMap<String, TypeDef> = BTreeMap::new();
    for (fi, file) in files.iter().enumerate() {
        for spec in &file.spec.enums {
            let mut seen_values: HashMap<i64, Position> = HashMap::new();
            let mut seen_names: HashMap<String, Position> = HashMap::new();
            let mut values = Vec::new();
            for value in &spec.values {
                let value_pos = pos(value.value.referenced);
                let name_pos = pos(value.name.referenced);
                if let Some(first) = seen_values.insert(value.value.value, value_pos) {
                    b.repeated(
                        fi,
                        value_pos,
                        format!(
                            "enum `{}` lists the value {} twice",
                            spec.name.value, value.value.value
                        ),
                        "listed again here",
                        &Site {
                            file: fi,
                            position: first,
                        },
                        "first listed here",
                        "each value appears once; remove one of them or change its number",
                    );
                }
                let variant = value.name.value.to_upper_camel_case();
                if value.name.value.to_snake_case() != value.name.value {
                    b.error(
                        fi,
                        name_pos,
                        format!("enum value name `{}` is not snake_case", value.name.value),
                        format!("write it as `{}`", value.name.value.to_snake_case()),
                    );
                } else if b.check_identifier(
                    fi,
                    name_pos,
                    "enum value name",
                    &value.name.value,
                    &variant,
                ) && (variant == "Unknown")
                {
                    b.error(
                        fi,
                        name_pos,
                        "enum value name `unknown` is reserved for values the spec does not list",
                        "choose another name",
                    );
                }
                if let Some(first) = seen_names.insert(value.name.value.clone(), name_pos) {
                    b.repeated(
                        fi,
                        name_pos,
                        format!(
                            "enum `{}` has two values named `{}`",
                            spec.name.value, value.name.value
                        ),
                        "named again here",
                        &Site {
                            file: fi,
                            position: first,
                        },
                        "first named here",
                        "rename one of them",
                    );
                }
                values.push(EnumValueDef {
                    value: value.value.value,
                    name: value.name.value.clone(),
                    variant,
                    description: value.description.clone(),
                });
            }
            types.insert(
                spec.name.value.clone(),
                TypeDef::Enum(EnumDef {
                    name: spec.name.value.clone(),
                    description: spec.description.clone(),
                    values,
                }),
            );
        }
    }

    // 3. Objects and their fields.
    let mut field_sites: HashMap<(String, String), Position> = HashMap::new();
    for (fi, file) in files.iter().enumerate() {
        for spec in &file.spec.objects {
            let mut seen_wire: HashMap<String, Position> = HashMap::new();
            let mut seen_rust: HashMap<String, String> = HashMap::new();
            let mut fields = Vec::new();
            for field in &spec.fields {
                let name_pos = pos(field.name.referenced);
                let wire = field.name.value.clone();
                if let Some(first) = seen_wire.insert(wire.clone(), name_pos) {
                    b.repeated(
                        fi,
                        name_pos,
                        format!("object `{}` has two fields named `{wire}`", spec.name.value),
                        "declared again here",
                        &Site {
                            file: fi,
                            position: first,
                        },
                        "first declared here",
                        "remove or rename one of them",
                    );
                    continue;
                }
                let rust_name = wire.to_snake_case();
                if !b.check_identifier(fi, name_pos, "field name", &wire, &rust_name) {
                    continue;
                }
                if let Some(other) = seen_rust.insert(rust_name.clone(), wire.clone()) {
                    b.error(
                        fi,
                        name_pos,
                        format!(
                            "fields `{other}` and `{wire}` of `{}` both become `{rust_name}` in Rust",
                            spec.name.value
                        ),
                        "rename one of them",
                    );
                    continue;
                }
                if rust_name == "new" {
                    b.error(
                        fi,
                        name_pos,
                        "a field may not be named `new`: it would clash with the generated constructor",
                        "rename the field",
                    );
                    continue;
                }
                let Some(ty) = resolve_field_type(&mut b, fi, field, &kinds) else {
                    continue;
                };
                if field.secret && ty != TypeRef::Scalar(Scalar::String) {
                    b.error(
                        fi,
                        name_pos,
                        format!("field `{wire}` is marked `secret` but is not a string"),
                        "only string fields can be secret; remove `secret: true`",
                    );
                }
                field_sites.insert((spec.name.value.clone(), wire.clone()), name_pos);
                fields.push(FieldDef {
                    wire_name: wire,
                    rust_name,
                    ty,
                    required: field.required,
                    secret: field.secret,
                    description: field.description.clone(),
                    example: field.example.clone(),
                });
            }
            types.insert(
                spec.name.value.clone(),
                TypeDef::Object(ObjectDef {
                    name: spec.name.value.clone(),
                    description: spec.description.clone(),
                    direction: Direction::Response,
                    fields,
                }),
            );
        }
    }

    // 4. Cycles through fields held by value (an array breaks the cycle: it is on the heap).
    for (fi, file) in files.iter().enumerate() {
        for spec in &file.spec.objects {
            if let Some(path) = find_cycle(&spec.name.value, &types) {
                // Report each cycle once, at the alphabetically first member.
                if path.iter().min() == Some(&spec.name.value) {
                    b.error(
                        fi,
                        pos(spec.name.referenced),
                        format!("objects contain each other: {}", path.join(" -> ")),
                        "such a value would be infinitely large; make one of the fields an `array`, or remove it",
                    );
                }
            }
        }
    }

    // 5. Error codes: platform-wide ones, and each endpoint's table.
    let mut codes: BTreeMap<i64, (ErrorCodeDef, Site)> = BTreeMap::new();
    let mut code_names: HashMap<String, i64> = HashMap::new();
    let mut register_code = |b: &mut Builder<'_>, fi: usize, row: &ErrorCodeSpec| {
        let position = pos(row.code.referenced);
        let variant = row.name.value.to_upper_camel_case();
        if !b.check_identifier(
            fi,
            pos(row.name.referenced),
            "error code name",
            &row.name.value,
            &variant,
        ) {
            return;
        }
        let def = ErrorCodeDef {
            code: row.code.value,
            variant: variant.clone(),
            http_status: row.http_status,
            category: row.category,
            description: row.description.clone(),
            advice: row.advice.clone(),
        };
        if let Some((known, site)) = codes.get(&row.code.value) {
            if known.variant != def.variant || known.category != def.category {
                let site = site.clone();
                b.repeated(
                    fi,
                    position,
                    format!(
                        "error code {} is defined differently elsewhere (as `{}`)",
                        row.code.value,
                        known.variant.to_snake_case()
                    ),
                    "defined again here",
                    &site,
                    "first defined here",
                    "the same code must have the same name and category everywhere",
                );
            }
            return;
        }
        if let Some(other) = code_names.get(&variant) {
            b.error(
                fi,
                pos(row.name.referenced),
                format!(
                    "error name `{}` is already used by code {other}",
                    row.name.value
                ),
                "give each error code its own name",
            );
            return;
        }
        code_names.insert(variant, row.code.value);
        codes.insert(row.code.value, (def, Site { file: fi, position }));
    };
    for (fi, file) in files.iter().enumerate() {
        // A row repeated within one table is reported once, as such, and not registered again.
        let rows = first_rows(
            &mut b,
            fi,
            &file.spec.error_codes,
            "the platform error codes",
        );
        for row in rows {
            register_code(&mut b, fi, row);
        }
        for endpoint in &file.spec.endpoints {
            let table = format!("the error table of `{}`", endpoint.name.value);
            for row in first_rows(&mut b, fi, &endpoint.errors, &table) {
                register_code(&mut b, fi, row);
            }
        }
    }

    // 6. Endpoints.
    let mut endpoint_sites: HashMap<String, Site> = HashMap::new();
    let mut modules = Vec::new();
    let mut hosts = Vec::new();
    let mut host_names: HashMap<String, Site> = HashMap::new();
    let mut request_roots: Vec<String> = Vec::new();
    let mut response_roots: Vec<String> = Vec::new();
    // Types generated for endpoints: their names share the namespace of the spec's types.
    let mut generated_names: Vec<(String, Site)> = Vec::new();
    let mut envelope: Option<(String, Site)> = None;
    for (fi, file) in files.iter().enumerate() {
        for host in &file.spec.hosts {
            let site = Site {
                file: fi,
                position: pos(host.name.referenced),
            };
            if let Some(first) = host_names.get(&host.name.value).cloned() {
                b.repeated(
                    fi,
                    site.position,
                    format!("host `{}` is defined twice", host.name.value),
                    "defined again here",
                    &first,
                    "first defined here",
                    "hosts share one namespace across all spec files; remove or rename one",
                );
                continue;
            }
            host_names.insert(host.name.value.clone(), site);
            hosts.push(HostDef {
                const_name: format!("HOST_{}", host.name.value.to_shouty_snake_case()),
                url: host.url.clone(),
                description: host.description.clone(),
            });
        }

        if let Some(name) = &file.spec.envelope {
            let site = Site {
                file: fi,
                position: pos(name.referenced),
            };
            if let Some((_, first)) = envelope.clone() {
                b.repeated(
                    fi,
                    site.position,
                    "the response envelope is declared twice",
                    "declared again here",
                    &first,
                    "first declared here",
                    "declare it in one file only",
                );
            } else if !matches!(types.get(&name.value), Some(TypeDef::Object(_))) {
                b.error(
                    fi,
                    site.position,
                    format!(
                        "the envelope names `{}`, which is not a defined object",
                        name.value
                    ),
                    "name the object with the fields every answer has (`code`, `msg`, `error`)",
                );
            } else {
                check_envelope(&mut b, fi, site.position, &name.value, &types);
                envelope = Some((name.value.clone(), site));
            }
        }

        let mut endpoints = Vec::new();
        for endpoint in &file.spec.endpoints {
            let site = Site {
                file: fi,
                position: pos(endpoint.name.referenced),
            };
            if let Some(first) = endpoint_sites.get(&endpoint.name.value).cloned() {
                b.repeated(
                    fi,
                    site.position,
                    format!("endpoint `{}` is defined twice", endpoint.name.value),
                    "defined again here",
                    &first,
                    "first defined here",
                    "endpoints share one namespace across all spec files; rename one of them",
                );
                continue;
            }
            endpoint_sites.insert(endpoint.name.value.clone(), site.clone());
            if let Some(def) = build_endpoint(&mut b, fi, endpoint, &types) {
                if let Some(body) = &def.body {
                    request_roots.push(body.clone());
                }
                if let Some(output) = def.output_type() {
                    response_roots.push(output.to_owned());
                }
                if def.generates_request_type {
                    generated_names.push((def.request_type.clone(), site.clone()));
                }
                if matches!(def.response, ResponseDef::Data(_)) {
                    generated_names.push((def.response_alias(), site.clone()));
                }
                endpoints.push(def);
            }
        }

        let type_names = file
            .spec
            .enums
            .iter()
            .map(|e| e.name.value.clone())
            .chain(file.spec.objects.iter().map(|o| o.name.value.clone()))
            .collect();
        modules.push(Module {
            name: file.module.clone(),
            spec_path: file.path.clone(),
            source_url: file.spec.source.clone(),
            endpoints,
            type_names,
        });
    }

    // Every endpoint whose answer is the envelope needs one.
    if envelope.is_none() {
        for (fi, file) in files.iter().enumerate() {
            for endpoint in &file.spec.endpoints {
                if endpoint.response.is_none() {
                    b.error(
                        fi,
                        pos(endpoint.name.referenced),
                        format!(
                            "endpoint `{}` answers with the platform envelope, but no spec declares it",
                            endpoint.name.value
                        ),
                        "add `envelope: ErrorEnvelope` (the object with `code`, `msg` and `error`) to \
                         one spec file, or give the endpoint a whole-body `response:`",
                    );
                }
            }
        }
    }
    // A body object that is itself an endpoint's request type can serve only that endpoint.
    let mut request_types: HashMap<String, String> = HashMap::new();
    for module in &modules {
        for endpoint in &module.endpoints {
            if let Some(other) =
                request_types.insert(endpoint.request_type.clone(), endpoint.name.clone())
                && let Some(site) = endpoint_sites.get(&endpoint.name).cloned()
            {
                b.error(
                    site.file,
                    site.position,
                    format!(
                        "`{}` is the request type of both `{other}` and `{}`",
                        endpoint.request_type, endpoint.name
                    ),
                    "an endpoint without parameters sends its body object as its request \
                     type, so each needs its own object; declare a copy (a YAML anchor can \
                     share the field list)",
                );
            }
        }
    }
    for (name, site) in &generated_names {
        if let Some(first) = type_sites.get(name).cloned() {
            b.repeated(
                site.file,
                site.position,
                format!("the endpoint's generated type `{name}` is also a type of the specs"),
                "this endpoint generates it",
                &first,
                "defined here",
                "rename the type",
            )
            .notes
            .push(
                "an endpoint gets a generated `<Name>Response` (the enveloped answer) and, \
                 with parameters or without a body, `<Name>Request`"
                    .to_owned(),
            );
        }
    }

    // 7. Directions: request objects are strict, everything else lenient.
    if let Some((name, _)) = &envelope {
        response_roots.push(name.clone());
    }
    let request_side = reachable(request_roots.iter().map(String::as_str), &types);
    let response_side = reachable(response_roots.iter().map(String::as_str), &types);
    for name in request_side.intersection(&response_side) {
        if let Some(site) = type_sites.get(name) {
            let site = site.clone();
            b.error(
                site.file,
                site.position,
                format!("object `{name}` is used both in a request and in a response"),
                "requests are decoded strictly and responses leniently, so each needs its own object; \
                 declare a copy for one side (a YAML anchor `&x` and alias `*x` can share the field list)",
            );
        }
    }
    for name in &request_side {
        if let Some(TypeDef::Object(object)) = types.get_mut(name) {
            object.direction = Direction::Request;
        }
    }

    if !b.diagnostics.is_empty() {
        let mut diagnostics = b.diagnostics;
        diagnostics.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
        return Err(diagnostics);
    }

    let mut error_codes: Vec<ErrorCodeDef> = codes.into_values().map(|(def, _)| def).collect();
    error_codes.sort_by_key(|def| def.code);
    Ok(Model {
        modules,
        hosts,
        error_codes,
        types,
        envelope: envelope.map(|(name, _)| name),
    })
}

/// The rows of an error table whose code has not appeared earlier in it; reports the others.
fn first_rows<'r>(
    b: &mut Builder<'_>,
    fi: usize,
    rows: &'r [ErrorCodeSpec],
    table: &str,
) -> Vec<&'r ErrorCodeSpec> {
    let mut seen: HashMap<i64, Position> = HashMap::new();
    let mut first_rows = Vec::new();
    for row in rows {
        let position = pos(row.code.referenced);
        if let Some(first) = seen.get(&row.code.value).copied() {
            b.repeated(
                fi,
                position,
                format!("error code {} appears twice in {table}", row.code.value),
                "listed again here",
                &Site {
                    file: fi,
                    position: first,
                },
                "first listed here",
                "keep one row per code",
            );
        } else {
            seen.insert(row.code.value, position);
            first_rows.push(row);
        }
    }
    first_rows
}

/// What the author of an undefined type name probably meant.
fn undefined_type_help(name: &str, kinds: &HashMap<String, bool>) -> String {
    let alias = match name.to_ascii_lowercase().as_str() {
        "integer" | "int" | "long" => Some(
            "Feishu's documentation says `integer`; the format wants the width: `int32`, or \
             `int64` where Feishu notes int64 (timestamps, large ids)",
        ),
        "number" | "float" | "double" | "float32" | "f64" => Some("write `float64`"),
        "bool" => Some("write `boolean`"),
        "str" | "text" => Some("write `string`"),
        "object" | "map" | "any" => Some(
            "write `json` for a free-form value, or define an object under `objects:` and name it",
        ),
        "list" | "vec" | "[]" => Some("write `type: array` with `items:` naming the element type"),
        _ => None,
    };
    if let Some(alias) = alias {
        return alias.to_owned();
    }
    let defined = kinds
        .keys()
        .map(|known| {
            (
                strsim::jaro_winkler(&name.to_lowercase(), &known.to_lowercase()),
                known,
            )
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mut help = match defined {
        Some((_, known)) => format!("did you mean `{known}`? "),
        None => String::new(),
    };
    help.push_str(&format!(
        "use one of {SCALAR_KEYWORDS}, or define `{name}` under `enums:` or `objects:` in any spec file"
    ));
    help
}

fn resolve_field_type(
    b: &mut Builder<'_>,
    fi: usize,
    field: &FieldSpec,
    kinds: &HashMap<String, bool>,
) -> Option<TypeRef> {
    let ty_pos = pos(field.ty.referenced);
    let named = |name: &str| -> Option<TypeRef> {
        if let Some(scalar) = Scalar::parse(name) {
            return Some(TypeRef::Scalar(scalar));
        }
        match kinds.get(name) {
            Some(true) => Some(TypeRef::Enum(name.to_owned())),
            Some(false) => Some(TypeRef::Object(name.to_owned())),
            None => None,
        }
    };
    let undefined = |b: &mut Builder<'_>, position: Position, name: &str| {
        b.error(
            fi,
            position,
            format!(
                "field `{}` refers to undefined type `{name}`",
                field.name.value
            ),
            undefined_type_help(name, kinds),
        );
    };
    if field.ty.value == "array" {
        let Some(items) = &field.items else {
            b.error(
                fi,
                ty_pos,
                format!("array field `{}` has no `items`", field.name.value),
                "add `items:` with the element type",
            );
            return None;
        };
        if items.value == "array" {
            b.error(
                fi,
                pos(items.referenced),
                format!("field `{}` is an array of arrays", field.name.value),
                "nested arrays are not supported; wrap the inner array in an object",
            );
            return None;
        }
        match named(&items.value) {
            Some(inner) => Some(TypeRef::Array(Box::new(inner))),
            None => {
                undefined(b, pos(items.referenced), &items.value);
                None
            }
        }
    } else {
        if let Some(items) = &field.items {
            b.error(
                fi,
                pos(items.referenced),
                format!(
                    "field `{}` has `items` but is not an array",
                    field.name.value
                ),
                "remove `items:`, or write `type: array`",
            );
            return None;
        }
        let resolved = named(&field.ty.value);
        if resolved.is_none() {
            undefined(b, ty_pos, &field.ty.value);
        }
        resolved
    }
}

/// Checks that the envelope object has what every answer has: an integer `code`, and no `data`
/// (each endpoint fills that itself).
fn check_envelope(
    b: &mut Builder<'_>,
    fi: usize,
    position: Position,
    name: &str,
    types: &BTreeMap<String, TypeDef>,
) {
    let Some(TypeDef::Object(object)) = types.get(name) else {
        return;
    };
    let code = object.fields.iter().find(|f| f.wire_name == "code");
    if !code.is_some_and(|f| f.required && f.ty == TypeRef::Scalar(Scalar::Int64)) {
        b.error(
            fi,
            position,
            format!("the envelope `{name}` has no required `int64` field `code`"),
            "every Feishu answer has `code`; declare it as `type: int64` with `required: true`",
        );
    }
    if object.fields.iter().any(|f| f.wire_name == "data") {
        b.error(
            fi,
            position,
            format!("the envelope `{name}` declares `data`"),
            "remove the field: each endpoint names its own `data` object",
        );
    }
}

/// The `:name` placeholders of a path, with their character offsets in it.
fn placeholders(path: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut offset = 0;
    for segment in path.split('/') {
        if let Some(name) = segment.strip_prefix(':') {
            found.push((path[..offset].chars().count(), name));
        }
        offset += segment.len() + 1;
    }
    found
}

/// `position` moved `chars` characters right, past an opening quote if the value is quoted.
fn shifted(file: &LoadedFile, position: Position, chars: usize) -> Position {
    let quoted = file
        .source
        .lines()
        .nth(position.line.saturating_sub(1) as usize)
        .and_then(|line| line.chars().nth(position.column.saturating_sub(1) as usize))
        .is_some_and(|c| c == '"' || c == '\'');
    Position {
        line: position.line,
        column: position.column + u32::from(quoted) + chars as u32,
    }
}

/// Resolves a parameter's type: `string`, `int32`, `int64`, `boolean` or an enum.
fn resolve_param_type(
    b: &mut Builder<'_>,
    fi: usize,
    param: &ParamSpec,
    types: &BTreeMap<String, TypeDef>,
) -> Option<TypeRef> {
    let name = param.ty.value.as_str();
    match (Scalar::parse(name), types.get(name)) {
        (Some(scalar @ (Scalar::String | Scalar::Int32 | Scalar::Int64 | Scalar::Boolean)), _) => {
            Some(TypeRef::Scalar(scalar))
        }
        (None, Some(TypeDef::Enum(_))) => Some(TypeRef::Enum(name.to_owned())),
        _ => {
            b.error(
                fi,
                pos(param.ty.referenced),
                format!(
                    "parameter `{}` has type `{name}`, which a path or query string cannot carry",
                    param.name.value
                ),
                "use `string`, `int32`, `int64`, `boolean` or the name of an enum",
            );
            None
        }
    }
}

/// Checks one parameter list and builds its definitions; `seen` holds the names so far.
fn build_params(
    b: &mut Builder<'_>,
    fi: usize,
    params: &[ParamSpec],
    in_path: bool,
    types: &BTreeMap<String, TypeDef>,
    seen: &mut HashMap<String, Position>,
) -> Option<Vec<ParamDef>> {
    let mut ok = true;
    let mut defs = Vec::new();
    for param in params {
        let position = pos(param.name.referenced);
        let name = &param.name.value;
        if let Some(first) = seen.insert(name.clone(), position) {
            ok = false;
            b.repeated(
                fi,
                position,
                format!("parameter `{name}` is declared twice"),
                "declared again here",
                &Site {
                    file: fi,
                    position: first,
                },
                "first declared here",
                "rename or remove one",
            )
            .notes
            .push("path and query parameters share one namespace".to_owned());
            continue;
        }
        if name == "body" {
            ok = false;
            b.error(
                fi,
                position,
                "a parameter may not be named `body`",
                "the generated request type keeps the JSON body in a field named `body`, so a \
                 parameter of that name is not supported",
            );
            continue;
        }
        let required = match (&param.required, in_path) {
            (Some(required), true) => {
                if !required.value {
                    ok = false;
                    b.error(
                        fi,
                        pos(required.referenced),
                        format!("path parameter `{name}` is marked `required: false`"),
                        "a path parameter is always required; remove `required:`",
                    );
                }
                true
            }
            (None, true) => true,
            (required, false) => required.as_ref().is_some_and(|r| r.value),
        };
        let Some(ty) = resolve_param_type(b, fi, param, types) else {
            ok = false;
            continue;
        };
        defs.push(ParamDef {
            name: name.clone(),
            rust_name: name.to_snake_case(),
            ty,
            required,
            description: param.description.clone(),
            example: param.example.clone(),
        });
    }
    ok.then_some(defs)
}

/// Checks path placeholders against the declared path parameters, both ways.
fn check_placeholders(
    b: &mut Builder<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    path_params: &[ParamDef],
) -> bool {
    let mut ok = true;
    let path = &endpoint.path.value;
    let found = placeholders(path);
    let declared: Vec<String> = path_params.iter().map(|p| p.name.clone()).collect();
    for (offset, name) in &found {
        if declared.iter().any(|d| d == name) {
            continue;
        }
        ok = false;
        let position = shifted(&b.files[fi], pos(endpoint.path.referenced), *offset);
        let help = match closest(name, &declared) {
            Some(near) => format!(
                "did you mean `:{near}`? Each `:name` in the path needs an entry in `path_params`"
            ),
            None => format!(
                "declare it under `path_params:` with its type, e.g. `- name: {name}` and `type: string`"
            ),
        };
        b.error(
            fi,
            position,
            format!("path placeholder `:{name}` is not a declared path parameter"),
            help,
        )
        .set_length(name.chars().count() + 1);
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (_, name) in &found {
        *counts.entry(name).or_default() += 1;
    }
    for (name, count) in counts {
        if count > 1 {
            ok = false;
            b.error(
                fi,
                pos(endpoint.path.referenced),
                format!("path placeholder `:{name}` appears {count} times"),
                "each path parameter fills exactly one segment",
            );
        }
    }
    for param in &endpoint.path_params {
        if !found.iter().any(|(_, name)| *name == param.name.value) {
            ok = false;
            let help = match closest(
                &param.name.value,
                &found
                    .iter()
                    .map(|(_, n)| (*n).to_owned())
                    .collect::<Vec<_>>(),
            ) {
                Some(near) => format!("the path has `:{near}`; make the two names the same"),
                None => format!(
                    "write `:{}` in the path where the value goes, or move the parameter to `query_params`",
                    param.name.value
                ),
            };
            b.error(
                fi,
                pos(param.name.referenced),
                format!(
                    "path parameter `{}` does not appear in the path `{path}`",
                    param.name.value
                ),
                help,
            );
        }
    }
    ok
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

fn build_idempotency(
    b: &mut Builder<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    types: &BTreeMap<String, TypeDef>,
) -> Option<IdempotencyDef> {
    let method = endpoint.method;
    let by_method = matches!(
        method,
        HttpMethod::Get | HttpMethod::Put | HttpMethod::Delete
    );
    let Some(rule) = &endpoint.idempotency else {
        return Some(if by_method {
            IdempotencyDef::Method
        } else {
            IdempotencyDef::Never
        });
    };
    let by = rule.by.value;
    let by_pos = pos(rule.by.referenced);
    if by != IdempotencyKind::Key {
        if let Some(field) = &rule.field {
            b.error(
                fi,
                pos(field.referenced),
                "only `by: key` takes a `field`",
                "remove `field:`, or write `by: key`",
            );
            return None;
        }
        if rule.window_hours.is_some() {
            b.error(
                fi,
                by_pos,
                "only `by: key` takes `window_hours`",
                "remove `window_hours:`, or write `by: key`",
            );
            return None;
        }
    }
    match by {
        IdempotencyKind::Method if by_method => Some(IdempotencyDef::Method),
        IdempotencyKind::Method => {
            b.error(
                fi,
                by_pos,
                format!(
                    "`by: method` makes a {} request safe to repeat, but only GET, PUT and DELETE are",
                    method_name(method)
                ),
                "use `by: key` with the body field that deduplicates, `by: read_only` for a query \
                 sent as POST, or `by: never`",
            );
            None
        }
        IdempotencyKind::ReadOnly => Some(IdempotencyDef::ReadOnly),
        IdempotencyKind::Never => Some(IdempotencyDef::Never),
        IdempotencyKind::Key => {
            let (Some(field), Some(window_hours)) = (&rule.field, rule.window_hours) else {
                b.error(
                    fi,
                    by_pos,
                    "`by: key` needs `field` and `window_hours`",
                    "name the string field of the body that carries the key, and how many hours \
                     the server remembers it",
                );
                return None;
            };
            let body_field = endpoint
                .body
                .as_ref()
                .and_then(|body| object_named(types, &body.value))
                .and_then(|object| object.fields.iter().find(|f| f.wire_name == field.value));
            match body_field {
                Some(body_field) if body_field.ty == TypeRef::Scalar(Scalar::String) => {
                    Some(IdempotencyDef::Key(KeyRule {
                        field: body_field.wire_name.clone(),
                        rust_field: body_field.rust_name.clone(),
                        required: body_field.required,
                        window_hours,
                        description: rule.description.clone(),
                    }))
                }
                _ => {
                    let body = endpoint
                        .body
                        .as_ref()
                        .map_or("(no body)".to_owned(), |body| body.value.clone());
                    b.error(
                        fi,
                        pos(field.referenced),
                        format!(
                            "idempotency field `{}` is not a string field of `{body}`",
                            field.value
                        ),
                        "name a `type: string` field of the body object",
                    );
                    None
                }
            }
        }
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

fn build_pagination(
    b: &mut Builder<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    query_params: &[ParamDef],
    types: &BTreeMap<String, TypeDef>,
) -> Option<Option<PaginationDef>> {
    let Some(pagination) = &endpoint.pagination else {
        return Some(None);
    };
    let at = pos(pagination.items.referenced);
    let mut problems = Vec::new();
    for (name, ty) in [("page_size", Scalar::Int32), ("page_token", Scalar::String)] {
        if !query_params
            .iter()
            .any(|p| p.name == name && p.ty == TypeRef::Scalar(ty) && !p.required)
        {
            problems.push(format!("an optional `{name}` query parameter"));
        }
    }
    let data = endpoint
        .data
        .as_ref()
        .and_then(|data| object_named(types, &data.value));
    let mut item = None;
    match data {
        None => problems.push("a `data` object".to_owned()),
        Some(data) => {
            for (name, ty) in [
                ("page_token", Scalar::String),
                ("has_more", Scalar::Boolean),
            ] {
                if !data
                    .fields
                    .iter()
                    .any(|f| f.wire_name == name && f.ty == TypeRef::Scalar(ty) && !f.required)
                {
                    problems.push(format!("an optional `{name}` field in `{}`", data.name));
                }
            }
            match data
                .fields
                .iter()
                .find(|f| f.wire_name == pagination.items.value)
            {
                Some(field) => match &field.ty {
                    TypeRef::Array(inner) => {
                        item = Some((field.rust_name.clone(), (**inner).clone()))
                    }
                    _ => problems.push(format!("`{}` to be an array", pagination.items.value)),
                },
                None => problems.push(format!(
                    "an array field `{}` in `{}`",
                    pagination.items.value, data.name
                )),
            }
        }
    }
    if !problems.is_empty() {
        b.error(
            fi,
            at,
            format!(
                "endpoint `{}` is paginated but lacks {}",
                endpoint.name.value,
                problems.join(", ")
            ),
            "a paginated endpoint takes optional `page_size` (int32) and `page_token` (string) \
             query parameters and answers `data` with the items, `page_token` and `has_more`",
        );
        return None;
    }
    let (items_rust_field, item_type) = item?;
    Some(Some(PaginationDef {
        items_field: pagination.items.value.clone(),
        items_rust_field,
        item_type,
    }))
}

fn build_endpoint(
    b: &mut Builder<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    types: &BTreeMap<String, TypeDef>,
) -> Option<EndpointDef> {
    let mut ok = true;
    for (what, name) in [
        ("body", &endpoint.body),
        ("data", &endpoint.data),
        ("response", &endpoint.response),
    ] {
        let Some(name) = name else { continue };
        if object_named(types, &name.value).is_none() {
            ok = false;
            b.error(
                fi,
                pos(name.referenced),
                format!(
                    "the {what} of `{}` names `{}`, which is not a defined object",
                    endpoint.name.value, name.value
                ),
                "name an object defined under `objects:` in any spec file",
            );
        }
    }
    if let (Some(_), Some(response)) = (&endpoint.data, &endpoint.response) {
        ok = false;
        b.error(
            fi,
            pos(response.referenced),
            format!(
                "endpoint `{}` has both `data` and `response`",
                endpoint.name.value
            ),
            "an answer in the platform envelope names its `data`; `response` is for an answer \
             that is not enveloped (the token endpoints); keep one",
        );
    }
    if let (HttpMethod::Get, Some(body)) = (endpoint.method, &endpoint.body) {
        ok = false;
        b.error(
            fi,
            pos(body.referenced),
            format!("endpoint `{}` is a GET with a body", endpoint.name.value),
            "a GET request carries no body; move its fields to `query_params`, or check the method \
             in the documentation",
        );
    }
    if endpoint.path.value.contains("//") || endpoint.path.value.ends_with('/') {
        ok = false;
        b.error(
            fi,
            pos(endpoint.path.referenced),
            format!("path `{}` has an empty segment", endpoint.path.value),
            "remove the doubled or trailing `/`",
        );
    }
    let mut seen = HashMap::new();
    let path_params = build_params(b, fi, &endpoint.path_params, true, types, &mut seen);
    let query_params = build_params(b, fi, &endpoint.query_params, false, types, &mut seen);
    let (Some(mut path_params), Some(query_params)) = (path_params, query_params) else {
        return None;
    };
    ok &= check_placeholders(b, fi, endpoint, &path_params);
    // Path parameters in the order of their placeholders, as the path is filled.
    let order = placeholders(&endpoint.path.value);
    path_params.sort_by_key(|p| order.iter().position(|(_, name)| *name == p.name));
    let idempotency = build_idempotency(b, fi, endpoint, types);
    let pagination = build_pagination(b, fi, endpoint, &query_params, types);
    let (true, Some(idempotency), Some(pagination)) = (ok, idempotency, pagination) else {
        return None;
    };
    let body = endpoint.body.as_ref().map(|body| body.value.clone());
    let generates_request_type =
        body.is_none() || !path_params.is_empty() || !query_params.is_empty();
    let request_type = match (&body, generates_request_type) {
        (Some(body), false) => body.clone(),
        _ => format!("{}Request", endpoint.name.value.to_upper_camel_case()),
    };
    let response = match (&endpoint.response, &endpoint.data) {
        (Some(whole), _) => ResponseDef::Whole(whole.value.clone()),
        (None, data) => ResponseDef::Data(data.as_ref().map(|d| d.value.clone())),
    };
    Some(EndpointDef {
        name: endpoint.name.value.clone(),
        const_name: endpoint.name.value.to_shouty_snake_case(),
        summary: endpoint.summary.clone(),
        description: endpoint.description.clone(),
        docs: endpoint.docs.clone(),
        method: endpoint.method,
        path: endpoint.path.value.clone(),
        path_params,
        query_params,
        access_token: endpoint.access_token,
        app_types: endpoint.app_types.clone(),
        scopes: endpoint
            .scopes
            .iter()
            .map(|s| (s.name.clone(), s.description.clone()))
            .collect(),
        rate_limit: endpoint
            .rate_limit
            .as_ref()
            .map(|r| (r.requests, r.per_seconds)),
        idempotency,
        request_type,
        generates_request_type,
        body,
        response,
        pagination,
        errors: endpoint.errors.iter().map(|row| row.code.value).collect(),
    })
}

/// The object names a field of `object` holds by value (not through an array).
fn by_value_children(object: &ObjectDef) -> impl Iterator<Item = &str> {
    object.fields.iter().filter_map(|f| match &f.ty {
        TypeRef::Object(name) => Some(name.as_str()),
        _ => None,
    })
}

fn find_cycle(start: &str, types: &BTreeMap<String, TypeDef>) -> Option<Vec<String>> {
    fn walk(
        current: &str,
        start: &str,
        types: &BTreeMap<String, TypeDef>,
        path: &mut Vec<String>,
        visited: &mut HashSet<String>,
    ) -> bool {
        let Some(TypeDef::Object(object)) = types.get(current) else {
            return false;
        };
        for child in by_value_children(object) {
            if child == start {
                path.push(child.to_owned());
                return true;
            }
            if visited.insert(child.to_owned()) {
                path.push(child.to_owned());
                if walk(child, start, types, path, visited) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut visited = HashSet::new();
    walk(start, start, types, &mut path, &mut visited).then_some(path)
}

fn reachable<'a>(
    roots: impl Iterator<Item = &'a str>,
    types: &BTreeMap<String, TypeDef>,
) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut stack: Vec<String> = roots.map(str::to_owned).collect();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(TypeDef::Object(object)) = types.get(&name) {
            for field in &object.fields {
                let mut ty = &field.ty;
                if let TypeRef::Array(inner) = ty {
                    ty = inner;
                }
                if let TypeRef::Object(child) = ty {
                    stack.push(child.clone());
                }
            }
        }
    }
    // Only objects have a direction.
    seen.retain(|name| matches!(types.get(name), Some(TypeDef::Object(_))));
    seen
}
