//! Helpers shared by the sandbox's integration tests: start a sandbox on a manual clock, get
//! tokens, send requests over HTTP and check what every answer must carry.
#![allow(dead_code)]

use std::sync::Arc;

use feishu_hire_sandbox::{ManualClock, Sandbox, SandboxConfig};
use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, TENANT_ACCESS_TOKEN_INTERNAL};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};

/// A running sandbox with its clock and an HTTP client.
pub struct Harness {
    pub sandbox: Sandbox,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
}

/// Starts a sandbox with `config` on a fresh [`ManualClock`].
pub async fn start(config: SandboxConfig) -> Harness {
    let clock = Arc::new(ManualClock::new());
    let sandbox = feishu_hire_sandbox::spawn(config.clock(clock.clone()))
        .await
        .unwrap();
    // No proxy: the tests talk to 127.0.0.1 only, whatever the environment says.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Harness {
        sandbox,
        clock,
        http,
    }
}

/// An answer, checked for what every answer carries: an `X-Tt-Logid` header and, on an error
/// body, the same log id in `error.log_id`.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        let log_id = headers
            .get("X-Tt-Logid")
            .expect("every answer has X-Tt-Logid")
            .to_str()
            .unwrap();
        assert!(!log_id.is_empty());
        if body
            .get("code")
            .and_then(Value::as_i64)
            .is_some_and(|code| code != 0)
        {
            assert_eq!(
                body["error"]["log_id"], log_id,
                "error.log_id matches X-Tt-Logid"
            );
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The `field` of each field violation.
    pub fn violated_fields(&self) -> Vec<String> {
        self.body["error"]["field_violations"]
            .as_array()
            .map(|violations| {
                violations
                    .iter()
                    .map(|v| v["field"].as_str().unwrap_or("(none)").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The id of the created interview.
    pub fn interview_id(&self) -> String {
        self.body["data"]["external_interview"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url())
    }

    /// A token for the app `cli_test`.
    pub async fn token(&self) -> String {
        self.token_for("cli_test").await
    }

    /// A token for `app_id` (with the secret `secret`).
    pub async fn token_for(&self, app_id: &str) -> String {
        let answer = self
            .request_token(&json!({"app_id": app_id, "app_secret": "secret"}))
            .await;
        assert_eq!(answer.code(), 0, "{:?}", answer.body);
        answer.body["tenant_access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn request_token(&self, body: &Value) -> Answer {
        let response = self
            .http
            .post(self.url(TENANT_ACCESS_TOKEN_INTERNAL.path))
            .json(body)
            .send()
            .await
            .unwrap();
        Answer::read(response).await
    }

    /// Sends a create; `Err` if no answer came back (a cut connection).
    pub async fn try_create(&self, token: &str, body: &Value) -> Result<Answer, reqwest::Error> {
        let response = self
            .http
            .post(self.url(CREATE_EXTERNAL_INTERVIEW.path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?;
        Ok(Answer::read(response).await)
    }

    pub async fn create(&self, token: &str, body: &Value) -> Answer {
        self.try_create(token, body).await.unwrap()
    }

    /// Sends a create with raw headers and body.
    pub async fn create_raw(
        &self,
        authorization: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut request = self
            .http
            .post(self.url(CREATE_EXTERNAL_INTERVIEW.path))
            .body(body);
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        Answer::read(request.send().await.unwrap()).await
    }

    /// Sends `method path` with a bearer token and, if given, a JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        Answer::read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        Answer::read(self.http.get(self.url(path)).send().await.unwrap()).await
    }
}

/// A valid create with only the required field and `external_id`.
pub fn minimal(external_id: &str) -> Value {
    json!({"external_id": external_id, "external_application_id": "6960663240925956437"})
}

/// The request example of the official documentation, verbatim.
pub fn seed_request() -> Value {
    json!({
        "external_id": "7396034232747641133",
        "external_application_id": "6960663240925956437",
        "participate_status": 1,
        "begin_time": 1618500278638_i64,
        "end_time": 1618500278639_i64,
        "interview_assessments": [
            {
                "username": "张三",
                "conclusion": 1,
                "assessment_dimension_list": [
                    {
                        "score": 99,
                        "option": "选项1",
                        "options": ["选项1"],
                        "content": "不错的面试内容",
                        "assessment_type": 1,
                        "title": "面试测试",
                        "description": "这是一次测试"
                    }
                ],
                "content": "第一次面试"
            }
        ]
    })
}

/// The response example of the official documentation, verbatim.
pub fn seed_response() -> Value {
    json!({
        "code": 0,
        "msg": "ok",
        "data": {
            "external_interview": {
                "external_application_id": "6960663240925956437",
                "id": "6960663240925956436",
                "participate_status": 1,
                "begin_time": 1618500278638_i64,
                "end_time": 1618500278639_i64,
                "interview_assessments": [
                    {
                        "id": "6989181065243969836",
                        "username": "张三",
                        "conclusion": 1,
                        "assessment_dimension_list": [
                            {
                                "score": 99,
                                "option": "选项1",
                                "options": ["选项1"],
                                "content": "第一次面试记录",
                                "assessment_type": 1,
                                "title": "性格测试",
                                "description": "这是性格测试相关的"
                            }
                        ],
                        "content": "内容输出"
                    }
                ]
            }
        }
    })
}

/// The shape of a JSON value: the same keys and the same kinds of values, whatever the values.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (key.clone(), shape(value)))
                .collect(),
        ),
    }
}
