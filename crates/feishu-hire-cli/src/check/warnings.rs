//! Likely mistakes in a record that is otherwise valid (sent, unless `--strict`): times in
//! seconds or microseconds, an end before the begin, an assessment dimension that fills the
//! wrong field for its type.
//!
//! They are read from a record's `Value` ([`warnings`]) or, for a record that decoded as it
//! stands, from its request ([`request_warnings`]); both gather the same facts and word them
//! here.

use feishu_hire_types::{AssessmentType, CreateExternalInterviewRequest};
use serde_json::Value;

use super::{Finding, MICROSECONDS_THRESHOLD, SECONDS_THRESHOLD};

/// Likely mistakes in a record that is otherwise valid; see the module docs.
pub fn warnings(record: &Value) -> Vec<Finding> {
    let begin = record.get("begin_time").and_then(Value::as_i64);
    let end = record.get("end_time").and_then(Value::as_i64);
    let mut found = time_warnings(begin, end);
    let assessments = record
        .get("interview_assessments")
        .and_then(Value::as_array);
    for (a, assessment) in assessments.into_iter().flatten().enumerate() {
        let dimensions = assessment
            .get("assessment_dimension_list")
            .and_then(Value::as_array);
        for (d, dimension) in dimensions.into_iter().flatten().enumerate() {
            if let Some(message) = answers_of_value(dimension).and_then(dimension_warning) {
                found.push(Finding::warning(dimension_path(a, d), message));
            }
        }
    }
    found
}

/// [`warnings`] of a record that decoded into `request` as it stands (no `null`, nothing the
/// schema refuses), read from the request rather than from a `Value`.
pub(super) fn request_warnings(request: &CreateExternalInterviewRequest) -> Vec<Finding> {
    let mut found = time_warnings(request.begin_time, request.end_time);
    for (a, assessment) in request.interview_assessments.iter().enumerate() {
        for (d, dimension) in assessment.assessment_dimension_list.iter().enumerate() {
            let answers = Answers {
                assessment_type: match dimension.assessment_type {
                    None => TypeField::Missing,
                    // A strict decode refuses unlisted values, so this is always `Listed`; the
                    // mapping keeps the two readings alike should that change.
                    Some(kind) => AssessmentType::from_known_value(kind.value())
                        .map_or(TypeField::Unlisted, TypeField::Listed),
                },
                filled: [
                    dimension.score.is_some(),
                    dimension.option.is_some(),
                    dimension.content.is_some(),
                    !dimension.options.is_empty(),
                ],
            };
            if let Some(message) = dimension_warning(answers) {
                found.push(Finding::warning(dimension_path(a, d), message));
            }
        }
    }
    found
}

/// Warnings about `begin_time` and `end_time`.
fn time_warnings(begin: Option<i64>, end: Option<i64>) -> Vec<Finding> {
    let mut found = Vec::new();
    for (field, time) in [("begin_time", begin), ("end_time", end)] {
        if let Some(message) = time.and_then(time_warning) {
            found.push(Finding::warning(format!("$.{field}"), message));
        }
    }
    if let (Some(begin), Some(end)) = (begin, end)
        && end < begin
    {
        found.push(Finding::warning(
            "$.end_time",
            format!(
                "is before begin_time: end_time {end} ({}) < begin_time {begin} ({}), in milliseconds",
                utc_string(end),
                utc_string(begin)
            ),
        ));
    }
    found
}

fn time_warning(time: i64) -> Option<String> {
    if time <= 0 {
        return Some(format!("{time} is not after 1970; is it a real time?"));
    }
    if time < SECONDS_THRESHOLD {
        return Some(format!(
            "{time} looks like seconds, but the API takes milliseconds: as milliseconds it is {}, as seconds {} (multiply by 1000)",
            utc_string(time),
            utc_string(time.saturating_mul(1000))
        ));
    }
    if time > MICROSECONDS_THRESHOLD {
        return Some(format!(
            "{time} looks like microseconds, but the API takes milliseconds: as milliseconds it is in the year {}, as microseconds {} (divide by 1000)",
            year_of(time),
            utc_string(time / 1000)
        ));
    }
    None
}

/// The answer fields of a dimension, and the type that uses each.
const ANSWER_FIELDS: [(&str, AssessmentType); 4] = [
    ("score", AssessmentType::Score),
    ("option", AssessmentType::SingleChoice),
    ("content", AssessmentType::FreeText),
    ("options", AssessmentType::MultipleChoice),
];

/// A dimension's `assessment_type`, as the warnings see it.
#[derive(Debug, Clone, Copy)]
enum TypeField {
    /// Not given.
    Missing,
    /// A type the spec lists.
    Listed(AssessmentType),
    /// Given, but not a listed type (an error of its own).
    Unlisted,
}

/// What the warnings look at in a dimension: its type and which answer fields it fills (in
/// [`ANSWER_FIELDS`] order).
#[derive(Debug, Clone, Copy)]
struct Answers {
    assessment_type: TypeField,
    filled: [bool; 4],
}

/// The [`Answers`] of a dimension given as a `Value` (`None` if it is not an object).
fn answers_of_value(dimension: &Value) -> Option<Answers> {
    // One pass over the dimension's keys rather than a lookup for each field.
    let mut filled = [false; 4];
    let mut assessment_type = TypeField::Missing;
    for (key, value) in dimension.as_object()? {
        if key == "assessment_type" {
            assessment_type = value
                .as_i64()
                .and_then(AssessmentType::from_known_value)
                .map_or(TypeField::Unlisted, TypeField::Listed);
        } else if let Some(at) = ANSWER_FIELDS.iter().position(|(field, _)| field == key) {
            filled[at] = match value {
                Value::Null => false,
                Value::Array(items) => !items.is_empty(),
                _ => true,
            };
        }
    }
    Some(Answers {
        assessment_type,
        filled,
    })
}

/// What is wrong with the answer fields a dimension fills, if anything. Most records get this
/// warning (forms often fill every field), so it is written straight into one string.
fn dimension_warning(answers: Answers) -> Option<String> {
    let Answers {
        assessment_type,
        filled,
    } = answers;
    let kind = match assessment_type {
        TypeField::Listed(kind) => kind,
        TypeField::Missing if filled.contains(&true) => {
            let mut message = String::from(
                "has no assessment_type, so Feishu cannot tell which answer to use (fills ",
            );
            push_quoted(&mut message, filled);
            message.push(')');
            return Some(message);
        }
        TypeField::Missing | TypeField::Unlisted => return None,
    };
    // Every listed type has its field.
    let expected = ANSWER_FIELDS.iter().position(|(_, t)| *t == kind)?;
    let mut others = filled;
    others[expected] = false;
    let has_others = others.contains(&true);
    if filled[expected] && !has_others {
        return None;
    }
    let mut message = String::with_capacity(96);
    message.push_str("assessment_type ");
    message.push_str(&kind.value().to_string());
    message.push_str(" (");
    // What `Display` writes: `kind` is a listed type, so it has a name.
    message.push_str(kind.name().unwrap_or_default());
    message.push_str(") uses `");
    message.push_str(ANSWER_FIELDS[expected].0);
    message.push('`');
    if filled[expected] {
        message.push_str("; ");
        push_quoted(&mut message, others);
        message.push_str(" will probably be ignored");
    } else if has_others {
        message.push_str(", but this dimension fills ");
        push_quoted(&mut message, others);
        message.push_str(" instead");
    } else {
        message.push_str(", but it is empty");
    }
    Some(message)
}

/// `$.interview_assessments[a].assessment_dimension_list[d]`.
fn dimension_path(a: usize, d: usize) -> String {
    let mut path = String::with_capacity(64);
    path.push_str("$.interview_assessments[");
    push_decimal(&mut path, a);
    path.push_str("].assessment_dimension_list[");
    push_decimal(&mut path, d);
    path.push(']');
    path
}

/// Appends `n` in decimal, without the allocation of `to_string` or the machinery of `fmt`.
fn push_decimal(text: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(text, n / 10);
    }
    text.push(char::from(b'0' + (n % 10) as u8));
}

/// Appends `` `score`, `option` `` for the answer fields marked in `fields`.
fn push_quoted(message: &mut String, fields: [bool; 4]) {
    let marked = ANSWER_FIELDS.iter().zip(fields).filter(|(_, on)| *on);
    for (i, ((field, _), _)) in marked.enumerate() {
        if i > 0 {
            message.push_str(", ");
        }
        message.push('`');
        message.push_str(field);
        message.push('`');
    }
}

/// `2021-04-15T15:24:38Z` for a time in milliseconds since 1970 (UTC).
pub fn utc_string(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

fn year_of(millis: i64) -> i64 {
    civil_from_days(millis.div_euclid(1000).div_euclid(86_400)).0
}

/// Year, month, day of a day count since 1970-01-01, in the proleptic Gregorian calendar.
/// Howard Hinnant's `civil_from_days` (<http://howardhinnant.github.io/date_algorithms.html>);
/// a date crate for this one message would be a heavy dependency.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
