//! Path and query parameters, read as the endpoint's spec types them: a value that does not fit
//! its type, or a required one that is missing, is a field violation named after the parameter,
//! as Feishu reports bad body fields.

use feishu_hire_types::{Endpoint, FieldViolation, Param, ParamKind};

/// A parameter's value, of its spec type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Text(String),
    Integer(i64),
    Boolean(bool),
}

/// The parameters of one request that the spec declares, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Params {
    values: Vec<(&'static str, Value)>,
}

impl Params {
    /// The text of a string parameter (path or query), if it was sent.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.values.iter().find_map(|(key, value)| match value {
            Value::Text(text) if *key == name => Some(text.as_str()),
            _ => None,
        })
    }

    /// The value of an integer parameter, if it was sent.
    pub(crate) fn integer(&self, name: &str) -> Option<i64> {
        self.values.iter().find_map(|(key, value)| match value {
            Value::Integer(number) if *key == name => Some(*number),
            _ => None,
        })
    }
}

/// Reads the decoded path parameters and query pairs of a request to `endpoint`.
///
/// Query parameters the spec does not declare are ignored, and an empty value counts as not
/// sent (as a form field left blank); of a repeated one the first counts.
pub(crate) fn read(
    endpoint: &Endpoint,
    path: &[(String, String)],
    query: &[(String, String)],
) -> Result<Params, Vec<FieldViolation>> {
    let mut params = Params::default();
    let mut violations = Vec::new();
    let declared = endpoint
        .path_params
        .iter()
        .map(|param| (param, path))
        .chain(endpoint.query_params.iter().map(|param| (param, query)));
    for (param, pairs) in declared {
        let sent = pairs
            .iter()
            .find(|(name, value)| name == param.name && !value.is_empty())
            .map(|(_, value)| value.as_str());
        match sent {
            Some(text) => match typed(param, text) {
                Ok(value) => params.values.push((param.name, value)),
                Err(violation) => violations.push(violation),
            },
            None if param.required => violations.push(
                FieldViolation::new()
                    .field(param.name)
                    .description(format!("{} is required", param.name)),
            ),
            None => {}
        }
    }
    if violations.is_empty() {
        Ok(params)
    } else {
        Err(violations)
    }
}

fn typed(param: &Param, text: &str) -> Result<Value, FieldViolation> {
    let refused = |expected: &str| {
        FieldViolation::new()
            .field(param.name)
            .value(quote(text))
            .description(format!("{} must be {expected}", param.name))
    };
    match param.kind {
        ParamKind::String => Ok(Value::Text(text.to_owned())),
        ParamKind::Int32 => text
            .parse::<i32>()
            .map_err(|_| refused("a 32-bit integer"))
            .and_then(|number| within_bounds(param, number.into()).map_err(|e| refused(&e))),
        ParamKind::Int64 => text
            .parse::<i64>()
            .map_err(|_| refused("a 64-bit integer"))
            .and_then(|number| within_bounds(param, number).map_err(|e| refused(&e))),
        ParamKind::Boolean => match text {
            "true" => Ok(Value::Boolean(true)),
            "false" => Ok(Value::Boolean(false)),
            _ => Err(refused("true or false")),
        },
        ParamKind::Enum(allowed) => {
            let listed = || {
                let values: Vec<String> = allowed.iter().map(i64::to_string).collect();
                format!("one of {}", values.join(", "))
            };
            match text.parse::<i64>() {
                Ok(number) if allowed.contains(&number) => Ok(Value::Integer(number)),
                _ => Err(refused(&listed())),
            }
        }
        // A kind added to the spec format later: keep the text, as for a string.
        _ => Ok(Value::Text(text.to_owned())),
    }
}

/// The integer if it is within the parameter's `minimum` and `maximum` from the spec; else
/// what the parameter must be.
fn within_bounds(param: &Param, number: i64) -> Result<Value, String> {
    match (param.minimum, param.maximum) {
        (Some(low), Some(high)) if !(low..=high).contains(&number) => {
            Err(format!("from {low} to {high}"))
        }
        (Some(low), None) if number < low => Err(format!("at least {low}")),
        (None, Some(high)) if number > high => Err(format!("at most {high}")),
        _ => Ok(Value::Integer(number)),
    }
}

/// Longest parameter value quoted in a violation, so a hostile one does not bloat the answer.
const MAX_QUOTED_CHARS: usize = 200;

fn quote(text: &str) -> String {
    if text.chars().count() <= MAX_QUOTED_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use feishu_hire_types::{BATCH_QUERY_EXTERNAL_INTERVIEW, UPDATE_EXTERNAL_INTERVIEW};

    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn query_values_are_typed_as_the_spec_says() {
        let params = read(
            &BATCH_QUERY_EXTERNAL_INTERVIEW,
            &[],
            &pairs(&[
                ("page_size", "20"),
                ("external_application_id", "6960663240925956437"),
                ("page_token", ""),
                ("unknown", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(params.integer("page_size"), Some(20));
        assert_eq!(
            params.text("external_application_id"),
            Some("6960663240925956437")
        );
        assert_eq!(params.text("page_token"), None);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_a_violation_naming_the_parameter() {
        for bad in ["ten", "1.5", "99999999999", "-", " 1"] {
            let violations = read(
                &BATCH_QUERY_EXTERNAL_INTERVIEW,
                &[],
                &pairs(&[("page_size", bad)]),
            )
            .unwrap_err();
            assert_eq!(violations.len(), 1, "{bad}");
            assert_eq!(violations[0].field.as_deref(), Some("page_size"));
            assert_eq!(violations[0].value.as_deref(), Some(bad));
        }
    }

    #[test]
    fn path_parameters_are_required() {
        let violations = read(&UPDATE_EXTERNAL_INTERVIEW, &[], &[]).unwrap_err();
        assert_eq!(
            violations[0].field.as_deref(),
            Some("external_interview_id")
        );
        let params = read(
            &UPDATE_EXTERNAL_INTERVIEW,
            &pairs(&[("external_interview_id", "a/b 面")]),
            &[],
        )
        .unwrap();
        assert_eq!(params.text("external_interview_id"), Some("a/b 面"));
    }
}
