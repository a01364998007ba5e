//! The Rust of the spec's named types: integer enums (lenient, with `Unknown`) and objects
//! (strict when sent, lenient when received), and the generic response envelope.

use heck::ToSnakeCase;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{RT, bilingual, doc, doc_escape, ident, int, rt, rust_type};
use crate::model::{Direction, EnumDef, FieldDef, Model, ObjectDef, Scalar, TypeDef, TypeRef};

/// An integer enum: the type, its accessors, and its `WireEnum`, `Display`, `FromStr`, serde
/// and schemars impls.
// Longer than most functions: it is one `quote!` template of the generated items, which reads
// best whole, next to the code it generates.
pub(super) fn generate_enum(def: &EnumDef) -> TokenStream {
    let rt = rt();
    let name = ident(&def.name);
    let name_lit = &def.name;
    let mut text = format!(
        "{}\n\n| Value | Variant | Meaning |\n|---|---|---|",
        bilingual(&def.description)
    );
    for value in &def.values {
        text.push_str(&format!(
            "\n| {} | [`{name_lit}::{}`] | {} ({}) |",
            value.value,
            value.variant,
            doc_escape(&value.description.en),
            doc_escape(&value.description.zh)
        ));
    }
    text.push_str(
        "\n\nOn the wire it is an integer. Decoding is lenient: a value the spec does not list \
         becomes `Unknown` and encodes back unchanged; requests refuse it (see `feishu_hire_types::wire`).",
    );
    let doc = doc(&text);
    let variants: Vec<Ident> = def.values.iter().map(|v| ident(&v.variant)).collect();
    let variant_docs = def.values.iter().map(|v| {
        self::doc(&format!(
            "`{}`: {} ({})",
            v.value,
            doc_escape(&v.description.en),
            doc_escape(&v.description.zh)
        ))
    });
    let values: Vec<TokenStream> = def.values.iter().map(|v| int(v.value)).collect();
    let names = def.values.iter().map(|v| &v.name);
    let descriptions = def.values.iter().map(|v| &v.description.en);
    let descriptions_zh = def.values.iter().map(|v| &v.description.zh);
    let from_str_doc = self::doc(&format!(
        "Parses a listed name (`{}`) or a listed integer (`{}`).",
        def.values.first().map_or("", |v| v.name.as_str()),
        def.values.first().map_or(0, |v| v.value),
    ));
    quote! {
        #doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #(#variant_docs #variants,)*
            #[doc = " A value the spec does not list, kept as received."]
            Unknown(#rt::wire::UnknownValue),
        }

        impl #name {
            #[doc = " The values the spec lists, in spec order."]
            pub const KNOWN: &'static [#name] = &[#(Self::#variants),*];

            #[doc = " The integer on the wire."]
            pub const fn value(self) -> i64 {
                match self {
                    #(Self::#variants => #values,)*
                    Self::Unknown(unknown) => unknown.get(),
                }
            }

            #[doc = " The listed variant for a wire integer, or `None` if the spec does not list it."]
            pub const fn from_known_value(value: i64) -> Option<Self> {
                match value {
                    #(#values => Some(Self::#variants),)*
                    _ => None,
                }
            }

            #[doc = " The snake_case name (as `Display` writes it); `None` for `Unknown`."]
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    #(Self::#variants => Some(#names),)*
                    Self::Unknown(_) => None,
                }
            }

            #[doc = " What the value means, in English; `None` for `Unknown`."]
            pub const fn description(self) -> Option<&'static str> {
                match self {
                    #(Self::#variants => Some(#descriptions),)*
                    Self::Unknown(_) => None,
                }
            }

            #[doc = " What the value means, in Chinese as Feishu writes it; `None` for `Unknown`."]
            pub const fn description_zh(self) -> Option<&'static str> {
                match self {
                    #(Self::#variants => Some(#descriptions_zh),)*
                    Self::Unknown(_) => None,
                }
            }
        }

        impl #rt::wire::WireEnum for #name {
            const TYPE_NAME: &'static str = #name_lit;
            const KNOWN_VALUES: &'static [i64] = &[#(#values),*];

            fn from_known_value(value: i64) -> Option<Self> {
                Self::from_known_value(value)
            }

            fn from_unknown(value: #rt::wire::UnknownValue) -> Self {
                Self::Unknown(value)
            }

            fn value(self) -> i64 {
                self.value()
            }

            fn name(self) -> Option<&'static str> {
                self.name()
            }
        }

        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                #rt::wire::display_enum(*self, f)
            }
        }

        impl ::std::str::FromStr for #name {
            type Err = #rt::wire::ParseEnumError;

            #from_str_doc
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                #rt::wire::parse_enum(text)
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.value())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            #[doc = " Lenient: any integer (or integer in a string) decodes; unlisted ones become `Unknown`."]
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #rt::wire::lenient::enum_value(deserializer)
            }
        }

        #[cfg(feature = "schemars")]
        impl ::schemars::JsonSchema for #name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                #name_lit.into()
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!({ "type": "integer", "enum": [#(#values),*] })
            }
        }
    }
}

/// The bounds of an integer field (or of a list's integers) for schemars, so that the derived
/// schema states them like the emitted one.
fn schemars_range(ty: &TypeRef) -> Option<TokenStream> {
    let bounds = |scalar: &TypeRef| match scalar {
        TypeRef::Scalar(Scalar::Int32) => Some(quote! { range(min = i32::MIN, max = i32::MAX) }),
        TypeRef::Scalar(Scalar::Int64) => Some(quote! { range(min = i64::MIN, max = i64::MAX) }),
        _ => None,
    };
    match ty {
        TypeRef::Array(inner) => bounds(inner).map(|range| quote! { inner(#range) }),
        other => bounds(other),
    }
}

/// The serde attribute arguments of a field, beyond `rename`.
fn field_serde(field: &FieldDef, direction: Direction) -> Vec<TokenStream> {
    let mut args = Vec::new();
    let optional = !field.required;
    let is_array = matches!(field.ty, TypeRef::Array(_));
    if optional {
        args.push(quote! { default });
        args.push(if is_array {
            quote! { skip_serializing_if = "Vec::is_empty" }
        } else {
            quote! { skip_serializing_if = "Option::is_none" }
        });
    }
    let helper = match direction {
        Direction::Request => match (&field.ty, optional) {
            (TypeRef::Enum(_), false) => Some("strict::enum_value"),
            (TypeRef::Enum(_), true) => Some("strict::option_enum"),
            (TypeRef::Array(inner), _) if matches!(**inner, TypeRef::Enum(_)) => {
                Some("strict::enum_vec")
            }
            _ => None,
        },
        Direction::Response => match (&field.ty, optional) {
            (TypeRef::Scalar(Scalar::Int64), false) => Some("lenient::i64"),
            (TypeRef::Scalar(Scalar::Int64), true) => Some("lenient::option_i64"),
            (TypeRef::Scalar(Scalar::Int32), false) => Some("lenient::i32"),
            (TypeRef::Scalar(Scalar::Int32), true) => Some("lenient::option_i32"),
            (TypeRef::Array(inner), _) => Some(match **inner {
                TypeRef::Scalar(Scalar::Int64) => "lenient::i64_vec",
                TypeRef::Scalar(Scalar::Int32) => "lenient::i32_vec",
                _ => "lenient::vec",
            }),
            _ => None,
        },
    };
    if let Some(helper) = helper {
        let path = format!("{RT}::wire::{helper}");
        args.push(quote! { deserialize_with = #path });
    }
    args
}

fn field_type(field: &FieldDef) -> TokenStream {
    let ty = rust_type(&field.ty);
    if field.required || matches!(field.ty, TypeRef::Array(_)) {
        ty
    } else {
        quote! { Option<#ty> }
    }
}

/// The parameter type and conversion for setting a field's value.
pub(super) fn setter_param(ty: &TypeRef) -> (TokenStream, Option<TokenStream>) {
    match ty {
        TypeRef::Scalar(Scalar::String) => (quote! { impl Into<String> }, Some(quote! { .into() })),
        // Lists of strings take `&str`s too.
        TypeRef::Array(inner) if **inner == TypeRef::Scalar(Scalar::String) => (
            quote! { impl IntoIterator<Item = impl Into<String>> },
            Some(quote! { .into_iter().map(Into::into).collect() }),
        ),
        TypeRef::Array(inner) => {
            let inner = rust_type(inner);
            (
                quote! { impl IntoIterator<Item = #inner> },
                Some(quote! { .into_iter().collect() }),
            )
        }
        other => (rust_type(other), None),
    }
}

/// The initialiser of a required field in `new`: the parameter of the same name, converted.
pub(super) fn field_init(id: &Ident, ty: &TypeRef) -> TokenStream {
    match setter_param(ty).1 {
        None => quote! { #id },
        Some(convert) => quote! { #id: #id #convert },
    }
}

pub(super) fn generate_object(def: &ObjectDef) -> TokenStream {
    generate_object_with(def, false)
}

/// The envelope every enveloped answer is: the envelope object's fields plus a generic `data`.
pub(super) fn generate_envelope(model: &Model) -> Option<TokenStream> {
    let Some(TypeDef::Object(envelope)) = model.envelope.as_ref().and_then(|n| model.types.get(n))
    else {
        return None;
    };
    let mut def = envelope.clone();
    def.name = "ApiResponse".to_owned();
    def.description.en = format!(
        "The answer of every enveloped endpoint: `{}`'s fields and the endpoint's `data` (`D`). \
         Each endpoint has an alias, e.g. `CreateExternalInterviewResponse`; clients return the \
         `data` of a successful answer.\n\n{}",
        envelope.name, envelope.description.en
    );
    Some(generate_object_with(&def, true))
}

/// One field of an object, with its docs and attributes.
fn object_field(field: &FieldDef, direction: Direction) -> TokenStream {
    let mut text = bilingual(&field.description);
    if field.required {
        text.push_str("\n\nRequired.");
    }
    if let Some(example) = &field.example {
        text.push_str(&format!("\n\nExample: `{example}`"));
    }
    if field.secret {
        text.push_str("\n\nSecret: `Debug` shows it as `<redacted>`.");
    }
    let doc = doc(&text);
    let mut args = Vec::new();
    if field.rust_name != field.wire_name {
        let wire = &field.wire_name;
        args.push(quote! { rename = #wire });
    }
    args.extend(field_serde(field, direction));
    let serde = (!args.is_empty()).then(|| quote! { #[serde(#(#args),*)] });
    let range = schemars_range(&field.ty)
        .map(|range| quote! { #[cfg_attr(feature = "schemars", schemars(#range))] });
    let name = ident(&field.rust_name);
    let ty = field_type(field);
    quote! { #doc #serde #range pub #name: #ty, }
}

/// An object; with `generic_data`, generic over the type of an added `data` field.
fn generate_object_with(def: &ObjectDef, generic_data: bool) -> TokenStream {
    let name = ident(&def.name);
    let generics = generic_data.then(|| quote! { <D> });
    let direction_note = match def.direction {
        Direction::Request => {
            "Sent to Feishu, so strict: unknown fields, unlisted enum values and integers written as strings \
             are refused when decoding it (see `feishu_hire_types::wire`). Build it with \
             [`new`](Self::new) and the setters."
        }
        Direction::Response => {
            "Received from Feishu, so lenient: unknown fields are ignored, unlisted enum values are kept, \
             integers written as strings and `null` lists are accepted (see `feishu_hire_types::wire`)."
        }
    };
    let doc = doc(&format!(
        "{}\n\n{direction_note}",
        bilingual(&def.description)
    ));
    let has_secret = def.fields.iter().any(|f| f.secret);
    let all_optional = def.fields.iter().all(|f| !f.required);
    let debug = (!has_secret).then(|| quote! { Debug, });
    let default = (all_optional && !generic_data).then(|| quote! { Default, });
    let deny =
        (def.direction == Direction::Request).then(|| quote! { #[serde(deny_unknown_fields)] });
    let fields = def.fields.iter().map(|f| object_field(f, def.direction));
    let data_field = generic_data.then(|| {
        quote! {
            #[doc = " The endpoint's data; absent in most failed answers."]
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub data: Option<D>,
        }
    });
    let methods = object_methods(def, generic_data);
    let redacted_debug = has_secret.then(|| redacted_debug(def));
    quote! {
        #doc
        #[derive(#debug Clone, PartialEq, #default ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "schemars", derive(::schemars::JsonSchema))]
        #deny
        #[non_exhaustive]
        pub struct #name #generics {
            #(#fields)*
            #data_field
        }

        impl #generics #name #generics {
            #methods
        }

        #redacted_debug
    }
}

/// The constructor and setters of an object (and, for the envelope, its `data` accessors).
fn object_methods(def: &ObjectDef, generic_data: bool) -> TokenStream {
    let name = &def.name;
    let required: Vec<&FieldDef> = def.fields.iter().filter(|f| f.required).collect();
    let params = required.iter().map(|f| {
        let id = ident(&f.rust_name);
        let ty = setter_param(&f.ty).0;
        quote! { #id: #ty }
    });
    let inits = def
        .fields
        .iter()
        .map(|f| {
            let id = ident(&f.rust_name);
            if f.required {
                field_init(&id, &f.ty)
            } else if matches!(f.ty, TypeRef::Array(_)) {
                quote! { #id: Vec::new() }
            } else {
                quote! { #id: None }
            }
        })
        .chain(generic_data.then(|| quote! { data: None }));
    let new_doc = doc(&if required.is_empty() {
        format!("Creates an empty `{name}`; every field is optional.")
    } else {
        let names: Vec<String> = required
            .iter()
            .map(|f| format!("`{}`", f.rust_name))
            .collect();
        format!(
            "Creates a `{name}` from its required fields ({}); the optional ones start unset.",
            names.join(", ")
        )
    });
    let allow = (required.len() > 7).then(|| quote! { #[allow(clippy::too_many_arguments)] });
    let setters = def.fields.iter().filter(|f| !f.required).map(|field| {
        let id = ident(&field.rust_name);
        let (param, convert) = setter_param(&field.ty);
        let is_array = matches!(field.ty, TypeRef::Array(_));
        let doc = doc(&format!(
            "{} `{}`: {}",
            if is_array { "Sets (replaces)" } else { "Sets" },
            field.rust_name,
            doc_escape(&field.description.en)
        ));
        let value = if is_array {
            quote! { value #convert }
        } else {
            quote! { Some(value #convert) }
        };
        quote! {
            #doc
            #[must_use]
            pub fn #id(mut self, value: #param) -> Self {
                self.#id = #value;
                self
            }
        }
    });
    let data_methods = generic_data.then(|| {
        quote! {
            #[doc = " Sets `data`."]
            #[must_use]
            pub fn data(mut self, value: D) -> Self {
                self.data = Some(value);
                self
            }

            #[doc = " Whether the answer reports success (`code` 0)."]
            pub fn is_success(&self) -> bool {
                self.code == 0
            }
        }
    });
    quote! {
        #new_doc
        #allow
        pub fn new(#(#params),*) -> Self {
            Self { #(#inits),* }
        }
        #(#setters)*
        #data_methods
    }
}

/// A `Debug` impl that shows secret fields as `<redacted>`.
fn redacted_debug(def: &ObjectDef) -> TokenStream {
    let rt = rt();
    let name = ident(&def.name);
    let name_lit = &def.name;
    let fields = def.fields.iter().map(|field| {
        let id = ident(&field.rust_name);
        let shown = field.rust_name.to_snake_case();
        let value = match (field.secret, field.required) {
            (false, _) => quote! { &self.#id },
            (true, true) => quote! { &#rt::wire::Redacted },
            (true, false) => quote! { &self.#id.as_ref().map(|_| #rt::wire::Redacted) },
        };
        quote! { .field(#shown, #value) }
    });
    quote! {
        impl ::std::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(#name_lit) #(#fields)* .finish()
            }
        }
    }
}
