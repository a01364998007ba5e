//! One endpoint, checked and built: the objects it names, its method, body and path, its path
//! and query parameters and the path's placeholders, its idempotency rule and its pagination.
//! The passes that call it, and the checks across endpoints, are in `modules.rs`.

use std::collections::{BTreeMap, HashMap};

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

use super::{
    EndpointDef, IdempotencyDef, KeyRule, PaginationDef, ParamDef, Reporter, ResponseDef, Scalar,
    Site, TypeDef, TypeRef, closest, method_name, object_named, pos,
};
use crate::diagnostics::Position;
use crate::load::LoadedFile;
use crate::spec::{EndpointSpec, HttpMethod, IdempotencyKind, ParamSpec};

/// One endpoint, checked; `None` when something is wrong (and reported).
pub(super) fn build_endpoint(
    b: &mut Reporter<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    types: &BTreeMap<String, TypeDef>,
) -> Option<EndpointDef> {
    let ok = check_shape(b, fi, endpoint, types);
    build_endpoint_rest(b, fi, endpoint, types, ok)
}

/// The objects an endpoint names, and the shape of its method, body and path; whether all
/// is well.
fn check_shape(
    b: &mut Reporter<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    types: &BTreeMap<String, TypeDef>,
) -> bool {
    let mut ok = true;
    for (what, name) in [
        ("body", &endpoint.body),
        ("data", &endpoint.data),
        ("response", &endpoint.response),
    ] {
        let Some(name) = name else { continue };
        if object_named(types, &name.value).is_none() {
            ok = false;
            b.error(
                fi,
                pos(name.referenced),
                format!(
                    "the {what} of `{}` names `{}`, which is not a defined object",
                    endpoint.name.value, name.value
                ),
                "name an object defined under `objects:` in any spec file",
            );
        }
    }
    if let (Some(_), Some(response)) = (&endpoint.data, &endpoint.response) {
        ok = false;
        b.error(
            fi,
            pos(response.referenced),
            format!(
                "endpoint `{}` has both `data` and `response`",
                endpoint.name.value
            ),
            "an answer in the platform envelope names its `data`; `response` is for an answer \
             that is not enveloped (the token endpoints); keep one",
        );
    }
    if let (HttpMethod::Get, Some(body)) = (endpoint.method, &endpoint.body) {
        ok = false;
        b.error(
            fi,
            pos(body.referenced),
            format!("endpoint `{}` is a GET with a body", endpoint.name.value),
            "a GET request carries no body; move its fields to `query_params`, or check the method \
             in the documentation",
        );
    }
    if endpoint.path.value.contains("//") || endpoint.path.value.ends_with('/') {
        ok = false;
        b.error(
            fi,
            pos(endpoint.path.referenced),
            format!("path `{}` has an empty segment", endpoint.path.value),
            "remove the doubled or trailing `/`",
        );
    }
    ok
}

/// `build_endpoint`, continued: parameters, placeholders, idempotency and pagination, then the
/// definition.
fn build_endpoint_rest(
    b: &mut Reporter<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    types: &BTreeMap<String, TypeDef>,
    mut ok: bool,
) -> Option<EndpointDef> {
    let mut seen = HashMap::new();
    let path_params = build_params(b, fi, &endpoint.path_params, true, types, &mut seen);
    let query_params = build_params(b, fi, &endpoint.query_params, false, types, &mut seen);
    let (Some(mut path_params), Some(query_params)) = (path_params, query_params) else {
        return None;
    };
    ok &= check_placeholders(b, fi, endpoint, &path_params);
    // Path parameters in the order of their placeholders, as the path is filled.
    let order = placeholders(&endpoint.path.value);
    path_params.sort_by_key(|p| order.iter().position(|(_, name)| *name == p.name));
    let idempotency = build_idempotency(b, fi, endpoint, types);
    let pagination = build_pagination(b, fi, endpoint, &query_params, types);
    let (true, Some(idempotency), Some(pagination)) = (ok, idempotency, pagination) else {
        return None;
    };
    let body = endpoint.body.as_ref().map(|body| body.value.clone());
    let generates_request_type =
        body.is_none() || !path_params.is_empty() || !query_params.is_empty();
    let request_type = match (&body, generates_request_type) {
        (Some(body), false) => body.clone(),
        _ => format!("{}Request", endpoint.name.value.to_upper_camel_case()),
    };
    let response = match (&endpoint.response, &endpoint.data) {
        (Some(whole), _) => ResponseDef::Whole(whole.value.clone()),
        (None, data) => ResponseDef::Data(data.as_ref().map(|d| d.value.clone())),
    };
    Some(EndpointDef {
        name: endpoint.name.value.clone(),
        const_name: endpoint.name.value.to_shouty_snake_case(),
        summary: endpoint.summary.clone(),
        description: endpoint.description.clone(),
        docs: endpoint.docs.clone(),
        method: endpoint.method,
        path: endpoint.path.value.clone(),
        path_params,
        query_params,
        access_token: endpoint.access_token,
        app_types: endpoint.app_types.clone(),
        scopes: endpoint
            .scopes
            .iter()
            .map(|s| (s.name.clone(), s.description.clone()))
            .collect(),
        rate_limit: endpoint
            .rate_limit
            .as_ref()
            .map(|r| (r.requests, r.per_seconds)),
        idempotency,
        request_type,
        generates_request_type,
        body,
        response,
        pagination,
        errors: endpoint.errors.iter().map(|row| row.code.value).collect(),
    })
}

/// Checks one parameter list and builds its definitions; `seen` holds the names so far.
fn build_params(
    b: &mut Reporter<'_>,
    fi: usize,
    params: &[ParamSpec],
    in_path: bool,
    types: &BTreeMap<String, TypeDef>,
    seen: &mut HashMap<String, Position>,
) -> Option<Vec<ParamDef>> {
    let mut ok = true;
    let mut defs = Vec::new();
    for param in params {
        let position = pos(param.name.referenced);
        let name = &param.name.value;
        if let Some(first) = seen.insert(name.clone(), position) {
            ok = false;
            b.repeated(
                fi,
                position,
                format!("parameter `{name}` is declared twice"),
                "declared again here",
                &Site {
                    file: fi,
                    position: first,
                },
                "first declared here",
                "rename or remove one",
            )
            .notes
            .push("path and query parameters share one namespace".to_owned());
            continue;
        }
        if name == "body" {
            ok = false;
            b.error(
                fi,
                position,
                "a parameter may not be named `body`",
                "the generated request type keeps the JSON body in a field named `body`, so a \
                 parameter of that name is not supported",
            );
            continue;
        }
        let required = match (&param.required, in_path) {
            (Some(required), true) => {
                if !required.value {
                    ok = false;
                    b.error(
                        fi,
                        pos(required.referenced),
                        format!("path parameter `{name}` is marked `required: false`"),
                        "a path parameter is always required; remove `required:`",
                    );
                }
                true
            }
            (None, true) => true,
            (required, false) => required.as_ref().is_some_and(|r| r.value),
        };
        let Some(ty) = resolve_param_type(b, fi, param, types) else {
            ok = false;
            continue;
        };
        defs.push(ParamDef {
            name: name.clone(),
            rust_name: name.to_snake_case(),
            ty,
            required,
            description: param.description.clone(),
            example: param.example.clone(),
        });
    }
    ok.then_some(defs)
}

/// Resolves a parameter's type: `string`, `int32`, `int64`, `boolean` or an enum.
fn resolve_param_type(
    b: &mut Reporter<'_>,
    fi: usize,
    param: &ParamSpec,
    types: &BTreeMap<String, TypeDef>,
) -> Option<TypeRef> {
    let name = param.ty.value.as_str();
    match (Scalar::parse(name), types.get(name)) {
        (Some(scalar @ (Scalar::String | Scalar::Int32 | Scalar::Int64 | Scalar::Boolean)), _) => {
            Some(TypeRef::Scalar(scalar))
        }
        (None, Some(TypeDef::Enum(_))) => Some(TypeRef::Enum(name.to_owned())),
        _ => {
            b.error(
                fi,
                pos(param.ty.referenced),
                format!(
                    "parameter `{}` has type `{name}`, which a path or query string cannot carry",
                    param.name.value
                ),
                "use `string`, `int32`, `int64`, `boolean` or the name of an enum",
            );
            None
        }
    }
}

/// The `:name` placeholders of a path, with their character offsets in it.
fn placeholders(path: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut offset = 0;
    for segment in path.split('/') {
        if let Some(name) = segment.strip_prefix(':') {
            found.push((path[..offset].chars().count(), name));
        }
        offset += segment.len() + 1;
    }
    found
}

/// `position` moved `chars` characters right, past an opening quote if the value is quoted.
fn shifted(file: &LoadedFile, position: Position, chars: usize) -> Position {
    let quoted = file
        .source
        .lines()
        .nth(position.line.saturating_sub(1) as usize)
        .and_then(|line| line.chars().nth(position.column.saturating_sub(1) as usize))
        .is_some_and(|c| c == '"' || c == '\'');
    Position {
        line: position.line,
        column: position.column + u32::from(quoted) + chars as u32,
    }
}

/// Checks path placeholders against the declared path parameters, both ways.
fn check_placeholders(
    b: &mut Reporter<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    path_params: &[ParamDef],
) -> bool {
    let mut ok = true;
    let path = &endpoint.path.value;
    let found = placeholders(path);
    let declared: Vec<String> = path_params.iter().map(|p| p.name.clone()).collect();
    for (offset, name) in &found {
        if declared.iter().any(|d| d == name) {
            continue;
        }
        ok = false;
        let position = shifted(&b.files[fi], pos(endpoint.path.referenced), *offset);
        let help = match closest(name, &declared) {
            Some(near) => format!(
                "did you mean `:{near}`? Each `:name` in the path needs an entry in `path_params`"
            ),
            None => format!(
                "declare it under `path_params:` with its type, e.g. `- name: {name}` and `type: string`"
            ),
        };
        b.error(
            fi,
            position,
            format!("path placeholder `:{name}` is not a declared path parameter"),
            help,
        )
        .set_length(name.chars().count() + 1);
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (_, name) in &found {
        *counts.entry(name).or_default() += 1;
    }
    for (name, count) in counts {
        if count > 1 {
            ok = false;
            b.error(
                fi,
                pos(endpoint.path.referenced),
                format!("path placeholder `:{name}` appears {count} times"),
                "each path parameter fills exactly one segment",
            );
        }
    }
    for param in &endpoint.path_params {
        if !found.iter().any(|(_, name)| *name == param.name.value) {
            ok = false;
            let help = match closest(
                &param.name.value,
                &found
                    .iter()
                    .map(|(_, n)| (*n).to_owned())
                    .collect::<Vec<_>>(),
            ) {
                Some(near) => format!("the path has `:{near}`; make the two names the same"),
                None => format!(
                    "write `:{}` in the path where the value goes, or move the parameter to `query_params`",
                    param.name.value
                ),
            };
            b.error(
                fi,
                pos(param.name.referenced),
                format!(
                    "path parameter `{}` does not appear in the path `{path}`",
                    param.name.value
                ),
                help,
            );
        }
    }
    ok
}

fn build_idempotency(
    b: &mut Reporter<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    types: &BTreeMap<String, TypeDef>,
) -> Option<IdempotencyDef> {
    let method = endpoint.method;
    let by_method = matches!(
        method,
        HttpMethod::Get | HttpMethod::Put | HttpMethod::Delete
    );
    let Some(rule) = &endpoint.idempotency else {
        return Some(if by_method {
            IdempotencyDef::Method
        } else {
            IdempotencyDef::Never
        });
    };
    let by = rule.by.value;
    let by_pos = pos(rule.by.referenced);
    if by != IdempotencyKind::Key {
        if let Some(field) = &rule.field {
            b.error(
                fi,
                pos(field.referenced),
                "only `by: key` takes a `field`",
                "remove `field:`, or write `by: key`",
            );
            return None;
        }
        if rule.window_hours.is_some() {
            b.error(
                fi,
                by_pos,
                "only `by: key` takes `window_hours`",
                "remove `window_hours:`, or write `by: key`",
            );
            return None;
        }
    }
    match by {
        IdempotencyKind::Method if by_method => Some(IdempotencyDef::Method),
        IdempotencyKind::Method => {
            b.error(
                fi,
                by_pos,
                format!(
                    "`by: method` makes a {} request safe to repeat, but only GET, PUT and DELETE are",
                    method_name(method)
                ),
                "use `by: key` with the body field that deduplicates, `by: read_only` for a query \
                 sent as POST, or `by: never`",
            );
            None
        }
        IdempotencyKind::ReadOnly => Some(IdempotencyDef::ReadOnly),
        IdempotencyKind::Never => Some(IdempotencyDef::Never),
        IdempotencyKind::Key => key_rule(b, fi, endpoint, rule, types),
    }
}

/// A `by: key` rule: a string field of the body, remembered for `window_hours`.
fn key_rule(
    b: &mut Reporter<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    rule: &crate::spec::Idempotency,
    types: &BTreeMap<String, TypeDef>,
) -> Option<IdempotencyDef> {
    let by_pos = pos(rule.by.referenced);
    let (Some(field), Some(window_hours)) = (&rule.field, rule.window_hours) else {
        b.error(
            fi,
            by_pos,
            "`by: key` needs `field` and `window_hours`",
            "name the string field of the body that carries the key, and how many hours \
             the server remembers it",
        );
        return None;
    };
    let body_field = endpoint
        .body
        .as_ref()
        .and_then(|body| object_named(types, &body.value))
        .and_then(|object| object.fields.iter().find(|f| f.wire_name == field.value));
    match body_field {
        Some(body_field) if body_field.ty == TypeRef::Scalar(Scalar::String) => {
            Some(IdempotencyDef::Key(KeyRule {
                field: body_field.wire_name.clone(),
                rust_field: body_field.rust_name.clone(),
                required: body_field.required,
                window_hours,
                description: rule.description.clone(),
            }))
        }
        _ => {
            let body = endpoint
                .body
                .as_ref()
                .map_or("(no body)".to_owned(), |body| body.value.clone());
            b.error(
                fi,
                pos(field.referenced),
                format!(
                    "idempotency field `{}` is not a string field of `{body}`",
                    field.value
                ),
                "name a `type: string` field of the body object",
            );
            None
        }
    }
}

fn build_pagination(
    b: &mut Reporter<'_>,
    fi: usize,
    endpoint: &EndpointSpec,
    query_params: &[ParamDef],
    types: &BTreeMap<String, TypeDef>,
) -> Option<Option<PaginationDef>> {
    let Some(pagination) = &endpoint.pagination else {
        return Some(None);
    };
    let at = pos(pagination.items.referenced);
    let mut problems = Vec::new();
    for (name, ty) in [("page_size", Scalar::Int32), ("page_token", Scalar::String)] {
        if !query_params
            .iter()
            .any(|p| p.name == name && p.ty == TypeRef::Scalar(ty) && !p.required)
        {
            problems.push(format!("an optional `{name}` query parameter"));
        }
    }
    let data = endpoint
        .data
        .as_ref()
        .and_then(|data| object_named(types, &data.value));
    let mut item = None;
    match data {
        None => problems.push("a `data` object".to_owned()),
        Some(data) => {
            for (name, ty) in [
                ("page_token", Scalar::String),
                ("has_more", Scalar::Boolean),
            ] {
                if !data
                    .fields
                    .iter()
                    .any(|f| f.wire_name == name && f.ty == TypeRef::Scalar(ty) && !f.required)
                {
                    problems.push(format!("an optional `{name}` field in `{}`", data.name));
                }
            }
            match data
                .fields
                .iter()
                .find(|f| f.wire_name == pagination.items.value)
            {
                Some(field) => match &field.ty {
                    TypeRef::Array(inner) => {
                        item = Some((field.rust_name.clone(), (**inner).clone()))
                    }
                    _ => problems.push(format!("`{}` to be an array", pagination.items.value)),
                },
                None => problems.push(format!(
                    "an array field `{}` in `{}`",
                    pagination.items.value, data.name
                )),
            }
        }
    }
    if !problems.is_empty() {
        b.error(
            fi,
            at,
            format!(
                "endpoint `{}` is paginated but lacks {}",
                endpoint.name.value,
                problems.join(", ")
            ),
            "a paginated endpoint takes optional `page_size` (int32) and `page_token` (string) \
             query parameters and answers `data` with the items, `page_token` and `has_more`",
        );
        return None;
    }
    let (items_rust_field, item_type) = item?;
    Some(Some(PaginationDef {
        items_field: pagination.items.value.clone(),
        items_rust_field,
        item_type,
    }))
}

/// Checks that the envelope object has what every answer has: an integer `code`, and no `data`
/// (each endpoint fills that itself).
pub(super) fn check_envelope(
    b: &mut Reporter<'_>,
    fi: usize,
    position: Position,
    name: &str,
    types: &BTreeMap<String, TypeDef>,
) {
    let Some(TypeDef::Object(object)) = types.get(name) else {
        return;
    };
    let code = object.fields.iter().find(|f| f.wire_name == "code");
    if !code.is_some_and(|f| f.required && f.ty == TypeRef::Scalar(Scalar::Int64)) {
        b.error(
            fi,
            position,
            format!("the envelope `{name}` has no required `int64` field `code`"),
            "every Feishu answer has `code`; declare it as `type: int64` with `required: true`",
        );
    }
    if object.fields.iter().any(|f| f.wire_name == "data") {
        b.error(
            fi,
            position,
            format!("the envelope `{name}` declares `data`"),
            "remove the field: each endpoint names its own `data` object",
        );
    }
}
