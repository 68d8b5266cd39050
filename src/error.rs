//! Errors that users see: bad input with its place, and hints that name the fix.
//!
//! Inside the crate errors are typed (`thiserror`); at the edges they travel as
//! `anyhow::Error`. [`render`] turns any error chain into the text printed on stderr:
//! `error: ...`, one `caused by: ...` line per cause, then a blank line and a `hint: ...`
//! when some error in the chain carries one.

use std::fmt;

/// A value in an input file that is not what its column needs.
#[derive(Debug, Clone, thiserror::Error)]
pub struct InputError {
    pub file: String,
    /// `line 12`, `row 7 of row group 2`, or `row 7`.
    pub location: String,
    pub column: String,
    pub expected: String,
    pub found: String,
    pub hint: Option<String>,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot read `{}`: {}, column `{}`: expected {}, found `{}`",
            self.file, self.location, self.column, self.expected, self.found
        )
    }
}

impl InputError {
    /// A bad value at a 1-based line of a text file.
    pub fn at_line(file: &str, line: u64, column: &str, expected: &str, found: &str) -> InputError {
        InputError {
            file: file.to_string(),
            location: format!("line {line}"),
            column: column.to_string(),
            expected: expected.to_string(),
            found: truncate(found),
            hint: None,
        }
    }

    /// Adds the hint shown after the message.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> InputError {
        self.hint = Some(hint.into());
        self
    }
}

/// Any error with a hint for the user.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

/// Builds an error with a hint: `bail_hint!("msg", "hint")` style helper.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hinted { message: message.into(), hint: hint.into() })
}

/// A policy result the user asked to fail on (`--fail-on`): exit code 1, not an error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PolicyFailure(pub String);

/// The text printed for an error chain.
pub fn render(error: &anyhow::Error) -> String {
    let mut text = format!("error: {}", lower_first(&error.to_string()));
    for cause in error.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {}", lower_first(&cause.to_string())));
    }
    if let Some(hint) = find_hint(error).or_else(|| io_hint(error)) {
        text.push_str(&format!("\n\nhint: {hint}"));
    }
    text
}

/// `No such file or directory` as `no such file or directory`: the system's messages in
/// the lower case of aispend's own, leaving acronyms (`AWS`, `S3`) alone.
fn lower_first(message: &str) -> String {
    let mut chars = message.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second))
            if first.is_ascii_uppercase() && second.is_ascii_lowercase() =>
        {
            format!("{}{}", first.to_ascii_lowercase(), &message[1..])
        }
        _ => message.to_string(),
    }
}

/// A hint for the system errors that have a usual remedy.
fn io_hint(error: &anyhow::Error) -> Option<String> {
    let io = error.chain().find_map(|cause| cause.downcast_ref::<std::io::Error>())?;
    let hint = match io.kind() {
        std::io::ErrorKind::NotFound => "check the path",
        std::io::ErrorKind::PermissionDenied => "check the permissions of the file or folder",
        std::io::ErrorKind::StorageFull => "the disk is full; free space or write elsewhere",
        std::io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only; write elsewhere",
        _ => return None,
    };
    Some(hint.to_string())
}

/// The first hint carried by any error of the chain.
fn find_hint(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(input) = cause.downcast_ref::<InputError>() {
            return input.hint.clone();
        }
        cause.downcast_ref::<Hinted>().map(|hinted| hinted.hint.clone())
    })
}

/// Keeps quoted values short in messages.
fn truncate(value: &str) -> String {
    const LIMIT: usize = 80;
    if value.chars().count() <= LIMIT {
        value.to_string()
    } else {
        let head: String = value.chars().take(LIMIT).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_messages_read_like_ours_and_a_full_disk_says_so() {
        let full = std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device");
        let error = anyhow::Error::new(full).context("cannot write `out.csv`");
        assert_eq!(
            render(&error),
            "error: cannot write `out.csv`\n  caused by: no space left on device\n\nhint: the \
             disk is full; free space or write elsewhere"
        );
        assert_eq!(lower_first("AWS said no"), "AWS said no");
    }

    #[test]
    fn renders_place_cause_and_hint() {
        let input =
            InputError::at_line("cur.csv.gz", 1832, "lineItem/UnblendedCost", "a decimal", "abc")
                .with_hint("fix the export");
        let error = anyhow::Error::new(input).context("cannot build the showback");
        let text = render(&error);
        assert!(text.starts_with("error: cannot build the showback"));
        assert!(text.contains(
            "caused by: cannot read `cur.csv.gz`: line 1832, column `lineItem/UnblendedCost`: \
             expected a decimal, found `abc`"
        ));
        assert!(text.ends_with("\n\nhint: fix the export"));
    }
}
