//! Unit tests of the checks.

use super::warnings::utc_string;
use super::*;
use serde_json::json;

fn checker() -> Checker {
    Checker::new(CheckOptions::default()).unwrap()
}

fn messages(outcome: &CheckOutcome) -> Vec<String> {
    outcome.findings.iter().map(ToString::to_string).collect()
}

#[test]
fn dates_are_formatted_in_utc() {
    assert_eq!(utc_string(1_618_500_278_638), "2021-04-15T15:24:38Z");
    assert_eq!(utc_string(0), "1970-01-01T00:00:00Z");
    assert_eq!(utc_string(951_782_400_000), "2000-02-29T00:00:00Z");
    assert_eq!(utc_string(-1), "1969-12-31T23:59:59Z");
}

#[test]
fn a_valid_record_passes_without_findings() {
    let outcome = checker().check_bytes(
        br#"{"external_id":"a","external_application_id":"1","participate_status":2,"begin_time":1618500278638,"end_time":1618503878638}"#,
        None,
    );
    assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
    let valid = outcome.valid.unwrap();
    assert_eq!(valid.external_id.as_deref(), Some("a"));
    assert!(!valid.derived);
}

#[test]
fn schema_errors_name_the_path_and_the_allowed_values() {
    let outcome = checker().check_value(&json!({
        "external_application_id": "1",
        "participate_status": "1",
        "interview_assessments": [{"conclusion": 4, "extra": true}]
    }));
    assert!(outcome.valid.is_none());
    assert_eq!(
        messages(&outcome),
        vec![
            "error: $.interview_assessments[0].conclusion: 4 is not allowed here; expected one of 1 (Fail), 2 (Pass), 3 (To be determined)",
            "error: $.interview_assessments[0].extra: unknown key `extra`; the keys allowed here are `assessment_dimension_list`, `conclusion`, `content`, `external_id`, `external_interview_id` and `username`",
            "error: $.participate_status: expected an integer, found a string \"1\"; write a number without quotes: 1 (Did not take part), 2 (Took part), 3 (Did not show up)",
        ]
    );
}

#[test]
fn strict_decoding_errors_have_a_path_too() {
    let outcome = checker().check_value(&json!({
        "external_application_id": "1",
        "interview_assessments": [{"assessment_dimension_list": [{"assessment_type": 1, "score": 3_000_000_000_i64}]}]
    }));
    let found = messages(&outcome);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .starts_with("error: $.interview_assessments[0].assessment_dimension_list[0].score: "),
        "{found:?}"
    );
}

#[test]
fn broken_json_and_huge_records_are_errors() {
    let broken = checker().check_bytes(br#"{"external_application_id": "1", }"#, None);
    assert_eq!(
        messages(&broken),
        vec!["error: $: not valid JSON: trailing comma (column 34)"]
    );
    let huge = checker().check_bytes(b"", Some(70_000));
    assert_eq!(
        messages(&huge),
        vec!["error: $: the record is 68.4 KiB, over the limit of 64 KiB (--max-record-bytes)"]
    );
    let array = checker().check_bytes(b"[1,2]", None);
    assert_eq!(
        messages(&array),
        vec!["error: $: a record must be a JSON object (one interview), found an array [1,2]"]
    );
}

#[test]
fn long_values_are_shortened() {
    let outcome = checker().check_value(&json!({
        "external_application_id": "x".repeat(10_000),
        "begin_time": "y".repeat(10_000),
    }));
    let found = messages(&outcome);
    assert!(found[0].len() < 250, "{}", found[0]);
    assert!(found[0].contains("… (9.8 KiB in all)"), "{}", found[0]);
}

#[test]
fn times_in_seconds_and_reversed_times_warn() {
    let outcome = checker().check_value(&json!({
        "external_application_id": "1",
        "begin_time": 1_618_500_278,
        "end_time": 1_618_496_678,
    }));
    assert!(outcome.valid.is_some());
    assert_eq!(
        messages(&outcome),
        vec![
            "warning: $.begin_time: 1618500278 looks like seconds, but the API takes milliseconds: as milliseconds it is 1970-01-19T17:35:00Z, as seconds 2021-04-15T15:24:38Z (multiply by 1000)",
            "warning: $.end_time: 1618496678 looks like seconds, but the API takes milliseconds: as milliseconds it is 1970-01-19T17:34:56Z, as seconds 2021-04-15T14:24:38Z (multiply by 1000)",
            "warning: $.end_time: is before begin_time: end_time 1618496678 (1970-01-19T17:34:56Z) < begin_time 1618500278 (1970-01-19T17:35:00Z), in milliseconds",
        ]
    );
    let micro = warnings(&json!({"begin_time": 1_618_500_278_638_000_i64}));
    assert!(micro[0].message.contains("microseconds"), "{micro:?}");
}

#[test]
fn strict_makes_warnings_errors() {
    let strict = Checker::new(CheckOptions {
        strict: true,
        ..CheckOptions::default()
    })
    .unwrap();
    let outcome = strict.check_value(&json!({"external_application_id": "1", "begin_time": 5_i64}));
    assert!(outcome.valid.is_none());
}

#[test]
fn dimensions_must_fill_the_field_of_their_type() {
    let found = warnings(
        &json!({"interview_assessments": [{"assessment_dimension_list": [
            {"assessment_type": 1, "score": 4},
            {"assessment_type": 1, "option": "A"},
            {"assessment_type": 4, "options": ["A"], "content": "why"},
            {"assessment_type": 3},
            {"option": "B"},
        ]}]}),
    );
    let found: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        vec![
            "warning: $.interview_assessments[0].assessment_dimension_list[1]: assessment_type 1 (score) uses `score`, but this dimension fills `option` instead",
            "warning: $.interview_assessments[0].assessment_dimension_list[2]: assessment_type 4 (multiple_choice) uses `options`; `content` will probably be ignored",
            "warning: $.interview_assessments[0].assessment_dimension_list[3]: assessment_type 3 (free_text) uses `content`, but it is empty",
            "warning: $.interview_assessments[0].assessment_dimension_list[4]: has no assessment_type, so Feishu cannot tell which answer to use (fills `option`)",
        ]
    );
}

#[test]
fn empty_ids_are_errors_and_missing_ones_can_be_derived() {
    let outcome =
        checker().check_value(&json!({"external_application_id": "1", "external_id": " "}));
    assert_eq!(
        messages(&outcome),
        vec![
            "error: $.external_id: is empty; give every record its own id, or leave the field out"
        ]
    );
    let deriving = Checker::new(CheckOptions {
        derive_external_ids: true,
        ..CheckOptions::default()
    })
    .unwrap();
    let record = json!({"external_application_id": "1"});
    let valid = deriving.check_value(&record).valid.unwrap();
    assert!(valid.derived);
    assert_eq!(valid.external_id, Some(derive_external_id(&record)));
    assert_eq!(valid.request.external_id, valid.external_id);
}

#[test]
fn a_key_given_twice_is_ambiguous_at_any_depth() {
    let cases: [(&[u8], &str); 3] = [
        (
            br#"{"external_id":"a","external_application_id":"1","external_id":"b"}"#,
            "error: $.external_id: the key \"external_id\" appears twice",
        ),
        (
            br#"{"external_id":"a","external_application_id":"1","interview_assessments":[{"conclusion":1},{"conclusion":1,"conclusion":2}]}"#,
            "error: $.interview_assessments[1].conclusion: the key \"conclusion\" appears twice",
        ),
        (
            br#"{"external_id":"a","external_application_id":"1","interview_assessments":[{"assessment_dimension_list":[{"title":"x","title":"y"}]}]}"#,
            "error: $.interview_assessments[0].assessment_dimension_list[0].title: the key \"title\" appears twice",
        ),
    ];
    for (bytes, expected) in cases {
        let outcome = checker().check_bytes(bytes, None);
        assert!(outcome.valid.is_none());
        let found = messages(&outcome);
        assert!(found[0].starts_with(expected), "{found:?}");
    }
    // The same key in two different objects is fine.
    let outcome = checker().check_bytes(
        br#"{"external_id":"a","external_application_id":"1","interview_assessments":[{"conclusion":1},{"conclusion":2}]}"#,
        None,
    );
    assert!(outcome.valid.is_some(), "{:?}", outcome.findings);
}

#[test]
fn type_errors_read_the_same_whatever_found_them() {
    let outcome = checker().check_value(&json!({
        "external_application_id": null,
        "participate_status": 2.0,
    }));
    let found = messages(&outcome);
    assert_eq!(
        found,
        vec![
            "error: $.external_application_id: expected a string, found null; id of the external application, from the \"list external applications\" endpoint, e.g. \"6960663240925956437\""
        ],
    );
    // Whole numbers with a decimal point pass the schema but not strict decoding; the
    // message must not be serde's own.
    for (record, expected) in [
        (
            json!({"external_application_id": "1", "participate_status": 2.0}),
            "error: $.participate_status: expected an integer, found a number 2.0; write a whole number without a decimal point or exponent; expected 1 (not_participated)",
        ),
        (
            json!({"external_application_id": "1", "begin_time": 1_618_500_278_638.0}),
            "error: $.begin_time: expected an integer, found a number 1618500278638.0; write a whole number from",
        ),
        (
            json!({"external_application_id": "1", "interview_assessments": [{"assessment_dimension_list": [{"assessment_type": 1, "score": 3_000_000_000_i64}]}]}),
            "error: $.interview_assessments[0].assessment_dimension_list[0].score: 3000000000 is out of range; expected a whole number from -2147483648 to 2147483647",
        ),
    ] {
        let found = messages(&checker().check_value(&record));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with(expected), "{found:?}");
        assert!(!found[0].contains("invalid type"), "{found:?}");
    }
}

#[test]
fn reversed_times_within_one_second_show_their_milliseconds() {
    let found = warnings(&json!({"begin_time": -1, "end_time": -1000}));
    let found: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert!(
        found.contains(
            &"warning: $.end_time: is before begin_time: end_time -1000 (1969-12-31T23:59:59Z) < begin_time -1 (1969-12-31T23:59:59Z), in milliseconds".to_owned()
        ),
        "{found:?}"
    );
}

#[test]
fn a_request_over_the_apis_body_limit_is_an_error_whatever_the_record_limit() {
    let deriving = Checker::new(CheckOptions {
        max_record_bytes: TARGET_MAX_BODY_BYTES,
        derive_external_ids: true,
        strict: false,
    })
    .unwrap();
    // Just under the limit as written; the derived external_id takes it over.
    let head = r#"{"external_application_id":""#;
    let filler = "x".repeat(TARGET_MAX_BODY_BYTES - head.len() - 2 - 10);
    let record = format!("{head}{filler}\"}}");
    assert!(record.len() <= TARGET_MAX_BODY_BYTES);
    let outcome = deriving.check_bytes(record.as_bytes(), None);
    assert!(outcome.valid.is_none());
    let found = messages(&outcome);
    assert!(
        found[0].starts_with("error: $: the request would be 1048")
            && found[0]
                .ends_with("over the API's limit of 1048576 bytes (1 MiB), so it cannot be sent"),
        "{found:?}"
    );
}

#[test]
fn a_findings_printed_line_is_its_display_after_file_and_line() {
    for finding in [
        Finding::error("$.begin_time", "is \"x\", not an integer"),
        Finding::warning("$", "a message: with colons"),
    ] {
        let mut line = String::from("before\n");
        finding.push_line(&mut line, "in.jsonl", 42);
        assert_eq!(line, format!("before\nin.jsonl:42: {finding}\n"));
    }
}
