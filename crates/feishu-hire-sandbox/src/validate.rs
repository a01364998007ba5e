//! Checks request bodies against the generated JSON Schemas and turns every problem into a
//! Feishu [`FieldViolation`] naming the field by its path, e.g.
//! `interview_assessments[0].conclusion`.
//!
//! The schemas are strict in the way [`feishu_hire_types::wire`] describes for requests. Two
//! passes run: the schema reports every violation at once; then the typed decoding catches
//! what the schema only names as a `format`, such as a `score` beyond 32 bits.

use std::fmt::Write as _;

use feishu_hire_types::FieldViolation;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{ValidationError, Validator};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Longest value quoted in a violation; longer ones are cut, so an answer stays readable.
const MAX_QUOTED_VALUE_CHARS: usize = 200;

/// A compiled request schema.
pub(crate) struct BodyValidator {
    schema: Validator,
}

impl BodyValidator {
    /// Compiles `schema_text`, one of [`feishu_hire_types::schemas`].
    pub(crate) fn new(schema_text: &str) -> Result<Self, String> {
        let schema: Value = serde_json::from_str(schema_text)
            .map_err(|err| format!("the generated JSON Schema is not JSON: {err}"))?;
        let schema = jsonschema::validator_for(&schema)
            .map_err(|err| format!("the generated JSON Schema does not compile: {err}"))?;
        Ok(Self { schema })
    }

    /// Every violation of the schema, one per field, in field order.
    pub(crate) fn check(&self, body: &Value) -> Result<(), Vec<FieldViolation>> {
        let mut found: Vec<(FieldViolation, bool)> = self
            .schema
            .iter_errors(body)
            .flat_map(|error| {
                let is_type_error = matches!(error.kind(), ValidationErrorKind::Type { .. });
                schema_violations(&error)
                    .into_iter()
                    .map(move |violation| (violation, is_type_error))
            })
            .collect();
        if found.is_empty() {
            return Ok(());
        }
        // One violation per field, in field order; a wrong type says the most (a string
        // "2" also fails the enum, but "must be an integer" is the useful message).
        found.sort_by(|(a, a_is_type), (b, b_is_type)| {
            (&a.field, !a_is_type, &a.description).cmp(&(&b.field, !b_is_type, &b.description))
        });
        found.dedup_by(|(later, _), (earlier, _)| later.field == earlier.field);
        Err(found.into_iter().map(|(violation, _)| violation).collect())
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
/// schema only names as a `format`, such as a `score` beyond 32 bits.
pub(crate) fn decode<T: DeserializeOwned>(body: &Value) -> Result<T, Vec<FieldViolation>> {
    serde_path_to_error::deserialize(body).map_err(|err| vec![decoding_violation(body, &err)])
}

/// The violations one schema error stands for (one per unknown field, otherwise one).
fn schema_violations(error: &ValidationError<'_>) -> Vec<FieldViolation> {
    let path: Vec<PathSegment> = error
        .instance_path()
        .segments()
        .map(|segment| match segment {
            LocationSegment::Property(name) => PathSegment::Field(name.into_owned()),
            LocationSegment::Index(index) => PathSegment::Index(index),
        })
        .collect();
    let instance: &Value = error.instance();
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            let field = child(&path, &name);
            vec![violation(&field, None, "is required")]
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                let field = child(&path, name);
                let description = "is not a field the spec lists for this object";
                violation(&field, instance.get(name), description)
            })
            .collect(),
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(json_type) => json_type.to_string(),
                TypeKind::Multiple(types) => format!("{types:?}"),
            };
            let description = format!("must be {} {expected}", article(&expected));
            vec![violation(&path, Some(instance), &description)]
        }
        ValidationErrorKind::Enum { options } => {
            let allowed = match options.as_array() {
                Some(values) => values
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                None => options.to_string(),
            };
            vec![violation(
                &path,
                Some(instance),
                &format!("must be one of {allowed}"),
            )]
        }
        // The range of an integer's format (int32, int64), as the generated schemas state it.
        ValidationErrorKind::Maximum { limit } => vec![violation(
            &path,
            Some(instance),
            &format!("must be at most {limit}"),
        )],
        ValidationErrorKind::Minimum { limit } => vec![violation(
            &path,
            Some(instance),
            &format!("must be at least {limit}"),
        )],
        _ => vec![violation(
            &path,
            Some(instance),
            &format!("is invalid: {error}"),
        )],
    }
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

fn child(parent: &[PathSegment], name: &str) -> Vec<PathSegment> {
    let mut path = parent.to_vec();
    path.push(PathSegment::Field(name.to_owned()));
    path
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

/// A violation whose description starts with the field's path ("the request body" for the
/// body itself), as Feishu's examples do: `participate_status must be one of 1, 2, 3`.
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

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
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
            Some("interview_assessments[1].conclusion must be one of 1, 2, 3")
        );
        assert_eq!(
            violations[0].description.as_deref(),
            Some("interview_assessments[1].assessment_dimension_list[0].score must be an integer")
        );
    }

    #[test]
    fn the_body_itself_has_no_field() {
        let violations = validator().validate(&json!([1, 2])).unwrap_err();
        assert_eq!(fields(&violations), [None]);
        assert_eq!(
            violations[0].description.as_deref(),
            Some("the request body must be an object")
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
