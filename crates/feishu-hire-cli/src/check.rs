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
//!
//! Most records are valid as they stand: such a record is decoded straight from its text
//! (`strict_json`), without the `Value` that is most of a full check's cost. Any other record is
//! parsed into a `Value` and checked in full, so that every error is found and worded; both
//! ways give the same outcome (`equivalence_tests`).

use std::fmt;

use feishu_hire_types::CreateExternalInterviewRequest;
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

impl Finding {
    /// Appends `SOURCE:LINE: ` and the finding as [`Display`](fmt::Display) writes it, and a
    /// newline: the message a check prints (built without the formatting machinery, which
    /// costs more than the check's other string work when every record has a finding).
    pub(crate) fn push_line(&self, out: &mut String, source: &str, line: u64) {
        use fmt::Write as _;
        out.push_str(source);
        out.push(':');
        let _ = write!(out, "{line}");
        out.push_str(": ");
        out.push_str(match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        });
        out.push_str(": ");
        out.push_str(&self.path);
        out.push_str(": ");
        out.push_str(&self.message);
        out.push('\n');
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
        // One check of the whole text costs less than a check of each string as it is parsed
        // (`from_slice`), and tells the same: JSON is ASCII outside its strings, so text that
        // is not UTF-8 cannot parse, and UTF-8 text parses the same either way.
        let Ok(text) = std::str::from_utf8(bytes) else {
            return invalid(Finding::error("$", "not valid UTF-8 text"));
        };
        let mut outcome = match self.check_valid_as_it_stands(text) {
            Some(outcome) => outcome,
            None => self.check_text(text),
        };
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

    /// The outcome of a record that decodes strictly as it stands and has no error, found
    /// without building a `Value` (most records are such, and the `Value` is most of the cost
    /// of checking one). It is the outcome [`check_text`](Self::check_text) gives, as
    /// `equivalence_tests` holds; `None` leaves the record to it, to say what is wrong.
    fn check_valid_as_it_stands(&self, text: &str) -> Option<CheckOutcome> {
        let request: CreateExternalInterviewRequest = strict_json::decode(text)?;
        if blank_id_errors(&request).next().is_some() {
            return None;
        }
        // A derived id is a digest of the record's `Value`.
        if request.external_id.is_none() && self.derive_ids {
            return None;
        }
        let findings = warnings::request_warnings(&request);
        // With `--strict` a warning is an error, worded by the full check.
        if self.strict && !findings.is_empty() {
            return None;
        }
        let external_id = request.external_id.clone();
        Some(CheckOutcome {
            valid: Some(ValidRecord {
                request,
                external_id,
                derived: false,
            }),
            findings,
        })
    }

    /// Checks a record's text in full: parsed into a `Value`, with every error it has.
    fn check_text(&self, text: &str) -> CheckOutcome {
        let (value, duplicate) = match parse(text) {
            Ok(parsed) => parsed,
            Err(error) => return invalid(Finding::error("$", describe_json_error(&error))),
        };
        if let Some((path, key)) = duplicate {
            return invalid(duplicate_key_error(path, &key));
        }
        self.check_value(&value)
    }

    /// Checks one parsed record.
    pub fn check_value(&self, value: &Value) -> CheckOutcome {
        use serde::Deserialize as _;
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
            // Tracking the path doubles the cost of decoding, and only a failure needs it: a
            // record that does not decode is decoded again, with the path, to say where.
            let decoded = CreateExternalInterviewRequest::deserialize(value)
                .or_else(|_| serde_path_to_error::deserialize(value));
            match decoded {
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
            errors.extend(blank_id_errors(decoded));
        }
        let has_errors =
            !errors.is_empty() || warnings.iter().any(|w| w.severity == Severity::Error);
        // Most records have no errors: their warnings are the findings, not copied after them.
        let mut findings = if errors.is_empty() {
            warnings
        } else {
            errors.append(&mut warnings);
            errors
        };
        findings.sort_by_key(|f| f.severity != Severity::Error);
        let valid = match request {
            Some(request) if !has_errors => Some(self.valid_record(request, value)),
            _ => None,
        };
        CheckOutcome { valid, findings }
    }

    /// A decoded record's request, with its `external_id` derived if it has none and
    /// `--derive-external-id` is on.
    fn valid_record(
        &self,
        mut request: CreateExternalInterviewRequest,
        value: &Value,
    ) -> ValidRecord {
        let (external_id, derived) = match request.external_id.clone() {
            Some(id) => (Some(id), false),
            None if self.derive_ids => {
                let id = derive_external_id(value);
                request = request.external_id(id.clone());
                (Some(id), true)
            }
            None => (None, false),
        };
        ValidRecord {
            request,
            external_id,
            derived,
        }
    }

    /// The record's JSON Schema errors, in the shared wording of `feishu-hire-schema-errors`
    /// (which also reports a wrong type that fails its `enum` once), each at its JSON path:
    /// an unknown key at the key itself, a missing one at the object that lacks it.
    fn schema_errors(&self, value: &Value) -> Vec<Finding> {
        use feishu_hire_schema_errors::ProblemKind;
        // Most records are valid: `is_valid` stops at nothing and builds no error, and is
        // true exactly when `iter_errors` would yield none (so the report would be empty).
        if self.validator.is_valid(value) {
            return Vec::new();
        }
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

/// The errors of a decoded request whose ids are blank: an empty `external_id` would make every
/// such record the same one for Feishu's deduplication.
fn blank_id_errors(request: &CreateExternalInterviewRequest) -> impl Iterator<Item = Finding> {
    let blank = |id: &str| id.trim().is_empty();
    let application = blank(&request.external_application_id).then(|| {
        Finding::error(
            "$.external_application_id",
            "is empty; it must name the external application the interview belongs to",
        )
    });
    let id = request.external_id.as_deref().is_some_and(blank).then(|| {
        Finding::error(
            "$.external_id",
            "is empty; give every record its own id, or leave the field out",
        )
    });
    application.into_iter().chain(id)
}

/// The error for a key given twice in one object.
fn duplicate_key_error(path: String, key: &str) -> Finding {
    Finding::error(
        path,
        format!(
            "the key {} appears twice in the same object; which value is meant is ambiguous (JSON readers differ), so the record is not sent. Keep one",
            shorten(&format!("{key:?}"), 60)
        ),
    )
}

fn invalid(finding: Finding) -> CheckOutcome {
    CheckOutcome {
        valid: None,
        findings: vec![finding],
    }
}

mod duplicate_key;
mod messages;
mod parse;
mod sendable;
mod strict_json;
mod warnings;

use messages::{describe_decode_error, describe_found, describe_json_error, json_path_from_serde};
use parse::parse;
// Quoting and sizes read the same as the schema errors' (one wording).
pub use feishu_hire_schema_errors::{human_bytes, shorten};
pub use messages::json_path_from_pointer;
pub(crate) use sendable::{application_of, external_id_of, sendable_of};
pub use warnings::warnings;

#[cfg(test)]
mod equivalence_tests;
#[cfg(test)]
mod tests;
