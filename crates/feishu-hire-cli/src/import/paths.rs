//! Where an import's outputs go, and the checks that no output overwrites the input or
//! another output, before anything is written.

use std::path::{Path, PathBuf};

use super::reading::InputFile;
use super::{ImportConfig, Refusal};

/// Where `path` leads once links and `.`/`..` are resolved, also for a file that does not
/// exist yet (its directory is resolved and its name appended), so that two spellings of one
/// file compare equal before either is written.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    match (absolute.parent(), absolute.file_name()) {
        (Some(parent), Some(name)) => resolved(parent).join(name),
        _ => absolute,
    }
}

/// Whether two paths name the same file (see [`resolved`]).
fn same_file(a: &Path, b: &Path) -> bool {
    resolved(a) == resolved(b)
}

/// Refuses outputs that are the input or one another: each would overwrite the other (a
/// failures file written over the journal makes the next run send everything again).
pub(super) fn refuse_shared_paths(files: &[(&str, &Path)]) -> Result<(), Refusal> {
    for (index, (what, path)) in files.iter().enumerate() {
        for (other, other_path) in &files[..index] {
            if same_file(path, other_path) {
                let detail = if *other == "input" {
                    "it would be overwritten".to_owned()
                } else {
                    format!("one would overwrite the other; pass another path for the {what}")
                };
                let shown = if path == other_path {
                    path.display().to_string()
                } else {
                    format!("{} ({})", path.display(), other_path.display())
                };
                let is = if *other == "input" {
                    "is the input itself".to_owned()
                } else {
                    format!("is the same file as the {other}")
                };
                return Err(Refusal::new(format!(
                    "the {what} {shown} {is}, so nothing was sent ({detail}). Pass another path"
                )));
            }
        }
    }
    Ok(())
}

/// Refuses an output whose directory does not exist, before anything is written, rather
/// than failing at the first failure halfway through the check.
pub(super) fn refuse_missing_directory(what: &str, path: &Path) -> Result<(), Refusal> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if directory.is_dir() {
        return Ok(());
    }
    Err(Refusal::new(format!(
        "cannot write the {what} {}: the directory {} does not exist, so nothing was sent. Create it or pass another path",
        path.display(),
        directory.display()
    )))
}

/// `dir/name.jsonl` → (`dir`, `name`); for stdin, the current directory and `stdin-<hash>`.
pub(super) fn output_base(
    config: &ImportConfig,
    input: &InputFile,
) -> (PathBuf, String, Option<String>) {
    match &input.stdin_digest {
        Some(digest) => (
            PathBuf::from("."),
            format!("stdin-{}", &digest.sha256[..12]),
            None,
        ),
        None => {
            let dir = config
                .input
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let name = config
                .input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "input".to_owned());
            let stem = config
                .input
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| name.clone());
            (dir, stem, Some(name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_file_is_recognised_under_another_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.jsonl");
        std::fs::write(&file, "{}\n").unwrap();
        assert!(same_file(&file, &dir.path().join(".").join("in.jsonl")));
        assert!(!same_file(&file, &dir.path().join("in.jsonl.journal")));
        // Files not written yet compare by their resolved directory.
        let missing = dir.path().join("out.jsonl");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(same_file(&missing, &dir.path().join("sub/../out.jsonl")));
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(dir.path(), &link).unwrap();
            assert!(same_file(&missing, &link.join("out.jsonl")));
            let file_link = dir.path().join("in.link");
            std::os::unix::fs::symlink(&file, &file_link).unwrap();
            assert!(same_file(&file, &file_link));
        }
    }
}
