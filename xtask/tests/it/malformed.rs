//! Malformed specs give a full, exact error message: file, line, column, what is wrong and what to do.
//!
//! Each file in `xtask/test-data/malformed/` makes one mistake (its first line says which).
//! The test loads it the way `cargo xtask codegen` does and snapshots the message the command
//! would print, so a change to any message shows up in review. A new file there needs a line in
//! the `malformed!` list below (a test checks that none is forgotten).

use std::fs;
use std::path::{Path, PathBuf};

use xtask::codegen::{self, Error, Layout};
use xtask::diagnostics::Diagnostics;
use xtask::model;

const DIR: &str = "xtask/test-data/malformed";

/// What `cargo xtask codegen` prints for a spec folder holding only `file`.
fn codegen_message(file: &str) -> String {
    let root = Layout::workspace().root;
    let spec_dir = PathBuf::from(DIR);
    let files = [spec_dir.join(file)];
    let outcome = codegen::load_all(&root, &spec_dir, &files)
        .and_then(|loaded| model::build(&loaded).map_err(|d| Error::Spec(Diagnostics(d))));
    match outcome {
        Ok(_) => panic!("{DIR}/{file} was accepted; it must be rejected"),
        Err(Error::Io(message)) => {
            panic!("{DIR}/{file}: I/O error instead of a diagnostic: {message}")
        }
        Err(error @ Error::Spec(_)) => error.to_string(),
    }
}

macro_rules! malformed {
    ($($name:ident),* $(,)?) => {
        const NAMES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                let message = codegen_message(concat!(stringify!($name), ".yaml"));
                insta::assert_snapshot!(stringify!($name), message);
            }
        )*
    };
}

malformed! {
    array_without_items,
    bad_indentation,
    body_of_two_endpoints,
    data_and_response,
    duplicate_param,
    error_ref_and_placeholder_names,
    get_with_body,
    idempotency_by_method_on_post,
    pagination_incomplete,
    placeholder_typo,
    cycle,
    duplicate_error_code,
    duplicate_field,
    duplicate_key,
    enum_value_not_integer,
    feishu_integer_type,
    fraction_for_whole_number,
    idempotency_field_not_string,
    invalid_identifier,
    method_not_listed,
    missing_required_key,
    object_in_request_and_response,
    path_without_slash,
    rate_limit_mistakes,
    secret_on_non_string,
    tab_indentation,
    type_defined_twice,
    undefined_type,
    unknown_key,
    wrong_format_version,
    wrong_scalar_type,
}

#[test]
fn every_malformed_spec_has_a_test() {
    let dir = Layout::workspace().root.join(DIR);
    let mut on_disk: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .map(|path| stem(&path))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = NAMES.iter().map(|n| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "add each file of {DIR} to the `malformed!` list"
    );
    assert!(
        listed.len() >= 12,
        "issue 3 asks for at least twelve distinct mistakes"
    );
}

#[test]
fn every_message_names_the_file_a_position_and_what_to_do() {
    for name in NAMES {
        let file = format!("{name}.yaml");
        let message = codegen_message(&file);
        let location = format!("--> {DIR}/{file}:");
        assert!(
            message.contains(&location),
            "{file}: no location in\n{message}"
        );
        assert!(
            !message.contains(":0:0"),
            "{file}: no real position in\n{message}"
        );
        assert!(
            message.contains("= help: "),
            "{file}: no advice in\n{message}"
        );
        assert!(
            message.ends_with("nothing was generated"),
            "{file}: unexpected ending in\n{message}"
        );
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
