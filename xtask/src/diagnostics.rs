//! Error messages about spec files: where (file:line:col), what is wrong, what to do.
//!
//! Every mistake in a spec becomes a [`Diagnostic`]; codegen collects them all
//! and prints them in order, so one run shows every problem at once.

use std::fmt;

/// A 1-based position in a spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl Position {
    /// The position of a node that `serde-saphyr` located.
    pub fn from_saphyr(location: serde_saphyr::Location) -> Self {
        Position {
            line: location.line() as u32,
            column: location.column() as u32,
        }
    }
}

/// One problem in one spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as given to the loader (relative to the workspace root in practice).
    pub file: String,
    /// Where in the file.
    pub position: Position,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// The offending source line, shown under the location.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `position` of `file`, quoting the line from `source`.
    pub fn new(file: &str, source: &str, position: Position, message: impl Into<String>) -> Self {
        let source_line = (position.line > 0)
            .then(|| source.lines().nth(position.line as usize - 1))
            .flatten()
            .map(str::to_owned);
        Diagnostic {
            file: file.to_owned(),
            position,
            message: message.into(),
            help: None,
            source_line,
        }
    }

    /// Adds what the author should do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Position { line, column } = self.position;
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}:{line}:{column}", self.file)?;
        if let Some(text) = &self.source_line {
            let gutter = line.to_string().len();
            let caret_pad = text
                .chars()
                .take(column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect::<String>();
            write!(
                f,
                "\n{:gutter$} |\n{line} | {text}\n{:gutter$} | {caret_pad}^",
                "", ""
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// All the problems found in a set of spec files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
