//! One translator from JSON Schema validation errors to readable problems, shared by the
//! importer (`feishu-hire validate`), the sandbox (Feishu's field violations) and
//! `cargo xtask codegen` (spec diagnostics), so the same mistake reads the same everywhere.
//!
//! [`problems`] turns one [`jsonschema::ValidationError`] into [`Problem`]s: where (a JSON
//! pointer and a dotted path such as `interview_assessments[0].conclusion`), the offending
//! value, what kind of problem ([`ProblemKind`]), and one sentence: [`Problem::message`], what
//! is wrong, and [`Problem::hint`], what is expected. [`report`] does it for every error of one
//! instance and applies the rules that need them all: a value of the wrong type that also fails
//! its `enum` or range is reported once, as the type error, and problems come in document
//! order. The consumers only frame a problem (a `file:line:` prefix, a Feishu
//! `FieldViolation`, a spec diagnostic with its span).
//!
//! Where the schema knows more than the error, the translator reads it from the root schema:
//! what an enum value means (an enum's `description` lists `value: meaning` lines, as the
//! generated schemas write them; a `oneOf` of `const`s gives each its own `description`), both
//! bounds of a range, the keys an object takes, a field's description and example.

use std::cmp::Ordering;
use std::fmt;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
use jsonschema::paths::LocationSegment;
use serde_json::Value;

/// Longest value quoted in a message, in characters; a longer one is cut and its size noted,
/// so one huge field cannot flood a terminal or an answer.
pub const MAX_QUOTED_CHARS: usize = 60;

/// Longest field description a hint quotes; longer ones (documentation prose) are left out.
const MAX_DESCRIPTION_CHARS: usize = 160;

/// One thing wrong with an instance.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Problem {
    /// Where, as a JSON pointer: `/interview_assessments/0/conclusion`, empty for the instance
    /// itself. For a missing key, the object that lacks it.
    pub pointer: String,
    /// Where, as a dotted path: `interview_assessments[0].conclusion`, empty for the instance
    /// itself. For a missing key, the object that lacks it.
    pub path: String,
    /// The offending value: for an unknown key, that key's value; `None` for a missing key.
    pub value: Option<Value>,
    /// What kind of problem, with what the schema allows.
    pub kind: ProblemKind,
    /// What is expected or what to write instead, when the schema says more than the message:
    /// `expected one of 1 (Fail), 2 (Pass), 3 (To be determined)`; for a missing key, what the
    /// key is (its description).
    pub hint: Option<String>,
}

/// What kind of problem, with what the schema allows.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// A required key is missing (`required`).
    MissingKey {
        /// The missing key.
        key: String,
    },
    /// A key the object does not take (`additionalProperties: false`).
    UnknownKey {
        /// The unknown key.
        key: String,
        /// The keys the object takes (from its `properties`), if the schema was found.
        allowed: Vec<String>,
    },
    /// A value of the wrong JSON type (`type`).
    WrongType {
        /// The JSON types allowed: `integer`, `string`, …
        expected: Vec<String>,
    },
    /// A value that is none of the listed ones (`enum`, `const`, a `oneOf` of `const`s).
    NotAllowed {
        /// The allowed values, with their meanings where the schema gives them.
        allowed: Vec<Allowed>,
    },
    /// A number outside its bounds (`minimum`, `maximum`). Both bounds are given when the
    /// schema has both, whichever one failed.
    OutOfRange {
        /// The smallest allowed value.
        minimum: Option<Value>,
        /// The largest allowed value.
        maximum: Option<Value>,
    },
    /// A string that does not match its `pattern`.
    Pattern {
        /// The regular expression.
        pattern: String,
    },
    /// A list with fewer items than `minItems`.
    TooFewItems {
        /// The least number of items.
        minimum: u64,
    },
    /// A string shorter than `minLength`.
    TooShort {
        /// The least number of characters.
        minimum: u64,
    },
    /// Any other keyword; the message is the validator's own.
    Other {
        /// The failing keyword.
        keyword: String,
        /// The validator's message, without the instance.
        detail: String,
    },
}

/// One allowed value and what it means.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Allowed {
    /// The value as written on the wire.
    pub value: Value,
    /// Its meaning, from the schema's description (`Fail`), if it has one.
    pub meaning: Option<String>,
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)?;
        if let Some(meaning) = &self.meaning {
            write!(f, " ({meaning})")?;
        }
        Ok(())
    }
}

impl Problem {
    /// What is wrong, located by the consumer: `4 is not allowed here`, `missing required key
    /// `external_application_id``, `expected a string, found null`.
    pub fn message(&self) -> String {
        self.message_about(None)
    }

    /// What is wrong, naming the place in the consumer's words (`field `title` of object
    /// `Book``); for a missing or unknown key, `place` names the object.
    pub fn message_about(&self, place: Option<&str>) -> String {
        let value = self.value.as_ref().unwrap_or(&Value::Null);
        let shown = quote(value);
        match &self.kind {
            ProblemKind::MissingKey { key } => match place {
                Some(place) => format!("missing required key `{key}` in {place}"),
                None => format!("missing required key `{key}`"),
            },
            ProblemKind::UnknownKey { key, .. } => match place {
                Some(place) => format!("unknown key `{key}` in {place}"),
                None => format!("unknown key `{key}`"),
            },
            ProblemKind::WrongType { expected } => {
                let wanted: Vec<&str> = expected.iter().map(|ty| a_type(ty)).collect();
                let wanted = wanted.join(" or ");
                match place {
                    Some(place) => format!(
                        "expected {wanted} for {place}, found {}",
                        describe_value(value)
                    ),
                    None => format!("expected {wanted}, found {}", describe_value(value)),
                }
            }
            ProblemKind::NotAllowed { .. } => match place {
                Some(place) => format!("{shown} is not allowed for {place}"),
                None => format!("{shown} is not allowed here"),
            },
            ProblemKind::OutOfRange { minimum, maximum } => {
                let what = match (minimum, maximum) {
                    (Some(_), Some(_)) => "is out of range".to_owned(),
                    (Some(min), None) => format!("is less than the minimum of {min}"),
                    (None, Some(max)) => format!("is greater than the maximum of {max}"),
                    (None, None) => "is out of range".to_owned(),
                };
                match place {
                    Some(place) => format!("{shown} {what} for {place}"),
                    None => format!("{shown} {what}"),
                }
            }
            ProblemKind::Pattern { pattern } => match place {
                Some(place) => format!("{shown} ({place}) does not match the pattern `{pattern}`"),
                None => format!("{shown} does not match the pattern `{pattern}`"),
            },
            ProblemKind::TooFewItems { minimum } => {
                let what = match place {
                    Some(place) => format!("the list {place}"),
                    None => "the list".to_owned(),
                };
                if value.as_array().is_some_and(Vec::is_empty) {
                    format!("{what} is empty")
                } else {
                    format!("{what} has fewer than {minimum} items")
                }
            }
            ProblemKind::TooShort { minimum } => {
                let what = match place {
                    Some(place) => format!("the string {place}"),
                    None => "the string".to_owned(),
                };
                if value.as_str().is_some_and(str::is_empty) {
                    format!("{what} is empty")
                } else {
                    format!("{what} is shorter than {minimum} characters")
                }
            }
            ProblemKind::Other { detail, .. } => match place {
                Some(place) => format!("{detail} ({place})"),
                None => detail.clone(),
            },
        }
    }

    /// The whole sentence: the message, then the hint after a semicolon; a missing key's
    /// description in parentheses (`missing required key `begin_time` (start time, …)`).
    pub fn sentence(&self) -> String {
        match (&self.hint, &self.kind) {
            (Some(hint), ProblemKind::MissingKey { .. }) => format!("{} ({hint})", self.message()),
            (Some(hint), _) => format!("{}; {hint}", self.message()),
            (None, _) => self.message(),
        }
    }

    /// The pointer of the field the problem is about: for a missing key, the key's own place
    /// (`/external_application_id`) rather than the object's.
    pub fn field_pointer(&self) -> String {
        match &self.kind {
            ProblemKind::MissingKey { key } | ProblemKind::UnknownKey { key, .. } => {
                format!("{}/{}", self.pointer, escape(key))
            }
            _ => self.pointer.clone(),
        }
    }

    /// The dotted path of the field the problem is about: for a missing or unknown key, the
    /// key's own path (`interview_assessments[0].extra`) rather than the object's.
    pub fn field_path(&self) -> String {
        dotted_path(&self.field_pointer())
    }

    fn is_type_error(&self) -> bool {
        matches!(self.kind, ProblemKind::WrongType { .. })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sentence())
    }
}

/// Every problem of one instance, from all its validation errors (`root` is the schema they
/// were validated against): one per unknown key, a wrong type reported once even when the
/// value also fails its `enum` or range, in document order (by path, arrays by index).
pub fn report<'a>(
    errors: impl IntoIterator<Item = ValidationError<'a>>,
    root: &Value,
) -> Vec<Problem> {
    let mut found: Vec<Problem> = Vec::new();
    for error in errors {
        found.extend(problems(&error, root));
    }
    // A string "2" where an enum of integers is expected fails both `type` and `enum`; the type
    // error says what to do (remove the quotes), the enum error would only repeat the list.
    let typed: Vec<String> = found
        .iter()
        .filter(|problem| problem.is_type_error())
        .map(|problem| problem.pointer.clone())
        .collect();
    found.retain(|problem| {
        problem.is_type_error()
            || matches!(
                problem.kind,
                ProblemKind::MissingKey { .. } | ProblemKind::UnknownKey { .. }
            )
            || !typed.contains(&problem.pointer)
    });
    found.sort_by(|a, b| compare_pointers(&a.field_pointer(), &b.field_pointer()));
    found.dedup_by(|later, earlier| later == earlier);
    found
}

/// The problems one validation error stands for: one per unknown key, otherwise one.
///
/// An `anyOf` that failed because the value fits neither its one real option nor `null` (how
/// an optional value is often written, e.g. by schemars) stands for the real option's
/// problems, not for "does not match any of".
pub fn problems(error: &ValidationError<'_>, root: &Value) -> Vec<Problem> {
    if let Kind::AnyOf { context } = error.kind() {
        let real: Vec<&Vec<ValidationError<'static>>> = context
            .iter()
            .filter(|branch| !branch.iter().all(is_null_type_error))
            .collect();
        if let [only] = real.as_slice()
            && !only.is_empty()
        {
            return only
                .iter()
                .flat_map(|inner| problems(inner, root))
                .collect();
        }
    }
    let pointer = error.instance_path().as_str().to_owned();
    let path = dotted_path(&pointer);
    let instance: &Value = error.instance();
    let schema = keyword_parent(root, error);
    let problem = |kind: ProblemKind, value: Option<Value>, hint: Option<String>| Problem {
        pointer: pointer.clone(),
        path: path.clone(),
        value,
        kind,
        hint,
    };
    match error.kind() {
        Kind::Required { property } => {
            let key = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            let hint = schema
                .and_then(|schema| schema.get("properties")?.get(&key))
                .map(|field| resolve(root, field))
                .and_then(|field| field_description(root, field));
            vec![problem(ProblemKind::MissingKey { key }, None, hint)]
        }
        Kind::AdditionalProperties { unexpected } | Kind::UnevaluatedProperties { unexpected } => {
            let allowed: Vec<String> = schema
                .and_then(|schema| schema.get("properties")?.as_object())
                .map(|properties| properties.keys().cloned().collect())
                .unwrap_or_default();
            let hint = (!allowed.is_empty())
                .then(|| format!("the keys allowed here are {}", code_list(&allowed)));
            unexpected
                .iter()
                .map(|key| {
                    problem(
                        ProblemKind::UnknownKey {
                            key: key.clone(),
                            allowed: allowed.clone(),
                        },
                        instance.get(key).cloned(),
                        hint.clone(),
                    )
                })
                .collect()
        }
        Kind::Type { kind } => {
            let expected: Vec<String> = match kind {
                TypeKind::Single(ty) => vec![ty.to_string()],
                TypeKind::Multiple(set) => set.iter().map(|ty| ty.to_string()).collect(),
            };
            let allowed = schema.map(|schema| allowed_values(root, schema));
            // The instance's own description ("Request body of …") tells its sender nothing.
            let description = schema
                .filter(|_| !pointer.is_empty())
                .and_then(|schema| field_description(root, schema));
            let hint = type_hint(
                &expected,
                instance,
                allowed.as_deref().unwrap_or_default(),
                description,
            );
            vec![problem(
                ProblemKind::WrongType { expected },
                Some(instance.clone()),
                hint,
            )]
        }
        Kind::Enum { .. } | Kind::Constant { .. } | Kind::OneOfNotValid { .. }
            if not_allowed(error, root, schema).is_some() =>
        {
            let allowed = not_allowed(error, root, schema).unwrap_or_default();
            let hint = (!allowed.is_empty()).then(|| format!("expected one of {}", list(&allowed)));
            vec![problem(
                ProblemKind::NotAllowed { allowed },
                Some(instance.clone()),
                hint,
            )]
        }
        Kind::Minimum { limit }
        | Kind::Maximum { limit }
        | Kind::ExclusiveMinimum { limit }
        | Kind::ExclusiveMaximum { limit } => {
            let is_lower = matches!(
                error.kind(),
                Kind::Minimum { .. } | Kind::ExclusiveMinimum { .. }
            );
            let bound = |name: &str| schema.and_then(|schema| schema.get(name)).cloned();
            let (minimum, maximum) = if is_lower {
                (Some(limit.clone()), bound("maximum"))
            } else {
                (bound("minimum"), Some(limit.clone()))
            };
            let whole = schema
                .and_then(|schema| schema.get("type"))
                .is_some_and(|ty| ty == "integer");
            let number = if whole { "a whole number" } else { "a number" };
            let hint = match (&minimum, &maximum) {
                (Some(min), Some(max)) => format!("expected {number} from {min} to {max}"),
                (Some(min), None) => format!("write a value of at least {min}"),
                (None, Some(max)) => format!("write a value of at most {max}"),
                (None, None) => format!("expected {number} in range"),
            };
            vec![problem(
                ProblemKind::OutOfRange { minimum, maximum },
                Some(instance.clone()),
                Some(hint),
            )]
        }
        Kind::Pattern { pattern } => {
            let hint = schema
                .and_then(|schema| example(root, schema))
                .map(|example| format!("e.g. {example}"));
            vec![problem(
                ProblemKind::Pattern {
                    pattern: pattern.clone(),
                },
                Some(instance.clone()),
                hint,
            )]
        }
        Kind::MinItems { limit } => vec![problem(
            ProblemKind::TooFewItems { minimum: *limit },
            Some(instance.clone()),
            Some(format!("list at least {}", items(*limit))),
        )],
        Kind::MinLength { limit } => vec![problem(
            ProblemKind::TooShort { minimum: *limit },
            Some(instance.clone()),
            Some("write some text".to_owned()),
        )],
        other => vec![problem(
            ProblemKind::Other {
                keyword: other.keyword().to_owned(),
                detail: error.masked().to_string(),
            },
            Some(instance.clone()),
            None,
        )],
    }
}

/// `/interview_assessments/0/conclusion` → `interview_assessments[0].conclusion`; empty for the
/// instance itself.
pub fn dotted_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = unescape(segment);
        if is_index(&segment) {
            path.push('[');
            path.push_str(&segment);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}

/// A value as messages quote it: compact JSON, cut to [`MAX_QUOTED_CHARS`] characters with its
/// full size noted (`"yyyy…" (9.8 KiB in all)`).
pub fn quote(value: &Value) -> String {
    shorten(&value.to_string(), MAX_QUOTED_CHARS)
}

/// `text`, cut to about `max` characters with `…` and its full size noted.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max.saturating_sub(20)).collect();
    format!("{head}… ({} in all)", human_bytes(text.len() as u64))
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    // Precision is irrelevant for a size shown to one decimal.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A JSON type as a message names it.
pub fn a_type(json_type: &str) -> &'static str {
    match json_type {
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "boolean" => "`true` or `false`",
        "array" => "a list",
        "object" => "an object",
        "null" => "null",
        _ => "another kind of value",
    }
}

/// A found value as a message names it: `a string "1"`, `a number 2.5`, `null`.
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(_) => format!("a number {}", quote(value)),
        Value::String(_) => format!("a string {}", quote(value)),
        Value::Array(_) => format!("a list {}", quote(value)),
        Value::Object(_) => format!("an object {}", quote(value)),
    }
}

fn is_null_type_error(error: &ValidationError<'_>) -> bool {
    matches!(error.kind(), Kind::Type { kind: TypeKind::Single(ty) } if ty.to_string() == "null")
}

/// What to write instead of a value of the wrong type.
fn type_hint(
    expected: &[String],
    found: &Value,
    allowed: &[Allowed],
    description: Option<String>,
) -> Option<String> {
    let wants = |ty: &str| expected.iter().any(|e| e == ty);
    let listed = (!allowed.is_empty()).then(|| list(allowed));
    let numeric_text = found
        .as_str()
        .map(str::trim)
        .is_some_and(|text| text.parse::<i64>().is_ok() || text.parse::<f64>().is_ok());
    if (wants("integer") || wants("number")) && numeric_text {
        return Some(match listed {
            Some(listed) => format!("write a number without quotes: {listed}"),
            None => "write the number without quotes".to_owned(),
        });
    }
    if wants("integer") && found.is_number() {
        return Some(match listed {
            Some(listed) => format!("write a whole number: {listed}"),
            None => "write a whole number, without a fraction".to_owned(),
        });
    }
    if wants("string") && (found.is_number() || found.is_boolean()) {
        return Some(format!("put the value in quotes: \"{found}\""));
    }
    if let Some(listed) = listed {
        return Some(format!("expected one of {listed}"));
    }
    description
}

/// The allowed values of an `enum`, `const` or `oneOf` of `const`s error, or `None` for a
/// `oneOf` of anything else.
fn not_allowed(
    error: &ValidationError<'_>,
    root: &Value,
    schema: Option<&Value>,
) -> Option<Vec<Allowed>> {
    match error.kind() {
        Kind::Enum { options } => Some(match schema {
            Some(schema) => allowed_values(root, schema),
            None => options
                .as_array()
                .into_iter()
                .flatten()
                .map(|value| Allowed {
                    value: value.clone(),
                    meaning: None,
                })
                .collect(),
        }),
        Kind::Constant { expected_value } => Some(vec![Allowed {
            value: (**expected_value).clone(),
            meaning: None,
        }]),
        Kind::OneOfNotValid { context } => {
            let from_schema = schema.map(|schema| allowed_values(root, schema));
            if let Some(allowed) = from_schema.filter(|allowed| !allowed.is_empty()) {
                return Some(allowed);
            }
            // Without the schema, the branches' own errors say whether each is a `const`.
            context
                .iter()
                .map(|branch| match branch.as_slice() {
                    [only] => match only.kind() {
                        Kind::Constant { expected_value } => Some(Allowed {
                            value: (**expected_value).clone(),
                            meaning: None,
                        }),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        }
        _ => None,
    }
}

/// The values a schema lists (an `enum`, or a `oneOf` whose every branch is a `const`), with
/// their meanings; empty if it lists none.
fn allowed_values(root: &Value, schema: &Value) -> Vec<Allowed> {
    let schema = resolve(root, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let description = schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return values
            .iter()
            .map(|value| Allowed {
                value: value.clone(),
                meaning: enum_meaning(description, value),
            })
            .collect();
    }
    let Some(branches) = schema.get("oneOf").and_then(Value::as_array) else {
        return Vec::new();
    };
    let consts: Option<Vec<Allowed>> = branches
        .iter()
        .map(|branch| {
            let branch = resolve(root, branch);
            let value = branch.get("const")?.clone();
            let meaning = branch
                .get("description")
                .and_then(Value::as_str)
                .map(first_line)
                .filter(|meaning| !meaning.is_empty() && !names_only(meaning, &value))
                .map(english);
            Some(Allowed { value, meaning })
        })
        .collect();
    consts.unwrap_or_default()
}

/// Whether a `const`'s description only repeats its value (`` `GET` ``).
fn names_only(meaning: &str, value: &Value) -> bool {
    let bare = meaning.trim_matches(|c: char| c == '`' || c == '.' || c.is_whitespace());
    match value {
        Value::String(text) => bare == text,
        other => bare == other.to_string().as_str(),
    }
}

/// The meaning of `value` in an enum description with `value: meaning` lines:
/// `1: Fail (不通过)` gives `Fail`.
fn enum_meaning(description: &str, value: &Value) -> Option<String> {
    let written = value.to_string();
    let bare = value.as_str().unwrap_or(&written);
    description.lines().find_map(|line| {
        let (head, meaning) = line.split_once(": ")?;
        let head = head.trim().trim_matches('`');
        (head == written || head == bare).then(|| english(meaning.trim()))
    })
}

/// A bilingual meaning without its Chinese gloss, and without what follows a `;` (a list of
/// meanings reads best short): `Fail (不通过)` gives `Fail`, `Score question; fills `score`
/// (打分题)` gives `Score question`.
fn english(meaning: &str) -> String {
    let meaning = meaning.split("; ").next().unwrap_or(meaning).trim();
    if let Some(open) = meaning.rfind(" (")
        && meaning.ends_with(')')
        && !meaning[open..].is_ascii()
    {
        return meaning[..open].trim_end().to_owned();
    }
    meaning.to_owned()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

/// A field's description for a hint: its first line, up to the first `;`, starting in lower
/// case, with its first example (`start time, Unix time in milliseconds, e.g. 1618500278638`).
/// `None` when it has none or it is prose too long for one line.
fn field_description(root: &Value, schema: &Value) -> Option<String> {
    let text = schema
        .get("description")
        .or_else(|| resolve(root, schema).get("description"))
        .and_then(Value::as_str)?;
    let line = first_line(text);
    let line = line
        .split("; ")
        .next()
        .unwrap_or(line)
        .trim_end_matches('.');
    if line.is_empty() || line.chars().count() > MAX_DESCRIPTION_CHARS {
        return None;
    }
    let mut chars = line.chars();
    let mut described: String = match chars.next() {
        // "Id of…" reads as "id of…" after a semicolon; "URL…" stays.
        Some(first) if chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => line.to_owned(),
    };
    if let Some(example) = example(root, schema) {
        described.push_str(&format!(", e.g. {example}"));
    }
    Some(described)
}

fn example(root: &Value, schema: &Value) -> Option<String> {
    let examples = schema
        .get("examples")
        .or_else(|| resolve(root, schema).get("examples"))?;
    let first = examples.as_array()?.first()?;
    (!first.is_object() && !first.is_array()).then(|| quote(first))
}

/// The schema object holding the failing keyword, found by walking the root schema along the
/// error's keyword location (and through `$ref`s, if the location passes them).
fn keyword_parent<'s>(root: &'s Value, error: &ValidationError<'_>) -> Option<&'s Value> {
    let segments: Vec<String> = error
        .schema_path()
        .segments()
        .map(|segment| match segment {
            LocationSegment::Property(name) => name.into_owned(),
            LocationSegment::Index(index) => index.to_string(),
        })
        .collect();
    let (_, parents) = segments.split_last()?;
    let mut node = root;
    for segment in parents {
        node = if segment == "$ref" {
            follow(root, node)?
        } else {
            match node {
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                other => other.get(segment.as_str())?,
            }
        };
    }
    Some(node)
}

/// The target of a schema's local `$ref` (`#/$defs/Name`).
fn follow<'s>(root: &'s Value, schema: &'s Value) -> Option<&'s Value> {
    let reference = schema.get("$ref")?.as_str()?;
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

/// A schema with its local `$ref`s followed; itself if it has none (or they lead nowhere).
fn resolve<'s>(root: &'s Value, mut schema: &'s Value) -> &'s Value {
    // Bounded, so a `$ref` cycle cannot loop forever.
    for _ in 0..16 {
        match follow(root, schema) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// `1 (Fail), 2 (Pass), 3 (To be determined)`.
fn list(allowed: &[Allowed]) -> String {
    allowed
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `` `a`, `b` and `c` ``.
pub fn code_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match quoted.split_last() {
        None => "none".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn items(count: u64) -> String {
    if count == 1 {
        "one item".to_owned()
    } else {
        format!("{count} items")
    }
}

/// JSON-pointer escaping of one segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn is_index(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
}

/// Document order: segment by segment, array indices as numbers (`[2]` before `[10]`).
fn compare_pointers(a: &str, b: &str) -> Ordering {
    let key = |pointer: &str| -> Vec<(u8, u64, String)> {
        pointer
            .split('/')
            .skip(1)
            .map(|segment| match segment.parse::<u64>() {
                Ok(index) if is_index(segment) => (0, index, String::new()),
                _ => (1, 0, unescape(segment)),
            })
            .collect()
    };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({
            "$defs": {
                "Conclusion": {
                    "description": "The conclusion\n\n面试结果\n\n1: Fail (不通过)\n2: Pass (通过)\n3: To be determined (待定)",
                    "enum": [1, 2, 3],
                    "type": "integer"
                },
                "Assessment": {
                    "additionalProperties": false,
                    "properties": {
                        "conclusion": {"$ref": "#/$defs/Conclusion", "description": "The interviewer's conclusion"},
                        "score": {"type": "integer", "minimum": -2_147_483_648_i64, "maximum": 2_147_483_647_i64}
                    },
                    "type": "object"
                },
                "Method": {
                    "oneOf": [
                        {"const": "GET", "description": "`GET`"},
                        {"const": "POST", "description": "`POST`"}
                    ]
                }
            },
            "additionalProperties": false,
            "properties": {
                "external_application_id": {
                    "description": "Id of the external application, from the list\n\n外部投递 ID",
                    "examples": ["6960663240925956437"],
                    "type": "string"
                },
                "begin_time": {
                    "description": "Start time, Unix time in milliseconds\n\n开始时间",
                    "examples": [1_618_500_278_638_i64],
                    "type": "integer",
                    "minimum": i64::MIN,
                    "maximum": i64::MAX
                },
                "interview_assessments": {"items": {"$ref": "#/$defs/Assessment"}, "type": "array"},
                "method": {"anyOf": [{"$ref": "#/$defs/Method"}, {"type": "null"}]},
                "tags": {"type": "array", "minItems": 1}
            },
            "required": ["external_application_id"],
            "type": "object"
        })
    }

    fn check(instance: &Value) -> Vec<Problem> {
        let root = schema();
        let validator = jsonschema::validator_for(&root).unwrap();
        report(validator.iter_errors(instance), &root)
    }

    fn sentences(instance: &Value) -> Vec<(String, String)> {
        check(instance)
            .iter()
            .map(|problem| (problem.path.clone(), problem.sentence()))
            .collect()
    }

    #[test]
    fn enum_meanings_come_from_the_description() {
        let found = check(&json!({
            "external_application_id": "1",
            "interview_assessments": [{}, {"conclusion": 4}]
        }));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pointer, "/interview_assessments/1/conclusion");
        assert_eq!(found[0].path, "interview_assessments[1].conclusion");
        assert_eq!(found[0].value, Some(json!(4)));
        assert_eq!(
            found[0].sentence(),
            "4 is not allowed here; expected one of 1 (Fail), 2 (Pass), 3 (To be determined)"
        );
    }

    #[test]
    fn a_wrong_type_that_also_fails_the_enum_is_reported_once() {
        assert_eq!(
            sentences(&json!({
                "external_application_id": "1",
                "interview_assessments": [{"conclusion": "2"}]
            })),
            [(
                "interview_assessments[0].conclusion".to_owned(),
                "expected an integer, found a string \"2\"; write a number without quotes: 1 (Fail), 2 (Pass), 3 (To be determined)".to_owned()
            )]
        );
    }

    #[test]
    fn keys_missing_and_unknown() {
        let found = check(&json!({"externalId": "a", "interview_assessments": [{"weight": 2}]}));
        let shown: Vec<(String, String, String)> = found
            .iter()
            .map(|p| (p.path.clone(), p.field_path(), p.sentence()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    String::new(),
                    "externalId".to_owned(),
                    "unknown key `externalId`; the keys allowed here are `begin_time`, `external_application_id`, `interview_assessments`, `method` and `tags`".to_owned()
                ),
                (
                    String::new(),
                    "external_application_id".to_owned(),
                    "missing required key `external_application_id` (id of the external application, from the list, e.g. \"6960663240925956437\")".to_owned()
                ),
                (
                    "interview_assessments[0]".to_owned(),
                    "interview_assessments[0].weight".to_owned(),
                    "unknown key `weight`; the keys allowed here are `conclusion` and `score`".to_owned()
                ),
            ]
        );
        assert_eq!(found[0].value, Some(json!("a")));
        assert_eq!(found[1].value, None);
    }

    #[test]
    fn ranges_name_both_bounds() {
        assert_eq!(
            sentences(&json!({
                "external_application_id": "1",
                "begin_time": 9_223_372_036_854_775_808_u64,
                "interview_assessments": [{"score": 2_147_483_648_i64}]
            })),
            [
                ("begin_time".to_owned(), "9223372036854775808 is out of range; expected a whole number from -9223372036854775808 to 9223372036854775807".to_owned()),
                ("interview_assessments[0].score".to_owned(), "2147483648 is out of range; expected a whole number from -2147483648 to 2147483647".to_owned()),
            ]
        );
    }

    #[test]
    fn type_hints_say_what_to_write() {
        assert_eq!(
            sentences(&json!({
                "external_application_id": 7_396_034_232_747_641_133_u64,
                "begin_time": "2021-04-15",
            })),
            [
                ("begin_time".to_owned(), "expected an integer, found a string \"2021-04-15\"; start time, Unix time in milliseconds, e.g. 1618500278638".to_owned()),
                ("external_application_id".to_owned(), "expected a string, found a number 7396034232747641133; put the value in quotes: \"7396034232747641133\"".to_owned()),
            ]
        );
        assert_eq!(
            sentences(&json!({"external_application_id": null, "begin_time": "12"})),
            [
                ("begin_time".to_owned(), "expected an integer, found a string \"12\"; write the number without quotes".to_owned()),
                ("external_application_id".to_owned(), "expected a string, found null; id of the external application, from the list, e.g. \"6960663240925956437\"".to_owned()),
            ]
        );
    }

    #[test]
    fn optional_values_unwrap_their_any_of() {
        let found = check(&json!({"external_application_id": "1", "method": "post"}));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].message(), "\"post\" is not allowed here");
        assert_eq!(
            found[0].hint.as_deref(),
            Some("expected one of \"GET\", \"POST\"")
        );
        assert_eq!(
            found[0].message_about(Some("`method` of endpoint `x`")),
            "\"post\" is not allowed for `method` of endpoint `x`"
        );
    }

    #[test]
    fn the_instance_itself_has_an_empty_path_and_lists_are_ordered_by_index() {
        let found = check(&json!([1]));
        assert_eq!(found[0].path, "");
        assert_eq!(found[0].message(), "expected an object, found a list [1]");
        let mut assessments = vec![json!({}); 11];
        assessments[2] = json!({"score": "x"});
        assessments[10] = json!({"score": "x"});
        let paths: Vec<String> =
            check(&json!({"external_application_id": "1", "interview_assessments": assessments}))
                .into_iter()
                .map(|p| p.path)
                .collect();
        assert_eq!(
            paths,
            [
                "interview_assessments[2].score",
                "interview_assessments[10].score"
            ]
        );
        assert_eq!(
            sentences(&json!({"external_application_id": "1", "tags": []}))[0].1,
            "the list is empty; list at least one item"
        );
    }

    #[test]
    fn long_values_are_cut_with_their_size() {
        let found =
            check(&json!({"external_application_id": "1", "begin_time": "y".repeat(10_000)}));
        let sentence = found[0].sentence();
        assert!(sentence.contains("… (9.8 KiB in all)"), "{sentence}");
        assert!(sentence.len() < 200, "{sentence}");
    }

    #[test]
    fn paths_unescape_pointers() {
        assert_eq!(dotted_path(""), "");
        assert_eq!(dotted_path("/a~1b/0/c~0d"), "a/b[0].c~d");
    }
}
