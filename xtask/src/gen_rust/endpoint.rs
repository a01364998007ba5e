//! The Rust of one endpoint: its `Endpoint` constant, its request type, its `ApiRequest` impl,
//! the alias of its whole answer and, if it pages, its `Paginated` impl.

use proc_macro2::TokenStream;
use quote::quote;

use super::{RT, bilingual, doc, doc_escape, ident, int, rt, rust_type, sibling, uint};
use crate::model::{
    EndpointDef, IdempotencyDef, Model, PaginationDef, ParamDef, ResponseDef, Scalar, TypeDef,
    TypeRef,
};
use crate::spec::{AccessToken, AppType, HttpMethod};

pub(super) fn generate_endpoint(model: &Model, endpoint: &EndpointDef) -> TokenStream {
    let constant = generate_endpoint_const(model, endpoint);
    let request_type = endpoint
        .generates_request_type
        .then(|| generate_request_type(model, endpoint));
    let api_request = generate_api_request_impl(endpoint);
    let alias = generate_response_alias(model, endpoint);
    let paginated = endpoint
        .pagination
        .as_ref()
        .map(|pagination| generate_paginated_impl(endpoint, pagination));
    quote! { #constant #request_type #api_request #alias #paginated }
}

fn method_variant(method: HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "Get",
        HttpMethod::Post => "Post",
        HttpMethod::Put => "Put",
        HttpMethod::Patch => "Patch",
        HttpMethod::Delete => "Delete",
    }
}

/// The `Idempotency` value and a line for the docs.
fn idempotency_rust(rule: &IdempotencyDef) -> (TokenStream, String) {
    let rt = rt();
    match rule {
        IdempotencyDef::Method => (
            quote! { #rt::Idempotency::ByMethod },
            "by method: safe to repeat".to_owned(),
        ),
        IdempotencyDef::ReadOnly => (
            quote! { #rt::Idempotency::ReadOnly },
            "read-only: safe to repeat".to_owned(),
        ),
        IdempotencyDef::Never => (
            quote! { #rt::Idempotency::Never },
            "none: not repeated once it may have taken effect".to_owned(),
        ),
        IdempotencyDef::Key(rule) => {
            let field = &rule.field;
            let hours = uint(rule.window_hours);
            (
                quote! { #rt::Idempotency::ByKey { field: #field, window_hours: #hours } },
                format!(
                    "by the key `{}`, {} h. {}",
                    rule.field,
                    rule.window_hours,
                    rule.description
                        .as_ref()
                        .map(|d| doc_escape(&d.en))
                        .unwrap_or_default()
                ),
            )
        }
    }
}

fn param_kind(model: &Model, ty: &TypeRef) -> TokenStream {
    let rt = rt();
    match ty {
        TypeRef::Scalar(Scalar::Int32) => quote! { #rt::ParamKind::Int32 },
        TypeRef::Scalar(Scalar::Int64) => quote! { #rt::ParamKind::Int64 },
        TypeRef::Scalar(Scalar::Boolean) => quote! { #rt::ParamKind::Boolean },
        TypeRef::Enum(name) => {
            let values: Vec<TokenStream> = match model.types.get(name) {
                Some(TypeDef::Enum(def)) => def.values.iter().map(|v| int(v.value)).collect(),
                _ => Vec::new(),
            };
            quote! { #rt::ParamKind::Enum(&[#(#values),*]) }
        }
        _ => quote! { #rt::ParamKind::String },
    }
}

fn params_rust(model: &Model, params: &[ParamDef]) -> TokenStream {
    let rt = rt();
    let items = params.iter().map(|p| {
        let name = &p.name;
        let kind = param_kind(model, &p.ty);
        let required = p.required;
        quote! { #rt::Param { name: #name, kind: #kind, required: #required } }
    });
    quote! { &[#(#items),*] }
}

/// The docs of an endpoint's constant: what it does, its documentation, and its rules.
fn endpoint_doc(model: &Model, endpoint: &EndpointDef, idempotency: &str) -> String {
    let token = match endpoint.access_token {
        AccessToken::None => "none",
        AccessToken::Tenant => "tenant",
        AccessToken::User => "user",
    };
    let mut text = format!(
        "{}: `{} {}`.\n\n{}\n\n{}\n\nDocumentation: <{}>\n\n- Request type: [`{}`]\n- Access token: {}\n- App types: {}",
        doc_escape(&endpoint.summary.en),
        method_variant(endpoint.method).to_uppercase(),
        endpoint.path,
        doc_escape(&endpoint.description.en),
        doc_escape(&endpoint.description.zh),
        endpoint.docs,
        endpoint.request_type,
        token,
        endpoint
            .app_types
            .iter()
            .map(|t| match t {
                AppType::Custom => "custom",
                AppType::Store => "store",
            })
            .collect::<Vec<_>>()
            .join(", "),
    );
    for (scope, description) in &endpoint.scopes {
        text.push_str(&format!(
            "\n- Scope: `{scope}` ({})",
            doc_escape(&description.en)
        ));
    }
    if let Some((requests, per)) = endpoint.rate_limit {
        text.push_str(&format!("\n- Rate limit: {requests} requests per {per} s"));
    }
    text.push_str(&format!("\n- Idempotency: {idempotency}"));
    if !endpoint.errors.is_empty() {
        text.push_str("\n\n| HTTP | Code | Meaning |\n|---|---|---|");
        for code in &endpoint.errors {
            if let Some(def) = model.error_codes.iter().find(|d| d.code == *code) {
                text.push_str(&format!(
                    "\n| {} | [{}](super::ErrorCode::{}) | {} |",
                    def.http_status,
                    def.code,
                    def.variant,
                    doc_escape(&def.description.en)
                ));
            }
        }
    }
    text
}

fn generate_endpoint_const(model: &Model, endpoint: &EndpointDef) -> TokenStream {
    let rt = rt();
    let (idempotency, idempotency_doc) = idempotency_rust(&endpoint.idempotency);
    let doc = doc(&endpoint_doc(model, endpoint, &idempotency_doc));
    let method = ident(method_variant(endpoint.method));
    let token = ident(match endpoint.access_token {
        AccessToken::None => "None",
        AccessToken::Tenant => "Tenant",
        AccessToken::User => "User",
    });
    let rate_limit = match endpoint.rate_limit {
        Some((requests, per_seconds)) => {
            let (requests, per_seconds) = (uint(requests), uint(per_seconds));
            quote! { Some(#rt::RateLimit { requests: #requests, per_seconds: #per_seconds }) }
        }
        None => quote! { None },
    };
    let response = ident(match endpoint.response {
        ResponseDef::Whole(_) => "WholeBody",
        ResponseDef::Data(_) => "Envelope",
    });
    let constant = ident(&endpoint.const_name);
    let name = &endpoint.name;
    let summary = &endpoint.summary.en;
    let path = &endpoint.path;
    let path_params = params_rust(model, &endpoint.path_params);
    let query_params = params_rust(model, &endpoint.query_params);
    let has_body = endpoint.body.is_some();
    let paginated = endpoint.pagination.is_some();
    let scopes = endpoint.scopes.iter().map(|(scope, _)| scope);
    let errors = endpoint.errors.iter().map(|code| int(*code));
    let docs = &endpoint.docs;
    quote! {
        #doc
        pub const #constant: #rt::Endpoint = #rt::Endpoint {
            name: #name,
            summary: #summary,
            method: #rt::HttpMethod::#method,
            path: #path,
            path_params: #path_params,
            query_params: #query_params,
            has_body: #has_body,
            response: #rt::ResponseShape::#response,
            paginated: #paginated,
            access_token: #rt::AccessTokenKind::#token,
            scopes: &[#(#scopes),*],
            rate_limit: #rate_limit,
            idempotency: #idempotency,
            error_codes: &[#(#errors),*],
            docs: #docs,
        };
    }
}

/// The parameters of an endpoint, path first.
fn all_params(endpoint: &EndpointDef) -> impl Iterator<Item = (&ParamDef, bool)> {
    endpoint
        .path_params
        .iter()
        .map(|p| (p, true))
        .chain(endpoint.query_params.iter().map(|p| (p, false)))
}

fn body_is_all_optional(model: &Model, endpoint: &EndpointDef) -> bool {
    match endpoint.body.as_ref().and_then(|b| model.types.get(b)) {
        Some(TypeDef::Object(object)) => object.fields.iter().all(|f| !f.required),
        _ => true,
    }
}

/// One parameter as a field of the request type, with its docs and serde attributes.
fn param_field(param: &ParamDef, in_path: bool) -> TokenStream {
    let mut text = format!(
        "{} parameter `{}`: {}",
        if in_path { "Path" } else { "Query" },
        param.name,
        bilingual(&param.description)
    );
    if param.required {
        text.push_str("\n\nRequired.");
    }
    if let Some(example) = &param.example {
        text.push_str(&format!("\n\nExample: `{example}`"));
    }
    let doc = doc(&text);
    let name = ident(&param.rust_name);
    let ty = rust_type(&param.ty);
    let is_enum = matches!(param.ty, TypeRef::Enum(_));
    if param.required {
        let serde = is_enum.then(|| {
            let helper = format!("{RT}::wire::strict::enum_value");
            quote! { #[serde(deserialize_with = #helper)] }
        });
        quote! { #doc #serde pub #name: #ty, }
    } else {
        let helper = is_enum.then(|| {
            let helper = format!("{RT}::wire::strict::option_enum");
            quote! { , deserialize_with = #helper }
        });
        quote! {
            #doc
            #[serde(default, skip_serializing_if = "Option::is_none" #helper)]
            pub #name: Option<#ty>,
        }
    }
}

/// The struct that holds an endpoint's parameters and body, with its constructor and setters.
fn generate_request_type(model: &Model, endpoint: &EndpointDef) -> TokenStream {
    let name = ident(&endpoint.request_type);
    let mut text = format!(
        "A request of [`{}`]: `{} {}`.\n\nPath and query parameters are typed fields (never sent in the body); the path is percent-encoded and the query string encoded when the request is sent.",
        endpoint.const_name,
        method_variant(endpoint.method).to_uppercase(),
        endpoint.path,
    );
    if let Some(body) = &endpoint.body {
        text.push_str(&format!(" The JSON body is [`{body}`], in `body`."));
    }
    text.push_str(
        "\n\nSent, so strict like every request (see `feishu_hire_types::wire`). Build it with [`new`](Self::new) and the setters.",
    );
    let doc = doc(&text);
    let all_optional =
        all_params(endpoint).all(|(p, _)| !p.required) && body_is_all_optional(model, endpoint);
    let default = all_optional.then(|| quote! { Default, });
    let fields = all_params(endpoint).map(|(param, in_path)| param_field(param, in_path));
    let body_field = endpoint.body.as_ref().map(|body| {
        let body = sibling(body);
        quote! {
            #[doc = " The JSON body."]
            pub body: #body,
        }
    });
    let methods = request_type_methods(model, endpoint);
    quote! {
        #doc
        #[derive(Debug, Clone, PartialEq, #default ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "schemars", derive(::schemars::JsonSchema))]
        #[serde(deny_unknown_fields)]
        #[non_exhaustive]
        pub struct #name {
            #(#fields)*
            #body_field
        }

        impl #name {
            #methods
        }
    }
}

/// `new` and the setters of a request type.
///
/// `new` takes the required parameters, and the body when it has required fields (an
/// all-optional body starts empty and has a setter).
fn request_type_methods(model: &Model, endpoint: &EndpointDef) -> TokenStream {
    let name = &endpoint.request_type;
    let required: Vec<&ParamDef> = all_params(endpoint)
        .map(|(p, _)| p)
        .filter(|p| p.required)
        .collect();
    let body_in_new = endpoint.body.is_some() && !body_is_all_optional(model, endpoint);
    let mut params: Vec<TokenStream> = required
        .iter()
        .map(|p| {
            let id = ident(&p.rust_name);
            let ty = super::types::setter_param(&p.ty).0;
            quote! { #id: #ty }
        })
        .collect();
    let mut inits: Vec<TokenStream> = all_params(endpoint)
        .map(|(param, _)| {
            let id = ident(&param.rust_name);
            if param.required {
                super::types::field_init(&id, &param.ty)
            } else {
                quote! { #id: None }
            }
        })
        .collect();
    if let Some(body) = &endpoint.body {
        let body = sibling(body);
        if body_in_new {
            params.push(quote! { body: #body });
            inits.push(quote! { body });
        } else {
            inits.push(quote! { body: #body::new() });
        }
    }
    let mut names: Vec<String> = required
        .iter()
        .map(|p| format!("`{}`", p.rust_name))
        .collect();
    if body_in_new {
        names.push("`body`".to_owned());
    }
    let new_doc = doc(&if names.is_empty() {
        format!("Creates a `{name}`; every parameter is optional and starts unset.")
    } else {
        format!(
            "Creates a `{name}` from its required parts ({}); the optional ones start unset.",
            names.join(", ")
        )
    });
    let allow = (params.len() > 7).then(|| quote! { #[allow(clippy::too_many_arguments)] });
    let setters = endpoint
        .query_params
        .iter()
        .filter(|p| !p.required)
        .map(|param| {
            let id = ident(&param.rust_name);
            let (ty, convert) = super::types::setter_param(&param.ty);
            let doc = doc(&format!(
                "Sets the query parameter `{}`: {}",
                param.name,
                doc_escape(&param.description.en)
            ));
            quote! {
                #doc
                #[must_use]
                pub fn #id(mut self, value: #ty) -> Self {
                    self.#id = Some(value #convert);
                    self
                }
            }
        });
    let body_setter = match (&endpoint.body, body_in_new) {
        (Some(body), false) => {
            let body = sibling(body);
            Some(quote! {
                #[doc = " Sets (replaces) the JSON body."]
                #[must_use]
                pub fn body(mut self, body: #body) -> Self {
                    self.body = body;
                    self
                }
            })
        }
        _ => None,
    };
    quote! {
        #new_doc
        #allow
        pub fn new(#(#params),*) -> Self {
            Self { #(#inits),* }
        }
        #(#setters)*
        #body_setter
    }
}

/// The text of a parameter's value in a path or query string; `by_ref` when `value` is a
/// reference.
fn param_text(param: &ParamDef, value: TokenStream, by_ref: bool) -> TokenStream {
    let rt = rt();
    let deref = by_ref.then(|| quote! { * });
    match &param.ty {
        TypeRef::Scalar(Scalar::String) => quote! { #value.clone() },
        TypeRef::Enum(_) => quote! { #rt::wire::WireEnum::value(#deref #value).to_string() },
        _ => quote! { #value.to_string() },
    }
}

/// The body of `ApiRequest::path`: the literal path, or the path with its placeholders
/// filled from the parameters, percent-encoded.
fn path_fn(endpoint: &EndpointDef) -> TokenStream {
    let rt = rt();
    if endpoint.path_params.is_empty() {
        let path = &endpoint.path;
        return quote! { ::std::borrow::Cow::Borrowed(#path) };
    }
    let capacity = uint(endpoint.path.len() as u64 + 16);
    let mut statements = Vec::new();
    let mut literal = String::new();
    for (i, segment) in endpoint.path.split('/').enumerate() {
        if i > 0 {
            literal.push('/');
        }
        let Some(placeholder) = segment.strip_prefix(':') else {
            literal.push_str(segment);
            continue;
        };
        if !literal.is_empty() {
            statements.push(quote! { path.push_str(#literal); });
            literal.clear();
        }
        if let Some(param) = endpoint.path_params.iter().find(|p| p.name == placeholder) {
            let id = ident(&param.rust_name);
            let field = quote! { self.#id };
            let value = match &param.ty {
                TypeRef::Scalar(Scalar::String) => quote! { &#field },
                _ => {
                    let text = param_text(param, field, false);
                    quote! { &#text }
                }
            };
            statements.push(quote! { #rt::url::push_segment(&mut path, #value); });
        }
    }
    if !literal.is_empty() {
        statements.push(quote! { path.push_str(#literal); });
    }
    quote! {
        let mut path = String::with_capacity(#capacity);
        #(#statements)*
        ::std::borrow::Cow::Owned(path)
    }
}

/// `ApiRequest::query`, for an endpoint with query parameters.
fn query_fn(endpoint: &EndpointDef) -> Option<TokenStream> {
    if endpoint.query_params.is_empty() {
        return None;
    }
    let capacity = uint(endpoint.query_params.len() as u64);
    let pushes = endpoint.query_params.iter().map(|param| {
        let id = ident(&param.rust_name);
        let name = &param.name;
        if param.required {
            let text = param_text(param, quote! { self.#id }, false);
            quote! { query.push((#name, #text)); }
        } else {
            let text = param_text(param, quote! { value }, true);
            quote! {
                if let Some(value) = &self.#id {
                    query.push((#name, #text));
                }
            }
        }
    });
    Some(quote! {
        fn query(&self) -> Vec<(&'static str, String)> {
            let mut query = Vec::with_capacity(#capacity);
            #(#pushes)*
            query
        }
    })
}

/// `ApiRequest::idempotency_key`, for an endpoint deduplicated by a body field.
fn idempotency_key_fn(endpoint: &EndpointDef) -> Option<TokenStream> {
    let IdempotencyDef::Key(rule) = &endpoint.idempotency else {
        return None;
    };
    let id = ident(&rule.rust_field);
    let field = if endpoint.generates_request_type {
        quote! { self.body.#id }
    } else {
        quote! { self.#id }
    };
    // A blank key identifies nothing: such a request must not be treated as idempotent.
    let key = if rule.required {
        quote! { Some(#field.as_str()).filter(|key| !key.trim().is_empty()) }
    } else {
        quote! { #field.as_deref().filter(|key| !key.trim().is_empty()) }
    };
    Some(quote! {
        fn idempotency_key(&self) -> Option<&str> {
            #key
        }
    })
}

fn generate_api_request_impl(endpoint: &EndpointDef) -> TokenStream {
    let rt = rt();
    let name = ident(&endpoint.request_type);
    let body_type = match &endpoint.body {
        Some(body) => sibling(body),
        None => quote! { #rt::NoBody },
    };
    let output = endpoint
        .output_type()
        .map_or_else(|| quote! { #rt::NoData }, sibling);
    let body_fn = match (&endpoint.body, endpoint.generates_request_type) {
        (Some(_), true) => quote! { Some(&self.body) },
        (Some(_), false) => quote! { Some(self) },
        (None, _) => quote! { None },
    };
    let constant = ident(&endpoint.const_name);
    let path = path_fn(endpoint);
    let query = query_fn(endpoint);
    let key = idempotency_key_fn(endpoint);
    quote! {
        impl #rt::ApiRequest for #name {
            type Body = #body_type;
            type Output = #output;
            const ENDPOINT: &'static #rt::Endpoint = &#constant;

            fn body(&self) -> Option<&Self::Body> {
                #body_fn
            }

            fn path(&self) -> ::std::borrow::Cow<'_, str> {
                #path
            }

            #query
            #key
        }
    }
}

/// `<Name>Response`: the whole answer of an enveloped endpoint.
fn generate_response_alias(model: &Model, endpoint: &EndpointDef) -> Option<TokenStream> {
    let ResponseDef::Data(data) = &endpoint.response else {
        return None;
    };
    model.envelope.as_ref()?;
    let rt = rt();
    let data = data
        .as_deref()
        .map_or_else(|| quote! { #rt::NoData }, sibling);
    let doc = doc(&format!(
        "The whole answer of [`{}`]: the platform envelope with its `data`.",
        endpoint.const_name
    ));
    let alias = ident(&endpoint.response_alias());
    Some(quote! {
        #doc
        pub type #alias = super::ApiResponse<#data>;
    })
}

fn generate_paginated_impl(endpoint: &EndpointDef, pagination: &PaginationDef) -> TokenStream {
    let rt = rt();
    let name = ident(&endpoint.request_type);
    let item = rust_type(&pagination.item_type);
    let items = ident(&pagination.items_rust_field);
    quote! {
        impl #rt::Paginated for #name {
            type Item = #item;

            fn set_page_token(&mut self, token: Option<String>) {
                self.page_token = token;
            }

            fn set_page_size(&mut self, size: Option<i32>) {
                self.page_size = size;
            }

            fn into_page(output: Self::Output) -> #rt::Page<Self::Item> {
                #rt::Page {
                    items: output.#items,
                    page_token: output.page_token,
                    has_more: output.has_more.unwrap_or(false),
                }
            }
        }
    }
}
