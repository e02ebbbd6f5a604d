//! Problems found in a scenario, each with a file, line, column and field path.

use std::fmt;

use serde::Serialize;

use crate::source::{Location, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem. `path` is the field path (`hosts[3].segment`); `file`, `line`
/// and `column` say where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub path: String,
    pub message: String,
    /// The offending source line, for display.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A diagnostic located at `path` in `source`.
    pub fn at(
        source: &Source,
        path: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Diagnostic {
        let path = path.into();
        let location = source.locate(&path);
        Diagnostic::at_location(source, location, path, severity, message)
    }

    pub fn at_location(
        source: &Source,
        location: Location,
        path: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            file: source.name.clone(),
            line: location.line,
            column: location.column,
            path: path.into(),
            message: message.into(),
            source_line: source.line_text(location.line).map(str::to_string),
        }
    }

    /// A problem with the file as a whole (unreadable, too large).
    pub fn whole_file(file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            file: file.into(),
            line: 1,
            column: 1,
            path: String::new(),
            message: message.into(),
            source_line: None,
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:col: message` — the first line of the rendering, the form
    /// tests and editors match on.
    pub fn headline(&self) -> String {
        let severity = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        format!(
            "{}:{}:{}: {severity}{}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl fmt::Display for Diagnostic {
    /// The headline, the field path, and the offending line with a caret.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(formatter, "{}", self.headline())?;
        if !self.path.is_empty() {
            writeln!(formatter, "    field: {}", self.path)?;
        }
        if let Some(line_text) = &self.source_line {
            let number = self.line.to_string();
            let gutter = " ".repeat(number.len());
            writeln!(formatter, " {number} | {line_text}")?;
            let caret_offset: String = line_text
                .chars()
                .take(self.column.saturating_sub(1) as usize)
                .map(|character| if character == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(formatter, " {gutter} | {caret_offset}^")?;
        }
        Ok(())
    }
}

/// Sort for stable output: by file, then position, then message.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|left, right| {
        (&left.file, left.line, left.column, &left.message).cmp(&(
            &right.file,
            right.line,
            right.column,
            &right.message,
        ))
    });
}
