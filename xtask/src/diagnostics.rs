//! Error messages about spec files, rendered like the compiler's: where, what is wrong, what to do.
//!
//! Every mistake in a spec becomes a [`Diagnostic`]; codegen collects them all and prints them
//! in order, so one run shows every problem at once. `annotate-snippets` renders them: the
//! offending token underlined, related places labelled ("first defined here", in the same file
//! or another), then `help:` and `note:` lines. Colour is for terminals only
//! ([`Diagnostics::render`]); `Display` is always plain, as tests and logs want it.

use std::fmt;
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

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

/// A place in a spec file: the file, its text, where, and how many characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The file, as shown in messages.
    pub file: String,
    /// The file's text, to quote.
    source: String,
    /// Where the span starts.
    pub position: Position,
    /// Its length in characters; `None` for the whole YAML token that starts there.
    pub chars: Option<usize>,
}

impl Span {
    /// The token at `position` of `file`.
    pub fn new(file: &str, source: &str, position: Position) -> Self {
        Span {
            file: file.to_owned(),
            source: source.to_owned(),
            position,
            chars: None,
        }
    }

    /// Byte range of the span in the source; empty when the position is outside it.
    fn range(&self) -> Range<usize> {
        byte_range(&self.source, self.position, self.chars)
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
    /// The primary span: `position` in `file`, and the text of the file.
    span: Span,
    /// A short label under the offending token.
    pub label: Option<String>,
    /// Related places, each with its label ("first defined here").
    pub related: Vec<(Span, String)>,
    /// What to do about it.
    pub help: Option<String>,
    /// Background that explains the rule.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic at the token at `position` of `file`, quoting it from `source`.
    pub fn new(file: &str, source: &str, position: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_owned(),
            position,
            message: message.into(),
            span: Span::new(file, source, position),
            label: None,
            related: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// Adds what the author should do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a label under the offending token.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Underlines `chars` characters instead of the whole token (a part of a value, such as
    /// one placeholder of a path).
    pub fn set_length(&mut self, chars: usize) {
        self.span.chars = Some(chars);
    }

    /// Adds a related place, labelled.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.related.push((span, label.into()));
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The diagnostic as text, styled for a terminal or plain.
    pub fn render(&self, styled: bool) -> String {
        renderer(styled).render(&[self.group()])
    }

    fn group(&self) -> Group<'_> {
        let title = Level::ERROR.primary_title(self.message.as_str());
        let mut group = if self.position.line == 0 {
            // No place to show (a bug in the derived schema, say): name the file only.
            title.element(Origin::path(self.file.as_str()))
        } else {
            let mut primary = Snippet::source(self.span.source.as_str())
                .path(self.file.as_str())
                .annotation(
                    AnnotationKind::Primary
                        .span(self.span.range())
                        .label(self.label.as_deref()),
                );
            let mut elsewhere = Vec::new();
            for (span, label) in &self.related {
                let annotation = AnnotationKind::Context
                    .span(span.range())
                    .label(label.as_str());
                if span.file == self.file {
                    primary = primary.annotation(annotation);
                } else {
                    elsewhere.push(
                        Snippet::source(span.source.as_str())
                            .path(span.file.as_str())
                            .annotation(annotation),
                    );
                }
            }
            title.element(primary).elements(elsewhere)
        };
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        for note in &self.notes {
            group = group.element(Level::NOTE.message(note.as_str()));
        }
        group
    }
}

fn renderer(styled: bool) -> Renderer {
    if styled {
        Renderer::styled()
    } else {
        Renderer::plain()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// The byte range of the span at `position` (1-based line and character column): `chars`
/// characters, or the YAML token that starts there.
fn byte_range(source: &str, position: Position, chars: Option<usize>) -> Range<usize> {
    let Some(line_start) = line_offset(source, position.line) else {
        return source.len()..source.len();
    };
    let line = source[line_start..].split('\n').next().unwrap_or_default();
    let line = line.strip_suffix('\r').unwrap_or(line);
    let column = position.column.saturating_sub(1) as usize;
    let start = line
        .char_indices()
        .nth(column)
        .map_or(line.len(), |(at, _)| at);
    let rest = &line[start..];
    let length = match chars {
        Some(chars) => rest.chars().take(chars).map(char::len_utf8).sum(),
        None => token_len(rest),
    };
    line_start + start..line_start + start + length
}

/// The byte offset where 1-based line `line` starts.
fn line_offset(source: &str, line: u32) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut offset = 0;
    for _ in 1..line {
        offset += source[offset..].find('\n')? + 1;
    }
    Some(offset)
}

/// The length in bytes of the YAML token at the start of `text`: a quoted scalar with its
/// quotes, a key (up to its `:`), or a plain scalar (up to a space, a flow delimiter or a
/// comment); at least one character, so that the underline is visible.
fn token_len(text: &str) -> usize {
    let mut chars = text.char_indices().peekable();
    let Some((_, first)) = chars.next() else {
        return 0;
    };
    if first == '"' || first == '\'' {
        let mut escaped = false;
        for (at, c) in chars {
            if c == first && !escaped {
                return at + c.len_utf8();
            }
            escaped = first == '"' && c == '\\' && !escaped;
        }
        return text.len();
    }
    let mut end = first.len_utf8();
    while let Some((at, c)) = chars.next() {
        let ends_key = c == ':' && chars.peek().is_none_or(|(_, next)| next.is_whitespace());
        if c.is_whitespace() || matches!(c, ',' | ']' | '}') || ends_key {
            break;
        }
        end = at + c.len_utf8();
    }
    end
}

/// All the problems found in a set of spec files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Every diagnostic, a blank line between them, styled for a terminal or plain.
    pub fn render(&self, styled: bool) -> String {
        let rendered: Vec<String> = self.0.iter().map(|d| d.render(styled)).collect();
        rendered.join("\n\n")
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_whole_keys_scalars_and_quoted_strings() {
        assert_eq!(token_len("descripton:"), "descripton".len());
        assert_eq!(token_len("title # a comment"), "title".len());
        assert_eq!(token_len("/open-apis/v1/:id"), "/open-apis/v1/:id".len());
        assert_eq!(token_len("\"a \\\" b\" rest"), "\"a \\\" b\"".len());
        assert_eq!(token_len("[a, b]"), "[a".len());
        assert_eq!(token_len("书名: x"), "书名".len());
        assert_eq!(token_len(""), 0);
    }

    #[test]
    fn the_range_counts_columns_in_characters() {
        let source = "a: 1\n名字: 书名\n";
        let position = Position { line: 2, column: 5 };
        assert_eq!(&source[byte_range(source, position, None)], "书名");
        assert_eq!(&source[byte_range(source, position, Some(1))], "书");
    }

    #[test]
    fn a_related_place_in_another_file_is_quoted_from_that_file() {
        let first = Span::new("a.yaml", "name: Book\n", Position { line: 1, column: 7 });
        let shown = Diagnostic::new(
            "b.yaml",
            "x: 1\nname: Book\n",
            Position { line: 2, column: 7 },
            "twice",
        )
        .with_label("again")
        .with_related(first, "first here")
        .with_note("why")
        .to_string();
        assert!(shown.contains("--> b.yaml:2:7"), "{shown}");
        assert!(shown.contains("::: a.yaml:1:7"), "{shown}");
        assert!(shown.contains("---- first here"), "{shown}");
        assert!(shown.contains("^^^^ again"), "{shown}");
        assert!(shown.contains("= note: why"), "{shown}");
    }

    #[test]
    fn display_is_plain_and_render_styles_on_request() {
        let diagnostic =
            Diagnostic::new("x.yaml", "a: 1\n", Position { line: 1, column: 4 }, "bad")
                .with_help("fix it");
        assert!(!diagnostic.to_string().contains('\u{1b}'));
        assert!(diagnostic.render(true).contains('\u{1b}'));
    }
}
