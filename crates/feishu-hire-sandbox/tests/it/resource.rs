//! The whole external-interview resource over HTTP: update, delete, batch query with its
//! pages, assessments, hostile ids in the path, routes for every endpoint of the specs, and
//! the common pipeline (token, rate limit, faults) on the new endpoints.
// The helpers below are test code too: a panic is how they report a failure.

use std::collections::BTreeSet;

use crate::common::{Answer, Harness, minimal, seed_request, start};
use feishu_hire_sandbox::{
    FaultConfig, IdempotencyMode, MAX_PAGE_SIZE, METHOD_NOT_ALLOWED_CODE, NOT_FOUND_CODE,
    NOT_IMPLEMENTED_CODE, RECORDS_PATH, STATS_PATH, SandboxConfig, Stats,
};
use feishu_hire_types::{ENDPOINTS, ParticipateStatus, schemas};
use reqwest::Method;
use serde_json::{Value, json};

const INTERVIEWS: &str = "/open-apis/hire/v1/external_interviews";
const BATCH_QUERY: &str = "/open-apis/hire/v1/external_interviews/batch_query";
const ASSESSMENTS: &str = "/open-apis/hire/v1/external_interview_assessments";
const APPLICATION: &str = "6960663240925956437";

/// Checks an answer with `code: 0` against the generated response schema of `endpoint`.
fn assert_matches_response_schema(endpoint: &str, answer: &Answer) {
    assert_eq!(
        (answer.status, answer.code()),
        (200, 0),
        "{:?}",
        answer.body
    );
    let (_, _, schema) = schemas::ALL
        .iter()
        .find(|(name, _, _)| *name == endpoint)
        .unwrap();
    let schema: Value = serde_json::from_str(schema).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&answer.body)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{endpoint}: {errors:?}\n{}", answer.body);
}

/// A sandbox without a rate limit, and a token for it.
async fn sandbox() -> (Harness, String) {
    sandbox_with(SandboxConfig::default().no_rate_limit()).await
}

async fn sandbox_with(config: SandboxConfig) -> (Harness, String) {
    let harness = start(config).await;
    let token = harness.token().await;
    (harness, token)
}

async fn create(harness: &Harness, token: &str, body: &Value) -> String {
    let answer = harness.create(token, body).await;
    assert_eq!(answer.code(), 0, "{:?}", answer.body);
    answer.interview_id()
}

/// A create of `application`'s interview with `external_id`.
fn interview_of(application: &str, external_id: &str) -> Value {
    json!({"external_id": external_id, "external_application_id": application})
}

async fn query(harness: &Harness, token: &str, query: &str, body: &Value) -> Answer {
    harness
        .call(
            Method::POST,
            &format!("{BATCH_QUERY}?{query}"),
            token,
            Some(body),
        )
        .await
}

fn item_ids(answer: &Answer) -> Vec<String> {
    answer.body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

// ---- update ----

#[tokio::test]
async fn update_replaces_the_interview_and_a_query_shows_the_new_values() {
    let (harness, token) = sandbox().await;
    let id = create(&harness, &token, &seed_request()).await;
    let replacement = json!({
        "external_id": "7396034232747641133",
        "external_application_id": APPLICATION,
        "participate_status": 2,
        "begin_time": 1_700_000_000_000_i64,
        "interview_assessments": [{"username": "李四", "conclusion": 2, "content": "second round"}],
    });
    let updated = harness
        .call(
            Method::PUT,
            &format!("{INTERVIEWS}/{id}"),
            &token,
            Some(&replacement),
        )
        .await;
    assert_matches_response_schema("update_external_interview", &updated);
    let interview = &updated.body["data"]["external_interview"];
    assert_eq!(interview["id"], id.as_str(), "an update keeps the id");
    assert_eq!(interview["participate_status"], 2);
    assert_eq!(interview.get("end_time"), None, "a field not sent is gone");

    let found = query(
        &harness,
        &token,
        &format!("external_application_id={APPLICATION}"),
        &json!({}),
    )
    .await;
    assert_matches_response_schema("batch_query_external_interview", &found);
    let items = found.body["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["begin_time"], 1_700_000_000_000_i64);
    assert_eq!(items[0].get("end_time"), None);
    let assessments = items[0]["interview_assessments"].as_array().unwrap();
    assert_eq!(
        assessments.len(),
        1,
        "assessments are replaced as the body says"
    );
    assert_eq!(assessments[0]["username"], "李四");
    assert_eq!(
        harness.sandbox.records()[0].interview.participate_status,
        Some(ParticipateStatus::Participated)
    );

    // A body that breaks the schema is refused with field violations, as for a create.
    let invalid = harness
        .call(
            Method::PUT,
            &format!("{INTERVIEWS}/{id}"),
            &token,
            Some(&json!({"participate_status": 9})),
        )
        .await;
    assert_eq!((invalid.status, invalid.code()), (400, 1002002));
    assert_eq!(
        invalid.violated_fields(),
        ["external_application_id", "participate_status"]
    );

    let unknown = harness
        .call(
            Method::PUT,
            &format!("{INTERVIEWS}/1234"),
            &token,
            Some(&replacement),
        )
        .await;
    assert_eq!((unknown.status, unknown.code()), (400, 1002002));
    assert_eq!(unknown.violated_fields(), ["external_interview_id"]);
}

// ---- delete ----

#[tokio::test]
async fn delete_removes_and_a_second_delete_answers_the_unknown_id_code() {
    let (harness, token) = sandbox().await;
    let id = create(&harness, &token, &seed_request()).await;
    let kept = create(&harness, &token, &minimal("ats-2")).await;
    let assessment_id = harness.sandbox.records()[0].interview.interview_assessments[0]
        .id
        .clone()
        .unwrap();
    let path = format!("{INTERVIEWS}/{id}");

    let deleted = harness.call(Method::DELETE, &path, &token, None).await;
    assert_matches_response_schema("delete_external_interview", &deleted);
    assert_eq!(deleted.body["data"], json!({}));

    let again = harness.call(Method::DELETE, &path, &token, None).await;
    assert_eq!((again.status, again.code()), (400, 1002002));
    assert_eq!(again.violated_fields(), ["external_interview_id"]);
    assert_eq!(
        again.body["error"]["field_violations"][0]["value"],
        id.as_str()
    );
    let msg = again.body["msg"].as_str().unwrap();
    assert!(msg.contains("does not exist"), "{msg}");
    assert!(
        msg.contains("assumption"),
        "the msg says the code is assumed: {msg}"
    );

    // The interview and its assessments are gone; the other interview stays.
    let records = harness.sandbox.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].interview.id.as_deref(), Some(kept.as_str()));
    let patch = harness
        .call(
            Method::PATCH,
            &format!("{ASSESSMENTS}/{assessment_id}"),
            &token,
            Some(&json!({"content": "x"})),
        )
        .await;
    assert_eq!(
        patch.violated_fields(),
        ["external_interview_assessment_id"]
    );
    let found = query(
        &harness,
        &token,
        "",
        &json!({"external_interview_id_list": [id]}),
    )
    .await;
    assert_eq!(item_ids(&found), Vec::<String>::new());
    assert_eq!(found.body["data"]["has_more"], false);

    let stats = harness.sandbox.stats();
    assert_eq!(stats.requests_by_endpoint["delete_external_interview"], 2);
    assert_eq!(stats.succeeded_by_endpoint["delete_external_interview"], 1);
}

// ---- batch query ----

#[tokio::test]
async fn batch_query_pages_through_an_application_in_creation_order() {
    let (harness, token) = sandbox().await;
    let mut expected = Vec::new();
    for index in 0..5 {
        expected.push(
            create(
                &harness,
                &token,
                &interview_of("app-a", &format!("a-{index}")),
            )
            .await,
        );
        // Another application's interviews in between must not show up.
        create(
            &harness,
            &token,
            &interview_of("app-b", &format!("b-{index}")),
        )
        .await;
    }

    let mut seen = Vec::new();
    let mut page_token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut parameters = "external_application_id=app-a&page_size=2".to_owned();
        if let Some(token) = &page_token {
            parameters.push_str(&format!("&page_token={token}"));
        }
        let page = query(&harness, &token, &parameters, &json!({})).await;
        assert_matches_response_schema("batch_query_external_interview", &page);
        pages += 1;
        let ids = item_ids(&page);
        assert!(ids.len() <= 2);
        seen.extend(ids);
        let data = &page.body["data"];
        if data["has_more"] == false {
            assert_eq!(data["page_token"], "", "no next page at the end");
            break;
        }
        page_token = Some(data["page_token"].as_str().unwrap().to_owned());
        assert!(pages < 10, "the pages never end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "every interview once, in creation order");

    // The same query gives the same order again; a deleted item does not shift a page.
    let first = query(
        &harness,
        &token,
        "external_application_id=app-a&page_size=2",
        &json!({}),
    )
    .await;
    assert_eq!(item_ids(&first), expected[..2]);
    let next = first.body["data"]["page_token"]
        .as_str()
        .unwrap()
        .to_owned();
    harness
        .call(
            Method::DELETE,
            &format!("{INTERVIEWS}/{}", expected[0]),
            &token,
            None,
        )
        .await;
    let second = query(
        &harness,
        &token,
        &format!("external_application_id=app-a&page_size=2&page_token={next}"),
        &json!({}),
    )
    .await;
    assert_eq!(item_ids(&second), expected[2..4]);
}

#[tokio::test]
async fn batch_query_defaults_to_10_and_caps_the_page_size_at_100() {
    let (harness, token) = sandbox().await;
    for index in 0..=MAX_PAGE_SIZE {
        create(
            &harness,
            &token,
            &interview_of("app-a", &format!("a-{index}")),
        )
        .await;
    }
    let default = query(
        &harness,
        &token,
        "external_application_id=app-a",
        &json!({}),
    )
    .await;
    assert_eq!(item_ids(&default).len(), 10);
    assert_eq!(default.body["data"]["has_more"], true);

    for huge in ["101", "1000", "2147483647"] {
        let capped = query(
            &harness,
            &token,
            &format!("external_application_id=app-a&page_size={huge}"),
            &json!({}),
        )
        .await;
        assert_eq!(item_ids(&capped).len(), MAX_PAGE_SIZE, "{huge}");
        assert_eq!(capped.body["data"]["has_more"], true);
    }
}

#[tokio::test]
async fn batch_query_with_ids_returns_those_interviews() {
    let (harness, token) = sandbox().await;
    let a = create(&harness, &token, &interview_of("app-a", "a")).await;
    let b = create(&harness, &token, &interview_of("app-b", "b")).await;
    let c = create(&harness, &token, &interview_of("app-a", "c")).await;

    let found = query(
        &harness,
        &token,
        "",
        &json!({"external_interview_id_list": [c, a, "no-such-id", a]}),
    )
    .await;
    assert_matches_response_schema("batch_query_external_interview", &found);
    assert_eq!(
        item_ids(&found),
        [a.clone(), c.clone()],
        "in creation order, once each"
    );
    assert_eq!(found.body["data"]["items"][0]["external_id"], "a");

    // With an application as well, both must match.
    let both = query(
        &harness,
        &token,
        "external_application_id=app-b",
        &json!({"external_interview_id_list": [a, b]}),
    )
    .await;
    assert_eq!(item_ids(&both), [b]);
}

#[tokio::test]
async fn bad_query_parameters_are_field_violations() {
    let (harness, token) = sandbox().await;
    create(&harness, &token, &interview_of("app-a", "a-1")).await;
    create(&harness, &token, &interview_of("app-a", "a-2")).await;
    let refused = |answer: &Answer| {
        assert_eq!(
            (answer.status, answer.code()),
            (400, 1002002),
            "{:?}",
            answer.body
        );
        answer.violated_fields()
    };

    for bad in ["ten", "1.5", "99999999999", "0", "-1"] {
        let answer = query(
            &harness,
            &token,
            &format!("external_application_id=app-a&page_size={bad}"),
            &json!({}),
        )
        .await;
        assert_eq!(refused(&answer), ["page_size"], "{bad}");
        assert_eq!(answer.body["error"]["field_violations"][0]["value"], bad);
    }

    let page = query(
        &harness,
        &token,
        "external_application_id=app-a&page_size=1",
        &json!({}),
    )
    .await;
    let issued = page.body["data"]["page_token"].as_str().unwrap().to_owned();
    let mut garbled = issued.clone();
    garbled.pop();
    garbled.push(if issued.ends_with('0') { '1' } else { '0' });
    for bad in [
        garbled.as_str(),
        "not-a-token",
        "eyJvZmZzZXQiOjEwfQ==",
        "%E9%9D%A2%E8%AF%95",
        &"9".repeat(5000),
    ] {
        let answer = query(
            &harness,
            &token,
            &format!("external_application_id=app-a&page_token={bad}"),
            &json!({}),
        )
        .await;
        assert_eq!(refused(&answer), ["page_token"], "{bad}");
    }
    // A token is tied to its query.
    let other_query = query(
        &harness,
        &token,
        &format!("external_application_id=app-b&page_token={issued}"),
        &json!({}),
    )
    .await;
    assert_eq!(refused(&other_query), ["page_token"]);

    let nothing_to_query = query(&harness, &token, "", &json!({})).await;
    assert_eq!(refused(&nothing_to_query), ["external_application_id"]);
    let bad_body = query(
        &harness,
        &token,
        "page_size=x",
        &json!({"external_interview_id_list": "a"}),
    )
    .await;
    assert_eq!(
        refused(&bad_body),
        ["page_size", "external_interview_id_list"]
    );
}

// ---- hostile ids ----

#[tokio::test]
async fn hostile_ids_in_the_path_are_decoded_and_not_found() {
    let (harness, token) = sandbox().await;
    create(&harness, &token, &minimal("ats-1")).await;
    let body = json!({"external_application_id": APPLICATION});
    let long = "7".repeat(10_000);
    for (segment, decoded) in [
        ("a%2Fb", "a/b"),
        ("%E9%9D%A2%E8%AF%95", "面试"),
        ("..%2F..%2Fsandbox%2Fstats", "../../sandbox/stats"),
        ("100%25", "100%"),
        ("x%3Fy%23z", "x?y#z"),
        ("%20", " "),
        (long.as_str(), long.as_str()),
    ] {
        for (method, body) in [(Method::PUT, Some(&body)), (Method::DELETE, None)] {
            let answer = harness
                .call(
                    method.clone(),
                    &format!("{INTERVIEWS}/{segment}"),
                    &token,
                    body,
                )
                .await;
            assert_eq!(
                (answer.status, answer.code()),
                (400, 1002002),
                "{method} {segment}: {:?}",
                answer.body
            );
            assert_eq!(answer.violated_fields(), ["external_interview_id"]);
            let value = answer.body["error"]["field_violations"][0]["value"]
                .as_str()
                .unwrap();
            assert!(
                decoded.starts_with(value.trim_end_matches('…')),
                "{segment}: {value}"
            );
        }
        let patch = harness
            .call(
                Method::PATCH,
                &format!("{ASSESSMENTS}/{segment}"),
                &token,
                Some(&json!({"content": "x"})),
            )
            .await;
        assert_eq!(
            patch.violated_fields(),
            ["external_interview_assessment_id"]
        );
    }

    // Not valid UTF-8 once decoded: refused, naming the parameter.
    let invalid = harness
        .call(
            Method::DELETE,
            &format!("{INTERVIEWS}/%FF%FE"),
            &token,
            None,
        )
        .await;
    assert_eq!((invalid.status, invalid.code()), (400, 1002002));
    assert_eq!(invalid.violated_fields(), ["external_interview_id"]);

    // An unencoded `/` is another path: no endpoint there.
    let nested = harness
        .call(Method::DELETE, &format!("{INTERVIEWS}/a/b"), &token, None)
        .await;
    assert_eq!((nested.status, nested.code()), (404, NOT_FOUND_CODE));

    // Nothing was deleted, and the sandbox still serves.
    assert_eq!(harness.sandbox.records().len(), 1);
    assert_eq!(harness.get(STATS_PATH).await.status, 200);
}

// ---- assessments ----

#[tokio::test]
async fn assessments_attach_to_their_interview_and_show_in_queries() {
    let (harness, token) = sandbox().await;
    let interview = create(&harness, &token, &minimal("ats-1")).await;
    let request = json!({
        "external_id": "assessment-1",
        "external_interview_id": interview,
        "username": "张三",
        "conclusion": 2,
        "content": "good",
        "assessment_dimension_list": [{"assessment_type": 1, "title": "Coding", "score": 4}],
    });
    let created = harness
        .call(Method::POST, ASSESSMENTS, &token, Some(&request))
        .await;
    assert_matches_response_schema("create_external_interview_assessment", &created);
    let assessment = &created.body["data"]["external_interview_assessment"];
    let assessment_id = assessment["id"].as_str().unwrap().to_owned();
    assert_eq!(assessment["external_interview_id"], interview.as_str());
    assert_eq!(assessment["external_id"], "assessment-1");

    // A repeat of the external_id returns the stored assessment (the default mode).
    let repeat = harness
        .call(Method::POST, ASSESSMENTS, &token, Some(&request))
        .await;
    assert_eq!(
        repeat.body["data"]["external_interview_assessment"]["id"],
        assessment_id.as_str()
    );

    let patched = harness
        .call(
            Method::PATCH,
            &format!("{ASSESSMENTS}/{assessment_id}"),
            &token,
            Some(&json!({"conclusion": 1, "content": "changed my mind"})),
        )
        .await;
    assert_matches_response_schema("patch_external_interview_assessment", &patched);
    let patched = &patched.body["data"]["external_interview_assessment"];
    assert_eq!(patched["conclusion"], 1);
    assert_eq!(patched["content"], "changed my mind");
    assert_eq!(patched["username"], "张三", "a field not sent is kept");
    assert_eq!(patched["assessment_dimension_list"][0]["title"], "Coding");

    let found = query(
        &harness,
        &token,
        "",
        &json!({"external_interview_id_list": [interview]}),
    )
    .await;
    let assessments = found.body["data"]["items"][0]["interview_assessments"]
        .as_array()
        .unwrap();
    assert_eq!(assessments.len(), 1, "attached once, despite the repeat");
    assert_eq!(assessments[0]["id"], assessment_id.as_str());
    assert_eq!(assessments[0]["conclusion"], 1);
    assert_eq!(assessments[0]["username"], "张三");

    // An empty list sent clears the dimensions; the patch body is checked like any other.
    let cleared = harness
        .call(
            Method::PATCH,
            &format!("{ASSESSMENTS}/{assessment_id}"),
            &token,
            Some(&json!({"assessment_dimension_list": []})),
        )
        .await;
    assert_eq!(
        cleared.body["data"]["external_interview_assessment"].get("assessment_dimension_list"),
        None
    );
    let invalid = harness
        .call(
            Method::PATCH,
            &format!("{ASSESSMENTS}/{assessment_id}"),
            &token,
            Some(&json!({"conclusion": 7, "external_interview_id": "x"})),
        )
        .await;
    assert_eq!(
        invalid.violated_fields(),
        ["conclusion", "external_interview_id"]
    );

    let orphan = harness
        .call(
            Method::POST,
            ASSESSMENTS,
            &token,
            Some(&json!({"external_interview_id": "no-such-interview"})),
        )
        .await;
    assert_eq!((orphan.status, orphan.code()), (400, 1002002));
    assert_eq!(orphan.violated_fields(), ["external_interview_id"]);
    let missing = harness
        .call(
            Method::POST,
            ASSESSMENTS,
            &token,
            Some(&json!({"username": "x"})),
        )
        .await;
    assert_eq!(missing.violated_fields(), ["external_interview_id"]);
}

#[tokio::test]
async fn assessment_keys_follow_the_idempotency_modes() {
    let (harness, token) =
        sandbox_with(SandboxConfig::default().idempotency(IdempotencyMode::reject())).await;
    let interview = create(&harness, &token, &minimal("ats-1")).await;
    let request = json!({"external_id": "k", "external_interview_id": interview});
    let first = harness
        .call(Method::POST, ASSESSMENTS, &token, Some(&request))
        .await;
    assert_eq!(first.code(), 0);
    let repeat = harness
        .call(Method::POST, ASSESSMENTS, &token, Some(&request))
        .await;
    assert_eq!((repeat.status, repeat.code()), (400, 1002002));
    assert_eq!(repeat.violated_fields(), ["external_id"]);
    assert_eq!(harness.sandbox.stats().rejected_duplicates, 1);

    let (off, token) =
        sandbox_with(SandboxConfig::default().idempotency(IdempotencyMode::Off)).await;
    let interview = create(&off, &token, &minimal("ats-1")).await;
    let request = json!({"external_id": "k", "external_interview_id": interview});
    for _ in 0..2 {
        assert_eq!(
            off.call(Method::POST, ASSESSMENTS, &token, Some(&request))
                .await
                .code(),
            0
        );
    }
    assert_eq!(
        off.sandbox.records()[0]
            .interview
            .interview_assessments
            .len(),
        2
    );
}

// ---- routes ----

#[tokio::test]
async fn every_spec_endpoint_is_implemented_or_answers_not_implemented() {
    let (harness, token) = sandbox().await;
    let implemented: BTreeSet<&str> = feishu_hire_sandbox::implemented_endpoints()
        .into_iter()
        .collect();
    for endpoint in ENDPOINTS {
        if implemented.contains(endpoint.name) {
            continue;
        }
        // Fill each placeholder with something, and send the endpoint's method.
        let path: Vec<&str> = endpoint
            .path
            .split('/')
            .map(|segment| {
                if segment.starts_with(':') {
                    "1"
                } else {
                    segment
                }
            })
            .collect();
        let method = Method::from_bytes(endpoint.method.as_str().as_bytes()).unwrap();
        let body = endpoint.has_body.then(|| json!({}));
        let answer = harness
            .call(method, &path.join("/"), &token, body.as_ref())
            .await;
        assert_eq!((answer.status, answer.code()), (501, NOT_IMPLEMENTED_CODE));
        let msg = answer.body["msg"].as_str().unwrap();
        assert!(msg.contains(endpoint.name) && msg.contains("not implemented in the sandbox"));
    }
    // Today the sandbox implements every endpoint of the specs.
    let all: BTreeSet<&str> = ENDPOINTS.iter().map(|endpoint| endpoint.name).collect();
    assert_eq!(implemented, all);
    assert_eq!(
        implemented,
        BTreeSet::from([
            "tenant_access_token_internal",
            "create_external_interview",
            "update_external_interview",
            "delete_external_interview",
            "batch_query_external_interview",
            "create_external_interview_assessment",
            "patch_external_interview_assessment",
        ])
    );
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_answer_in_feishus_envelope() {
    let (harness, token) = sandbox().await;
    for (method, path, allow) in [
        (Method::GET, INTERVIEWS.to_owned(), "POST"),
        (Method::POST, format!("{INTERVIEWS}/123"), "PUT,DELETE"),
        (Method::GET, BATCH_QUERY.to_owned(), "POST"),
        (Method::PUT, format!("{ASSESSMENTS}/123"), "PATCH"),
        (Method::POST, STATS_PATH.to_owned(), "GET,HEAD"),
    ] {
        let answer = harness.call(method.clone(), &path, &token, None).await;
        assert_eq!(
            (answer.status, answer.code()),
            (405, METHOD_NOT_ALLOWED_CODE),
            "{method} {path}"
        );
        let mut allowed: Vec<&str> = answer.header("allow").unwrap().split(',').collect();
        let mut expected: Vec<&str> = allow.split(',').collect();
        allowed.sort_unstable();
        expected.sort_unstable();
        assert_eq!(allowed, expected, "{method} {path}");
    }
    let unknown = harness.get("/open-apis/hire/v1/unknown").await;
    assert_eq!((unknown.status, unknown.code()), (404, NOT_FOUND_CODE));
    assert!(
        unknown.body["msg"]
            .as_str()
            .unwrap()
            .contains("/open-apis/hire/v1/unknown")
    );
}

// ---- the pipeline on the new endpoints ----

#[tokio::test]
async fn the_new_endpoints_need_a_token_and_follow_their_own_rate_limits() {
    let harness = start(SandboxConfig::default()).await;
    let token = harness.token().await;
    let interview = create(&harness, &token, &minimal("ats-1")).await;

    let no_token = harness
        .http
        .delete(harness.url(&format!("{INTERVIEWS}/{interview}")))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 400);
    let body: Value = no_token.json().await.unwrap();
    assert_eq!(body["code"], 99991661);
    assert_eq!(harness.sandbox.records().len(), 1);

    // The spec gives creating assessments 20 requests per second.
    let request = json!({"external_interview_id": interview});
    for _ in 0..20 {
        let answer = harness
            .call(Method::POST, ASSESSMENTS, &token, Some(&request))
            .await;
        assert_eq!(answer.code(), 0);
    }
    let limited = harness
        .call(Method::POST, ASSESSMENTS, &token, Some(&request))
        .await;
    assert_eq!((limited.status, limited.code()), (429, 99991400));
    assert_eq!(limited.header("x-ogw-ratelimit-limit"), Some("20"));
    // Each endpoint has its own budget: creating interviews is not affected.
    assert_eq!(harness.create(&token, &minimal("ats-2")).await.code(), 0);
    // Endpoints without a limit in the spec have none.
    for _ in 0..30 {
        let answer = query(&harness, &token, "external_application_id=x", &json!({})).await;
        assert_eq!(answer.code(), 0);
    }
}

#[tokio::test]
async fn faults_reach_every_endpoint_and_a_cut_delete_still_deletes() {
    let (harness, token) = sandbox_with(
        SandboxConfig::default()
            .no_rate_limit()
            .faults(FaultConfig::seeded(3).server_error_rate(1.0)),
    )
    .await;
    let answer = query(&harness, &token, "external_application_id=x", &json!({})).await;
    assert_eq!((answer.status, answer.code()), (500, 1002001));
    assert_eq!(answer.header("x-sandbox-fault"), Some("server_error"));

    let (harness, token) = sandbox_with(
        SandboxConfig::default()
            .no_rate_limit()
            .idempotency(IdempotencyMode::Off)
            .faults(FaultConfig::seeded(3).cut_after_store_rate(1.0)),
    )
    .await;
    assert!(harness.try_create(&token, &minimal("ats-1")).await.is_err());
    let id = harness.sandbox.records()[0].interview.id.clone().unwrap();
    let cut = harness
        .http
        .delete(harness.url(&format!("{INTERVIEWS}/{id}")))
        .bearer_auth(&token)
        .send()
        .await;
    assert!(cut.is_err(), "the connection is cut: {cut:?}");
    assert!(
        harness.sandbox.records().is_empty(),
        "yet the delete took effect"
    );
    let stats: Stats = serde_json::from_value(harness.get(STATS_PATH).await.body).unwrap();
    assert_eq!(stats.faults.cuts_after_store, 2);
    assert_eq!(stats.succeeded_by_endpoint["delete_external_interview"], 1);
}

#[tokio::test]
async fn the_inspection_endpoint_shows_the_current_state() {
    let (harness, token) = sandbox().await;
    let first = create(&harness, &token, &minimal("ats-1")).await;
    create(&harness, &token, &minimal("ats-2")).await;
    harness
        .call(
            Method::PUT,
            &format!("{INTERVIEWS}/{first}"),
            &token,
            Some(&json!({"external_id": "ats-1", "external_application_id": "changed"})),
        )
        .await;
    harness
        .call(
            Method::DELETE,
            &format!("{INTERVIEWS}/{first}"),
            &token,
            None,
        )
        .await;
    let records = harness.get(RECORDS_PATH).await;
    assert_eq!(records.body["count"], 1);
    assert_eq!(
        records.body["external_interviews"][0]["interview"]["external_id"],
        "ats-2"
    );
    // Counters are history: the deleted interview was still stored once.
    assert_eq!(harness.sandbox.stats().stored_by_external_id["ats-1"], 1);
}
