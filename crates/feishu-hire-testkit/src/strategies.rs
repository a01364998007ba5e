//! Proptest strategies that build arbitrary valid values of the generated types (through
//! `new(..)` and the setters, as users must), and the emitted JSON Schemas as validators.

use std::fmt::Debug;

use feishu_hire_types::{
    AssessmentDimension, AssessmentDimensionInput, AssessmentType, CreateExternalInterviewData,
    CreateExternalInterviewRequest, CreateExternalInterviewResponse, ErrorDetail,
    ExternalInterview, ExternalInterviewAssessment, ExternalInterviewAssessmentInput,
    FieldViolation, InterviewConclusion, ParticipateStatus, PermissionViolation,
    TenantAccessTokenRequest, TenantAccessTokenResponse,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A compiled JSON Schema (draft 2020-12) from its text.
pub fn validator(schema_text: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(schema_text).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

/// `"<instance path>: <message>"` for every error, or nothing when `instance` is valid.
pub fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect()
}

/// Applies `setter` when the optional value is present, as a caller would.
fn with<T, V>(target: T, value: Option<V>, setter: impl FnOnce(T, V) -> T) -> T {
    match value {
        Some(value) => setter(target, value),
        None => target,
    }
}

/// Short printable text, Chinese included.
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn lists<T: Debug>(element: impl Strategy<Value = T>) -> impl Strategy<Value = Vec<T>> {
    vec(element, 0..3)
}

/// A listed value of an enum: all a request can carry.
fn listed<E: Clone + Debug + 'static>(known: &'static [E]) -> impl Strategy<Value = E> {
    select(known)
}

/// Which enum values a response may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// Only those the spec lists: what the response schema accepts.
    Listed,
    /// Any integer, as Feishu may send (decoded leniently, `Unknown` when the spec does not list it).
    Any,
}

fn received<E>(known: &'static [E], values: Values) -> BoxedStrategy<E>
where
    E: Clone + Debug + DeserializeOwned + 'static,
{
    match values {
        Values::Listed => select(known).boxed(),
        Values::Any => prop_oneof![
            3 => select(known),
            1 => any::<i64>().prop_map(|value| serde_json::from_value::<E>(Value::from(value)).unwrap()),
        ]
        .boxed(),
    }
}

/// Free-form JSON, as in `ErrorDetail.details` (no floats: they need not round-trip exactly).
fn free_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,6}", inner, 0..3)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

// ---- requests: only what the spec allows ----

/// Any valid `AssessmentDimensionInput`.
pub fn dimension_input() -> impl Strategy<Value = AssessmentDimensionInput> {
    (
        of(any::<i32>()),
        of(text()),
        lists(text()),
        of(text()),
        of(listed(AssessmentType::KNOWN)),
        of(text()),
        of(text()),
    )
        .prop_map(
            |(score, option, options, content, assessment_type, title, description)| {
                let dimension = AssessmentDimensionInput::new().options(options);
                let dimension = with(dimension, score, AssessmentDimensionInput::score);
                let dimension = with(dimension, option, |d, v| d.option(v));
                let dimension = with(dimension, content, |d, v| d.content(v));
                let dimension = with(
                    dimension,
                    assessment_type,
                    AssessmentDimensionInput::assessment_type,
                );
                let dimension = with(dimension, title, |d, v| d.title(v));
                with(dimension, description, |d, v| d.description(v))
            },
        )
}

/// Any valid `ExternalInterviewAssessmentInput`.
pub fn assessment_input() -> impl Strategy<Value = ExternalInterviewAssessmentInput> {
    (
        of(text()),
        of(listed(InterviewConclusion::KNOWN)),
        lists(dimension_input()),
        of(text()),
    )
        .prop_map(|(username, conclusion, dimensions, content)| {
            let assessment =
                ExternalInterviewAssessmentInput::new().assessment_dimension_list(dimensions);
            let assessment = with(assessment, username, |a, v| a.username(v));
            let assessment = with(
                assessment,
                conclusion,
                ExternalInterviewAssessmentInput::conclusion,
            );
            with(assessment, content, |a, v| a.content(v))
        })
}

/// Any valid `CreateExternalInterviewRequest`.
pub fn request() -> impl Strategy<Value = CreateExternalInterviewRequest> {
    (
        text(),
        of(text()),
        of(listed(ParticipateStatus::KNOWN)),
        of(any::<i64>()),
        of(any::<i64>()),
        lists(assessment_input()),
    )
        .prop_map(
            |(application, external_id, status, begin, end, assessments)| {
                let request = CreateExternalInterviewRequest::new(application)
                    .interview_assessments(assessments);
                let request = with(request, external_id, |r, v| r.external_id(v));
                let request = with(
                    request,
                    status,
                    CreateExternalInterviewRequest::participate_status,
                );
                let request = with(request, begin, CreateExternalInterviewRequest::begin_time);
                with(request, end, CreateExternalInterviewRequest::end_time)
            },
        )
}

/// Any valid `TenantAccessTokenRequest`.
pub fn token_request() -> impl Strategy<Value = TenantAccessTokenRequest> {
    (text(), text()).prop_map(|(id, secret)| TenantAccessTokenRequest::new(id, secret))
}

// ---- responses: what Feishu may answer, unlisted enum values included ----

/// Any `AssessmentDimension`.
pub fn dimension(values: Values) -> impl Strategy<Value = AssessmentDimension> {
    (
        of(any::<i32>()),
        of(text()),
        lists(text()),
        of(text()),
        of(received(AssessmentType::KNOWN, values)),
        of(text()),
        of(text()),
    )
        .prop_map(
            |(score, option, options, content, assessment_type, title, description)| {
                let dimension = AssessmentDimension::new().options(options);
                let dimension = with(dimension, score, AssessmentDimension::score);
                let dimension = with(dimension, option, |d, v| d.option(v));
                let dimension = with(dimension, content, |d, v| d.content(v));
                let dimension = with(
                    dimension,
                    assessment_type,
                    AssessmentDimension::assessment_type,
                );
                let dimension = with(dimension, title, |d, v| d.title(v));
                with(dimension, description, |d, v| d.description(v))
            },
        )
}

/// Any `ExternalInterviewAssessment`.
pub fn assessment(values: Values) -> impl Strategy<Value = ExternalInterviewAssessment> {
    (
        of(text()),
        of(text()),
        of(received(InterviewConclusion::KNOWN, values)),
        lists(dimension(values)),
        of(text()),
    )
        .prop_map(|(id, username, conclusion, dimensions, content)| {
            let assessment =
                ExternalInterviewAssessment::new().assessment_dimension_list(dimensions);
            let assessment = with(assessment, id, |a, v| a.id(v));
            let assessment = with(assessment, username, |a, v| a.username(v));
            let assessment = with(
                assessment,
                conclusion,
                ExternalInterviewAssessment::conclusion,
            );
            with(assessment, content, |a, v| a.content(v))
        })
}

/// Any `ExternalInterview`.
pub fn interview(values: Values) -> impl Strategy<Value = ExternalInterview> {
    (
        of(text()),
        of(text()),
        of(text()),
        of(received(ParticipateStatus::KNOWN, values)),
        of(any::<i64>()),
        of(any::<i64>()),
        lists(assessment(values)),
    )
        .prop_map(
            |(external_id, id, application, status, begin, end, assessments)| {
                let interview = ExternalInterview::new().interview_assessments(assessments);
                let interview = with(interview, external_id, |i, v| i.external_id(v));
                let interview = with(interview, id, |i, v| i.id(v));
                let interview = with(interview, application, |i, v| i.external_application_id(v));
                let interview = with(interview, status, ExternalInterview::participate_status);
                let interview = with(interview, begin, ExternalInterview::begin_time);
                with(interview, end, ExternalInterview::end_time)
            },
        )
}

/// Any `ErrorDetail`.
pub fn error_detail() -> impl Strategy<Value = ErrorDetail> {
    let field_violation =
        (of(text()), of(text()), of(text())).prop_map(|(field, value, description)| {
            let violation = with(FieldViolation::new(), field, |f, v| f.field(v));
            let violation = with(violation, value, |f, v| f.value(v));
            with(violation, description, |f, v| f.description(v))
        });
    let permission_violation =
        (of(text()), of(text()), of(text())).prop_map(|(kind, subject, description)| {
            let violation = with(PermissionViolation::new(), kind, |p, v| p.r#type(v));
            let violation = with(violation, subject, |p, v| p.subject(v));
            with(violation, description, |p, v| p.description(v))
        });
    (
        of(text()),
        of(text()),
        lists(free_json()),
        lists(field_violation),
        lists(permission_violation),
    )
        .prop_map(|(log_id, troubleshooter, details, fields, permissions)| {
            let detail = ErrorDetail::new()
                .details(details)
                .field_violations(fields)
                .permission_violations(permissions);
            let detail = with(detail, log_id, |d, v| d.log_id(v));
            with(detail, troubleshooter, |d, v| d.troubleshooter(v))
        })
}

/// Any `CreateExternalInterviewResponse`.
pub fn response(values: Values) -> impl Strategy<Value = CreateExternalInterviewResponse> {
    (
        any::<i64>(),
        of(text()),
        of(of(interview(values))),
        of(error_detail()),
    )
        .prop_map(|(code, msg, data, error)| {
            let data = data.map(|interview| {
                with(
                    CreateExternalInterviewData::new(),
                    interview,
                    CreateExternalInterviewData::external_interview,
                )
            });
            let response = CreateExternalInterviewResponse::new(code);
            let response = with(response, msg, |r, v| r.msg(v));
            let response = with(response, data, CreateExternalInterviewResponse::data);
            with(response, error, CreateExternalInterviewResponse::error)
        })
}

/// Any `TenantAccessTokenResponse`.
pub fn token_response() -> impl Strategy<Value = TenantAccessTokenResponse> {
    (
        any::<i64>(),
        of(text()),
        of(text()),
        of(any::<i64>()),
        of(error_detail()),
    )
        .prop_map(|(code, msg, token, expire, error)| {
            let response = TenantAccessTokenResponse::new(code);
            let response = with(response, msg, |r, v| r.msg(v));
            let response = with(response, token, |r, v| r.tenant_access_token(v));
            let response = with(response, expire, TenantAccessTokenResponse::expire);
            with(response, error, TenantAccessTokenResponse::error)
        })
}
