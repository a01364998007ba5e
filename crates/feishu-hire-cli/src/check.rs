//! Checking one record before it is sent: errors (never sent) and warnings (sent, but
//! probably a mistake).
//!
//! A record is an error when
//! - it is over the size limit (`--max-record-bytes`);
//! - it is not valid JSON, or not a JSON object;
//! - an object in it has the same key twice (`"external_id"` twice): JSON parsers disagree on
//!   which value counts, so the record is ambiguous;
//! - it would make a request body over the API's size limit ([`TARGET_MAX_BODY_BYTES`]),
//!   whatever `--max-record-bytes` says;
//! - it does not match the request's JSON Schema
//!   ([`feishu_hire_types::schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST`]): a missing
//!   `external_application_id`, an unknown field, a wrong type, an unlisted enum value…;
//! - it does not decode strictly into [`CreateExternalInterviewRequest`] (e.g. a score beyond
//!   32 bits; see [`feishu_hire_types::wire`] for what strict means);
//! - `external_application_id` or `external_id` is empty (an empty `external_id` would make
//!   every such record the same one for Feishu's deduplication).
//!
//! A record gets a warning (or, with `--strict`, an error) when
//! - `begin_time` or `end_time` looks like seconds (or microseconds) rather than milliseconds;
//! - `end_time` is before `begin_time`;
//! - an assessment dimension does not fill the field its `assessment_type` uses
//!   (score → `score`, single choice → `option`, free text → `content`,
//!   multiple choice → `options`), or fills another one.
//!
//! Every finding names its JSON path (`$.interview_assessments[0].conclusion`), and values in
//! messages are shortened so a huge field cannot flood the terminal.

use std::fmt;

use feishu_hire_types::{
    AssessmentType, CreateExternalInterviewRequest, InterviewConclusion, ParticipateStatus,
};
use serde_json::Value;

use crate::derive_id::derive_external_id;

/// Default of `--max-record-bytes`: 64 KiB, far above any real interview record, and small
/// enough that one bad line cannot take much memory or bandwidth.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 * 1024;

/// The largest request body the importer sends. Feishu does not document its limit; the
/// sandbox, which answers like Feishu, takes up to this many bytes. `--max-record-bytes` cannot
/// be set above it, and `validate` and `import` both refuse a record whose request would be
/// larger (a derived `external_id` adds a few bytes to the record).
pub const TARGET_MAX_BODY_BYTES: usize = feishu_hire_sandbox::DEFAULT_MAX_BODY_BYTES;

/// Records this close to [`TARGET_MAX_BODY_BYTES`] have their request's size measured; a
/// smaller one cannot grow past it (re-encoding never adds more than a derived id's bytes).
const BODY_SIZE_MARGIN: usize = 1024;

/// Times below this many milliseconds (1973-03-03) look like seconds.
const SECONDS_THRESHOLD: i64 = 100_000_000_000;
/// Times above this many milliseconds (year 5138) look like microseconds.
const MICROSECONDS_THRESHOLD: i64 = 100_000_000_000_000;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Severity {
    /// The record is not sent.
    Error,
    /// The record is sent, but something looks wrong.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One thing wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// JSON path of the value, `$` for the whole record.
    pub path: String,
    /// What is wrong, with a shortened value.
    pub message: String,
}

impl Finding {
    fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
        }
    }

    fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.severity, self.path, self.message)
    }
}

/// A record that passed the checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRecord {
    /// The request to send, with the derived `external_id` filled in if one was derived.
    pub request: CreateExternalInterviewRequest,
    /// The `external_id` used for deduplication (the record's own, or derived), if any.
    pub external_id: Option<String>,
    /// Whether `external_id` was derived (`--derive-external-id`).
    pub derived: bool,
}

/// What checking a record found.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// The record, if it has no errors.
    pub valid: Option<ValidRecord>,
    /// Errors and warnings, errors first.
    pub findings: Vec<Finding>,
}

impl CheckOutcome {
    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count()
    }
}

/// Checks records against the request schema and the rules in the module docs.
pub struct Checker {
    validator: jsonschema::Validator,
    max_record_bytes: usize,
    derive_ids: bool,
    strict: bool,
}

impl fmt::Debug for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checker")
            .field("max_record_bytes", &self.max_record_bytes)
            .field("derive_ids", &self.derive_ids)
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

/// How records are checked (the same for `validate`, `import` and `verify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Records longer than this many bytes are errors.
    pub max_record_bytes: usize,
    /// Give records without `external_id` a derived one (`--derive-external-id`).
    pub derive_external_ids: bool,
    /// Treat warnings as errors.
    pub strict: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            derive_external_ids: false,
            strict: false,
        }
    }
}

impl Checker {
    /// Compiles the request schema.
    pub fn new(options: CheckOptions) -> Result<Self, String> {
        let schema: Value =
            serde_json::from_str(feishu_hire_types::schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST)
                .map_err(|error| format!("the bundled request schema is not JSON: {error}"))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|error| format!("the bundled request schema is invalid: {error}"))?;
        Ok(Self {
            validator,
            max_record_bytes: options.max_record_bytes,
            derive_ids: options.derive_external_ids,
            strict: options.strict,
        })
    }

    /// The size limit in bytes.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// Whether records without `external_id` get a derived one.
    pub fn derives_ids(&self) -> bool {
        self.derive_ids
    }

    /// Checks one record given as bytes; `oversize` is its full size when it was not kept.
    pub fn check_bytes(&self, bytes: &[u8], oversize: Option<u64>) -> CheckOutcome {
        if let Some(size) =
            oversize.or_else(|| (bytes.len() > self.max_record_bytes).then_some(bytes.len() as u64))
        {
            return invalid(Finding::error(
                "$",
                format!(
                    "the record is {}, over the limit of {} (--max-record-bytes)",
                    human_bytes(size),
                    human_bytes(self.max_record_bytes as u64)
                ),
            ));
        }
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(value) => value,
            Err(error) => {
                let what = if std::str::from_utf8(bytes).is_err() {
                    "not valid UTF-8 text".to_owned()
                } else {
                    describe_json_error(&error)
                };
                return invalid(Finding::error("$", what));
            }
        };
        if let Some((path, key)) = duplicate_key(bytes) {
            return invalid(Finding::error(
                path,
                format!(
                    "the key {} appears twice in the same object; which value is meant is ambiguous (JSON readers differ), so the record is not sent. Keep one",
                    shorten(&format!("{key:?}"), 60)
                ),
            ));
        }
        let mut outcome = self.check_value(&value);
        if let Some(valid) = &outcome.valid
            && bytes.len() + BODY_SIZE_MARGIN > TARGET_MAX_BODY_BYTES
        {
            let body = serde_json::to_vec(&valid.request).map_or(usize::MAX, |body| body.len());
            if body > TARGET_MAX_BODY_BYTES {
                outcome.valid = None;
                outcome.findings.insert(
                    0,
                    Finding::error(
                        "$",
                        format!(
                            "the request would be {body} bytes, over the API's limit of {TARGET_MAX_BODY_BYTES} bytes (1 MiB), so it cannot be sent"
                        ),
                    ),
                );
            }
        }
        outcome
    }

    /// Checks one parsed record.
    pub fn check_value(&self, value: &Value) -> CheckOutcome {
        if !value.is_object() {
            return invalid(Finding::error(
                "$",
                format!(
                    "a record must be a JSON object (one interview), found {}",
                    describe_found(value)
                ),
            ));
        }
        let mut errors = self.schema_errors(value);
        let mut warnings = warnings(value);
        if self.strict {
            for warning in &mut warnings {
                warning.severity = Severity::Error;
                warning.message.push_str(" (an error with --strict)");
            }
        }
        let mut request = None;
        if errors.is_empty() {
            match serde_path_to_error::deserialize::<_, CreateExternalInterviewRequest>(value) {
                Ok(decoded) => request = Some(decoded),
                Err(error) => {
                    let path = error.path().to_string();
                    let field = path.rsplit('.').next().unwrap_or_default();
                    let field = field.split('[').next().unwrap_or_default().to_owned();
                    errors.push(Finding::error(
                        json_path_from_serde(&path),
                        describe_decode_error(&error.inner().to_string(), &field),
                    ));
                }
            }
        }
        if let Some(decoded) = &request {
            if decoded.external_application_id.trim().is_empty() {
                errors.push(Finding::error(
                    "$.external_application_id",
                    "is empty; it must name the external application the interview belongs to",
                ));
            }
            if decoded
                .external_id
                .as_deref()
                .is_some_and(|id| id.trim().is_empty())
            {
                errors.push(Finding::error(
                    "$.external_id",
                    "is empty; give every record its own id, or leave the field out",
                ));
            }
        }
        let has_errors =
            !errors.is_empty() || warnings.iter().any(|w| w.severity == Severity::Error);
        let mut findings = errors;
        findings.append(&mut warnings);
        findings.sort_by_key(|f| f.severity != Severity::Error);
        let valid = match request {
            Some(mut request) if !has_errors => {
                let (external_id, derived) = match request.external_id.clone() {
                    Some(id) => (Some(id), false),
                    None if self.derive_ids => {
                        let id = derive_external_id(value);
                        request = request.external_id(id.clone());
                        (Some(id), true)
                    }
                    None => (None, false),
                };
                Some(ValidRecord {
                    request,
                    external_id,
                    derived,
                })
            }
            _ => None,
        };
        CheckOutcome { valid, findings }
    }

    /// The record's JSON Schema errors, in the shared wording of `feishu-hire-schema-errors`
    /// (which also reports a wrong type that fails its `enum` once), each at its JSON path:
    /// an unknown key at the key itself, a missing one at the object that lacks it.
    fn schema_errors(&self, value: &Value) -> Vec<Finding> {
        use feishu_hire_schema_errors::ProblemKind;
        feishu_hire_schema_errors::report(self.validator.iter_errors(value), request_schema())
            .into_iter()
            .map(|problem| {
                let pointer = match problem.kind {
                    ProblemKind::UnknownKey { .. } => problem.field_pointer(),
                    _ => problem.pointer.clone(),
                };
                Finding::error(json_path_from_pointer(&pointer), problem.sentence())
            })
            .collect()
    }
}

/// The request schema as JSON, for the meanings, bounds and descriptions the translator quotes.
/// [`Checker::new`] has already compiled it; should it not parse, messages only lose those.
fn request_schema() -> &'static Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(feishu_hire_types::schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST)
            .unwrap_or(Value::Null)
    })
}

fn invalid(finding: Finding) -> CheckOutcome {
    CheckOutcome {
        valid: None,
        findings: vec![finding],
    }
}

/// What the values of enum-like fields mean, and what times should look like.
fn field_hint(field: &str, instance: &Value) -> String {
    fn listed<E: Copy + fmt::Display>(known: &[E], value: impl Fn(E) -> i64) -> String {
        known
            .iter()
            .map(|e| format!("{} ({e})", value(*e)))
            .collect::<Vec<_>>()
            .join(", ")
    }
    let allowed = match field {
        "participate_status" => listed(ParticipateStatus::KNOWN, ParticipateStatus::value),
        "conclusion" => listed(InterviewConclusion::KNOWN, InterviewConclusion::value),
        "assessment_type" => listed(AssessmentType::KNOWN, AssessmentType::value),
        "begin_time" | "end_time" => {
            let example = if instance
                .as_str()
                .is_some_and(|s| s.trim().parse::<i64>().is_ok())
            {
                "write the number without quotes"
            } else {
                "Unix time in milliseconds, e.g. 1618500278638 for 2021-04-15T15:24:38Z"
            };
            return format!("; {example}");
        }
        "external_id" | "external_application_id" if instance.is_number() => {
            return "; write the id as a string, in quotes".to_owned();
        }
        _ => return String::new(),
    };
    let quoted = if instance.is_string() {
        "a number without quotes: "
    } else {
        ""
    };
    format!("; expected {quoted}{allowed}")
}

/// `a string "x"`, `an integer 5`, or just `null` (not "null null").
fn describe_found(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        other => format!("{} {}", json_type_article(other), shorten_value(other)),
    }
}

/// A strict decoding error in the words the schema errors use. serde says
/// ``invalid type: floating point `2.0`, expected i64``: a whole number written with a decimal
/// point or exponent, which the schema accepts as an integer but the API's types do not, or
/// ``invalid value: integer `3000000000`, expected i32``: beyond the field's range.
fn describe_decode_error(message: &str, field: &str) -> String {
    let quoted = |text: &str| text.split('`').nth(1).map(str::to_owned);
    let expected = message.rsplit(", expected ").next().unwrap_or_default();
    let range = match expected {
        "i32" => "a whole number from -2147483648 to 2147483647",
        "i64" => "a whole number from -9223372036854775808 to 9223372036854775807",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" => "a whole number from 0 to 18446744073709551615",
        _ => "a whole number",
    };
    let hint = field_hint(field, &Value::Null);
    if message.starts_with("invalid type: floating point")
        && let Some(number) = quoted(message)
    {
        return format!(
            "expected an integer, found a number {number}; write {range} without a decimal point or exponent{hint}"
        );
    }
    if message.starts_with("invalid value: integer")
        && let Some(number) = quoted(message)
    {
        return format!("{number} is out of range; expected {range}{hint}");
    }
    message.to_owned()
}

fn json_type_article(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `serde_json`'s message without its " at line 1 column N" (the line is ours), plus the
/// column, which helps find the spot in a long line.
fn describe_json_error(error: &serde_json::Error) -> String {
    let raw = error.to_string();
    let message = match raw.rfind(" at line ") {
        Some(at) => &raw[..at],
        None => raw.as_str(),
    };
    let kind = if error.is_eof() {
        "the JSON ends early"
    } else {
        "not valid JSON"
    };
    format!("{kind}: {message} (column {})", error.column())
}

/// The JSON path and key of the first key that appears twice in one object, at any depth;
/// `None` if there is none (or the bytes are not JSON, which the caller reports).
/// `serde_json::Value` keeps the last of two equal keys silently, so the bytes are read again
/// with a visitor that sees every key.
fn duplicate_key(bytes: &[u8]) -> Option<(String, String)> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::cell::RefCell;

    struct Walk<'a> {
        path: String,
        found: &'a RefCell<Option<(String, String)>>,
    }

    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut keys = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                let path = format!("{}.{key}", self.path);
                if self.found.borrow().is_none() && keys.contains(&key) {
                    *self.found.borrow_mut() = Some((path.clone(), key.clone()));
                }
                map.next_value_seed(Walk {
                    path,
                    found: self.found,
                })?;
                keys.insert(key);
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut index = 0;
            while seq
                .next_element_seed(Walk {
                    path: format!("{}[{index}]", self.path),
                    found: self.found,
                })?
                .is_some()
            {
                index += 1;
            }
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }

    let found = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let walk = Walk {
        path: "$".to_owned(),
        found: &found,
    };
    walk.deserialize(&mut deserializer).ok()?;
    found.into_inner()
}

/// `/interview_assessments/0/conclusion` → `$.interview_assessments[0].conclusion`.
pub fn json_path_from_pointer(pointer: &str) -> String {
    let mut path = String::from("$");
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(&segment);
            path.push(']');
        } else {
            path.push('.');
            path.push_str(&segment);
        }
    }
    path
}

/// `serde_path_to_error`'s `a[0].b` (or `.`) → `$.a[0].b`.
fn json_path_from_serde(path: &str) -> String {
    if path.is_empty() || path == "." {
        "$".to_owned()
    } else {
        format!("$.{path}")
    }
}

/// A value as compact JSON, cut to about 60 characters with its full size noted.
pub fn shorten_value(value: &Value) -> String {
    let text = value.to_string();
    shorten(&text, 60)
}

/// `text`, cut to `max` characters with `…` and its full size noted.
pub fn shorten(text: &str, max: usize) -> String {
    let chars = text.chars().count();
    if chars <= max {
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

/// Likely mistakes in a record that is otherwise valid; see the module docs.
pub fn warnings(record: &Value) -> Vec<Finding> {
    let mut found = Vec::new();
    let begin = record.get("begin_time").and_then(Value::as_i64);
    let end = record.get("end_time").and_then(Value::as_i64);
    for (field, time) in [("begin_time", begin), ("end_time", end)] {
        if let Some(message) = time.and_then(time_warning) {
            found.push(Finding::warning(format!("$.{field}"), message));
        }
    }
    if let (Some(begin), Some(end)) = (begin, end)
        && end < begin
    {
        found.push(Finding::warning(
            "$.end_time",
            format!(
                "is before begin_time: end_time {end} ({}) < begin_time {begin} ({}), in milliseconds",
                utc_string(end),
                utc_string(begin)
            ),
        ));
    }
    let assessments = record
        .get("interview_assessments")
        .and_then(Value::as_array);
    for (a, assessment) in assessments.into_iter().flatten().enumerate() {
        let dimensions = assessment
            .get("assessment_dimension_list")
            .and_then(Value::as_array);
        for (d, dimension) in dimensions.into_iter().flatten().enumerate() {
            let path = format!("$.interview_assessments[{a}].assessment_dimension_list[{d}]");
            found.extend(dimension_warning(&path, dimension));
        }
    }
    found
}

fn time_warning(time: i64) -> Option<String> {
    if time <= 0 {
        return Some(format!("{time} is not after 1970; is it a real time?"));
    }
    if time < SECONDS_THRESHOLD {
        return Some(format!(
            "{time} looks like seconds, but the API takes milliseconds: as milliseconds it is {}, as seconds {} (multiply by 1000)",
            utc_string(time),
            utc_string(time.saturating_mul(1000))
        ));
    }
    if time > MICROSECONDS_THRESHOLD {
        return Some(format!(
            "{time} looks like microseconds, but the API takes milliseconds: as milliseconds it is in the year {}, as microseconds {} (divide by 1000)",
            year_of(time),
            utc_string(time / 1000)
        ));
    }
    None
}

/// The answer fields of a dimension, and the type that uses each.
const ANSWER_FIELDS: [(&str, AssessmentType); 4] = [
    ("score", AssessmentType::Score),
    ("option", AssessmentType::SingleChoice),
    ("content", AssessmentType::FreeText),
    ("options", AssessmentType::MultipleChoice),
];

fn dimension_warning(path: &str, dimension: &Value) -> Option<Finding> {
    let filled: Vec<&str> = ANSWER_FIELDS
        .iter()
        .map(|(field, _)| *field)
        .filter(|field| {
            dimension.get(*field).is_some_and(|v| match v {
                Value::Null => false,
                Value::Array(items) => !items.is_empty(),
                _ => true,
            })
        })
        .collect();
    let kind = dimension
        .get("assessment_type")
        .and_then(Value::as_i64)
        .and_then(AssessmentType::from_known_value);
    let Some(kind) = kind else {
        if dimension.get("assessment_type").is_none() && !filled.is_empty() {
            return Some(Finding::warning(
                path.to_owned(),
                format!(
                    "has no assessment_type, so Feishu cannot tell which answer to use (fills {})",
                    quote_list(&filled)
                ),
            ));
        }
        return None;
    };
    let expected = ANSWER_FIELDS
        .iter()
        .find(|(_, t)| *t == kind)
        .map(|(field, _)| *field)
        .unwrap_or_default();
    let others: Vec<&str> = filled.iter().copied().filter(|f| *f != expected).collect();
    let described = format!("assessment_type {} ({kind})", kind.value());
    if !filled.contains(&expected) {
        let tail = if others.is_empty() {
            "but it is empty".to_owned()
        } else {
            format!("but this dimension fills {} instead", quote_list(&others))
        };
        return Some(Finding::warning(
            path.to_owned(),
            format!("{described} uses `{expected}`, {tail}"),
        ));
    }
    if !others.is_empty() {
        return Some(Finding::warning(
            path.to_owned(),
            format!(
                "{described} uses `{expected}`; {} will probably be ignored",
                quote_list(&others)
            ),
        ));
    }
    None
}

fn quote_list(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `2021-04-15T15:24:38Z` for a time in milliseconds since 1970 (UTC).
pub fn utc_string(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

fn year_of(millis: i64) -> i64 {
    civil_from_days(millis.div_euclid(1000).div_euclid(86_400)).0
}

/// Year, month, day of a day count since 1970-01-01, in the proleptic Gregorian calendar.
/// Howard Hinnant's `civil_from_days` (<http://howardhinnant.github.io/date_algorithms.html>);
/// a date crate for this one message would be a heavy dependency.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checker() -> Checker {
        Checker::new(CheckOptions::default()).unwrap()
    }

    fn messages(outcome: &CheckOutcome) -> Vec<String> {
        outcome.findings.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn dates_are_formatted_in_utc() {
        assert_eq!(utc_string(1_618_500_278_638), "2021-04-15T15:24:38Z");
        assert_eq!(utc_string(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_string(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc_string(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn a_valid_record_passes_without_findings() {
        let outcome = checker().check_bytes(
            br#"{"external_id":"a","external_application_id":"1","participate_status":2,"begin_time":1618500278638,"end_time":1618503878638}"#,
            None,
        );
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
        let valid = outcome.valid.unwrap();
        assert_eq!(valid.external_id.as_deref(), Some("a"));
        assert!(!valid.derived);
    }

    #[test]
    fn schema_errors_name_the_path_and_the_allowed_values() {
        let outcome = checker().check_value(&json!({
            "external_application_id": "1",
            "participate_status": "1",
            "interview_assessments": [{"conclusion": 4, "extra": true}]
        }));
        assert!(outcome.valid.is_none());
        assert_eq!(
            messages(&outcome),
            vec![
                "error: $.interview_assessments[0].conclusion: 4 is not allowed here; expected one of 1 (Fail), 2 (Pass), 3 (To be determined)",
                "error: $.interview_assessments[0].extra: unknown key `extra`; the keys allowed here are `assessment_dimension_list`, `conclusion`, `content`, `external_id`, `external_interview_id` and `username`",
                "error: $.participate_status: expected an integer, found a string \"1\"; write a number without quotes: 1 (Did not take part), 2 (Took part), 3 (Did not show up)",
            ]
        );
    }

    #[test]
    fn strict_decoding_errors_have_a_path_too() {
        let outcome = checker().check_value(&json!({
            "external_application_id": "1",
            "interview_assessments": [{"assessment_dimension_list": [{"assessment_type": 1, "score": 3_000_000_000_i64}]}]
        }));
        let found = messages(&outcome);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "error: $.interview_assessments[0].assessment_dimension_list[0].score: "
            ),
            "{found:?}"
        );
    }

    #[test]
    fn broken_json_and_huge_records_are_errors() {
        let broken = checker().check_bytes(br#"{"external_application_id": "1", }"#, None);
        assert_eq!(
            messages(&broken),
            vec!["error: $: not valid JSON: trailing comma (column 34)"]
        );
        let huge = checker().check_bytes(b"", Some(70_000));
        assert_eq!(
            messages(&huge),
            vec!["error: $: the record is 68.4 KiB, over the limit of 64 KiB (--max-record-bytes)"]
        );
        let array = checker().check_bytes(b"[1,2]", None);
        assert_eq!(
            messages(&array),
            vec!["error: $: a record must be a JSON object (one interview), found an array [1,2]"]
        );
    }

    #[test]
    fn long_values_are_shortened() {
        let outcome = checker().check_value(&json!({
            "external_application_id": "x".repeat(10_000),
            "begin_time": "y".repeat(10_000),
        }));
        let found = messages(&outcome);
        assert!(found[0].len() < 250, "{}", found[0]);
        assert!(found[0].contains("… (9.8 KiB in all)"), "{}", found[0]);
    }

    #[test]
    fn times_in_seconds_and_reversed_times_warn() {
        let outcome = checker().check_value(&json!({
            "external_application_id": "1",
            "begin_time": 1_618_500_278,
            "end_time": 1_618_496_678,
        }));
        assert!(outcome.valid.is_some());
        assert_eq!(
            messages(&outcome),
            vec![
                "warning: $.begin_time: 1618500278 looks like seconds, but the API takes milliseconds: as milliseconds it is 1970-01-19T17:35:00Z, as seconds 2021-04-15T15:24:38Z (multiply by 1000)",
                "warning: $.end_time: 1618496678 looks like seconds, but the API takes milliseconds: as milliseconds it is 1970-01-19T17:34:56Z, as seconds 2021-04-15T14:24:38Z (multiply by 1000)",
                "warning: $.end_time: is before begin_time: end_time 1618496678 (1970-01-19T17:34:56Z) < begin_time 1618500278 (1970-01-19T17:35:00Z), in milliseconds",
            ]
        );
        let micro = warnings(&json!({"begin_time": 1_618_500_278_638_000_i64}));
        assert!(micro[0].message.contains("microseconds"), "{micro:?}");
    }

    #[test]
    fn strict_makes_warnings_errors() {
        let strict = Checker::new(CheckOptions {
            strict: true,
            ..CheckOptions::default()
        })
        .unwrap();
        let outcome =
            strict.check_value(&json!({"external_application_id": "1", "begin_time": 5_i64}));
        assert!(outcome.valid.is_none());
    }

    #[test]
    fn dimensions_must_fill_the_field_of_their_type() {
        let found = warnings(
            &json!({"interview_assessments": [{"assessment_dimension_list": [
                {"assessment_type": 1, "score": 4},
                {"assessment_type": 1, "option": "A"},
                {"assessment_type": 4, "options": ["A"], "content": "why"},
                {"assessment_type": 3},
                {"option": "B"},
            ]}]}),
        );
        let found: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            vec![
                "warning: $.interview_assessments[0].assessment_dimension_list[1]: assessment_type 1 (score) uses `score`, but this dimension fills `option` instead",
                "warning: $.interview_assessments[0].assessment_dimension_list[2]: assessment_type 4 (multiple_choice) uses `options`; `content` will probably be ignored",
                "warning: $.interview_assessments[0].assessment_dimension_list[3]: assessment_type 3 (free_text) uses `content`, but it is empty",
                "warning: $.interview_assessments[0].assessment_dimension_list[4]: has no assessment_type, so Feishu cannot tell which answer to use (fills `option`)",
            ]
        );
    }

    #[test]
    fn empty_ids_are_errors_and_missing_ones_can_be_derived() {
        let outcome =
            checker().check_value(&json!({"external_application_id": "1", "external_id": " "}));
        assert_eq!(
            messages(&outcome),
            vec![
                "error: $.external_id: is empty; give every record its own id, or leave the field out"
            ]
        );
        let deriving = Checker::new(CheckOptions {
            derive_external_ids: true,
            ..CheckOptions::default()
        })
        .unwrap();
        let record = json!({"external_application_id": "1"});
        let valid = deriving.check_value(&record).valid.unwrap();
        assert!(valid.derived);
        assert_eq!(valid.external_id, Some(derive_external_id(&record)));
        assert_eq!(valid.request.external_id, valid.external_id);
    }

    #[test]
    fn a_key_given_twice_is_ambiguous_at_any_depth() {
        let cases: [(&[u8], &str); 3] = [
            (
                br#"{"external_id":"a","external_application_id":"1","external_id":"b"}"#,
                "error: $.external_id: the key \"external_id\" appears twice",
            ),
            (
                br#"{"external_id":"a","external_application_id":"1","interview_assessments":[{"conclusion":1},{"conclusion":1,"conclusion":2}]}"#,
                "error: $.interview_assessments[1].conclusion: the key \"conclusion\" appears twice",
            ),
            (
                br#"{"external_id":"a","external_application_id":"1","interview_assessments":[{"assessment_dimension_list":[{"title":"x","title":"y"}]}]}"#,
                "error: $.interview_assessments[0].assessment_dimension_list[0].title: the key \"title\" appears twice",
            ),
        ];
        for (bytes, expected) in cases {
            let outcome = checker().check_bytes(bytes, None);
            assert!(outcome.valid.is_none());
            let found = messages(&outcome);
            assert!(found[0].starts_with(expected), "{found:?}");
        }
        // The same key in two different objects is fine.
        let outcome = checker().check_bytes(
            br#"{"external_id":"a","external_application_id":"1","interview_assessments":[{"conclusion":1},{"conclusion":2}]}"#,
            None,
        );
        assert!(outcome.valid.is_some(), "{:?}", outcome.findings);
    }

    #[test]
    fn type_errors_read_the_same_whatever_found_them() {
        let outcome = checker().check_value(&json!({
            "external_application_id": null,
            "participate_status": 2.0,
        }));
        let found = messages(&outcome);
        assert_eq!(
            found,
            vec![
                "error: $.external_application_id: expected a string, found null; id of the external application, from the \"list external applications\" endpoint, e.g. \"6960663240925956437\""
            ],
        );
        // Whole numbers with a decimal point pass the schema but not strict decoding; the
        // message must not be serde's own.
        for (record, expected) in [
            (
                json!({"external_application_id": "1", "participate_status": 2.0}),
                "error: $.participate_status: expected an integer, found a number 2.0; write a whole number without a decimal point or exponent; expected 1 (not_participated)",
            ),
            (
                json!({"external_application_id": "1", "begin_time": 1_618_500_278_638.0}),
                "error: $.begin_time: expected an integer, found a number 1618500278638.0; write a whole number from",
            ),
            (
                json!({"external_application_id": "1", "interview_assessments": [{"assessment_dimension_list": [{"assessment_type": 1, "score": 3_000_000_000_i64}]}]}),
                "error: $.interview_assessments[0].assessment_dimension_list[0].score: 3000000000 is out of range; expected a whole number from -2147483648 to 2147483647",
            ),
        ] {
            let found = messages(&checker().check_value(&record));
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(found[0].starts_with(expected), "{found:?}");
            assert!(!found[0].contains("invalid type"), "{found:?}");
        }
    }

    #[test]
    fn reversed_times_within_one_second_show_their_milliseconds() {
        let found = warnings(&json!({"begin_time": -1, "end_time": -1000}));
        let found: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert!(
            found.contains(
                &"warning: $.end_time: is before begin_time: end_time -1000 (1969-12-31T23:59:59Z) < begin_time -1 (1969-12-31T23:59:59Z), in milliseconds".to_owned()
            ),
            "{found:?}"
        );
    }

    #[test]
    fn a_request_over_the_apis_body_limit_is_an_error_whatever_the_record_limit() {
        let deriving = Checker::new(CheckOptions {
            max_record_bytes: TARGET_MAX_BODY_BYTES,
            derive_external_ids: true,
            strict: false,
        })
        .unwrap();
        // Just under the limit as written; the derived external_id takes it over.
        let head = r#"{"external_application_id":""#;
        let filler = "x".repeat(TARGET_MAX_BODY_BYTES - head.len() - 2 - 10);
        let record = format!("{head}{filler}\"}}");
        assert!(record.len() <= TARGET_MAX_BODY_BYTES);
        let outcome = deriving.check_bytes(record.as_bytes(), None);
        assert!(outcome.valid.is_none());
        let found = messages(&outcome);
        assert!(
            found[0].starts_with("error: $: the request would be 1048")
                && found[0].ends_with(
                    "over the API's limit of 1048576 bytes (1 MiB), so it cannot be sent"
                ),
            "{found:?}"
        );
    }
}
