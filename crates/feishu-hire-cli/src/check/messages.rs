//! The words of the checks: hints for enum-like fields and times, serde's and JSON's errors
//! in the words the schema errors use, JSON paths and shortened values.

use std::fmt;

use feishu_hire_types::{AssessmentType, InterviewConclusion, ParticipateStatus};
use serde_json::Value;

/// What the values of enum-like fields mean, and what times should look like.
pub(super) fn field_hint(field: &str, instance: &Value) -> String {
    fn listed<E: Copy + fmt::Display>(known: &[E], value: impl Fn(E) -> i64) -> String {
        known
            .iter()
            .map(|e| format!("{} ({e})", value(*e)))
            .collect::<Vec<_>>()
            .join(", ")
    }
    let allowed = match field {
        "participate_status" => listed(ParticipateStatus::KNOWN, ParticipateStatus::value),
        "conclusion" => listed(InterviewConclusion::KNOWN, InterviewConclusion::value),
        "assessment_type" => listed(AssessmentType::KNOWN, AssessmentType::value),
        "begin_time" | "end_time" => {
            let example = if instance
                .as_str()
                .is_some_and(|s| s.trim().parse::<i64>().is_ok())
            {
                "write the number without quotes"
            } else {
                "Unix time in milliseconds, e.g. 1618500278638 for 2021-04-15T15:24:38Z"
            };
            return format!("; {example}");
        }
        "external_id" | "external_application_id" if instance.is_number() => {
            return "; write the id as a string, in quotes".to_owned();
        }
        _ => return String::new(),
    };
    let quoted = if instance.is_string() {
        "a number without quotes: "
    } else {
        ""
    };
    format!("; expected {quoted}{allowed}")
}

/// `a string "x"`, `an integer 5`, or just `null` (not "null null").
pub(super) fn describe_found(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        other => format!("{} {}", json_type_article(other), shorten_value(other)),
    }
}

/// A strict decoding error in the words the schema errors use. serde says
/// ``invalid type: floating point `2.0`, expected i64``: a whole number written with a decimal
/// point or exponent, which the schema accepts as an integer but the API's types do not, or
/// ``invalid value: integer `3000000000`, expected i32``: beyond the field's range.
pub(super) fn describe_decode_error(message: &str, field: &str) -> String {
    let quoted = |text: &str| text.split('`').nth(1).map(str::to_owned);
    let expected = message.rsplit(", expected ").next().unwrap_or_default();
    let range = match expected {
        "i32" => "a whole number from -2147483648 to 2147483647",
        "i64" => "a whole number from -9223372036854775808 to 9223372036854775807",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" => "a whole number from 0 to 18446744073709551615",
        _ => "a whole number",
    };
    let hint = field_hint(field, &Value::Null);
    if message.starts_with("invalid type: floating point")
        && let Some(number) = quoted(message)
    {
        return format!(
            "expected an integer, found a number {number}; write {range} without a decimal point or exponent{hint}"
        );
    }
    if message.starts_with("invalid value: integer")
        && let Some(number) = quoted(message)
    {
        return format!("{number} is out of range; expected {range}{hint}");
    }
    message.to_owned()
}

pub(super) fn json_type_article(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `serde_json`'s message without its " at line 1 column N" (the line is ours), plus the
/// column, which helps find the spot in a long line.
pub(super) fn describe_json_error(error: &serde_json::Error) -> String {
    let raw = error.to_string();
    let message = match raw.rfind(" at line ") {
        Some(at) => &raw[..at],
        None => raw.as_str(),
    };
    let kind = if error.is_eof() {
        "the JSON ends early"
    } else {
        "not valid JSON"
    };
    format!("{kind}: {message} (column {})", error.column())
}

/// `/interview_assessments/0/conclusion` → `$.interview_assessments[0].conclusion`.
pub fn json_path_from_pointer(pointer: &str) -> String {
    let mut path = String::from("$");
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(&segment);
            path.push(']');
        } else {
            path.push('.');
            path.push_str(&segment);
        }
    }
    path
}

/// `serde_path_to_error`'s `a[0].b` (or `.`) → `$.a[0].b`.
pub(super) fn json_path_from_serde(path: &str) -> String {
    if path.is_empty() || path == "." {
        "$".to_owned()
    } else {
        format!("$.{path}")
    }
}

/// A value as compact JSON, cut to about 60 characters with its full size noted.
pub fn shorten_value(value: &Value) -> String {
    let text = value.to_string();
    feishu_hire_schema_errors::shorten(&text, 60)
}
