//! `cargo xtask codegen`: load `spec/`, check it, render every generated file, write or compare.
//!
//! Rendering is pure (specs in, file contents out), so the same function serves
//! the command, its `--check` mode and the drift test that runs in `cargo test`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::diagnostics::Diagnostics;
use crate::load::{self, LoadedFile};
use crate::{gen_openapi, gen_rust, gen_schema, model};

/// The command that regenerates everything.
pub const COMMAND: &str = "cargo xtask codegen";

/// Where the inputs are and where the outputs go.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Workspace root; every other path is relative to it.
    pub root: PathBuf,
    /// Folder of the YAML specs.
    pub spec_dir: PathBuf,
    /// Folder of the generated Rust modules.
    pub rust_dir: PathBuf,
    /// Folder of the generated JSON Schemas.
    pub schema_dir: PathBuf,
    /// Where the spec format's own JSON Schema goes, if anywhere.
    pub format_schema: Option<PathBuf>,
    /// Where the OpenAPI 3.1 document of all endpoints goes, and the API's title.
    pub openapi: Option<(PathBuf, &'static str)>,
}

impl Layout {
    /// Every layout `cargo xtask codegen` renders: the workspace's specs and the format's fixture.
    pub fn all() -> Vec<Layout> {
        vec![Layout::workspace(), Layout::fixture()]
    }

    /// The fixture spec (`xtask/test-data/fixture/spec/`), a made-up API that uses every construct
    /// of the format; its output is compiled by the `spec-fixture` crate next to it.
    pub fn fixture() -> Self {
        let workspace = Layout::workspace();
        Layout {
            root: workspace.root.join("xtask/test-data/fixture"),
            spec_dir: PathBuf::from("spec"),
            rust_dir: PathBuf::from("crate/src/generated"),
            schema_dir: PathBuf::from("crate/schemas"),
            format_schema: None,
            openapi: Some((
                PathBuf::from("crate/openapi.json"),
                "Library loans (the spec format's fixture)",
            )),
        }
    }

    /// This workspace's layout.
    pub fn workspace() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Layout {
            spec_dir: PathBuf::from("spec"),
            rust_dir: PathBuf::from("crates/feishu-hire-types/src/generated"),
            schema_dir: PathBuf::from("crates/feishu-hire-types/schemas"),
            format_schema: Some(PathBuf::from("spec/spec-format.schema.json")),
            openapi: Some((
                PathBuf::from("crates/feishu-hire-types/openapi.json"),
                "Feishu (Lark) open API: Hire external interviews",
            )),
            root,
        }
    }
}

/// Why codegen stopped.
#[derive(Debug)]
pub enum Error {
    /// The specs are wrong; each diagnostic says where and what.
    Spec(Diagnostics),
    /// Reading or writing a file failed, or the generator produced invalid Rust (a bug).
    Io(String),
}

impl Error {
    /// The error as text: styled for a terminal, or plain (as `Display` writes it).
    pub fn render(&self, styled: bool) -> String {
        match self {
            Error::Spec(diagnostics) => {
                let count = diagnostics.0.len();
                format!(
                    "{}\n\n{count} error{} in the specs; nothing was generated",
                    diagnostics.render(styled),
                    if count == 1 { "" } else { "s" }
                )
            }
            Error::Io(message) => message.clone(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Error {}

/// One generated file: path relative to the root, and contents.
pub type Output = (PathBuf, String);

/// Finds the spec files of a folder (recursively, `*.yaml`), sorted by path.
pub fn spec_files(root: &Path, spec_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), Error> {
        let entries = fs::read_dir(root.join(dir))
            .map_err(|e| Error::Io(format!("cannot read {}: {e}", dir.display())))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| Error::Io(format!("cannot read {}: {e}", dir.display())))?;
            let relative = dir.join(entry.file_name());
            if entry.path().is_dir() {
                walk(root, &relative, found)?;
            } else if relative
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
            {
                found.push(relative);
            }
        }
        Ok(())
    }
    let mut found = Vec::new();
    walk(root, spec_dir, &mut found)?;
    found.sort();
    Ok(found)
}

/// The Rust module a spec file generates: its path below the spec folder, in snake_case.
pub fn module_name(spec_dir: &Path, file: &Path) -> String {
    use heck::ToSnakeCase;
    let relative = file
        .strip_prefix(spec_dir)
        .unwrap_or(file)
        .with_extension("");
    let joined: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    joined.join("_").to_snake_case()
}

/// Loads and checks the given spec files; every problem in every file is reported.
pub fn load_all(root: &Path, spec_dir: &Path, files: &[PathBuf]) -> Result<Vec<LoadedFile>, Error> {
    let mut loaded = Vec::new();
    let mut diagnostics = Vec::new();
    for file in files {
        let source = fs::read_to_string(root.join(file))
            .map_err(|e| Error::Io(format!("cannot read {}: {e}", file.display())))?;
        let shown = file.to_string_lossy().replace('\\', "/");
        match load::load(&shown, &module_name(spec_dir, file), &source) {
            Ok(file) => loaded.push(file),
            Err(mut found) => diagnostics.append(&mut found),
        }
    }
    if diagnostics.is_empty() {
        Ok(loaded)
    } else {
        Err(Error::Spec(Diagnostics(diagnostics)))
    }
}

/// Renders every generated file of a layout, without touching the disk's outputs.
pub fn render(layout: &Layout) -> Result<Vec<Output>, Error> {
    let files = spec_files(&layout.root, &layout.spec_dir)?;
    let loaded = load_all(&layout.root, &layout.spec_dir, &files)?;
    let model = model::build(&loaded).map_err(|d| Error::Spec(Diagnostics(d)))?;
    let label = format!("`{}/`", layout.spec_dir.display());
    let mut outputs = Vec::new();
    let schema_dir_from_rust = relative_path(&layout.rust_dir, &layout.schema_dir);
    for (name, text) in
        gen_rust::generate(&model, &label, &schema_dir_from_rust).map_err(Error::Io)?
    {
        outputs.push((layout.rust_dir.join(name), text));
    }
    for (name, text) in gen_schema::generate(&model) {
        outputs.push((layout.schema_dir.join(name), text));
    }
    if let Some((path, title)) = &layout.openapi {
        outputs.push((path.clone(), gen_openapi::generate(&model, &label, title)));
    }
    if let Some(path) = &layout.format_schema {
        let mut schema = load::format_schema();
        if let Some(object) = schema.as_object_mut() {
            object.insert(
                "$comment".into(),
                gen_schema::header("`xtask/src/spec.rs`").into(),
            );
        }
        outputs.push((path.clone(), gen_schema::to_pretty(&schema)));
    }
    Ok(outputs)
}

/// `to` relative to `from` (both relative to the root), with `/` separators.
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// A generated file that differs from what the specs produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The file is missing.
    Missing(PathBuf),
    /// The file's contents differ.
    Stale(PathBuf),
    /// The file is in an output folder but no spec produces it any more.
    Orphan(PathBuf),
}

impl Drift {
    /// The same drift with its path placed under `prefix`.
    pub fn under(self, prefix: &Path) -> Drift {
        match self {
            Drift::Missing(path) => Drift::Missing(prefix.join(path)),
            Drift::Stale(path) => Drift::Stale(prefix.join(path)),
            Drift::Orphan(path) => Drift::Orphan(prefix.join(path)),
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::Missing(path) => write!(f, "missing: {}", path.display()),
            Drift::Stale(path) => write!(f, "stale:   {}", path.display()),
            Drift::Orphan(path) => write!(f, "orphan:  {} (no spec produces it)", path.display()),
        }
    }
}

fn generated_files_on_disk(layout: &Layout) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for (dir, suffix) in [
        (&layout.rust_dir, ".rs"),
        (&layout.schema_dir, ".schema.json"),
    ] {
        let Ok(entries) = fs::read_dir(layout.root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(suffix) {
                found.push(dir.join(name));
            }
        }
    }
    found.sort();
    found
}

/// Compares rendered outputs with the files on disk.
pub fn drift(layout: &Layout, outputs: &[Output]) -> Vec<Drift> {
    let mut drifts = Vec::new();
    for (path, text) in outputs {
        match fs::read_to_string(layout.root.join(path)) {
            // A checkout with CRLF line ends (Windows, `core.autocrlf`) is not drift.
            Ok(existing) if existing.replace("\r\n", "\n") == *text => {}
            Ok(_) => drifts.push(Drift::Stale(path.clone())),
            Err(_) => drifts.push(Drift::Missing(path.clone())),
        }
    }
    for path in generated_files_on_disk(layout) {
        if !outputs.iter().any(|(p, _)| *p == path) {
            drifts.push(Drift::Orphan(path));
        }
    }
    drifts
}

/// Writes the outputs that changed and removes orphans; returns what it did.
pub fn write(layout: &Layout, outputs: &[Output]) -> Result<Vec<Drift>, Error> {
    let drifts = drift(layout, outputs);
    for change in &drifts {
        match change {
            Drift::Missing(path) | Drift::Stale(path) => {
                let full = layout.root.join(path);
                if let Some(parent) = full.parent() {
                    fs::create_dir_all(parent).map_err(|e| {
                        Error::Io(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                let text = outputs
                    .iter()
                    .find(|(p, _)| p == path)
                    .map(|(_, t)| t.as_str())
                    .unwrap_or_default();
                fs::write(&full, text)
                    .map_err(|e| Error::Io(format!("cannot write {}: {e}", path.display())))?;
            }
            Drift::Orphan(path) => {
                fs::remove_file(layout.root.join(path))
                    .map_err(|e| Error::Io(format!("cannot remove {}: {e}", path.display())))?;
            }
        }
    }
    Ok(drifts)
}

/// The message for generated files that drifted from the specs.
pub fn drift_message(drifts: &[Drift]) -> String {
    let list: Vec<String> = drifts.iter().map(|d| format!("  {d}")).collect();
    format!(
        "generated files are out of date with spec/:\n{}\nrun `{COMMAND}` and commit the result",
        list.join("\n")
    )
}
