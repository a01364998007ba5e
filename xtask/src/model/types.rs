//! The passes over named types: one namespace for enums and objects, their values and fields,
//! cycles through fields held by value, and the direction (strict or lenient) of each object.

use std::collections::{BTreeMap, HashMap, HashSet};

use heck::{ToSnakeCase, ToUpperCamelCase};

use super::{
    Context, Direction, EnumDef, EnumValueDef, FieldDef, ObjectDef, PRELUDE_NAMES, Reporter,
    SCALAR_KEYWORDS, Scalar, Site, TypeDef, TypeRef, pos,
};
use crate::diagnostics::Position;
use crate::spec::FieldSpec;

impl Context<'_> {
    /// Pass 1: the names of all enums and objects, one namespace across all files.
    pub(super) fn name_types(&mut self) {
        let files = self.r.files;
        for (fi, file) in files.iter().enumerate() {
            let names = file
                .spec
                .enums
                .iter()
                .map(|e| (&e.name, true))
                .chain(file.spec.objects.iter().map(|o| (&o.name, false)));
            for (name, is_enum) in names {
                let position = pos(name.referenced);
                if let Some(first) = self.type_sites.get(&name.value).cloned() {
                    self.r.repeated(
                        fi,
                        position,
                        format!("type `{}` is defined twice", name.value),
                        "defined again here",
                        &first,
                        "first defined here",
                        "types share one namespace across all spec files; rename one of them",
                    );
                    continue;
                }
                if name.value.to_upper_camel_case() != name.value {
                    self.r.error(
                        fi,
                        position,
                        format!("type name `{}` is not UpperCamelCase", name.value),
                        format!("write it as `{}`", name.value.to_upper_camel_case()),
                    );
                }
                if Scalar::parse(&name.value).is_some()
                    || name.value == "array"
                    || PRELUDE_NAMES.contains(&name.value.as_str())
                {
                    self.r.error(
                        fi,
                        position,
                        format!(
                            "type name `{}` is a built-in type or Rust prelude name",
                            name.value
                        ),
                        "choose another name",
                    );
                }
                self.type_sites
                    .insert(name.value.clone(), Site { file: fi, position });
                self.kinds.insert(name.value.clone(), is_enum);
            }
        }
    }

    /// Pass 2: enums and their values.
    pub(super) fn build_enums(&mut self) {
        let files = self.r.files;
        for (fi, file) in files.iter().enumerate() {
            for spec in &file.spec.enums {
                let mut seen_values: HashMap<i64, Position> = HashMap::new();
                let mut seen_names: HashMap<String, Position> = HashMap::new();
                let mut values = Vec::new();
                for value in &spec.values {
                    let value_pos = pos(value.value.referenced);
                    let name_pos = pos(value.name.referenced);
                    if let Some(first) = seen_values.insert(value.value.value, value_pos) {
                        self.r.repeated(
                            fi,
                            value_pos,
                            format!(
                                "enum `{}` lists the value {} twice",
                                spec.name.value, value.value.value
                            ),
                            "listed again here",
                            &Site {
                                file: fi,
                                position: first,
                            },
                            "first listed here",
                            "each value appears once; remove one of them or change its number",
                        );
                    }
                    let variant = value.name.value.to_upper_camel_case();
                    if value.name.value.to_snake_case() != value.name.value {
                        self.r.error(
                            fi,
                            name_pos,
                            format!("enum value name `{}` is not snake_case", value.name.value),
                            format!("write it as `{}`", value.name.value.to_snake_case()),
                        );
                    } else if self.r.check_identifier(
                        fi,
                        name_pos,
                        "enum value name",
                        &value.name.value,
                        &variant,
                    ) && (variant == "Unknown")
                    {
                        self.r.error(
                        fi,
                        name_pos,
                        "enum value name `unknown` is reserved for values the spec does not list",
                        "choose another name",
                    );
                    }
                    if let Some(first) = seen_names.insert(value.name.value.clone(), name_pos) {
                        self.r.repeated(
                            fi,
                            name_pos,
                            format!(
                                "enum `{}` has two values named `{}`",
                                spec.name.value, value.name.value
                            ),
                            "named again here",
                            &Site {
                                file: fi,
                                position: first,
                            },
                            "first named here",
                            "rename one of them",
                        );
                    }
                    values.push(EnumValueDef {
                        value: value.value.value,
                        name: value.name.value.clone(),
                        variant,
                        description: value.description.clone(),
                    });
                }
                self.types.insert(
                    spec.name.value.clone(),
                    TypeDef::Enum(EnumDef {
                        name: spec.name.value.clone(),
                        description: spec.description.clone(),
                        values,
                    }),
                );
            }
        }
    }

    /// Pass 3: objects and their fields, with field types resolved against pass 1.
    pub(super) fn build_objects(&mut self) {
        let files = self.r.files;
        for (fi, file) in files.iter().enumerate() {
            for spec in &file.spec.objects {
                let mut seen_wire: HashMap<String, Position> = HashMap::new();
                let mut seen_rust: HashMap<String, String> = HashMap::new();
                let mut fields = Vec::new();
                for field in &spec.fields {
                    let name_pos = pos(field.name.referenced);
                    let wire = field.name.value.clone();
                    if let Some(first) = seen_wire.insert(wire.clone(), name_pos) {
                        self.r.repeated(
                            fi,
                            name_pos,
                            format!("object `{}` has two fields named `{wire}`", spec.name.value),
                            "declared again here",
                            &Site {
                                file: fi,
                                position: first,
                            },
                            "first declared here",
                            "remove or rename one of them",
                        );
                        continue;
                    }
                    let rust_name = wire.to_snake_case();
                    if !self
                        .r
                        .check_identifier(fi, name_pos, "field name", &wire, &rust_name)
                    {
                        continue;
                    }
                    if let Some(other) = seen_rust.insert(rust_name.clone(), wire.clone()) {
                        self.r.error(
                        fi,
                        name_pos,
                        format!(
                            "fields `{other}` and `{wire}` of `{}` both become `{rust_name}` in Rust",
                            spec.name.value
                        ),
                        "rename one of them",
                    );
                        continue;
                    }
                    if rust_name == "new" {
                        self.r.error(
                        fi,
                        name_pos,
                        "a field may not be named `new`: it would clash with the generated constructor",
                        "rename the field",
                    );
                        continue;
                    }
                    let Some(ty) = resolve_field_type(&mut self.r, fi, field, &self.kinds) else {
                        continue;
                    };
                    if field.secret && ty != TypeRef::Scalar(Scalar::String) {
                        self.r.error(
                            fi,
                            name_pos,
                            format!("field `{wire}` is marked `secret` but is not a string"),
                            "only string fields can be secret; remove `secret: true`",
                        );
                    }
                    fields.push(FieldDef {
                        wire_name: wire,
                        rust_name,
                        ty,
                        required: field.required,
                        secret: field.secret,
                        description: field.description.clone(),
                        example: field.example.clone(),
                    });
                }
                self.types.insert(
                    spec.name.value.clone(),
                    TypeDef::Object(ObjectDef {
                        name: spec.name.value.clone(),
                        description: spec.description.clone(),
                        direction: Direction::Response,
                        fields,
                    }),
                );
            }
        }
    }

    /// Pass 4: cycles through fields held by value (an array breaks the cycle: it is on the heap).
    pub(super) fn check_cycles(&mut self) {
        let files = self.r.files;
        for (fi, file) in files.iter().enumerate() {
            for spec in &file.spec.objects {
                if let Some(path) = find_cycle(&spec.name.value, &self.types) {
                    // Report each cycle once, at the alphabetically first member.
                    if path.iter().min() == Some(&spec.name.value) {
                        self.r.error(
                        fi,
                        pos(spec.name.referenced),
                        format!("objects contain each other: {}", path.join(" -> ")),
                        "such a value would be infinitely large; make one of the fields an `array`, or remove it",
                    );
                    }
                }
            }
        }
    }

    /// The last pass: objects reachable from a request are strict, everything else lenient; an
    /// object reachable from both sides is an error.
    pub(super) fn assign_directions(&mut self) {
        if let Some((name, _)) = &self.envelope {
            self.response_roots.push(name.clone());
        }
        let request_side = reachable(self.request_roots.iter().map(String::as_str), &self.types);
        let response_side = reachable(self.response_roots.iter().map(String::as_str), &self.types);
        for name in request_side.intersection(&response_side) {
            if let Some(site) = self.type_sites.get(name) {
                let site = site.clone();
                self.r.error(
                    site.file,
                    site.position,
                    format!("object `{name}` is used both in a request and in a response"),
                    "requests are decoded strictly and responses leniently, so each needs its own object; \
                     declare a copy for one side (a YAML anchor `&x` and alias `*x` can share the field list)",
                );
            }
        }
        for name in &request_side {
            if let Some(TypeDef::Object(object)) = self.types.get_mut(name) {
                object.direction = Direction::Request;
            }
        }
    }
}

/// What the author of an undefined type name probably meant.
fn undefined_type_help(name: &str, kinds: &HashMap<String, bool>) -> String {
    let alias = match name.to_ascii_lowercase().as_str() {
        "integer" | "int" | "long" => Some(
            "Feishu's documentation says `integer`; the format wants the width: `int32`, or \
             `int64` where Feishu notes int64 (timestamps, large ids)",
        ),
        "number" | "float" | "double" | "float32" | "f64" => Some("write `float64`"),
        "bool" => Some("write `boolean`"),
        "str" | "text" => Some("write `string`"),
        "object" | "map" | "any" => Some(
            "write `json` for a free-form value, or define an object under `objects:` and name it",
        ),
        "list" | "vec" | "[]" => Some("write `type: array` with `items:` naming the element type"),
        _ => None,
    };
    if let Some(alias) = alias {
        return alias.to_owned();
    }
    let defined = kinds
        .keys()
        .map(|known| {
            (
                strsim::jaro_winkler(&name.to_lowercase(), &known.to_lowercase()),
                known,
            )
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mut help = match defined {
        Some((_, known)) => format!("did you mean `{known}`? "),
        None => String::new(),
    };
    help.push_str(&format!(
        "use one of {SCALAR_KEYWORDS}, or define `{name}` under `enums:` or `objects:` in any spec file"
    ));
    help
}

fn resolve_field_type(
    b: &mut Reporter<'_>,
    fi: usize,
    field: &FieldSpec,
    kinds: &HashMap<String, bool>,
) -> Option<TypeRef> {
    let ty_pos = pos(field.ty.referenced);
    let named = |name: &str| -> Option<TypeRef> {
        if let Some(scalar) = Scalar::parse(name) {
            return Some(TypeRef::Scalar(scalar));
        }
        match kinds.get(name) {
            Some(true) => Some(TypeRef::Enum(name.to_owned())),
            Some(false) => Some(TypeRef::Object(name.to_owned())),
            None => None,
        }
    };
    let undefined = |b: &mut Reporter<'_>, position: Position, name: &str| {
        b.error(
            fi,
            position,
            format!(
                "field `{}` refers to undefined type `{name}`",
                field.name.value
            ),
            undefined_type_help(name, kinds),
        );
    };
    if field.ty.value == "array" {
        let Some(items) = &field.items else {
            b.error(
                fi,
                ty_pos,
                format!("array field `{}` has no `items`", field.name.value),
                "add `items:` with the element type",
            );
            return None;
        };
        if items.value == "array" {
            b.error(
                fi,
                pos(items.referenced),
                format!("field `{}` is an array of arrays", field.name.value),
                "nested arrays are not supported; wrap the inner array in an object",
            );
            return None;
        }
        match named(&items.value) {
            Some(inner) => Some(TypeRef::Array(Box::new(inner))),
            None => {
                undefined(b, pos(items.referenced), &items.value);
                None
            }
        }
    } else {
        if let Some(items) = &field.items {
            b.error(
                fi,
                pos(items.referenced),
                format!(
                    "field `{}` has `items` but is not an array",
                    field.name.value
                ),
                "remove `items:`, or write `type: array`",
            );
            return None;
        }
        let resolved = named(&field.ty.value);
        if resolved.is_none() {
            undefined(b, ty_pos, &field.ty.value);
        }
        resolved
    }
}

/// The object names a field of `object` holds by value (not through an array).
fn by_value_children(object: &ObjectDef) -> impl Iterator<Item = &str> {
    object.fields.iter().filter_map(|f| match &f.ty {
        TypeRef::Object(name) => Some(name.as_str()),
        _ => None,
    })
}

fn find_cycle(start: &str, types: &BTreeMap<String, TypeDef>) -> Option<Vec<String>> {
    fn walk(
        current: &str,
        start: &str,
        types: &BTreeMap<String, TypeDef>,
        path: &mut Vec<String>,
        visited: &mut HashSet<String>,
    ) -> bool {
        let Some(TypeDef::Object(object)) = types.get(current) else {
            return false;
        };
        for child in by_value_children(object) {
            if child == start {
                path.push(child.to_owned());
                return true;
            }
            if visited.insert(child.to_owned()) {
                path.push(child.to_owned());
                if walk(child, start, types, path, visited) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut visited = HashSet::new();
    walk(start, start, types, &mut path, &mut visited).then_some(path)
}

fn reachable<'a>(
    roots: impl Iterator<Item = &'a str>,
    types: &BTreeMap<String, TypeDef>,
) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut stack: Vec<String> = roots.map(str::to_owned).collect();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(TypeDef::Object(object)) = types.get(&name) {
            for field in &object.fields {
                let mut ty = &field.ty;
                if let TypeRef::Array(inner) = ty {
                    ty = inner;
                }
                if let TypeRef::Object(child) = ty {
                    stack.push(child.clone());
                }
            }
        }
    }
    // Only objects have a direction.
    seen.retain(|name| matches!(types.get(name), Some(TypeDef::Object(_))));
    seen
}
