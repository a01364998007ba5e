//! The wire contract of `feishu-hire-types`: the generated types read and write exactly the JSON
//! Feishu documents, requests strictly and responses leniently (the rule is written down once, in
//! `feishu_hire_types::wire`), and the emitted request schema agrees.
//!
//! Test data: `feishu_hire_testkit::SEED_*` are the examples of Feishu's documentation, verbatim.

use feishu_hire_types::{
    ApiRequest, AssessmentType, CREATE_EXTERNAL_INTERVIEW, CreateExternalInterviewRequest,
    CreateExternalInterviewResponse, ErrorCategory, ErrorCode, HOST_FEISHU, HOST_LARK, HttpMethod,
    Idempotency, InterviewConclusion, ParticipateStatus, TENANT_ACCESS_TOKEN_INTERNAL,
    TenantAccessTokenRequest, TenantAccessTokenResponse, schemas,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::LazyLock;

static REQUEST_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    feishu_hire_testkit::strategies::validator(schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST)
});
static RESPONSE_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    feishu_hire_testkit::strategies::validator(schemas::CREATE_EXTERNAL_INTERVIEW_RESPONSE)
});
static TOKEN_REQUEST_SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    feishu_hire_testkit::strategies::validator(schemas::TENANT_ACCESS_TOKEN_INTERNAL_REQUEST)
});

fn data(name: &str) -> Value {
    let text = match name {
        "seed_request.json" => feishu_hire_testkit::SEED_REQUEST,
        "seed_response.json" => feishu_hire_testkit::SEED_RESPONSE,
        other => panic!("no test data {other}"),
    };
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Decodes with the JSON path of the first problem, as the sandbox reports it:
/// `"<path>: <message>"`.
fn decode<T: DeserializeOwned>(json: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(json)
        .map_err(|error| format!("{}: {}", error.path(), error.inner()))
}

// ---- the seed's examples ----

#[test]
fn seed_request_example_decodes_and_encodes_back_unchanged() {
    let json = data("seed_request.json");
    let request: CreateExternalInterviewRequest = decode(&json).unwrap();
    assert_eq!(request.external_application_id, "6960663240925956437");
    assert_eq!(request.external_id.as_deref(), Some("7396034232747641133"));
    assert_eq!(
        request.participate_status,
        Some(ParticipateStatus::NotParticipated)
    );
    assert_eq!(request.begin_time, Some(1_618_500_278_638));
    let assessment = &request.interview_assessments[0];
    assert_eq!(assessment.conclusion, Some(InterviewConclusion::Fail));
    let dimension = &assessment.assessment_dimension_list[0];
    assert_eq!(dimension.assessment_type, Some(AssessmentType::Score));
    assert_eq!(dimension.score, Some(99));
    assert_eq!(dimension.options, ["选项1"]);

    assert_eq!(serde_json::to_value(&request).unwrap(), json);
    assert_eq!(
        feishu_hire_testkit::strategies::schema_errors(&REQUEST_SCHEMA, &json),
        Vec::<String>::new()
    );
}

#[test]
fn seed_response_example_decodes_and_encodes_back_unchanged() {
    let json = data("seed_response.json");
    let response: CreateExternalInterviewResponse = decode(&json).unwrap();
    assert_eq!(response.code, 0);
    let interview = response
        .data
        .as_ref()
        .and_then(|d| d.external_interview.as_ref())
        .unwrap();
    assert_eq!(interview.id.as_deref(), Some("6960663240925956436"));
    assert_eq!(interview.end_time, Some(1_618_500_278_639));
    let assessment = &interview.interview_assessments[0];
    assert_eq!(assessment.id.as_deref(), Some("6989181065243969836"));
    assert_eq!(
        assessment.assessment_dimension_list[0].assessment_type,
        Some(AssessmentType::Score)
    );

    assert_eq!(serde_json::to_value(&response).unwrap(), json);
    assert_eq!(
        feishu_hire_testkit::strategies::schema_errors(&RESPONSE_SCHEMA, &json),
        Vec::<String>::new()
    );
}

// ---- arbitrary values ----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn requests_round_trip_and_pass_the_request_schema(request in feishu_hire_testkit::strategies::request()) {
        let json = serde_json::to_value(&request).unwrap();
        let errors = feishu_hire_testkit::strategies::schema_errors(&REQUEST_SCHEMA, &json);
        prop_assert!(errors.is_empty(), "{json:#}\n{errors:#?}");
        let back: CreateExternalInterviewRequest = decode(&json).unwrap();
        prop_assert_eq!(back, request);
    }

    #[test]
    fn responses_round_trip(response in feishu_hire_testkit::strategies::response(feishu_hire_testkit::strategies::Values::Any)) {
        let json = serde_json::to_value(&response).unwrap();
        let back: CreateExternalInterviewResponse = decode(&json).unwrap();
        prop_assert_eq!(back, response);
    }

    #[test]
    fn token_requests_round_trip_and_pass_their_schema(request in feishu_hire_testkit::strategies::token_request()) {
        let json = serde_json::to_value(&request).unwrap();
        let errors = feishu_hire_testkit::strategies::schema_errors(&TOKEN_REQUEST_SCHEMA, &json);
        prop_assert!(errors.is_empty(), "{json:#}\n{errors:#?}");
        let back: TenantAccessTokenRequest = decode(&json).unwrap();
        prop_assert_eq!(back, request);
    }

    #[test]
    fn token_responses_round_trip(response in feishu_hire_testkit::strategies::token_response()) {
        let json = serde_json::to_value(&response).unwrap();
        let back: TenantAccessTokenResponse = decode(&json).unwrap();
        prop_assert_eq!(back, response);
    }
}

// ---- invalid requests ----

/// A request the schema and the strict decoding must both refuse.
struct Invalid {
    what: &'static str,
    /// JSON pointer of the change, and the new value (`None` removes the key).
    change: (&'static str, Option<Value>),
    /// Where the schema reports it.
    schema_path: &'static str,
    /// Where the strict decoding reports it (`serde_path_to_error` notation, `.` for the root).
    rust_path: &'static str,
    /// A word both messages must contain.
    names: &'static str,
}

const DIMENSION: &str = "/interview_assessments/0/assessment_dimension_list/0";

fn invalid_requests() -> Vec<Invalid> {
    vec![
        Invalid {
            what: "wrong type: the application id as a number",
            change: (
                "/external_application_id",
                Some(json!(6_960_663_240_925_956_437_u64)),
            ),
            schema_path: "/external_application_id",
            rust_path: "external_application_id",
            names: "string",
        },
        Invalid {
            what: "participate_status 0 (below the listed values)",
            change: ("/participate_status", Some(json!(0))),
            schema_path: "/participate_status",
            rust_path: "participate_status",
            names: "ParticipateStatus",
        },
        Invalid {
            what: "participate_status 4 (above the listed values)",
            change: ("/participate_status", Some(json!(4))),
            schema_path: "/participate_status",
            rust_path: "participate_status",
            names: "ParticipateStatus",
        },
        Invalid {
            what: "participate_status as the string \"1\"",
            change: ("/participate_status", Some(json!("1"))),
            schema_path: "/participate_status",
            rust_path: "participate_status",
            names: "integer",
        },
        Invalid {
            what: "external_application_id missing",
            change: ("/external_application_id", None),
            schema_path: "",
            rust_path: ".",
            names: "external_application_id",
        },
        Invalid {
            what: "options not an array",
            change: (
                "/interview_assessments/0/assessment_dimension_list/0/options",
                Some(json!("选项1")),
            ),
            schema_path: "/interview_assessments/0/assessment_dimension_list/0/options",
            rust_path: "interview_assessments[0].assessment_dimension_list[0].options",
            names: "sequence",
        },
        Invalid {
            what: "a time as a date string",
            change: ("/begin_time", Some(json!("2021-04-15"))),
            schema_path: "/begin_time",
            rust_path: "begin_time",
            names: "2021-04-15",
        },
        Invalid {
            what: "an unlisted conclusion, nested",
            change: ("/interview_assessments/0/conclusion", Some(json!(9))),
            schema_path: "/interview_assessments/0/conclusion",
            rust_path: "interview_assessments[0].conclusion",
            names: "InterviewConclusion",
        },
        Invalid {
            what: "an unknown field at the top",
            change: ("/interviewer", Some(json!("张三"))),
            schema_path: "",
            rust_path: "interviewer",
            names: "interviewer",
        },
        Invalid {
            what: "an unknown field, nested",
            change: (
                "/interview_assessments/0/assessment_dimension_list/0/weight",
                Some(json!(2)),
            ),
            schema_path: DIMENSION,
            rust_path: "interview_assessments[0].assessment_dimension_list[0].weight",
            names: "weight",
        },
        Invalid {
            what: "a list as null",
            change: ("/interview_assessments", Some(Value::Null)),
            schema_path: "/interview_assessments",
            rust_path: "interview_assessments",
            names: "null",
        },
    ]
}

/// The seed request with one change.
fn changed_seed(pointer: &str, value: Option<Value>) -> Value {
    let mut json = data("seed_request.json");
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let object = json
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap();
    match value {
        Some(value) => object.insert(key.to_owned(), value),
        None => object.remove(key),
    };
    json
}

#[test]
fn invalid_requests_are_refused_by_the_schema_and_the_strict_decoding_with_a_path() {
    let mut report = String::new();
    for case in invalid_requests() {
        let (pointer, value) = case.change.clone();
        let json = changed_seed(pointer, value);

        let errors: Vec<jsonschema::ValidationError<'_>> =
            REQUEST_SCHEMA.iter_errors(&json).collect();
        assert!(
            !errors.is_empty(),
            "{}: the schema accepted {json:#}",
            case.what
        );
        for error in &errors {
            assert_eq!(
                error.instance_path().as_str(),
                case.schema_path,
                "{}: {error}",
                case.what
            );
        }
        let schema_messages: Vec<String> = errors.iter().map(ToString::to_string).collect();

        let refused = decode::<CreateExternalInterviewRequest>(&json)
            .map(|_| ())
            .expect_err(case.what);
        let (rust_path, _) = refused.split_once(": ").unwrap();
        assert_eq!(rust_path, case.rust_path, "{}: {refused}", case.what);
        let all = format!("{} {refused}", schema_messages.join(" "));
        assert!(
            all.contains(case.names),
            "{}: neither message names `{}`:\n{all}",
            case.what,
            case.names
        );

        let shown_path = if case.schema_path.is_empty() {
            "(root)"
        } else {
            case.schema_path
        };
        report.push_str(&format!(
            "{}\n  schema at {shown_path}: {}\n  decoding: {refused}\n",
            case.what,
            schema_messages.join(" / ")
        ));
    }
    insta::assert_snapshot!("invalid_requests", report);
}

// ---- strict requests, lenient responses ----

#[test]
fn requests_refuse_unlisted_enum_values_strings_for_integers_and_unknown_fields() {
    let base = data("seed_request.json");
    for (pointer, value) in [
        ("/participate_status", json!("1")),
        ("/participate_status", json!(99)),
        (
            "/interview_assessments/0/assessment_dimension_list/0/assessment_type",
            json!("1"),
        ),
        (
            "/interview_assessments/0/assessment_dimension_list/0/score",
            json!("99"),
        ),
        ("/end_time", json!("1618500278639")),
        ("/surprise", json!(true)),
    ] {
        let json = changed_seed(pointer, Some(value.clone()));
        assert_ne!(json, base);
        let outcome = decode::<CreateExternalInterviewRequest>(&json);
        assert!(outcome.is_err(), "{pointer} = {value} was accepted");
    }
}

#[test]
fn responses_keep_unlisted_enum_values_and_encode_them_back_unchanged() {
    let mut json = data("seed_response.json");
    let interview = json.pointer_mut("/data/external_interview").unwrap();
    interview["participate_status"] = json!(7);
    interview["interview_assessments"][0]["conclusion"] = json!(0);
    interview["interview_assessments"][0]["assessment_dimension_list"][0]["assessment_type"] =
        json!(-3);

    let response: CreateExternalInterviewResponse = decode(&json).unwrap();
    let interview = response
        .data
        .as_ref()
        .and_then(|d| d.external_interview.as_ref())
        .unwrap();
    let status = interview.participate_status.unwrap();
    assert!(
        matches!(status, ParticipateStatus::Unknown(_)),
        "{status:?}"
    );
    assert_eq!(status.value(), 7);
    assert_eq!(status.to_string(), "7");
    let conclusion = interview.interview_assessments[0].conclusion.unwrap();
    assert!(matches!(conclusion, InterviewConclusion::Unknown(_)));
    assert_eq!(serde_json::to_value(&response).unwrap(), json);
}

#[test]
fn responses_accept_integers_written_as_strings_and_encode_them_as_numbers() {
    let mut json = data("seed_response.json");
    json["code"] = json!("0");
    let interview = json.pointer_mut("/data/external_interview").unwrap();
    interview["begin_time"] = json!("1618500278638");
    interview["participate_status"] = json!("2");
    interview["interview_assessments"][0]["assessment_dimension_list"][0]["score"] = json!(" 99 ");

    let response: CreateExternalInterviewResponse = decode(&json).unwrap();
    let interview = response
        .data
        .as_ref()
        .and_then(|d| d.external_interview.as_ref())
        .unwrap();
    assert_eq!(interview.begin_time, Some(1_618_500_278_638));
    assert_eq!(
        interview.participate_status,
        Some(ParticipateStatus::Participated)
    );
    let encoded = serde_json::to_value(&response).unwrap();
    assert_eq!(encoded["code"], json!(0));
    assert_eq!(
        encoded["data"]["external_interview"]["begin_time"],
        json!(1_618_500_278_638_i64)
    );
    assert_eq!(
        encoded["data"]["external_interview"]["interview_assessments"][0]["assessment_dimension_list"]
            [0]["score"],
        json!(99)
    );
}

#[test]
fn responses_ignore_unknown_fields() {
    let mut json = data("seed_response.json");
    json["request_id"] = json!("abc");
    json["data"]["external_interview"]["created_by"] = json!({"open_id": "ou_1"});
    json["data"]["external_interview"]["interview_assessments"][0]["score_total"] = json!(4.5);

    let response: CreateExternalInterviewResponse = decode(&json).unwrap();
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        data("seed_response.json")
    );
}

#[test]
fn responses_read_null_lists_and_values_as_empty() {
    let json = json!({
        "code": 0,
        "msg": null,
        "data": {"external_interview": {
            "id": "1",
            "begin_time": null,
            "interview_assessments": [{"assessment_dimension_list": null},
                                      {"assessment_dimension_list": [{"options": null, "score": null}]}]
        }},
        "error": {"details": null, "field_violations": null, "permission_violations": null}
    });
    let response: CreateExternalInterviewResponse = decode(&json).unwrap();
    let interview = response
        .data
        .as_ref()
        .and_then(|d| d.external_interview.as_ref())
        .unwrap();
    assert_eq!(interview.begin_time, None);
    assert!(
        interview.interview_assessments[0]
            .assessment_dimension_list
            .is_empty()
    );
    assert!(
        interview.interview_assessments[1].assessment_dimension_list[0]
            .options
            .is_empty()
    );
    let error = response.error.as_ref().unwrap();
    assert!(error.details.is_empty() && error.field_violations.is_empty());
    // Unset values are left out when encoding, never written as null.
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"code": 0, "data": {"external_interview": {"id": "1", "interview_assessments": [{}, {"assessment_dimension_list": [{}]}]}}, "error": {}})
    );
}

#[test]
fn unset_optional_request_fields_are_left_out() {
    let request = CreateExternalInterviewRequest::new("6960663240925956437");
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        json!({"external_application_id": "6960663240925956437"})
    );
}

// ---- enums, error codes, endpoints, secrets ----

fn assert_enum_text_round_trips<E>(known: &[E])
where
    E: Copy
        + PartialEq
        + std::fmt::Debug
        + std::fmt::Display
        + std::str::FromStr
        + serde::Serialize
        + DeserializeOwned,
    E::Err: std::fmt::Display,
{
    assert!(!known.is_empty());
    for &value in known {
        let name = value.to_string();
        assert_eq!(name.parse::<E>().ok(), Some(value), "{name}");
        let wire = serde_json::to_value(value).unwrap();
        assert!(wire.is_i64(), "{wire}");
        assert_eq!(wire.to_string().parse::<E>().ok(), Some(value), "{wire}");
    }
    let unknown: E = serde_json::from_value(json!(12345)).unwrap();
    assert_eq!(unknown.to_string(), "12345");
    let refused = "12345"
        .parse::<E>()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("12345") && refused.contains("expected one of"),
        "{refused}"
    );
    assert!("no_such_name".parse::<E>().is_err());
}

#[test]
fn enums_display_and_parse_their_names_and_values() {
    assert_enum_text_round_trips(ParticipateStatus::KNOWN);
    assert_enum_text_round_trips(InterviewConclusion::KNOWN);
    assert_enum_text_round_trips(AssessmentType::KNOWN);
    assert_eq!(ParticipateStatus::NoShow.to_string(), "no_show");
    assert_eq!(
        "participated".parse::<ParticipateStatus>().ok(),
        Some(ParticipateStatus::Participated)
    );
    assert_eq!(
        "3".parse::<InterviewConclusion>().ok(),
        Some(InterviewConclusion::ToBeDetermined)
    );
    assert_eq!(AssessmentType::MultipleChoice.value(), 4);
    assert_eq!(
        InterviewConclusion::from_known_value(2),
        Some(InterviewConclusion::Pass)
    );
    assert_eq!(InterviewConclusion::from_known_value(4), None);
}

#[test]
fn error_codes_map_every_listed_code_and_keep_unknown_ones() {
    let listed = [
        (
            1_002_001,
            ErrorCode::SystemError,
            ErrorCategory::System,
            500,
        ),
        (
            1_002_002,
            ErrorCode::InvalidParameter,
            ErrorCategory::Parameter,
            400,
        ),
        (
            99_991_400,
            ErrorCode::RateLimited,
            ErrorCategory::RateLimited,
            429,
        ),
        (
            99_991_661,
            ErrorCode::AccessTokenMissing,
            ErrorCategory::Auth,
            400,
        ),
        (
            99_991_663,
            ErrorCode::AccessTokenInvalid,
            ErrorCategory::Auth,
            400,
        ),
        (
            99_991_664,
            ErrorCode::TenantAccessTokenInvalid,
            ErrorCategory::Auth,
            400,
        ),
        (
            99_991_671,
            ErrorCode::AccessTokenMalformed,
            ErrorCategory::Auth,
            400,
        ),
    ];
    assert_eq!(ErrorCode::KNOWN.len(), listed.len());
    for (code, variant, category, status) in listed {
        let found = ErrorCode::from_code(code);
        assert_eq!(found, variant, "{code}");
        assert_eq!(found.code(), code);
        assert_eq!(found.category(), category, "{code}");
        assert_eq!(found.http_status(), Some(status), "{code}");
        assert!(
            found.description().is_some() && found.advice().is_some(),
            "{code}"
        );
        assert!(ErrorCode::KNOWN.contains(&found));
    }
    let unknown = ErrorCode::from_code(4_242);
    assert_eq!(unknown, ErrorCode::Unknown(4_242));
    assert_eq!(unknown.code(), 4_242);
    assert_eq!(unknown.category(), ErrorCategory::Unknown);
    assert_eq!(unknown.http_status(), None);
    assert_eq!(unknown.to_string(), "4242 (unknown code)");
    assert_eq!(ErrorCode::from(99_991_400), ErrorCode::RateLimited);
}

#[test]
fn endpoints_carry_method_path_rate_limit_idempotency_and_error_table() {
    let create = CREATE_EXTERNAL_INTERVIEW;
    assert_eq!(create.method, HttpMethod::Post);
    assert_eq!(create.path, "/open-apis/hire/v1/external_interviews");
    let limit = create.rate_limit.unwrap();
    assert_eq!((limit.requests, limit.per_seconds), (10, 1));
    assert_eq!(
        create.idempotency,
        Idempotency::ByKey {
            field: "external_id",
            window_hours: 24
        }
    );
    assert_eq!(create.error_codes, [1_002_001, 1_002_002]);
    assert_eq!(create.scopes, ["hire:external_application"]);
    assert_eq!(
        <CreateExternalInterviewRequest as ApiRequest>::ENDPOINT,
        &CREATE_EXTERNAL_INTERVIEW
    );

    let token = TENANT_ACCESS_TOKEN_INTERNAL;
    assert_eq!(
        token.path,
        "/open-apis/auth/v3/tenant_access_token/internal"
    );
    assert_eq!(
        (token.rate_limit, token.idempotency),
        (None, Idempotency::ReadOnly)
    );
    assert_eq!(
        (HOST_FEISHU, HOST_LARK),
        ("https://open.feishu.cn", "https://open.larksuite.com")
    );

    let keyed = CreateExternalInterviewRequest::new("1").external_id("ats-42");
    assert_eq!(keyed.idempotency_key(), Some("ats-42"));
    assert_eq!(
        CreateExternalInterviewRequest::new("1").idempotency_key(),
        None
    );
}

#[test]
fn secrets_are_absent_from_debug_but_sent_on_the_wire() {
    let request = TenantAccessTokenRequest::new("cli_a1b2", "app-secret-value");
    let shown = format!("{request:?}");
    assert!(
        shown.contains("cli_a1b2") && shown.contains("<redacted>"),
        "{shown}"
    );
    assert!(!shown.contains("app-secret-value"), "{shown}");
    assert_eq!(
        serde_json::to_value(&request).unwrap()["app_secret"],
        "app-secret-value"
    );

    let response = TenantAccessTokenResponse::new(0)
        .tenant_access_token("t-caecc734c2e3328a")
        .expire(7200);
    let shown = format!("{response:?}");
    assert!(
        shown.contains("7200") && shown.contains("<redacted>"),
        "{shown}"
    );
    assert!(!shown.contains("t-caecc734c2e3328a"), "{shown}");
    let unset = format!("{:?}", TenantAccessTokenResponse::new(0));
    assert!(unset.contains("tenant_access_token: None"), "{unset}");
}

#[test]
fn responses_accept_whole_floats_as_integers_but_not_fractions() {
    let whole =
        json!({"code": 0.0, "data": {"external_interview": {"begin_time": 1618500278638.0}}});
    let decoded: CreateExternalInterviewResponse = decode(&whole).unwrap();
    assert_eq!(decoded.code, 0);
    let interview = decoded.data.and_then(|d| d.external_interview).unwrap();
    assert_eq!(interview.begin_time, Some(1_618_500_278_638));

    let fraction = json!({"code": 0, "data": {"external_interview": {"begin_time": 1.5}}});
    assert!(decode::<CreateExternalInterviewResponse>(&fraction).is_err());
    // Requests stay strict: `1.0` is not an integer for them.
    let request = json!({"external_application_id": "1", "begin_time": 1.0});
    assert!(decode::<CreateExternalInterviewRequest>(&request).is_err());
}

#[test]
fn a_blank_external_id_is_not_an_idempotency_key() {
    let request = CreateExternalInterviewRequest::new("6960663240925956437");
    assert_eq!(request.idempotency_key(), None);
    assert_eq!(request.clone().external_id("  ").idempotency_key(), None);
    assert_eq!(
        request.external_id("ats-1").idempotency_key(),
        Some("ats-1")
    );
}
