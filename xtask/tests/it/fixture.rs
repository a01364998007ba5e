//! The fixture spec (`xtask/test-data/fixture/spec/fixture.yaml`, a made-up "library loans" API
//! that uses every construct of the format) and what it generates.
//!
//! - Its generated Rust and JSON Schemas are insta snapshots (`xtask/tests/it/snapshots/it__fixture__*`),
//!   so a change to the generator shows up in review as a diff of real output.
//! - The generated files are also committed in the workspace member
//!   `xtask/test-data/fixture/crate` (package `spec-fixture`), whose `lib.rs` has
//!   `#![deny(warnings)]`; the drift test below keeps them equal to what the generator renders,
//!   so every workspace build and clippy run compiles today's output warning-free.
//!
//! After a change to the generator or to the fixture spec, run `cargo xtask codegen` (it renders
//! the fixture too), then `INSTA_UPDATE=always cargo test -p xtask fixture`, and review the
//! diff of `xtask/test-data/fixture/crate/` and `xtask/tests/it/snapshots/it__fixture__*`.

use xtask::codegen::{self, Layout};

/// The fixture's layout: spec in `spec/`, output in the `spec-fixture` crate next to it.
fn fixture_layout() -> Layout {
    Layout::fixture()
}

fn rendered() -> Vec<codegen::Output> {
    codegen::render(&fixture_layout()).unwrap_or_else(|error| panic!("{error}"))
}

/// A snapshot name for an output path: `crate/src/generated/mod.rs` -> `rust__mod.rs`.
fn snapshot_name(path: &std::path::Path) -> String {
    let file = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    if path.extension().is_some_and(|ext| ext == "rs") {
        format!("rust__{file}")
    } else {
        format!("schema__{file}")
    }
}

#[test]
fn generated_code_and_schemas_match_the_snapshots() {
    let outputs = rendered();
    let names: Vec<String> = outputs
        .iter()
        .map(|(path, _)| snapshot_name(path))
        .collect();
    insta::assert_debug_snapshot!("outputs", names);
    for (path, text) in &outputs {
        insta::assert_snapshot!(snapshot_name(path), text);
    }
}

#[test]
fn committed_fixture_crate_matches_the_generator() {
    let layout = fixture_layout();
    let outputs = rendered();
    let drifts = codegen::drift(&layout, &outputs);
    assert!(
        drifts.is_empty(),
        "the generated files of xtask/test-data/fixture/crate are out of date:\n{}\n\
         run `cargo xtask codegen` and commit the result",
        drifts
            .iter()
            .map(|drift| format!("  {drift}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_fixture_uses_every_construct_of_the_format() {
    let spec = std::fs::read_to_string(fixture_layout().root.join("spec/fixture.yaml"))
        .unwrap_or_else(|error| panic!("{error}"));
    // Every scalar keyword, `array`, and the other constructs the file's header lists.
    for needle in [
        "type: string",
        "type: int32",
        "type: int64",
        "type: float64",
        "type: boolean",
        "type: json",
        "type: array",
        "items: string",
        "items: int32",
        "items: int64",
        "items: float64",
        "items: boolean",
        "items: json",
        "items: Genre",
        "items: NoteInput",
        "required: true",
        "secret: true",
        "- name: type",
        "- name: dueDate",
        "idempotency:",
        "rate_limit:",
        "scopes:",
        "errors:",
        "error_codes:",
        "hosts:",
        "enums:",
        "fields: &note_fields",
        "fields: *note_fields",
        "example: {",
        "example: [",
        "envelope:",
        "path_params:",
        "query_params:",
        "type: LoanKind",
        "method: GET",
        "method: DELETE",
        "method: PATCH",
        "by: key",
        "by: method",
        "by: read_only",
        "by: never",
        "pagination:",
        "data: LoanData",
        "response: LibraryTokenResponse",
        "error_refs:",
    ] {
        assert!(
            spec.contains(needle),
            "the fixture no longer uses `{needle}`"
        );
    }
    let rust: String = rendered()
        .into_iter()
        .filter(|(path, _)| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|(_, text)| text)
        .collect();
    // The strict and lenient helpers each construct needs are all exercised.
    for helper in [
        "strict::enum_value",
        "strict::option_enum",
        "strict::enum_vec",
        "lenient::i64\"",
        "lenient::option_i64",
        "lenient::i32\"",
        "lenient::option_i32",
        "lenient::i64_vec",
        "lenient::i32_vec",
        "lenient::vec",
        "wire::Redacted",
        "pub r#type:",
        "rename = \"dueDate\"",
        "url::push_segment",
        "fn query(&self)",
        "impl ::feishu_hire_types::Paginated for SearchLoansRequest",
        "pub struct ApiResponse<D>",
        "type Body = ::feishu_hire_types::NoBody",
        "type Output = ::feishu_hire_types::NoData",
        "pub kind: Option<super::LoanKind>",
        "macro_rules! for_each_endpoint",
    ] {
        assert!(
            rust.contains(helper),
            "the fixture's Rust no longer uses `{helper}`"
        );
    }
}
