//! The fast ways the checks are written against the plain ways they stand in for: the
//! warnings against the way they were first written, with `format!` and lists.

use feishu_hire_types::AssessmentType;
use serde_json::{Value, json};

use super::*;

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
