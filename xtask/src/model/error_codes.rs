//! The error-code pass: platform-wide codes and each endpoint's table, merged into one list in
//! which a code has one name and one category everywhere.

use heck::{ToSnakeCase, ToUpperCamelCase};

use super::{Context, ErrorCodeDef, Reporter, Site, pos};
use crate::diagnostics::Position;
use crate::spec::ErrorCodeSpec;
use std::collections::HashMap;

impl Context<'_> {
    /// Pass 5: every error code of every file.
    pub(super) fn collect_error_codes(&mut self) {
        let files = self.r.files;
        for (fi, file) in files.iter().enumerate() {
            // A row repeated within one table is reported once, as such, and not registered again.
            let rows = first_rows(
                &mut self.r,
                fi,
                &file.spec.error_codes,
                "the platform error codes",
            );
            for row in rows {
                self.register_code(fi, row);
            }
            for endpoint in &file.spec.endpoints {
                let table = format!("the error table of `{}`", endpoint.name.value);
                for row in first_rows(&mut self.r, fi, &endpoint.errors, &table) {
                    self.register_code(fi, row);
                }
            }
        }
    }

    /// Records one row of an error table, or reports how it conflicts with an earlier one.
    fn register_code(&mut self, fi: usize, row: &ErrorCodeSpec) {
        let position = pos(row.code.referenced);
        let variant = row.name.value.to_upper_camel_case();
        if !self.r.check_identifier(
            fi,
            pos(row.name.referenced),
            "error code name",
            &row.name.value,
            &variant,
        ) {
            return;
        }
        let def = ErrorCodeDef {
            code: row.code.value,
            variant: variant.clone(),
            http_status: row.http_status,
            category: row.category,
            description: row.description.clone(),
            advice: row.advice.clone(),
        };
        if let Some((known, site)) = self.codes.get(&row.code.value) {
            if known.variant != def.variant || known.category != def.category {
                let site = site.clone();
                self.r.repeated(
                    fi,
                    position,
                    format!(
                        "error code {} is defined differently elsewhere (as `{}`)",
                        row.code.value,
                        known.variant.to_snake_case()
                    ),
                    "defined again here",
                    &site,
                    "first defined here",
                    "the same code must have the same name and category everywhere",
                );
            }
            return;
        }
        if let Some(other) = self.code_names.get(&variant) {
            self.r.error(
                fi,
                pos(row.name.referenced),
                format!(
                    "error name `{}` is already used by code {other}",
                    row.name.value
                ),
                "give each error code its own name",
            );
            return;
        }
        self.code_names.insert(variant, row.code.value);
        self.codes
            .insert(row.code.value, (def, Site { file: fi, position }));
    }
}

/// The rows of an error table whose code has not appeared earlier in it; reports the others.
fn first_rows<'r>(
    b: &mut Reporter<'_>,
    fi: usize,
    rows: &'r [ErrorCodeSpec],
    table: &str,
) -> Vec<&'r ErrorCodeSpec> {
    let mut seen: HashMap<i64, Position> = HashMap::new();
    let mut first_rows = Vec::new();
    for row in rows {
        let position = pos(row.code.referenced);
        if let Some(first) = seen.get(&row.code.value).copied() {
            b.repeated(
                fi,
                position,
                format!("error code {} appears twice in {table}", row.code.value),
                "listed again here",
                &Site {
                    file: fi,
                    position: first,
                },
                "first listed here",
                "keep one row per code",
            );
        } else {
            seen.insert(row.code.value, position);
            first_rows.push(row);
        }
    }
    first_rows
}
