//! OpenAPI 3.1 generation: one document for every endpoint of the specs.
//!
//! Operations carry their path and query parameters, request and response bodies (the same
//! JSON Schemas as `gen_schema`, under `components/schemas`), the error envelope with the
//! documented error codes, the bearer security scheme, examples and the hosts as servers. It is
//! for everyone who does not use the Rust types: Swagger UI, Prism, openapi-generator,
//! schemathesis.

use serde_json::{Map, Value, json};

use crate::gen_schema::{self, header};
use crate::model::{
    EndpointDef, IdempotencyDef, Model, ParamDef, ResponseDef, Scalar, TypeDef, TypeRef,
};
use crate::spec::{AccessToken, HttpMethod};

/// The security scheme of endpoints that take a tenant (or user) access token.
const BEARER: &str = "bearerAccessToken";

/// The document, as pretty JSON. `title` names the API.
pub fn generate(model: &Model, spec_label: &str, title: &str) -> String {
    let mut paths: Map<String, Value> = Map::new();
    for module in &model.modules {
        for endpoint in &module.endpoints {
            let path = openapi_path(&endpoint.path);
            let item = paths
                .entry(path)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(item) = item.as_object_mut() {
                item.insert(
                    method_key(endpoint.method).to_owned(),
                    operation(model, &module.name, endpoint),
                );
            }
        }
    }
    let mut schemas: Map<String, Value> = model
        .types
        .keys()
        .map(|name| {
            (
                name.clone(),
                components_refs(gen_schema::type_schema(model, name)),
            )
        })
        .collect();
    for endpoint in model.modules.iter().flat_map(|m| &m.endpoints) {
        if let (ResponseDef::Data(data), Some(envelope)) = (&endpoint.response, &model.envelope) {
            schemas.insert(
                endpoint.response_alias(),
                enveloped(model, envelope, data.as_deref()),
            );
        }
    }
    let servers: Vec<Value> = model
        .hosts
        .iter()
        .map(|host| json!({ "url": host.url, "description": host.description.en }))
        .collect();
    let tags: Vec<Value> = model
        .modules
        .iter()
        .filter(|m| !m.endpoints.is_empty())
        .map(|m| json!({ "name": m.name, "description": format!("`{}`: {}", m.spec_path, m.source_url) }))
        .collect();
    let document = json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": title,
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "{}\n\nEvery answer is Feishu's envelope (`code`, `msg`, `data`, `error`); `code` 0 \
                 is success. Requests are strict (only documented values); answers may carry \
                 fields and enum values this document does not list.",
                header(spec_label)
            ),
            "license": { "name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0" },
        },
        "servers": servers,
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <tenant_access_token>` (or a user_access_token where an operation says so), from `POST /open-apis/auth/v3/tenant_access_token/internal`.",
                },
            },
        },
    });
    // OpenAPI allows no `$comment` at the top; an extension carries the "do not edit" line,
    // first, where every generated JSON file has it.
    let text = gen_schema::to_pretty(&document);
    let line = serde_json::to_string(&header(spec_label)).unwrap_or_default();
    match text.strip_prefix("{\n") {
        Some(rest) => format!("{{\n  \"x-generated\": {line},\n{rest}"),
        None => text,
    }
}

/// `/a/:id/b` as OpenAPI writes it: `/a/{id}/b`.
fn openapi_path(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix(':') {
            Some(name) => format!("{{{name}}}"),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn method_key(method: HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Patch => "patch",
        HttpMethod::Delete => "delete",
    }
}

/// `#/$defs/X` (as the standalone schemas write references) becomes `#/components/schemas/X`.
fn components_refs(mut schema: Value) -> Value {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get_mut("$ref")
                    && let Some(name) = reference.strip_prefix("#/$defs/")
                {
                    *reference = format!("#/components/schemas/{name}");
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

/// The envelope's schema with `data` filled in.
fn enveloped(model: &Model, envelope: &str, data: Option<&str>) -> Value {
    let mut schema = components_refs(gen_schema::type_schema(model, envelope));
    let data_schema = match data {
        Some(data) => json!({ "$ref": format!("#/components/schemas/{data}") }),
        None => json!({ "type": "object", "description": "No data." }),
    };
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert("data".into(), data_schema);
    }
    schema
}

fn param_schema(param: &ParamDef, in_path: bool) -> Value {
    match &param.ty {
        TypeRef::Enum(name) => json!({ "$ref": format!("#/components/schemas/{name}") }),
        TypeRef::Scalar(Scalar::Int32) => {
            json!({ "type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX })
        }
        TypeRef::Scalar(Scalar::Int64) => {
            json!({ "type": "integer", "format": "int64", "minimum": i64::MIN, "maximum": i64::MAX })
        }
        TypeRef::Scalar(Scalar::Boolean) => json!({ "type": "boolean" }),
        // A path segment cannot be empty.
        _ if in_path => json!({ "type": "string", "minLength": 1 }),
        _ => json!({ "type": "string" }),
    }
}

fn parameter(param: &ParamDef, location: &str) -> Value {
    let mut value = json!({
        "name": param.name,
        "in": location,
        "required": param.required,
        "description": format!("{}\n\n{}", param.description.en, param.description.zh),
        "schema": param_schema(param, location == "path"),
    });
    if let (Some(example), Some(object)) = (&param.example, value.as_object_mut()) {
        object.insert("example".into(), example.clone());
    }
    value
}

fn error_response(model: &Model, endpoint: &EndpointDef) -> Value {
    let envelope = model.envelope.as_ref().map_or_else(
        || json!({}),
        |name| json!({ "$ref": format!("#/components/schemas/{name}") }),
    );
    let mut rows = Vec::new();
    let mut codes = Vec::new();
    // The endpoint's own table, then the platform-wide codes every endpoint may answer.
    let platform: Vec<i64> = model
        .error_codes
        .iter()
        .map(|c| c.code)
        .filter(|code| {
            !model
                .modules
                .iter()
                .flat_map(|m| &m.endpoints)
                .any(|e| e.errors.contains(code))
        })
        .collect();
    for code in endpoint.errors.iter().chain(&platform) {
        if let Some(def) = model.error_codes.iter().find(|d| d.code == *code) {
            rows.push(format!(
                "| {} | {} | {} | {} |",
                def.code, def.http_status, def.variant, def.description.en
            ));
            codes.push(json!({
                "code": def.code,
                "http_status": def.http_status,
                "name": def.variant,
                "description": def.description.en,
            }));
        }
    }
    json!({
        "description": format!(
            "A failure, in the envelope: `code` is not 0, `error.log_id` (and the `X-Tt-Logid` header) identify it.\n\n| Code | HTTP | Name | Meaning |\n|---|---|---|---|\n{}",
            rows.join("\n")
        ),
        "headers": {
            "X-Tt-Logid": { "description": "Feishu's log id of the answer.", "schema": { "type": "string" } },
            "x-ogw-ratelimit-limit": { "description": "On HTTP 429: requests allowed per second.", "schema": { "type": "string" } },
            "x-ogw-ratelimit-reset": { "description": "On HTTP 429: seconds to wait before retrying.", "schema": { "type": "string" } },
        },
        "content": { "application/json": { "schema": envelope } },
        "x-feishu-error-codes": codes,
    })
}

/// An example body from the examples of the body's fields (required ones and those with an
/// example), so tools that show or mock requests have one.
fn example_of(model: &Model, name: &str, depth: u32) -> Option<Value> {
    let Some(TypeDef::Object(object)) = model.types.get(name) else {
        return None;
    };
    let mut example = Map::new();
    for field in &object.fields {
        let value = match (&field.example, &field.ty) {
            (Some(example), _) => Some(example.clone()),
            (None, TypeRef::Object(child)) if depth < 3 => example_of(model, child, depth + 1),
            (None, TypeRef::Array(inner)) if depth < 3 => match &**inner {
                TypeRef::Object(child) => example_of(model, child, depth + 1).map(|v| json!([v])),
                _ => None,
            },
            _ => None,
        };
        if let Some(value) = value {
            example.insert(field.wire_name.clone(), value);
        }
    }
    (!example.is_empty()).then_some(Value::Object(example))
}

fn operation(model: &Model, tag: &str, endpoint: &EndpointDef) -> Value {
    let mut parameters: Vec<Value> = endpoint
        .path_params
        .iter()
        .map(|p| parameter(p, "path"))
        .collect();
    parameters.extend(endpoint.query_params.iter().map(|p| parameter(p, "query")));
    let success_schema = match &endpoint.response {
        ResponseDef::Whole(name) => json!({ "$ref": format!("#/components/schemas/{name}") }),
        ResponseDef::Data(_) => {
            json!({ "$ref": format!("#/components/schemas/{}", endpoint.response_alias()) })
        }
    };
    let idempotency = match &endpoint.idempotency {
        IdempotencyDef::Method => json!({ "by": "method" }),
        IdempotencyDef::ReadOnly => json!({ "by": "read_only" }),
        IdempotencyDef::Never => json!({ "by": "never" }),
        IdempotencyDef::Key(rule) => {
            json!({ "by": "key", "field": rule.field, "window_hours": rule.window_hours })
        }
    };
    let mut operation = json!({
        "operationId": endpoint.name,
        "summary": endpoint.summary.en,
        "description": format!("{}\n\n{}", endpoint.description.en, endpoint.description.zh),
        "tags": [tag],
        "externalDocs": { "url": endpoint.docs },
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "The answer: `code` 0 with the data (a refusal may also come with HTTP 200 and a non-zero `code`).",
                "headers": {
                    "X-Tt-Logid": { "description": "Feishu's log id of the answer.", "schema": { "type": "string" } },
                },
                "content": { "application/json": { "schema": success_schema } },
            },
            "default": error_response(model, endpoint),
        },
        "security": match endpoint.access_token {
            AccessToken::None => json!([]),
            _ => json!([{ BEARER: [] }]),
        },
        "x-feishu-idempotency": idempotency,
    });
    let Some(object) = operation.as_object_mut() else {
        return operation;
    };
    if let Some((requests, per_seconds)) = endpoint.rate_limit {
        object.insert(
            "x-feishu-rate-limit".into(),
            json!({ "requests": requests, "per_seconds": per_seconds }),
        );
    }
    if let Some(body) = &endpoint.body {
        let mut media = json!({ "schema": { "$ref": format!("#/components/schemas/{body}") } });
        if let (Some(example), Some(media)) = (example_of(model, body, 0), media.as_object_mut()) {
            media.insert("example".into(), example);
        }
        // A body without required fields may be left out (Feishu's Python SDK then sends
        // none, and Feishu reads it as `{}`).
        let required = match model.types.get(body) {
            Some(TypeDef::Object(object)) => object.fields.iter().any(|f| f.required),
            _ => true,
        };
        object.insert(
            "requestBody".into(),
            json!({ "required": required, "content": { "application/json": media } }),
        );
    }
    operation
}
