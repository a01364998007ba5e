//! One corpus of create-interview documents, three judges: the emitted request schema (through
//! an independent JSON Schema validator), the sandbox over HTTP (code 0 or 1002002) and the
//! importer's checker (`feishu_hire_cli::Checker`). They must accept and refuse exactly
//! the same documents (issue 11, item 2); where they differ by design, the case says so and why,
//! and the test holds each judge to its documented verdict, so a difference cannot appear or
//! disappear unnoticed.
//!
//! Every document is sent as the same bytes to all three: the schema validates what
//! `serde_json` reads from them, as the importer and the sandbox do.

use feishu_hire_cli::{CheckOptions, Checker};
use feishu_hire_sandbox::SandboxConfig;
use feishu_hire_types::{CREATE_EXTERNAL_INTERVIEW, TENANT_ACCESS_TOKEN_INTERNAL, schemas};
use serde_json::{Value, json};

/// What a judge decides about a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accept,
    Refuse,
}
use Verdict::{Accept, Refuse};

/// The verdicts of the three judges, in the order schema, sandbox, importer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdicts {
    schema: Verdict,
    sandbox: Verdict,
    importer: Verdict,
}

impl Verdicts {
    const fn all(verdict: Verdict) -> Self {
        Self {
            schema: verdict,
            sandbox: verdict,
            importer: verdict,
        }
    }
}

struct Case {
    name: &'static str,
    /// The document, as the bytes every judge reads.
    json: String,
    expected: Verdicts,
    /// Why the judges differ on this document, when they do; `None` means they agree.
    why_they_differ: Option<&'static str>,
}

fn agree(name: &'static str, json: impl Into<String>, verdict: Verdict) -> Case {
    Case {
        name,
        json: json.into(),
        expected: Verdicts::all(verdict),
        why_they_differ: None,
    }
}

fn differ(
    name: &'static str,
    json: impl Into<String>,
    expected: Verdicts,
    why: &'static str,
) -> Case {
    Case {
        name,
        json: json.into(),
        expected,
        why_they_differ: Some(why),
    }
}

/// A document with `external_application_id` and the given members added (as raw JSON text,
/// so duplicated keys and numbers beyond `i64` survive).
fn with(members: &str) -> String {
    format!(r#"{{"external_application_id":"6960663240925956437",{members}}}"#)
}

fn assessment(members: &str) -> String {
    with(&format!(r#""interview_assessments":[{{{members}}}]"#))
}

fn dimension(members: &str) -> String {
    assessment(&format!(r#""assessment_dimension_list":[{{{members}}}]"#))
}

/// `1.0` where an integer is expected: JSON Schema counts a number with a zero fraction as an
/// integer; the Rust request types do not (spec/README.md, "Where the Rust types and the
/// schemas differ"). The sandbox and the importer decode strictly after the schema, so both
/// refuse it, as Feishu's typed decoding would.
const FLOAT_INTEGER: &str = "JSON Schema counts a number with a zero fraction as an integer, the strict Rust request \
     types do not (spec/README.md lists it); the sandbox and the importer decode after the \
     schema, so both refuse";

fn corpus() -> Vec<Case> {
    let full = json!({
        "external_id": "corpus-full",
        "external_application_id": "6960663240925956437",
        "participate_status": 2,
        "begin_time": 1_618_500_278_638_i64,
        "end_time": 1_618_503_878_638_i64,
        "interview_assessments": [{
            "username": "张三",
            "conclusion": 2,
            "content": "第一次面试",
            "assessment_dimension_list": [
                {"assessment_type": 1, "title": "Coding", "score": 4},
                {"assessment_type": 2, "title": "Level", "option": "A"},
                {"assessment_type": 3, "title": "Notes", "content": "good"},
                {"assessment_type": 4, "title": "Skills", "options": ["Rust", "SQL"]}
            ]
        }]
    });
    vec![
        // Valid documents.
        agree(
            "only the required key",
            with(r#""external_id":"corpus-min""#),
            Accept,
        ),
        agree("every field", full.to_string(), Accept),
        agree(
            "int64 bounds exactly",
            with(r#""begin_time":9223372036854775807,"end_time":-9223372036854775808"#),
            Accept,
        ),
        agree(
            "int32 bounds exactly",
            dimension(r#""assessment_type":1,"score":2147483647"#),
            Accept,
        ),
        agree(
            "int32 lower bound",
            dimension(r#""assessment_type":1,"score":-2147483648"#),
            Accept,
        ),
        agree("empty lists", with(r#""interview_assessments":[]"#), Accept),
        agree("an empty assessment", assessment(""), Accept),
        // Out of range.
        agree(
            "begin_time 2^63",
            with(r#""begin_time":9223372036854775808"#),
            Refuse,
        ),
        agree(
            "end_time 2^64",
            with(r#""end_time":18446744073709551616"#),
            Refuse,
        ),
        agree(
            "score 2^31",
            dimension(r#""assessment_type":1,"score":2147483648"#),
            Refuse,
        ),
        agree(
            "score -2^31-1",
            dimension(r#""assessment_type":1,"score":-2147483649"#),
            Refuse,
        ),
        differ(
            "begin_time -2^63-1 (read as a float)",
            with(r#""begin_time":-9223372036854775809"#),
            Verdicts {
                schema: Accept,
                sandbox: Refuse,
                importer: Refuse,
            },
            "serde_json reads an integer below -2^63 as the float -9223372036854775808.0, which \
             JSON Schema counts as an integer within the bound; the strict decoding refuses a \
             float, as for `1.0` (a validator with big integers refuses it outright)",
        ),
        // Whole numbers written as floats.
        differ(
            "1.0 for participate_status",
            with(r#""participate_status":1.0"#),
            Verdicts {
                schema: Accept,
                sandbox: Refuse,
                importer: Refuse,
            },
            FLOAT_INTEGER,
        ),
        differ(
            "1618500278638.0 for begin_time",
            with(r#""begin_time":1618500278638.0"#),
            Verdicts {
                schema: Accept,
                sandbox: Refuse,
                importer: Refuse,
            },
            FLOAT_INTEGER,
        ),
        differ(
            "4e0 for a score",
            dimension(r#""assessment_type":1,"score":4e0"#),
            Verdicts {
                schema: Accept,
                sandbox: Refuse,
                importer: Refuse,
            },
            FLOAT_INTEGER,
        ),
        agree("1.5 for begin_time", with(r#""begin_time":1.5"#), Refuse),
        // Unlisted enum values.
        agree(
            "participate_status 0",
            with(r#""participate_status":0"#),
            Refuse,
        ),
        agree(
            "participate_status 4",
            with(r#""participate_status":4"#),
            Refuse,
        ),
        agree("conclusion 4", assessment(r#""conclusion":4"#), Refuse),
        agree(
            "assessment_type 5",
            dimension(r#""assessment_type":5"#),
            Refuse,
        ),
        agree(
            "assessment_type -1",
            dimension(r#""assessment_type":-1"#),
            Refuse,
        ),
        // Wrong types.
        agree(
            "external_application_id as a number",
            r#"{"external_application_id":6960663240925956437}"#,
            Refuse,
        ),
        agree(
            "external_id as a number",
            with(r#""external_id":7"#),
            Refuse,
        ),
        agree("external_id as true", with(r#""external_id":true"#), Refuse),
        agree("begin_time as true", with(r#""begin_time":true"#), Refuse),
        agree(
            "interview_assessments as an object",
            with(r#""interview_assessments":{"conclusion":1}"#),
            Refuse,
        ),
        agree(
            "options as a string",
            dimension(r#""assessment_type":4,"options":"Rust""#),
            Refuse,
        ),
        agree(
            "an option list with a number",
            dimension(r#""assessment_type":4,"options":["Rust",1]"#),
            Refuse,
        ),
        // Strings for integers.
        agree(
            "begin_time as a string",
            with(r#""begin_time":"1618500278638""#),
            Refuse,
        ),
        agree(
            "participate_status as a string",
            with(r#""participate_status":"2""#),
            Refuse,
        ),
        agree(
            "score as a string",
            dimension(r#""assessment_type":1,"score":"4""#),
            Refuse,
        ),
        // Unknown keys.
        agree(
            "an unknown top-level key",
            with(r#""candidate_name":"x""#),
            Refuse,
        ),
        agree("camelCase external id", with(r#""externalId":"x""#), Refuse),
        agree(
            "an unknown assessment key",
            assessment(r#""score":1"#),
            Refuse,
        ),
        agree(
            "an unknown dimension key",
            dimension(r#""weight":2"#),
            Refuse,
        ),
        // Missing required keys.
        agree(
            "no external_application_id",
            r#"{"external_id":"corpus-none"}"#,
            Refuse,
        ),
        agree("an empty object", "{}", Refuse),
        // Nulls.
        agree(
            "external_application_id null",
            r#"{"external_application_id":null}"#,
            Refuse,
        ),
        agree("external_id null", with(r#""external_id":null"#), Refuse),
        agree("begin_time null", with(r#""begin_time":null"#), Refuse),
        agree(
            "a null list",
            with(r#""interview_assessments":null"#),
            Refuse,
        ),
        agree(
            "a null assessment",
            with(r#""interview_assessments":[null]"#),
            Refuse,
        ),
        agree(
            "a null conclusion",
            assessment(r#""conclusion":null"#),
            Refuse,
        ),
        agree("null", "null", Refuse),
        // Nested mistakes.
        agree(
            "a wrong second assessment",
            with(r#""interview_assessments":[{"conclusion":1},{"conclusion":"x"}]"#),
            Refuse,
        ),
        agree(
            "a deep unknown key in the second dimension",
            assessment(
                r#""assessment_dimension_list":[{"assessment_type":1,"score":1},{"scor":1}]"#,
            ),
            Refuse,
        ),
        // Not an object.
        agree(
            "a list instead of an object",
            r#"["external_application_id","6960663240925956437"]"#,
            Refuse,
        ),
        agree(
            "a list holding the object",
            format!("[{}]", with(r#""external_id":"corpus-list""#)),
            Refuse,
        ),
        agree("a string", r#""6960663240925956437""#, Refuse),
        agree("a number", "1", Refuse),
        // A key given twice.
        differ(
            "external_id twice",
            with(r#""external_id":"corpus-a","external_id":"corpus-b""#),
            Verdicts {
                schema: Accept,
                sandbox: Accept,
                importer: Refuse,
            },
            "a JSON Schema validator sees the parsed value, where the last of two equal keys \
             has silently won, so it cannot see the duplicate; the sandbox keeps the last value, as \
             most JSON readers do: Feishu does not document what it does, and a sandbox stricter \
             than Feishu is a bug (issue 11); the importer refuses it \
             before sending, because which value the target uses is ambiguous",
        ),
        differ(
            "conclusion twice, nested",
            assessment(r#""conclusion":1,"conclusion":2"#),
            Verdicts {
                schema: Accept,
                sandbox: Accept,
                importer: Refuse,
            },
            "as for `external_id` twice: only the importer reads the bytes key by key",
        ),
        // The importer's own rules beyond the schema.
        differ(
            "an empty external_application_id",
            r#"{"external_application_id":""}"#,
            Verdicts {
                schema: Accept,
                sandbox: Accept,
                importer: Refuse,
            },
            "the schema (like Feishu's documentation) sets no minimum length; the importer \
             refuses an empty id because such a record can belong to no application",
        ),
        differ(
            "a blank external_id",
            with(r#""external_id":" ""#),
            Verdicts {
                schema: Accept,
                sandbox: Accept,
                importer: Refuse,
            },
            "the importer refuses a blank `external_id`: every such record would be the same \
             one for Feishu's deduplication; the schema and the sandbox take any string",
        ),
    ]
}

async fn sandbox_verdict(http: &reqwest::Client, base: &str, token: &str, case: &Case) -> Verdict {
    let answer = http
        .post(format!("{base}{}", CREATE_EXTERNAL_INTERVIEW.path))
        .bearer_auth(token)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(case.json.clone())
        .send()
        .await
        .expect("the sandbox answers");
    let status = answer.status();
    let body: Value = answer.json().await.expect("the sandbox answers JSON");
    match body["code"].as_i64() {
        Some(0) => Accept,
        Some(1_002_002) => Refuse,
        _ => panic!("{}: unexpected answer {status} {body}", case.name),
    }
}

#[tokio::test]
async fn the_schema_the_sandbox_and_the_importer_judge_one_corpus_alike() {
    let schema: Value = serde_json::from_str(schemas::CREATE_EXTERNAL_INTERVIEW_REQUEST).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let checker = Checker::new(CheckOptions::default()).unwrap();

    let sandbox = feishu_hire_sandbox::spawn(SandboxConfig::default().no_rate_limit())
        .await
        .expect("the sandbox starts on 127.0.0.1");
    let base = sandbox.base_url();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}{}", TENANT_ACCESS_TOKEN_INTERNAL.path))
        .json(&json!({"app_id": "cli_corpus", "app_secret": "secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["tenant_access_token"].as_str().unwrap().to_owned();

    let mut wrong = Vec::new();
    for case in corpus() {
        let value: Value = serde_json::from_str(&case.json)
            .unwrap_or_else(|err| panic!("{}: the corpus holds JSON only: {err}", case.name));
        let found = Verdicts {
            schema: if validator.is_valid(&value) {
                Accept
            } else {
                Refuse
            },
            sandbox: sandbox_verdict(&http, &base, &token, &case).await,
            importer: if checker
                .check_bytes(case.json.as_bytes(), None)
                .valid
                .is_some()
            {
                Accept
            } else {
                Refuse
            },
        };
        let agreeing = found.schema == found.sandbox && found.sandbox == found.importer;
        assert_eq!(
            case.why_they_differ.is_none(),
            case.expected.schema == case.expected.sandbox
                && case.expected.sandbox == case.expected.importer,
            "{}: a case whose judges differ must say why, and only such a case",
            case.name
        );
        if found != case.expected {
            let note = match (agreeing, case.why_they_differ) {
                (false, None) => "the judges disagree",
                (true, Some(_)) => "the documented difference is gone: update the case",
                _ => "a judge changed its verdict",
            };
            wrong.push(format!(
                "{}: {note}; expected {:?}, found {found:?}\n    {}",
                case.name, case.expected, case.json
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}
