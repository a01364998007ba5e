//! What each endpoint does once its request passed the common pipeline (token, rate limit,
//! faults, body schema, typed parameters): the one table of implemented behaviours, by
//! endpoint name, and the behaviours themselves. The router gives an endpoint of the specs
//! that is not in [`IMPLEMENTED`] the "not implemented in the sandbox" answer.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use feishu_hire_types::{
    ApiResponse, BATCH_QUERY_EXTERNAL_INTERVIEW, BatchQueryExternalInterviewBody,
    CREATE_EXTERNAL_INTERVIEW, CREATE_EXTERNAL_INTERVIEW_ASSESSMENT,
    CreateExternalInterviewAssessmentRequest, CreateExternalInterviewData,
    CreateExternalInterviewRequest, DELETE_EXTERNAL_INTERVIEW, Endpoint, ErrorCode, ErrorDetail,
    ExternalInterview, ExternalInterviewAssessmentData, FieldViolation, Idempotency, NoData,
    PATCH_EXTERNAL_INTERVIEW_ASSESSMENT, PatchExternalInterviewAssessmentBody,
    TENANT_ACCESS_TOKEN_INTERNAL, UPDATE_EXTERNAL_INTERVIEW, UpdateExternalInterviewBody,
    UpdateExternalInterviewData,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::paging::{MAX_PAGE_SIZE, page_size};
use crate::params::Params;
use crate::server::{LogId, feishu_error, invalid_fields, invalid_parameter_status};
use crate::state::Shared;
use crate::store::{AssessmentPatch, Created, InterviewInput, QueryFilter};
use crate::validate::decode;

/// What the sandbox does for an endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Behaviour {
    /// The token endpoint: its own checks, no tenant token, no faults.
    IssueToken,
    /// An endpoint behind the common pipeline; `Ok` is an answer with `code: 0`.
    Api(fn(&Shared, &Call<'_>) -> Result<Response, Refusal>),
}

/// Every endpoint the sandbox implements, by its name in the specs.
pub(crate) const IMPLEMENTED: &[(&str, Behaviour)] = &[
    (TENANT_ACCESS_TOKEN_INTERNAL.name, Behaviour::IssueToken),
    (
        CREATE_EXTERNAL_INTERVIEW.name,
        Behaviour::Api(create_interview),
    ),
    (
        UPDATE_EXTERNAL_INTERVIEW.name,
        Behaviour::Api(update_interview),
    ),
    (
        DELETE_EXTERNAL_INTERVIEW.name,
        Behaviour::Api(delete_interview),
    ),
    (
        BATCH_QUERY_EXTERNAL_INTERVIEW.name,
        Behaviour::Api(batch_query),
    ),
    (
        CREATE_EXTERNAL_INTERVIEW_ASSESSMENT.name,
        Behaviour::Api(create_assessment),
    ),
    (
        PATCH_EXTERNAL_INTERVIEW_ASSESSMENT.name,
        Behaviour::Api(patch_assessment),
    ),
];

/// A request that passed the pipeline.
pub(crate) struct Call<'a> {
    /// The app whose token sent it.
    pub(crate) app_id: &'a str,
    pub(crate) log_id: &'a str,
    /// Path and query parameters, typed and checked against the spec.
    pub(crate) params: &'a Params,
    /// The JSON body, valid against the endpoint's request schema (`null` without a body).
    pub(crate) body: &'a Value,
}

/// Why a behaviour refused a request.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Field violations: HTTP 400, code 1002002.
    Invalid(Vec<FieldViolation>),
    /// An id that names nothing the sandbox holds.
    UnknownId { field: &'static str, value: String },
    /// A key repeated inside its window, in [`IdempotencyMode::Reject`](crate::IdempotencyMode::Reject).
    AlreadyExists {
        code: i64,
        external_id: String,
        window_hours: u32,
    },
}

impl From<Vec<FieldViolation>> for Refusal {
    fn from(violations: Vec<FieldViolation>) -> Self {
        Refusal::Invalid(violations)
    }
}

impl Refusal {
    pub(crate) fn answer(self, log_id: &LogId) -> Response {
        match self {
            Refusal::Invalid(violations) => invalid_fields(log_id, violations),
            Refusal::UnknownId { field, value } => unknown_id(log_id, field, &value),
            Refusal::AlreadyExists {
                code,
                external_id,
                window_hours,
            } => already_exists(log_id, code, &external_id, window_hours),
        }
    }
}

/// The code the sandbox answers for an id it does not hold. Feishu's SDKs and error tables
/// give no code of their own for it; the spec assumes 1002002 (invalid parameter), HTTP 400.
pub(crate) const UNKNOWN_ID_CODE: ErrorCode = ErrorCode::InvalidParameter;

/// Longest id quoted in an answer, so a hostile one does not bloat it.
const MAX_QUOTED_ID_CHARS: usize = 200;

fn unknown_id(log_id: &LogId, field: &str, value: &str) -> Response {
    let quoted = if value.chars().count() <= MAX_QUOTED_ID_CHARS {
        value.to_owned()
    } else {
        let mut cut: String = value.chars().take(MAX_QUOTED_ID_CHARS).collect();
        cut.push('…');
        cut
    };
    let description = format!("{field} {quoted:?} does not exist");
    let msg = format!(
        "invalid parameter: {description} (the sandbox's assumption: Feishu documents no code for an unknown id, so it answers {}, invalid parameter)",
        UNKNOWN_ID_CODE.code()
    );
    feishu_error(
        invalid_parameter_status(),
        log_id,
        UNKNOWN_ID_CODE.code(),
        &msg,
        ErrorDetail::new().field_violations([FieldViolation::new()
            .field(field)
            .value(quoted)
            .description(description)]),
    )
}

fn already_exists(log_id: &LogId, code: i64, external_id: &str, window_hours: u32) -> Response {
    let description = format!(
        "external_id {external_id} already exists: it was used within the last {window_hours} h"
    );
    feishu_error(
        StatusCode::BAD_REQUEST,
        log_id,
        code,
        &description,
        ErrorDetail::new().field_violations([FieldViolation::new()
            .field("external_id")
            .value(external_id)
            .description(&description)]),
    )
}

/// `{"code": 0, "msg": "ok", "data": …}`.
fn ok<D: Serialize>(data: D) -> Response {
    Json(ApiResponse::new(0).msg("ok").data(data)).into_response()
}

fn window_hours(endpoint: &Endpoint) -> u32 {
    match endpoint.idempotency {
        Idempotency::ByKey { window_hours, .. } => window_hours,
        _ => 0,
    }
}

/// A path parameter; the pipeline has checked that every one the spec declares is there.
fn path_param<'a>(call: &'a Call<'_>, name: &str) -> &'a str {
    call.params.text(name).unwrap_or_default()
}

// ---- interviews ----

fn create_interview(shared: &Shared, call: &Call<'_>) -> Result<Response, Refusal> {
    let request: CreateExternalInterviewRequest = decode(call.body)?;
    let input = InterviewInput {
        external_id: request.external_id,
        external_application_id: request.external_application_id,
        participate_status: request.participate_status,
        begin_time: request.begin_time,
        end_time: request.end_time,
        interview_assessments: request.interview_assessments,
    };
    match shared.create_interview(input, call.app_id, call.log_id) {
        Created::New(interview) | Created::Stored(interview) => Ok(created(interview)),
        Created::Rejected { code, external_id } => Err(Refusal::AlreadyExists {
            code,
            external_id,
            window_hours: window_hours(&CREATE_EXTERNAL_INTERVIEW),
        }),
    }
}

/// The interview in the shape of the documented create example, which does not echo
/// `external_id` (the stored record, queries and the update answer keep it).
fn created(mut interview: ExternalInterview) -> Response {
    interview.external_id = None;
    ok(CreateExternalInterviewData::new().external_interview(interview))
}

fn update_interview(shared: &Shared, call: &Call<'_>) -> Result<Response, Refusal> {
    let id = path_param(call, "external_interview_id");
    let body: UpdateExternalInterviewBody = decode(call.body)?;
    let input = InterviewInput {
        external_id: body.external_id,
        external_application_id: body.external_application_id,
        participate_status: body.participate_status,
        begin_time: body.begin_time,
        end_time: body.end_time,
        interview_assessments: body.interview_assessments,
    };
    match shared.update_interview(id, input) {
        Some(interview) => Ok(ok(
            UpdateExternalInterviewData::new().external_interview(interview)
        )),
        None => Err(Refusal::UnknownId {
            field: "external_interview_id",
            value: id.to_owned(),
        }),
    }
}

fn delete_interview(shared: &Shared, call: &Call<'_>) -> Result<Response, Refusal> {
    let id = path_param(call, "external_interview_id");
    if shared.delete_interview(id) {
        Ok(ok(NoData {}))
    } else {
        Err(Refusal::UnknownId {
            field: "external_interview_id",
            value: id.to_owned(),
        })
    }
}

fn batch_query(shared: &Shared, call: &Call<'_>) -> Result<Response, Refusal> {
    let body: BatchQueryExternalInterviewBody = decode(call.body)?;
    let mut ids = body.external_interview_id_list;
    ids.sort_unstable();
    ids.dedup();
    // Feishu: "when external_interview_id_list is given, it is the only condition; the other
    // conditions do not apply".
    let filter = QueryFilter {
        external_application_id: call
            .params
            .text("external_application_id")
            .filter(|_| ids.is_empty())
            .map(str::to_owned),
        ids,
    };
    if filter.external_application_id.is_none() && filter.ids.is_empty() {
        return Err(Refusal::Invalid(vec![
            FieldViolation::new()
                .field("external_application_id")
                .description(
                    "external_application_id is required when external_interview_id_list is empty",
                ),
        ]));
    }
    let requested = call.params.integer("page_size");
    let Some(limit) = page_size(requested) else {
        return Err(Refusal::Invalid(vec![
            FieldViolation::new()
                .field("page_size")
                .value(requested.unwrap_or_default().to_string())
                .description(format!("page_size must be from 1 to {MAX_PAGE_SIZE}")),
        ]));
    };
    let after = match call.params.text("page_token") {
        None => None,
        Some(token) => match shared.page_tokens.read(token, &filter) {
            Some(after) => Some(after),
            None => {
                return Err(Refusal::Invalid(vec![
                    FieldViolation::new()
                        .field("page_token")
                        .value(token.chars().take(MAX_QUOTED_ID_CHARS).collect::<String>())
                        .description(
                            "page_token is not one this sandbox issued for this query: send the page_token of the previous answer, or none for the first page",
                        ),
                ]));
            }
        },
    };
    let page = shared.query(&filter, after, limit);
    // The next page's token while there is one; an empty one at the end, so a client that
    // loops on a non-empty token stops as well as one that reads `has_more`.
    let page_token = match (page.has_more, page.last) {
        (true, Some(last)) => shared.page_tokens.issue(last, &filter),
        _ => String::new(),
    };
    // Built by hand so `items` is there even when empty (the generated type omits an empty
    // list); the shape is the generated response schema's.
    Ok(ok(json!({
        "items": page.items,
        "page_token": page_token,
        "has_more": page.has_more,
    })))
}

// ---- assessments ----

fn create_assessment(shared: &Shared, call: &Call<'_>) -> Result<Response, Refusal> {
    let request: CreateExternalInterviewAssessmentRequest = decode(call.body)?;
    let interview_id = request.external_interview_id.clone();
    match shared.create_assessment(request) {
        Some(Created::New(assessment) | Created::Stored(assessment)) => Ok(ok(
            ExternalInterviewAssessmentData::new().external_interview_assessment(assessment),
        )),
        Some(Created::Rejected { code, external_id }) => Err(Refusal::AlreadyExists {
            code,
            external_id,
            window_hours: window_hours(&CREATE_EXTERNAL_INTERVIEW_ASSESSMENT),
        }),
        None => Err(Refusal::UnknownId {
            field: "external_interview_id",
            value: interview_id,
        }),
    }
}

fn patch_assessment(shared: &Shared, call: &Call<'_>) -> Result<Response, Refusal> {
    let id = path_param(call, "external_interview_assessment_id");
    let body: PatchExternalInterviewAssessmentBody = decode(call.body)?;
    // The generated body drops an empty list; whether the list was sent decides whether it
    // changes, so an empty one sent clears the dimensions.
    let dimensions_sent = call.body.get("assessment_dimension_list").is_some();
    let patch = AssessmentPatch {
        username: body.username,
        conclusion: body.conclusion,
        content: body.content,
        assessment_dimension_list: dimensions_sent.then_some(body.assessment_dimension_list),
    };
    match shared.patch_assessment(id, patch) {
        Some(assessment) => Ok(ok(
            ExternalInterviewAssessmentData::new().external_interview_assessment(assessment)
        )),
        None => Err(Refusal::UnknownId {
            field: "external_interview_assessment_id",
            value: id.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use feishu_hire_types::ENDPOINTS;

    use super::*;

    #[test]
    fn the_table_names_only_endpoints_of_the_specs_once_each() {
        let names: Vec<&str> = IMPLEMENTED.iter().map(|(name, _)| *name).collect();
        for name in &names {
            assert!(
                ENDPOINTS.iter().any(|endpoint| endpoint.name == *name),
                "{name} is not in the specs"
            );
            assert_eq!(
                names.iter().filter(|other| *other == name).count(),
                1,
                "{name}"
            );
        }
    }

    #[test]
    fn the_unknown_id_code_is_the_specs_invalid_parameter() {
        assert_eq!(UNKNOWN_ID_CODE.code(), 1002002);
        assert_eq!(UNKNOWN_ID_CODE.http_status(), Some(400));
    }
}
