//! Checks request bodies against the generated JSON Schemas and turns every problem into a
//! Feishu [`FieldViolation`] naming the field by its path, e.g.
//! `interview_assessments[0].conclusion`.
//!
//! The schemas are strict in the way [`feishu_hire_types::wire`] describes for requests. Two
//! passes run: the schema reports every violation at once, in the wording every reader of
//! these schemas shares (`feishu-hire-schema-errors`); then the typed decoding catches what
//! the schema cannot say, such as `1.0` where the type wants a whole number.

use std::fmt::Write as _;

use feishu_hire_schema_errors::Problem;
use feishu_hire_types::FieldViolation;
use jsonschema::Validator;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Longest value quoted in a violation; longer ones are cut, so an answer stays readable.
const MAX_QUOTED_VALUE_CHARS: usize = 200;

/// A compiled request schema.
pub(crate) struct BodyValidator {
    validator: Validator,
    /// The schema as JSON, for the enum meanings, bounds and descriptions messages quote.
    schema: Value,
}

impl BodyValidator {
    /// Compiles `schema_text`, one of [`feishu_hire_types::schemas`].
    pub(crate) fn new(schema_text: &str) -> Result<Self, String> {
        let schema: Value = serde_json::from_str(schema_text)
            .map_err(|err| format!("the generated JSON Schema is not JSON: {err}"))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|err| format!("the generated JSON Schema does not compile: {err}"))?;
        Ok(Self { validator, schema })
    }

    /// Every violation of the schema, one per field, in field order.
    pub(crate) fn check(&self, body: &Value) -> Result<(), Vec<FieldViolation>> {
        // The shared translator already reports a wrong type that also fails its `enum` once
        // and sorts by field; Feishu lists one violation per field, so the first one stays.
        let problems =
            feishu_hire_schema_errors::report(self.validator.iter_errors(body), &self.schema);
        if problems.is_empty() {
            return Ok(());
        }
        let mut found: Vec<FieldViolation> = problems.iter().map(schema_violation).collect();
        found.dedup_by(|later, earlier| later.field == earlier.field);
        Err(found)
    }

    /// The decoded body, or every violation found.
    pub(crate) fn validate<T: DeserializeOwned>(
        &self,
        body: &Value,
    ) -> Result<T, Vec<FieldViolation>> {
        self.check(body)?;
        decode(body)
    }
}

/// A body the schema accepted, decoded into its generated type. The decoding catches what the
/// schema cannot say, such as `1.0` where the type wants a whole number.
pub(crate) fn decode<T: DeserializeOwned>(body: &Value) -> Result<T, Vec<FieldViolation>> {
    serde_path_to_error::deserialize(body).map_err(|err| vec![decoding_violation(body, &err)])
}

/// One schema problem as Feishu's field violation: the field (for a missing or unknown key,
/// the key's own path), its value, and the shared sentence after the place it is about
/// (`interview_assessments[0].conclusion: 4 is not allowed here; expected one of …`; for a key
/// problem the object, "the request body" for the body itself).
fn schema_violation(problem: &Problem) -> FieldViolation {
    let subject = if problem.path.is_empty() {
        "the request body"
    } else {
        problem.path.as_str()
    };
    let mut violation =
        FieldViolation::new().description(format!("{subject}: {}", problem.sentence()));
    let field = problem.field_path();
    if !field.is_empty() {
        violation = violation.field(field);
    }
    if let Some(value) = &problem.value {
        violation = violation.value(quote(value));
    }
    violation
}

/// The one violation of a body the schema accepts but the typed decoding refuses.
fn decoding_violation(
    body: &Value,
    error: &serde_path_to_error::Error<serde_json::Error>,
) -> FieldViolation {
    let path: Vec<PathSegment> = error
        .path()
        .iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(PathSegment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(PathSegment::Field(key.clone())),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {
                None
            }
        })
        .collect();
    let value = lookup(body, &path);
    violation(&path, value, &format!("is not accepted: {}", error.inner()))
}

/// One step of a path into a JSON body.
#[derive(Debug, Clone)]
enum PathSegment {
    Field(String),
    Index(usize),
}

/// `interview_assessments[0].conclusion`; empty for the body itself.
fn field_path(path: &[PathSegment]) -> String {
    let mut text = String::new();
    for segment in path {
        match segment {
            PathSegment::Field(name) if text.is_empty() => text.push_str(name),
            PathSegment::Field(name) => {
                text.push('.');
                text.push_str(name);
            }
            PathSegment::Index(index) => {
                let _ = write!(text, "[{index}]");
            }
        }
    }
    text
}

fn lookup<'v>(body: &'v Value, path: &[PathSegment]) -> Option<&'v Value> {
    path.iter().try_fold(body, |value, segment| match segment {
        PathSegment::Field(name) => value.get(name),
        PathSegment::Index(index) => value.get(index),
    })
}

/// A decoding violation, its description starting with the field's path ("the request body"
/// for the body itself).
fn violation(path: &[PathSegment], value: Option<&Value>, problem: &str) -> FieldViolation {
    let field = field_path(path);
    let subject = if field.is_empty() {
        "the request body"
    } else {
        field.as_str()
    };
    let mut violation = FieldViolation::new().description(format!("{subject} {problem}"));
    if !field.is_empty() {
        violation = violation.field(field);
    }
    if let Some(value) = value {
        violation = violation.value(quote(value));
    }
    violation
}

/// A value as a violation shows it: strings as they are, anything else as compact JSON.
fn quote(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() <= MAX_QUOTED_VALUE_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_QUOTED_VALUE_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use feishu_hire_types::{CreateExternalInterviewRequest, schemas};
    use serde_json::json;

    use super::*;

    struct Create(BodyValidator);

    impl Create {
        fn validate(
            &self,
            body: &Value,
        ) -> Result<CreateExternalInterviewRequest, Vec<FieldViolation>> {
            self.0.validate(body)
        }
    }

    fn validator() -> Create {
        Create(BodyValidator::new(schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST).unwrap())
    }

    fn fields(violations: &[FieldViolation]) -> Vec<Option<&str>> {
        violations.iter().map(|v| v.field.as_deref()).collect()
    }

    #[test]
    fn paths_name_nested_fields() {
        let body = json!({
            "external_application_id": "1",
            "interview_assessments": [
                {"conclusion": 1},
                {"conclusion": 9, "assessment_dimension_list": [{"score": "99"}]}
            ]
        });
        let violations = validator().validate(&body).unwrap_err();
        assert_eq!(
            fields(&violations),
            [
                Some("interview_assessments[1].assessment_dimension_list[0].score"),
                Some("interview_assessments[1].conclusion"),
            ]
        );
        assert_eq!(violations[1].value.as_deref(), Some("9"));
        assert_eq!(
            violations[1].description.as_deref(),
            Some(
                "interview_assessments[1].conclusion: 9 is not allowed here; expected one of 1 (Fail), 2 (Pass), 3 (To be determined)"
            )
        );
        assert_eq!(
            violations[0].description.as_deref(),
            Some(
                "interview_assessments[1].assessment_dimension_list[0].score: expected an integer, found a string \"99\"; write the number without quotes"
            )
        );
    }

    #[test]
    fn the_body_itself_has_no_field() {
        let violations = validator().validate(&json!([1, 2])).unwrap_err();
        assert_eq!(fields(&violations), [None]);
        assert_eq!(
            violations[0].description.as_deref(),
            Some("the request body: expected an object, found a list [1,2]")
        );
    }

    #[test]
    fn integers_beyond_their_format_are_refused() {
        let body = json!({
            "external_application_id": "1",
            "interview_assessments": [{"assessment_dimension_list": [{"score": 3_000_000_000_i64}]}]
        });
        let violations = validator().validate(&body).unwrap_err();
        assert_eq!(
            fields(&violations),
            [Some(
                "interview_assessments[0].assessment_dimension_list[0].score"
            )]
        );
        assert_eq!(violations[0].value.as_deref(), Some("3000000000"));
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(500);
        let violations = validator()
            .validate(&json!({"external_application_id": 1, "surplus": long}))
            .unwrap_err();
        let surplus = violations
            .iter()
            .find(|v| v.field.as_deref() == Some("surplus"))
            .unwrap();
        assert_eq!(
            surplus.value.as_ref().unwrap().chars().count(),
            MAX_QUOTED_VALUE_CHARS + 1
        );
    }
}
