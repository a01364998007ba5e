//! The fast paths of the checks against the detailed ways they stand in for: the decode of a
//! record valid as it stands (no `Value`) against the full check, the parse that notices
//! repeated keys against `serde_json`'s own `Value` and the walk for duplicates, the decode
//! without a path against the one with it, and the warnings against the way they were first
//! written. Records are the seed record written in several ways, hand-made cases
//! (repeated keys at every depth, escapes, keys `serde_json` reads specially, broken text) and
//! the seed mutated byte by byte.

use feishu_hire_types::{AssessmentType, CreateExternalInterviewRequest};
use serde::Deserialize as _;
use serde_json::{Value, json};

use super::duplicate_key::duplicate_key;
use super::messages::describe_json_error;
use super::*;

/// `crates/feishu-hire-testkit/data/seed_request.json`, compact.
const SEED: &str = r#"{"external_id":"7396034232747641133","external_application_id":"6960663240925956437","participate_status":1,"begin_time":1618500278638,"end_time":1618500278639,"interview_assessments":[{"username":"张三","conclusion":1,"assessment_dimension_list":[{"score":99,"option":"选项1","options":["选项1"],"content":"不错的面试内容","assessment_type":1,"title":"面试测试","description":"这是一次测试"}],"content":"第一次面试"}]}"#;

/// Records written by hand to reach every branch of the parse and of the duplicate check.
const CASES: &[&[u8]] = &[
    // Keys given twice at each depth, and the same key in different objects.
    br#"{"external_id":"a","external_application_id":"1","external_id":"b"}"#,
    br#"{"external_application_id":"1","interview_assessments":[{"conclusion":1},{"conclusion":1,"conclusion":2}]}"#,
    br#"{"external_application_id":"1","interview_assessments":[{"assessment_dimension_list":[{"title":"x"},{"title":"x","title":"y"}]}]}"#,
    br#"{"external_application_id":"1","interview_assessments":[{"conclusion":1},{"conclusion":2}]}"#,
    br#"{"a":{"b":1,"b":2},"a":3}"#,
    br#"[{"a":1},{"a":1,"a":1}]"#,
    // The same key spelt with an escape, and keys with escapes that differ.
    br#"{"external_application_id":"1","\u0065xternal_application_id":"2"}"#,
    br#"{"external_application_id":"1","a\"b":1,"a\\b":2}"#,
    // Keys `serde_json` reads specially when it builds a `Value`.
    br#"{"$serde_json::private::RawValue":"{\"a\":1}"}"#,
    br#"{"$serde_json::private::RawValue":"{\"external_application_id\":\"1\",\"external_id\":\"x\"}"}"#,
    br#"{"external_application_id":"1","x":{"$serde_json::private::RawValue":"{\"a\":1,\"a\":2}"}}"#,
    br#"{"x":[{"$serde_json::private::RawValue":"{\"x\":1,\"y\":2}"},{"a":1,"a":2}]}"#,
    br#"{"$serde_json::private::RawValue":1}"#,
    br#"{"$serde_json::private::RawValue":"1","b":2}"#,
    br#"{"\u0024serde_json::private::RawValue":"[1]"}"#,
    br#"{"$serde_json::private::Number":"1"}"#,
    br#"{"$ref":1,"$ref":2}"#,
    br#"{"external_application_id":"1","$":1}"#,
    // Not objects, not JSON, not UTF-8.
    b"",
    b"{}",
    b"[1,2]",
    b"null",
    br#""text""#,
    b"\xEF\xBB\xBF{\"external_application_id\":\"1\"}",
    b"{\"external_application_id\":\"\xFF\"}",
    b"{\"\xC3\x28\":1}",
    b"\xFF{}",
    br#"{"external_application_id":"1"} {}"#,
    br#"{"external_application_id":"1",}"#,
    br#"{"external_application_id":"\ud800"}"#,
    br#"{"external_application_id":"1","begin_time":1e400}"#,
    br#"{"external_application_id":"1","begin_time":-0}"#,
    br#"{"external_application_id":"1","begin_time":18446744073709551616}"#,
    br#"{"external_application_id":"1","begin_time":-9223372036854775809}"#,
    // Whole numbers with a decimal point: the schema takes them, strict decoding does not.
    br#"{"external_application_id":"1","participate_status":1.0}"#,
    br#"{"external_application_id":"1","begin_time":1618500278638.0}"#,
    br#"{"external_application_id":"1","interview_assessments":[{"assessment_dimension_list":[{"assessment_type":1,"score":99.0}]}]}"#,
    // What `serde_json` reads into a request but the schema refuses: `null`, structs as arrays.
    br#"{"external_application_id":"1","external_id":null}"#,
    br#"{"external_application_id":"1","interview_assessments":[{"conclusion":null}]}"#,
    br#"{"external_application_id":"1","interview_assessments":[{"assessment_dimension_list":[{"assessment_type":2,"option":null}]}]}"#,
    br#"["7396034232747641133","1"]"#,
    br#"{"external_application_id":"1","interview_assessments":[["a","u"]]}"#,
    br#"{"external_application_id":"1","interview_assessments":[{"assessment_dimension_list":[[99]]}]}"#,
    // Valid but for a blank id, or valid with each kind of warning (errors with --strict).
    br#"{"external_application_id":" "}"#,
    br#"{"external_application_id":"1","external_id":""}"#,
    br#"{"external_application_id":"1","begin_time":1618500278,"end_time":1618500278638000}"#,
    br#"{"external_application_id":"1","begin_time":0,"end_time":-5}"#,
    br#"{"external_application_id":"1","begin_time":1618500278639,"end_time":1618500278638}"#,
    br#"{"external_application_id":"1","interview_assessments":[{"assessment_dimension_list":[{"option":"x"},{"assessment_type":4,"options":[]},{"assessment_type":3,"options":["A"]},{"assessment_type":2,"option":""}]}]}"#,
    br#"{"external_id":"e","external_application_id":"1","interview_assessments":[{},{"assessment_dimension_list":[]},{"assessment_dimension_list":[{},{"assessment_type":1,"score":0}]}]}"#,
];

/// A small deterministic generator (xorshift64), so that failures can be reproduced.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The seed with one more member, `"key":0`, first or last in each of its objects, for every
/// key it has: a repeated key where the object has that key already.
fn with_a_member_more() -> Vec<Vec<u8>> {
    let seed: Value = serde_json::from_str(SEED).unwrap();
    let keys = [
        &seed,
        &seed["interview_assessments"][0],
        &seed["interview_assessments"][0]["assessment_dimension_list"][0],
    ]
    .into_iter()
    .flat_map(|object| object.as_object().unwrap().keys());
    let keys: Vec<&String> = keys.collect();
    let mut records = Vec::new();
    for (at, byte) in SEED.bytes().enumerate() {
        for key in &keys {
            let record = match byte {
                b'{' => format!("{}\"{key}\":0,{}", &SEED[..=at], &SEED[at + 1..]),
                b'}' => format!("{},\"{key}\":0{}", &SEED[..at], &SEED[at..]),
                _ => continue,
            };
            records.push(record.into_bytes());
        }
    }
    records
}

/// `bases` mutated: bytes replaced, inserted, deleted, a slice copied elsewhere, `.0` after a
/// digit.
fn mutants(bases: &[Vec<u8>], count: usize) -> Vec<Vec<u8>> {
    const BYTES: &[u8] = b"\"\\{}[],: 0-.1ae\xFF\xE9$";
    let mut rng = Rng(0x5EED_1DEA_F00D_CAFE);
    (0..count)
        .map(|_| {
            let mut record = bases[rng.below(bases.len())].clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(record.len() + 1);
                match rng.below(5) {
                    0 if at < record.len() => record[at] = BYTES[rng.below(BYTES.len())],
                    1 => record.insert(at, BYTES[rng.below(BYTES.len())]),
                    2 if at < record.len() => {
                        record.remove(at);
                    }
                    3 => {
                        let from = rng.below(record.len());
                        let to = (from + 1 + rng.below(40)).min(record.len());
                        let slice = record[from..to].to_vec();
                        record.splice(at..at, slice);
                    }
                    _ => {
                        if let Some(digit) = record[at..].iter().position(u8::is_ascii_digit) {
                            record.splice(at + digit + 1..at + digit + 1, *b".0");
                        }
                    }
                }
            }
            record
        })
        .collect()
}

/// Every record the comparisons run on.
fn corpus() -> Vec<Vec<u8>> {
    let seed: Value = serde_json::from_str(SEED).unwrap();
    let mut records: Vec<Vec<u8>> = vec![
        SEED.as_bytes().to_vec(),
        serde_json::to_vec(&seed).unwrap(),
        serde_json::to_vec_pretty(&seed).unwrap(),
    ];
    records.extend(CASES.iter().map(|case| case.to_vec()));
    // Every prefix: a record cut short at each byte.
    records.extend((0..SEED.len()).map(|end| SEED.as_bytes()[..end].to_vec()));
    let more = with_a_member_more();
    records.extend(mutants(&more, 1000));
    records.extend(more);
    records.extend(mutants(&[SEED.as_bytes().to_vec()], 3000));
    // The seed without warnings (its dimension fills only `score`), valid with `--strict` too.
    let mut plain = seed.clone();
    let dimension = &mut plain["interview_assessments"][0]["assessment_dimension_list"][0];
    for field in ["option", "options", "content"] {
        dimension.as_object_mut().unwrap().remove(field);
    }
    let plain = serde_json::to_vec(&plain).unwrap();
    records.extend(mutants(std::slice::from_ref(&plain), 1000));
    records.push(plain);
    records.push(every_valid_dimension());
    // Nesting around serde_json's depth limit.
    for depth in [127, 128, 200] {
        let open = r#"{"external_application_id":"1","x":"#.to_owned() + &"[".repeat(depth);
        records.push(format!("{open}{}}}", "]".repeat(depth)).into_bytes());
    }
    records
}

/// A valid record whose dimensions fill each answer field or not (or with an empty value), under
/// each listed `assessment_type` or none: every dimension warning a valid record can get.
fn every_valid_dimension() -> Vec<u8> {
    let answers = [
        ("score", [json!(0), json!(99)]),
        ("option", [json!(""), json!("A")]),
        ("content", [json!(""), json!("text")]),
        ("options", [json!([]), json!(["A", "B"])]),
    ];
    let mut dimensions = Vec::new();
    for assessment_type in [None, Some(1), Some(2), Some(3), Some(4)] {
        // Each field absent (0), given its first value (1) or its second (2).
        for mask in 0..3usize.pow(4) {
            let mut dimension = serde_json::Map::new();
            if let Some(kind) = assessment_type {
                dimension.insert("assessment_type".to_owned(), json!(kind));
            }
            for (i, (field, values)) in answers.iter().enumerate() {
                match mask / 3usize.pow(i as u32) % 3 {
                    0 => {}
                    given => {
                        dimension.insert((*field).to_owned(), values[given - 1].clone());
                    }
                }
            }
            dimensions.push(Value::Object(dimension));
        }
    }
    let (first, second) = dimensions.split_at(dimensions.len() / 2);
    let record = json!({
        "external_id": "e",
        "external_application_id": "1",
        "interview_assessments": [
            {"assessment_dimension_list": first},
            {"assessment_dimension_list": second},
        ],
    });
    serde_json::to_vec(&record).unwrap()
}

/// Whether `serde_json`'s own `Value` reads `record` otherwise than literally (a key such as
/// `$serde_json::private::RawValue`, with the `raw_value` feature on): the check's parse then
/// differs from the reference by design.
fn is_read_specially(record: &[u8]) -> bool {
    let literal = std::str::from_utf8(record)
        .ok()
        .and_then(|text| parse::parse(text).ok())
        .map(|(value, _)| value);
    let own = serde_json::from_slice::<Value>(record).ok();
    literal != own
}

/// `check_bytes` as it was: `serde_json`'s own `Value`, every record walked for a repeated key.
fn detailed_check(checker: &Checker, bytes: &[u8]) -> CheckOutcome {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(error) => {
            let what = if std::str::from_utf8(bytes).is_err() {
                "not valid UTF-8 text".to_owned()
            } else {
                describe_json_error(&error)
            };
            return invalid(Finding::error("$", what));
        }
    };
    if let Some((path, key)) = duplicate_key(bytes) {
        return invalid(duplicate_key_error(path, &key));
    }
    checker.check_value(&value)
}

#[test]
fn the_fast_paths_give_the_detailed_results() {
    let checkers = [
        checker_with(CheckOptions::default()),
        checker_with(CheckOptions {
            derive_external_ids: true,
            strict: true,
            ..CheckOptions::default()
        }),
    ];
    let (mut valid, mut repeated, mut broken, mut undecodable) = (0, 0, 0, 0);
    let mut valid_as_they_stand = [0, 0];
    let mut special = 0;
    for record in corpus() {
        let shown = String::from_utf8_lossy(&record);
        let read_specially = is_read_specially(&record);
        special += usize::from(read_specially);
        for (checker, count) in checkers.iter().zip(&mut valid_as_they_stand) {
            let outcome = checker.check_bytes(&record, None);
            if read_specially {
                // The check reads the key literally: a key the schema does not know.
                assert!(outcome.valid.is_none(), "{shown}");
                assert!(outcome.findings[0].severity == Severity::Error, "{shown}");
            } else {
                assert_eq!(outcome, detailed_check(checker, &record), "{shown}");
            }
            let text = std::str::from_utf8(&record).unwrap_or_default();
            *count += usize::from(checker.check_valid_as_it_stands(text).is_some());
        }
        let Ok(value) = serde_json::from_slice::<Value>(&record) else {
            broken += 1;
            continue;
        };
        repeated += usize::from(duplicate_key(&record).is_some());
        let plain = CreateExternalInterviewRequest::deserialize(&value);
        let tracked = serde_path_to_error::deserialize::<_, CreateExternalInterviewRequest>(&value);
        assert_eq!(plain.is_ok(), tracked.is_ok(), "{shown}");
        assert_eq!(plain.as_ref().ok(), tracked.as_ref().ok(), "{shown}");
        valid += usize::from(checkers[0].check_bytes(&record, None).valid.is_some());
        undecodable += usize::from(value.is_object() && plain.is_err());
    }
    // Each kind of record is well represented, so the comparison is not vacuous.
    for (kind, count) in [
        ("valid", valid),
        ("repeated keys", repeated),
        ("broken", broken),
        ("undecodable", undecodable),
        ("valid as they stand", valid_as_they_stand[0]),
        ("valid as they stand, with --strict", valid_as_they_stand[1]),
    ] {
        assert!(count >= 20, "only {count} {kind} records");
    }
    // The hand-made records with keys `serde_json` reads specially.
    assert!(special >= 5, "only {special} records read specially");
}

fn checker_with(options: CheckOptions) -> Checker {
    Checker::new(options).unwrap()
}

/// The dimension warnings as first written, with `format!` and lists.
fn detailed_dimension_warning(path: &str, dimension: &Value) -> Option<Finding> {
    let quote_list = |fields: &[&str]| {
        fields
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let fields = ["score", "option", "content", "options"];
    let filled: Vec<&str> = fields
        .into_iter()
        .filter(|field| {
            dimension.get(*field).is_some_and(|v| match v {
                Value::Null => false,
                Value::Array(items) => !items.is_empty(),
                _ => true,
            })
        })
        .collect();
    let kind = dimension
        .get("assessment_type")
        .and_then(Value::as_i64)
        .and_then(AssessmentType::from_known_value);
    let Some(kind) = kind else {
        if dimension.get("assessment_type").is_none() && !filled.is_empty() {
            return Some(Finding::warning(
                path.to_owned(),
                format!(
                    "has no assessment_type, so Feishu cannot tell which answer to use (fills {})",
                    quote_list(&filled)
                ),
            ));
        }
        return None;
    };
    let expected = fields[AssessmentType::KNOWN
        .iter()
        .position(|t| *t == kind)
        .unwrap()];
    let others: Vec<&str> = filled.iter().copied().filter(|f| *f != expected).collect();
    let described = format!("assessment_type {} ({kind})", kind.value());
    if !filled.contains(&expected) {
        let tail = if others.is_empty() {
            "but it is empty".to_owned()
        } else {
            format!("but this dimension fills {} instead", quote_list(&others))
        };
        return Some(Finding::warning(
            path.to_owned(),
            format!("{described} uses `{expected}`, {tail}"),
        ));
    }
    if !others.is_empty() {
        return Some(Finding::warning(
            path.to_owned(),
            format!(
                "{described} uses `{expected}`; {} will probably be ignored",
                quote_list(&others)
            ),
        ));
    }
    None
}

#[test]
fn dimension_warnings_read_as_first_written() {
    // Every answer field absent, null, empty or filled, under every kind of assessment_type.
    let answers = [
        None,
        Some(json!(null)),
        Some(json!([])),
        Some(json!(["A"])),
        Some(json!("x")),
    ];
    let types = [
        None,
        Some(json!(null)),
        Some(json!(1)),
        Some(json!(2)),
        Some(json!(3)),
        Some(json!(4)),
        Some(json!(9)),
        Some(json!("1")),
        Some(json!(1.0)),
    ];
    let mut dimensions = Vec::new();
    for assessment_type in &types {
        for mask in 0..answers.len().pow(4) {
            let mut dimension = serde_json::Map::new();
            if let Some(value) = assessment_type {
                dimension.insert("assessment_type".to_owned(), value.clone());
            }
            for (i, field) in ["score", "option", "content", "options"].iter().enumerate() {
                if let Some(value) = &answers[mask / answers.len().pow(i as u32) % answers.len()] {
                    dimension.insert((*field).to_owned(), value.clone());
                }
            }
            dimensions.push(Value::Object(dimension));
        }
    }
    dimensions.push(json!("not an object"));
    // Two assessments, so that the paths' indices vary too.
    let (first, second) = dimensions.split_at(dimensions.len() / 2);
    let record = json!({"interview_assessments": [
        {"assessment_dimension_list": first},
        {"assessment_dimension_list": second},
    ]});
    let detailed: Vec<Finding> = [first, second]
        .iter()
        .enumerate()
        .flat_map(|(a, list)| {
            list.iter().enumerate().filter_map(move |(d, dimension)| {
                let path = format!("$.interview_assessments[{a}].assessment_dimension_list[{d}]");
                detailed_dimension_warning(&path, dimension)
            })
        })
        .collect();
    assert!(detailed.len() > 1000, "{}", detailed.len());
    assert_eq!(warnings(&record), detailed);
}
