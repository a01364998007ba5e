//! Valid JSON instances of the emitted JSON Schemas, as proptest strategies.
//!
//! Covers the subset `cargo xtask codegen` emits: `$ref` into `$defs`, objects with `properties`
//! and `required`, arrays, integer enums, bounded integers, numbers, strings, booleans and `{}`
//! (any JSON). Tests that walk every endpoint use it, so a new endpoint in the specs gets
//! generated requests without a hand-written strategy.

use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};

/// How deep `$ref`s are followed before arrays are left empty (types that contain themselves
/// through an array would otherwise never end).
const MAX_DEPTH: u32 = 4;

/// Valid instances of `schema` (a whole document, with its `$defs`).
pub fn instances(schema: &Value) -> BoxedStrategy<Value> {
    node(schema, schema, 0)
}

fn node(schema: &Value, root: &Value, depth: u32) -> BoxedStrategy<Value> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        let target = &root["$defs"][name];
        return node(target, root, depth + 1);
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return proptest::sample::select(values.clone()).boxed();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => object(schema, root, depth),
        Some("array") => {
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            if depth >= MAX_DEPTH {
                return Just(json!([])).boxed();
            }
            prop::collection::vec(node(&items, root, depth + 1), 0..3)
                .prop_map(Value::Array)
                .boxed()
        }
        Some("string") => text().prop_map(Value::String).boxed(),
        Some("integer") => {
            let min = schema
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MIN);
            let max = schema
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX);
            prop_oneof![Just(min), Just(max), Just(0i64.clamp(min, max)), min..=max,]
                .prop_map(Value::from)
                .boxed()
        }
        Some("number") => (-1.0e9f64..1.0e9)
            .prop_map(|n| Number::from_f64(n).map_or(Value::Null, Value::Number))
            .boxed(),
        Some("boolean") => any::<bool>().prop_map(Value::Bool).boxed(),
        // `{}`: any JSON value.
        _ => prop_oneof![
            Just(Value::Null),
            any::<i32>().prop_map(Value::from),
            text().prop_map(Value::String),
            Just(json!({"nested": [1, "two", null]})),
        ]
        .boxed(),
    }
}

fn object(schema: &Value, root: &Value, depth: u32) -> BoxedStrategy<Value> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let name = name.clone();
            let value = node(property, root, depth);
            if required.contains(&name.as_str()) {
                fields.push(value.prop_map(move |v| Some((name.clone(), v))).boxed());
            } else {
                fields.push(
                    prop::option::of(value)
                        .prop_map(move |v| v.map(|v| (name.clone(), v)))
                        .boxed(),
                );
            }
        }
    }
    fields
        .prop_map(|fields| Value::Object(fields.into_iter().flatten().collect::<Map<_, _>>()))
        .boxed()
}

/// Text with what breaks careless encoders: `/`, `?`, `#`, `%`, `&`, `=`, `+`, spaces, quotes,
/// dots and non-ASCII.
pub fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9/?#%&=+ .~\"'面试é-]{0,12}"
}

/// Non-empty [`text`], for path parameters (an empty segment is no id).
/// Often exactly `.` or `..`, or their encodings, which a URL cannot carry as a segment.
pub fn segment_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z0-9/?#%&=+ .~\"'面试é-]{1,12}",
        1 => prop::sample::select(vec![".", "..", "%2E", "%2e%2E", ".%2E"]).prop_map(str::to_owned),
    ]
}
