//! The client's contract with every endpoint of the specs, generated from the specs themselves.
//!
//! For each endpoint (listed by the generated `for_each_endpoint!`, so a new YAML endpoint is
//! covered without writing a test), proptest generates path parameters (hostile ones: `/`, `?`,
//! `#`, `%`, spaces, non-ASCII), query parameters (set or not) and a body (a valid instance of
//! the endpoint's emitted request schema), builds the typed request from them, sends it through
//! the client to wiremock and checks what arrived against the endpoint's contract: method, path
//! (each parameter percent-encoded into exactly its own segment), query string, headers and
//! body.

use std::collections::BTreeMap;

use feishu_hire_client::{Client, Delivery, RetryPolicy};
use feishu_hire_types::{
    AccessTokenKind, ApiRequest, Endpoint, HttpMethod, Param, ParamKind, ResponseShape, schemas,
};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "t-contract-token";
const CASES: u32 = 40;

/// One generated parameter: its name, its JSON value (to build the request) and the text the
/// URL must carry.
#[derive(Debug, Clone)]
struct ParamValue {
    name: &'static str,
    json: Value,
    text: String,
}

fn param_value(param: &'static Param) -> BoxedStrategy<ParamValue> {
    let name = param.name;
    let typed: BoxedStrategy<(Value, String)> = match param.kind {
        ParamKind::Int32 => any::<i32>().prop_map(|n| (json!(n), n.to_string())).boxed(),
        ParamKind::Int64 => any::<i64>().prop_map(|n| (json!(n), n.to_string())).boxed(),
        ParamKind::Boolean => any::<bool>()
            .prop_map(|b| (json!(b), b.to_string()))
            .boxed(),
        ParamKind::Enum(values) => proptest::sample::select(values)
            .prop_map(|n| (json!(n), n.to_string()))
            .boxed(),
        // `ParamKind` may grow; strings are the common case.
        _ => feishu_hire_testkit::schema_instances::segment_text()
            .prop_map(|s| (json!(s.clone()), s))
            .boxed(),
    };
    typed
        .prop_map(move |(json, text)| ParamValue { name, json, text })
        .boxed()
}

/// Values for the path parameters (all) and the query parameters (required ones always,
/// optional ones sometimes).
fn params(endpoint: &'static Endpoint) -> BoxedStrategy<(Vec<ParamValue>, Vec<ParamValue>)> {
    let path: Vec<_> = endpoint.path_params.iter().map(param_value).collect();
    let query: Vec<BoxedStrategy<Option<ParamValue>>> = endpoint
        .query_params
        .iter()
        .map(|param| {
            if param.required {
                param_value(param).prop_map(Some).boxed()
            } else {
                prop::option::of(param_value(param)).boxed()
            }
        })
        .collect();
    (path, query)
        .prop_map(|(path, query)| (path, query.into_iter().flatten().collect()))
        .boxed()
}

/// The emitted schema of the endpoint's request body.
fn body_schema(endpoint: &Endpoint) -> Option<Value> {
    schemas::ALL
        .iter()
        .find(|(name, _, _)| *name == endpoint.name)
        .and_then(|(_, request, _)| *request)
        .map(|schema| serde_json::from_str(schema).unwrap())
}

/// What the client sends for a body: optional lists that are empty are left out.
fn without_empty_lists(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !matches!(v, Value::Array(items) if items.is_empty()))
                .map(|(k, v)| (k.clone(), without_empty_lists(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_empty_lists).collect()),
        other => other.clone(),
    }
}

fn success(endpoint: &Endpoint) -> ResponseTemplate {
    let body = match endpoint.response {
        ResponseShape::WholeBody => json!({"code": 0, "msg": "ok"}),
        _ => json!({"code": 0, "msg": "ok", "data": {}}),
    };
    ResponseTemplate::new(200)
        .set_body_json(body)
        .insert_header("X-Tt-Logid", "contract-log-id")
}

fn method_name(method: HttpMethod) -> &'static str {
    method.as_str()
}

/// Sends generated requests of `R` and checks each against `endpoint`'s contract.
fn check_endpoint<R: ApiRequest + DeserializeOwned>() {
    let endpoint = R::ENDPOINT;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(MockServer::start());
    let client = Client::builder()
        .base_url(server.uri())
        .tenant_access_token(TOKEN)
        .no_rate_limit()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let schema = body_schema(endpoint);
    let validator = schema
        .as_ref()
        .map(|schema| jsonschema::draft202012::new(schema).unwrap());
    let body = match &schema {
        Some(schema) => feishu_hire_testkit::schema_instances::instances(schema)
            .prop_map(Some)
            .boxed(),
        None => Just(None).boxed(),
    };
    // A request type that is its body has no parameters; any other holds them and `body`.
    let is_body_itself =
        endpoint.path_params.is_empty() && endpoint.query_params.is_empty() && endpoint.has_body;

    let mut runner = TestRunner::new(Config::with_cases(CASES));
    let outcome = runner.run(&(params(endpoint), body), |((path, query), body)| {
        let json = if is_body_itself {
            body.clone().unwrap_or(Value::Null)
        } else {
            let mut object: Map<String, Value> = path
                .iter()
                .chain(&query)
                .map(|p| (p.name.to_owned(), p.json.clone()))
                .collect();
            if let Some(body) = &body {
                object.insert("body".into(), body.clone());
            }
            Value::Object(object)
        };
        let request: R = serde_json::from_value(json.clone()).map_err(|error| {
            TestCaseError::fail(format!("{json} does not build the request: {error}"))
        })?;

        runtime.block_on(async {
            server.reset().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(success(endpoint))
                .mount(&server)
                .await;
        });
        let answer = runtime.block_on(client.send(&request));
        // `.` and `..` cannot be path segments (URL parsers resolve them, encoded or not):
        // the client refuses them before sending.
        if path.iter().any(|p| p.text == "." || p.text == "..") {
            let error = answer.err();
            prop_assert!(
                error
                    .as_ref()
                    .is_some_and(|e| e.delivery() == Delivery::NotSent),
                "{:?}",
                error
            );
            let received = runtime.block_on(server.received_requests()).unwrap();
            prop_assert!(received.is_empty());
            return Ok(());
        }
        prop_assert!(answer.is_ok(), "{:?}", answer.err().map(|e| e.to_string()));
        let received = runtime.block_on(server.received_requests()).unwrap();
        prop_assert_eq!(received.len(), 1);
        let sent = &received[0];

        // Method.
        prop_assert_eq!(sent.method.as_str(), method_name(endpoint.method));

        // Path: the literal segments as the spec writes them, each parameter in its own
        // segment, percent-decoding to exactly its value.
        let expected: Vec<&str> = endpoint.path.split('/').collect();
        let actual: Vec<&str> = sent.url.path().split('/').collect();
        prop_assert_eq!(actual.len(), expected.len(), "path {}", sent.url.path());
        for (want, got) in expected.iter().zip(&actual) {
            match want.strip_prefix(':') {
                Some(name) => {
                    let value = &path.iter().find(|p| p.name == name).unwrap().text;
                    let decoded = percent_decode_str(got).decode_utf8().unwrap();
                    prop_assert_eq!(&decoded, value, "segment {}", got);
                }
                None => prop_assert_eq!(got, want),
            }
        }

        // Query: exactly the parameters that are set, decoded back to their values.
        let sent_query: BTreeMap<String, String> = sent.url.query_pairs().into_owned().collect();
        let expected_query: BTreeMap<String, String> = query
            .iter()
            .map(|p| (p.name.to_owned(), p.text.clone()))
            .collect();
        prop_assert_eq!(sent.url.query_pairs().count(), query.len());
        prop_assert_eq!(sent_query, expected_query);

        // Headers.
        let header = |name: &str| {
            sent.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        match endpoint.access_token {
            AccessTokenKind::Tenant => {
                prop_assert_eq!(header("authorization"), Some(format!("Bearer {TOKEN}")))
            }
            _ => prop_assert_eq!(header("authorization"), None),
        }
        prop_assert!(header("oapi-sdk-request-id").is_some_and(|id| !id.is_empty()));
        prop_assert!(header("user-agent").is_some_and(|ua| ua.starts_with("feishu-hire-client/")));

        // Body: the generated one (as sent: empty optional lists left out), valid against the
        // endpoint's request schema; none for an endpoint without a body.
        match (&body, &validator) {
            (Some(body), Some(validator)) => {
                let content_type = header("content-type");
                prop_assert_eq!(
                    content_type.as_deref(),
                    Some("application/json; charset=utf-8")
                );
                let sent_body: Value = serde_json::from_slice(&sent.body).unwrap();
                prop_assert_eq!(&sent_body, &without_empty_lists(body));
                prop_assert!(
                    validator.is_valid(&sent_body),
                    "the sent body fails the request schema: {}",
                    sent_body
                );
            }
            _ => {
                prop_assert!(sent.body.is_empty(), "a body was sent: {:?}", sent.body);
                prop_assert_eq!(header("content-type"), None);
            }
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{}: {failure}", endpoint.name);
    }
}

macro_rules! contract_test {
    ($name:ident, $endpoint:path, $request:ty, $body:ty, $response:ty) => {
        #[test]
        fn $name() {
            check_endpoint::<$request>();
        }
    };
}

feishu_hire_types::for_each_endpoint!(contract_test);

/// The generated list covers every endpoint: a test function exists for each (the macro above
/// makes them), and the endpoint list and the schema list agree.
#[test]
fn every_endpoint_has_a_contract_test() {
    let mut names = Vec::new();
    macro_rules! collect {
        ($name:ident, $endpoint:path, $request:ty, $body:ty, $response:ty) => {
            names.push(stringify!($name));
        };
    }
    feishu_hire_types::for_each_endpoint!(collect);
    let endpoints: Vec<&str> = feishu_hire_types::ENDPOINTS
        .iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, endpoints);
    assert!(names.len() >= 7, "{names:?}");
}
