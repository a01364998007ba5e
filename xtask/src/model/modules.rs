//! The passes that build each file's module: hosts, the response envelope and endpoints (each
//! checked by `endpoint.rs`); then what only all endpoints together show: an envelope for every
//! enveloped answer, one endpoint per request type, generated names that clash with spec types.

use std::collections::HashMap;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

use super::endpoint::{build_endpoint, check_envelope};
use super::{Context, EndpointDef, HostDef, Module, ResponseDef, Site, TypeDef, closest, pos};
use crate::load::LoadedFile;
use crate::spec::EndpointSpec;

impl Context<'_> {
    /// The hosts of one file; a name may be defined once across all files.
    pub(super) fn collect_hosts(&mut self, fi: usize, file: &LoadedFile) {
        for host in &file.spec.hosts {
            let site = Site {
                file: fi,
                position: pos(host.name.referenced),
            };
            if let Some(first) = self.host_sites.get(&host.name.value).cloned() {
                self.r.repeated(
                    fi,
                    site.position,
                    format!("host `{}` is defined twice", host.name.value),
                    "defined again here",
                    &first,
                    "first defined here",
                    "hosts share one namespace across all spec files; remove or rename one",
                );
                continue;
            }
            self.host_sites.insert(host.name.value.clone(), site);
            self.hosts.push(HostDef {
                const_name: format!("HOST_{}", host.name.value.to_shouty_snake_case()),
                url: host.url.clone(),
                description: host.description.clone(),
            });
        }
    }

    /// The envelope object, if this file declares it: once across all files, and an object
    /// with what every answer has.
    pub(super) fn resolve_envelope(&mut self, fi: usize, file: &LoadedFile) {
        let Some(name) = &file.spec.envelope else {
            return;
        };
        let site = Site {
            file: fi,
            position: pos(name.referenced),
        };
        if let Some((_, first)) = self.envelope.clone() {
            self.r.repeated(
                fi,
                site.position,
                "the response envelope is declared twice",
                "declared again here",
                &first,
                "first declared here",
                "declare it in one file only",
            );
        } else if !matches!(self.types.get(&name.value), Some(TypeDef::Object(_))) {
            self.r.error(
                fi,
                site.position,
                format!(
                    "the envelope names `{}`, which is not a defined object",
                    name.value
                ),
                "name the object with the fields every answer has (`code`, `msg`, `error`)",
            );
        } else {
            check_envelope(&mut self.r, fi, site.position, &name.value, &self.types);
            self.envelope = Some((name.value.clone(), site));
        }
    }

    /// The module of one file: its endpoints, checked, and the names of its types.
    pub(super) fn build_module(&mut self, fi: usize, file: &LoadedFile) {
        let mut endpoints = Vec::new();
        for endpoint in &file.spec.endpoints {
            let site = Site {
                file: fi,
                position: pos(endpoint.name.referenced),
            };
            if let Some(first) = self.endpoint_sites.get(&endpoint.name.value).cloned() {
                self.r.repeated(
                    fi,
                    site.position,
                    format!("endpoint `{}` is defined twice", endpoint.name.value),
                    "defined again here",
                    &first,
                    "first defined here",
                    "endpoints share one namespace across all spec files; rename one of them",
                );
                continue;
            }
            self.endpoint_sites
                .insert(endpoint.name.value.clone(), site.clone());
            if let Some(mut def) = build_endpoint(&mut self.r, fi, endpoint, &self.types) {
                self.resolve_error_refs(fi, endpoint, &mut def);
                self.record_endpoint(&def, &site);
                endpoints.push(def);
            }
        }
        let type_names = file
            .spec
            .enums
            .iter()
            .map(|e| e.name.value.clone())
            .chain(file.spec.objects.iter().map(|o| o.name.value.clone()))
            .collect();
        self.modules.push(Module {
            name: file.module.clone(),
            spec_path: file.path.clone(),
            source_url: file.spec.source.clone(),
            endpoints,
            type_names,
        });
    }

    /// Adds the codes an endpoint names in `error_refs` to its error table: codes declared in
    /// any file, referred to by their snake_case name, so a table shared by many endpoints is
    /// written once.
    fn resolve_error_refs(&mut self, fi: usize, endpoint: &EndpointSpec, def: &mut EndpointDef) {
        for name in &endpoint.error_refs {
            let variant = name.value.to_upper_camel_case();
            match self.code_names.get(&variant) {
                Some(code) if !def.errors.contains(code) => def.errors.push(*code),
                Some(code) => {
                    self.r.error(
                        fi,
                        pos(name.referenced),
                        format!(
                            "error code `{}` ({code}) is already in the error table of `{}`",
                            name.value, endpoint.name.value
                        ),
                        "list each code once, in `errors` or in `error_refs`",
                    );
                }
                None => {
                    let known: Vec<String> =
                        self.code_names.keys().map(|n| n.to_snake_case()).collect();
                    let help = match closest(&name.value, &known) {
                        Some(near) => format!("did you mean `{near}`? "),
                        None => String::new(),
                    };
                    self.r.error(
                        fi,
                        pos(name.referenced),
                        format!(
                            "`error_refs` names `{}`, which no spec declares",
                            name.value
                        ),
                        format!(
                            "{help}name an error code declared under `error_codes` or an \
                             endpoint's `errors` in any spec file, by its `name`"
                        ),
                    );
                }
            }
        }
    }

    /// What later passes need of an endpoint: the roots of both directions, and the names of
    /// the types generated for it.
    fn record_endpoint(&mut self, def: &EndpointDef, site: &Site) {
        if let Some(body) = &def.body {
            self.request_roots.push(body.clone());
        }
        if let Some(output) = def.output_type() {
            self.response_roots.push(output.to_owned());
        }
        if def.generates_request_type {
            self.generated_names
                .push((def.request_type.clone(), site.clone()));
        }
        if matches!(def.response, ResponseDef::Data(_)) {
            self.generated_names
                .push((def.response_alias(), site.clone()));
        }
    }

    /// Every endpoint whose answer is the envelope needs one.
    pub(super) fn check_envelope_declared(&mut self) {
        if self.envelope.is_some() {
            return;
        }
        for (fi, file) in self.r.files.iter().enumerate() {
            for endpoint in &file.spec.endpoints {
                if endpoint.response.is_none() {
                    self.r.error(
                        fi,
                        pos(endpoint.name.referenced),
                        format!(
                            "endpoint `{}` answers with the platform envelope, but no spec declares it",
                            endpoint.name.value
                        ),
                        "add `envelope: ErrorEnvelope` (the object with `code`, `msg` and `error`) to \
                         one spec file, or give the endpoint a whole-body `response:`",
                    );
                }
            }
        }
    }

    /// A body object that is itself an endpoint's request type can serve only that endpoint.
    pub(super) fn check_request_types(&mut self) {
        let mut request_types: HashMap<String, String> = HashMap::new();
        for module in &self.modules {
            for endpoint in &module.endpoints {
                if let Some(other) =
                    request_types.insert(endpoint.request_type.clone(), endpoint.name.clone())
                    && let Some(site) = self.endpoint_sites.get(&endpoint.name).cloned()
                {
                    self.r.error(
                        site.file,
                        site.position,
                        format!(
                            "`{}` is the request type of both `{other}` and `{}`",
                            endpoint.request_type, endpoint.name
                        ),
                        "an endpoint without parameters sends its body object as its request \
                         type, so each needs its own object; declare a copy (a YAML anchor can \
                         share the field list)",
                    );
                }
            }
        }
    }

    /// Two paths that reach the same segment by the same literal segments must name its
    /// placeholder alike: a router (the sandbox's, most others) matches them as one route
    /// tree and cannot hold two names for one segment.
    pub(super) fn check_placeholder_names_agree(&mut self) {
        let endpoints: Vec<(String, String)> = self
            .modules
            .iter()
            .flat_map(|m| &m.endpoints)
            .map(|e| (e.name.clone(), e.path.clone()))
            .collect();
        for (i, (name, path)) in endpoints.iter().enumerate() {
            for (other_name, other_path) in &endpoints[..i] {
                let Some((mine, theirs)) = first_placeholder_clash(path, other_path) else {
                    continue;
                };
                if let Some(site) = self.endpoint_sites.get(name).cloned() {
                    self.r.error(
                        site.file,
                        site.position,
                        format!(
                            "the path of `{name}` names a segment `:{mine}` that the path of \
                             `{other_name}` names `:{theirs}`"
                        ),
                        format!(
                            "`{path}` and `{other_path}` share the segments before it; use one \
                             name for it in both"
                        ),
                    );
                }
            }
        }
    }

    /// The types generated for endpoints must not clash with the spec's own types.
    pub(super) fn check_generated_names(&mut self) {
        for (name, site) in &self.generated_names {
            if let Some(first) = self.type_sites.get(name).cloned() {
                self.r
                    .repeated(
                        site.file,
                        site.position,
                        format!("the endpoint's generated type `{name}` is also a type of the specs"),
                        "this endpoint generates it",
                        &first,
                        "defined here",
                        "rename the type",
                    )
                    .notes
                    .push(
                        "an endpoint gets a generated `<Name>Response` (the enveloped answer) and, \
                         with parameters or without a body, `<Name>Request`"
                            .to_owned(),
                    );
            }
        }
    }
}

/// The first segment where two paths, equal so far, both have a placeholder but of different
/// names: `(this path's name, the other's)`.
fn first_placeholder_clash<'p>(path: &'p str, other: &'p str) -> Option<(&'p str, &'p str)> {
    for (mine, theirs) in path.split('/').zip(other.split('/')) {
        match (mine.strip_prefix(':'), theirs.strip_prefix(':')) {
            (Some(a), Some(b)) if a != b => return Some((a, b)),
            (Some(_), Some(_)) => {}
            (None, None) if mine == theirs => {}
            _ => return None,
        }
    }
    None
}
