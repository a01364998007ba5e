//! Reading one spec file: YAML syntax, then the format's JSON Schema, then typed decoding.
//!
//! The file is first read into a located tree (`Node`) so that a JSON Schema
//! error, which names a JSON path, can be reported at the line and column of
//! the offending key or value. Only a file that passes the schema is decoded
//! into [`SpecFile`].

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use feishu_hire_schema_errors::{Problem, ProblemKind, a_type, code_list};

use crate::diagnostics::{Diagnostic, Position};
use crate::spec::SpecFile;

/// A spec file that passed syntax and schema checks.
#[derive(Debug)]
pub struct LoadedFile {
    /// Path as shown in messages.
    pub path: String,
    /// Rust module the file generates: its path below the spec folder, in snake_case.
    pub module: String,
    /// The file's text.
    pub source: String,
    /// The decoded spec.
    pub spec: SpecFile,
}

impl LoadedFile {
    /// A diagnostic in this file.
    pub fn diagnostic(&self, position: Position, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.path, &self.source, position, message)
    }
}

/// The JSON Schema of the spec format, as committed in `spec/spec-format.schema.json`.
pub fn format_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<SpecFile>();
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "$id".into(),
            "https://feishu-hire.dev/spec-format.schema.json".into(),
        );
    }
    value
}

/// The format schema, derived once per process.
fn cached_format_schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(format_schema)
}

fn format_validator() -> Result<&'static jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            jsonschema::validator_for(cached_format_schema())
                .map_err(|error| format!("the derived spec-format schema is invalid: {error}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn saphyr_options() -> serde_saphyr::options::Options {
    let mut options = serde_saphyr::options::Options::default();
    options.with_snippet = false;
    // `yes`/`on` stay strings: only `true`/`false` are booleans in a spec.
    options.strict_booleans = true;
    options
}

/// Reads one spec file, or says everything that is wrong with it.
///
/// `path` is shown in messages; `module` names the Rust module it generates.
pub fn load(path: &str, module: &str, source: &str) -> Result<LoadedFile, Vec<Diagnostic>> {
    let node = serde_saphyr::from_str_with_options::<Node>(source, saphyr_options())
        .map_err(|error| vec![saphyr_diagnostic(path, source, &error, Pass::Syntax)])?;

    let mut locations = Locations::default();
    let json = node.into_json(String::new(), &mut locations);

    let validator = format_validator()
        .map_err(|bug| vec![Diagnostic::new(path, source, Position::default(), bug)])?;
    let problems =
        feishu_hire_schema_errors::report(validator.iter_errors(&json), cached_format_schema());
    // A misspelt key also leaves its real key missing; saying so twice would be noise.
    let misspelt: Vec<(String, String)> = problems.iter().flat_map(misspellings).collect();
    let schema_errors: Vec<Diagnostic> = problems
        .iter()
        .filter(|problem| !is_misspelt_required(problem, &misspelt))
        .map(|problem| schema_diagnostic(path, source, &locations, &json, problem))
        .collect();
    if !schema_errors.is_empty() {
        let mut sorted = schema_errors;
        sorted.sort_by_key(|d| d.position);
        sorted.dedup_by(|a, b| a.position == b.position && a.message == b.message);
        return Err(sorted);
    }

    let spec = serde_saphyr::from_str_with_options::<SpecFile>(source, saphyr_options())
        .map_err(|error| vec![saphyr_diagnostic(path, source, &error, Pass::Decode)])?;
    Ok(LoadedFile {
        path: path.to_owned(),
        module: module.to_owned(),
        source: source.to_owned(),
        spec,
    })
}

/// Which reading of the file failed: the YAML itself, or its decoding into [`SpecFile`]
/// after the schema accepted it (e.g. `1.0` where a whole number is needed).
#[derive(Clone, Copy)]
enum Pass {
    Syntax,
    Decode,
}

fn saphyr_diagnostic(
    path: &str,
    source: &str,
    error: &serde_saphyr::Error,
    pass: Pass,
) -> Diagnostic {
    let position = error
        .location()
        .map(Position::from_saphyr)
        .unwrap_or_default();
    let raw = error.to_string();
    // The library appends " at line L, column C"; we print the location ourselves.
    let message = match raw.rfind(" at line ") {
        Some(at) => raw[..at].to_owned(),
        None => raw,
    };
    if let Some(key) = message.strip_prefix("duplicate mapping key: ") {
        let key = key.split(',').next().unwrap_or(key).trim();
        return Diagnostic::new(path, source, position, format!("duplicate key `{key}`"))
            .with_help("a key may appear only once in a mapping; remove or rename one of them");
    }
    if let Some(rust_type) = message
        .strip_prefix("invalid ")
        .filter(|ty| INTEGER_TYPES.contains(ty))
    {
        let text = token_at(source, position);
        let what = if text.contains(['.', 'e', 'E']) {
            format!("`{text}` is not a whole number")
        } else {
            format!("`{text}` is out of range for {rust_type}")
        };
        return Diagnostic::new(path, source, position, what)
            .with_help("write a whole number without a decimal point, within range");
    }
    let help = if message.contains("tab") {
        "YAML indents with spaces only; replace the tabs with spaces"
    } else if message.contains("mapping values are not allowed") {
        "a `key: value` cannot start here: this line is probably indented deeper than the key \
         above it (the keys of one mapping line up), or a value containing `: ` needs quotes"
    } else {
        "check the indentation (spaces, two per level) and the quoting around this point"
    };
    let prefix = match pass {
        Pass::Syntax => "invalid YAML",
        Pass::Decode => "cannot read the spec",
    };
    Diagnostic::new(path, source, position, format!("{prefix}: {message}")).with_help(help)
}

/// Integer types the spec decodes into; `serde-saphyr` reports "invalid <type>" for them.
const INTEGER_TYPES: &[&str] = &["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"];

/// The scalar that starts at `position`, for quoting it in a message.
fn token_at(source: &str, position: Position) -> String {
    let line = source
        .lines()
        .nth((position.line as usize).saturating_sub(1))
        .unwrap_or_default();
    line.chars()
        .skip((position.column as usize).saturating_sub(1))
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ']' | '}' | '#'))
        .collect()
}

/// `(mapping pointer, allowed key)` for each unknown key that looks like a typo of an allowed one.
fn misspellings(problem: &Problem) -> Option<(String, String)> {
    let ProblemKind::UnknownKey { key, allowed } = &problem.kind else {
        return None;
    };
    closest(key, allowed).map(|close| (problem.pointer.clone(), close.to_owned()))
}

fn is_misspelt_required(problem: &Problem, misspelt: &[(String, String)]) -> bool {
    let ProblemKind::MissingKey { key } = &problem.kind else {
        return false;
    };
    misspelt
        .iter()
        .any(|(pointer, close)| *pointer == problem.pointer && close == key)
}

/// The diagnostic for one schema problem: the shared sentence, naming the entity
/// (`field `title` of object `Book``) rather than the JSON pointer, at the offending token,
/// with help in the terms of a YAML spec.
fn schema_diagnostic(
    path: &str,
    source: &str,
    locations: &Locations,
    root: &serde_json::Value,
    problem: &Problem,
) -> Diagnostic {
    let at = problem.pointer.as_str();
    // For a missing or unknown key this names the mapping that has (or lacks) it.
    let shown = place(root, at);
    let value_position = locations.value(at);
    let message = problem.message_about(Some(&shown));
    let instance = problem.value.as_ref().unwrap_or(&serde_json::Value::Null);
    let (position, message, help) = match &problem.kind {
        ProblemKind::UnknownKey { key, allowed } => {
            let mut help = String::new();
            if let Some(close) = closest(key, allowed) {
                help = format!("did you mean `{close}`? ");
            }
            help.push_str(problem.hint.as_deref().unwrap_or_default());
            let position = locations.key(&problem.field_pointer());
            (position.unwrap_or(value_position), message, help)
        }
        ProblemKind::MissingKey { key } => (
            value_position,
            message,
            format!("add `{key}:` to this mapping"),
        ),
        ProblemKind::WrongType { expected } => {
            (value_position, message, type_help(at, expected, instance))
        }
        ProblemKind::Pattern { pattern } => {
            let (message, help) = pattern_problem(pattern, instance, &shown);
            (value_position, message, help)
        }
        ProblemKind::NotAllowed { allowed } => {
            // Written as YAML scalars, not JSON: `POST`, not `"POST"`.
            let allowed: Vec<String> = allowed.iter().map(|a| scalar(&a.value)).collect();
            let help = if allowed.is_empty() {
                "see spec/README.md for what this key accepts".to_owned()
            } else {
                let mut help = String::new();
                if let Some(close) = instance.as_str().and_then(|text| closest(text, &allowed)) {
                    help = format!("did you mean `{close}`? ");
                }
                help.push_str(&format!("write one of {}", code_list(&allowed)));
                help
            };
            (value_position, message, help)
        }
        ProblemKind::OutOfRange { .. } if at == "/format" => (
            value_position,
            format!("unsupported spec format version {instance}"),
            format!(
                "this version of `cargo xtask codegen` reads `format: {}`",
                crate::spec::FORMAT_VERSION
            ),
        ),
        _ => (
            value_position,
            message,
            problem
                .hint
                .clone()
                .unwrap_or_else(|| "see spec/README.md for what this key accepts".to_owned()),
        ),
    };
    let mut diagnostic = Diagnostic::new(path, source, position, message).with_help(help);
    if let Some(label) = schema_label(problem) {
        diagnostic = diagnostic.with_label(label);
    }
    diagnostic
}

/// The short label under the offending token, where one adds to the message.
fn schema_label(problem: &Problem) -> Option<String> {
    Some(match &problem.kind {
        ProblemKind::UnknownKey { .. } => "unknown key".to_owned(),
        ProblemKind::MissingKey { key } => format!("this mapping has no `{key}`"),
        ProblemKind::WrongType { expected } => {
            let expected: Vec<&str> = expected.iter().map(|ty| a_type(ty)).collect();
            format!("expected {}", expected.join(" or "))
        }
        ProblemKind::NotAllowed { .. } => "not one of the allowed values".to_owned(),
        _ => return None,
    })
}

/// A scalar as a spec writes it: text bare, anything else as JSON.
fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// What the value at a JSON pointer is, as a message names it: the innermost named entities
/// and the keys below them, e.g. ``field `title` of object `Book` `` for
/// `/objects/0/fields/0` and `` `rate_limit.requests` of endpoint `create_loan` `` for
/// `/endpoints/0/rate_limit/requests`. An entity without a name is counted (`field #2`).
fn place(root: &serde_json::Value, pointer: &str) -> String {
    let mut entities: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let mut node = Some(root);
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        let index = segment.parse::<usize>().ok();
        let kind = keys.last().and_then(|key| entity_kind(key));
        node = node.and_then(|n| match (n, index) {
            (serde_json::Value::Array(items), Some(i)) => items.get(i),
            (serde_json::Value::Object(map), _) => map.get(&segment),
            _ => None,
        });
        match (index, kind) {
            (Some(i), Some(kind)) => {
                let name = node.and_then(|n| match (n.get("name"), n.get("code")) {
                    (Some(serde_json::Value::String(name)), _) => Some(name.clone()),
                    (_, Some(serde_json::Value::Number(code))) => Some(code.to_string()),
                    _ => None,
                });
                entities.push(match name {
                    Some(name) => format!("{kind} `{name}`"),
                    None => format!("{kind} #{}", i + 1),
                });
                keys.clear();
            }
            (Some(i), None) => match keys.last_mut() {
                Some(key) => key.push_str(&format!("[{i}]")),
                None => keys.push(format!("[{i}]")),
            },
            (None, _) => keys.push(segment),
        }
    }
    entities.reverse();
    let owner = entities.join(" of ");
    match (keys.is_empty(), owner.is_empty()) {
        (true, true) => "the top level of the file".to_owned(),
        (true, false) => owner,
        (false, true) => format!("`{}`", keys.join(".")),
        (false, false) => format!("`{}` of {owner}", keys.join(".")),
    }
}

/// What an item of the list under `key` is called in a message, if it is a named entity.
fn entity_kind(key: &str) -> Option<&'static str> {
    Some(match key {
        "endpoints" => "endpoint",
        "objects" => "object",
        "enums" => "enum",
        "fields" => "field",
        "values" => "enum value",
        "path_params" => "path parameter",
        "query_params" => "query parameter",
        "hosts" => "host",
        "error_codes" | "errors" => "error code",
        "scopes" => "scope",
        _ => return None,
    })
}

/// Help for a value of the wrong type, in the terms of a YAML spec.
fn type_help(at: &str, expected: &[String], found: &serde_json::Value) -> String {
    let wants = |ty: &str| expected.iter().any(|e| e == ty);
    let last = at.rsplit('/').next().unwrap_or_default();
    if at.is_empty() {
        return "a spec file is a mapping with `format: 1`, `source: https://…` and any of \
                `hosts`, `error_codes`, `endpoints`, `enums` and `objects`"
            .to_owned();
    }
    if wants("boolean") && found.is_string() {
        return "write `true` or `false`; in a spec, YAML 1.1 words such as `yes`, `no`, `on` \
                and `off` are text"
            .to_owned();
    }
    if wants("integer") && at.starts_with("/enums/") && last == "value" {
        return "an enum value is the integer on the wire, e.g. `value: 1`; the word goes in `name:`"
            .to_owned();
    }
    if wants("integer") {
        return "write a whole number, e.g. `1`".to_owned();
    }
    if wants("object") && matches!(last, "description" | "summary" | "advice") {
        return "write the text in both languages: `zh:` and `en:` on indented lines below"
            .to_owned();
    }
    if wants("object") {
        return "write indented `key: value` lines".to_owned();
    }
    if wants("array") && found.is_null() {
        return "write `[]` for an empty list, or remove the key".to_owned();
    }
    if wants("array") {
        return "write one `- item` per line, or `[a, b]`".to_owned();
    }
    if wants("string") && !found.is_object() && !found.is_array() {
        return "put the value in quotes to keep it as text, e.g. `\"1\"`".to_owned();
    }
    "see spec/README.md for what this key accepts".to_owned()
}

fn pattern_problem(pattern: &str, value: &serde_json::Value, shown: &str) -> (String, String) {
    let text = value.as_str().unwrap_or_default();
    match pattern {
        "^/" => (
            format!("path `{text}` does not start with `/`"),
            "paths start with `/`, e.g. `/open-apis/hire/v1/external_interviews`".to_owned(),
        ),
        "^https://" => (
            format!("`{text}` ({shown}) is not an `https://` address"),
            "write the full public address, starting with `https://`".to_owned(),
        ),
        "^https?://[^/]+$" => (
            format!("host URL `{text}` has more than a scheme and a host"),
            "write the base URL without a path or a trailing `/`, e.g. `https://open.feishu.cn`"
                .to_owned(),
        ),
        "^[a-z][a-z0-9_]*$" => (
            format!("`{text}` ({shown}) is not snake_case"),
            "use snake_case: lowercase letters, digits and `_`, starting with a letter".to_owned(),
        ),
        "^[A-Z][A-Za-z0-9]*$" => (
            format!("`{text}` ({shown}) is not UpperCamelCase"),
            "use UpperCamelCase: letters and digits, starting with a capital letter".to_owned(),
        ),
        other => (
            format!("`{text}` ({shown}) does not match `{other}`"),
            format!("the value must match the regular expression `{other}`"),
        ),
    }
}

/// The candidate most like `word`, if one is close enough to be a likely typo.
fn closest<'c>(word: &str, candidates: &'c [String]) -> Option<&'c str> {
    candidates
        .iter()
        .map(|candidate| {
            let score = strsim::jaro_winkler(&word.to_lowercase(), &candidate.to_lowercase());
            (score, candidate)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate.as_str())
}

/// JSON-pointer escaping of one path segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Where each value and each mapping key of a file starts, by JSON pointer.
#[derive(Debug, Default)]
struct Locations {
    values: HashMap<String, Position>,
    keys: HashMap<String, Position>,
}

impl Locations {
    fn value(&self, pointer: &str) -> Position {
        // An error on a node we did not record (it cannot happen today) points at its parent.
        let mut pointer = pointer;
        loop {
            if let Some(position) = self.values.get(pointer) {
                return *position;
            }
            match pointer.rfind('/') {
                Some(cut) => pointer = &pointer[..cut],
                None => return Position::default(),
            }
        }
    }

    fn key(&self, pointer: &str) -> Option<Position> {
        self.keys.get(pointer).copied()
    }
}

/// A YAML node with the position it starts at.
struct Node {
    position: Position,
    kind: NodeKind,
}

enum NodeKind {
    Null,
    Bool(bool),
    Integer(i64),
    Unsigned(u64),
    Float(f64),
    String(String),
    Sequence(Vec<Node>),
    Mapping(Vec<(Spanned<String>, Node)>),
}

impl Node {
    fn into_json(self, pointer: String, locations: &mut Locations) -> serde_json::Value {
        use serde_json::Value;
        let value = match self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(b),
            NodeKind::Integer(i) => Value::from(i),
            NodeKind::Unsigned(u) => Value::from(u),
            NodeKind::Float(f) => {
                serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
            }
            NodeKind::String(s) => Value::String(s),
            NodeKind::Sequence(items) => Value::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| item.into_json(format!("{pointer}/{i}"), locations))
                    .collect(),
            ),
            NodeKind::Mapping(entries) => {
                let mut object = serde_json::Map::new();
                for (key, value) in entries {
                    let child = format!("{pointer}/{}", escape(&key.value));
                    locations
                        .keys
                        .insert(child.clone(), Position::from_saphyr(key.referenced));
                    let json = value.into_json(child, locations);
                    object.insert(key.value, json);
                }
                Value::Object(object)
            }
        };
        locations.values.insert(pointer, self.position);
        value
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeKind>::deserialize(deserializer)?;
        Ok(Node {
            position: Position::from_saphyr(spanned.referenced),
            kind: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for NodeKind {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeKind;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }

    fn visit_none<E>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<NodeKind, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }

    fn visit_bool<E>(self, v: bool) -> Result<NodeKind, E> {
        Ok(NodeKind::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<NodeKind, E> {
        Ok(NodeKind::Integer(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<NodeKind, E> {
        Ok(NodeKind::Unsigned(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<NodeKind, E> {
        Ok(NodeKind::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<NodeKind, E> {
        Ok(NodeKind::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<NodeKind, E> {
        Ok(NodeKind::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeKind::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(NodeKind::Mapping(entries))
    }
}
