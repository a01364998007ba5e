//! Reading one spec file: YAML syntax, then the format's JSON Schema, then typed decoding.
//!
//! The file is first read into a located tree ([`Node`]) so that a JSON Schema
//! error, which names a JSON path, can be reported at the line and column of
//! the offending key or value. Only a file that passes the schema is decoded
//! into [`SpecFile`].

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

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

fn format_validator() -> Result<&'static jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            jsonschema::validator_for(&format_schema())
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
        .map_err(|error| vec![saphyr_diagnostic(path, source, &error)])?;

    let mut locations = Locations::default();
    let json = node.into_json(String::new(), &mut locations);

    let validator = format_validator()
        .map_err(|bug| vec![Diagnostic::new(path, source, Position::default(), bug)])?;
    let schema_errors: Vec<Diagnostic> = validator
        .iter_errors(&json)
        .map(|error| schema_diagnostic(path, source, &locations, &error))
        .collect();
    if !schema_errors.is_empty() {
        let mut sorted = schema_errors;
        sorted.sort_by_key(|d| d.position);
        sorted.dedup_by(|a, b| a.position == b.position && a.message == b.message);
        return Err(sorted);
    }

    let spec = serde_saphyr::from_str_with_options::<SpecFile>(source, saphyr_options())
        .map_err(|error| vec![saphyr_diagnostic(path, source, &error)])?;
    Ok(LoadedFile {
        path: path.to_owned(),
        module: module.to_owned(),
        source: source.to_owned(),
        spec,
    })
}

fn saphyr_diagnostic(path: &str, source: &str, error: &serde_saphyr::Error) -> Diagnostic {
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
    Diagnostic::new(path, source, position, format!("invalid YAML: {message}")).with_help(
        "check the indentation (spaces, two per level) and the quoting around this point",
    )
}

fn schema_diagnostic(
    path: &str,
    source: &str,
    locations: &Locations,
    error: &jsonschema::ValidationError<'_>,
) -> Diagnostic {
    use jsonschema::error::ValidationErrorKind as Kind;
    let at = error.instance_path().as_str().to_owned();
    let shown = if at.is_empty() {
        "/".to_owned()
    } else {
        at.clone()
    };
    let value_position = locations.value(&at);
    let (position, message, help) = match error.kind() {
        Kind::AdditionalProperties { unexpected } => {
            let key = unexpected.first().cloned().unwrap_or_default();
            let position = locations.key(&format!("{at}/{}", escape(&key)));
            (
                position.unwrap_or(value_position),
                format!("unknown key `{key}` in {shown}"),
                "remove the key or fix its spelling; spec/README.md lists the keys each mapping takes"
                    .to_owned(),
            )
        }
        Kind::Required { property } => {
            let key = property.as_str().unwrap_or_default();
            (
                value_position,
                format!("missing required key `{key}` in {shown}"),
                format!("add `{key}:` to this mapping"),
            )
        }
        Kind::Type { kind } => (
            value_position,
            format!("wrong type at {shown}: {}", error.masked()),
            format!("write a value of type {kind:?} here")
                .replace("Single(", "")
                .replace(')', ""),
        ),
        Kind::Pattern { pattern } => (
            value_position,
            format!("{} at {shown}", error.masked()),
            pattern_help(pattern),
        ),
        _ => (
            value_position,
            format!("{} at {shown}", error.masked()),
            "see spec/README.md for what this key accepts".to_owned(),
        ),
    };
    Diagnostic::new(path, source, position, message).with_help(help)
}

fn pattern_help(pattern: &str) -> String {
    match pattern {
        "^/" => "paths start with `/`, e.g. `/open-apis/hire/v1/external_interviews`".to_owned(),
        "^https://" => "write the full public address, starting with `https://`".to_owned(),
        "^[a-z][a-z0-9_]*$" => {
            "use snake_case: lowercase letters, digits and `_`, starting with a letter".to_owned()
        }
        "^[A-Z][A-Za-z0-9]*$" => {
            "use UpperCamelCase: letters and digits, starting with a capital letter".to_owned()
        }
        other => format!("the value must match the regular expression `{other}`"),
    }
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
